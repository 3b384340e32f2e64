import RNNSupport

/// A UEA/UCR time-series file (`.ts`, the text format of timeseriesclassification.com, as sktime's
/// `load_from_tsfile` reads it): one labelled multivariate series a line.
///
/// ```
/// # comment lines start with '#'
/// @problemName JapaneseVowels
/// @timeStamps false
/// @missing false
/// @univariate false
/// @dimensions 12
/// @equalLength false
/// @classLabel true 1 2 3 4 5 6 7 8 9
/// @data
/// 1.86,1.89,1.94:-0.21,-0.19,-0.24: ... :1
/// ```
///
/// Header lines (keywords matched without regard to case; each at most once, all before `@data`):
/// `@problemName NAME`, `@timeStamps false` (`true` is refused: time stamps are not supported),
/// `@missing true|false` (either is accepted; a `?` value is an error all the same), `@univariate
/// true|false` (`true` requires one dimension), `@dimensions N`, `@equalLength true|false`,
/// `@seriesLength N` (checked with `@equalLength true`), `@classLabel false` or `@classLabel true L1
/// L2 ...` (then the last `:` field of each series is one of those labels), `@targetLabel true|false`
/// (regression: the last field is a decimal target), and `@data`. Unknown keywords are refused.
///
/// Each data line is one series: dimensions separated by `:`, values by `,`, the label last when
/// the header declares one; whitespace (Python's: space, tab, CR, VT, FF) around values, labels and
/// header words is ignored, so lines may end in CRLF. Within a series every dimension has the same
/// length; every series has the same number of dimensions (`@dimensions` when given, else the first
/// series'). Values are decimals as Python's `float()` reads them (`1.`, `.5`, `+2`, `-5.8E-5`),
/// rounded once to the nearest `Float`; `?` (missing), NaN, infinity and values beyond `Float` are
/// errors naming the line, dimension and position. Empty lines and `#` comments are skipped
/// anywhere. Labels are compared by their bytes (no Unicode normalization).
public struct TSDataset: Equatable, Sendable {
    /// `@problemName`, if given.
    public let problemName: String?
    /// The series: `sequences.features` is the number of dimensions F; each series is stored
    /// time-major (`x[t][f]` flat, `T * F` floats), `sequences.lengths` its steps.
    public let sequences: FeatureSequences
    /// One label per series, as written: the class label, or the regression target's text. Empty
    /// when the file has no label column.
    public let labels: [String]
    /// The `@classLabel` list in the header's order (a label's class index is its position here);
    /// empty for `@classLabel false` and regression files.
    public let classLabels: [String]
    /// With `@targetLabel true`, each series' target as the nearest `Double`; else empty.
    public let targets: [Double]

    /// Each series' class index (its label's position in ``classLabels``); empty when the file
    /// has no class labels.
    public var classIndices: [Int] {
        guard !classLabels.isEmpty else { return [] }
        let index = Dictionary(uniqueKeysWithValues: classLabels.enumerated().map { (Array($1.utf8), $0) })
        return labels.map { index[Array($0.utf8)]! }
    }

    /// The default cap on a file's size: 1 GiB.
    public static let defaultMaximumFileBytes = 1 << 30
    /// The default cap on one line: 64 MiB (the longest series of the UEA archive take about 2 MiB).
    public static let defaultMaximumLineBytes = 64 << 20

    /// Reads the `.ts` file at `path` (`"-"` for standard input; gzip-compressed content is
    /// decompressed as it is read).
    public static func read(at path: String, maximumFileBytes: Int = defaultMaximumFileBytes,
                            maximumLineBytes: Int = defaultMaximumLineBytes) throws(DatasetError) -> TSDataset {
        let (source, _, rawSize) = try openDecompressedSource(path: path)
        if let rawSize, rawSize > maximumFileBytes {
            throw .timeSeries(path: source.path, line: 0, .fileTooLarge(bytes: rawSize, limit: maximumFileBytes))
        }
        // One byte past the cap tells a file that is too large from one that fits.
        let bytes = try source.readBytes(maximumFileBytes < Int.max ? maximumFileBytes + 1 : Int.max)
        guard bytes.count <= maximumFileBytes else {
            throw .timeSeries(path: source.path, line: 0, .fileTooLarge(bytes: bytes.count, limit: maximumFileBytes))
        }
        return try parse(bytes, path: source.path, maximumLineBytes: maximumLineBytes)
    }

