import Foundation
import RNNDatasets
import RNNFormat
import Testing

/// The repository root, found from this file's path (Tests/GoldenTests/GoldenSupport.swift).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The committed golden fixtures.
let goldenDirectory = repositoryRoot.appendingPathComponent("fixtures/golden")

/// The shared MNIST copy (CI has it; the tests that need it fail, not skip, without it).
let mnistDirectory = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets/mnist")

/// fixtures/golden/manifest.json (spec/GOLDEN.md, "Files").
struct GoldenManifest: Decodable {
    struct ModelEntry: Decodable {
        var file: String
        var dtype: String
        var hidden_size: Int
        var checkpoint: String?
    }
    struct InputEntry: Decodable {
        var file: String
        var count: Int
        var kinds: [String]
    }
    struct Case: Decodable, CustomStringConvertible {
        var model: String
        var images: String
        var expected: String
        var description: String { "\(model) on \(images)" }
    }
    var models: [ModelEntry]
    var inputs: [InputEntry]
    var cases: [Case]

    static func load() throws -> GoldenManifest {
        try JSONDecoder().decode(GoldenManifest.self, from: Data(contentsOf: goldenDirectory.appendingPathComponent("manifest.json")))
    }

    /// The cases, for parameterized tests; an unreadable manifest gives no cases, and the
    /// manifest test below fails instead.
    static var casesOrEmpty: [Case] { (try? load().cases) ?? [] }
}

/// One expected-values file: float64 logits and probabilities from the trainer's `forward64`.
struct ExpectedFile: Decodable {
    var model: String
    var images: String
    var count: Int
    var classes: Int
    var predictions: [Int]
    var margins: [Double]
    var logits: [[Double]]
    var probabilities: [[Double]]

    static func load(_ name: String) throws -> ExpectedFile {
        try JSONDecoder().decode(ExpectedFile.self, from: Data(contentsOf: goldenDirectory.appendingPathComponent(name)))
    }
}

/// Everything one golden case needs.
struct GoldenCase {
    var file: ModelFile
    var modelBytes: [UInt8]
    var images: ImageSet
    var expected: ExpectedFile

    init(_ c: GoldenManifest.Case) throws {
        let path = goldenDirectory.appendingPathComponent(c.model).path
        modelBytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        file = try ModelReader.decode(modelBytes)
        images = try IDX.readImages(at: goldenDirectory.appendingPathComponent(c.images).path)
        expected = try ExpectedFile.load(c.expected)
    }
}

/// The largest differences between computed logits and golden ones (spec/GOLDEN.md, "What to compare").
struct LogitDifference: CustomStringConvertible {
    var maxAbsolute = 0.0
    /// `|a - e| / |e|` over golden values with `|e| >= 0.01` (smaller ones make ratios meaningless).
    var maxRelative = 0.0
    /// Largest `|a - e| / (absolute + relative * |e|)`: at most 1 when every value passes.
    var worstRatio = 0.0
    var worstPlace = ""

    mutating func add(actual: Double, expected: Double, tolerance: Tolerance, place: @autoclosure () -> String) {
        let d = abs(actual - expected)
        maxAbsolute = max(maxAbsolute, d)
        if abs(expected) >= 0.01 { maxRelative = max(maxRelative, d / abs(expected)) }
        let ratio = d / tolerance.bound(expected)
        if !(ratio <= worstRatio) {  // also catches NaN
            worstRatio = ratio.isNaN ? .infinity : ratio
            worstPlace = place()
        }
    }

    var passes: Bool { worstRatio <= 1 }

    var description: String {
        "max abs diff \(maxAbsolute), max rel diff \(maxRelative), worst \(worstRatio) x tolerance at \(worstPlace)"
    }
}

/// Runs `executable` with `arguments`; returns (status, stdout, stderr).
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Standard output can be large (the Python reader's logits), so it is drained before waiting;
    // the programs run here write only a few lines to standard error.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// A fresh temporary directory.
func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
