import Foundation
import RNNCore
@testable import RNNDatasets
import RNNFormat
import RNNRuntime
import Testing
@testable import RNNTraining

/// The text run through the shared loop: it learns, checkpoints after every epoch, resumes bit for
/// bit (dropout masks, shuffling and the best epoch included), and its checkpoints are read as
/// hostile input like the image ones.
@Suite struct TextTrainingTests {
    /// A trainer and the state after `steps` steps (nil: the whole run), with BLAS on one thread as
    /// the command line runs it.
    static func run(_ configuration: TextTrainingConfiguration, stopAfter steps: Int? = nil,
                    kernel: KernelISA = .detected) throws -> (TextTrainer, TextTrainingState, TextTrainingData) {
        BLASThreads.set(1)
        var c = configuration
        let data = try syntheticTextData(&c)
        let trainer = try TextTrainer(configuration: c, data: data, kernel: kernel)
        var state = TextTrainingState(configuration: c, classCount: 2)
        var done = 0
        _ = try trainer.run(&state, shouldStop: { done += 1; return done == steps })
        return (trainer, state, data)
    }

    @Test func aShortSeededTextRunLearnsASeparableTaskAndExportsAValidFile() throws {
        var c = tinyTextConfiguration()
        c.epochs = 8
        c.validationCount = 0
        c.embeddingDropout = 0
        c.hiddenDropout = 0
        let (trainer, state, data) = try Self.run(c)
        #expect(state.best == nil && state.history.allSatisfy { $0.validationAccuracy.isNaN })
        let test = trainer.evaluate(state.result, on: data.test)
        #expect(test.accuracy > 0.9, "held-out accuracy \(test.accuracy)")
        // The export is a valid format-1.1 file that records no validation it did not measure.
        let file = TextCheckpoint(configuration: trainer.configuration, state: state, data: data).modelFile(metrics: ["test_accuracy": test.accuracy])
        let bytes = try ModelWriter.encode(file)
        #expect(bytes[14] == 1 && bytes[10] == 1)
        #expect(try ModelReader.decode(bytes) == file)
        #expect(file.metadata.provenance.metrics["validation_accuracy"] == nil && file.metadata.provenance.metrics["test_accuracy"] == test.accuracy)
    }

    /// With validation reviews the run ends with its best validation epoch's weights (the highest
    /// accuracy, ties broken by the lower loss, then the earlier epoch), and the export carries that
    /// epoch's validation figures.
    @Test func aRunWithValidationEndsWithItsBestEpoch() throws {
        var c = tinyTextConfiguration()
        c.epochs = 6
        let (trainer, state, data) = try Self.run(c)
        let h = state.history
        let best = h.indices.reduce(0) { h[$1].validationAccuracy > h[$0].validationAccuracy
            || (h[$1].validationAccuracy == h[$0].validationAccuracy && h[$1].validationLoss < h[$0].validationLoss) ? $1 : $0 }
        #expect(state.best != nil && state.resultRecord == state.history[best] && state.bestEpoch == best + 1)
        // The kept weights are the best epoch's: evaluating them reproduces that epoch's record.
        let again = trainer.task.validate(state.result)
        #expect(again.accuracy == state.history[best].validationAccuracy && again.loss == state.history[best].validationLoss)
        let metrics = TextCheckpoint(configuration: trainer.configuration, state: state, data: data).modelFile().metadata.provenance.metrics
        #expect(metrics["validation_accuracy"] == state.history[best].validationAccuracy)
    }

