/// A training state that no run of ``TrainingLoop`` produces; `reason` names the field as the
/// checkpoint header does (spec/CHECKPOINT.md §4.2, §4.4).
package struct StateInconsistency: Error {
    package var reason: String
}

private func require(_ ok: Bool, _ reason: @autoclosure () -> String) throws(StateInconsistency) {
    if !ok { throw StateInconsistency(reason: reason()) }
}

extension RunState {
    /// What every state ``TrainingLoop/run(_:events:shouldStop:checkpoint:)`` leaves behind satisfies,
    /// whatever the data (spec/CHECKPOINT.md §4.2): optimizer moments and best weights the size of
    /// the weights, counters that are non-negative and agree with each other and the history, finite
    /// non-negative durations. The weights' own shape is the model's check (``TrainingTask/checkShape(of:)``).
    ///
    /// The checkpoint reader runs it on every file, and the loop on every state it is given, so that a
    /// tampered counter is refused instead of indexing past the epoch's order (a trap), making Adam's
    /// bias correction NaN ("training diverged") or reporting impossible accuracies.
    func validate(_ s: LoopSettings) throws(StateInconsistency) {
        let count = parameters.values.count
        try require(optimizer.firstMoment.count == count && optimizer.secondMoment.count == count,
                  "Adam holds \(optimizer.firstMoment.count) and \(optimizer.secondMoment.count) moments, expected \(count) each")

        // Counters: one optimizer update per step; finished epochs plus the one in progress make the run.
        try require((0...s.epochs).contains(epoch), "epoch must be in 0...\(s.epochs) (configuration.epochs), got \(epoch)")
        try require(stepInEpoch >= 0, "stepInEpoch must be at least 0, got \(stepInEpoch)")
        try require(globalStep >= 0, "globalStep must be at least 0, got \(globalStep)")
        if let m = s.maximumSteps {
            try require(globalStep <= m, "globalStep must be at most configuration.maximumSteps \(m), got \(globalStep)")
        }
        try require(optimizer.step == globalStep, "adamStep must equal globalStep \(globalStep) (one update per step), got \(optimizer.step)")
        try require(history.count == epoch, "history must hold one record per finished epoch (epoch \(epoch)), got \(history.count)")
        try require(trainSeconds.isFinite && trainSeconds >= 0, "trainSeconds must be finite and at least 0, got \(trainSeconds)")
        var finishedSteps = 0
        for (i, r) in history.enumerated() {
            let name = "history[\(i)]"
            try require(r.epoch == i + 1, "\(name).epoch must be \(i + 1), got \(r.epoch)")
            let left = globalStep - finishedSteps
            try require(r.steps >= 1 && r.steps <= left, "\(name).steps must be in 1...\(left) (what globalStep leaves), got \(r.steps)")
            finishedSteps += r.steps
            try require(r.trainLoss.isFinite && r.trainLoss >= 0, "\(name).trainLoss must be finite and at least 0, got \(r.trainLoss)")
            try require((0...1).contains(r.trainAccuracy), "\(name).trainAccuracy must be in 0...1, got \(r.trainAccuracy)")
            if s.validationCount == 0 {
                // No validation images: nothing was measured, and the trainer records NaN.
                try require(r.validationLoss.isNaN && r.validationAccuracy.isNaN,
                          "\(name).validationLoss and validationAccuracy must be NaN without validation images, got \(r.validationLoss) and \(r.validationAccuracy)")
            } else {
                try require(r.validationLoss.isFinite && r.validationLoss >= 0,
                          "\(name).validationLoss must be finite and at least 0, got \(r.validationLoss)")
                try require((0...1).contains(r.validationAccuracy), "\(name).validationAccuracy must be in 0...1, got \(r.validationAccuracy)")
            }
            try require(r.seconds.isFinite && r.seconds >= 0 && r.seconds <= trainSeconds,
                      "\(name).seconds must be in 0...\(trainSeconds) (trainSeconds), got \(r.seconds)")
            try require(r.learningRate.isFinite && r.learningRate >= 0, "\(name).learningRate must be finite and at least 0, got \(r.learningRate)")
        }
        // finishedSteps <= globalStep here, so the subtraction cannot overflow (an addition could).
        try require(globalStep - finishedSteps == stepInEpoch,
                  "globalStep must be the history's \(finishedSteps) steps plus stepInEpoch \(stepInEpoch), got \(globalStep)")

        // The epoch in progress: every batch before the last of an epoch is full, and the trainer
        // never stops after an epoch's last batch without finishing the epoch.
        let (seen, overflow) = stepInEpoch.multipliedReportingOverflow(by: s.batchSize)
        try require(!overflow && epochSeen == seen,
                  "epochSeen must be stepInEpoch × configuration.batchSize = \(overflow ? "(overflow)" : "\(seen)"), got \(epochSeen)")
        try require((0...max(0, epochSeen)).contains(epochCorrect), "epochCorrect must be in 0...\(epochSeen) (epochSeen), got \(epochCorrect)")
        try require(epochLossSum.isFinite && epochLossSum >= 0 && (epochSeen > 0 || epochLossSum == 0),
                  "epochLossSum must be finite, at least 0, and 0 when epochSeen is 0, got \(epochLossSum)")
        try require(epochSeconds.isFinite && epochSeconds >= 0 && epochSeconds <= trainSeconds && (stepInEpoch > 0 || epochSeconds == 0),
                  "epochSeconds must be in 0...\(trainSeconds) (trainSeconds), and 0 when stepInEpoch is 0, got \(epochSeconds)")

        // The best epoch's weights: kept after every epoch of a run that keeps them, never otherwise.
        if s.keepsBestEpoch && epoch > 0 {
            try require(best?.values.count == count,
                        "the best epoch's weights must be kept (\(count) values) once an epoch has finished, got \(best.map { "\($0.values.count) values" } ?? "none")")
            // The best epoch is a finished one with the highest validation accuracy (the loss only
            // breaks ties), and early stopping would have ended the run `patience` epochs after it.
            guard let n = bestEpoch else { throw StateInconsistency(reason: "bestEpoch must be set once an epoch has finished") }
            try require((1...epoch).contains(n), "bestEpoch must be in 1...\(epoch) (the finished epochs), got \(n)")
            let top = history.map(\.validationAccuracy).max() ?? 0
            try require(history[n - 1].validationAccuracy == top,
                        "bestEpoch \(n) must have the highest validation accuracy \(top), got \(history[n - 1].validationAccuracy)")
            if let p = s.patience {
                try require(epoch - n <= p, "epochsSinceImprovement must be at most configuration.patience \(p) (the run stops there), got \(epoch - n)")
            }
        } else {
            try require(bestEpoch == nil, "there must be no bestEpoch: "
                + (s.keepsBestEpoch ? "no epoch has finished" : "the run keeps no best epoch"))
            try require(best == nil, "there must be no best epoch's weights: "
                + (s.keepsBestEpoch ? "no epoch has finished" : "the run keeps no best epoch (configuration.validationCount 0, or an image run without patience)"))
        }
    }

