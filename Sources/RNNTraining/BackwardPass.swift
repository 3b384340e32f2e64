/// Backpropagation through time for one batch, by hand.
///
/// Per layer, top to bottom, per direction: walk the steps backwards, turning `dL/dh[t]` into
/// `dL/dz[t]` in one fused pass (``gateBackward``, or ``gruGateBackward`` and ``gruResetBackward``)
/// and `dL/dh[t-1]` by GEMMs with `W_hh`. All of a direction's `dz[t]` are kept, so that the weight
/// gradients need only one GEMM each at the end. For an LSTM:
///
///     dW_hh = sum_t dz[t]^T h[t-1]     ([4H, (T-1)B] x [(T-1)B, H]; h[-1] = 0 drops t = 0)
///     dW_ih = sum_t dz[t]^T x[t]       ([4H, TB] x [TB, in])
///     db_ih = db_hh = sum_t,b dz[t]
///     dx[t] = dz[t] · W_ih             (the layer below's dL/dh, one [TB, 4H] x [4H, in] GEMM)
///
/// A GRU's row keeps the input side's `dz_r, dz_z, dz_n` (for `dW_ih`, `db_ih`, `dx`) and, in a
/// fourth block, the recurrent side's n rows (`dhn`, see ``gruGateBackward``), so that
/// `dW_hh = [dz_r, dz_z]^T h[t-1]` and `dW_hn = dhn^T h[t-1]` (reset `after`) or `dz_n^T (r ⊙ h[t-1])`
/// (`before`); `db_hh` is `[db_r, db_z, sum dhn]`.
///
/// A bidirectional layer's backward direction works in its own (reversed) time: its share of
/// `dL/d(output)` is gathered reversed, and its `dx` is added back reversed
/// (``Workspace/copySteps(from:stride:to:stride:width:count:reversed:add:)``). Padding steps
/// (`t >= length`) get `dz = 0` and pass `dL/dh` (and `dL/dc`) on to `t-1` unchanged, the
/// derivative of the forward pass's carry.
///
/// For the first layer `x` is the raw input and the weight is `W' = W_ih W_in` (``PreparedWeights``),
/// so the pass yields `dW'` and `db'`; ``finishGradient(parameters:gradient:architecture:)`` maps them back.
extension Workspace {
    /// Computes this worker's gradient into ``gradient`` from `dL/dlogits` in ``logits``.
    func backward(parameters p: UnsafePointer<Scalar>, count: Int) {
        let a = architecture, h = a.hiddenSize, t = timeSteps, rows = t * count
        let c = a.classCount, wide = a.outputWidth, last = a.layerCount - 1
        let g = gradient.baseAddress!
        gradient.update(repeating: 0)

        // dense_out, per direction d: dW_out[:, dH..] = dlogits^T h_d[T-1], dh_d[T-1] = dlogits W_out[:, dH..].
        for b in 0..<count { for k in 0..<c { g[layout.denseOutBias.offset + k] += logits[b * c + k] } }
        // [B, H] per direction (only step T-1 receives one), or [T*B, H] per direction when pooling.
        let topGradient = externalGradient[0]
        if usesHead {
            // dW_out = dlogits^T head, dhead = dlogits W_out, then back through the mask and the pooling.
            Scalar.gemm(transposeA: true, transposeB: false, m: c, n: wide, k: count,
                        alpha: 1, a: logits, lda: c, b: head, ldb: wide,
                        beta: 0, c: g + layout.denseOutWeight.offset, ldc: wide)
            Scalar.gemm(transposeA: false, transposeB: false, m: count, n: wide, k: c,
                        alpha: 1, a: logits, lda: c, b: p + layout.denseOutWeight.offset, ldb: wide,
                        beta: 0, c: headGradient, ldc: wide)
            backwardHead(into: topGradient, count: count)
        }
        for d in 0..<a.directionCount where !usesHead {
            Scalar.gemm(transposeA: true, transposeB: false, m: c, n: h, k: count,
                        alpha: 1, a: logits, lda: c, b: directions[last][d].hidden + (t - 1) * count * h, ldb: h,
                        beta: 0, c: g + layout.denseOutWeight.offset + d * h, ldc: wide)
            Scalar.gemm(transposeA: false, transposeB: false, m: count, n: h, k: c,
                        alpha: 1, a: logits, lda: c, b: p + layout.denseOutWeight.offset + d * h, ldb: wide,
                        beta: 0, c: topGradient + d * count * h, ldc: h)
        }

        var above = 0
        for l in (0..<a.layerCount).reversed() {
            let width = l == 0 ? a.inputSize : wide
            let external = UnsafePointer(externalGradient[above])
            let below = externalGradient[1 - above]
            for d in 0..<a.directionCount {
                let buffers = directions[l][d]
                let slots = layout.recurrent[l][d]
                // This direction's dL/dh in its own time: [B, H] at step T-1 for the last layer (unless
                // pooled: [T*B, H], every step), else [T*B, H].
                let pooled = l == last && a.pooling != .last
                var dh = external + d * (pooled ? rows : count) * h
                if l < last && a.bidirectional {
                    copySteps(from: external + d * h, stride: wide, to: directionGradient, stride: h,
                              width: h, count: count, reversed: d == 1)
                    dh = UnsafePointer(directionGradient)
                } else if l < last {
                    dh = external
                }
                let source = UnsafePointer(buffers.reversedInput ?? layerInput(l))
                backwardDirection(parameters: p, layer: l, direction: d, buffers: buffers, external: dh,
                                  onlyLastStep: l == last && !pooled, count: count)
                // Input side: dW_ih (dW' for a first layer behind dense_in), db_ih, dx.
                let gateRows = a.gateRows
                let folded = l == 0 && a.hasDenseIn
                let weightOut = g + (folded ? combinedWeightGradientOffset(d) : slots.weightIH.offset)
                weightGradient(dz: gateGradient, dzStride: 4 * h, x: source, width: width, gates: gateRows, rows: rows,
                               into: weightOut)
                let biasGradient = g + (folded ? combinedBiasGradientOffset(d) : slots.biasIH.offset)
                for r in 0..<rows {
                    let dz = gateGradient + r * 4 * h
                    for j in 0..<gateRows { biasGradient[j] += dz[j] }
                }
                if !folded {
                    // db_hh: the rows that share b_ih's pre-activation (all of an LSTM's, a GRU's r and z).
                    let shared = a.cell == .lstm ? gateRows : 2 * h
                    (g + slots.biasHH.offset).update(from: biasGradient, count: shared)
                    // dx = dz · W_ih, in direction time; the backward direction's is added back reversed.
                    let forward = d == 0
                    Scalar.gemm(transposeA: false, transposeB: false, m: rows, n: width, k: gateRows,
                                alpha: 1, a: gateGradient, lda: 4 * h, b: p + slots.weightIH.offset, ldb: width,
                                beta: 0, c: forward ? below : reversedInputGradient, ldc: width)
                    if !forward {
                        copySteps(from: reversedInputGradient, stride: width, to: below, stride: width,
                                  width: width, count: count, reversed: true, add: true)
                    }
                }
            }
            if l > 0, let mask = masks?.between?[l - 1] {
                // dL/d(output) = dL/d(dropped output) ⊙ mask, in sequence time like the mask.
                applyMask(mask, to: below)
            }
            if l == 0, let table = layout.embedding {
                // The embedding: dL/dx through the input mask, then dE[token] += dL/dx per real step.
                if let mask = masks?.input { applyMask(mask, to: below) }
                scatterEmbeddingGradient(below, into: g + table.offset, count: count)
            }
            above = 1 - above
        }
    }

