import RNNCore
import RNNFormat

/// The caller's inputs of one `run`, shared read-only by the workers.
///
/// Pixel and feature inputs come with a start per input (``Engine/run(_:indices:lengths:starts:workspace:output:state:)``):
/// step `t` of input `c` is the `width` values at `starts[c] + t * width`. A batch of images has
/// `starts[c] = c * height * width`; padded `[N, T, F]` feature arrays `c * T * F`; a stream the
/// position of its one step.
enum BatchSource: @unchecked Sendable {
    /// Raw `u8` image rows: the input contract (scale, offset) is applied while loading.
    case pixels(UnsafePointer<UInt8>)
    /// Image rows already normalized (`x[t][j]` values of spec §6.2), used as they are.
    case normalized(UnsafePointer<Float>)
    /// Source values of a `features` model: its standardization (spec §6.2.2) is applied while loading.
    case features(UnsafePointer<Float>)
    /// Token-id sequences (already truncated to the model's `max_length`).
    case tokens(UnsafePointer<[Int32]>)
}

/// Which implementation of `sigmoid` and `tanh` the LSTM gate pass uses.
public enum ActivationMath: Sendable, Equatable {
    /// The vectorized approximations (absolute error below 1e-6; see the tests).
    case fast
    /// The platform's libm, one value at a time (for validation and measurement). Applies to the
    /// LSTM's portable path; GRU steps always use the kernels' approximations.
    case libm
}

/// Where the engine writes a block's outputs.
struct OutputRows {
    /// `[rows, classCount]`.
    let base: UnsafeMutablePointer<Float>
    /// Per-step models (spec §6.5): input `c`'s output of step `t` is row `rowStarts[c] + t`.
    /// Nil for one output per input: input `c`'s output is row `c`.
    let rowStarts: UnsafePointer<Int>?
}

/// The recurrent state a stream carries between calls (``Stream``): per recurrent stage, `h`
/// (`[streams, paddedHidden]`) and, for an LSTM, `c` (same shape), indexed by input number.
/// The engine starts each input from its rows instead of zero and writes its final state back.
struct StateRows: @unchecked Sendable {
    var hidden: [UnsafeMutablePointer<Float>]
    var cell: [UnsafeMutablePointer<Float>?]
}

/// The forward pass (spec §6) for every model kind: one block of sequences through the compiled
/// network.
///
/// A block is packed time-major by length (``RNNCore/PackedBatch``): the sequences still running at
/// step `t` are rows `offsets[t] ..< offsets[t] + active[t]` of every sequence buffer, so the rows
/// of one step are contiguous and every stage is one GEMM (or one kernel call per step) over them.
/// Images are the case where every length is `T`: rows `t * B + b`, in the caller's order.
///
/// LSTMs have one implementation per kernel variant: the portable path (BLAS GEMMs and the Swift
/// gate pass, every platform) and the fused path (the C step kernel, AVX2 or AVX-512). GRUs always
/// run on their step kernel, whose portable variant is plain C. A bidirectional layer runs its
/// backward direction through the same code on a reversed copy of its input (row `(s, b)` holds
/// step `length_b - 1 - s`), and reverses the result back.
struct Engine {
    let network: CompiledNetwork
    let math: ActivationMath
    /// The fused kernel variant recurrent layers run on, or `.none` for the portable path.
    let kernel: KernelISA
    /// The variant of the int8 products, for layers that run the int8 evaluation (spec §6.6).
    let int8Kernel: Int8ISA

    init(network: CompiledNetwork, math: ActivationMath, kernel: KernelISA, int8Kernel: Int8ISA) {
        self.network = network
        self.math = math
        // The fused kernels implement the fast activations only.
        self.kernel = math == .fast ? kernel : .none
        self.int8Kernel = math == .fast ? int8Kernel : .portable
    }

