import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNTraining
import Testing

/// Real data: a short seeded training run, then the trainer and the runtime classify all 10,000
/// MNIST test images. Needs ../shared/datasets/mnist and fails (does not skip) without it.
@Suite struct MNISTAgreementTests {
    @Test func trainerAndRuntimeAgreeOnEveryMNISTTestImageExceptNearTies() throws {
        let splits: DatasetSplits
        do {
            splits = try DatasetSplits.load(.mnist, directory: mnistDirectory.path, allowDownload: false)
        } catch {
            Issue.record("MNIST is required at \(mnistDirectory.path): \(error)")
            return
        }
        // H = 32, batch 64, 300 steps: a model well past chance (~90 %) in a few seconds of a
        // debug build; the comparison, not the accuracy, is what this test is about.
        var configuration = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 32, layerCount: 1, classCount: 10))
        configuration.batchSize = 64
        configuration.epochs = 1
        configuration.maximumSteps = 300
        configuration.warmupSteps = 30
        configuration.learningRate = 5e-3
        configuration.seed = 11
        configuration.threads = 1
        configuration.validationCount = 1000
        let data = try TrainingData(splits, validationCount: configuration.validationCount)
        let trainer = try Trainer(configuration: configuration, data: data)
        var state = TrainingState(configuration: configuration)
        _ = try trainer.run(&state)
        let checkpoint = Checkpoint(configuration: configuration, state: state, datasetName: data.name,
                                    datasetSHA256: data.sha256, classNames: data.classNames, timeSteps: data.train.height)
        // Through the file, as a user would: export, encode, load.
        let bytes = try ModelWriter.encode(checkpoint.modelFile())
        let model = try Model(bytes: bytes)

        let test = data.test
        let trainerLogits = trainer.evaluate(state.parameters, on: test)
        let evaluator = Evaluator(architecture: configuration.architecture, timeSteps: test.height, threads: 1)
        let expected = evaluator.logits(parameters: state.parameters, images: test.pixels, count: test.count)
        let result = try model.classify(pixels: test.pixels, options: ClassifyOptions(threads: 2))

        // Each side is within Tolerance.binary32 of the exact value, so they are within twice it
        // of each other; a top-2 gap below that is a tie that either may break either way.
        let tolerance = Tolerance.binary32
        let classes = 10
        var difference = LogitDifference()
        var mismatches = 0, ties = 0, trainerCorrect = 0, runtimeCorrect = 0, tiedCorrectness = 0
        for b in 0..<test.count {
            let row = expected[(b * classes)..<((b + 1) * classes)].map(Double.init)
            for k in 0..<classes {
                difference.add(actual: Double(result.logits[b * classes + k]), expected: row[k],
                               tolerance: Tolerance(absolute: 2 * tolerance.absolute, relative: 2 * tolerance.relative),
                               place: "image \(b) class \(k)")
            }
            let sorted = row.sorted(by: >)
            let trainerClass = row.firstIndex(of: sorted[0])!
            let isTie = sorted[0] - sorted[1] <= 2 * tolerance.bound(sorted[0])
            if isTie { ties += 1 }
            if trainerClass == test.labels[b] { trainerCorrect += 1 }
            if result.predictions[b] == test.labels[b] { runtimeCorrect += 1 }
            if result.predictions[b] != trainerClass {
                mismatches += 1
                if isTie { tiedCorrectness += 1 }
                #expect(isTie, "image \(b): trainer class \(trainerClass), runtime \(result.predictions[b]), top-2 gap \(sorted[0] - sorted[1])")
            }
        }
        let trainerAccuracy = Double(trainerCorrect) / Double(test.count)
        let runtimeAccuracy = Double(runtimeCorrect) / Double(test.count)
        print("[golden] MNIST 10,000 test images: trainer accuracy \(trainerAccuracy), runtime \(runtimeAccuracy), "
            + "differing predictions \(mismatches) (near-ties \(ties)); runtime vs trainer logits: \(difference)")
        #expect(trainerLogits.accuracy == trainerAccuracy)
        #expect(trainerAccuracy > 0.8, "the short run should learn MNIST well past chance, got \(trainerAccuracy)")
        #expect(abs(trainerCorrect - runtimeCorrect) <= tiedCorrectness,
                "accuracies differ by more than the near-ties: \(trainerAccuracy) vs \(runtimeAccuracy)")
        #expect(difference.passes, "runtime vs trainer f32 logits: \(difference)")
    }
}
