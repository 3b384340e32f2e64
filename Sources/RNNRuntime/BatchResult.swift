/// One class and its probability, as returned by ``BatchResult/top(_:of:)``.
public struct RankedClass: Sendable, Equatable {
    /// Index into the model's labels (spec §6, `labels`).
    public var classIndex: Int
    /// The class name.
    public var label: String
    /// `softmax(logits)[classIndex]`.
    public var probability: Float
}

/// The result for one image.
public struct Classification: Sendable, Equatable {
    /// The predicted class: the index of the largest logit (the lowest index on ties).
    public var classIndex: Int
    /// The predicted class's name.
    public var label: String
    /// Its probability.
    public var probability: Float
    /// The unnormalized log-probabilities, one per class.
    public var logits: [Float]
    /// `softmax(logits)`, one per class.
    public var probabilities: [Float]
}

/// The results for a batch of `count` images, stored flat (`count x classCount`, row-major).
public struct BatchResult: Sendable {
    /// Number of images.
    public let count: Int
    /// Number of classes.
    public let classCount: Int
    /// Class names, in output order.
    public let labels: [String]
    /// Logits, `count x classCount`.
    public let logits: [Float]
    /// Probabilities (`softmax` of each row of ``logits``), `count x classCount`.
    public let probabilities: [Float]
    /// Predicted class of each image.
    public let predictions: [Int]

    /// The result for image `index` (0-based).
    public subscript(index: Int) -> Classification {
        let row = index * classCount
        let predicted = predictions[index]
        return Classification(
            classIndex: predicted, label: labels[predicted],
            probability: probabilities[row + predicted],
            logits: Array(logits[row..<(row + classCount)]),
            probabilities: Array(probabilities[row..<(row + classCount)]))
    }

    /// The `k` most probable classes of image `index`, most probable first (ties: lower index first).
    public func top(_ k: Int, of index: Int) -> [RankedClass] {
        let row = index * classCount
        let order = (0..<classCount).sorted {
            let p = probabilities[row + $0], q = probabilities[row + $1]
            return p != q ? p > q : $0 < $1
        }
        return order.prefix(max(0, k)).map {
            RankedClass(classIndex: $0, label: labels[$0], probability: probabilities[row + $0])
        }
    }
}

/// Writes `softmax(logits)` into `probabilities` for one row and returns the arg-max.
///
/// Numerically stable: `e^(z - max z)` never overflows and the largest term is exactly 1, so the
/// sum is at least 1 and never underflows to zero.
func softmaxRow(_ logits: UnsafePointer<Float>, _ probabilities: UnsafeMutablePointer<Float>, count: Int) -> Int {
    var best = 0
    for c in 1..<max(count, 1) where logits[c] > logits[best] { best = c }
    let top = logits[best]
    var sum: Float = 0
    for c in 0..<count {
        let e = libmExp(logits[c] - top)
        probabilities[c] = e
        sum += e
    }
    let inverse = 1 / sum
    for c in 0..<count { probabilities[c] *= inverse }
    return best
}
