import Foundation
import RNNFormat
import RNNTraining
import Testing

/// The committed fixtures are exactly what the code generates now, and the exported models are
/// canonical (re-exporting gives the same bytes).
@Suite struct StaleFixtureTests {
    /// The `rnn-golden` built next to this test runner (`swift build` / `swift test` build it).
    static var generatorPath: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("rnn-golden").path
    }

    @Test(.timeLimit(.minutes(10)))
    func regeneratingTheFixturesReproducesEveryCommittedFileByteForByte() throws {
        let tool = Self.generatorPath
        try #require(FileManager.default.isExecutableFile(atPath: tool),
                     "rnn-golden is not built at \(tool); run `swift build` first")
        let output = try temporaryDirectory("regenerated")
        defer { try? FileManager.default.removeItem(at: output) }
        let (status, _, err) = try runProcess(tool, ["--data", mnistDirectory.path, output.path])
        try #require(status == 0, "rnn-golden failed (\(status)): \(err)")

        // v1.2/ and v1.3/ have their own generators (spec/reference/make_golden_v12.py, make_golden_v13.py)
        // and their own checks (V12GoldenTests, V13GoldenTests).
        let committed = try FileManager.default.contentsOfDirectory(atPath: goldenDirectory.path)
            .filter { $0 != "v1.2" && $0 != "v1.3" }.sorted()
        let generated = try FileManager.default.contentsOfDirectory(atPath: output.path).sorted()
        #expect(committed == generated, "file lists differ: committed \(committed), generated \(generated)")
        for name in committed where generated.contains(name) {
            let old = try Data(contentsOf: goldenDirectory.appendingPathComponent(name))
            let new = try Data(contentsOf: output.appendingPathComponent(name))
            let firstDifference = zip(old, new).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(old == new, """
                fixtures/golden/\(name) is stale (\(old.count) vs \(new.count) bytes, first difference at \
                \(firstDifference.map(String.init) ?? "the end")): run `make fixtures` and review the diff
                """)
        }
    }

    @Test func reExportingTheGoldenCheckpointReproducesTheCommittedModel() throws {
        let checkpoint = try Checkpoint.read(from: goldenDirectory.appendingPathComponent("tiny-h8.ckpt").path)
        let committed = Array(try Data(contentsOf: goldenDirectory.appendingPathComponent("tiny-h8.rnnm")))
        // The test metrics are not in the checkpoint (rnn-train adds them after the final evaluation).
        let metrics = try ModelReader.decode(committed).metadata.provenance.metrics
            .filter { $0.key.hasPrefix("test_") }
        #expect(metrics.count == 2)
        let exported = try ModelWriter.encode(checkpoint.modelFile(metrics: metrics))
        #expect(exported == committed, "re-export gives \(exported.count) bytes, committed \(committed.count)")
    }

    @Test(arguments: ["tiny-h8.rnnm", "tiny-h8-f16.rnnm", "tiny-h8-bf16.rnnm", "tiny-h8-int8.rnnm", "course-h128.rnnm"])
    func decodingAndReEncodingAGoldenModelIsByteIdentical(_ name: String) throws {
        let bytes = Array(try Data(contentsOf: goldenDirectory.appendingPathComponent(name)))
        let file = try ModelReader.decode(bytes)
        #expect(try ModelWriter.encode(file) == bytes)
    }

    @Test func reExportingTheCourseModelsWeightsThroughTheTrainerIsByteIdentical() throws {
        // The course-size checkpoint (1.6 MB with Adam moments) is not committed; its weights go
        // through the trainer's parameter vector and export path instead.
        let bytes = Array(try Data(contentsOf: goldenDirectory.appendingPathComponent("course-h128.rnnm")))
        let file = try ModelReader.decode(bytes)
        let parameters = try LSTMParameters<Float>(model: file)
        #expect(parameters.architecture == LSTMArchitecture(inputSize: 28, hiddenSize: 128, layerCount: 1, classCount: 10))
        let exported = parameters.modelFile(height: file.metadata.input.height, labels: file.metadata.labels,
                                            provenance: file.metadata.provenance)
        #expect(try ModelWriter.encode(exported) == bytes)
    }

    @Test func fixturesStayWellUnderOneMegabyteAndHoldNoDataSetFiles() throws {
        func total(_ directory: URL) throws -> Int {
            var bytes = 0
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name != "v1.2" && name != "v1.3" {
                let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
                bytes += (attributes[.size] as? Int) ?? 0
                #expect(!name.contains("ubyte") && !name.hasSuffix(".gz"), "\(name) looks like a data set file")
            }
            return bytes
        }
        let (v10, v12, v13) = (try total(goldenDirectory), try total(v12Directory), try total(v13Directory))
        print("[golden] fixtures/golden: \(v10) bytes; fixtures/golden/v1.2: \(v12) bytes; fixtures/golden/v1.3: \(v13) bytes")
        #expect(v10 < 800_000)
        #expect(v12 < 300_000)
        #expect(v13 < 100_000)
    }
}
