import Foundation
import RNNCore
import RNNDatasets
import RNNFormat
import RNNRuntime
import Testing
@testable import RNNTraining

/// `count` raw (unstandardized) sequences of 4 ... 12 steps of 3 features, 3 classes: class `c`
/// raises feature `c` by 1.5 over uniform(-1, 1) noise; feature `j` is then scaled by `10 (j + 1)`
/// and offset by `5 j`, so that only standardization makes the features comparable.
func syntheticSequences(count: Int, seed: UInt64) -> LabeledSequences {
    var rng = Xoshiro256StarStar(seed: seed)
    var values: [[Float]] = [], labels: [Int] = []
    for _ in 0..<count {
        let label = rng.nextInt(below: 3), length = 4 + rng.nextInt(below: 9)
        var s: [Float] = []
        for _ in 0..<length {
            for j in 0..<3 {
                let v = rng.nextDouble(in: -1, 1) + (j == label ? 1.5 : 0)
                s.append(Float(v * 10 * Double(j + 1) + 5 * Double(j)))
            }
        }
        values.append(s)
        labels.append(label)
    }
    return LabeledSequences(sequences: try! FeatureSequences(features: 3, values: values), labels: labels)
}

/// The synthetic task: 150 training sequences (24 of them held out for validation), 60 test sequences.
func syntheticSequenceData(standardize: Bool = true) throws -> SequenceTrainingData {
    BLASThreads.set(1)
    return try SequenceTrainingData(train: syntheticSequences(count: 150, seed: 11), test: syntheticSequences(count: 60, seed: 12),
                                    validationCount: 24, seed: 3, standardize: standardize, name: "synthetic",
                                    sha256: ["x": syntheticSHA256], classNames: ["a", "b", "c"])
}

func sequenceConfiguration(cell: RecurrentCell = .lstm, bidirectional: Bool = false) -> TrainingConfiguration {
    var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 3, hiddenSize: 8, layerCount: 1, classCount: 3,
                                                                 cell: cell, bidirectional: bidirectional))
    c.batchSize = 16
    c.epochs = 8
    c.learningRate = 2e-2
    c.warmupSteps = 4
    c.seed = 7
    c.threads = 2
    c.validationCount = 24
    return c
}

/// ``SequenceTask``: training on padded variable-length sequences, the best epoch, the exported
/// `features` model against the runtime and the float64 reference, and the checkpoint.
@Suite struct SequenceTrainingTests {
    /// A trained run: the trainer, its final state, and the raw test sequences.
    static func trained(cell: RecurrentCell = .lstm, bidirectional: Bool = false) throws -> (SequenceTrainer, TrainingState) {
        let trainer = try SequenceTrainer(configuration: sequenceConfiguration(cell: cell, bidirectional: bidirectional),
                                          data: try syntheticSequenceData())
        var state = TrainingState(configuration: trainer.configuration)
        #expect(try trainer.run(&state) == .finished)
        return (trainer, state)
    }

    /// The synthetic task is learned (chance is 1/3), for a unidirectional LSTM and a bidirectional
    /// GRU; the run ends with the weights of its best validation epoch.
    @Test(arguments: [(RecurrentCell.lstm, false), (.gru, true)])
    func learnsTheSyntheticTask(cell: RecurrentCell, bidirectional: Bool) throws {
        let (trainer, state) = try Self.trained(cell: cell, bidirectional: bidirectional)
        let test = trainer.task.evaluate(state.result, on: trainer.task.test)
        #expect(test.count == 60)
        #expect(test.accuracy >= 0.9, "test accuracy \(test.accuracy)")
        let best = state.history.map(\.validationAccuracy).max()!
        #expect(state.best != nil)
        #expect(trainer.task.validate(state.result).accuracy == best)
        #expect(state.resultRecord?.validationAccuracy == best)
    }

