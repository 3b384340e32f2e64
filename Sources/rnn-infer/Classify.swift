import ArgumentParser
import RNNDatasets
import RNNFormat
import RNNReport
import RNNRuntime
import RNNSupport

/// `rnn-infer classify IMAGES`: one prediction per image of an IDX file, streamed in batches.
struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify every image of an IDX file (raw, .gz, or - for standard input).",
        discussion: """
        Images are read and classified in batches, so memory stays bounded for any number of images.
        With --labels, a report (accuracy, confusion matrix, per-class precision and recall, most
        confused pairs) follows the table on standard output; with --format csv, json or ndjson it goes
        to standard error instead, so that standard output stays machine-readable.
        """)

    @Argument(help: ArgumentHelp("IDX3 u8 images: a path, a .gz path, or - for standard input.", valueName: "images"))
    var images: String

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Output format: table, csv, json or ndjson.")
    var format: RecordFormat = .table

    @Option(name: .customLong("top-k"), help: ArgumentHelp("Also list the K most probable classes of each image.", valueName: "K"))
    var topK: Int = 0

    @Option(help: ArgumentHelp("IDX1 labels of the images (raw or .gz): report accuracy and confusions.", valueName: "file"))
    var labels: String?

    @Option(help: ArgumentHelp("Write an SVG grid of the misclassified images (needs --labels).", valueName: "file.svg"))
    var misclassified: String?

    @Option(name: .customLong("misclassified-limit"), help: "At most this many images in the --misclassified grid.")
    var misclassifiedLimit: Int = 500

    @Option(name: .customLong("batch-size"), help: "Images read and classified at a time.")
    var batchSize: Int = 1024

    @OptionGroup var runtime: RunOptions

    func validate() throws {
        guard (1...1_000_000).contains(batchSize) else { throw ValidationError("--batch-size must be 1...1000000, found \(batchSize)") }
        guard topK >= 0 else { throw ValidationError("--top-k must be at least 0, found \(topK)") }
        guard misclassifiedLimit >= 0 else { throw ValidationError("--misclassified-limit must be at least 0") }
        if misclassified != nil && labels == nil { throw ValidationError("--misclassified needs --labels") }
    }

    func run() throws {
        let model = try loadModel(modelOption, options: runtime.loadOptions)
        if model.inputKind != .imageRows && model.inputKind != .image {
            let command = model.inputKind == .features ? "rnn-infer sequences FILE.npy|FILE.ts" : "rnn-infer text"
            throw Failure(status: .model, message: "the model reads \(model.inputKind.rawValue), not images: use `\(command)`")
        }
        let reader: IDXImageReader
        do { reader = try IDXImageReader(path: images) } catch { throw Failure.input(error) }
        do {
            try model.checkImageSize(height: reader.height, width: reader.width)
        } catch {
            throw Failure(status: .input, message: "\(displayName(images)): \(error)")
        }
        let truth = try readLabels(count: reader.count, classes: model.classCount)

        let output = OutputStream.standardOutput()
        let formatter = RecordFormatter(format: format, topK: min(topK, model.classCount))
        let options = runtime.classifyOptions
        var sink = RecordSink(output: output, writer: RecordWriter(format: format, topK: formatter.topK, labels: model.labels),
                              truth: truth, evaluation: Evaluation(labels: model.labels),
                              mistakes: misclassified.map { _ in MistakeCollector(limit: misclassifiedLimit) },
                              width: reader.width, height: reader.height)

        try output.write(formatter.header())
        // Three stages overlap, with the results of the plain loop "read batch k, classify it,
        // write its records": while batch k is classified on its own thread, this one reads batch
        // k + 1 and then writes the records of batch k. The batches are the --batch-size batches
        // of the plain loop (the same blocks, so the same bits), and failures are reported as that
        // loop meets them: a read failure once every earlier batch is written, a classification
        // or write failure at once.
        var readFailure: Failure?
        func readNext() -> ImageSet? {
            guard readFailure == nil else { return nil }
            do { return try reader.nextBatch(maxImages: batchSize) } catch {
                readFailure = Failure.input(error)
                return nil
            }
        }
        var classifying = readNext().map { BackgroundClassification(model: model, batch: $0, options: options) }
        while let running = classifying {
            let next = readNext()
            let result: BatchResult
            do { result = try running.wait() } catch { throw Failure.model(error) }
            classifying = next.map { BackgroundClassification(model: model, batch: $0, options: options) }
            do { try sink.write(result, of: running.batch) } catch {
                _ = try? classifying?.wait()  // no thread left running behind the error
                throw error
            }
        }
        if let readFailure {
            try? output.flush()
            throw readFailure
        }
        try output.write(formatter.footer(empty: sink.written == 0))
        if truth != nil {
            if format.isMachineReadable {
                try output.flush()
                log(sink.evaluation.report())
            } else {
                try output.write(sink.evaluation.report())
            }
        }
        try output.finish()
        if let misclassified {
            // Atomically (temp file + rename): a full disk leaves the old file or none, never half an SVG.
            let mistakes = sink.mistakes ?? MistakeCollector(limit: 0)
            do { try AtomicFile.write(Array(mistakes.svg(classNames: model.labels).utf8), to: misclassified) }
            catch { throw Failure(status: .output, message: "cannot write '\(misclassified)': io: \(error.message)") }
            log("rnn-infer: wrote the \(mistakes.kept.count) most confident of \(mistakes.total) misclassified images to \(misclassified)")
        }
    }

    /// Reads `--labels` and checks it against the images and the model (exit status 4).
    private func readLabels(count: Int, classes: Int) throws(Failure) -> [UInt8]? {
        guard let labels else { return nil }
        let values: [UInt8]
        do { values = try IDX.readLabels(at: labels) } catch { throw Failure.labels(error.description) }
        guard values.count == count else {
            throw Failure.labels("\(displayName(labels)) has \(values.count) labels, expected \(count) (one per image of \(displayName(images)))")
        }
        if let bad = values.firstIndex(where: { Int($0) >= classes }) {
            throw Failure.labels("\(displayName(labels)): label \(values[bad]) of image \(bad) is out of range, expected 0...\(classes - 1) (the model has \(classes) classes)")
        }
        return values
    }
}

