import RNNCore
import RNNFormat

/// Hyperparameters of the text classifier `embedding -> recurrent layers -> (pool) -> dense` (IMDb
/// sentiment): the one engine's network with an embedding input stage
/// (``LSTMArchitecture/vocabularySize``). Stored in text checkpoints (spec/CHECKPOINT.md §3.4) under
/// these names; the members added after the first text trainer (``cell`` ... ``weightDecay``) are
/// optional there, and absent means that trainer's model: one unidirectional LSTM reading its final
/// state, trained with plain Adam.
package struct TextTrainingConfiguration: Sendable, Equatable, Codable {
    /// Vocabulary words kept (the embedding has `vocabularyWords + 2` rows: padding and out-of-vocabulary).
    package var vocabularyWords = 19_998
    /// Embedding width `D`.
    package var embeddingSize = 64
    /// Recurrent width `H` (per direction).
    package var hiddenSize = 128
    /// Tokens kept per review; longer reviews keep their END (spec §6.2.1 `truncate: "start"`).
    package var maxLength = 500
    /// Reviews per step.
    package var batchSize = 64
    /// Passes over the training reviews.
    package var epochs = 4
    /// If set, the run stops after this many steps, even within an epoch.
    package var maximumSteps: Int?
    /// Adam's base learning rate (cosine schedule, warm-up over a tenth of the run, at most 100 steps).
    package var learningRate: Float = 0.002
    /// Maximum gradient L2 norm; 0 disables clipping.
    package var clipNorm: Float = 5
    /// Seed of every random choice (initial weights, validation split, shuffling, dropout).
    package var seed: UInt64 = 1
    /// Worker threads; the same seed, threads and kernel give bitwise identical weights.
    package var threads = 2
    /// Training reviews held out (a seeded random subset) to choose the best epoch.
    package var validationCount = 2_500
    /// If set, the run trains on this many reviews only (and tests on as many), see
    /// ``TextTrainingData/init(splits:configuration:name:sha256:)``.
    package var subset: Int?
    /// Dropout on the embedding outputs (the first recurrent layer's inputs) during training.
    package var embeddingDropout = 0.5
    /// Dropout on `dense`'s input (the final state or the pooled vector) during training.
    package var hiddenDropout = 0.5
    /// The recurrent cell (nil: LSTM).
    package var cell: RecurrentCell?
    /// A GRU's reset placement (nil: `after`, PyTorch's).
    package var gruReset: GRUReset?
    /// Whether every recurrent layer runs both ways (nil: no).
    package var bidirectional: Bool?
    /// Stacked recurrent layers (nil: 1).
    package var layerCount: Int?
    /// What `dense` reads (nil: the final state).
    package var pooling: TimePooling?
    /// Dropout between stacked recurrent layers during training (nil: none).
    package var layerDropout: Double?
    /// Decoupled weight decay of the rank-2 tensors, the embedding included (AdamW; nil: plain Adam).
    package var weightDecay: Float?

    package init() {}

    /// Checks every value against its range; the message names the option, the range and the value.
    package func validate() throws(TrainingError) {
        try validate(naming: .option)
    }

    /// The one set of range rules, for options and for settings read back from a checkpoint
    /// (named by their field, ``SettingNaming``).
    func validate(naming: SettingNaming) throws(TrainingError) {
        func check(_ ok: Bool, _ option: String, _ field: String, _ expected: String, _ found: Any) throws(TrainingError) {
            if !ok { throw .invalidHyperparameter("\(naming.name(option: option, field: field)) must be \(expected), got \(found)") }
        }
        try check((1...1_000_000).contains(vocabularyWords), "--vocab-size", "vocabularyWords", "in 1...1000000", vocabularyWords)
        try check((1...1024).contains(embeddingSize), "--embedding-size", "embeddingSize", "in 1...1024", embeddingSize)
        try check((1...1024).contains(hiddenSize), "--hidden-size", "hiddenSize", "in 1...1024", hiddenSize)
        try check((1...TokenInput.maxLengthLimit).contains(maxLength), "--max-length", "maxLength", "in 1...\(TokenInput.maxLengthLimit)", maxLength)
        try check((1...4096).contains(batchSize), "--batch-size", "batchSize", "in 1...4096", batchSize)
        try check((1...1000).contains(epochs), "--epochs", "epochs", "in 1...1000", epochs)
        if let m = maximumSteps { try check(m >= 1, "--steps", "maximumSteps", "at least 1", m) }
        try check(learningRate.isFinite && learningRate > 0, "--lr", "learningRate", "positive", learningRate)
        try check(clipNorm.isFinite && clipNorm >= 0, "--clip", "clipNorm", "0 (off) or positive", clipNorm)
        try check((1...64).contains(threads), "--threads", "threads", "in 1...64", threads)
        try check(validationCount >= 0, "--validation", "validationCount", "at least 0", validationCount)
        if let n = subset { try check(n >= 1, "--subset", "subset", "at least 1", n) }
        try check((0..<1).contains(embeddingDropout), "--embedding-dropout", "embeddingDropout", "in [0, 1)", embeddingDropout)
        try check((0..<1).contains(hiddenDropout), "--hidden-dropout", "hiddenDropout", "in [0, 1)", hiddenDropout)
        if let n = layerCount { try check((1...16).contains(n), "--layers", "layerCount", "in 1...16", n) }
        if let p = layerDropout { try check((0..<1).contains(p), "--dropout", "layerDropout", "in [0, 1)", p) }
        if let w = weightDecay { try check(w.isFinite && w >= 0, "--weight-decay", "weightDecay", "finite and at least 0", w) }
    }

    /// What the shared loop reads: with validation reviews, the run ends with its best epoch.
    package var loop: LoopSettings {
        LoopSettings(batchSize: batchSize, epochs: epochs, maximumSteps: maximumSteps, clipNorm: clipNorm,
                     validationCount: validationCount, keepsBestEpoch: validationCount > 0)
    }

    /// The network for `classCount` classes: an embedding of `vocabularyWords + 2` rows of width
    /// `embeddingSize`, the recurrent layers, the optional pooling, `dense`.
    package func architecture(classCount: Int) -> LSTMArchitecture {
        LSTMArchitecture(inputSize: embeddingSize, hiddenSize: hiddenSize, layerCount: layerCount ?? 1, classCount: classCount,
                         cell: cell ?? .lstm, gruReset: gruReset ?? .after, bidirectional: bidirectional ?? false,
                         pooling: pooling ?? .last, vocabularySize: vocabularyWords + TokenInput.firstWordID)
    }

    /// The training-time dropout: on the embedding outputs, between layers, on `dense`'s input.
    package var dropout: DropoutRates {
        DropoutRates(input: embeddingDropout, between: layerDropout ?? 0, output: hiddenDropout)
    }

    /// A fresh optimizer of a run with `classCount` classes: Adam (β 0.9, 0.999, ε 1e-8), with
    /// decoupled weight decay of every rank-2 tensor (the embedding and the weight matrices) when set.
    package func makeOptimizer(classCount: Int) -> AdamOptimizer {
        let layout = architecture(classCount: classCount).layout
        return AdamOptimizer(parameterCount: layout.count, weightDecay: weightDecay ?? 0,
                             decayed: layout.slots.filter { $0.shape.count > 1 }.map(\.range))
    }
}

