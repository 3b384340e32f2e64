import RNNSupport

/// Weights the shared loop trains: a flat binary32 vector that Adam updates in place.
package protocol TrainableWeights: Sendable, Equatable {
    /// The parameters, in the model's layout order.
    var values: [Float] { get set }
}

extension LSTMParameters: TrainableWeights where Scalar == Float {}

/// Everything that changes during a run, whatever the model; a checkpoint stores exactly this plus
/// the run's settings and data identity.
package struct RunState<Weights: TrainableWeights>: Sendable, Equatable {
    /// The weights, in layout order.
    package var parameters: Weights
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
    /// Examples seen so far in the epoch in progress.
    package var epochSeen: Int = 0
    /// Seconds spent so far in the epoch in progress.
    package var epochSeconds: Double = 0
    /// Finished epochs.
    package var history: [EpochRecord] = []
    /// Seconds spent training so far, over all sessions.
    package var trainSeconds: Double = 0
    /// For a run that keeps its best epoch (``LoopSettings/keepsBestEpoch``): the weights after the
    /// best finished epoch (``bestEpoch``). Nil before the first epoch ends, and always for other runs.
    package var best: Weights? = nil
    /// The 1-based number of the epoch whose weights ``best`` holds: the highest validation accuracy,
    /// ties broken by the lower validation loss, then by the earlier epoch. Nil exactly when `best` is.
    package var bestEpoch: Int? = nil

    /// A state at step 0 with the given weights and optimizer.
    package init(parameters: Weights, optimizer: AdamOptimizer) {
        self.parameters = parameters
        self.optimizer = optimizer
    }

    /// The weights the run ends with: its best epoch's when it keeps them, else the latest.
    package var result: Weights { best ?? parameters }

    /// Finished epochs since the best one (0 without one): what early stopping compares with
    /// ``LoopSettings/patience``.
    package var epochsSinceImprovement: Int { bestEpoch.map { epoch - $0 } ?? 0 }

    /// The record of the epoch whose weights ``result`` holds: the best epoch's when the run keeps
    /// it, else the last finished epoch's.
    package var resultRecord: EpochRecord? {
        guard best != nil, let n = bestEpoch, history.indices.contains(n - 1) else { return history.last }
        return history[n - 1]
    }
}

extension EpochRecord {
    /// Whether this epoch's validation is better than `other`'s: a higher accuracy, or the same
    /// accuracy and a lower loss (accuracy moves in steps of one image; the loss breaks ties by how
    /// confident the model is). An equal epoch is not better, so the earlier of equals stays.
    package func validatesBetter(than other: EpochRecord) -> Bool {
        validationAccuracy > other.validationAccuracy
            || (validationAccuracy == other.validationAccuracy && validationLoss < other.validationLoss)
    }
}

/// The state of an image run (`dense_in -> lstm... -> dense_out`).
package typealias TrainingState = RunState<LSTMParameters<Float>>

