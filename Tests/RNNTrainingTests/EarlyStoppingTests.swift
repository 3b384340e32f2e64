import Foundation
import Testing
@testable import RNNTraining

/// Early stopping (`--patience`) and the best epoch's weights, on the shared loop.
@Suite struct EarlyStoppingTests {
    /// Weights of the scripted task: one value, which counts the steps (the gradient is -1 and
    /// plain SGD-like Adam moves it by the learning rate each step).
    struct Counter: TrainableWeights {
        var values: [Float]
    }

    /// A task whose validation after epoch `e` is `script[e - 1]`, whatever the weights: the loop's
    /// bookkeeping, free of any model.
    final class ScriptedTask: TrainingTask {
        let script: [(accuracy: Double, loss: Double)]
        var validations = 0
        init(_ script: [(Double, Double)]) { self.script = script.map { (accuracy: $0.0, loss: $0.1) } }
        var trainCount: Int { 4 }
        func order(epoch: Int) -> [Int] { [0, 1, 2, 3] }
        func lossAndGradient(_ parameters: Counter, indices: ArraySlice<Int>, step: Int, gradient: inout [Float]) -> (loss: Double, correct: Int) {
            gradient = [-1]
            return (Double(indices.count), 0)
        }
        func validate(_ parameters: Counter) -> EvaluationResult {
            validations += 1
            let r = script[validations - 1]
            return EvaluationResult(loss: r.loss, accuracy: r.accuracy, count: 10)
        }
        func checkShape(of state: RunState<Counter>) throws(StateInconsistency) {}
    }

    static func run(_ script: [(Double, Double)], patience: Int?, epochs: Int? = nil)
        throws -> (RunState<Counter>, ScriptedTask, [[Float]]) {
        let task = ScriptedTask(script)
        let settings = LoopSettings(batchSize: 2, epochs: epochs ?? script.count, maximumSteps: nil, clipNorm: 0,
                                    validationCount: 10, keepsBestEpoch: patience != nil, patience: patience)
        let loop = TrainingLoop(task: task, settings: settings) { LearningRatePlan(base: 0.1, schedule: .constant, totalSteps: $0, warmupSteps: 0) }
        var state = RunState(parameters: Counter(values: [0]), optimizer: AdamOptimizer(parameterCount: 1))
        var afterEpoch: [[Float]] = []
        #expect(try loop.run(&state, checkpoint: { afterEpoch.append($0.parameters.values) }) == .finished)
        return (state, task, afterEpoch)
    }

    @Test func theRunStopsPatienceEpochsAfterItsBestAndEndsWithItsWeights() throws {
        // Epoch 3 ties epoch 2's accuracy with a lower loss (better); 4 and 5 are not better (5 ties
        // with a higher loss): with patience 2 the run ends after epoch 5 of 8 with epoch 3's weights.
        let script = [(0.5, 1.0), (0.7, 0.8), (0.7, 0.6), (0.6, 0.5), (0.7, 0.7), (0.9, 0.1), (0.9, 0.1), (0.9, 0.1)]
        let (state, task, afterEpoch) = try Self.run(script, patience: 2)
        #expect(task.validations == 5 && state.epoch == 5 && state.history.count == 5 && state.globalStep == 10)
        #expect(state.bestEpoch == 3 && state.epochsSinceImprovement == 2)
        #expect(state.best?.values == afterEpoch[2] && state.result.values == afterEpoch[2])
        #expect(state.parameters.values == afterEpoch[4] && afterEpoch[2] != afterEpoch[4])
        #expect(state.resultRecord == state.history[2])
    }

    @Test func withoutPatienceEveryEpochRuns() throws {
        let script = [(0.5, 1.0), (0.4, 1.0), (0.3, 1.0), (0.2, 1.0)]
        let (state, _, afterEpoch) = try Self.run(script, patience: nil)
        #expect(state.epoch == 4 && state.best == nil && state.bestEpoch == nil && state.result.values == afterEpoch[3])
        // A run that keeps its best epoch but has patience to spare also runs them all.
        let (kept, _, _) = try Self.run(script, patience: 10)
        #expect(kept.epoch == 4 && kept.bestEpoch == 1 && kept.epochsSinceImprovement == 3)
    }

