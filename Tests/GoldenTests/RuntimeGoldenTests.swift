import RNNFormat
import RNNRuntime
import Testing

/// The inference runtime (folded layers, fused gates, its own activations, binary32) against the
/// trainer's float64 golden logits: the contract between the two implementations.
@Suite struct RuntimeGoldenTests {
    @Test func manifestListsEveryModelInputAndCase() throws {
        let manifest = try GoldenManifest.load()
        #expect(manifest.models.map(\.file).contains("course-h128.rnnm"))
        #expect(manifest.models.map(\.file).contains("tiny-h8.rnnm"))
        #expect(Set(manifest.models.map(\.dtype)) == ["f32", "f16", "bf16", "int8"])
        #expect(manifest.inputs.map(\.count).sorted() == [1, 37])
        #expect(manifest.cases.count == 7)
        for entry in manifest.inputs {
            #expect(entry.kinds.count == entry.count, "\(entry.file): one description per image")
        }
    }

    /// Every combination a runtime must not depend on, beyond the defaults: several block sizes
    /// (including 1 and one that splits 37 unevenly), threads, libm activations and no folding.
    // The golden values are the float evaluation of each file (spec §6.1; an int8 file's own int8
    // evaluation, §6.6, is Int8ReferenceTests').
    static let variants: [(String, LoadOptions, ClassifyOptions)] = [
        ("defaults", LoadOptions(evaluation: .float), ClassifyOptions()),
        ("block 1", LoadOptions(evaluation: .float), ClassifyOptions(blockSize: 1)),
        ("block 8, 2 threads", LoadOptions(evaluation: .float), ClassifyOptions(threads: 2, blockSize: 8)),
        ("block 16, libm", LoadOptions(evaluation: .float), ClassifyOptions(blockSize: 16, activationMath: .libm)),
        ("unfolded", LoadOptions(folding: .never, evaluation: .float), ClassifyOptions()),
    ]

    @Test(arguments: GoldenManifest.casesOrEmpty)
    func runtimeLogitsMatchGoldenWithinBinary32Tolerance(_ c: GoldenManifest.Case) throws {
        let golden = try GoldenCase(c)
        let tolerance = Tolerance.forDType(golden.file.tensors[0].dtype.description)
        for (name, load, classify) in Self.variants {
            let model = try Model(golden.file, options: load)
            let result = try model.classify(pixels: golden.images.pixels, options: classify)
            #expect(result.count == golden.expected.count)
            var logits = LogitDifference(), probabilities = LogitDifference()
            for b in 0..<result.count {
                for k in 0..<result.classCount {
                    logits.add(actual: Double(result.logits[b * result.classCount + k]), expected: golden.expected.logits[b][k],
                               tolerance: tolerance, place: "image \(b) class \(k)")
                    probabilities.add(actual: Double(result.probabilities[b * result.classCount + k]),
                                      expected: golden.expected.probabilities[b][k], tolerance: tolerance,
                                      place: "image \(b) class \(k)")
                }
            }
            print("[golden] runtime \(c) [\(name)]: logits \(logits); probabilities max abs diff \(probabilities.maxAbsolute)")
            #expect(logits.passes, "runtime \(c) [\(name)] logits: \(logits)")
            #expect(probabilities.passes, "runtime \(c) [\(name)] probabilities: \(probabilities)")
            // Predictions: identical, except where the golden top-2 gap is itself within the
            // tolerance of both values (a tie at binary32 precision; none occur in these fixtures).
            for b in 0..<result.count where result.predictions[b] != golden.expected.predictions[b] {
                let top = golden.expected.logits[b].max()!
                #expect(golden.expected.margins[b] <= 2 * tolerance.bound(top),
                        "runtime \(c) [\(name)] image \(b): class \(result.predictions[b]), golden \(golden.expected.predictions[b]) (margin \(golden.expected.margins[b]))")
            }
        }
    }
}
