import Foundation
import RNNCore
import RNNFormat
import RNNSupport
import Testing
@testable import RNNRuntime

/// `rnn-infer classify` reads, classifies and writes in overlapping stages (issue #18): its output
/// must stay byte for byte what the plain loop "read a batch, classify it, format each record
/// with `RecordFormatter`, write" printed, for every format, batch size and thread count, and its
/// failures the same single lines at the same points of the output.
///
/// The expected text comes from `TodaysRecords` below, a copy of the record formatting of
/// `rnn-infer` before the change (String based), over the library's results for the same batches.
@Suite(.enabled(if: rnnInferExecutable != nil, "rnn-infer must be built next to the tests (swift build)"))
struct ClassifyPipelineTests {
    let dir: URL
    let model: Model
    let modelURL: URL
    let pixels: [UInt8]
    let imagesURL: URL
    static let imageCount = 150
    /// Labels that exercise every escape: CSV quoting, JSON escapes, terminal escapes, padding of
    /// multi-byte and combining characters, labels longer than the table's column.
    static let labels = ["zero", "one,1", "two \"2\"", "dre\u{0308}i", "\u{1B}[31mfour", "fünf", "six\nsix",
                         "seven\\", "8", "nine is a long label"]

    init() throws {
        dir = try temporaryDirectory()
        var file = randomModel(height: 28, width: 28, layers: [.lstm(hidden: 12, returns: .last), .dense(out: 10, activation: .none)], seed: 18)
        file.metadata.labels = Self.labels
        modelURL = try writeModel(file, to: dir)
        model = try Model(file)
        var rng = SplitMix64(seed: 1818)
        pixels = rng.bytes(Self.imageCount * 784)
        imagesURL = dir.appendingPathComponent("images.idx")
        try idxImages(count: Self.imageCount, height: 28, width: 28, pixels: pixels).write(to: imagesURL)
    }

    /// The library's results for `pixels` in batches of `batchSize` images, as the CLI computes them.
    func results(_ pixels: [UInt8], batchSize: Int) throws -> [BatchResult] {
        let count = pixels.count / 784
        return try stride(from: 0, to: count, by: batchSize).map { start in
            let end = min(count, start + batchSize)
            return try model.classify(pixels: Array(pixels[(start * 784)..<(end * 784)]), options: ClassifyOptions(threads: 1))
        }
    }

    /// What the plain loop wrote to standard output for these batches (records only, no report).
    func expected(_ batches: [BatchResult], format: String, topK: Int, complete: Bool = true) -> String {
        let formatter = TodaysRecords(format: format, topK: min(topK, Self.labels.count))
        var text = formatter.header()
        var index = 0
        for result in batches {
            for row in 0..<result.count {
                text += formatter.record(index: index, result: result, row: row, first: index == 0)
                index += 1
            }
        }
        return complete ? text + formatter.footer(empty: index == 0) : text
    }

    func infer(_ arguments: [String], stdoutPath: String? = nil) throws -> ProcessResult {
        try runProcess(rnnInferExecutable!, arguments, stdoutPath: stdoutPath)
    }

