import Foundation

/// What a run of `rnn-train` did.
struct TrainResult {
    var status: Int32
    var stderr: String
    /// The `rnn-train: error: ...` lines (a failure prints exactly one).
    var errorLines: [String] { stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("rnn-train: error: ") } }
}

/// Runs the built `rnn-train` with `arguments` and `environment` added to this process's (a nil
/// value removes a variable); stdout is discarded, stderr goes through a file so nothing can deadlock.
func runTrain(_ arguments: [String], environment: [String: String?] = ["SOURCE_DATE_EPOCH": nil]) throws -> TrainResult {
    let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-stderr-\(UUID().uuidString)")
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errURL) }
    let process = Process()
    process.executableURL = rnnTrainExecutable!
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    process.environment = env
    let err = try FileHandle(forWritingTo: errURL)
    process.standardOutput = FileHandle.nullDevice
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try err.close()
    return TrainResult(status: process.terminationStatus, stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}
