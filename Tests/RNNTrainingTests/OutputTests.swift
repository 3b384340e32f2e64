import Foundation
import RNNFormat
import Testing
@testable import RNNTraining

/// What a run writes: output paths checked before training, and reproducible model files
/// (`--reproducible`, `SOURCE_DATE_EPOCH`).
@Suite struct OutputTests {
    // MARK: Output paths

    @Test func anOutputPathThatIsADirectoryOrADeviceIsRefusedBeforeWriting() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: TrainingError.io(path: dir.path, reason: "is a directory; expected the path of a file to write")) {
            try probeWritableDirectory(for: dir.path)
        }
        // An atomic write would replace /dev/null by a regular file; appending to it is harmless.
        #expect(throws: TrainingError.self) { try probeWritableDirectory(for: "/dev/null") }
        try probeWritableDirectory(for: "/dev/null", replaced: false)
        let file = dir.appendingPathComponent("file").path
        FileManager.default.createFile(atPath: file, contents: Data([1]))
        #expect(throws: TrainingError.io(path: file + "/m.rnnm", reason: "\(file) is not a directory")) {
            try probeWritableDirectory(for: file + "/m.rnnm")
        }
        #expect(sameFile(dir.path + "/a", dir.path + "/./a") && !sameFile(dir.path + "/a", dir.path + "/b"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["file"])
    }

    /// Every output problem exits 73 (or 64 for the same file named twice) with one line, before
    /// the data is read: `--data` names a missing directory, which would be exit 65.
    @Test(.enabled(if: rnnTrainExecutable != nil, "rnn-train must be built next to the tests (swift build)"))
    func outputProblemsExitBeforeTraining() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let noData = ["--data", dir.appendingPathComponent("no-data").path, "--no-download"]
        let model = dir.appendingPathComponent("m.rnnm").path
        let cases: [([String], Int32, String)] = [
            (["--output", dir.path], 73, "is a directory"),
            (["--output", model, "--log", dir.path], 73, "is a directory"),
            (["--output", model, "--checkpoint", dir.path], 73, "is a directory"),
            (["--output", dir.appendingPathComponent("missing/m.rnnm").path], 73, "does not exist"),
            (["--output", model, "--log", model], 64, "--output and --log name the same file"),
            (["--output", model, "--checkpoint", dir.path + "/./m.rnnm"], 64, "--output and --checkpoint name the same file"),
            (["--dataset", "imdb", "--output", dir.path], 73, "is a directory"),
        ]
        for (arguments, status, expected) in cases {
            let result = try runTrain(arguments + noData)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.errorLines.count == 1 && result.errorLines[0].contains(expected), "\(arguments): \(result.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        // Export checks its output before writing too.
        let ckpt = dir.appendingPathComponent("t.ckpt").path
        try Data(CheckpointValidationTests.midEpoch).write(to: URL(fileURLWithPath: ckpt))
        let export = try runTrain(["export", ckpt, "--output", dir.path])
        #expect(export.status == 73 && export.errorLines.count == 1, "\(export.stderr)")
    }

    // MARK: Reproducible files

    @Test func sourceDateEpochIsAWholeNumberOfSecondsAndFormatsAsRFC3339() throws {
        #expect(try ProvenanceTime.sourceDateEpoch("0") == .reproducible(sourceDateEpoch: 0))
        #expect(try ProvenanceTime.sourceDateEpoch("1700000000").createdAt == "2023-11-14T22:13:20Z")
        for bad in ["", "-1", "1.5", " 1", "1e9", "0x10", "253402300800", "99999999999999999999", "1\n"] {
            #expect(throws: TrainingError.self, "\(bad)") { try ProvenanceTime.sourceDateEpoch(bad) }
        }
        #expect(rfc3339(secondsSince1970: 0) == "1970-01-01T00:00:00Z")
        #expect(rfc3339(secondsSince1970: 951_782_400) == "2000-02-29T00:00:00Z")
        #expect(rfc3339(secondsSince1970: 4_107_542_399) == "2100-02-28T23:59:59Z")
        #expect(rfc3339(secondsSince1970: ProvenanceTime.latest) == "9999-12-31T23:59:59Z")
        #expect(ProvenanceTime.unstated.createdAt == nil)
    }

    /// Two identical runs differ only in wall-clock seconds; reproducible files of them are
    /// byte-identical, wall-clock ones record the time and the duration.
    @Test func identicalRunsGiveIdenticalReproducibleFiles() throws {
        func run() throws -> Checkpoint {
            let trainer = try Trainer(configuration: tinyConfiguration(), data: syntheticTrainingData())
            var state = TrainingState(configuration: trainer.configuration)
            _ = try trainer.run(&state)
            return checkpoint(trainer, state)
        }
        var first = try run(), second = try run()
        // Force the difference a real clock makes, so the test does not depend on timing.
        first.state.trainSeconds = 1.25
        second.state.trainSeconds = 7.5
        let time = ProvenanceTime.reproducible(sourceDateEpoch: 1_700_000_000)
        let a = try ModelWriter.encode(first.modelFile(metrics: ["test_accuracy": 0.5], time: time))
        let b = try ModelWriter.encode(second.modelFile(metrics: ["test_accuracy": 0.5], time: time))
        #expect(a == b)
        let reproducible = try ModelReader.decode(a).metadata.provenance
        #expect(reproducible.createdAt == "2023-11-14T22:13:20Z" && reproducible.metrics["train_seconds"] == nil)
        let clock = try ModelReader.decode(ModelWriter.encode(first.modelFile(time: .wallClock(secondsSince1970: 86_400))))
            .metadata.provenance
        #expect(clock.createdAt == "1970-01-02T00:00:00Z" && clock.metrics["train_seconds"] == 1.3)
    }

    /// The whole command: two tiny MNIST runs with `SOURCE_DATE_EPOCH` write the same bytes;
    /// without it the file records when it was made and the training seconds. A malformed value
    /// is a usage error.
    @Test(.enabled(if: rnnTrainExecutable != nil && FileManager.default.fileExists(atPath: mnistDirectory),
                   "needs rnn-train built next to the tests and ../shared/datasets/mnist"))
    func twoTinyTrainingRunsWriteIdenticalFiles() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func train(_ name: String, _ environment: [String: String?], _ extra: [String] = []) throws -> TrainResult {
            try runTrain(["--data", mnistDirectory, "--no-download", "--hidden-size", "4", "--batch-size", "8",
                          "--steps", "2", "--epochs", "1", "--validation", "10", "--threads", "1",
                          "--output", dir.appendingPathComponent(name).path] + extra, environment: environment)
        }
        let bad = try train("bad.rnnm", ["SOURCE_DATE_EPOCH": "yesterday"])
        #expect(bad.status == 64 && bad.errorLines.count == 1 && bad.errorLines[0].contains("SOURCE_DATE_EPOCH"), "\(bad.stderr)")
        #expect(try train("a.rnnm", ["SOURCE_DATE_EPOCH": "1700000000"]).status == 0)
        #expect(try train("b.rnnm", ["SOURCE_DATE_EPOCH": "1700000000"]).status == 0)
        func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: dir.appendingPathComponent(name))) }
        #expect(try read("a.rnnm") == read("b.rnnm"))
        let a = try ModelReader.decode(read("a.rnnm")).metadata.provenance
        #expect(a.createdAt == "2023-11-14T22:13:20Z" && a.metrics["train_seconds"] == nil)
        // --reproducible without SOURCE_DATE_EPOCH: 1970-01-01T00:00:00Z (export takes it too).
        let ckpt = dir.appendingPathComponent("a.ckpt").path
        let export = try runTrain(["export", ckpt, "--output", dir.appendingPathComponent("d.rnnm").path, "--reproducible"])
        #expect(export.status == 0, "\(export.stderr)")
        let d = try ModelReader.decode(read("d.rnnm")).metadata.provenance
        #expect(d.createdAt == "1970-01-01T00:00:00Z" && d.metrics["train_seconds"] == nil)
        // Without either, the file says when it was made and how long the training took.
        #expect(try runTrain(["export", ckpt, "--output", dir.appendingPathComponent("e.rnnm").path]).status == 0)
        let e = try ModelReader.decode(read("e.rnnm")).metadata.provenance
        #expect((e.createdAt ?? "").hasPrefix("20") && e.metrics["train_seconds"] != nil)
    }
}