    /// The exported model (format 1.2 `features`, standardization in the file), loaded by the runtime
    /// from the raw test sequences, predicts what the trainer's float32 evaluation predicts on every
    /// test sequence; both sets of logits are within 1e-4 (relative above 1) of the float64 reference
    /// `forward64` (the golden f32 tolerance, spec/GOLDEN.md).
    @Test func exportedModelAgreesWithTheTrainerAndTheReference() throws {
        let (trainer, state) = try Self.trained(bidirectional: true)
        let data = trainer.data
        let checkpoint = SequenceCheckpoint(configuration: trainer.configuration, state: state, data: data, files: .ts)
        let file = try ModelReader.decode(ModelWriter.encode(checkpoint.modelFile(metrics: ["test_accuracy": 1])))
        let contract = try #require(file.metadata.input.features)
        #expect(contract.maxLength == data.maximumLength && contract.width == 3 && contract.mean != nil)
        #expect(file.metadata.labels == ["a", "b", "c"])
        #expect(file.metadata.provenance.datasetSHA256 == ["x": syntheticSHA256])

        let raw = syntheticSequences(count: 60, seed: 12)
        let runtime = try Model(file).classify(sequences: raw.sequences.values)
        let trainerLogits = trainer.task.logits(state.result, on: trainer.task.test)
        var padded = [Float](repeating: 0, count: 60 * contract.maxLength * 3)
        for (b, s) in raw.sequences.values.enumerated() {
            for (k, v) in s.enumerated() { padded[b * contract.maxLength * 3 + k] = v }
        }
        let reference = try forward64(model: file, features: padded, lengths: raw.sequences.lengths)
        for b in 0..<60 {
            let row = Array(trainerLogits[(3 * b)..<(3 * b + 3)])
            #expect(runtime.predictions[b] == row.firstIndex(of: row.max()!)!, "sequence \(b)")
        }
        for k in reference.indices {
            #expect(abs(Double(runtime.logits[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])), "logit \(k)")
            #expect(abs(Double(trainerLogits[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])), "logit \(k)")
        }
    }

    /// A checkpoint reads back equal (as the CLI reads any checkpoint); a resume checks the data.
    @Test func checkpointRoundTripsAndIdentifiesItsData() throws {
        let (trainer, state) = try Self.trained()
        let checkpoint = SequenceCheckpoint(configuration: trainer.configuration, state: state, data: trainer.data, files: .npy)
        let bytes = try checkpoint.encoded()
        #expect(try AnyCheckpoint(decoding: bytes, path: "c.ckpt") == .sequence(checkpoint))
        #expect(try SequenceCheckpoint(decoding: bytes, path: "c.ckpt") == checkpoint)
        try checkpoint.validate(against: trainer.data, path: "c.ckpt")
        var other = trainer.data
        other.sha256 = ["x": String(repeating: "1f", count: 32)]
        #expect(throws: TrainingError.dataMismatch("the checkpoint was trained on synthetic with different files (SHA-256 differs); pass the same --data and --test files")) {
            try checkpoint.validate(against: other, path: "c.ckpt")
        }
        // Unstandardized data is another run: refused by name.
        #expect(throws: TrainingError.self) { try checkpoint.validate(against: try syntheticSequenceData(standardize: false), path: "c.ckpt") }
        // An image-checkpoint reader refuses it, naming the kind.
        #expect(throws: TrainingError.invalidCheckpoint(path: "c.ckpt", reason: "a checkpoint of a sequence run, not of an image run")) {
            try Checkpoint(decoding: bytes, path: "c.ckpt")
        }
    }

    /// A run stopped mid-epoch (after the first epoch chose its best weights), written to a
    /// checkpoint, read back and resumed ends with the same weights and best weights, bit for bit,
    /// as the run that never stopped.
    @Test func interruptedRunResumesBitForBit() throws {
        let data = try syntheticSequenceData()
        let trainer = try SequenceTrainer(configuration: sequenceConfiguration(), data: data)
        var whole = TrainingState(configuration: trainer.configuration)
        #expect(try trainer.run(&whole) == .finished)
        var part = TrainingState(configuration: trainer.configuration)
        var steps = 0
        #expect(try trainer.run(&part, shouldStop: { steps += 1; return steps == 13 }) == .interrupted)
        #expect(part.epoch == 1, "epoch \(part.epoch)")
        #expect(part.stepInEpoch > 0, "stopped mid-epoch")
        #expect(part.best != nil)
        let bytes = try SequenceCheckpoint(configuration: trainer.configuration, state: part, data: data, files: .ts).encoded()
        let read = try SequenceCheckpoint(decoding: bytes, path: "c.ckpt")
        try read.validate(against: data, path: "c.ckpt")
        var resumed = read.state
        #expect(try SequenceTrainer(configuration: read.configuration, data: data).run(&resumed) == .finished)
        #expect(resumed.parameters == whole.parameters)
        #expect(resumed.best == whole.best)
        #expect(resumed.history.map(\.validationAccuracy) == whole.history.map(\.validationAccuracy))
    }

    /// Mismatched sizes between the configuration and the data are one-line data errors.
    @Test func configurationMustFitTheData() throws {
        var c = sequenceConfiguration()
        c.architecture.inputSize = 4
        #expect(throws: TrainingError.dataMismatch("the sequences have 3 features per step; the model expects 4")) {
            try SequenceTrainer(configuration: c, data: try syntheticSequenceData())
        }
    }
}
