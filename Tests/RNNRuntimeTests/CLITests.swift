import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import RNNCore
import RNNFormat
import Testing
@testable import RNNRuntime

/// The built `rnn-infer` binary on temporary files: outputs parse, reports are right, every error case
/// gives its documented exit status and exactly one `rnn-infer: error:` line.
@Suite(.enabled(if: rnnInferExecutable != nil, "rnn-infer must be built next to the tests (swift build)"))
struct CLITests {
    let dir: URL
    let modelURL: URL
    let model: Model
    let pixels: [UInt8]
    let imagesURL: URL
    static let imageCount = 10

    init() throws {
        dir = try temporaryDirectory()
        let file = randomModel(height: 28, width: 28, layers: [.lstm(hidden: 16, returns: .last), .dense(out: 10, activation: .none)], seed: 21)
        modelURL = try writeModel(file, to: dir)
        model = try Model(file)
        var rng = SplitMix64(seed: 8)
        pixels = rng.bytes(Self.imageCount * 784)
        imagesURL = dir.appendingPathComponent("images.idx")
        try idxImages(count: Self.imageCount, height: 28, width: 28, pixels: pixels).write(to: imagesURL)
    }

    func infer(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:], stdoutPath: String? = nil) throws -> ProcessResult {
        try runProcess(rnnInferExecutable!, arguments, stdin: stdin, environment: environment, stdoutPath: stdoutPath)
    }

    func write(_ data: Data, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    /// Expects `status` and exactly one error line containing every fragment.
    func expectFailure(_ result: ProcessResult, status: Int32, mentioning fragments: [String]) {
        #expect(result.status == status, "stderr: \(result.stderr)")
        #expect(result.errorLines.count == 1, "stderr: \(result.stderr)")
        for fragment in fragments {
            #expect(result.errorLines.first?.contains(fragment) == true, "'\(fragment)' not in: \(result.stderr)")
        }
    }

    @Test func csvOutputParsesAndMatchesTheLibrary() throws {
        let expected = try model.classify(pixels: pixels)
        let result = try infer(["classify", imagesURL.path, "--model", modelURL.path, "--format", "csv", "--top-k", "3"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\r\n").map(String.init)
        #expect(lines.first == "index,class,label,probability,top1_class,top1_label,top1_probability,top2_class,top2_label,top2_probability,top3_class,top3_label,top3_probability")
        #expect(lines.count == Self.imageCount + 1)
        for (n, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",").map(String.init)
            #expect(fields.count == 13)
            #expect(Int(fields[0]) == n)
            #expect(Int(fields[1]) == expected.predictions[n])
            #expect(fields[2] == expected.labels[expected.predictions[n]])
            #expect(Float(fields[3]) == expected[n].probability)
            #expect(Int(fields[4]) == expected.predictions[n])
        }
        #expect(result.stderrLines.contains { $0.contains("model \(modelURL.path) (--model)") })
    }

    @Test func jsonAndNDJSONOutputsParse() throws {
        let expected = try model.classify(pixels: pixels)
        let json = try infer([imagesURL.path, "--model", modelURL.path, "--format", "json", "--top-k", "2"])
        #expect(json.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == Self.imageCount)
        for (n, object) in array.enumerated() {
            #expect(object["index"] as? Int == n)
            #expect(object["class"] as? Int == expected.predictions[n])
            #expect((object["top_k"] as? [[String: Any]])?.count == 2)
        }
        let ndjson = try infer([imagesURL.path, "--model", modelURL.path, "--format", "ndjson"])
        let lines = ndjson.stdout.split(separator: "\n")
        #expect(lines.count == Self.imageCount)
        for line in lines {
            #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any])
        }
        let empty = try write(idxImages(count: 0, height: 28, width: 28, pixels: []), "empty.idx")
        let none = try infer([empty, "--model", modelURL.path, "--format", "json"])
        #expect(none.status == 0)
        #expect(try JSONSerialization.jsonObject(with: Data(none.stdout.utf8)) as? [Any] != nil)
    }

    @Test func labelsReportGivesTheRightAccuracy() throws {
        // Labels equal to the model's predictions for 7 images and different for 3: 70% exactly.
        let predictions = try model.classify(pixels: pixels).predictions
        let labels = predictions.enumerated().map { n, p in UInt8(n < 7 ? p : (p + 1) % 10) }
        let labelsPath = try write(idxLabels(labels), "labels.idx")
        let svg = dir.appendingPathComponent("missed.svg").path
        let table = try infer([imagesURL.path, "--model", modelURL.path, "--labels", labelsPath, "--misclassified", svg])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("accuracy: 70.00% (7 of 10 correct)"))
        #expect(table.stdout.contains("confusion matrix"))
        #expect(table.stdout.contains("precision"))
        // The SVG is well-formed XML with one titled cell per missed image.
        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: svg))
        let titles = try document.nodes(forXPath: "//*[local-name()='title']").compactMap(\.stringValue)
            .filter { $0.hasPrefix("test image ") }  // the cells' tooltips (the document has its own title too)
        #expect(titles.count == 3)
        let p = predictions[7]
        #expect(titles.contains { $0.hasPrefix("test image 7: true class\((p + 1) % 10), predicted class\(p) with probability") }, "\(titles)")
        #expect(Set(titles.compactMap { $0.split(separator: ":").first }) == ["test image 7", "test image 8", "test image 9"])
        // Machine formats keep stdout clean: the report goes to standard error.
        let csv = try infer([imagesURL.path, "--model", modelURL.path, "--labels", labelsPath, "--format", "csv"])
        #expect(!csv.stdout.contains("accuracy"))
        #expect(csv.stderr.contains("accuracy: 70.00% (7 of 10 correct)"))
    }

    @Test func standardInputGzipAndEnvironmentModelWork() throws {
        // Same batch size in both runs: the batch bounds the GEMM blocks, which may change last bits.
        let fromStdin = try infer(["-", "--format", "csv", "--batch-size", "3"], stdin: idxImages(count: Self.imageCount, height: 28, width: 28, pixels: pixels),
                                  environment: ["RNN_MODEL": modelURL.path])
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(fromStdin.stderr.contains("($RNN_MODEL)"))
        let gz = try runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", "gzip -c '\(imagesURL.path)' > '\(imagesURL.path).gz'"])
        #expect(gz.status == 0)
        let fromGzip = try infer([imagesURL.path + ".gz", "--model", modelURL.path, "--format", "csv", "--batch-size", "3", "--threads", "2"])
        #expect(fromGzip.status == 0)
        #expect(fromGzip.stdout == fromStdin.stdout)
    }

    @Test func missingOrCorruptedModelExitsWithStatus2() throws {
        let missing = try infer([imagesURL.path, "--model", dir.appendingPathComponent("nope.rnnm").path])
        expectFailure(missing, status: 2, mentioning: ["nope.rnnm"])
        var bytes = try Data(contentsOf: modelURL)
        bytes[bytes.count / 2] ^= 0x40
        let corrupted = try write(bytes, "corrupted.rnnm")
        expectFailure(try infer([imagesURL.path, "--model", corrupted]), status: 2, mentioning: ["corrupted"])
        // The default path is relative (models/mnist-lstm.rnnm): run where there is no models/.
        let fromDefault = try runProcess(rnnInferExecutable!, [imagesURL.path], currentDirectory: dir)
        #expect(fromDefault.status == 2)
        #expect(fromDefault.stderr.contains("mnist-lstm.rnnm"))
        // verify: status only.
        let good = try infer(["verify", modelURL.path])
        #expect(good.status == 0 && good.stdout.isEmpty && good.stderr.isEmpty)
        let bad = try infer(["verify", corrupted])
        #expect(bad.status == 2 && bad.stdout.isEmpty && bad.stderr.isEmpty)
    }

    @Test func badImagesExitWithStatus3() throws {
        let wrongMagic = try write(idxLabels([1, 2, 3]), "labels-as-images.idx")
        expectFailure(try infer([wrongMagic, "--model", modelURL.path]), status: 3, mentioning: [])
        let floats = try write(idxImages(count: 1, height: 28, width: 28, pixels: pixels, typeByte: 0x0D), "floats.idx")
        expectFailure(try infer([floats, "--model", modelURL.path]), status: 3, mentioning: [])
        let big = try write(idxImages(count: 2, height: 32, width: 32, pixels: [UInt8](repeating: 0, count: 2048)), "big.idx")
        expectFailure(try infer([big, "--model", modelURL.path]), status: 3,
                      mentioning: ["expected 784 pixels per image (28x28), found 1024 (32x32)"])
        var truncated = idxImages(count: Self.imageCount, height: 28, width: 28, pixels: pixels)
        truncated.removeLast(100)
        let short = try write(truncated, "short.idx")
        expectFailure(try infer([short, "--model", modelURL.path]), status: 3, mentioning: [])
        let viaStdin = try infer(["-", "--model", modelURL.path, "--format", "csv"], stdin: truncated)
        expectFailure(viaStdin, status: 3, mentioning: [])
        expectFailure(try infer([dir.appendingPathComponent("absent.idx").path, "--model", modelURL.path]), status: 3, mentioning: ["absent.idx"])
    }

    @Test func badLabelsExitWithStatus4() throws {
        let fewer = try write(idxLabels([1, 2, 3]), "fewer.idx")
        expectFailure(try infer([imagesURL.path, "--model", modelURL.path, "--labels", fewer]), status: 4, mentioning: ["3 labels", "expected 10"])
        let outOfRange = try write(idxLabels([UInt8](repeating: 1, count: 9) + [12]), "range.idx")
        expectFailure(try infer([imagesURL.path, "--model", modelURL.path, "--labels", outOfRange]), status: 4, mentioning: ["12", "0...9"])
        expectFailure(try infer([imagesURL.path, "--model", modelURL.path, "--labels", imagesURL.path]), status: 4, mentioning: [])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func failedOutputWritesExitWithStatus5() throws {
        let full = try infer([imagesURL.path, "--model", modelURL.path], stdoutPath: "/dev/full")
        expectFailure(full, status: 5, mentioning: ["standard output"])
        let labelsPath = try write(idxLabels([UInt8](repeating: 0, count: 10)), "zeros.idx")
        let noDirectory = try infer([imagesURL.path, "--model", modelURL.path, "--labels", labelsPath,
                                     "--misclassified", dir.appendingPathComponent("no/such/dir.svg").path])
        expectFailure(noDirectory, status: 5, mentioning: ["dir.svg"])
    }

    @Test func usageErrorsExitWithStatus64() throws {
        #expect(try infer(["--no-such-option"]).status == 64)
        #expect(try infer([imagesURL.path, "--model", modelURL.path, "--batch-size", "0"]).status == 64)
        #expect(try infer([imagesURL.path, "--model", modelURL.path, "--format", "xml"]).status == 64)
    }

    @Test func inspectAndBenchDescribeTheModel() throws {
        let inspect = try infer(["inspect", modelURL.path])
        #expect(inspect.status == 0)
        for fragment in ["format        1.0", "lstm", "parameters", "crc32", "labels        10"] {
            #expect(inspect.stdout.contains(fragment), "\(fragment)")
        }
        let bench = try infer(["bench", "--model", modelURL.path, "--count", "40", "--single-images", "10", "--threads", "2"])
        #expect(bench.status == 0, "\(bench.stderr)")
        for fragment in ["model load", "batch 1 ", "p50", "p99", "batch 128", "batch 40 (all)", "peak memory"] {
            #expect(bench.stdout.contains(fragment), "\(fragment)")
        }
    }

    /// `rnn-infer bench` on a text model: random texts of max_length tokens, or an aclImdb
    /// directory's test reviews; rates in texts/s, no FLOP count (a text runs as many steps as it has tokens).
    @Test func benchMeasuresATextModelOnRandomTextsAndOnIMDbReviews() throws {
        let model = CLIHardeningTests.fixtureModel("text-tiny.rnnm")
        let random = try infer(["bench", "--model", model, "--count", "30", "--single-images", "10", "--stream-steps", "0", "--batch-sizes", "8", "0"])
        #expect(random.status == 0, "\(random.stderr)")
        for fragment in ["texts            30 (random), 8.0 tokens each on average", "batch 1 ", "texts/s", "batch 8 ", "batch 30 (all)",
                         "stream step      not measured"] {
            #expect(random.stdout.contains(fragment), "\(fragment): \(random.stdout)")
        }
        #expect(!random.stdout.contains("GFLOP/s"))

        // Reviews in aclImdb's layout: the test split's three are the benchmark's texts.
        let reviews = ["train/pos/1_9.txt": "great", "train/neg/2_1.txt": "bad",
                       "test/pos/3_8.txt": "the movie was great, great", "test/neg/4_2.txt": "bad", "test/neg/5_3.txt": ""]
        for (name, text) in reviews {
            let url = dir.appendingPathComponent("aclImdb/" + name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        let json = try infer(["bench", dir.path, "--model", model, "--single-images", "10", "--stream-steps", "0", "--batch-sizes", "0", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["images"] as? Int == 3 && object["unit"] as? String == "texts" && object["flops_per_image"] is NSNull)
        #expect((object["batch1_images_per_s"] as? Double ?? 0) > 0)
    }
}
