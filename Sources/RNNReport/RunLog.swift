import Foundation
import RNNSupport

/// One epoch of a training run, as rnn-train logs it: RNNSupport's record type, so that the writer
/// and this reader cannot disagree about a member's name.
///
/// Every measure is optional: the report draws what the log has.
package typealias EpochEntry = RunLogRecord.Epoch

/// A training run's log: the epochs in order and, when the run finished, its test evaluation.
package struct RunLog: Sendable, Equatable {
    package var epochs: [EpochEntry]
    /// Fraction in 0...1, from the final `{"event":"test",...}` line.
    package var testAccuracy: Double?
    package var testLoss: Double?
    /// Total training seconds reported by the trainer.
    package var trainSeconds: Double?

    package init(epochs: [EpochEntry], testAccuracy: Double? = nil, testLoss: Double? = nil, trainSeconds: Double? = nil) {
        self.epochs = epochs
        self.testAccuracy = testAccuracy
        self.testLoss = testLoss
        self.trainSeconds = trainSeconds
    }

    /// Reads rnn-train's JSON-lines log, tolerantly.
    ///
    /// - Each line is read by `RunLogRecord`, which also accepts camelCase names (`trainLoss`,
    ///   `validationAccuracy`) and accuracies given as percentages.
    /// - A resumed run appends to its log, so an epoch may appear twice: the last entry wins.
    /// - Lines without an `epoch` (other than the test line) are ignored; so is an unparsable
    ///   *last* line, which is what an interrupted write leaves behind.
    ///
    /// - Throws: ``ReportError/invalidRunLog(line:detail:)`` for an unparsable line before the last.
    package static func parse(jsonLines text: String) throws(ReportError) -> RunLog {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let lastContentLine = lines.lastIndex { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? -1
        var byEpoch: [Int: EpochEntry] = [:]
        var log = RunLog(epochs: [])
        for (index, line) in lines.enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let object = JSONMembers(parsing: trimmed) else {
                if index == lastContentLine { break }
                throw .invalidRunLog(line: index + 1, detail: "found '\(trimmed.prefix(40))'")
            }
            let record = RunLogRecord(object)
            switch record {
            case .epoch(let entry): byEpoch[entry.epoch] = entry
            case .test(let test):
                log.testAccuracy = test.accuracy
                log.testLoss = test.loss
                log.trainSeconds = test.trainSeconds
            case nil: continue
            }
        }
        log.epochs = byEpoch.keys.sorted().compactMap { byEpoch[$0] }
        return log
    }
}
