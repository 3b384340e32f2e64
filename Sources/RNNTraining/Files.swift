#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `bytes` to `path` so that `path` holds either its old content or all of `bytes`, never
/// a mix: write a temporary file in the same directory, fsync it, rename it over `path`. On any
/// failure the temporary file is removed.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(TrainingError) {
    let temporary = "\(path).tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw .io(path: path, reason: "cannot create \(temporary): \(errnoText())") }
    var failure: String?
    bytes.withUnsafeBytes { raw in
        var written = 0
        while written < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                failure = "write failed: \(errnoText())"
                return
            }
            written += n
        }
    }
    if failure == nil && fsync(fd) != 0 { failure = "fsync failed: \(errnoText())" }
    if close(fd) != 0 && failure == nil { failure = "close failed: \(errnoText())" }
    if failure == nil && rename(temporary, path) != 0 { failure = "rename failed: \(errnoText())" }
    if let failure {
        unlink(temporary)
        throw .io(path: path, reason: failure)
    }
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