    /// Runs the inputs `indices` of `source` (each `lengths[k]` steps, `lengths[k] >= 1`) and writes
    /// their outputs to `output`. With `state`, every recurrent layer starts from, and leaves its
    /// final state in, the rows of `state` (streams; unidirectional layers only).
    func run(_ source: BatchSource, indices: ArraySlice<Int>, lengths: [Int], starts: UnsafePointer<Int>?,
             workspace ws: Workspace, output: OutputRows, state: StateRows? = nil) {
        let batch = PackedBatch(lengths: lengths)
        run(source, batch: batch, callers: batch.order.map { indices[indices.startIndex + $0] }, starts: starts,
            workspace: ws, output: output, state: state)
    }

    /// The same with the block already packed: `callers[b]` is the input number of sorted sequence
    /// `b`. (A stream packs its block once and steps it many times.)
    func run(_ source: BatchSource, batch: PackedBatch, callers: [Int], starts: UnsafePointer<Int>?,
             workspace ws: Workspace, output: OutputRows, state: StateRows? = nil) {
        let count = batch.count
        precondition(count <= ws.capacity)
        var batch = batch
        // A padded conv1d may lengthen the sequences: reserve for the longest the block reaches.
        ws.reserve(rows: network.conv1dWindows.isEmpty ? batch.total : batch.lengths.reduce(0) { $0 + network.longestLength($1) })
        var current = UnsafePointer(ws.sequences.0)
        loadInput(source, callers: callers, starts: starts, batch: batch, workspace: ws)

        var sequenceFlip = true    // next sequence output goes to sequences.1
        var vectorFlip = false     // next vector output goes to vectors.0
        func nextSequence() -> UnsafeMutablePointer<Float> {
            defer { sequenceFlip.toggle() }
            return sequenceFlip ? ws.sequences.1 : ws.sequences.0
        }
        func nextVector() -> UnsafeMutablePointer<Float> {
            defer { vectorFlip.toggle() }
            return vectorFlip ? ws.vectors.1 : ws.vectors.0
        }
        var inputStride = network.input.width
        var layer = 0
        for stage in network.stages {
            switch stage {
            case .dense(let d):
                let out = d.perTimeStep ? nextSequence() : nextVector()
                dense(d, input: current, rows: d.perTimeStep ? batch.total : count, output: out)
                current = UnsafePointer(out)
            case .recurrent(let r):
                let out = r.returnsSequence ? nextSequence() : nextVector()
                let layerState = state.map { (hidden: $0.hidden[layer], cell: $0.cell[layer]) }
                if let layerState { ws.loadState(layerState, callers: callers, padded: r.paddedHidden) }
                recurrent(r, input: current, inputStride: inputStride, batch: batch, output: out,
                          initialState: layerState != nil, workspace: ws)
                if let layerState { ws.saveState(layerState, callers: callers, batch: batch, output: out, stage: r) }
                current = UnsafePointer(out)
                layer += 1
            case .pool(let p):
                let out = nextVector()
                pool(p, input: current, batch: batch, output: out)
                current = UnsafePointer(out)
            case .conv2d(let c):
                // One channels-last map per image, in and out (images are length-1 sequences: row b).
                let out = nextVector()
                c.run(isa: kernel, images: count, x: current, y: out, scratch: ws.convolutionScratch)
                current = UnsafePointer(out)
            case .maxPool2d(let m):
                let out = nextVector()
                m.run(images: count, x: current, y: out)
                current = UnsafePointer(out)
            case .conv1d(let c):
                let shorter = PackedBatch(lengths: batch.lengths.map(c.window.outputLength))
                let out = nextSequence()
                conv1d(c, input: current, batch: batch, output: out, outputBatch: shorter, workspace: ws)
                batch = shorter
                current = UnsafePointer(out)
            }
            inputStride = stage.outputStride
        }
        // The last stage's rows may be padded (a recurrent layer as the last layer); copy out the outputs.
        let classes = network.classCount
        if let rowStarts = output.rowStarts {
            for b in 0..<count {
                let first = rowStarts[callers[b]]
                for t in 0..<batch.lengths[b] {
                    (output.base + (first + t) * classes).update(from: current + (batch.offsets[t] + b) * inputStride, count: classes)
                }
            }
        } else if network.outputsPerStep {
            // One output per input from a per-step model (a stream step, or `last` outputs): its last step.
            for b in 0..<count {
                (output.base + callers[b] * classes).update(from: current + batch.lastRow(b) * inputStride, count: classes)
            }
        } else {
            for b in 0..<count {
                (output.base + callers[b] * classes).update(from: current + b * inputStride, count: classes)
            }
        }
    }

