import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import RNNReport

@Suite struct RecurrentFamilyTests {
    /// bench/family.sh's result file as bench/results.py writes it (an MNIST row without a unit, which
    /// counts images; IMDb in reviews; one row without speeds).
    static let json = """
    {"schema": "rnn-bench-result/1", "table": "family", "command": "bench/family.sh", "measured_utc": "2026-12-02T05:00:00Z",
     "commit": "abc1234", "machine": {"cpu": "AMD EPYC <test>", "logical_cpus": 2, "isa": "avx2", "os": "Linux"},
     "results": {"threads": 2, "seed": 1, "rows": [
       {"name": "mnist-gru", "data": "MNIST", "model": "GRU", "command": "rnn-train --cell gru --seed 1",
        "test_accuracy": 0.9912, "parameters": 107274, "file_bytes_f32": 409600, "file_bytes_int8": 122880,
        "epochs": 10, "seconds_per_epoch_median": 14.25, "train_seconds": 142.5,
        "images_per_s_batch1": 21034.4, "images_per_s_batch10000": 90210.0},
       {"name": "mnist-lstm", "data": "MNIST", "model": "LSTM", "test_accuracy": 0.9909, "parameters": 140554,
        "file_bytes_f32": 540000, "file_bytes_int8": 160000, "seconds_per_epoch_median": 16.0,
        "images_per_s_batch1": 19000, "images_per_s_batch10000": 80000, "speed_unit": "images"},
       {"name": "imdb-lstm", "data": "IMDb", "model": "LSTM", "test_accuracy": 0.8792, "parameters": 1300000,
        "file_bytes_f32": 5170000, "file_bytes_int8": 1400000, "seconds_per_epoch_median": 30.0,
        "images_per_s_batch1": 1620.4, "images_per_s_batch10000": 3024, "speed_unit": "reviews"},
       {"name": "imdb-gru", "data": "IMDb", "model": "GRU", "test_accuracy": 0.8868, "parameters": 1354754,
        "images_per_s_batch1": null, "images_per_s_batch10000": null}]}}
    """

    @Test func decodesRowsProvenanceAndFindings() throws {
        let family = try RecurrentFamily.decode(json: Data(Self.json.utf8))
        #expect(family.rows.count == 4)
        #expect(family.rows[0] == RecurrentFamily.Row(
            data: "MNIST", model: "GRU", testAccuracy: 0.9912, parameters: 107_274, fileBytesF32: 409_600,
            fileBytesInt8: 122_880, secondsPerEpoch: 14.25, imagesPerSecondBatch1: 21034.4,
            imagesPerSecondBatch10000: 90210, command: "rnn-train --cell gru --seed 1"))
        #expect(family.provenance == "bench/family.sh at abc1234 on AMD EPYC <test> 2 threads")
        #expect(family.findings == ["On MNIST the GRU is the most accurate of the family (99.12%).",
                                    "On IMDb the GRU is the most accurate of the family (88.68%)."])
        #expect(family.tableRows[0] == ["MNIST", "GRU", "99.12%", "107,274", "400.0 KiB / 120.0 KiB", "14.2", "21,034 images", "90,210 images"])
        #expect(family.tableRows[2].suffix(2) == ["1,620 reviews", "3,024 reviews"])
        #expect(family.tableRows[3].suffix(4) == ["— / —", "—", "—", "—"])
    }

    /// The committed bench/results/family.json, which `make run` passes to rnn-report, decodes:
    /// every row with its speeds, in images or reviews.
    @Test func theCommittedFamilyFileDecodes() throws {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let url = URL(fileURLWithPath: parts.joined(separator: "/") + "/bench/results/family.json")
        let family = try RecurrentFamily.decode(json: Data(contentsOf: url))
        #expect(family.rows.count == 11)  // 9 recurrent rows and the two CNN rows (issue #17)
        #expect(family.rows.filter { $0.model.hasPrefix("CNN") }.map(\.data) == ["MNIST", "Fashion-MNIST"])
        #expect(Set(family.rows.map(\.data)) == ["MNIST", "Fashion-MNIST", "IMDb"])
        #expect(family.rows.allSatisfy { $0.imagesPerSecondBatch1 != nil && $0.imagesPerSecondBatch10000 != nil })
        #expect(family.rows.allSatisfy { $0.speedUnit == ($0.data == "IMDb" ? "reviews" : "images") })
    }

    @Test func wrongFilesAreRejectedWithTheirReason() {
        func error(_ text: String) -> ReportError? {
            do { _ = try RecurrentFamily.decode(json: Data(text.utf8)); return nil } catch { return error }
        }
        #expect(error("[]") == .invalidFamily(detail: "expected a JSON object at the top level"))
        #expect(error(#"{"schema": "rnn-bench-result/1", "table": "train"}"#)
            == .invalidFamily(detail: "expected schema 'rnn-bench-result/1' and table 'family', found 'rnn-bench-result/1' and 'train'"))
        #expect(error(#"{"schema": "rnn-bench-result/1", "table": "family", "results": {}}"#)
            == .invalidFamily(detail: "expected results.rows, an array of objects"))
        #expect(error(#"{"schema": "rnn-bench-result/1", "table": "family", "results": {"rows": [{"data": "MNIST", "model": "GRU"}]}}"#)
            == .invalidFamily(detail: "row 0: expected data, model and test_accuracy"))
        #expect(error(#"{"schema": "rnn-bench-result/1", "table": "family", "results": {"rows": [{"data": "MNIST", "model": "GRU", "test_accuracy": 99.1}]}}"#)
            == .invalidFamily(detail: "row 0: test_accuracy must be a fraction in 0...1, found 99.1"))
    }

    @Test func sectionAppearsInHTMLAndMarkdown() throws {
        var input = try fullInput()
        input.family = try RecurrentFamily.decode(json: Data(Self.json.utf8))
        let figures = ReportFigures.make(input)
        let html = HTMLPage.render(input, figures: figures)
        #expect(throws: Never.self) { _ = try parseXML(html.replacingOccurrences(of: "<!DOCTYPE html>\n", with: "")) }
        #expect(html.contains("The recurrent family: LSTM, GRU, bidirectional LSTM"))
        #expect(html.contains("<td>GRU</td><td class=\"num\">99.12%</td>"))
        #expect(html.contains("AMD EPYC &lt;test&gt;"))
        let markdown = MarkdownSummary.render(input, figures: figures)
        #expect(markdown.contains("| MNIST | GRU | 99.12% | 107,274 | 400.0 KiB / 120.0 KiB | 14.2 | 21,034 images | 90,210 images |"))
        #expect(markdown.contains("| IMDb | LSTM | 87.92% | 1,300,000 | 4.93 MiB / 1.34 MiB | 30.0 | 1,620 reviews | 3,024 reviews |"))
    }
}
