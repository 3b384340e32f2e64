import ArgumentParser
import RNNCore
import RNNDatasets
import RNNFormat
import RNNTraining
import RNNSupport

/// The named starting points for the hyperparameters.
enum Preset: String, ExpressibleByArgument, CaseIterable {
    /// Our recommendation: AdamW with shifted training digits, 30 epochs (README, "Results").
    case `default`
    /// The course notebook (TensorFlow 1 tutorial): Adam lr 0.001, batch 128, 781 steps
    /// (100,000 samples), random-normal dense layers, no clipping, constant rate.
    case tutorial

    func configuration(classCount: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 128, layerCount: 1, classCount: classCount))
        switch self {
        case .default:
            c.batchSize = 128
            // Plain Adam overfits: 15 epochs reach 99.08-99.09 % with 99.99 % training accuracy, and
            // 20 no more (99.08, 99.12). Shifted digits (--augment shift) and AdamW's decay of the
            // weight matrices (0.05) keep it learning for twice the epochs: 99.44, 99.24, 99.29 %
            // for seeds 1-3 (AVX2 kernel, 2026-12-02; README, "Results").
            c.epochs = 30
            c.learningRate = 2e-3
            c.schedule = .cosine
            c.warmupSteps = 200
            c.clipNorm = 1.0
            c.weightDecay = 0.05
            c.augmentation = .shift
        case .tutorial:
            c.initialization = .tutorial
            c.batchSize = 128
            c.epochs = 2
            c.maximumSteps = 781
            c.learningRate = 1e-3
            c.schedule = .constant
            c.warmupSteps = 0
            c.clipNorm = 0
        }
        return c
    }
}

extension ImageDataset: ExpressibleByArgument {}
extension RecurrentCell: ExpressibleByArgument {}
extension GRUReset: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}

/// `--augment`: an ``ImageAugmentation`` or `none` (the default preset shifts).
enum AugmentOption: String, ExpressibleByArgument, CaseIterable {
    case none, shift

