import RNNSupport

// The failures of the feature-sequence readers: `.npy` (``NPYArray``), UEA/UCR `.ts` (``TSDataset``)
// and stream lines (``StreamLine``). The two file formats report through ``DatasetError`` (their
// file can also be missing or unreadable), with the path and, for `.ts`, the line; a stream line
// is a string the caller read, so it has its own error, which the caller prefixes with the line
// number. Each description is one line: what was expected, what was found, and what to do where
// there is something to do. Positions, indices and dimensions in messages count from 0 where the
// data is an array (`.npy` flat indices, sequence/step/feature) and from 1 where it is text a
// person reads in an editor (lines, `.ts` dimensions and values, stream-line columns and features).

/// What is wrong with a `.npy` file or with the array it holds (in ``DatasetError/npy(path:_:)``).
///
/// A size that does not match the file is ``DatasetError/truncated(path:expectedBytes:foundBytes:)``,
/// ``DatasetError/trailingData(path:expectedBytes:foundBytes:)`` or, above the caller's cap,
/// ``DatasetError/tooLarge(path:claimedBytes:limit:)``.
public enum NPYProblem: Equatable, Sendable, CustomStringConvertible {
    /// The first six bytes are not `\x93NUMPY`.
    case badMagic(found: [UInt8])
    /// A format version other than 1.0, 2.0 or 3.0.
    case unsupportedVersion(major: UInt8, minor: UInt8)
    /// The header length field exceeds ``NPYArray/maximumHeaderBytes``.
    case headerTooLarge(bytes: Int, limit: Int)
    /// The header is not a Python dict literal: at byte `offset` of the header, `expected` was expected.
    case headerSyntax(offset: Int, expected: String, found: String)
    /// The dict's keys are not exactly `descr`, `fortran_order` and `shape` (`detail` says which).
    case headerKeys(detail: String)
    /// A key holds a value of the wrong kind (`shape` not a tuple of integers, ...).
    case headerValue(key: String, expected: String, found: String)
    /// A `descr` other than `<f4`, `<f8`, `<i4`, `<i8`.
    case unsupportedDType(descr: String)
    /// `fortran_order` is `True`.
    case fortranOrder
    /// Dimension `index` of the shape is negative (`text` as written).
    case negativeDimension(index: Int, text: String)
    /// The shape's element or byte count overflows a 64-bit integer.
    case shapeOverflow(shape: String)
    /// A finite `<f8` value at flat index `index` rounds to infinity as a 32-bit float.
    case valueOverflow(index: Int, value: Double)
    /// The array has the wrong rank for its use (`[N, T, F]` features, `[N]` lengths).
    case wrongShape(expected: String, shape: [Int])
    /// The array has the wrong element type for its use.
    case wrongDType(expected: String, found: String)
    /// A feature value is NaN or infinite (sequence, step and feature count from 0).
    case nonFiniteFeature(sequence: Int, step: Int, feature: Int, value: Float)
    /// A lengths array holds `found` entries for `expected` sequences.
    case lengthCount(expected: Int, found: Int)
    /// Entry `index` of a lengths array is outside `0 ... maximum` (the steps per sequence).
    case lengthOutOfRange(index: Int, value: Int64, maximum: Int)

    public var description: String {
        switch self {
        case .badMagic(let found):
            let zip = found.starts(with: [0x50, 0x4B, 0x03, 0x04])
            return "not a .npy file: expected the magic \\x93NUMPY, found \(excerpt(found))"
                + (zip ? " (a zip archive: an .npz holds .npy files, unzip it)" : "")
        case .unsupportedVersion(let major, let minor):
            return "format version \(major).\(minor) is not supported; expected 1.0, 2.0 or 3.0"
        case .headerTooLarge(let bytes, let limit):
            return "header length \(bytes) bytes exceeds the limit of \(limit); the file is corrupt"
        case .headerSyntax(let offset, let expected, let found):
            return "header is not a Python dict literal: at byte \(offset) of the header expected \(expected), found \(found)"
        case .headerKeys(let detail):
            return "header keys: \(detail); expected exactly 'descr', 'fortran_order' and 'shape'"
        case .headerValue(let key, let expected, let found):
            return "header '\(key)': expected \(expected), found \(found)"
        case .unsupportedDType(let descr):
            return "dtype \(excerpt(Array(descr.utf8))) is not supported: \(dtypeAdvice(descr))"
        case .fortranOrder:
            return "Fortran-order array: save with np.ascontiguousarray"
        case .negativeDimension(let index, let text):
            return "shape dimension \(index) is \(text), expected an integer >= 0"
        case .shapeOverflow(let shape):
            return "shape \(shape) has more elements or bytes than a 64-bit integer can count; the header is corrupt"
        case .valueOverflow(let index, let value):
            return "float64 value \(value) at flat index \(index) \(float32Overflow)"
        case .wrongShape(let expected, let shape):
            return "array of shape \(pythonShape(shape)), expected \(expected)"
        case .wrongDType(let expected, let found):
            return "dtype '\(found)', expected \(expected)"
        case .nonFiniteFeature(let sequence, let step, let feature, let value):
            return "sequence \(sequence), step \(step), feature \(feature) is \(value), expected a finite number"
        case .lengthCount(let expected, let found):
            return "lengths array holds \(found) lengths for \(expected) sequences"
        case .lengthOutOfRange(let index, let value, let maximum):
            return "length \(index) is \(value), expected 0...\(maximum) (the steps of the features array)"
        }
    }
}