/// Builds the vocabulary of spec §6.2.1: the most frequent words of the training texts.
package enum TextVocabulary {
    /// The `size` most frequent words of `texts` (by total count over all texts), ties broken by
    /// the byte order of the words (ascending), so the result does not depend on hashing. Words are
    /// counted by their bytes (``UTF8Key``), as the encoder looks them up: two spellings of `café`
    /// (U+00E9, or `e` + U+0301) are two words, not one, though Swift's `String ==` calls them equal.
    package static func build(from texts: [String], size: Int) -> [String] {
        var counts: [UTF8Key: Int] = [:]
        for text in texts {
            for word in WordTokenizer.words(in: text) { counts[UTF8Key(word), default: 0] += 1 }
        }
        let ranked = counts.sorted { a, b in
            a.value != b.value ? a.value > b.value : a.key.bytes.lexicographicallyPrecedes(b.key.bytes)
        }
        return ranked.prefix(size).map(\.key.text)
    }
}

/// Token sequences with labels, ready for training or evaluation.
package struct TokenizedTexts: Sendable {
    package var sequences: [[Int32]]
    package var labels: [Int]

    package init(sequences: [[Int32]], labels: [Int]) {
        self.sequences = sequences
        self.labels = labels
    }

    /// Tokenizes `texts` with `encoder` (truncated to its max length).
    package init(texts: [String], labels: [Int], encoder: TokenEncoder) {
        sequences = texts.map(encoder.tokenIDs)
        self.labels = labels
    }

    package var count: Int { labels.count }

    /// The entries at `indices`.
    package func subset(_ indices: some Sequence<Int>) -> TokenizedTexts {
        var s: [[Int32]] = [], l: [Int] = []
        for i in indices { s.append(sequences[i]); l.append(labels[i]) }
        return TokenizedTexts(sequences: s, labels: l)
    }
}