    // MARK: Input stage

    /// The input stage: writes packed row `(t, b)` of the first stage's input at `offsets[t] + b` of
    /// `sequences.0`.
    ///
    /// Images: `x[t][j] = f32(src[t * W + j]) * scale + offset` (spec §6.2); features:
    /// `(src - mean) / d` (spec §6.2.2); tokens: the embedding row of the id (ids outside the
    /// vocabulary read as out-of-vocabulary). A folded table is not copied here: the packed ids go
    /// to `tokenRows`, and the first LSTM reads the table rows of one step at a time
    /// (``tableRows(_:from:count:into:)``), so they stay in cache.
    private func loadInput(_ source: BatchSource, callers: [Int], starts: UnsafePointer<Int>?, batch: PackedBatch,
                           workspace ws: Workspace) {
        let width = network.input.width
        let x = ws.sequences.0
        // Calls `body(row, first)` for every packed row and the caller's element offset of its step.
        func forEachStep(_ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
            for (b, caller) in callers.enumerated() {
                let start = starts![caller]
                for step in 0..<batch.lengths[b] { body(x + (batch.offsets[step] + b) * width, start + step * width) }
            }
        }
        switch (network.input, source) {
        case (.imageRows(_, _, let scale, let offset), .pixels(let pixels)):
            forEachStep { to, from in for j in 0..<width { to[j] = Float(pixels[from + j]) * scale + offset } }
        case (.imageRows, .normalized(let values)):
            forEachStep { to, from in to.update(from: values + from, count: width) }
        case (.image(let channels, let height, let imageWidth, let scale, let offset), .pixels(let pixels)):
            // Channels first in the source, channels last in the row (spec §6.2.3).
            let plane = height * imageWidth
            forEachStep { to, from in
                for c in 0..<channels { for p in 0..<plane { to[p * channels + c] = Float(pixels[from + c * plane + p]) * scale + offset } }
            }
        case (.image(let channels, let height, let imageWidth, _, _), .normalized(let values)):
            let plane = height * imageWidth
            forEachStep { to, from in
                for c in 0..<channels { for p in 0..<plane { to[p * channels + c] = values[from + c * plane + p] } }
            }
        case (.features(_, _, let mean, let divisor), .features(let values)):
            if mean.isEmpty {
                forEachStep { to, from in to.update(from: values + from, count: width) }
            } else {
                mean.withUnsafeBufferPointer { mean in
                    divisor.withUnsafeBufferPointer { divisor in
                        // Two binary32 roundings, a subtraction then a division (spec §6.2.2).
                        forEachStep { to, from in for j in 0..<width { to[j] = (values[from + j] - mean[j]) / divisor[j] } }
                    }
                }
            }
        case (.foldedEmbedding(_, let vocabulary, _, _), .tokens(let sequences)):
            for (b, caller) in callers.enumerated() {
                let ids = sequences[caller]
                for step in 0..<batch.lengths[b] {
                    let id = ids[step]
                    ws.tokenRows[batch.offsets[step] + b] = id >= 0 && Int(id) < vocabulary ? id : Int32(TokenInput.outOfVocabularyID)
                }
            }
        case (.embedding(let table, let vocabulary, _, _), .tokens(let sequences)):
            table.withUnsafeBufferPointer { table in
                for (b, caller) in callers.enumerated() {
                    let ids = sequences[caller]
                    for step in 0..<batch.lengths[b] {
                        let id = Int(ids[step])
                        let row = id >= 0 && id < vocabulary ? id : TokenInput.outOfVocabularyID
                        (x + (batch.offsets[step] + b) * width).update(from: table.baseAddress! + row * width, count: width)
                    }
                }
            }
        default:
            preconditionFailure("input of the wrong kind for this model (checked by Model)")
        }
    }

