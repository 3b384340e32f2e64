import Foundation
import RNNFormat
import RNNRuntime
import RNNTestSupport
import Testing

/// The format-1.3 golden files (fixtures/golden/v1.3, spec/GOLDEN.md "Format 1.3"): PyTorch-initialized
/// pooled models (gru + mean, bidirectional lstm + max, stacked + mean with a regression head) on the 1.2
/// set's variable-length features, their float64 outputs from spec/reference/rnnm.py, and the three
/// implementations that must reproduce them: rnnm.py itself, ``ReferenceModel`` and the runtime.
@Suite struct V13GoldenTests {
    static let stems = ["gru-mean", "bilstm-max", "stacked-bigru-mean-values"]
    static var cases: [V12Manifest.Case] { (try? V12Manifest.load(from: v13Directory).cases) ?? [] }

    @Test func manifestListsEveryFileAndEveryCaseIsConsistent() throws {
        let manifest = try V12Manifest.load(from: v13Directory)
        #expect(manifest.models.map(\.file) == Self.stems.map { "\($0).rnnm" })
        #expect(manifest.cases.map(\.model) == manifest.models.map(\.file))
        #expect(manifest.tolerance["binary32"] == .init(absolute: Tolerance.binary32FormatV12.absolute,
                                                        relative: Tolerance.binary32FormatV12.relative))
        var named: Set<String> = ["manifest.json"]
        for m in manifest.models { named.insert(m.file) }
        for c in manifest.cases {
            named.insert(c.expected)
            for input in [c.features, c.lengths].compactMap({ $0 }) {
                #expect(input.hasPrefix("../v1.2/"), "\(input): the 1.3 set reads the 1.2 set's inputs")
                #expect(FileManager.default.fileExists(atPath: v13Directory.appendingPathComponent(input).path), "\(input)")
            }
        }
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: v13Directory.path))
        #expect(present == named, "unlisted: \(present.subtracting(named).sorted()), missing: \(named.subtracting(present).sorted())")
        #expect(manifest.models.contains { $0.output == "values" } && manifest.models.contains { $0.output == "logits" })
        #expect(manifest.models.allSatisfy { !$0.outputs_per_step })
    }

    @Test(arguments: cases)
    func everyModelIsA1Point3PooledFileWithOneOutputPerSequence(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: v13Directory)
        let bytes = Array(try Data(contentsOf: v13Directory.appendingPathComponent(c.model)))
        #expect(bytes[14] == 3 && bytes[15] == 0, "\(c.model): min_reader_minor 3")
        #expect(golden.file.metadata.poolLayer != nil && !golden.file.metadata.outputsPerStep)
        let e = golden.expected
        #expect(!e.perStep && e.count == golden.sequences.count && e.outputs.allSatisfy { $0.count == 1 })
        #expect(e.lengths == golden.sequences.map { $0.count / golden.file.metadata.input.width })
        #expect(e.lengths.contains(1) && e.lengths.contains(golden.file.metadata.input.features!.maxLength))
    }

    @Test(arguments: cases)
    func pythonReferenceReaderMatchesTheExpectedValues(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: v13Directory)
        let script = repositoryRoot.appendingPathComponent("spec/reference/rnnm.py").path
        let features = try #require(c.features), lengths = try #require(c.lengths)
        let (status, out, err) = try runProcess("/usr/bin/env", [
            "python3", script, "forward", v13Directory.appendingPathComponent(c.model).path,
            "--features", v13Directory.appendingPathComponent(features).path,
            "--lengths", v13Directory.appendingPathComponent(lengths).path])
        try #require(status == 0, "rnnm.py forward \(c.model) exited \(status): \(err)\(out)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        Self.expect(try V12GoldenTests.nested(try #require(object["outputs"]), perStep: false), golden, .binary64, "python \(c)")
    }

    @Test(arguments: cases)
    func swiftReferenceModelMatchesTheExpectedValues(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: v13Directory)
        Self.expect(try ReferenceModel(golden.file).outputs(sequences: golden.sequences), golden, .binary64, "ReferenceModel \(c)")
    }

    /// The binary32 runtime, on every kernel variant, thread count and block size (blocks of 8 pack
    /// sequences of different lengths together: padding must not count).
    @Test(arguments: cases)
    func runtimeMatchesTheExpectedValuesWithinTheBinary32Tolerance(_ c: V12Manifest.Case) throws {
        let golden = try V12Case(c, in: v13Directory)
        let model = try Model(golden.file, options: LoadOptions(evaluation: .float))  // the float evaluation's golden values
        for (name, options) in V12GoldenTests.runtimeVariants {
            let result = try model.classify(sequences: golden.sequences, options: options)
            let actual = (0..<golden.sequences.count).map { b in result.outputs(of: b).map { $0.map(Double.init) } }
            Self.expect(actual, golden, .binary32FormatV12, "runtime \(c) [\(name)]")
        }
    }

    /// `actual[sequence][0][k]` against the case's expected values within `tolerance`; prints the largest difference.
    static func expect(_ actual: [[[Double]]], _ golden: V12Case, _ tolerance: Tolerance, _ label: String) {
        var difference = LogitDifference()
        let problems = compare(actual, golden.expected, tolerance: tolerance, into: &difference, label: label)
        print("[golden v1.3] \(label): \(difference)")
        #expect(problems.isEmpty, "\(problems)")
        #expect(difference.passes, "\(label): \(difference)")
    }

    /// Regenerates the set with PyTorch and compares byte for byte (needs a Python with torch, as the 1.2 test).
    @Test(.enabled(if: torchPython != nil, "needs a Python with torch: set RNN_GOLDEN_PYTHON or create bench/.venv"),
          .timeLimit(.minutes(5)))
    func regeneratingTheSetWithPyTorchReproducesEveryFile() throws {
        let script = repositoryRoot.appendingPathComponent("spec/reference/make_golden_v13.py").path
        let (status, out, err) = try runProcess(try #require(torchPython), [script, "--check", v13Directory.path])
        #expect(status == 0, "make_golden_v13.py --check: \(out)\(err)")
    }
}
