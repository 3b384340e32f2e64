import Foundation
import RNNCore
import RNNFormat
import RNNRuntime
import Testing
@testable import RNNTraining

/// GRU, bidirectional and stacked trainer models: the checkpoint header, padding invariance, and
/// agreement with the runtime on the exported file.
@Suite struct RecurrentVariantTests {
    /// The shapes under test: (cell, reset, bidirectional, layers).
    static let shapes: [(RecurrentCell, GRUReset, Bool, Int)] = [
        (.gru, .after, false, 1), (.gru, .before, false, 1), (.lstm, .after, true, 1),
        (.gru, .after, true, 1), (.gru, .before, true, 2), (.lstm, .after, true, 2), (.gru, .after, false, 3),
    ]

    static func architecture(_ shape: (RecurrentCell, GRUReset, Bool, Int), inputs: Int = 5, hidden: Int = 8) -> LSTMArchitecture {
        LSTMArchitecture(inputSize: inputs, hiddenSize: hidden, layerCount: shape.3, classCount: 3,
                         cell: shape.0, gruReset: shape.1, bidirectional: shape.2)
    }

    /// Headers written before the cell and direction existed decode as unidirectional LSTMs, and an
    /// LSTM's header does not gain the new members (so its checkpoint bytes do not change).
    @Test func checkpointHeadersStayBackwardCompatible() throws {
        let old = #"{"classCount":10,"hiddenSize":128,"inputSize":28,"layerCount":2}"#
        let decoded = try JSONDecoder().decode(LSTMArchitecture.self, from: Data(old.utf8))
        #expect(decoded == LSTMArchitecture(inputSize: 28, hiddenSize: 128, layerCount: 2, classCount: 10))
        #expect(decoded.cell == .lstm && !decoded.bidirectional)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(decoded), as: UTF8.self) == old)
        let gru = LSTMArchitecture(inputSize: 28, hiddenSize: 64, layerCount: 2, classCount: 10, cell: .gru,
                                   gruReset: .before, bidirectional: true)
        let text = String(decoding: try encoder.encode(gru), as: UTF8.self)
        #expect(text == #"{"bidirectional":true,"cell":"gru","classCount":10,"gruReset":"before","hiddenSize":64,"inputSize":28,"layerCount":2}"#)
        #expect(try JSONDecoder().decode(LSTMArchitecture.self, from: Data(text.utf8)) == gru)
    }

