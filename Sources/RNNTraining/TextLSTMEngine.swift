import RNNCore

/// Sizes of the text classifier `embedding -> lstm -> dense` and where each tensor lives in the
/// flat parameter vector (the order of the exported file's tensors).
package struct TextModelShape: Sendable, Equatable {
    /// Embedding rows `V` (vocabulary words + the padding and out-of-vocabulary ids).
    package var vocabularySize: Int
    /// Embedding width `D`.
    package var embeddingSize: Int
    /// LSTM width `H`.
    package var hiddenSize: Int
    /// Output classes `C`.
    package var classCount: Int

    /// `E` `[V, D]` starts here.
    package var embedding: Int { 0 }
    /// `W_ih` `[4H, D]`.
    package var inputWeights: Int { embedding + vocabularySize * embeddingSize }
    /// `W_hh` `[4H, H]`.
    package var recurrentWeights: Int { inputWeights + 4 * hiddenSize * embeddingSize }
    /// `b` `[4H]` (exported as `b_ih`; the model has a single LSTM bias).
    package var gateBias: Int { recurrentWeights + 4 * hiddenSize * hiddenSize }
    /// `W_out` `[C, H]`.
    package var outputWeights: Int { gateBias + 4 * hiddenSize }
    /// `b_out` `[C]`.
    package var outputBias: Int { outputWeights + classCount * hiddenSize }
    /// Total parameter count.
    package var parameterCount: Int { outputBias + classCount }
}

/// Forward and backward passes of `embedding -> lstm (masked) -> dense` over a ``TextBatch``.
///
/// Generic over the scalar so that the float64 instance checks the float32 one with finite
/// differences (the same code, spec §6.1 equations). One engine per worker thread: it owns its
/// buffers, which grow to the largest batch seen.
///
/// Algebra (time-major packed rows, `n_t` active at step `t`):
///
///     X = E[tokens]                     [N, D]   (gather)
///     Z = X W_ihᵀ + b                   [N, 4H]  (one GEMM for all steps)
///     Z_t += h_{t-1} W_hhᵀ              [n_t, 4H] (rows of step t; h_{-1} = 0)
///     gates, c_t, h_t as spec §6.1;  h_final[b] = h at step len_b - 1 (0 for an empty sequence)
///     logits = h_final W_outᵀ + b_out
///
/// Backward runs the steps in reverse; a sequence's gradient enters at its own last step, and rows
/// that have ended are simply not in `n_t`, so padded steps contribute nothing (the masking).
/// `dE` is a scatter-add of `dX = dZ W_ih` into the rows of the tokens seen (sparse rows).
/// `@unchecked Sendable`: an engine is handed to one worker at a time and never shared concurrently.
final class TextLSTMEngine<S: TrainingScalar>: @unchecked Sendable {
    let shape: TextModelShape
    private var x: [S] = []         // [N, D]
    private var gates: [S] = []     // [N, 4H]: pre-activations, then activations i f g o
    private var cells: [S] = []     // [N, H]
    private var hidden: [S] = []    // [N, H]
    private var final: [S] = []     // [B, H]
    private var dFinal: [S] = []    // [B, H]
    private var dH: [S] = []        // [B, H]
    private var dC: [S] = []        // [B, H]
    private var previous: [S] = []  // [N, H]: h_{t-1} aligned with the rows of step t
    private var dX: [S] = []        // [N, D]
    private var inputMask: [S] = []  // [N, D]: 0 or 1/keep (inverted dropout), training only
    private var finalMask: [S] = []  // [B, H]
    private var transposed: [S] = []  // [max(D, H), 4H]: a weight gradient before it is added in place

    /// Dropout for the next forward/backward pair (training only): the probability of zeroing an
    /// embedding output element and a final-state element, and the generator that draws the masks.
    var dropout: (embedding: Double, hidden: Double, generator: Xoshiro256StarStar)? = nil

    /// The fused step kernel for the float32 forward pass (``FusedStep``), or `.none`.
    let kernel: KernelISA

