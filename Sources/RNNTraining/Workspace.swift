import RNNCore

/// The buffers one worker needs to run a batch of up to `capacity` sequences forward and back.
///
/// All activations are stored time-major: row `t * B + b` of a `[T*B, n]` buffer is sequence
/// `b` at step `t`, so that one step's rows are contiguous and every per-step product is a plain
/// GEMM on a sub-matrix. A workspace is used by one thread at a time.
final class Workspace<Scalar: TrainingScalar>: @unchecked Sendable {
    let architecture: LSTMArchitecture
    let layout: ParameterLayout
    let capacity: Int
    let timeSteps: Int
    /// The fused-kernel variant for the backward products (``FusedStep/product``).
    let kernel: KernelISA

    /// Network input `[T*B, I]`.
    let input: UnsafeMutablePointer<Scalar>
    /// Per layer: pre-activations, overwritten in place by the activated gates `[T*B, 4H]` (i, f, g, o).
    let gates: [UnsafeMutablePointer<Scalar>]
    /// Per layer: cell states `c[t]` `[T*B, H]`.
    let cells: [UnsafeMutablePointer<Scalar>]
    /// Per layer: `tanh(c[t])` `[T*B, H]`, kept for the backward pass.
    let cellTanh: [UnsafeMutablePointer<Scalar>]
    /// Per layer: hidden states `h[t]` `[T*B, H]`; the next layer's input.
    let hidden: [UnsafeMutablePointer<Scalar>]
    /// Logits, then softmax probabilities, then `dL/dlogits` `[B, C]`.
    let logits: UnsafeMutablePointer<Scalar>

    /// `dL/dz` for one layer, all steps `[T*B, 4H]`.
    let gateGradient: UnsafeMutablePointer<Scalar>
    /// `dL/dh[t-1]` through the recurrence, and `dL/dc` carried back one step `[B, H]`.
    let recurrentHiddenGradient: UnsafeMutablePointer<Scalar>
    let cellGradient: UnsafeMutablePointer<Scalar>
    /// `dL/dh` arriving from above (the output layer or the next LSTM), ping-ponged `[T*B, H]`.
    let externalGradient: [UnsafeMutablePointer<Scalar>]
    /// A weight gradient computed transposed (`[width, 4H]`) before it is stored `[4H, width]`
    /// (see ``weightGradient(dz:x:width:rows:into:)``).
    let transposedGradient: UnsafeMutablePointer<Scalar>
    /// This worker's gradient: the parameter layout followed by `dW'` `[4H, I]` and `db'` `[4H]`
    /// (see ``PreparedWeights``), which ``finishGradient`` maps onto `dense_in` and the first LSTM.
    let gradient: UnsafeMutableBufferPointer<Scalar>

    /// Offset of `dW'` in ``gradient``.
    var combinedWeightGradientOffset: Int { layout.count }
    /// Offset of `db'` in ``gradient``.
    var combinedBiasGradientOffset: Int { layout.count + 4 * architecture.hiddenSize * architecture.inputSize }
    static func gradientCount(_ a: LSTMArchitecture) -> Int {
        a.layout.count + 4 * a.hiddenSize * a.inputSize + 4 * a.hiddenSize
    }

    init(architecture a: LSTMArchitecture, capacity: Int, timeSteps: Int, kernel: KernelISA) {
        architecture = a
        self.kernel = kernel
        layout = a.layout
        self.capacity = capacity
        self.timeSteps = timeSteps
        let rows = capacity * timeSteps, h = a.hiddenSize
        func buffer(_ n: Int) -> UnsafeMutablePointer<Scalar> {
            let p = UnsafeMutablePointer<Scalar>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        input = buffer(rows * a.inputSize)
        gates = (0..<a.layerCount).map { _ in buffer(rows * 4 * h) }
        cells = (0..<a.layerCount).map { _ in buffer(rows * h) }
        cellTanh = (0..<a.layerCount).map { _ in buffer(rows * h) }
        hidden = (0..<a.layerCount).map { _ in buffer(rows * h) }
        logits = buffer(capacity * a.classCount)
        gateGradient = buffer(rows * 4 * h)
        recurrentHiddenGradient = buffer(capacity * h)
        cellGradient = buffer(capacity * h)
        externalGradient = [buffer(rows * h), buffer(rows * h)]
        transposedGradient = buffer(4 * h * max(h, a.inputSize))
        let g = Self.gradientCount(a)
        gradient = UnsafeMutableBufferPointer(start: buffer(g), count: g)
    }

    deinit {
        for p in [input, logits, gateGradient, recurrentHiddenGradient, cellGradient, transposedGradient] { p.deallocate() }
        for list in [gates, cells, cellTanh, hidden, externalGradient] { for p in list { p.deallocate() } }
        gradient.baseAddress!.deallocate()
    }

    /// Fills ``input`` from `count` u8 images (each `T x I`, row-major) chosen by `indices`:
    /// `x[t][b][j] = pixel * scale` (spec §6.2, offset 0).
    func loadImages(_ pixels: UnsafeBufferPointer<UInt8>, indices: ArraySlice<Int>, scale: Scalar) {
        let count = indices.count, inputs = architecture.inputSize, t = timeSteps
        let imageSize = t * inputs
        for (b, index) in indices.enumerated() {
            let image = pixels.baseAddress! + index * imageSize
            for step in 0..<t {
                let row = input + (step * count + b) * inputs
                let source = image + step * inputs
                for j in 0..<inputs { row[j] = Scalar(source[j]) * scale }
            }
        }
    }
}
