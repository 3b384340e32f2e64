import Foundation
import RNNCore
import RNNFormat
import RNNRuntime
import Testing
@testable import RNNTraining

/// Pooling over time and dropout in the image/sequence trainer: checkpoint compatibility, the
/// exported `pool` layer against RNNRuntime, and what dropout may and may not change.
@Suite struct PoolingDropoutTests {
    /// (cell, bidirectional, layers, pooling).
    static let shapes: [(RecurrentCell, Bool, Int, TimePooling)] = [
        (.lstm, false, 1, .mean), (.lstm, false, 1, .max), (.gru, true, 1, .mean), (.gru, true, 1, .max),
        (.lstm, true, 2, .max), (.gru, false, 2, .mean),
    ]

    static func architecture(_ s: (RecurrentCell, Bool, Int, TimePooling), inputs: Int = 5, hidden: Int = 8) -> LSTMArchitecture {
        LSTMArchitecture(inputSize: inputs, hiddenSize: hidden, layerCount: s.2, classCount: 3, cell: s.0,
                         bidirectional: s.1, pooling: s.3)
    }

    /// `pooling` is written only when it is not `last`; a header without it reads as `last`. A
    /// configuration without dropout writes no `dropout` member.
    @Test func checkpointHeadersStayBackwardCompatible() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let plain = LSTMArchitecture(inputSize: 28, hiddenSize: 128, layerCount: 2, classCount: 10)
        let text = String(decoding: try encoder.encode(plain), as: UTF8.self)
        #expect(text == #"{"classCount":10,"hiddenSize":128,"inputSize":28,"layerCount":2}"#)
        #expect(try JSONDecoder().decode(LSTMArchitecture.self, from: Data(text.utf8)).pooling == .last)
        var pooled = plain
        pooled.pooling = .max
        let pooledText = String(decoding: try encoder.encode(pooled), as: UTF8.self)
        #expect(pooledText == #"{"classCount":10,"hiddenSize":128,"inputSize":28,"layerCount":2,"pooling":"max"}"#)
        #expect(try JSONDecoder().decode(LSTMArchitecture.self, from: Data(pooledText.utf8)) == pooled)
        var c = TrainingConfiguration(architecture: plain)
        #expect(!String(decoding: try encoder.encode(c), as: UTF8.self).contains("dropout"))
        c.dropout = DropoutRates(input: 0.1, between: 0.2, output: 0.3)
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: encoder.encode(c)) == c)
        #expect(c.provenanceHyperparameters["dropout"] == 0.2 && c.provenanceHyperparameters["output_dropout"] == 0.3)
        c.dropout?.output = 1
        #expect(throws: TrainingError.invalidHyperparameter("--output-dropout must be in [0, 1), got 1.0")) { try c.validate() }
    }

    /// Export writes `recurrent (returns "sequence") -> pool -> dense_out` (format 1.3), import reads
    /// the pooling back, and RNNRuntime's `Model` gives the trainer's float64 logits of the file
    /// (same bound and reasoning as ``RecurrentVariantTests/runtimeMatchesTheTrainerOnImageRows(shape:)``:
    /// 1e-4 relative, floor 1; the pooled vector adds one sum of at most 6 O(1) terms, or a max, exact).
    @Test(arguments: shapes)
    func runtimeMatchesTheTrainerOnImageRows(shape: (RecurrentCell, Bool, Int, TimePooling)) throws {
        let a = Self.architecture(shape)
        let p = randomTinyParameters(a, seed: 51).converted(to: Float.self)
        let decoded = try RecurrentVariantTests.expectRuntimeAgreesOnImageRows(p, seed: 52, note: "\(shape)")
        let layers = decoded.metadata.layers
        guard case .pool(let pool) = layers[layers.count - 2] else { Issue.record("expected a pool layer"); return }
        #expect(pool == PoolLayer(name: "pool", mode: shape.3 == .mean ? .mean : .max, size: a.outputWidth))
        #expect(try ModelWriter.encode(decoded)[10] == 3, "format minor 1.3")
        #expect(try LSTMParameters<Float>(model: decoded).architecture.pooling == shape.3)
    }

    /// The same on variable-length `features`: the runtime pools each sequence over its own steps,
    /// the trainer pads to `max_length` and masks the padding out of the pool.
    @Test(arguments: shapes)
    func runtimeMatchesTheTrainerOnVariableLengthFeatures(shape: (RecurrentCell, Bool, Int, TimePooling)) throws {
        let a = Self.architecture(shape, inputs: 4)
        let p = randomTinyParameters(a, seed: 53).converted(to: Float.self)
        let steps = 7, lengths = [7, 2, 5, 1, 4]
        let file = p.modelFile(input: .features(maxLength: steps, mean: nil, std: nil), labels: ["a", "b", "c"],
                               provenance: Provenance(producer: "test"))
        let decoded = try ModelReader.decode(ModelWriter.encode(file))
        var rng = Xoshiro256StarStar(seed: 54)
        // Padding holds large values: any that leaked into a mean or max would show.
        var padded: [Float] = (0..<(lengths.count * steps * 4)).map { _ in Float(rng.nextDouble(in: -2, 2)) }
        for (b, n) in lengths.enumerated() { for k in (b * steps + n) * 4 ..< (b + 1) * steps * 4 { padded[k] = 40 } }
        let sequences = lengths.enumerated().map { b, n in Array(padded[(b * steps * 4)..<((b * steps + n) * 4)]) }
        let reference = try forward64(model: decoded, features: padded, lengths: lengths)
        let runtime = try Model(decoded).classify(sequences: sequences).logits
        let trainer = batchLogits(parameters: p, sequences: padded, count: lengths.count, timeSteps: steps, lengths: lengths)
        for k in reference.indices {
            #expect(abs(Double(runtime[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])), "runtime, logit \(k)")
            #expect(abs(Double(trainer[k]) - reference[k]) <= 1e-4 * max(1, abs(reference[k])), "trainer, logit \(k)")
        }
    }

    /// Rates of 0 draw no mask and change no bit: a run with `DropoutRates()` ends with the weights
    /// of a run without dropout. With dropout a run differs from one without, and the same seed and
    /// thread count reproduce it bit for bit.
    @Test func zeroRatesChangeNothingAndDropoutIsReproducible() throws {
        func train(_ dropout: DropoutRates?, pooling: TimePooling = .mean) throws -> LSTMParameters<Float> {
            var c = tinyConfiguration(layers: 2)
            c.epochs = 1
            c.architecture.pooling = pooling
            c.dropout = dropout
            let trainer = try Trainer(configuration: c, data: syntheticTrainingData())
            var state = TrainingState(configuration: trainer.configuration)
            _ = try trainer.run(&state)
            return state.parameters
        }
        #expect(try train(DropoutRates(), pooling: .last) == train(nil, pooling: .last))
        #expect(try train(DropoutRates()) == train(nil))
        let dropped = try train(DropoutRates(input: 0.2, between: 0.3, output: 0.4))
        #expect(dropped != (try train(nil)))
        #expect(dropped == (try train(DropoutRates(input: 0.2, between: 0.3, output: 0.4))))
    }

    /// Evaluation never drops: a trainer configured with dropout validates with the plain forward pass.
    @Test func evaluationNeverDrops() throws {
        var c = tinyConfiguration(layers: 2)
        c.dropout = DropoutRates(input: 0.5, between: 0.5, output: 0.5)
        let data = syntheticTrainingData()
        let trainer = try Trainer(configuration: c, data: data)
        let p = LSTMParameters<Float>(architecture: c.architecture, seed: 3)
        let plain = Evaluator(architecture: c.architecture, timeSteps: data.validation.height, threads: c.threads)
        #expect(trainer.evaluate(p, on: data.validation) == plain.evaluate(parameters: p, on: data.validation))
        #expect(trainer.task.validate(p) == plain.evaluate(parameters: p, on: data.validation))
    }

    /// Dropout with fixed masks changes the gradient (the masks reach the passes), and each of the
    /// three rates alone does.
    @Test func eachDropoutRateChangesTheGradient() {
        let a = LSTMArchitecture(inputSize: 3, hiddenSize: 3, layerCount: 2, classCount: 3, pooling: .mean)
        let p = randomTinyParameters(a, seed: 61)
        let (x, y) = randomSequences(count: 4, timeSteps: 4, inputs: 3, classes: 3, seed: 62)
        let plain = batchLossAndGradient(parameters: p, sequences: x, labels: y, timeSteps: 4).gradient
        for rates in [DropoutRates(input: 0.5), DropoutRates(between: 0.5), DropoutRates(output: 0.5)] {
            let dropped = batchLossAndGradient(parameters: p, sequences: x, labels: y, timeSteps: 4,
                                               dropout: (rates, 1, 0)).gradient
            #expect(dropped != plain, "\(rates)")
        }
    }

    /// Training with pooling and dropout lowers the loss and learns the task. Pooling learns this
    /// task (which third of the rows is bright) more slowly than the final state: measured, both
    /// poolings sit at 0.2-0.43 validation accuracy for 4 epochs and reach 0.93-1.0 by epoch 6; 10
    /// epochs (60 steps) leave room.
    @Test(arguments: [TimePooling.mean, .max])
    func trainingWithPoolingAndDropoutLowersTheLoss(pooling: TimePooling) throws {
        var c = tinyConfiguration(layers: 2)
        c.architecture.pooling = pooling
        c.dropout = DropoutRates(input: 0.1, between: 0.1, output: 0.1)
        c.epochs = 10
        let trainer = try Trainer(configuration: c, data: syntheticTrainingData())
        var state = TrainingState(configuration: trainer.configuration)
        _ = try trainer.run(&state)
        #expect(state.history.last!.trainLoss < state.history.first!.trainLoss)
        #expect(state.history.last!.validationAccuracy > 0.5)
    }
}

