/// One class and its probability, as returned by ``BatchResult/top(_:of:)``.
public struct RankedClass: Sendable, Equatable {
    /// Index into the model's labels (spec §6, `labels`).
    public var classIndex: Int
    /// The class name.
    public var label: String
    /// `softmax(logits)[classIndex]`.
    public var probability: Float
}

/// The result for one input (an image or a text).
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
    /// Time steps the network ran: the image's height, or the text's tokens after truncation.
    public var length: Int
}

/// The results for a batch of `count` inputs (images or texts), stored flat (`count x classCount`, row-major).
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
    /// Predicted class of each input.
    public let predictions: [Int]
    /// Time steps each input ran (``Classification/length``).
    public let lengths: [Int]

    /// The result for image `index` (0-based).
    public subscript(index: Int) -> Classification {
        let row = index * classCount
        let predicted = predictions[index]
        return Classification(
            classIndex: predicted, label: labels[predicted],
            probability: probabilities[row + predicted],
            logits: Array(logits[row..<(row + classCount)]),
            probabilities: Array(probabilities[row..<(row + classCount)]),
            length: lengths[index])
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
