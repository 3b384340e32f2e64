/// The version of the format this library reads and writes (spec §3).
public enum RNNFormatVersion {
    /// `1.4`: the newest version this library implements (1.1 adds `embedding` and `tokens`; 1.2 adds
    /// `gru`, bidirectional layers, the `features` input, per-step and real-valued outputs; 1.3 adds
    /// the `pool` layer; 1.4 the `image` input and the `conv2d`, `maxpool2d`, `flatten` and `conv1d`
    /// layers; spec §11).
    public static let current = (major: 1, minor: 4)
}

/// Optional capabilities a file may use; each sets one bit of `required_features` (spec §3).
public enum FormatFeature: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Some section is zstd-compressed (codec 1).
    case zstd = 0
    /// Some tensor has dtype `f16`.
    case f16 = 1
    /// Some tensor has dtype `bf16`.
    case bf16 = 2
    /// Some tensor has dtype `int8`.
    case int8 = 3

    /// The bit of `required_features` this feature sets.
    public var bit: UInt64 { 1 << UInt64(rawValue) }

    /// The minor version that introduced the feature.
    public var sinceMinor: Int { 0 }

    public var description: String {
        switch self {
        case .zstd: "zstd"
        case .f16: "f16"
        case .bf16: "bf16"
        case .int8: "int8"
        }
    }

    /// The names of the features whose bits are set in `bits`; unknown bits as `bit N`.
    public static func names(of bits: UInt64) -> [String] {
        (0..<64).compactMap { index -> String? in
            guard bits & (1 << UInt64(index)) != 0 else { return nil }
            return FormatFeature(rawValue: index)?.description ?? "bit \(index)"
        }
    }

    /// Bitset of every feature this reader knows.
    static let knownBits: UInt64 = allCases.reduce(0) { $0 | $1.bit }
}

/// Fixed sizes, magic numbers and the hard limits of spec §9.
package enum Format {
    package static let magic: [UInt8] = [0x89, 0x52, 0x4E, 0x4E, 0x4D, 0x0D, 0x0A, 0x1A]
    package static let endMagic: [UInt8] = Array("RNNMEND\n".utf8)
    package static let headerSize = 64
    package static let directoryEntrySize = 64
    package static let trailerSize = 16
    package static let alignment = 64
    package static let tensorEntrySize = 128
    package static let tensorTableHeaderSize = 8
    /// Header + one directory entry + trailer: the smallest conceivable file.
    package static let minimumFileSize = 64 + 64 + 16

    package static let maxSections = 16
    package static let maxTensors = 1024
    package static let maxRank = 4
    package static let maxDimension = 16_777_216
    package static let maxElements = Int(Int32.max)
    package static let maxTensorNameBytes = 63
    package static let maxMetadataBytes = 4 << 20
    package static let maxTensorTableBytes = 8 + 128 * 1024
    package static let maxTensorDataBytes = 2 << 30
    package static let maxFileBytes = 1 << 40
    package static let maxLayers = 64
    package static let maxLabels = 65_536
    package static let maxLabelBytes = 256
    package static let maxJSONDepth = 32
    package static let maxImageSide = 4096
    /// The largest kernel, stride or padding + 1 of a convolution or max-pool (spec §6.1, since 1.4).
    package static let maxWindow = 4096
    /// Values of one feature map `C x H x W`, the input image's included (spec §6.1 rule 3, since 1.4).
    package static let maxFeatureMap = 16_777_216

    /// `align64(n)` of spec §1, or nil on overflow.
    package static func align64(_ n: Int) -> Int? {
        let (sum, overflow) = n.addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum & ~(alignment - 1)
    }
}

/// Section kinds of spec §2.2.
package enum SectionKind: UInt32 {
    case metadata = 1
    case tensorTable = 2
    case tensorData = 3

    var label: String {
        switch self {
        case .metadata: "metadata"
        case .tensorTable: "tensor table"
        case .tensorData: "tensor data"
        }
    }
}
