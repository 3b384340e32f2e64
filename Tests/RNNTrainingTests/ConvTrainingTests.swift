import Foundation
import RNNCore
import RNNDatasets
import RNNFormat
import RNNRuntime
import RNNTestSupport
import Testing
@testable import RNNTraining

/// The convolutional trainer (`rnn-train --arch cnn`): its hand-written backward pass against finite
/// differences of spec §6's float64 forward pass (``ReferenceModel`` on the exported model), training,
/// the checkpoint and resume, and the export the runtime runs.
@Suite struct ConvTrainingTests {
    /// 6 x 5 synthetic images (``syntheticTrainingData``) and a small network with every kind of layer:
    /// a padded convolution, a max-pool, a strided convolution, two dense layers.
    static func tinyArchitecture(activation: String = "tanh") -> ConvArchitecture {
        var a = ConvArchitecture(channels: 1, height: 6, width: 5,
                                 layers: [.conv(3, kernel: 3, padding: 1), .maxPool(2), .conv(9, kernel: 2, stride: 1)],
                                 dense: [7], classCount: 3)
        a.activation = activation
        return a
    }

    static func configuration(_ a: ConvArchitecture = tinyArchitecture(), threads: Int = 2) -> ConvTrainingConfiguration {
        var c = ConvTrainingConfiguration(architecture: a)
        c.batchSize = 16
        c.epochs = 3
        c.learningRate = 1e-2
        c.warmupSteps = 3
        c.seed = 42
        c.threads = threads
        c.validationCount = 30
        return c
    }

    /// Mean cross-entropy of the exported model's float64 logits (spec §6 in straight loops).
    static func referenceLoss(_ p: ConvParameters, _ set: LabeledPixels, _ indices: [Int]) throws -> Double {
        let file = try p.modelFile(labels: ["a", "b", "c"], provenance: Provenance(producer: "test"))
        let per = set.height * set.width
        let pixels = indices.flatMap { set.pixels[($0 * per)..<(($0 + 1) * per)] }
        let logits = try ReferenceModel(file).logits(pixels: Array(pixels))
        var total = 0.0
        for (row, i) in indices.enumerated() {
            let z = logits[row], top = z.max()!
            total += log(z.reduce(0) { $0 + exp($1 - top) }) - (z[set.labels[i]] - top)
        }
        return total / Double(indices.count)
    }

    /// Every parameter's gradient (Float, the C kernels' forward, the hand-written backward) against
    /// central differences of the float64 reference loss. A wrong index in any backward step (im2col's
    /// order, the pool's argmax, flatten's gather, the packed weight gradient) fails it.
    @Test(arguments: ["tanh", "relu"])
    func gradientsMatchFiniteDifferencesOfTheFloat64Reference(_ activation: String) throws {
        let data = syntheticTrainingData()
        let c = Self.configuration(Self.tinyArchitecture(activation: activation))
        let task = try ConvTask(configuration: c, data: data)
        var p = ConvParameters(architecture: c.architecture, seed: 7)
        // Larger weights than PyTorch's default, so that no layer is nearly linear.
        p.values = p.values.map { $0 * 2 }
        let indices = Array(0..<12)
        var gradient = [Float](repeating: 0, count: p.values.count)
        _ = task.lossAndGradient(p, pixels: data.train.pixels, labels: data.train.labels, indices: indices[...], gradient: &gradient)
        var worst = 0.0, checked = 0
        for k in p.values.indices {
            // Small enough that no max-pool window changes which input is its maximum (at 1e-3 one does).
            let h = 1e-4
            var plus = p, minus = p
            plus.values[k] += Float(h)
            minus.values[k] -= Float(h)
            // The perturbation actually applied (binary32 rounding of w ± h).
            let step = Double(plus.values[k]) - Double(minus.values[k])
            let numeric = (try Self.referenceLoss(plus, data.train, indices) - Self.referenceLoss(minus, data.train, indices)) / step
            let error = abs(Double(gradient[k]) - numeric) / max(1e-3, abs(numeric))
            worst = max(worst, error)
            checked += 1
            #expect(error < 2e-2, "parameter \(k) (\(activation)): analytic \(gradient[k]), numeric \(numeric)")
        }
        print("[cnn gradient check] \(activation): \(checked) parameters, worst relative error \(worst)")
    }

    /// Training lowers the loss and learns the synthetic task; the same seed and threads give the same
    /// weights; another thread count gives the same numbers up to summation order.
    @Test func trainsDeterministically() throws {
        let data = syntheticTrainingData()
        var c = Self.configuration(Self.tinyArchitecture(activation: "relu"))
        c.epochs = 12
        func train(threads: Int) throws -> ConvTrainingState {
            var c = c
            c.threads = threads
            let trainer = try ConvTrainer(configuration: c, data: data)
            var state = ConvTrainingState(configuration: c)
            _ = try trainer.run(&state)
            return state
        }
        let a = try train(threads: 2), b = try train(threads: 2), single = try train(threads: 1)
        #expect(a.parameters == b.parameters)
        #expect(a.history.count == 12 && a.history.last!.trainLoss < a.history.first!.trainLoss / 2)
        let trainer = try ConvTrainer(configuration: c, data: data)
        #expect(trainer.task.evaluate(a.parameters, on: data.test).accuracy > 0.8)
        let drift = zip(a.parameters.values, single.parameters.values).map { abs($0 - $1) }.max()!
        #expect(drift < 1e-3, "threads 1 vs 2: \(drift)")
    }

