import Foundation
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNTraining
import Testing

/// Real feature sequences: a bidirectional GRU trained briefly on JapaneseVowels (UEA; 12 features,
/// 7 ... 29 steps, 9 speakers), exported, and run by the runtime on every one of the 370 test
/// utterances, raw (the file's input stage standardizes them), against the trainer's float32
/// evaluation of its own standardized, padded copy (``PredictionAgreement``).
@Suite struct SequenceAgreementTests {
    static let uea = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets/uea")
    static let trainFile = uea.appendingPathComponent("JapaneseVowels_TRAIN.ts").path
    static let testFile = uea.appendingPathComponent("JapaneseVowels_TEST.ts").path
    static let filesAreThere = FileManager.default.fileExists(atPath: trainFile) && FileManager.default.fileExists(atPath: testFile)

    @Test(.enabled(if: filesAreThere, "needs ../shared/datasets/uea/JapaneseVowels_TRAIN.ts and _TEST.ts (skipped)"))
    func aBidirectionalGRUAgreesOnEveryJapaneseVowelsTestUtteranceExceptNearTies() throws {
        let data = try SequenceTrainingData.readTS(train: Self.trainFile, test: Self.testFile, validationCount: 27, seed: 14)
        var configuration = TrainingConfiguration(architecture: LSTMArchitecture(
            inputSize: data.features, hiddenSize: 16, layerCount: 1, classCount: data.classNames.count, cell: .gru, bidirectional: true))
        configuration.batchSize = 32
        configuration.epochs = 15
        configuration.learningRate = 1e-2
        configuration.warmupSteps = 10
        configuration.seed = 14
        configuration.threads = 1
        configuration.validationCount = data.validation.count
        let trainer = try SequenceTrainer(configuration: configuration, data: data)
        var state = TrainingState(configuration: configuration)
        _ = try trainer.run(&state)
        let file = SequenceCheckpoint(configuration: configuration, state: state, data: data, files: .ts).modelFile()
        let model = try Model(bytes: try ModelWriter.encode(file))

        let classes = data.classNames.count
        let expected = trainer.task.logits(state.result, on: trainer.task.test)
        let raw = try TSDataset.read(at: Self.testFile)
        let result = try model.classify(sequences: raw.sequences.values, options: ClassifyOptions(threads: 2))
        var agreement = PredictionAgreement(tolerance: .binary32TrainerSet)
        for b in 0..<raw.sequences.count {
            agreement.add(trainer: expected[(b * classes)..<((b + 1) * classes)],
                          runtime: result.logits[(b * classes)..<((b + 1) * classes)],
                          runtimeClass: result.predictions[b], label: raw.classIndices[b], index: b)
        }
        agreement.expectAgreement("JapaneseVowels bidirectional GRU", expectedCount: 370, minimumAccuracy: 0.8)
        #expect(trainer.task.test.labels == raw.classIndices)
    }
}
