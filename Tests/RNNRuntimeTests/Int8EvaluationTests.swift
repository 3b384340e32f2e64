import Foundation
import RNNCore
import RNNFormat
import RNNRuntime
import Testing

/// The runtime's int8 evaluation (spec/FORMAT.md §6.6) through ``Model``: which layers take it, the
/// load option, independence of threads, streams, and its distance from the float evaluation. The
/// kernels themselves are Int8StepTests' (RNNCoreTests); agreement with the Python reference's int8
/// evaluation is Int8ReferenceTests'.
@Suite struct Int8EvaluationTests {
    static let stacked: [TestLayer] = [
        .lstm(hidden: 20, returns: .sequence), .gru(hidden: 12, returns: .sequence, bidirectional: true),
        .lstm(hidden: 9, returns: .last, bidirectional: true), .dense(out: 5, activation: .none),
    ]

    @Test func int8RecurrentLayersRunTheInt8EvaluationUnlessFloatIsAsked() throws {
        let int8 = randomModel(height: 7, width: 6, layers: Self.stacked, seed: 3, dtype: .int8)
        #expect(try Model(int8).int8LayerCount == 3)
        #expect(try Model(int8, options: LoadOptions(evaluation: .float)).int8LayerCount == 0)
        #expect(try Model(randomModel(height: 7, width: 6, layers: Self.stacked, seed: 3, dtype: .f16)).int8LayerCount == 0)
        // A reset-before GRU is not covered by §6.6: it stays float next to an int8 LSTM.
        let mixed = randomModel(height: 7, width: 6, layers: [
            .gru(hidden: 10, returns: .sequence, reset: .before), .lstm(hidden: 8, returns: .last), .dense(out: 3, activation: .none),
        ], seed: 4, dtype: .int8)
        #expect(try Model(mixed).int8LayerCount == 1)
        // §6.6: a dense stem always folds into an int8 LSTM, even a widening one or with folding .never
        // (the float evaluation folds it only when that is cheaper, and never with .never).
        let stem = randomModel(height: 7, width: 6, layers: [
            .dense(out: 4, activation: .none), .lstm(hidden: 8, returns: .last), .dense(out: 3, activation: .none),
        ], seed: 5, dtype: .int8)
        #expect(try Model(stem).foldedLayerCount == 1)
        #expect(try Model(stem, options: LoadOptions(folding: .never)).foldedLayerCount == 1)
        #expect(try Model(stem, options: LoadOptions(folding: .never, evaluation: .float)).foldedLayerCount == 0)
    }

    /// Logits of `count` random images of `model`.
    static func logits(_ model: Model, count: Int, options: ClassifyOptions = ClassifyOptions(), seed: UInt64 = 9) throws -> [Float] {
        var rng = SplitMix64(seed: seed)
        return try model.classify(pixels: rng.bytes(count * model.pixelsPerImage), options: options).logits
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        let model = try Model(randomModel(height: 7, width: 6, layers: Self.stacked, seed: 3, dtype: .int8))
        for kernel in [StepKernel.automatic, .portable] + FusedKernel.supported.filter { $0 != .none }.map(StepKernel.fused) {
            let one = try Self.logits(model, count: 45, options: ClassifyOptions(threads: 1, blockSize: 8, kernel: kernel))
            for threads in [2, 3] {
                let many = try Self.logits(model, count: 45, options: ClassifyOptions(threads: threads, blockSize: 8, kernel: kernel))
                #expect(many.map(\.bitPattern) == one.map(\.bitPattern), "\(kernel), \(threads) threads")
            }
        }
    }

    @Test func everyKernelVariantGivesNearlyTheSameLogits() throws {
        // The integer products are identical on every variant (Int8StepTests); the gates' binary32
        // rounding differs, and a state that lands within rounding of a quantization boundary may then
        // round to the neighbouring integer, so logits agree closely rather than bit for bit.
        let model = try Model(randomModel(height: 7, width: 6, layers: Self.stacked, seed: 3, dtype: .int8))
        let reference = try Self.logits(model, count: 40, options: ClassifyOptions(kernel: .portable))
        for kernel in FusedKernel.supported.filter({ $0 != .none }) {
            let other = try Self.logits(model, count: 40, options: ClassifyOptions(kernel: .fused(kernel)))
            let worst = zip(other, reference).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-3, "\(kernel): \(worst)")
        }
    }

    @Test func theInt8EvaluationStaysCloseToTheFloatEvaluation() throws {
        let file = randomModel(height: 12, width: 10, layers: [.lstm(hidden: 32, returns: .last), .dense(out: 6, activation: .none)],
                               seed: 12, dtype: .int8)
        let int8 = try Self.logits(try Model(file), count: 200)
        let float = try Self.logits(try Model(file, options: LoadOptions(evaluation: .float)), count: 200)
        let diffs = zip(int8, float).map { Double(abs($0 - $1)) }
        let spread = Double((float.max() ?? 0) - (float.min() ?? 0))
        var agree = 0
        for i in 0..<200 {
            let a = int8[(6 * i)..<(6 * i + 6)], b = float[(6 * i)..<(6 * i + 6)]
            if a.firstIndex(of: a.max()!)! - 6 * i == b.firstIndex(of: b.max()!)! - 6 * i { agree += 1 }
        }
        print("int8 vs float evaluation: max |Δlogit| \(diffs.max()!) (logit spread \(spread)), predictions agree on \(agree)/200")
        #expect(diffs.max()! > 0, "the int8 evaluation really quantizes")
        #expect(diffs.max()! < 0.05 * spread)
        #expect(agree >= 190)
    }

    @Test func aStreamGivesWhatWholeSequencesGive() throws {
        let file = randomModel(height: 0, width: 0, layers: [.lstm(hidden: 16, returns: .sequence), .gru(hidden: 12, returns: .last),
                                                            .dense(out: 4, activation: .none)],
                               seed: 21, dtype: .int8, features: FeatureInputSpec(width: 5, maxLength: 9))
        let model = try Model(file)
        #expect(model.int8LayerCount == 2)
        var rng = SplitMix64(seed: 22)
        let sequence = (0..<(9 * 5)).map { _ in rng.uniform(2) }
        let stream = try model.makeStream()
        var last: [Float] = []
        for t in 0..<9 { last = try stream.step(Array(sequence[(5 * t)..<(5 * t + 5)])) }
        let whole = try model.classify(sequences: [sequence]).logits
        let worst = zip(last, whole).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-6, "stream vs whole sequence: \(worst)")
    }
}
