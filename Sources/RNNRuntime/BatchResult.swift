import RNNFormat

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

/// The results for a batch of `count` inputs (images, texts or feature sequences), stored flat
/// (`rows x classCount`, row-major).
///
/// A model has one output row per input, or, when its last recurrent layer returns its sequence,
/// one per time step (spec §6.5): input `i`'s rows are then ``rows(of:)``. For a `"values"` model
/// (regression) the rows are the values and there are no probabilities or predictions.
public struct BatchResult: Sendable {
    /// Number of inputs.
    public let count: Int
    /// Outputs per row: classes, or values of a regression model.
    public let classCount: Int
    /// Output names (class names or value names), in output order.
    public let labels: [String]
    /// The outputs, `rows x classCount`: logits, or the values of a `"values"` model.
    public let logits: [Float]
    /// Probabilities (`softmax` of each row of ``logits``), `rows x classCount`; empty for a
    /// `"values"` model.
    public let probabilities: [Float]
    /// Predicted class of each row (the last step's for ``subscript(_:)``); empty for `"values"`.
    public let predictions: [Int]
    /// Time steps each input ran (``Classification/length``): after a `conv1d` layer, the steps it gives (spec §6.1).
    public let lengths: [Int]
    /// What the outputs are (spec §6.5).
    public var output: ModelOutput = .logits
    /// Per-step models: input `i`'s first row; nil when there is one row per input.
    public var rowStarts: [Int]? = nil

    /// Output rows in ``logits``: `count`, or the sum of ``lengths`` for a per-step model.
    public var rows: Int { rowStarts == nil ? count : lengths.reduce(0, +) }

    /// The rows of input `index`: one, or one per step.
    public func rows(of index: Int) -> Range<Int> {
        guard let rowStarts else { return index..<(index + 1) }
        return rowStarts[index]..<(rowStarts[index] + lengths[index])
    }

    /// The output vectors of input `index`: one (a model that returns its last state), or one per
    /// time step (a per-step model).
    public func outputs(of index: Int) -> [[Float]] {
        rows(of: index).map { Array(logits[($0 * classCount)..<(($0 + 1) * classCount)]) }
    }

    /// The result for input `index` (0-based): of its last row for a per-step model.
    /// A `"values"` model has no classes: use ``outputs(of:)``.
    public subscript(index: Int) -> Classification {
        let row = rows(of: index).upperBound - 1
        return classification(row: row, length: lengths[index])
    }

    /// The classification of output row `row` (per-step models: one per step).
    public func classification(row: Int, length: Int) -> Classification {
        precondition(output == .logits, "a values model has no classes")
        let index = row
        let row = index * classCount
        let predicted = predictions[index]
        return Classification(
            classIndex: predicted, label: labels[predicted],
            probability: probabilities[row + predicted],
            logits: Array(logits[row..<(row + classCount)]),
            probabilities: Array(probabilities[row..<(row + classCount)]),
            length: length)
    }

    /// The `k` most probable classes of image `index`, most probable first (ties: lower index first).
    public func top(_ k: Int, of index: Int) -> [RankedClass] {
        let row = (rows(of: index).upperBound - 1) * classCount
        let order = (0..<classCount).sorted {
            let p = probabilities[row + $0], q = probabilities[row + $1]
            return p != q ? p > q : $0 < $1
        }
        return order.prefix(max(0, k)).map {
            RankedClass(classIndex: $0, label: labels[$0], probability: probabilities[row + $0])
        }
    }
}
