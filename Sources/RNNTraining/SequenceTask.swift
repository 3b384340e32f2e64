import RNNCore
import RNNFormat

/// One part of a feature-sequence run in the engine's input form: `count` sequences padded with
/// zeros to `timeSteps` steps, batch-major `[count, timeSteps, features]`, with their lengths and labels.
package struct PaddedSequences: Sendable {
    /// The padded values, `count * timeSteps * features` floats.
    package var values: [Float]
    /// Real steps of each sequence (`1...timeSteps`); the engine carries the state over the rest (spec §6.2.2).
    package var lengths: [Int]
    /// One class index per sequence.
    package var labels: [Int]
    /// Number of sequences.
    package var count: Int { labels.count }

    /// `set` padded to `timeSteps` (at least its longest sequence).
    package init(_ set: LabeledSequences, timeSteps: Int) {
        let f = set.features, stride = timeSteps * f
        var values = [Float](repeating: 0, count: set.count * stride)
        for (b, sequence) in set.sequences.values.enumerated() {
            precondition(sequence.count <= stride, "sequence \(b) is longer than \(timeSteps) steps")
            for (k, v) in sequence.enumerated() { values[b * stride + k] = v }
        }
        self.values = values
        lengths = set.sequences.lengths
        labels = set.labels
    }
}

extension TrainingConfiguration {
    /// What the shared loop reads in a feature-sequence run: like an image run's, except that with
    /// validation sequences the run ends with its best validation epoch (small sets such as
    /// BasicMotions swing from epoch to epoch).
    package var sequenceLoop: LoopSettings {
        var settings = loop
        settings.keepsBestEpoch = validationCount > 0
        return settings
    }
}