extension RunState where Weights == LSTMParameters<Float> {
    /// The state before the first step: freshly initialized weights, zero optimizer moments.
    package init(configuration: TrainingConfiguration) {
        let parameters = LSTMParameters<Float>(architecture: configuration.architecture, seed: configuration.seed,
                                               scheme: configuration.initialization)
        self.init(parameters: parameters, optimizer: configuration.makeOptimizer())
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
    /// Training throughput of this session (images or reviews per second).
    package var examplesPerSecond: Double
    /// The learning rate of the last step.
    package var learningRate: Float
    /// Seconds left for the whole run at the current speed (evaluation not included).
    package var secondsRemaining: Double
}

/// How a call to ``TrainingLoop/run(_:events:shouldStop:checkpoint:)`` ended.
package enum TrainingOutcome: Sendable, Equatable {
    /// All epochs (or the step limit) are done.
    case finished
    /// `shouldStop` returned true; the state is consistent and can be checkpointed and resumed.
    case interrupted
}

/// The settings the loop reads, the same for every model (each configuration provides its own:
/// ``TrainingConfiguration/loop``, ``TextTrainingConfiguration/loop``).
package struct LoopSettings: Sendable, Equatable {
    /// Examples per step.
    package var batchSize: Int
    /// Passes over the training examples.
    package var epochs: Int
    /// If set, the run stops after this many steps, even within an epoch.
    package var maximumSteps: Int?
    /// Maximum gradient L2 norm; 0 disables clipping.
    package var clipNorm: Float
    /// Examples held out for validation; without any, an epoch's validation figures are NaN.
    package var validationCount: Int
    /// Whether the run ends with the weights of its best validation epoch (``RunState/best``)
    /// rather than its last (text runs with validation examples, image runs with ``patience``).
    package var keepsBestEpoch: Bool
    /// Early stopping: with ``keepsBestEpoch``, the run ends once this many epochs have finished
    /// since the best one (``RunState/epochsSinceImprovement``); nil: every epoch runs.
    package var patience: Int? = nil

    /// Whether `state` is a run that early stopping has ended.
    package func stoppedEarly<W>(_ state: RunState<W>) -> Bool {
        guard keepsBestEpoch, let p = patience, state.bestEpoch != nil else { return false }
        return state.epochsSinceImprovement >= p
    }

    /// Batches per epoch of `trainCount` examples (the last one may be smaller).
    package func stepsPerEpoch(trainCount: Int) -> Int { (trainCount + batchSize - 1) / batchSize }

    /// Steps of the whole run on `trainCount` examples.
    package func totalSteps(trainCount: Int) -> Int {
        min(maximumSteps ?? Int.max, stepsPerEpoch(trainCount: trainCount) * epochs)
    }
}

/// What one kind of model brings to the shared loop: its examples, their order per epoch, the
/// gradient of a batch and the validation. Everything else (schedule, clipping, Adam, counters,
/// validation records, the best epoch, checkpoints, interruption, progress) is the loop's.
package protocol TrainingTask: AnyObject {
    associatedtype Weights: TrainableWeights
    /// Training examples.
    var trainCount: Int { get }
    /// The order of the training examples in `epoch`: a function of the run's seed and the epoch
    /// alone, so that a resumed run (which knows only those) shuffles exactly as an uninterrupted one.
    func order(epoch: Int) -> [Int]
    /// The summed loss and the number of correct predictions over the examples `indices`, and the
    /// gradient of their mean loss into `gradient` (layout order, overwritten). `step` is the run's
    /// step, for what a step draws at random (dropout masks).
    func lossAndGradient(_ parameters: Weights, indices: ArraySlice<Int>, step: Int,
                         gradient: inout [Float]) -> (loss: Double, correct: Int)
    /// Loss and accuracy on the validation examples; NaN figures (count 0) without any.
    func validate(_ parameters: Weights) -> EvaluationResult
    /// Throws unless the state's weights, optimizer moments and best weights have this model's shape.
    func checkShape(of state: RunState<Weights>) throws(StateInconsistency)
}

/// The one epoch/step loop of every training run: per epoch the task's order, per step a batch, its
/// gradient, clipping, the learning-rate plan and an Adam(W) update; after every epoch the validation
/// record, the best epoch (when kept), the checkpoint callback and early stopping (``LoopSettings/patience``);
/// `shouldStop` after every step.
/// Images (``Trainer``) and texts (``TextTrainer``) differ only in their ``TrainingTask``.
package final class TrainingLoop<Task: TrainingTask> {
    /// The model's batches and gradient.
    package let task: Task
    /// Batch size, epochs, step limit, clipping, validation, best epoch.
    package let settings: LoopSettings
    /// The learning rate at every step.
    package let plan: LearningRatePlan

    /// A loop over `task` with `settings`; `plan` gives the learning rates of a run of `totalSteps` steps.
    package init(task: Task, settings: LoopSettings, plan: (_ totalSteps: Int) -> LearningRatePlan) {
        self.task = task
        self.settings = settings
        self.plan = plan(settings.totalSteps(trainCount: task.trainCount))
    }

    /// Batches per epoch (the last one may be smaller).
    package var stepsPerEpoch: Int { settings.stepsPerEpoch(trainCount: task.trainCount) }

    /// Steps of the whole run.
    package var totalSteps: Int { plan.totalSteps }

    /// The order of the training examples in `epoch` (``TrainingTask/order(epoch:)``).
    package func order(epoch: Int) -> [Int] { task.order(epoch: epoch) }

    /// Trains from `state` until the run is finished (all epochs, the step limit, or early stopping:
    /// ``LoopSettings/stoppedEarly(_:)``) or `shouldStop()` returns true (checked after
    /// every step). A `state` no run of these settings on this data reaches is refused with
    /// ``TrainingError/invalidState(_:)`` before any step. `checkpoint` is called after every epoch
    /// with the state at that point.
    package func run(
        _ state: inout RunState<Task.Weights>,
        events: (TrainingEvent) -> Void = { _ in },
        shouldStop: () -> Bool = { false },
        checkpoint: (RunState<Task.Weights>) throws(TrainingError) -> Void = { _ in }
    ) throws(TrainingError) -> TrainingOutcome {
        let s = settings, perEpoch = stepsPerEpoch, total = totalSteps
        // A state from elsewhere (a checkpoint, a caller) must be one a run of these settings on this
        // data can reach: a stepInEpoch past the epoch would slice past the order below.
        do {
            try task.checkShape(of: state)
            try state.validate(s)
            try state.validate(s, trainCount: task.trainCount)
        } catch { throw .invalidState(error.reason) }
        var gradient = [Float](repeating: 0, count: state.parameters.values.count)
        let sessionStart = monotonicSeconds()
        var sessionSteps = 0
        while state.globalStep < total && state.epoch < s.epochs && !s.stoppedEarly(state) {
            let order = task.order(epoch: state.epoch)
            var stepStart = monotonicSeconds()
            while state.stepInEpoch < perEpoch && state.globalStep < total {
                let start = state.stepInEpoch * s.batchSize
                let indices = order[start..<min(order.count, start + s.batchSize)]
                let rate = plan.rate(at: state.globalStep)
                let (loss, correct) = task.lossAndGradient(state.parameters, indices: indices, step: state.globalStep,
                                                           gradient: &gradient)
                guard loss.isFinite else { throw .diverged(step: state.globalStep) }
                clipGradientNorm(&gradient, maximum: s.clipNorm)
                state.optimizer.update(parameters: &state.parameters.values, gradient: gradient, learningRate: rate)
                let finished = monotonicSeconds()
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
                let speed = Double(sessionSteps * s.batchSize) / max(elapsed, 1e-9)
                events(.step(StepProgress(
                    epoch: state.epoch, epochs: s.epochs, stepInEpoch: state.stepInEpoch, stepsInEpoch: perEpoch,
                    globalStep: state.globalStep, totalSteps: total,
                    loss: state.epochLossSum / Double(state.epochSeen),
                    accuracy: Double(state.epochCorrect) / Double(state.epochSeen),
                    examplesPerSecond: speed, learningRate: rate,
                    secondsRemaining: elapsed / Double(sessionSteps) * Double(total - state.globalStep))))
                if shouldStop() && state.stepInEpoch < perEpoch && state.globalStep < total { return .interrupted }
            }
            finishEpoch(&state)
            events(.epoch(state.history.last!))
            try checkpoint(state)
            if shouldStop() && state.globalStep < total && state.epoch < s.epochs && !s.stoppedEarly(state) {
                return .interrupted
            }
        }
        return .finished
    }

    /// Evaluates on the validation examples, records the epoch, keeps its weights if it is the best
    /// so far (when the run keeps its best epoch, ``EpochRecord/validatesBetter(than:)``), and moves
    /// to the next epoch.
    func finishEpoch(_ state: inout RunState<Task.Weights>) {
        let validation = task.validate(state.parameters)
        let record = EpochRecord(
            epoch: state.epoch + 1, trainLoss: state.epochLossSum / Double(max(1, state.epochSeen)),
            trainAccuracy: Double(state.epochCorrect) / Double(max(1, state.epochSeen)),
            validationLoss: validation.loss, validationAccuracy: validation.accuracy,
            seconds: state.epochSeconds, learningRate: Double(plan.rate(at: max(0, state.globalStep - 1))),
            steps: state.stepInEpoch)
        state.history.append(record)
        if settings.keepsBestEpoch && validation.count > 0
            && state.bestEpoch.map({ record.validatesBetter(than: state.history[$0 - 1]) }) ?? true {
            state.best = state.parameters
            state.bestEpoch = record.epoch
        }
        state.epoch += 1
        state.stepInEpoch = 0
        state.epochLossSum = 0
        state.epochCorrect = 0
        state.epochSeen = 0
        state.epochSeconds = 0
    }
}
