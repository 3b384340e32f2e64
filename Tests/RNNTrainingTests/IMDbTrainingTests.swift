import RNNCore
import Testing
@testable import RNNTraining
import RNNFormat

/// Tiny random text model for gradient checks: V = 7, D = 3, H = 4, 2 classes.
private let shape = TextModelShape(vocabularySize: 7, embeddingSize: 3, hiddenSize: 4, classCount: 2)

/// Sequences of different lengths, including an empty one and repeated tokens.
private let sequences: [[Int32]] = [[2, 3, 4, 5, 6], [1], [], [6, 6, 2], [3, 4, 1, 2, 5, 6, 1]]
private let labels = [1, 0, 1, 0, 1]

/// Mean cross-entropy of `p` in float64 (the quantity the gradient is taken of).
private func loss(_ p: [Double]) -> Double {
    let engine = TextLSTMEngine<Double>(shape: shape)
    let batch = TextBatch(sequences)
    let logits = p.withUnsafeBufferPointer { engine.forward($0.baseAddress!, batch) }
    return TextLSTMEngine<Double>.crossEntropy(logits, batch, labels: labels, classes: 2, scale: 1).loss / Double(labels.count)
}

@Test func textLSTMGradientMatchesFiniteDifferencesForEveryParameter() {
    var p: [Double] = TextTrainer.initialParameters(shape, seed: 3)
    // Larger weights than the initializer gives, so that every gate is away from its linear regime.
    var rng = Xoshiro256StarStar(seed: 9)
    for i in p.indices { p[i] += rng.nextDouble(in: -0.5, 0.5) }
    let engine = TextLSTMEngine<Double>(shape: shape)
    let batch = TextBatch(sequences)
    var grad = [Double](repeating: 0, count: shape.parameterCount)
    p.withUnsafeBufferPointer { pp in
        let logits = engine.forward(pp.baseAddress!, batch)
        let ce = TextLSTMEngine<Double>.crossEntropy(logits, batch, labels: labels, classes: 2, scale: 1 / Double(labels.count))
        grad.withUnsafeMutableBufferPointer { engine.backward(pp.baseAddress!, batch, dLogits: ce.dLogits, grad: $0.baseAddress!) }
    }
    var worst = 0.0
    for i in p.indices {
        // Five-point central difference (error O(h^4)).
        func at(_ delta: Double) -> Double { var q = p; q[i] += delta; return loss(q) }
        let h = 1e-4
        let numeric = (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h)
        let relative = abs(numeric - grad[i]) / max(abs(numeric), abs(grad[i]), 1e-5)
        worst = max(worst, relative)
    }
    #expect(worst < 1e-6, "worst relative gradient error \(worst)")
    // Row 0 (padding) is never looked up, so its gradient is exactly zero; row 1 (OOV) is used.
    #expect((0..<3).allSatisfy { grad[shape.embedding + $0] == 0 })
    #expect((3..<6).contains { grad[shape.embedding + $0] != 0 })
}

@Test func paddingNeverChangesAPrediction() {
    let p: [Float] = TextTrainer.initialParameters(TextModelShape(vocabularySize: 9, embeddingSize: 4, hiddenSize: 8, classCount: 2), seed: 5)
    let s = TextModelShape(vocabularySize: 9, embeddingSize: 4, hiddenSize: 8, classCount: 2)
    let short: [Int32] = [3, 7, 2]
    let alone = TextTrainer.logits(parameters: p, shape: s, sequences: [short], threads: 1)
    // The same sequence batched with much longer ones (which pad it in any dense layout).
    let mixed = TextTrainer.logits(parameters: p, shape: s, sequences: [[1, 2, 3, 4, 5, 6, 7, 8, 2, 3], short, [8, 8, 8, 8, 8]], threads: 1)
    #expect(Array(mixed[2..<4]) == alone)
    // An empty review gives h = 0: the logits are the output bias.
    let empty = TextTrainer.logits(parameters: p, shape: s, sequences: [[]], threads: 1)
    #expect(empty == Array(p[s.outputBias..<(s.outputBias + 2)]))
}

@Test func packedBatchSortsLongestFirstAndCountsActiveRows() {
    let b = TextBatch([[1, 2], [], [3, 4, 5], [6, 7]])
    #expect(b.order == [2, 0, 3, 1])
    #expect(b.active == [3, 3, 1])
    #expect(b.offsets == [0, 3, 6])
    #expect(b.tokens == [3, 1, 6, 4, 2, 7, 5])
}

@Test func vocabularyIsMostFrequentFirstWithTiesInByteOrder() {
    let words = TextVocabulary.build(from: ["b a c", "a <br />b", "z y"], size: 4)
    #expect(words == ["a", "b", "c", "y"])
}

