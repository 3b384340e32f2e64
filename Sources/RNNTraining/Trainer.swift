#if canImport(Glibc)
import RNNCore
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that changes during a run; a checkpoint stores exactly this plus the configuration.
package struct TrainingState: Sendable, Equatable {
    /// The weights, in layout order.
    package var parameters: LSTMParameters<Float>
    /// Adam's moments and step count.
    package var optimizer: AdamOptimizer
    /// The epoch in progress (0-based).
    package var epoch: Int = 0
    /// The next batch of that epoch.
    package var stepInEpoch: Int = 0
    /// Steps completed over the whole run.
    package var globalStep: Int = 0
    /// Sums over the epoch in progress (so that a run resumed mid-epoch reports the same numbers).
    package var epochLossSum: Double = 0
    /// Correct predictions so far in the epoch in progress.
    package var epochCorrect: Int = 0
    /// Images seen so far in the epoch in progress.
    package var epochSeen: Int = 0
    /// Seconds spent so far in the epoch in progress.
    package var epochSeconds: Double = 0
    /// Finished epochs.
    package var history: [EpochRecord] = []
    /// Seconds spent training so far, over all sessions.
    package var trainSeconds: Double = 0

    /// The state before the first step: freshly initialized weights, zero optimizer moments.
    package init(configuration: TrainingConfiguration) {
        parameters = LSTMParameters(architecture: configuration.architecture, seed: configuration.seed,
                                    scheme: configuration.initialization)
        optimizer = AdamOptimizer(parameterCount: parameters.values.count, beta1: configuration.beta1,
                                  beta2: configuration.beta2, epsilon: configuration.epsilon)
    }

    /// A state at step 0 with the given weights and optimizer.
    package init(parameters: LSTMParameters<Float>, optimizer: AdamOptimizer) {
        self.parameters = parameters
        self.optimizer = optimizer
    }
}

/// What the trainer reports while it runs.
package enum TrainingEvent: Sendable {
    /// A step finished. Loss and accuracy are running means over the epoch so far.
    case step(StepProgress)
    /// An epoch finished and was evaluated on the validation set.
    case epoch(EpochRecord)
}

/// Progress of the epoch in progress.
package struct StepProgress: Sendable {
    /// The epoch in progress (0-based).
    package var epoch: Int
    /// Epochs of the run.
    package var epochs: Int
    /// Steps done in this epoch.
    package var stepInEpoch: Int
    /// Steps per epoch.
    package var stepsInEpoch: Int
    /// Steps done in the run.
    package var globalStep: Int
    /// Steps of the run.
    package var totalSteps: Int
    /// Mean training loss over the epoch so far.
    package var loss: Double
    /// Training accuracy over the epoch so far.
    package var accuracy: Double
    /// Training throughput of this session.
    package var imagesPerSecond: Double
    /// The learning rate of the last step.
    package var learningRate: Float
    /// Seconds left for the whole run at the current speed (evaluation not included).
    package var secondsRemaining: Double
}

