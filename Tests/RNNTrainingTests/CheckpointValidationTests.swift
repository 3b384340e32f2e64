import Foundation
import RNNDatasets
import RNNFormat
import Testing
@testable import RNNTraining

/// Tampered checkpoints, built here from a real one: every header field is checked at read with a
/// one-line error naming it (spec/CHECKPOINT.md §4), so that a file whose CRC matches is still
/// not trusted. Before these checks, `stepInEpoch` -3 crashed `rnn-train --resume`, `adamStep` -1
/// reported a divergence and `epochSeen` -1 logged "acc 1055.96 %".
@Suite struct CheckpointValidationTests {
    /// A tiny run stopped mid-epoch: epoch 1 (one finished), step 2 of 6, global step 8.
    static let midEpoch: [UInt8] = {
        let trainer = try! Trainer(configuration: tinyConfiguration(), data: syntheticTrainingData())
        var state = TrainingState(configuration: trainer.configuration)
        var steps = 0
        _ = try! trainer.run(&state, shouldStop: { steps += 1; return steps == 9 })  // 8 steps: the 9th call follows epoch 1
        return try! checkpoint(trainer, state).encoded()
    }()

    /// One change to the JSON header: `path` is dot-separated (`history.0.epoch`), `json` a JSON
    /// value or nil to remove the field.
    struct Edit: Sendable {
        var path: String
        var json: String?
    }

    /// A tampered header and the fragment its error must contain.
    struct Tamper: Sendable, CustomTestStringConvertible {
        var edits: [Edit]
        var expected: String
        init(_ path: String, _ json: String?, _ expected: String) { self.init([Edit(path: path, json: json)], expected) }
        init(_ edits: [Edit], _ expected: String) {
            self.edits = edits
            self.expected = expected
        }
        var testDescription: String { edits.map { "\($0.path)=\($0.json ?? "removed")" }.joined(separator: ", ") }

