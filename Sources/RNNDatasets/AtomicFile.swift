import RNNSupport

/// Writes files so that readers see either the old file or the complete new one, never a part.
enum AtomicFile {
    /// A fresh temporary path next to `path` (same directory, so `rename` is atomic, POSIX rename(2)).
    static func temporaryPath(for path: String) -> String {
        "\(path).partial-\(getpid())-\(UInt32.random(in: 0 ... .max))"
    }

    /// Writes the concatenation of `chunks` to a temporary file, then renames it to `path`.
    static func write(_ chunks: [[UInt8]], to path: String) throws(DatasetError) {
        let temporary = temporaryPath(for: path)
        do throws(DatasetError) {
            try writeNew(chunks, to: temporary)
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Creates `path` (which must not exist) and writes `chunks` to it, flushed to disk.
    static func writeNew(_ chunks: [[UInt8]], to path: String) throws(DatasetError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .writeFailed(path: path, detail: String(cString: strerror(errno))) }
        defer { close(fd) }
        for chunk in chunks {
            var offset = 0
            while offset < chunk.count {
                let n = chunk.withUnsafeBytes { raw in
                    Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .writeFailed(path: path, detail: String(cString: strerror(errno)))
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw .writeFailed(path: path, detail: String(cString: strerror(errno))) }
    }

    /// Renames `source` to `destination`, replacing it atomically.
    static func rename(_ source: String, to destination: String) throws(DatasetError) {
        guard Glibc.rename(source, destination) == 0 else {
            throw .writeFailed(path: destination, detail: String(cString: strerror(errno)))
        }
    }
}