    /// Parses the bytes of a `.ts` file; `path` is only named in errors.
    public static func parse(_ bytes: [UInt8], path: String = "<memory>",
                             maximumLineBytes: Int = defaultMaximumLineBytes) throws(DatasetError) -> TSDataset {
        var reader = TSReader(path: path)
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            lineNumber += 1
            let newline = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            guard newline - start <= maximumLineBytes else {
                throw .timeSeries(path: path, line: lineNumber, .lineTooLong(bytes: newline - start, limit: maximumLineBytes))
            }
            do throws(TSProblem) {
                try reader.line(bytes, start ..< newline)
            } catch {
                throw .timeSeries(path: path, line: lineNumber, error)
            }
            start = newline + 1
        }
        guard reader.inData else { throw .timeSeries(path: path, line: 0, .missingData) }
        return reader.dataset
    }
}

/// The reader's state, fed one line (without its line end) at a time.
private struct TSReader {
    let path: String
    var inData = false
    var problemName: String?
    var keywordsSeen: Set<String> = []
    var dimensions: Int?
    var dimensionsDeclared = false
    var univariate: Bool?
    var equalLength = false
    var seriesLength: Int?
    var classLabels: [[UInt8]]?
    /// The same labels, for looking them up (a hostile header may list millions).
    var classLabelSet = Set<[UInt8]>()
    var regression = false
    var firstLength: Int?

    var series: [[Float]] = []
    var labels: [String] = []
    var targets: [Double] = []

    init(path: String) { self.path = path }

    var dataset: TSDataset {
        TSDataset(problemName: problemName,
                  sequences: FeatureSequences(uncheckedFeatures: dimensions ?? 1, values: series),
                  labels: labels, classLabels: (classLabels ?? []).map { String(decoding: $0, as: UTF8.self) },
                  targets: targets)
    }

    mutating func line(_ bytes: [UInt8], _ range: Range<Int>) throws(TSProblem) {
        let line = trimmed(bytes, range)
        guard !line.isEmpty, bytes[line.lowerBound] != UInt8(ascii: "#") else { return }
        if bytes[line.lowerBound] == UInt8(ascii: "@") {
            try header(words(bytes, line.lowerBound + 1 ..< line.upperBound))
        } else if inData {
            try dataLine(bytes, line)
        } else {
            throw .dataBeforeHeader(found: excerpt(bytes[line]))
        }
    }

    // MARK: Header

    /// A header line's words (split at whitespace), the keyword first, without its `@`.
    private func words(_ bytes: [UInt8], _ range: Range<Int>) -> [[UInt8]] {
        bytes[range].split(whereSeparator: Self.isSpace).map(Array.init)
    }

