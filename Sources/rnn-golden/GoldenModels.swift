import RNNCore
import RNNDatasets
import RNNFormat
import RNNTraining

/// A golden model: trained by the trainer's own code paths, exported as `rnn-train` exports.
struct GoldenModel {
    /// File stem, e.g. `tiny-h8`.
    var name: String
    /// The end-of-training checkpoint (timings zeroed, see ``GoldenTraining/train(_:data:)``).
    var checkpoint: Checkpoint
    /// What `rnn-train` writes: the checkpoint's model with the test metrics.
    var model: ModelFile
    /// One line for the manifest.
    var summary: String
}

/// The two training runs behind the golden models (spec/GOLDEN.md, "Models").
enum GoldenTraining {
    /// The tiny model: 28 -> 8, LSTM 8, -> 10, 120 steps of 32 on synthetic digits. Small enough
    /// that its checkpoint (about 11 KB) is kept for the re-export test.
    static func tiny() throws(TrainingError) -> GoldenModel {
        var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 8, layerCount: 1, classCount: 10))
        c.batchSize = 32
        c.epochs = 2  // 64 steps per epoch: the run stops at maximumSteps, in epoch 2
        c.maximumSteps = 120
        c.learningRate = 2e-2
        c.warmupSteps = 8
        c.seed = 8
        c.threads = 1
        c.validationCount = 256
        let side = DigitPainter.side
        func part(_ count: Int, _ seed: UInt64) -> LabeledPixels {
            let (pixels, labels) = DigitPainter.dataset(count: count, seed: seed)
            return LabeledPixels(pixels: pixels, labels: labels, height: side, width: side)
        }
        let trainSet = part(2048, 0x601D_7001)
        let data = TrainingData(train: trainSet, validation: part(c.validationCount, 0x601D_7002), test: part(512, 0x601D_7003),
                                name: "synthetic strokes (rnn-golden)",
                                sha256: ["train-images": SHA256.hex(trainSet.pixels)],
                                classNames: (0..<10).map(String.init))
        return try Self.train("tiny-h8", c, data,
                         summary: "H=8, 120 steps of 32 synthetic stroke digits (seed 8, lr 2e-2, cosine, warm-up 8), 1 thread")
    }

    /// The course-size model: 28 -> 128, LSTM 128, -> 10, 200 steps of 128 on MNIST (the
    /// trainer's defaults otherwise, warm-up 50, seed 1, 1 thread). Needs the MNIST files.
    static func course(mnistDirectory: String) throws(GoldenError) -> GoldenModel {
        var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 128, layerCount: 1, classCount: 10))
        c.epochs = 1
        c.maximumSteps = 200
        c.warmupSteps = 50
        c.seed = 1
        c.threads = 1
        let data: TrainingData
        do {
            let splits = try DatasetSplits.load(.mnist, directory: mnistDirectory, allowDownload: false)
            data = try TrainingData(splits, validationCount: c.validationCount)
        } catch let error as DatasetError {
            throw .data("\(error)")
        } catch {
            throw .training("\(error)")
        }
        do {
            return try train("course-h128", c, data,
                             summary: "H=128, 200 steps of 128 MNIST images (seed 1, lr 2e-3, cosine, warm-up 50, clip 1), 1 thread")
        } catch {
            throw .training(error.description)
        }
    }

    /// Runs the trainer and exports as `rnn-train` does (spec §6.3 provenance, test metrics).
    ///
    /// Wall-clock timings are zeroed in the checkpoint (and therefore in the model's
    /// `train_seconds`): they are the only part of a run that is not a function of the seed.
    static func train(_ name: String, _ configuration: TrainingConfiguration, _ data: TrainingData,
                      summary: String) throws(TrainingError) -> GoldenModel {
        // The BLAS path only: the fused kernels depend on the CPU's vector width, the fixtures on
        // nothing but the code (and OpenBLAS's pinned kernels, ``pinBLASKernel()``).
        let trainer = try Trainer(configuration: configuration, data: data, kernel: .none)
        var state = TrainingState(configuration: configuration)
        _ = try trainer.run(&state)
        zeroTimings(&state)
        let checkpoint = Checkpoint(configuration: configuration, state: state, datasetName: data.name,
                                    datasetSHA256: data.sha256, classNames: data.classNames, timeSteps: data.train.height)
        let test = trainer.evaluate(state.parameters, on: data.test)
        let model = checkpoint.modelFile(metrics: ["test_accuracy": test.accuracy, "test_loss": test.loss])
        return GoldenModel(name: name, checkpoint: checkpoint, model: model, summary: summary)
    }

    /// Sets every wall-clock duration of `state` to 0: they are the only part of a run that is not
    /// a function of the seed, and they reach the model as `train_seconds`.
    static func zeroTimings(_ state: inout TrainingState) {
        state.trainSeconds = 0
        state.epochSeconds = 0
        for k in state.history.indices { state.history[k].seconds = 0 }
    }

    /// `model` with every tensor stored as `dtype` (spec §4.1 quantization).
    static func quantized(_ model: ModelFile, to dtype: DType) throws(ModelFormatError) -> ModelFile {
        var copy = model
        copy.tensors = try model.tensors.map { t throws(ModelFormatError) in
            try Tensor.quantized(name: t.name, shape: t.shape, values: t.floatValues(), to: dtype)
        }
        return copy
    }
}

/// Why `rnn-golden` could not finish.
enum GoldenError: Error, CustomStringConvertible {
    /// Wrong command-line use.
    case usage(String)
    /// The MNIST files are missing or invalid.
    case data(String)
    /// Training or export failed.
    case training(String)
    /// A fixture could not be written.
    case io(path: String, reason: String)

    var description: String {
        switch self {
        case .usage(let m): "usage: \(m)"
        case .data(let m): "MNIST is needed for the course-size model: \(m)"
        case .training(let m): "training the golden model failed: \(m)"
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}