    /// A checkpoint after every epoch; interrupted mid-epoch and at an epoch's end, each time through
    /// a file, the run ends with the same weights, moments, best epoch and records as without.
    @Test func resumingATextRunFromItsCheckpointsGivesTheSameWeights() throws {
        let c = tinyTextConfiguration()
        let (straight, uninterrupted, data) = try Self.run(c)
        let configuration = straight.configuration
        var written = 0
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-text-\(getpid()).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var state = TextTrainingState(configuration: configuration, classCount: 2)
        // 13 steps per epoch (200 reviews in batches of 16): stop at step 17 (mid-epoch 2), then at 26 (its end).
        for stopAt in [17, 26] {
            let trainer = try TextTrainer(configuration: configuration, data: data)
            var steps = state.globalStep
            let outcome = try trainer.run(&state, shouldStop: { steps += 1; return steps >= stopAt },
                                          checkpoint: { _ in written += 1 })
            #expect(outcome == .interrupted)
            try TextCheckpoint(configuration: configuration, state: state, data: data).write(to: path)
            let read = try TextCheckpoint.read(from: path)
            try read.validate(against: data, path: path)
            state = read.state
        }
        #expect(written == 2 && state.epoch == 2 && state.best != nil)
        let resumed = try TextTrainer(configuration: configuration, data: data)
        #expect(try resumed.run(&state, checkpoint: { _ in written += 1 }) == .finished)
        #expect(written == 3)
        #expect(state.parameters.values.map(\.bitPattern) == uninterrupted.parameters.values.map(\.bitPattern))
        #expect(state.result.values.map(\.bitPattern) == uninterrupted.result.values.map(\.bitPattern))
        #expect(state.optimizer == uninterrupted.optimizer)
        #expect(state.history.map(\.trainLoss) == uninterrupted.history.map(\.trainLoss))
        #expect(state.history.map(\.validationAccuracy) == uninterrupted.history.map(\.validationAccuracy))
    }

