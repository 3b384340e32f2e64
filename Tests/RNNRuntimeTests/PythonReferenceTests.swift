import Foundation
import RNNCore
import RNNFormat
import Testing
@testable import RNNRuntime

/// Agreement with the independent Python reader (`spec/reference/rnnm.py forward`, float64 forward pass)
/// on deterministic synthetic `u8` inputs, through real `.rnnm` files.
///
/// Tolerance: the fast path's float32 error, as derived in ``FastPathTests`` (1e-4 relative to
/// `max(1, |logit|)`), since the Python pass is float64 on the same dequantized weights; argmax must
/// agree except on a near tie.
struct PythonReferenceTests {
    static let script = repositoryRoot.appendingPathComponent("spec/reference/rnnm.py")
    /// `python3` from `PATH` (the one with numpy and zstandard, spec/reference/README.md).
    static let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/env") ? "/usr/bin/env" : nil

    /// Runs the Python reference and parses `{"logits": [[...]]}`.
    static func pythonLogits(model: URL, pixels: [UInt8]) throws -> [[Double]] {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = dir.appendingPathComponent("images.u8")
        try Data(pixels).write(to: raw)
        let result = try runProcess(URL(fileURLWithPath: python!), ["python3", script.path, "forward", model.path, "--images", raw.path])
        guard result.status == 0,
              let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
              let rows = json["logits"] as? [[Double]] else {
            throw PythonFailure(message: "rnnm.py forward failed (\(result.status)): \(result.stderr)")
        }
        return rows
    }

    struct PythonFailure: Error, CustomStringConvertible { var message: String; var description: String { message } }

    static func checkAgreement(model url: URL, seed: UInt64, images: Int = 23) throws -> Double {
        let model = try Model(contentsOf: url.path, options: LoadOptions(evaluation: .float))  // rnnm.py's float forward
        var rng = SplitMix64(seed: seed)
        let pixels = rng.bytes(images * model.pixelsPerImage)
        let expected = try pythonLogits(model: url, pixels: pixels)
        #expect(expected.count == images)
        let result = try model.classify(pixels: pixels, options: ClassifyOptions(threads: 2, blockSize: 8))
        return FastPathTests.compare(result, expected)
    }

    static let available = python != nil && FileManager.default.fileExists(atPath: script.path)

    @Test(.enabled(if: available, "needs python3 and spec/reference/rnnm.py"),
          arguments: [(DType.f32, false), (.f16, true), (.bf16, false), (.int8, true)])
    func runtimeAgreesWithPythonOnWrittenRandomModels(dtype: DType, compressed: Bool) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = randomModel(height: 12, width: 10, layers: [
            .dense(out: 16, activation: .none), .lstm(hidden: 12, returns: .sequence, hiddenBias: false),
            .lstm(hidden: 20, returns: .last), .dense(out: 8, activation: .relu), .dense(out: 5, activation: .none),
        ], seed: 99, dtype: dtype)
        let url = try writeModel(file, to: dir, options: compressed ? WriteOptions() : .uncompressed)
        let worst = try Self.checkAgreement(model: url, seed: 5)
        print("runtime vs rnnm.py, random \(dtype) model: max scaled |diff| = \(worst)")
        #expect(worst < FastPathTests.tolerance)
    }

    @Test(.enabled(if: available, "needs python3 and spec/reference/rnnm.py"))
    func runtimeAgreesWithPythonOnEveryGoodFixture() throws {
        let manifest = repositoryRoot.appendingPathComponent("fixtures/models/manifest.json")
        guard let data = try? Data(contentsOf: manifest) else {
            print("fixtures/models/manifest.json not present yet: nothing to compare")
            return
        }
        let json = try JSONSerialization.jsonObject(with: data)
        // Accept either a list of entries or an object holding one under "models"; entries are file
        // names or objects with a "file" member (relative to fixtures/models).
        let entries: [Any] = (json as? [Any]) ?? ((json as? [String: Any])?["models"] as? [Any]) ?? []
        let files = entries.compactMap { ($0 as? String) ?? (($0 as? [String: Any])?["file"] as? String) }
        #expect(!files.isEmpty, "no model listed in \(manifest.path)")
        for (n, name) in files.enumerated() {
            let url = manifest.deletingLastPathComponent().appendingPathComponent(name)
            // Tokens models (format 1.1) run through TextClassifier; IMDbPipelineTests compares them with rnnm.py.
            if try ModelReader.read(contentsOf: url.path).metadata.input.kind == .tokens { continue }
            // Format-1.2 models (gru, bidirectional, features input, ...) are compared with rnnm.py through
            // the golden set fixtures/golden/v1.2 (GoldenTests/V12GoldenTests), on every kernel variant.
            if try ModelReader.inspect(contentsOf: url.path).minReaderMinor >= 2 { continue }
            let worst = try Self.checkAgreement(model: url, seed: UInt64(n + 1))
            print("runtime vs rnnm.py, fixture \(name): max scaled |diff| = \(worst)")
            #expect(worst < FastPathTests.tolerance, "\(name)")
        }
    }
}
