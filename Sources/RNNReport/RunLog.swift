import Foundation

/// One epoch of a training run, as logged by rnn-train (`models/*.log.jsonl`).
///
/// Every measure is optional: the report draws what the log has.
package struct EpochEntry: Sendable, Equatable {
    package var epoch: Int
    package var trainLoss: Double?
    /// Fraction in 0...1.
    package var trainAccuracy: Double?
    package var validationLoss: Double?
    /// Fraction in 0...1.
    package var validationAccuracy: Double?
    /// Wall-clock seconds the epoch took.
    package var seconds: Double?
    package var learningRate: Double?

    package init(epoch: Int, trainLoss: Double? = nil, trainAccuracy: Double? = nil, validationLoss: Double? = nil,
                validationAccuracy: Double? = nil, seconds: Double? = nil, learningRate: Double? = nil) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.seconds = seconds
        self.learningRate = learningRate
    }
}

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
    /// - Accepts snake_case (`train_loss`, `val_acc`) and camelCase (`trainLoss`, `validationAccuracy`)
    ///   names, and accuracies given as percentages (any value above 1 is divided by 100).
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
            let object: [String: Any]
            if let data = trimmed.data(using: .utf8),
               let parsed = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                object = parsed
            } else {
                if index == lastContentLine { break }
                throw .invalidRunLog(line: index + 1, detail: "found '\(trimmed.prefix(40))'")
            }
            let fields = Fields(object)
            if let event = object["event"] as? String, event == "test" {
                log.testAccuracy = fields.accuracy("test_acc", "testAccuracy", "test_accuracy", "accuracy")
                log.testLoss = fields.number("test_loss", "testLoss", "loss")
                log.trainSeconds = fields.number("train_seconds", "trainSeconds")
                continue
            }
            guard let epoch = fields.number("epoch").flatMap({ $0.isFinite ? Int(exactly: $0.rounded()) : nil }) else { continue }
            byEpoch[epoch] = EpochEntry(
                epoch: epoch,
                trainLoss: fields.number("train_loss", "trainLoss", "loss"),
                trainAccuracy: fields.accuracy("train_acc", "trainAccuracy", "train_accuracy", "accuracy"),
                validationLoss: fields.number("val_loss", "validationLoss", "validation_loss", "valLoss"),
                validationAccuracy: fields.accuracy("val_acc", "validationAccuracy", "validation_accuracy", "valAccuracy"),
                seconds: fields.number("seconds", "epoch_seconds", "time"),
                learningRate: fields.number("lr", "learningRate", "learning_rate"))
        }
        log.epochs = byEpoch.keys.sorted().compactMap { byEpoch[$0] }
        return log
    }
}

/// Looks up the first of several alternative names in a decoded JSON object.
private struct Fields {
    let object: [String: Any]
    init(_ object: [String: Any]) { self.object = object }

    func number(_ names: String...) -> Double? {
        for name in names {
            // JSONSerialization yields NSNumber; `null` (a non-finite value in rnn-train's log) is NSNull.
            if let value = object[name] as? NSNumber {
                let double = value.doubleValue
                return double.isFinite ? double : nil
            }
        }
        return nil
    }

    func accuracy(_ names: String...) -> Double? {
        for name in names {
            if let value = object[name] as? NSNumber {
                let double = value.doubleValue
                guard double.isFinite else { return nil }
                return double > 1 ? double / 100 : double
            }
        }
        return nil
    }
}