/// The state of a text run: the one engine's weights (``LSTMParameters``), whose layout starts with
/// the embedding.
package typealias TextTrainingState = TrainingState

extension RunState where Weights == LSTMParameters<Float> {
    /// The state before the first step of a text run: weights drawn by the standard scheme from
    /// `configuration.seed` (embedding uniform ±0.1, ``LSTMParameters/init(architecture:seed:scheme:)``),
    /// zero optimizer moments.
    package init(configuration: TextTrainingConfiguration, classCount: Int) {
        let parameters = LSTMParameters<Float>(architecture: configuration.architecture(classCount: classCount),
                                               seed: configuration.seed)
        self.init(parameters: parameters, optimizer: configuration.makeOptimizer(classCount: classCount))
    }
}

/// The text classifier's part of a run: batches of reviews of similar length through the one
/// engine (``GradientEngine`` with ``BatchSource/tokens(_:offsets:)``), dropout and validation, for
/// ``TrainingLoop``.
package final class TextTask: TrainingTask {
    /// The validated settings.
    package let configuration: TextTrainingConfiguration
    /// The network.
    package let architecture: LSTMArchitecture
    /// Reviews trained on.
    package let train: TokenizedTexts
    /// Reviews evaluated after every epoch (they choose the best epoch).
    package let validation: TokenizedTexts
    /// The fused kernel variant (``FusedStep``).
    let kernel: KernelISA
    private let packed: PackedTokens
    private let engine: GradientEngine<Float>
    /// Reviews per forward-only evaluation batch.
    static let evaluationBatch = 128
    /// Batches whose reviews are sorted by length together (``order(epoch:)``).
    static let bucketBatches = 32
    /// The shuffled order of the last epoch asked for, and the generator that shuffles it again for
    /// the next: each epoch shuffles the previous epoch's order once more.
    private var shuffled: (epoch: Int, order: [Int], generator: Xoshiro256StarStar)

    /// Checks the configuration and the data and allocates the engine.
    init(configuration: TextTrainingConfiguration, classCount: Int, train: TokenizedTexts, validation: TokenizedTexts,
         kernel: KernelISA) throws(TrainingError) {
        try configuration.validate()
        guard (2...65_536).contains(classCount) else { throw .dataMismatch("\(classCount) classes; a model has 2...65536") }
        guard train.count > 0 else { throw .dataMismatch("no training reviews") }
        let architecture = configuration.architecture(classCount: classCount)
        let rows = Int32(architecture.vocabularySize!)
        for (name, set) in [("training", train), ("validation", validation)] {
            if let bad = set.labels.firstIndex(where: { !(0..<classCount).contains($0) }) {
                throw .dataMismatch("label \(set.labels[bad]) of \(name) review \(bad) is outside 0..<\(classCount)")
            }
            if let bad = set.sequences.firstIndex(where: { $0.contains { !(0..<rows).contains($0) } }) {
                throw .dataMismatch("\(name) review \(bad) has a token id outside 0..<\(rows)")
            }
            if let bad = set.sequences.firstIndex(where: { $0.count > configuration.maxLength }) {
                throw .dataMismatch("\(name) review \(bad) has \(set.sequences[bad].count) tokens; at most \(configuration.maxLength)")
            }
        }
        self.configuration = configuration
        self.architecture = architecture
        self.train = train
        self.validation = validation
        self.kernel = kernel
        packed = PackedTokens(train.sequences)
        engine = GradientEngine(architecture: architecture, timeSteps: max(1, packed.longest), batchCapacity: configuration.batchSize,
                                workerCount: configuration.threads, kernel: kernel)
        shuffled = Self.unshuffled(train.count, seed: configuration.seed)
    }

    private static func unshuffled(_ count: Int, seed: UInt64) -> (epoch: Int, order: [Int], generator: Xoshiro256StarStar) {
        (-1, Array(0..<count), Xoshiro256StarStar(seed: seed &+ 0x5EED))
    }

    package var trainCount: Int { train.count }

    /// The order of epoch `e`: the identity shuffled `e + 1` times in a row by one generator seeded
    /// from the seed (the previous epoch's order is kept, so a run shuffles once per epoch), then
    /// bucketed: each run of ``bucketBatches`` batches is sorted by length and cut into batches, and
    /// the full batches are put in an order drawn from the seed and `e` (a partial last batch stays
    /// last). A batch runs as many steps as its longest review, so reviews of similar length waste
    /// few padded steps.
    package func order(epoch: Int) -> [Int] {
        var (done, order, generator) = epoch < shuffled.epoch ? Self.unshuffled(train.count, seed: configuration.seed) : shuffled
        while done < epoch {
            generator.shuffle(&order)
            done += 1
        }
        shuffled = (done, order, generator)
        let size = configuration.batchSize
        let sorted: [Int] = Array(packed.lengthSortedChunks(order, chunk: size * Self.bucketBatches).joined())
        var batches: [[Int]] = []
        for start in stride(from: 0, to: sorted.count, by: size) {
            batches.append(Array(sorted[start..<min(sorted.count, start + size)]))
        }
        var partial: [Int] = []
        if let last = batches.last, last.count < size { partial = batches.removeLast() }
        var rng = Xoshiro256StarStar(seed: configuration.seed ^ (0xB5AD_4ECE_DA1C_E2A9 &* UInt64(epoch + 1)))
        rng.shuffle(&batches)
        return Array(batches.joined()) + partial
    }

    /// Loss, correct count and mean gradient over one batch, split across the engine's workers.
    package func lossAndGradient(_ parameters: LSTMParameters<Float>, indices: ArraySlice<Int>, step: Int,
                                 gradient: inout [Float]) -> (loss: Double, correct: Int) {
        let rates = configuration.dropout
        return parameters.values.withUnsafeBufferPointer { p in
            train.labels.withUnsafeBufferPointer { labels in
                gradient.withUnsafeMutableBufferPointer { g in
                    packed.withSource { (source: BatchSource<Float>) in
                        engine.lossAndGradient(parameters: p, source: source, labels: labels, indices: indices, gradient: g,
                                               dropout: rates.isZero ? nil : (rates, configuration.seed, step))
                    }
                }
            }
        }
    }

    package func validate(_ parameters: LSTMParameters<Float>) -> EvaluationResult {
        validation.count > 0 ? evaluate(parameters, on: validation) : .none
    }

    /// Mean cross-entropy and accuracy of `parameters` on `data`.
    package func evaluate(_ parameters: LSTMParameters<Float>, on data: TokenizedTexts) -> EvaluationResult {
        EvaluationResult(logits: logits(parameters, on: data), labels: data.labels, classCount: architecture.classCount)
    }

    /// Float32 logits `[data.count, C]` of `data` in its order.
    package func logits(_ parameters: LSTMParameters<Float>, on data: TokenizedTexts) -> [Float] {
        tokenLogits(parameters: parameters, texts: PackedTokens(data.sequences), threads: configuration.threads,
                    batchSize: Self.evaluationBatch, kernel: kernel)
    }

    package func checkShape(of state: TextTrainingState) throws(StateInconsistency) {
        try state.checkShape(architecture)
    }
}