    /// A run that early stopping ended stays ended: running its state again trains nothing.
    @Test func aStoppedRunDoesNotContinue() throws {
        let script = [(0.5, 1.0), (0.4, 1.0), (0.4, 1.0), (0.9, 0.1)]
        let (state, _, _) = try Self.run(script, patience: 2)
        #expect(state.epoch == 3 && state.bestEpoch == 1)
        let task = ScriptedTask(script)
        let settings = LoopSettings(batchSize: 2, epochs: 4, maximumSteps: nil, clipNorm: 0, validationCount: 10,
                                    keepsBestEpoch: true, patience: 2)
        let loop = TrainingLoop(task: task, settings: settings) { LearningRatePlan(base: 0.1, schedule: .constant, totalSteps: $0, warmupSteps: 0) }
        var again = state
        #expect(try loop.run(&again) == .finished)
        #expect(again == state && task.validations == 0)
    }

    @Test func patienceNeedsValidationImages() {
        var c = tinyConfiguration()
        c.patience = 3
        c.validationCount = 0
        #expect(throws: TrainingError.invalidHyperparameter("--patience must be used with validation images (validationCount above 0), got 3 with validationCount 0")) {
            try c.validate()
        }
        c.validationCount = 30
        c.patience = 0
        #expect(throws: TrainingError.invalidHyperparameter("--patience must be in 1...10000, got 0")) { try c.validate() }
    }

    /// An image run with every new setting, interrupted mid-epoch and at an epoch's end through a
    /// file each time, ends exactly as the uninterrupted run: weights, best weights, best epoch.
    @Test func resumingARunWithDecayAugmentationAndPatienceIsExact() throws {
        let data = syntheticTrainingData()
        var c = tinyConfiguration()
        c.epochs = 5
        c.weightDecay = 0.05
        c.augmentation = .shift
        c.patience = 2
        let straight = try Trainer(configuration: c, data: data)
        var uninterrupted = TrainingState(configuration: c)
        _ = try straight.run(&uninterrupted)
        #expect(uninterrupted.best != nil && uninterrupted.bestEpoch != nil)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-es-\(getpid()).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var state = TrainingState(configuration: c)
        for stopAt in [9, 12] {
            let trainer = try Trainer(configuration: c, data: data)
            var steps = state.globalStep
            #expect(try trainer.run(&state, shouldStop: { steps += 1; return steps >= stopAt }) == .interrupted)
            let file = checkpoint(trainer, state)
            #expect(file.version == 2)
            try file.write(to: path)
            let read = try Checkpoint.read(from: path)
            #expect(read == file)
            state = read.state
        }
        #expect(state.bestEpoch != nil)
        let resumed = try Trainer(configuration: c, data: data)
        #expect(try resumed.run(&state) == .finished)
        #expect(state.parameters.values.map(\.bitPattern) == uninterrupted.parameters.values.map(\.bitPattern))
        #expect(state.best == uninterrupted.best && state.bestEpoch == uninterrupted.bestEpoch && state.epoch == uninterrupted.epoch)
        #expect(state.optimizer == uninterrupted.optimizer)
        #expect(state.history.map(\.trainLoss) == uninterrupted.history.map(\.trainLoss))
        #expect(state.history.map(\.validationAccuracy) == uninterrupted.history.map(\.validationAccuracy))
        // The export holds the best epoch's weights and its validation figures.
        let model = checkpoint(resumed, state).modelFile()
        #expect(try LSTMParameters<Float>(model: model) == state.result)
        let p = model.metadata.provenance
        #expect(p.metrics["validation_accuracy"] == state.resultRecord!.validationAccuracy)
        #expect(p.hyperparameters["weight_decay"] == .number(0.05) && p.hyperparameters["patience"] == .number(2))
        #expect(p.hyperparameters["optimizer"] == .string("adamw") && p.hyperparameters["augment"] == .string("shift"))
    }

    /// A checkpoint written before the best epoch was stored (no `bestEpoch`, no
    /// `epochsSinceImprovement`) still reads: its best epoch is the first with the highest accuracy.
    @Test func aCheckpointWithoutTheNewMembersStillReads() throws {
        var c = tinyConfiguration()
        c.patience = 3
        let trainer = try Trainer(configuration: c, data: syntheticTrainingData())
        var state = TrainingState(configuration: c)
        var steps = 0
        _ = try trainer.run(&state, shouldStop: { steps += 1; return steps == 15 })  // two epochs and two steps
        let bytes = try tampered(try checkpoint(trainer, state).encoded()) { header in
            header = setting(header, ["bestEpoch"], nil)
            header = setting(header, ["epochsSinceImprovement"], nil)
        }
        let read = try Checkpoint(decoding: bytes, path: "old.ckpt")
        let accuracies = state.history.map(\.validationAccuracy)
        #expect(read.state.bestEpoch == accuracies.firstIndex(of: accuracies.max()!)! + 1)
        #expect(read.state.best == state.best)
    }
}
