import ArgumentParser
import RNNDatasets
import RNNFormat
import RNNRuntime
#if canImport(Glibc)
import Glibc
#endif

/// `rnn-infer text`: sentiment (or any tokens-model class) of texts, with a format-1.1 model.
struct ClassifyText: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Classify texts with a tokens model (format 1.1), e.g. IMDb reviews.",
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
    @Option(name: .long, help: "Worker threads.") var threads: Int = defaultThreadCount()
    @Option(name: .long, help: "Largest folded input table [V, 4H] in MiB (0: never fold).") var foldLimit: Int = 64
    @Option(help: KernelOption.help) var kernel: KernelOption = .automatic
    @Argument(help: "Files, one text each; '-' reads standard input, one text per line.") var files: [String] = []

    func run() throws {
        let path: String, origin: String
        if let model { (path, origin) = (model, "--model") }
        else if let v = getenv("RNN_MODEL"), !String(cString: v).isEmpty { (path, origin) = (String(cString: v), "$RNN_MODEL") }
        else { (path, origin) = ("models/imdb-lstm.rnnm", "default") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be in 1...64, got \(threads)") }
        guard foldLimit >= 0 else { throw ValidationError("--fold-limit must be >= 0, got \(foldLimit)") }
        try kernel.validate()
        let (classifier, seconds) = try measure { () throws(Failure) -> TextClassifier in
            do { return try TextClassifier(contentsOf: path, options: TextLoadOptions(foldingLimitBytes: foldLimit << 20, kernel: kernel.stepKernel)) }
            catch { throw Failure.model(error) }
        }
        log("rnn-infer: model \(path) (\(origin)), \(classifier.classCount) classes, vocabulary \(classifier.encoder.input.vocabulary.count) words, "
            + "embedding \(classifier.isEmbeddingFolded ? "folded into the LSTM input table" : "not folded"), kernel \(kernel.description), loaded in \(String(format: seconds * 1000)) ms")
        let out = OutputStream.standardOutput()
        if let imdb {
            try evaluate(classifier, imdb, out)
            return
        }
        var sources: [(String, String)] = text.enumerated().map { ("--text \($0.offset + 1)", $0.element) }
        let inputs = files.isEmpty && text.isEmpty ? ["-"] : files
        for file in inputs {
            if file == "-" {
                var n = 0
                while let line = readLine(strippingNewline: true) { n += 1; sources.append(("stdin:\(n)", line)) }
            } else {
                guard let bytes = readWholeFile(file) else {
                    throw Failure(status: .input, message: "cannot read '\(file)': \(String(cString: strerror(errno)))")
                }
                sources.append((file, String(decoding: bytes, as: UTF8.self)))
            }
        }
        let (predictions, elapsed) = measure { classifier.classify(texts: sources.map(\.1), threads: threads) }
        for (p, s) in zip(predictions, sources) {
            try out.write("\(p.label)\t\(p.probability)\t\(s.0)\n")
        }
        try out.finish()
        log("rnn-infer: \(sources.count) texts in \(String(format: elapsed * 1000)) ms")
    }

    private func evaluate(_ classifier: TextClassifier, _ path: String, _ out: OutputStream) throws {
        let splits: TextDatasetSplits
        do { splits = try IMDb.load(from: path) } catch { throw Failure.input(error) }
        let labels = classifier.labels
        guard labels.count == splits.classNames.count else {
            throw Failure.labels("the model has \(labels.count) classes but the data set has \(splits.classNames.count)")
        }
        let (predictions, elapsed) = measure { classifier.classify(texts: splits.test.map(\.text), threads: threads) }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: labels.count), count: labels.count)
        for (p, e) in zip(predictions, splits.test) { confusion[Int(e.label)][p.classIndex] += 1 }
        let correct = (0..<labels.count).reduce(0) { $0 + confusion[$1][$1] }
        let n = splits.test.count
        var report = "accuracy \(String(format: 100 * Double(correct) / Double(max(1, n)))) % (\(correct) of \(n) test reviews)\n"
        report += "confusion (rows: true, columns: predicted)\n"
        let width = max(10, labels.map(\.count).max() ?? 0)
        func pad(_ s: String) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }
        report += pad("") + labels.map { " " + pad($0) }.joined() + "\n"
        for (i, row) in confusion.enumerated() { report += pad(labels[i]) + row.map { " " + pad(String($0)) }.joined() + "\n" }
        report += "\(String(format: Double(n) / max(elapsed, 1e-9))) reviews/s (\(threads) threads, tokenizing included)\n"
        try out.write(report)
        try out.finish()
    }
}

/// The bytes of a file, or nil.
private func readWholeFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n <= 0 { break }
        bytes += chunk[0..<n]
    }
    return ferror(f) == 0 ? bytes : nil
}

private extension String {
    /// One decimal place, without Foundation.
    init(format value: Double) {
        let r = (value * 10).rounded() / 10
        self = "\(r)"
    }
}

/// The `runtime` line of `rnn-infer inspect` for a tokens model (spec §6.2.1): load time and folding.
func textRuntimeLine(_ file: String) throws(Failure) -> String {
    let (classifier, seconds) = try measure { () throws(Failure) -> TextClassifier in
        do { return try TextClassifier(contentsOf: file) } catch { throw Failure.model(error) }
    }
    let v = classifier.encoder.input.vocabularySize
    return "runtime       loads in \(String(format: seconds * 1000)) ms; embedding "
        + (classifier.isEmbeddingFolded ? "folded into the first LSTM's input table [\(v), 4H]\n" : "not folded (table over the limit)\n")
}

/// Loads `file` with the runtime that fits its input kind (image models: Model; tokens: TextClassifier).
func loadRunnable(_ file: String) throws {
    do {
        let kind = try ModelReader.read(contentsOf: file).metadata.input.kind
        if kind == .tokens { _ = try TextClassifier(contentsOf: file) } else { _ = try Model(contentsOf: file) }
    } catch let error as ModelFormatError {
        throw RuntimeError.unreadableModel(path: file, error: error)
    }
}
