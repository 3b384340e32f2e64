import ArgumentParser
import RNNDatasets
import RNNFormat
import RNNTraining

let trainerVersionString = trainerVersion

/// The process exit codes (documented in the command's help and the README).
enum ExitStatus {
    static let usage: Int32 = 64          // EX_USAGE: invalid options / hyperparameters
    static let data: Int32 = 65           // EX_DATAERR: data set missing, corrupted, wrong dimensions
    static let input: Int32 = 66          // EX_NOINPUT: checkpoint missing or invalid
    static let diverged: Int32 = 70       // EX_SOFTWARE: loss became NaN / infinite
    static let cannotCreate: Int32 = 73   // EX_CANTCREAT: output directory not writable
    static let io: Int32 = 74             // EX_IOERR: writing the model, checkpoint or log failed
    static let interrupted: Int32 = 130   // 128 + SIGINT
}

/// Prints `message` as `rnn-train: error: ...` on stderr and returns the exit code to throw.
func fail(_ message: String, _ code: Int32) -> ExitCode {
    printError("rnn-train: error: \(message)")
    return ExitCode(code)
}

func statusCode(for error: TrainingError) -> Int32 {
    switch error {
    case .invalidArchitecture, .invalidHyperparameter: ExitStatus.usage
    case .invalidCheckpoint, .invalidState, .unsupportedModel: ExitStatus.input
    case .dataMismatch: ExitStatus.data
    case .io: ExitStatus.io
    case .diverged: ExitStatus.diverged
    }
}