    /// `rnn-infer - ARGUMENTS` reading `data` from a pipe: a stream whose length nobody knows in
    /// advance (a regular file's length is checked against its header at the start).
    func inferFromPipe(_ data: Data, _ arguments: [String]) throws -> ProcessResult {
        let input = try write(data, "pipe-\(UUID().uuidString)")
        let quoted = ([rnnInferExecutable!.path, "-"] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", "cat '\(input)' | \(quoted)"])
    }

    /// Exactly one `rnn-infer: error:` line, containing `fragment`, and status `status`.
    func expectOneError(_ result: ProcessResult, status: Int32, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.errorLines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.errorLines.first?.contains(fragment) == true, "'\(fragment)' not in: \(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["table", "csv", "json", "ndjson"])
    func everyFormatIsByteForByteTheSequentialLoopsOutput(format: String) throws {
        // One batch, several batches (the last one short), one image per batch; 1 and 3 threads.
        for (batchSize, threads) in [(1024, 1), (1024, 3), (64, 2), (7, 3), (1, 1)] {
            let batches = try results(pixels, batchSize: batchSize)
            for topK in [0, 3] {
                let result = try infer([imagesURL.path, "--model", modelURL.path, "--format", format, "--top-k", String(topK),
                                        "--batch-size", String(batchSize), "--threads", String(threads)])
                #expect(result.status == 0, "\(result.stderr)")
                let want = expected(batches, format: format, topK: topK)
                #expect(result.stdout == want, "--format \(format) --top-k \(topK) --batch-size \(batchSize) --threads \(threads): first difference at byte \(firstDifference(result.stdout, want))")
            }
        }
        // Standard input (a stream of unknown length) and --top-k beyond the classes.
        let streamed = try inferFromPipe(try Data(contentsOf: imagesURL), ["--model", modelURL.path, "--format", format, "--top-k", "20", "--batch-size", "50"])
        #expect(streamed.status == 0, "\(streamed.stderr)")
        let want = expected(try results(pixels, batchSize: 50), format: format, topK: 20)
        #expect(streamed.stdout == want, "stdin: first difference at byte \(firstDifference(streamed.stdout, want))")
    }

    @Test func anEmptyInputWritesTheHeaderAndFooterOnly() throws {
        let empty = dir.appendingPathComponent("empty.idx")
        try idxImages(count: 0, height: 28, width: 28, pixels: []).write(to: empty)
        for format in ["table", "csv", "json", "ndjson"] {
            let result = try infer([empty.path, "--model", modelURL.path, "--format", format])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == expected([], format: format, topK: 0))
        }
    }

    @Test func labelsAndTheMisclassifiedGridFollowTheRecords() throws {
        let batches = try results(pixels, batchSize: 32)
        let predictions = batches.flatMap(\.predictions)
        // Labels that make every third image a mistake.
        let truth = predictions.enumerated().map { UInt8($0.offset % 3 == 0 ? ($0.element + 1) % 10 : $0.element) }
        let labelsURL = dir.appendingPathComponent("labels.idx")
        try idxLabels(truth).write(to: labelsURL)
        let svg = dir.appendingPathComponent("missed.svg")
        let mistakes = truth.indices.filter { $0 % 3 == 0 }.count
        let accuracy = fixed(Double(truth.count - mistakes) / Double(truth.count) * 100, 2)

        let table = try infer([imagesURL.path, "--model", modelURL.path, "--labels", labelsURL.path, "--batch-size", "32",
                               "--misclassified", svg.path, "--misclassified-limit", "10"])
        #expect(table.status == 0, "\(table.stderr)")
        let records = expected(batches, format: "table", topK: 0)
        #expect(table.stdout.hasPrefix(records))
        #expect(table.stdout.dropFirst(records.count).hasPrefix("\naccuracy: \(accuracy)% (\(truth.count - mistakes) of \(truth.count) correct)\n"),
                "\(table.stdout.suffix(2000))")
        #expect(table.stderr.contains("wrote the 10 most confident of \(mistakes) misclassified images to \(svg.path)"), "\(table.stderr)")
        #expect(try String(contentsOf: svg, encoding: .utf8).hasSuffix("</svg>\n"))
        // A grid of no images still counts every mistake.
        let none = try infer([imagesURL.path, "--model", modelURL.path, "--labels", labelsURL.path, "--misclassified", svg.path,
                              "--misclassified-limit", "0", "--format", "ndjson"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stderr.contains("wrote the 0 most confident of \(mistakes) misclassified images"), "\(none.stderr)")

        // Machine-readable output keeps standard output to the records; the report goes to standard error.
        let csv = try infer([imagesURL.path, "--model", modelURL.path, "--labels", labelsURL.path, "--batch-size", "32", "--format", "csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout == expected(batches, format: "csv", topK: 0))
        #expect(csv.stderr.contains("accuracy: \(accuracy)%"), "\(csv.stderr)")
    }

    @Test func aStreamThatEndsEarlyWritesEveryWholeBatchBeforeTheError() throws {
        // The header promises 200 images; 150 come. Batches of 64: two whole batches are written,
        // the third cannot be read: the records of images 0 ..< 128, then one error line.
        let lying = idxImages(count: 200, height: 28, width: 28, pixels: pixels)
        let batches = try results(Array(pixels[..<(128 * 784)]), batchSize: 64)
        for format in ["table", "csv", "json", "ndjson"] {
            let result = try inferFromPipe(lying, ["--model", modelURL.path, "--format", format, "--batch-size", "64"])
            expectOneError(result, status: 3, "truncated: expected 156816 bytes (header and data), found only 117616")
            #expect(result.stdout == expected(batches, format: format, topK: 0, complete: false))
        }
        // Data after the last promised image: every record, then the error.
        let trailing = idxImages(count: 100, height: 28, width: 28, pixels: pixels)
        let all = try results(Array(pixels[..<(100 * 784)]), batchSize: 64)
        let result = try inferFromPipe(trailing, ["--model", modelURL.path, "--format", "csv", "--batch-size", "64"])
        expectOneError(result, status: 3, "expected 78416 bytes (header and data), found at least 78417")
        #expect(result.stdout == expected(all, format: "csv", topK: 0, complete: false))
        // A regular file that disagrees with its header is refused before any record.
        let file = try write(lying, "lying.idx")
        let refused = try infer([file, "--model", modelURL.path, "--format", "csv"])
        expectOneError(refused, status: 3, "truncated: expected 156816 bytes (header and data), found only 117616")
        #expect(refused.stdout.isEmpty)
        // A gzip stream cut in the middle.
        let gzipped = try gzip(idxImages(count: Self.imageCount, height: 28, width: 28, pixels: pixels))
        let cut = try inferFromPipe(gzipped.prefix(gzipped.count / 2), ["--model", modelURL.path, "--format", "csv", "--batch-size", "16"])
        #expect(cut.status == 3, "\(cut.stderr)")
        #expect(cut.errorLines.count == 1 && cut.errorLines[0].contains("gzip"), "\(cut.stderr)")
        let written = cut.stdout.split(separator: "\r\n").count - 1
        #expect(written % 16 == 0 && written < Self.imageCount)
        #expect(cut.stdout == expected(try results(Array(pixels[..<(written * 784)]), batchSize: 16), format: "csv", topK: 0, complete: false))
    }

    @Test func writeFailuresAreOneLineWhereverTheyHappen() throws {
        // Enough records for several 64 KiB writes, so that writes fail while a batch is classified.
        var rng = SplitMix64(seed: 7)
        let many = 4000
        let manyPixels = rng.bytes(many * 784)
        let file = try write(idxImages(count: many, height: 28, width: 28, pixels: manyPixels), "many.idx")
        let expectedTable = expected(try results(manyPixels, batchSize: 256), format: "table", topK: 3)
        let arguments = [file, "--model", modelURL.path, "--top-k", "3", "--batch-size", "256"]
        // The whole output first: what the failures below cut short.
        let whole = try infer(arguments)
        #expect(whole.status == 0 && whole.stdout == expectedTable)

        if FileManager.default.fileExists(atPath: "/dev/full") {
            let full = try infer(arguments, stdoutPath: "/dev/full")
            expectOneError(full, status: 5, "cannot write to standard output: No space left on device")
        }
        // A file-size limit of 100 KiB: the first write passes whole, the second is cut, then EFBIG.
        let limited = dir.appendingPathComponent("limited.txt")
        let quoted = ([rnnInferExecutable!.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let cut = try runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", "trap '' XFSZ; ulimit -f 100; exec \(quoted) > '\(limited.path)'"])
        expectOneError(cut, status: 5, "cannot write to standard output: File too large")
        #expect(try Data(contentsOf: limited) == Data(expectedTable.utf8.prefix(100 * 1024)))
        // A reader that goes away: a broken pipe, reported, not a crash or a signal.
        let pipe = try runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", "set -o pipefail; \(quoted) | head -c 100 > /dev/null"])
        expectOneError(pipe, status: 5, "cannot write to standard output: Broken pipe")
    }

    func write(_ data: Data, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    func gzip(_ data: Data) throws -> Data {
        let url = dir.appendingPathComponent("gzip-\(UUID().uuidString)")
        try data.write(to: url)
        let result = try runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", "gzip -n -c '\(url.path)' > '\(url.path).gz'"])
        try #require(result.status == 0, "gzip: \(result.stderr)")
        return try Data(contentsOf: URL(fileURLWithPath: url.path + ".gz"))
    }
}

/// The offset of the first byte where `a` and `b` differ (for failure messages).
private func firstDifference(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8), y = Array(b.utf8)
    return (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
}

/// `rnn-infer`'s record formatting before issue #18 (RecordFormat.swift at that commit), verbatim:
/// the definition of the output the faster writer must reproduce.
private struct TodaysRecords {
    let format: String
    let topK: Int

    func header() -> String {
        switch format {
        case "table":
            var line = pad("index", 8) + "  " + pad("class", 5) + "  " + pad("label", 12) + "  probability"
            if topK > 0 { line += "  top-\(topK)" }
            return line + "\n"
        case "csv":
            var fields = ["index", "class", "label", "probability"]
            for k in 0..<topK { fields += ["top\(k + 1)_class", "top\(k + 1)_label", "top\(k + 1)_probability"] }
            return fields.joined(separator: ",") + "\r\n"
        case "json":
            return "["
        default:
            return ""
        }
    }

    func record(index: Int, result: BatchResult, row: Int, first: Bool) -> String {
        let predicted = result.predictions[row]
        let label = result.labels[predicted]
        let probability = result.probabilities[row * result.classCount + predicted]
        let top = topK > 0 ? result.top(topK, of: row) : []
        switch format {
        case "table":
            var line = pad(String(index), 8) + "  " + pad(String(predicted), 5) + "  " + pad(TerminalText.escaped(label), 12) + "  " + fixed(probability, 4)
            if topK > 0 {
                line += "     " + top.map { "\(TerminalText.escaped($0.label)) \(fixed($0.probability, 4))" }.joined(separator: ", ")
            }
            return line + "\n"
        case "csv":
            var fields = [String(index), String(predicted), csvField(label), shortest(probability)]
            for t in top { fields += [String(t.classIndex), csvField(t.label), shortest(t.probability)] }
            return fields.joined(separator: ",") + "\r\n"
        default:
            var object = "{\"index\":\(index),\"class\":\(predicted),\"label\":\(JSONText.quoted(label)),\"probability\":\(shortest(probability))"
            if topK > 0 {
                object += ",\"top_k\":[" + top.map {
                    "{\"class\":\($0.classIndex),\"label\":\(JSONText.quoted($0.label)),\"probability\":\(shortest($0.probability))}"
                }.joined(separator: ",") + "]"
            }
            object += "}"
            if format == "ndjson" { return object + "\n" }
            return (first ? "\n" : ",\n") + object
        }
    }

    func footer(empty: Bool) -> String {
        format == "json" ? (empty ? "]\n" : "\n]\n") : ""
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private func shortest(_ value: Float) -> String {
        value.isFinite ? String(describing: value) : "null"
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        var out = "\""
        for character in text { out += character == "\"" ? "\"\"" : String(character) }
        return out + "\""
    }
}
