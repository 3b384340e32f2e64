import RNNCore

/// The buffers of one direction of one recurrent layer, all `T*B` rows in *direction time*: the
/// forward direction's step `t` is the sequence's step `t`; the backward direction's step `t` is
/// the sequence's step `length - 1 - t` (each sequence reversed within its own length, see
/// ``Workspace/copySteps(from:stride:to:stride:width:count:reversed:add:)``), so both run the same
/// step code.
struct DirectionBuffers<Scalar: TrainingScalar> {
    /// Pre-activations, overwritten in place by what the backward pass needs `[T*B, 4H]`:
    /// LSTM `i, f, g, o`; GRU `r, z, n, hn` (``gruGateForward``).
    let gates: UnsafeMutablePointer<Scalar>
    /// LSTM cell states `c[t]` `[T*B, H]` (unused by a GRU).
    let cells: UnsafeMutablePointer<Scalar>
    /// LSTM `tanh(c[t])`; GRU with reset `before`: `r[t] ⊙ h[t-1]` `[T*B, H]`.
    let aux: UnsafeMutablePointer<Scalar>
    /// Hidden states `h[t]` `[T*B, H]`.
    let hidden: UnsafeMutablePointer<Scalar>
    /// The backward direction's input, reversed within each length `[T*B, in]`; nil for the forward one.
    let reversedInput: UnsafeMutablePointer<Scalar>?
}

/// The buffers one worker needs to run a batch of up to `capacity` sequences forward and back.
///
/// All activations are stored time-major: row `t * B + b` of a `[T*B, n]` buffer is sequence
/// `b` at step `t`, so that one step's rows are contiguous and every per-step product is a plain
/// GEMM on a sub-matrix. A workspace is used by one thread at a time.
final class Workspace<Scalar: TrainingScalar>: @unchecked Sendable {
    let architecture: LSTMArchitecture
    let layout: ParameterLayout
    let capacity: Int
    /// The most steps a batch may have (the buffers' size).
    let maximumSteps: Int
    /// Steps of the loaded batch (`maximumSteps` for images; the longest loaded sequence, at least 1,
    /// for tokens): every buffer below holds `timeSteps * count` rows of the batch in the front.
    var timeSteps: Int
    /// The fused-kernel variant for the backward products (``FusedStep/product``).
    let kernel: KernelISA

    /// Network input `[T*B, I]` (with an embedding: the rows of the loaded tokens, gathered by the forward pass).
    let input: UnsafeMutablePointer<Scalar>
    /// Per loaded sequence, its length in `1...T` (`0...T` for tokens: an empty text); nil when every
    /// sequence has all `T` steps.
    var lengths: [Int]?
    /// The loaded token ids, time-major `[T*B]` (row `t*B + b`; 0 past a sequence's length); empty
    /// without an embedding.
    var tokens: [Int32] = []
    /// Per layer, per direction (forward, backward).
    let directions: [[DirectionBuffers<Scalar>]]
    /// Per layer below the last: its output in sequence time `[T*B, D*H]` (`[hf[t], hb[t]]`); for a
    /// unidirectional layer the forward direction's ``DirectionBuffers/hidden`` itself.
    let outputs: [UnsafeMutablePointer<Scalar>]
    /// Per layer below the last: its output after between-layer dropout, the next layer's input
    /// `[T*B, D*H]` (read only while ``masks`` has ``DropoutMasks/between`` masks).
    let droppedOutputs: [UnsafeMutablePointer<Scalar>]
    /// `dense_out`'s input when it is not read straight from the final states (pooling, or output
    /// dropout): the pooled vector or the gathered final state, masked `[B, D*H]`.
    let head: UnsafeMutablePointer<Scalar>
    /// `dL/d(head)` `[B, D*H]`.
    let headGradient: UnsafeMutablePointer<Scalar>
    /// Max pooling's arg-max per sequence and column: the step (in its direction's time) that won `[B, D*H]`.
    let argmax: UnsafeMutablePointer<Int>
    /// This batch's dropout masks (training only); nil: nothing is dropped.
    var masks: DropoutMasks<Scalar>?
    /// Logits, then softmax probabilities, then `dL/dlogits` `[B, C]`.
    let logits: UnsafeMutablePointer<Scalar>

