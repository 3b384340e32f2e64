import RNNSupport

/// Everything that can go wrong while reading, writing, locating or downloading a data set.
///
/// Each case carries the path or URL concerned and, where there is one, what was expected and
/// what was found, so that ``description`` is a one-line message a person can act on.
public enum DatasetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No file at `path`.
    case fileNotFound(path: String)
    /// The file exists but could not be opened or read (permissions, a directory, an I/O error).
    case unreadable(path: String, detail: String)
    /// The first four bytes are not the expected IDX magic (IDX3 images `0x00000803`, IDX1 labels `0x00000801`).
    case badMagic(path: String, expected: UInt32, found: UInt32)
    /// The IDX element-type byte is not `0x08` (unsigned byte), the only type these loaders accept.
    case unsupportedElementType(path: String, found: UInt8)
    /// The IDX header declares the wrong number of dimensions (3 for images, 1 for labels).
    case wrongDimensions(path: String, expected: Int, found: Int)
    /// The header declares more data than ``IDX/maximumDataBytes`` (or a size that overflows).
    case tooLarge(path: String, claimedBytes: UInt64, limit: Int)
    /// The header is well-formed but describes an impossible shape (for example a zero width).
    case invalidHeader(path: String, detail: String)
    /// The (decompressed) file ends before the length its header implies; sizes count header and data.
    case truncated(path: String, expectedBytes: Int, foundBytes: Int)
    /// The (decompressed) file goes on past the length its header implies (`foundBytes` is a lower bound for streams).
    case trailingData(path: String, expectedBytes: Int, foundBytes: Int)
    /// An image file and its label file hold different numbers of items.
    case countMismatch(images: Int, labels: Int)
    /// The training and test images have different sizes.
    case imageSizeMismatch(expectedHeight: Int, expectedWidth: Int, foundHeight: Int, foundWidth: Int)
    /// Label number `index` is `value`, but the data set has only `classes` classes.
    case labelOutOfRange(index: Int, value: UInt8, classes: Int)
    /// The gzip stream is corrupt or ends early.
    case gzip(path: String, detail: String)
    /// The SHA-256 of a file's decompressed bytes is not the published one.
    case checksumMismatch(file: String, expected: String, found: String)
    /// A download failed for a reason other than being offline (HTTP status, interrupted transfer).
    case download(url: String, detail: String)
    /// The data set is not on disk and its mirror cannot be reached; `hint` says which files to put where.
    case notFoundOffline(dataset: String, directory: String, hint: String)
    /// The data set is not on disk and downloading was not allowed.
    case missingFiles(dataset: String, directory: String, files: [String])
    /// Writing `path` failed.
    case writeFailed(path: String, detail: String)
    /// A caller passed a value the API cannot work with (for example a batch size of zero).
    case invalidArgument(detail: String)
    /// The tar archive is malformed (IMDb loader).
    case tar(path: String, detail: String)
    /// A `.npy` file (``NPYArray``) breaks the format, or its array is not what the caller asked for.
    case npy(path: String, NPYProblem)
    /// Line `line` (1-based) of a UEA/UCR `.ts` file (``TSDataset``) breaks the format; line 0 is
    /// the file as a whole (its size, a missing `@data`).
    case timeSeries(path: String, line: Int, TSProblem)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file; check the path"
        case .unreadable(let path, let detail):
            return "\(path): cannot read (\(detail)); check that it is a readable regular file"
        case .badMagic(let path, let expected, let found):
            return "\(path): bad IDX magic: expected \(hex32(expected)), found \(hex32(found)); "
                + "is this an IDX file of the right kind (images 0x00000803, labels 0x00000801)?"
        case .unsupportedElementType(let path, let found):
            return "\(path): IDX element type \(hex8(found)) (\(idxTypeName(found))) is not supported; "
                + "expected 0x08 (unsigned byte)"
        case .wrongDimensions(let path, let expected, let found):
            return "\(path): IDX header declares \(found) dimension(s), expected \(expected) "
                + "(images are count x height x width, labels are count)"
        case .tooLarge(let path, let claimed, let limit):
            return "\(path): header declares \(claimed) data bytes, more than the limit of \(limit) bytes; "
                + "the header is probably corrupt"
        case .truncated(let path, let expected, let found):
            return "\(path): truncated: expected \(expected) bytes (header and data), found only \(found); "
                + "the file is incomplete, download or copy it again"
        case .trailingData(let path, let expected, let found):
            return "\(path): expected \(expected) bytes (header and data), found at least \(found); "
                + "the header does not match the data"
        case .invalidHeader(let path, let detail):
            return "\(path): invalid IDX header: \(detail)"
        case .countMismatch(let images, let labels):
            return "image file holds \(images) images but label file holds \(labels) labels; "
                + "the image and label files do not belong together"
        case .imageSizeMismatch(let eh, let ew, let fh, let fw):
            return "image size mismatch: expected \(eh)x\(ew) (training set), found \(fh)x\(fw) (test set); "
                + "the files come from different data sets"
        case .labelOutOfRange(let index, let value, let classes):
            return "label \(index) is \(value), expected 0...\(classes - 1) (\(classes) classes); "
                + "wrong label file or wrong data set"
        case .gzip(let path, let detail):
            return "\(path): gzip error: \(detail); the compressed file is corrupt or incomplete, fetch it again"
        case .checksumMismatch(let file, let expected, let found):
            return "\(file): SHA-256 of the decompressed data is \(found), expected \(expected); "
                + "the file is corrupt or not the published one, delete it and fetch it again"
        case .download(let url, let detail):
            return "download of \(url) failed: \(detail); nothing was saved, retry or set RNN_DATASET_MIRROR"
        case .notFoundOffline(let dataset, let directory, let hint):
            return "\(dataset) not found in \(directory) and its mirror is unreachable: \(hint)"
        case .missingFiles(let dataset, let directory, let files):
            return "\(dataset) not found in \(directory): missing \(files.joined(separator: ", ")) "
                + "(each as NAME or NAME.gz); put them there, pass --data DIR, or allow the download"
        case .writeFailed(let path, let detail):
            return "\(path): cannot write (\(detail)); check that the directory exists and is writable"
        case .invalidArgument(let detail):
            return "invalid argument: \(detail)"
        case .tar(let path, let detail):
            return "\(path): malformed tar archive: \(detail); the archive is corrupt or incomplete"
        case .npy(let path, let problem):
            return "\(path): .npy: \(problem)"
        case .timeSeries(let path, let line, let problem):
            return line > 0 ? "\(path):\(line): .ts: \(problem)" : "\(path): .ts: \(problem)"
        }
    }
}

private func hex32(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}

private func hex8(_ value: UInt8) -> String {
    let digits = String(value, radix: 16)
    return "0x" + (digits.count < 2 ? "0" : "") + digits
}

/// Names of the IDX element types (the third magic byte), for error messages.
private func idxTypeName(_ code: UInt8) -> String {
    switch code {
    case 0x08: "unsigned byte"
    case 0x09: "signed byte"
    case 0x0B: "short"
    case 0x0C: "int"
    case 0x0D: "float"
    case 0x0E: "double"
    default: "unknown"
    }
}

extension DatasetError {
    /// A failed atomic write (RNNSupport's `AtomicFile`) as ``writeFailed(path:detail:)``: the file
    /// concerned and the system's reason.
    static func writeFailed(_ error: FileWriteError) -> DatasetError {
        .writeFailed(path: error.path, detail: error.reason)
    }
}
