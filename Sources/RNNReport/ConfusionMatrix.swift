/// Counts of (true class, predicted class) pairs, with the per-class measures derived from them.
///
/// Row = true class, column = predicted class, as in scikit-learn's `confusion_matrix`.
package struct ConfusionMatrix: Sendable, Equatable {
    package let classCount: Int
    /// `classCount x classCount` counts, row-major.
    package private(set) var counts: [Int]

    /// An empty matrix, to be filled one prediction at a time with ``add(truth:predicted:)`` (a
    /// stream of batches whose predictions are not all kept).
    package init(classCount: Int) {
        precondition(classCount >= 1, "a confusion matrix needs at least one class")
        self.classCount = classCount
        counts = [Int](repeating: 0, count: classCount * classCount)
    }

    /// Counts one example; both classes must be below ``classCount`` (checked by the caller, whose
    /// labels and predictions come from a validated file and the model).
    package mutating func add(truth: Int, predicted: Int) {
        precondition((0..<classCount).contains(truth) && (0..<classCount).contains(predicted), "class out of range")
        counts[truth * classCount + predicted] += 1
    }

    /// Tallies parallel arrays of true and predicted class indices.
    ///
    /// - Throws: ``ReportError/lengthMismatch(what:expected:found:)`` when the arrays differ in length,
    ///   ``ReportError/classOutOfRange(what:index:value:classCount:)`` for an index outside the classes.
    package init(truth: [Int], predicted: [Int], classCount: Int) throws(ReportError) {
        guard (1...65_536).contains(classCount) else { throw .invalidClassCount(classCount) }
        guard truth.count == predicted.count else {
            throw .lengthMismatch(what: "predictions", expected: truth.count, found: predicted.count)
        }
        var counts = [Int](repeating: 0, count: classCount * classCount)
        for i in truth.indices {
            let t = truth[i], p = predicted[i]
            guard (0..<classCount).contains(t) else { throw .classOutOfRange(what: "truth", index: i, value: t, classCount: classCount) }
            guard (0..<classCount).contains(p) else { throw .classOutOfRange(what: "predicted", index: i, value: p, classCount: classCount) }
            counts[t * classCount + p] += 1
        }
        self.classCount = classCount
        self.counts = counts
    }

    /// How often class `truth` was predicted as `predicted`.
    package subscript(truth: Int, predicted: Int) -> Int {
        counts[truth * classCount + predicted]
    }

    /// Number of examples.
    package var total: Int { counts.reduce(0, +) }
    /// Number of correct predictions (the diagonal).
    package var correct: Int { (0..<classCount).reduce(0) { $0 + self[$1, $1] } }
    /// `correct / total`; 0 for an empty matrix.
    package var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    /// Examples whose true class is `truth` (row sum).
    package func support(of truth: Int) -> Int {
        (0..<classCount).reduce(0) { $0 + self[truth, $1] }
    }

    /// Examples predicted as `predicted` (column sum).
    package func predictedCount(of predicted: Int) -> Int {
        (0..<classCount).reduce(0) { $0 + self[$1, predicted] }
    }

    /// Of the examples predicted as `c`, the fraction that truly are `c`; `nil` if none was predicted as `c`.
    package func precision(of c: Int) -> Double? {
        let predicted = predictedCount(of: c)
        return predicted == 0 ? nil : Double(self[c, c]) / Double(predicted)
    }

    /// Of the examples of class `c`, the fraction predicted as `c`; `nil` if the class has no examples.
    package func recall(of c: Int) -> Double? {
        let support = support(of: c)
        return support == 0 ? nil : Double(self[c, c]) / Double(support)
    }

    /// Precision, recall, F1 and support of every class, in class order.
    package func classMetrics() -> [ClassMetrics] {
        (0..<classCount).map { c in
            let p = precision(of: c), r = recall(of: c)
            var f1: Double?
            if let p, let r { f1 = p + r > 0 ? 2 * p * r / (p + r) : 0 }
            return ClassMetrics(classIndex: c, precision: p, recall: r, f1: f1, support: support(of: c))
        }
    }

    /// The off-diagonal cells with the most examples, largest first (ties: lower true class, then
    /// lower predicted class), omitting empty cells.
    package func mostConfusedPairs(limit: Int = 5) -> [ConfusedPair] {
        var pairs: [ConfusedPair] = []
        for t in 0..<classCount {
            for p in 0..<classCount where p != t && self[t, p] > 0 {
                pairs.append(ConfusedPair(truth: t, predicted: p, count: self[t, p]))
            }
        }
        pairs.sort { a, b in
            if a.count != b.count { return a.count > b.count }
            return a.truth != b.truth ? a.truth < b.truth : a.predicted < b.predicted
        }
        return Array(pairs.prefix(max(0, limit)))
    }
}

/// The per-class measures of a ``ConfusionMatrix``.
package struct ClassMetrics: Sendable, Equatable {
    package var classIndex: Int
    /// `nil` when the class was never predicted.
    package var precision: Double?
    /// `nil` when the class has no examples.
    package var recall: Double?
    /// Harmonic mean of precision and recall; `nil` when either is undefined.
    package var f1: Double?
    /// Number of examples of the class.
    package var support: Int
}

/// A (true class, predicted class) pair and how often it occurred.
package struct ConfusedPair: Sendable, Equatable {
    package var truth: Int
    package var predicted: Int
    package var count: Int
}