    /// `dL/dz` for one direction, all steps `[T*B, 4H]` (GRU: `dr, dz, dn` input side, then the
    /// `n` row block of the recurrent side, see ``gruGateBackward``).
    let gateGradient: UnsafeMutablePointer<Scalar>
    /// `dL/dh[t-1]` through the recurrence, and `dL/dc` carried back one step `[B, H]` (a GRU with
    /// reset `before` uses the second for `dL/d(r ⊙ h)`).
    let recurrentHiddenGradient: UnsafeMutablePointer<Scalar>
    let cellGradient: UnsafeMutablePointer<Scalar>
    /// Padded rows' `dL/dh` and `dL/dc`, passed through a step unchanged `[B, H]` each.
    let passHidden: UnsafeMutablePointer<Scalar>
    let passCell: UnsafeMutablePointer<Scalar>
    /// `dL/d(layer output)` in sequence time, ping-ponged between layers `[T*B, D*H]`.
    let externalGradient: [UnsafeMutablePointer<Scalar>]
    /// One direction's `dL/dh` in direction time `[T*B, H]` (a bidirectional layer's gather).
    let directionGradient: UnsafeMutablePointer<Scalar>
    /// The backward direction's `dL/dx` in direction time, before it is added back in sequence time `[T*B, D*H]`.
    let reversedInputGradient: UnsafeMutablePointer<Scalar>
    /// A weight gradient computed transposed (`[width, 4H]`) before it is stored `[4H, width]`.
    let transposedGradient: UnsafeMutablePointer<Scalar>
    /// This worker's gradient: the parameter layout followed, per direction of the first layer, by
    /// `dW'` `[GH, I]` and `db'` `[GH]` (see ``PreparedWeights``), which ``finishGradient`` maps
    /// onto `dense_in` and the first layer.
    let gradient: UnsafeMutableBufferPointer<Scalar>

    /// Offset of direction `d`'s `dW'` in ``gradient``.
    func combinedWeightGradientOffset(_ d: Int) -> Int { Self.combinedWeightGradientOffset(architecture, d) }
    /// Offset of direction `d`'s `db'` in ``gradient``.
    func combinedBiasGradientOffset(_ d: Int) -> Int { Self.combinedWeightGradientOffset(architecture, d) + architecture.gateRows * architecture.inputSize }
    static func combinedWeightGradientOffset(_ a: LSTMArchitecture, _ d: Int) -> Int {
        a.layout.count + d * a.gateRows * (a.inputSize + 1)
    }
    /// The gradient's length: the parameters, then `dW'` and `db'` when `dense_in` is folded.
    static func gradientCount(_ a: LSTMArchitecture) -> Int {
        a.hasDenseIn ? combinedWeightGradientOffset(a, a.directionCount) : a.layout.count
    }

    private var allocations: [UnsafeMutablePointer<Scalar>] = []

    init(architecture a: LSTMArchitecture, capacity: Int, timeSteps: Int, kernel: KernelISA) {
        architecture = a
        self.kernel = kernel
        layout = a.layout
        self.capacity = capacity
        self.maximumSteps = timeSteps
        self.timeSteps = timeSteps
        let rows = capacity * timeSteps, h = a.hiddenSize, wide = a.outputWidth
        // dL/dx of the first layer goes through the same buffers as a layer above's when there is an embedding to train.
        let inputGradientWidth = a.hasDenseIn ? wide : max(wide, a.inputSize)
        var allocated: [UnsafeMutablePointer<Scalar>] = []
        func buffer(_ n: Int) -> UnsafeMutablePointer<Scalar> {
            let p = UnsafeMutablePointer<Scalar>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            allocated.append(p)
            return p
        }
        input = buffer(rows * a.inputSize)
        let directions = (0..<a.layerCount).map { l in
            (0..<a.directionCount).map { d in
                DirectionBuffers(gates: buffer(rows * 4 * h), cells: buffer(a.cell == .lstm ? rows * h : 0),
                                 aux: buffer(rows * h), hidden: buffer(rows * h),
                                 reversedInput: d == 0 ? nil : buffer(rows * (l == 0 ? a.inputSize : wide)))
            }
        }
        self.directions = directions
        outputs = (0..<(a.layerCount - 1)).map { l in
            a.bidirectional ? buffer(rows * wide) : directions[l][0].hidden
        }
        droppedOutputs = (0..<(a.layerCount - 1)).map { _ in buffer(rows * wide) }
        head = buffer(capacity * wide)
        headGradient = buffer(capacity * wide)
        argmax = UnsafeMutablePointer<Int>.allocate(capacity: capacity * wide)
        argmax.initialize(repeating: 0, count: capacity * wide)
        logits = buffer(capacity * a.classCount)
        gateGradient = buffer(rows * 4 * h)
        recurrentHiddenGradient = buffer(capacity * h)
        cellGradient = buffer(capacity * h)
        passHidden = buffer(capacity * h)
        passCell = buffer(capacity * h)
        externalGradient = [buffer(rows * inputGradientWidth), buffer(rows * inputGradientWidth)]
        directionGradient = buffer(a.bidirectional ? rows * h : 0)
        reversedInputGradient = buffer(a.bidirectional ? rows * inputGradientWidth : 0)
        transposedGradient = buffer(4 * h * max(wide, a.inputSize, h))
        let g = Self.gradientCount(a)
        gradient = UnsafeMutableBufferPointer(start: buffer(g), count: g)
        allocations = allocated
    }

