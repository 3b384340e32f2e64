import Foundation
import RNNCore
import RNNFormat
import Testing
@testable import RNNRuntime

/// The tools' promises under hostile conditions (issue #13): one-line usage errors, `--version`,
/// atomic `--misclassified` on a full disk, in-place `convert`, messages that name only real options.
@Suite(.enabled(if: rnnInferExecutable != nil, "rnn-infer must be built next to the tests (swift build)"))
struct CLIHardeningTests {
    let dir: URL
    let modelURL: URL
    let imagesURL: URL
    let labelsURL: URL

    init() throws {
        dir = try temporaryDirectory()
        let file = randomModel(height: 28, width: 28, layers: [.lstm(hidden: 8, returns: .last), .dense(out: 10, activation: .none)], seed: 5)
        modelURL = try writeModel(file, to: dir)
        var rng = SplitMix64(seed: 3)
        let pixels = rng.bytes(40 * 784)
        imagesURL = dir.appendingPathComponent("images.idx")
        try idxImages(count: 40, height: 28, width: 28, pixels: pixels).write(to: imagesURL)
        // Labels that disagree with every prediction: 40 misclassified images, an SVG well over 4 KiB.
        let predictions = try Model(file).classify(pixels: pixels).predictions
        labelsURL = dir.appendingPathComponent("labels.idx")
        try idxLabels(predictions.map { UInt8(($0 + 1) % 10) }).write(to: labelsURL)
    }

    /// A sibling tool of rnn-infer in the same build directory.
    static func tool(_ name: String) -> URL? {
        let url = rnnInferExecutable!.deletingLastPathComponent().appendingPathComponent(name)
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }

    /// Runs `tool` and expects `status` and exactly one error line, `TOOL: error: ...`, mentioning every
    /// fragment, and no usage block (swift-argument-parser's `Error:` / `Usage:` / `Help:` lines).
    func expectOneLine(_ tool: String, _ arguments: [String], status: Int32, mentioning fragments: [String] = [],
                       file: String = #filePath, line: Int = #line) throws {
        let exe = try #require(Self.tool(tool))
        let result = try runProcess(exe, arguments)
        let location = SourceLocation(fileID: #fileID, filePath: file, line: line, column: 1)
        #expect(result.status == status, "\(arguments): \(result.stderr)", sourceLocation: location)
        let errors = result.stderrLines.filter { $0.hasPrefix("\(tool): error: ") }
        #expect(errors.count == 1, "\(arguments): \(result.stderr)", sourceLocation: location)
        let usageBlock = result.stderrLines.filter { ["Error:", "Usage:", "Help:", "  See"].contains(where: $0.hasPrefix) }
        #expect(usageBlock.isEmpty, "\(arguments): \(result.stderr)", sourceLocation: location)
        for fragment in fragments {
            #expect(result.stderr.contains(fragment), "'\(fragment)' not in \(result.stderr)", sourceLocation: location)
        }
    }

    @Test func usageErrorsAreOneLineInEveryTool() throws {
        try expectOneLine("rnn-infer", [], status: 64, mentioning: ["<images>", "--help"])
        try expectOneLine("rnn-infer", [imagesURL.path, "--batch-size", "abc"], status: 64, mentioning: ["abc"])
        try expectOneLine("rnn-infer", [imagesURL.path, "--model", modelURL.path, "--batch-size", "0"], status: 64)
        try expectOneLine("rnn-infer", ["inspect"], status: 64)
        try expectOneLine("rnn-infer", ["text", "--threads", "0"], status: 64, mentioning: ["--threads"])
        try expectOneLine("rnn-train", ["--hidden-size", "0"], status: 64, mentioning: ["--hidden-size"])
        try expectOneLine("rnn-train", ["--no-such-option"], status: 64, mentioning: ["--no-such-option"])
        try expectOneLine("rnn-report", ["--no-such-option"], status: 64, mentioning: ["--no-such-option"])
    }

    @Test func everyToolAnswersVersionWithTheFormatVersions() throws {
        for name in ["rnn-infer", "rnn-train", "rnn-report"] {
            let result = try runProcess(try #require(Self.tool(name)), ["--version"])
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.stdout.hasPrefix("\(name) 1."), "\(result.stdout)")
            #expect(result.stdout.contains("reads 1.0 through 1.4"), "\(result.stdout)")
            #expect(result.stdout.contains("writes 1.0 through 1.4"), "\(result.stdout)")
        }
        // --help still prints the full help and succeeds.
        let help = try runProcess(rnnInferExecutable!, ["--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE"))
    }

    /// Runs rnn-infer under a 4 KiB file-size limit: every write past it fails (EFBIG) as on a full disk.
    func inferOnAFullDisk(_ arguments: [String]) throws -> ProcessResult {
        let quoted = ([rnnInferExecutable!.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try runProcess(URL(fileURLWithPath: "/bin/bash"), ["-c", "trap '' XFSZ; ulimit -f 4; exec \(quoted)"])
    }

    @Test func misclassifiedOnAFullDiskLeavesNothingHalfWritten() throws {
        let svg = dir.appendingPathComponent("missed.svg")
        let arguments = [imagesURL.path, "--model", modelURL.path, "--labels", labelsURL.path, "--misclassified", svg.path]
        let failed = try inferOnAFullDisk(arguments)
        #expect(failed.status == 5, "\(failed.stderr)")
        #expect(failed.errorLines.count == 1 && failed.errorLines[0].contains("missed.svg"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: svg.path))
        // An older complete file survives a failed rewrite, and no temporary file is left beside it.
        try Data("old".utf8).write(to: svg)
        #expect(try inferOnAFullDisk(arguments).status == 5)
        #expect(try String(contentsOf: svg, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("tmp") }.isEmpty)
        // Without the limit the same command writes the whole grid.
        let ok = try runProcess(rnnInferExecutable!, arguments)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try String(contentsOf: svg, encoding: .utf8).hasSuffix("</svg>\n"))
    }

    @Test func convertInPlaceReportsTheInputsRealSize() throws {
        let copy = dir.appendingPathComponent("in-place.rnnm")
        try FileManager.default.copyItem(at: modelURL, to: copy)
        let before = try FileManager.default.attributesOfItem(atPath: copy.path)[.size] as! Int
        let result = try runProcess(rnnInferExecutable!, ["convert", copy.path, copy.path, "--weights", "int8"])
        #expect(result.status == 0, "\(result.stderr)")
        let after = try FileManager.default.attributesOfItem(atPath: copy.path)[.size] as! Int
        #expect(before != after)
        #expect(result.stderr.contains("; \(before) -> \(after) bytes"), "\(result.stderr)")
    }

    @Test func aMissingLabelsFileNamesNoOptionTheToolLacks() throws {
        try expectOneLine("rnn-infer", [imagesURL.path, "--model", modelURL.path, "--labels", "/nonexistent/labels.idx"],
                          status: 4, mentioning: ["/nonexistent/labels.idx", "no such file"])
        let result = try runProcess(rnnInferExecutable!, [imagesURL.path, "--model", modelURL.path, "--labels", "/nonexistent"])
        #expect(!result.stderr.contains("--data"), "\(result.stderr)")
    }

    /// Peak resident memory (MiB) of `rnn-infer ARGS`, fed `lines` copies of `block` plus `tail` on
    /// standard input by a Python parent that reads its child's ru_maxrss (no `time` package needed).
    func peakMiB(_ arguments: [String], block: String, repeats: Int, tail: String) throws -> (status: Int32, mib: Int, stderr: String) {
        let script = """
            import resource, subprocess, sys
            p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            block = \(pythonBytes(block))
            for _ in range(\(repeats)): p.stdin.write(block)
            p.stdin.write(\(pythonBytes(tail))); p.stdin.close()
            err = p.stderr.read().decode(); p.wait()
            print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
            sys.stderr.write(err)
            """
        let result = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, rnnInferExecutable!.path] + arguments)
        let fields = result.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(fields.count == 2, "\(result.stdout) \(result.stderr)")
        return (Int32(fields[0]), fields[1], result.stderr)
    }

