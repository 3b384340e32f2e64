#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// File-system access with the guarantees the format promises: atomic replacement on write,
/// and a size check before a whole file is read.
///
/// Public so that the trainer's checkpoints get the same atomic replacement as model files.
public enum AtomicFile {
    private static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Writes `bytes` to a temporary file next to `path`, fsyncs it, renames it over `path`,
    /// then fsyncs the directory so the rename itself survives a crash.
    public static func write(_ bytes: [UInt8], to path: String) throws(ModelFormatError) {
        let directory: String
        let base: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
            base = String(path[path.index(after: slash)...])
        } else {
            directory = "."
            base = path
        }
        guard !base.isEmpty else { throw .io("cannot write \"\(path)\": the path names a directory") }

        var fd: Int32 = -1
        var temp = ""
        for attempt in 0..<100 {
            temp = directory + "/." + base + ".tmp-\(getpid())-\(attempt)"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw .io("cannot create a temporary file in \"\(directory)\" to write \"\(path)\": \(errnoText())")
        }
        var done = false
        defer {
            if !done {
                close(fd)
                unlink(temp)
            }
        }
        var written = 0
        let failure: String? = bytes.withUnsafeBytes { buf -> String? in
            while written < buf.count {
                let n = systemWrite(fd, buf.baseAddress! + written, buf.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return "writing \"\(temp)\" failed after \(written) of \(buf.count) bytes: \(errnoText())"
                }
                written += n
            }
            return nil
        }
        if let failure { throw .io(failure) }
        if fsync(fd) != 0 { throw .io("fsync of \"\(temp)\" failed: \(errnoText())") }
        if close(fd) != 0 {
            fd = -1
            throw .io("closing \"\(temp)\" failed: \(errnoText())")
        }
        fd = -1
        if rename(temp, path) != 0 { throw .io("renaming \"\(temp)\" to \"\(path)\" failed: \(errnoText())") }
        done = true
        let dirFD = open(directory, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)  // best effort: some file systems refuse fsync on directories
            close(dirFD)
        }
    }

    /// Reads the whole file at `path`, refusing it before reading if it is larger than `maxBytes`.
    static func read(_ path: String, maxBytes: Int) throws(ModelFormatError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open \"\(path)\": \(errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io("cannot stat \"\(path)\": \(errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .io("\"\(path)\" is not a regular file") }
        let size = Int(info.st_size)
        if size > maxBytes {
            throw .limitExceeded("\"\(path)\" is \(size) bytes; the reader's file-size limit is \(maxBytes) (ReadLimits.maxFileBytes, spec §9)")
        }
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buf, count in
            var got = 0
            while got < size {
                let n = systemRead(fd, buf.baseAddress! + got, size - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "reading \"\(path)\" failed: \(errnoText())"
                    break
                }
                if n == 0 { break }  // the file shrank while we read it
                got += n
            }
            count = got
        }
        if let failure { throw .io(failure) }
        return bytes
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
private let systemRead = Darwin.read
#endif
