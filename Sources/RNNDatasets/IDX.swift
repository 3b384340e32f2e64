import RNNSupport

/// Reading and writing IDX files of unsigned bytes: MNIST-style images (IDX3) and labels (IDX1).
///
/// Readers accept raw or gzip-compressed files, told apart by the gzip magic `1f 8b`, not by the
/// file name. Every declared size is checked against the file's real length (or, for a stream,
/// against what actually arrives) before it is trusted, so a corrupt header cannot make a reader
/// allocate gigabytes.
public enum IDX {
    /// The most data bytes (after the header) a reader accepts: 4 GiB.
    public static let maximumDataBytes = 4 << 30

    /// Reads an IDX3 unsigned-byte image file (magic `0x00000803`), raw or gzip-compressed.
    ///
    /// The file must hold exactly `count * height * width` bytes after its 16-byte header.
    public static func readImages(at path: String) throws(DatasetError) -> ImageSet {
        try readImagesHashing(at: path).images
    }

    /// Reads an IDX1 unsigned-byte label file (magic `0x00000801`), raw or gzip-compressed.
    ///
    /// The file must hold exactly `count` bytes after its 8-byte header.
    public static func readLabels(at path: String) throws(DatasetError) -> [UInt8] {
        try readLabelsHashing(at: path).labels
    }

    /// Writes `images` as a raw IDX3 file, atomically (a temporary file renamed into place).
    public static func writeImages(_ images: ImageSet, to path: String) throws(DatasetError) {
        guard images.pixels.count == images.count * images.pixelsPerImage else {
            throw .invalidArgument(detail: "image set declares \(images.count * images.pixelsPerImage) "
                + "pixel bytes but holds \(images.pixels.count)")
        }
        for size in [images.count, images.height, images.width] where size > Int(UInt32.max) {
            throw .invalidArgument(detail: "dimension \(size) does not fit the IDX u32 size field")
        }
        let header = IDXHeader.encode(dimensions: 3, sizes: [images.count, images.height, images.width])
        do { try AtomicFile.write([header, images.pixels], to: path) } catch { throw .writeFailed(error) }
    }

    /// Writes `labels` as a raw IDX1 file, atomically (a temporary file renamed into place).
    public static func writeLabels(_ labels: [UInt8], to path: String) throws(DatasetError) {
        guard labels.count <= Int(UInt32.max) else {
            throw .invalidArgument(detail: "\(labels.count) labels do not fit the IDX u32 count field")
        }
        do { try AtomicFile.write([IDXHeader.encode(dimensions: 1, sizes: [labels.count]), labels], to: path) } catch {
            throw .writeFailed(error)
        }
    }

    /// Reads an image file and the SHA-256 of its decompressed bytes (header included).
    static func readImagesHashing(at path: String) throws(DatasetError) -> (images: ImageSet, sha256: String) {
        let (opened, _, rawSize) = try openDecompressedSource(path: path)
        let source = HashingByteSource(opened)
        let header = try IDXHeader.read(from: source, dimensions: 3)
        let pixels = try readData(of: header, from: source, rawSize: rawSize)
        let images = ImageSet(uncheckedCount: header.count, height: header.height, width: header.width, pixels: pixels)
        return (images, source.hasher.finalizeHex())
    }

    /// Reads a label file and the SHA-256 of its decompressed bytes (header included).
    static func readLabelsHashing(at path: String) throws(DatasetError) -> (labels: [UInt8], sha256: String) {
        let (opened, _, rawSize) = try openDecompressedSource(path: path)
        let source = HashingByteSource(opened)
        let header = try IDXHeader.read(from: source, dimensions: 1)
        let labels = try readData(of: header, from: source, rawSize: rawSize)
        return (labels, source.hasher.finalizeHex())
    }

    /// Reads exactly `header.dataBytes` bytes and checks that nothing follows them.
    ///
    /// For a regular raw file the length is known up front and checked before the one exact
    /// allocation. For gzip and pipes it is not, so the array grows only as real bytes arrive
    /// (``ByteSource/readData(_:afterHeader:rawSize:_:)``): a 16-byte header claiming 4 GiB costs 1 MiB.
    static func readData(of header: IDXHeader, from source: ByteSource, rawSize: Int?) throws(DatasetError) -> [UInt8] {
        var data = [UInt8]()
        try source.readData(header.dataBytes, afterHeader: header.headerBytes, rawSize: rawSize) { chunk in
            // Only once the first chunk has come is a regular file's length known to match.
            if data.isEmpty, rawSize != nil { data.reserveCapacity(header.dataBytes) }
            data += chunk
        }
        return data
    }
}
