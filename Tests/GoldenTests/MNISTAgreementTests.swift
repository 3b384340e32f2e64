import Foundation
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNTraining
import Testing

/// Real data: short seeded training runs, then the trainer and the runtime classify all 10,000
/// MNIST test images and must predict the same class for every one but exact near-ties
/// (``PredictionAgreement``). The LSTM needs ../shared/datasets/mnist and fails (does not skip)
/// without it; the GRU and the bidirectional pooled model skip, saying why.
@Suite struct MNISTAgreementTests {
    static let mnistIsThere = FileManager.default.fileExists(atPath: mnistDirectory.appendingPathComponent("t10k-images-idx3-ubyte").path)
        || FileManager.default.fileExists(atPath: mnistDirectory.appendingPathComponent("t10k-images-idx3-ubyte.gz").path)

    /// The four files, read once for the three tests.
    static let splits = Result { try DatasetSplits.load(.mnist, directory: mnistDirectory.path, allowDownload: false) }

    @Test func trainerAndRuntimeAgreeOnEveryMNISTTestImageExceptNearTies() throws {
        // H = 32, batch 64, 300 steps: a model well past chance (~90 %) in a few seconds of a
        // debug build; the comparison, not the accuracy, is what this test is about.
        var configuration = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 32, layerCount: 1, classCount: 10))
        configuration.maximumSteps = 300
        configuration.warmupSteps = 30
        configuration.learningRate = 5e-3
        configuration.seed = 11
        try Self.expectAgreementOnEveryTestImage(configuration, trainingImages: nil, tolerance: .binary32, label: "MNIST LSTM")
    }

    /// A GRU (reset after, H = 32, the fused GRU kernels on both sides), trained on the first 10,000
    /// training images.
    @Test(.enabled(if: mnistIsThere, "needs MNIST in ../shared/datasets/mnist (the GRU agreement test is skipped)"))
    func aGRUAgreesOnEveryMNISTTestImageExceptNearTies() throws {
        var configuration = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 32, layerCount: 1, classCount: 10,
                                                                                 cell: .gru))
        configuration.maximumSteps = 200
        configuration.warmupSteps = 20
        configuration.learningRate = 5e-3
        configuration.seed = 12
        try Self.expectAgreementOnEveryTestImage(configuration, trainingImages: 10_000, tolerance: .binary32TrainerSet, label: "MNIST GRU")
    }

    /// A bidirectional LSTM (H = 16 per direction) whose 32-wide outputs are pooled by their mean
    /// over the 28 rows (format 1.3), trained on the first 10,000 training images.
    @Test(.enabled(if: mnistIsThere, "needs MNIST in ../shared/datasets/mnist (the bidirectional pooled agreement test is skipped)"))
    func aBidirectionalPooledLSTMAgreesOnEveryMNISTTestImageExceptNearTies() throws {
        var configuration = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 16, layerCount: 1, classCount: 10,
                                                                                 bidirectional: true, pooling: .mean))
        configuration.maximumSteps = 200
        configuration.warmupSteps = 20
        configuration.seed = 13
        configuration.learningRate = 1e-2
        try Self.expectAgreementOnEveryTestImage(configuration, trainingImages: 10_000, tolerance: .binary32TrainerSet,
                                                 label: "MNIST bidirectional LSTM, pool mean")
    }

    /// Trains `configuration` (batch 64, one thread, 1,000 validation images; on the first
    /// `trainingImages` of the rest, or all of them) on MNIST, exports it, loads the file in the
    /// runtime, and compares the runtime's logits and classes on all 10,000 test images with the
    /// trainer's float32 evaluation of the same weights.
    static func expectAgreementOnEveryTestImage(_ settings: TrainingConfiguration, trainingImages: Int?, tolerance: Tolerance,
                                                label: String) throws {
        let splits: DatasetSplits
        do {
            splits = try Self.splits.get()
        } catch {
            Issue.record("MNIST is required at \(mnistDirectory.path): \(error)")
            return
        }
        var configuration = settings
        configuration.batchSize = 64
        configuration.epochs = 1_000  // the run stops at maximumSteps
        configuration.threads = 1
        configuration.validationCount = 1000
        var data = try TrainingData(splits, validationCount: configuration.validationCount)
        if let n = trainingImages { data.train = data.train.slice(0..<n) }  // the whole test set stays
        let trainer = try Trainer(configuration: configuration, data: data)
        var state = TrainingState(configuration: configuration)
        _ = try trainer.run(&state)
        let checkpoint = Checkpoint(configuration: configuration, state: state, datasetName: data.name,
                                    datasetSHA256: data.sha256, classNames: data.classNames, timeSteps: data.train.height)
        // Through the file, as a user would: export, encode, load.
        let model = try Model(bytes: try ModelWriter.encode(checkpoint.modelFile()))

        let test = data.test
        let evaluator = Evaluator(architecture: configuration.architecture, timeSteps: test.height, threads: 1)
        let expected = evaluator.logits(parameters: state.parameters, images: test.pixels, count: test.count)
        let result = try model.classify(pixels: test.pixels, options: ClassifyOptions(threads: 2))
        var agreement = PredictionAgreement(tolerance: tolerance)
        for b in 0..<test.count {
            agreement.add(trainer: expected[(b * 10)..<((b + 1) * 10)], runtime: result.logits[(b * 10)..<((b + 1) * 10)],
                          runtimeClass: result.predictions[b], label: test.labels[b], index: b)
        }
        agreement.expectAgreement(label, expectedCount: 10_000, minimumAccuracy: 0.8)
        #expect(trainer.evaluate(state.parameters, on: test).accuracy == agreement.trainerAccuracy)
    }
}
