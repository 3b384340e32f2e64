import RNNFormat
import RNNTraining
import Testing

/// The trainer's own binary32 forward pass (the code that computes training accuracy) against
/// its float64 forward pass, through the golden files.
@Suite struct TrainerGoldenTests {
    @Test(arguments: GoldenManifest.casesOrEmpty)
    func trainerFloat32ForwardMatchesGoldenWithinBinary32Tolerance(_ c: GoldenManifest.Case) throws {
        let golden = try GoldenCase(c)
        let parameters = try LSTMParameters<Float>(model: golden.file)
        let evaluator = Evaluator(architecture: parameters.architecture, timeSteps: golden.file.metadata.input.height, threads: 1)
        let logits = evaluator.logits(parameters: parameters, images: golden.images.pixels, count: golden.images.count)
        let classes = golden.expected.classes
        let tolerance = Tolerance.forDType(golden.file.tensors[0].dtype.description)
        var difference = LogitDifference()
        for b in 0..<golden.images.count {
            for k in 0..<classes {
                difference.add(actual: Double(logits[b * classes + k]), expected: golden.expected.logits[b][k],
                               tolerance: tolerance, place: "image \(b) class \(k)")
            }
            let row = logits[(b * classes)..<((b + 1) * classes)]
            let predicted = row.firstIndex(of: row.max()!)! - b * classes
            if predicted != golden.expected.predictions[b] {
                #expect(golden.expected.margins[b] <= 2 * tolerance.bound(golden.expected.logits[b].max()!),
                        "trainer f32 \(c) image \(b): class \(predicted), golden \(golden.expected.predictions[b])")
            }
        }
        print("[golden] trainer f32 \(c): \(difference)")
        #expect(difference.passes, "trainer f32 \(c): \(difference)")
    }

    @Test(arguments: GoldenManifest.casesOrEmpty)
    func forward64OfCommittedModelReproducesGoldenLogits(_ c: GoldenManifest.Case) throws {
        // The golden values are forward64's: this catches an edited JSON file (or a forward64
        // change) without running the whole generator. Bitwise equal when this process's BLAS
        // uses the pinned kernels (spec/GOLDEN.md); the binary64 tolerance covers other CPUs.
        let golden = try GoldenCase(c)
        let logits = try forward64(model: golden.file, images: golden.images.pixels, count: golden.images.count)
        var difference = LogitDifference()
        for (i, value) in logits.enumerated() {
            difference.add(actual: value, expected: golden.expected.logits[i / golden.expected.classes][i % golden.expected.classes],
                           tolerance: .binary64, place: "value \(i)")
        }
        #expect(difference.passes, "forward64 \(c): \(difference)")
    }
}