    private mutating func header(_ words: [[UInt8]]) throws(TSProblem) {
        let keyword = String(decoding: words.first ?? [], as: UTF8.self)
        let name = keyword.lowercased()
        let known = ["problemname", "timestamps", "missing", "univariate", "dimensions", "equallength",
                     "serieslength", "classlabel", "targetlabel", "data"]
        guard known.contains(name) else { throw .unknownHeader(keyword: keyword) }
        guard !inData else { throw .headerAfterData(keyword: keyword) }
        guard keywordsSeen.insert(name).inserted else { throw .duplicateHeader(keyword: keyword) }
        let values = Array(words.dropFirst())
        func single(_ expected: String) throws(TSProblem) -> [UInt8] {
            guard values.count == 1 else {
                throw .headerValue(keyword: keyword, expected: expected,
                                   found: values.isEmpty ? "nothing" : "\(values.count) words")
            }
            return values[0]
        }
        func boolean() throws(TSProblem) -> Bool {
            let word = try single("true or false")
            switch String(decoding: word, as: UTF8.self).lowercased() {
            case "true": return true
            case "false": return false
            default: throw .headerValue(keyword: keyword, expected: "true or false", found: excerpt(word))
            }
        }
        func count() throws(TSProblem) -> Int {
            let word = try single("a positive integer")
            guard word.allSatisfy(DecimalNumber.isDigit), let value = Int(String(decoding: word, as: UTF8.self)),
                  value > 0 else {
                throw .headerValue(keyword: keyword, expected: "a positive integer", found: excerpt(word))
            }
            return value
        }
        switch name {
        case "problemname":
            guard !values.isEmpty else { throw .headerValue(keyword: keyword, expected: "a name", found: "nothing") }
            guard let text = String(validating: values.joined(separator: [0x20]), as: UTF8.self) else { throw .notUTF8 }
            problemName = text
        case "timestamps":
            if try boolean() { throw .timeStamps }
        case "missing":
            _ = try boolean()
        case "univariate":
            univariate = try boolean()
        case "dimensions":
            dimensions = try count()
            dimensionsDeclared = true
        case "equallength":
            equalLength = try boolean()
        case "serieslength":
            seriesLength = try count()
        case "classlabel":
            guard let flag = values.first else {
                throw .headerValue(keyword: keyword, expected: "true and the labels, or false", found: "nothing")
            }
            switch String(decoding: flag, as: UTF8.self).lowercased() {
            case "true":
                let list = Array(values.dropFirst())
                guard !list.isEmpty else {
                    throw .headerValue(keyword: keyword, expected: "the labels after true", found: "nothing")
                }
                guard list.allSatisfy({ String(validating: $0, as: UTF8.self) != nil }) else { throw .notUTF8 }
                var seen = Set<[UInt8]>()
                if let twice = list.first(where: { !seen.insert($0).inserted }) {
                    throw .headerValue(keyword: keyword, expected: "distinct labels", found: excerpt(twice) + " twice")
                }
                classLabels = list
                classLabelSet = seen
            case "false" where values.count == 1:
                classLabels = nil
            default:
                throw .headerValue(keyword: keyword, expected: "true and the labels, or false",
                                   found: excerpt(Array(values.joined(separator: [0x20]))))
            }
        case "targetlabel":
            regression = try boolean()
        default:  // "data"
            guard values.isEmpty else {
                throw .headerValue(keyword: keyword, expected: "nothing after @data",
                                   found: excerpt(Array(values.joined(separator: [0x20]))))
            }
            try startData()
        }
    }

    /// At `@data`: the header lines must agree with each other.
    private mutating func startData() throws(TSProblem) {
        if classLabels != nil && regression {
            throw .conflictingHeaders(detail: "@classLabel true and @targetLabel true: a file is classification or regression")
        }
        if univariate == true, let dimensions, dimensions != 1 {
            throw .conflictingHeaders(detail: "@univariate true and @dimensions \(dimensions)")
        }
        if univariate == true { dimensions = 1; dimensionsDeclared = true }
        inData = true
    }

    // MARK: Data

