/// Reads `.rnnm` files, performing every check of spec §7 in the spec's order.
///
/// A ``ModelFile`` is returned only when the whole file is valid; otherwise the first failure
/// is thrown as a ``ModelFormatError`` whose ``ModelFormatError/kind`` is the class of spec §8.
public enum ModelReader {
    /// Decodes a whole file held in memory.
    public static func decode(_ bytes: [UInt8], limits: ReadLimits = .default) throws(ModelFormatError) -> ModelFile {
        let container = try Container.parse(bytes, limits: limits)
        return try decodeSections(container, limits: limits).model
    }

    /// Decodes as a reader of version `1.readerMinor` would check the header (spec §3 rule 2): the
    /// tests use it to show that a 1.0 reader refuses a 1.1 file with "needs a reader >= 1.1".
    static func decode(_ bytes: [UInt8], limits: ReadLimits = .default, readerMinor: Int) throws(ModelFormatError) -> ModelFile {
        let container = try Container.parse(bytes, limits: limits, readerMinor: readerMinor)
        return try decodeSections(container, limits: limits).model
    }

    /// Reads and decodes the file at `path`; a file larger than `limits.maxFileBytes` is refused
    /// (`limit_exceeded`) before it is read.
    public static func read(contentsOf path: String, limits: ReadLimits = .default) throws(ModelFormatError) -> ModelFile {
        try decode(try FileContents.read(path, maxBytes: limits.effectiveFileBytes), limits: limits)
    }

    /// Step 8 of spec §7: the known sections' contents and the checks between them.
    static func decodeSections(_ c: Container, limits: ReadLimits) throws(ModelFormatError) -> (model: ModelFile, table: [TensorEntry]) {
        let metadataBytes = try c.payload(of: .metadata).array
        let metadata = try MetadataDecoding.decode(try JSONParser.parse(metadataBytes))
        let tableBytes = try c.payload(of: .tensorTable).array
        let entries = try TensorEntry.parseTable(tableBytes)
        // The table fixes the data section's size; check the declared size against it before
        // decompressing (spec §5, §7 step 8), so no header alone decides what is allocated.
        let regions = try TensorEntry.checkLayout(entries, sectionSize: c.section(.tensorData).size)
        let data = try c.payload(of: .tensorData)
        try TensorEntry.checkPadding(regions, data: data)
        // The tensors' arrays copy the regions: at most the section's size, and checked (spec §1).
        try CheckedAllocation.reserve(regions.reduce(0) { $0 + $1.end - $1.start }, for: "the tensors' values")
        let tensors = entries.map { $0.tensor(from: data) }

        try ModelChecks.crossCheck(metadata, tensors)
        let expected = ModelChecks.requiredFeatures(tensors: tensors, usesZstd: c.sections.contains { $0.codec == 1 })
        if expected != c.requiredFeatures {
            throw .malformed("header required_features is \(hex(c.requiredFeatures)) (\(FormatFeature.names(of: c.requiredFeatures))); the content uses \(hex(expected)) (\(FormatFeature.names(of: expected))); spec §3 requires exactly the used bits")
        }
        try ModelChecks.values(tensors)
        try ModelChecks.standardization(metadata, tensors)
        // Spec §3: a file that uses a 1.1 kind must say so, or a 1.0 reader would misreport it.
        let needed = ModelChecks.minimumReaderMinor(metadata)
        if Int(c.minReaderMinor) < needed {
            throw .malformed("file offset 14: min_reader_minor is \(c.minReaderMinor) but the model uses \(ModelChecks.newestFeature(metadata)); spec §3 requires min_reader_minor >= \(needed)")
        }
        return (ModelFile(metadata: metadata, tensors: tensors), entries)
    }
}

/// One directory entry (spec §2.2), with its offsets already checked against the file.
struct SectionEntry: Sendable {
    var index: Int
    var kind: UInt32
    var codec: UInt16
    var flags: UInt16
    var offset: Int
    var storedSize: Int
    var size: Int

    var known: SectionKind? { SectionKind(rawValue: kind) }
    var required: Bool { flags & 1 == 1 }
    var label: String { "section \(index) (\(known?.label ?? "kind \(kind)"))" }
}

/// Steps 1 - 7 of spec §7: the frame of the file (header, trailer, directory) without its contents.
struct Container {
    let bytes: [UInt8]
    let formatMajor: UInt16
    let formatMinor: UInt16
    let minReaderMajor: UInt16
    let minReaderMinor: UInt16
    let requiredFeatures: UInt64
    let sections: [SectionEntry]
    let crc: UInt32

