import RNNFormat
import RNNReport
import RNNSupport

/// Accuracy, confusion matrix, per-class precision and recall against known labels: RNNReport's
/// ``ConfusionMatrix`` (the one implementation of these counts), with the terminal report.
struct Evaluation {
    let labels: [String]
    private(set) var matrix: ConfusionMatrix

    /// - Parameter labels: the model's class names; the report prints them escaped (``TerminalText``).
    init(labels: [String]) {
        self.labels = labels.map(TerminalText.escaped)
        matrix = ConfusionMatrix(classCount: max(1, labels.count))
    }

    var classes: Int { labels.count }
    var total: Int { matrix.total }
    var correct: Int { matrix.correct }
    var accuracy: Double { matrix.accuracy }

    mutating func add(truth: Int, predicted: Int) {
        matrix.add(truth: truth, predicted: predicted)
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
                out += pad(labels[t], width) + (0..<classes).map { padLeft(String(matrix[t, $0]), width + 1) }.joined() + "\n"
            }
        }
        let labelWidth = max(5, labels.map(\.count).max() ?? 1)
        out += "\n" + pad("label", labelWidth) + "  precision     recall    support\n"
        for c in 0..<classes {
            let p = matrix.precision(of: c).map { fixed($0, 4) } ?? "-"
            let r = matrix.recall(of: c).map { fixed($0, 4) } ?? "-"
            out += pad(labels[c], labelWidth) + "  " + padLeft(p, 9) + "  " + padLeft(r, 9) + "  " + padLeft(String(matrix.support(of: c)), 9) + "\n"
        }
        let confused = matrix.mostConfusedPairs(limit: 10)
        if !confused.isEmpty {
            out += "\nmost confused (true -> predicted: \(noun))\n"
            for pair in confused {
                out += "  \(labels[pair.truth]) -> \(labels[pair.predicted]): \(pair.count)\n"
            }
        }
        return out
    }
}
