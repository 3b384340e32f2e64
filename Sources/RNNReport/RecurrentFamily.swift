import Foundation

/// The recurrent family table (bench/family.sh's `bench/results/family.json`, schema
/// `rnn-bench-result/1`, table `family`): LSTM, GRU and bidirectional LSTM trained by rnn-train on
/// the same data, with accuracy, size, training time and speed, measured in one run.
///
/// ```json
/// {"schema": "rnn-bench-result/1", "table": "family", "command": "bench/family.sh", "commit": "abc1234",
///  "machine": {"cpu": "AMD EPYC ...", "logical_cpus": 2, ...},
///  "results": {"threads": 2, "rows": [{"data": "MNIST", "model": "GRU", "test_accuracy": 0.991,
///     "parameters": 107274, "file_bytes_f32": 398000, "file_bytes_int8": 120000,
///     "seconds_per_epoch_median": 14.2, "images_per_s_batch1": 21000, "images_per_s_batch10000": 90000,
///     "speed_unit": "images", "command": "rnn-train --data ... --cell gru --seed 1"}, ...]}}
/// ```
///
/// The speeds count `speed_unit` per second (absent: `images`; IMDb rows: `reviews`), `null` where
/// not measured.
package struct RecurrentFamily: Sendable, Equatable {
    /// One trained model's measurements.
    package struct Row: Sendable, Equatable {
        package var data: String
        package var model: String
        /// Fraction of the test set classified correctly.
        package var testAccuracy: Double
        package var parameters: Int?
        package var fileBytesF32: Int?
        package var fileBytesInt8: Int?
        package var secondsPerEpoch: Double?
        package var imagesPerSecondBatch1: Double?
        package var imagesPerSecondBatch10000: Double?
        /// What the two speeds count (`images`, `reviews`, ...).
        package var speedUnit = "images"
        /// The rnn-train command that made it.
        package var command: String?
    }

    package var rows: [Row]
    /// How and where it was measured ("bench/family.sh at abc1234 on AMD EPYC ..., 2 threads").
    package var provenance: String?

    /// Decodes bench/results/family.json.
    ///
    /// - Throws: ``ReportError/invalidFamily(detail:)`` when the text is not such a result file, a row
    ///   lacks its data set, model or accuracy, or an accuracy is outside 0...1.
    package static func decode(json data: Data) throws(ReportError) -> RecurrentFamily {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidFamily(detail: "expected a JSON object at the top level")
        }
        guard root["schema"] as? String == "rnn-bench-result/1", root["table"] as? String == "family" else {
            throw .invalidFamily(detail: "expected schema 'rnn-bench-result/1' and table 'family', found '\(root["schema"] ?? "none")' and '\(root["table"] ?? "none")'")
        }
        guard let results = root["results"] as? [String: Any], let list = results["rows"] as? [[String: Any]] else {
            throw .invalidFamily(detail: "expected results.rows, an array of objects")
        }
        var rows: [Row] = []
        for (k, object) in list.enumerated() {
            guard let data = object["data"] as? String, let model = object["model"] as? String,
                  let accuracy = number(object["test_accuracy"]) else {
                throw .invalidFamily(detail: "row \(k): expected data, model and test_accuracy")
            }
            guard (0...1).contains(accuracy) else {
                throw .invalidFamily(detail: "row \(k): test_accuracy must be a fraction in 0...1, found \(accuracy)")
            }
            rows.append(Row(data: data, model: model, testAccuracy: accuracy, parameters: count(object["parameters"]),
                            fileBytesF32: count(object["file_bytes_f32"]), fileBytesInt8: count(object["file_bytes_int8"]),
                            secondsPerEpoch: number(object["seconds_per_epoch_median"]),
                            imagesPerSecondBatch1: number(object["images_per_s_batch1"]),
                            imagesPerSecondBatch10000: number(object["images_per_s_batch10000"]),
                            speedUnit: object["speed_unit"] as? String ?? "images", command: object["command"] as? String))
        }
        var provenance: [String] = []
        if let command = root["command"] as? String { provenance.append(command) }
        if let commit = root["commit"] as? String { provenance.append("at \(commit)") }
        if let machine = root["machine"] as? [String: Any], let cpu = machine["cpu"] as? String { provenance.append("on \(cpu)") }
        if let threads = count(results["threads"]) { provenance.append("\(threads) threads") }
        return RecurrentFamily(rows: rows, provenance: provenance.isEmpty ? nil : provenance.joined(separator: " "))
    }

    private static func number(_ value: Any?) -> Double? {
        guard let n = value as? NSNumber, !(value is Bool) else { return nil }
        return n.doubleValue.isFinite ? n.doubleValue : nil
    }

    private static func count(_ value: Any?) -> Int? {
        guard let d = number(value), d >= 0, d < 1e15 else { return nil }
        return Int(d)
    }

    /// The table's columns.
    package static let header = ["data", "model", "test accuracy", "parameters", "file f32 / int8", "s per epoch",
                                 "per second, batch 1", "per second, batch 10,000"]

    /// The table's cells, a row per model, "—" where not measured; speeds name their unit ("21,034 images").
    package var tableRows: [[String]] {
        rows.map { r in
            [r.data, r.model, Format.percent(r.testAccuracy), r.parameters.map(Format.grouped) ?? "—",
             "\(r.fileBytesF32.map(Format.bytes) ?? "—") / \(r.fileBytesInt8.map(Format.bytes) ?? "—")",
             r.secondsPerEpoch.map { Format.fixed($0, 1) } ?? "—",
             r.imagesPerSecondBatch1.map { "\(Format.grouped(Int($0.rounded()))) \(r.speedUnit)" } ?? "—",
             r.imagesPerSecondBatch10000.map { "\(Format.grouped(Int($0.rounded()))) \(r.speedUnit)" } ?? "—"]
        }
    }

    /// Per data set, the most accurate model: "On MNIST the GRU is the most accurate (99.12 %)."
    package var findings: [String] {
        var out: [String] = []
        for data in rows.map(\.data).reduce(into: [String](), { if !$0.contains($1) { $0.append($1) } }) {
            let mine = rows.filter { $0.data == data }
            guard mine.count > 1, let best = mine.max(by: { $0.testAccuracy < $1.testAccuracy }) else { continue }
            out.append("On \(data) the \(best.model) is the most accurate of the family (\(Format.percent(best.testAccuracy))).")
        }
        return out
    }
}
