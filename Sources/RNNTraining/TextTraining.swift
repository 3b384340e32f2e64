import Dispatch
import RNNCore
import RNNFormat
import RNNSupport

/// Hyperparameters of the text classifier `embedding -> lstm -> dense` (IMDb sentiment). The defaults
/// are the measured recipe: 87.92 % on the 25,000 IMDb test reviews in about a minute on 2 cores.
/// Stored in text checkpoints (spec/CHECKPOINT.md §3.4) under these names.
package struct TextTrainingConfiguration: Sendable, Equatable, Codable {
    /// Vocabulary words kept (the embedding has `vocabularyWords + 2` rows: padding and out-of-vocabulary).
    package var vocabularyWords = 19_998
    /// Embedding width `D`.
    package var embeddingSize = 64
    /// LSTM width `H`.
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
    /// Dropout on the embedding outputs (the LSTM's inputs) during training.
    package var embeddingDropout = 0.5
    /// Dropout on the final LSTM state (the dense head's input) during training.
    package var hiddenDropout = 0.5

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
    }

    /// What the shared loop reads: with validation reviews, the run ends with its best epoch.
    package var loop: LoopSettings {
        LoopSettings(batchSize: batchSize, epochs: epochs, maximumSteps: maximumSteps, clipNorm: clipNorm,
                     validationCount: validationCount, keepsBestEpoch: validationCount > 0)
    }

    /// The model's sizes for `classCount` classes.
    package func shape(classCount: Int) -> TextModelShape {
        TextModelShape(vocabularySize: vocabularyWords + TokenInput.firstWordID, embeddingSize: embeddingSize,
                       hiddenSize: hiddenSize, classCount: classCount)
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

/// The text model's weights: flat parameters in the layout of ``TextModelShape``.
package struct TextParameters: TrainableWeights {
    /// The sizes, and where each tensor lives in ``values``.
    package let shape: TextModelShape
    package var values: [Float]

    package init(shape: TextModelShape, values: [Float]) {
        self.shape = shape
        self.values = values
    }
}

/// The state of a text run.
package typealias TextTrainingState = RunState<TextParameters>

extension RunState where Weights == TextParameters {
    /// The state before the first step: freshly initialized weights (seeded by `configuration.seed`),
    /// zero optimizer moments.
    package init(configuration: TextTrainingConfiguration, shape: TextModelShape) {
        self.init(parameters: TextParameters(shape: shape, values: TextTrainer.initialParameters(shape, seed: configuration.seed)),
                  optimizer: AdamOptimizer(parameterCount: shape.parameterCount))
    }

    /// The weights are those of `shape`.
    func checkShape(_ shape: TextModelShape) throws(StateInconsistency) {
        for weights in [parameters] + (best.map { [$0] } ?? []) where weights.shape != shape || weights.values.count != shape.parameterCount {
            throw StateInconsistency(reason: "the weights are for \(weights.shape), the configuration for \(shape)")
        }
    }
}

/// The text classifier's part of a run (`embedding -> lstm (masked) -> dense` over packed batches of
/// token sequences, ``TextBatch``): its batches, engines, dropout and validation, for ``TrainingLoop``.
package final class TextTask: TrainingTask {
    /// The validated settings.
    package let configuration: TextTrainingConfiguration
    /// The model's sizes.
    package let shape: TextModelShape
    /// Reviews trained on.
    package let train: TokenizedTexts
    /// Reviews evaluated after every epoch (they choose the best epoch).
    package let validation: TokenizedTexts
    /// The fused kernel variant (``FusedStep``).
    let kernel: KernelISA
    private let engines: [TextLSTMEngine<Float>]
    /// The shuffled order of the last epoch asked for, and the generator that shuffles it again for
    /// the next: each epoch shuffles the previous epoch's order once more.
    private var shuffled: (epoch: Int, order: [Int], generator: Xoshiro256StarStar)

    /// Checks the configuration and the data and allocates one engine per thread.
    init(configuration: TextTrainingConfiguration, classCount: Int, train: TokenizedTexts, validation: TokenizedTexts,
         kernel: KernelISA) throws(TrainingError) {
        try configuration.validate()
        guard (2...65_536).contains(classCount) else { throw .dataMismatch("\(classCount) classes; a model has 2...65536") }
        guard train.count > 0 else { throw .dataMismatch("no training reviews") }
        let shape = configuration.shape(classCount: classCount)
        for (name, set) in [("training", train), ("validation", validation)] {
            if let bad = set.labels.firstIndex(where: { !(0..<classCount).contains($0) }) {
                throw .dataMismatch("label \(set.labels[bad]) of \(name) review \(bad) is outside 0..<\(classCount)")
            }
            if let bad = set.sequences.firstIndex(where: { $0.contains { !(0..<Int32(shape.vocabularySize)).contains($0) } }) {
                throw .dataMismatch("\(name) review \(bad) has a token id outside 0..<\(shape.vocabularySize)")
            }
        }
        self.configuration = configuration
        self.shape = shape
        self.train = train
        self.validation = validation
        self.kernel = kernel
        engines = (0..<configuration.threads).map { _ in TextLSTMEngine<Float>(shape: shape, kernel: kernel) }
        shuffled = Self.unshuffled(train.count, seed: configuration.seed)
    }

    private static func unshuffled(_ count: Int, seed: UInt64) -> (epoch: Int, order: [Int], generator: Xoshiro256StarStar) {
        (-1, Array(0..<count), Xoshiro256StarStar(seed: seed &+ 0x5EED))
    }

    package var trainCount: Int { train.count }

    /// The order of epoch `e`: the identity shuffled `e + 1` times in a row by one generator seeded
    /// from the seed (the previous epoch's order is kept, so a run shuffles once per epoch).
    package func order(epoch: Int) -> [Int] {
        var (done, order, generator) = epoch < shuffled.epoch ? Self.unshuffled(train.count, seed: configuration.seed) : shuffled
        while done < epoch {
            generator.shuffle(&order)
            done += 1
        }
        shuffled = (done, order, generator)
        return order
    }

    /// Loss, correct count and mean gradient over one batch, split across the workers: worker `w`
    /// takes the `w`-th run of `ceil(count / workers)` reviews, and the gradients are summed in worker
    /// order. Each worker's dropout masks are drawn from a generator seeded by the seed, `step` and `w`.
    package func lossAndGradient(_ parameters: TextParameters, indices: ArraySlice<Int>, step: Int,
                                 gradient: inout [Float]) -> (loss: Double, correct: Int) {
        let c = configuration
        let batch = train.subset(indices)
        let workers = min(engines.count, batch.count)
        let per = (batch.count + workers - 1) / workers
        let scale = 1 / Float(batch.count)
        let results = ResultSlots<(Double, Int, [Float])>(count: workers)
        let params = parameters.values
        let shape = self.shape
        let engines = self.engines
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            // With more workers than runs of `per` (5 reviews on 4 workers), the last ones get none.
            let range = min(w * per, batch.count)..<min((w + 1) * per, batch.count)
            let part = batch.subset(range)
            let packed = TextBatch(part.sequences)
            var grad = [Float](repeating: 0, count: shape.parameterCount)
            let engine = engines[w]
            if c.embeddingDropout > 0 || c.hiddenDropout > 0 {
                engine.dropout = (c.embeddingDropout, c.hiddenDropout, dropoutGenerator(seed: c.seed, step: step, worker: w))
            }
            var outcome: (Float, Int) = (0, 0)
            params.withUnsafeBufferPointer { p in
                let logits = engine.forward(p.baseAddress!, packed)
                let ce = TextLSTMEngine<Float>.crossEntropy(logits, packed, labels: part.labels, classes: shape.classCount, scale: scale)
                grad.withUnsafeMutableBufferPointer { g in engine.backward(p.baseAddress!, packed, dLogits: ce.dLogits, grad: g.baseAddress!) }
                outcome = (ce.loss, ce.correct)
            }
            engine.dropout = nil
            results.set(w, (Double(outcome.0), outcome.1, grad))
        }
        var total = results.get(0)
        for w in 1..<workers {
            let r = results.get(w)
            total.0 += r.0; total.1 += r.1
            for k in 0..<total.2.count { total.2[k] += r.2[k] }
        }
        gradient = total.2
        return (total.0, total.1)
    }

    package func validate(_ parameters: TextParameters) -> EvaluationResult {
        validation.count > 0 ? evaluate(parameters.values, on: validation) : .none
    }

    /// Mean cross-entropy and accuracy of `parameters` on `data`.
    package func evaluate(_ parameters: [Float], on data: TokenizedTexts) -> EvaluationResult {
        let predictions = TextTrainer.logits(parameters: parameters, shape: shape, sequences: data.sequences,
                                             threads: configuration.threads, kernel: kernel)
        var loss = 0.0, correct = 0
        let c = shape.classCount
        for i in 0..<data.count {
            let row = Array(predictions[(i * c)..<((i + 1) * c)]).map(Double.init)
            let m = row.max()!
            let lse = m + Double.logarithm(row.reduce(0) { $0 + Double.exponential($1 - m) })
            loss += lse - row[data.labels[i]]
            if row.firstIndex(of: m)! == data.labels[i] { correct += 1 }
        }
        return EvaluationResult(loss: loss / Double(max(1, data.count)), accuracy: Double(correct) / Double(max(1, data.count)),
                                count: data.count)
    }

    package func checkShape(of state: TextTrainingState) throws(StateInconsistency) {
        try state.checkShape(shape)
    }
}

