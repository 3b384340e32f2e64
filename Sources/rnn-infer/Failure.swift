import RNNSupport
import CommandLineSupport
import RNNDatasets
import RNNRuntime

/// The exit statuses of `rnn-infer` (documented in the README and in `rnn-infer --help`).
enum ExitStatus: Int32 {
    /// Success.
    case ok = 0
    /// An unexpected internal failure (should not happen; please report it).
    case internalError = 1
    /// The model file is missing, unreadable, corrupted or not runnable.
    case model = 2
    /// The images are unreadable, malformed, truncated or the wrong size for the model.
    case input = 3
    /// The labels file is unreadable or disagrees with the images or the model.
    case labels = 4
    /// Writing the output (standard output or `--misclassified`) failed.
    case output = 5
    // 64: usage error, reported by swift-argument-parser itself (EX_USAGE of sysexits.h).
}

/// A failure with its exit status and one-line message ("rnn-infer: error: <message>").
struct Failure: Error {
    var status: ExitStatus
    var message: String

    static func model(_ error: any Error) -> Failure { Failure(status: .model, message: "\(error)") }
    static func input(_ error: any Error) -> Failure { Failure(status: .input, message: "\(error)") }
    static func labels(_ message: String) -> Failure { Failure(status: .labels, message: message) }
}

/// Writes one diagnostic line to standard error.
func log(_ line: String) {
    writeToStandardError(line + "\n")
}
