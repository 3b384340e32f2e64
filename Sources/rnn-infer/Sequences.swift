import ArgumentParser
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNSupport

/// `rnn-infer sequences FILE`: outputs of a `features` model (format 1.2) for every sequence of a
/// `.npy` array or a UEA/UCR `.ts` file.
struct Sequences: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify feature sequences (.npy [N, T, F] or UEA/UCR .ts) with a features model (format 1.2).",
        discussion: """
        FILE is a .npy array of float32 or float64 [N, T, F] (C order; --lengths FILE.npy, int32 or
        int64 [N], gives each sequence's steps, else every sequence has T), or a .ts file of the
        UEA/UCR archive (variable lengths; its class labels are compared with the model's labels,
        and a report follows as for `classify --labels`). Output: one record per sequence (the
        table, csv, json or ndjson of `classify`), or with --every-step one per time step of a
        per-step model. A "values" model (regression) prints its values instead of a class.
        """)

    @Argument(help: ArgumentHelp("A .npy [N, T, F] array or a .ts file.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("A .npy int32/int64 [N] array of sequence lengths (with a .npy FILE).", valueName: "file"))
    var lengths: String?

    @Option(help: ArgumentHelp("A .npy int32/int64 [N] array of true class indices: report accuracy and confusions.", valueName: "file"))
    var labels: String?

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Output format: table, csv, json or ndjson.")
    var format: RecordFormat = .table

    @Flag(name: .customLong("every-step"), help: "One record per time step (per-step models: the model's output at each step).")
    var everyStep = false

    @OptionGroup var runtime: RunOptions

    func validate() throws {
        if lengths != nil && file.hasSuffix(".ts") { throw ValidationError("--lengths goes with a .npy FILE; a .ts file carries its lengths") }
    }

    func run() throws {
        let model = try loadModel(modelOption, options: runtime.loadOptions)
        guard model.inputKind == .features else {
            throw Failure(status: .model, message: "the model reads \(model.inputKind.rawValue), not feature sequences (use `rnn-infer classify` for images, `rnn-infer text` for texts)")
        }
        if everyStep && !model.metadata.outputsPerStep {
            throw Failure(status: .model, message: "--every-step needs a per-step model (its last recurrent layer returns its sequence); this one gives one output per sequence")
        }
        let (sequences, truth) = try readInput(model)
        let result: BatchResult
        do { result = try model.classify(sequences: sequences.values, options: runtime.classifyOptions) }
        catch { throw Failure.input(error) }

        let output = OutputStream.standardOutput()
        let formatter = RecordFormatter(format: format, topK: 0)
        var evaluation = Evaluation(labels: model.labels)
        var index = 0
        try output.write(result.output == .values ? formatter.valuesHeader(labels: model.labels, steps: everyStep)
                                                  : formatter.header(steps: everyStep))
        for i in 0..<result.count {
            let rows = everyStep ? Array(result.rows(of: i)) : [result.rows(of: i).upperBound - 1]
            for (step, row) in rows.enumerated() {
                let record: String
                if result.output == .values {
                    let values = Array(result.logits[(row * result.classCount)..<((row + 1) * result.classCount)])
                    record = formatter.valuesRecord(index: i, step: everyStep ? step : nil, values: values, first: index == 0)
                } else {
                    record = formatter.record(index: i, result: result, row: row, first: index == 0, step: everyStep ? step : nil)
                }
                try output.write(record)
                index += 1
            }
            if let truth, result.output == .logits {
                evaluation.add(truth: truth[i], predicted: result.predictions[result.rows(of: i).upperBound - 1])
            }
        }
        try output.write(formatter.footer(empty: index == 0))
        if truth != nil && result.output == .logits {
            if format.isMachineReadable {
                try output.flush()
                log(evaluation.report(noun: "sequences"))
            } else {
                try output.write(evaluation.report(noun: "sequences"))
            }
        }
        try output.finish()
    }

    /// Reads FILE (and --lengths, --labels) into sequences and, when known, each one's class index.
    private func readInput(_ model: Model) throws(Failure) -> (FeatureSequences, [Int]?) {
        if isTS(file) {
            let data: TSDataset
            do { data = try TSDataset.read(at: file) } catch { throw Failure.input(error) }
            guard data.sequences.features == model.input.width else {
                throw Failure.input("\(displayName(file)): expected \(model.input.width) dimensions per step (the model's features), found \(data.sequences.features)")
            }
            guard !data.classLabels.isEmpty, model.metadata.output == .logits else { return (data.sequences, nil) }
            // The file's labels name the model's classes.
            var truth: [Int] = []
            for (i, label) in data.labels.enumerated() {
                guard let k = model.labels.firstIndex(where: { $0.utf8.elementsEqual(label.utf8) }) else {
                    throw Failure.labels("\(displayName(file)): series \(i) has label '\(TerminalText.escaped(label))', which is not one of the model's labels (\(model.labels.prefix(12).map(TerminalText.escaped).joined(separator: ", ")))")
                }
                truth.append(k)
            }
            return (data.sequences, truth)
        }
        let sequences: FeatureSequences
        do {
            let array = try NPYArray.read(at: file)
            let lengthArray = try lengths.map { path throws(DatasetError) in try NPYArray.read(at: path) }
            sequences = try array.featureSequences(lengths: lengthArray)
        } catch {
            throw Failure.input(error)
        }
        guard sequences.features == model.input.width else {
            throw Failure.input("\(displayName(file)): expected \(model.input.width) features per step (the model's), found \(sequences.features)")
        }
        guard let labels else { return (sequences, nil) }
        let truth: [Int]
        do { truth = try NPYArray.read(at: labels).lengths(count: sequences.count, maximum: model.classCount - 1) }
        catch { throw Failure.labels("\(error)") }
        return (sequences, truth)
    }

    private func isTS(_ path: String) -> Bool { path.lowercased().hasSuffix(".ts") }
}

extension Failure {
    static func input(_ message: String) -> Failure { Failure(status: .input, message: message) }
}

extension RecordFormatter {
    /// The header of `classify`'s records, with a `step` column for per-step records.
    func header(steps: Bool) -> String {
        guard steps else { return header() }
        switch format {
        case .table: return pad("index", 8) + "  " + pad("step", 6) + "  " + pad("class", 5) + "  " + pad("label", 12) + "  probability\n"
        case .csv: return "index,step,class,label,probability\r\n"
        case .json: return "["
        case .ndjson: return ""
        }
    }

    /// `classify`'s record, with the step for per-step records.
    func record(index: Int, result: BatchResult, row: Int, first: Bool, step: Int?) -> String {
        guard let step else { return record(index: index, result: result, row: row, first: first) }
        let predicted = result.predictions[row]
        let label = result.labels[predicted]
        let probability = result.probabilities[row * result.classCount + predicted]
        switch format {
        case .table:
            return pad(String(index), 8) + "  " + pad(String(step), 6) + "  " + pad(String(predicted), 5) + "  "
                + pad(TerminalText.escaped(label), 12) + "  " + fixed(probability, 4) + "\n"
        case .csv:
            return [String(index), String(step), String(predicted), csvField(label), shortest(probability)].joined(separator: ",") + "\r\n"
        case .json, .ndjson:
            let object = "{\"index\":\(index),\"step\":\(step),\"class\":\(predicted),\"label\":\(JSONText.quoted(label)),\"probability\":\(shortest(probability))}"
            return format == .ndjson ? object + "\n" : (first ? "\n" : ",\n") + object
        }
    }

    /// The header of a `"values"` model's records: one column per output.
    func valuesHeader(labels: [String], steps: Bool) -> String {
        switch format {
        case .table:
            return pad("index", 8) + (steps ? "  " + pad("step", 6) : "") + labels.map { "  " + padLeft(TerminalText.escaped($0), 12) }.joined() + "\n"
        case .csv:
            return (["index"] + (steps ? ["step"] : []) + labels.map(csvField)).joined(separator: ",") + "\r\n"
        case .json: return "["
        case .ndjson: return ""
        }
    }

    /// One record of a `"values"` model: its output values.
    func valuesRecord(index: Int, step: Int?, values: [Float], first: Bool) -> String {
        switch format {
        case .table:
            return pad(String(index), 8) + (step.map { "  " + pad(String($0), 6) } ?? "")
                + values.map { "  " + padLeft(shortest($0), 12) }.joined() + "\n"
        case .csv:
            return ([String(index)] + (step.map { [String($0)] } ?? []) + values.map(shortest)).joined(separator: ",") + "\r\n"
        case .json, .ndjson:
            let object = "{\"index\":\(index)" + (step.map { ",\"step\":\($0)" } ?? "")
                + ",\"values\":[" + values.map(shortest).joined(separator: ",") + "]}"
            return format == .ndjson ? object + "\n" : (first ? "\n" : ",\n") + object
        }
    }
}
