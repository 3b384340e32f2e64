/// Reads an IDX3 unsigned-byte image file batch by batch, in memory bounded by the batch size
/// and by the data that really arrives: a batch's pixel array grows as its bytes are read, so
/// neither the header's image count nor a large `maxImages` reserves memory by itself.
///
/// For inputs too large to hold at once (a million images and more), or arriving on standard
/// input. The file may be raw or gzip-compressed (detected by its magic); `"-"` reads standard
/// input. Data that ends early is an error, never a silently short result.
///
/// ```swift
/// let reader = try IDXImageReader(path: "-")
/// while let batch = try reader.nextBatch(maxImages: 4096) { classify(batch) }
/// ```
public final class IDXImageReader {
    /// Images the header declares.
    public let count: Int
    /// Rows per image.
    public let height: Int
    /// Columns per image.
    public let width: Int
    /// Images returned so far.
    public private(set) var imagesRead = 0

    private let source: ByteSource
    private let header: IDXHeader
    /// Whether the source is a regular raw file whose length matched the header, so that every
    /// batch is known to arrive in full and can be allocated at once.
    private let lengthVerified: Bool
    private var finished = false

    /// Opens `path` (`"-"` for standard input) and reads and validates its header.
    public convenience init(path: String) throws(DatasetError) {
        let (source, _, rawSize) = try openDecompressedSource(path: path)
        try self.init(source: source, rawSize: rawSize)
    }

    /// Reads and validates the header from `source`, whose length is `rawSize` when known (a
    /// regular raw file) and `nil` for a stream.
    init(source: ByteSource, rawSize: Int?) throws(DatasetError) {
        let header = try IDXHeader.read(from: source, dimensions: 3)
        // A regular raw file's length is known now: refuse a mismatch before reading any batch.
        if let rawSize, rawSize < header.totalBytes {
            throw .truncated(path: source.path, expectedBytes: header.totalBytes, foundBytes: rawSize)
        }
        if let rawSize, rawSize > header.totalBytes {
            throw .trailingData(path: source.path, expectedBytes: header.totalBytes, foundBytes: rawSize)
        }
        self.source = source
        self.header = header
        lengthVerified = rawSize != nil
        count = header.count
        height = header.height
        width = header.width
    }

    /// The next at most `maxImages` images, or `nil` once all `count` have been returned.
    ///
    /// The call that returns `nil` also checks that no data follows the last image.
    public func nextBatch(maxImages: Int) throws(DatasetError) -> ImageSet? {
        guard maxImages > 0 else {
            throw .invalidArgument(detail: "maxImages is \(maxImages), expected at least 1")
        }
        let remaining = count - imagesRead
        if remaining == 0 {
            if !finished {
                finished = true
                guard try source.isAtEnd() else {
                    throw .trailingData(path: source.path, expectedBytes: header.totalBytes,
                                        foundBytes: header.totalBytes + 1)
                }
            }
            return nil
        }
        let images = min(maxImages, remaining)
        let perImage = height * width
        let pixels = try source.readBytes(images * perImage, knownToArrive: lengthVerified)
        guard pixels.count == images * perImage else {
            throw .truncated(path: source.path, expectedBytes: header.totalBytes,
                             foundBytes: header.headerBytes + imagesRead * perImage + pixels.count)
        }
        imagesRead += images
        return ImageSet(uncheckedCount: images, height: height, width: width, pixels: pixels)
    }
}
