import Dispatch
import Foundation
import RNNCore
import RNNFormat
import RNNSupport

/// The settings of a convolutional run (`rnn-train --arch cnn`): the architecture and the same
/// optimizer, schedule, clipping, validation and early stopping as the recurrent image runs.
package struct ConvTrainingConfiguration: Sendable, Codable, Equatable {
    package var architecture: ConvArchitecture
    package var batchSize: Int = 128
    package var epochs: Int = 10
    package var maximumSteps: Int?
    package var learningRate: Float = 2e-3
    package var schedule: LearningRateSchedule = .cosine
    package var warmupSteps: Int = 100
    package var beta1: Float = 0.9
    package var beta2: Float = 0.999
    package var epsilon: Float = 1e-8
    package var clipNorm: Float = 5
    package var weightDecay: Float?
    package var augmentation: ImageAugmentation?
    package var patience: Int?
    package var seed: UInt64 = 1
    package var threads: Int = 2
    package var validationCount: Int = 5000
    package var subset: Int?

    package init(architecture: ConvArchitecture) {
        self.architecture = architecture
    }

    /// Checks every setting, naming the option (``validate()``) or the checkpoint field.
    package func validate() throws(TrainingError) { try validate(naming: .option) }

    func validate(naming: SettingNaming) throws(TrainingError) {
        try architecture.validate(naming: naming)
        // The loop and optimizer settings follow the recurrent runs' rules: one implementation.
        var loop = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 1, hiddenSize: 1, layerCount: 1, classCount: 2))
        loop.batchSize = batchSize
        loop.epochs = epochs
        loop.maximumSteps = maximumSteps
        loop.learningRate = learningRate
        loop.schedule = schedule
        loop.warmupSteps = warmupSteps
        loop.beta1 = beta1
        loop.beta2 = beta2
        loop.epsilon = epsilon
        loop.clipNorm = clipNorm
        loop.weightDecay = weightDecay
        loop.augmentation = augmentation
        loop.patience = patience
        loop.seed = seed
        loop.threads = threads
        loop.validationCount = validationCount
        loop.subset = subset
        try loop.validate(naming: naming)
    }

    package var loop: LoopSettings {
        LoopSettings(batchSize: batchSize, epochs: epochs, maximumSteps: maximumSteps, clipNorm: clipNorm,
                     validationCount: validationCount, keepsBestEpoch: patience != nil && validationCount > 0, patience: patience)
    }

    package func makeOptimizer() -> AdamOptimizer {
        AdamOptimizer(parameterCount: architecture.parameterCount, beta1: beta1, beta2: beta2, epsilon: epsilon,
                      weightDecay: weightDecay ?? 0, decayed: architecture.decayedRanges)
    }

    package func learningRatePlan(totalSteps: Int) -> LearningRatePlan {
        LearningRatePlan(base: learningRate, schedule: schedule, totalSteps: totalSteps, warmupSteps: warmupSteps)
    }

    /// What the exported model's provenance records (spec §6.3).
    var provenanceHyperparameters: [String: MetadataValue] {
        var h: [String: MetadataValue] = [
            "architecture": .string("cnn"), "layers": .string(architecture.layers.map(\.description).joined(separator: ",")),
            "dense": .string(architecture.dense.map(String.init).joined(separator: ",")),
            "batch_size": .number(Double(batchSize)), "epochs": .number(Double(epochs)),
            "learning_rate": .number(shortestDouble(learningRate)), "warmup_steps": .number(Double(warmupSteps)),
            "beta1": .number(shortestDouble(beta1)), "beta2": .number(shortestDouble(beta2)), "epsilon": .number(shortestDouble(epsilon)),
            "clip_norm": .number(shortestDouble(clipNorm)), "threads": .number(Double(threads)),
            "validation_images": .number(Double(validationCount)), "schedule": .string(schedule.rawValue),
            "optimizer": .string(weightDecay == nil ? "adam" : "adamw"),
        ]
        if architecture.activation != "relu" { h["activation"] = .string(architecture.activation) }
        if let m = maximumSteps { h["max_steps"] = .number(Double(m)) }
        if let n = subset { h["subset"] = .number(Double(n)) }
        if let wd = weightDecay { h["weight_decay"] = .number(shortestDouble(wd)) }
        if let n = patience { h["patience"] = .number(Double(n)) }
        if let a = augmentation { h["augment"] = .string(a.rawValue) }
        return h
    }
}

/// The run state of a convolutional run.
package typealias ConvTrainingState = RunState<ConvParameters>

