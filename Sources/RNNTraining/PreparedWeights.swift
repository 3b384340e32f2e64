import RNNCore

/// Per-step quantities derived from the parameters and shared by every worker.
///
/// `dense_in` has no activation, so `dense_in` followed by the first layer's input map is one
/// affine map (per direction): `W_ih (W_in x + b_in) + b_ih = W' x + b'` with
///
///     W' = W_ih · W_in          [GH, I]     (G = 4 gates for an LSTM, 3 for a GRU)
///     b' = W_ih · b_in + b_ih + b_hh'
///
/// where `b_hh'` is the part of `b_hh` that is added to the pre-activation at every step anyway
/// and so can be folded: all of it for an LSTM and for a GRU with reset `before` (where `b_hn` sits
/// inside the tanh next to `b_in`), but only the r and z rows for a GRU with reset `after`: there
/// `b_hn` is multiplied by the reset gate, `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, so it
/// stays separate (``resetBias``). The first layer's input projection for all `T` steps of a batch
/// is then one `[T*B, I] x [I, GH]` GEMM instead of a `[T*B, I] x [I, H]` GEMM followed by a
/// `[T*B, H] x [H, GH]` one — 28/(28+128) ≈ 18 % of the FLOPs at `H = 128`. Layers above the first
/// use `b_ih + b_hh'` as their combined bias. With an embedding input stage there is nothing to
/// fold: the first layer's `W'` is its `W_ih` and `b'` its `b_ih + b_hh'`, like the layers above.
struct PreparedWeights<Scalar: TrainingScalar> {
    /// Per direction, `W'` `[GH, I]`.
    var combinedInputWeight: [[Scalar]]
    /// Per layer, per direction: the bias added to the input side of `z` at every step `[GH]`.
    var combinedBias: [[[Scalar]]]
    /// Per layer, per direction: a GRU's `b_hn` `[H]` (empty for an LSTM).
    var resetBias: [[[Scalar]]]
    /// The same weights laid out for the fused kernel (``FusedStep``), per layer and direction;
    /// empty when it does not apply.
    var fused: [[FusedLayerWeights]] = []
    /// The kernel variant `fused` is for.
    var kernel: KernelISA

    init(parameters p: UnsafeBufferPointer<Scalar>, layout: ParameterLayout, architecture a: LSTMArchitecture, kernel: KernelISA) {
        let h = a.hiddenSize, gateRows = a.gateRows, inputs = a.inputSize
        let base = p.baseAddress!
        combinedInputWeight = layout.recurrent[0].map { first in
            // With an embedding there is no dense_in to fold: W' = W_ih.
            guard let denseIn = layout.denseInWeight else { return Array(p[first.weightIH.range]) }
            var w = [Scalar](repeating: 0, count: gateRows * inputs)
            w.withUnsafeMutableBufferPointer { wp in
                Scalar.gemm(transposeA: false, transposeB: false, m: gateRows, n: inputs, k: h,
                            alpha: 1, a: base + first.weightIH.offset, lda: h,
                            b: base + denseIn.offset, ldb: inputs,
                            beta: 0, c: wp.baseAddress!, ldc: inputs)
            }
            return w
        }
        // The rows of b_hh folded into b': all but a reset-"after" GRU's n rows.
        let folded = a.cell == .gru && a.gruReset == .after ? 2 * h : gateRows
        combinedBias = layout.recurrent.enumerated().map { l, directions in
            directions.map { slots in
                var b = [Scalar](repeating: 0, count: gateRows)
                for j in 0..<gateRows { b[j] = p[slots.biasIH.offset + j] + (j < folded ? p[slots.biasHH.offset + j] : 0) }
                if l == 0, let denseInBias = layout.denseInBias {
                    b.withUnsafeMutableBufferPointer { bp in
                        // b' += W_ih · b_in, as a [GH, H] x [H, 1] product.
                        Scalar.gemm(transposeA: false, transposeB: false, m: gateRows, n: 1, k: h,
                                    alpha: 1, a: base + slots.weightIH.offset, lda: h,
                                    b: base + denseInBias.offset, ldb: 1,
                                    beta: 1, c: bp.baseAddress!, ldc: 1)
                    }
                }
                return b
            }
        }
        resetBias = layout.recurrent.map { directions in
            directions.map { slots in a.cell == .gru ? Array(p[(slots.biasHH.offset + 2 * h)..<(slots.biasHH.offset + 3 * h)]) : [] }
        }
        self.kernel = Scalar.self == Float.self && FusedStep.applies(kernel, hiddenSize: h) ? kernel : .none
        if self.kernel != .none {
            fused = packForKernel(parameters: p, layout: layout, architecture: a)
        }
    }

    /// ``FusedLayerWeights`` for every layer and direction: `W'` and `b'` for the first layer,
    /// `W_ih` and `b_ih + b_hh'` above.
    private func packForKernel(parameters p: UnsafeBufferPointer<Scalar>, layout: ParameterLayout,
                               architecture a: LSTMArchitecture) -> [[FusedLayerWeights]] {
        let h = a.hiddenSize, cell = a.cell
        func floats(_ pointer: UnsafePointer<Scalar>) -> UnsafePointer<Float> {
            UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
        }
        let base = floats(p.baseAddress!)
        return layout.recurrent.enumerated().map { l, directions in
            directions.enumerated().map { d, slots in
                let width = l == 0 ? a.inputSize : a.outputWidth
                let input = l == 0
                    ? combinedInputWeight[d].withUnsafeBufferPointer { FusedStep.pack(cell, floats($0.baseAddress!), hidden: h, columns: width) }
                    : FusedStep.pack(cell, base + slots.weightIH.offset, hidden: h, columns: width)
                let bias = combinedBias[l][d].withUnsafeBufferPointer { FusedStep.pack(cell, floats($0.baseAddress!), hidden: h, columns: 1) }
                return FusedLayerWeights(input: input, inputWidth: width,
                                         recurrent: FusedStep.pack(cell, base + slots.weightHH.offset, hidden: h, columns: h),
                                         bias: bias,
                                         resetBias: resetBias[l][d].map { Float($0) })
            }
        }
    }
}