    /// Copies the folded table's rows of the packed ids `ids[from ..< from + count]` into `z`.
    private func tableRows(_ ids: UnsafeMutablePointer<Int32>, from: Int, count: Int, into z: UnsafeMutablePointer<Float>) {
        guard case .foldedEmbedding(let table, _, let columns, _) = network.input else {
            preconditionFailure("an LSTM reads a projection only after a folded embedding")
        }
        table.withUnsafeBufferPointer { table in
            for r in 0..<count {
                (z + r * columns).update(from: table.baseAddress! + Int(ids[from + r]) * columns, count: columns)
            }
        }
    }

    // MARK: Convolution over time

    /// `output` row `(t', b)` of `outputBatch` = activation(W window(t', b) + bias) (spec §6.1, `conv1d`):
    /// the windows gathered into ``Workspace/windows`` (zero rows outside the sequence), then one GEMM.
    /// The lengths only map (monotonically), so sorted sequence `b` stays sequence `b`.
    private func conv1d(_ c: Conv1DStage, input: UnsafePointer<Float>, batch: PackedBatch, output: UnsafeMutablePointer<Float>,
                        outputBatch: PackedBatch, workspace ws: Workspace) {
        let rows = outputBatch.total, width = c.windowWidth, stride = c.inputStride
        guard rows > 0 else { return }
        ws.reserveWindows(rows * width)
        let windows = ws.windows
        for b in 0..<batch.count {
            let length = batch.lengths[b]
            for t in 0..<outputBatch.lengths[b] {
                let row = windows + (outputBatch.offsets[t] + b) * width
                for u in 0..<c.window.kernel {
                    let s = t * c.window.stride + u - c.window.padBefore
                    if s >= 0 && s < length {
                        (row + u * stride).update(from: input + (batch.offsets[s] + b) * stride, count: stride)
                    } else {
                        (row + u * stride).update(repeating: 0, count: stride)
                    }
                }
            }
        }
        dense(DenseStage(outputSize: c.outputSize, inputStride: width, weight: c.weight, bias: c.bias,
                         activation: c.activation, perTimeStep: true),
              input: windows, rows: rows, output: output)
    }

    // MARK: Dense

    /// `output = activation(input W^T + b)` for `rows` rows, as one GEMM.
    private func dense(_ d: DenseStage, input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>) {
        d.bias.withUnsafeBufferPointer { bias in
            for r in 0..<rows { (output + r * d.outputSize).update(from: bias.baseAddress!, count: d.outputSize) }
        }
        d.weight.withUnsafeBufferPointer { weight in
            sgemmAccumulate(rows: rows, columns: d.outputSize, inner: d.inputStride,
                            a: input, lda: d.inputStride, weight: weight.baseAddress!, ldw: d.inputStride,
                            c: output, ldc: d.outputSize)
        }
        let n = rows * d.outputSize
        switch d.activation {
        case .none: break
        case .relu: for i in 0..<n { output[i] = max(0, output[i]) }
        case .tanh: for i in 0..<n { output[i] = libmTanh(output[i]) }
        }
    }

    // MARK: Pooling over time

    /// Spec §6.1 `pool`: row `b` of `output` (`[B, stride]`) is the mean or the maximum, column by
    /// column, of sorted sequence `b`'s packed rows `offsets[t] + b`, `t = 0 ..< length_b`.
    ///
    /// Mean: the running sum `s += h[t]` in increasing `t`, in binary32, then `s / T` (one rounded
    /// division, not a multiplication by `1 / T`). Every `|h| < 1` (a product of a gate in (0, 1) and
    /// a `tanh`, or a GRU's convex mix of them), so the sum's rounding error is below `(T - 1) 2^-24 T`
    /// and the mean's below `T 2^-24` (spec §6.1). Max: exact. A sequence of length 0 (an empty text)
    /// pools to 0. Nothing is allocated: the rows are read where the recurrent layer wrote them.
    private func pool(_ p: PoolStage, input: UnsafePointer<Float>, batch: PackedBatch, output: UnsafeMutablePointer<Float>) {
        let stride = p.stride
        for b in 0..<batch.count {
            let row = output + b * stride
            let length = batch.lengths[b]
            guard length > 0 else {
                row.update(repeating: 0, count: stride)
                continue
            }
            row.update(from: input + b * stride, count: stride)  // step 0: offsets[0] == 0
            for t in 1..<length {
                let step = input + (batch.offsets[t] + b) * stride
                switch p.mode {
                case .mean: for j in 0..<stride { row[j] += step[j] }
                case .max: for j in 0..<stride { row[j] = max(row[j], step[j]) }
                }
            }
            if p.mode == .mean {
                let count = Float(length)
                for j in 0..<stride { row[j] /= count }
            }
        }
    }