        /// The checkpoint `bytes` with these edits made to its header (CRC valid again).
        func applied(to bytes: [UInt8]) throws -> [UInt8] {
            try tampered(bytes) { header in
                for edit in edits {
                    header = setting(header, edit.path.split(separator: ".").map(String.init)[...],
                                     edit.json.map { try! JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) })
                }
            }
        }
    }

    static let tampers: [Tamper] = [
        // Counters (the issue's cases first).
        Tamper("stepInEpoch", "-3", "stepInEpoch must be at least 0, got -3"),
        Tamper("adamStep", "-1", "adamStep must equal globalStep 8 (one update per step), got -1"),
        Tamper("trainSeconds", "-1e308", "trainSeconds must be finite and at least 0, got -1e+308"),
        Tamper("epochSeen", "-1", "epochSeen must be stepInEpoch × configuration.batchSize = 32, got -1"),
        Tamper("epochCorrect", "33", "epochCorrect must be in 0...32 (epochSeen), got 33"),
        Tamper("epoch", "7", "epoch must be in 0...3 (configuration.epochs), got 7"),
        Tamper("globalStep", "-1", "globalStep must be at least 0, got -1"),
        Tamper([Edit(path: "globalStep", json: "10"), Edit(path: "adamStep", json: "10")],
               "globalStep must be the history's 6 steps plus stepInEpoch 2, got 10"),
        Tamper([Edit(path: "stepInEpoch", json: "9223372036854775807")],
               "globalStep must be the history's 6 steps plus stepInEpoch 9223372036854775807, got 8"),
        Tamper("epochLossSum", "\"NaN\"", "epochLossSum must be finite"),
        Tamper("epochSeconds", "1e9", "epochSeconds must be in 0..."),
        // History.
        Tamper("history", "[]", "history must hold one record per finished epoch (epoch 1), got 0"),
        Tamper("history.0.epoch", "2", "history[0].epoch must be 1, got 2"),
        Tamper("history.0.steps", "0", "history[0].steps must be in 1...8 (what globalStep leaves), got 0"),
        Tamper("history.0.trainAccuracy", "1.5", "history[0].trainAccuracy must be in 0...1, got 1.5"),
        Tamper("history.0.trainLoss", "-2", "history[0].trainLoss must be finite and at least 0, got -2.0"),
        Tamper("history.0.validationLoss", "\"NaN\"", "history[0].validationLoss must be finite and at least 0, got nan"),
        Tamper("history.0.seconds", "-1", "history[0].seconds must be in 0..."),
        Tamper("history.0.learningRate", "\"Infinity\"", "history[0].learningRate must be finite"),
        // The configuration: the command line's rules, named by field, never by option.
        Tamper("configuration.validationCount", "-1", "configuration.validationCount must be at least 0, got -1"),
        Tamper("configuration.batchSize", "0", "configuration.batchSize must be in 1...65536, got 0"),
        Tamper("configuration.learningRate", "\"Infinity\"", "configuration.learningRate must be in (0, 10], got inf"),
        Tamper("configuration.threads", "100000", "configuration.threads must be in 1...256, got 100000"),
        Tamper("configuration.architecture.layerCount", "0", "configuration.architecture.layerCount must be in 1...16, got 0"),
        Tamper("configuration.architecture.hiddenSize", "13", "parameters stored, the architecture needs"),
        Tamper("configuration.maximumSteps", "5", "globalStep must be at most configuration.maximumSteps 5, got 8"),
        Tamper("configuration.schedule", "\"bogus\\nline\"", "configuration.schedule has an invalid value"),
        Tamper("globalStep", nil, "field globalStep is missing"),
        Tamper("configuration.architecture.classCount", nil, "field configuration.architecture.classCount is missing"),
        Tamper("epoch", "1.5", "unreadable header"),
        // What the exported model is made of.
        Tamper("classNames", "[\"a\"]", "classNames must hold configuration.architecture.classCount = 3 names, got 1"),
        Tamper("classNames", "[\"\", \"b\", \"c\"]", "its model cannot be written"),
        Tamper("timeSteps", "0", "timeSteps must be at least 1, got 0"),
        Tamper("timeSteps", "5000", "its model cannot be written"),
        Tamper("datasetName", "\"\"", "datasetName must not be empty"),
        Tamper("datasetSHA256", "{\"x\": \"ZZ\"}", "datasetSHA256[\"x\"] must be 64 lowercase hex digits, got \"ZZ\""),
        Tamper("datasetSHA256", "{\"x\\ny\": \"a\\nb\"}", "must be 64 lowercase hex digits, got \"a\\nb\""),
    ]

    @Test(arguments: tampers)
    func aTamperedHeaderIsRefusedWithOneLineNamingTheField(_ tamper: Tamper) throws {
        expectRefusal(try tamper.applied(to: Self.midEpoch), tamper.expected)
    }

    /// The binary parts: reserved words and the three float arrays, CRC made valid again.
    @Test func tamperedBinaryFieldsAreRefused() throws {
        let bytes = Self.midEpoch
        let jsonCount = Int(readLittleEndian(bytes, 16) as UInt64)
        let count = Int(readLittleEndian(bytes, 24) as UInt64)
        let arrays = 32 + jsonCount
        func patched(_ offset: Int, _ value: UInt32) -> [UInt8] {
            var b = bytes
            var word: [UInt8] = []
            appendLittleEndian(&word, value)
            b.replaceSubrange(offset..<(offset + 4), with: word)
            return withValidCRC(b)
        }
        expectRefusal(patched(12, 1), "reserved field at offset 12 is 0x00000001, expected 0")
        expectRefusal(patched(bytes.count - 4, 7), "reserved field after the checksum is 0x00000007, expected 0")
        expectRefusal(patched(arrays + 4 * 5, Float.nan.bitPattern), "weight 5 is nan; weights are finite")
        expectRefusal(patched(arrays + 4 * (count + 2), Float.infinity.bitPattern), "Adam first moment 2 is inf")
        // A negative second moment would make sqrt(v) NaN on the next step: "training diverged".
        expectRefusal(patched(arrays + 4 * (2 * count + 1), (-1 as Float).bitPattern),
                      "Adam second moment 1 is -1.0; expected finite and >= 0")
    }

    /// What needs the data: the checks `rnn-train --resume` runs once the data set is loaded.
    @Test func countersThatDoNotFitTheDataAreRefusedOnResume() throws {
        let data = syntheticTrainingData()  // 96 training images, batches of 16: 6 steps per epoch
        func refusal(_ edits: [String: Any]) throws -> String? {
            let bytes = try tampered(Self.midEpoch) { header in
                for (path, value) in edits { header = setting(header, path.split(separator: ".").map(String.init)[...], value) }
            }
            let c = try Checkpoint(decoding: bytes, path: "t.ckpt")
            do { try c.validate(against: data, path: "t.ckpt") } catch { return error.description }
            return nil
        }
        #expect(try refusal([:]) == nil)
        // Step 7 of a 6-step epoch: the old trainer sliced past the shuffled order and trapped.
        #expect(try refusal(["stepInEpoch": 7, "epochSeen": 112, "globalStep": 13, "adamStep": 13])?
            .contains("stepInEpoch must be below the 6 steps per epoch, got 7") == true)
        #expect(try refusal(["history.0.steps": 5, "globalStep": 7, "adamStep": 7])?
            .contains("history[0].steps must be the 6 steps per epoch, got 5") == true)
        #expect(try refusal(["timeSteps": 7])?.contains("timeSteps must be the data's image height 6, got 7") == true)
        #expect(try refusal(["classNames": ["top", "middle", "low"]])?
            .contains("classNames[2] must be the data set's \"bottom\", got \"low\"") == true)
        #expect(try refusal(["configuration.epochs": 1, "epoch": 1])?.contains("globalStep must be at most the run's 6 steps, got 8") == true)
    }

    /// The trainer checks any state it is given, not only the reader: step 7 of a 6-step epoch
    /// used to slice past the shuffled order and trap.
    @Test func theTrainerRefusesAStateNoRunReaches() throws {
        let trainer = try Trainer(configuration: tinyConfiguration(), data: syntheticTrainingData())
        var past = TrainingState(configuration: trainer.configuration)
        past.stepInEpoch = 7
        past.globalStep = 7
        past.optimizer.step = 7
        past.epochSeen = 112
        #expect(throws: TrainingError.invalidState("stepInEpoch must be below the 6 steps per epoch, got 7")) {
            try trainer.run(&past)
        }
        var negative = TrainingState(configuration: trainer.configuration)
        negative.stepInEpoch = -3
        #expect(throws: TrainingError.invalidState("stepInEpoch must be at least 0, got -3")) { try trainer.run(&negative) }
        var wrongSize = TrainingState(configuration: trainer.configuration)
        wrongSize.optimizer.firstMoment.removeLast()
        #expect(throws: TrainingError.self) { try trainer.run(&wrongSize) }
    }

    /// A run without validation images records NaN validation figures; JSON has no NaN, so the
    /// checkpoint used to fail to encode after the first epoch (exit 74).
    @Test func aRunWithoutValidationImagesCheckpointsAndReadsBack() throws {
        var data = syntheticTrainingData()
        data.validation = LabeledPixels(pixels: [], labels: [], height: 6, width: 5)
        var c = tinyConfiguration()
        c.validationCount = 0
        c.epochs = 1
        let trainer = try Trainer(configuration: c, data: data)
        var state = TrainingState(configuration: c)
        _ = try trainer.run(&state)
        #expect(state.history.count == 1 && state.history[0].validationLoss.isNaN)
        let bytes = try checkpoint(trainer, state).encoded()
        let decoded = try Checkpoint(decoding: bytes, path: "memory")
        #expect(try decoded.encoded() == bytes)
        #expect(decoded.state.history[0].validationAccuracy.isNaN)
    }

    /// A run with early stopping (patience 3), weight decay and augmentation, stopped mid-epoch after
    /// three finished epochs (20 steps): version 2, with the best epoch's weights and number.
    static let earlyStopping: [UInt8] = {
        var c = tinyConfiguration()
        c.epochs = 4
        c.patience = 3
        c.weightDecay = 0.01
        c.augmentation = .shift
        let trainer = try! Trainer(configuration: c, data: syntheticTrainingData())
        var state = TrainingState(configuration: c)
        var steps = 0
        _ = try! trainer.run(&state, shouldStop: { steps += 1; return steps == 21 })
        return try! checkpoint(trainer, state).encoded()
    }()

    /// Validation accuracies 1.0, 0.5, 0.5 for the three finished epochs of ``earlyStopping``.
    static let accuracies = [Edit(path: "history.0.validationAccuracy", json: "1.0"),
                             Edit(path: "history.1.validationAccuracy", json: "0.5"),
                             Edit(path: "history.2.validationAccuracy", json: "0.5")]

    static let earlyStoppingTampers: [Tamper] = [
        Tamper("configuration.patience", "0", "configuration.patience must be in 1...10000, got 0"),
        Tamper("configuration.patience", "\"3\"", "configuration.patience is not a valid"),
        Tamper([Edit(path: "configuration.validationCount", json: "0")],
               "configuration.patience must be used with validation images (validationCount above 0), got 3 with validationCount 0"),
        Tamper("configuration.weightDecay", "-1", "configuration.weightDecay must be at least 0 and below 1 / learning rate 100.0, got -1.0"),
        Tamper("configuration.weightDecay", "\"NaN\"", "configuration.weightDecay must be at least 0"),
        Tamper("configuration.augmentation", "\"rotate\"", "configuration.augmentation has an invalid value"),
        // Without patience the run keeps no best epoch: the stored best weights are refused.
        Tamper("configuration.patience", nil, "expected 0: the run keeps no best epoch"),
        Tamper("epochsSinceImprovement", "7", "epochsSinceImprovement must be epoch - bestEpoch = 3 - "),
        Tamper("bestEpoch", nil, "bestEpoch and epochsSinceImprovement must both be present or both absent, got none and "),
        Tamper([Edit(path: "bestEpoch", json: "0"), Edit(path: "epochsSinceImprovement", json: "3")],
               "bestEpoch must be in 1...3 (the finished epochs), got 0"),
        Tamper([Edit(path: "bestEpoch", json: "4"), Edit(path: "epochsSinceImprovement", json: "-1")],
               "bestEpoch must be in 1...3 (the finished epochs), got 4"),
        Tamper(accuracies + [Edit(path: "bestEpoch", json: "2"), Edit(path: "epochsSinceImprovement", json: "1")],
               "bestEpoch 2 must have the highest validation accuracy 1.0, got 0.5"),
        Tamper(accuracies + [Edit(path: "bestEpoch", json: "1"), Edit(path: "epochsSinceImprovement", json: "2"),
                             Edit(path: "configuration.patience", json: "1")],
               "epochsSinceImprovement must be at most configuration.patience 1 (the run stops there), got 2"),
    ]

    @Test(arguments: earlyStoppingTampers)
    func aTamperedEarlyStoppingHeaderIsRefusedWithOneLine(_ tamper: Tamper) throws {
        expectRefusal(try tamper.applied(to: Self.earlyStopping), tamper.expected)
    }

    @Test func theEarlyStoppingFixtureReadsBackAndItsBestWeightsAreChecked() throws {
        let read = try Checkpoint(decoding: Self.earlyStopping, path: "t.ckpt")
        #expect(read.version == 2 && read.state.epoch == 3 && read.state.best != nil && read.state.bestEpoch != nil)
        #expect(try read.encoded() == Self.earlyStopping)
        // A NaN among the best epoch's weights (the fourth array).
        let jsonCount = Int(readLittleEndian(Self.earlyStopping, 16) as UInt64)
        let count = Int(readLittleEndian(Self.earlyStopping, 24) as UInt64)
        var bytes = Self.earlyStopping
        let offset = 32 + jsonCount + 4 * (3 * count + 2)
        bytes.replaceSubrange(offset..<(offset + 4), with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Array($0) })
        expectRefusal(withValidCRC(bytes), "best epoch's weight 2 is nan; weights are finite")
        // A run that keeps no best epoch must not claim one.
        let claimed = try tampered(Self.midEpoch) { header in
            header = setting(header, ["bestEpoch"], 1)
            header = setting(header, ["epochsSinceImprovement"], 0)
        }
        expectRefusal(claimed, "bestEpoch and epochsSinceImprovement must be absent without best weights, got 1 and 0")
    }

    /// `rnn-train --resume` on tampered files: exit 66 and one line, before any data is read
    /// (`--data` names a missing directory, which would be exit 65).
    @Test(.enabled(if: rnnTrainExecutable != nil, "rnn-train must be built next to the tests (swift build)"))
    func resumingFromATamperedCheckpointExits66WithOneLine() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, Any, String)] = [("stepInEpoch", -3, "stepInEpoch must be at least 0, got -3"),
                                              ("configuration.validationCount", -5, "configuration.validationCount must be at least 0")]
        for (path, value, expected) in cases {
            let ckpt = dir.appendingPathComponent("t.ckpt").path
            try Data(try tampered(Self.midEpoch) { $0 = setting($0, path.split(separator: ".").map(String.init)[...], value) })
                .write(to: URL(fileURLWithPath: ckpt))
            let result = try runTrain(["--resume", ckpt, "--data", dir.appendingPathComponent("none").path, "--no-download"])
            #expect(result.status == 66, "\(result.stderr)")
            #expect(result.errorLines.count == 1 && result.errorLines[0].contains(expected), "\(result.stderr)")
            #expect(!result.stderr.contains("--validation"))
        }
        // The early-stopping state too.
        let ckpt = dir.appendingPathComponent("e.ckpt").path
        try Data(try tampered(Self.earlyStopping) { $0 = setting($0, ["epochsSinceImprovement"], 9) }).write(to: URL(fileURLWithPath: ckpt))
        let result = try runTrain(["--resume", ckpt, "--data", dir.appendingPathComponent("none").path, "--no-download"])
        #expect(result.status == 66, "\(result.stderr)")
        #expect(result.errorLines.count == 1 && result.errorLines[0].contains("epochsSinceImprovement must be epoch - bestEpoch"), "\(result.stderr)")
    }

    /// The checks that need the data, through the command on real MNIST: a `validationCount`
    /// that leaves no training images used to blame `--validation`, which the user never passed;
    /// a `stepInEpoch` past the epoch's batches used to trap. Both now exit 66 with one line.
    @Test(.enabled(if: rnnTrainExecutable != nil && FileManager.default.fileExists(atPath: mnistDirectory),
                   "needs rnn-train built next to the tests and ../shared/datasets/mnist"))
    func resumingOnDataTheCountersDoNotFitExits66() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A checkpoint of an MNIST-shaped run (28 x 28, 10 classes), claiming the real files.
        var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 2, classCount: 10))
        c.batchSize = 30_000
        c.validationCount = 0
        let state = TrainingState(configuration: c)
        let mnist = Dictionary(uniqueKeysWithValues: ImageDataset.mnist.files.map { ($0.name, $0.sha256) })
        let base = try Checkpoint(configuration: c, state: state, datasetName: "MNIST", datasetSHA256: mnist,
                                  classNames: ImageDataset.mnist.classNames, timeSteps: 28).encoded()
        let cases: [([String: Any], String)] = [
            (["configuration.validationCount": 60_000],
             "configuration.validationCount must be below the 60000 training images of MNIST, got 60000"),
            // Two batches of 30,000 per epoch: step 5 is past them.
            (["stepInEpoch": 5, "globalStep": 5, "adamStep": 5, "epochSeen": 150_000, "epochLossSum": 1, "epochSeconds": 1, "trainSeconds": 1],
             "stepInEpoch must be below the 2 steps per epoch, got 5"),
        ]
        for (edits, expected) in cases {
            let ckpt = dir.appendingPathComponent("t.ckpt").path
            try Data(try tampered(base) { header in
                for (path, value) in edits { header = setting(header, path.split(separator: ".").map(String.init)[...], value) }
            }).write(to: URL(fileURLWithPath: ckpt))
            let result = try runTrain(["--resume", ckpt, "--data", mnistDirectory, "--no-download",
                                       "--output", dir.appendingPathComponent("m.rnnm").path])
            #expect(result.status == 66, "\(result.stderr)")
            #expect(result.errorLines.count == 1 && result.errorLines[0].contains(expected), "\(result.stderr)")
            #expect(!result.stderr.contains("--validation"))
        }
    }

    /// `read` (the image reader unless given) refuses `bytes` with one line containing `expected`.
    func expectRefusal(_ bytes: [UInt8], _ expected: String,
                       read: ([UInt8]) throws(TrainingError) -> Any = { try Checkpoint(decoding: $0, path: "t.ckpt") },
                       sourceLocation: SourceLocation = #_sourceLocation) {
        do throws(TrainingError) {
            _ = try read(bytes)
            Issue.record("accepted; expected \(expected)", sourceLocation: sourceLocation)
        } catch {
            guard case .invalidCheckpoint(path: "t.ckpt", _) = error else {
                Issue.record("wrong error \(error)", sourceLocation: sourceLocation)
                return
            }
            let line = error.description
            #expect(line.contains(expected), "\(line)", sourceLocation: sourceLocation)
            #expect(!line.contains("\n") && !line.contains("--"), "\(line)", sourceLocation: sourceLocation)
        }
    }
}

