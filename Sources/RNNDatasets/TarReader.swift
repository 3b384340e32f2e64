/// A forward-only reader of tar archives (POSIX ustar, with GNU long names and pax `path`
/// records), over any ``ByteSource`` — so a `.tar.gz` is read while it is decompressed, without
/// unpacking it.
///
/// Layout (POSIX.1-2001 "pax" / ustar): 512-byte header blocks, each followed by the entry's data
/// padded to a multiple of 512, and two zero blocks at the end. Every header's checksum is
/// verified, sizes are checked before anything is allocated, and an archive that stops early is
/// an error.
///
/// The archive is untrusted input: every size and offset it declares is checked against a cap
/// or with overflow-reporting arithmetic before it is used, and every slice range is validated
/// first, so a hostile header is a ``DatasetError/tar(path:detail:)``, never a trap.
final class TarReader {
    /// One archive member.
    struct Entry {
        /// The member's path inside the archive.
        let name: String
        /// The ustar type flag: `"0"` (or NUL) regular file, `"5"` directory, and so on.
        let type: UInt8
        /// Bytes of data.
        let size: Int

        var isRegularFile: Bool { type == UInt8(ascii: "0") || type == 0 || type == UInt8(ascii: "7") }
    }

    /// The most bytes a long-name or pax record may have: names are never this long.
    static let maximumMetadataBytes = 1 << 16
    /// The largest member accepted: 64 GiB, eight times what the 11 octal digits of a plain ustar
    /// size field can say. Only GNU base-256 sizes go beyond it, and a size near `Int.max` would
    /// overflow the data-plus-padding arithmetic; such a header is refused instead.
    static let maximumMemberBytes = 1 << 36

    private let source: ByteSource
    private var unreadData = 0
    private var unreadPadding = 0

    init(source: ByteSource) {
        self.source = source
    }

    /// The next member, or `nil` at the end-of-archive marker; skips the rest of the previous one.
    func nextEntry() throws(DatasetError) -> Entry? {
        var overrideName: String?
        while true {
            try skip(unreadData + unreadPadding)
            unreadData = 0
            unreadPadding = 0
            let block = try source.readBytes(512)
            guard block.count == 512 else {
                throw .tar(path: source.path, detail: block.isEmpty
                    ? "archive ends without its end-of-archive marker (truncated?)"
                    : "header block cut short after \(block.count) of 512 bytes (truncated?)")
            }
            if block.allSatisfy({ $0 == 0 }) {
                // End of archive: a second zero block normally follows; anything else may follow
                // only as zero padding, which is not read.
                return nil
            }
            try verifyChecksum(block)
            let size = try Self.number(block[124 ..< 136], field: "size", path: source.path)
            guard size <= Self.maximumMemberBytes else {
                throw .tar(path: source.path, detail: "member size \(size) bytes exceeds the limit of "
                    + "\(Self.maximumMemberBytes) (corrupt size field?)")
            }
            let type = block[156]
            // Both stay below 2^36 + 512: their sum in `skip` cannot overflow.
            unreadData = size
            unreadPadding = (512 - size % 512) % 512
            switch type {
            case UInt8(ascii: "L"):  // GNU long name: the data is the next member's name
                overrideName = Self.string(try readMetadata())
            case UInt8(ascii: "x"):  // pax extended header: "LEN key=value\n" records
                if let path = try Self.paxPath(readMetadata(), archive: source.path) {
                    overrideName = path
                }
            case UInt8(ascii: "g"), UInt8(ascii: "K"):  // global pax header, GNU long link name
                continue
            default:
                var name = Self.string(Array(block[0 ..< 100]))
                // ustar ("ustar\0") splits long names into prefix + "/" + name.
                if block[257 ..< 263].elementsEqual(Array("ustar\0".utf8)) {
                    let prefix = Self.string(Array(block[345 ..< 500]))
                    if !prefix.isEmpty { name = prefix + "/" + name }
                }
                return Entry(name: overrideName ?? name, type: type, size: size)
            }
        }
    }

    /// The current member's data, refusing members larger than `limit` bytes.
    func readData(limit: Int) throws(DatasetError) -> [UInt8] {
        guard unreadData <= limit else {
            throw .tar(path: source.path, detail: "member of \(unreadData) bytes exceeds the limit of \(limit)")
        }
        let data = try source.readBytes(unreadData)
        guard data.count == unreadData else {
            throw .tar(path: source.path, detail: "member data cut short after \(data.count) of \(unreadData) bytes")
        }
        unreadData = 0
        return data
    }

