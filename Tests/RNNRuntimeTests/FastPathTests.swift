import Foundation
import RNNFormat
import Testing
@testable import RNNCore
@testable import RNNRuntime
import RNNTestSupport

/// The fast path (folding, padding, interleaved gates, BLAS, fast activations) against the literal
/// reference path on random models.
///
/// Tolerance. Both paths compute the same real function; the fast one rounds to binary32. Each GEMM
/// entry is a sum of `K <= 64` terms of size `|w x| <= 1` with PyTorch-like weights, so its rounding
/// error is at most about `K * 2^-24 ≈ 4e-6` (typically `sqrt(K) * 2^-24 ≈ 5e-7`); the fast sigmoid and
/// tanh add below 1e-6. The LSTM state update `c = f c + i g` has gains below 1 (`|f|, |o|, |tanh'| <= 1`),
/// so the error in `h` grows at most linearly over `T` steps: `T * 5e-6 ≈ 1.4e-4` for `T = 28` in the
/// worst case, and the output layer's sum over `H` terms with weights `±1/sqrt(H)` multiplies it by at
/// most `sqrt(H)`-ish. Observed differences are around 1e-6; we assert `1e-4` relative to the logits'
/// scale (`max(1, |logit|)`), which real bugs (a wrong gate, a missing bias, a transposed weight)
/// exceed by orders of magnitude. Argmax must agree unless the reference's top two logits are within
/// the tolerance (a near tie, which no finite precision can order reliably).
struct FastPathTests {
    static let tolerance = 1e-4

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var height: Int
        var width: Int
        var layers: [TestLayer]
        var dtype: DType = .f32
        var folding: DenseFolding = .whenCheaper
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "28x28 LSTM-16 then dense", height: 28, width: 28,
             layers: [.lstm(hidden: 16, returns: .last), .dense(out: 10, activation: .none)]),
        Case(name: "odd hidden size, no b_hh, LSTM is the last layer", height: 5, width: 7,
             layers: [.lstm(hidden: 13, returns: .last, hiddenBias: false)]),
        Case(name: "folded dense stem, relu head", height: 12, width: 9,
             layers: [.dense(out: 32, activation: .none), .lstm(hidden: 24, returns: .last),
                      .dense(out: 20, activation: .relu), .dense(out: 10, activation: .none)]),
        Case(name: "same stem, folding disabled", height: 12, width: 9,
             layers: [.dense(out: 32, activation: .none), .lstm(hidden: 24, returns: .last),
                      .dense(out: 20, activation: .relu), .dense(out: 10, activation: .none)],
             folding: .never),
        Case(name: "relu stem, two-layer folded chain, stacked LSTMs, tanh head", height: 10, width: 12,
             layers: [.dense(out: 20, activation: .relu), .dense(out: 16, activation: .none, bias: false),
                      .dense(out: 8, activation: .none), .lstm(hidden: 8, returns: .sequence),
                      .lstm(hidden: 12, returns: .last), .dense(out: 6, activation: .tanh),
                      .dense(out: 3, activation: .none)]),
        Case(name: "three stacked LSTMs with a per-step tanh dense between", height: 9, width: 5,
             layers: [.lstm(hidden: 10, returns: .sequence), .dense(out: 7, activation: .tanh),
                      .lstm(hidden: 17, returns: .sequence), .dense(out: 9, activation: .none),
                      .lstm(hidden: 8, returns: .last), .dense(out: 4, activation: .none)]),
        Case(name: "bottleneck stem stays unfolded when cheaper", height: 6, width: 30,
             layers: [.dense(out: 4, activation: .none), .lstm(hidden: 32, returns: .last), .dense(out: 5, activation: .none)]),
        Case(name: "bottleneck stem folded on request", height: 6, width: 30,
             layers: [.dense(out: 4, activation: .none), .lstm(hidden: 32, returns: .last), .dense(out: 5, activation: .none)],
             folding: .always),
        Case(name: "f16 weights", height: 8, width: 8,
             layers: [.dense(out: 16, activation: .none), .lstm(hidden: 16, returns: .last), .dense(out: 10, activation: .none)],
             dtype: .f16),
        Case(name: "bf16 weights", height: 8, width: 8,
             layers: [.lstm(hidden: 16, returns: .last), .dense(out: 10, activation: .none)], dtype: .bf16),
        Case(name: "int8 weights", height: 8, width: 8,
             layers: [.lstm(hidden: 24, returns: .sequence), .lstm(hidden: 16, returns: .last), .dense(out: 10, activation: .none)],
             dtype: .int8),
    ]

    /// Largest scaled difference between the fast logits and the reference; checks argmax too.
    static func compare(_ fast: BatchResult, _ reference: [[Double]]) -> Double {
        var worst = 0.0
        for (n, row) in reference.enumerated() {
            for (c, value) in row.enumerated() {
                let diff = abs(Double(fast.logits[n * fast.classCount + c]) - value) / max(1, abs(value))
                worst = max(worst, diff)
            }
            let best = row.indices.max { row[$0] < row[$1] }!
            if fast.predictions[n] != best {
                // Only acceptable on a near tie.
                #expect(abs(row[best] - row[fast.predictions[n]]) < tolerance, "image \(n): argmax \(fast.predictions[n]) vs \(best)")
            }
        }
        return worst
    }

    @Test(arguments: cases)
    func fastPathMatchesReference(_ testCase: Case) throws {
        let file = randomModel(height: testCase.height, width: testCase.width, layers: testCase.layers,
                               seed: UInt64(testCase.name.utf8.count) * 7919, dtype: testCase.dtype)
        // The float evaluation (spec §6.1) against the reference; int8 files' own evaluation is Int8EvaluationTests'.
        let model = try Model(file, options: LoadOptions(folding: testCase.folding, evaluation: .float))
        var rng = SplitMix64(seed: 42)
        let pixels = rng.bytes(37 * model.pixelsPerImage)
        let reference = try ReferenceModel(file).logits(pixels: pixels)
        var worst: [String: Double] = [:]
        // Block sizes cover every row-tile remainder of the fused kernels (tiles of 6 and 3 rows).
        for (count, blockSize) in [(1, 64), (37, 64), (37, 10), (37, 8), (37, 5), (37, 3), (37, 1)] {
            let slice = Array(pixels[0..<(count * model.pixelsPerImage)])
            for (name, options) in Self.variants(blockSize: blockSize) {
                let result = try model.classify(pixels: slice, options: options)
                worst[name] = max(worst[name, default: 0], Self.compare(result, Array(reference[0..<count])))
            }
        }
        print("fast vs reference, \(testCase.name): max scaled |diff| = \(worst.sorted { $0.key < $1.key })")
        for (name, value) in worst { #expect(value < Self.tolerance, "\(name)") }
    }

    /// Every implementation of the LSTM steps this CPU can run: the portable path with both
    /// activation implementations, and each fused kernel variant.
    static func variants(blockSize: Int) -> [(String, ClassifyOptions)] {
        var list = [
            ("portable", ClassifyOptions(blockSize: blockSize, kernel: .portable)),
            ("portable libm", ClassifyOptions(blockSize: blockSize, activationMath: .libm)),
        ]
        for variant in FusedKernel.supported where variant != .none {
            list.append(("fused \(variant)", ClassifyOptions(blockSize: blockSize, kernel: .fused(variant))))
        }
        return list
    }

    /// The fused kernels compute each row with the same operations in the same order whatever tile
    /// it lands in, so unlike a BLAS GEMM their results do not depend on the block size at all.
    /// (The model ends with its LSTM, so no BLAS call touches the logits.)
    @Test func fusedKernelLogitsDoNotDependOnTheBlockSize() throws {
        // Two stacked LSTMs: 3 groups of 8 units (an odd group count), then 2 groups (10 -> 16).
        let model = try Model(randomModel(height: 8, width: 8, layers: [.lstm(hidden: 24, returns: .sequence),
                                                                        .lstm(hidden: 10, returns: .last)], seed: 5))
        var rng = SplitMix64(seed: 11)
        let pixels = rng.bytes(23 * model.pixelsPerImage)
        for variant in FusedKernel.supported where variant != .none {
            let results = try [1, 2, 3, 5, 6, 7, 23].map { block in
                try model.classify(pixels: pixels, options: ClassifyOptions(blockSize: block, kernel: .fused(variant))).logits
            }
            for other in results.dropFirst() { #expect(other == results[0], "\(variant)") }
        }
    }

    /// `FusedKernel.detected` agrees with the flags the kernel reports in /proc/cpuinfo (x86-64:
    /// `flags`; ARM64: `Features`, where `asimd` is NEON; every Apple silicon Mac has it).
    @Test func detectedKernelMatchesTheCPUFlags() throws {
        #if os(Linux) && arch(x86_64)
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flagsLine = try #require(info.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let expected: FusedKernel = flags.isSuperset(of: ["avx512f", "avx512dq", "avx512vl"]) ? .avx512
            : flags.isSuperset(of: ["avx2", "fma"]) ? .avx2 : .none
        #expect(FusedKernel.detected == expected)
        #expect(FusedKernel.supported.first == expected && FusedKernel.supported.last == FusedKernel.none)
        #elseif os(Linux) && arch(arm64)
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let featuresLine = try #require(info.split(separator: "\n").first { $0.hasPrefix("Features") })
        let expected: FusedKernel = featuresLine.split(separator: " ").contains("asimd") ? .neon : .none
        #expect(FusedKernel.detected == expected)
        #expect(FusedKernel.supported.first == expected && FusedKernel.supported.last == FusedKernel.none)
        #elseif arch(arm64) && canImport(Darwin)
        #expect(FusedKernel.detected == .neon)
        #expect(FusedKernel.supported == [.neon, .none])
        #else
        #expect(FusedKernel.detected == .none)
        #endif
    }

    @Test func aVariantThisCPULacksIsRefusedWithAClearError() throws {
        let error = RuntimeError.kernelUnavailable(requested: .avx512, available: .avx2)
        #expect(error.description.hasPrefix("kernel 'avx512' is not available on this CPU: expected one of"))
        #expect(error.description.hasSuffix("found 'avx512' (best here: 'avx2')"))
        // `.fused(.none)` is the portable path and always available.
        let c = Self.cases[0]
        let model = try Model(randomModel(height: c.height, width: c.width, layers: c.layers, seed: 2))
        let pixels = [UInt8](repeating: 200, count: model.pixelsPerImage)
        let portable = try model.classify(pixels: pixels, options: ClassifyOptions(kernel: .portable))
        let none = try model.classify(pixels: pixels, options: ClassifyOptions(kernel: .fused(.none)))
        #expect(portable.logits == none.logits)
        if FusedKernel.detected != .avx512 {
            #expect(throws: RuntimeError.kernelUnavailable(requested: .avx512, available: FusedKernel.detected)) {
                try model.classify(pixels: pixels, options: ClassifyOptions(kernel: .fused(.avx512)))
            }
        }
    }

    @Test func foldingHappensOnlyWhereAllowedAndCheaper() throws {
        func folded(_ index: Int) throws -> Int {
            let c = Self.cases[index]
            return try Model(randomModel(height: c.height, width: c.width, layers: c.layers, seed: 1),
                             options: LoadOptions(folding: c.folding)).foldedLayerCount
        }
        #expect(try folded(2) == 1)  // 9 -> 32 stem into LSTM-24
        #expect(try folded(3) == 0)  // folding: .never
        #expect(try folded(4) == 2)  // the two activation-free layers after the relu one
        #expect(try folded(5) == 0)  // 17 -> 9 between LSTMs: 4*8*17 > 17*9 + 4*8*9, folding would cost more
        #expect(try folded(6) == 0)  // 30 -> 4 bottleneck: folding would cost more
        #expect(try folded(7) == 1)  // ... unless asked for
    }

    /// The course model (dense-in 28->128, LSTM 128, dense-out 128->10, 28 steps): folded, the LSTM's
    /// input product is 28 x 512 per step (28 steps), the recurrent one 128 x 512 (27 steps, h[-1] = 0),
    /// plus 128 x 10 once; unfolded, dense-in adds 28 x 128 per step and the LSTM reads 128 inputs.
    @Test func multiplyAddsPerImageCountWhatTheFastPathRuns() throws {
        let layers: [TestLayer] = [.dense(out: 128, activation: .none), .lstm(hidden: 128, returns: .last), .dense(out: 10, activation: .none)]
        let file = randomModel(height: 28, width: 28, layers: layers, seed: 4)
        #expect(try Model(file).multiplyAddsPerImage == 28 * 28 * 512 + 27 * 128 * 512 + 128 * 10)
        #expect(try Model(file, options: LoadOptions(folding: .never)).multiplyAddsPerImage
                == 28 * 28 * 128 + 28 * 128 * 512 + 27 * 128 * 512 + 128 * 10)
        // Hidden size 13 runs padded to 16 units.
        let odd = randomModel(height: 5, width: 7, layers: [.lstm(hidden: 13, returns: .last)], seed: 5)
        #expect(try Model(odd).multiplyAddsPerImage == 5 * 7 * 64 + 4 * 16 * 64)
    }

    @Test func probabilitiesAreASoftmaxAndTopKIsSorted() throws {
        let c = Self.cases[2]
        let model = try Model(randomModel(height: c.height, width: c.width, layers: c.layers, seed: 3))
        var rng = SplitMix64(seed: 9)
        let result = try model.classify(pixels: rng.bytes(5 * model.pixelsPerImage))
        for n in 0..<result.count {
            let p = result[n].probabilities
            #expect(abs(p.reduce(0, +) - 1) < 1e-5)
            let logits = result[n].logits
            let expected = logits.map { exp(Double($0 - logits.max()!)) }
            let sum = expected.reduce(0, +)
            for k in p.indices { #expect(abs(Double(p[k]) - expected[k] / sum) < 1e-6) }
            let top = result.top(3, of: n)
            #expect(top.count == 3)
            #expect(top[0].classIndex == result[n].classIndex && top[0].label == result[n].label)
            #expect(top[0].probability >= top[1].probability && top[1].probability >= top[2].probability)
        }
    }

    @Test func extremeLogitsGiveFiniteProbabilities() {
        let logits: [Float] = [1000, -1000, 999]
        var p = [Float](repeating: 0, count: 3)
        let best = logits.withUnsafeBufferPointer { l in
            p.withUnsafeMutableBufferPointer { softmaxRow(l.baseAddress!, $0.baseAddress!, count: 3) }
        }
        #expect(best == 0)
        #expect(p.allSatisfy { $0.isFinite })
        #expect(abs(p[0] - 1 / (1 + exp(-1))) < 1e-6)
    }

    @Test func featureInputEqualsPixelInputAfterTheContract() throws {
        let c = Self.cases[0]
        let file = randomModel(height: c.height, width: c.width, layers: c.layers, seed: 5)
        let model = try Model(file)
        var rng = SplitMix64(seed: 11)
        let pixels = rng.bytes(3 * model.pixelsPerImage)
        let features = pixels.map { Float($0) * file.metadata.input.scale + file.metadata.input.offset }
        #expect(try model.classify(pixels: pixels).logits == model.classify(features: features).logits)
    }
}

#if canImport(Glibc)
import Glibc
#endif
