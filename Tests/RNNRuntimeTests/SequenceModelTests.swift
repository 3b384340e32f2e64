import Dispatch
import RNNCore
import RNNFormat
import RNNRuntime
import RNNTestSupport
import Testing

/// Format 1.2 models through the runtime (GRU with either reset, bidirectional layers, feature
/// sequences of different lengths, per-step and real-valued outputs) against the float64
/// ``ReferenceModel``, on every kernel variant, block size and thread count.
///
/// Tolerance: `2e-5 + 2e-5 |y|`. The runtime is binary32 with polynomial activations (error
/// < 1e-6 each); these random models have 3 - 30 steps and hidden sizes up to 24, so by the
/// argument of Tests/GoldenTests/Tolerance.swift (`T √K u S` plus `T x 1e-6`) the expected error
/// is a few 1e-6; the measured maximum is printed. A deliberately wrong runtime (reset gate
/// applied before instead of after, backward direction not reversed, standardization skipped)
/// misses by 1e-2 or more (checked by hand when these tests were written).
@Suite struct SequenceModelTests {
    static let tolerance = 2e-5

    /// Architectures covering every new piece, with the input each reads.
    static let cases: [(name: String, model: ModelFile)] = [
        ("gru after", randomModel(height: 0, width: 0, layers: [.gru(hidden: 20, returns: .last), .dense(out: 9, activation: .none)],
                                  seed: 1, features: FeatureInputSpec(width: 12, maxLength: 29))),
        ("gru before", randomModel(height: 0, width: 0, layers: [.gru(hidden: 16, returns: .last, reset: .before), .dense(out: 4, activation: .none)],
                                   seed: 2, features: FeatureInputSpec(width: 6, maxLength: 17))),
        ("gru before, no b_hh", randomModel(height: 0, width: 0, layers: [.gru(hidden: 13, returns: .last, reset: .before, hiddenBias: false), .dense(out: 3, activation: .none)],
                                            seed: 3, features: FeatureInputSpec(width: 5, maxLength: 9, standardize: false))),
        ("bidirectional lstm", randomModel(height: 0, width: 0, layers: [.lstm(hidden: 16, returns: .last, bidirectional: true), .dense(out: 9, activation: .none)],
                                           seed: 4, features: FeatureInputSpec(width: 12, maxLength: 29))),
        ("bidirectional gru", randomModel(height: 0, width: 0, layers: [.gru(hidden: 13, returns: .last, bidirectional: true), .dense(out: 4, activation: .none)],
                                          seed: 5, features: FeatureInputSpec(width: 6, maxLength: 20))),
        ("stacked mixture", randomModel(height: 0, width: 0, layers: [
            .dense(out: 10, activation: .none),
            .lstm(hidden: 24, returns: .sequence), .gru(hidden: 12, returns: .sequence, bidirectional: true),
            .lstm(hidden: 9, returns: .sequence, bidirectional: true), .gru(hidden: 16, returns: .last, reset: .before),
            .dense(out: 7, activation: .relu), .dense(out: 5, activation: .none)],
            seed: 6, features: FeatureInputSpec(width: 8, maxLength: 15))),
        ("per-step gru", randomModel(height: 0, width: 0, layers: [.gru(hidden: 16, returns: .sequence), .dense(out: 3, activation: .none)],
                                     seed: 7, features: FeatureInputSpec(width: 4, maxLength: 12))),
        ("per-step bidirectional lstm", randomModel(height: 0, width: 0, layers: [.lstm(hidden: 8, returns: .sequence, bidirectional: true), .dense(out: 3, activation: .tanh)],
                                                    seed: 8, features: FeatureInputSpec(width: 4, maxLength: 12))),
        ("regression lstm", randomModel(height: 0, width: 0, layers: [.lstm(hidden: 16, returns: .last), .dense(out: 2, activation: .none)],
                                        seed: 9, features: FeatureInputSpec(width: 6, maxLength: 30), output: .values)),
    ]

