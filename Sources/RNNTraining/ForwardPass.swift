/// The forward pass (spec/FORMAT.md §6.1 equations), batched and time-major.
///
/// Per layer and direction: one GEMM projects the inputs of all `T` steps (`[T*B, in] x [in, GH]`);
/// then per step the recurrent GEMM(s) and one fused pass of the gate nonlinearities and the state
/// update (``gateForward`` for an LSTM, ``gruResetGate`` and ``gruGateForward`` for a GRU). In
/// float32 on a CPU with a fused kernel all of a step is one kernel call instead (``FusedStep``).
///
/// A bidirectional layer's backward direction runs the very same code on its input reversed within
/// each sequence's length (``Workspace/copySteps(from:stride:to:stride:width:count:reversed:add:)``),
/// and its states are put back in sequence order as the second half of the layer's `2H`-wide output.
///
/// **Variable lengths.** On a padding step (`t >= length`) a sequence's state is carried unchanged,
/// `h[t] = h[t-1]` and `c[t] = c[t-1]` (``carryPaddedStates``), so `h[T-1]` is the state at the last
/// real step and padding changes no output (spec §6.2.2); the backward pass gives those steps no
/// gate gradient.
extension Workspace {
    /// Runs `count` sequences (already in ``input``) through the network, leaving logits in ``logits``.
    func forward(parameters p: UnsafePointer<Scalar>, prepared: PreparedWeights<Scalar>, count: Int) {
        let a = architecture, h = a.hiddenSize, t = timeSteps
        if let table = layout.embedding { gatherEmbeddings(p + table.offset, count: count) }
        if let mask = masks?.input { applyMask(mask, to: input) }
        for l in 0..<a.layerCount {
            let width = l == 0 ? a.inputSize : a.outputWidth
            let x = UnsafePointer(layerInput(l))
            for d in 0..<a.directionCount {
                let buffers = directions[l][d]
                var source = x
                if let reversed = buffers.reversedInput {
                    copySteps(from: x, stride: width, to: reversed, stride: width, width: width, count: count, reversed: true)
                    source = UnsafePointer(reversed)
                }
                if !prepared.fused.isEmpty {
                    unsafeDowncast(self, to: Workspace<Float>.self).fusedDirection(
                        prepared.fused[l][d], isa: prepared.kernel,
                        x: UnsafeRawPointer(source).assumingMemoryBound(to: Float.self),
                        buffers: unsafeBitCast(buffers, to: DirectionBuffers<Float>.self), count: count)
                } else {
                    blasDirection(parameters: p, prepared: prepared, layer: l, direction: d, x: source, width: width,
                                  buffers: buffers, count: count)
                }
            }
            if a.bidirectional && l < a.layerCount - 1 {
                // The layer's output in sequence time: [hf[t], hb[t]], hb[t] = the backward direction's step length-1-t.
                for d in 0..<2 {
                    copySteps(from: directions[l][d].hidden, stride: h, to: outputs[l] + d * h, stride: 2 * h,
                              width: h, count: count, reversed: d == 1)
                }
            }
            if l < a.layerCount - 1, let mask = masks?.between?[l] {
                // Between-layer dropout: the layer above reads outputs ⊙ mask (the outputs stay for the backward pass).
                for k in mask.indices { droppedOutputs[l][k] = outputs[l][k] * mask[k] }
            }
        }
        let c = a.classCount, last = a.layerCount - 1
        if usesHead {
            // logits = head · W_out^T + b_out, head = the pooled vector or final state, dropped out (``forwardHead``).
            forwardHead(count: count)
            Scalar.gemm(transposeA: false, transposeB: true, m: count, n: c, k: a.outputWidth,
                        alpha: 1, a: head, lda: a.outputWidth, b: p + layout.denseOutWeight.offset, ldb: a.outputWidth,
                        beta: 0, c: logits, ldc: c)
        } else {
            // logits = [hf[T-1], hb[0]] · W_out^T + b_out; each direction's state at its own step T-1.
            for d in 0..<a.directionCount {
                Scalar.gemm(transposeA: false, transposeB: true, m: count, n: c, k: h,
                            alpha: 1, a: directions[last][d].hidden + (t - 1) * count * h, lda: h,
                            b: p + layout.denseOutWeight.offset + d * h, ldb: a.outputWidth,
                            beta: d == 0 ? 0 : 1, c: logits, ldc: c)
            }
        }
        let bias = p + layout.denseOutBias.offset
        for b in 0..<count { for k in 0..<c { logits[b * c + k] += bias[k] } }
    }

