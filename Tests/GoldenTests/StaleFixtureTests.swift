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

        // v1.2/, v1.3/ and v1.4/ have their own generators (spec/reference/make_golden_v1{2,3,4}.py)
        // and their own checks (V12GoldenTests, V13GoldenTests, V14GoldenTests); trainer/ is rnn-golden's too.
        Self.expectSameFiles(committed: goldenDirectory, generated: output, skipping: ["v1.2", "v1.3", "v1.4", "trainer"])
        Self.expectSameFiles(committed: trainerSetDirectory, generated: output.appendingPathComponent("trainer"), skipping: [])
    }

    /// Every file of `committed` (but the `skipping` subdirectories) equals its namesake in
    /// `generated`, and neither has a file the other lacks.
    static func expectSameFiles(committed: URL, generated: URL, skipping: Set<String>) {
        let list = { (directory: URL) in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { !skipping.contains($0) }.sorted()
        }
        let (old, new) = (list(committed), list(generated))
        let place = committed.path.dropFirst(repositoryRoot.path.count + 1)
        #expect(old == new, "\(place): file lists differ: committed \(old), generated \(new)")
        for name in old where new.contains(name) {
            let a = (try? Data(contentsOf: committed.appendingPathComponent(name))) ?? Data()
            let b = (try? Data(contentsOf: generated.appendingPathComponent(name))) ?? Data()
            let firstDifference = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(a == b, """
                \(place)/\(name) is stale (\(a.count) vs \(b.count) bytes, first difference at \
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
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where !["v1.2", "v1.3", "v1.4", "trainer"].contains(name) {
                let attributes = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(name).path)
                bytes += (attributes[.size] as? Int) ?? 0
                #expect(!name.contains("ubyte") && !name.hasSuffix(".gz"), "\(name) looks like a data set file")
            }
            return bytes
        }
        let (v10, v12, v13) = (try total(goldenDirectory), try total(v12Directory), try total(v13Directory))
        let trainer = try total(trainerSetDirectory), v14 = try total(v14Directory)
        print("[golden] fixtures/golden: \(v10) bytes; fixtures/golden/v1.2: \(v12) bytes; fixtures/golden/v1.3: \(v13) bytes; "
            + "fixtures/golden/v1.4: \(v14) bytes; fixtures/golden/trainer: \(trainer) bytes")
        #expect(v10 < 800_000)
        #expect(v12 < 300_000)
        #expect(v13 < 100_000)
        #expect(trainer < 300_000)
        #expect(v14 < 400_000)  // the course LeNet in f32 (227 KB) and int8
    }
}
