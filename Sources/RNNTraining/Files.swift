#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNFormat

/// Writes `bytes` to `path` so that `path` holds either its old content or all of `bytes`, never
/// a mix (RNNFormat's `AtomicFile`: temporary file in the same directory, fsync, rename, fsync of
/// the directory; the temporary file is removed on any failure).
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(TrainingError) {
    do { try AtomicFile.write(bytes, to: path) } catch { throw .io(path: path, reason: error.message) }
}

/// Checks that a file can be created in the directory of `path`, by creating and removing a
/// probe file. Run before training so that a read-only or missing output directory fails in
/// seconds, not after the training.
public func probeWritableDirectory(for path: String) throws(TrainingError) {
    let probe = "\(path).probe-\(getpid())"
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .io(path: path, reason: "cannot write to the output directory: \(errnoText())") }
    // One byte, so that a full disk shows up now too.
    var byte: UInt8 = 0
    let ok = Glibc.write(fd, &byte, 1) == 1
    let reason = errnoText()
    close(fd)
    unlink(probe)
    guard ok else { throw .io(path: path, reason: "cannot write to the output directory: \(reason)") }
}

/// The whole file at `path`, refusing files larger than `limit` bytes before reading them.
func readFile(_ path: String, limit: Int) throws(TrainingError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw .io(path: path, reason: "cannot open: \(errnoText())") }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else { throw .io(path: path, reason: "cannot stat: \(errnoText())") }
    let size = Int(info.st_size)
    guard size <= limit else { throw .io(path: path, reason: "file is \(size) bytes, more than the \(limit)-byte limit") }
    var bytes = [UInt8](repeating: 0, count: size)
    var done = 0
    var failure: String?
    bytes.withUnsafeMutableBytes { raw in
        while done < size {
            let n = read(fd, raw.baseAddress! + done, size - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failure = n == 0 ? "file shrank while reading" : errnoText(); return }
            done += n
        }
    }
    if let failure { throw .io(path: path, reason: "read failed: \(failure)") }
    return bytes
}

func errnoText() -> String { String(cString: strerror(errno)) }