    /// `count` random sequences of lengths 1 ... maxLength (both ends included), values around the
    /// model's scale with a few large ones.
    static func sequences(for model: ModelFile, count: Int, seed: UInt64) -> [[Float]] {
        let input = model.metadata.input
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let length = i == 0 ? 1 : i == 1 ? input.timeSteps : 1 + Int(rng.next() % UInt64(input.timeSteps))
            return (0..<(length * input.width)).map { _ in rng.uniform(3) * (rng.next() % 17 == 0 ? 4 : 1) }
        }
    }

    static let runs: [(String, ClassifyOptions)] = [
        ("portable", ClassifyOptions(kernel: .portable)),
        ("automatic", ClassifyOptions()),
        ("automatic, block 1", ClassifyOptions(blockSize: 1)),
        ("portable, block 5, 2 threads", ClassifyOptions(threads: 2, blockSize: 5, kernel: .portable)),
        ("automatic, block 7, 2 threads", ClassifyOptions(threads: 2, blockSize: 7)),
    ]

    @Test(arguments: cases.indices)
    func runtimeMatchesTheFloat64ReferenceOnEveryVariant(_ index: Int) throws {
        let (name, file) = Self.cases[index]
        try Self.expectRuntimeMatchesTheReference(name, file, inputSeed: UInt64(100 + index), tag: "1.2")
    }

    /// 23 random sequences of lengths 1 ... max through `file`, on every run of ``runs``, against
    /// ``ReferenceModel`` within ``tolerance`` (one output row per sequence, or one per step).
    static func expectRuntimeMatchesTheReference(_ name: String, _ file: ModelFile, inputSeed: UInt64, tag: String) throws {
        let model = try Model(file)
        let inputs = sequences(for: file, count: 23, seed: inputSeed)
        let expected = try ReferenceModel(file).outputs(sequences: inputs)
        for (runName, options) in runs {
            let result = try model.classify(sequences: inputs, options: options)
            #expect(result.count == inputs.count)
            #expect(result.output == file.metadata.output)
            var worst = 0.0
            for i in inputs.indices {
                let got = result.outputs(of: i)
                #expect(got.count == expected[i].count, "\(name) [\(runName)] sequence \(i): \(got.count) output rows, expected \(expected[i].count)")
                for (row, values) in zip(got, expected[i]) {
                    for (a, e) in zip(row, values) {
                        let error = abs(Double(a) - e)
                        worst = max(worst, error)
                        #expect(error <= tolerance * (1 + abs(e)), "\(name) [\(runName)] sequence \(i): \(a) vs \(e)")
                    }
                }
            }
            print("[\(tag)] \(name) [\(runName)]: max |runtime - reference| \(worst)")
        }
    }

    @Test func anImageRowsGRUMatchesTheReference() throws {
        try Self.expectImageModelMatchesTheReference(
            randomModel(height: 28, width: 28, layers: [.gru(hidden: 32, returns: .last), .dense(out: 10, activation: .none)], seed: 11),
            inputSeed: 12)
    }

    /// 13 random 28 x 28 images through a 10-output image-rows model, on every run of ``runs``,
    /// against ``ReferenceModel`` within ``tolerance``.
    static func expectImageModelMatchesTheReference(_ file: ModelFile, inputSeed: UInt64) throws {
        var rng = SplitMix64(seed: inputSeed)
        let pixels = rng.bytes(13 * 784)
        let expected = try ReferenceModel(file).logits(pixels: pixels)
        for (runName, options) in runs {
            let result = try Model(file).classify(pixels: pixels, options: options)
            for i in 0..<13 {
                for k in 0..<10 {
                    #expect(abs(Double(result.logits[i * 10 + k]) - expected[i][k]) <= tolerance * (1 + abs(expected[i][k])), "\(runName) image \(i)")
                }
            }
        }
    }

    @Test func paddedArraysGiveTheSameOutputsAsSequences() throws {
        let file = Self.cases[3].model
        let model = try Model(file)
        let inputs = Self.sequences(for: file, count: 9, seed: 5)
        let steps = 29, width = 12
        var padded = [Float](repeating: .nan, count: inputs.count * steps * width)   // padding is never read
        for (i, s) in inputs.enumerated() { for (k, v) in s.enumerated() { padded[i * steps * width + k] = v } }
        let a = try model.classify(sequences: inputs)
        let b = try padded.withUnsafeBufferPointer { try model.classify(paddedSequences: $0, steps: steps, lengths: inputs.map { $0.count / width }) }
        #expect(a.logits == b.logits)
    }

    @Test func badFeatureInputGetsOneLineErrors() throws {
        let model = try Model(Self.cases[0].model)   // F = 12, max_length 29
        #expect(throws: RuntimeError.sequenceLength(index: 1, length: 0, maxLength: 29)) {
            try model.classify(sequences: [[Float](repeating: 0, count: 12), []])
        }
        #expect(throws: RuntimeError.sequenceLength(index: 0, length: 30, maxLength: 29)) {
            try model.classify(sequences: [[Float](repeating: 0, count: 12 * 30)])
        }
        #expect(throws: RuntimeError.nonFiniteInput(index: 0, step: 1, feature: 2, value: .infinity)) {
            var s = [Float](repeating: 0, count: 24)
            s[14] = .infinity
            return try model.classify(sequences: [s])
        }
        do {
            _ = try model.classify(sequences: [[Float](repeating: 0, count: 13)])
            Issue.record("13 values for 12 features was accepted")
        } catch {
            #expect("\(error)".hasPrefix("expected 12 features per step, found 13"), "\(error)")
        }
        #expect(throws: RuntimeError.inputKindMismatch(model: .features, given: .imageRows)) {
            try model.classify(pixels: [UInt8](repeating: 0, count: 12))
        }
        let image = try Model(randomModel(height: 4, width: 3, layers: [.lstm(hidden: 8, returns: .last), .dense(out: 2, activation: .none)], seed: 1))
        #expect(throws: RuntimeError.inputKindMismatch(model: .imageRows, given: .features)) {
            try image.classify(sequences: [[0, 0, 0]])
        }
    }

    // MARK: Streams

    /// Every streamable case: stepping a sequence one step at a time gives, after each step, the
    /// output of classifying the prefix whole (a per-step model: that step's output). Tolerance
    /// 1e-5: both run the same kernels; only the portable path's GEMM shapes differ.
    @Test(arguments: [0, 1, 2, 5, 6, 8].filter { !SequenceModelTests.cases[$0].model.metadata.hasBidirectionalLayer })
    func steppingAStreamMatchesClassifyingTheWholePrefix(_ index: Int) throws {
        let (name, file) = Self.cases[index]
        let model = try Model(file)
        let width = file.metadata.input.width
        for options in [ClassifyOptions(), ClassifyOptions(kernel: .portable)] {
            // Three streams stepped together, each its own sequence (equal lengths so they step together).
            let length = file.metadata.input.timeSteps
            let inputs = (0..<3).map { s in Self.sequences(for: file, count: 2, seed: UInt64(40 + s))[1] }
            let stream = try model.makeStream(count: 3, options: options)
            var worst = 0.0
            for t in 0..<length {
                let step = inputs.flatMap { Array($0[(t * width)..<((t + 1) * width)]) }
                let outputs = try stream.step(step)
                let prefixes = inputs.map { Array($0[0..<((t + 1) * width)]) }
                let whole = try model.classify(sequences: prefixes, options: options)
                for s in 0..<3 {
                    let expected = whole.outputs(of: s).last!
                    for k in 0..<stream.outputCount {
                        let error = abs(Double(outputs[s * stream.outputCount + k]) - Double(expected[k]))
                        worst = max(worst, error)
                        #expect(error <= 1e-5, "\(name) stream \(s) step \(t) output \(k)")
                    }
                }
            }
            #expect(stream.steps(stream: 2) == length)
            print("[stream] \(name): max |step-by-step - whole| \(worst)")
        }
    }

    @Test func anImageRowModelStreamsOneRowPerStep() throws {
        let file = randomModel(height: 6, width: 5, layers: [.lstm(hidden: 12, returns: .last), .dense(out: 3, activation: .none)], seed: 21)
        let model = try Model(file)
        var rng = SplitMix64(seed: 22)
        let image = rng.bytes(30)
        let stream = try model.makeStream()
        var last: [Float] = []
        for row in 0..<6 { last = try stream.step(pixels: Array(image[(row * 5)..<((row + 1) * 5)])) }
        let whole = try model.classify(pixels: image)
        for k in 0..<3 { #expect(abs(last[k] - whole.logits[k]) <= 1e-5) }
        // Unbounded: a stream may run past the image height.
        for _ in 0..<50 { _ = try stream.step(pixels: [UInt8](repeating: 7, count: 5)) }
        #expect(stream.steps() == 56)
    }

    @Test func aSavedStateRestoresTheStreamExactly() throws {
        let file = Self.cases[5].model   // stacked: lstm, gru, lstm, gru — but bidirectional layers refuse streams
        #expect(throws: RuntimeError.self) { try Model(file).makeStream() }
        let model = try Model(Self.cases[0].model)
        let width = 12
        let inputs = Self.sequences(for: Self.cases[0].model, count: 2, seed: 9)[1]
        let uninterrupted = try model.makeStream()
        var expected: [Float] = []
        for t in 0..<29 { expected = try uninterrupted.step(Array(inputs[(t * width)..<((t + 1) * width)])) }

        let first = try model.makeStream(count: 2)
        for t in 0..<10 {
            _ = try first.step(Array(inputs[(t * width)..<((t + 1) * width)]) + [Float](repeating: 0, count: width))
        }
        let saved = first.state(stream: 0)
        #expect(saved.count == first.stateSize && first.stateSize == 20)
        // A different stream object (a stateless server's next request) continues from the state.
        let second = try model.makeStream(count: 3)
        try second.restore(saved, stream: 1)
        var got: [Float] = []
        for t in 10..<29 {
            let step = [Float](repeating: 0, count: width) + Array(inputs[(t * width)..<((t + 1) * width)]) + [Float](repeating: 0, count: width)
            got = Array(try second.step(step)[9..<18])
        }
        // The same steps on the same state; only the number of rows per call differs (1, 2, 3). The
        // step kernels compute a row the same way whatever the rows around it, so the states are
        // equal bit for bit; the dense head is a BLAS product whose kernel depends on the row count.
        #expect(second.state(stream: 1) == uninterrupted.state())
        for (a, e) in zip(got, expected) { #expect(abs(a - e) <= 1e-6, "restored \(a), uninterrupted \(e)") }
        second.reset(stream: 1)
        #expect(second.state(stream: 1).allSatisfy { $0 == 0 })
        #expect(throws: RuntimeError.stateSizeMismatch(expected: 20, found: 3)) { try second.restore([1, 2, 3]) }
    }

    @Test func streamsRefuseWhatTheyCannotRunAndBadSteps() throws {
        #expect(throws: RuntimeError.self) { try Model(Self.cases[3].model).makeStream() }   // bidirectional
        let model = try Model(Self.cases[0].model)
        let stream = try model.makeStream()
        #expect(throws: RuntimeError.self) { try stream.step([1, 2, 3]) }
        var bad = [Float](repeating: 0, count: 12)
        bad[4] = .nan
        do {
            _ = try stream.step(bad)
            Issue.record("a NaN feature was accepted")
        } catch {
            #expect("\(error)" == "sequence 0, step 0, feature 4: expected a finite number, found nan")
        }
        #expect(throws: RuntimeError.inputKindMismatch(model: .features, given: .imageRows)) { try stream.step(pixels: [UInt8](repeating: 0, count: 12)) }
        #expect(stream.steps() == 0)
    }

    /// Many threads stepping one shared stream: calls are serialized, so the final state equals
    /// some sequential order of the same steps; with identical steps every order is the same.
    /// (Run under ThreadSanitizer by `make tsan`.)
    @Test func aStreamSharedBetweenThreadsStaysConsistent() throws {
        let model = try Model(Self.cases[1].model)
        let shared = try model.makeStream(count: 2)
        let step = [Float](repeating: 0.25, count: 12)
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<25 { _ = try? shared.step(step) }
        }
        let sequential = try model.makeStream(count: 2)
        for _ in 0..<200 { _ = try sequential.step(step) }
        #expect(shared.steps() == 200)
        #expect(shared.state(stream: 1) == sequential.state(stream: 1))
    }
}

