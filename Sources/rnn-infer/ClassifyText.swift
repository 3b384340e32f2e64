import ArgumentParser
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNSupport

/// `rnn-infer text`: sentiment (or any tokens-model class) of texts, with a format-1.1 model.
struct ClassifyText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Classify texts with a tokens model (format 1.1 and later: any cell, direction or pooling), e.g. IMDb reviews.",
        discussion: """
        Texts come from --text (repeatable), from FILE arguments (each file is one text), or from
        standard input ('-' or no argument: one text per line). Output: one line per text,
        `<label>\\t<probability>\\t<source>`. With --imdb PATH (an aclImdb directory or the .tar.gz),
        classifies the labelled test reviews and prints accuracy and the confusion matrix.
        The model is --model FILE, else $RNN_MODEL, else models/imdb-lstm.rnnm.
        """)

    @Option(name: .long, help: ArgumentHelp("The .rnnm model file.", valueName: "file")) var model: String?
    @Option(name: .long, help: "A text to classify (repeatable).") var text: [String] = []
    @Option(name: .long, help: ArgumentHelp("Evaluate on the test split of aclImdb (directory or .tar.gz).", valueName: "path")) var imdb: String?
    @Option(name: .long, help: "Largest folded input table [V, 4H] in MiB (0: never fold).") var foldLimit: Int = 64
    @OptionGroup var runtime: RunOptions
    @Argument(help: "Files, one text each; '-' reads standard input, one text per line.") var files: [String] = []

    func run() throws {
        let path: String, origin: String
        if let model { (path, origin) = (model, "--model") }
        else if let v = getenv("RNN_MODEL"), !String(cString: v).isEmpty { (path, origin) = (String(cString: v), "$RNN_MODEL") }
        else { (path, origin) = ("models/imdb-lstm.rnnm", "default") }
        guard (0...(1 << 20)).contains(foldLimit) else { throw ValidationError("--fold-limit must be in 0...1048576 (MiB), got \(foldLimit)") }
        let (classifier, seconds) = try measured { () throws(Failure) -> Model in
            do { return try Model(contentsOf: path, options: LoadOptions(embeddingFoldingLimitBytes: foldLimit << 20, evaluation: runtime.evaluation)) }
            catch { throw Failure.model(error) }
        }
        guard let encoder = classifier.encoder else {
            throw Failure.model(RuntimeError.inputKindMismatch(model: classifier.inputKind, given: .tokens))
        }
        let options = runtime.classifyOptions
        log("rnn-infer: model \(path) (\(origin)), \(classifier.classCount) classes, vocabulary \(encoder.input.vocabulary.count) words, "
            + "embedding \(classifier.isEmbeddingFolded ? "folded into the LSTM input table" : "not folded"), kernel \(runtime.kernel.description), loaded in \(fixed(seconds * 1000, 1)) ms")
        let out = OutputStream.standardOutput()
        if let imdb {
            try evaluate(classifier, options: options, imdb, out)
            return
        }
        // Streamed: texts are tokenized as their bytes arrive and classified in batches, so memory
        // stays bounded (model + one batch of token ids) for any number of lines and any line length.
        var batch = TextBatch(classifier: classifier, options: options, output: out)
        for (k, text) in text.enumerated() { try batch.add(encoder.tokenIDs(text), source: "--text \(k + 1)") }
        for file in files.isEmpty && text.isEmpty ? ["-"] : files {
            if file == "-" {
                try TextReader.lines(of: 0, name: "standard input", encoder: encoder) { n, ids throws(Failure) in
                    try batch.add(ids, source: "stdin:\(n)")
                }
            } else {
                try batch.add(try TextReader.wholeFile(file, encoder: encoder), source: file)
            }
        }
        try batch.flush()
        try out.finish()
        log("rnn-infer: \(batch.count) texts in \(fixed(batch.seconds * 1000, 1)) ms of classification")
    }

    private func evaluate(_ classifier: Model, options: ClassifyOptions, _ path: String, _ out: OutputStream) throws {
        let splits: TextDatasetSplits
        do { splits = try IMDb.load(from: path) } catch { throw Failure.input(error) }
        let labels = classifier.labels.map(TerminalText.escaped)
        guard labels.count == splits.classNames.count else {
            throw Failure.labels("the model has \(labels.count) classes but the data set has \(splits.classNames.count)")
        }
        let (result, elapsed) = try measured { () throws(Failure) -> BatchResult in
            do { return try classifier.classify(texts: splits.test.map(\.text), options: options) } catch { throw Failure.model(error) }
        }
        var evaluation = Evaluation(labels: classifier.labels)
        for (p, e) in zip(result.predictions, splits.test) { evaluation.add(truth: Int(e.label), predicted: p) }
        let n = splits.test.count
        var report = "accuracy \(fixed(100 * evaluation.accuracy, 1)) % (\(evaluation.correct) of \(n) test reviews)\n"
        report += evaluation.report(summary: false, noun: "reviews")
        report += "\(fixed(Double(n) / max(elapsed, 1e-9), 1)) reviews/s (\(options.threads) threads, tokenizing included)\n"
        try out.write(report)
        try out.finish()
    }
}