    /// The data of a long-name or pax member, which is metadata, not content.
    private func readMetadata() throws(DatasetError) -> [UInt8] {
        try readData(limit: Self.maximumMetadataBytes)
    }

    /// Reads and discards `count` bytes in bounded chunks.
    private func skip(_ count: Int) throws(DatasetError) {
        guard count > 0 else { return }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: min(count, 1 << 16), alignment: 16)
        defer { chunk.deallocate() }
        var left = count
        while left > 0 {
            let n = try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: chunk[..<min(left, chunk.count)]))
            if n == 0 {
                throw .tar(path: source.path, detail: "archive ends inside a member, \(left) bytes missing (truncated?)")
            }
            left -= n
        }
    }

    /// The header checksum: the sum of all 512 bytes, with the checksum field counted as spaces.
    private func verifyChecksum(_ block: [UInt8]) throws(DatasetError) {
        let stored = try Self.number(block[148 ..< 156], field: "checksum", path: source.path)
        let sum = block.withUnsafeBufferPointer { bytes in
            var total = 8 * 0x20
            for index in 0 ..< 148 { total &+= Int(bytes[index]) }
            for index in 156 ..< 512 { total &+= Int(bytes[index]) }
            return total
        }
        guard sum == stored else {
            throw .tar(path: source.path, detail: "header checksum \(stored) does not match computed \(sum) "
                + "(not a tar archive, or corrupt)")
        }
    }

    /// A numeric header field: octal digits (space or NUL terminated), or GNU base-256 when the
    /// first byte has its high bit set. A value that does not fit an `Int` is an error.
    static func number(_ field: ArraySlice<UInt8>, field name: String, path: String) throws(DatasetError) -> Int {
        /// `value * radix + digit`, or an error when it overflows.
        func append(_ digit: UInt8, to value: Int, radix: Int) throws(DatasetError) -> Int {
            let (shifted, o1) = value.multipliedReportingOverflow(by: radix)
            let (sum, o2) = shifted.addingReportingOverflow(Int(digit))
            guard !o1, !o2 else { throw .tar(path: path, detail: "\(name) field overflows") }
            return sum
        }
        if let first = field.first, first & 0x80 != 0 {
            var value = Int(first & 0x7F)
            for byte in field.dropFirst() { value = try append(byte, to: value, radix: 256) }
            return value
        }
        var value = 0
        var seenDigit = false
        for byte in field {
            switch byte {
            case UInt8(ascii: "0") ... UInt8(ascii: "7"):
                value = try append(byte - UInt8(ascii: "0"), to: value, radix: 8)
                seenDigit = true
            case UInt8(ascii: " ") where !seenDigit:
                continue
            case 0, UInt8(ascii: " "):
                return value
            default:
                throw .tar(path: path, detail: "\(name) field holds a non-octal byte \(byte) (not a tar archive?)")
            }
        }
        return value
    }

    /// The `path` value of pax extended-header records (`"LEN key=value\n"`), if any.
    ///
    /// `LEN` counts the whole record, its own digits, the space and the newline included, so a
    /// record is at least `"LEN "` plus the newline long and must end inside `data`.
    static func paxPath(_ data: [UInt8], archive: String) throws(DatasetError) -> String? {
        var index = 0
        var path: String?
        while index < data.count {
            guard let space = data[index...].firstIndex(of: UInt8(ascii: " ")), space > index,
                  data[index ..< space].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let length = Int(String(decoding: data[index ..< space], as: UTF8.self)),
                  length >= space - index + 2, length <= data.count - index,
                  data[index + length - 1] == UInt8(ascii: "\n")
            else {
                throw .tar(path: archive, detail: "malformed pax extended header record at byte \(index) "
                    + "(expected \"LENGTH key=value\\n\" within the \(data.count) bytes of the header)")
            }
            let record = data[(space + 1) ..< (index + length - 1)]  // without the trailing newline
            if let equals = record.firstIndex(of: UInt8(ascii: "=")),
               String(decoding: record[..<equals], as: UTF8.self) == "path" {
                path = String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return path
    }

    /// A NUL-terminated (or full-width) header string.
    static func string(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
