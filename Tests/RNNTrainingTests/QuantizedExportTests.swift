import Foundation
import RNNFormat
import RNNRuntime
import RNNTraining
import Testing

/// Trained weights exported as f16, bf16 and int8: the trainer's float64 reference, the runtime and
/// `rnn-train export --weights` all see the same dequantized model (spec §4.1).
@Suite struct QuantizedExportTests {
    /// A tiny model trained on synthetic data, as the trainer exports it (f32).
    static let trained: ModelFile = {
        let trainer = try! Trainer(configuration: tinyConfiguration(), data: syntheticTrainingData())
        var state = TrainingState(configuration: trainer.configuration)
        _ = try! trainer.run(&state)
        return checkpoint(trainer, state).modelFile(metrics: ["test_accuracy": 0.5])
    }()

    @Test(arguments: [DType.f16, .bf16, .int8])
    func trainerAndRuntimeDequantizeTheSameWay(dtype: DType) throws {
        let converted = try Self.trained.converted(to: dtype)
        let decoded = try ModelReader.decode(ModelWriter.encode(converted))
        // The trainer reads the dequantized weights back exactly.
        let parameters = try LSTMParameters<Float>(model: decoded)
        for tensor in decoded.tensors {
            #expect(tensor.dtype == (tensor.shape.count >= 2 ? dtype : .f32))
        }
        let images = Array(syntheticData(count: 8, seed: 9).pixels)
        let reference = try forward64(model: decoded, images: images, count: 8)
        let runtime = try Model(decoded, options: LoadOptions(evaluation: .float)).classify(pixels: images).logits  // the dequantized weights, as the trainer evaluates them
        let trainer = Evaluator(architecture: parameters.architecture, timeSteps: 6, threads: 1)
            .logits(parameters: parameters, images: images, count: 8)
        // float32 evaluation of the same weights: the golden f32 tolerance (spec/GOLDEN.md scale).
        for k in reference.indices {
            #expect(abs(Double(runtime[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])))
            #expect(abs(Double(trainer[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])))
        }
    }

    /// `rnn-train export CKPT --output OUT --weights DTYPE` and its usage error.
    @Test(.enabled(if: rnnTrainExecutable != nil, "rnn-train must be built next to the tests (swift build)"))
    func exportWritesTheRequestedDTypeAndRefusesUnknownOnes() throws {
        let trainer = try Trainer(configuration: tinyConfiguration(), data: syntheticTrainingData())
        var state = TrainingState(configuration: trainer.configuration)
        _ = try trainer.run(&state)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-quant-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ckpt = dir.appendingPathComponent("m.ckpt").path
        try checkpoint(trainer, state).write(to: ckpt)
        var sizes: [DType: Int] = [:]
        for dtype in DType.allCases {
            let out = dir.appendingPathComponent("m-\(dtype).rnnm").path
            #expect(try runTrain(["export", ckpt, "--output", out, "--weights", dtype.description, "--reproducible"]).status == 0)
            let file = try ModelReader.read(contentsOf: out)
            #expect(file == (try checkpoint(trainer, state).modelFile(time: .reproducible(sourceDateEpoch: 0)).converted(to: dtype)))
            sizes[dtype] = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int
        }
        #expect(sizes[.int8]! < sizes[.f16]! && sizes[.f16]! < sizes[.f32]!)
        #expect(try runTrain(["export", ckpt, "--output", dir.appendingPathComponent("x.rnnm").path, "--weights", "int4"]).status == 64)
    }
}

/// The built `rnn-train`, next to the test bundle when `swift build` has run.
let rnnTrainExecutable: URL? = {
    let selfExe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let candidates = [selfExe.deletingLastPathComponent(), Bundle.main.bundleURL.deletingLastPathComponent(),
                      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
    return candidates.map { $0.appendingPathComponent("rnn-train") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
}()