    /// What it satisfies with `trainCount` training examples (spec/CHECKPOINT.md §4.4.4): the step
    /// in the epoch indexes that epoch's shuffled order, and the epochs have the data's length.
    func validate(_ s: LoopSettings, trainCount: Int) throws(StateInconsistency) {
        let perEpoch = s.stepsPerEpoch(trainCount: trainCount)
        let total = s.totalSteps(trainCount: trainCount)
        try require(stepInEpoch < perEpoch, "stepInEpoch must be below the \(perEpoch) steps per epoch, got \(stepInEpoch)")
        try require(globalStep <= total, "globalStep must be at most the run's \(total) steps, got \(globalStep)")
        for (i, r) in history.enumerated() where r.steps != perEpoch {
            // Only the last epoch may be short, when the step limit ended the run there.
            let endedByLimit = i == history.count - 1 && r.steps < perEpoch && stepInEpoch == 0 && globalStep == total
            try require(endedByLimit, "history[\(i)].steps must be the \(perEpoch) steps per epoch, got \(r.steps)")
        }
    }
}

extension RunState where Weights == LSTMParameters<Float> {
    /// The weights are those of `architecture`.
    func checkShape(_ architecture: LSTMArchitecture) throws(StateInconsistency) {
        for weights in [parameters] + (best.map { [$0] } ?? []) {
            try require(weights.architecture == architecture && weights.values.count == architecture.layout.count,
                      "the weights are for \(weights.architecture), the configuration for \(architecture)")
        }
    }
}