/// Trains the text classifier with Adam over length-bucketed batches: the shared loop over a
/// ``TextTask``. With validation reviews, the run ends with the weights of its best validation epoch
/// (``RunState/result``).
package typealias TextTrainer = TrainingLoop<TextTask>

extension TrainingLoop where Task == TextTask {
    /// Checks the configuration against the data and allocates the engine. `kernel` is the fused
    /// kernel variant of the float32 passes (``FusedStep``; `.none` for BLAS only).
    package convenience init(configuration: TextTrainingConfiguration, data: TextTrainingData,
                             kernel: KernelISA = .detected) throws(TrainingError) {
        let task = try TextTask(configuration: configuration, classCount: data.classNames.count, train: data.train,
                                validation: data.validation, kernel: kernel)
        // Cosine decay with a linear warm-up over a tenth of the run, at most 100 steps.
        self.init(task: task, settings: configuration.loop) { total in
            LearningRatePlan(base: configuration.learningRate, schedule: .cosine, totalSteps: total,
                             warmupSteps: min(100, total / 10))
        }
    }

    /// The validated settings.
    package var configuration: TextTrainingConfiguration { task.configuration }
    /// The network.
    package var architecture: LSTMArchitecture { task.architecture }

    /// Mean cross-entropy and accuracy of `parameters` on `data`.
    package func evaluate(_ parameters: LSTMParameters<Float>, on data: TokenizedTexts) -> EvaluationResult {
        task.evaluate(parameters, on: data)
    }
}
