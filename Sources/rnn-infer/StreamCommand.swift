import ArgumentParser
import RNNCore
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNSupport

/// `rnn-infer stream`: a live stream through a features or image-row model, one time step per
/// line of standard input, the output after each step written (and flushed) at once.
struct StreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Step a live stream: one time step per line of standard input, the output after each step.",
        discussion: """
        Each line is a JSON array of the model's F features (an image-row model: the row's W pixel
        values, integers 0...255), or `reset` to start a new sequence (zero state); blank lines are
        skipped. After each step one record is printed and flushed: ndjson {"step":t,"class":k,
        "label":...,"probability":p} (a "values" model: {"step":t,"values":[...]}), or csv. The
        model's max_length does not limit a stream. Bidirectional and text models cannot stream.
        A bad line stops the stream with its line number (exit status 3).
        """)

    @OptionGroup var modelOption: ModelOption

    @Option(help: "Output format: ndjson or csv.")
    var format: RecordFormat = .ndjson

    @Flag(help: "Also print every output (logits or values) of each step.")
    var outputs = false

    @Option(help: KernelOption.help)
    var kernel: KernelOption = .automatic

    @Option(help: ArgumentHelp("How recurrent layers stored as int8 run: automatic (int8 evaluation, spec §6.6) or float.", valueName: "mode"))
    var evaluation: RecurrentEvaluation = .automatic

    func validate() throws {
        try kernel.validate()
        guard format == .ndjson || format == .csv else { throw ValidationError("--format must be ndjson or csv for a stream") }
    }

    func run() throws {
        let model = try loadModel(modelOption, options: LoadOptions(evaluation: evaluation))
        let stream: RNNRuntime.Stream
        do { stream = try model.makeStream(options: ClassifyOptions(kernel: kernel.stepKernel)) }
        catch { throw Failure.model(error) }
        let width = stream.width
        let pixels = model.inputKind == .imageRows
        let output = OutputStream.standardOutput()
        if format == .csv {
            try output.write(model.metadata.output == .values
                ? (["step"] + model.labels.map(csvField)).joined(separator: ",") + "\r\n"
                : "step,class,label,probability" + (outputs ? "," + model.labels.map { csvField("logit_" + $0) }.joined(separator: ",") : "") + "\r\n")
            try output.flush()
        }
        var pending: [UInt8] = []
        var lineNumber = 0
        var step = 0

        func handle(_ line: ArraySlice<UInt8>) throws(Failure) {
            lineNumber += 1
            let parsed: StreamLine
            do { parsed = try StreamLine.parse(Array(line), features: width) }
            catch { throw Failure(status: .input, message: "standard input, line \(lineNumber): \(error)") }
            switch parsed {
            case .empty: return
            case .reset:
                stream.reset()
                step = 0
                return
            case .step(let values):
                let out: [Float]
                do {
                    if pixels {
                        guard let bad = values.firstIndex(where: { !($0 >= 0 && $0 <= 255 && $0 == $0.rounded()) }) else {
                            out = try stream.step(pixels: values.map { UInt8($0) })
                            try output.write(record(out))
                            return
                        }
                        throw Failure(status: .input, message: "standard input, line \(lineNumber): pixel \(bad) is \(values[bad]); an image-row model reads integers 0...255")
                    }
                    out = try stream.step(values)
                } catch let failure as Failure {
                    throw failure
                } catch {
                    throw Failure(status: .input, message: "standard input, line \(lineNumber): \(error)")
                }
                try output.write(record(out))
            }
        }

        func record(_ out: [Float]) -> String {
            defer { step += 1 }
            if model.metadata.output == .values {
                return format == .csv
                    ? ([String(step)] + out.map(shortest)).joined(separator: ",") + "\r\n"
                    : "{\"step\":\(step),\"values\":[\(out.map(shortest).joined(separator: ","))]}\n"
            }
            var probabilities = [Float](repeating: 0, count: out.count)
            let k = out.withUnsafeBufferPointer { o in
                probabilities.withUnsafeMutableBufferPointer { softmaxRow(o.baseAddress!, $0.baseAddress!, count: out.count) }
            }
            if format == .csv {
                return [String(step), String(k), csvField(model.labels[k]), shortest(probabilities[k])].joined(separator: ",")
                    + (outputs ? "," + out.map(shortest).joined(separator: ",") : "") + "\r\n"
            }
            return "{\"step\":\(step),\"class\":\(k),\"label\":\(JSONText.quoted(model.labels[k])),\"probability\":\(shortest(probabilities[k]))"
                + (outputs ? ",\"logits\":[\(out.map(shortest).joined(separator: ","))]" : "") + "}\n"
        }

        do {
        try TextReader.forEachChunk(of: 0, name: "standard input") { (chunk: ArraySlice<UInt8>) throws(Failure) in
            var start = chunk.startIndex
            while let newline = chunk[start...].firstIndex(of: 10) {
                if pending.isEmpty {
                    try handle(chunk[start..<newline])
                } else {
                    pending += chunk[start..<newline]
                    try handle(pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
                start = newline + 1
            }
            pending += chunk[start...]
            if pending.count > StreamLine.maximumLineBytes {
                throw Failure(status: .input, message: "standard input, line \(lineNumber + 1): longer than \(StreamLine.maximumLineBytes) bytes")
            }
            // Live: every step read so far is answered before waiting for more input.
            try output.flush()
        }
        if !pending.isEmpty { try handle(pending[...]) }
        } catch {
            // The steps before a bad line were answered: they reach the reader before the error.
            try? output.flush()
            throw error
        }
        try output.finish()
    }
}
