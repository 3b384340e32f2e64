// libFuzzer entry point for the checkpoint reader, image, text, feature-sequence and convolutional
// checkpoints alike (see fuzz/README.md, spec/CHECKPOINT.md).
//
// Compiled in one module together with Sources/RNNTraining/*.swift (so it can use internal
// helpers), against RNNFormat, RNNDatasets and RNNCore built as static libraries and the C kernels
// as an object (fuzz/run.sh, build_checkpoint). Each input is tried twice:
//   1. as is: exercises magic, version, reserved fields, sizes and the checksum;
//   2. "repaired": the JSON size set so that header, the version's parameter arrays (three in
//      version 1, four in version 2) and trailer fill the input exactly, and the CRC-32 recomputed,
//      so that mutations reach the header's field checks.
// A checkpoint the reader accepts must
//   - re-encode to bytes that decode and re-encode to the same bytes (and, when its JSON header was
//     already canonical, to the input itself);
//   - when its data-dependent checks pass against a data set of its shape, train one step
//     without trapping (the crash `rnn-train --resume` used to have on a negative stepInEpoch);
//     a sequence checkpoint's data takes its identity (SHA-256s, standardization) from the
//     checkpoint (``fuzzSequences(_:)``).
//
// Seeds: with FUZZ_CHECKPOINT_SEEDS=DIR set, LLVMFuzzerInitialize writes checkpoints of real
// tiny training runs into DIR (fuzz/run.sh does this before fuzzing); nothing binary is committed.

import RNNSupport
import RNNCore
@testable import RNNDatasets
import RNNFormat

/// Training images of the fuzz data set; the seeds are trained on exactly this many, so that
/// mutated seeds often pass the data-dependent checks and reach the training step.
private let fuzzTrainCount = 24

@_cdecl("LLVMFuzzerTestOneInput")
public func checkpointFuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    check(bytes)
    if bytes.count >= 40 {
        var repaired = bytes
        let n = repaired.count
        let p: UInt64 = readLittleEndian(repaired, 24)
        let version: UInt32 = readLittleEndian(repaired, 8)
        let arrays = UInt64(4 * CheckpointFile.arrayCount(version: version))
        let parameters = min(p, UInt64(n - 40) / arrays)
        var patch: [UInt8] = []
        appendLittleEndian(&patch, UInt64(n - 40) - arrays * parameters)
        appendLittleEndian(&patch, parameters)
        repaired.replaceSubrange(16..<32, with: patch)
        var crc: [UInt8] = []
        appendLittleEndian(&crc, Checksum.crc32(repaired, count: n - 8))
        repaired.replaceSubrange((n - 8)..<(n - 4), with: crc)
        check(repaired)
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func checkpointFuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard let dir = getenv("FUZZ_CHECKPOINT_SEEDS").map({ String(cString: $0) }) else { return 0 }
    do {
        for (name, bytes) in try seedCheckpoints() {
            try writeFileAtomically(bytes, to: "\(dir)/seed-\(name).ckpt")
        }
    } catch {
        fatalError("cannot write the seed checkpoints: \(error)")
    }
    return 0
}

/// The reader never traps; what it accepts round-trips and can be trained on.
private func check(_ bytes: [UInt8]) {
    guard let checkpoint = try? AnyCheckpoint(decoding: bytes, path: "fuzz") else { return }
    let encoded: [UInt8]
    do { encoded = try checkpoint.encoded() } catch { fatalError("an accepted checkpoint does not encode: \(error)") }
    let again: AnyCheckpoint
    do { again = try AnyCheckpoint(decoding: encoded, path: "re-encoded") } catch {
        fatalError("the reader refused the writer's output: \(error)")
    }
    if (try? again.encoded()) != encoded { fatalError("re-encoding is not a fixed point") }
    let jsonCount = Int(readLittleEndian(bytes, 16) as UInt64)
    let canonicalCount = Int(readLittleEndian(encoded, 16) as UInt64)
    // Same JSON and the same parameter count P: the bytes must be the same. (A text checkpoint of the
    // first text trainer's single-bias layout is read with b_hh = 0 inserted, spec/CHECKPOINT.md §3.4,
    // so it re-encodes with a larger P.)
    let sameCount = (readLittleEndian(bytes, 24) as UInt64) == (readLittleEndian(encoded, 24) as UInt64)
    if jsonCount == canonicalCount && sameCount && bytes[32..<(32 + jsonCount)] == encoded[32..<(32 + jsonCount)] && bytes != encoded {
        fatalError("a canonical checkpoint re-encodes to different bytes")
    }
    switch checkpoint {
    case .image(let c): trainOneStep(c)
    case .text(let c): trainOneStep(c)
    case .sequence(let c): trainOneStep(c)
    case .cnn(let c): trainOneStep(c)
    }
}

