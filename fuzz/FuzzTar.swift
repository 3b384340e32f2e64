// libFuzzer entry point for the tar reader (see fuzz/README.md).
//
// Compiled in one module together with Sources/RNNDatasets/*.swift (so it can use internal
// types). Each input is read as an archive twice:
//   1. as is (gunzipped first when it starts with the gzip magic, as IMDb.load does);
//   2. "repaired": the checksum of every non-zero 512-byte block recomputed, so that mutations
//      of sizes, type flags, names and pax records get past the header checksum.
// A trap (overflow, inverted range, force unwrap), an ASan report, or a broken invariant
// (a member larger than the reader's cap, data of the wrong length) is a finding.

@_cdecl("LLVMFuzzerTestOneInput")
public func tarFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    readArchive(bytes)
    readArchive(repairedChecksums(bytes))
    return 0
}

/// Reads every member the way `IMDb.load` does; errors are expected, traps are not.
private func readArchive(_ bytes: [UInt8]) {
    do throws(DatasetError) {
        var source: ByteSource = MemoryByteSource(bytes)
        if bytes.starts(with: [0x1F, 0x8B]) { source = try GzipByteSource(upstream: source) }
        let tar = TarReader(source: source)
        var members = 0
        while let entry = try tar.nextEntry() {
            members += 1
            if entry.size < 0 || entry.size > TarReader.maximumMemberBytes {
                fatalError("member size \(entry.size) escaped the cap")
            }
            _ = IMDb.classify(path: entry.name)
            // Read every other regular member, skip the rest: both paths must hold up.
            if entry.isRegularFile && members % 2 == 1 {
                let content = try tar.readData(limit: 1 << 16)
                if content.count != entry.size { fatalError("read \(content.count) bytes of a \(entry.size)-byte member") }
            }
        }
    } catch {
        _ = error.description
    }
}

/// `bytes` with the checksum field of every non-zero 512-byte block set to the block's sum.
private func repairedChecksums(_ bytes: [UInt8]) -> [UInt8] {
    var out = bytes
    var offset = 0
    while offset + 512 <= out.count {
        if out[offset ..< offset + 512].contains(where: { $0 != 0 }) {
            for i in 148 ..< 156 { out[offset + i] = 0x20 }
            let sum = out[offset ..< offset + 512].reduce(0) { $0 + Int($1) }
            let digits = Array(String(sum, radix: 8).utf8)
            let field = Array(repeating: UInt8(ascii: "0"), count: max(0, 6 - digits.count)) + digits.suffix(6)
            for (i, b) in field.enumerated() { out[offset + 148 + i] = b }
            out[offset + 154] = 0
        }
        offset += 512
    }
    return out
}
