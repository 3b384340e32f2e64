import RNNCore

/// Scratch memory for one worker thread, reused for every block it runs.
///
/// Nothing is allocated inside a block's time loop: the per-sequence buffers are sized once for
/// blocks of up to `capacity` sequences, and the packed sequence buffers grow to the largest block
/// seen (a block's rows are the sum of its lengths, at most `capacity x maxLength`; token blocks run
/// longest first, so the first block is usually the largest). Buffers are not cleared: every stage
/// writes the rows it later reads.
final class Workspace {
    let capacity: Int
    private let fused: Bool
    private let sequenceStride: Int
    private let gateStride: Int
    private let paddedStride: Int
    /// Rows the packed buffers hold now.
    private var rowCapacity = 0

    /// Two packed time-major sequence buffers `[rows, sequenceStride]`, used alternately.
    private(set) var sequences: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// Pre-activations of one LSTM: `[rows, 4 * paddedHidden]` on the portable path; `[capacity,
    /// 4 * paddedHidden]` on the fused path, where it holds one step's rows of a folded embedding table.
    private(set) var projection: UnsafeMutablePointer<Float>
    /// A bidirectional layer's reversed input `[rows, sequenceStride]` and backward outputs
    /// `[rows, paddedHidden]` (``Engine``); one float each when the network has no such layer.
    private(set) var reversed: UnsafeMutablePointer<Float>
    private(set) var backward: UnsafeMutablePointer<Float>
    /// The GRU kernel's hand-over between its two phases (reset before the product), `[capacity, 3 * paddedHidden]`.
    let gruScratch: UnsafeMutablePointer<Float>
    /// The int8 step's scratch (``RNNCore/Int8Step/scratchBytes(cell:groups:xWidth:)``), for the
    /// widest int8 layer (64 bytes when there is none).
    let int8Scratch: UnsafeMutableRawPointer
    /// A stream's starting hidden state, gathered into batch order, `[capacity, paddedHidden]`.
    let initialHidden: UnsafeMutablePointer<Float>
    private let bidirectional: Bool
    /// Packed token ids of a block (`[rows]`), for a folded embedding table.
    private(set) var tokenRows: UnsafeMutablePointer<Int32>
    /// The LSTM cell state `[capacity, paddedHidden]`.
    let cell: UnsafeMutablePointer<Float>
    /// Two hidden-state buffers `[capacity, paddedHidden]` for an LSTM that returns its last state
    /// (``Engine``'s `HiddenRows`).
    let hidden: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// Two per-sequence vector buffers `[capacity, vectorStride]` for the dense layers after the LSTMs
    /// (and the feature maps of an image model, one row per image).
    let vectors: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
    /// One zero-padded input image of the widest convolution (``RNNCore/Conv2DKernel/scratchFloats``).
    let convolutionScratch: UnsafeMutablePointer<Float>
    /// A `conv1d` stage's gathered windows (``Conv1DStage``), grown to the largest block seen.
    private(set) var windows: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    private var windowCapacity = 1

    /// Makes ``windows`` hold at least `floats` floats.
    func reserveWindows(_ floats: Int) {
        guard floats > windowCapacity else { return }
        windows.deallocate()
        windows = .allocate(capacity: floats)
        windowCapacity = floats
    }

    /// Scratch bytes one full-length sequence of a block needs at most (sequence buffers, with a
    /// bidirectional layer's reversed input and backward rows; projection; states, GRU scratch and
    /// stream state; vectors).
    static func bytesPerImage(_ network: CompiledNetwork) -> Int {
        let (sequence, vector, gates, padded) = strides(network)
        let sequenceBuffers = network.recurrentStages.contains { $0.backward != nil } ? 3 * sequence + padded : 2 * sequence
        let steps = network.longestLength(network.input.maxLength)
        let columns = network.stages.reduce(0) { if case .conv1d(let c) = $1 { max($0, c.windowWidth) } else { $0 } }
        return (steps * (sequenceBuffers + gates + 1 + columns) + 7 * padded + 2 * vector) * MemoryLayout<Float>.size
    }

    /// Widest sequence row, widest vector row, widest gate row (`4 * paddedHidden`), widest state.
    private static func strides(_ network: CompiledNetwork) -> (Int, Int, Int, Int) {
        var sequenceStride = 1
        if case .foldedEmbedding = network.input {} else { sequenceStride = network.input.width }
        var vectorStride = 1
        var gates = 1
        var padded = 1
        for stage in network.stages {
            if stage.outputIsSequence {
                sequenceStride = max(sequenceStride, stage.outputStride)
            } else {
                vectorStride = max(vectorStride, stage.outputStride)
            }
            if case .recurrent(let r) = stage {
                gates = max(gates, r.gateColumns)
                padded = max(padded, r.paddedHidden)
            }
        }
        return (sequenceStride, vectorStride, gates, padded)
    }