    var augmentation: ImageAugmentation? { self == .none ? nil : .shift }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model (the default subcommand).",
        discussion: """
            Examples:
              rnn-train                                  # default preset, MNIST from ./data/mnist or $MNIST_DIR
              rnn-train --data ../shared/datasets/mnist --output models/mnist-lstm.rnnm
              rnn-train --preset tutorial                # the TF1 course notebook's settings
              rnn-train --cell gru --bidirectional       # a bidirectional GRU (--layers N to stack)
              rnn-train --arch cnn --epochs 5            # LeNet (format 1.4 image model)
              rnn-train --resume models/mnist-lstm.ckpt  # continue an interrupted run
              rnn-train --dataset imdb --subset 2000     # a quick IMDb run on 2,000 reviews
              rnn-train --dataset ts --data JapaneseVowels_TRAIN.ts --test JapaneseVowels_TEST.ts

            \(trainingKernelHelp)
            """)

    @Option(help: "Hyperparameter preset: default or tutorial.") var preset: Preset = .default
    @Option(name: .customLong("dataset"), help: "Data set: mnist, fashion-mnist, imdb, ts (UEA .ts files) or npy (.npy arrays).") var datasetName: TrainingDatasetName = .mnist
    @OptionGroup(title: "IMDb options") var text: TextTrainOptions
    @OptionGroup(title: "Feature-sequence options (--dataset ts|npy)") var sequence: SequenceTrainOptions
    @Option(help: "Train on N examples only, for quick runs (the validation examples are held out on top of them; the test set is cut to N too).") var subset: Int?
    @Option(help: "Directory holding the four IDX files (.gz or raw); default $MNIST_DIR / $FASHION_MNIST_DIR, then the data module's default directory.") var data: String?
    @Flag(inversion: .prefixedNo, help: "Download missing data set files (from $RNN_DATASET_MIRROR or the public mirror), checking their SHA-256.") var download = true
    @Option(help: "Model file to write (default models/<dataset>-<cell>.rnnm).") var output: String?
    @Option(help: "JSON-lines run log (default: next to the output, .log.jsonl).") var log: String?
    @Option(help: "Checkpoint written after every epoch and on Ctrl-C (default: next to the output, .ckpt).") var checkpoint: String?
    @Option(help: "Continue from this checkpoint, image or text (its settings and data set win over the options below).") var resume: String?

    @Option(help: "The classifier: rnn (recurrent layers over the image's rows; the default) or cnn (convolutions over the whole image, LeNet unless --cnn-layers / --cnn-dense; mnist and fashion-mnist).") var arch: ArchitectureOption = .rnn
    @OptionGroup(title: "Convolutional options (--arch cnn)") var convolution: ConvTrainOptions
    @Option(help: "Recurrent width H (per direction).") var hiddenSize: Int?
    @Option(help: "Stacked recurrent layers.") var layers: Int?
    @Option(help: "Recurrent cell of every layer: lstm or gru.") var cell: RecurrentCell?
    @Option(help: "Where a GRU's reset gate applies: after (PyTorch's, the default) or before (the original GRU).") var gruReset: GRUReset?
    @Flag(help: "Run every recurrent layer both ways (outputs [forward, backward], 2H wide).") var bidirectional = false
    @OptionGroup(title: "Pooling and dropout (image and sequence data sets)") var poolDropout: PoolDropoutOptions
    @Option(help: "Sequences per step.") var batchSize: Int?
    @Option(help: "Passes over the training examples (55,000 MNIST images, 22,500 IMDb reviews).") var epochs: Int?
    @Option(help: "Stop after this many steps.") var steps: Int?
    @Option(help: "Adam learning rate.") var lr: Float?
    @Option(help: "Learning-rate schedule: constant, cosine (warm-up then cosine decay) or step (halve 4 times).") var schedule: LearningRateSchedule?
    @Option(help: "Warm-up steps of the cosine schedule.") var warmup: Int?
    @Option(help: "Adam beta1.") var beta1: Float?
    @Option(help: "Adam beta2.") var beta2: Float?
    @Option(help: "Adam epsilon.") var epsilon: Float?
    @Option(help: "Gradient-norm clipping threshold (0: off).") var clip: Float?
    @Option(help: "Decoupled weight decay (AdamW): each step subtracts lr × this × w from the weight matrices, not the biases (0: plain Adam).") var weightDecay: Float?
    @Option(help: "Augment the training batches: shift (each image moved by up to 2 pixels in x and y, zero fill; seeded) or none. Validation and test images are never augmented.") var augment: AugmentOption?
    @Option(help: "Early stopping: stop after N epochs without a better validation accuracy (ties: lower loss) and export the best epoch's weights.") var patience: Int?
    @Option(help: "Seed of initialization and shuffling.") var seed: UInt64?
    @Option(help: "Worker threads (same seed + same threads = identical weights).") var threads: Int?
    @Option(help: "Training examples held out for validation (images: the last N, default 5000; IMDb: a seeded random N, default 2500, which choose the epoch whose weights the model keeps; ts/npy: a stratified seeded N, default 0, which choose it too).") var validation: Int?
    @Option(help: WeightsDType.help) var weights: WeightsDType = .f32
    @Flag(help: reproducibleHelp) var reproducible = false

    func makeConfiguration() -> TrainingConfiguration {
        makeConfiguration(startingFrom: preset.configuration(classCount: dataset.classNames.count))
    }

    /// `base` with the settings the options give.
    func makeConfiguration(startingFrom base: TrainingConfiguration) -> TrainingConfiguration {
        var c = base
        if let v = hiddenSize { c.architecture.hiddenSize = v }
        if let v = layers { c.architecture.layerCount = v }
        if let v = cell { c.architecture.cell = v }
        if let v = gruReset { c.architecture.gruReset = v }
        if bidirectional { c.architecture.bidirectional = true }
        applyRunOptions(to: &c)
        poolDropout.apply(to: &c)
        return c
    }

    /// The loop, optimizer and data options every image run shares, recurrent or convolutional.
    func applyRunOptions<C: RunSettings>(to c: inout C) {
        if let v = batchSize { c.batchSize = v }
        if let v = epochs { c.epochs = v }
        if let v = steps { c.maximumSteps = v }
        if let v = lr { c.learningRate = v }
        if let v = schedule { c.schedule = v }
        if let v = warmup { c.warmupSteps = v }
        if let v = beta1 { c.beta1 = v }
        if let v = beta2 { c.beta2 = v }
        if let v = epsilon { c.epsilon = v }
        if let v = clip { c.clipNorm = v }
        if let v = weightDecay { c.weightDecay = v == 0 ? nil : v }
        if let v = augment { c.augmentation = v.augmentation }
        if let v = patience { c.patience = v }
        if let v = seed { c.seed = v }
        if let v = threads { c.threads = v }
        if let v = validation { c.validationCount = v }
        c.subset = subset
    }

    func run() throws {
        // The checkpoint to continue decides what is trained: its kind, settings and data set.
        var resumed: AnyCheckpoint?
        if let path = resume {
            do { resumed = try AnyCheckpoint.read(from: path) } catch { throw fail(error.description, ExitStatus.input) }
        }
        switch resumed {
        case .text(let checkpoint)?: try trainText(resuming: checkpoint)
        case .sequence(let checkpoint)?: try trainSequences(resuming: checkpoint)
        case .cnn(let checkpoint)?: try trainCNN(resuming: checkpoint)
        case .image(let checkpoint)?:
            if datasetName == .imdb {
                throw fail("\(resume!) is a checkpoint of an image run; leave out --dataset imdb", ExitStatus.usage)
            }
            try trainImages(resuming: checkpoint)
        case nil:
            if arch == .cnn { return try trainCNN(resuming: nil) }
            if convolution.cnnLayers != nil || convolution.cnnDense != nil {
                throw fail("--cnn-layers and --cnn-dense are for --arch cnn", ExitStatus.usage)
            }
            if datasetName.sequenceFiles != nil { return try trainSequences(resuming: nil) }
            try datasetName == .imdb ? trainText(resuming: nil) : trainImages(resuming: nil)
        }
    }

    /// `rnn-train [--dataset mnist|fashion-mnist]`: the image classifier.
    func trainImages(resuming resumed: Checkpoint?) throws {
        // 1. Settings, from the checkpoint or the options; reject bad values before touching data.
        let configuration = resumed?.configuration ?? makeConfiguration()
        do { try configuration.validate() } catch { throw fail(error.description, ExitStatus.usage) }
        let time = try provenanceTime(reproducible: reproducible)
        let kernel = try trainingKernel()

        // 2. Output paths; check them now so that a directory or a read-only one fails in seconds.
        let paths = try outputPaths(defaultOutput: "models/\(dataset.rawValue)-\(configuration.architecture.cell.rawValue).rnnm")

        // 3. Data.
        let splits: DatasetSplits
        do { splits = try DatasetSplits.load(dataset, directory: data, allowDownload: download) } catch {
            throw fail(error.description, ExitStatus.data)
        }
        let trainingData: TrainingData
        let trainer: Trainer
        do {
            if let resumed, let resume {
                trainingData = try resumed.trainingData(from: splits, path: resume)
            } else {
                trainingData = try TrainingData(splits, validationCount: configuration.validationCount, subset: configuration.subset)
            }
            trainer = try Trainer(configuration: configuration, data: trainingData, kernel: kernel)
        } catch { throw fail(error.description, statusCode(for: error)) }

        // 4. Train.
        let a = configuration.architecture
        printError("rnn-train: \(trainingData.name): \(trainingData.train.count) train / \(trainingData.validation.count) validation / "
            + "\(trainingData.test.count) test images; \(describe(a)) batch=\(configuration.batchSize) "
            + "lr=\(configuration.learningRate) \(configuration.schedule.rawValue) clip=\(configuration.clipNorm) "
            + (configuration.weightDecay.map { "wd=\($0) " } ?? "") + (configuration.augmentation.map { "augment=\($0.rawValue) " } ?? "")
            + (configuration.patience.map { "patience=\($0) " } ?? "")
            + "seed=\(configuration.seed) threads=\(configuration.threads); \(trainer.totalSteps) steps")
        func checkpointOf(_ s: TrainingState) -> Checkpoint {
            Checkpoint(configuration: configuration, state: s, datasetName: trainingData.name,
                       datasetSHA256: trainingData.sha256, classNames: trainingData.classNames,
                       timeSteps: trainingData.train.height)
        }
        var state = resumed?.state ?? TrainingState(configuration: configuration)
        let runLog = try drive(trainer, &state, resumed: resumed != nil, paths: paths, unit: "img",
                               resumeArguments: (data.map { " --data \($0)" } ?? "")
                                   + (dataset == .mnist ? "" : " --dataset \(dataset.rawValue)")
                                   + (output.map { " --output \($0)" } ?? "")) { s throws(TrainingError) in
            try checkpointOf(s).write(to: paths.checkpoint)
        }

        if trainer.settings.stoppedEarly(state) && state.epoch < configuration.epochs {
            printError("rnn-train: stopped early after epoch \(state.epoch) of \(configuration.epochs): "
                + "no better validation accuracy for \(state.epochsSinceImprovement) epochs")
        }

        // 5. Test once (the best epoch's weights with early stopping), export with provenance.
        let test = trainer.evaluate(state.result, on: trainingData.test)
        printError("rnn-train: test accuracy \(percent(test.accuracy)) (loss \(fixed(test.loss, 4))) on \(test.count) images; "
            + "\(fixed(state.trainSeconds, 1)) s training"
            + (state.best != nil ? ", weights of epoch \(state.resultRecord.map { "\($0.epoch)" } ?? "?") (best validation accuracy)" : ""))
        let model = try exportedModel(checkpointOf(state).modelFile(metrics: ["test_accuracy": test.accuracy, "test_loss": test.loss], time: time),
                                      f32Result: test) { model throws in
            let parameters: LSTMParameters<Float>
            do throws(TrainingError) { parameters = try LSTMParameters(model: model) } catch { throw fail(error.description, statusCode(for: error)) }
            return trainer.evaluate(parameters, on: trainingData.test)
        }
        try finish(model, test: test, trainSeconds: state.trainSeconds, paths: paths, runLog: runLog)
    }

    /// The output, log and checkpoint paths (the log and checkpoint default to the output's stem),
    /// checked before any work: three different files, each writable.
    func outputPaths(defaultOutput: String) throws -> OutputPaths {
        let outputPath = output ?? defaultOutput
        let stem = outputPath.hasSuffix(".rnnm") ? String(outputPath.dropLast(5)) : outputPath
        let paths = OutputPaths(output: outputPath, log: log ?? stem + ".log.jsonl", checkpoint: checkpoint ?? resume ?? stem + ".ckpt")
        if output == nil { mkdir("models", 0o755) }
        let outputs = [("--output", paths.output), ("--log", paths.log), ("--checkpoint", paths.checkpoint)]
        for (i, a) in outputs.enumerated() {
            for b in outputs[(i + 1)...] where sameFile(a.1, b.1) {
                throw fail("\(a.0) and \(b.0) name the same file \(a.1); the run writes three different files", ExitStatus.usage)
            }
            // The log is appended to in place (it may be /dev/null); model and checkpoint are replaced atomically.
            do { try probeWritableDirectory(for: a.1, replaced: a.0 != "--log") } catch {
                throw fail(error.description, ExitStatus.cannotCreate)
            }
        }
        return paths
    }
}