    deinit {
        for p in allocations { p.deallocate() }
        argmax.deallocate()
    }

    /// The input of recurrent layer `l` in sequence time: the network input (already dropped out,
    /// see ``DropoutMasks``) for the first, else the layer below's output, after dropout when it applies.
    func layerInput(_ l: Int) -> UnsafeMutablePointer<Scalar> {
        if l == 0 { return input }
        return masks?.between != nil ? droppedOutputs[l - 1] : outputs[l - 1]
    }

    /// The length of loaded sequence `b` (`T` without ``lengths``).
    @inline(__always) func length(_ b: Int) -> Int { lengths?[b] ?? timeSteps }

    /// Copies `count` sequences' `width` values per step from `source` (row stride `sourceStride`)
    /// to `target` (row stride `targetStride`), or adds them when `add`. With `reversed`, step `t`
    /// of sequence `b` goes to step `length(b) - 1 - t` for `t < length(b)` (a reversal within each
    /// sequence's own length, its own inverse); padding steps stay where they are.
    func copySteps(from source: UnsafePointer<Scalar>, stride sourceStride: Int,
                   to target: UnsafeMutablePointer<Scalar>, stride targetStride: Int,
                   width: Int, count: Int, reversed: Bool, add: Bool = false) {
        for b in 0..<count {
            let n = length(b)
            for t in 0..<timeSteps {
                let u = reversed && t < n ? n - 1 - t : t
                let from = source + (t * count + b) * sourceStride, to = target + (u * count + b) * targetStride
                if add {
                    for j in 0..<width { to[j] += from[j] }
                } else {
                    to.update(from: from, count: width)
                }
            }
        }
    }

    /// Loads `count` token sequences chosen by `indices` (sequence `i` is `ids[offsets[i] ..< offsets[i+1]]`):
    /// the batch runs `max(1, longest)` steps, and the forward pass gathers each token's embedding row.
    func loadTokens(_ ids: UnsafeBufferPointer<Int32>, offsets: UnsafeBufferPointer<Int>, indices: ArraySlice<Int>) {
        let count = indices.count
        let sequenceLengths = indices.map { offsets[$0 + 1] - offsets[$0] }
        let steps = max(1, sequenceLengths.max() ?? 0)
        precondition(steps <= maximumSteps && count <= capacity, "a batch of \(count) texts of \(steps) tokens exceeds the workspace")
        timeSteps = steps
        lengths = sequenceLengths
        if tokens.count < maximumSteps * capacity { tokens = [Int32](repeating: 0, count: maximumSteps * capacity) }
        for (b, index) in indices.enumerated() {
            let start = offsets[index]
            for t in 0..<steps { tokens[t * count + b] = t < sequenceLengths[b] ? ids[start + t] : 0 }
        }
    }

    /// `input[t*B + b] = E[token]` for every real step, 0 on padding (an embedding's forward pass).
    func gatherEmbeddings(_ table: UnsafePointer<Scalar>, count: Int) {
        let width = architecture.inputSize
        for t in 0..<timeSteps {
            for b in 0..<count {
                let row = input + (t * count + b) * width
                if t < length(b) {
                    row.update(from: table + Int(tokens[t * count + b]) * width, count: width)
                } else {
                    row.update(repeating: 0, count: width)
                }
            }
        }
    }

    /// `dE[token] += dL/dx[t*B + b]` for every real step (the embedding's backward pass: a scatter-add
    /// into the rows of the tokens seen; rows of unseen tokens get no gradient).
    func scatterEmbeddingGradient(_ dx: UnsafePointer<Scalar>, into table: UnsafeMutablePointer<Scalar>, count: Int) {
        let width = architecture.inputSize
        for t in 0..<timeSteps {
            for b in 0..<count where t < length(b) {
                let row = table + Int(tokens[t * count + b]) * width, d = dx + (t * count + b) * width
                for j in 0..<width { row[j] += d[j] }
            }
        }
    }

    /// Fills ``input`` from `count` u8 images (each `T x I`, row-major) chosen by `indices`:
    /// `x[t][b][j] = pixel * scale` (spec §6.2, offset 0).
    func loadImages(_ pixels: UnsafeBufferPointer<UInt8>, indices: ArraySlice<Int>, scale: Scalar) {
        timeSteps = maximumSteps
        let count = indices.count, inputs = architecture.inputSize, t = timeSteps
        let imageSize = t * inputs
        lengths = nil
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