/// `bytes` (a checkpoint) with its JSON header passed through `mutate`, the sizes and the CRC-32
/// made valid again, so that only the field checks can refuse it.
func tampered(_ bytes: [UInt8], _ mutate: (inout Any) throws -> Void) throws -> [UInt8] {
    let jsonCount = Int(readLittleEndian(bytes, 16) as UInt64)
    var header = try JSONSerialization.jsonObject(with: Data(bytes[32..<(32 + jsonCount)]))
    try mutate(&header)
    let json = Array(try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
    var out = Array(bytes[0..<16])
    appendLittleEndian(&out, UInt64(json.count))
    out += bytes[24..<32] + json + bytes[(32 + jsonCount)...]
    return withValidCRC(out)
}

/// `bytes` with the CRC-32 before the trailing reserved word recomputed.
func withValidCRC(_ bytes: [UInt8]) -> [UInt8] {
    var out = bytes
    var crc: [UInt8] = []
    appendLittleEndian(&crc, Checksum.crc32(out, count: out.count - 8))
    out.replaceSubrange((out.count - 8)..<(out.count - 4), with: crc)
    return out
}

/// `object` with the value at `path` (keys and array indices) replaced, or removed when nil.
func setting(_ object: Any, _ path: ArraySlice<String>, _ value: Any?) -> Any {
    guard let key = path.first else { return value as Any }
    if var array = object as? [Any], let i = Int(key) {
        array[i] = setting(array[i], path.dropFirst(), value)
        return array
    }
    var dictionary = object as! [String: Any]
    if path.count == 1 && value == nil {
        dictionary[key] = nil
    } else {
        dictionary[key] = setting(dictionary[key] as Any, path.dropFirst(), value)
    }
    return dictionary
}

/// A fresh temporary directory.
func scratchDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