    init(shape: TextModelShape, kernel: KernelISA = .detected) {
        self.shape = shape
        self.kernel = S.self == Float.self && FusedStep.applies(kernel, hiddenSize: shape.hiddenSize) ? kernel : .none
    }

    private func grow(_ a: inout [S], _ n: Int) {
        if a.count < n { a = [S](repeating: 0, count: n) }
    }

    /// Logits `[B, C]` in the batch's sorted order (see ``TextBatch/order``).
    func forward(_ p: UnsafePointer<S>, _ batch: TextBatch) -> [S] {
        let s = shape, d = s.embeddingSize, h = s.hiddenSize, g = 4 * h, n = batch.totalTokens, bCount = batch.count
        grow(&x, n * d); grow(&gates, n * g); grow(&cells, n * h); grow(&hidden, n * h); grow(&final, bCount * h)
        x.withUnsafeMutableBufferPointer { x in
            batch.tokens.withUnsafeBufferPointer { tokens in
                for r in 0..<n {
                    let row = Int(tokens[r])
                    (x.baseAddress! + r * d).update(from: p + s.embedding + row * d, count: d)
                }
            }
        }
        if var drop = dropout {
            inputMask = Self.mask(n * d, drop.embedding, &drop.generator)
            finalMask = Self.mask(bCount * h, drop.hidden, &drop.generator)
            dropout = drop
            for i in 0..<(n * d) { x[i] *= inputMask[i] }
        }
        if kernel != .none {
            fusedSteps(UnsafeRawPointer(p).assumingMemoryBound(to: Float.self), batch)
        } else {
            blasSteps(p, batch)
        }
        final.withUnsafeMutableBufferPointer { fin in
            hidden.withUnsafeBufferPointer { hs in
                for b in 0..<bCount {
                    let len = batch.lengths[b]
                    if len == 0 {
                        (fin.baseAddress! + b * h).update(repeating: 0, count: h)
                    } else {
                        (fin.baseAddress! + b * h).update(from: hs.baseAddress! + batch.packing.lastRow(b) * h, count: h)
                    }
                }
            }
        }
        if dropout != nil { for i in 0..<(bCount * h) { final[i] *= finalMask[i] } }
        let classes = s.classCount
        var logits = [S](repeating: 0, count: bCount * classes)
        final.withUnsafeBufferPointer { fin in
            logits.withUnsafeMutableBufferPointer { l in
                for b in 0..<bCount {
                    for k in 0..<classes {
                        var sum = p[s.outputBias + k]
                        for j in 0..<h { sum += p[s.outputWeights + k * h + j] * fin[b * h + j] }
                        l[b * classes + k] = sum
                    }
                }
            }
        }
        return logits
    }

