import RNNSupport

/// A buffered writer to a file descriptor that reports write errors (a full disk, a closed pipe)
/// as ``Failure`` with status ``ExitStatus/output`` instead of losing them.
final class OutputStream {
    private let descriptor: Int32
    private let name: String
    private var buffer: [UInt8] = []
    private let ownsDescriptor: Bool

    /// Standard output. SIGPIPE is ignored so that a closed pipe is a reportable write error.
    static func standardOutput() -> OutputStream {
        signal(SIGPIPE, SIG_IGN)
        return OutputStream(descriptor: 1, name: "standard output", ownsDescriptor: false)
    }

    private init(descriptor: Int32, name: String, ownsDescriptor: Bool) {
        self.descriptor = descriptor
        self.name = name
        self.ownsDescriptor = ownsDescriptor
        buffer.reserveCapacity(1 << 16)
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// Appends `text`; writes through once 64 KiB are buffered.
    func write(_ text: String) throws(Failure) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Appends the bytes `body` adds to the buffer (no String in between); writes through once
    /// 64 KiB are buffered, exactly as ``write(_:)`` does, so that output is cut at the same
    /// places whichever of the two wrote it.
    func append(_ body: (inout [UInt8]) -> Void) throws(Failure) {
        body(&buffer)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Writes everything buffered.
    func flush() throws(Failure) {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                buffer.removeAll(keepingCapacity: true)
                throw Failure(status: .output, message: "cannot write to \(name): \(reason)")
            }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and, for a file, closes it and reports a failed close (delayed write errors).
    func finish() throws(Failure) {
        try flush()
        if ownsDescriptor && fsync(descriptor) != 0 && errno != EINVAL && errno != EROFS {
            throw Failure(status: .output, message: "cannot write to \(name): \(String(cString: strerror(errno)))")
        }
    }
}

/// `write(2)`, named apart from ``OutputStream/write(_:)``.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
