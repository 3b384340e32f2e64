import RNNCore
import Testing
@testable import RNNTraining
import RNNFormat

// The embedding input stage of the one engine (texts): finite-difference checks of every
// parameter for each cell, direction, stacking and pooling with mixed lengths (an empty text
// included), dropout masks differentiated exactly, float32 against float64 per kernel, padding
// invariance, and the length-bucketed epoch order.

/// Token sequences of different lengths, including an empty one and repeated tokens (V = 7).
private let sequences: [[Int32]] = [[2, 3, 4, 5, 6], [1], [], [6, 6, 2], [3, 4, 1, 2, 5, 6, 1]]
private let labels = [1, 0, 1, 0, 1]

/// A tiny text network: V = 7 token ids, D = 3, H = 4, 2 classes.
private func textArchitecture(cell: RecurrentCell = .lstm, reset: GRUReset = .after, bidirectional: Bool = false,
                              layers: Int = 1, pooling: TimePooling = .last, classes: Int = 2) -> LSTMArchitecture {
    LSTMArchitecture(inputSize: 3, hiddenSize: 4, layerCount: layers, classCount: classes, cell: cell, gruReset: reset,
                     bidirectional: bidirectional, pooling: pooling, vocabularySize: 7)
}

/// Largest relative error of the analytic gradient against five-point central differences over
/// every parameter (as ``worstRelativeError(_:timeSteps:batch:seed:lengths:dropout:corrupt:)``).
private func worstTextGradientError(_ a: LSTMArchitecture, seed: UInt64,
                                    dropout: (rates: DropoutRates, seed: UInt64, step: Int)? = nil,
                                    corrupt: (inout [Double], ParameterLayout) -> Void = { _, _ in }) -> (Double, String, [Double]) {
    let p = randomTinyParameters(a, seed: seed)
    var analytic = tokenLossAndGradient(parameters: p, texts: sequences, labels: labels, dropout: dropout).gradient
    corrupt(&analytic, p.layout)
    let h = 1e-4
    func loss(_ delta: Double, _ k: Int) -> Double {
        var q = p
        q.values[k] += delta
        return tokenLossAndGradient(parameters: q, texts: sequences, labels: labels, dropout: dropout).loss
    }
    var worst = 0.0, name = ""
    for slot in p.layout.slots {
        for k in slot.range {
            let numeric = (-loss(2 * h, k) + 8 * loss(h, k) - 8 * loss(-h, k) + loss(-2 * h, k)) / (12 * h)
            let error = abs(analytic[k] - numeric) / max(abs(analytic[k]), abs(numeric), 1e-5)
            if error > worst { worst = error; name = "\(slot.name)[\(k - slot.offset)] analytic \(analytic[k]) numeric \(numeric)" }
        }
    }
    return (worst, name, analytic)
}

@Test(arguments: [
    ("lstm", textArchitecture()),
    ("gru after", textArchitecture(cell: .gru)),
    ("gru before, mean", textArchitecture(cell: .gru, reset: .before, pooling: .mean)),
    ("bilstm, mean", textArchitecture(bidirectional: true, pooling: .mean)),
    ("stacked bigru", textArchitecture(cell: .gru, bidirectional: true, layers: 2)),
    ("stacked lstm, 3 classes", textArchitecture(layers: 2, classes: 3)),
])
func everyTextGradientMatchesFiniteDifferences(_ name: String, _ a: LSTMArchitecture) {
    let (worst, place, gradient) = worstTextGradientError(a, seed: 3)
    #expect(worst < 1e-6, "\(name): worst \(worst) at \(place)")
    // Row 0 (padding) is never looked up, so its gradient is exactly zero; row 1 (OOV) is used.
    let table = a.layout.embedding!
    #expect((0..<3).allSatisfy { gradient[table.offset + $0] == 0 }, "\(name)")
    #expect((3..<6).contains { gradient[table.offset + $0] != 0 }, "\(name)")
}

@Test func aWrongEmbeddingGradientFailsTheCheck() {
    // The check has teeth: the embedding gradient scattered to the wrong row is caught by far.
    let (worst, _, _) = worstTextGradientError(textArchitecture(cell: .gru, bidirectional: true), seed: 3) { g, layout in
        let e = layout.embedding!
        for j in 0..<3 { g.swapAt(e.offset + 2 * 3 + j, e.offset + 3 * 3 + j) }
    }
    #expect(worst > 1e-2)
}

