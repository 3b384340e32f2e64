/// Backpropagation through time for one batch, by hand.
///
/// Per layer, top to bottom: walk the steps backwards, turning `dL/dh[t]` into `dL/dz[t]` in one
/// fused pass (``gateBackward``) and `dL/dh[t-1] = dz[t] · W_hh` by one `[B, 4H] x [4H, H]` GEMM.
/// All of a layer's `dz[t]` are kept, so that the weight gradients need only one GEMM each at the end:
///
///     dW_hh = sum_t dz[t]^T h[t-1]     ([4H, (T-1)B] x [(T-1)B, H]; h[-1] = 0 drops t = 0)
///     dW_ih = sum_t dz[t]^T x[t]       ([4H, TB] x [TB, in])
///     db_ih = db_hh = sum_t,b dz[t]
///     dx[t] = dz[t] · W_ih             (the layer below's dL/dh, one [TB, 4H] x [4H, H] GEMM)
///
/// For the first layer `x` is the raw input and the weight is `W' = W_ih W_in` (``PreparedWeights``),
/// so the pass yields `dW'` and `db'`; ``finishGradient(parameters:gradient:architecture:)`` maps them back.
extension Workspace {
    /// Computes this worker's gradient into ``gradient`` from `dL/dlogits` in ``logits``.
    func backward(parameters p: UnsafePointer<Scalar>, count: Int) {
        let a = architecture, h = a.hiddenSize, fourH = 4 * h, t = timeSteps, rows = t * count
        let c = a.classCount
        let g = gradient.baseAddress!
        gradient.update(repeating: 0)
        let lastHidden = hidden[a.layerCount - 1] + (t - 1) * count * h

        // dense_out: dW_out = dlogits^T h[T-1], db_out = sum_b dlogits, dh[T-1] = dlogits W_out.
        Scalar.gemm(transposeA: true, transposeB: false, m: c, n: h, k: count,
                    alpha: 1, a: logits, lda: c, b: lastHidden, ldb: h,
                    beta: 0, c: g + layout.denseOutWeight.offset, ldc: h)
        for b in 0..<count { for k in 0..<c { g[layout.denseOutBias.offset + k] += logits[b * c + k] } }
        var above = 0
        Scalar.gemm(transposeA: false, transposeB: false, m: count, n: h, k: c,
                    alpha: 1, a: logits, lda: c, b: p + layout.denseOutWeight.offset, ldb: h,
                    beta: 0, c: externalGradient[above] + (t - 1) * count * h, ldc: h)

        for l in (0..<a.layerCount).reversed() {
            let slots = layout.lstm[l]
            let external = externalGradient[above]
            // The last LSTM receives a gradient only at its last step.
            let onlyLastStep = l == a.layerCount - 1
            recurrentHiddenGradient.update(repeating: 0, count: count * h)
            cellGradient.update(repeating: 0, count: count * h)
            for step in (0..<t).reversed() {
                gateBackward(
                    gates: gates[l] + step * count * fourH,
                    gateGradient: gateGradient + step * count * fourH,
                    previousCell: step > 0 ? UnsafePointer(cells[l] + (step - 1) * count * h) : nil,
                    cellTanh: cellTanh[l] + step * count * h,
                    hiddenGradient: recurrentHiddenGradient,
                    externalGradient: (!onlyLastStep || step == t - 1) ? UnsafePointer(external + step * count * h) : nil,
                    cellGradient: cellGradient, rows: count, hiddenSize: h)
                if step > 0 {
                    inputGradient(dz: gateGradient + step * count * fourH, rows: count,
                                  weight: p + slots.weightHH.offset, into: recurrentHiddenGradient)
                }
            }
            if t > 1 {
                weightGradient(dz: gateGradient + count * fourH, x: hidden[l], width: h, rows: (t - 1) * count,
                               into: g + slots.weightHH.offset)
            }
            let biasGradient = g + (l == 0 ? combinedBiasGradientOffset : slots.biasIH.offset)
            for r in 0..<rows {
                let dz = gateGradient + r * fourH
                for j in 0..<fourH { biasGradient[j] += dz[j] }
            }
            if l > 0 {
                (g + slots.biasHH.offset).update(from: biasGradient, count: fourH)
                weightGradient(dz: gateGradient, x: hidden[l - 1], width: h, rows: rows, into: g + slots.weightIH.offset)
                above = 1 - above
                inputGradient(dz: gateGradient, rows: rows, weight: p + slots.weightIH.offset, into: externalGradient[above])
            } else {
                weightGradient(dz: gateGradient, x: input, width: a.inputSize, rows: rows, into: g + combinedWeightGradientOffset)
            }
        }
    }

    /// `dL/dx = dz · W` for `rows` rows: `[rows, 4H] x [4H, H]` (W is `[4H, H]`, the layer's input or
    /// recurrent weight).
    private func inputGradient(dz: UnsafePointer<Scalar>, rows: Int, weight: UnsafePointer<Scalar>,
                               into out: UnsafeMutablePointer<Scalar>) {
        let h = architecture.hiddenSize, fourH = 4 * h
        if FusedStep.product(kernel, m: rows, n: h, k: fourH, a: dz, aRow: fourH, aColumn: 1, b: weight, ldb: h, c: out, ldc: h) {
            return
        }
        Scalar.gemm(transposeA: false, transposeB: false, m: rows, n: h, k: fourH,
                    alpha: 1, a: dz, lda: fourH, b: weight, ldb: h, beta: 0, c: out, ldc: h)
    }