    /// The recurrence of one direction, walked backwards: fills ``gateGradient`` for every step from
    /// `external` (`dL/dh` from above, in direction time: every step, or only step `T-1` when
    /// `onlyLastStep`), and stores `dW_hh` and (GRU) the n rows of `db_hh`.
    private func backwardDirection(parameters p: UnsafePointer<Scalar>, layer l: Int, direction d: Int,
                                   buffers: DirectionBuffers<Scalar>, external: UnsafePointer<Scalar>,
                                   onlyLastStep: Bool, count: Int) {
        let a = architecture, h = a.hiddenSize, fourH = 4 * h, t = timeSteps
        let g = gradient.baseAddress!
        let slots = layout.recurrent[l][d]
        let weightHH = p + slots.weightHH.offset
        let after = a.gruReset == .after
        recurrentHiddenGradient.update(repeating: 0, count: count * h)
        cellGradient.update(repeating: 0, count: count * h)
        for step in (0..<t).reversed() {
            let dz = gateGradient + step * count * fourH, current = step * count * h
            let previous: UnsafePointer<Scalar>? = step > 0 ? UnsafePointer(buffers.hidden + current - count * h) : nil
            let ext: UnsafePointer<Scalar>? = onlyLastStep ? (step == t - 1 ? external : nil) : external + current
            let padded = savePaddedGradients(step: step, external: ext, count: count)
            switch a.cell {
            case .lstm:
                gateBackward(
                    gates: buffers.gates + step * count * fourH, gateGradient: dz,
                    previousCell: step > 0 ? UnsafePointer(buffers.cells + current - count * h) : nil,
                    cellTanh: buffers.aux + current, hiddenGradient: recurrentHiddenGradient,
                    externalGradient: ext, cellGradient: cellGradient, rows: count, hiddenSize: h)
                if padded { clearPaddedRows(dz, step: step, count: count) }
                if step > 0 {
                    // dL/dh[t-1] = dz · W_hh  ([B, 4H] x [4H, H]).
                    product(dz: dz, columns: fourH, weight: weightHH, into: recurrentHiddenGradient, accumulate: false, count: count)
                }
            case .gru:
                gruGateBackward(gates: buffers.gates + step * count * fourH, gateGradient: dz, previousHidden: previous,
                                after: after, hiddenGradient: recurrentHiddenGradient, externalGradient: ext,
                                rows: count, hiddenSize: h)
                if !after {
                    // dL/d(r ⊙ h[t-1]) = dz_n · W_hn, then the reset gate's share.
                    if step > 0 {
                        product(dz: dz + 3 * h, columns: h, weight: weightHH + 2 * h * h, into: cellGradient,
                                accumulate: false, count: count)
                    } else {
                        cellGradient.update(repeating: 0, count: count * h)
                    }
                    gruResetBackward(gates: buffers.gates + step * count * fourH, gateGradient: dz, previousHidden: previous,
                                     resetHiddenGradient: cellGradient, hiddenGradient: recurrentHiddenGradient,
                                     rows: count, hiddenSize: h)
                }
                if padded { clearPaddedRows(dz, step: step, count: count) }
                if step > 0 {
                    // dL/dh[t-1] += [dz_r, dz_z] · W_hr,hz  (+ dhn · W_hn with reset "after").
                    product(dz: dz, columns: 2 * h, weight: weightHH, into: recurrentHiddenGradient, accumulate: true, count: count)
                    if after {
                        product(dz: dz + 3 * h, columns: h, weight: weightHH + 2 * h * h, into: recurrentHiddenGradient,
                                accumulate: true, count: count)
                    }
                }
            }
            if padded { restorePaddedGradients(step: step, count: count) }
        }
        // dW_hh = sum_t dz[t]^T h[t-1] over t >= 1.
        if t > 1 {
            let dz1 = UnsafePointer(gateGradient + count * fourH)
            switch a.cell {
            case .lstm:
                weightGradient(dz: dz1, dzStride: fourH, x: buffers.hidden, width: h, gates: fourH, rows: (t - 1) * count,
                               into: g + slots.weightHH.offset)
            case .gru:
                weightGradient(dz: dz1, dzStride: fourH, x: buffers.hidden, width: h, gates: 2 * h, rows: (t - 1) * count,
                               into: g + slots.weightHH.offset)
                // n rows: dhn^T h[t-1] (after) or dz_n^T (r ⊙ h[t-1]) (before, kept at the step's own row).
                weightGradient(dz: dz1 + 3 * h, dzStride: fourH, x: after ? buffers.hidden : buffers.aux + count * h,
                               width: h, gates: h, rows: (t - 1) * count, into: g + slots.weightHH.offset + 2 * h * h)
            }
        }
        if a.cell == .gru {
            // db_hn = sum of the fourth block (dhn; with reset "before" that is dz_n, b_hn sitting next to b_in).
            let out = g + slots.biasHH.offset + 2 * h
            for r in 0..<(t * count) {
                let row = gateGradient + r * fourH + 3 * h
                for j in 0..<h { out[j] += row[j] }
            }
        }
    }

