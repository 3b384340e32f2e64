// libFuzzer entry point for the .rnnm reader (see fuzz/README.md).
//
// Compiled in one module together with Sources/RNNFormat/*.swift (so it can use internal
// helpers). Each input is tried twice:
//   1. as is: exercises magic, length and checksum handling;
//   2. "repaired": file_size set to the input's length, end magic and CRC-32 recomputed, so the
//      mutations reach the version, directory, zstd, JSON, table and value checks behind the CRC.
// Any input that decodes must survive a canonical re-encode and decode to an equal model.

@_cdecl("LLVMFuzzerTestOneInput")
public func rnnmFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    check(bytes)
    if bytes.count >= Format.minimumFileSize {
        var repaired = bytes
        let n = repaired.count
        for i in 0..<8 { repaired[24 + i] = UInt8(truncatingIfNeeded: UInt64(n) >> (8 * i)) }  // file_size
        for (i, b) in Format.endMagic.enumerated() { repaired[n - 8 + i] = b }
        let trailer = n - Format.trailerSize
        let crc = Checksum.crc32(repaired, count: trailer)
        for i in 0..<4 { repaired[trailer + i] = UInt8(truncatingIfNeeded: crc >> (8 * i)) }
        check(repaired)
    }
    return 0
}

/// Decoding never traps; a decoded model re-encodes and decodes to itself.
private func check(_ bytes: [UInt8]) {
    // A small tensor-data cap keeps each execution fast without hiding any code path.
    let limits = ReadLimits(maxTensorDataBytes: 1 << 20, maxFileBytes: 1 << 22)
    guard let model = try? ModelReader.decode(bytes, limits: limits) else { return }
    _ = try? ModelReader.inspect(bytes, limits: limits).description
    for options in [WriteOptions.uncompressed, WriteOptions(metadataCodec: .zstd(level: 1), tensorCodec: .zstd(level: 1))] {
        let encoded: [UInt8]
        do { encoded = try ModelWriter.encode(model, options: options) } catch {
            fatalError("a model the reader accepted was refused by the writer: \(error)")
        }
        do {
            let again = try ModelReader.decode(encoded, limits: limits)
            if again != model { fatalError("re-encoded model differs after decoding") }
        } catch {
            fatalError("the reader refused the writer's output: \(error)")
        }
    }
}
