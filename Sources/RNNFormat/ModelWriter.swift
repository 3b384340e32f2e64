import RNNSupport

/// Writes `.rnnm` files canonically (spec §2 - §6): equal ``ModelFile`` values and equal
/// ``WriteOptions`` give identical bytes (with the same libzstd version).
public enum ModelWriter {
    /// The canonical encoding of `model`.
    ///
    /// The model is checked first with the reader's own rules (spec §4, §4.2, §6.1), so a file
    /// this writes always reads back. Throws `limit_exceeded`, `malformed`, `shape_mismatch` or
    /// `invalid_tensor` naming the offending tensor or layer.
    public static func encode(_ model: ModelFile, options: WriteOptions = .init()) throws(ModelFormatError) -> [UInt8] {
        try ModelChecks.tensorTable(model.tensors)
        let metadata = try MetadataEncoding.bytes(model.metadata)
        if metadata.count > Format.maxMetadataBytes {
            throw .limitExceeded("the metadata JSON is \(metadata.count) bytes; the limit is \(Format.maxMetadataBytes) (spec §9)")
        }
        // Read the JSON back with the reader's rules: what we write must parse to what we were given.
        let reparsed = try MetadataDecoding.decode(try JSONParser.parse(metadata))
        if reparsed != model.metadata {
            throw .malformed("the metadata does not survive a JSON round trip (a value outside what spec §6 can express)")
        }
        try ModelChecks.crossCheck(model.metadata, model.tensors)
        try ModelChecks.values(model.tensors)
        try ModelChecks.standardization(model.metadata, model.tensors)

        let (table, data) = try TensorSections.encode(model.tensors)
        let payloads: [(kind: SectionKind, codec: Codec, content: [UInt8])] = [
            (.metadata, options.metadataCodec, metadata),
            (.tensorTable, options.tensorCodec, table),
            (.tensorData, options.tensorCodec, data),
        ]
        var stored: [[UInt8]] = []
        for p in payloads {
            switch p.codec {
            case .none: stored.append(p.content)
            case .zstd(let level): stored.append(try Zstd.compress(p.content, level: level))
            }
        }
        let usesZstd = payloads.contains { $0.codec != .none }
        let features = ModelChecks.requiredFeatures(tensors: model.tensors, usesZstd: usesZstd)
        // Spec §3: the oldest reader that can read the file is the newest "since" among what it uses.
        // Every feature of 1.0 has "since" 0; the embedding layer and the tokens input are 1.1.
        let minReaderMinor = max(FormatFeature.allCases.filter { features & $0.bit != 0 }.map(\.sinceMinor).max() ?? 0,
                                 ModelChecks.minimumReaderMinor(model.metadata))
        // format_minor is the lowest version that describes the file (spec §2.1), so a model that
        // uses nothing new is written exactly as a 1.0 writer wrote it, byte for byte.
        return assemble(sections: zip(payloads, stored).map { (UInt32($0.0.kind.rawValue), $0.0.codec.code, 1, $0.1, $0.0.content.count) },
                        formatMinor: UInt16(minReaderMinor),
                        minReaderMinor: UInt16(minReaderMinor), features: features)
    }

    /// Lays out header, directory, payloads and trailer (spec §2). Also used to build test files.
    package static func assemble(sections: [(kind: UInt32, codec: UInt16, flags: UInt16, stored: [UInt8], size: Int)],
                         formatMinor: UInt16, minReaderMinor: UInt16, features: UInt64,
                         formatMajor: UInt16 = UInt16(RNNFormatVersion.current.major),
                         minReaderMajor: UInt16 = UInt16(RNNFormatVersion.current.major)) -> [UInt8] {
        let directoryEnd = Format.headerSize + Format.directoryEntrySize * sections.count
        var offsets: [Int] = []
        var position = Format.align64(directoryEnd)!
        for s in sections {
            offsets.append(position)
            position = Format.align64(position + s.stored.count)!
        }
        let fileSize = position + Format.trailerSize

        var w = ByteWriter()
        w.bytes.reserveCapacity(fileSize)
        w.raw(Format.magic)
        w.u16(formatMajor)
        w.u16(formatMinor)
        w.u16(minReaderMajor)
        w.u16(minReaderMinor)
        w.u64(features)
        w.u64(UInt64(fileSize))
        w.u32(UInt32(sections.count))
        w.zeros(28)
        for (s, offset) in zip(sections, offsets) {
            w.u32(s.kind)
            w.u16(s.codec)
            w.u16(s.flags)
            w.u64(UInt64(offset))
            w.u64(UInt64(s.stored.count))
            w.u64(UInt64(s.size))
            w.zeros(32)
        }
        for s in sections {
            w.padTo64()
            w.raw(s.stored)
        }
        w.padTo64()
        let crc = Checksum.crc32(w.bytes, count: w.bytes.count)
        w.u32(crc)
        w.u32(0)
        w.raw(Format.endMagic)
        return w.bytes
    }

    /// Encodes `model` and writes it to `path` atomically: into a temporary file in the same
    /// directory, flushed with `fsync`, then renamed over `path`. On any failure (full disk,
    /// read-only directory) the temporary file is removed and `path` is left as it was.
    public static func write(_ model: ModelFile, to path: String, options: WriteOptions = .init()) throws(ModelFormatError) {
        let bytes = try encode(model, options: options)
        do { try AtomicFile.write(bytes, to: path) } catch { throw .io(error.message) }
    }
}
