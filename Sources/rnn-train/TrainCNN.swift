import ArgumentParser
import RNNCore
import RNNDatasets
import RNNFormat
import RNNTraining
import RNNSupport

/// `--arch`: the recurrent classifier (the default) or a convolutional one.
enum ArchitectureOption: String, ExpressibleByArgument, CaseIterable {
    case rnn, cnn
}

/// Options that only `--arch cnn` reads.
struct ConvTrainOptions: ParsableArguments {
    @Option(help: "The 2-D layers, comma-separated: conv<C>k<K>[s<S>][p<P>] (C filters of KxK, stride S, P zero rows and columns each side, ReLU) or pool<K>[s<S>] (KxK max-pool). Default: LeNet's conv6k5p2,pool2,conv16k5,pool2.")
    var cnnLayers: String?
    @Option(help: "Hidden dense widths after flatten, comma-separated (default 120,84; 'none' for none).") var cnnDense: String?

    /// The architecture the options describe for `classCount` classes of 1x28x28 images.
    func architecture(classCount: Int) throws -> ConvArchitecture {
        var a = ConvArchitecture.lenet(classCount: classCount)
        if let text = cnnLayers {
            var layers: [ConvLayerSpec] = []
            for item in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let layer = ConvLayerSpec(String(item)) else {
                    throw fail("--cnn-layers: \(quotedOption(String(item))) is not conv<C>k<K>[s<S>][p<P>] or pool<K>[s<S>]", ExitStatus.usage)
                }
                layers.append(layer)
            }
            a.layers = layers
        }
        if let text = cnnDense {
            if text == "none" {
                a.dense = []
            } else {
                a.dense = try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
                    guard let n = Int(item) else { throw fail("--cnn-dense: \(quotedOption(String(item))) is not a width", ExitStatus.usage) }
                    return n
                }
            }
        }
        return a
    }
}

private func quotedOption(_ text: String) -> String { "'\(text.prefix(40))'" }

/// The settings `--batch-size`, `--epochs`, `--lr` ... set, which the recurrent image runs' and the
/// convolutional runs' configurations both have (``Train/applyRunOptions(to:)``).
protocol RunSettings {
    var batchSize: Int { get set }
    var epochs: Int { get set }
    var maximumSteps: Int? { get set }
    var learningRate: Float { get set }
    var schedule: LearningRateSchedule { get set }
    var warmupSteps: Int { get set }
    var beta1: Float { get set }
    var beta2: Float { get set }
    var epsilon: Float { get set }
    var clipNorm: Float { get set }
    var weightDecay: Float? { get set }
    var augmentation: ImageAugmentation? { get set }
    var patience: Int? { get set }
    var seed: UInt64 { get set }
    var threads: Int { get set }
    var validationCount: Int { get set }
    var subset: Int? { get set }
}

extension TrainingConfiguration: RunSettings {}
extension ConvTrainingConfiguration: RunSettings {}

extension Train {
    /// The settings of `--arch cnn` before the options: LeNet, Adam 2e-3 with cosine decay, batch 128,
    /// 10 epochs, clipping at 5, 5,000 validation images (README, "Can an RNN do better than a CNN?").
    func convConfiguration(classCount: Int) throws -> ConvTrainingConfiguration {
        var c = ConvTrainingConfiguration(architecture: try convolution.architecture(classCount: classCount))
        applyRunOptions(to: &c)
        return c
    }