    /// One series: its dimensions, then its label when the file has a label column.
    private mutating func dataLine(_ bytes: [UInt8], _ line: Range<Int>) throws(TSProblem) {
        var fields = bytes[line].split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        let labelled = classLabels != nil || regression
        let label = labelled && fields.count > 1 ? fields.removeLast() : nil
        let expected = dimensions ?? fields.count
        guard fields.count == expected, !labelled || label != nil else {
            throw .dimensionCount(expected: expected, found: labelled && label == nil ? 0 : fields.count,
                                  declared: dimensionsDeclared)
        }
        dimensions = expected
        // Dimension-major first (`columns[d * length + t]`): the buffer grows only with values that
        // are really there (each took at least one byte of the line); then transposed to time-major.
        var columns: [Float] = []
        var length = 0
        for (index, field) in fields.enumerated() {
            let found = try parseValues(bytes, field.startIndex ..< field.endIndex, dimension: index + 1, into: &columns)
            if index == 0 {
                length = found
            } else if found != length {
                throw .ragged(dimension: index + 1, length: found, expected: length)
            }
        }
        if equalLength {
            if let required = seriesLength ?? firstLength, length != required {
                throw .seriesLength(expected: required, found: length, declared: seriesLength != nil)
            }
            firstLength = length
        }
        if let label { try addLabel(bytes, trimmed(bytes, label.startIndex ..< label.endIndex)) }
        var values = [Float](repeating: 0, count: columns.count)
        for dimension in 0 ..< expected {
            for step in 0 ..< length { values[step * expected + dimension] = columns[dimension * length + step] }
        }
        series.append(values)
    }

    /// Appends one dimension's comma-separated values to `values`; returns how many there were.
    private func parseValues(_ bytes: [UInt8], _ range: Range<Int>, dimension: Int,
                             into values: inout [Float]) throws(TSProblem) -> Int {
        guard !trimmed(bytes, range).isEmpty else { throw .emptyDimension(dimension: dimension) }
        var start = range.lowerBound
        var position = 1
        while true {
            let comma = bytes[start ..< range.upperBound].firstIndex(of: UInt8(ascii: ",")) ?? range.upperBound
            let field = trimmed(bytes, start ..< comma)
            guard !field.isEmpty, DecimalNumber.end(of: bytes, from: field.lowerBound, grammar: .python) == field.upperBound else {
                throw Self.notANumber(bytes[field], dimension: dimension, position: position)
            }
            guard let value = DecimalNumber.float(bytes, field) else {
                throw .overflow(dimension: dimension, position: position, found: excerpt(bytes[field]))
            }
            values.append(value)
            if comma == range.upperBound { return position }
            start = comma + 1
            position += 1
        }
    }

    /// The error for a value that is not a decimal: `?`, NaN or infinity get their own.
    private static func notANumber(_ text: ArraySlice<UInt8>, dimension: Int, position: Int) -> TSProblem {
        if text.elementsEqual("?".utf8) { return .missingValue(dimension: dimension, position: position) }
        if DecimalNumber.isNonFiniteWord(text) {
            return .notFinite(dimension: dimension, position: position, found: excerpt(text))
        }
        return .notANumber(dimension: dimension, position: position, found: excerpt(text, nothing: "an empty value"))
    }

    private mutating func addLabel(_ bytes: [UInt8], _ range: Range<Int>) throws(TSProblem) {
        let label = Array(bytes[range])
        if regression {
            guard !range.isEmpty, DecimalNumber.end(of: bytes, from: range.lowerBound, grammar: .python) == range.upperBound,
                  let target = DecimalNumber.double(bytes, range) else {
                throw .badTarget(found: excerpt(label, nothing: "an empty target"))
            }
            targets.append(target)
        } else if let classLabels, !classLabelSet.contains(label) {
            throw .unknownLabel(label: String(decoding: label, as: UTF8.self), classes: classLabels.count)
        }
        labels.append(String(decoding: label, as: UTF8.self))
    }

    /// `range` without the whitespace at either end.
    private func trimmed(_ bytes: [UInt8], _ range: Range<Int>) -> Range<Int> {
        var (lower, upper) = (range.lowerBound, range.upperBound)
        while lower < upper, Self.isSpace(bytes[lower]) { lower += 1 }
        while upper > lower, Self.isSpace(bytes[upper - 1]) { upper -= 1 }
        return lower ..< upper
    }

    /// Python's ASCII whitespace, what sktime's `strip()` and `split()` remove: space, tab, LF, VT,
    /// FF, CR. (A line has no LF; a CR left by a CRLF end is stripped with the rest.)
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09 ... 0x0D).contains(byte)
    }
}