extension RunState where Weights == ConvParameters {
    /// A fresh state: PyTorch-initialized weights from the seed, a fresh optimizer.
    package init(configuration c: ConvTrainingConfiguration) {
        self.init(parameters: ConvParameters(architecture: c.architecture, seed: c.seed), optimizer: c.makeOptimizer())
    }

    /// The weights are those of `architecture`.
    func checkShape(_ architecture: ConvArchitecture) throws(StateInconsistency) {
        for weights in [parameters] + (best.map { [$0] } ?? []) where weights.architecture != architecture
            || weights.values.count != architecture.parameterCount {
            throw StateInconsistency(reason: "the weights are for \(weights.architecture), the configuration for \(architecture)")
        }
    }
}

/// The convolutional classifier's part of a run: batches split over ``ConvWorker``s (one per thread, each
/// a contiguous slice of the batch, gradients summed in worker order so that the same seed and threads
/// give the same weights), and the forward-only evaluation.
package final class ConvTask: TrainingTask {
    package let configuration: ConvTrainingConfiguration
    package let data: TrainingData
    let kernel: KernelISA
    let workers: [ConvWorker]
    var batch: AugmentedBatch

    /// Checks the configuration against the data and allocates the workers.
    package init(configuration: ConvTrainingConfiguration, data: TrainingData, kernel: KernelISA = .detected) throws(TrainingError) {
        try configuration.validate()
        let a = configuration.architecture
        guard data.train.count > 0 else { throw .dataMismatch("no training images") }
        for set in [data.train, data.validation, data.test] where set.count > 0 {
            guard a.channels == 1, set.height == a.height, set.width == a.width else {
                throw .dataMismatch("images are 1x\(set.height)x\(set.width); the model expects \(a.channels)x\(a.height)x\(a.width)")
            }
            if let bad = set.labels.firstIndex(where: { $0 < 0 || $0 >= a.classCount }) {
                throw .dataMismatch("label \(set.labels[bad]) of image \(bad) is outside 0..<\(a.classCount)")
            }
        }
        self.configuration = configuration
        self.data = data
        self.kernel = kernel
        let n = configuration.threads
        let perWorker = (configuration.batchSize + n - 1) / n
        workers = (0..<n).map { _ in ConvWorker(architecture: a, capacity: perWorker) }
        batch = AugmentedBatch(capacity: configuration.augmentation == nil ? 0 : configuration.batchSize, height: a.height, width: a.width)
    }

    package var trainCount: Int { data.train.count }

    package func order(epoch: Int) -> [Int] {
        seededOrder(count: data.train.count, seed: configuration.seed, epoch: epoch)
    }

    package func lossAndGradient(_ parameters: ConvParameters, indices: ArraySlice<Int>, step: Int,
                                 gradient: inout [Float]) -> (loss: Double, correct: Int) {
        guard let augmentation = configuration.augmentation else {
            return lossAndGradient(parameters, pixels: data.train.pixels, labels: data.train.labels, indices: indices, gradient: &gradient)
        }
        batch.fill(from: data.train, indices: indices, augmentation: augmentation, seed: configuration.seed, step: step)
        return lossAndGradient(parameters, pixels: batch.pixels, labels: batch.labels, indices: Array(0..<batch.count)[...],
                               gradient: &gradient)
    }

    /// The summed loss and correct count of the images `indices`, and the gradient of their mean loss.
    func lossAndGradient(_ parameters: ConvParameters, pixels: [UInt8], labels: [Int], indices: ArraySlice<Int>,
                         gradient: inout [Float]) -> (loss: Double, correct: Int) {
        let slices = split(indices, workers.count)
        let results = Locked([(loss: Double, correct: Int)](repeating: (0, 0), count: slices.count))
        parameters.values.withUnsafeBufferPointer { p in
            pixels.withUnsafeBufferPointer { px in
                labels.withUnsafeBufferPointer { lb in
                    let shared = SharedPointers(parameters: p.baseAddress!, pixels: px.baseAddress!, labels: lb.baseAddress!)
                    run(slices.count) { w in
                        let worker = self.workers[w], slice = slices[w]
                        worker.load(parameters.values)
                        for i in worker.gradient.indices { worker.gradient[i] = 0 }
                        guard !slice.isEmpty else { return }
                        worker.forward(pixels: shared.pixels, indices: slice, parameters: shared.parameters, kernel: self.kernel)
                        let r = worker.loss(labels: shared.labels, indices: slice, batch: indices.count)
                        worker.backward(count: slice.count, parameters: shared.parameters)
                        results.withLock { $0[w] = r }
                    }
                }
            }
        }
        for i in gradient.indices { gradient[i] = 0 }
        for worker in workers.prefix(slices.count) {
            for i in gradient.indices { gradient[i] += worker.gradient[i] }
        }
        return results.withLock { $0.reduce((0.0, 0)) { ($0.0 + $1.loss, $0.1 + $1.correct) } }
    }

    package func validate(_ parameters: ConvParameters) -> EvaluationResult {
        data.validation.count > 0 ? evaluate(parameters, on: data.validation) : .none
    }

    /// Mean loss and accuracy of `parameters` on `set`, forward passes only.
    package func evaluate(_ parameters: ConvParameters, on set: LabeledPixels) -> EvaluationResult {
        guard set.count > 0 else { return .none }
        let chunk = workers[0].capacity
        let chunks = (set.count + chunk - 1) / chunk
        let totals = Locked((loss: 0.0, correct: 0))
        parameters.values.withUnsafeBufferPointer { p in
            set.pixels.withUnsafeBufferPointer { px in
                set.labels.withUnsafeBufferPointer { lb in
                    let shared = SharedPointers(parameters: p.baseAddress!, pixels: px.baseAddress!, labels: lb.baseAddress!)
                    run(workers.count) { w in
                        let worker = self.workers[w]
                        worker.load(parameters.values)
                        var loss = 0.0, correct = 0
                        var c = w
                        while c < chunks {
                            let indices = Array((c * chunk)..<min((c + 1) * chunk, set.count))[...]
                            worker.forward(pixels: shared.pixels, indices: indices, parameters: shared.parameters, kernel: self.kernel)
                            let r = worker.loss(labels: shared.labels, indices: indices, batch: 1)
                            loss += r.loss
                            correct += r.correct
                            c += self.workers.count
                        }
                        let (l, k) = (loss, correct)
                        totals.withLock { $0 = ($0.loss + l, $0.correct + k) }
                    }
                }
            }
        }
        let t = totals.withLock { $0 }
        return EvaluationResult(loss: t.loss / Double(set.count), accuracy: Double(t.correct) / Double(set.count), count: set.count)
    }

    package func checkShape(of state: ConvTrainingState) throws(StateInconsistency) {
        try state.checkShape(configuration.architecture)
    }

    private func run(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: count, execute: body) }
    }
}