/// Resumes a convolutional checkpoint on random images of its shape, if small enough to be quick, for one step.
private func trainOneStep(_ checkpoint: ConvCheckpoint) {
    let c = checkpoint.configuration, a = c.architecture
    guard a.channels == 1, a.height * a.width <= 64, a.parameterCount <= 4096, a.classCount <= 4,
          c.batchSize <= 64, c.threads <= 2, c.validationCount <= 16 else { return }
    let data = fuzzData(width: a.width, height: a.height, classes: checkpoint.classNames, validation: c.validationCount)
    guard (try? checkpoint.validate(against: data, path: "fuzz")) != nil else { return }
    guard let trainer = try? ConvTrainer(configuration: c, data: data) else {
        fatalError("a cnn checkpoint that fits its data was refused by the trainer")
    }
    var state = checkpoint.state
    _ = try? trainer.run(&state, shouldStop: { true })
}

/// Resumes `checkpoint` on random images of its shape, if small enough to be quick, for one step.
private func trainOneStep(_ checkpoint: Checkpoint) {
    let c = checkpoint.configuration, a = c.architecture
    guard a.inputSize * checkpoint.timeSteps <= 64, a.hiddenSize <= 8, a.layerCount <= 2, a.classCount <= 4,
          c.batchSize <= 64, c.threads <= 2, c.validationCount <= 16 else { return }
    let data = fuzzData(width: a.inputSize, height: checkpoint.timeSteps, classes: checkpoint.classNames,
                        validation: c.validationCount)
    guard (try? checkpoint.validate(against: data, path: "fuzz")) != nil else { return }
    guard let trainer = try? Trainer(configuration: c, data: data) else {
        fatalError("a checkpoint that fits its data was refused by the trainer")
    }
    var state = checkpoint.state
    _ = try? trainer.run(&state, shouldStop: { true })
}

/// Resumes a text checkpoint on the fuzz reviews (from which the seeds' vocabularies were built), if
/// small enough to be quick, for one step.
private func trainOneStep(_ checkpoint: TextCheckpoint) {
    let c = checkpoint.configuration
    guard c.embeddingSize <= 8, c.hiddenSize <= 8, c.batchSize <= 64, c.threads <= 2, c.validationCount <= 16,
          c.maxLength <= 64 else { return }
    guard let data = try? checkpoint.trainingData(from: fuzzReviews(), sha256: checkpoint.datasetSHA256, path: "fuzz") else { return }
    guard let trainer = try? TextTrainer(configuration: c, data: data) else {
        fatalError("a text checkpoint that fits its data was refused by the trainer")
    }
    var state = checkpoint.state
    _ = try? trainer.run(&state, shouldStop: { true })
}

/// Resumes a feature-sequence checkpoint, if small enough to be quick, for one step on the fuzz
/// sequences of its shape (``fuzzSequences(_:)``).
private func trainOneStep(_ checkpoint: SequenceCheckpoint) {
    let c = checkpoint.configuration, a = c.architecture
    guard (1...4).contains(a.inputSize), checkpoint.maxLength <= 16, a.hiddenSize <= 8, a.layerCount <= 2, a.classCount <= 4,
          c.batchSize <= 64, c.threads <= 2, c.validationCount < fuzzSequenceCount else { return }
    guard let data = fuzzSequences(checkpoint) else { return }
    guard (try? checkpoint.validate(against: data, path: "fuzz")) != nil else { return }
    guard let trainer = try? SequenceTrainer(configuration: c, data: data) else {
        fatalError("a sequence checkpoint that fits its data was refused by the trainer")
    }
    var state = checkpoint.state
    _ = try? trainer.run(&state, shouldStop: { true })
}

/// Training sequences (validation ones included) of the fuzz sequence data; 4 more for testing.
private let fuzzSequenceCount = 16

