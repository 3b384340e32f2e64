/// Why a file could not be written or replaced.
///
/// Each module turns it into its own typed error: RNNFormat's `ModelFormatError.io` carries
/// ``message``, RNNDatasets' `DatasetError.writeFailed` the ``path`` and ``reason``.
package struct FileWriteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file the failing step concerned: the target, its temporary file or its directory.
    package var path: String
    /// What went wrong, without the file: the system's words (`strerror`), or what is wrong with
    /// the path.
    package var reason: String
    /// One sentence naming the step, the file and the reason, e.g.
    /// `fsync of "models/.m.rnnm.tmp-41-0" failed: No space left on device`.
    package var message: String

    package init(path: String, reason: String, message: String) {
        self.path = path
        self.reason = reason
        self.message = message
    }

    /// ``message``.
    package var description: String { message }
}

/// Files replaced atomically: a reader sees the old file or the complete new one, never a part,
/// even after a crash or a power cut.
///
/// The one atomic writer of the package: model files, checkpoints, the `--misclassified` grid,
/// downloaded data sets and IDX files all go through ``write(_:to:staleTemporaryAge:accepting:)``.
package enum AtomicFile {
    /// Writes `bytes` atomically to `path` (see ``write(_:to:staleTemporaryAge:accepting:)``).
    package static func write(_ bytes: [UInt8], to path: String) throws(FileWriteError) {
        try write([bytes], to: path)
    }

    /// Writes the concatenation of `chunks` to a temporary file next to `path`, fsyncs it, renames it
    /// over `path`, then fsyncs the directory so the rename itself survives a crash.
    ///
    /// The temporary file is `.NAME.tmp-PID-N` in the same directory (so that `rename(2)` is atomic).
    /// While it is written, the writer holds an exclusive `flock(2)` on it. A writer killed with
    /// `SIGKILL` (or by a power cut) leaves its temporary file behind; so before creating its own,
    /// every writer removes the stale temporary files of the same `NAME`: those whose lock it can take
    /// (no live process is writing them, in any process: the kernel drops a dead process's locks) and
    /// that were last modified more than `staleTemporaryAge` seconds ago. The age is a second,
    /// independent condition: it covers the instant between another writer's `open` and its `flock`,
    /// and file systems where `flock` is not shared between machines. A PID check would not do: PIDs
    /// are reused, and another machine's PID means nothing here.
    ///
    /// - Parameter accepting: called with the complete temporary file's path before it replaces
    ///   `path` (a download checks its SHA-256 there); when it returns false the temporary file is
    ///   removed, `path` is left as it was, and the write throws.
    package static func write(_ chunks: [[UInt8]], to path: String,
                              staleTemporaryAge: Double = defaultStaleTemporaryAge,
                              accepting: (_ temporaryPath: String) -> Bool = { _ in true }) throws(FileWriteError) {
        let (directory, base) = split(path)
        guard !base.isEmpty else {
            throw FileWriteError(path: path, reason: "the path names a directory",
                                 message: "cannot write \"\(path)\": the path names a directory")
        }
        removeStaleTemporaries(directory: directory, base: base, olderThan: staleTemporaryAge)

        var fd: Int32 = -1
        var temp = ""
        for attempt in 0..<100 {
            temp = directory + "/" + temporaryPrefix(base) + "\(getpid())-\(attempt)"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else {
            throw failure(directory, "cannot create a temporary file in \"\(directory)\" to write \"\(path)\"")
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
            let failed: FileWriteError? = chunk.withUnsafeBytes { buf -> FileWriteError? in
                var offset = 0
                while offset < buf.count {
                    let n = systemWrite(fd, buf.baseAddress! + offset, buf.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return failure(temp, "writing \"\(temp)\" failed after \(written + offset) of \(total) bytes")
                    }
                    offset += n
                }
                return nil
            }
            if let failed { throw failed }
            written += chunk.count
        }
        if fsync(fd) != 0 { throw failure(temp, "fsync of \"\(temp)\" failed") }
        guard accepting(temp) else {
            throw FileWriteError(path: temp, reason: "its check refused it",
                                 message: "\"\(temp)\" was not renamed to \"\(path)\": its check refused it")
        }
        if rename(temp, path) != 0 { throw failure(path, "renaming \"\(temp)\" to \"\(path)\" failed") }
        done = true
        let closed = close(fd)  // after the rename: the lock covers the file until it has its name
        fd = -1
        if closed != 0 { throw failure(path, "closing \"\(path)\" failed") }
        let dirFD = open(directory, O_RDONLY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)  // best effort: some file systems refuse fsync on directories
            close(dirFD)
        }
    }

    /// How old (seconds since the last modification) an unlocked temporary file must be before a
    /// writer removes it: ten minutes, far longer than the gap between `open` and `flock`.
    package static let defaultStaleTemporaryAge: Double = 600

    /// `.NAME.tmp-`: the start of every temporary file name for the target `NAME`.
    static func temporaryPrefix(_ base: String) -> String { "." + base + ".tmp-" }

    /// The directory (without a trailing slash; `.` if none) and the last component of `path`.
    package static func split(_ path: String) -> (directory: String, base: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        return (slash == path.startIndex ? "/" : String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// The error for a failed system call on `path`: `step`, then `errno`'s words.
    private static func failure(_ path: String, _ step: String) -> FileWriteError {
        let reason = systemErrorText()
        return FileWriteError(path: path, reason: reason, message: step + ": " + reason)
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
            // The name is read in place, up to its NUL: `entry.pointee` would copy the whole
            // `struct dirent` (a 256-byte `d_name`), but readdir's entries are only as long as their
            // name, so the copy can read past the end of the directory buffer's last page (a crash
            // seen with a large /tmp).
            guard let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name) else { continue }
            let name = String(cString: UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: CChar.self))
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
}
