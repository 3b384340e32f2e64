import RNNCore
import RNNKernels

/// The float32 forward pass through the runtime's fused LSTM and GRU step kernels (RNNKernels, C),
/// and the backward pass's products through the AVX-512 GEMM kernel.
///
/// Per time step one kernel call (RNNCore's ``LSTMStep`` or ``GRUStep``) computes
/// `z = x[t] W^T + h[t-1] W_hh^T + b`, the gates and the state update in registers (spec §6.1), and
/// writes what the backward pass needs: the activated gates (gate-major, as ``gateForward`` and
/// ``gruGateForward`` leave them: LSTM `i, f, g, o`; GRU `r, z, n, hn`), an LSTM's `c[t]` and
/// `tanh(c[t])`, and `h[t]`.
/// It replaces the input-projection GEMM, the per-step GEMM and the Swift gate pass, whose sum was
/// 40 % of an epoch (perf, course model, 2 workers). Same arithmetic as the BLAS path up to rounding:
/// the kernel's `exp` is the same Cephes polynomial as ``Float/gateSigmoid(_:)``.
///
/// Used when the caller's ``KernelISA`` is a fused variant (the engines take it as an argument,
/// `KernelISA.detected` unless told otherwise; `rnn-train` reads `RNN_TRAIN_KERNEL`, `rnn-golden`
/// passes `.none` so that fixtures depend only on OpenBLAS's pinned kernels), the scalar type is
/// `Float`, and the hidden size is a multiple of 8 (the kernel's unit groups).
enum FusedStep {
    static func applies(_ isa: KernelISA, hiddenSize: Int) -> Bool { isa != .none && hiddenSize % 8 == 0 }