    func pythonBytes(_ s: String) -> String { "bytes([" + s.utf8.map(String.init).joined(separator: ",") + "])" }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/python3")))
    func textIsStreamedWhateverTheLineLength() throws {
        let model = CLIHardeningTests.fixtureModel("text-tiny.rnnm")
        // One 8 MiB line: held whole (as before), it costs over 100 MiB; streamed, only the model and
        // one chunk. The baseline is the same command on a one-line input.
        let small = try peakMiB(["text", "--model", model], block: "a good movie\n", repeats: 1, tail: "")
        let long = try peakMiB(["text", "--model", model], block: "the movie was GREAT<br />but the end''s bad ",
                               repeats: 8 << 20 / 43, tail: "\nshort line\n")
        #expect(small.status == 0 && long.status == 0, "\(long.stderr)")
        #expect(long.stderr.contains("2 texts"), "\(long.stderr)")
        #expect(long.mib <= small.mib + 16, "peak \(long.mib) MiB for an 8 MiB line vs \(small.mib) MiB for one short line")
    }

    static func fixtureModel(_ name: String) -> String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/") + "/fixtures/models/" + name
    }

    @Test func labelsWithControlCharactersNeverReachTheTerminalRaw() throws {
        var file = randomModel(height: 28, width: 28, layers: [.lstm(hidden: 8, returns: .last), .dense(out: 10, activation: .none)], seed: 5)
        file.metadata.labels = (0..<10).map { "\u{1B}[2J\u{9B}31m\($0)\nline\t" }
        let hostile = try writeModel(file, to: dir, name: "hostile.rnnm")
        for arguments in [[imagesURL.path, "--model", hostile.path, "--top-k", "2", "--labels", labelsURL.path],
                          ["inspect", hostile.path]] {
            let result = try runProcess(rnnInferExecutable!, arguments)
            #expect(result.status == 0, "\(result.stderr)")
            let output = result.stdout + result.stderr
            #expect(!output.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{9B}" || $0 == "\t" }, "\(arguments)")
            #expect(output.contains("\\u001b[2J\\u009b31m"), "\(arguments): \(output.prefix(2000))")
        }
    }
}
