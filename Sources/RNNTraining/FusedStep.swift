import RNNCore
import RNNKernels

/// The float32 forward pass through the runtime's fused LSTM step kernel (RNNKernels, C), and the
/// backward pass's products through the AVX-512 GEMM kernel.
///
/// Per time step one kernel call (RNNCore's ``LSTMStep``) computes `z = x[t] W^T + h[t-1] W_hh^T + b`,
/// the gates and the state update in registers (spec §6.1), and writes what the backward pass needs:
/// the activated gates (gate-major, as ``gateForward`` leaves them), `c[t]`, `tanh(c[t])` and `h[t]`.
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
    static func weightGradient<Scalar: TrainingScalar>(_ isa: KernelISA, dz: UnsafePointer<Scalar>, x: UnsafePointer<Scalar>,
                                                       width: Int, gates: Int, rows: Int, scratch: UnsafeMutablePointer<Scalar>,
                                                       into out: UnsafeMutablePointer<Scalar>, accumulate: Bool) -> Bool {
        guard product(isa, m: width, n: gates, k: rows, a: x, aRow: 1, aColumn: width, b: dz, ldb: gates,
                      c: scratch, ldc: gates) else { return false }
        for j in 0..<gates {
            for i in 0..<width {
                out[j * width + i] = (accumulate ? out[j * width + i] : 0) + scratch[i * gates + j]
            }
        }
        return true
    }
}

/// One LSTM layer's weights in the kernel's layout (rnn_kernels.h): gate columns interleaved in
/// groups of 8 units (`[i8 f8 g8 o8]` per group), packed in panels (`rnnk_packed_index`).
struct FusedLayerWeights {
    var input: [Float]
    var inputWidth: Int
    var recurrent: [Float]
    var bias: [Float]
}

extension Workspace where Scalar == Float {
    /// Runs every LSTM layer over `count` sequences with the fused kernel, filling ``gates``,
    /// ``cells``, ``cellTanh`` and ``hidden`` exactly as the BLAS path does.
    func fusedLayers(_ layers: [FusedLayerWeights], isa: KernelISA, count: Int) {
        let h = architecture.hiddenSize, t = timeSteps
        for (l, weights) in layers.enumerated() {
            let x = UnsafePointer(l == 0 ? input : hidden[l - 1])
            let width = weights.inputWidth
            weights.input.withUnsafeBufferPointer { wx in
                weights.recurrent.withUnsafeBufferPointer { wh in
                    weights.bias.withUnsafeBufferPointer { bias in
                        for step in 0..<t {
                            let previous = step > 0 ? (step - 1) * count * h : 0
                            let current = step * count * h
                            var kernel = LSTMStep(
                                rows: count, groups: h / 8,
                                x: x + step * count * width, xStride: width, xWidth: width, wx: wx.baseAddress,
                                h: step > 0 ? UnsafePointer(hidden[l] + previous) : nil, hStride: h, wh: wh.baseAddress!,
                                bias: bias.baseAddress,
                                cPrevious: step > 0 ? UnsafePointer(cells[l] + previous) : nil,
                                cOut: cells[l] + current, cStride: h, hOut: hidden[l] + current, hOutStride: h)
                            kernel.gatesOut = gates[l] + step * count * 4 * h
                            kernel.gatesStride = 4 * h
                            kernel.gatesHidden = h
                            kernel.cellTanhOut = cellTanh[l] + current
                            kernel.run(isa)  // isa came from the caller's KernelISA, checked by FusedStep.applies
                        }
                    }
                }
            }
        }
    }
}
