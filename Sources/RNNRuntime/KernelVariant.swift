import RNNCore

/// The instruction set of the fused LSTM step kernel (RNNKernels, C) a ``Model`` runs on.
///
/// Detected once per process: on x86-64 from cpuid, AVX-512 (F, DQ, VL) when the CPU and OS support
/// it, else AVX2 with FMA; on ARM64 NEON (Linux: the OS's HWCAP_ASIMD; Apple: always); else none
/// (then every LSTM runs the ``StepKernel/portable`` path).
public enum FusedKernel: String, Sendable, Equatable {
    /// 512-bit vectors (AVX-512 F, DQ, VL): a 6-row x 16-unit register tile.
    case avx512
    /// 256-bit vectors with FMA: a 3-row x 8-unit register tile.
    case avx2
    /// ARM64 Advanced SIMD: AVX2's 3-row x 8-unit tile, each 8-lane vector two 128-bit registers.
    case neon
    /// No fused kernel: BLAS and the Swift gate pass (``StepKernel/portable``).
    case none

    /// What this CPU gets.
    public static var detected: FusedKernel { FusedKernel(KernelISA.detected) }

    /// The variants this CPU can run, best first (always ends with `none`, the portable path).
    public static var supported: [FusedKernel] { KernelISA.supported.reversed().map(FusedKernel.init) }

    init(_ isa: KernelISA) {
        switch isa {
        case .avx512: self = .avx512
        case .avx2: self = .avx2
        case .neon: self = .neon
        case .none: self = .none
        }
    }

    var isa: KernelISA {
        switch self {
        case .avx512: .avx512
        case .avx2: .avx2
        case .neon: .neon
        case .none: .none
        }
    }
}