    // MARK: Recurrent layers

    /// Where step `t`'s hidden state goes, and where step `t - 1`'s is read from.
    ///
    /// A layer that returns its sequence writes packed rows `offsets[t] + b` of `sequence` (row
    /// stride `stride`: `paddedHidden`, or twice that for the forward half of a bidirectional row).
    /// One that returns its last state alternates between two `[B, Hp]` buffers indexed by `b`: rows
    /// `b < active[t]` are written at step `t`, and a sequence that has ended is never written
    /// again, so its last state stays in buffer `(length - 1) % 2`, gathered into the output at the end.
    private struct HiddenRows {
        let sequence: UnsafeMutablePointer<Float>?
        let stride: Int
        let states: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
        let batch: PackedBatch
        let padded: Int

        /// Step `t`'s rows and their stride.
        func step(_ t: Int) -> (UnsafeMutablePointer<Float>, Int) {
            if let sequence { return (sequence + batch.offsets[t] * stride, stride) }
            return (t % 2 == 0 ? states.0 : states.1, padded)
        }

        /// The final state row of sorted sequence `b`.
        func last(_ b: Int) -> UnsafeMutablePointer<Float> {
            let (rows, stride) = step(batch.lengths[b] - 1)
            return rows + b * stride
        }

        /// Copies each sequence's last state into `output` (rows `outputStride` apart), for a layer
        /// that returns it.
        func gatherLast(into output: UnsafeMutablePointer<Float>, outputStride: Int) {
            guard sequence == nil else { return }
            for b in 0..<batch.count {
                let row = output + b * outputStride
                if batch.lengths[b] > 0 {
                    row.update(from: last(b), count: padded)
                } else {
                    row.update(repeating: 0, count: padded)   // an empty sequence: h = 0
                }
            }
        }
    }

    /// One recurrent layer, one or both directions, writing `output` (`[rows, outputStride]` packed
    /// rows, or `[B, outputStride]` last states).
    private func recurrent(_ r: RecurrentStage, input: UnsafePointer<Float>, inputStride: Int, batch: PackedBatch,
                           output: UnsafeMutablePointer<Float>, initialState: Bool, workspace ws: Workspace) {
        let hp = r.paddedHidden, outStride = r.outputStride
        let x: UnsafePointer<Float>? = r.inputIsProjection ? nil : input
        let forwardRows = HiddenRows(sequence: r.returnsSequence ? output : nil, stride: outStride,
                                     states: ws.hidden, batch: batch, padded: hp)
        direction(r, r.forward, x: x, xStride: inputStride, batch: batch, rows: forwardRows,
                  initialState: initialState, workspace: ws)
        forwardRows.gatherLast(into: output, outputStride: outStride)
        guard let backward = r.backward else { return }

        // Backward direction: the same step code over the reversed sequences. Row (s, b) of the
        // reversed input holds step length_b - 1 - s, so reversed step s is original step
        // length_b - 1 - s, and the state after the last reversed step is hb[0] (spec §6.1).
        let reversed = ws.reversed
        if let x {
            for b in 0..<batch.count {
                let length = batch.lengths[b]
                for s in 0..<length {
                    (reversed + (batch.offsets[s] + b) * inputStride)
                        .update(from: x + (batch.offsets[length - 1 - s] + b) * inputStride, count: inputStride)
                }
            }
        }
        let backwardRows = HiddenRows(sequence: r.returnsSequence ? ws.backward : nil, stride: hp,
                                      states: ws.hidden, batch: batch, padded: hp)
        direction(r, backward, x: x == nil ? nil : UnsafePointer(reversed), xStride: inputStride, batch: batch,
                  rows: backwardRows, initialState: false, workspace: ws)
        if r.returnsSequence {
            for b in 0..<batch.count {
                let length = batch.lengths[b]
                for t in 0..<length {
                    (output + (batch.offsets[t] + b) * outStride + hp)
                        .update(from: ws.backward + (batch.offsets[length - 1 - t] + b) * hp, count: hp)
                }
            }
        } else {
            backwardRows.gatherLast(into: output + hp, outputStride: outStride)
        }
    }

