import ArgumentParser
import RNNCore
import RNNDatasets
import RNNFormat
import RNNTraining
#if canImport(Glibc)
import Glibc
#endif

/// The values of `--dataset`: the image data sets of the data module, and `imdb` (text).
enum TrainingDatasetName: String, ExpressibleByArgument, CaseIterable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    case imdb

    /// The image data set, or nil for text.
    var imageDataset: ImageDataset? { ImageDataset(rawValue: rawValue) }
}

/// Options that only the text (IMDb) trainer reads.
struct TextTrainOptions: ParsableArguments {
    @Option(help: "IMDb: vocabulary words kept (most frequent in the training reviews).") var vocabSize: Int?
    @Option(help: "IMDb: embedding width.") var embeddingSize: Int?
    @Option(help: "IMDb: tokens kept per review (its END is kept).") var maxLength: Int?
    @Option(help: "IMDb: use only the first N training and N test reviews of each class (quick runs).") var subset: Int?
    @Option(help: "IMDb: dropout on the embedding outputs during training.") var embeddingDropout: Double?
    @Option(help: "IMDb: dropout on the final LSTM state during training.") var hiddenDropout: Double?
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

    /// `rnn-train --dataset imdb`: embedding -> lstm -> dense on IMDb reviews, exported as format 1.1.
    func trainText() throws {
        var c = TextTrainingConfiguration()
        if let v = text.vocabSize { c.vocabularyWords = v }
        if let v = text.embeddingSize { c.embeddingSize = v }
        if let v = text.maxLength { c.maxLength = v }
        if let v = hiddenSize { c.hiddenSize = v }
        if let v = batchSize { c.batchSize = v }
        if let v = epochs { c.epochs = v }
        if let v = steps { c.maxSteps = v }
        if let v = lr { c.learningRate = v }
        if let v = clip { c.clip = v }
        if let v = seed { c.seed = v }
        if let v = threads { c.threads = v }
        if let v = validation { c.validationCount = v }
        if let v = text.embeddingDropout { c.embeddingDropout = v }
        if let v = text.hiddenDropout { c.hiddenDropout = v }
        do { try c.validate() } catch { throw fail(error.description, ExitStatus.usage) }
        if let n = text.subset, n < 1 { throw fail("--subset must be >= 1, got \(n)", ExitStatus.usage) }
        let time = try provenanceTime(reproducible: reproducible)
        let kernel = try trainingKernel()

        let outputPath = output ?? "models/imdb-lstm.rnnm"
        if output == nil { mkdir("models", 0o755) }
        do { try probeWritableDirectory(for: outputPath) } catch { throw fail(error.description, ExitStatus.cannotCreate) }

        let path = data ?? Train.defaultIMDbPath()
        let started = monotonicSeconds()
        // Only the default location is filled by a download: a --data path that does not exist
        // is more likely a typo than a request to put 80 MiB there.
        let downloader = IMDbDownloader()
        let downloading = data == nil && download && access(path, F_OK) != 0
        if downloading {
            printError("rnn-train: IMDb not found at \(path); downloading \(downloader.url) (about 80 MiB, SHA-256 checked)")
        }
        var splits: TextDatasetSplits
        do { splits = try IMDb.load(from: path, downloadingWith: downloading ? downloader : nil) } catch {
            var message = error.description
            if data == nil, !download, access(path, R_OK) != 0 {
                message += " (--no-download was given: download \(downloader.url) (SHA-256 \(downloader.expectedSHA256)) "
                    + "to \(path), or pass --data PATH)"
            }
            throw fail(message, ExitStatus.data)
        }
        if let n = text.subset {
            func pick(_ all: [TextExample]) -> [TextExample] {
                Array(all.filter { $0.label == 0 }.prefix(n)) + Array(all.filter { $0.label == 1 }.prefix(n))
            }
            splits.train = pick(splits.train)
            splits.test = pick(splits.test)
        }
        let archiveHash = fileSHA256(path)
        let prepared = PreparedTextData(splits: splits, configuration: &c)
        printError("rnn-train: IMDb from \(path): \(prepared.train.count) train, \(prepared.validation.count) validation, "
                   + "\(prepared.test.count) test reviews; vocabulary \(c.vocabularyWords) words; loaded in \(String(format1: monotonicSeconds() - started)) s")
        let trainer: TextTrainer
        BLASThreads.set(1)
        do { trainer = try TextTrainer(configuration: c, classCount: prepared.classNames.count, kernel: kernel) } catch {
            throw fail(error.description, statusCode(for: error))
        }
        let trainStart = monotonicSeconds()
        do {
            try trainer.train(prepared.train, validation: prepared.validation) { r in
                printError("epoch \(r.epoch): train loss \(String(format1: r.trainLoss, digits: 4)) acc \(String(format1: 100 * r.trainAccuracy)) %, "
                           + "validation loss \(String(format1: r.validationLoss, digits: 4)) acc \(String(format1: 100 * r.validationAccuracy)) %, "
                           + "\(r.steps) steps, \(String(format1: r.seconds)) s")
            }
        } catch { throw fail(error.description, statusCode(for: error)) }
        let trainSeconds = monotonicSeconds() - trainStart
        let (testLoss, testAccuracy) = trainer.evaluate(prepared.test)
        let (validationLoss, validationAccuracy) = prepared.validation.count > 0 ? trainer.evaluate(prepared.validation) : (0, 0)
        printError("rnn-train: test accuracy \(String(format1: 100 * testAccuracy, digits: 2)) % (\(prepared.test.count) reviews), "
                   + "trained in \(String(format1: trainSeconds / 60, digits: 2)) min")
        var provenance = Provenance(producer: "rnn-train", producerVersion: trainerVersionString,
                                    datasetName: "imdb", seed: c.seed)
        if let archiveHash { provenance.datasetSHA256[PathName(path: path).lastComponent] = archiveHash }
        provenance.hyperparameters = [
            "vocabulary_words": .number(Double(c.vocabularyWords)), "embedding_size": .number(Double(c.embeddingSize)),
            "hidden_size": .number(Double(c.hiddenSize)), "max_length": .number(Double(c.maxLength)),
            "batch_size": .number(Double(c.batchSize)), "epochs": .number(Double(c.epochs)),
            "learning_rate": .number(Double(c.learningRate)), "clip": .number(Double(c.clip)),
            "schedule": .string("cosine"), "optimizer": .string("adam"), "validation": .number(Double(c.validationCount)),
            "truncate": .string("start"), "embedding_dropout": .number(c.embeddingDropout),
            "hidden_dropout": .number(c.hiddenDropout),
        ]
        provenance.metrics = [
            "test_accuracy": testAccuracy, "test_loss": testLoss, "validation_accuracy": validationAccuracy,
            "validation_loss": validationLoss, "train_seconds": (trainSeconds * 10).rounded() / 10,
        ]
        time.stamp(&provenance)
        let model = trainer.modelFile(tokens: prepared.tokens, labels: prepared.classNames, provenance: provenance)
        do { try ModelWriter.write(model, to: outputPath) } catch {
            throw fail("writing \(outputPath): \(error.description)", ExitStatus.io)
        }
        printError("rnn-train: wrote \(outputPath)")
        print(String(format1: 100 * testAccuracy, digits: 2))
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

extension String {
    /// `value` with `digits` decimals (no Foundation `String(format:)`).
    init(format1 value: Double, digits: Int = 1) {
        let scale = (0..<digits).reduce(1.0) { r, _ in r * 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        } else if digits > 0 { text += "." + String(repeating: "0", count: digits) }
        self = text
    }
}