/// The advice for a `descr` that ``NPYArray`` does not read.
private func dtypeAdvice(_ descr: String) -> String {
    let order = descr.first
    let kind = descr.dropFirst()
    if order == ">" { return "big-endian; save with arr.astype('<\(kind)')" }
    if order == "=" { return "'=' (native byte order) never appears in a file numpy writes; expected '<\(kind)'" }
    if kind.hasPrefix("O") { return "object arrays hold Python objects, not numbers; convert with arr.astype('<f4')" }
    return "expected '<f4', '<f8', '<i4' or '<i8'; convert with arr.astype('<f4')"
}

/// What is wrong with a line of a UEA/UCR `.ts` file (in ``DatasetError/timeSeries(path:line:_:)``).
///
/// Dimensions and value positions count from 1, as a person counts them in the line.
public enum TSProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is larger than the caller's cap.
    case fileTooLarge(bytes: Int, limit: Int)
    /// A line is longer than the caller's cap.
    case lineTooLong(bytes: Int, limit: Int)
    /// Text that must be UTF-8 (problem name, labels) is not.
    case notUTF8
    /// A line that is neither a comment, a header line nor empty comes before `@data`.
    case dataBeforeHeader(found: String)
    /// A header line after `@data`.
    case headerAfterData(keyword: String)
    /// A header keyword this reader does not know.
    case unknownHeader(keyword: String)
    /// A header keyword given twice.
    case duplicateHeader(keyword: String)
    /// A header keyword with a value of the wrong form.
    case headerValue(keyword: String, expected: String, found: String)
    /// `@timeStamps true`: series with time stamps are not supported.
    case timeStamps
    /// Header lines that contradict each other.
    case conflictingHeaders(detail: String)
    /// The file ends without an `@data` line.
    case missingData
    /// A series has `found` dimensions; `expected` comes from `@dimensions` (`declared`) or the first series.
    case dimensionCount(expected: Int, found: Int, declared: Bool)
    /// A dimension holds no values.
    case emptyDimension(dimension: Int)
    /// A value is not a decimal number.
    case notANumber(dimension: Int, position: Int, found: String)
    /// A value is `?`, a missing value.
    case missingValue(dimension: Int, position: Int)
    /// A value is NaN or infinity.
    case notFinite(dimension: Int, position: Int, found: String)
    /// A value is beyond the range of a 32-bit float.
    case overflow(dimension: Int, position: Int, found: String)
    /// Dimension `dimension` has `length` values, dimension 1 has `expected`.
    case ragged(dimension: Int, length: Int, expected: Int)
    /// A series has `found` steps; `expected` comes from `@seriesLength` (`declared`) or, with
    /// `@equalLength true`, from the first series.
    case seriesLength(expected: Int, found: Int, declared: Bool)
    /// A class label that `@classLabel` does not list (`classes` labels are listed).
    case unknownLabel(label: String, classes: Int)
    /// A regression target that is not a finite decimal number.
    case badTarget(found: String)

    public var description: String {
        switch self {
        case .fileTooLarge(let bytes, let limit):
            return "file of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .lineTooLong(let bytes, let limit):
            return "line of \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .notUTF8:
            return "text is not valid UTF-8"
        case .dataBeforeHeader(let found):
            return "expected a header line (@...), a comment (#) or @data, found \(found): the series follow @data"
        case .headerAfterData(let keyword):
            return "header line @\(keyword) after @data: header lines come before @data"
        case .unknownHeader(let keyword):
            return "unknown header line \(excerpt(Array(("@" + keyword).utf8))); expected @problemName, "
                + "@timeStamps, @missing, @univariate, @dimensions, @equalLength, @seriesLength, @classLabel, "
                + "@targetLabel or @data"
        case .duplicateHeader(let keyword):
            return "@\(keyword) given twice"
        case .headerValue(let keyword, let expected, let found):
            return "@\(keyword): expected \(expected), found \(found)"
        case .timeStamps:
            return "@timeStamps true is not supported: only series of plain values (no time stamps) can be read"
        case .conflictingHeaders(let detail):
            return "conflicting header lines: \(detail)"
        case .missingData:
            return "no @data line: the header must end with @data, followed by one series a line"
        case .dimensionCount(let expected, let found, let declared):
            return "series has \(found) dimension(s), expected \(expected) "
                + (declared ? "(@dimensions)" : "(as the first series)")
                + "; dimensions are separated by ':', the label is the last field"
        case .emptyDimension(let dimension):
            return "dimension \(dimension) is empty, expected at least one value"
        case .notANumber(let dimension, let position, let found):
            return "dimension \(dimension), value \(position): expected a decimal number, found \(found)"
        case .missingValue(let dimension, let position):
            return "dimension \(dimension), value \(position) is '?', a missing value: "
                + "missing values are not supported, fill them in (impute) first"
        case .notFinite(let dimension, let position, let found):
            return "dimension \(dimension), value \(position) is \(found), expected a finite number"
        case .overflow(let dimension, let position, let found):
            return "dimension \(dimension), value \(position) (\(found)) \(float32Overflow)"
        case .ragged(let dimension, let length, let expected):
            return "dimension \(dimension) has \(length) values, dimension 1 has \(expected): "
                + "every dimension of a series must have the same length"
        case .seriesLength(let expected, let found, let declared):
            return "series has \(found) steps, expected \(expected) "
                + (declared ? "(@seriesLength)" : "(@equalLength true, as the first series)")
        case .unknownLabel(let label, let classes):
            return "class label \(excerpt(Array(label.utf8))) is not one of the \(classes) labels of @classLabel"
        case .badTarget(let found):
            return "regression target \(found) is not a finite decimal number"
        }
    }
}