    /// A run interrupted after an epoch and resumed from its checkpoint's bytes ends with the same weights
    /// as an uninterrupted one; the checkpoint's fields are checked.
    @Test func checkpointRoundTripAndResumeAreExact() throws {
        let data = syntheticTrainingData()
        let c = Self.configuration()
        let trainer = try ConvTrainer(configuration: c, data: data)
        var straight = ConvTrainingState(configuration: c)
        _ = try trainer.run(&straight)

        var first = ConvTrainingState(configuration: c)
        var saved: [UInt8] = []
        var epochsDone = 0
        _ = try trainer.run(&first, shouldStop: { epochsDone >= 1 }) { s throws(TrainingError) in
            epochsDone += 1
            saved = try ConvCheckpoint(configuration: c, state: s, datasetName: data.name, datasetSHA256: data.sha256,
                                       classNames: data.classNames).encoded()
        }
        let restored = try ConvCheckpoint(decoding: saved, path: "test.ckpt")
        #expect(restored.configuration == c && restored.state.epoch == 1)
        guard case .cnn(let any) = try AnyCheckpoint(decoding: saved, path: "test.ckpt") else { Issue.record("not a cnn checkpoint"); return }
        #expect(any == restored)
        try restored.validate(against: data, path: "test.ckpt")
        var resumed = restored.state
        _ = try trainer.run(&resumed)
        #expect(resumed.parameters == straight.parameters)
        #expect(resumed.history.map(\.trainLoss) == straight.history.map(\.trainLoss))

        // Class names that do not match the architecture's class count are refused, naming the field.
        let twoNames = try ConvCheckpoint(configuration: c, state: restored.state, datasetName: data.name, datasetSHA256: data.sha256,
                                          classNames: ["top", "middle"]).encoded()
        #expect(throws: TrainingError.invalidCheckpoint(path: "bad.ckpt", reason: "classNames must hold configuration.architecture.classCount = 3 names, got 2")) {
            try ConvCheckpoint(decoding: twoNames, path: "bad.ckpt")
        }
        // An image run's checkpoint is not a convolutional one.
        #expect(throws: TrainingError.self) {
            try ConvCheckpoint(decoding: try Checkpoint(configuration: tinyConfiguration(), state: TrainingState(configuration: tinyConfiguration()),
                                                        datasetName: "x", datasetSHA256: data.sha256, classNames: data.classNames, timeSteps: 6).encoded(),
                               path: "image.ckpt")
        }
    }

    /// The exported model (format 1.4) gives, in the runtime, the logits the trainer computes.
    @Test func exportedModelRunsInTheRuntimeWithTheTrainersLogits() throws {
        let data = syntheticTrainingData()
        let c = Self.configuration(Self.tinyArchitecture(activation: "relu"))
        let p = ConvParameters(architecture: c.architecture, seed: 3)
        let file = try p.modelFile(labels: data.classNames, provenance: Provenance(producer: "test"))
        let bytes = try ModelWriter.encode(file)
        #expect(bytes[14] == 4)
        let model = try Model(bytes: bytes)
        let result = try model.classify(pixels: data.test.pixels)
        let task = try ConvTask(configuration: c, data: data)
        let worker = task.workers[0]
        worker.load(p.values)
        let count = min(worker.capacity, data.test.count)
        data.test.pixels.withUnsafeBufferPointer { px in
            p.values.withUnsafeBufferPointer { w in
                worker.forward(pixels: px.baseAddress!, indices: Array(0..<count)[...], parameters: w.baseAddress!, kernel: .detected)
            }
        }
        for i in 0..<count { for k in 0..<3 {
            #expect(abs(worker.activations.last![i * 3 + k] - result.logits[i * 3 + k]) < 1e-5)
        } }
        // int8 storage round-trips through ConvParameters(model:) within the quantization error.
        let int8 = try p.modelFile(labels: data.classNames, provenance: Provenance(producer: "test"), dtype: .int8)
        let back = try ConvParameters(architecture: c.architecture, model: try ModelReader.decode(try ModelWriter.encode(int8)))
        let maxWeight = p.values.map(abs).max()!
        #expect(zip(back.values, p.values).allSatisfy { abs($0 - $1) <= maxWeight / 127 })
    }

    @Test func layerSyntaxAndValidation() throws {
        #expect(ConvLayerSpec("conv6k5p2") == .conv(6, kernel: 5, padding: 2))
        #expect(ConvLayerSpec("conv16k3s2") == .conv(16, kernel: 3, stride: 2))
        #expect(ConvLayerSpec("pool2") == .maxPool(2))
        #expect(ConvLayerSpec("pool3s2") == ConvLayerSpec(kind: .maxpool, channels: 0, kernel: 3, stride: 2, padding: 0))
        for bad in ["conv6", "conv6k", "pool", "pool2p1", "conv6k5p2p2", "convk5", "dense3", ""] { #expect(ConvLayerSpec(bad) == nil, "\(bad)") }
        #expect(ConvArchitecture.lenet(classCount: 10).parameterCount == 61_706)
        var tooBig = ConvArchitecture.lenet(classCount: 10)
        tooBig.layers = [.conv(6, kernel: 29)]
        #expect(throws: TrainingError.self) { try tooBig.validate(naming: .option) }
        var c = ConvTrainingConfiguration(architecture: .lenet(classCount: 10))
        c.batchSize = 0
        #expect(throws: TrainingError.self) { try c.validate() }
    }
}