    /// The parameter layout: GRU blocks of 3H rows, reverse tensors, 2H inputs above a bidirectional
    /// layer and into dense_out; GRU biases start at 0, LSTM forget biases at 1.
    @Test func layoutAndInitialization() {
        let a = LSTMArchitecture(inputSize: 5, hiddenSize: 4, layerCount: 2, classCount: 3, cell: .gru, bidirectional: true)
        let p = LSTMParameters<Float>(architecture: a, seed: 1)
        #expect(p.layout.slots.map(\.name) == [
            "dense_in.weight", "dense_in.bias",
            "gru0.w_ih", "gru0.w_hh", "gru0.b_ih", "gru0.b_hh",
            "gru0.w_ih_reverse", "gru0.w_hh_reverse", "gru0.b_ih_reverse", "gru0.b_hh_reverse",
            "gru1.w_ih", "gru1.w_hh", "gru1.b_ih", "gru1.b_hh",
            "gru1.w_ih_reverse", "gru1.w_hh_reverse", "gru1.b_ih_reverse", "gru1.b_hh_reverse",
            "dense_out.weight", "dense_out.bias",
        ])
        #expect(p.layout.recurrent[0][1].weightIH.shape == [12, 4])
        #expect(p.layout.recurrent[1][0].weightIH.shape == [12, 8])
        #expect(p.layout.recurrent[1][1].weightHH.shape == [12, 4])
        #expect(p.layout.denseOutWeight.shape == [3, 8])
        for s in p.layout.recurrent.joined() {
            #expect(p.tensor(s.biasIH).allSatisfy { $0 == 0 } && p.tensor(s.biasHH).allSatisfy { $0 == 0 })
            // Orthogonal recurrent blocks: each [H, H] gate block times its transpose is the identity.
            let w = p.tensor(s.weightHH)
            for gate in 0..<3 {
                for i in 0..<4 {
                    for j in 0..<4 {
                        var dot: Float = 0
                        for k in 0..<4 { dot += w[(gate * 4 + i) * 4 + k] * w[(gate * 4 + j) * 4 + k] }
                        #expect(abs(dot - (i == j ? 1 : 0)) < 1e-5)
                    }
                }
            }
        }
    }

    /// Padding changes nothing: each sequence of a padded, variable-length batch (padding filled
    /// with large random values) has the logits it has when run alone with `T` = its length.
    /// Float64, so the only difference allowed is summation order inside BLAS (1e-12).
    @Test(arguments: shapes)
    func paddingDoesNotChangeTheLogits(shape: (RecurrentCell, GRUReset, Bool, Int)) {
        let a = Self.architecture(shape, inputs: 3, hidden: 4)
        let p = randomTinyParameters(a, seed: 21)
        let t = 6, lengths = [6, 1, 3, 5]
        var (x, _) = randomSequences(count: lengths.count, timeSteps: t, inputs: 3, classes: 3, seed: 22)
        for (b, n) in lengths.enumerated() {
            for k in (b * t + n) * 3 ..< (b + 1) * t * 3 { x[k] = 50 * x[k] + 7 }
        }
        let padded = batchLogits(parameters: p, sequences: x, count: lengths.count, timeSteps: t, lengths: lengths)
        for (b, n) in lengths.enumerated() {
            let alone = batchLogits(parameters: p, sequences: Array(x[(b * t * 3)..<((b * t + n) * 3)]), count: 1, timeSteps: n)
            for k in 0..<3 {
                #expect(abs(padded[b * 3 + k] - alone[k]) <= 1e-12 * max(1, abs(alone[k])), "sequence \(b), class \(k)")
            }
        }
    }

    /// Random (untrained) weights -> exported `image_rows` file -> RNNRuntime's `Model`: the same
    /// logits as the trainer's float64 forward pass of the file, and as the trainer's own float32
    /// pass (the fused GRU/LSTM kernels where H = 8 allows them, else BLAS).
    ///
    /// Tolerance: both sides evaluate the float32 weights in binary32 (unit round-off 6e-8) with
    /// the polynomial `exp` (error < 1e-6 against libm, spec §6.1), through at most 3 layers x 6
    /// steps of gates whose derivatives are at most 1; the logits are sums of at most 16 products
    /// of O(1) terms. 1e-6 per gate, amplified by the ~20 gate evaluations on any path and the
    /// ~10 terms of a logit, gives 2e-4 in the worst case; we use the golden files' f32 bound
    /// of 1e-4 relative (floor 1) (spec/GOLDEN.md), which the LSTM exports already meet.
    @Test(arguments: shapes)
    func runtimeMatchesTheTrainerOnImageRows(shape: (RecurrentCell, GRUReset, Bool, Int)) throws {
        for hidden in [8, 5] {
            let a = Self.architecture(shape, hidden: hidden)
            let p = randomTinyParameters(a, seed: 31).converted(to: Float.self)
            _ = try Self.expectRuntimeAgreesOnImageRows(p, seed: 32, note: "H \(hidden)")
        }
    }

    /// Exports `p` for 6-row images, reads the file back (into equal weights), and expects
    /// RNNRuntime's logits and the trainer's float32 ones of 7 synthetic images (seed `seed`) to
    /// be within 1e-4 relative (floor 1) of the trainer's float64 forward pass of the file. Returns the file.
    static func expectRuntimeAgreesOnImageRows(_ p: LSTMParameters<Float>, seed: UInt64, note: String) throws -> ModelFile {
        let file = p.modelFile(height: 6, labels: ["a", "b", "c"], provenance: Provenance(producer: "test"))
        let decoded = try ModelReader.decode(ModelWriter.encode(file))
        #expect(try LSTMParameters<Float>(model: decoded) == p)
        let images = Array(syntheticData(count: 7, seed: seed).pixels)
        let reference = try forward64(model: decoded, images: images, count: 7)
        let runtime = try Model(decoded).classify(pixels: images).logits
        let trainer = Evaluator(architecture: p.architecture, timeSteps: 6, threads: 1).logits(parameters: p, images: images, count: 7)
        for k in reference.indices {
            #expect(abs(Double(runtime[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])), "runtime, \(note), logit \(k)")
            #expect(abs(Double(trainer[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])), "trainer, \(note), logit \(k)")
        }
        return decoded
    }

    /// The same on a `features` input (spec §6.2.2) with standardization and sequences of different
    /// lengths in one batch: the runtime runs each sequence over its own steps, the trainer pads
    /// them to `max_length` and carries the state over the padding.
    @Test(arguments: shapes)
    func runtimeMatchesTheTrainerOnVariableLengthFeatures(shape: (RecurrentCell, GRUReset, Bool, Int)) throws {
        let a = Self.architecture(shape, inputs: 4)
        let p = randomTinyParameters(a, seed: 41).converted(to: Float.self)
        let steps = 7, lengths = [7, 2, 5, 1, 4]
        var rng = Xoshiro256StarStar(seed: 42)
        let mean: [Float] = (0..<4).map { _ in Float(rng.nextDouble(in: -1, 1)) }
        let std: [Float] = [0.5, 2, 0, 1.25]  // a zero std: centred, not scaled
        let file = p.modelFile(input: .features(maxLength: steps, mean: mean, std: std), labels: ["a", "b", "c"],
                               provenance: Provenance(producer: "test"))
        let decoded = try ModelReader.decode(ModelWriter.encode(file))
        #expect(decoded.metadata.input.kind == .features)
        let padded: [Float] = (0..<(lengths.count * steps * 4)).map { _ in Float(rng.nextDouble(in: -2, 2)) }
        let sequences = lengths.enumerated().map { b, n in Array(padded[(b * steps * 4)..<((b * steps + n) * 4)]) }
        let reference = try forward64(model: decoded, features: padded, lengths: lengths)
        let runtime = try Model(decoded).classify(sequences: sequences).logits
        // The trainer's float32 engine on the same standardized, padded batch.
        let x = padded.indices.map { k in (padded[k] - mean[k % 4]) / (std[k % 4] > 0 ? std[k % 4] : 1) }
        let trainer = batchLogits(parameters: p, sequences: x, count: lengths.count, timeSteps: steps, lengths: lengths)
        for k in reference.indices {
            #expect(abs(Double(runtime[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])), "runtime, logit \(k)")
            #expect(abs(Double(trainer[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])), "trainer, logit \(k)")
        }
    }

    /// A GRU/bidirectional run's checkpoint reads back equal (settings and weights), and its model
    /// names the cell in its provenance.
    @Test func aGRUCheckpointRoundTripsAndItsModelNamesTheCell() throws {
        var c = tinyConfiguration(layers: 2)
        c.architecture.cell = .gru
        c.architecture.gruReset = .before
        c.architecture.bidirectional = true
        c.epochs = 1
        let trainer = try Trainer(configuration: c, data: syntheticTrainingData())
        var state = TrainingState(configuration: trainer.configuration)
        _ = try trainer.run(&state)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gru-\(UUID().uuidString).ckpt").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try checkpoint(trainer, state).write(to: path)
        let read = try Checkpoint.read(from: path)
        #expect(read.configuration == c)
        #expect(read.state.parameters == state.parameters)
        let model = read.modelFile()
        #expect(model.metadata.provenance.hyperparameters["cell"] == .string("gru"))
        #expect(model.metadata.provenance.hyperparameters["gru_reset"] == .string("before"))
        guard case .gru(let layer) = model.metadata.layers[1] else { Issue.record("expected a gru layer"); return }
        #expect(layer.reset == .before && layer.reverse != nil && layer.returns == .sequence)
    }

    /// The command line: `--cell gru --gru-reset before --bidirectional --layers 2` trains and writes
    /// a format-1.2 file the runtime loads (default name `<dataset>-gru.rnnm`); the IMDb model
    /// refuses the GRU options with one usage line.
    @Test(.enabled(if: rnnTrainExecutable != nil && FileManager.default.fileExists(atPath: mnistDirectory),
                   "needs rnn-train built next to the tests and ../shared/datasets/mnist"))
    func theCommandLineTrainsABidirectionalGRU() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-gru-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("g.rnnm").path
        let run = try runTrain(["--data", mnistDirectory, "--no-download", "--hidden-size", "8", "--batch-size", "8",
                                "--steps", "2", "--epochs", "1", "--validation", "10", "--threads", "1",
                                "--cell", "gru", "--gru-reset", "before", "--bidirectional", "--layers", "2",
                                "--output", out])
        #expect(run.status == 0, "\(run.stderr)")
        let file = try ModelReader.read(contentsOf: out)
        #expect(file.metadata.layers.count == 4)
        guard case .gru(let top) = file.metadata.layers[2] else { Issue.record("expected a gru layer"); return }
        #expect(top.reset == .before && top.reverse != nil && top.inputSize == 16)
        _ = try Model(file)
    }

    /// A few steps of training lower the loss of every variant (the gradient is usable, not only correct).
    @Test(arguments: shapes)
    func trainingLowersTheLoss(shape: (RecurrentCell, GRUReset, Bool, Int)) throws {
        var c = tinyConfiguration(layers: shape.3)
        c.architecture.cell = shape.0
        c.architecture.gruReset = shape.1
        c.architecture.bidirectional = shape.2
        let trainer = try Trainer(configuration: c, data: syntheticTrainingData())
        var state = TrainingState(configuration: trainer.configuration)
        _ = try trainer.run(&state)
        let history = state.history
        #expect(history.last!.trainLoss < history.first!.trainLoss)
        #expect(history.last!.validationAccuracy > 0.5)
    }
}