/// Where `classify`'s records go: standard output, and with `--labels` the evaluation and the
/// `--misclassified` grid.
private struct RecordSink {
    let output: OutputStream
    let writer: RecordWriter
    /// The `--labels` values, one per image of the input.
    let truth: [UInt8]?
    var evaluation: Evaluation
    /// The `--misclassified` grid's images; nil without the option.
    var mistakes: MistakeCollector?
    let width: Int
    let height: Int
    /// Records written so far: the input index of the next image.
    private(set) var written = 0

    init(output: OutputStream, writer: RecordWriter, truth: [UInt8]?, evaluation: Evaluation, mistakes: MistakeCollector?,
         width: Int, height: Int) {
        self.output = output
        self.writer = writer
        self.truth = truth
        self.evaluation = evaluation
        self.mistakes = mistakes
        self.width = width
        self.height = height
    }

    /// Writes the records of `batch`, the next images of the input, classified as `result`.
    mutating func write(_ result: BatchResult, of batch: ImageSet) throws(Failure) {
        for row in 0..<result.count {
            let index = written
            try output.append { writer.append(index: index, result: result, row: row, first: index == 0, to: &$0) }
            if let truth {
                let t = Int(truth[index]), p = result.predictions[row]
                evaluation.add(truth: t, predicted: p)
                if t != p && mistakes != nil {
                    if let image = DigitImage(width: width, height: height, pixels: Array(batch.image(at: row))) {
                        mistakes?.add(Misclassification(index: index, truth: t, predicted: p,
                                                       probability: Double(result.probabilities[row * result.classCount + p]),
                                                       image: image))
                    }
                }
            }
            written += 1
        }
    }
}

/// One batch classified on a thread of its own (which runs the batch on `options.threads`
/// workers as any classify call does), while the caller reads and writes.
private final class BackgroundClassification: @unchecked Sendable {
    // @unchecked: `outcome` is written by the thread before it ends and read after pthread_join.
    let batch: ImageSet
    private let model: Model
    private let options: ClassifyOptions
    private var outcome: Result<BatchResult, RuntimeError>?
    private var thread: pthread_t?

    /// Starts classifying `batch` (on this thread, if no thread can be started).
    init(model: Model, batch: ImageSet, options: ClassifyOptions) {
        self.batch = batch
        self.model = model
        self.options = options
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            let job = Unmanaged<BackgroundClassification>.fromOpaque(context!).takeRetainedValue()
            job.run()
            return nil
        }, context)
        if status == 0 {
            self.thread = thread
        } else {
            Unmanaged<BackgroundClassification>.fromOpaque(context).release()
            run()
        }
    }

    private func run() {
        do { outcome = .success(try model.classify(pixels: batch.pixels, options: options)) } catch { outcome = .failure(error) }
    }

    /// The batch's result, once the thread has finished.
    func wait() throws(RuntimeError) -> BatchResult {
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
        return try outcome!.get()
    }
}

/// Loads the model chosen by `option`, saying on standard error which one and how fast (exit status 2).
func loadModel(_ option: ModelOption, options: LoadOptions = LoadOptions()) throws(Failure) -> Model {
    let (path, origin) = option.resolve()
    do {
        let (model, seconds) = try measured { () throws(RuntimeError) -> Model in try Model(contentsOf: path, options: options) }
        log("rnn-infer: model \(path) (\(origin)), \(model.labels.count) \(model.metadata.output == .values ? "outputs" : "classes"), loaded in \(fixed(seconds * 1000, 1)) ms")
        return model
    } catch {
        throw Failure.model(error)
    }
}

/// A path as shown in messages (`-` is standard input).
func displayName(_ path: String) -> String {
    path == "-" ? "standard input" : "'\(path)'"
}