/// The fuzz sequences of `checkpoint`'s shape: `fuzzSequenceCount` training and 4 test sequences
/// of `architecture.inputSize` features, the first of each `timeSteps` steps long and the others
/// 1 ... `timeSteps`, labels cycling through the classes, values in -10 ... 10; split with the
/// checkpoint's seed and validation count, and carrying the checkpoint's own `datasetSHA256`.
///
/// The data's identity cannot come from the data here: a real resume hashes the files and fits
/// the standardization on the training part, so a mutated SHA-256 or mean/std bit pattern would
/// never pass, and the training step would only be reached by unmutated seeds. So, as the text
/// harness does with SHA-256s, the identity is the checkpoint's: the file hashes are copied, and
/// the sequences are standardized with the checkpoint's own statistics (raw when it has none).
/// For the seeds, which are trained on this data with `standardize: true`, those statistics are
/// exactly the ones the split fits, so the data is the one they were trained on, bit for bit.
private func fuzzSequences(_ checkpoint: SequenceCheckpoint) -> SequenceTrainingData? {
    let c = checkpoint.configuration
    let raw = fuzzRawSequences(features: c.architecture.inputSize, maxLength: checkpoint.maxLength,
                               classes: checkpoint.classNames.count)
    guard var data = try? SequenceTrainingData(train: raw.train, test: raw.test, validationCount: c.validationCount,
                                                seed: c.seed, standardize: false, name: checkpoint.datasetName,
                                                sha256: checkpoint.datasetSHA256, classNames: checkpoint.classNames)
    else { return nil }
    if let s = checkpoint.standardization {
        data.train.sequences = s.apply(to: data.train.sequences)
        data.validation.sequences = s.apply(to: data.validation.sequences)
        data.test.sequences = s.apply(to: data.test.sequences)
        data.standardization = s
    }
    return data
}

/// Deterministic unstandardized sequences (``fuzzSequences(_:)``): `fuzzSequenceCount` to train on, 4 to test.
private func fuzzRawSequences(features: Int, maxLength: Int, classes: Int) -> (train: LabeledSequences, test: LabeledSequences) {
    var rng = Xoshiro256StarStar(seed: 13)
    func set(_ count: Int) -> LabeledSequences {
        let values = (0..<count).map { i in
            let length = i == 0 ? maxLength : 1 + rng.nextInt(below: maxLength)
            return (0..<(length * features)).map { _ in Float(rng.nextInt(below: 2001) - 1000) / 100 }
        }
        // Finite values of a positive feature count (the callers' guard): the checks cannot fail.
        return LabeledSequences(sequences: try! FeatureSequences(features: features, values: values),
                                labels: (0..<count).map { $0 % max(classes, 1) })
    }
    return (set(fuzzSequenceCount), set(4))
}

/// Deterministic two-class reviews over a ten-word vocabulary: 30 for training, 4 for testing.
private func fuzzReviews() -> TextDatasetSplits {
    var rng = Xoshiro256StarStar(seed: 11)
    func reviews(_ count: Int) -> [TextExample] {
        (0..<count).map { i in
            let words = (0..<(1 + rng.nextInt(below: 6))).map { _ in "w\(rng.nextInt(below: 10))" }
            return TextExample(text: words.joined(separator: " "), label: UInt8(i % 2), rating: i % 2 == 0 ? 2 : 9, id: i)
        }.sorted { ($0.label, $0.id) < ($1.label, $1.id) }
    }
    return TextDatasetSplits(train: reviews(30), test: reviews(4), classNames: ["negative", "positive"])
}

/// Deterministic images: `fuzzTrainCount` for training, `validation` and 4 test images.
private func fuzzData(width: Int, height: Int, classes: [String], validation: Int) -> TrainingData {
    var rng = Xoshiro256StarStar(seed: 7)
    func set(_ count: Int) -> LabeledPixels {
        LabeledPixels(pixels: (0..<(count * width * height)).map { _ in UInt8(rng.nextInt(below: 256)) },
                      labels: (0..<count).map { _ in rng.nextInt(below: classes.count) }, height: height, width: width)
    }
    return TrainingData(train: set(fuzzTrainCount), validation: set(validation), test: set(4), name: "fuzz",
                        sha256: ["fuzz": String(repeating: "0", count: 64)], classNames: classes)
}