    /// Before a step's backward pass: when some sequences are past their length at `step`, keeps
    /// their `dL/dh` (recurrent plus external) and `dL/dc` to pass on unchanged; returns whether any are.
    private func savePaddedGradients(step: Int, external: UnsafePointer<Scalar>?, count: Int) -> Bool {
        guard lengths != nil else { return false }
        let h = architecture.hiddenSize
        var any = false
        for b in 0..<count where step >= length(b) {
            any = true
            for j in 0..<h {
                passHidden[b * h + j] = recurrentHiddenGradient[b * h + j] + (external.map { $0[b * h + j] } ?? 0)
                passCell[b * h + j] = cellGradient[b * h + j]
            }
        }
        return any
    }

    /// A padding step has no gate gradient.
    private func clearPaddedRows(_ dz: UnsafeMutablePointer<Scalar>, step: Int, count: Int) {
        let fourH = 4 * architecture.hiddenSize
        for b in 0..<count where step >= length(b) { (dz + b * fourH).update(repeating: 0, count: fourH) }
    }

    /// After a padding step: `dL/dh[t-1] = dL/dh[t]`, `dL/dc[t-1] = dL/dc[t]` (the carry's derivative).
    private func restorePaddedGradients(step: Int, count: Int) {
        let h = architecture.hiddenSize
        for b in 0..<count where step >= length(b) {
            (recurrentHiddenGradient + b * h).update(from: passHidden + b * h, count: h)
            if architecture.cell == .lstm { (cellGradient + b * h).update(from: passCell + b * h, count: h) }
        }
    }