    /// `rnn-train --arch cnn [--dataset mnist|fashion-mnist]` (or `--resume` of a cnn checkpoint): a
    /// convolutional classifier exported as a format 1.4 image model, with the checkpoints, run log,
    /// progress and Ctrl-C of every run.
    func trainCNN(resuming resumed: ConvCheckpoint?) throws {
        // 1. Settings; refuse the options of the recurrent runs.
        if resumed == nil {
            guard dataset == .mnist || dataset == .fashionMNIST, datasetName.imageDataset != nil else {
                throw fail("--arch cnn trains on mnist or fashion-mnist", ExitStatus.usage)
            }
            let recurrent = [("--hidden-size", hiddenSize != nil), ("--layers", layers != nil), ("--cell", cell != nil),
                             ("--gru-reset", gruReset != nil), ("--bidirectional", bidirectional), ("--preset", preset != .default)]
            if let option = recurrent.first(where: { $0.1 })?.0 {
                throw fail("\(option) is for the recurrent classifier; --arch cnn sets its layers with --cnn-layers and --cnn-dense", ExitStatus.usage)
            }
        }
        let configuration = try resumed?.configuration ?? convConfiguration(classCount: dataset.classNames.count)
        do { try configuration.validate() } catch { throw fail(error.description, ExitStatus.usage) }
        let time = try provenanceTime(reproducible: reproducible)
        let kernel = try trainingKernel()
        let paths = try outputPaths(defaultOutput: "models/\(dataset.rawValue)-cnn.rnnm")

        // 2. Data.
        let splits: DatasetSplits
        do { splits = try DatasetSplits.load(dataset, directory: data, allowDownload: download) } catch {
            throw fail(error.description, ExitStatus.data)
        }
        let trainingData: TrainingData
        let trainer: ConvTrainer
        do {
            trainingData = try TrainingData(splits, validationCount: configuration.validationCount, subset: configuration.subset)
            if let resumed, let resume { try resumed.validate(against: trainingData, path: resume) }
            trainer = try ConvTrainer(configuration: configuration, data: trainingData, kernel: kernel)
        } catch { throw fail(error.description, statusCode(for: error)) }

        // 3. Train.
        let c = configuration
        printError("rnn-train: \(trainingData.name): \(trainingData.train.count) train / \(trainingData.validation.count) validation / "
            + "\(trainingData.test.count) test images; \(c.architecture) (\(c.architecture.parameterCount) parameters) "
            + "batch=\(c.batchSize) lr=\(c.learningRate) \(c.schedule.rawValue) clip=\(c.clipNorm) "
            + (c.weightDecay.map { "wd=\($0) " } ?? "") + (c.augmentation.map { "augment=\($0.rawValue) " } ?? "")
            + (c.patience.map { "patience=\($0) " } ?? "") + "seed=\(c.seed) threads=\(c.threads); \(trainer.totalSteps) steps")
        func checkpointOf(_ s: ConvTrainingState) -> ConvCheckpoint {
            ConvCheckpoint(configuration: c, state: s, datasetName: trainingData.name, datasetSHA256: trainingData.sha256,
                           classNames: trainingData.classNames)
        }
        var state = resumed?.state ?? ConvTrainingState(configuration: c)
        let runLog = try drive(trainer, &state, resumed: resumed != nil, paths: paths, unit: "img",
                               resumeArguments: " --arch cnn" + (data.map { " --data \($0)" } ?? "")
                                   + (dataset == .mnist ? "" : " --dataset \(dataset.rawValue)")
                                   + (output.map { " --output \($0)" } ?? "")) { s throws(TrainingError) in
            try checkpointOf(s).write(to: paths.checkpoint)
        }
        if trainer.settings.stoppedEarly(state) && state.epoch < c.epochs {
            printError("rnn-train: stopped early after epoch \(state.epoch) of \(c.epochs): "
                + "no better validation accuracy for \(state.epochsSinceImprovement) epochs")
        }

        // 4. Test once, export.
        let test = trainer.task.evaluate(state.result, on: trainingData.test)
        printError("rnn-train: test accuracy \(percent(test.accuracy)) (loss \(fixed(test.loss, 4))) on \(test.count) images; "
            + "\(fixed(state.trainSeconds, 1)) s training"
            + (state.best != nil ? ", weights of epoch \(state.resultRecord.map { "\($0.epoch)" } ?? "?") (best validation accuracy)" : ""))
        let trained: ModelFile
        do { trained = try checkpointOf(state).modelFile(metrics: ["test_accuracy": test.accuracy, "test_loss": test.loss], time: time) } catch {
            throw fail(error.description, statusCode(for: error))
        }
        let model = try exportedModel(trained, f32Result: test) { model throws in
            let parameters: ConvParameters
            do throws(TrainingError) { parameters = try ConvParameters(architecture: c.architecture, model: model) } catch {
                throw fail(error.description, statusCode(for: error))
            }
            return trainer.task.evaluate(parameters, on: trainingData.test)
        }
        try finish(model, test: test, trainSeconds: state.trainSeconds, paths: paths, runLog: runLog)
    }
}