/// Checkpoints of tiny real runs. Image runs: mid-epoch, at an epoch's end, finished by the step
/// limit, without validation images (NaN records), two layers with the tutorial preset's settings,
/// GRU and bidirectional layers (one with max pooling and dropout), AdamW with patience and shift
/// augmentation (mid-run and finished).
/// Text runs and sequence runs (``fuzzRawSequences(features:maxLength:classes:)``), each mid-epoch
/// and finished, with and without validation.
private func seedCheckpoints() throws(TrainingError) -> [(String, [UInt8])] {
    func configuration(layers: Int = 1) -> TrainingConfiguration {
        var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 3, hiddenSize: 2, layerCount: layers, classCount: 2))
        c.batchSize = 4
        c.epochs = 2
        c.warmupSteps = 2
        c.threads = 1
        c.validationCount = 2
        return c
    }
    var tutorial = configuration(layers: 2)
    tutorial.initialization = .tutorial
    tutorial.schedule = .constant
    tutorial.clipNorm = 0
    tutorial.maximumSteps = 8
    var noValidation = configuration()
    noValidation.validationCount = 0
    var gru = configuration()
    gru.architecture.cell = .gru
    gru.architecture.gruReset = .before
    var bidirectional = configuration(layers: 2)
    bidirectional.architecture.bidirectional = true
    bidirectional.architecture.pooling = .max
    bidirectional.dropout = DropoutRates(input: 0.1, between: 0.2, output: 0.3)
    var gruBidirectional = configuration()
    gruBidirectional.architecture.cell = .gru
    gruBidirectional.architecture.bidirectional = true
    // AdamW, early stopping and shifted images: 3 epochs of 6 steps, patience 1 (a best epoch is kept
    // from the first epoch's end: bestEpoch and epochsSinceImprovement in the header).
    var adamW = configuration()
    adamW.epochs = 3
    adamW.weightDecay = 0.05
    adamW.patience = 1
    adamW.augmentation = .shift
    let runs: [(String, TrainingConfiguration, stopAfter: Int?)] = [
        ("mid-epoch", configuration(), 3), ("epoch-end", configuration(), 6), ("finished", configuration(), nil),
        ("no-validation", noValidation, 7), ("tutorial-2-layers", tutorial, nil),
        ("gru-reset-before", gru, 4), ("bidirectional-2-layers-max-pool-dropout", bidirectional, 8), ("gru-bidirectional", gruBidirectional, nil),
        ("adamw-patience-shift-mid-epoch", adamW, 9), ("adamw-patience-shift-finished", adamW, nil),
    ]
    var seeds: [(String, [UInt8])] = []
    for (name, c, stopAfter) in runs {
        let data = fuzzData(width: 3, height: 4, classes: ["no", "yes"], validation: c.validationCount)
        let trainer = try Trainer(configuration: c, data: data)
        var state = TrainingState(configuration: c)
        var steps = 0
        _ = try trainer.run(&state, shouldStop: { steps += 1; return steps == stopAfter })
        let checkpoint = Checkpoint(configuration: c, state: state, datasetName: data.name, datasetSHA256: data.sha256,
                                    classNames: data.classNames, timeSteps: 4)
        seeds.append((name, try checkpoint.encoded()))
    }
    // Convolutional runs (version 2, kind cnn) on 4 x 3 images: a padded convolution, a pool, a dense layer.
    var conv = ConvTrainingConfiguration(architecture: ConvArchitecture(
        channels: 1, height: 4, width: 3, layers: [.conv(2, kernel: 3, padding: 1), .maxPool(2)], dense: [3], classCount: 2))
    conv.batchSize = 4
    conv.epochs = 2
    conv.warmupSteps = 2
    conv.threads = 1
    conv.validationCount = 2
    var convPatience = conv
    convPatience.patience = 1
    convPatience.weightDecay = 0.01
    for (name, c, stopAfter) in [("cnn-mid-epoch", conv, 3), ("cnn-finished", conv, nil), ("cnn-patience", convPatience, nil)]
        as [(String, ConvTrainingConfiguration, Int?)] {
        let data = fuzzData(width: 3, height: 4, classes: ["no", "yes"], validation: c.validationCount)
        let trainer = try ConvTrainer(configuration: c, data: data)
        var state = ConvTrainingState(configuration: c)
        var steps = 0
        _ = try trainer.run(&state, shouldStop: { steps += 1; return steps == stopAfter })
        seeds.append((name, try ConvCheckpoint(configuration: c, state: state, datasetName: data.name, datasetSHA256: data.sha256,
                                               classNames: data.classNames).encoded()))
    }
    // Text runs (version 2): mid-epoch with the best epoch kept, finished, and without validation.
    var text = TextTrainingConfiguration()
    text.vocabularyWords = 12
    text.embeddingSize = 3
    text.hiddenSize = 8
    text.maxLength = 6
    text.batchSize = 8
    text.epochs = 2
    text.threads = 1
    text.validationCount = 6
    var textNoValidation = text
    textNoValidation.validationCount = 0
    // The one engine's text networks: a stacked bidirectional GRU, max-pooled, with every dropout and AdamW.
    var textGRU = text
    textGRU.cell = .gru
    textGRU.gruReset = .before
    textGRU.bidirectional = true
    textGRU.layerCount = 2
    textGRU.pooling = .max
    textGRU.layerDropout = 0.2
    textGRU.weightDecay = 0.01
    for (name, configuration, stopAfter) in [("text-mid-epoch", text, 5), ("text-finished", text, nil),
                                              ("text-no-validation", textNoValidation, 4),
                                              ("text-bigru-2-layers-max-pool", textGRU, 5)] as [(String, TextTrainingConfiguration, Int?)] {
        var c = configuration
        let data = try TextTrainingData(splits: fuzzReviews(), configuration: &c, name: "fuzz reviews",
                                        sha256: ["fuzz": String(repeating: "0", count: 64)])
        let trainer = try TextTrainer(configuration: c, data: data)
        var state = TextTrainingState(configuration: c, classCount: data.classNames.count)
        var steps = 0
        _ = try trainer.run(&state, shouldStop: { steps += 1; return steps == stopAfter })
        seeds.append((name, try TextCheckpoint(configuration: c, state: state, data: data).encoded()))
    }
    // Sequence runs (version 2) on the fuzz sequences: 2 features, up to 5 steps, 3 classes; with 3
    // validation sequences (best epoch kept) and standardized, or without either.
    func sequenceConfiguration(validation: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 2, hiddenSize: 3, classCount: 3))
        c.batchSize = 4
        c.epochs = 2
        c.warmupSteps = 2
        c.threads = 1
        c.validationCount = validation
        return c
    }
    var sequenceGRU = sequenceConfiguration(validation: 3)
    sequenceGRU.architecture.cell = .gru
    sequenceGRU.architecture.bidirectional = true
    sequenceGRU.architecture.pooling = .mean
    sequenceGRU.weightDecay = 0.01
    let sequenceRuns: [(String, TrainingConfiguration, SequenceFiles, stopAfter: Int?)] = [
        ("sequence-mid-epoch", sequenceConfiguration(validation: 3), .ts, 6),
        ("sequence-finished", sequenceConfiguration(validation: 3), .ts, nil),
        ("sequence-no-validation-mid-epoch", sequenceConfiguration(validation: 0), .npy, 2),
        ("sequence-no-validation-finished", sequenceConfiguration(validation: 0), .npy, nil),
        ("sequence-gru-bidirectional-mean-pool", sequenceGRU, .ts, nil),
    ]
    for (name, c, files, stopAfter) in sequenceRuns {
        let raw = fuzzRawSequences(features: 2, maxLength: 5, classes: 3)
        let hashes = files == .ts ? ["Fuzz_TRAIN.ts": String(repeating: "0", count: 64), "Fuzz_TEST.ts": String(repeating: "1", count: 64)]
                                  : ["x_train.npy": String(repeating: "2", count: 64), "y_train.npy": String(repeating: "3", count: 64),
                                     "x_test.npy": String(repeating: "4", count: 64), "y_test.npy": String(repeating: "5", count: 64)]
        let data = try SequenceTrainingData(train: raw.train, test: raw.test, validationCount: c.validationCount, seed: c.seed,
                                            standardize: files == .ts, name: "Fuzz", sha256: hashes,
                                            classNames: files == .ts ? ["walk", "run", "stand"] : ["0", "1", "2"])
        let trainer = try SequenceTrainer(configuration: c, data: data)
        var state = TrainingState(configuration: c)
        var steps = 0
        _ = try trainer.run(&state, shouldStop: { steps += 1; return steps == stopAfter })
        seeds.append((name, try SequenceCheckpoint(configuration: c, state: state, data: data, files: files).encoded()))
    }
    return seeds
}
