import ArgumentParser
import RNNCore
import RNNDatasets
import RNNFormat
import RNNTraining
import RNNSupport

/// The values of `--dataset`: the image data sets of the data module, `imdb` (text), and `ts`/`npy` (feature sequences).
enum TrainingDatasetName: String, ExpressibleByArgument, CaseIterable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    case imdb
    /// Feature sequences from UEA `.ts` files.
    case ts
    /// Feature sequences from `.npy` arrays.
    case npy

    /// The image data set, or nil for text.
    var imageDataset: ImageDataset? { ImageDataset(rawValue: rawValue) }
}

/// Options that only the text (IMDb) trainer reads.
struct TextTrainOptions: ParsableArguments {
    @Option(help: "IMDb: vocabulary words kept (most frequent in the training reviews).") var vocabSize: Int?
    @Option(help: "IMDb: embedding width.") var embeddingSize: Int?
    @Option(help: "IMDb: tokens kept per review (its END is kept).") var maxLength: Int?
    @Option(help: "IMDb: dropout on the embedding outputs during training (what --input-dropout is for IMDb).") var embeddingDropout: Double?
    @Option(help: "IMDb: dropout on dense's input, the final state or pooled vector (what --output-dropout is for IMDb).") var hiddenDropout: Double?
}

extension Train {
    /// The image data set the image trainer uses (`--dataset imdb` never reaches it).
    var dataset: ImageDataset { datasetName.imageDataset ?? .mnist }

    /// The default IMDb location: the shared labelled repack if present, else `./data/aclImdb_v1.tar.gz`
    /// (downloaded there when missing, unless `--no-download`).
    static func defaultIMDbPath() -> String {
        let shared = "../shared/datasets/aclImdb_v1_labeled.tar.gz"
        return access(shared, R_OK) == 0 ? shared : "data/aclImdb_v1.tar.gz"
    }

    /// The text settings from the options (the defaults are the measured recipe). `--input-dropout`
    /// and `--output-dropout` are the embedding and hidden dropout here; giving both names of one is
    /// a usage error.
    func makeTextConfiguration() throws -> TextTrainingConfiguration {
        if text.embeddingDropout != nil && poolDropout.inputDropout != nil {
            throw fail("give --embedding-dropout or --input-dropout, not both (for IMDb they are the same)", ExitStatus.usage)
        }
        if text.hiddenDropout != nil && poolDropout.outputDropout != nil {
            throw fail("give --hidden-dropout or --output-dropout, not both (for IMDb they are the same)", ExitStatus.usage)
        }
        var c = TextTrainingConfiguration()
        if let v = text.vocabSize { c.vocabularyWords = v }
        if let v = text.embeddingSize { c.embeddingSize = v }
        if let v = text.maxLength { c.maxLength = v }
        if let v = hiddenSize { c.hiddenSize = v }
        if let v = batchSize { c.batchSize = v }
        if let v = epochs { c.epochs = v }
        if let v = steps { c.maximumSteps = v }
        if let v = lr { c.learningRate = v }
        if let v = clip { c.clipNorm = v }
        if let v = seed { c.seed = v }
        if let v = threads { c.threads = v }
        if let v = validation { c.validationCount = v }
        if let v = text.embeddingDropout ?? poolDropout.inputDropout { c.embeddingDropout = v }
        if let v = text.hiddenDropout ?? poolDropout.outputDropout { c.hiddenDropout = v }
        if let v = poolDropout.dropout { c.layerDropout = v }
        if let v = poolDropout.pool, v != .last { c.pooling = v }
        if let v = cell, v != .lstm { c.cell = v }
        if let v = gruReset { c.gruReset = v }
        if bidirectional { c.bidirectional = true }
        if let v = layers, v != 1 { c.layerCount = v }
        if let v = weightDecay, v != 0 { c.weightDecay = v }
        c.subset = subset
        return c
    }