/// What is wrong with one line of a feature stream (``StreamLine/parse(_:features:)``).
///
/// Columns (bytes into the line) and features count from 1.
public enum StreamLineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The line is longer than ``StreamLine/maximumLineBytes``.
    case lineTooLong(bytes: Int, limit: Int)
    /// The line is neither `reset` nor a JSON array of numbers: at byte `column`, `expected` was expected.
    case syntax(column: Int, expected: String, found: String)
    /// Feature `feature` is `NaN` or `Infinity`, which JSON does not have.
    case notFinite(feature: Int, found: String)
    /// Feature `feature` is beyond the range of a 32-bit float.
    case overflow(feature: Int, text: String)
    /// The array is empty: a step needs at least one feature.
    case emptyStep
    /// The step has `found` features, the model takes `expected`.
    case featureCount(expected: Int, found: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let bytes, let limit):
            return "line of at least \(bytes) bytes exceeds the limit of \(limit) bytes"
        case .syntax(let column, let expected, let found):
            return "column \(column): expected \(expected), found \(found); "
                + "a line is 'reset' or a JSON array of numbers such as [0.5, -1, 2e-3]"
        case .notFinite(let feature, let found):
            return "feature \(feature) is \(found): JSON has no NaN or Infinity, send finite numbers"
        case .overflow(let feature, let text):
            return "feature \(feature) (\(text)) \(float32Overflow)"
        case .emptyStep:
            return "empty array: a step needs at least one feature"
        case .featureCount(let expected, let found):
            return "expected \(expected) features, found \(found)"
        }
    }
}

/// Up to 24 bytes of hostile input for a one-line message: quoted, with control characters, quotes,
/// backslashes and everything beyond ASCII escaped JSON style (`\u00e9`), "..." when cut; `nothing`
/// when there are no bytes.
func excerpt(_ bytes: some Collection<UInt8>, nothing: String = "nothing") -> String {
    guard !bytes.isEmpty else { return nothing }
    let text = String(decoding: bytes.prefix(24), as: UTF8.self)
    return "\"" + JSONText.escaped(text, alsoEscaping: { $0.value >= 0x7F }) + "\""
        + (bytes.count > 24 ? "..." : "")
}

/// The end of the three messages for a value beyond `Float`'s range.
private let float32Overflow = "overflows float32 (largest \(Float.greatestFiniteMagnitude))"

/// A shape as Python writes it: `()`, `(3,)`, `(2, 3)`; past 8 dimensions, the first 8 and the count
/// (a hostile header may declare a million).
func pythonShape(_ shape: [Int]) -> String {
    if shape.count == 1 { return "(\(shape[0]),)" }
    let shown = shape.prefix(8).map(String.init).joined(separator: ", ")
    return "(" + shown + (shape.count > 8 ? ", ... \(shape.count) dimensions)" : ")")
}
