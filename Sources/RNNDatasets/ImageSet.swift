/// A set of 8-bit grey-scale images of one size, stored row-major one after another.
///
/// `pixels` holds `count * height * width` bytes: image `i` occupies
/// `pixels[i * height * width ..< (i + 1) * height * width]`, row by row (IDX order).
public struct ImageSet: Sendable, Equatable {
    /// Number of images.
    public let count: Int
    /// Rows per image.
    public let height: Int
    /// Columns per image.
    public let width: Int
    /// The pixel bytes, `count * height * width` of them (0 = background for MNIST).
    public var pixels: [UInt8]

    /// Creates an image set, checking that `pixels` holds exactly `count * height * width` bytes.
    public init(count: Int, height: Int, width: Int, pixels: [UInt8]) throws(DatasetError) {
        guard count >= 0, height > 0, width > 0 else {
            throw .invalidArgument(detail: "image set shape \(count)x\(height)x\(width): "
                + "count must be >= 0, height and width > 0")
        }
        let (perImage, o1) = height.multipliedReportingOverflow(by: width)
        let (total, o2) = perImage.multipliedReportingOverflow(by: count)
        guard !o1, !o2, total == pixels.count else {
            throw .invalidArgument(detail: "image set \(count)x\(height)x\(width) needs "
                + "\(o1 || o2 ? "more than Int.max" : String(total)) pixel bytes, got \(pixels.count)")
        }
        self.count = count
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    /// Internal initializer for callers that have already checked the shape.
    init(uncheckedCount count: Int, height: Int, width: Int, pixels: [UInt8]) {
        self.count = count
        self.height = height
        self.width = width
        self.pixels = pixels
    }

    /// Bytes per image (`height * width`).
    public var pixelsPerImage: Int { height * width }

    /// The pixels of image `index` (0-based), row-major.
    public func image(at index: Int) -> ArraySlice<UInt8> {
        precondition(index >= 0 && index < count, "image index \(index) out of range 0..<\(count)")
        let start = index * pixelsPerImage
        return pixels[start ..< start + pixelsPerImage]
    }

    /// The pixels of image `index` (0-based), row-major; same as ``image(at:)``.
    public subscript(index: Int) -> ArraySlice<UInt8> { image(at: index) }

    /// Calls `body` with the pixels of image `index`, without copying (for hot loops).
    public func withImage<R>(at index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        precondition(index >= 0 && index < count, "image index \(index) out of range 0..<\(count)")
        let start = index * pixelsPerImage
        return try pixels.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[start ..< start + pixelsPerImage]))
        }
    }

    /// The images in `range` as a new set (copies their pixels).
    public func subset(_ range: Range<Int>) -> ImageSet {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range \(range) out of 0..<\(count)")
        let bytes = Array(pixels[range.lowerBound * pixelsPerImage ..< range.upperBound * pixelsPerImage])
        return ImageSet(uncheckedCount: range.count, height: height, width: width, pixels: bytes)
    }

    /// The images at `indices`, in that order, as a new set (copies their pixels).
    public func subset(indices: some Collection<Int>) -> ImageSet {
        var bytes = [UInt8]()
        bytes.reserveCapacity(indices.count * pixelsPerImage)
        for index in indices { bytes.append(contentsOf: image(at: index)) }
        return ImageSet(uncheckedCount: indices.count, height: height, width: width, pixels: bytes)
    }
}

/// Images with one class label each (`labels[i]` belongs to `images[i]`).
public struct LabeledImages: Sendable, Equatable {
    /// The images.
    public var images: ImageSet
    /// One class index per image.
    public var labels: [UInt8]

    /// Pairs images with labels, checking that the counts agree.
    public init(images: ImageSet, labels: [UInt8]) throws(DatasetError) {
        guard images.count == labels.count else {
            throw .countMismatch(images: images.count, labels: labels.count)
        }
        self.images = images
        self.labels = labels
    }

    /// Number of labelled images.
    public var count: Int { labels.count }

    /// Checks that every label is below `classes`.
    public func validateLabels(classes: Int) throws(DatasetError) {
        for (index, value) in labels.enumerated() where Int(value) >= classes {
            throw .labelOutOfRange(index: index, value: value, classes: classes)
        }
    }

    /// The examples in `range` as a new set.
    public func subset(_ range: Range<Int>) -> LabeledImages {
        // Counts agree by construction, so the unchecked path cannot mismatch.
        var copy = self
        copy.images = images.subset(range)
        copy.labels = Array(labels[range])
        return copy
    }
}