    /// `out (+)= dz · W` for `count` rows: `[count, columns] x [columns, H]`, with `dz`'s rows `4H`
    /// apart and `W` the `[columns, H]` rows of a recurrent weight.
    private func product(dz: UnsafePointer<Scalar>, columns: Int, weight: UnsafePointer<Scalar>,
                         into out: UnsafeMutablePointer<Scalar>, accumulate: Bool, count: Int) {
        let h = architecture.hiddenSize
        if !accumulate,
           FusedStep.product(kernel, m: count, n: h, k: columns, a: dz, aRow: 4 * h, aColumn: 1, b: weight, ldb: h, c: out, ldc: h) {
            return
        }
        Scalar.gemm(transposeA: false, transposeB: false, m: count, n: h, k: columns,
                    alpha: 1, a: dz, lda: 4 * h, b: weight, ldb: h, beta: accumulate ? 1 : 0, c: out, ldc: h)
    }

    /// `dW = dz^T x` summed over `rows` rows: `[gates, rows] x [rows, width]`, stored `[gates, width]`
    /// (``FusedStep/weightGradient(_:dz:dzStride:x:xStride:width:gates:rows:scratch:into:accumulate:)``, else BLAS).
    private func weightGradient(dz: UnsafePointer<Scalar>, dzStride: Int, x: UnsafePointer<Scalar>, width: Int,
                                gates: Int, rows: Int, into out: UnsafeMutablePointer<Scalar>) {
        if FusedStep.weightGradient(kernel, dz: dz, dzStride: dzStride, x: x, width: width, gates: gates, rows: rows,
                                    scratch: transposedGradient, into: out, accumulate: false) {
            return
        }
        Scalar.gemm(transposeA: true, transposeB: false, m: gates, n: width, k: rows,
                    alpha: 1, a: dz, lda: dzStride, b: x, ldb: width, beta: 0, c: out, ldc: width)
    }
}