    static func parse(_ bytes: [UInt8], limits: ReadLimits,
                      readerMinor: Int = RNNFormatVersion.current.minor) throws(ModelFormatError) -> Container {
        let n = bytes.count
        // 1. Magic.
        if n < Format.magic.count {
            if bytes[...] == Format.magic[..<n] {
                throw .truncated("the file is \(n) bytes, a prefix of the 8-byte magic; the rest is missing")
            }
            throw .notAModel("the file is \(n) bytes and does not start with the .rnnm magic 89 52 4E 4E 4D 0D 0A 1A")
        }
        if bytes[0..<8] != Format.magic[...] {
            let found = bytes[0..<8].map { hex($0) }.joined(separator: " ")
            var hint = ""
            if bytes[1..<5] == Format.magic[1..<5] { hint = " (the magic looks mangled by a text-mode transfer; copy the file in binary mode)" }
            throw .notAModel("file offset 0: expected the magic 0x89 0x52 0x4e 0x4e 0x4d 0xd 0xa 0x1a (\"\\x89RNNM\\r\\n\\x1a\"), found \(found)\(hint)")
        }
        // 2. Header present.
        if n < Format.headerSize { throw .truncated("the file is \(n) bytes; the header alone is 64") }
        // 3. Major version.
        let major = bytes.u16(at: 8), minor = bytes.u16(at: 10)
        if major != UInt16(RNNFormatVersion.current.major) {
            let advice = major > 1 ? "upgrade the reader" : "re-export the model with a current writer"
            throw .unsupportedVersion("file offset 8: the file is format \(major).\(minor); this reader implements 1.\(RNNFormatVersion.current.minor) (\(advice))")
        }
        // 4. Length.
        if n > limits.effectiveFileBytes {
            throw .limitExceeded("the file is \(n) bytes; the reader's file-size limit is \(limits.effectiveFileBytes) (spec §9)")
        }
        let fileSize = bytes.u64(at: 24)
        if fileSize > UInt64(n) {
            throw .truncated("file offset 24: file_size says \(fileSize) bytes but the file has \(n); \(fileSize - UInt64(n)) bytes are missing (an interrupted copy or download?)")
        }
        if fileSize < UInt64(n) {
            throw .malformed("file offset 24: file_size says \(fileSize) bytes but the file has \(n): \(UInt64(n) - fileSize) trailing bytes")
        }
        if n < Format.minimumFileSize {
            throw .malformed("file offset 24: file_size is \(n); the smallest possible file is \(Format.minimumFileSize) bytes")
        }
        // 5. Trailer and checksum.
        let trailer = n - Format.trailerSize
        if bytes[(trailer + 8)..<n] != Format.endMagic[...] {
            throw .corrupted("file offset \(trailer + 8): the end magic \"RNNMEND\\n\" is missing; the file was damaged")
        }
        let stored = bytes.u32(at: trailer)
        let computed = Checksum.crc32(bytes, count: trailer)
        if stored != computed {
            throw .corrupted("file offset \(trailer): the CRC-32 of bytes 0 ..< \(trailer) is \(hex(computed)) but the trailer stores \(hex(stored)); the file changed after it was written")
        }
        // 6. Versions and features.
        let minMajor = bytes.u16(at: 12), minMinor = bytes.u16(at: 14)
        if minMajor != major {
            throw .unsupportedVersion("file offset 12: min_reader_major is \(minMajor); expected \(major), equal to format_major")
        }
        if Int(minMinor) > readerMinor {
            throw .unsupportedVersion("file offset 14: this file needs a reader >= 1.\(minMinor); this reader is 1.\(readerMinor) (upgrade the reader)")
        }
        let features = bytes.u64(at: 16)
        let unknown = features & ~FormatFeature.knownBits
        if unknown != 0 {
            throw .unsupportedFeature("file offset 16: required_features has unknown \(FormatFeature.names(of: unknown).joined(separator: ", ")); this reader knows bits 0-3 (upgrade the reader)")
        }
        // 7. Reserved bytes, section count, directory.
        if let at = bytes.firstNonzero(in: 36..<64) {
            throw .malformed("file offset \(at): reserved header byte is \(hex(bytes[at])); expected 0")
        }
        if let at = bytes.firstNonzero(in: (trailer + 4)..<(trailer + 8)) {
            throw .malformed("file offset \(at): reserved trailer byte is \(hex(bytes[at])); expected 0")
        }
        let count = Int(bytes.u32(at: 32))
        if count > Format.maxSections {
            throw .limitExceeded("file offset 32: section_count is \(count); the limit is \(Format.maxSections)")
        }
        if count == 0 { throw .malformed("file offset 32: section_count is 0; expected 1 ... 16") }
        let directoryEnd = Format.headerSize + Format.directoryEntrySize * count
        if directoryEnd > trailer {
            throw .malformed("file offset 32: \(count) directory entries end at file offset \(directoryEnd), past the trailer at \(trailer)")
        }

        var sections: [SectionEntry] = []
        var seen = Set<UInt32>()
        var previousEnd = directoryEnd
        for i in 0..<count {
            let at = Format.headerSize + Format.directoryEntrySize * i
            let entry = "section directory entry \(i) (file offset \(at))"
            if let z = bytes.firstNonzero(in: (at + 32)..<(at + 64)) {
                throw .malformed("\(entry): reserved byte at file offset \(z) is \(hex(bytes[z])); expected 0")
            }
            let kind = bytes.u32(at: at), codec = bytes.u16(at: at + 4), flags = bytes.u16(at: at + 6)
            if flags & ~1 != 0 {
                throw .malformed("\(entry): flags is \(hex(flags)); only bit 0 (required) is defined, the others must be 0")
            }
            let required = flags & 1 == 1
            let known = SectionKind(rawValue: kind)
            if let known {
                if !required { throw .malformed("\(entry): the \(known.label) section must have the required flag set") }
                if !seen.insert(kind).inserted { throw .malformed("\(entry): a second \(known.label) section; each appears exactly once") }
            } else if required {
                throw .unsupportedFeature("\(entry): section kind \(kind) is unknown and marked required; this reader cannot use the file (upgrade the reader)")
            }
            if codec > 1 {
                throw .unsupportedFeature("\(entry): codec \(codec) is unknown; expected 0 (none) or 1 (zstd)")
            }
            let rawOffset = bytes.u64(at: at + 8), rawStored = bytes.u64(at: at + 16), rawSize = bytes.u64(at: at + 24)
            if codec == 0 && rawStored != rawSize {
                throw .malformed("\(entry): codec 0 (none) but stored_size \(rawStored) != size \(rawSize)")
            }
            if let known {
                // Decompressed sizes against the limits, before anything is allocated (spec §2.2, §9).
                let limit = switch known {
                case .metadata: Format.maxMetadataBytes
                case .tensorTable: Format.maxTensorTableBytes
                case .tensorData: limits.effectiveTensorDataBytes
                }
                if rawSize > UInt64(limit) {
                    throw .limitExceeded("\(entry): the \(known.label) section's size (decompressed) is \(rawSize) bytes; the limit is \(limit) (spec §9)")
                }
            }
            let expectedOffset = Format.align64(previousEnd)!
            guard rawOffset == UInt64(expectedOffset) else {
                throw .malformed("\(entry): offset is \(rawOffset); expected \(expectedOffset): payloads follow the directory in directory order, each at the next multiple of 64")
            }
            let (end, overflow) = rawOffset.addingReportingOverflow(rawStored)
            if overflow || end > UInt64(trailer) {
                throw .malformed("\(entry): offset \(rawOffset) + stored_size \(rawStored) \(overflow ? "overflows 64 bits" : "= \(end), which runs past the trailer") (the trailer is at file offset \(trailer))")
            }
            // `size` may be anything up to 2^64-1 here; it is only compared, never allocated, until step 8.
            let size = rawSize > UInt64(Int.max) ? Int.max : Int(rawSize)
            sections.append(SectionEntry(index: i, kind: kind, codec: codec, flags: flags,
                                         offset: expectedOffset, storedSize: Int(rawStored), size: size))
            previousEnd = Int(end)
        }
        for kind in [SectionKind.metadata, .tensorTable, .tensorData] where !seen.contains(kind.rawValue) {
            throw .malformed("the section directory has no \(kind.label) section (kind \(kind.rawValue)); it is required")
        }
        if Format.align64(previousEnd)! != trailer {
            throw .malformed("the last payload ends at file offset \(previousEnd); the trailer is at \(trailer), expected \(Format.align64(previousEnd)!) (no slack before the trailer)")
        }
        // Padding between directory, payloads and trailer is zero.
        var gapStart = directoryEnd
        for s in sections {
            if let z = bytes.firstNonzero(in: gapStart..<s.offset) {
                throw .malformed("file offset \(z): padding byte before \(s.label) is \(hex(bytes[z])); expected 0")
            }
            gapStart = s.offset + s.storedSize
        }
        if let z = bytes.firstNonzero(in: gapStart..<trailer) {
            throw .malformed("file offset \(z): padding byte before the trailer is \(hex(bytes[z])); expected 0")
        }
        return Container(bytes: bytes, formatMajor: major, formatMinor: minor, minReaderMajor: minMajor,
                         minReaderMinor: minMinor, requiredFeatures: features, sections: sections, crc: stored)
    }

    /// The directory entry of the section of kind `kind` (present: checked in step 7).
    func section(_ kind: SectionKind) -> SectionEntry { sections.first { $0.kind == kind.rawValue }! }

    /// The decompressed payload of the section of kind `kind`.
    func payload(of kind: SectionKind) throws(ModelFormatError) -> SectionBytes {
        let s = section(kind)
        let range = s.offset..<(s.offset + s.storedSize)
        if s.codec == 0 { return SectionBytes(file: bytes, range: range) }
        return SectionBytes(try Zstd.decompress(bytes, range: range, size: s.size, what: "\(s.label) at file offset \(s.offset)"))
    }
}
