import RNNCore

/// Per-step quantities derived from the parameters and shared by every worker.
///
/// `dense_in` has no activation, so `dense_in` followed by the first LSTM's input map is one
/// affine map: `W_ih (W_in x + b_in) + b_ih = W' x + b'` with
///
///     W' = W_ih · W_in          [4H, I]
///     b' = W_ih · b_in + b_ih + b_hh
///
/// (`b_hh` is added once per step anyway, so it is folded in too). The first layer's input
/// projection for all `T` steps of a batch is then one `[T*B, I] x [I, 4H]` GEMM instead of a
/// `[T*B, I] x [I, H]` GEMM followed by a `[T*B, H] x [H, 4H]` one — 28/(28+128) ≈ 18 % of the
/// FLOPs at `H = 128`. Layers above the first use `b_ih + b_hh` as their combined bias.
struct PreparedWeights<Scalar: TrainingScalar> {
    /// `W'` `[4H, I]`.
    var combinedInputWeight: [Scalar]
    /// Per LSTM layer, the bias added to `z` at every step `[4H]`.
    var combinedBias: [[Scalar]]
    /// The same weights laid out for the fused kernel (``FusedStep``); empty when it does not apply.
    var fused: [FusedLayerWeights] = []
    /// The kernel variant `fused` is for.
    var kernel: KernelISA

    init(parameters p: UnsafeBufferPointer<Scalar>, layout: ParameterLayout, architecture a: LSTMArchitecture, kernel: KernelISA) {
        let h = a.hiddenSize, fourH = 4 * h, inputs = a.inputSize
        let base = p.baseAddress!
        let first = layout.lstm[0]
        var w = [Scalar](repeating: 0, count: fourH * inputs)
        w.withUnsafeMutableBufferPointer { wp in
            Scalar.gemm(transposeA: false, transposeB: false, m: fourH, n: inputs, k: h,
                        alpha: 1, a: base + first.weightIH.offset, lda: h,
                        b: base + layout.denseInWeight.offset, ldb: inputs,
                        beta: 0, c: wp.baseAddress!, ldc: inputs)
        }
        combinedInputWeight = w
        var biases: [[Scalar]] = []
        for (l, slots) in layout.lstm.enumerated() {
            var b = [Scalar](repeating: 0, count: fourH)
            for j in 0..<fourH { b[j] = p[slots.biasIH.offset + j] + p[slots.biasHH.offset + j] }
            if l == 0 {
                b.withUnsafeMutableBufferPointer { bp in
                    // b' += W_ih · b_in, as a [4H, H] x [H, 1] product.
                    Scalar.gemm(transposeA: false, transposeB: false, m: fourH, n: 1, k: h,
                                alpha: 1, a: base + first.weightIH.offset, lda: h,
                                b: base + layout.denseInBias.offset, ldb: 1,
                                beta: 1, c: bp.baseAddress!, ldc: 1)
                }
            }
            biases.append(b)
        }
        combinedBias = biases
        self.kernel = Scalar.self == Float.self && FusedStep.applies(kernel, hiddenSize: h) ? kernel : .none
        if self.kernel != .none {
            fused = packForKernel(parameters: p, layout: layout, architecture: a)
        }
    }

    /// ``FusedLayerWeights`` for every layer: `W'` and `b'` for the first, `W_ih` and `b_ih + b_hh` above.
    private func packForKernel(parameters p: UnsafeBufferPointer<Scalar>, layout: ParameterLayout,
                               architecture a: LSTMArchitecture) -> [FusedLayerWeights] {
        let h = a.hiddenSize
        func floats(_ pointer: UnsafePointer<Scalar>) -> UnsafePointer<Float> {
            UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
        }
        let base = floats(p.baseAddress!)
        return layout.lstm.enumerated().map { l, slots in
            let width = l == 0 ? a.inputSize : h
            let input = l == 0
                ? combinedInputWeight.withUnsafeBufferPointer { GateLayout.packGateMajor(floats($0.baseAddress!), hidden: h, columns: width) }
                : GateLayout.packGateMajor(base + slots.weightIH.offset, hidden: h, columns: width)
            let bias = combinedBias[l].withUnsafeBufferPointer { GateLayout.packGateMajor(floats($0.baseAddress!), hidden: h, columns: 1) }
            return FusedLayerWeights(input: input, inputWidth: width,
                                     recurrent: GateLayout.packGateMajor(base + slots.weightHH.offset, hidden: h, columns: h),
                                     bias: bias)
        }
    }
}