    @Test func aTextCheckpointIsVersionTwoAndRoundTripsExactly() throws {
        let (trainer, state, data) = try Self.run(tinyTextConfiguration(), stopAfter: 17)
        let checkpoint = TextCheckpoint(configuration: trainer.configuration, state: state, data: data)
        let bytes = try checkpoint.encoded()
        #expect(readLittleEndian(bytes, 8) as UInt32 == 2)
        let decoded = try TextCheckpoint(decoding: bytes, path: "memory")
        #expect(decoded == checkpoint)
        #expect(try decoded.encoded() == bytes)
        #expect(try AnyCheckpoint(decoding: bytes, path: "memory") == .text(checkpoint))
        // Each reader refuses the other kind with one line.
        #expect(throws: TrainingError.invalidCheckpoint(path: "m", reason: "a checkpoint of a text run, not of an image run")) {
            try Checkpoint(decoding: bytes, path: "m")
        }
    }

    @Test func aCheckpointOfTheFirstTextTrainerReadsAsTheSameNetworkWithAZeroSecondBias() throws {
        // The first text trainer's LSTM had one bias: its checkpoints are this layout without b_hh.
        let (trainer, trained, data) = try Self.run(tinyTextConfiguration(), stopAfter: 17)
        let biasHH = trainer.architecture.layout.recurrent[0][0].biasHH
        var state = trained
        func zero(_ values: inout [Float]) { for k in biasHH.range { values[k] = 0 } }
        zero(&state.parameters.values); zero(&state.optimizer.firstMoment); zero(&state.optimizer.secondMoment)
        if state.best != nil { zero(&state.best!.values) }
        let checkpoint = TextCheckpoint(configuration: trainer.configuration, state: state, data: data)
        let contents = try CheckpointFile.decode(try checkpoint.encoded(), path: "memory")
        func old(dropping n: Int) -> [UInt8] {
            CheckpointFile.encode(version: 2, json: Array(contents.json), arrays: contents.arrays.map { a in
                Array(a[..<biasHH.offset]) + Array(a[(biasHH.offset + n)...])
            })
        }
        #expect(try TextCheckpoint(decoding: old(dropping: biasHH.count), path: "old") == checkpoint)
        // Any other count is refused in one line naming both numbers.
        let short = trainer.architecture.layout.count - biasHH.count + 1
        #expect(throws: TrainingError.invalidCheckpoint(path: "old", reason: "\(short) parameters stored, the configuration and classNames need \(trainer.architecture.layout.count)")) {
            try TextCheckpoint(decoding: old(dropping: biasHH.count - 1), path: "old")
        }
    }

    @Test func anEpochIsAPermutationInBatchesOfSimilarLengthDrawnFromTheSeedAndEpoch() throws {
        var c = tinyTextConfiguration()
        c.batchSize = 7  // 200 reviews: 28 full batches and a partial one of 4
        let data = try syntheticTextData(&c)
        let trainer = try TextTrainer(configuration: c, data: data)
        let n = data.train.count, size = c.batchSize
        func lengths(_ batch: ArraySlice<Int>) -> [Int] { batch.map { data.train.sequences[$0].count } }
        let orders = (0..<3).map { trainer.task.order(epoch: $0) }
        for order in orders {
            #expect(order.sorted() == Array(0..<n))
            // Every batch runs longest first (sorted within its bucket of 32 batches).
            for start in stride(from: 0, to: n, by: size) {
                let l = lengths(order[start..<min(n, start + size)])
                #expect(l == l.sorted(by: >))
            }
        }
        #expect(orders[0] != orders[1] && orders[1] != orders[2])
        // A function of the seed and the epoch alone: asked again, out of order, the same.
        #expect(trainer.task.order(epoch: 1) == orders[1] && trainer.task.order(epoch: 0) == orders[0])
        let again = try TextTrainer(configuration: c, data: data)
        #expect(again.task.order(epoch: 2) == orders[2])
        // Bucketing pays: fewer padded steps than the same reviews in the shuffled order alone.
        func steps(_ order: [Int]) -> Int {
            stride(from: 0, to: n, by: size).map { lengths(order[$0..<min(n, $0 + size)]).max()! * min(size, n - $0) }.reduce(0, +)
        }
        var shuffled = Array(0..<n)
        var rng = Xoshiro256StarStar(seed: 3)
        rng.shuffle(&shuffled)
        #expect(steps(orders[0]) < steps(shuffled))
    }

    /// A text checkpoint stopped mid-epoch 2 (13 steps per epoch, one finished; the best epoch kept).
    static let midEpoch: [UInt8] = {
        let (trainer, state, data) = try! run(tinyTextConfiguration(), stopAfter: 17)
        return try! TextCheckpoint(configuration: trainer.configuration, state: state, data: data).encoded()
    }()

    /// The reader `rnn-train --resume` uses, for either kind.
    static func readAny(_ bytes: [UInt8]) throws(TrainingError) -> Any {
        try AnyCheckpoint(decoding: bytes, path: "t.ckpt")
    }

    static let tampers: [CheckpointValidationTests.Tamper] = [
        .init("kind", "\"sound\"", "kind must be \"image\", \"text\", \"sequence\" or \"cnn\", got \"sound\""),
        .init("tokenizer", "\"chars-v1\"", "tokenizer must be \"words-v1\" (the one this trainer trains with), got \"chars-v1\""),
        .init("truncation", "\"end\"", "truncation must be \"start\" (the one this trainer trains with), got \"end\""),
        .init("vocabulary", nil, "field vocabulary is missing"),
        .init("vocabulary", "[\"good\"]", "vocabulary must hold configuration.vocabularyWords = 32 words, got 1"),
        .init("vocabulary.0", "\"two words\"", "its model cannot be written"),
        .init("configuration.embeddingDropout", "1", "configuration.embeddingDropout must be in [0, 1), got 1.0"),
        .init("configuration.subset", "0", "configuration.subset must be at least 1, got 0"),
        .init("configuration.maxLength", "0", "configuration.maxLength must be in 1...65536, got 0"),
        .init("configuration.hiddenSize", "9", "parameters stored, the configuration and classNames need"),
        .init("configuration.validationCount", "0", "expected 0: the run keeps no best epoch"),
        .init("configuration.clipNorm", nil, "field configuration.clipNorm is missing"),
        // The network's members (optional; absent is the original LSTM).
        .init("configuration.layerCount", "17", "configuration.layerCount must be in 1...16, got 17"),
        .init("configuration.layerDropout", "1", "configuration.layerDropout must be in [0, 1), got 1.0"),
        .init("configuration.weightDecay", "-1", "configuration.weightDecay must be finite and at least 0, got -1.0"),
        .init("configuration.cell", "\"rnn\"", "unreadable header"),
        .init("configuration.bidirectional", "true", "parameters stored, the configuration and classNames need"),
        .init("classNames", "[\"only\"]", "classNames must hold 2...65536 class names, got 1"),
        .init("stepInEpoch", "-3", "stepInEpoch must be at least 0, got -3"),
        .init("datasetSHA256", "{\"x\": \"ZZ\"}", "datasetSHA256[\"x\"] must be 64 lowercase hex digits, got \"ZZ\""),
    ]

    @Test(arguments: tampers)
    func aTamperedTextHeaderIsRefusedWithOneLineNamingTheField(_ tamper: CheckpointValidationTests.Tamper) throws {
        let bytes = try tampered(Self.midEpoch) { header in
            for edit in tamper.edits {
                header = setting(header, edit.path.split(separator: ".").map(String.init)[...],
                                 edit.json.map { try! JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) })
            }
        }
        CheckpointValidationTests().expectRefusal(bytes, tamper.expected, read: Self.readAny)
    }

    /// The binary parts a text checkpoint adds: the version (the best epoch's weights need the fourth
    /// array), and the fourth array itself.
    @Test func tamperedBestWeightsAndVersionAreRefused() throws {
        let bytes = Self.midEpoch
        let jsonCount = Int(readLittleEndian(bytes, 16) as UInt64)
        let count = Int(readLittleEndian(bytes, 24) as UInt64)
        let best = 32 + jsonCount + 3 * 4 * count
        func patched(_ offset: Int, _ value: UInt32) -> [UInt8] {
            var b = bytes
            var word: [UInt8] = []
            appendLittleEndian(&word, value)
            b.replaceSubrange(offset..<(offset + 4), with: word)
            return withValidCRC(b)
        }
        let refusal = CheckpointValidationTests()
        refusal.expectRefusal(patched(best + 4 * 3, Float.nan.bitPattern), "best epoch's weight 3 is nan; weights are finite",
                              read: Self.readAny)
        refusal.expectRefusal(patched(8, 3), "version 3, this trainer reads versions 1 and 2", read: Self.readAny)
        // Version 1 (three arrays): the file's size no longer matches, then, sized to fit, the kind.
        refusal.expectRefusal(patched(8, 1), "header says", read: Self.readAny)
        var three = Array(bytes[..<best]) + bytes[(best + 4 * count)...]
        three.replaceSubrange(8..<12, with: [1, 0, 0, 0])
        refusal.expectRefusal(withValidCRC(three), "kind \"text\" needs version 2", read: Self.readAny)
        // Before the first epoch ends there is no best epoch: its array must be zero.
        let (trainer, state, data) = try Self.run(tinyTextConfiguration(), stopAfter: 3)
        let early = try TextCheckpoint(configuration: trainer.configuration, state: state, data: data).encoded()
        let earlyJSON = Int(readLittleEndian(early, 16) as UInt64)
        var nonzero = early
        nonzero[32 + earlyJSON + 3 * 4 * count + 1] = 1
        refusal.expectRefusal(withValidCRC(nonzero), "best epoch's weight 0 is", read: Self.readAny)
    }

    /// What needs the data: a resumed run rebuilds the vocabulary and the splits and checks them.
    @Test func aTextCheckpointIsCheckedAgainstItsData() throws {
        let checkpoint = try TextCheckpoint(decoding: Self.midEpoch, path: "t.ckpt")
        let splits = syntheticTextSplits()
        let data = try checkpoint.trainingData(from: splits, sha256: checkpoint.datasetSHA256, path: "t.ckpt")
        #expect(data.train.count == 200 && data.validation.count == 40 && data.tokens.vocabulary == checkpoint.vocabulary)
        #expect(throws: TrainingError.self) { try checkpoint.trainingData(from: splits, sha256: [:], path: "t.ckpt") }
        func refusal(_ change: (inout TextCheckpoint) -> Void) -> String? {
            var edited = checkpoint
            change(&edited)
            do { _ = try edited.trainingData(from: splits, sha256: edited.datasetSHA256, path: "t.ckpt") } catch { return error.description }
            return nil
        }
        #expect(refusal { $0.vocabulary.swapAt(0, 1) }?.contains("vocabulary[0] must be the training reviews'") == true)
        #expect(refusal { $0.configuration.subset = 201 }?
            .contains("configuration.subset must be at most the 200 training reviews configuration.validationCount 40 leaves, got 201") == true)
        #expect(refusal { $0.configuration.validationCount = 240 }?.contains("configuration.validationCount must be below the 240 training reviews") == true)
        #expect(refusal { $0.classNames = ["neg", "pos"] }?.contains("classNames[0] must be the data set's \"negative\"") == true)
        // Another subset is other reviews: their vocabulary (and epochs) differ from the checkpoint's.
        let subset = refusal { $0.configuration.subset = 100 }
        #expect(subset?.contains("vocabulary") == true, "\(subset ?? "accepted")")
    }

    /// `--subset N` trains on N reviews for every N validation leaves room for; the validation
    /// reviews never come out of them, and the test set is cut to N (both classes).
    @Test func theSubsetRuleForText() throws {
        var c = tinyTextConfiguration()
        c.subset = 50
        let data = try syntheticTextData(&c)
        #expect(data.train.count == 50 && data.validation.count == 40 && data.test.count == 50)
        #expect(Set(data.test.labels) == [0, 1] && Set(data.train.labels) == [0, 1])
        c.subset = 200
        #expect(try syntheticTextData(&c).train.count == 200)
        c.subset = 201
        #expect(throws: TrainingError.invalidHyperparameter("--subset must be at most the 200 training reviews --validation 40 leaves, got 201")) {
            try syntheticTextData(&c)
        }
        c.subset = nil
        c.validationCount = 240
        #expect(throws: TrainingError.invalidHyperparameter("--validation must be below the 240 training reviews, got 240")) {
            try syntheticTextData(&c)
        }
        // The reviews trained on and the validation reviews are different reviews.
        c.validationCount = 40
        c.subset = 150
        let split = try syntheticTextData(&c)
        let trainTexts = Set(split.train.sequences), validationTexts = Set(split.validation.sequences)
        #expect(trainTexts.count > 100 && validationTexts.count > 30)
    }

    /// The image rule is the same: N images trained on, the last `validationCount` held out on top.
    @Test func theSubsetRuleForImages() throws {
        let pixels = syntheticData(count: 50, seed: 3), test = syntheticData(count: 20, seed: 4)
        func labeled(_ p: LabeledPixels) throws -> LabeledImages {
            try LabeledImages(images: ImageSet(count: p.count, height: p.height, width: p.width, pixels: p.pixels),
                              labels: p.labels.map(UInt8.init))
        }
        let splits = DatasetSplits(dataset: .mnist, train: try labeled(pixels), test: try labeled(test), sha256: [:], directory: "")
        let data = try TrainingData(splits, validationCount: 10, subset: 15)
        #expect(data.train.count == 15 && data.validation.count == 10 && data.test.count == 15)
        #expect(data.train.pixels == Array(pixels.pixels.prefix(15 * 30)) && data.validation.labels == Array(pixels.labels.suffix(10)))
        #expect(try TrainingData(splits, validationCount: 10, subset: 40).train.count == 40)
        #expect(throws: TrainingError.invalidHyperparameter("--subset must be at most the 40 training images --validation 10 leaves, got 41")) {
            try TrainingData(splits, validationCount: 10, subset: 41)
        }
        #expect(try TrainingData(splits, validationCount: 10).train.count == 40)
        // An image checkpoint with a subset is version 2 (1.0 would ignore the subset), and reads back.
        var c = tinyConfiguration()
        c.subset = 15
        let checkpoint = Checkpoint(configuration: c, state: TrainingState(configuration: c), datasetName: "x",
                                    datasetSHA256: [:], classNames: ["a", "b", "c"], timeSteps: 6)
        let bytes = try checkpoint.encoded()
        #expect(readLittleEndian(bytes, 8) as UInt32 == 2)
        #expect(try Checkpoint(decoding: bytes, path: "m") == checkpoint)
    }

    /// The kernel is an argument of the trainers: the portable path and every fused variant this CPU
    /// has give the same gradient within the tolerance of the engine tests (`float32AndFloat64GradientsAgree`).
    @Test func theKernelOptionReachesTheEnginesAndEveryVariantAgreesWithThePortablePath() throws {
        var c = tinyTextConfiguration()
        c.hiddenSize = 16
        let data = try syntheticTextData(&c)
        var image = tinyConfiguration()
        image.architecture.hiddenSize = 16
        func gradients(_ kernel: KernelISA) throws -> (text: [Float], image: [Float]) {
            let text = try TextTrainer(configuration: c, data: data, kernel: kernel)
            #expect(text.task.kernel == kernel)
            var g = [Float](repeating: 0, count: text.architecture.layout.count)
            _ = text.task.lossAndGradient(TextTrainingState(configuration: c, classCount: 2).parameters, indices: Array(0..<16)[...],
                                          step: 0, gradient: &g)
            let images = try Trainer(configuration: image, data: syntheticTrainingData(), kernel: kernel)
            #expect(images.task.engine.kernel == kernel)
            var h = [Float](repeating: 0, count: image.architecture.layout.count)
            _ = images.task.lossAndGradient(TrainingState(configuration: image).parameters, indices: Array(0..<16)[...], step: 0, gradient: &h)
            return (g, h)
        }
        let portable = try gradients(.none)
        for kernel in KernelISA.supported where kernel != .none {
            let fused = try gradients(kernel)
            for (a, b) in [(portable.text, fused.text), (portable.image, fused.image)] {
                let scale = a.map(abs).max()!, worst = zip(a, b).map { abs($0 - $1) }.max()!
                #expect(scale > 0 && worst <= 1e-4 * scale, "kernel \(kernel): |fused - portable| \(worst), scale \(scale)")
            }
        }
    }

    /// A batch smaller than the worker count times its share used to give the last workers an
    /// inverted range (5 reviews on 4 threads: 6..<5) and trap.
    @Test func moreThreadsThanABatchCanShareDoNotTrap() throws {
        var c = tinyTextConfiguration(threads: 4)
        c.batchSize = 5
        c.epochs = 1
        c.maximumSteps = 3
        let (_, state, _) = try Self.run(c)
        #expect(state.globalStep == 3)
    }
}