/// `indices` cut into `parts` contiguous slices of nearly equal size (the first ones one longer).
private func split(_ indices: ArraySlice<Int>, _ parts: Int) -> [ArraySlice<Int>] {
    let n = indices.count, base = n / parts, extra = n % parts
    var slices: [ArraySlice<Int>] = []
    var start = indices.startIndex
    for p in 0..<parts {
        let size = base + (p < extra ? 1 : 0)
        slices.append(indices[start..<(start + size)])
        start += size
    }
    return slices
}

/// Read-only pointers the workers share during one call.
private struct SharedPointers: @unchecked Sendable {
    let parameters: UnsafePointer<Float>
    let pixels: UnsafePointer<UInt8>
    let labels: UnsafePointer<Int>
}

// Each concurrent call touches only its own worker (index w) and reads the shared inputs.
extension ConvWorker: @unchecked Sendable {}
extension ConvTask: @unchecked Sendable {}

/// Mini-batch training of a convolutional classifier: the shared loop over a ``ConvTask``.
package typealias ConvTrainer = TrainingLoop<ConvTask>

extension TrainingLoop where Task == ConvTask {
    package convenience init(configuration: ConvTrainingConfiguration, data: TrainingData, kernel: KernelISA = .detected) throws(TrainingError) {
        let task = try ConvTask(configuration: configuration, data: data, kernel: kernel)
        self.init(task: task, settings: configuration.loop, plan: configuration.learningRatePlan(totalSteps:))
    }
}

