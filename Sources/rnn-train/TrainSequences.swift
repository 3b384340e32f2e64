import ArgumentParser
import RNNCore
import RNNFormat
import RNNTraining
import RNNSupport

/// Options that only the feature-sequence trainer (`--dataset ts|npy`) reads; `--data` names the
/// training file (`.ts`) or training features (`.npy`).
struct SequenceTrainOptions: ParsableArguments {
    @Option(help: "ts: the test .ts file; npy: the test features [N, T, F] (float32 or float64).") var test: String?
    @Option(help: "npy: the training labels [N] (int32 or int64 class indices 0, 1, ...).") var labels: String?
    @Option(help: "npy: the training lengths [N] (default: every sequence has all T steps).") var lengths: String?
    @Option(help: "npy: the test labels [N].") var testLabels: String?
    @Option(help: "npy: the test lengths [N].") var testLengths: String?
    @Flag(inversion: .prefixedNo, help: "ts, npy: standardize every feature with the training part's mean and std (stored in the model).")
    var standardize = true
}

extension TrainingDatasetName {
    /// The feature-sequence file kind, or nil for images and IMDb.
    var sequenceFiles: SequenceFiles? { SequenceFiles(rawValue: rawValue) }
}

/// The settings of `--dataset ts|npy` before the options: two bidirectional GRU layers of 64 for
/// small sensor sets (hundreds of sequences of tens of steps), trained on every training sequence
/// (`--validation` 0 unless given: with a few dozen validation sequences the first best epoch
/// comes too early). Measured on JapaneseVowels (98.65 % for seeds 1-3) and, with `--batch-size 4
/// --epochs 100`, BasicMotions (README, "Feature sequences (UEA)"). `inputSize` and `classCount`
/// are filled in from the data.
func sequenceDefaults() -> TrainingConfiguration {
    var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 1, hiddenSize: 64, layerCount: 2, classCount: 2))
    c.architecture.cell = .gru
    c.architecture.bidirectional = true
    c.validationCount = 0
    c.batchSize = 16
    c.epochs = 40
    c.learningRate = 3e-3
    c.schedule = .cosine
    c.warmupSteps = 50
    c.clipNorm = 1
    return c
}