@Test func vocabularyCountsWordsByTheirBytesAsTheEncoderLooksThemUp() {
    // Swift's String == calls the two spellings equal; spec §6.2.1 and the encoder do not.
    let precomposed = "caf\u{E9}", decomposed = "cafe\u{301}"
    let words = TextVocabulary.build(from: ["\(precomposed) \(decomposed) \(precomposed)"], size: 5)
    #expect(words.map { Array($0.utf8) } == [Array(precomposed.utf8), Array(decomposed.utf8)])
}

@Test func dropoutMasksAreDifferentiatedExactly() {
    // Same masks in every evaluation (same generator seed), so the loss is a smooth function of p.
    func run(_ p: [Double], gradient: Bool) -> (Double, [Double]) {
        let engine = TextLSTMEngine<Double>(shape: shape)
        engine.dropout = (0.3, 0.4, Xoshiro256StarStar(seed: 4))
        let batch = TextBatch(sequences)
        var grad = [Double](repeating: 0, count: shape.parameterCount)
        var value = 0.0
        p.withUnsafeBufferPointer { pp in
            let logits = engine.forward(pp.baseAddress!, batch)
            let ce = TextLSTMEngine<Double>.crossEntropy(logits, batch, labels: labels, classes: 2, scale: 1 / Double(labels.count))
            value = ce.loss / Double(labels.count)
            if gradient { grad.withUnsafeMutableBufferPointer { engine.backward(pp.baseAddress!, batch, dLogits: ce.dLogits, grad: $0.baseAddress!) } }
        }
        return (value, grad)
    }
    var p: [Double] = TextTrainer.initialParameters(shape, seed: 8)
    var rng = Xoshiro256StarStar(seed: 2)
    for i in p.indices { p[i] += rng.nextDouble(in: -0.5, 0.5) }
    let analytic = run(p, gradient: true).1
    var worst = 0.0
    for i in p.indices {
        func at(_ delta: Double) -> Double { var q = p; q[i] += delta; return run(q, gradient: false).0 }
        let h = 1e-4
        let numeric = (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h)
        worst = max(worst, abs(numeric - analytic[i]) / max(abs(numeric), abs(analytic[i]), 1e-5))
    }
    #expect(worst < 1e-6, "worst relative gradient error \(worst)")
}

/// The float32 text engine (fused forward kernel; on AVX-512 also the backward product kernel) against
/// the float64 one, which the finite-difference check above verifies: V = 11, D = 16, H = 16 (sizes at
/// which the kernels apply), mixed lengths down to 0 so that the running rows shrink step by step.
/// Tolerance as for the image model (`float32AndFloat64GradientsAgree`).
@Test func textEngineFloat32GradientMatchesFloat64ForEveryKernel() {
    let wide = TextModelShape(vocabularySize: 11, embeddingSize: 16, hiddenSize: 16, classCount: 2)
    var p64: [Double] = TextTrainer.initialParameters(wide, seed: 5)
    var rng = Xoshiro256StarStar(seed: 6)
    for i in p64.indices { p64[i] += rng.nextDouble(in: -0.3, 0.3) }
    let p32 = p64.map(Float.init)
    let texts: [[Int32]] = (0..<13).map { k in (0..<(k * 3 % 17)).map { Int32(($0 * 7 + k) % 11) } }
    let textLabels = texts.indices.map { $0 % 2 }
    let batch = TextBatch(texts)
    func gradient<S: TrainingScalar>(_ p: [S], kernel: KernelISA) -> [S] {
        let engine = TextLSTMEngine<S>(shape: wide, kernel: kernel)
        var grad = [S](repeating: 0, count: wide.parameterCount)
        p.withUnsafeBufferPointer { pp in
            let logits = engine.forward(pp.baseAddress!, batch)
            let ce = TextLSTMEngine<S>.crossEntropy(logits, batch, labels: textLabels, classes: 2, scale: 1 / S(texts.count))
            grad.withUnsafeMutableBufferPointer { engine.backward(pp.baseAddress!, batch, dLogits: ce.dLogits, grad: $0.baseAddress!) }
        }
        return grad
    }
    let g64 = gradient(p64, kernel: .none)
    let slots = [("embedding", wide.embedding..<wide.inputWeights), ("w_ih", wide.inputWeights..<wide.recurrentWeights),
                 ("w_hh", wide.recurrentWeights..<wide.gateBias), ("bias", wide.gateBias..<wide.outputWeights),
                 ("dense", wide.outputWeights..<wide.parameterCount)]
    for kernel in KernelISA.supported {
        #expect(TextLSTMEngine<Float>(shape: wide, kernel: kernel).kernel == kernel)
        let g32 = gradient(p32, kernel: kernel)
        for (name, range) in slots {
            let scale = range.map { abs(g64[$0]) }.max()!
            let worst = range.map { abs(Double(g32[$0]) - g64[$0]) }.max()!
            #expect(scale > 0 && worst <= 1e-4 * scale, "kernel \(kernel.rawValue), \(name): |f32 - f64| \(worst), |f64| \(scale)")
        }
    }
}