/// How a call to ``Trainer/run(_:events:shouldStop:checkpoint:)`` ended.
package enum TrainingOutcome: Sendable, Equatable {
    /// All epochs (or ``TrainingConfiguration/maximumSteps``) are done.
    case finished
    /// `shouldStop` returned true; the state is consistent and can be checkpointed and resumed.
    case interrupted
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Mini-batch training: shuffle, forward, BPTT, clip, Adam, per-epoch validation.
package final class Trainer {
    /// The validated settings.
    package let configuration: TrainingConfiguration
    /// The data set, split.
    package let data: TrainingData
    let engine: GradientEngine<Float>
    let evaluator: Evaluator
    let plan: LearningRatePlan

    /// Checks the configuration against the data and allocates the buffers. `kernel` is the fused
    /// kernel variant of the float32 passes (``FusedStep``; `.none` for BLAS only); the same seed,
    /// threads and kernel give bitwise identical weights.
    package init(configuration: TrainingConfiguration, data: TrainingData, kernel: KernelISA = .detected) throws(TrainingError) {
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
        plan = LearningRatePlan(base: configuration.learningRate, schedule: configuration.schedule,
                                totalSteps: Self.totalSteps(configuration, trainCount: data.train.count),
                                warmupSteps: configuration.warmupSteps)
    }

    /// Batches per epoch (the last one may be smaller).
    package var stepsPerEpoch: Int { (data.train.count + configuration.batchSize - 1) / configuration.batchSize }

    static func totalSteps(_ c: TrainingConfiguration, trainCount: Int) -> Int {
        let perEpoch = (trainCount + c.batchSize - 1) / c.batchSize
        return min(c.maximumSteps ?? Int.max, perEpoch * c.epochs)
    }

    /// Steps of the whole run.
    package var totalSteps: Int { plan.totalSteps }

    /// The order of the training images in `epoch`: a permutation drawn from a generator seeded
    /// by the run's seed and the epoch number alone, so that a resumed run (which knows only
    /// those) shuffles exactly as an uninterrupted one.
    package func order(epoch: Int) -> [Int] {
        var rng = Xoshiro256StarStar(seed: configuration.seed ^ (0xA076_1D64_78BD_642F &* UInt64(epoch + 1)))
        var order = Array(0..<data.train.count)
        rng.shuffle(&order)
        return order
    }

    /// Trains from `state` until the run is finished or `shouldStop()` returns true (checked after
    /// every step). A `state` no run of this configuration on this data reaches is refused with
    /// ``TrainingError/invalidState(_:)`` before any step. `checkpoint` is called after every epoch with the state at that point.
    package func run(
        _ state: inout TrainingState,
        events: (TrainingEvent) -> Void = { _ in },
        shouldStop: () -> Bool = { false },
        checkpoint: (TrainingState) throws(TrainingError) -> Void = { _ in }
    ) throws(TrainingError) -> TrainingOutcome {
        let c = configuration, perEpoch = stepsPerEpoch, total = totalSteps
        // A state from elsewhere (a checkpoint, a caller) must be one a run of this configuration
        // on this data can reach: a stepInEpoch past the epoch would slice past the order below.
        do {
            try state.validate(configuration: c)
            try state.validate(configuration: c, trainCount: data.train.count)
        } catch { throw .invalidState(error.reason) }
        var gradient = [Float](repeating: 0, count: state.parameters.values.count)
        let sessionStart = now()
        var sessionSteps = 0
        while state.globalStep < total && state.epoch < c.epochs {
            let order = self.order(epoch: state.epoch)
            var stepStart = now()
            while state.stepInEpoch < perEpoch && state.globalStep < total {
                let start = state.stepInEpoch * c.batchSize
                let indices = order[start..<min(order.count, start + c.batchSize)]
                let rate = plan.rate(at: state.globalStep)
                let (loss, correct) = step(&state, indices: indices, learningRate: rate, gradient: &gradient)
                guard loss.isFinite else { throw .diverged(step: state.globalStep) }
                let finished = now()
                state.epochSeconds += finished - stepStart
                state.trainSeconds += finished - stepStart
                stepStart = finished
                state.epochLossSum += loss
                state.epochCorrect += correct
                state.epochSeen += indices.count
                state.stepInEpoch += 1
                state.globalStep += 1
                sessionSteps += 1
                let elapsed = finished - sessionStart
                let speed = Double(sessionSteps * c.batchSize) / max(elapsed, 1e-9)
                events(.step(StepProgress(
                    epoch: state.epoch, epochs: c.epochs, stepInEpoch: state.stepInEpoch, stepsInEpoch: perEpoch,
                    globalStep: state.globalStep, totalSteps: total,
                    loss: state.epochLossSum / Double(state.epochSeen),
                    accuracy: Double(state.epochCorrect) / Double(state.epochSeen),
                    imagesPerSecond: speed, learningRate: rate,
                    secondsRemaining: elapsed / Double(sessionSteps) * Double(total - state.globalStep))))
                if shouldStop() && state.stepInEpoch < perEpoch && state.globalStep < total { return .interrupted }
            }
            finishEpoch(&state)
            events(.epoch(state.history.last!))
            try checkpoint(state)
            if shouldStop() && state.globalStep < total { return .interrupted }
        }
        return .finished
    }

    /// Evaluates on the validation set, records the epoch and moves to the next one.
    func finishEpoch(_ state: inout TrainingState) {
        let validation = data.validation.count > 0
            ? evaluator.evaluate(parameters: state.parameters, on: data.validation)
            : EvaluationResult(loss: .nan, accuracy: .nan, count: 0)
        state.history.append(EpochRecord(
            epoch: state.epoch + 1, trainLoss: state.epochLossSum / Double(max(1, state.epochSeen)),
            trainAccuracy: Double(state.epochCorrect) / Double(max(1, state.epochSeen)),
            validationLoss: validation.loss, validationAccuracy: validation.accuracy,
            seconds: state.epochSeconds, learningRate: Double(plan.rate(at: max(0, state.globalStep - 1))),
            steps: state.stepInEpoch))
        state.epoch += 1
        state.stepInEpoch = 0
        state.epochLossSum = 0
        state.epochCorrect = 0
        state.epochSeen = 0
        state.epochSeconds = 0
    }

    /// One optimizer step on `indices`; returns the summed loss and correct count of the batch.
    func step(_ state: inout TrainingState, indices: ArraySlice<Int>, learningRate: Float, gradient: inout [Float]) -> (Double, Int) {
        let result = state.parameters.values.withUnsafeBufferPointer { p in
            data.train.pixels.withUnsafeBufferPointer { pixels in
                data.train.labels.withUnsafeBufferPointer { labels in
                    gradient.withUnsafeMutableBufferPointer { g in
                        engine.lossAndGradient(parameters: p, source: .images(pixels, scale: pixelScale),
                                               labels: labels, indices: indices, gradient: g)
                    }
                }
            }
        }
        clipGradientNorm(&gradient, maximum: configuration.clipNorm)
        state.optimizer.update(parameters: &state.parameters.values, gradient: gradient, learningRate: learningRate)
        return result
    }

    /// Accuracy and loss of `parameters` on `set`.
    package func evaluate(_ parameters: LSTMParameters<Float>, on set: LabeledPixels) -> EvaluationResult {
        evaluator.evaluate(parameters: parameters, on: set)
    }
}
