import Foundation
import Testing

/// The Python reference reader (spec/reference/rnnm.py, an independent float64 forward pass)
/// against the same golden values.
@Suite struct ReferenceReaderGoldenTests {
    struct ForwardOutput: Decodable { var logits: [[Double]] }

    @Test(arguments: GoldenManifest.casesOrEmpty)
    func pythonReferenceReaderMatchesGoldenLogits(_ c: GoldenManifest.Case) throws {
        let golden = try GoldenCase(c)
        // The CLI takes raw u8 pixels: the IDX payload without its 16-byte header.
        let directory = try temporaryDirectory("python")
        defer { try? FileManager.default.removeItem(at: directory) }
        let raw = directory.appendingPathComponent("images.u8")
        try Data(golden.images.pixels).write(to: raw)
        let script = repositoryRoot.appendingPathComponent("spec/reference/rnnm.py").path
        let model = goldenDirectory.appendingPathComponent(c.model).path
        let (status, out, err) = try runProcess("/usr/bin/env", ["python3", script, "forward", model, "--images", raw.path])
        try #require(status == 0, "rnnm.py forward \(c.model) exited \(status): \(err)\(out)")
        let logits = try JSONDecoder().decode(ForwardOutput.self, from: Data(out.utf8)).logits
        try #require(logits.count == golden.expected.count)
        var difference = LogitDifference()
        for (b, row) in logits.enumerated() {
            #expect(row.count == golden.expected.classes)
            for (k, value) in row.enumerated() {
                difference.add(actual: value, expected: golden.expected.logits[b][k], tolerance: .binary64,
                               place: "image \(b) class \(k)")
            }
        }
        print("[golden] python \(c): \(difference)")
        #expect(difference.passes, "python \(c): \(difference)")
    }
}