/// The command line: `--pool max --layers 2 --input-dropout 0.1 --dropout 0.2 --output-dropout 0.3`
/// trains and writes a format-1.3 file with a `pool` layer that the runtime loads, whose provenance
/// holds the rates; the IMDb model refuses the options with one usage line.
@Test(.enabled(if: rnnTrainExecutable != nil && FileManager.default.fileExists(atPath: mnistDirectory),
               "needs rnn-train built next to the tests and ../shared/datasets/mnist"))
func theCommandLineTrainsAPooledModelWithDropout() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-pool-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("p.rnnm").path
    let run = try runTrain(["--data", mnistDirectory, "--no-download", "--hidden-size", "8", "--batch-size", "8",
                            "--steps", "2", "--epochs", "1", "--validation", "10", "--threads", "1", "--layers", "2",
                            "--pool", "max", "--input-dropout", "0.1", "--dropout", "0.2", "--output-dropout", "0.3",
                            "--output", out])
    #expect(run.status == 0, "\(run.stderr)")
    let file = try ModelReader.read(contentsOf: out)
    #expect(file.metadata.layers.count == 5)
    #expect(file.metadata.poolLayer == PoolLayer(name: "pool", mode: .max, size: 8))
    let hyper = file.metadata.provenance.hyperparameters
    #expect(hyper["pooling"] == .string("max") && hyper["dropout"] == .number(0.2) && hyper["input_dropout"] == .number(0.1))
    _ = try Model(file)
}
