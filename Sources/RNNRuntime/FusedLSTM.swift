import RNNKernels

/// The instruction set of the fused LSTM step kernel this process uses (RNNKernels, C).
///
/// Detected once per process from cpuid: AVX-512 (F, DQ, VL) when the CPU and OS support it, else
/// AVX2 with FMA, else none (then every LSTM runs the ``StepKernel/portable`` path).
public enum FusedKernel: String, Sendable, Equatable {
    /// 512-bit vectors (AVX-512 F, DQ, VL): a 6-row x 16-unit register tile.
    case avx512
    /// 256-bit vectors with FMA: a 3-row x 8-unit register tile.
    case avx2
    /// No fused kernel: BLAS and the Swift gate pass (``StepKernel/portable``).
    case none

    /// What this CPU gets.
    public static let detected: FusedKernel = {
        switch rnnk_detect_isa() {
        case RNNK_ISA_AVX512: .avx512
        case RNNK_ISA_AVX2: .avx2
        default: .none
        }
    }()

    /// The variants this CPU can run, best first (always ends with `none`, the portable path).
    public static var supported: [FusedKernel] {
        switch detected {
        case .avx512: [.avx512, .avx2, .none]
        case .avx2: [.avx2, .none]
        case .none: [.none]
        }
    }

    var isa: rnnk_isa {
        switch self {
        case .avx512: RNNK_ISA_AVX512
        case .avx2: RNNK_ISA_AVX2
        case .none: RNNK_ISA_NONE
        }
    }
}

/// Rearranges the interleaved `[4Hp, columns]` rows of an ``LSTMStage`` matrix into the fused
/// kernel's panels (`rnnk_packed_index`): per pair of unit groups, `columns` contiguous rows of 64
/// weights, which a register tile streams front to back while broadcasting `x[k]` against row `k`.
func packForKernel(_ m: [Float], rows: Int, columns: Int) -> [Float] {
    let groups = Int32(rows / 32)
    var out = [Float](repeating: 0, count: rows * columns)
    for r in 0..<rows {
        for c in 0..<columns { out[rnnk_packed_index(groups, Int32(columns), Int32(c), Int32(r))] = m[r * columns + c] }
    }
    return out
}

extension BlockForward {
    /// One LSTM layer over a block with the fused kernel: per time step a single call computes
    /// `z = x[t] W_x + h[t-1] W_h + b`, the gates and the state update (rnn_kernels.h), so the
    /// pre-activations never go to memory and there is no separate input-projection pass.
    ///
    /// Writes `h[t]` for every step into `sequenceOutput` when the layer returns its sequence,
    /// otherwise alternates between the two hidden buffers; returns where the output lies.
    func fusedLSTM(_ l: LSTMStage, kernel: FusedKernel, input: UnsafePointer<Float>, count: Int,
                   sequenceOutput: UnsafeMutablePointer<Float>?, workspace ws: Workspace) -> UnsafePointer<Float> {
        let t = network.timeSteps
        let hp = l.paddedHidden
        var previous: UnsafeMutablePointer<Float>? = nil
        l.packedInputWeight.withUnsafeBufferPointer { wx in
            l.packedRecurrentWeight.withUnsafeBufferPointer { wh in
                l.bias.withUnsafeBufferPointer { bias in
                    for step in 0..<t {
                        let h = sequenceOutput.map { $0 + step * count * hp } ?? (step % 2 == 0 ? ws.hidden.0 : ws.hidden.1)
                        var args = rnnk_lstm_step_args(
                            rows: Int32(count), groups: Int32(hp / laneCount),
                            x: input + step * count * l.inputStride, x_stride: l.inputStride,
                            x_width: Int32(l.inputStride), wx: wx.baseAddress,
                            h: previous.map { UnsafePointer($0) }, h_stride: hp,
                            h_width: previous == nil ? 0 : Int32(hp), wh: wh.baseAddress,
                            bias: bias.baseAddress,
                            c_prev: step == 0 ? nil : UnsafePointer(ws.cell), c_out: ws.cell, c_stride: hp,
                            h_out: h, h_out_stride: hp,
                            gates_out: nil, gates_stride: 0, gates_hidden: 0, cell_tanh_out: nil, z_in: nil, z_in_stride: 0)
                        let status = rnnk_lstm_step(kernel.isa, &args)
                        // `kernel` came from `FusedKernel.detected`, so the variant exists.
                        precondition(status == 0, "fused LSTM kernel \(kernel) unavailable")
                        previous = h
                    }
                }
            }
        }
        return UnsafePointer(sequenceOutput ?? previous!)
    }
}