    /// `c = A b` through `rnnk_sgemm` when it applies (float32, AVX-512, `n % 16 == 0`), with
    /// `A(i, k) = a[i * aRow + k * aColumn]`; returns false when it does not, and the caller uses BLAS.
    /// Measured on the course model: the backward pass's products took 58 % of an epoch through
    /// OpenBLAS's AVX2 kernels (the environment pins OPENBLAS_CORETYPE=Haswell). An AVX2 version of
    /// the product kernel (3 x 32 tile) was measured and dropped: 4.0 s per epoch against 3.7 s with
    /// OpenBLAS's Haswell kernels (RNN_TRAIN_KERNEL=avx2), so AVX2 CPUs keep BLAS here.
    static func product<Scalar: TrainingScalar>(_ isa: KernelISA, m: Int, n: Int, k: Int, a: UnsafePointer<Scalar>, aRow: Int, aColumn: Int,
                                                b: UnsafePointer<Scalar>, ldb: Int,
                                                c: UnsafeMutablePointer<Scalar>, ldc: Int) -> Bool {
        guard Scalar.self == Float.self, isa == .avx512, n % 16 == 0 else { return false }
        func f(_ p: UnsafePointer<Scalar>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
        return rnnk_sgemm(isa.c, Int32(m), Int32(n), Int32(k), f(a), aRow, aColumn, f(b), ldb,
                          UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, 0) == 0
    }

    /// A weight gradient `out = dzᵀ x` (or `out += dzᵀ x` when `accumulate`) over `rows` rows, with
    /// `dz` `[rows, gates]`, `x` `[rows, width]` and `out` `[gates, width]`, through ``product``:
    /// the kernel wants the wide side as its columns, so it computes `xᵀ dz` (`[width, gates]`) into
    /// `scratch` and the result is transposed into place. Returns false when the kernel does not
    /// apply (the caller then uses BLAS); either way each entry sums its rows in order.
    /// `dz`'s rows are `dzStride` apart (`gates` unless told: a GRU's gradient rows are `4H` wide).
    static func weightGradient<Scalar: TrainingScalar>(_ isa: KernelISA, dz: UnsafePointer<Scalar>, dzStride: Int? = nil,
                                                       x: UnsafePointer<Scalar>,
                                                       width: Int, gates: Int, rows: Int, scratch: UnsafeMutablePointer<Scalar>,
                                                       into out: UnsafeMutablePointer<Scalar>, accumulate: Bool) -> Bool {
        guard product(isa, m: width, n: gates, k: rows, a: x, aRow: 1, aColumn: width, b: dz, ldb: dzStride ?? gates,
                      c: scratch, ldc: gates) else { return false }
        for j in 0..<gates {
            for i in 0..<width {
                out[j * width + i] = (accumulate ? out[j * width + i] : 0) + scratch[i * gates + j]
            }
        }
        return true
    }
}

extension FusedStep {
    /// Gate-major rows (`[GH, columns]`, `h` a multiple of 8) packed into the kernel's panels:
    /// ``GateLayout/packGateMajor(_:hidden:columns:)`` for an LSTM; for a GRU the same walk with
    /// the GRU's rows (``GateLayout/gruRow(gate:unit:)``) and panels (`rnnk_gru_packed_index`).
    static func pack(_ cell: RecurrentCell, _ w: UnsafePointer<Float>, hidden h: Int, columns: Int) -> [Float] {
        if cell == .lstm { return GateLayout.packGateMajor(w, hidden: h, columns: columns) }
        var out = [Float](repeating: 0, count: 3 * h * columns)
        let groups = Int32(h / 8)
        for gate in 0..<3 {
            for unit in 0..<h {
                let column = Int32(GateLayout.gruRow(gate: gate, unit: unit))
                let source = w + (gate * h + unit) * columns
                for k in 0..<columns { out[rnnk_gru_packed_index(groups, Int32(columns), Int32(k), column)] = source[k] }
            }
        }
        return out
    }
}

/// One direction of one recurrent layer's weights in the kernel's layout (rnn_kernels.h): gate
/// columns interleaved in groups of 8 units (`[i8 f8 g8 o8]` or `[r8 z8 n8]` per group), packed in panels.
struct FusedLayerWeights {
    var input: [Float]
    var inputWidth: Int
    var recurrent: [Float]
    var bias: [Float]
    /// A GRU's `b_hn` `[H]` (read with reset `after`); empty for an LSTM.
    var resetBias: [Float]
}

extension Workspace where Scalar == Float {
    /// Runs one direction of one layer over `count` sequences (input `x` in direction time) with the
    /// fused kernel, filling the direction's buffers exactly as the BLAS path does.
    func fusedDirection(_ weights: FusedLayerWeights, isa: KernelISA, x: UnsafePointer<Float>,
                        buffers: DirectionBuffers<Float>, count: Int) {
        let h = architecture.hiddenSize, t = timeSteps, width = weights.inputWidth
        let after = architecture.gruReset == .after
        weights.input.withUnsafeBufferPointer { wx in
            weights.recurrent.withUnsafeBufferPointer { wh in
                weights.bias.withUnsafeBufferPointer { bias in
                    weights.resetBias.withUnsafeBufferPointer { resetBias in
                        for step in 0..<t {
                            let previous = step > 0 ? (step - 1) * count * h : 0
                            let current = step * count * h
                            let hPrevious: UnsafePointer<Float>? = step > 0 ? UnsafePointer(buffers.hidden + previous) : nil
                            switch architecture.cell {
                            case .lstm:
                                var kernel = LSTMStep(
                                    rows: count, groups: h / 8,
                                    x: x + step * count * width, xStride: width, xWidth: width, wx: wx.baseAddress,
                                    h: hPrevious, hStride: h, wh: wh.baseAddress!,
                                    bias: bias.baseAddress,
                                    cPrevious: step > 0 ? UnsafePointer(buffers.cells + previous) : nil,
                                    cOut: buffers.cells + current, cStride: h, hOut: buffers.hidden + current, hOutStride: h)
                                kernel.gatesOut = buffers.gates + step * count * 4 * h
                                kernel.gatesStride = 4 * h
                                kernel.gatesHidden = h
                                kernel.cellTanhOut = buffers.aux + current
                                kernel.run(isa)  // isa came from the caller's KernelISA, checked by FusedStep.applies
                            case .gru:
                                var kernel = GRUStep(
                                    rows: count, groups: h / 8,
                                    x: x + step * count * width, xStride: width, xWidth: width, wx: wx.baseAddress,
                                    h: hPrevious, hStride: h, wh: wh.baseAddress!,
                                    biasX: bias.baseAddress, biasHN: after ? resetBias.baseAddress : nil, resetAfter: after,
                                    hOut: buffers.hidden + current, hOutStride: h)
                                // Reset "before" hands r ⊙ h over between its two phases; aux is free until we fill it below.
                                kernel.scratch = after || hPrevious == nil ? nil : gruScratch(count * 3 * h)
                                kernel.gatesOut = buffers.gates + step * count * 4 * h
                                kernel.gatesStride = 4 * h
                                kernel.gatesHidden = h
                                kernel.run(isa)
                                if !after {
                                    // The backward pass's r ⊙ h[t-1] (the product W_hn saw).
                                    let gates = buffers.gates + step * count * 4 * h
                                    for b in 0..<count {
                                        for j in 0..<h {
                                            buffers.aux[current + b * h + j] = hPrevious.map { gates[b * 4 * h + j] * $0[b * h + j] } ?? 0
                                        }
                                    }
                                }
                            }
                            carryPaddedStates(buffers, step: step, count: count)
                        }
                    }
                }
            }
        }
    }

    /// The GRU kernel's two-phase scratch: the gate-gradient buffer, unused during the forward pass.
    private func gruScratch(_ n: Int) -> UnsafeMutablePointer<Float> {
        precondition(n <= capacity * timeSteps * 4 * architecture.hiddenSize)
        return gateGradient
    }
}
