import Foundation
import RNNCore
import RNNFormat
import Testing
@testable import RNNRuntime

/// Models converted to f16, bf16 and int8 (`ModelFile.converted(to:)`) load through the runtime and
/// stay within a logit bound derived from each dtype's per-weight error (spec §4.1).
///
/// **How the logit bound is derived.** To first order the logit change is linear in the weight
/// changes: `dz = sum_k g_k e_k`, with `g_k` the sensitivity of the logit to weight `k`. Rounding to a
/// dtype makes errors bounded per weight: `|e_k| <= b_k` with `b_k = 2^-11 |w_k|` (f16),
/// `2^-8 |w_k|` (bf16) or `s_r / 2` (int8, row `r`). Perturbing every weight by *exactly* `+-b_k` with
/// random signs is the largest such perturbation without a bias towards `g`; real rounding errors are
/// spread over `[-b_k, b_k]` (variance `b_k^2 / 3` instead of `b_k^2`), so their effect is about
/// `1/sqrt(3)` of it. The test measures the random-sign response on the same images (the largest
/// `|dz|` over all images and logits and over 3 sign draws) and asserts that the converted model's
/// largest `|dz|` does not exceed it. (A strict worst case `sum_k |g_k| b_k` is ~sqrt(N) larger
/// for N = 137,098 weights and says nothing useful; a bug, like a scale on the wrong row, exceeds
/// the statistical bound by orders of magnitude.)
@Suite struct QuantizedModelTests {
    /// The default MNIST architecture (dense 28 -> 128, lstm 128, dense 128 -> 10), random weights.
    static let mnistShaped = randomModel(height: 28, width: 28,
                                         layers: [.dense(out: 128, activation: .none), .lstm(hidden: 128, returns: .last),
                                                  .dense(out: 10, activation: .none)], seed: 2024)
    /// The golden trained H=128 model, when the golden fixtures are present.
    static let golden: ModelFile? = try? ModelReader.read(
        contentsOf: repositoryRoot.appendingPathComponent("fixtures/golden/course-h128.rnnm").path)

    static let pixels: [UInt8] = {
        var rng = SplitMix64(seed: 77)
        // Half noise, half sparse "strokes" (mostly 0 with some 255), like digits.
        return rng.bytes(16 * 784) + rng.bytes(16 * 784).map { $0 > 200 ? 255 : 0 }
    }()

    static var models: [(String, ModelFile)] {
        [("random H=128", mnistShaped)] + (golden.map { [("golden course-h128", $0)] } ?? [])
    }

    /// Logits of `file` on ``pixels`` through the runtime's fast path.
    static func logits(_ file: ModelFile) throws -> [Float] {
        try Model(file).classify(pixels: pixels, options: ClassifyOptions(threads: 2)).logits
    }

    /// `file` with every weight matrix moved by exactly `+-b_k` (random signs), biases unchanged.
    static func perturbed(_ file: ModelFile, like dtype: DType, seed: UInt64) throws -> ModelFile {
        var rng = SplitMix64(seed: seed)
        var result = file
        for (index, tensor) in file.tensors.enumerated() where tensor.shape.count >= 2 {
            let w = tensor.floatValues()
            let rows = tensor.shape[0], perRow = w.count / rows
            var moved = w
            for r in 0..<rows {
                let scale = (w[(r * perRow)..<((r + 1) * perRow)].map(\.magnitude).max() ?? 0) / 127
                for i in (r * perRow)..<((r + 1) * perRow) {
                    let bound: Float = switch dtype {
                    case .f16: w[i].magnitude * 0x1p-11
                    case .bf16: w[i].magnitude * 0x1p-8
                    case .int8: scale / 2
                    case .f32: 0
                    }
                    moved[i] = w[i] + (rng.next() & 1 == 0 ? bound : -bound)
                }
            }
            result.tensors[index] = Tensor(name: tensor.name, shape: tensor.shape, values: moved)
        }
        return result
    }

    static func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    /// The random-sign bound of `dtype` for `file` (see the suite's comment).
    static func bound(_ file: ModelFile, _ dtype: DType, reference: [Float]) throws -> Float {
        try (1...3).map { seed in largestDifference(try logits(perturbed(file, like: dtype, seed: seed)), reference) }.max()!
    }

    @Test(arguments: [DType.f16, .bf16, .int8])
    func convertedLogitsStayWithinTheDTypesDerivedBound(dtype: DType) throws {
        for (name, file) in Self.models {
            let reference = try Self.logits(file)
            let converted = try file.converted(to: dtype)
            let logits = try Self.logits(converted)
            let difference = Self.largestDifference(logits, reference)
            let bound = try Self.bound(file, dtype, reference: reference)
            print("\(name) \(dtype): max |logit - f32 logit| = \(difference), random-sign bound = \(bound)")
            #expect(difference <= bound, "\(name) \(dtype): \(difference) > \(bound)")
            #expect(difference > 0, "\(name) \(dtype): conversion changed nothing?")
        }
    }

    /// The bounds are not vacuous: they order as the dtypes' precision, and int8's real error is
    /// far outside the f16 bound.
    @Test func boundsSeparateTheDTypes() throws {
        let file = Self.golden ?? Self.mnistShaped
        let reference = try Self.logits(file)
        let f16 = try Self.bound(file, .f16, reference: reference)
        let bf16 = try Self.bound(file, .bf16, reference: reference)
        let int8Error = Self.largestDifference(try Self.logits(file.converted(to: .int8)), reference)
        #expect(f16 < bf16)
        #expect(int8Error > 4 * f16, "int8 error \(int8Error) vs f16 bound \(f16)")
    }

    @Test(arguments: [DType.f16, .bf16, .int8])
    func convertedModelsRoundTripThroughTheFileAndAgreeWithTheInMemoryModel(dtype: DType) throws {
        let converted = try Self.mnistShaped.converted(to: dtype)
        let fromBytes = try Model(bytes: ModelWriter.encode(converted))
        let inMemory = try Model(converted)
        #expect(try fromBytes.classify(pixels: Self.pixels).logits == inMemory.classify(pixels: Self.pixels).logits)
    }

    /// A wrong dequantization (here: every row of `w_hh` using the next row's scale) is caught by the
    /// bound. Needs trained weights: random uniform rows all have nearly the same scale.
    @Test(.enabled(if: golden != nil, "needs fixtures/golden/course-h128.rnnm"))
    func aScaleOnTheWrongRowExceedsTheBound() throws {
        let file = try #require(Self.golden)
        var broken = try file.converted(to: .int8)
        let index = try #require(broken.tensors.firstIndex { $0.name.hasSuffix("w_hh") })
        guard case .int8(let q, let scales) = broken.tensors[index].storage else { Issue.record("not int8"); return }
        broken.tensors[index].storage = .int8(values: q, scales: Array(scales.dropFirst()) + [scales[0]])
        let reference = try Self.logits(file)
        let error = Self.largestDifference(try Self.logits(broken), reference)
        let bound = try Self.bound(file, .int8, reference: reference)
        #expect(error > 2 * bound, "misplaced scales: \(error), bound \(bound)")
    }
}
