import RNNSupport

/// Whole files read with the guarantee the format promises: a size check before anything is read.
///
/// (Writes go through RNNSupport's `AtomicFile`, shared with the trainer and the data sets.)
enum FileContents {
    /// Reads the whole file at `path`, refusing it before reading if it is larger than `maxBytes`.
    static func read(_ path: String, maxBytes: Int) throws(ModelFormatError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open \"\(path)\": \(systemErrorText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io("cannot stat \"\(path)\": \(systemErrorText())") }
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
                    failure = "reading \"\(path)\" failed: \(systemErrorText())"
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