    /// One direction of a recurrent layer over packed input rows `x` (nil: a folded table supplies
    /// the projection). With `initialState`, `h[-1]` is `workspace.initialHidden` and `c[-1]` is
    /// `workspace.cell` (loaded by the caller); otherwise both are 0.
    private func direction(_ r: RecurrentStage, _ w: DirectionWeights, x: UnsafePointer<Float>?, xStride: Int,
                           batch: PackedBatch, rows: HiddenRows, initialState: Bool, workspace ws: Workspace) {
        if let q = w.int8 {
            int8Direction(r, w, q, x: x, xStride: xStride, batch: batch, rows: rows, initialState: initialState, workspace: ws)
            return
        }
        switch r.cell {
        case .lstm:
            if kernel == .none {
                portableLSTM(r, w, x: x, xStride: xStride, batch: batch, rows: rows, initialState: initialState, workspace: ws)
            } else {
                fusedLSTM(r, w, x: x, xStride: xStride, batch: batch, rows: rows, initialState: initialState, workspace: ws)
            }
        case .gru(let resetAfter):
            gru(r, w, resetAfter: resetAfter, x: x, xStride: xStride, batch: batch, rows: rows,
                initialState: initialState, workspace: ws)
        }
    }

    /// The previous step's hidden rows: step `t - 1`, or at `t = 0` the initial state (nil: zero).
    private func previous(_ t: Int, _ rows: HiddenRows, initialState: Bool, _ ws: Workspace, _ hp: Int) -> (UnsafePointer<Float>?, Int) {
        if t > 0 {
            let (p, stride) = rows.step(t - 1)
            return (UnsafePointer(p), stride)
        }
        return initialState ? (UnsafePointer(ws.initialHidden), hp) : (nil, hp)
    }

    /// One LSTM direction, portable path:
    /// (b) one GEMM projects the inputs of all steps at once, bias included (or the folded table's
    ///     rows are the projection already);
    /// (c) per step one `[active, Hp] x [Hp, 4Hp]` GEMM adds `R h[t-1]` onto that step's projection
    ///     (skipped at `t = 0` from a zero state);
    /// (d) one gate pass per row over the `[4Hp]` pre-activations updates `c` and writes `h`.
    private func portableLSTM(_ r: RecurrentStage, _ w: DirectionWeights, x: UnsafePointer<Float>?, xStride: Int,
                              batch: PackedBatch, rows: HiddenRows, initialState: Bool, workspace ws: Workspace) {
        let hp = r.paddedHidden
        let gates = 4 * hp
        let z = ws.projection
        if let x {
            w.bias.withUnsafeBufferPointer { bias in
                for row in 0..<batch.total { (z + row * gates).update(from: bias.baseAddress!, count: gates) }
            }
            w.inputWeight.withUnsafeBufferPointer { weight in
                sgemmAccumulate(rows: batch.total, columns: gates, inner: xStride,
                                a: x, lda: xStride, weight: weight.baseAddress!, ldw: xStride, c: z, ldc: gates)
            }
        } else {
            tableRows(ws.tokenRows, from: 0, count: batch.total, into: z)
        }
        if !initialState { ws.cell.update(repeating: 0, count: batch.count * hp) }
        w.recurrentWeight.withUnsafeBufferPointer { recurrent in
            for t in 0..<batch.steps {
                let active = batch.active[t]
                let zStep = z + batch.offsets[t] * gates
                let (h, hStride) = previous(t, rows, initialState: initialState, ws, hp)
                if let h {
                    sgemmAccumulate(rows: active, columns: gates, inner: hp,
                                    a: h, lda: hStride, weight: recurrent.baseAddress!, ldw: hp, c: zStep, ldc: gates)
                }
                let (out, outStride) = rows.step(t)
                for row in 0..<active {
                    switch math {
                    case .fast: gatePassFast(z: zStep + row * gates, cell: ws.cell + row * hp, hidden: out + row * outStride, units: hp)
                    case .libm: gatePassLibm(z: zStep + row * gates, cell: ws.cell + row * hp, hidden: out + row * outStride, units: hp)
                    }
                }
            }
        }
    }

