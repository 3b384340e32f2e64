import RNNCore

/// The instruction set of the int8 products (spec §6.6) a ``Model``'s int8 layers run on.
///
/// Every variant computes the same integer sums; they differ in speed only.
public enum Int8Kernel: String, Sendable, Equatable, CaseIterable {
    /// 512-bit `vpdpbusd` (AVX-512 VNNI).
    case avx512vnni = "avx512-vnni"
    /// 256-bit `vpmaddubsw` / `vpmaddwd` (AVX2).
    case avx2
    /// 128-bit `sdot` (ARM64 with the dot product instructions).
    case neonDot = "neon-dot"
    /// Plain C.
    case portable

    init(_ isa: Int8ISA) {
        switch isa {
        case .avx512vnni: self = .avx512vnni
        case .avx2: self = .avx2
        case .neonDot: self = .neonDot
        case .portable: self = .portable
        }
    }

    /// The variants this CPU runs, best first.
    public static var supported: [Int8Kernel] { Int8ISA.supported.reversed().map(Int8Kernel.init) }
}
