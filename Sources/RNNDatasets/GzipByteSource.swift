import CZlib

/// Streams the decompressed bytes of a gzip file (RFC 1952) through zlib's `inflate`.
///
/// Memory stays bounded (one 64 KiB input buffer) whatever the file's size. Concatenated gzip
/// members are read one after another, as `gzip -d` does. The stream ends only after zlib has
/// checked the last member's CRC-32 and length; a file that stops earlier is an error.
final class GzipByteSource: ByteSource {
    private let upstream: ByteSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var upstreamEnded = false
    private var finished = false
    /// Decompressed bytes produced so far, for error messages.
    private(set) var produced = 0
    var path: String { upstream.path }

    init(upstream: ByteSource) throws(DatasetError) {
        self.upstream = upstream
        // zlib keeps a pointer back to its z_stream, so the struct needs a stable address.
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(byteCount: 1 << 16, alignment: 16)
        // windowBits 16 + MAX_WBITS: accept a gzip wrapper only (zlib manual, inflateInit2).
        let status = inflateInit2_(stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            input.deallocate()
            throw .gzip(path: upstream.path, detail: "inflateInit2 failed with status \(status)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        guard !finished, buffer.count > 0 else { return 0 }
        let capacity = min(buffer.count, Int(UInt32.max))
        while true {
            if stream.pointee.avail_in == 0 && !upstreamEnded {
                let n = try upstream.read(into: input)
                if n == 0 { upstreamEnded = true }
                stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = uInt(n)
            }
            stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(capacity)
            let status = inflate(stream, Z_NO_FLUSH)
            let n = capacity - Int(stream.pointee.avail_out)
            produced += n
            switch status {
            case Z_STREAM_END:
                // One member is complete and verified; another may follow (RFC 1952 §2.2).
                if try moreInputFollows() {
                    inflateReset(stream)
                } else {
                    finished = true
                }
                if n > 0 || finished { return n }
            case Z_OK, Z_BUF_ERROR:
                if n > 0 { return n }
                if upstreamEnded && stream.pointee.avail_in == 0 {
                    throw .gzip(path: path, detail: "compressed data ends early, after \(produced) "
                        + "decompressed bytes (truncated file?)")
                }
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                throw .gzip(path: path, detail: "\(message) after \(produced) decompressed bytes")
            }
        }
    }

    /// Whether compressed input remains after a member's end (refilling the buffer if needed).
    private func moreInputFollows() throws(DatasetError) -> Bool {
        if stream.pointee.avail_in > 0 { return true }
        if upstreamEnded { return false }
        let n = try upstream.read(into: input)
        if n == 0 {
            upstreamEnded = true
            return false
        }
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(n)
        return true
    }
}

/// Gzip compression, used to write fixtures and test files.
enum Gzip {
    /// Compresses `bytes` into one gzip member.
    static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        // 16 + MAX_WBITS asks deflate for a gzip wrapper; memLevel 8 is zlib's default.
        guard deflateInit2_(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(bytes.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let written = input.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                _ = deflate(&stream, Z_FINISH)
                return dst.count - Int(stream.avail_out)
            }
        }
        return Array(output[..<written])
    }
}