/// Trains `embedding -> lstm -> dense` with Adam over masked, packed batches: the shared loop over a
/// ``TextTask``. With validation reviews, the run ends with the weights of its best validation epoch
/// (``RunState/result``).
package typealias TextTrainer = TrainingLoop<TextTask>

extension TrainingLoop where Task == TextTask {
    /// Checks the configuration against the data and allocates the engines. `kernel` is the fused
    /// kernel variant of the float32 forward pass (``FusedStep``; `.none` for BLAS only).
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
    /// The model's sizes.
    package var shape: TextModelShape { task.shape }

    /// Mean cross-entropy and accuracy of `parameters` on `data`.
    package func evaluate(_ parameters: TextParameters, on data: TokenizedTexts) -> EvaluationResult {
        task.evaluate(parameters.values, on: data)
    }

    /// Initial weights: embedding uniform(±0.1); LSTM and head uniform(±1/sqrt(H)) (PyTorch's
    /// default); gate bias 0 except the forget rows, 1 (helps gradients through long reviews).
    package static func initialParameters<S: TrainingScalar>(_ s: TextModelShape, seed: UInt64) -> [S] {
        var rng = Xoshiro256StarStar(seed: seed)
        var p = [S](repeating: 0, count: s.parameterCount)
        let k = 1 / Double(s.hiddenSize).squareRoot()
        for i in 0..<s.inputWeights { p[i] = S(rng.nextDouble(in: -0.1, 0.1)) }
        for i in s.inputWeights..<s.gateBias { p[i] = S(rng.nextDouble(in: -k, k)) }
        for j in 0..<s.hiddenSize { p[s.gateBias + s.hiddenSize + j] = 1 }
        for i in s.outputWeights..<s.outputBias { p[i] = S(rng.nextDouble(in: -k, k)) }
        return p
    }