@Test func dropoutMasksOfTheEmbeddingStageAreDifferentiatedExactly() {
    // Same masks at every evaluation (seed and step fixed), so the loss is a smooth function of p.
    let rates = DropoutRates(input: 0.3, between: 0.25, output: 0.4)
    for a in [textArchitecture(layers: 2), textArchitecture(cell: .gru, bidirectional: true, layers: 2, pooling: .mean)] {
        let (worst, place, _) = worstTextGradientError(a, seed: 8, dropout: (rates, 4, 2))
        #expect(worst < 1e-6, "\(a.cell) bidirectional \(a.bidirectional): worst \(worst) at \(place)")
    }
}

@Test(arguments: [TimePooling.last, .mean, .max])
func paddingNeverChangesAPredictionAndAnEmptyTextGivesTheZeroState(_ pooling: TimePooling) {
    let a = LSTMArchitecture(inputSize: 4, hiddenSize: 8, classCount: 2, cell: .gru, bidirectional: true, pooling: pooling,
                             vocabularySize: 9)
    let p = randomTinyParameters(a, seed: 5).converted(to: Float.self)
    let short: [Int32] = [3, 7, 2]
    let alone = tokenLogits(parameters: p, texts: PackedTokens([short]))
    // The same text batched with longer ones, which pad it.
    let mixed = tokenLogits(parameters: p, texts: PackedTokens([[1, 2, 3, 4, 5, 6, 7, 8, 2, 3], short, [8, 8, 8, 8, 8]]))
    for k in 0..<2 { #expect(abs(mixed[2 + k] - alone[k]) <= 1e-6 * max(1, abs(alone[k])), "\(pooling)") }
    // One more step would change it: the comparison has teeth.
    let longer = tokenLogits(parameters: p, texts: PackedTokens([short + [0]]))
    #expect(abs(longer[0] - alone[0]) > 1e-4 || abs(longer[1] - alone[1]) > 1e-4)
    // An empty text: h = 0 (last) or y = 0 (pool), so the logits are dense_out's bias.
    let empty = tokenLogits(parameters: p, texts: PackedTokens([[], short]))
    let bias = Array(p.values[p.layout.denseOutBias.range])
    #expect(Array(empty[0..<2]) == bias, "\(pooling)")
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

/// The float32 engine (fused kernels where the hidden size allows) against the float64 one, which
/// the finite-difference checks verify: V = 11, D = 16, H = 16, mixed lengths down to 0. Tolerance
/// as for the image model (`float32AndFloat64GradientsAgree`).
@Test(arguments: [RecurrentCell.lstm, .gru])
func textFloat32GradientMatchesFloat64ForEveryKernel(_ cell: RecurrentCell) {
    let a = LSTMArchitecture(inputSize: 16, hiddenSize: 16, classCount: 2, cell: cell, bidirectional: true, pooling: .mean,
                             vocabularySize: 11)
    var p64 = LSTMParameters<Double>(architecture: a, seed: 5)
    var rng = Xoshiro256StarStar(seed: 6)
    for i in p64.values.indices { p64.values[i] += rng.nextDouble(in: -0.3, 0.3) }
    let p32 = p64.converted(to: Float.self)
    let texts: [[Int32]] = (0..<13).map { k in (0..<(k * 3 % 17)).map { Int32(($0 * 7 + k) % 11) } }
    let textLabels = texts.indices.map { $0 % 2 }
    let g64 = tokenLossAndGradient(parameters: p64, texts: texts, labels: textLabels, kernel: .none).gradient
    for kernel in [KernelISA.none] + KernelISA.supported {
        let g32 = tokenLossAndGradient(parameters: p32, texts: texts, labels: textLabels, kernel: kernel).gradient
        for slot in a.layout.slots {
            let scale = slot.range.map { abs(g64[$0]) }.max()!
            let worst = slot.range.map { abs(Double(g32[$0]) - g64[$0]) }.max()!
            #expect(scale > 0 && worst <= 1e-4 * scale, "\(cell) kernel \(kernel.rawValue), \(slot.name): |f32 - f64| \(worst), |f64| \(scale)")
        }
    }
}

@Test func packedTokensKeepEverySequenceAndSortChunksByLength() {
    let packed = PackedTokens([[1, 2], [], [3, 4, 5], [6, 7]])
    #expect(packed.count == 4 && packed.longest == 3 && packed.ids == [1, 2, 3, 4, 5, 6, 7] && packed.offsets == [0, 2, 2, 5, 7])
    // Chunks of 3 in the given order, each longest first, ties in index order.
    #expect(packed.lengthSortedChunks([1, 0, 3, 2], chunk: 3) == [[0, 3, 1], [2]])
}
