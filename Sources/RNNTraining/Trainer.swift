import RNNCore

/// The image classifier's part of a run (`dense_in -> lstm... -> dense_out` on u8 images read row by
/// row): its batches, its gradient engine and its validation, for ``TrainingLoop``.
package final class ImageTask: TrainingTask {
    /// The validated settings.
    package let configuration: TrainingConfiguration
    /// The data set, split.
    package let data: TrainingData
    let engine: GradientEngine<Float>
    let evaluator: Evaluator

    /// Checks the configuration against the data and allocates the buffers.
    init(configuration: TrainingConfiguration, data: TrainingData, kernel: KernelISA) throws(TrainingError) {
        try configuration.validate()
        let a = configuration.architecture
        guard data.train.count > 0 else { throw .dataMismatch("no training images") }
        for set in [data.train, data.validation, data.test] where set.count > 0 {
            guard set.width == a.inputSize else {
                throw .dataMismatch("images are \(set.height)x\(set.width); the model expects rows of \(a.inputSize) pixels")
            }
            guard set.height == data.train.height else { throw .dataMismatch("image heights differ: \(set.height) vs \(data.train.height)") }
            if let bad = set.labels.firstIndex(where: { $0 < 0 || $0 >= a.classCount }) {
                throw .dataMismatch("label \(set.labels[bad]) of image \(bad) is outside 0..<\(a.classCount)")
            }
        }
        self.configuration = configuration
        self.data = data
        engine = GradientEngine(architecture: a, timeSteps: data.train.height,
                                batchCapacity: configuration.batchSize, workerCount: configuration.threads, kernel: kernel)
        evaluator = Evaluator(architecture: a, timeSteps: data.train.height, threads: configuration.threads, kernel: kernel)
        batch = AugmentedBatch(capacity: configuration.augmentation == nil ? 0 : configuration.batchSize,
                               height: data.train.height, width: data.train.width)
    }

    package var trainCount: Int { data.train.count }

    /// A permutation drawn from a generator seeded by the run's seed and the epoch number alone.
    package func order(epoch: Int) -> [Int] {
        seededOrder(count: data.train.count, seed: configuration.seed, epoch: epoch)
    }

    /// The training images of an augmented step (``TrainingConfiguration/augmentation``).
    var batch: AugmentedBatch

    package func lossAndGradient(_ parameters: LSTMParameters<Float>, indices: ArraySlice<Int>, step: Int,
                                 gradient: inout [Float]) -> (loss: Double, correct: Int) {
        guard let augmentation = configuration.augmentation else {
            return lossAndGradient(parameters, pixels: data.train.pixels, labels: data.train.labels, indices: indices, step: step,
                                   gradient: &gradient)
        }
        batch.fill(from: data.train, indices: indices, augmentation: augmentation, seed: configuration.seed, step: step)
        return lossAndGradient(parameters, pixels: batch.pixels, labels: batch.labels, indices: Array(0..<batch.count)[...],
                               step: step, gradient: &gradient)
    }

    /// The gradient of the images `indices` of `pixels` (the training set's, or an augmented batch's);
    /// `step` seeds the dropout masks.
    func lossAndGradient(_ parameters: LSTMParameters<Float>, pixels: [UInt8], labels: [Int], indices: ArraySlice<Int>,
                         step: Int, gradient: inout [Float]) -> (loss: Double, correct: Int) {
        parameters.values.withUnsafeBufferPointer { p in
            pixels.withUnsafeBufferPointer { pixels in
                labels.withUnsafeBufferPointer { labels in
                    gradient.withUnsafeMutableBufferPointer { g in
                        engine.lossAndGradient(parameters: p, source: .images(pixels, scale: pixelScale),
                                               labels: labels, indices: indices, gradient: g,
                                               dropout: configuration.dropout.map { ($0, configuration.seed, step) })
                    }
                }
            }
        }
    }

    package func validate(_ parameters: LSTMParameters<Float>) -> EvaluationResult {
        data.validation.count > 0
            ? evaluator.evaluate(parameters: parameters, on: data.validation)
            : .none
    }

    package func checkShape(of state: TrainingState) throws(StateInconsistency) {
        try state.checkShape(configuration.architecture)
    }
}

/// Mini-batch training of the image classifier: the shared loop over an ``ImageTask``.
package typealias Trainer = TrainingLoop<ImageTask>

extension TrainingLoop where Task == ImageTask {
    /// Checks the configuration against the data and allocates the buffers. `kernel` is the fused
    /// kernel variant of the float32 passes (``FusedStep``; `.none` for BLAS only); the same seed,
    /// threads and kernel give bitwise identical weights.
    package convenience init(configuration: TrainingConfiguration, data: TrainingData,
                             kernel: KernelISA = .detected) throws(TrainingError) {
        let task = try ImageTask(configuration: configuration, data: data, kernel: kernel)
        self.init(task: task, settings: configuration.loop, plan: configuration.learningRatePlan(totalSteps:))
    }

    /// The validated settings.
    package var configuration: TrainingConfiguration { task.configuration }
    /// The data set, split.
    package var data: TrainingData { task.data }

    /// Accuracy and loss of `parameters` on `set`.
    package func evaluate(_ parameters: LSTMParameters<Float>, on set: LabeledPixels) -> EvaluationResult {
        task.evaluator.evaluate(parameters: parameters, on: set)
    }
}

/// A permutation of `0..<count` drawn from a generator seeded by `seed` and `epoch` alone (the
/// order of an image or feature-sequence run's epoch, ``TrainingTask/order(epoch:)``).
func seededOrder(count: Int, seed: UInt64, epoch: Int) -> [Int] {
    var rng = Xoshiro256StarStar(seed: seed ^ (0xA076_1D64_78BD_642F &* UInt64(epoch + 1)))
    var order = Array(0..<count)
    rng.shuffle(&order)
    return order
}
