import RNNSupport
import RNNFormat

/// Writes `bytes` to `path` so that `path` holds either its old content or all of `bytes`, never
/// a mix (RNNSupport's `AtomicFile`: temporary file in the same directory, fsync, rename, fsync of
/// the directory; the temporary file is removed on any failure).
package func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(TrainingError) {
    do { try AtomicFile.write(bytes, to: path) } catch { throw .io(path: path, reason: error.message) }
}

/// Checks that `path` can be written, before the work that produces it: `path` is not a
/// directory (nor, when `replaced` is set, any other non-regular file, which an atomic write
/// would replace by a regular one: `/dev/null` for instance), and a file can be created in its
/// directory, which is probed by creating and removing a one-byte file. Run before training so that
/// a bad output path fails in seconds, not after the training.
package func probeWritableDirectory(for path: String, replaced: Bool = true) throws(TrainingError) {
    var info = stat()
    if stat(path, &info) == 0 {
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR { throw .io(path: path, reason: "is a directory; expected the path of a file to write") }
        if replaced && type != S_IFREG {
            throw .io(path: path, reason: "exists and is not a regular file; expected a regular file or a new path")
        }
    }
    let directory = AtomicFile.split(path).directory
    if stat(directory, &info) != 0 {
        throw .io(path: path, reason: "the directory \(directory) does not exist (\(errnoText()))")
    }
    if info.st_mode & S_IFMT != S_IFDIR { throw .io(path: path, reason: "\(directory) is not a directory") }
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

/// Whether `a` and `b` name the same file: equal strings, or the same name in the same directory
/// reached by different spellings (`out/m.rnnm` and `./out/m.rnnm`).
package func sameFile(_ a: String, _ b: String) -> Bool {
    if a == b { return true }
    let (da, na) = AtomicFile.split(a), (db, nb) = AtomicFile.split(b)
    guard na == nb else { return false }
    var sa = stat(), sb = stat()
    return stat(da, &sa) == 0 && stat(db, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
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