    init(network: CompiledNetwork, capacity: Int, fused: Bool) {
        let (sequenceStride, vectorStride, gates, padded) = Self.strides(network)
        self.capacity = capacity
        self.fused = fused
        self.sequenceStride = sequenceStride
        self.gateStride = gates
        sequences = (.allocate(capacity: 1), .allocate(capacity: 1))
        projection = .allocate(capacity: fused ? capacity * gates : 1)
        tokenRows = .allocate(capacity: 1)
        bidirectional = network.recurrentStages.contains { $0.backward != nil }
        reversed = .allocate(capacity: 1)
        backward = .allocate(capacity: 1)
        gruScratch = .allocate(capacity: capacity * 3 * padded)
        int8Scratch = .allocate(byteCount: Self.int8ScratchBytes(network), alignment: 64)
        initialHidden = .allocate(capacity: capacity * padded)
        paddedStride = padded
        cell = .allocate(capacity: capacity * padded)
        hidden = (.allocate(capacity: capacity * padded), .allocate(capacity: capacity * padded))
        vectors = (.allocate(capacity: capacity * vectorStride), .allocate(capacity: capacity * vectorStride))
        convolutionScratch = .allocate(capacity: Self.convolutionScratchFloats(network))
    }

    /// The largest scratch an int8 step of the network needs (64 when it has none).
    static func int8ScratchBytes(_ network: CompiledNetwork) -> Int {
        network.recurrentStages.reduce(64) { bytes, r in
            guard r.isInt8 else { return bytes }
            return max(bytes, Int8Step.scratchBytes(cell: r.cell == .lstm ? .lstm : .gru, groups: r.paddedHidden / laneCount,
                                                    xWidth: r.inputStride))
        }
    }

    /// The largest scratch a convolution of the network needs (1 when it has none).
    static func convolutionScratchFloats(_ network: CompiledNetwork) -> Int {
        network.stages.reduce(1) { if case .conv2d(let c) = $1 { max($0, c.scratchFloats) } else { $0 } }
    }

    /// Makes the packed buffers hold at least `rows` rows (a block's total length).
    func reserve(rows: Int) {
        guard rows > rowCapacity else { return }
        sequences.0.deallocate()
        sequences.1.deallocate()
        tokenRows.deallocate()
        sequences = (.allocate(capacity: rows * sequenceStride), .allocate(capacity: rows * sequenceStride))
        tokenRows = .allocate(capacity: rows)
        if !fused {
            projection.deallocate()
            projection = .allocate(capacity: rows * gateStride)
        }
        if bidirectional {
            reversed.deallocate()
            backward.deallocate()
            reversed = .allocate(capacity: rows * sequenceStride)
            backward = .allocate(capacity: rows * paddedStride)
        }
        rowCapacity = rows
    }

    /// Gathers a stream's state rows into batch order: `h` into ``initialHidden``, `c` into ``cell``.
    func loadState(_ state: (hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>?), callers: [Int], padded: Int) {
        for (b, caller) in callers.enumerated() {
            (initialHidden + b * padded).update(from: state.hidden + caller * padded, count: padded)
            if let c = state.cell { (cell + b * padded).update(from: c + caller * padded, count: padded) }
        }
    }

    /// Writes each sequence's final state back to its stream's rows: `h` from the layer's output
    /// (its last step's row), `c` from ``cell`` (rows that ended early were not touched after).
    func saveState(_ state: (hidden: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>?), callers: [Int],
                   batch: PackedBatch, output: UnsafeMutablePointer<Float>, stage: RecurrentStage) {
        let padded = stage.paddedHidden
        for (b, caller) in callers.enumerated() {
            let row = stage.returnsSequence ? batch.lastRow(b) : b
            (state.hidden + caller * padded).update(from: output + row * stage.outputStride, count: padded)
            if let c = state.cell { (c + caller * padded).update(from: cell + b * padded, count: padded) }
        }
    }

    deinit {
        for p in [sequences.0, sequences.1, projection, cell, hidden.0, hidden.1, vectors.0, vectors.1,
                  reversed, backward, gruScratch, initialHidden, convolutionScratch, windows] {
            p.deallocate()
        }
        tokenRows.deallocate()
        int8Scratch.deallocate()
    }
}