    /// One direction of one layer through BLAS and the Swift gate passes (any scalar type and hidden size).
    private func blasDirection(parameters p: UnsafePointer<Scalar>, prepared: PreparedWeights<Scalar>, layer l: Int,
                               direction d: Int, x: UnsafePointer<Scalar>, width: Int,
                               buffers: DirectionBuffers<Scalar>, count: Int) {
        let a = architecture, h = a.hiddenSize, fourH = 4 * h, rows = timeSteps * count, gateRows = a.gateRows
        let slots = layout.recurrent[l][d]
        let z = buffers.gates
        let weightHH = p + slots.weightHH.offset
        // z[t] = x[t] · W^T for every step at once (W = W' for the first layer), into the first GH columns.
        func project(_ w: UnsafePointer<Scalar>) {
            Scalar.gemm(transposeA: false, transposeB: true, m: rows, n: gateRows, k: width,
                        alpha: 1, a: x, lda: width, b: w, ldb: width, beta: 0, c: z, ldc: fourH)
        }
        if l == 0 {
            prepared.combinedInputWeight[d].withUnsafeBufferPointer { project($0.baseAddress!) }
        } else {
            project(p + slots.weightIH.offset)
        }
        prepared.combinedBias[l][d].withUnsafeBufferPointer { biasBuffer in
            let bias = biasBuffer.baseAddress!
            for step in 0..<timeSteps {
                let zt = z + step * count * fourH, current = step * count * h
                let previous: UnsafePointer<Scalar>? = step > 0 ? UnsafePointer(buffers.hidden + current - count * h) : nil
                switch a.cell {
                case .lstm:
                    if let previous {
                        // z[t] += h[t-1] · W_hh^T  (h[-1] = 0, so step 0 has no recurrent term).
                        Scalar.gemm(transposeA: false, transposeB: true, m: count, n: fourH, k: h,
                                    alpha: 1, a: previous, lda: h, b: weightHH, ldb: h, beta: 1, c: zt, ldc: fourH)
                    }
                    gateForward(z: zt, bias: bias,
                                previousCell: step > 0 ? UnsafePointer(buffers.cells + current - count * h) : nil,
                                cell: buffers.cells + current, cellTanh: buffers.aux + current,
                                hidden: buffers.hidden + current, rows: count, hiddenSize: h)
                case .gru:
                    let after = a.gruReset == .after
                    if let previous {
                        // r and z columns: z[t][0, 2H) += h[t-1] · W_hr,hz^T.
                        Scalar.gemm(transposeA: false, transposeB: true, m: count, n: 2 * h, k: h,
                                    alpha: 1, a: previous, lda: h, b: weightHH, ldb: h, beta: 1, c: zt, ldc: fourH)
                    }
                    gruResetGate(z: zt, bias: bias, previousHidden: previous, after: after,
                                 resetHidden: buffers.aux + current, rows: count, hiddenSize: h)
                    // hn = (h[t-1] or r ⊙ h[t-1]) · W_hn^T into the fourth column block (0 at step 0).
                    if let previous {
                        Scalar.gemm(transposeA: false, transposeB: true, m: count, n: h, k: h,
                                    alpha: 1, a: after ? previous : UnsafePointer(buffers.aux + current), lda: h,
                                    b: weightHH + 2 * h * h, ldb: h, beta: 0, c: zt + 3 * h, ldc: fourH)
                    } else {
                        for b in 0..<count { (zt + b * fourH + 3 * h).update(repeating: 0, count: h) }
                    }
                    prepared.resetBias[l][d].withUnsafeBufferPointer { hn in
                        gruGateForward(z: zt, bias: bias, resetBias: after ? hn.baseAddress : nil,
                                       previousHidden: previous, hidden: buffers.hidden + current, rows: count, hiddenSize: h)
                    }
                }
                carryPaddedStates(buffers, step: step, count: count)
            }
        }
    }

