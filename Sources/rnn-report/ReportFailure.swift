import RNNDatasets
import RNNReport
import RNNRuntime

/// Why `rnn-report` stopped; each case maps to an exit status and one line on standard error.
enum ReportFailure: Error, CustomStringConvertible {
    /// The model file does not exist (checked before loading, so the message can say which option named it).
    case modelMissing(path: String)
    /// The model exists but could not be loaded or run.
    case model(RuntimeError)
    /// The test set could not be located, read or validated.
    case dataset(DatasetError)
    /// The test images do not fit the model's input contract or class count.
    case dataMismatch(String)
    /// `--log FILE` was given but does not exist.
    case logMissing(path: String)
    case log(path: String, ReportError)
    /// `--comparison FILE` was given but does not exist.
    case comparisonMissing(path: String)
    case comparison(path: String, ReportError)
    /// `--imdb-comparison FILE` was given but does not exist.
    case textComparisonMissing(path: String)
    /// `--family FILE` was given but does not exist.
    case familyMissing(path: String)
    case findingsMissing(path: String)
    /// A report file could not be written.
    case output(path: String, detail: String)

    var description: String {
        switch self {
        case .modelMissing(let path):
            return "expected a model file at '\(path)', found nothing (train one with rnn-train, or pass --model FILE)"
        case .model(let error): return error.description
        case .dataset(let error): return error.description
        case .dataMismatch(let detail): return detail
        case .logMissing(let path): return "expected a run log (JSON lines from rnn-train) at '\(path)', found nothing"
        case .log(let path, let error): return "\(path): \(error)"
        case .comparisonMissing(let path):
            return "expected the comparison JSON at '\(path)', found nothing (run bench/.venv/bin/python bench/compare_cnn.py)"
        case .comparison(let path, let error): return "\(path): \(error)"
        case .familyMissing(let path):
            return "expected the recurrent family JSON at '\(path)', found nothing (run bench/family.sh)"
        case .textComparisonMissing(let path):
            return "expected the IMDb comparison JSON (schema rnn-imdb-compare/1) at '\(path)', found nothing "
                + "(see notes/report.md: python3 bench/imdb_bow.py --json FILE plus the LSTM's numbers)"
        case .findingsMissing(let path): return "expected a findings text file at '\(path)', found nothing"
        case .output(let path, let detail): return "cannot write '\(path)': \(detail)"
        }
    }

    /// Exit status, in the style of rnn-infer: 2 model, 3 data, 4 other inputs, 5 output.
    var status: Int32 {
        switch self {
        case .modelMissing, .model: 2
        case .dataset, .dataMismatch: 3
        case .logMissing, .log, .comparisonMissing, .comparison, .textComparisonMissing, .familyMissing, .findingsMissing: 4
        case .output: 5
        }
    }
}