    /// `rnn-train --dataset imdb` (or `--resume` of a text checkpoint): embedding -> lstm/gru layers
    /// (-> pool) -> dense on IMDb reviews, exported as format 1.1 (1.2 with a GRU or bidirectional
    /// layers, 1.3 with pooling), with the checkpoints, run log, progress and Ctrl-C of
    /// every run (``drive(_:_:resumed:paths:unit:resumeArguments:writeCheckpoint:)``).
    func trainText(resuming resumed: TextCheckpoint?) throws {
        // 1. Settings, from the checkpoint or the options.
        var c = try resumed?.configuration ?? makeTextConfiguration()
        do { try c.validate() } catch { throw fail(error.description, ExitStatus.usage) }
        let time = try provenanceTime(reproducible: reproducible)
        let kernel = try trainingKernel()

        // 2. Output paths.
        let paths = try outputPaths(defaultOutput: "models/imdb-\((c.cell ?? .lstm).rawValue).rnnm")

        // 3. Data.
        let path = data ?? Train.defaultIMDbPath()
        let started = monotonicSeconds()
        // Only the default location is filled by a download: a --data path that does not exist
        // is more likely a typo than a request to put 80 MiB there.
        let downloader = IMDbDownloader()
        let downloading = data == nil && download && access(path, F_OK) != 0
        if downloading {
            printError("rnn-train: IMDb not found at \(path); downloading \(downloader.url) (about 80 MiB, SHA-256 checked)")
        }
        let splits: TextDatasetSplits
        do { splits = try IMDb.load(from: path, downloadingWith: downloading ? downloader : nil) } catch {
            var message = error.description
            if data == nil, !download, access(path, R_OK) != 0 {
                message += " (--no-download was given: download \(downloader.url) (SHA-256 \(downloader.expectedSHA256)) "
                    + "to \(path), or pass --data PATH)"
            }
            throw fail(message, ExitStatus.data)
        }
        let sha256 = fileSHA256(path).map { [PathName(path: path).lastComponent: $0] } ?? [:]
        let prepared: TextTrainingData
        let trainer: TextTrainer
        do {
            if let resumed, let resume {
                prepared = try resumed.trainingData(from: splits, sha256: sha256, path: resume)
            } else {
                prepared = try TextTrainingData(splits: splits, configuration: &c, name: "imdb", sha256: sha256)
            }
            trainer = try TextTrainer(configuration: c, data: prepared, kernel: kernel)
        } catch { throw fail(error.description, statusCode(for: error)) }
        printError("rnn-train: IMDb from \(path): \(prepared.train.count) train, \(prepared.validation.count) validation, "
                   + "\(prepared.test.count) test reviews; vocabulary \(c.vocabularyWords) words; loaded in \(fixed(monotonicSeconds() - started, 1)) s; "
                   + "\(describe(trainer.architecture)) D=\(c.embeddingSize) batch=\(c.batchSize) lr=\(c.learningRate) seed=\(c.seed) "
                   + "threads=\(c.threads); \(trainer.totalSteps) steps")

        // 4. Train.
        let configuration = c
        func checkpointOf(_ s: TextTrainingState) -> TextCheckpoint {
            TextCheckpoint(configuration: configuration, state: s, data: prepared)
        }
        var state = resumed?.state ?? TextTrainingState(configuration: c, classCount: prepared.classNames.count)
        let runLog = try drive(trainer, &state, resumed: resumed != nil, paths: paths, unit: "reviews",
                               resumeArguments: (data.map { " --data \($0)" } ?? "") + (output.map { " --output \($0)" } ?? "")) {
            s throws(TrainingError) in try checkpointOf(s).write(to: paths.checkpoint)
        }

        // 5. Test once (the best epoch's weights when validation chose one), export.
        let test = trainer.evaluate(state.result, on: prepared.test)
        printError("rnn-train: test accuracy \(percent(test.accuracy)) (loss \(fixed(test.loss, 4))) on \(test.count) reviews; "
            + "\(fixed(state.trainSeconds, 1)) s training"
            + (state.best != nil ? ", weights of epoch \(state.resultRecord.map { "\($0.epoch)" } ?? "?") (best validation accuracy)" : ""))
        let trained = checkpointOf(state).modelFile(metrics: ["test_accuracy": test.accuracy, "test_loss": test.loss], time: time)
        let model = try exportedModel(trained, f32Result: test) { model in
            // The file's weights as stored (dequantized when --weights quantized them).
            let parameters: LSTMParameters<Float>
            do throws(TrainingError) { parameters = try LSTMParameters(model: model) } catch { throw fail(error.description, statusCode(for: error)) }
            return trainer.evaluate(parameters, on: prepared.test)
        }
        try finish(model, test: test, trainSeconds: state.trainSeconds, paths: paths, runLog: runLog)
    }
}

/// Lowercase hex SHA-256 of the file at `path` (nil if unreadable; a directory has none).
func fileSHA256(_ path: String) -> String? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return ferror(f) == 0 && !bytes.isEmpty ? SHA256.hex(bytes) : nil
}


/// The last path component, without Foundation.
struct PathName {
    let path: String
    var lastComponent: String { path.split(separator: "/").last.map(String.init) ?? path }
}
