import RNNSupport

/// File-system access with the guarantees the format promises: atomic replacement on write,
/// and a size check before a whole file is read.
///
/// Public so that the trainer's checkpoints get the same atomic replacement as model files.
public enum AtomicFile {
    private static func errnoText() -> String { String(cString: strerror(errno)) }

    /// Writes `bytes` to a temporary file next to `path`, fsyncs it, renames it over `path`,
    /// then fsyncs the directory so the rename itself survives a crash.
    public static func write(_ bytes: [UInt8], to path: String) throws(ModelFormatError) {
        try write([bytes], to: path)
    }

    /// Writes the concatenation of `chunks` atomically to `path` (see ``write(_:to:)-(([UInt8],_))``).
    ///
    /// The temporary file is `.NAME.tmp-PID-N` in the same directory (so that `rename(2)` is atomic).
    /// While it is written, the writer holds an exclusive `flock(2)` on it. A writer killed with
    /// `SIGKILL` (or by a power cut) leaves its temporary file behind; so before creating its own,
    /// every writer removes the stale temporary files of the same `NAME`: those whose lock it can take
    /// (no live process is writing them, in any process: the kernel drops a dead process's locks) and
    /// that were last modified more than ``staleTemporaryAge`` seconds ago. The age is a second,
    /// independent condition: it covers the instant between another writer's `open` and its `flock`,
    /// and file systems where `flock` is not shared between machines. A PID check would not do: PIDs
    /// are reused, and another machine's PID means nothing here.
    public static func write(_ chunks: [[UInt8]], to path: String,
                             staleTemporaryAge: Double = defaultStaleTemporaryAge) throws(ModelFormatError) {
        let (directory, base) = split(path)
        guard !base.isEmpty else { throw .io("cannot write \"\(path)\": the path names a directory") }
        removeStaleTemporaries(directory: directory, base: base, olderThan: staleTemporaryAge)

        var fd: Int32 = -1
        var temp = ""
        for attempt in 0..<100 {
            temp = directory + "/" + temporaryPrefix(base) + "\(getpid())-\(attempt)"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw .io("cannot create a temporary file in \"\(directory)\" to write \"\(path)\": \(errnoText())")
        }
        _ = flock(fd, LOCK_EX)  // "a live writer owns this file"; released by close or by death
        var done = false
        defer {
            if !done {
                unlink(temp)
                if fd >= 0 { close(fd) }
            }
        }
        var written = 0
        let total = chunks.reduce(0) { $0 + $1.count }
        for chunk in chunks {
            let failure: String? = chunk.withUnsafeBytes { buf -> String? in
                var offset = 0
                while offset < buf.count {
                    let n = systemWrite(fd, buf.baseAddress! + offset, buf.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return "writing \"\(temp)\" failed after \(written + offset) of \(total) bytes: \(errnoText())"
                    }
                    offset += n
                }
                return nil
            }
            if let failure { throw .io(failure) }
            written += chunk.count
        }
        if fsync(fd) != 0 { throw .io("fsync of \"\(temp)\" failed: \(errnoText())") }
        if rename(temp, path) != 0 { throw .io("renaming \"\(temp)\" to \"\(path)\" failed: \(errnoText())") }
        done = true
        let closed = close(fd)  // after the rename: the lock covers the file until it has its name
        fd = -1
        if closed != 0 { throw .io("closing \"\(path)\" failed: \(errnoText())") }
        let dirFD = open(directory, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)  // best effort: some file systems refuse fsync on directories
            close(dirFD)
        }
    }

    /// How old (seconds since the last modification) an unlocked temporary file must be before a
    /// writer removes it: ten minutes, far longer than the gap between `open` and `flock`.
    public static let defaultStaleTemporaryAge: Double = 600

    /// `.NAME.tmp-`: the start of every temporary file name for the target `NAME`.
    static func temporaryPrefix(_ base: String) -> String { "." + base + ".tmp-" }

    /// The directory (without a trailing slash; `.` if none) and the last component of `path`.
    package static func split(_ path: String) -> (directory: String, base: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        return (slash == path.startIndex ? "/" : String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// Removes the temporary files of target `base` in `directory` that no live writer holds and that
    /// were last modified over `age` seconds ago. Best effort: a file it cannot open, lock or stat is left.
    static func removeStaleTemporaries(directory: String, base: String, olderThan age: Double) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        let prefix = temporaryPrefix(base)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix), name.count > prefix.count else { continue }
            let candidate = directory + "/" + name
            let fd = open(candidate, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            #if canImport(Darwin)
            let mtime = info.st_mtimespec
            #else
            let mtime = info.st_mtim
            #endif
            let modified = Double(mtime.tv_sec) + Double(mtime.tv_nsec) * 1e-9
            let elapsed = Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9 - modified
            guard elapsed > age, flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            // Unlink only if the name still means the file we locked (another cleaner may have
            // removed it and a new writer reused the name in between).
            var current = stat()
            guard lstat(candidate, &current) == 0, current.st_ino == info.st_ino, current.st_dev == info.st_dev else { continue }
            unlink(candidate)
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
        try CheckedAllocation.reserve(size, for: "\"\(path)\"")  // a real file too big for memory: an error, not an abort
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
