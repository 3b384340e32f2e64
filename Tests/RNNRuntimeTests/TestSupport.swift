import Foundation
import RNNFormat

/// The repository root, found from this file's path (Tests/RNNRuntimeTests/TestSupport.swift).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh temporary directory for one test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-runtime-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The built `rnn-infer`: next to the test bundle (the products directory), wherever SwiftPM put it.
let rnnInferExecutable: URL? = {
    var candidates: [URL] = []
    let selfExe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    candidates.append(selfExe.deletingLastPathComponent())
    if let bundle = Bundle.main.executableURL { candidates.append(bundle.deletingLastPathComponent()) }
    candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
    candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    // On macOS the bundle is products/X.xctest/Contents/MacOS/X.
    candidates += candidates.map { $0.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
    for directory in candidates {
        let url = directory.appendingPathComponent("rnn-infer")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return nil
}()

/// What a child process did.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    var errorLines: [String] { stderrLines.filter { $0.hasPrefix("rnn-infer: error: ") } }
}

/// Runs `executable` with `arguments`; standard streams go through files so nothing can deadlock.
func runProcess(_ executable: URL, _ arguments: [String], stdin: Data? = nil,
                environment: [String: String] = [:], stdoutPath: String? = nil,
                currentDirectory: URL? = nil) throws -> ProcessResult {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    var env = ProcessInfo.processInfo.environment
    env["RNN_MODEL"] = nil
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = FileHandle(forWritingAtPath: stdoutPath ?? outURL.path)!
    let err = FileHandle(forWritingAtPath: errURL.path)!
    process.standardOutput = out
    process.standardError = err
    if let stdin {
        let inURL = dir.appendingPathComponent("stdin")
        try stdin.write(to: inURL)
        process.standardInput = FileHandle(forReadingAtPath: inURL.path)!
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    process.waitUntilExit()
    try out.close(); try err.close()
    let stdout = stdoutPath == nil ? (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" : ""
    return ProcessResult(status: process.terminationStatus, stdout: stdout,
                         stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
}

/// An IDX3 u8 image file (big-endian header, spec of the MNIST site), optionally with another magic.
func idxImages(count: Int, height: Int, width: Int, pixels: [UInt8], typeByte: UInt8 = 0x08) -> Data {
    var bytes: [UInt8] = [0, 0, typeByte, 3]
    for n in [count, height, width] { bytes += bigEndian(UInt32(n)) }
    return Data(bytes + pixels)
}

/// An IDX1 u8 label file.
func idxLabels(_ labels: [UInt8]) -> Data {
    Data([0, 0, 8, 1] + bigEndian(UInt32(labels.count)) + labels)
}

private func bigEndian(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
}

/// Writes `file` as an `.rnnm` file into `directory`.
func writeModel(_ file: ModelFile, to directory: URL, name: String = "model.rnnm",
                options: WriteOptions = WriteOptions()) throws -> URL {
    let url = directory.appendingPathComponent(name)
    try Data(ModelWriter.encode(file, options: options)).write(to: url)
    return url
}
