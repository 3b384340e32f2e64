import RNNCore
import Dispatch
import RNNFormat
import RNNDatasets

/// Hyperparameters of the text classifier `embedding -> lstm -> dense` (IMDb sentiment). The defaults
/// are the measured recipe: 87.92 % on the 25,000 IMDb test reviews in about a minute on 2 cores.
package struct TextTrainingConfiguration: Sendable, Equatable {
    /// Vocabulary words kept (the embedding has `vocabularyWords + 2` rows: padding and out-of-vocabulary).
    package var vocabularyWords = 19_998
    package var embeddingSize = 64
    package var hiddenSize = 128
    /// Tokens kept per review; longer reviews keep their END (spec §6.2.1 `truncate: "start"`).
    package var maxLength = 500
    package var batchSize = 64
    package var epochs = 4
    /// Stop after this many steps (0: run all epochs).
    package var maxSteps = 0
    package var learningRate: Float = 0.002
    package var clip: Float = 5
    package var seed: UInt64 = 1
    package var threads = 2
    /// Training reviews held out (a seeded random subset) to choose the best epoch.
    package var validationCount = 2_500
    /// Dropout on the embedding outputs (the LSTM's inputs) during training.
    package var embeddingDropout = 0.5
    /// Dropout on the final LSTM state (the dense head's input) during training.
    package var hiddenDropout = 0.5

    package init() {}

    /// Checks every value against its range; the message names the option, the range and the value.
    package func validate() throws(TrainingError) {
        func check(_ ok: Bool, _ message: String) throws(TrainingError) { if !ok { throw .invalidHyperparameter(message) } }
        try check((1...1_000_000).contains(vocabularyWords), "--vocab-size must be in 1...1000000, got \(vocabularyWords)")
        try check((1...1024).contains(embeddingSize), "--embedding-size must be in 1...1024, got \(embeddingSize)")
        try check((1...1024).contains(hiddenSize), "--hidden-size must be in 1...1024, got \(hiddenSize)")
        try check((1...TokenInput.maxLengthLimit).contains(maxLength), "--max-length must be in 1...65536, got \(maxLength)")
        try check((1...4096).contains(batchSize), "--batch-size must be in 1...4096, got \(batchSize)")
        try check((1...1000).contains(epochs), "--epochs must be in 1...1000, got \(epochs)")
        try check(maxSteps >= 0, "--steps must be >= 0, got \(maxSteps)")
        try check(learningRate > 0 && learningRate.isFinite, "--lr must be > 0, got \(learningRate)")
        try check(clip >= 0 && clip.isFinite, "--clip must be >= 0, got \(clip)")
        try check((1...64).contains(threads), "--threads must be in 1...64, got \(threads)")
        try check(validationCount >= 0, "--validation must be >= 0, got \(validationCount)")
        try check((0..<1).contains(embeddingDropout) && (0..<1).contains(hiddenDropout), "--dropout values must be in [0, 1)")
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

/// One epoch's numbers, reported through ``TextTrainer/train(_:validation:report:)``.
package struct TextEpochReport: Sendable {
    package var epoch: Int
    package var steps: Int
    package var trainLoss: Double
    package var trainAccuracy: Double
    package var validationLoss: Double
    package var validationAccuracy: Double
    package var seconds: Double
}

/// Trains `embedding -> lstm -> dense` with Adam over masked, packed batches (see ``TextBatch``).
package final class TextTrainer {
    package let configuration: TextTrainingConfiguration
    package let shape: TextModelShape
    /// The flat parameters (layout ``TextModelShape``).
    package private(set) var parameters: [Float]
    private var optimizer: AdamOptimizer
    private let engines: [TextLSTMEngine<Float>]
    /// The fused kernel variant (``FusedStep``).
    let kernel: KernelISA

    package init(configuration: TextTrainingConfiguration, classCount: Int, kernel: KernelISA = .detected) throws(TrainingError) {
        try configuration.validate()
        self.configuration = configuration
        let shape = TextModelShape(vocabularySize: configuration.vocabularyWords + TokenInput.firstWordID,
                                   embeddingSize: configuration.embeddingSize, hiddenSize: configuration.hiddenSize,
                                   classCount: classCount)
        self.shape = shape
        parameters = TextTrainer.initialParameters(shape, seed: configuration.seed)
        optimizer = AdamOptimizer(parameterCount: shape.parameterCount)
        self.kernel = kernel
        engines = (0..<configuration.threads).map { _ in TextLSTMEngine<Float>(shape: shape, kernel: kernel) }
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

    /// Runs the configured epochs over `data`; after each epoch evaluates `validation` and keeps the
    /// parameters of the best validation accuracy (the final ``parameters``).
    package func train(_ data: TokenizedTexts, validation: TokenizedTexts,
                      report: (TextEpochReport) -> Void = { _ in }) throws(TrainingError) {
        let c = configuration
        let stepsPerEpoch = max(1, (data.count + c.batchSize - 1) / c.batchSize)
        var totalSteps = stepsPerEpoch * c.epochs
        if c.maxSteps > 0 { totalSteps = min(totalSteps, c.maxSteps) }
        let plan = LearningRatePlan(base: c.learningRate, schedule: .cosine, totalSteps: totalSteps, warmupSteps: min(100, totalSteps / 10))
        var rng = Xoshiro256StarStar(seed: c.seed &+ 0x5EED)
        var order = Array(0..<data.count)
        var step = 0
        var best: (accuracy: Double, parameters: [Float])? = nil
        epochs: for epoch in 1...c.epochs {
            let start = DispatchTime.now().uptimeNanoseconds
            rng.shuffle(&order)
            var lossSum = 0.0, correct = 0, seen = 0
            for first in stride(from: 0, to: order.count, by: c.batchSize) {
                if step >= totalSteps { break }
                let indices = order[first..<min(first + c.batchSize, order.count)]
                let (loss, right, gradient) = lossAndGradient(data.subset(indices), step: step)
                guard loss.isFinite else { throw .diverged(step: step) }
                var g = gradient
                if c.clip > 0 { _ = clipGradientNorm(&g, maximum: c.clip) }
                optimizer.update(parameters: &parameters, gradient: g, learningRate: plan.rate(at: step))
                step += 1
                lossSum += loss; correct += right; seen += indices.count
            }
            let (vLoss, vAccuracy) = validation.count > 0 ? evaluate(validation) : (0, 0)
            report(TextEpochReport(epoch: epoch, steps: step, trainLoss: lossSum / Double(max(1, seen)),
                                   trainAccuracy: Double(correct) / Double(max(1, seen)), validationLoss: vLoss,
                                   validationAccuracy: vAccuracy,
                                   seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            if validation.count > 0, best.map({ vAccuracy > $0.accuracy }) ?? true { best = (vAccuracy, parameters) }
            if step >= totalSteps { break epochs }
        }
        if let best { parameters = best.parameters }
    }

    /// Mean loss, number correct and mean gradient over one batch, split across the workers.
    func lossAndGradient(_ batch: TokenizedTexts, step: Int = 0) -> (loss: Double, correct: Int, gradient: [Float]) {
        let c = configuration
        let workers = min(engines.count, batch.count)
        let per = (batch.count + workers - 1) / workers
        let scale = 1 / Float(batch.count)
        let results = ResultSlots<(Double, Int, [Float])>(count: workers)
        let params = parameters
        let shape = self.shape
        let engines = self.engines
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let range = (w * per)..<min((w + 1) * per, batch.count)
            let part = batch.subset(range)
            let packed = TextBatch(part.sequences)
            var grad = [Float](repeating: 0, count: shape.parameterCount)
            let engine = engines[w]
            if c.embeddingDropout > 0 || c.hiddenDropout > 0 {
                let seed = c.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step) &* 64 &+ UInt64(w)
                engine.dropout = (c.embeddingDropout, c.hiddenDropout, Xoshiro256StarStar(seed: seed))
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
        return (total.0, total.1, total.2)
    }

    /// Mean cross-entropy and accuracy of the current parameters on `data`.
    package func evaluate(_ data: TokenizedTexts) -> (loss: Double, accuracy: Double) {
        let predictions = TextTrainer.logits(parameters: parameters, shape: shape, sequences: data.sequences, threads: configuration.threads,
                                             kernel: kernel)
        var loss = 0.0, correct = 0
        let c = shape.classCount
        for i in 0..<data.count {
            let row = Array(predictions[(i * c)..<((i + 1) * c)]).map(Double.init)
            let m = row.max()!
            let lse = m + Double.logarithm(row.reduce(0) { $0 + Double.exponential($1 - m) })
            loss += lse - row[data.labels[i]]
            if row.firstIndex(of: m)! == data.labels[i] { correct += 1 }
        }
        return (loss / Double(max(1, data.count)), Double(correct) / Double(max(1, data.count)))
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

    /// The trained model as an `.rnnm` 1.1 file: tokens input -> embedding -> lstm -> dense.
    package func modelFile(tokens: TokenInput, labels: [String], provenance: Provenance) -> ModelFile {
        TextTrainer.modelFile(parameters: parameters, shape: shape, tokens: tokens, labels: labels, provenance: provenance)
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
    private var slots: [T?]
    private let lock = NSLockLike()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { lock.run { slots[i] = value } }
    func get(_ i: Int) -> T { lock.run { slots[i]! } }
}

/// A tiny mutex over a dispatch semaphore (Foundation is not imported by this module).
final class NSLockLike: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 1)
    func run<R>(_ body: () -> R) -> R { semaphore.wait(); defer { semaphore.signal() }; return body() }
}

/// A text data set tokenized for training: vocabulary from the training split only, a seeded
/// validation subset held out of it, and the test split.
package struct PreparedTextData: Sendable {
    package var train: TokenizedTexts
    package var validation: TokenizedTexts
    package var test: TokenizedTexts
    /// The pipeline to store in the model (spec §6.2.1).
    package var tokens: TokenInput
    package var classNames: [String]

    /// Builds the vocabulary from all training texts, tokenizes, and holds out `validationCount`
    /// training reviews chosen with `seed`. Sets `configuration.vocabularyWords` to the vocabulary's
    /// actual size (a small corpus may have fewer distinct words than asked for).
    package init(splits: TextDatasetSplits, configuration: inout TextTrainingConfiguration) {
        let vocabulary = TextVocabulary.build(from: splits.train.map(\.text), size: configuration.vocabularyWords)
        configuration.vocabularyWords = vocabulary.count
        tokens = TokenInput(tokenizer: .wordsV1, maxLength: configuration.maxLength, truncation: .start, vocabulary: vocabulary)
        let encoder = TokenEncoder(tokens)
        let all = TokenizedTexts(texts: splits.train.map(\.text), labels: splits.train.map { Int($0.label) }, encoder: encoder)
        var rng = Xoshiro256StarStar(seed: configuration.seed &+ 0xDA7A)
        var order = Array(0..<all.count)
        rng.shuffle(&order)
        let held = min(configuration.validationCount, max(0, all.count - 1))
        validation = all.subset(order[..<held])
        train = all.subset(order[held...].sorted())
        test = TokenizedTexts(texts: splits.test.map(\.text), labels: splits.test.map { Int($0.label) }, encoder: encoder)
        classNames = splits.classNames
    }
}
