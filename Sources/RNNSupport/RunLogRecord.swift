/// One line of rnn-train's run log (`MODEL.log.jsonl`): an epoch, or the final test evaluation.
///
/// The one definition of the log's lines: rnn-train writes ``jsonLine`` and RNNReport reads lines
/// back with ``init(_:)`` (from ``JSONMembers``), so the member names and the number text live here
/// only, and a line read and written again has the same bytes. A line is one JSON object
/// with its members in a fixed order:
///
/// ```
/// {"epoch":1,"train_loss":0.558,"train_acc":0.825,"val_loss":0.124,"val_acc":0.967,"seconds":8.03,"lr":0.002,"steps":430}
/// {"event":"test","test_loss":0.039,"test_acc":0.9901,"train_seconds":133.26,"output":"models/mnist-lstm.rnnm"}
/// ```
///
/// Reading is tolerant, for logs written by other tools or older versions: camelCase and a few other
/// names are accepted, and an accuracy above 1 is read as a percentage.
package enum RunLogRecord: Equatable, Sendable {
    case epoch(Epoch)
    case test(Test)

    /// One finished epoch. Every measure but the epoch's number is optional: a missing or non-finite
    /// one is written as `null` and read as nil.
    package struct Epoch: Equatable, Sendable {
        /// 1-based.
        package var epoch: Int
        package var trainLoss: Double?
        /// Fraction in 0...1.
        package var trainAccuracy: Double?
        package var validationLoss: Double?
        /// Fraction in 0...1.
        package var validationAccuracy: Double?
        /// Wall-clock seconds the epoch took.
        package var seconds: Double?
        /// The learning rate at the epoch's last step.
        package var learningRate: Double?
        /// Optimizer steps taken so far in the run.
        package var steps: Int?

        package init(epoch: Int, trainLoss: Double? = nil, trainAccuracy: Double? = nil, validationLoss: Double? = nil,
                     validationAccuracy: Double? = nil, seconds: Double? = nil, learningRate: Double? = nil, steps: Int? = nil) {
            self.epoch = epoch
            self.trainLoss = trainLoss
            self.trainAccuracy = trainAccuracy
            self.validationLoss = validationLoss
            self.validationAccuracy = validationAccuracy
            self.seconds = seconds
            self.learningRate = learningRate
            self.steps = steps
        }
    }

    /// The test evaluation at the end of a finished run (`"event":"test"`).
    package struct Test: Equatable, Sendable {
        package var loss: Double?
        /// Fraction in 0...1.
        package var accuracy: Double?
        /// Total training seconds of the run, resumed sessions included.
        package var trainSeconds: Double?
        /// The model file the run wrote.
        package var output: String?

        package init(loss: Double? = nil, accuracy: Double? = nil, trainSeconds: Double? = nil, output: String? = nil) {
            self.loss = loss
            self.accuracy = accuracy
            self.trainSeconds = trainSeconds
            self.output = output
        }
    }

    /// The line's JSON object, without the newline.
    package var jsonLine: String {
        let members: [(String, String)]
        switch self {
        case .epoch(let e):
            members = [("epoch", Self.number(Double(e.epoch))), ("train_loss", Self.number(e.trainLoss)),
                       ("train_acc", Self.number(e.trainAccuracy)), ("val_loss", Self.number(e.validationLoss)),
                       ("val_acc", Self.number(e.validationAccuracy)), ("seconds", Self.number(e.seconds)),
                       ("lr", Self.number(e.learningRate)), ("steps", Self.number(e.steps.map(Double.init)))]
        case .test(let t):
            members = [("event", JSONText.quoted("test")), ("test_loss", Self.number(t.loss)),
                       ("test_acc", Self.number(t.accuracy)), ("train_seconds", Self.number(t.trainSeconds)),
                       ("output", t.output.map(JSONText.quoted) ?? "null")]
        }
        return "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }

    /// A JSON number: integral values below 1e15 without a fraction ("430", "12"), others as
    /// Swift's shortest round-trip text ("0.001993446610867977"); not finite or missing: `null`.
    private static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    /// Reads one line's JSON object; nil for an object that is neither a test line nor has an
    /// `epoch` (such lines are skipped).
    package init?(_ object: JSONMembers) {
        // The first of several accepted names that holds a number; a non-finite one reads as nil.
        func measure(_ names: String...) -> Double? {
            for name in names { if let value = object.number(name) { return value.isFinite ? value : nil } }
            return nil
        }
        func accuracy(_ names: String...) -> Double? {
            for name in names {
                if let value = object.number(name) { return value.isFinite ? (value > 1 ? value / 100 : value) : nil }
            }
            return nil
        }
        if object.string("event") == "test" {
            self = .test(Test(loss: measure("test_loss", "testLoss", "loss"),
                              accuracy: accuracy("test_acc", "testAccuracy", "test_accuracy", "accuracy"),
                              trainSeconds: measure("train_seconds", "trainSeconds"),
                              output: object.string("output")))
            return
        }
        guard let epoch = measure("epoch").flatMap({ Int(exactly: $0.rounded()) }) else { return nil }
        self = .epoch(Epoch(
            epoch: epoch,
            trainLoss: measure("train_loss", "trainLoss", "loss"),
            trainAccuracy: accuracy("train_acc", "trainAccuracy", "train_accuracy", "accuracy"),
            validationLoss: measure("val_loss", "validationLoss", "validation_loss", "valLoss"),
            validationAccuracy: accuracy("val_acc", "validationAccuracy", "validation_accuracy", "valAccuracy"),
            seconds: measure("seconds", "epoch_seconds", "time"),
            learningRate: measure("lr", "learningRate", "learning_rate"),
            steps: measure("steps").flatMap { Int(exactly: $0.rounded()) }))
    }
}
