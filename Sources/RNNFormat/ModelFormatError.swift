/// Why a model file could not be read or written (spec §8).
///
/// Every failure of ``ModelReader`` and ``ModelWriter`` is one of these. ``kind`` is the
/// language-neutral error class that the spec and the corrupt-file corpus
/// (`fixtures/corrupt/manifest.json`) use; ``message`` is for people: it names the section or
/// byte offset, what was expected and what was found, and, where one helps, a hint.
public struct ModelFormatError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The error classes of spec §8, plus `io` for failures of the file system.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The bytes are not an `.rnnm` file (wrong magic).
        case notAModel = "not_a_model"
        /// The file ends before the header says it does.
        case truncated
        /// The checksum does not match: the bytes changed after writing.
        case corrupted
        /// A major version this reader does not implement, or a file that needs a newer minor.
        case unsupportedVersion = "unsupported_version"
        /// An unknown required feature bit, section kind, codec, dtype, layer type or input kind.
        case unsupportedFeature = "unsupported_feature"
        /// A count or size beyond the limits of spec §9 or of ``ReadLimits``.
        case limitExceeded = "limit_exceeded"
        /// The checksum is valid but the structure violates the spec.
        case malformed
        /// A tensor's shape disagrees with its layer.
        case shapeMismatch = "shape_mismatch"
        /// A non-finite value, a non-positive scale, or an int8 value of -128.
        case invalidTensor = "invalid_tensor"
        /// The file system refused: missing file, permissions, full disk.
        case io
    }

    /// The error class.
    public var kind: Kind
    /// A sentence naming where, what was expected, what was found.
    public var message: String

    /// Creates an error of class `kind`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `<class>: <message>`, e.g. `truncated: file offset 24: file_size says ...`.
    public var description: String { "\(kind.rawValue): \(message)" }
}

extension ModelFormatError {
    static func notAModel(_ m: String) -> Self { .init(.notAModel, m) }
    static func truncated(_ m: String) -> Self { .init(.truncated, m) }
    static func corrupted(_ m: String) -> Self { .init(.corrupted, m) }
    static func unsupportedVersion(_ m: String) -> Self { .init(.unsupportedVersion, m) }
    static func unsupportedFeature(_ m: String) -> Self { .init(.unsupportedFeature, m) }
    static func limitExceeded(_ m: String) -> Self { .init(.limitExceeded, m) }
    static func malformed(_ m: String) -> Self { .init(.malformed, m) }
    static func shapeMismatch(_ m: String) -> Self { .init(.shapeMismatch, m) }
    static func invalidTensor(_ m: String) -> Self { .init(.invalidTensor, m) }
    static func io(_ m: String) -> Self { .init(.io, m) }
}