/// A checkpoint of a convolutional run (version 2, `kind` `cnn`, spec/CHECKPOINT.md): the settings,
/// the run state, the data set's identity and class names, so that `rnn-train --resume` continues it bit
/// for bit and `rnn-train export` writes its model without the data.
package struct ConvCheckpoint: Sendable, Equatable {
    package var configuration: ConvTrainingConfiguration
    package var state: ConvTrainingState
    package var datasetName: String
    package var datasetSHA256: [String: String]
    package var classNames: [String]

    package init(configuration: ConvTrainingConfiguration, state: ConvTrainingState, datasetName: String,
                 datasetSHA256: [String: String], classNames: [String]) {
        self.configuration = configuration
        self.state = state
        self.datasetName = datasetName
        self.datasetSHA256 = datasetSHA256
        self.classNames = classNames
    }

    package func encoded() throws(TrainingError) -> [UInt8] {
        let header = CheckpointHeader(kind: "cnn", configuration: configuration, state: state, datasetName: datasetName,
                                      datasetSHA256: datasetSHA256, classNames: classNames)
        return CheckpointFile.encode(version: 2, json: try CheckpointFile.encodeHeader(header), arrays: state.checkpointArrays(version: 2))
    }

    package init(decoding bytes: [UInt8], path: String) throws(TrainingError) {
        let contents = try CheckpointFile.decode(bytes, path: path)
        guard contents.kind == "cnn" else {
            throw .invalidCheckpoint(path: path, reason: "a checkpoint of a \(contents.kind) run, not of a convolutional run")
        }
        try self.init(contents, path: path)
    }

    /// Every field checked (spec/CHECKPOINT.md §4): the settings with the command line's rules, the
    /// parameter count, the data set's identity, the class names, the state; then the export.
    init(_ contents: CheckpointFile.Contents, path: String) throws(TrainingError) {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        let header = try CheckpointFile.decodeHeader(CheckpointHeader<ConvTrainingConfiguration>.self, from: contents.json, path: path)
        let c = header.configuration
        do { try c.validate(naming: .checkpointField) } catch { throw fail(error.description) }
        let count = contents.arrays[0].count, needed = c.architecture.parameterCount
        guard count == needed else { throw fail("\(count) parameters stored, the architecture needs \(needed)") }
        try header.validateIdentity(path: path)
        guard header.classNames.count == c.architecture.classCount else {
            throw fail("classNames must hold configuration.architecture.classCount = \(c.architecture.classCount) names, got \(header.classNames.count)")
        }
        let state = try header.state(contents, settings: c.loop, optimizer: c.makeOptimizer(), path: path,
                                     make: { ConvParameters(architecture: c.architecture, values: $0) },
                                     checkShape: { s throws(StateInconsistency) in try s.checkShape(c.architecture) })
        self.init(configuration: c, state: state, datasetName: header.datasetName, datasetSHA256: header.datasetSHA256,
                  classNames: header.classNames)
        do { _ = try ModelWriter.encode(try modelFile()) } catch {
            throw fail("its model cannot be written (\(error)); check classNames and datasetSHA256")
        }
    }

    package static func read(from path: String) throws(TrainingError) -> ConvCheckpoint {
        try ConvCheckpoint(decoding: try readFile(path, limit: CheckpointFile.maximumFileBytes), path: path)
    }

    package func write(to path: String) throws(TrainingError) {
        try writeFileAtomically(try encoded(), to: path)
    }

    /// The checks a resume makes against the data: the same files, shapes and counters.
    package func validate(against data: TrainingData, path: String) throws(TrainingError) {
        guard data.sha256 == datasetSHA256 else {
            throw .dataMismatch("the checkpoint was trained on \(datasetName) with different files (SHA-256 differs); pass the same --dataset/--data")
        }
        let a = configuration.architecture, train = data.train
        if !(a.channels == 1 && a.height == train.height && a.width == train.width) {
            throw .invalidCheckpoint(path: path, reason: "configuration.architecture is for \(a.channels)x\(a.height)x\(a.width) images, the data's are 1x\(train.height)x\(train.width)")
        }
        try checkClassNames(classNames, against: data.classNames, path: path)
        do { try state.validate(configuration.loop, trainCount: train.count) } catch {
            throw .invalidCheckpoint(path: path, reason: error.reason)
        }
    }

    /// The model of the run's result (the best epoch's weights when the run keeps them), format 1.4.
    package func modelFile(metrics extra: [String: Double] = [:], time: ProvenanceTime = .unstated,
                           dtype: DType = .f32) throws(TrainingError) -> ModelFile {
        var metrics = state.provenanceMetrics(extra)
        if state.best != nil, let last = state.resultRecord, extra["result_epoch"] == nil { metrics["result_epoch"] = Double(last.epoch) }
        var provenance = Provenance(producer: "rnn-train", producerVersion: trainerVersion, datasetName: datasetName,
                                    datasetSHA256: datasetSHA256, hyperparameters: configuration.provenanceHyperparameters,
                                    seed: configuration.seed, metrics: metrics)
        time.stamp(&provenance)
        return try state.result.modelFile(labels: classNames, provenance: provenance, dtype: dtype)
    }
}
