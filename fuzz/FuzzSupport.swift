// What the RNNDatasets harnesses share (see fuzz/README.md): a scratch regular file, so that a
// reader's whole-file path (fstat, then one checked read) is fuzzed as well as its stream path,
// and the comparison of two readers' outcomes. Compiled into the idx and npy targets.

import RNNSupport

/// A regular file on tmpfs (or /tmp), rewritten for each input and removed at exit.
struct ScratchFile {
    let path: String

    init(_ name: String) {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        path = "\(directory)/rnn-fuzz-\(name)-\(getpid())"
        scratchPaths.append(path)
        if scratchPaths.count == 1 { atexit { for path in scratchPaths { unlink(path) } } }
    }

    func write(_ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("cannot create \(path)") }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, bytes.count - written) }
            guard n > 0 else { fatalError("cannot write \(path)") }
            written += n
        }
    }
}

nonisolated(unsafe) private var scratchPaths: [String] = []

func outcome<T>(_ body: () throws(DatasetError) -> T) -> Result<T, DatasetError> {
    do throws(DatasetError) { return .success(try body()) } catch { return .failure(error) }
}

/// The error's case, without its path and counts (a file and a stream report sizes differently).
func kind(_ error: DatasetError) -> String {
    Mirror(reflecting: error).children.first?.label ?? "\(error)"
}

/// Two readers of the same input must both succeed with equal values, or both fail with the same
/// kind of error, whose message is one line.
func agree<T: Equatable>(_ a: Result<T, DatasetError>, _ b: Result<T, DatasetError>,
                         _ nameA: String, _ nameB: String, _ input: [UInt8]) {
    switch (a, b) {
    case (.success(let x), .success(let y)) where x == y:
        return
    case (.failure(let x), .failure(let y)) where kind(x) == kind(y):
        if x.description.contains("\n") || y.description.contains("\n") { fatalError("a message of two lines: \(x)") }
        return
    default:
        fatalError("\(nameA) and \(nameB) disagree on \(input.count) bytes: \(a) vs \(b)")
    }
}