/// A text model whose recurrent layer is a GRU or a bidirectional LSTM (format 1.2 layers behind a
/// 1.1 `tokens` input) gives what the same layers give as a features model fed the embedding rows.
@Suite struct TokenSequenceModelTests {
    @Test(arguments: [false, true])
    func aTokensModelEqualsTheFeaturesModelOfItsEmbeddingRows(_ bidirectional: Bool) throws {
        let features = randomModel(height: 0, width: 0,
                                   layers: [bidirectional ? .lstm(hidden: 6, returns: .last, bidirectional: true) : .gru(hidden: 12, returns: .last),
                                            .dense(out: 2, activation: .none)],
                                   seed: 51, features: FeatureInputSpec(width: 4, maxLength: 9, standardize: false))
        let (text, table) = tokensModel(from: features, vocabulary: ["good", "bad", "film", "plot"], maxLength: 9, seed: 52)
        let sequences: [[Int32]] = [[2, 3, 4], [5], [1, 1, 2, 3, 4, 5, 2, 3, 4], [3, 2]]
        for options in [ClassifyOptions(), ClassifyOptions(kernel: .portable)] {
            let viaTokens = try Model(text).classify(tokenSequences: sequences, options: options)
            let rows = sequences.map { $0.flatMap { Array(table[(Int($0) * 4)..<(Int($0) * 4 + 4)]) } }
            let viaFeatures = try Model(features).classify(sequences: rows, options: options)
            for (a, b) in zip(viaTokens.logits, viaFeatures.logits) { #expect(abs(a - b) <= 1e-6) }
        }
    }
}