extension Train {
    /// `rnn-train --dataset ts|npy` (or `--resume` of a sequence checkpoint): `dense_in -> lstm|gru... ->
    /// dense_out` on standardized feature sequences, exported as a format 1.2 `features` model, with
    /// the checkpoints, run log, progress and Ctrl-C of every run.
    func trainSequences(resuming resumed: SequenceCheckpoint?) throws {
        // 1. Settings: the checkpoint's, or the defaults with the options; the data fills in the sizes.
        let files = resumed?.files ?? datasetName.sequenceFiles ?? .ts
        var c = resumed?.configuration ?? makeConfiguration(startingFrom: sequenceDefaults())
        if resumed == nil {
            guard subset == nil else { throw fail("--subset is for mnist, fashion-mnist and imdb; a feature-sequence run trains on every training sequence", ExitStatus.usage) }
            guard preset == .default else { throw fail("--preset is for mnist and fashion-mnist", ExitStatus.usage) }
        }
        do { try c.validate() } catch { throw fail(error.description, ExitStatus.usage) }
        let time = try provenanceTime(reproducible: reproducible)
        let kernel = try trainingKernel()
        let parts = try sequenceParts(files)

        // 2. Output paths, checked before the data is read.
        let stem = PathName(path: parts.train.features).lastComponent.split(separator: ".").first.map(String.init) ?? "sequences"
        let name = stem.hasSuffix("_TRAIN") ? String(stem.dropLast(6)) : stem
        let paths = try outputPaths(defaultOutput: "models/\(name)-\(c.architecture.cell.rawValue).rnnm")

        // 3. Data: split with the run's seed and validation count, standardized unless --no-standardize.
        let started = monotonicSeconds()
        let data: SequenceTrainingData
        let trainer: SequenceTrainer
        do {
            let validationCount = resumed.map { $0.configuration.validationCount } ?? validation ?? 0
            let standardize = resumed.map { $0.standardization != nil } ?? sequence.standardize
            switch files {
            case .ts:
                data = try SequenceTrainingData.readTS(train: parts.train.features, test: parts.test.features,
                                                       validationCount: validationCount, seed: c.seed, standardize: standardize)
            case .npy:
                data = try SequenceTrainingData.readNPY(train: parts.train, test: parts.test, validationCount: validationCount,
                                                        seed: c.seed, standardize: standardize)
            }
            if let resumed, let resume {
                try resumed.validate(against: data, path: resume)
            } else {
                c.architecture.inputSize = data.features
                c.architecture.classCount = data.classNames.count
                c.validationCount = data.validation.count
            }
            trainer = try SequenceTrainer(configuration: c, data: data, kernel: kernel)
        } catch { throw fail(error.description, statusCode(for: error)) }
        let a = c.architecture
        printError("rnn-train: \(data.name): \(data.train.count) train / \(data.validation.count) validation / \(data.test.count) test sequences "
            + "of \(data.features) features, up to \(data.maximumLength) steps, \(data.classNames.count) classes; loaded in "
            + "\(fixed(monotonicSeconds() - started, 1)) s; \(describe(a)) "
            + "batch=\(c.batchSize) lr=\(c.learningRate) \(c.schedule.rawValue) clip=\(c.clipNorm) "
            + "seed=\(c.seed) threads=\(c.threads)\(data.standardization == nil ? " unstandardized" : ""); \(trainer.totalSteps) steps")

        // 4. Train.
        let configuration = c
        func checkpointOf(_ s: TrainingState) -> SequenceCheckpoint {
            SequenceCheckpoint(configuration: configuration, state: s, data: data, files: files)
        }
        var state = resumed?.state ?? TrainingState(configuration: c)
        let runLog = try drive(trainer, &state, resumed: resumed != nil, paths: paths, unit: "seq",
                               resumeArguments: resumeArguments(files, parts) + (output.map { " --output \($0)" } ?? "")) {
            s throws(TrainingError) in try checkpointOf(s).write(to: paths.checkpoint)
        }

        // 5. Test once (the best validation epoch's weights when there is validation), export.
        let test = trainer.task.evaluate(state.result, on: trainer.task.test)
        printError("rnn-train: test accuracy \(percent(test.accuracy)) (loss \(fixed(test.loss, 4))) on \(test.count) sequences; "
            + "\(fixed(state.trainSeconds, 1)) s training"
            + (state.best != nil ? ", weights of epoch \(state.resultRecord.map { "\($0.epoch)" } ?? "?") (best validation accuracy)" : ""))
        let trained = checkpointOf(state).modelFile(metrics: ["test_accuracy": test.accuracy, "test_loss": test.loss], time: time)
        let model = try exportedModel(trained, f32Result: test) { model throws in
            let parameters: LSTMParameters<Float>
            do throws(TrainingError) { parameters = try LSTMParameters(model: model) } catch { throw fail(error.description, statusCode(for: error)) }
            return trainer.task.evaluate(parameters, on: trainer.task.test)
        }
        try finish(model, test: test, trainSeconds: state.trainSeconds, paths: paths, runLog: runLog)
    }

    /// The training and test files the options name for `files`; a missing one is a usage error,
    /// and so is an `.npy` option in a `.ts` run.
    func sequenceParts(_ files: SequenceFiles) throws -> (train: NPYPart, test: NPYPart) {
        let s = sequence
        guard let trainPath = data else { throw fail("--dataset \(files.rawValue) needs --data (the training \(files == .ts ? ".ts file" : "features .npy"))", ExitStatus.usage) }
        guard let testPath = s.test else { throw fail("--dataset \(files.rawValue) needs --test (the test \(files == .ts ? ".ts file" : "features .npy"))", ExitStatus.usage) }
        switch files {
        case .ts:
            let stray = [("--labels", s.labels), ("--lengths", s.lengths), ("--test-labels", s.testLabels), ("--test-lengths", s.testLengths)]
            if let option = stray.first(where: { $0.1 != nil })?.0 {
                throw fail("\(option) is for --dataset npy; a .ts file holds its labels and lengths", ExitStatus.usage)
            }
            return (NPYPart(features: trainPath, labels: trainPath), NPYPart(features: testPath, labels: testPath))
        case .npy:
            guard let labels = s.labels else { throw fail("--dataset npy needs --labels (the training labels .npy)", ExitStatus.usage) }
            guard let testLabels = s.testLabels else { throw fail("--dataset npy needs --test-labels (the test labels .npy)", ExitStatus.usage) }
            return (NPYPart(features: trainPath, labels: labels, lengths: s.lengths),
                    NPYPart(features: testPath, labels: testLabels, lengths: s.testLengths))
        }
    }
}

/// The options that name `parts` again, for the resume command an interrupted run prints.
func resumeArguments(_ files: SequenceFiles, _ parts: (train: NPYPart, test: NPYPart)) -> String {
    var text = " --dataset \(files.rawValue) --data \(parts.train.features) --test \(parts.test.features)"
    if files == .npy {
        text += " --labels \(parts.train.labels)" + (parts.train.lengths.map { " --lengths \($0)" } ?? "")
        text += " --test-labels \(parts.test.labels)" + (parts.test.lengths.map { " --test-lengths \($0)" } ?? "")
    }
    return text
}
