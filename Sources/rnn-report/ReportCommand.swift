import ArgumentParser
import CommandLineSupport
import Foundation
import RNNDatasets
import RNNFormat
import RNNReport
import RNNRuntime
import RNNSupport

/// `rnn-report`: measures a trained model and writes the analysis report (HTML, Markdown, SVG).
@main
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-report",
        abstract: "Measure a trained .rnnm model on its test set and write the analysis report.",
        discussion: """
        Writes OUTPUT/index.html (self-contained: inline SVG and CSS, no script, no network),
        OUTPUT/REPORT.md and every figure as OUTPUT/NAME.svg. The report grows with the inputs:
        --log adds learning curves, --comparison adds the PyTorch RNN-versus-CNN benchmark
        (bench/compare_cnn.py), --imdb-comparison adds the IMDb LSTM-versus-bag-of-words section
        (bench/imdb_bow.py plus the LSTM's numbers), --findings adds your own sentences (one per line).

        With --figures-only DIR only the figures named by --figures are written to DIR, and the
        slow measurements (dtype re-encoding, speed) are skipped unless a requested figure needs them.

        Speeds are only meaningful in a release build: swift build -c release --product rnn-report.

        Exit status: 0 ok; 2 model error; 3 dataset error; 4 run log, comparison or findings error;
        5 error writing the report; 64 usage error.
        """,
        version: ToolMain.versionText(tool: "rnn-report", version: RuntimeVersion.string))

    @Option(help: ArgumentHelp("The .rnnm model file.", valueName: "file"))
    var model = "models/mnist-lstm.rnnm"

    @Option(help: ArgumentHelp("rnn-train's JSON-lines run log (default: the model path with .log.jsonl, if it exists).", valueName: "file"))
    var log: String?

    @Option(name: .customLong("cnn-model"),
            help: ArgumentHelp("A CNN trained on the same data (rnn-train --arch cnn): measured like the model (accuracy, sizes, speed, its run log's training time) and set against it in \"The answer\".", valueName: "file"))
    var cnnModel: String?

    @Option(help: ArgumentHelp("Directory of the IDX test files (default: $MNIST_DIR / $FASHION_MNIST_DIR, else the dataset's default directory).", valueName: "dir"))
    var data: String?

    @Option(help: ArgumentHelp("mnist or fashion-mnist.", valueName: "name"))
    var dataset: String = "mnist"

    @Option(help: ArgumentHelp("bench/compare_cnn.py's JSON (e.g. bench/out/compare.json).", valueName: "file"))
    var comparison: String?

    @Option(name: .customLong("imdb-comparison"),
            help: ArgumentHelp("IMDb LSTM-versus-bag-of-words JSON (schema rnn-imdb-compare/1, see notes/report.md).", valueName: "file"))
    var imdbComparison: String?

    @Option(help: ArgumentHelp("The recurrent family table: bench/family.sh's bench/results/family.json.", valueName: "file"))
    var family: String?

    @Option(help: ArgumentHelp("A text file of findings, one per line, shown in the report.", valueName: "file"))
    var findings: String?

    @Option(help: ArgumentHelp("Report directory (default: reports/DATASET).", valueName: "dir"))
    var output: String?

    @Option(name: .customLong("figures-only"), help: ArgumentHelp("Write only the --figures SVGs into this directory.", valueName: "dir"))
    var figuresOnly: String?

    @Option(help: ArgumentHelp("Comma-separated figure names for --figures-only.", valueName: "names"))
    var figures = "learning-curves-accuracy,misclassified"

    @Option(help: "Worker threads for the test-set classification and the multi-threaded speed rows (default: the number of cores).")
    var threads: Int?

    @Option(name: .customLong("batch-sizes"), help: "Batch sizes for the speed measurements.")
    var batchSizes = "1,128,10000"

    @Option(name: .customLong("single-images"), help: "Single-image calls timed for the batch-1 median.")
    var singleImages = 500

    @Option(help: "Timed passes over the test images per larger batch size (the median is reported).")
    var repeats = 7

    @Option(help: "Sample test images shown in the data figure.")
    var samples = 20

    @Option(name: .customLong("test-images"), help: "Use only the first N test images (a quick look; the report says so).")
    var testImages: Int?

    @Flag(name: .customLong("no-dtypes"), help: "Skip re-encoding the model in f16, bf16 and int8.")
    var noDtypes = false

    @Flag(name: .customLong("no-speed"), help: "Skip the speed measurements.")
    var noSpeed = false

    func validate() throws {
        guard ImageDataset(rawValue: dataset) != nil else {
            throw ValidationError("--dataset: expected one of \(ImageDataset.allCases.map(\.rawValue).joined(separator: ", ")), found '\(dataset)'")
        }
        guard (1...256).contains(threads ?? 1) else { throw ValidationError("--threads: expected 1...256, found \(threads ?? 0)") }
        guard parsedBatchSizes != nil else {
            throw ValidationError("--batch-sizes: expected comma-separated integers in 1...1000000, found '\(batchSizes)'")
        }
        guard (1...100_000).contains(singleImages) else { throw ValidationError("--single-images: expected 1...100000, found \(singleImages)") }
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats: expected 1...1000, found \(repeats)") }
        guard (1...10_000_000).contains(testImages ?? 1) else { throw ValidationError("--test-images: expected at least 1, found \(testImages ?? 0)") }
        guard (0...200).contains(samples) else { throw ValidationError("--samples: expected 0...200, found \(samples)") }
    }

    var parsedBatchSizes: [Int]? {
        let values = batchSizes.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && (1...1_000_000).contains($0!) }) else { return nil }
        return values.compactMap { $0 }
    }

    static func main() {
        // The runtime's threads split batches themselves: OpenBLAS's pool stays at one thread.
        Model.setBLASThreads(1)
        ToolMain.run(Self.self, tool: "rnn-report") { error in
            (error as? ReportFailure).map { ($0.status, "\($0)") }
        }
    }

    func run() throws {
        let imageDataset = ImageDataset(rawValue: dataset) ?? .mnist
        let threadCount = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
        let wanted = Set(figures.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })

        // Inputs first: a missing optional file should fail before minutes of measuring.
        guard FileManager.default.fileExists(atPath: model) else { throw ReportFailure.modelMissing(path: model) }
        let runLog = try readRunLog()
        let comparisonResults = try readComparison()
        let textComparison = try readTextComparison()
        let familyTable = try readFamily()
        let extraFindings = try readFindings()

        let summary: ModelSummary
        let file: ModelFile
        do {
            summary = try ModelReader.inspect(contentsOf: model)
            file = try ModelReader.read(contentsOf: model)
        } catch {
            throw ReportFailure.model(.unreadableModel(path: model, error: error))
        }
        let loaded: Model
        do { loaded = try Model(file) } catch { throw ReportFailure.model(error) }

        // Only the test files are needed: reading (and checksumming) the 60,000 training images would
        // more than double the start-up time for nothing.
        let fullTest = try loadTestSet(imageDataset)
        let classNames = imageDataset.classNames
        let test = testImages.map { fullTest.subset(0..<min($0, fullTest.count)) } ?? fullTest
        do { try loaded.checkImageSize(height: test.images.height, width: test.images.width) } catch { throw ReportFailure.model(error) }
        guard loaded.classCount == classNames.count else {
            throw ReportFailure.dataMismatch("expected a model with \(classNames.count) classes for \(imageDataset), found \(loaded.classCount)")
        }
        printError("rnn-report: model \(model), \(summary.parameterCount) parameters; \(imageDataset) test set: \(test.count) images")

        let (evaluation, evaluationSeconds) = try measured { () throws(ReportFailure) in try evaluate(loaded, on: test, threads: threadCount) }
        printError("rnn-report: test accuracy \(Format.fixed(evaluation.accuracy * 100, 2))% (\(Format.fixed(evaluationSeconds, 1)) s)")
        let measuredCNN = try cnnModel.map { path throws(ReportFailure) in try measureCNN(path, test: test, threads: threadCount) }

        let figuresOnlyMode = figuresOnly != nil
        var sizes: [SizeRow] = []
        if !noDtypes && (!figuresOnlyMode || wanted.contains("sizes")) {
            sizes = try measureSizes(file, test: test, threads: threadCount)
        }
        var speeds: [SpeedRow] = []
        if !noSpeed && (!figuresOnlyMode || wanted.contains { $0 == "speed" || $0.hasPrefix("compare-speed") }) {
            #if DEBUG
            printError("rnn-report: warning: debug build; speeds are not representative (swift build -c release)")
            #endif
            let threadCounts = threadCount > 1 ? [1, threadCount] : [1]
            speeds = try measureSpeed(loaded, pixels: test.images.pixels, batchSizes: parsedBatchSizes ?? [1, 128, 10_000],
                                      threadCounts: threadCounts, singleImages: singleImages, repeats: repeats)
            for row in speeds {
                printError("rnn-report: batch \(row.batchSize), \(row.threads) thread(s): \(Int(row.imagesPerSecond)) images/s")
            }
        }

        var input = ReportInput(
            title: "Can an LSTM read \(imageDataset == .mnist ? "handwritten digits" : "Fashion-MNIST clothes")?",
            question: "The course question: can an RNN solve the \(imageDataset) task, and can it do better than a CNN in accuracy, model size and computational speed?",
            model: overview(summary, path: model),
            datasetName: imageDataset.description, classNames: classNames, runLog: runLog,
            samples: (0..<min(samples, test.count)).compactMap { i in digitImage(test.images, i).map { LabeledImage(image: $0, label: Int(test.labels[i])) } },
            evaluation: evaluation, sizes: sizes, speeds: speeds, comparison: comparisonResults, findings: extraFindings,
            footer: footer(threads: threadCount), textComparison: textComparison, family: familyTable)
        input.cnn = measuredCNN
        let rendered = ReportFigures.make(input)

        if let directory = figuresOnly {
            let chosen = rendered.filter { wanted.contains($0.name) }
            let missing = wanted.subtracting(chosen.map(\.name))
            if !missing.isEmpty {
                printError("rnn-report: not available with these inputs: \(missing.sorted().joined(separator: ", ")) (available: \(rendered.map(\.name).joined(separator: ", ")))")
            }
            try createDirectory(directory)
            for figure in chosen { try write(figure.svg, to: directory + "/" + figure.fileName) }
            printError("rnn-report: wrote \(chosen.count) figure(s) to \(directory)")
            return
        }

        let directory = output ?? "reports/\(imageDataset.rawValue)"
        try createDirectory(directory)
        for figure in rendered { try write(figure.svg, to: directory + "/" + figure.fileName) }
        try write(HTMLPage.render(input, figures: rendered), to: directory + "/index.html")
        try write(MarkdownSummary.render(input, figures: rendered), to: directory + "/REPORT.md")
        printError("rnn-report: wrote \(directory)/index.html, REPORT.md and \(rendered.count) figures")
    }

    /// The `--cnn-model` as the model is measured: the same test images, dtypes, batch sizes and threads.
    func measureCNN(_ path: String, test: LabeledImages, threads: Int) throws(ReportFailure) -> MeasuredModel {
        guard FileManager.default.fileExists(atPath: path) else { throw ReportFailure.modelMissing(path: path) }
        let summary: ModelSummary, file: ModelFile
        do {
            summary = try ModelReader.inspect(contentsOf: path)
            file = try ModelReader.read(contentsOf: path)
        } catch {
            throw ReportFailure.model(.unreadableModel(path: path, error: error))
        }
        let model: Model
        do {
            model = try Model(file)
            try model.checkImageSize(height: test.images.height, width: test.images.width)
        } catch { throw ReportFailure.model(error) }
        let evaluation = try evaluate(model, on: test, threads: threads)
        printError("rnn-report: CNN \(path): \(summary.parameterCount) parameters, test accuracy \(Format.fixed(evaluation.accuracy * 100, 2))%")
        let sizes = noDtypes ? [] : try measureSizes(file, test: test, threads: threads)
        var speeds: [SpeedRow] = []
        if !noSpeed {
            speeds = try measureSpeed(model, pixels: test.images.pixels, batchSizes: parsedBatchSizes ?? [1, 128, 10_000],
                                      threadCounts: threads > 1 ? [1, threads] : [1], singleImages: singleImages, repeats: repeats)
            for row in speeds { printError("rnn-report: CNN batch \(row.batchSize), \(row.threads) thread(s): \(Int(row.imagesPerSecond)) images/s") }
        }
        let implied = (path.hasSuffix(".rnnm") ? String(path.dropLast(5)) : path) + ".log.jsonl"
        var log: RunLog? = nil
        if let text = try? String(contentsOfFile: implied, encoding: .utf8) {
            do { log = try RunLog.parse(jsonLines: text) } catch { throw .log(path: implied, error) }
        } else {
            printError("rnn-report: no run log at \(implied); the answer has no CNN training time")
        }
        return MeasuredModel(name: URL(fileURLWithPath: path).lastPathComponent, parameters: summary.parameterCount,
                             testAccuracy: evaluation.accuracy, trainSeconds: log?.trainSeconds, epochs: log?.epochs.count,
                             sizes: sizes, speeds: speeds)
    }

    /// The test images and labels of `dataset`, from --data, the environment or the default directory.
    func loadTestSet(_ dataset: ImageDataset) throws(ReportFailure) -> LabeledImages {
        let locator = DatasetLocator(dataset: dataset, directory: data)
        guard let imagesPath = locator.path(of: dataset.file(.test, .images)),
              let labelsPath = locator.path(of: dataset.file(.test, .labels)) else {
            throw .dataset(.missingFiles(dataset: dataset.description, directory: locator.directory,
                                         files: [dataset.file(.test, .images).name, dataset.file(.test, .labels).name]))
        }
        do {
            let test = try LabeledImages(images: IDX.readImages(at: imagesPath), labels: IDX.readLabels(at: labelsPath))
            try test.validateLabels(classes: dataset.classNames.count)
            return test
        } catch {
            throw .dataset(error)
        }
    }

    func readRunLog() throws(ReportFailure) -> RunLog? {
        var path = log
        if path == nil {
            let implied = (model.hasSuffix(".rnnm") ? String(model.dropLast(5)) : model) + ".log.jsonl"
            if FileManager.default.fileExists(atPath: implied) { path = implied } else {
                printError("rnn-report: no run log at \(implied); the report has no learning curves (pass --log FILE)")
                return nil
            }
        }
        guard let path else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .logMissing(path: path) }
        do { return try RunLog.parse(jsonLines: text) } catch { throw .log(path: path, error) }
    }

    func readComparison() throws(ReportFailure) -> Comparison? {
        guard let path = comparison else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw .comparisonMissing(path: path) }
        do { return try Comparison.decode(json: data) } catch { throw .comparison(path: path, error) }
    }

    func readFindings() throws(ReportFailure) -> [String] {
        guard let path = findings else { return [] }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .findingsMissing(path: path) }
        return text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    func overview(_ summary: ModelSummary, path: String) -> ModelOverview {
        let metadata = summary.metadata
        var details: [(String, String)] = [
            ("format", "\(summary.formatMajor).\(summary.formatMinor), features: \(summary.features.isEmpty ? "none" : summary.features.joined(separator: ", "))"),
            ("input", "\(metadata.input.height)x\(metadata.input.width) u8, x = pixel x \(metadata.input.scale) + \(metadata.input.offset), one row per time step"),
            ("classes", metadata.labels.joined(separator: ", ")),
            ("producer", [metadata.provenance.producer, metadata.provenance.producerVersion].compactMap { $0 }.joined(separator: " ")),
        ]
        if let created = metadata.provenance.createdAt { details.append(("created", created)) }
        if let name = metadata.provenance.datasetName { details.append(("trained on", name)) }
        if let seed = metadata.provenance.seed { details.append(("seed", String(seed))) }
        for key in metadata.provenance.hyperparameters.keys.sorted() {
            switch metadata.provenance.hyperparameters[key] {
            case .number(let v)?: details.append((key, v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)))
            case .string(let s)?: details.append((key, s))
            case nil: break
            }
        }
        for key in metadata.provenance.metrics.keys.sorted() {
            details.append(("metric " + key, String(metadata.provenance.metrics[key] ?? 0)))
        }
        let dtypes = Array(Set(summary.tensors.map(\.dtype.description))).sorted()
        return ModelOverview(
            name: URL(fileURLWithPath: path).lastPathComponent, fileBytes: summary.fileSize, parameterCount: summary.parameterCount,
            layers: summary.layers.map { .init(name: $0.name, kind: $0.type, input: $0.inputShape, output: $0.outputShape, parameters: $0.parameterCount) },
            dtypes: dtypes, details: details)
    }

    func footer(threads: Int) -> String {
        #if DEBUG
        let build = "debug build"
        #else
        let build = "release build"
        #endif
        let subset = testImages.map { " Only the first \($0) test images were used." } ?? ""
        return "Generated by rnn-report (\(build), \(ProcessInfo.processInfo.activeProcessorCount) cores, \(threads) worker threads) from \(model).\(subset)"
    }

    func createDirectory(_ path: String) throws(ReportFailure) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .output(path: path, detail: "\(error.localizedDescription)")
        }
    }

    func write(_ text: String, to path: String) throws(ReportFailure) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .output(path: path, detail: "\(error.localizedDescription)")
        }
    }
}

/// Writes one line to standard error.
func printError(_ message: String) {
    writeToStandardError(message + "\n")
}
