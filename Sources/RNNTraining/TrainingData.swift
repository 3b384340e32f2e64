import RNNDatasets

/// Labeled u8 images in the form the trainer consumes: `count` images of `height x width`
/// pixels, row-major, one label per image.
package struct LabeledPixels: Sendable, Equatable {
    /// Pixels, `count * height * width` bytes.
    package var pixels: [UInt8]
    /// One class index per image.
    package var labels: [Int]
    /// Image height = time steps.
    package var height: Int
    /// Image width = features per step.
    package var width: Int
    /// Number of images.
    package var count: Int { labels.count }

    /// Images and labels; `pixels.count` must be `labels.count * height * width`.
    package init(pixels: [UInt8], labels: [Int], height: Int, width: Int) {
        precondition(pixels.count == labels.count * height * width, "pixel count mismatch")
        self.pixels = pixels
        self.labels = labels
        self.height = height
        self.width = width
    }

    /// The images of `set` with their labels.
    package init(_ set: LabeledImages) {
        self.init(pixels: set.images.pixels, labels: set.labels.map(Int.init),
                  height: set.images.height, width: set.images.width)
    }

    /// Images `range`.
    package func slice(_ range: Range<Int>) -> LabeledPixels {
        let size = height * width
        return LabeledPixels(pixels: Array(pixels[(range.lowerBound * size)..<(range.upperBound * size)]),
                             labels: Array(labels[range]), height: height, width: width)
    }
}

/// The three parts a run uses: train on `train`, pick nothing but report on `validation`
/// (the last ``TrainingConfiguration/validationCount`` training images), and test once at the end
/// (``init(_:validationCount:subset:)``).
package struct TrainingData: Sendable {
    /// Images trained on.
    package var train: LabeledPixels
    /// Images evaluated after every epoch.
    package var validation: LabeledPixels
    /// Images evaluated once, at the end.
    package var test: LabeledPixels
    /// Data set name for provenance ("MNIST").
    package var name: String
    /// File name -> SHA-256 of the decompressed file.
    package var sha256: [String: String]
    /// Class names, in label order.
    package var classNames: [String]

    /// The three parts and the data set's identity.
    package init(train: LabeledPixels, validation: LabeledPixels, test: LabeledPixels,
                name: String, sha256: [String: String], classNames: [String]) {
        self.train = train
        self.validation = validation
        self.test = test
        self.name = name
        self.sha256 = sha256
        self.classNames = classNames
    }

    /// Splits a loaded data set (the README's `--subset` rule): the last `validationCount` training
    /// images are the validation set, which must leave at least one image; the images trained on are
    /// the first `subset` of those it leaves (all of them without a subset), and a subset larger than
    /// that is refused, so that validation never eats into the images the option asked for. With a
    /// subset the test set is the first `subset` test images too. MNIST's and Fashion-MNIST's files
    /// are in no particular class order, so the first N are a fair sample. The errors name the options.
    package init(_ splits: DatasetSplits, validationCount: Int, subset: Int? = nil) throws(TrainingError) {
        let all = LabeledPixels(splits.train)
        guard validationCount < all.count else {
            throw .invalidHyperparameter("--validation must be below the \(all.count) training images, got \(validationCount)")
        }
        let cut = all.count - validationCount
        if let n = subset, n > cut {
            throw .invalidHyperparameter("--subset must be at most the \(cut) training images --validation \(validationCount) leaves, got \(n)")
        }
        let test = LabeledPixels(splits.test)
        self.init(train: all.slice(0..<(subset ?? cut)), validation: all.slice(cut..<all.count),
                  test: subset.map { test.slice(0..<min($0, test.count)) } ?? test,
                  name: splits.dataset.description, sha256: splits.sha256, classNames: splits.classNames)
    }
}
