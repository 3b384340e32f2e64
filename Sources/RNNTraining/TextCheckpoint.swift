import RNNDatasets
import RNNFormat

/// A checkpoint of a text run (version 2, `kind` `text`): the run's settings, weights, Adam's
/// moments, counters, the best epoch's weights, the data set's identity and the tokenizer settings
/// and vocabulary the exported model needs (spec/CHECKPOINT.md §3.4).
package struct TextCheckpoint: Sendable, Equatable {
    /// The run's settings (`vocabularyWords` is the vocabulary's actual size).
    package var configuration: TextTrainingConfiguration
    /// Weights, optimizer moments, counters and the best epoch's weights.
    package var state: TextTrainingState
    /// Data set name ("imdb"), as the exported model's provenance records it.
    package var datasetName: String
    /// File name -> SHA-256 of the file the reviews came from (empty for a directory).
    package var datasetSHA256: [String: String]
    /// Class names, exported as the model's labels.
    package var classNames: [String]
    /// The words with ids 2, 3, ... (most frequent first).
    package var vocabulary: [String]

    package init(configuration: TextTrainingConfiguration, state: TextTrainingState, datasetName: String,
                 datasetSHA256: [String: String], classNames: [String], vocabulary: [String]) {
        self.configuration = configuration
        self.state = state
        self.datasetName = datasetName
        self.datasetSHA256 = datasetSHA256
        self.classNames = classNames
        self.vocabulary = vocabulary
    }

    /// A checkpoint of `state` in a run of `configuration` on `data`.
    package init(configuration: TextTrainingConfiguration, state: TextTrainingState, data: TextTrainingData) {
        self.init(configuration: configuration, state: state, datasetName: data.name, datasetSHA256: data.sha256,
                  classNames: data.classNames, vocabulary: data.tokens.vocabulary)
    }

    /// The tokenizer rules this trainer trains with (spec §6.2.1): `words-v1`, keeping a long review's end.
    static let tokenizer = TokenInput.Tokenizer.wordsV1, truncation = TokenInput.Truncation.start

    /// The model's input pipeline.
    package var tokens: TokenInput {
        TokenInput(tokenizer: Self.tokenizer, maxLength: configuration.maxLength, truncation: Self.truncation, vocabulary: vocabulary)
    }

    /// The network.
    package var architecture: LSTMArchitecture { configuration.architecture(classCount: classNames.count) }

    /// The checkpoint's bytes (always version 2: the best epoch's weights need the fourth array).
    package func encoded() throws(TrainingError) -> [UInt8] {
        var header = CheckpointHeader(kind: "text", configuration: configuration, state: state, datasetName: datasetName,
                                      datasetSHA256: datasetSHA256, classNames: classNames)
        header.tokenizer = Self.tokenizer.rawValue
        header.truncation = Self.truncation.rawValue
        header.vocabulary = vocabulary
        return CheckpointFile.encode(version: 2, json: try CheckpointFile.encodeHeader(header), arrays: state.checkpointArrays(version: 2))
    }

    /// Parses the bytes of a text checkpoint, checking every field (spec/CHECKPOINT.md §4); `path`
    /// is only used in error messages. What needs the data is checked by
    /// ``trainingData(from:sha256:path:)`` when the run resumes.
    package init(decoding bytes: [UInt8], path: String) throws(TrainingError) {
        let contents = try CheckpointFile.decode(bytes, path: path)
        guard contents.kind == "text" else {
            throw .invalidCheckpoint(path: path, reason: "a checkpoint of an \(contents.kind) run, not of a text run")
        }
        try self.init(contents, path: path)
    }

    init(_ contents: CheckpointFile.Contents, path: String) throws(TrainingError) {
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(path: path, reason: reason) }
        let header = try CheckpointFile.decodeHeader(CheckpointHeader<TextTrainingConfiguration>.self, from: contents.json, path: path)
        do { try header.configuration.validate(naming: .checkpointField) } catch { throw fail(error.description) }
        let c = header.configuration
        guard (2...65_536).contains(header.classNames.count) else {
            throw fail("classNames must hold 2...65536 class names, got \(header.classNames.count)")
        }
        let architecture = c.architecture(classCount: header.classNames.count)
        var contents = contents
        Self.upgradeSingleBiasLayout(&contents, configuration: c, architecture: architecture)
        let count = contents.arrays[0].count
        guard count == architecture.layout.count else {
            throw fail("\(count) parameters stored, the configuration and classNames need \(architecture.layout.count)")
        }
        try header.validateIdentity(path: path)
        // The tokenizer settings the exported model stores.
        guard let tokenizer = header.tokenizer else { throw fail("unreadable header: field tokenizer is missing") }
        guard tokenizer == Self.tokenizer.rawValue else {
            throw fail("tokenizer must be \(quoted(Self.tokenizer.rawValue)) (the one this trainer trains with), got \(quoted(tokenizer))")
        }
        guard let truncation = header.truncation else { throw fail("unreadable header: field truncation is missing") }
        guard truncation == Self.truncation.rawValue else {
            throw fail("truncation must be \(quoted(Self.truncation.rawValue)) (the one this trainer trains with), got \(quoted(truncation))")
        }
        guard let vocabulary = header.vocabulary else { throw fail("unreadable header: field vocabulary is missing") }
        guard vocabulary.count == c.vocabularyWords else {
            throw fail("vocabulary must hold configuration.vocabularyWords = \(c.vocabularyWords) words, got \(vocabulary.count)")
        }
        let state = try header.state(contents, settings: c.loop, optimizer: c.makeOptimizer(classCount: header.classNames.count),
                                     path: path, make: { LSTMParameters(architecture: architecture, values: $0) },
                                     checkShape: { s throws(StateInconsistency) in try s.checkShape(architecture) })
        self.init(configuration: c, state: state, datasetName: header.datasetName, datasetSHA256: header.datasetSHA256,
                  classNames: header.classNames, vocabulary: vocabulary)
        // Last, the export: the format's rules (vocabulary words, labels, metadata size).
        do { _ = try ModelWriter.encode(modelFile()) } catch {
            throw fail("its model cannot be written (\(error)); check vocabulary, classNames and datasetSHA256")
        }
    }

    /// The first text trainer had its own LSTM with a single bias and stored `embed.weight`, `w_ih`,
    /// `w_hh`, `b_ih`, `out.weight`, `out.bias` (spec/CHECKPOINT.md §3.4). Such a checkpoint (none of
    /// the later architecture members, and exactly that many parameters) is the same network with
    /// `b_hh = 0`: every array gets `4H` zeros after `b_ih`, a moment of zero included, so the run
    /// continues exactly (`b_ih + b_hh` is what the gates see).
    static func upgradeSingleBiasLayout(_ contents: inout CheckpointFile.Contents, configuration c: TextTrainingConfiguration,
                                        architecture a: LSTMArchitecture) {
        guard c.cell == nil, c.bidirectional == nil, c.layerCount == nil, c.pooling == nil,
              let biasHH = a.layout.recurrent.first?.first?.biasHH,
              contents.arrays.allSatisfy({ $0.count == a.layout.count - biasHH.count }) else { return }
        for k in contents.arrays.indices {
            contents.arrays[k].insert(contentsOf: [Float](repeating: 0, count: biasHH.count), at: biasHH.offset)
        }
    }

    /// The data a resumed run trains on, split and tokenized as the run was (``TextTrainingData``),
    /// checked against this checkpoint. `sha256` is the identity of the file the splits came from.
    ///
    /// Different files are a ``TrainingError/dataMismatch(_:)``; everything else is the checkpoint's
    /// fault, an ``TrainingError/invalidCheckpoint(path:reason:)`` naming the field.
    package func trainingData(from splits: TextDatasetSplits, sha256: [String: String], path: String) throws(TrainingError) -> TextTrainingData {
        guard sha256 == datasetSHA256 else {
            throw .dataMismatch("the checkpoint was trained on \(datasetName) with different files (SHA-256 differs); pass the same --data")
        }
        let available = splits.train.count
        var c = configuration
        guard c.validationCount < available else {
            throw .invalidCheckpoint(path: path, reason: "configuration.validationCount must be below the \(available) training reviews, got \(c.validationCount)")
        }
        if let n = c.subset, n > available - c.validationCount {
            throw .invalidCheckpoint(path: path, reason: "configuration.subset must be at most the \(available - c.validationCount) training reviews configuration.validationCount \(c.validationCount) leaves, got \(n)")
        }
        let data = try TextTrainingData(splits: splits, configuration: &c, name: datasetName, sha256: sha256)
        try validate(against: data, path: path)
        return data
    }

    /// The checks of ``trainingData(from:sha256:path:)`` that need the data (spec/CHECKPOINT.md §4.4).
    package func validate(against data: TextTrainingData, path: String) throws(TrainingError) {
        try checkClassNames(classNames, against: data.classNames, path: path)
        let built = data.tokens.vocabulary
        if let k = zip(vocabulary, built).enumerated().first(where: { UTF8Key($0.element.0) != UTF8Key($0.element.1) })?.offset {
            throw .invalidCheckpoint(path: path, reason: "vocabulary[\(k)] must be the training reviews' \(quoted(built[k])), got \(quoted(vocabulary[k]))")
        }
        guard vocabulary.count == built.count else {
            throw .invalidCheckpoint(path: path, reason: "vocabulary must hold the \(built.count) words the training reviews give, got \(vocabulary.count)")
        }
        guard data.tokens.maxLength == configuration.maxLength else {
            throw .invalidCheckpoint(path: path, reason: "the data's max length \(data.tokens.maxLength) is not configuration.maxLength \(configuration.maxLength)")
        }
        do { try state.validate(configuration.loop, trainCount: data.train.count) } catch {
            throw .invalidCheckpoint(path: path, reason: error.reason)
        }
    }

    /// Writes the checkpoint atomically.
    package func write(to path: String) throws(TrainingError) {
        try writeFileAtomically(try encoded(), to: path)
    }

    /// The model of the run's result (its best epoch's weights when it keeps them, ``RunState/result``)
    /// with the provenance `rnn-train --dataset imdb` writes (spec §6.3): data set name and SHA-256,
    /// hyperparameters, seed, producer; the validation figures of the epoch the weights come from and
    /// the training seconds; `metrics` adds e.g. `test_accuracy`. `time` decides `created_at` and
    /// whether the training seconds stay (``ProvenanceTime``).
    package func modelFile(metrics extra: [String: Double] = [:], time: ProvenanceTime = .unstated) -> ModelFile {
        let c = configuration
        var provenance = Provenance(producer: "rnn-train", producerVersion: trainerVersion, datasetName: datasetName, seed: c.seed)
        provenance.datasetSHA256 = datasetSHA256
        provenance.hyperparameters = [
            "vocabulary_words": .number(Double(c.vocabularyWords)), "embedding_size": .number(Double(c.embeddingSize)),
            "hidden_size": .number(Double(c.hiddenSize)), "max_length": .number(Double(c.maxLength)),
            "batch_size": .number(Double(c.batchSize)), "epochs": .number(Double(c.epochs)),
            "learning_rate": .number(Double(c.learningRate)), "clip": .number(Double(c.clipNorm)),
            "schedule": .string("cosine"), "optimizer": .string("adam"), "validation": .number(Double(c.validationCount)),
            "truncate": .string(Self.truncation.rawValue), "embedding_dropout": .number(c.embeddingDropout),
            "hidden_dropout": .number(c.hiddenDropout),
        ]
        if let n = c.subset { provenance.hyperparameters["subset"] = .number(Double(n)) }
        // Written only when set, so that an LSTM run's file keeps its members.
        let a = architecture
        if a.cell == .gru {
            provenance.hyperparameters["cell"] = .string("gru")
            provenance.hyperparameters["gru_reset"] = .string(a.gruReset.rawValue)
        }
        if a.bidirectional { provenance.hyperparameters["bidirectional"] = .number(1) }
        if a.layerCount > 1 { provenance.hyperparameters["layers"] = .number(Double(a.layerCount)) }
        if a.pooling != .last { provenance.hyperparameters["pooling"] = .string(a.pooling.rawValue) }
        if let p = c.layerDropout { provenance.hyperparameters["dropout"] = .number(p) }
        if let w = c.weightDecay {
            provenance.hyperparameters["weight_decay"] = .number(Double(w))
            provenance.hyperparameters["optimizer"] = .string("adamw")
        }
        var metrics: [String: Double] = ["train_seconds": (state.trainSeconds * 10).rounded() / 10]
        if let record = state.resultRecord, record.validationAccuracy.isFinite {
            metrics["validation_accuracy"] = record.validationAccuracy
            metrics["validation_loss"] = record.validationLoss
        }
        provenance.metrics = metrics.merging(extra) { $1 }
        time.stamp(&provenance)
        return state.result.modelFile(input: .tokens(tokens), labels: classNames, provenance: provenance)
    }

    /// Reads a text checkpoint file.
    package static func read(from path: String) throws(TrainingError) -> TextCheckpoint {
        try TextCheckpoint(decoding: try readFile(path, limit: CheckpointFile.maximumFileBytes), path: path)
    }
}
