/// Scratch memory for one worker thread, sized once for blocks of up to `capacity` sequences of up
/// to the input stage's `maxLength` steps.
///
/// Nothing is allocated while a block runs (step (e) of the kernel design): every buffer the
/// stages need is carved out here before the first block and reused for every block after it.
final class Workspace {
    let capacity: Int
    /// Two packed time-major sequence buffers `[T * capacity, sequenceStride]`, used alternately.
    let sequences: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// Pre-activations of one LSTM for a whole block: `[T * capacity, 4 * paddedHidden]` (one
    /// element when the fused kernel runs the LSTMs: it keeps the pre-activations in registers).
    let projection: UnsafeMutablePointer<Float>
    /// The LSTM cell state `[capacity, paddedHidden]`.
    let cell: UnsafeMutablePointer<Float>
    /// Two hidden-state buffers `[capacity, paddedHidden]` for an LSTM that returns its last state
    /// (``Engine``'s `HiddenRows`).
    let hidden: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// Two per-sequence vector buffers `[capacity, vectorStride]` for the dense layers after the LSTMs.
    let vectors: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)

    private let sizes: [Int]

    /// Scratch bytes one image of a block needs (sequence buffers, projection, states, vectors).
    static func bytesPerImage(_ network: CompiledNetwork) -> Int {
        let (sequence, vector, gates, padded) = strides(network)
        return (network.input.maxLength * (2 * sequence + gates) + 3 * padded + 2 * vector) * MemoryLayout<Float>.size
    }

    /// Widest sequence row, widest vector row, widest gate row (`4 * paddedHidden`), widest state.
    private static func strides(_ network: CompiledNetwork) -> (Int, Int, Int, Int) {
        var sequenceStride = network.input.width
        var vectorStride = 1
        var gates = 1
        var padded = 1
        for stage in network.stages {
            if stage.outputIsSequence {
                sequenceStride = max(sequenceStride, stage.outputStride)
            } else {
                vectorStride = max(vectorStride, stage.outputStride)
            }
            if case .lstm(let l) = stage {
                gates = max(gates, 4 * l.paddedHidden)
                padded = max(padded, l.paddedHidden)
            }
        }
        return (sequenceStride, vectorStride, gates, padded)
    }

    init(network: CompiledNetwork, capacity: Int, fused: Bool) {
        let t = network.input.maxLength
        let (sequenceStride, vectorStride, gates, padded) = Self.strides(network)
        self.capacity = capacity
        let sequenceCount = t * capacity * sequenceStride
        let vectorCount = capacity * vectorStride
        let stateCount = capacity * padded
        let projectionCount = fused ? 1 : t * capacity * gates
        sizes = [sequenceCount, sequenceCount, projectionCount, stateCount, stateCount, stateCount, vectorCount, vectorCount]
        let buffers = sizes.map { count in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        sequences = (buffers[0], buffers[1])
        projection = buffers[2]
        cell = buffers[3]
        hidden = (buffers[4], buffers[5])
        vectors = (buffers[6], buffers[7])
    }

    deinit {
        for p in [sequences.0, sequences.1, projection, cell, hidden.0, hidden.1, vectors.0, vectors.1] {
            p.deallocate()
        }
    }
}
