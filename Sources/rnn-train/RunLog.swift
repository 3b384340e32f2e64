import RNNSupport
import RNNTraining

/// The JSON-lines run log: one ``RunLogRecord`` per finished epoch, then one for the final test
/// evaluation (RNNSupport defines the lines; rnn-report reads them back with the same type).
/// Lines are flushed as written, so the log of an interrupted run is complete up to the interrupt.
final class RunLog {
    private let file: UnsafeMutablePointer<FILE>
    let path: String

    /// Opens `path`, appending when resuming and truncating otherwise.
    init(path: String, append: Bool) throws(TrainingError) {
        guard let f = fopen(path, append ? "a" : "w") else {
            throw .io(path: path, reason: "cannot open the run log: \(systemErrorText())")
        }
        file = f
        self.path = path
    }

    deinit { fclose(file) }

    /// Appends `record` as one line and flushes it.
    func write(_ record: RunLogRecord) throws(TrainingError) {
        let line = record.jsonLine + "\n"
        let ok = line.utf8CString.withUnsafeBufferPointer { fputs($0.baseAddress!, file) } >= 0 && fflush(file) == 0
        if !ok { throw .io(path: path, reason: "cannot write the run log: \(systemErrorText())") }
    }

    func epoch(_ r: EpochRecord) throws(TrainingError) {
        try write(.epoch(.init(epoch: r.epoch, trainLoss: r.trainLoss, trainAccuracy: r.trainAccuracy,
                               validationLoss: r.validationLoss, validationAccuracy: r.validationAccuracy,
                               seconds: r.seconds, learningRate: r.learningRate, steps: r.steps)))
    }
}