/// The feature-sequence classifier's part of a run (`dense_in -> lstm/gru... -> dense_out` on
/// standardized float sequences of varying length, ``SequenceTrainingData``): its padded batches,
/// gradient engine and validation, for ``TrainingLoop``.
///
/// Every part is padded once to the data's longest sequence `T` (the exported model's `max_length`);
/// a batch runs all `T` steps and each sequence's state stops changing after its own length, so the
/// logits are those of the unpadded sequence (``BatchSource/sequences(_:lengths:)``).
package final class SequenceTask: TrainingTask {
    /// The validated settings (`validationCount` is the data's validation part).
    package let configuration: TrainingConfiguration
    /// The data, split and standardized.
    package let data: SequenceTrainingData
    /// Steps every batch runs: the longest sequence of any part.
    package let timeSteps: Int
    /// The three parts, padded.
    package let train: PaddedSequences, validation: PaddedSequences, test: PaddedSequences
    let engine: GradientEngine<Float>
    let evaluator: GradientEngine<Float>
    /// Sequences per forward-only evaluation batch.
    let evaluationBatch = 512

    /// Checks the configuration against the data and pads every part.
    init(configuration: TrainingConfiguration, data: SequenceTrainingData, kernel: KernelISA) throws(TrainingError) {
        try configuration.validate()
        let a = configuration.architecture
        guard configuration.subset == nil else {
            throw .invalidHyperparameter("--subset is for mnist, fashion-mnist and imdb; a feature-sequence run trains on every training sequence")
        }
        guard data.train.count > 0 else { throw .dataMismatch("no training sequences") }
        guard a.inputSize == data.features else {
            throw .dataMismatch("the sequences have \(data.features) features per step; the model expects \(a.inputSize)")
        }
        guard a.classCount == data.classNames.count else {
            throw .dataMismatch("the data has \(data.classNames.count) classes; the model expects \(a.classCount)")
        }
        guard configuration.validationCount == data.validation.count else {
            throw .dataMismatch("the data holds \(data.validation.count) validation sequences; the configuration says \(configuration.validationCount)")
        }
        guard data.maximumLength <= FeatureInput.limit, data.features <= FeatureInput.limit else {
            throw .dataMismatch("sequences of up to \(data.maximumLength) steps of \(data.features) features; a model takes at most \(FeatureInput.limit) of each")
        }
        self.configuration = configuration
        self.data = data
        timeSteps = data.maximumLength
        train = PaddedSequences(data.train, timeSteps: timeSteps)
        validation = PaddedSequences(data.validation, timeSteps: timeSteps)
        test = PaddedSequences(data.test, timeSteps: timeSteps)
        engine = GradientEngine(architecture: a, timeSteps: timeSteps, batchCapacity: configuration.batchSize,
                                workerCount: configuration.threads, kernel: kernel)
        evaluator = GradientEngine(architecture: a, timeSteps: timeSteps, batchCapacity: evaluationBatch,
                                   workerCount: configuration.threads, kernel: kernel)
    }

    package var trainCount: Int { train.count }

    /// The image runs' seeded permutation (a function of the seed and the epoch alone).
    package func order(epoch: Int) -> [Int] {
        seededOrder(count: train.count, seed: configuration.seed, epoch: epoch)
    }

    package func lossAndGradient(_ parameters: LSTMParameters<Float>, indices: ArraySlice<Int>, step: Int,
                                 gradient: inout [Float]) -> (loss: Double, correct: Int) {
        parameters.values.withUnsafeBufferPointer { p in
            train.values.withUnsafeBufferPointer { x in
                train.lengths.withUnsafeBufferPointer { lengths in
                    train.labels.withUnsafeBufferPointer { labels in
                        gradient.withUnsafeMutableBufferPointer { g in
                            engine.lossAndGradient(parameters: p, source: .sequences(x, lengths: lengths),
                                                   labels: labels, indices: indices, gradient: g,
                                                   dropout: configuration.dropout.map { ($0, configuration.seed, step) })
                        }
                    }
                }
            }
        }
    }

    /// Float32 logits `[part.count, C]` of `part` under `parameters` (the trainer's own evaluation).
    package func logits(_ parameters: LSTMParameters<Float>, on part: PaddedSequences) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(part.count * parameters.architecture.classCount)
        parameters.values.withUnsafeBufferPointer { p in
            part.values.withUnsafeBufferPointer { x in
                part.lengths.withUnsafeBufferPointer { lengths in
                    for start in stride(from: 0, to: part.count, by: evaluationBatch) {
                        let indices = Array(start..<min(part.count, start + evaluationBatch))[...]
                        out += evaluator.logits(parameters: p, source: .sequences(x, lengths: lengths), indices: indices)
                    }
                }
            }
        }
        return out
    }

    /// Mean cross-entropy and accuracy of `parameters` on `part`.
    package func evaluate(_ parameters: LSTMParameters<Float>, on part: PaddedSequences) -> EvaluationResult {
        EvaluationResult(logits: logits(parameters, on: part), labels: part.labels,
                         classCount: parameters.architecture.classCount)
    }

    package func validate(_ parameters: LSTMParameters<Float>) -> EvaluationResult {
        validation.count > 0 ? evaluate(parameters, on: validation) : .none
    }

    package func checkShape(of state: TrainingState) throws(StateInconsistency) {
        try state.checkShape(configuration.architecture)
    }
}

/// Mini-batch training of the feature-sequence classifier: the shared loop over a ``SequenceTask``.
/// With validation sequences the run ends with the weights of its best validation epoch.
package typealias SequenceTrainer = TrainingLoop<SequenceTask>

extension TrainingLoop where Task == SequenceTask {
    /// Checks the configuration against the data, pads it and allocates the buffers; the learning
    /// rate follows `configuration.schedule` as in an image run. The same seed, threads and kernel
    /// give bitwise identical weights.
    package convenience init(configuration: TrainingConfiguration, data: SequenceTrainingData,
                             kernel: KernelISA = .detected) throws(TrainingError) {
        let task = try SequenceTask(configuration: configuration, data: data, kernel: kernel)
        self.init(task: task, settings: configuration.sequenceLoop, plan: configuration.learningRatePlan(totalSteps:))
    }

    /// The validated settings.
    package var configuration: TrainingConfiguration { task.configuration }
    /// The data set, split and standardized.
    package var data: SequenceTrainingData { task.data }
}
