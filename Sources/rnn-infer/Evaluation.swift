import RNNFormat
import RNNSupport

/// Accuracy, confusion matrix, per-class precision and recall against known labels.
struct Evaluation {
    let labels: [String]
    /// `confusion[truth * classes + predicted]`.
    private(set) var confusion: [Int]
    private(set) var total = 0
    private(set) var correct = 0

    /// - Parameter labels: the model's class names; the report prints them escaped (``TerminalText``).
    init(labels: [String]) {
        self.labels = labels.map(TerminalText.escaped)
        confusion = [Int](repeating: 0, count: labels.count * labels.count)
    }

    var classes: Int { labels.count }
    var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    mutating func add(truth: Int, predicted: Int) {
        confusion[truth * classes + predicted] += 1
        total += 1
        if truth == predicted { correct += 1 }
    }

    func count(truth: Int, predicted: Int) -> Int { confusion[truth * classes + predicted] }

    /// Of the images predicted as `c`, the fraction that are `c` (`nil` when none was predicted).
    func precision(_ c: Int) -> Double? {
        let predicted = (0..<classes).reduce(0) { $0 + count(truth: $1, predicted: c) }
        return predicted == 0 ? nil : Double(count(truth: c, predicted: c)) / Double(predicted)
    }

    /// Of the images that are `c`, the fraction predicted as `c` (`nil` when there are none).
    func recall(_ c: Int) -> Double? {
        let support = self.support(c)
        return support == 0 ? nil : Double(count(truth: c, predicted: c)) / Double(support)
    }

    func support(_ c: Int) -> Int { (0..<classes).reduce(0) { $0 + count(truth: c, predicted: $1) } }

    /// The off-diagonal cells with the most images, largest first (ties: by true, then predicted class).
    func mostConfused(_ limit: Int) -> [(truth: Int, predicted: Int, count: Int)] {
        var pairs: [(truth: Int, predicted: Int, count: Int)] = []
        for t in 0..<classes {
            for p in 0..<classes where p != t && count(truth: t, predicted: p) > 0 {
                pairs.append((t, p, count(truth: t, predicted: p)))
            }
        }
        pairs.sort { $0.count != $1.count ? $0.count > $1.count : ($0.truth, $0.predicted) < ($1.truth, $1.predicted) }
        return Array(pairs.prefix(limit))
    }

    /// The human-readable report.
    ///
    /// - Parameters:
    ///   - summary: whether to start with the accuracy line (`rnn-infer text --imdb` prints its own).
    ///   - noun: what is counted ("images", "reviews").
    func report(summary: Bool = true, noun: String = "images") -> String {
        var out = summary ? "\naccuracy: \(fixed(accuracy * 100, 2))% (\(correct) of \(total) correct)\n" : ""
        // The confusion matrix is printed only while it stays readable.
        if classes <= 30 {
            let width = max(5, String(total).count + 1, labels.map(\.count).max() ?? 1)
            out += "\nconfusion matrix (rows: true label, columns: predicted label)\n"
            out += pad("", width) + labels.map { padLeft($0, width + 1) }.joined() + "\n"
            for t in 0..<classes {
                out += pad(labels[t], width) + (0..<classes).map { padLeft(String(count(truth: t, predicted: $0)), width + 1) }.joined() + "\n"
            }
        }
        let labelWidth = max(5, labels.map(\.count).max() ?? 1)
        out += "\n" + pad("label", labelWidth) + "  precision     recall    support\n"
        for c in 0..<classes {
            let p = precision(c).map { fixed($0, 4) } ?? "-"
            let r = recall(c).map { fixed($0, 4) } ?? "-"
            out += pad(labels[c], labelWidth) + "  " + padLeft(p, 9) + "  " + padLeft(r, 9) + "  " + padLeft(String(support(c)), 9) + "\n"
        }
        let confused = mostConfused(10)
        if !confused.isEmpty {
            out += "\nmost confused (true -> predicted: \(noun))\n"
            for pair in confused {
                out += "  \(labels[pair.truth]) -> \(labels[pair.predicted]): \(pair.count)\n"
            }
        }
        return out
    }
}
