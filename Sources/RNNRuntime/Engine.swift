import RNNCore
import RNNFormat

/// The caller's inputs of one `classify` call, shared read-only by the workers.
enum BatchSource: @unchecked Sendable {
    /// Raw `u8` images, `valuesPerImage` each: the input contract is applied while loading.
    case pixels(UnsafePointer<UInt8>)
    /// Already normalized images, `valuesPerImage` each (`x[t][j]` values).
    case features(UnsafePointer<Float>)
    /// Token-id sequences (already truncated to the model's `max_length`).
    case tokens(UnsafePointer<[Int32]>)
}

/// Which implementation of `sigmoid` and `tanh` the LSTM gate pass uses.
public enum ActivationMath: Sendable, Equatable {
    /// The vectorized approximations (absolute error below 1e-6; see the tests).
    case fast
    /// The platform's libm, one value at a time (for validation and measurement).
    case libm
}

/// The forward pass (spec §6) for every model kind: one block of sequences through the compiled
/// network.
///
/// A block is packed time-major by length (``RNNCore/PackedBatch``): the sequences still running at
/// step `t` are rows `offsets[t] ..< offsets[t] + active[t]` of every sequence buffer, so the rows
/// of one step are contiguous and every stage is one GEMM (or one kernel call per step) over them.
/// Images are the case where every length is `T`: rows `t * B + b`, in the caller's order.
///
/// There is one implementation per kernel variant: the portable path (BLAS GEMMs and the Swift gate
/// pass, every platform) and the fused path (the C step kernel, in its AVX2 or AVX-512 variant).
struct Engine {
    let network: CompiledNetwork
    let math: ActivationMath
    /// The fused kernel variant LSTMs run on, or `.none` for the portable path.
    let kernel: KernelISA

    init(network: CompiledNetwork, math: ActivationMath, kernel: KernelISA) {
        self.network = network
        self.math = math
        // The fused kernels implement the fast activations only.
        self.kernel = math == .fast ? kernel : .none
    }

    /// Runs the sequences `indices` of `source` (each `lengths[k]` steps) and writes their
    /// `classCount` logits to `logits + indices[k] * classCount`.
    func run(_ source: BatchSource, indices: ArraySlice<Int>, lengths: [Int], valuesPerImage: Int,
             workspace ws: Workspace, logits: UnsafeMutablePointer<Float>) {
        let count = indices.count
        precondition(count <= ws.capacity)
        let batch = PackedBatch(lengths: lengths)
        let callers = batch.order.map { indices[indices.startIndex + $0] }
        ws.reserve(rows: batch.total)
        var current = UnsafePointer(ws.sequences.0)
        loadInput(source, callers: callers, valuesPerImage: valuesPerImage, batch: batch, workspace: ws)

        var stride = network.input.width
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
        for stage in network.stages {
            switch stage {
            case .dense(let d):
                let out = d.perTimeStep ? nextSequence() : nextVector()
                dense(d, input: current, rows: d.perTimeStep ? batch.total : count, output: out)
                current = UnsafePointer(out)
            case .lstm(let l):
                let out = l.returnsSequence ? nextSequence() : nextVector()
                if kernel == .none {
                    portableLSTM(l, input: current, batch: batch, output: out, workspace: ws)
                } else {
                    fusedLSTM(l, input: current, batch: batch, output: out, workspace: ws)
                }
                current = UnsafePointer(out)
            }
            stride = stage.outputStride
        }
        // The last stage's rows may be padded (an LSTM as the last layer); copy out the classes.
        let classes = network.classCount
        for b in 0..<count {
            (logits + callers[b] * classes).update(from: current + b * stride, count: classes)
        }
    }

