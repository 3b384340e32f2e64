/// Every setting of a training run. Stored in checkpoints and (flattened) in the exported
/// model's provenance.
package struct TrainingConfiguration: Sendable, Codable, Equatable {
    /// The network's shape.
    package var architecture: LSTMArchitecture
    /// How the initial weights are drawn.
    package var initialization: InitializationScheme = .standard
    /// Sequences per step.
    package var batchSize: Int = 128
    /// Passes over the training images (the run may stop earlier, see ``maximumSteps``).
    package var epochs: Int = 10
    /// If set, training stops after this many steps even within an epoch (the tutorial preset's
    /// "100,000 samples" = 781 steps of 128).
    package var maximumSteps: Int?
    /// Adam's base learning rate.
    package var learningRate: Float = 2e-3
    /// How the learning rate changes over the run.
    package var schedule: LearningRateSchedule = .cosine
    /// Linear warm-up steps of the cosine schedule.
    package var warmupSteps: Int = 200
    /// Adam β1.
    package var beta1: Float = 0.9
    /// Adam β2.
    package var beta2: Float = 0.999
    /// Adam ε.
    package var epsilon: Float = 1e-8
    /// Maximum gradient L2 norm; 0 disables clipping.
    package var clipNorm: Float = 1.0
    /// Decoupled weight decay of the weight matrices, not the biases (AdamW, ``AdamOptimizer``);
    /// nil: none (plain Adam, and a version-1 checkpoint).
    package var weightDecay: Float?
    /// How training batches are augmented (``ImageAugmentation``); nil: not at all. Validation and
    /// test images never are.
    package var augmentation: ImageAugmentation?
    /// Early stopping: the run ends after this many epochs without a better validation accuracy
    /// (ties broken by the lower loss) and keeps its best epoch's weights (``LoopSettings/patience``);
    /// nil: it runs every epoch and ends with the last one's weights.
    package var patience: Int?
    /// Seed of every random choice (initial weights and shuffling).
    package var seed: UInt64 = 1
    /// Worker threads; the same seed and thread count give bitwise identical weights.
    package var threads: Int = 2
    /// How many of the last training images are held out for validation.
    package var validationCount: Int = 5000
    /// If set, the run trains on this many images only: the first of those the validation images
    /// leave (and tests on as many), see ``TrainingData/init(_:validationCount:subset:)``.
    package var subset: Int?
    /// Dropout during training (``DropoutRates``); nil: none, and absent from the checkpoint, so a
    /// run without dropout writes the same bytes as before dropout existed.
    package var dropout: DropoutRates?

    /// The default settings for `architecture`.
    package init(architecture: LSTMArchitecture) {
        self.architecture = architecture
    }

    /// Throws ``TrainingError`` naming the first option that is out of range.
    package func validate() throws(TrainingError) {
        try validate(naming: .option)
    }

    /// The one set of range rules, for options typed on the command line and for settings read
    /// back from a checkpoint; `naming` decides which name the message gives the setting.
    func validate(naming: SettingNaming) throws(TrainingError) {
        try architecture.validate(naming: naming)
        func check(_ ok: Bool, _ option: String, _ field: String, _ expected: String, _ found: Any) throws(TrainingError) {
            if !ok { throw .invalidHyperparameter("\(naming.name(option: option, field: field)) must be \(expected), got \(found)") }
        }
        try check((1...65536).contains(batchSize), "--batch-size", "batchSize", "in 1...65536", batchSize)
        try check((1...10000).contains(epochs), "--epochs", "epochs", "in 1...10000", epochs)
        if let m = maximumSteps { try check(m >= 1, "--steps", "maximumSteps", "at least 1", m) }
        try check(learningRate.isFinite && learningRate > 0 && learningRate <= 10, "--lr", "learningRate", "in (0, 10]", learningRate)
        try check(warmupSteps >= 0, "--warmup", "warmupSteps", "at least 0", warmupSteps)
        try check(beta1 >= 0 && beta1 < 1, "--beta1", "beta1", "in [0, 1)", beta1)
        try check(beta2 >= 0 && beta2 < 1, "--beta2", "beta2", "in [0, 1)", beta2)
        try check(epsilon.isFinite && epsilon > 0, "--epsilon", "epsilon", "positive", epsilon)
        try check(clipNorm.isFinite && clipNorm >= 0, "--clip", "clipNorm", "0 (off) or positive", clipNorm)
        if let wd = weightDecay {
            // lr · wd >= 1 would flip the weights' sign every step.
            try check(wd.isFinite && wd >= 0 && wd * learningRate < 1, "--weight-decay", "weightDecay",
                      "at least 0 and below 1 / learning rate \(1 / learningRate)", wd)
        }
        if let n = patience {
            try check((1...10000).contains(n), "--patience", "patience", "in 1...10000", n)
            try check(validationCount > 0, "--patience", "patience", "used with validation images (validationCount above 0)",
                      "\(n) with validationCount 0")
        }
        try check((1...256).contains(threads), "--threads", "threads", "in 1...256", threads)
        try check(validationCount >= 0, "--validation", "validationCount", "at least 0", validationCount)
        if let n = subset { try check(n >= 1, "--subset", "subset", "at least 1", n) }
        if let r = dropout {
            try check((0..<1).contains(r.input), "--input-dropout", "dropout.input", "in [0, 1)", r.input)
            try check((0..<1).contains(r.between), "--dropout", "dropout.between", "in [0, 1)", r.between)
            try check((0..<1).contains(r.output), "--output-dropout", "dropout.output", "in [0, 1)", r.output)
        }
    }

    /// What the shared loop reads: an image run with early stopping ends with its best epoch's
    /// weights, any other with its last epoch's.
    package var loop: LoopSettings {
        LoopSettings(batchSize: batchSize, epochs: epochs, maximumSteps: maximumSteps, clipNorm: clipNorm,
                     validationCount: validationCount, keepsBestEpoch: patience != nil && validationCount > 0,
                     patience: patience)
    }

    /// The parameter ranges weight decay applies to: the weight matrices (every tensor of rank 2),
    /// not the biases.
    package var decayedRanges: [Range<Int>] {
        architecture.layout.slots.filter { $0.shape.count > 1 }.map(\.range)
    }

    /// A fresh optimizer of this run: Adam's β1, β2, ε and the weight decay of the weight matrices.
    package func makeOptimizer() -> AdamOptimizer {
        AdamOptimizer(parameterCount: architecture.layout.count, beta1: beta1, beta2: beta2, epsilon: epsilon,
                      weightDecay: weightDecay ?? 0, decayed: decayedRanges)
    }

    /// The learning rate at every step of a run of `totalSteps` steps (``schedule`` after
    /// ``warmupSteps`` of warm-up from ``learningRate``): image and sequence runs alike.
    package func learningRatePlan(totalSteps: Int) -> LearningRatePlan {
        LearningRatePlan(base: learningRate, schedule: schedule, totalSteps: totalSteps, warmupSteps: warmupSteps)
    }

    /// Hyperparameters as written into the model's provenance (spec §6.3).
    package var provenanceHyperparameters: [String: Double] {
        var h: [String: Double] = [
            "hidden_size": Double(architecture.hiddenSize), "layers": Double(architecture.layerCount),
            "batch_size": Double(batchSize), "epochs": Double(epochs),
            "learning_rate": shortestDouble(learningRate), "warmup_steps": Double(warmupSteps),
            "beta1": shortestDouble(beta1), "beta2": shortestDouble(beta2), "epsilon": shortestDouble(epsilon),
            "clip_norm": shortestDouble(clipNorm), "threads": Double(threads),
            "validation_images": Double(validationCount),
        ]
        if let m = maximumSteps { h["max_steps"] = Double(m) }
        if let n = subset { h["subset"] = Double(n) }
        if let r = dropout {
            h["input_dropout"] = r.input; h["dropout"] = r.between; h["output_dropout"] = r.output
        }
        if let wd = weightDecay { h["weight_decay"] = shortestDouble(wd) }
        if let n = patience { h["patience"] = Double(n) }
        return h
    }
}