    /// One LSTM direction with the fused kernel: per step a single call computes
    /// `z = x[t] W_x + h[t-1] W_h + b`, the gates and the state update in registers (rnn_kernels.h),
    /// so the pre-activations never go to memory. A folded table's rows are passed as the starting
    /// values of `z` instead of `x` and `b`.
    private func fusedLSTM(_ r: RecurrentStage, _ w: DirectionWeights, x: UnsafePointer<Float>?, xStride: Int,
                           batch: PackedBatch, rows: HiddenRows, initialState: Bool, workspace ws: Workspace) {
        let hp = r.paddedHidden
        w.packedInputWeight.withUnsafeBufferPointer { wx in
            w.packedRecurrentWeight.withUnsafeBufferPointer { wh in
                w.bias.withUnsafeBufferPointer { bias in
                    for t in 0..<batch.steps {
                        let first = batch.offsets[t]
                        let (h, hStride) = previous(t, rows, initialState: initialState, ws, hp)
                        let (out, outStride) = rows.step(t)
                        var step = LSTMStep(
                            rows: batch.active[t], groups: hp / laneCount,
                            x: x.map { $0 + first * xStride }, xStride: xStride, xWidth: xStride, wx: wx.baseAddress,
                            h: h, hStride: hStride, wh: wh.baseAddress!,
                            bias: bias.baseAddress,
                            cPrevious: t > 0 || initialState ? UnsafePointer(ws.cell) : nil, cOut: ws.cell, cStride: hp,
                            hOut: out, hOutStride: outStride)
                        if x == nil {
                            tableRows(ws.tokenRows, from: first, count: batch.active[t], into: ws.projection)
                            step.zIn = UnsafePointer(ws.projection)
                            step.zInStride = 4 * hp
                        }
                        step.run(kernel)
                    }
                }
            }
        }
    }

    /// One direction of a layer that runs the int8 evaluation (spec §6.6), LSTM or reset-after GRU: per
    /// step one call of the int8 step (rnn_kernels.h), which quantizes `x[t]` and `h[t-1]` per row,
    /// takes the exact integer products, and runs the gates of the float step on the result.
    private func int8Direction(_ r: RecurrentStage, _ w: DirectionWeights, _ q: Int8Weights, x: UnsafePointer<Float>?,
                               xStride: Int, batch: PackedBatch, rows: HiddenRows, initialState: Bool, workspace ws: Workspace) {
        guard let x else { preconditionFailure("an int8 layer always has its input rows (no embedding table folds into it)") }
        let hp = r.paddedHidden
        let lstm = r.cell == .lstm
        q.input.withMatrix { wx in
            q.recurrent.withMatrix { wh in
                w.bias.withUnsafeBufferPointer { bias in
                    w.biasHN.withUnsafeBufferPointer { biasHN in
                        for t in 0..<batch.steps {
                            let first = batch.offsets[t]
                            let (h, hStride) = previous(t, rows, initialState: initialState, ws, hp)
                            let (out, outStride) = rows.step(t)
                            var step = Int8Step(
                                cell: lstm ? .lstm : .gru, rows: batch.active[t], groups: hp / laneCount,
                                x: x + first * xStride, xStride: xStride, wx: wx, h: h, hStride: hStride, wh: wh,
                                bias: bias.baseAddress, hOut: out, hOutStride: outStride, scratch: ws.int8Scratch)
                            step.biasHN = biasHN.baseAddress
                            if lstm {
                                step.cPrevious = t > 0 || initialState ? UnsafePointer(ws.cell) : nil
                                step.cOut = ws.cell
                                step.cStride = hp
                            }
                            step.run(int8Kernel)
                        }
                    }
                }
            }
        }
    }