/// Where a run writes.
struct OutputPaths {
    /// The model.
    var output: String
    /// The JSON-lines run log.
    var log: String
    /// The checkpoint, rewritten after every epoch and on Ctrl-C.
    var checkpoint: String
}

/// Runs `trainer` from `state` with what every run gets, images or text: a checkpoint after every
/// epoch (`writeCheckpoint`), the run log (appended to when resuming), the progress display, and
/// Ctrl-C: the first finishes the step, writes a checkpoint, prints the resume command and exits 130.
/// Returns the open run log for the final test line.
func drive<Task: TrainingTask>(
    _ trainer: TrainingLoop<Task>, _ state: inout RunState<Task.Weights>, resumed: Bool, paths: OutputPaths, unit: String,
    resumeArguments: String, writeCheckpoint: (RunState<Task.Weights>) throws(TrainingError) -> Void
) throws -> RunLog {
    if resumed { printError("rnn-train: resuming at epoch \(state.epoch + 1), step \(state.globalStep)") }
    let runLog: RunLog
    do { runLog = try RunLog(path: paths.log, append: resumed) } catch { throw fail(error.description, ExitStatus.io) }
    // The trainer splits each batch over its own threads: one OpenBLAS thread each.
    BLASThreads.set(1)
    let handler = InterruptHandler()
    let reporter = ProgressReporter(unit: unit)
    let epochs = trainer.settings.epochs
    let outcome: TrainingOutcome
    do {
        outcome = try trainer.run(
            &state,
            events: { event in
                switch event {
                case .step(let p): reporter.step(p)
                case .epoch(let r):
                    reporter.epoch(r, of: epochs)
                    try? runLog.epoch(r)
                }
            },
            shouldStop: { interruptRequested.load(ordering: .relaxed) },
            checkpoint: writeCheckpoint)
    } catch {
        reporter.clearLine()
        throw fail(error.description, statusCode(for: error))
    }
    _ = handler
    if outcome == .interrupted {
        reporter.clearLine()
        do { try writeCheckpoint(state) } catch { throw fail(error.description, ExitStatus.io) }
        printError("rnn-train: interrupted at epoch \(state.epoch + 1), step \(state.globalStep) of \(trainer.totalSteps); "
            + "checkpoint written to \(paths.checkpoint)")
        printError("rnn-train: resume with: rnn-train --resume \(paths.checkpoint)\(resumeArguments)")
        throw ExitCode(ExitStatus.interrupted)
    }
    return runLog
}

/// Writes the model, the run log's test line and the final messages.
func finish(_ model: ModelFile, test: EvaluationResult, trainSeconds: Double, paths: OutputPaths, runLog: RunLog) throws {
    do { try ModelWriter.write(model, to: paths.output) } catch { throw fail("\(paths.output): \(error)", ExitStatus.io) }
    do {
        try runLog.write(.test(.init(loss: test.loss, accuracy: test.accuracy, trainSeconds: trainSeconds, output: paths.output)))
    } catch { throw fail(error.description, ExitStatus.io) }
    print("test accuracy: \(percent(test.accuracy))")
    printError("rnn-train: wrote \(paths.output) (log \(paths.log), checkpoint \(paths.checkpoint))")
}