/// How a validation message names a setting: by the command-line option that sets it, or by its
/// field in a checkpoint header. A value read from a file must not blame an option the user never
/// passed (`--validation must be ...` after `rnn-train --resume` alone sends them looking for it).
enum SettingNaming {
    /// `--batch-size`.
    case option
    /// `configuration.batchSize`, the JSON path in the checkpoint header (spec/CHECKPOINT.md).
    case checkpointField

    func name(option: String, field: String) -> String {
        switch self {
        case .option: option
        case .checkpointField: "configuration.\(field)"
        }
    }
}

/// One finished epoch, as logged and printed.
package struct EpochRecord: Sendable, Codable, Equatable {
    /// Epoch number, 1-based.
    package var epoch: Int
    /// Mean training loss over the epoch (weights changing as it ran).
    package var trainLoss: Double
    /// Training accuracy over the epoch.
    package var trainAccuracy: Double
    /// Mean loss on the validation set after the epoch.
    package var validationLoss: Double
    /// Accuracy on the validation set after the epoch.
    package var validationAccuracy: Double
    /// Training seconds of the epoch (validation not included).
    package var seconds: Double
    /// Learning rate of the epoch's last step.
    package var learningRate: Double
    /// Steps run in this epoch (fewer than a full epoch when ``TrainingConfiguration/maximumSteps`` ends it).
    package var steps: Int
}

/// The double whose shortest decimal form equals the float's (`0.9` rather than `0.8999999761581421`),
/// so that provenance shows the value the user typed.
func shortestDouble(_ value: Float) -> Double {
    Double("\(value)") ?? Double(value)
}
