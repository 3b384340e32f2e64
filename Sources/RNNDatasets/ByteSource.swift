import RNNSupport

/// A forward-only stream of bytes: a file, standard input, or the decompressed content of one.
///
/// Readers pull bounded chunks through this protocol, so that no reader ever needs the whole
/// input in memory, and so that raw and gzip-compressed files look the same to the IDX parser.
protocol ByteSource: AnyObject {
    /// The path reported in errors.
    var path: String { get }
    /// Reads up to `buffer.count` bytes; returns 0 only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int
}

/// The most bytes ``ByteSource/readBytes(_:knownToArrive:)`` allocates ahead of the data: 1 MiB.
let byteSourceChunkBytes = 1 << 20

extension ByteSource {
    /// Reads until `buffer` is full or the stream ends; returns the number of bytes read.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Fills `bytes[start...]` from the stream until it is full or the stream ends; returns the
    /// bytes read.
    ///
    /// (`Array.withUnsafeMutableBytes` only rethrows untyped errors, hence the `Result` detour.)
    func readFully(into bytes: inout [UInt8], from start: Int) throws(DatasetError) -> Int {
        var result: Result<Int, DatasetError> = .success(0)
        bytes.withUnsafeMutableBytes { raw in
            do throws(DatasetError) {
                result = .success(try readFully(into: UnsafeMutableRawBufferPointer(rebasing: raw[start...])))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    /// Reads exactly `count` bytes into a new array, or fewer only at the end of the stream.
    ///
    /// `count` usually comes from a header or an option, so it never drives an allocation by
    /// itself: the array grows with the bytes that really arrive, at most ``byteSourceChunkBytes``
    /// ahead of them. Pass `knownToArrive` only when the caller has checked that the input holds
    /// `count` more bytes (a regular file's size); then the array is allocated once, exactly.
    func readBytes(_ count: Int, knownToArrive: Bool = false) throws(DatasetError) -> [UInt8] {
        var bytes = [UInt8]()
        if knownToArrive { bytes.reserveCapacity(count) }
        while bytes.count < count {
            let wanted = min(byteSourceChunkBytes, count - bytes.count)
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: wanted))
            let n = try readFully(into: &bytes, from: start)
            if n < wanted {
                bytes.removeLast(wanted - n)
                break
            }
        }
        return bytes
    }

    /// Reads the `dataBytes` bytes that follow a header of `headerBytes` bytes, handing them to
    /// `body` in order, in chunks of at most ``byteSourceChunkBytes`` (a multiple of every element
    /// size), then checks that the stream ends there.
    ///
    /// `rawSize`, a regular file's length, is checked against the header first, so a file of the
    /// wrong length is refused before anything is read; without it (gzip, pipes) a short stream is
    /// found when it ends, having cost one chunk. Sizes in the errors count header and data.
    func readData(_ dataBytes: Int, afterHeader headerBytes: Int, rawSize: Int?,
                  _ body: ([UInt8]) throws(DatasetError) -> Void) throws(DatasetError) {
        let totalBytes = headerBytes + dataBytes
        if let rawSize {
            if rawSize < totalBytes { throw .truncated(path: path, expectedBytes: totalBytes, foundBytes: rawSize) }
            if rawSize > totalBytes { throw .trailingData(path: path, expectedBytes: totalBytes, foundBytes: rawSize) }
        }
        var done = 0
        while done < dataBytes {
            let wanted = min(byteSourceChunkBytes, dataBytes - done)
            let chunk = try readBytes(wanted)
            if chunk.count < wanted {
                throw .truncated(path: path, expectedBytes: totalBytes, foundBytes: headerBytes + done + chunk.count)
            }
            try body(chunk)
            done += wanted
        }
        // Reading on to the end also makes a gzip source verify its CRC-32 and length.
        guard try isAtEnd() else {
            throw .trailingData(path: path, expectedBytes: totalBytes, foundBytes: totalBytes + 1)
        }
    }

    /// True when the stream has no byte left; consumes at most one byte.
    func isAtEnd() throws(DatasetError) -> Bool {
        var probe: UInt8 = 0
        let n = try withUnsafeMutableBytes(of: &probe) { (raw) throws(DatasetError) -> Int in
            try readFully(into: raw)
        }
        return n == 0
    }
}

/// A file descriptor (a regular file, a pipe, or standard input) read with POSIX `read`.
final class FileByteSource: ByteSource {
    let path: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    /// Bytes read ahead by ``peek(_:)`` and not yet consumed.
    private var pending: [UInt8] = []
    /// The file's size when it is a regular file, `nil` for pipes and terminals.
    let regularFileSize: Int?

