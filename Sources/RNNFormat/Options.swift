/// How a section's payload is stored (spec §2.2, `codec`).
public enum Codec: Sendable, Equatable {
    /// Stored as is (codec 0): the payload can be memory-mapped.
    case none
    /// One zstd frame (codec 1) compressed at `level` (1 ... 22; 19 by default).
    case zstd(level: Int32)

    /// The default: zstd at level 19.
    public static let defaultZstd = Codec.zstd(level: 19)

    /// The number stored in the directory entry's `codec` field.
    package var code: UInt16 {
        switch self {
        case .none: 0
        case .zstd: 1
        }
    }
}

/// Choices the canonical writer leaves to the caller: only the codecs.
public struct WriteOptions: Sendable, Equatable {
    /// Codec of the metadata section.
    public var metadataCodec: Codec
    /// Codec of the tensor table and tensor data sections; `.none` keeps them mappable.
    public var tensorCodec: Codec

    /// Creates options; both codecs default to zstd level 19.
    public init(metadataCodec: Codec = .zstd(level: 19), tensorCodec: Codec = .zstd(level: 19)) {
        self.metadataCodec = metadataCodec
        self.tensorCodec = tensorCodec
    }

    /// No compression anywhere: the file is readable with a hex editor and mappable.
    public static let uncompressed = WriteOptions(metadataCodec: .none, tensorCodec: .none)
}

/// Caps a reader applies before it allocates anything whose size comes from the file (spec §9).
///
/// These can only lower the spec's limits: a value above a spec limit acts as the spec limit.
public struct ReadLimits: Sendable, Equatable {
    /// Largest decompressed tensor-data section accepted (spec §9: at most 2 GiB).
    public var maxTensorDataBytes: Int
    /// Largest file accepted; ``ModelReader/read(contentsOf:limits:)`` checks it before reading.
    public var maxFileBytes: Int

    /// Creates limits; defaults are 2 GiB of tensor data and 4 GiB of file.
    public init(maxTensorDataBytes: Int = 2 << 30, maxFileBytes: Int = 4 << 30) {
        self.maxTensorDataBytes = maxTensorDataBytes
        self.maxFileBytes = maxFileBytes
    }

    /// 2 GiB of tensor data, 4 GiB of file.
    public static let `default` = ReadLimits()

    var effectiveTensorDataBytes: Int { max(0, min(maxTensorDataBytes, Format.maxTensorDataBytes)) }
    var effectiveFileBytes: Int { max(0, min(maxFileBytes, Format.maxFileBytes)) }
}
