import RNNCore
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

// MARK: - Augmentation

/// How training batches are augmented (`--augment`). Validation and test images never are: only
/// the batches the loop trains on (``AugmentedBatch``, filled by the image task's gradient step).
package enum ImageAugmentation: String, Sendable, Codable, CaseIterable {
    /// Every training image moved by a whole number of pixels, drawn uniformly from
    /// `-maximumShift ... maximumShift` in x and in y independently (25 positions, the original
    /// among them), the pixels that move in from outside zero (MNIST's background). A digit seen at
    /// slightly different positions every epoch is the classic cure for a small model memorizing
    /// its training set (Simard et al. 2003 use such distortions on MNIST).
    case shift

    /// The largest shift, in pixels, of ``shift``.
    package static let maximumShift = 2
}

extension LabeledPixels {
    /// Image `index` moved right by `dx` and down by `dy` pixels (negative: left, up), written to
    /// `out` (`height × width` bytes, row-major): `out[y][x] = image[y - dy][x - dx]`, and 0 where
    /// `(y - dy, x - dx)` lies outside the image.
    package func shift(_ index: Int, dx: Int, dy: Int, into out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(out.count == height * width, "out holds one image")
        out.update(repeating: 0)
        // The rows and columns whose source lies inside: y - dy in 0..<height, x - dx in 0..<width.
        let y0 = max(0, dy), y1 = min(height, height + dy), x0 = max(0, dx), x1 = min(width, width + dx)
        guard y0 < y1 && x0 < x1 else { return }
        pixels.withUnsafeBufferPointer { p in
            let image = index * height * width
            for y in y0..<y1 {
                let source = image + (y - dy) * width - dx
                for x in x0..<x1 { out[y * width + x] = p[source + x] }
            }
        }
    }
}

/// The images of one training batch as the model sees them: copies of the batch's images, each
/// shifted (``ImageAugmentation/shift``), with their labels, at positions `0..<count`.
///
/// The shifts come from a generator seeded by the run's seed and the step alone, like the epoch's
/// order (``TrainingTask/order(epoch:)``): the same seed and thread count give the same weights,
/// and a resumed run draws exactly what an uninterrupted one does without storing generator state.
package struct AugmentedBatch: Sendable {
    /// `capacity × height × width` bytes; the first `count` images are the batch's.
    package private(set) var pixels: [UInt8]
    /// The labels of the batch's images (the first `count`).
    package private(set) var labels: [Int]
    /// Images in the batch.
    package private(set) var count = 0
    let imageSize: Int

    /// Room for `capacity` images of `height × width` pixels.
    package init(capacity: Int, height: Int, width: Int) {
        imageSize = height * width
        pixels = [UInt8](repeating: 0, count: capacity * imageSize)
        labels = [Int](repeating: 0, count: capacity)
    }

    /// The shifts `(dx, dy)` of a batch of `count` images at step `step` of a run seeded `seed`.
    package static func shifts(count: Int, seed: UInt64, step: Int) -> [(dx: Int, dy: Int)] {
        var rng = Xoshiro256StarStar(seed: seed ^ (0x9E37_79B9_7F4A_7C15 &* UInt64(step + 1)))
        let m = ImageAugmentation.maximumShift
        return (0..<count).map { _ in
            let dx = rng.nextInt(below: 2 * m + 1) - m
            return (dx, rng.nextInt(below: 2 * m + 1) - m)
        }
    }

    /// Fills the batch with the images `indices` of `set`, augmented by `augmentation` as step
    /// `step` of a run seeded `seed` draws it.
    package mutating func fill(from set: LabeledPixels, indices: ArraySlice<Int>, augmentation: ImageAugmentation,
                               seed: UInt64, step: Int) {
        precondition(indices.count <= labels.count && set.height * set.width == imageSize, "batch too large or wrong image size")
        switch augmentation {
        case .shift:
            let shifts = Self.shifts(count: indices.count, seed: seed, step: step)
            let size = imageSize
            pixels.withUnsafeMutableBufferPointer { out in
                for (j, index) in indices.enumerated() {
                    set.shift(index, dx: shifts[j].dx, dy: shifts[j].dy,
                              into: UnsafeMutableBufferPointer(rebasing: out[(j * size)..<((j + 1) * size)]))
                }
            }
            for (j, index) in indices.enumerated() { labels[j] = set.labels[index] }
        }
        count = indices.count
    }
}