/// Maps `dW'` and `db'` (stored per direction after the parameter layout in `gradient`) onto the
/// parameters they came from. With `W' = W_ih W_in` and `b' = W_ih b_in + b_ih + b_hh'` (``PreparedWeights``):
///
///     dW_ih = dW' · W_in^T     [GH, I] x [I, H]
///     dW_in = W_ih^T · dW'     [H, GH] x [GH, I]    (summed over directions)
///     db_in = W_ih^T · db'     [H, GH] x [GH, 1]    (summed over directions)
///     db_ih = db',  db_hh' = db'   (the folded rows of b_hh; a reset-"after" GRU's b_hn rows were
///                                   stored by the backward pass)
///
/// plus, because `b'` also depends on `W_ih`, `dW_ih += db' ⊗ b_in`. The map is linear, so it is
/// applied once to the sum of the workers' gradients.
func finishGradient<Scalar: TrainingScalar>(
    parameters p: UnsafePointer<Scalar>, gradient g: UnsafeMutablePointer<Scalar>, architecture a: LSTMArchitecture
) {
    let layout = a.layout, h = a.hiddenSize, gateRows = a.gateRows, inputs = a.inputSize
    // With an embedding the first layer's gradients were stored in place: nothing was folded.
    guard let denseInWeight = layout.denseInWeight, let denseInBias = layout.denseInBias else { return }
    let folded = a.cell == .gru && a.gruReset == .after ? 2 * h : gateRows
    for (d, first) in layout.recurrent[0].enumerated() {
        let dW = g + Workspace<Scalar>.combinedWeightGradientOffset(a, d), db = dW + gateRows * inputs
        Scalar.gemm(transposeA: false, transposeB: true, m: gateRows, n: h, k: inputs,
                    alpha: 1, a: dW, lda: inputs, b: p + denseInWeight.offset, ldb: inputs,
                    beta: 0, c: g + first.weightIH.offset, ldc: h)
        // dW_ih += db' b_in^T  (outer product [GH, 1] x [1, H]).
        Scalar.gemm(transposeA: false, transposeB: false, m: gateRows, n: h, k: 1,
                    alpha: 1, a: db, lda: 1, b: p + denseInBias.offset, ldb: h,
                    beta: 1, c: g + first.weightIH.offset, ldc: h)
        Scalar.gemm(transposeA: true, transposeB: false, m: h, n: inputs, k: gateRows,
                    alpha: 1, a: p + first.weightIH.offset, lda: h, b: dW, ldb: inputs,
                    beta: d == 0 ? 0 : 1, c: g + denseInWeight.offset, ldc: inputs)
        Scalar.gemm(transposeA: true, transposeB: false, m: h, n: 1, k: gateRows,
                    alpha: 1, a: p + first.weightIH.offset, lda: h, b: db, ldb: 1,
                    beta: d == 0 ? 0 : 1, c: g + denseInBias.offset, ldc: 1)
        (g + first.biasIH.offset).update(from: db, count: gateRows)
        (g + first.biasHH.offset).update(from: db, count: folded)
    }
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

/// The GRU step's backward pass for `rows` sequences (the derivative of ``gruResetGate`` and
/// ``gruGateForward``). With `dh = dh_recurrent + dh_external`, `hp = h[t-1]` and the row's saved
/// `r, z, n, hn`:
///
///     dz_z = dh ⊙ (hp - n) ⊙ z(1-z)        dz_n = dh ⊙ (1-z) ⊙ (1-n²)
///     dh[t-1] = dh ⊙ z                     (plus the gates' shares, added by GEMMs with W_hh)
///     after:  dz_r = dz_n ⊙ hn ⊙ r(1-r)    dhn = dz_n ⊙ r      (the gradient of h W_hn + b_hn)
///     before: the fourth block is dz_n (the gradient of (r ⊙ hp) W_hn); dz_r follows from
///             dL/d(r ⊙ hp) = dz_n W_hn in ``gruResetBackward``
///
/// The row becomes `dz_r, dz_z, dz_n, dhn`; `hiddenGradient` becomes `dh ⊙ z`.
@inline(__always)
func gruGateBackward<Scalar: TrainingScalar>(
    gates: UnsafePointer<Scalar>, gateGradient: UnsafeMutablePointer<Scalar>, previousHidden: UnsafePointer<Scalar>?,
    after: Bool, hiddenGradient: UnsafeMutablePointer<Scalar>, externalGradient: UnsafePointer<Scalar>?,
    rows: Int, hiddenSize h: Int
) {
    if Scalar.self == Float.self {
        func f(_ p: UnsafePointer<Scalar>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
        func m(_ p: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self) }
        return gruGateBackwardFloat(gates: f(gates), gateGradient: m(gateGradient), previousHidden: previousHidden.map(f),
                                    after: after, hiddenGradient: m(hiddenGradient), externalGradient: externalGradient.map(f),
                                    rows: rows, hiddenSize: h)
    }
    for b in 0..<rows {
        gruGateBackwardUnits(0..<h, row: b, gates: gates, gateGradient: gateGradient, previousHidden: previousHidden,
                             after: after, hiddenGradient: hiddenGradient, externalGradient: externalGradient, hiddenSize: h)
    }
}

/// The scalar loop of ``gruGateBackward(gates:gateGradient:previousHidden:after:hiddenGradient:externalGradient:rows:hiddenSize:)``
/// over the units `units` of row `b` (all of them, or the remainder the eight-lane loop leaves).
@inline(__always)
func gruGateBackwardUnits<Scalar: TrainingScalar>(
    _ units: Range<Int>, row b: Int, gates: UnsafePointer<Scalar>, gateGradient: UnsafeMutablePointer<Scalar>,
    previousHidden: UnsafePointer<Scalar>?, after: Bool, hiddenGradient: UnsafeMutablePointer<Scalar>,
    externalGradient: UnsafePointer<Scalar>?, hiddenSize h: Int
) {
    let act = gates + b * 4 * h, dz = gateGradient + b * 4 * h, dhr = hiddenGradient + b * h
    let ext = externalGradient.map { $0 + b * h }
    let previous = previousHidden.map { $0 + b * h }
    for j in units {
        let dh = dhr[j] + (ext.map { $0[j] } ?? 0)
        let r = act[j], u = act[h + j], n = act[2 * h + j], hn = act[3 * h + j]
        let hp = previous.map { $0[j] } ?? 0
        let dn = dh * (1 - u) * (1 - n * n)
        dz[h + j] = dh * (hp - n) * u * (1 - u)
        dz[2 * h + j] = dn
        if after {
            dz[j] = dn * hn * r * (1 - r)
            dz[3 * h + j] = dn * r
        } else {
            dz[3 * h + j] = dn
        }
        dhr[j] = dh * u
    }
}

/// The reset gate's backward pass of a GRU with reset `before`, given `drh = dL/d(r ⊙ h[t-1])`:
///
///     dz_r = drh ⊙ h[t-1] ⊙ r(1-r)         dh[t-1] += drh ⊙ r
@inline(__always)
func gruResetBackward<Scalar: TrainingScalar>(
    gates: UnsafePointer<Scalar>, gateGradient: UnsafeMutablePointer<Scalar>, previousHidden: UnsafePointer<Scalar>?,
    resetHiddenGradient: UnsafePointer<Scalar>, hiddenGradient: UnsafeMutablePointer<Scalar>, rows: Int, hiddenSize h: Int
) {
    for b in 0..<rows {
        let act = gates + b * 4 * h, dz = gateGradient + b * 4 * h, dhr = hiddenGradient + b * h
        let drh = resetHiddenGradient + b * h
        let previous = previousHidden.map { $0 + b * h }
        for j in 0..<h {
            let r = act[j], hp = previous.map { $0[j] } ?? 0
            dz[j] = drh[j] * hp * r * (1 - r)
            dhr[j] += drh[j] * r
        }
    }
}
