import RNNFormat

/// A model file taken apart into header fields and section contents, so that the fixture
/// generator can build files that break exactly one rule (and still carry a valid checksum).
struct RawFile {
    struct Section {
        var kind: UInt32
        var codec: Codec
        var flags: UInt16 = 1
        /// The decompressed content.
        var content: [UInt8]
        /// Replaces the stored payload (after compression) when set.
        var storedOverride: [UInt8]? = nil
        /// Replaces the directory's `size` when set.
        var sizeOverride: Int? = nil
    }

    var formatMajor: UInt16 = 1
    var formatMinor: UInt16 = 0
    var minReaderMajor: UInt16 = 1
    var minReaderMinor: UInt16 = 0
    var features: UInt64
    var sections: [Section]

    /// The canonical parts of `model` without any validation (so invalid models can be encoded).
    init(_ model: ModelFile, options: WriteOptions = .uncompressed, metadata: [UInt8]? = nil) {
        let json = metadata ?? (try! MetadataEncoding.bytes(model.metadata))
        let (table, data) = try! TensorSections.encode(model.tensors)
        sections = [
            Section(kind: 1, codec: options.metadataCodec, content: json),
            Section(kind: 2, codec: options.tensorCodec, content: table),
            Section(kind: 3, codec: options.tensorCodec, content: data),
        ]
        features = 0
        features = ModelChecks.requiredFeatures(tensors: model.tensors, usesZstd: usesZstd)
    }

    var usesZstd: Bool { sections.contains { $0.codec != .none } }

    /// Index of the section of kind `kind`.
    func index(of kind: SectionKind) -> Int { sections.firstIndex { $0.kind == kind.rawValue }! }

    /// The file, laid out by the canonical writer's rules, with a valid CRC.
    func bytes() -> [UInt8] {
        let parts = sections.map { s -> (kind: UInt32, codec: UInt16, flags: UInt16, stored: [UInt8], size: Int) in
            var stored = s.content
            if case .zstd(let level) = s.codec { stored = try! Zstd.compress(s.content, level: level) }
            return (s.kind, s.codec.code, s.flags, s.storedOverride ?? stored, s.sizeOverride ?? s.content.count)
        }
        return ModelWriter.assemble(sections: parts, formatMinor: formatMinor, minReaderMinor: minReaderMinor,
                                    features: features, formatMajor: formatMajor, minReaderMajor: minReaderMajor)
    }
}

extension RawFile {
    /// A fixture of format `1.minor`: `model` encoded unchecked with zstd (its metadata JSON edited by
    /// `json` first, when given), `min_reader_minor` = `minReader` (default: `minor`).
    static func versioned(_ model: ModelFile, minor: UInt16, minReader: UInt16? = nil,
                          json edit: ((inout JSONValue) -> Void)? = nil) -> [UInt8] {
        var metadata: [UInt8]? = nil
        if let edit {
            var value = try! MetadataEncoding.json(model.metadata)
            edit(&value)
            metadata = CanonicalJSON.encode(value)
        }
        var r = RawFile(model, options: .init(), metadata: metadata)
        r.formatMinor = minor
        r.minReaderMinor = minReader ?? minor
        return r.bytes()
    }
}

/// Byte patches on a finished file.
enum Patch {
    static func u8(_ b: inout [UInt8], _ at: Int, _ v: UInt8) { b[at] = v }
    static func u16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) { for i in 0..<2 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    static func u32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }
    static func u64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) } }

    /// Recomputes the trailer's CRC-32 so that a structural fault is not masked by the checksum.
    static func fixCRC(_ b: inout [UInt8]) {
        let trailer = b.count - Format.trailerSize
        u32(&b, trailer, Checksum.crc32(b, count: trailer))
    }

    /// File offset of directory entry `i`.
    static func entry(_ i: Int) -> Int { Format.headerSize + Format.directoryEntrySize * i }

    /// File offset of a section's payload, read from the directory.
    static func payloadOffset(_ b: [UInt8], section i: Int) -> Int { Int(b.u64(at: entry(i) + 8)) }
    static func payloadSize(_ b: [UInt8], section i: Int) -> Int { Int(b.u64(at: entry(i) + 16)) }
}