    /// One GRU direction: per step one call of the GRU step kernel (rnn_kernels.h), which computes
    /// the input and recurrent products, the gates and `h[t] = n + z (h[t-1] - n)` in registers. Its
    /// portable variant (`kernel == .none`) is plain C, so every CPU runs the same algorithm.
    private func gru(_ r: RecurrentStage, _ w: DirectionWeights, resetAfter: Bool, x: UnsafePointer<Float>?, xStride: Int,
                     batch: PackedBatch, rows: HiddenRows, initialState: Bool, workspace ws: Workspace) {
        let hp = r.paddedHidden
        w.packedInputWeight.withUnsafeBufferPointer { wx in
            w.packedRecurrentWeight.withUnsafeBufferPointer { wh in
                w.bias.withUnsafeBufferPointer { bias in
                    w.biasHN.withUnsafeBufferPointer { biasHN in
                        for t in 0..<batch.steps {
                            let first = batch.offsets[t]
                            let (h, hStride) = previous(t, rows, initialState: initialState, ws, hp)
                            let (out, outStride) = rows.step(t)
                            var step = GRUStep(
                                rows: batch.active[t], groups: hp / laneCount,
                                x: x.map { $0 + first * xStride }, xStride: xStride, xWidth: xStride, wx: wx.baseAddress,
                                h: h, hStride: hStride, wh: wh.baseAddress!,
                                biasX: bias.baseAddress!, biasHN: biasHN.baseAddress, resetAfter: resetAfter,
                                hOut: out, hOutStride: outStride)
                            step.scratch = ws.gruScratch
                            step.run(kernel)
                        }
                    }
                }
            }
        }
    }
}

/// The gate pass over interleaved pre-activations (layout in ``RNNCore/GateLayout``).
///
/// `units` is `rows * Hp` for contiguous rows: chunk `q` reads `z[32q ..< 32q + 32]` (i, f, g, o
/// for 8 units) and updates `cell[8q ..< 8q + 8]` and `hidden[8q ..< 8q + 8]`:
/// `c = f c + i g`,  `h = o tanh(c)`  (spec §6.1).
@inline(__always)
func gatePassFast(z: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>,
                  hidden: UnsafeMutablePointer<Float>, units: Int) {
    let zRaw = UnsafeRawPointer(z)
    let cRaw = UnsafeMutableRawPointer(cell)
    let hRaw = UnsafeMutableRawPointer(hidden)
    let laneBytes = MemoryLayout<Lanes>.size
    for q in 0..<(units / laneCount) {
        let base = zRaw + q * 4 * laneBytes
        let i = fastSigmoid(base.loadUnaligned(as: Lanes.self))
        let f = fastSigmoid(base.loadUnaligned(fromByteOffset: laneBytes, as: Lanes.self))
        let g = fastTanh(base.loadUnaligned(fromByteOffset: 2 * laneBytes, as: Lanes.self))
        let o = fastSigmoid(base.loadUnaligned(fromByteOffset: 3 * laneBytes, as: Lanes.self))
        let c = f * cRaw.loadUnaligned(fromByteOffset: q * laneBytes, as: Lanes.self) + i * g
        cRaw.storeBytes(of: c, toByteOffset: q * laneBytes, as: Lanes.self)
        hRaw.storeBytes(of: o * fastTanh(c), toByteOffset: q * laneBytes, as: Lanes.self)
    }
}

/// The same pass with libm's scalar `expf` and `tanhf`.
func gatePassLibm(z: UnsafeMutablePointer<Float>, cell: UnsafeMutablePointer<Float>,
                  hidden: UnsafeMutablePointer<Float>, units: Int) {
    for u in 0..<units {
        let base = (u / laneCount) * 4 * laneCount + u % laneCount
        let i = 1 / (1 + libmExp(-z[base]))
        let f = 1 / (1 + libmExp(-z[base + laneCount]))
        let g = libmTanh(z[base + 2 * laneCount])
        let o = 1 / (1 + libmExp(-z[base + 3 * laneCount]))
        let c = f * cell[u] + i * g
        cell[u] = c
        hidden[u] = o * libmTanh(c)
    }
}