    /// Opens `path` for reading; `"-"` means standard input.
    init(path: String) throws(DatasetError) {
        self.path = path == "-" ? "<stdin>" : path
        if path == "-" {
            fd = 0
            ownsDescriptor = false
        } else {
            let opened = open(path, O_RDONLY | O_CLOEXEC)
            guard opened >= 0 else {
                let code = errno
                if code == ENOENT { throw .fileNotFound(path: path) }
                throw .unreadable(path: path, detail: String(cString: strerror(code)))
            }
            fd = opened
            ownsDescriptor = true
        }
        var info = stat()
        if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG {
            regularFileSize = Int(info.st_size)
        } else if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
            if ownsDescriptor { close(fd) }
            throw .unreadable(path: path, detail: "is a directory")
        } else {
            regularFileSize = nil
        }
    }

    deinit {
        if ownsDescriptor { close(fd) }
    }

    /// Returns up to `count` upcoming bytes without consuming them (fewer at the end of the stream).
    func peek(_ count: Int) throws(DatasetError) -> [UInt8] {
        while pending.count < count {
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: count - pending.count, alignment: 1)
            defer { chunk.deallocate() }
            let n = try readDescriptor(into: chunk)
            if n == 0 { break }
            pending.append(contentsOf: chunk[..<n])
        }
        return Array(pending.prefix(count))
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        guard buffer.count > 0 else { return 0 }
        if !pending.isEmpty {
            let n = min(buffer.count, pending.count)
            pending.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: n)
            }
            pending.removeFirst(n)
            return n
        }
        return try readDescriptor(into: buffer)
    }

    private func readDescriptor(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            let code = errno
            if code == EINTR { continue }
            throw .unreadable(path: path, detail: String(cString: strerror(code)))
        }
    }
}

/// Bytes already in memory, served as a stream: no length is known up front, exactly as for a
/// pipe. For tests and the fuzz harnesses, which feed hostile inputs without touching the disk.
final class MemoryByteSource: ByteSource {
    let path: String
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8], path: String = "<memory>") {
        self.bytes = bytes
        self.path = path
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}

/// Passes another source through unchanged while computing the SHA-256 of everything read.
final class HashingByteSource: ByteSource {
    private let upstream: ByteSource
    let hasher = SHA256Hasher()
    var path: String { upstream.path }

    init(_ upstream: ByteSource) {
        self.upstream = upstream
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        let n = try upstream.read(into: buffer)
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        return n
    }
}

/// Opens `path` (or standard input for `"-"`), transparently decompressing gzip content.
///
/// Compression is detected by the gzip magic `1f 8b` (RFC 1952 §2.3.1), not by the file name,
/// so a renamed file still reads correctly. An IDX file cannot start with `1f 8b`: its first
/// two bytes are zero.
func openDecompressedSource(path: String) throws(DatasetError) -> (source: ByteSource, compressed: Bool, rawSize: Int?) {
    let file = try FileByteSource(path: path)
    if try file.peek(2) == [0x1F, 0x8B] {
        return (try GzipByteSource(upstream: file), true, nil)
    }
    return (file, false, file.regularFileSize)
}