    /// Logits `[count, C]` in the order of `sequences`, computed in chunks over `threads` workers.
    package static func logits(parameters: [Float], shape: TextModelShape, sequences: [[Int32]], threads: Int = 2,
                              kernel: KernelISA = .detected) -> [Float] {
        let chunk = 256
        let chunks = (sequences.count + chunk - 1) / chunk
        let c = shape.classCount
        let out = ResultSlots<[Float]>(count: chunks)
        let workers = max(1, min(threads, chunks))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let engine = TextLSTMEngine<Float>(shape: shape, kernel: kernel)
            parameters.withUnsafeBufferPointer { p in
                for k in stride(from: w, to: chunks, by: workers) {
                    let range = (k * chunk)..<min((k + 1) * chunk, sequences.count)
                    let batch = TextBatch(Array(sequences[range]))
                    let sorted = engine.forward(p.baseAddress!, batch)
                    var logits = [Float](repeating: 0, count: range.count * c)
                    for b in 0..<batch.count { for j in 0..<c { logits[batch.order[b] * c + j] = sorted[b * c + j] } }
                    out.set(k, logits)
                }
            }
        }
        return (0..<chunks).flatMap { out.get($0) }
    }

    /// Builds the model file from flat parameters (layout ``TextModelShape``).
    package static func modelFile(parameters p: [Float], shape s: TextModelShape, tokens: TokenInput, labels: [String],
                                 provenance: Provenance) -> ModelFile {
        let v = s.vocabularySize, d = s.embeddingSize, h = s.hiddenSize, c = s.classCount
        func slice(_ from: Int, _ count: Int) -> [Float] { Array(p[from..<(from + count)]) }
        let tensors = [
            Tensor(name: "embed.weight", shape: [v, d], values: slice(s.embedding, v * d)),
            Tensor(name: "lstm0.w_ih", shape: [4 * h, d], values: slice(s.inputWeights, 4 * h * d)),
            Tensor(name: "lstm0.w_hh", shape: [4 * h, h], values: slice(s.recurrentWeights, 4 * h * h)),
            Tensor(name: "lstm0.b_ih", shape: [4 * h], values: slice(s.gateBias, 4 * h)),
            Tensor(name: "out.weight", shape: [c, h], values: slice(s.outputWeights, c * h)),
            Tensor(name: "out.bias", shape: [c], values: slice(s.outputBias, c)),
        ]
        let layers: [Layer] = [
            .embedding(EmbeddingLayer(name: "embed", vocabularySize: v, dimension: d, weight: "embed.weight")),
            .lstm(LSTMLayer(name: "lstm0", inputSize: d, hiddenSize: h, weightIH: "lstm0.w_ih", weightHH: "lstm0.w_hh",
                            biasIH: "lstm0.b_ih", biasHH: nil, returns: .last)),
            .dense(DenseLayer(name: "out", inputSize: h, outputSize: c, weight: "out.weight", bias: "out.bias")),
        ]
        return ModelFile(metadata: ModelMetadata(layers: layers, input: InputContract(tokens: tokens), labels: labels,
                                                 provenance: provenance), tensors: tensors)
    }
}


/// Per-worker results written from `concurrentPerform` without a data race (each slot by one worker).
final class ResultSlots<T>: @unchecked Sendable {
    private let slots: Locked<[T?]>
    init(count: Int) { slots = Locked(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ value: T) { slots.withLock { $0[i] = value } }
    func get(_ i: Int) -> T { slots.withLock { $0[i]! } }
}

