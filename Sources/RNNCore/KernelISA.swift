import RNNKernels

/// The instruction-set variants of the C kernels (RNNKernels), detected once per process.
///
/// The runtime and the trainer both choose among these; neither reads the environment (a CLI that
/// wants to force a variant passes it as an option).
///
/// The order (``Comparable``, by raw value) means "better" only between variants of one
/// architecture: on x86-64 `none < avx2 < avx512`, on ARM64 `none < neon`. A variant of the other
/// architecture is never ``supported``; choose with ``supported`` or ``isAvailable``, not `<=`.
package enum KernelISA: Int, Sendable, CaseIterable, Comparable {
    /// No vector kernel: for the LSTM, BLAS and the Swift gate pass; for the GRU, the portable C
    /// variant of `rnnk_gru_step` (``GRUStep``), which runs on every CPU.
    case none = 0
    /// 256-bit vectors with FMA (x86-64).
    case avx2 = 1
    /// 512-bit vectors (AVX-512 F, DQ, VL; x86-64).
    case avx512 = 2
    /// ARM64 Advanced SIMD: the 8-lane tiles of `avx2` on pairs of 128-bit registers.
    case neon = 3

    /// The best variant this CPU and operating system support (x86-64: cpuid/xgetbv; ARM64:
    /// the OS's hardware capabilities), asked once.
    package static let detected: KernelISA = KernelISA(rnnk_detect_isa())

    /// The variants this CPU can run, `none` (the portable path) included, in increasing order.
    package static var supported: [KernelISA] { allCases.filter(\.isAvailable) }

    /// Whether this CPU and build run the variant (`none` always).
    package var isAvailable: Bool { rnnk_isa_available(c) != 0 }

    package init(_ isa: rnnk_isa) {
        switch isa {
        case RNNK_ISA_AVX512: self = .avx512
        case RNNK_ISA_AVX2: self = .avx2
        case RNNK_ISA_NEON: self = .neon
        default: self = .none
        }
    }

    /// The C enumeration value.
    package var c: rnnk_isa {
        switch self {
        case .none: RNNK_ISA_NONE
        case .avx2: RNNK_ISA_AVX2
        case .avx512: RNNK_ISA_AVX512
        case .neon: RNNK_ISA_NEON
        }
    }

    package static func < (a: KernelISA, b: KernelISA) -> Bool { a.rawValue < b.rawValue }
}