    /// The input stage: writes packed row `(t, b)` of the first stage's input at `offsets[t] + b` of
    /// `sequences.0`.
    ///
    /// Images: `x[t][j] = f32(src[t * W + j]) * scale + offset` (spec §6.2); tokens: the embedding
    /// row of the id (ids outside the vocabulary read as out-of-vocabulary). A folded table is not
    /// copied here: the packed ids go to `tokenRows`, and the first LSTM reads the table rows of one
    /// step at a time (``tableRows(_:from:count:into:)``), so they stay in cache.
    private func loadInput(_ source: BatchSource, callers: [Int], valuesPerImage: Int, batch: PackedBatch,
                           workspace ws: Workspace) {
        let width = network.input.width
        let x = ws.sequences.0
        switch (network.input, source) {
        case (.imageRows(_, _, let scale, let offset), .pixels(let pixels)):
            for (b, caller) in callers.enumerated() {
                let image = pixels + caller * valuesPerImage
                for step in 0..<batch.lengths[b] {
                    let from = image + step * width
                    let to = x + (batch.offsets[step] + b) * width
                    for j in 0..<width { to[j] = Float(from[j]) * scale + offset }
                }
            }
        case (.imageRows, .features(let features)):
            for (b, caller) in callers.enumerated() {
                for step in 0..<batch.lengths[b] {
                    (x + (batch.offsets[step] + b) * width).update(from: features + caller * valuesPerImage + step * width, count: width)
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

    /// Where step `t`'s hidden state goes, and where step `t - 1`'s is read from.
    ///
    /// A layer that returns its sequence writes packed rows `offsets[t] + b` of `output`. One that
    /// returns its last state alternates between two `[B, Hp]` buffers indexed by `b`: rows
    /// `b < active[t]` are written at step `t`, and a sequence that has ended is never written
    /// again, so its last state stays in buffer `(length - 1) % 2`, gathered into `output` at the end.
    private struct HiddenRows {
        let sequence: UnsafeMutablePointer<Float>?
        let states: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)
        let batch: PackedBatch
        let padded: Int

        func step(_ t: Int) -> UnsafeMutablePointer<Float> {
            if let sequence { return sequence + batch.offsets[t] * padded }
            return t % 2 == 0 ? states.0 : states.1
        }

        /// Copies each sequence's last state into `output` (`[B, Hp]`), for a layer that returns it.
        func gatherLast(into output: UnsafeMutablePointer<Float>) {
            guard sequence == nil else { return }
            for b in 0..<batch.count {
                let row = output + b * padded
                if batch.lengths[b] > 0 {
                    row.update(from: step(batch.lengths[b] - 1) + b * padded, count: padded)
                } else {
                    row.update(repeating: 0, count: padded)   // an empty sequence: h = 0
                }
            }
        }
    }

    /// One LSTM layer, portable path:
    /// (b) one GEMM projects the inputs of all steps at once, bias included (or the folded table's
    ///     rows are the projection already);
    /// (c) per step one `[active, Hp] x [Hp, 4Hp]` GEMM adds `R h[t-1]` onto that step's projection
    ///     (skipped at `t = 0`, where `h[-1] = 0`);
    /// (d) one gate pass over the `[active, 4Hp]` pre-activations updates `c` and writes `h`.
    private func portableLSTM(_ l: LSTMStage, input: UnsafePointer<Float>, batch: PackedBatch,
                              output: UnsafeMutablePointer<Float>, workspace ws: Workspace) {
        let hp = l.paddedHidden
        let gates = 4 * hp
        let z = ws.projection
        if l.inputIsProjection {
            tableRows(ws.tokenRows, from: 0, count: batch.total, into: z)
        } else {
            l.bias.withUnsafeBufferPointer { bias in
                for r in 0..<batch.total { (z + r * gates).update(from: bias.baseAddress!, count: gates) }
            }
            l.inputWeight.withUnsafeBufferPointer { weight in
                sgemmAccumulate(rows: batch.total, columns: gates, inner: l.inputStride,
                                a: input, lda: l.inputStride, weight: weight.baseAddress!, ldw: l.inputStride,
                                c: z, ldc: gates)
            }
        }
        let rows = HiddenRows(sequence: l.returnsSequence ? output : nil, states: ws.hidden, batch: batch, padded: hp)
        ws.cell.update(repeating: 0, count: batch.count * hp)
        l.recurrentWeight.withUnsafeBufferPointer { recurrent in
            for t in 0..<batch.steps {
                let active = batch.active[t]
                let zStep = z + batch.offsets[t] * gates
                if t > 0 {
                    sgemmAccumulate(rows: active, columns: gates, inner: hp,
                                    a: rows.step(t - 1), lda: hp, weight: recurrent.baseAddress!, ldw: hp,
                                    c: zStep, ldc: gates)
                }
                switch math {
                case .fast: gatePassFast(z: zStep, cell: ws.cell, hidden: rows.step(t), units: active * hp)
                case .libm: gatePassLibm(z: zStep, cell: ws.cell, hidden: rows.step(t), units: active * hp)
                }
            }
        }
        rows.gatherLast(into: output)
    }

    /// One LSTM layer with the fused kernel: per step a single call computes
    /// `z = x[t] W_x + h[t-1] W_h + b`, the gates and the state update in registers (rnn_kernels.h),
    /// so the pre-activations never go to memory. A folded table's rows are passed as the starting
    /// values of `z` instead of `x` and `b`.
    private func fusedLSTM(_ l: LSTMStage, input: UnsafePointer<Float>, batch: PackedBatch,
                           output: UnsafeMutablePointer<Float>, workspace ws: Workspace) {
        let hp = l.paddedHidden
        let rows = HiddenRows(sequence: l.returnsSequence ? output : nil, states: ws.hidden, batch: batch, padded: hp)
        l.packedInputWeight.withUnsafeBufferPointer { wx in
            l.packedRecurrentWeight.withUnsafeBufferPointer { wh in
                l.bias.withUnsafeBufferPointer { bias in
                    for t in 0..<batch.steps {
                        let first = batch.offsets[t]
                        var step = LSTMStep(
                            rows: batch.active[t], groups: hp / laneCount,
                            x: l.inputIsProjection ? nil : input + first * l.inputStride,
                            xStride: l.inputStride, xWidth: l.inputStride, wx: wx.baseAddress,
                            h: t > 0 ? UnsafePointer(rows.step(t - 1)) : nil, hStride: hp, wh: wh.baseAddress!,
                            bias: bias.baseAddress,
                            cPrevious: t > 0 ? UnsafePointer(ws.cell) : nil, cOut: ws.cell, cStride: hp,
                            hOut: rows.step(t), hOutStride: hp)
                        if l.inputIsProjection {
                            tableRows(ws.tokenRows, from: first, count: batch.active[t], into: ws.projection)
                            step.zIn = UnsafePointer(ws.projection)
                            step.zInStride = 4 * hp
                        }
                        step.run(kernel)
                    }
                }
            }
        }
        rows.gatherLast(into: output)
    }
}

/// The gate pass over interleaved pre-activations (layout in ``RNNCore/GateLayout``).
///
/// `units` is `rows * Hp`; rows are contiguous, so the whole block is one flat loop: chunk `q` reads
/// `z[32q ..< 32q + 32]` (i, f, g, o for 8 units) and updates `cell[8q ..< 8q + 8]` and
/// `hidden[8q ..< 8q + 8]`:  `c = f c + i g`,  `h = o tanh(c)`  (spec §6.1).
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
