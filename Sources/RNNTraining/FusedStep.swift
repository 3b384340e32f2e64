import RNNKernels
import RNNSupport

/// The float32 forward pass through the runtime's fused LSTM step kernel (RNNKernels, C).
///
/// Per time step one kernel call computes `z = x[t] W^T + h[t-1] W_hh^T + b`, the gates and the
/// state update in registers (spec §6.1), and writes what the backward pass needs: the activated
/// gates (gate-major, as ``gateForward`` leaves them), `c[t]`, `tanh(c[t])` and `h[t]`. It replaces
/// the input-projection GEMM, the per-step GEMM and the Swift gate pass, whose sum was 40 % of an
/// epoch (perf, course model, 2 workers). Same arithmetic as the BLAS path up to rounding: the
/// kernel's `exp` is the same Cephes polynomial as ``Float/gateSigmoid(_:)``.
///
/// Used when this CPU has a variant (AVX-512 or AVX2 with FMA), the scalar type is `Float`, and the
/// hidden size is a multiple of 8 (the kernel's unit groups). `RNN_TRAIN_KERNEL=portable` in the
/// environment turns it off (rnn-golden does, so that fixtures depend only on OpenBLAS's pinned
/// kernels); `avx2` or `avx512` asks for that variant (for measurements; ignored where the CPU
/// lacks it).
enum FusedStep {
    /// The kernel variant training uses unless told otherwise (``GradientEngine``'s `kernel`), or
    /// `RNNK_ISA_NONE` for the BLAS path.
    static let defaultISA: rnnk_isa = {
        let best = rnnk_detect_isa()
        switch getenv("RNN_TRAIN_KERNEL").map({ String(cString: $0) }) {
        case "portable": return RNNK_ISA_NONE
        case "avx2" where best.rawValue >= RNNK_ISA_AVX2.rawValue: return RNNK_ISA_AVX2
        default: return best
        }
    }()

    /// The variants this CPU can run, `RNNK_ISA_NONE` (BLAS) included.
    static var supported: [rnnk_isa] {
        [RNNK_ISA_NONE, RNNK_ISA_AVX2, RNNK_ISA_AVX512].filter { $0.rawValue <= rnnk_detect_isa().rawValue }
    }

    static func applies(_ isa: rnnk_isa, hiddenSize: Int) -> Bool { isa != RNNK_ISA_NONE && hiddenSize % 8 == 0 }

    /// `c = A b` through `rnnk_sgemm` when it applies (float32, AVX-512, `n % 16 == 0`), with
    /// `A(i, k) = a[i * aRow + k * aColumn]`; returns false when it does not, and the caller uses BLAS.
    /// Measured on the course model: the backward pass's products took 58 % of an epoch through
    /// OpenBLAS's AVX2 kernels (the environment pins OPENBLAS_CORETYPE=Haswell). An AVX2 version of
    /// the product kernel (3 x 32 tile) was measured and dropped: 4.0 s per epoch against 3.7 s with
    /// OpenBLAS's Haswell kernels (RNN_TRAIN_KERNEL=avx2), so AVX2 CPUs keep BLAS here.
    static func product<Scalar: TrainingScalar>(_ isa: rnnk_isa, m: Int, n: Int, k: Int, a: UnsafePointer<Scalar>, aRow: Int, aColumn: Int,
                                                b: UnsafePointer<Scalar>, ldb: Int,
                                                c: UnsafeMutablePointer<Scalar>, ldc: Int) -> Bool {
        guard Scalar.self == Float.self, isa == RNNK_ISA_AVX512, n % 16 == 0 else { return false }
        func f(_ p: UnsafePointer<Scalar>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
        return rnnk_sgemm(isa, Int32(m), Int32(n), Int32(k), f(a), aRow, aColumn, f(b), ldb,
                          UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, 0) == 0
    }

    /// A weight gradient `out = dzᵀ x` (or `out += dzᵀ x` when `accumulate`) over `rows` rows, with
    /// `dz` `[rows, gates]`, `x` `[rows, width]` and `out` `[gates, width]`, through ``product``:
    /// the kernel wants the wide side as its columns, so it computes `xᵀ dz` (`[width, gates]`) into
    /// `scratch` and the result is transposed into place. Returns false when the kernel does not
    /// apply (the caller then uses BLAS); either way each entry sums its rows in order.
    static func weightGradient<Scalar: TrainingScalar>(_ isa: rnnk_isa, dz: UnsafePointer<Scalar>, x: UnsafePointer<Scalar>,
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

    /// `w` is gate-major `[4H, columns]` (rows i, f, g, o of each unit, as the parameters store them).
    static func pack(_ w: UnsafePointer<Float>, hidden h: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: 4 * h * columns)
        let groups = Int32(h / 8)
        for gate in 0..<4 {
            for unit in 0..<h {
                let column = Int32((unit / 8) * 32 + gate * 8 + unit % 8)
                let row = w + (gate * h + unit) * columns
                for k in 0..<columns { out[rnnk_packed_index(groups, Int32(columns), Int32(k), column)] = row[k] }
            }
        }
        return out
    }
}

extension Workspace where Scalar == Float {
    /// Runs every LSTM layer over `count` sequences with the fused kernel, filling ``gates``,
    /// ``cells``, ``cellTanh`` and ``hidden`` exactly as the BLAS path does.
    func fusedLayers(_ layers: [FusedLayerWeights], isa: rnnk_isa, count: Int) {
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
                            var args = rnnk_lstm_step_args(
                                rows: Int32(count), groups: Int32(h / 8),
                                x: x + step * count * width, x_stride: width, x_width: Int32(width), wx: wx.baseAddress,
                                h: step > 0 ? UnsafePointer(hidden[l] + previous) : nil, h_stride: h,
                                h_width: step > 0 ? Int32(h) : 0, wh: wh.baseAddress,
                                bias: bias.baseAddress,
                                c_prev: step > 0 ? UnsafePointer(cells[l] + previous) : nil,
                                c_out: cells[l] + current, c_stride: h,
                                h_out: hidden[l] + current, h_out_stride: h,
                                gates_out: gates[l] + step * count * 4 * h, gates_stride: 4 * h, gates_hidden: Int32(h),
                                cell_tanh_out: cellTanh[l] + current, z_in: nil, z_in_stride: 0)
                            let status = rnnk_lstm_step(isa, &args)
                            precondition(status == 0, "fused LSTM kernel unavailable")  // isa came from detection
                        }
                    }
                }
            }
        }
    }
}
