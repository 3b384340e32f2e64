/// Why a report input could not be used.
///
/// Every message names what was expected and what was found.
package enum ReportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Two arrays that must be parallel have different lengths.
    case lengthMismatch(what: String, expected: Int, found: Int)
    /// A class index outside `0..<classCount`.
    case classOutOfRange(what: String, index: Int, value: Int, classCount: Int)
    /// A class count that is not positive or is implausibly large.
    case invalidClassCount(Int)
    /// A run-log line that is not a JSON object (line numbers are 1-based).
    case invalidRunLog(line: Int, detail: String)
    /// A comparison file that does not match the `rnn-compare/1` schema of bench/compare_cnn.py.
    case invalidComparison(detail: String)
    /// An IMDb comparison file that does not match the `rnn-imdb-compare/1` schema (``TextComparison``).
    case invalidTextComparison(detail: String)
    /// The recurrent family file (bench/results/family.json) is not usable.
    case invalidFamily(detail: String)

    package var description: String {
        switch self {
        case .lengthMismatch(let what, let expected, let found):
            return "\(what): expected \(expected) entries, found \(found)"
        case .classOutOfRange(let what, let index, let value, let classCount):
            return "\(what)[\(index)]: expected a class index in 0..<\(classCount), found \(value)"
        case .invalidClassCount(let count):
            return "class count: expected 1...65536, found \(count)"
        case .invalidRunLog(let line, let detail):
            return "run log line \(line): expected a JSON object per line, \(detail)"
        case .invalidComparison(let detail):
            return "comparison JSON: \(detail)"
        case .invalidTextComparison(let detail):
            return "IMDb comparison JSON (schema rnn-imdb-compare/1): \(detail)"
        case .invalidFamily(let detail):
            return "recurrent family JSON (bench/results/family.json): \(detail)"
        }
    }
}