    /// On padding steps (`step >= length`) copies the previous step's state (`h`, and an LSTM's `c`)
    /// over what the step computed, row by row.
    func carryPaddedStates(_ buffers: DirectionBuffers<Scalar>, step: Int, count: Int) {
        guard lengths != nil else { return }
        let h = architecture.hiddenSize, current = step * count * h
        if step == 0 {
            // An empty text (length 0) keeps the zero state h[-1] = c[-1] = 0 (spec §6.1).
            for b in 0..<count where length(b) == 0 {
                (buffers.hidden + b * h).update(repeating: 0, count: h)
                if architecture.cell == .lstm { (buffers.cells + b * h).update(repeating: 0, count: h) }
            }
            return
        }
        for b in 0..<count where step >= length(b) {
            (buffers.hidden + current + b * h).update(from: buffers.hidden + current - count * h + b * h, count: h)
            if architecture.cell == .lstm {
                (buffers.cells + current + b * h).update(from: buffers.cells + current - count * h + b * h, count: h)
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

/// The first half of a GRU step for `rows` sequences (spec §6.1 `gru`): the reset gate
///
///     r = σ(z_r + b_r)            (z_r already holds W_ir x + W_hr h[t-1])
///     reset "before": rh = r ⊙ h[t-1]   (0 at the first step), for the n product that follows
///
/// `r` overwrites `z_r`. A separate pass because with reset `before` the recurrent product of `n`
/// needs all of `r ⊙ h[t-1]` first.
@inline(__always)
func gruResetGate<Scalar: TrainingScalar>(
    z: UnsafeMutablePointer<Scalar>, bias: UnsafePointer<Scalar>, previousHidden: UnsafePointer<Scalar>?,
    after: Bool, resetHidden: UnsafeMutablePointer<Scalar>, rows: Int, hiddenSize h: Int
) {
    for b in 0..<rows {
        let zr = z + b * 4 * h, rh = resetHidden + b * h
        let previous = previousHidden.map { $0 + b * h }
        for j in 0..<h {
            let r = Scalar.gateSigmoid(zr[j] + bias[j])
            zr[j] = r
            if !after { rh[j] = previous.map { r * $0[j] } ?? 0 }
        }
    }
}

/// The second half of a GRU step (after ``gruResetGate`` and the recurrent product of `n`, which
/// left `hn' = h[t-1] W_hn^T` (reset `after`) or `(r ⊙ h[t-1]) W_hn^T` (`before`) in the fourth
/// column block):
///
///     z  = σ(z_z + b_z)
///     after:  hn = hn' + b_hn          n = tanh(z_n + b_n + r ⊙ hn)
///     before: hn = hn'                 n = tanh(z_n + b_n + hn)        (b_n holds b_in + b_hn)
///     h[t] = n + z ⊙ (h[t-1] - n)      (= (1 - z) ⊙ n + z ⊙ h[t-1], as the runtime's kernel computes it)
///
/// The row becomes `r, z, n, hn`: what ``gruGateBackward`` needs. `resetBias` is `b_hn` for reset
/// `after`, nil for `before`.
@inline(__always)
func gruGateForward<Scalar: TrainingScalar>(
    z: UnsafeMutablePointer<Scalar>, bias: UnsafePointer<Scalar>, resetBias: UnsafePointer<Scalar>?,
    previousHidden: UnsafePointer<Scalar>?, hidden: UnsafeMutablePointer<Scalar>, rows: Int, hiddenSize h: Int
) {
    for b in 0..<rows {
        let zr = z + b * 4 * h, hr = hidden + b * h
        let previous = previousHidden.map { $0 + b * h }
        for j in 0..<h {
            let r = zr[j]
            let u = Scalar.gateSigmoid(zr[h + j] + bias[h + j])
            let hn = zr[3 * h + j] + (resetBias.map { $0[j] } ?? 0)
            let n = Scalar.gateTanh(zr[2 * h + j] + bias[2 * h + j] + (resetBias == nil ? hn : r * hn))
            let hp = previous.map { $0[j] } ?? 0
            zr[h + j] = u; zr[2 * h + j] = n; zr[3 * h + j] = hn
            hr[j] = n + u * (hp - n)
        }
    }
}