    /// The LSTM over all steps with the fused kernel (float32): per step one call computes
    /// `z = x W_ihᵀ + h W_hhᵀ + b` for the `n_t` running rows, the gates (kept, gate-major, for the
    /// backward pass), `c` and `h`. Replaces the input GEMM, the per-step GEMMs and the scalar gate
    /// loop, which took about 75 % of an epoch (perf, IMDb subset).
    private func fusedSteps(_ p: UnsafePointer<Float>, _ batch: TextBatch) {
        let s = shape, d = s.embeddingSize, h = s.hiddenSize, g = 4 * h
        let wx = GateLayout.packGateMajor(p + s.inputWeights, hidden: h, columns: d)
        let wh = GateLayout.packGateMajor(p + s.recurrentWeights, hidden: h, columns: h)
        let bias = GateLayout.packGateMajor(p + s.gateBias, hidden: h, columns: 1)
        func floats(_ q: UnsafeMutablePointer<S>) -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer(q).assumingMemoryBound(to: Float.self)
        }
        wx.withUnsafeBufferPointer { wx in wh.withUnsafeBufferPointer { wh in bias.withUnsafeBufferPointer { bias in
        x.withUnsafeMutableBufferPointer { x in
            gates.withUnsafeMutableBufferPointer { z in
                cells.withUnsafeMutableBufferPointer { c in
                    hidden.withUnsafeMutableBufferPointer { hs in
                        let x = floats(x.baseAddress!), z = floats(z.baseAddress!), c = floats(c.baseAddress!), hs = floats(hs.baseAddress!)
                        for t in 0..<batch.steps {
                            let o = batch.offsets[t]
                            let previous = t > 0 ? batch.offsets[t - 1] : 0
                            var step = LSTMStep(
                                rows: batch.active[t], groups: h / 8,
                                x: x + o * d, xStride: d, xWidth: d, wx: wx.baseAddress,
                                h: t > 0 ? UnsafePointer(hs + previous * h) : nil, hStride: h, wh: wh.baseAddress!,
                                bias: bias.baseAddress,
                                cPrevious: t > 0 ? UnsafePointer(c + previous * h) : nil, cOut: c + o * h, cStride: h,
                                hOut: hs + o * h, hOutStride: h)
                            step.gatesOut = z + o * g
                            step.gatesStride = g
                            step.gatesHidden = h
                            step.run(kernel)  // a fused variant the caller chose, checked by FusedStep.applies
                        }
                    }
                }
            }
        }
        } } }
    }

    /// The LSTM over all steps through BLAS and the scalar gate loop (any scalar type).
    private func blasSteps(_ p: UnsafePointer<S>, _ batch: TextBatch) {
        let s = shape, d = s.embeddingSize, h = s.hiddenSize, g = 4 * h, n = batch.totalTokens
        gates.withUnsafeMutableBufferPointer { z in
            cells.withUnsafeMutableBufferPointer { c in
                hidden.withUnsafeMutableBufferPointer { hs in
                    let z = z.baseAddress!, c = c.baseAddress!, hs = hs.baseAddress!
                    if n > 0 {
                        x.withUnsafeBufferPointer { x in
                            S.gemm(transposeA: false, transposeB: true, m: n, n: g, k: d, alpha: 1, a: x.baseAddress!, lda: d,
                                   b: p + s.inputWeights, ldb: d, beta: 0, c: z, ldc: g)
                        }
                    }
                    let bias = p + s.gateBias
                    for r in 0..<n { for k in 0..<g { z[r * g + k] += bias[k] } }
                    for t in 0..<batch.steps {
                        let rows = batch.active[t], o = batch.offsets[t]
                        if t > 0 {
                            S.gemm(transposeA: false, transposeB: true, m: rows, n: g, k: h, alpha: 1,
                                   a: hs + batch.offsets[t - 1] * h, lda: h, b: p + s.recurrentWeights, ldb: h,
                                   beta: 1, c: z + o * g, ldc: g)
                        }
                        for b in 0..<rows {
                            let zr = z + (o + b) * g, cr = c + (o + b) * h, hr = hs + (o + b) * h
                            let cp: UnsafeMutablePointer<S>? = t > 0 ? c + (batch.offsets[t - 1] + b) * h : nil
                            for j in 0..<h {
                                let i = S.gateSigmoid(zr[j]), f = S.gateSigmoid(zr[h + j])
                                let gg = S.gateTanh(zr[2 * h + j]), og = S.gateSigmoid(zr[3 * h + j])
                                zr[j] = i; zr[h + j] = f; zr[2 * h + j] = gg; zr[3 * h + j] = og
                                let cv = f * (cp?[j] ?? 0) + i * gg
                                cr[j] = cv
                                hr[j] = og * S.gateTanh(cv)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the gradient of `Σ_b dLogits[b] · logits[b]` to `grad`, after ``forward(_:_:)`` on the same batch.
    func backward(_ p: UnsafePointer<S>, _ batch: TextBatch, dLogits: [S], grad: UnsafeMutablePointer<S>) {
        let s = shape, d = s.embeddingSize, h = s.hiddenSize, g = 4 * h, n = batch.totalTokens, bCount = batch.count
        let classes = s.classCount
        grow(&dFinal, bCount * h); grow(&dH, bCount * h); grow(&dC, bCount * h); grow(&previous, n * h); grow(&dX, n * d)
        // Dense head.
        final.withUnsafeBufferPointer { fin in
            dFinal.withUnsafeMutableBufferPointer { df in
                for b in 0..<bCount {
                    for j in 0..<h { df[b * h + j] = 0 }
                    for k in 0..<classes {
                        let dl = dLogits[b * classes + k]
                        grad[s.outputBias + k] += dl
                        for j in 0..<h {
                            grad[s.outputWeights + k * h + j] += dl * fin[b * h + j]
                            df[b * h + j] += dl * p[s.outputWeights + k * h + j]
                        }
                    }
                }
            }
        }
        if dropout != nil { for i in 0..<(bCount * h) { dFinal[i] *= finalMask[i] } }
        guard n > 0 else { return }
        gates.withUnsafeMutableBufferPointer { a in
            cells.withUnsafeBufferPointer { c in
                dH.withUnsafeMutableBufferPointer { dh in
                    dC.withUnsafeMutableBufferPointer { dc in
                        dFinal.withUnsafeBufferPointer { df in
                            let a = a.baseAddress!, c = c.baseAddress!, dh = dh.baseAddress!, dc = dc.baseAddress!
                            for t in stride(from: batch.steps - 1, through: 0, by: -1) {
                                let rows = batch.active[t], o = batch.offsets[t]
                                let next = t + 1 < batch.steps ? batch.active[t + 1] : 0
                                // Sequences whose last step is t: their loss gradient enters here.
                                for b in next..<rows {
                                    for j in 0..<h { dh[b * h + j] = df[b * h + j]; dc[b * h + j] = 0 }
                                }
                                for b in 0..<rows {
                                    let ar = a + (o + b) * g, cr = c + (o + b) * h
                                    let cp: UnsafePointer<S>? = t > 0 ? c + (batch.offsets[t - 1] + b) * h : nil
                                    let dhr = dh + b * h, dcr = dc + b * h
                                    for j in 0..<h {
                                        let i = ar[j], f = ar[h + j], gg = ar[2 * h + j], og = ar[3 * h + j]
                                        let tc = S.gateTanh(cr[j])
                                        let dhv = dhr[j]
                                        let dcv = dcr[j] + dhv * og * (1 - tc * tc)
                                        let cprev = cp?[j] ?? 0
                                        // ar now holds dZ (the activations are not needed after this row).
                                        ar[j] = dcv * gg * i * (1 - i)
                                        ar[h + j] = dcv * cprev * f * (1 - f)
                                        ar[2 * h + j] = dcv * i * (1 - gg * gg)
                                        ar[3 * h + j] = dhv * tc * og * (1 - og)
                                        dcr[j] = dcv * f
                                    }
                                }
                                if t > 0 && !FusedStep.product(kernel, m: rows, n: h, k: g, a: a + o * g, aRow: g, aColumn: 1,
                                                               b: p + s.recurrentWeights, ldb: h, c: dh, ldc: h) {
                                    S.gemm(transposeA: false, transposeB: false, m: rows, n: h, k: g, alpha: 1,
                                           a: a + o * g, lda: g, b: p + s.recurrentWeights, ldb: h, beta: 0, c: dh, ldc: h)
                                }
                            }
                        }
                    }
                }
            }
        }
        // Weight gradients from the stored dZ (now in `gates`).
        gates.withUnsafeBufferPointer { dz in
            let dz = dz.baseAddress!
            x.withUnsafeBufferPointer { x in
                addWeightGradient(dz: dz, x: x.baseAddress!, width: d, rows: n, into: grad + s.inputWeights)
            }
            for r in 0..<n { for k in 0..<g { grad[s.gateBias + k] += dz[r * g + k] } }
            let first = batch.active[0]
            if n > first {
                previous.withUnsafeMutableBufferPointer { pv in
                    hidden.withUnsafeBufferPointer { hs in
                        for t in 1..<batch.steps {
                            (pv.baseAddress! + (batch.offsets[t] - first) * h)
                                .update(from: hs.baseAddress! + batch.offsets[t - 1] * h, count: batch.active[t] * h)
                        }
                        addWeightGradient(dz: dz + first * g, x: pv.baseAddress!, width: h, rows: n - first, into: grad + s.recurrentWeights)
                    }
                }
            }
            dX.withUnsafeMutableBufferPointer { dx in
                if !FusedStep.product(kernel, m: n, n: d, k: g, a: dz, aRow: g, aColumn: 1, b: p + s.inputWeights, ldb: d,
                                      c: dx.baseAddress!, ldc: d) {
                    S.gemm(transposeA: false, transposeB: false, m: n, n: d, k: g, alpha: 1, a: dz, lda: g,
                           b: p + s.inputWeights, ldb: d, beta: 0, c: dx.baseAddress!, ldc: d)
                }
                batch.tokens.withUnsafeBufferPointer { tokens in
                    for r in 0..<n {
                        let e = grad + s.embedding + Int(tokens[r]) * d
                        if self.dropout != nil {
                            for j in 0..<d { e[j] += dx[r * d + j] * self.inputMask[r * d + j] }
                        } else {
                            for j in 0..<d { e[j] += dx[r * d + j] }
                        }
                    }
                }
            }
        }
    }

    /// `grad += dzᵀ x` over `rows` rows (`[4H, rows] x [rows, width]`, stored `[4H, width]`), through
    /// ``FusedStep/weightGradient(_:dz:x:width:gates:rows:scratch:into:accumulate:)`` where it applies.
    private func addWeightGradient(dz: UnsafePointer<S>, x: UnsafePointer<S>, width: Int, rows: Int, into grad: UnsafeMutablePointer<S>) {
        let g = 4 * shape.hiddenSize
        grow(&transposed, width * g)
        let done = transposed.withUnsafeMutableBufferPointer { t in
            FusedStep.weightGradient(kernel, dz: dz, x: x, width: width, gates: g, rows: rows,
                                     scratch: t.baseAddress!, into: grad, accumulate: true)
        }
        if !done {
            S.gemm(transposeA: true, transposeB: false, m: g, n: width, k: rows, alpha: 1, a: dz, lda: g,
                   b: x, ldb: width, beta: 1, c: grad, ldc: width)
        }
    }

    /// An inverted-dropout mask: each element 0 with probability `rate`, else `1 / (1 - rate)`.
    static func mask(_ count: Int, _ rate: Double, _ g: inout Xoshiro256StarStar) -> [S] {
        guard rate > 0 else { return [S](repeating: 1, count: count) }
        let keep = S(1 / (1 - rate))
        return (0..<count).map { _ in g.nextUnitDouble() < rate ? 0 : keep }
    }

    /// Softmax cross-entropy of `logits` (sorted batch order) against `labels` (caller order), scaled by
    /// `scale`: returns the summed loss, the number correct, and `dLogits` (already scaled).
    static func crossEntropy(_ logits: [S], _ batch: TextBatch, labels: [Int], classes: Int, scale: S) -> (loss: S, correct: Int, dLogits: [S]) {
        var loss: S = 0, correct = 0
        var d = [S](repeating: 0, count: logits.count)
        for b in 0..<batch.count {
            let row = b * classes, label = labels[batch.order[b]]
            var m = logits[row], best = 0
            for k in 1..<classes where logits[row + k] > m { m = logits[row + k]; best = k }
            if best == label { correct += 1 }
            var sum: S = 0
            for k in 0..<classes { sum += S.exponential(logits[row + k] - m) }
            loss += S.logarithm(sum) + m - logits[row + label]
            for k in 0..<classes {
                d[row + k] = (S.exponential(logits[row + k] - m) / sum - (k == label ? 1 : 0)) * scale
            }
        }
        return (loss, correct, d)
    }
}
