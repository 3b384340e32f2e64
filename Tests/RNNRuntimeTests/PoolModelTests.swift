import RNNCore
import RNNFormat
import RNNRuntime
import RNNTestSupport
import Testing

/// Format 1.3 pooled models (spec §6.1 `pool`: mean or max over each sequence's own steps) through
/// the runtime against the float64 ``ReferenceModel``, on every kernel variant, block size and
/// thread count, with sequences of different lengths packed together.
///
/// Tolerance: ``SequenceModelTests/tolerance`` (`2e-5 + 2e-5 |y|`). The pool adds, for the mean,
/// the binary32 summation error of `T` rows with `|h| < 1` (below `(T - 1) 2^-24` after dividing by
/// `T`, at most 1.8e-6 for `T = 30`) and one rounded division; the max is exact. The dense layers
/// after it have weights in `±1/sqrt(fan-in)`, so they do not amplify it beyond a few 1e-6. A runtime
/// that counted padded steps, pooled the wrong half of a bidirectional row or divided by the longest
/// length misses by 1e-2 or more (the sequences of one block have lengths 1 ... max).
@Suite struct PoolModelTests {
    static let cases: [(name: String, model: ModelFile)] = [
        ("gru + mean", randomModel(height: 0, width: 0, layers: [.gru(hidden: 20, returns: .sequence), .pool(.mean), .dense(out: 5, activation: .none)],
                                   seed: 51, features: FeatureInputSpec(width: 12, maxLength: 29))),
        ("lstm + max", randomModel(height: 0, width: 0, layers: [.lstm(hidden: 16, returns: .sequence), .pool(.max), .dense(out: 4, activation: .none)],
                                   seed: 52, features: FeatureInputSpec(width: 6, maxLength: 17))),
        ("bidirectional lstm + mean", randomModel(height: 0, width: 0, layers: [.lstm(hidden: 13, returns: .sequence, bidirectional: true), .pool(.mean),
                                                                                .dense(out: 3, activation: .none)],
                                                  seed: 53, features: FeatureInputSpec(width: 5, maxLength: 20))),
        ("bidirectional gru + max", randomModel(height: 0, width: 0, layers: [.gru(hidden: 11, returns: .sequence, reset: .before, bidirectional: true),
                                                                              .pool(.max), .dense(out: 6, activation: .none)],
                                                seed: 54, features: FeatureInputSpec(width: 7, maxLength: 25))),
        ("stacked lstm -> bigru + mean, dense head", randomModel(height: 0, width: 0, layers: [
            .dense(out: 10, activation: .none), .lstm(hidden: 24, returns: .sequence),
            .gru(hidden: 12, returns: .sequence, bidirectional: true), .pool(.mean),
            .dense(out: 7, activation: .relu), .dense(out: 5, activation: .none)],
            seed: 55, features: FeatureInputSpec(width: 8, maxLength: 15))),
        // The pool as the last layer: 2H = 6 values per sequence from padded rows [hf | pad | hb | pad].
        ("bidirectional gru + max as the last layer, values", randomModel(height: 0, width: 0, layers: [
            .gru(hidden: 3, returns: .sequence, bidirectional: true), .pool(.max)],
            seed: 56, features: FeatureInputSpec(width: 4, maxLength: 12), output: .values)),
    ]

    @Test(arguments: cases.indices)
    func runtimeMatchesTheFloat64ReferenceOnEveryVariant(_ index: Int) throws {
        let (name, file) = Self.cases[index]
        #expect(!file.metadata.outputsPerStep, "\(name): one output per sequence")
        try SequenceModelTests.expectRuntimeMatchesTheReference(name, file, inputSeed: UInt64(200 + index), tag: "1.3")
    }

    @Test func anImageRowsPooledModelMatchesTheReference() throws {
        try SequenceModelTests.expectImageModelMatchesTheReference(
            randomModel(height: 28, width: 28, layers: [.lstm(hidden: 32, returns: .sequence), .pool(.mean), .dense(out: 10, activation: .none)], seed: 57),
            inputSeed: 58)
    }

    @Test func paddingNeverCounts() throws {
        // The same sequences as padded [N, T, F] arrays (padding NaN: never read, bit for bit the same).
        let file = Self.cases[2].model
        let model = try Model(file)
        let inputs = SequenceModelTests.sequences(for: file, count: 9, seed: 7)
        let steps = 20, width = 5
        var padded = [Float](repeating: .nan, count: inputs.count * steps * width)
        for (i, s) in inputs.enumerated() { for (k, v) in s.enumerated() { padded[i * steps * width + k] = v } }
        let together = try model.classify(sequences: inputs)
        let fromPadded = try padded.withUnsafeBufferPointer {
            try model.classify(paddedSequences: $0, steps: steps, lengths: inputs.map { $0.count / width })
        }
        #expect(together.logits == fromPadded.logits)
        // Alone, a sequence is its block's longest: nothing around it to count. (A block of one runs
        // other GEMM shapes, so agreement is to binary32 rounding, not bit for bit; counting padding
        // would move the outputs by 1e-2 or more.)
        for (i, s) in inputs.enumerated() {
            let alone = try model.classify(sequences: [s]).logits
            for k in 0..<3 {
                #expect(abs(alone[k] - together.logits[i * 3 + k]) <= 1e-5, "sequence \(i) alone, output \(k)")
            }
        }
    }

    /// A tokens model (the embedding folded into the first LSTM's input projection) with a pool equals
    /// the features model of its embedding rows; an empty text (T = 0) pools to 0 (spec §6.1), so its
    /// outputs are the dense layer's bias.
    @Test(arguments: [PoolMode.mean, .max])
    func aPooledTokensModelEqualsTheFeaturesModelOfItsEmbeddingRows(_ mode: PoolMode) throws {
        let features = randomModel(height: 0, width: 0, layers: [.lstm(hidden: 12, returns: .sequence), .pool(mode), .dense(out: 2, activation: .none)],
                                   seed: 59, features: FeatureInputSpec(width: 4, maxLength: 9, standardize: false))
        let (text, table) = tokensModel(from: features, vocabulary: ["good", "bad", "film", "plot"], maxLength: 9, seed: 60)
        let sequences: [[Int32]] = [[2, 3, 4], [5], [1, 1, 2, 3, 4, 5, 2, 3, 4], [3, 2]]
        for options in [ClassifyOptions(), ClassifyOptions(kernel: .portable)] {
            let viaTokens = try Model(text).classify(tokenSequences: sequences + [[]], options: options)
            let rows = sequences.map { $0.flatMap { Array(table[(Int($0) * 4)..<(Int($0) * 4 + 4)]) } }
            let viaFeatures = try Model(features).classify(sequences: rows, options: options)
            for (a, b) in zip(viaTokens.logits, viaFeatures.logits) { #expect(abs(a - b) <= 1e-6) }
            let bias = try #require(text.tensor(named: "dense2.bias")).floatValues()
            #expect(Array(viaTokens.logits.suffix(2)) == bias, "the empty text pools to 0")
        }
    }

    @Test func aPooledModelDoesNotStream() throws {
        for (name, file) in Self.cases where !file.metadata.hasBidirectionalLayer {
            do {
                _ = try Model(file).makeStream()
                Issue.record("\(name): a pooled model opened a stream")
            } catch {
                guard case .notStreamable(let reason) = error else { Issue.record("\(name): \(error)"); continue }
                #expect(reason.contains("pool"), "\(name): \(reason)")
            }
        }
    }
}