    /// `dW = dz^T x` summed over `rows` rows: `[4H, rows] x [rows, width]`, stored `[4H, width]`
    /// (``FusedStep/weightGradient(_:dz:x:width:gates:rows:scratch:into:accumulate:)``, else BLAS).
    private func weightGradient(dz: UnsafePointer<Scalar>, x: UnsafePointer<Scalar>, width: Int, rows: Int,
                                into out: UnsafeMutablePointer<Scalar>) {
        let fourH = 4 * architecture.hiddenSize
        if FusedStep.weightGradient(kernel, dz: dz, x: x, width: width, gates: fourH, rows: rows,
                                    scratch: transposedGradient, into: out, accumulate: false) {
            return
        }
        Scalar.gemm(transposeA: true, transposeB: false, m: fourH, n: width, k: rows,
                    alpha: 1, a: dz, lda: fourH, b: x, ldb: width, beta: 0, c: out, ldc: width)
    }
}

/// Maps `dW'` and `db'` (stored after the parameter layout in `gradient`) onto the parameters they
/// came from. With `W' = W_ih W_in` and `b' = W_ih b_in + b_ih + b_hh` (``PreparedWeights``):
///
///     dW_ih = dW' · W_in^T     [4H, I] x [I, H]
///     dW_in = W_ih^T · dW'     [H, 4H] x [4H, I]
///     db_in = W_ih^T · db'     [H, 4H] x [4H, 1]
///     db_ih = db_hh = db'
///
/// plus, because `b'` also depends on `W_ih`, `dW_ih += db' ⊗ b_in`. The map is linear, so it is
/// applied once to the sum of the workers' gradients.
func finishGradient<Scalar: TrainingScalar>(
    parameters p: UnsafePointer<Scalar>, gradient g: UnsafeMutablePointer<Scalar>, architecture a: LSTMArchitecture
) {
    let layout = a.layout, h = a.hiddenSize, fourH = 4 * h, inputs = a.inputSize
    let first = layout.lstm[0]
    let dW = g + layout.count, db = dW + fourH * inputs
    Scalar.gemm(transposeA: false, transposeB: true, m: fourH, n: h, k: inputs,
                alpha: 1, a: dW, lda: inputs, b: p + layout.denseInWeight.offset, ldb: inputs,
                beta: 0, c: g + first.weightIH.offset, ldc: h)
    // dW_ih += db' b_in^T  (outer product [4H, 1] x [1, H]).
    Scalar.gemm(transposeA: false, transposeB: false, m: fourH, n: h, k: 1,
                alpha: 1, a: db, lda: 1, b: p + layout.denseInBias.offset, ldb: h,
                beta: 1, c: g + first.weightIH.offset, ldc: h)
    Scalar.gemm(transposeA: true, transposeB: false, m: h, n: inputs, k: fourH,
                alpha: 1, a: p + first.weightIH.offset, lda: h, b: dW, ldb: inputs,
                beta: 0, c: g + layout.denseInWeight.offset, ldc: inputs)
    Scalar.gemm(transposeA: true, transposeB: false, m: h, n: 1, k: fourH,
                alpha: 1, a: p + first.weightIH.offset, lda: h, b: db, ldb: 1,
                beta: 0, c: g + layout.denseInBias.offset, ldc: 1)
    (g + first.biasIH.offset).update(from: db, count: fourH)
    (g + first.biasHH.offset).update(from: db, count: fourH)
}

/// One step of the fused gate backward pass for `rows` sequences. With `dh = dh_recurrent + dh_external`:
///
///     dc     = dc_next + dh ⊙ o ⊙ (1 - tanh²c)
///     dz_o   = dh ⊙ tanh(c) ⊙ o(1-o)       dz_i = dc ⊙ g ⊙ i(1-i)
///     dz_g   = dc ⊙ i ⊙ (1-g²)             dz_f = dc ⊙ c_prev ⊙ f(1-f)
///     dc_prev = dc ⊙ f                     (written back into `cellGradient`)
@inline(__always)
func gateBackward<Scalar: TrainingScalar>(
    gates: UnsafePointer<Scalar>, gateGradient: UnsafeMutablePointer<Scalar>,
    previousCell: UnsafePointer<Scalar>?, cellTanh: UnsafePointer<Scalar>,
    hiddenGradient: UnsafePointer<Scalar>, externalGradient: UnsafePointer<Scalar>?,
    cellGradient: UnsafeMutablePointer<Scalar>, rows: Int, hiddenSize h: Int
) {
    if Scalar.self == Float.self {
        func f(_ p: UnsafePointer<Scalar>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
        func m(_ p: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self) }
        return gateBackwardFloat(
            gates: f(gates), gateGradient: m(gateGradient), previousCell: previousCell.map(f), cellTanh: f(cellTanh),
            hiddenGradient: f(hiddenGradient), externalGradient: externalGradient.map(f),
            cellGradient: m(cellGradient), rows: rows, hiddenSize: h)
    }
    for b in 0..<rows {
        let act = gates + b * 4 * h, dz = gateGradient + b * 4 * h
        let tc = cellTanh + b * h, dhr = hiddenGradient + b * h, dcr = cellGradient + b * h
        let ext = externalGradient.map { $0 + b * h }
        let prev = previousCell.map { $0 + b * h }
        for j in 0..<h {
            let dh = dhr[j] + (ext.map { $0[j] } ?? 0)
            let i = act[j], f = act[h + j], g = act[2 * h + j], o = act[3 * h + j]
            let t = tc[j]
            let dc = dcr[j] + dh * o * (1 - t * t)
            dz[j] = dc * g * i * (1 - i)
            dz[h + j] = (prev.map { dc * $0[j] } ?? 0) * f * (1 - f)
            dz[2 * h + j] = dc * i * (1 - g * g)
            dz[3 * h + j] = dh * t * o * (1 - o)
            dcr[j] = dc * f
        }
    }
}
