import Foundation

/// Everything a report shows. The `rnn-report` tool measures and fills it; this module only renders it.
package struct ReportInput: Sendable {
    package var title: String
    /// The question the report answers, shown at the top.
    package var question: String?
    package var model: ModelOverview
    /// "MNIST" or "Fashion-MNIST".
    package var datasetName: String
    package var classNames: [String]
    package var runLog: RunLog?
    /// A few test images with their true class, for the "what the data looks like" grid.
    package var samples: [LabeledImage]
    /// Predictions on the whole test set.
    package var evaluation: Evaluation?
    /// The model re-encoded in each dtype: file size and accuracy.
    package var sizes: [SizeRow]
    /// Inference throughput of the Swift runtime.
    package var speeds: [SpeedRow]
    /// The PyTorch CNN-versus-LSTM benchmark, if it has been run.
    package var comparison: Comparison?
    /// Free-text findings (one sentence or short paragraph each), shown after the derived ones.
    package var findings: [String]
    /// A short provenance line, e.g. "generated 2025-01-01 by rnn-report 1.0 on 2 cores".
    package var footer: String?
    /// The IMDb LSTM-versus-bag-of-words comparison, shown as its own section when present.
    package var textComparison: TextComparison?
    /// The recurrent family table (bench/family.sh), shown as its own section when present.
    package var family: RecurrentFamily?
    /// The CNN trained by the same trainer and run by the same runtime on the same data, measured the
    /// same way in the same run: when present, "The answer" compares the two from these measurements.
    package var cnn: MeasuredModel?

    package init(title: String, question: String? = nil, model: ModelOverview, datasetName: String, classNames: [String],
                runLog: RunLog? = nil, samples: [LabeledImage] = [], evaluation: Evaluation? = nil, sizes: [SizeRow] = [],
                speeds: [SpeedRow] = [], comparison: Comparison? = nil, findings: [String] = [], footer: String? = nil,
                textComparison: TextComparison? = nil, family: RecurrentFamily? = nil) {
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
        self.family = family
    }

    /// The report's own model (the RNN) as a ``MeasuredModel``, for the side-by-side answer.
    var measuredRNN: MeasuredModel {
        MeasuredModel(name: model.name, parameters: model.parameterCount, testAccuracy: evaluation?.accuracy ?? runLog?.testAccuracy,
                      trainSeconds: runLog?.trainSeconds, epochs: runLog?.epochs.count, sizes: sizes, speeds: speeds)
    }

    /// The comparison's dataset key for ``datasetName`` ("mnist" or "fashion-mnist").
    var datasetKey: String {
        datasetName.lowercased().replacingOccurrences(of: " ", with: "-")
    }
}

/// One model as the report measures it: test accuracy, parameters, file sizes per dtype, training time
/// (its run log) and throughput, all from this run.
package struct MeasuredModel: Sendable {
    /// The model file's name.
    package var name: String
    package var parameters: Int
    package var testAccuracy: Double?
    /// Seconds of training (the trainer's log), and the epochs it ran.
    package var trainSeconds: Double?
    package var epochs: Int?
    package var sizes: [SizeRow]
    package var speeds: [SpeedRow]

    package init(name: String, parameters: Int, testAccuracy: Double?, trainSeconds: Double?, epochs: Int?,
                 sizes: [SizeRow], speeds: [SpeedRow]) {
        self.name = name
        self.parameters = parameters
        self.testAccuracy = testAccuracy
        self.trainSeconds = trainSeconds
        self.epochs = epochs
        self.sizes = sizes
        self.speeds = speeds
    }

    /// The fastest throughput at `batch` images per call (any thread count), and its thread count.
    func rate(batch: Int) -> SpeedRow? {
        speeds.filter { $0.batchSize == batch }.max { $0.imagesPerSecond < $1.imagesPerSecond }
    }

    /// The file of `dtype` ("f32", "int8").
    func size(_ dtype: String) -> SizeRow? { sizes.first { $0.dtype == dtype } }
}

/// An image with its true class index.
package struct LabeledImage: Sendable {
    package var image: DigitImage
    package var label: Int
    package init(image: DigitImage, label: Int) {
        self.image = image
        self.label = label
    }
}

/// What the model file holds.
package struct ModelOverview: Sendable {
    /// One row of the layer table.
    package struct LayerRow: Sendable {
        package var name: String
        /// "lstm", "dense", "dense+relu", ...
        package var kind: String
        package var input: String
        package var output: String
        package var parameters: Int
        package init(name: String, kind: String, input: String, output: String, parameters: Int) {
            self.name = name
            self.kind = kind
            self.input = input
            self.output = output
            self.parameters = parameters
        }
    }

    /// File name, e.g. "mnist-lstm.rnnm".
    package var name: String
    package var fileBytes: Int
    package var parameterCount: Int
    package var layers: [LayerRow]
    /// Stored dtypes, e.g. ["f32"].
    package var dtypes: [String]
    /// Further facts as (name, value) pairs: input contract, seed, training hyperparameters.
    package var details: [(String, String)]

    package init(name: String, fileBytes: Int, parameterCount: Int, layers: [LayerRow] = [], dtypes: [String] = [],
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
package struct Evaluation: Sendable {
    package let truth: [Int]
    package let predicted: [Int]
    /// Probability of the predicted class, per image.
    package let confidence: [Double]
    /// The wrong predictions with their images (possibly only the most confident ones).
    package let misclassified: [Misclassification]
    package let confusion: ConfusionMatrix

    /// - Throws: ``ReportError`` when the arrays are not parallel or hold a class outside `0..<classCount`.
    package init(truth: [Int], predicted: [Int], confidence: [Double], classCount: Int,
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

    package var accuracy: Double { confusion.accuracy }
    package var errorCount: Int { confusion.total - confusion.correct }
}

/// The model stored in one dtype.
package struct SizeRow: Sendable {
    package var dtype: String
    /// Size of the `.rnnm` file with zstd-compressed sections.
    package var fileBytes: Int
    /// Size with no compression (the memory-mappable form).
    package var uncompressedBytes: Int?
    /// Test accuracy of the model in this dtype, fraction in 0...1.
    package var testAccuracy: Double?

    package init(dtype: String, fileBytes: Int, uncompressedBytes: Int? = nil, testAccuracy: Double? = nil) {
        self.dtype = dtype
        self.fileBytes = fileBytes
        self.uncompressedBytes = uncompressedBytes
        self.testAccuracy = testAccuracy
    }
}

/// A throughput measurement.
package struct SpeedRow: Sendable {
    package var batchSize: Int
    package var threads: Int
    /// Median images per second over the repeated runs.
    package var imagesPerSecond: Double
    /// Median seconds per batch.
    package var medianSeconds: Double
    package var runs: Int

    package init(batchSize: Int, threads: Int, imagesPerSecond: Double, medianSeconds: Double, runs: Int) {
        self.batchSize = batchSize
        self.threads = threads
        self.imagesPerSecond = imagesPerSecond
        self.medianSeconds = medianSeconds
        self.runs = runs
    }
}
