import Foundation

/// The IMDb sentiment comparison (schema `rnn-imdb-compare/1`): the LSTM text classifier against
/// the bag-of-words logistic regression of bench/imdb_bow.py, on the same 25,000 test reviews.
///
/// The file is small and written by hand or by a script (see notes/report.md):
///
/// ```json
/// {"schema": "rnn-imdb-compare/1", "test_reviews": 25000,
///  "lstm": {"name": "LSTM (embedding 64, H 128)", "test_accuracy": 0.88, "file_bytes": 5170000,
///           "reviews_per_second": 1333, "training_minutes": 6.3, "note": "2 threads"},
///  "bag_of_words": { ...the output of `python3 bench/imdb_bow.py --json FILE`, verbatim... }}
/// ```
///
/// Each model object takes `name`, `test_accuracy` (a fraction), `file_bytes`, `reviews_per_second`,
/// `training_minutes` and `note`, all optional but the object itself; bench/imdb_bow.py's own
/// member names (`model`, `float32_weight_bytes`, `test_reviews_per_second_including_featurization`,
/// `final_fit_seconds`) are accepted in their place, so its output can be pasted in unchanged.
package struct TextComparison: Sendable, Equatable {
    /// One model's measurements; `nil` where not measured.
    package struct Model: Sendable, Equatable {
        package var name: String
        /// Fraction of test reviews classified correctly.
        package var testAccuracy: Double?
        /// Bytes of the model as shipped (the .rnnm file; the f32 weights for the baseline).
        package var fileBytes: Int?
        /// Test reviews classified per second, tokenizing included.
        package var reviewsPerSecond: Double?
        /// Wall-clock training time in minutes.
        package var trainingMinutes: Double?
        /// A short remark shown under the table (settings, machine).
        package var note: String?
    }

    /// The recurrent model (this project's LSTM).
    package var lstm: Model
    /// The bag-of-words baseline.
    package var bagOfWords: Model
    /// How many test reviews the accuracies are over (25,000 for the full test set).
    package var testReviews: Int?

    /// The schema name the JSON must carry.
    package static let schema = "rnn-imdb-compare/1"

    /// Decodes the JSON described above. Unknown members are ignored.
    ///
    /// - Throws: ``ReportError/invalidTextComparison(detail:)`` when the text is not a JSON object,
    ///   the schema is not `rnn-imdb-compare/1`, a model object is missing, or an accuracy is
    ///   outside 0...1 (a percentage passed by mistake).
    package static func decode(json data: Data) throws(ReportError) -> TextComparison {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .invalidTextComparison(detail: "expected a JSON object at the top level")
        }
        let found = root["schema"] as? String
        guard found == schema else {
            throw .invalidTextComparison(detail: "expected schema '\(schema)', found '\(found ?? "none")'")
        }
        let lstm = try model(root, "lstm", defaultName: "LSTM")
        let bagOfWords = try model(root, "bag_of_words", defaultName: "bag-of-words logistic regression")
        return TextComparison(lstm: lstm, bagOfWords: bagOfWords, testReviews: int(root["test_reviews"]))
    }

    private static func model(_ root: [String: Any], _ key: String, defaultName: String) throws(ReportError) -> Model {
        guard let object = root[key] as? [String: Any] else {
            throw .invalidTextComparison(detail: "expected an object '\(key)'")
        }
        var model = Model(name: object["name"] as? String ?? object["model"] as? String ?? defaultName)
        model.testAccuracy = double(object["test_accuracy"])
        if let accuracy = model.testAccuracy, !(0...1).contains(accuracy) {
            throw .invalidTextComparison(detail: "\(key).test_accuracy: expected a fraction in 0...1, found \(accuracy)")
        }
        model.fileBytes = int(object["file_bytes"]) ?? int(object["float32_weight_bytes"])
        model.reviewsPerSecond = double(object["reviews_per_second"])
            ?? double(object["test_reviews_per_second_including_featurization"])
        model.trainingMinutes = double(object["training_minutes"]) ?? double(object["final_fit_seconds"]).map { $0 / 60 }
        model.note = object["note"] as? String
        return model
    }

    private static func double(_ value: Any?) -> Double? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        return double.isFinite ? double : nil
    }

    private static func int(_ value: Any?) -> Int? {
        guard let double = double(value), double >= 0, double < 1e15 else { return nil }
        return Int(double)
    }

    /// One sentence comparing the two on each measured aspect, e.g. "The LSTM is 0.61 points less
    /// accurate, 65x larger, 17x slower and 4.6x slower to train than the bag-of-words baseline."
    package var summary: String? {
        var parts: [String] = []
        if let a = lstm.testAccuracy, let b = bagOfWords.testAccuracy {
            let points = (a - b) * 100
            parts.append(abs(points) < 0.005 ? "equally accurate"
                : "\(Format.fixed(abs(points), 2)) points \(points > 0 ? "more" : "less") accurate")
        }
        if let a = lstm.fileBytes, let b = bagOfWords.fileBytes, a > 0, b > 0 {
            parts.append(ratio(Double(a), Double(b), larger: "larger", smaller: "smaller"))
        }
        if let a = lstm.reviewsPerSecond, let b = bagOfWords.reviewsPerSecond, a > 0, b > 0 {
            parts.append(ratio(a, b, larger: "faster", smaller: "slower"))
        }
        if let a = lstm.trainingMinutes, let b = bagOfWords.trainingMinutes, a > 0, b > 0 {
            parts.append(ratio(a, b, larger: "slower", smaller: "quicker") + " to train")
        }
        guard !parts.isEmpty else { return nil }
        let list = parts.count == 1 ? parts[0] : parts.dropLast().joined(separator: ", ") + " and " + parts.last!
        return "The LSTM is \(list) than the bag-of-words baseline."
    }

    /// `mine / theirs` as "3.2x LARGER" when at least 1, else the inverse as "3.2x SMALLER"
    /// (ratios read better than fractions: "17x slower", not "0.06x as fast").
    private func ratio(_ mine: Double, _ theirs: Double, larger: String, smaller: String) -> String {
        let r = mine / theirs
        if r >= 1 { return "\(Format.fixed(r, r >= 10 ? 0 : 1))x \(larger)" }
        let inverse = 1 / r
        return "\(Format.fixed(inverse, inverse >= 10 ? 0 : 1))x \(smaller)"
    }

    /// Table header and rows (one per model), shared by the HTML page and REPORT.md.
    static let header = ["model", "test accuracy", "model size", "reviews / s", "training"]

    var rows: [[String]] {
        [lstm, bagOfWords].map { model in
            [model.name,
             model.testAccuracy.map { Format.percent($0) } ?? "—",
             model.fileBytes.map { Format.bytes($0) } ?? "—",
             model.reviewsPerSecond.map { Format.grouped(Int($0.rounded())) } ?? "—",
             model.trainingMinutes.map { Format.fixed($0, 1) + " min" } ?? "—"]
        }
    }

    /// The notes of both models, as "name: note" lines.
    var notes: [String] {
        [lstm, bagOfWords].compactMap { model in model.note.map { "\(model.name): \($0)" } }
    }

    /// Names of the figures, in page order.
    static let figureNames = ["imdb-accuracy", "imdb-size", "imdb-speed", "imdb-train-time"]

    /// One bar chart per measured aspect (LSTM in the first colour, the baseline in the second).
    var figures: [Figure] {
        func chart(_ name: String, _ title: String, _ unit: String, caption: String, logarithmic: Bool = false,
                   _ value: (Model) -> Double?, _ text: (Double) -> String) -> Figure? {
            let bars = [(lstm, 0), (bagOfWords, 1)].compactMap { model, color in
                value(model).map { BarChart.Bar(label: model.name, value: $0, valueText: text($0), colorIndex: color) }
            }
            guard !bars.isEmpty else { return nil }
            return Figure(name: name, caption: caption,
                          canvas: BarChart(title: title, unit: unit, bars: bars, logarithmic: logarithmic).canvas())
        }
        let reviews = testReviews.map { " (\(Format.grouped($0)) test reviews)" } ?? ""
        return [
            chart("imdb-accuracy", "IMDb test accuracy", "percent correct (higher is better)",
                  caption: "Share of IMDb test reviews classified correctly\(reviews).",
                  { $0.testAccuracy.map { $0 * 100 } }, { Format.fixed($0, 2) + "%" }),
            chart("imdb-size", "IMDb model size", "bytes (smaller is better)",
                  caption: "Bytes of each model as shipped: the .rnnm file for the LSTM, the float32 weights for the baseline.",
                  logarithmic: true, { $0.fileBytes.map(Double.init) }, { Format.bytes(Int($0)) }),
            chart("imdb-speed", "IMDb inference speed", "reviews per second (higher is better)",
                  caption: "Test reviews classified per second, tokenizing included.",
                  { $0.reviewsPerSecond }, { Format.compact($0) + " reviews/s" }),
            chart("imdb-train-time", "IMDb training time", "minutes (smaller is better)",
                  caption: "Wall-clock training time of the final model.",
                  { $0.trainingMinutes }, { Format.fixed($0, 1) + " min" }),
        ].compactMap { $0 }
    }
}