/// `rnn-train --dataset imdb` end to end, on synthetic reviews in IMDb's layout: what an MNIST run
/// gets (a checkpoint after every epoch, the run log, Ctrl-C, `--resume`, `export`), the subset rule.
@Suite(.enabled(if: rnnTrainExecutable != nil, "rnn-train must be built next to the tests (swift build)"))
struct TextCommandTests {
    static let options = ["--dataset", "imdb", "--vocab-size", "40", "--embedding-size", "8", "--hidden-size", "8",
                          "--max-length", "20", "--batch-size", "16", "--lr", "0.02", "--validation", "40", "--threads", "2"]
    static let reproducible: [String: String?] = ["SOURCE_DATE_EPOCH": "1700000000", "RNN_TRAIN_KERNEL": nil]

    @Test func theCommandLineTrainsAStackedBidirectionalGRUWithPoolingAndDropoutOnText() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeIMDbDirectory(syntheticTextSplits(), to: dir)
        let out = dir.appendingPathComponent("g.rnnm").path
        let run = try runTrain(Self.options + ["--data", dir.path, "--epochs", "2", "--cell", "gru", "--bidirectional",
                                               "--layers", "2", "--pool", "max", "--dropout", "0.2", "--input-dropout", "0.1",
                                               "--weight-decay", "0.01", "--output", out], environment: Self.reproducible)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("gru bidirectional H=8 layers=2 pool=max"), "\(run.stderr)")
        let file = try ModelReader.read(contentsOf: out)
        guard file.metadata.layers.count == 5, case .embedding = file.metadata.layers[0], case .gru(let first) = file.metadata.layers[1],
              case .gru(let second) = file.metadata.layers[2], case .pool(let pool) = file.metadata.layers[3] else {
            Issue.record("expected embedding, gru, gru, pool, dense: \(file.metadata.layers)"); return
        }
        #expect(first.reverse != nil && first.inputSize == 8 && second.inputSize == 16 && pool.mode == .max && pool.size == 16)
        let hyper = file.metadata.provenance.hyperparameters
        #expect(hyper["cell"] == .string("gru") && hyper["pooling"] == .string("max") && hyper["layers"] == .number(2)
                && hyper["embedding_dropout"] == .number(0.1) && hyper["dropout"] == .number(0.2) && hyper["optimizer"] == .string("adamw"))
        _ = try Model(file)
        // The two names of the embedding dropout are one option: both at once is a usage error.
        let both = try runTrain(Self.options + ["--data", dir.path, "--input-dropout", "0.1", "--embedding-dropout", "0.2"])
        #expect(both.status == 64 && both.errorLines.count == 1 && both.errorLines[0].contains("--input-dropout"), "\(both.stderr)")
    }

    @Test func aTextRunCheckpointsEveryEpochStopsOnCtrlCAndResumesToTheSameModel() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeIMDbDirectory(syntheticTextSplits(), to: dir)
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let epochs = 60
        let arguments = Self.options + ["--data", dir.path, "--epochs", "\(epochs)"]

        // Uninterrupted: one log line per epoch and one for the test, the last epoch's checkpoint.
        let straight = try runTrain(arguments + ["--output", path("a.rnnm")], environment: Self.reproducible)
        #expect(straight.status == 0, "\(straight.stderr)")
        #expect(straight.stderr.contains("200 train, 40 validation, 80 test reviews"), "\(straight.stderr)")
        let log = try String(contentsOfFile: path("a.log.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(log.count == epochs + 1 && log.last!.contains("\"event\":\"test\""))
        let finished = try TextCheckpoint.read(from: path("a.ckpt"))
        #expect(finished.state.history.count == epochs && finished.state.best != nil)

        // Ctrl-C once the first epoch is logged: exit 130 with a checkpoint and the resume command.
        let process = Process()
        process.executableURL = rnnTrainExecutable!
        process.arguments = arguments + ["--output", path("b.rnnm")]
        var environment = ProcessInfo.processInfo.environment
        environment["SOURCE_DATE_EPOCH"] = "1700000000"
        environment["RNN_TRAIN_KERNEL"] = nil
        process.environment = environment
        let errURL = dir.appendingPathComponent("b.stderr")
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning && Date() < deadline
                && ((try? String(contentsOfFile: path("b.log.jsonl"), encoding: .utf8))?.contains("\n") ?? false) == false {
            usleep(5_000)
        }
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = try String(contentsOf: errURL, encoding: .utf8)
        try #require(process.terminationStatus == 130, "expected the interrupt to land mid-run: \(stderr)")
        #expect(stderr.contains("rnn-train: resume with: rnn-train --resume \(path("b.ckpt"))"), "\(stderr)")
        let interrupted = try TextCheckpoint.read(from: path("b.ckpt"))
        #expect(interrupted.state.epoch >= 1 && interrupted.state.globalStep < finished.state.globalStep)

        let resumed = try runTrain(["--resume", path("b.ckpt"), "--data", dir.path, "--output", path("b.rnnm")],
                                   environment: Self.reproducible)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming at epoch"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("b.rnnm"))) == Data(contentsOf: URL(fileURLWithPath: path("a.rnnm"))))
        let resumedLog = try String(contentsOfFile: path("b.log.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(resumedLog.count == epochs + 1)

        // `export` writes the checkpoint's model: the trained file but for the test metrics.
        let export = try runTrain(["export", path("a.ckpt"), "--output", path("e.rnnm")], environment: Self.reproducible)
        #expect(export.status == 0, "\(export.stderr)")
        var trained = try ModelReader.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path("a.rnnm")))))
        trained.metadata.provenance.metrics = trained.metadata.provenance.metrics.filter { !$0.key.hasPrefix("test_") }
        #expect(try ModelReader.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path("e.rnnm"))))) == trained)
    }

    /// `--subset N` gives the training set N reviews (it used to give 1 of 2N when validation took
    /// the rest); validation comes on top; a subset validation leaves no room for is a usage error.
    @Test func subsetGivesTheTrainingSetThatManyReviews() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeIMDbDirectory(syntheticTextSplits(), to: dir)
        let run = try runTrain(Self.options + ["--data", dir.path, "--subset", "60", "--epochs", "1",
                                               "--output", dir.appendingPathComponent("m.rnnm").path])
        #expect(run.status == 0 && run.stderr.contains("60 train, 40 validation, 60 test reviews"), "\(run.stderr)")
        let tooMany = try runTrain(Self.options + ["--data", dir.path, "--subset", "201", "--output", dir.appendingPathComponent("n.rnnm").path])
        #expect(tooMany.status == 64 && tooMany.errorLines.count == 1
                && tooMany.errorLines[0].contains("--subset must be at most the 200 training reviews --validation 40 leaves, got 201"),
                "\(tooMany.stderr)")
    }
}
