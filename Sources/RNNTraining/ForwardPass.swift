/// The forward pass (spec/FORMAT.md §6.1 equations), batched and time-major.
///
/// Per batch: one GEMM projects the inputs of all `T` steps (`[T*B, in] x [in, 4H]`); then per step
/// one GEMM adds the recurrent term (`[B, H] x [H, 4H]`) and one fused pass applies the gate
/// nonlinearities and the cell update (``gateForward``). In float32 on a CPU with a fused kernel
/// all of that is one kernel call per step instead (``FusedStep``).
extension Workspace {
    /// Runs `count` sequences (already in ``input``) through the network, leaving logits in ``logits``.
    func forward(parameters p: UnsafePointer<Scalar>, prepared: PreparedWeights<Scalar>, count: Int) {
        let a = architecture, h = a.hiddenSize, t = timeSteps
        if !prepared.fused.isEmpty {
            unsafeDowncast(self, to: Workspace<Float>.self).fusedLayers(prepared.fused, isa: prepared.kernel, count: count)
        } else {
            blasLayers(parameters: p, prepared: prepared, count: count)
        }
        // logits = h[T-1] · W_out^T + b_out
        let c = a.classCount
        Scalar.gemm(transposeA: false, transposeB: true, m: count, n: c, k: h,
                    alpha: 1, a: hidden[a.layerCount - 1] + (t - 1) * count * h, lda: h,
                    b: p + layout.denseOutWeight.offset, ldb: h, beta: 0, c: logits, ldc: c)
        let bias = p + layout.denseOutBias.offset
        for b in 0..<count { for k in 0..<c { logits[b * c + k] += bias[k] } }
    }

    /// The LSTM layers through BLAS and ``gateForward`` (any scalar type and hidden size).
    private func blasLayers(parameters p: UnsafePointer<Scalar>, prepared: PreparedWeights<Scalar>, count: Int) {
        let a = architecture, h = a.hiddenSize, fourH = 4 * h, t = timeSteps, rows = t * count
        for l in 0..<a.layerCount {
            let slots = layout.lstm[l]
            let z = gates[l]
            // z[t] = x[t] · W^T for every step at once (W = W' for the first layer).
            if l == 0 {
                prepared.combinedInputWeight.withUnsafeBufferPointer { w in
                    Scalar.gemm(transposeA: false, transposeB: true, m: rows, n: fourH, k: a.inputSize,
                                alpha: 1, a: input, lda: a.inputSize, b: w.baseAddress!, ldb: a.inputSize,
                                beta: 0, c: z, ldc: fourH)
                }
            } else {
                Scalar.gemm(transposeA: false, transposeB: true, m: rows, n: fourH, k: h,
                            alpha: 1, a: hidden[l - 1], lda: h, b: p + slots.weightIH.offset, ldb: h,
                            beta: 0, c: z, ldc: fourH)
            }
            prepared.combinedBias[l].withUnsafeBufferPointer { bias in
                for step in 0..<t {
                    let zt = z + step * count * fourH
                    if step > 0 {
                        // z[t] += h[t-1] · W_hh^T  (h[-1] = 0, so step 0 has no recurrent term).
                        Scalar.gemm(transposeA: false, transposeB: true, m: count, n: fourH, k: h,
                                    alpha: 1, a: hidden[l] + (step - 1) * count * h, lda: h,
                                    b: p + slots.weightHH.offset, ldb: h,
                                    beta: 1, c: zt, ldc: fourH)
                    }
                    gateForward(z: zt, bias: bias.baseAddress!,
                                previousCell: step > 0 ? UnsafePointer(cells[l] + (step - 1) * count * h) : nil,
                                cell: cells[l] + step * count * h, cellTanh: cellTanh[l] + step * count * h,
                                hidden: hidden[l] + step * count * h, rows: count, hiddenSize: h)
                }
            }
        }
    }

    /// Replaces logits by `scale * (softmax - onehot(label))`, i.e. `dL/dlogits` for
    /// `L = scale * sum_b CE(b)`, and returns the summed cross-entropy and the number of correct
    /// arg-max predictions. Labels outside `0..<C` are a programming error (checked by the caller).
    func softmaxCrossEntropy(labels: UnsafePointer<Int>, count: Int, gradientScale: Scalar) -> (loss: Double, correct: Int) {
        let c = architecture.classCount
        var loss = 0.0, correct = 0
        for b in 0..<count {
            let row = logits + b * c
            var best = 0
            for k in 1..<c where row[k] > row[best] { best = k }
            if best == labels[b] { correct += 1 }
            let maximum = row[best]
            var sum: Scalar = 0
            for k in 0..<c {
                row[k] = Scalar.exponential(row[k] - maximum)
                sum += row[k]
            }
            // CE = log(sum) - (logit[label] - max); row[label] = exp(logit[label] - max).
            loss += Double(Scalar.logarithm(sum) - Scalar.logarithm(row[labels[b]]))
            let inverse = 1 / sum
            for k in 0..<c { row[k] = row[k] * inverse * gradientScale }
            row[labels[b]] -= gradientScale
        }
        return (loss, correct)
    }
}

/// One step's gate nonlinearities and state update for `rows` sequences, fused in one pass:
///
///     i = σ(z_i + b_i)   f = σ(z_f + b_f)   g = tanh(z_g + b_g)   o = σ(z_o + b_o)
///     c = f ⊙ c_prev + i ⊙ g      h = o ⊙ tanh(c)
///
/// The activated gates overwrite `z` (the backward pass needs them, not the pre-activations).
@inline(__always)
func gateForward<Scalar: TrainingScalar>(
    z: UnsafeMutablePointer<Scalar>, bias: UnsafePointer<Scalar>, previousCell: UnsafePointer<Scalar>?,
    cell: UnsafeMutablePointer<Scalar>, cellTanh: UnsafeMutablePointer<Scalar>,
    hidden: UnsafeMutablePointer<Scalar>, rows: Int, hiddenSize h: Int
) {
    if Scalar.self == Float.self {
        return gateForwardFloat(
            z: UnsafeMutableRawPointer(z).assumingMemoryBound(to: Float.self),
            bias: UnsafeRawPointer(bias).assumingMemoryBound(to: Float.self),
            previousCell: previousCell.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) },
            cell: UnsafeMutableRawPointer(cell).assumingMemoryBound(to: Float.self),
            cellTanh: UnsafeMutableRawPointer(cellTanh).assumingMemoryBound(to: Float.self),
            hidden: UnsafeMutableRawPointer(hidden).assumingMemoryBound(to: Float.self), rows: rows, hiddenSize: h)
    }
    for b in 0..<rows {
        let zr = z + b * 4 * h
        let cr = cell + b * h, tr = cellTanh + b * h, hr = hidden + b * h
        let pr = previousCell.map { $0 + b * h }
        for j in 0..<h {
            let i = Scalar.gateSigmoid(zr[j] + bias[j])
            let f = Scalar.gateSigmoid(zr[h + j] + bias[h + j])
            let g = Scalar.gateTanh(zr[2 * h + j] + bias[2 * h + j])
            let o = Scalar.gateSigmoid(zr[3 * h + j] + bias[3 * h + j])
            let c = (pr.map { f * $0[j] } ?? 0) + i * g
            let tc = Scalar.gateTanh(c)
            zr[j] = i; zr[h + j] = f; zr[2 * h + j] = g; zr[3 * h + j] = o
            cr[j] = c; tr[j] = tc; hr[j] = o * tc
        }
    }
}
