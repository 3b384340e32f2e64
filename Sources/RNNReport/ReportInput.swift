import Foundation

/// Everything a report shows. The `rnn-report` tool measures and fills it; this module only renders it.
public struct ReportInput: Sendable {
    public var title: String
    /// The question the report answers, shown at the top.
    public var question: String?
    public var model: ModelOverview
    /// "MNIST" or "Fashion-MNIST".
    public var datasetName: String
    public var classNames: [String]
    public var runLog: RunLog?
    /// A few test images with their true class, for the "what the data looks like" grid.
    public var samples: [LabeledImage]
    /// Predictions on the whole test set.
    public var evaluation: Evaluation?
    /// The model re-encoded in each dtype: file size and accuracy.
    public var sizes: [SizeRow]
    /// Inference throughput of the Swift runtime.
    public var speeds: [SpeedRow]
    /// The PyTorch CNN-versus-LSTM benchmark, if it has been run.
    public var comparison: Comparison?
    /// Free-text findings (one sentence or short paragraph each), shown after the derived ones.
    public var findings: [String]
    /// A short provenance line, e.g. "generated 2025-01-01 by rnn-report 1.0 on 2 cores".
    public var footer: String?
    /// The IMDb LSTM-versus-bag-of-words comparison, shown as its own section when present.
    public var textComparison: TextComparison?

    public init(title: String, question: String? = nil, model: ModelOverview, datasetName: String, classNames: [String],
                runLog: RunLog? = nil, samples: [LabeledImage] = [], evaluation: Evaluation? = nil, sizes: [SizeRow] = [],
                speeds: [SpeedRow] = [], comparison: Comparison? = nil, findings: [String] = [], footer: String? = nil,
                textComparison: TextComparison? = nil) {
        self.title = title
        self.question = question
        self.model = model
        self.datasetName = datasetName
        self.classNames = classNames
        self.runLog = runLog
        self.samples = samples
        self.evaluation = evaluation
        self.sizes = sizes
        self.speeds = speeds
        self.comparison = comparison
        self.findings = findings
        self.footer = footer
        self.textComparison = textComparison
    }

    /// The comparison's dataset key for ``datasetName`` ("mnist" or "fashion-mnist").
    var datasetKey: String {
        datasetName.lowercased().replacingOccurrences(of: " ", with: "-")
    }
}

/// An image with its true class index.
public struct LabeledImage: Sendable {
    public var image: DigitImage
    public var label: Int
    public init(image: DigitImage, label: Int) {
        self.image = image
        self.label = label
    }
}

/// What the model file holds.
public struct ModelOverview: Sendable {
    /// One row of the layer table.
    public struct LayerRow: Sendable {
        public var name: String
        /// "lstm", "dense", "dense+relu", ...
        public var kind: String
        public var input: String
        public var output: String
        public var parameters: Int
        public init(name: String, kind: String, input: String, output: String, parameters: Int) {
            self.name = name
            self.kind = kind
            self.input = input
            self.output = output
            self.parameters = parameters
        }
    }

    /// File name, e.g. "mnist-lstm.rnnm".
    public var name: String
    public var fileBytes: Int
    public var parameterCount: Int
    public var layers: [LayerRow]
    /// Stored dtypes, e.g. ["f32"].
    public var dtypes: [String]
    /// Further facts as (name, value) pairs: input contract, seed, training hyperparameters.
    public var details: [(String, String)]

    public init(name: String, fileBytes: Int, parameterCount: Int, layers: [LayerRow] = [], dtypes: [String] = [],
                details: [(String, String)] = []) {
        self.name = name
        self.fileBytes = fileBytes
        self.parameterCount = parameterCount
        self.layers = layers
        self.dtypes = dtypes
        self.details = details
    }
}

/// The model's predictions on a labelled test set.
public struct Evaluation: Sendable {
    public let truth: [Int]
    public let predicted: [Int]
    /// Probability of the predicted class, per image.
    public let confidence: [Double]
    /// The wrong predictions with their images (possibly only the most confident ones).
    public let misclassified: [Misclassification]
    public let confusion: ConfusionMatrix

    /// - Throws: ``ReportError`` when the arrays are not parallel or hold a class outside `0..<classCount`.
    public init(truth: [Int], predicted: [Int], confidence: [Double], classCount: Int,
                misclassified: [Misclassification]) throws(ReportError) {
        guard confidence.count == truth.count else {
            throw .lengthMismatch(what: "confidences", expected: truth.count, found: confidence.count)
        }
        confusion = try ConfusionMatrix(truth: truth, predicted: predicted, classCount: classCount)
        self.truth = truth
        self.predicted = predicted
        self.confidence = confidence
        self.misclassified = misclassified
    }

    public var accuracy: Double { confusion.accuracy }
    public var errorCount: Int { confusion.total - confusion.correct }
}

/// The model stored in one dtype.
public struct SizeRow: Sendable {
    public var dtype: String
    /// Size of the `.rnnm` file with zstd-compressed sections.
    public var fileBytes: Int
    /// Size with no compression (the memory-mappable form).
    public var uncompressedBytes: Int?
    /// Test accuracy of the model in this dtype, fraction in 0...1.
    public var testAccuracy: Double?

    public init(dtype: String, fileBytes: Int, uncompressedBytes: Int? = nil, testAccuracy: Double? = nil) {
        self.dtype = dtype
        self.fileBytes = fileBytes
        self.uncompressedBytes = uncompressedBytes
        self.testAccuracy = testAccuracy
    }
}

/// A throughput measurement.
public struct SpeedRow: Sendable {
    public var batchSize: Int
    public var threads: Int
    /// Median images per second over the repeated runs.
    public var imagesPerSecond: Double
    /// Median seconds per batch.
    public var medianSeconds: Double
    public var runs: Int

    public init(batchSize: Int, threads: Int, imagesPerSecond: Double, medianSeconds: Double, runs: Int) {
        self.batchSize = batchSize
        self.threads = threads
        self.imagesPerSecond = imagesPerSecond
        self.medianSeconds = medianSeconds
        self.runs = runs
    }
}
