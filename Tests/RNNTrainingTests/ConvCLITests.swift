import Foundation
import RNNFormat
import RNNRuntime
import Testing
@testable import RNNTraining

/// `rnn-train --arch cnn` end to end: a short LeNet run on real MNIST writes a format 1.4 model the
/// runtime classifies, a checkpoint that resumes and exports; options of the other runs are refused.
@Suite struct ConvCLITests {
    static let enabled = rnnTrainExecutable != nil && FileManager.default.fileExists(atPath: mnistDirectory)

    @Test(.enabled(if: enabled, "needs rnn-train built next to the tests and ../shared/datasets/mnist"))
    func aShortLeNetRunWritesAModelTheRuntimeRunsAndACheckpointThatResumesAndExports() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cnn-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m.rnnm").path, ckpt = dir.appendingPathComponent("m.ckpt").path
        let common = ["--arch", "cnn", "--data", mnistDirectory, "--no-download", "--subset", "600", "--validation", "100",
                      "--batch-size", "50", "--output", model]
        let first = try runTrain(common + ["--epochs", "1", "--cnn-layers", "conv4k5p2,pool2,conv8k5,pool2", "--cnn-dense", "32"])
        try #require(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("cnn 1x28x28 conv4k5p2,pool2,conv8k5,pool2 dense 32,10"), "\(first.stderr)")
        let file = try ModelReader.read(contentsOf: model)
        #expect(file.metadata.isImageModel && file.metadata.layers.map(\.typeName)
                == ["conv2d", "maxpool2d", "conv2d", "maxpool2d", "flatten", "dense", "dense"])
        #expect(file.metadata.provenance.hyperparameters["architecture"] == .string("cnn"))
        let runtime = try Model(contentsOf: model)
        #expect(runtime.inputKind == .image && runtime.classCount == 10)
        // The checkpoint resumes (one more epoch) and exports as int8.
        guard case .cnn(let checkpoint) = try AnyCheckpoint.read(from: ckpt) else { Issue.record("not a cnn checkpoint"); return }
        #expect(checkpoint.state.epoch == 1)
        let resumed = try runTrain(["--resume", ckpt, "--data", mnistDirectory, "--no-download", "--epochs", "2", "--output", model])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let exported = dir.appendingPathComponent("int8.rnnm").path
        let export = try runTrain(["export", ckpt, "--output", exported, "--weights", "int8"])
        #expect(export.status == 0, "\(export.stderr)")
        // Filters and weight matrices (rank >= 2) int8, biases f32 (spec §4.3).
        #expect(try ModelReader.read(contentsOf: exported).tensors.allSatisfy { $0.dtype == ($0.shape.count >= 2 ? .int8 : .f32) })
    }

    @Test(.enabled(if: rnnTrainExecutable != nil, "rnn-train must be built next to the tests (swift build)"))
    func optionsThatDoNotFitAConvolutionalRunAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["--arch", "cnn", "--cell", "gru"], "--cell is for the recurrent classifier"),
            (["--arch", "cnn", "--cnn-layers", "conv6"], "--cnn-layers: 'conv6' is not conv<C>k<K>"),
            (["--arch", "cnn", "--cnn-dense", "12,x"], "--cnn-dense: 'x' is not a width"),
            (["--arch", "cnn", "--cnn-layers", "conv6k40"], "do not fit a 1x28x28 image"),
            (["--arch", "cnn", "--dataset", "imdb"], "--arch cnn trains on mnist or fashion-mnist"),
            (["--cnn-layers", "pool2"], "--cnn-layers and --cnn-dense are for --arch cnn"),
        ]
        for (arguments, message) in cases {
            let result = try runTrain(arguments + ["--data", "/nonexistent", "--no-download", "--output", "/tmp/never-written.rnnm"])
            #expect(result.status == 64, "\(arguments): \(result.stderr)")
            #expect(result.errorLines.count == 1 && result.errorLines[0].contains(message), "\(arguments): \(result.stderr)")
        }
    }
}