/// Texts classified a batch at a time, their lines written in input order.
private struct TextBatch {
    let classifier: Model
    let options: ClassifyOptions
    let output: OutputStream
    /// Texts per batch: enough to keep every thread busy, small enough to bound memory.
    static let size = 512
    private var ids: [[Int32]] = []
    private var sources: [String] = []
    private(set) var count = 0
    private(set) var seconds = 0.0

    init(classifier: Model, options: ClassifyOptions, output: OutputStream) {
        self.classifier = classifier
        self.options = options
        self.output = output
    }

    mutating func add(_ sequence: [Int32], source: String) throws(Failure) {
        ids.append(sequence)
        sources.append(source)
        if ids.count == Self.size { try flush() }
    }

    mutating func flush() throws(Failure) {
        guard !ids.isEmpty else { return }
        let (result, elapsed) = try measured { [ids, classifier, options] () throws(Failure) -> BatchResult in
            do { return try classifier.classify(tokenSequences: ids, options: options) } catch { throw Failure.model(error) }
        }
        seconds += elapsed
        count += ids.count
        for (k, source) in sources.enumerated() {
            let p = result[k]
            try output.write("\(TerminalText.escaped(p.label))\t\(p.probability)\t\(TerminalText.escaped(source))\n")
        }
        ids.removeAll(keepingCapacity: true)
        sources.removeAll(keepingCapacity: true)
    }
}

/// Reads texts in fixed-size chunks through ``TokenSequence``: no line or file is ever held whole.
enum TextReader {
    static let chunkSize = 1 << 16

    /// Each line of the file open at `descriptor` (`\n` ends a line; a last line without it counts),
    /// with its 1-based number, as token ids.
    static func lines(of descriptor: Int32, name: String, encoder: TokenEncoder,
                      _ body: (Int, [Int32]) throws(Failure) -> Void) throws(Failure) {
        var sequence = TokenSequence(encoder)
        var line = 0
        var pending = false   // bytes of an unfinished line have been read
        try forEachChunk(of: descriptor, name: name) { (chunk: ArraySlice<UInt8>) throws(Failure) in
            var start = chunk.startIndex
            while let newline = chunk[start...].firstIndex(of: 10) {
                sequence.append(chunk[start..<newline])
                line += 1
                try body(line, sequence.finish())
                pending = false
                start = newline + 1
            }
            if start < chunk.endIndex {
                sequence.append(chunk[start...])
                pending = true
            }
        }
        if pending {
            line += 1
            try body(line, sequence.finish())
        }
    }

    /// The whole file at `path` as one text's token ids, read a chunk at a time.
    static func wholeFile(_ path: String, encoder: TokenEncoder) throws(Failure) -> [Int32] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(status: .input, message: "cannot read '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var sequence = TokenSequence(encoder)
        try forEachChunk(of: fd, name: "'\(path)'") { (chunk: ArraySlice<UInt8>) throws(Failure) in sequence.append(chunk) }
        return sequence.finish()
    }

    /// Calls `body` with each piece `read(2)` returns (retried on EINTR), in one reused buffer, until the end.
    static func forEachChunk(of fd: Int32, name: String,
                                     _ body: (ArraySlice<UInt8>) throws(Failure) -> Void) throws(Failure) {
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n == 0 { return }
            if n > 0 {
                try body(chunk[0..<n])
            } else if errno != EINTR {
                throw Failure(status: .input, message: "cannot read \(name): \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// The `runtime` line of `rnn-infer inspect` for a tokens model (spec §6.2.1): load time and folding.
func textRuntimeLine(_ file: String) throws(Failure) -> String {
    let (classifier, seconds) = try measured { () throws(Failure) -> Model in
        do { return try Model(contentsOf: file) } catch { throw Failure.model(error) }
    }
    let v = classifier.encoder?.input.vocabularySize ?? 0
    return "runtime       loads in \(fixed(seconds * 1000, 1)) ms; embedding "
        + (classifier.isEmbeddingFolded ? "folded into the first LSTM's input table [\(v), 4H]\n" : "not folded (table over the limit)\n")
}

/// Loads `file` as the runtime would run it (any input kind).
func loadRunnable(_ file: String) throws {
    _ = try Model(contentsOf: file)
}
