import Foundation
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNTestSupport
import Testing

let v14Directory = goldenDirectory.appendingPathComponent("v1.4")

/// The format-1.4 golden files (fixtures/golden/v1.4, spec/GOLDEN.md "Format 1.4"): PyTorch-initialized
/// image models (the course LeNet in f32 and int8, a 3-channel model with strides and asymmetric padding)
/// and conv1d front ends (a CRNN, and one whose short sequences give `T' = 0`), their float64 outputs from
/// spec/reference/rnnm.py, and the three implementations that must reproduce them.
@Suite struct V14GoldenTests {
    struct Manifest: Decodable {
        struct Case: Decodable, CustomStringConvertible {
            var model: String
            var images: String?
            var features: String?
            var lengths: String?
            var expected: String
            var description: String { model }
        }
        var models: [V12Manifest.ModelEntry]
        var cases: [Case]
        var tolerance: [String: V12Manifest.Bound]
    }

    struct Golden {
        var file: ModelFile
        /// Image cases: the pixels, channels first; features cases: one array per sequence.
        var pixels: [UInt8] = []
        var sequences: [[Float]] = []
        /// One output vector per image or sequence.
        var outputs: [[Double]]
        var predictions: [Int]?
        var conv1dLengths: [Int]?
    }

    static func manifest() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: v14Directory.appendingPathComponent("manifest.json")))
    }
    static var cases: [Manifest.Case] { (try? manifest().cases) ?? [] }

    /// An IDX u8 file of 3 (`[N, H, W]`) or 4 (`[N, C, H, W]`) dimensions: its pixels, in file order.
    static func idxPixels(_ url: URL) throws -> [UInt8] {
        let bytes = Array(try Data(contentsOf: url))
        try #require(bytes.count >= 4 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 8 && [3, 4].contains(bytes[3]))
        let dimensions = Int(bytes[3]), header = 4 + 4 * dimensions
        let sizes = (0..<dimensions).map { d in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) } }
        try #require(bytes.count == header + sizes.reduce(1, *))
        return Array(bytes[header...])
    }

    static func load(_ c: Manifest.Case) throws -> Golden {
        let file = try ModelReader.decode(Array(try Data(contentsOf: v14Directory.appendingPathComponent(c.model))))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: v14Directory.appendingPathComponent(c.expected))) as? [String: Any])
        let outputs = try #require(object["outputs"] as? [[Double]])
        var golden = Golden(file: file, outputs: outputs, predictions: object["predictions"] as? [Int],
                            conv1dLengths: object["conv1d_lengths"] as? [Int])
        if let images = c.images {
            golden.pixels = try idxPixels(v14Directory.appendingPathComponent(images))
        } else {
            golden.sequences = try V12Case.sequences(features: try #require(c.features), lengths: try #require(c.lengths), in: v14Directory)
        }
        return golden
    }

    static func expect(_ actual: [[Double]], _ golden: Golden, _ tolerance: Tolerance, _ label: String) {
        #expect(actual.count == golden.outputs.count, "\(label): \(actual.count) outputs, expected \(golden.outputs.count)")
        var difference = LogitDifference()
        for (n, (a, e)) in zip(actual, golden.outputs).enumerated() {
            #expect(a.count == e.count, "\(label) #\(n): \(a.count) values, expected \(e.count)")
            for (k, (x, y)) in zip(a, e).enumerated() { difference.add(actual: x, expected: y, tolerance: tolerance, place: "\(label) #\(n)[\(k)]") }
        }
        print("[golden v1.4] \(label): \(difference)")
        #expect(difference.passes, "\(label): \(difference)")
    }

    @Test func manifestListsEveryFileAndCoversEveryNewKind() throws {
        let manifest = try Self.manifest()
        #expect(manifest.tolerance["binary32"] == .init(absolute: Tolerance.binary32FormatV12.absolute, relative: Tolerance.binary32FormatV12.relative))
        var named: Set<String> = ["manifest.json"]
        for m in manifest.models { named.insert(m.file) }
        for c in manifest.cases {
            named.insert(c.expected)
            for input in [c.images, c.features, c.lengths].compactMap({ $0 }) {
                if !input.hasPrefix("../") { named.insert(input) }
                #expect(FileManager.default.fileExists(atPath: v14Directory.appendingPathComponent(input).path), "\(input)")
            }
        }
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: v14Directory.path))
        #expect(present == named, "unlisted: \(present.subtracting(named).sorted()), missing: \(named.subtracting(present).sorted())")
        let layers = try manifest.models.flatMap { m in
            try ModelReader.decode(Array(try Data(contentsOf: v14Directory.appendingPathComponent(m.file)))).metadata.layers
        }
        for kind in ["conv2d", "maxpool2d", "flatten", "conv1d"] {
            #expect(layers.contains { $0.typeName == kind }, "no \(kind) layer in the set")
        }
    }

    @Test(arguments: cases)
    func everyFileNeedsAVersion1Point4Reader(_ c: Manifest.Case) throws {
        let bytes = Array(try Data(contentsOf: v14Directory.appendingPathComponent(c.model)))
        #expect(bytes[14] == 4 && bytes[15] == 0, "\(c.model): min_reader_minor 4")
        let golden = try Self.load(c)
        if let conv1d = golden.conv1dLengths {
            // T' as spec §6.1 computes it, and at least one sequence shortened to nothing where the set says so.
            let model = try Model(golden.file, options: LoadOptions(evaluation: .float))  // the float evaluation's golden values
            let result = try model.classify(sequences: golden.sequences)
            #expect(result.lengths == conv1d)
        }
    }

    @Test(arguments: cases)
    func pythonReferenceReaderMatchesTheExpectedValues(_ c: Manifest.Case) throws {
        let golden = try Self.load(c)
        let script = repositoryRoot.appendingPathComponent("spec/reference/rnnm.py").path
        var arguments = ["python3", script, "forward", v14Directory.appendingPathComponent(c.model).path]
        if let images = c.images {
            arguments += ["--images", v14Directory.appendingPathComponent(images).path]
        } else {
            arguments += ["--features", v14Directory.appendingPathComponent(try #require(c.features)).path,
                          "--lengths", v14Directory.appendingPathComponent(try #require(c.lengths)).path]
        }
        let (status, out, err) = try runProcess("/usr/bin/env", arguments)
        try #require(status == 0, "rnnm.py forward \(c.model) exited \(status): \(err)\(out)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        let raw = try #require(object["outputs"] ?? object["logits"])
        let outputs: [[Double]] = try (raw as? [[Double]]) ?? (try #require(raw as? [[[Double]]])).map { try #require($0.last) }
        Self.expect(outputs, golden, .binary64, "python \(c)")
    }

    @Test(arguments: cases)
    func swiftReferenceModelMatchesTheExpectedValues(_ c: Manifest.Case) throws {
        let golden = try Self.load(c)
        let reference = ReferenceModel(golden.file)
        let actual = golden.pixels.isEmpty
            ? try reference.outputs(sequences: golden.sequences).map { $0.last ?? [] }
            : try reference.logits(pixels: golden.pixels)
        Self.expect(actual, golden, .binary64, "ReferenceModel \(c)")
    }

    /// The binary32 runtime on every kernel variant, thread count and block size.
    @Test(arguments: cases)
    func runtimeMatchesTheExpectedValuesWithinTheBinary32Tolerance(_ c: Manifest.Case) throws {
        let golden = try Self.load(c)
        let model = try Model(golden.file, options: LoadOptions(evaluation: .float))  // the float evaluation's golden values
        for (name, options) in V12GoldenTests.runtimeVariants {
            let result = golden.pixels.isEmpty
                ? try model.classify(sequences: golden.sequences, options: options)
                : try model.classify(pixels: golden.pixels, options: options)
            let actual = (0..<golden.outputs.count).map { result.outputs(of: $0).last!.map(Double.init) }
            Self.expect(actual, golden, .binary32FormatV12, "runtime \(c) [\(name)]")
        }
    }

    @Test(.enabled(if: torchPython != nil, "needs a Python with torch: set RNN_GOLDEN_PYTHON or create bench/.venv"),
          .timeLimit(.minutes(5)))
    func regeneratingTheSetWithPyTorchReproducesEveryFile() throws {
        let script = repositoryRoot.appendingPathComponent("spec/reference/make_golden_v14.py").path
        let (status, out, err) = try runProcess(try #require(torchPython), [script, "--check", v14Directory.path])
        #expect(status == 0, "make_golden_v14.py --check: \(out)\(err)")
    }
}
