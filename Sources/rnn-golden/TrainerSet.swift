import RNNCore
import RNNDatasets
import RNNFormat
import RNNTraining

/// Writes the trainer-made set, `fixtures/golden/trainer/` (spec/GOLDEN.md, "Trainer-made set"):
/// one model per ``LayerKind`` and ``TrainerSetInput``, each trained briefly by the trainer's own
/// loop on data drawn by code and exported by its export path, the golden feature inputs, and the
/// expected outputs from the trainer's float64 forward pass (`forward64`).
struct TrainerSetFixtures {
    /// Where the files go (created if missing).
    var directory: String

    /// The subdirectory of `fixtures/golden` the set lives in.
    static let subdirectory = "trainer"
    /// The image input, shared with the 1.0 set (relative to ``subdirectory``).
    static let images = "../inputs-37.idx3"
    static let features = "features-\(SyntheticSequences.features).npy"
    static let lengths = "lengths.npy"

    /// The binary32 tolerance stated in the manifest (spec/GOLDEN.md derives it; the tests apply it).
    static let toleranceText = #"{"binary32":{"absolute":0.001,"relative":0.0001},"binary64":{"absolute":1e-09,"relative":1e-09}}"#

    /// Generates everything and returns the names of the files written (relative to `directory`), in order.
    func generate(log: (String) -> Void) throws(GoldenError) -> [String] {
        var writer = FixtureWriter(directory: directory)
        func write(_ bytes: [UInt8], _ name: String) throws(GoldenError) { try writer.write(bytes, name) }

        // Inputs: the images are the 1.0 set's; the feature sequences are written here.
        let images = GoldenInputs.batch37()
        let sequences = GoldenSequences()
        let width = SyntheticSequences.features, steps = SyntheticSequences.maximumLength
        try write(NPYWriter.float32(sequences.padded, shape: [GoldenSequences.count, steps, width]), Self.features)
        try write(NPYWriter.int64(sequences.lengths, shape: [GoldenSequences.count]), Self.lengths)

        var modelLines: [String] = [], caseLines: [String] = []
        for input in TrainerSetInput.allCases {
            let batch = input.batch(images: images, sequences: sequences)
            for (index, kind) in LayerKind.all.enumerated() {
                let stem = input.stem(kind)
                log("training \(stem) ...")
                let seed = UInt64(100 + 10 * index + (input == .features ? 1 : 0))
                let trained = try TrainerSetTraining.train(kind, on: input, seed: seed)
                let file = "\(stem).rnnm"
                do { try write(try ModelWriter.encode(trained.model), file) } catch let error as GoldenError { throw error } catch {
                    throw .training("export of \(file): \(error)")
                }
                // Expected outputs: forward64 of the model as exported (binary32 weights, binary64 arithmetic).
                let logits: [Double]
                do { logits = try batch.forward64(trained.model) } catch { throw .training("forward64 of \(file): \(error)") }
                let expected = ExpectedValues(modelFile: file, imagesFile: batch.file, count: batch.lengths.count,
                                              classes: trained.model.metadata.labels.count, logits: logits)
                let json = "\(stem).json"
                try write(Array(expected.sequenceJSON(lengths: batch.lengths).utf8), json)
                modelLines.append(#"  {"file":"\#(file)","dtype":"f32","architecture":"\#(trained.architecture)","output":"logits","outputs_per_step":false,"training":"\#(trained.summary)"}"#)
                caseLines.append(#"  {"model":"\#(file)",\#(batch.caseMembers),"expected":"\#(json)"}"#)
            }
        }

        let labels = sequences.labels.map(String.init).joined(separator: ",")
        let manifest = manifestText(
            generator: "swift run rnn-golden fixtures/golden, which writes this set into fixtures/golden/\(Self.subdirectory) (OPENBLAS_CORETYPE=\(pinnedCoreType)); expected values from the trainer's forward64",
            tolerance: Self.toleranceText, models: modelLines,
            inputs: [#"  {"file":"\#(Self.images)","count":\#(images.count),"kinds":"the 1.0 set's 37 images (../manifest.json)"}"#,
                     #"  {"file":"\#(Self.features)","count":\#(GoldenSequences.count),"width":\#(width),"lengths":"\#(Self.lengths)","drawn_from_classes":[\#(labels)]}"#,
                     #"  {"file":"\#(Self.lengths)","count":\#(GoldenSequences.count)}"#],
            cases: caseLines)
        try write(Array(manifest.utf8), "manifest.json")
        return writer.written
    }
}

/// The golden input batch of one ``TrainerSetInput`` and how a model runs on it in float64.
struct TrainerSetBatch {
    /// The input file the expected values name (relative to the set's directory).
    var file: String
    /// The manifest case's members that name the input: `"images":"..."` or `"features":"...","lengths":"..."`.
    var caseMembers: String
    /// The steps of each input.
    var lengths: [Int]
    /// The trainer's float64 logits `[count, C]` of a model on this batch.
    var forward64: (ModelFile) throws(TrainingError) -> [Double]
}

extension TrainerSetInput {
    /// The golden batch of this input kind: the 37 images, or the 23 sequences.
    func batch(images: [GoldenImage], sequences: GoldenSequences) -> TrainerSetBatch {
        switch self {
        case .imageRows:
            let pixels = images.flatMap(\.pixels)
            return TrainerSetBatch(file: TrainerSetFixtures.images, caseMembers: #""images":"\#(TrainerSetFixtures.images)""#,
                                   lengths: [Int](repeating: DigitPainter.side, count: images.count)) { model throws(TrainingError) in
                try RNNTraining.forward64(model: model, images: pixels, count: images.count)
            }
        case .features:
            let (padded, lengths) = (sequences.padded, sequences.lengths)
            return TrainerSetBatch(file: TrainerSetFixtures.features,
                                   caseMembers: #""features":"\#(TrainerSetFixtures.features)","lengths":"\#(TrainerSetFixtures.lengths)""#,
                                   lengths: lengths) { model throws(TrainingError) in
                try RNNTraining.forward64(model: model, features: padded, lengths: lengths)
            }
        }
    }
}

/// The training runs behind the trainer-made set: short, seeded, one thread, the BLAS path.
enum TrainerSetTraining {
    struct Trained {
        /// What `rnn-train` exports (with the test metrics of the synthetic test part).
        var model: ModelFile
        /// The layers in words.
        var architecture: String
        /// How it was trained, one line.
        var summary: String
    }

    /// Steps of every run: enough to leave the initialization far behind (and, for the synthetic
    /// digits and sequences, to learn them well past chance), few enough for a fast generator.
    static let steps = 60

    static func configuration(_ architecture: LSTMArchitecture, seed: UInt64, validation: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration(architecture: architecture)
        c.batchSize = 32
        c.epochs = 100  // the run stops at maximumSteps
        c.maximumSteps = steps
        c.learningRate = 2e-2
        c.warmupSteps = 6
        c.seed = seed
        c.threads = 1
        c.validationCount = validation
        return c
    }

    static func train(_ kind: LayerKind, on input: TrainerSetInput, seed: UInt64) throws(GoldenError) -> Trained {
        switch input {
        case .imageRows: try images(kind, seed: seed)
        case .features: try sequences(kind, seed: seed)
        }
    }

    /// `kind` on 28-row synthetic digits (10 classes), through ``GoldenTraining/train(_:_:_:summary:)``.
    static func images(_ kind: LayerKind, seed: UInt64) throws(GoldenError) -> Trained {
        let side = DigitPainter.side
        let architecture = kind.architecture(inputSize: side, classes: 10)
        let c = configuration(architecture, seed: seed, validation: 128)
        func part(_ count: Int, _ partSeed: UInt64) -> LabeledPixels {
            let (pixels, labels) = DigitPainter.dataset(count: count, seed: partSeed)
            return LabeledPixels(pixels: pixels, labels: labels, height: side, width: side)
        }
        let trainSet = part(1024, 0x601D_A000 + seed)
        let data = TrainingData(train: trainSet, validation: part(c.validationCount, 0x601D_B000 + seed),
                                test: part(256, 0x601D_C000 + seed), name: "synthetic strokes (rnn-golden)",
                                sha256: ["train-images": SHA256.hex(trainSet.pixels)], classNames: (0..<10).map(String.init))
        let summary = "\(steps) steps of 32 synthetic stroke digits (seed \(seed), lr 2e-2, cosine, warm-up 6), 1 thread"
        do {
            let trained = try GoldenTraining.train("image-\(kind.stem)", c, data, summary: summary)
            return Trained(model: trained.model, architecture: "image rows 28x28 (scale f32(1/255)) -> " + kind.text(inputSize: side, classes: 10),
                           summary: summary + testAccuracy(trained.model))
        } catch {
            throw .training("image-\(kind.stem): \(error)")
        }
    }

    /// `kind` on ``SyntheticSequences`` (4 classes), standardized with the training part's statistics,
    /// as `rnn-train --dataset npy` runs it: the best validation epoch's weights, exported with the
    /// `features` input stage (`max_length` 29, `input.mean` / `input.std`).
    static func sequences(_ kind: LayerKind, seed: UInt64) throws(GoldenError) -> Trained {
        let width = SyntheticSequences.features, classes = SyntheticSequences.classes
        let architecture = kind.architecture(inputSize: width, classes: classes)
        do {
            let (train, trainLabels) = try SyntheticSequences.part(count: 512, seed: 0x601D_D000 + seed)
            let (test, testLabels) = try SyntheticSequences.part(count: 128, seed: 0x601D_E000 + seed)
            let hash = SHA256.hex(train.values.joined().flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } })
            let data = try SequenceTrainingData(train: LabeledSequences(sequences: train, labels: trainLabels),
                                                test: LabeledSequences(sequences: test, labels: testLabels),
                                                validationCount: 64, seed: seed, standardize: true,
                                                name: "synthetic sequences (rnn-golden)", sha256: ["train-features": hash],
                                                classNames: (0..<classes).map(String.init))
            let c = configuration(architecture, seed: seed, validation: data.validation.count)
            let trainer = try SequenceTrainer(configuration: c, data: data, kernel: .none)
            var state = TrainingState(configuration: c)
            _ = try trainer.run(&state)
            GoldenTraining.zeroTimings(&state)
            let result = trainer.task.evaluate(state.result, on: trainer.task.test)
            let model = SequenceCheckpoint(configuration: c, state: state, data: data, files: .npy)
                .modelFile(metrics: ["test_accuracy": result.accuracy, "test_loss": result.loss])
            let summary = "\(steps) steps of 32 synthetic sequences (448 train, 64 validation; seed \(seed), lr 2e-2, cosine, warm-up 6; best validation epoch), 1 thread"
            return Trained(model: model, architecture: "features \(width) standardized by input.mean / input.std (std of feature 4 exactly 0) -> "
                           + kind.text(inputSize: width, classes: classes), summary: summary + testAccuracy(model))
        } catch {
            throw .training("\(kind.stem): \(error)")
        }
    }

    /// `"; synthetic test accuracy 87.5 %"` from the model's provenance.
    static func testAccuracy(_ model: ModelFile) -> String {
        guard let a = model.metadata.provenance.metrics["test_accuracy"] else { return "" }
        return "; synthetic test accuracy \((a * 1000).rounded() / 10) %"
    }
}
