import Foundation
import RNNFormat
import Testing
@testable import RNNTraining

func checkpoint(_ trainer: Trainer, _ state: TrainingState) -> Checkpoint {
    Checkpoint(configuration: trainer.configuration, state: state, datasetName: trainer.data.name,
               datasetSHA256: trainer.data.sha256, classNames: trainer.data.classNames, timeSteps: trainer.data.train.height)
}

@Test func aCheckpointRoundTripsExactly() throws {
    var c = tinyConfiguration()
    c.seed = 0xFFFF_FFFF_FFFF_FFF1  // beyond 2^53: must survive the JSON header exactly
    c.maximumSteps = 1000
    let trainer = try Trainer(configuration: c, data: syntheticTrainingData())
    var state = TrainingState(configuration: trainer.configuration)
    var steps = 0
    _ = try trainer.run(&state, shouldStop: { steps += 1; return steps == 4 })
    let original = checkpoint(trainer, state)
    let decoded = try Checkpoint(decoding: try original.encoded(), path: "memory")
    #expect(decoded == original)
}

@Test func resumingFromACheckpointGivesTheSameWeightsAsAnUninterruptedRun() throws {
    let data = syntheticTrainingData()
    let straight = try Trainer(configuration: tinyConfiguration(layers: 2), data: data)
    var uninterrupted = TrainingState(configuration: straight.configuration)
    _ = try straight.run(&uninterrupted)

    // Interrupt mid-epoch (step 9 of 6 per epoch) and at an epoch's end, through a file each time.
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-test-\(getpid()).ckpt").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    var state = TrainingState(configuration: straight.configuration)
    for stopAt in [9, 12] {
        let trainer = try Trainer(configuration: straight.configuration, data: data)
        var steps = state.globalStep
        let outcome = try trainer.run(&state, shouldStop: { steps += 1; return steps >= stopAt })
        #expect(outcome == .interrupted)
        try checkpoint(trainer, state).write(to: path)
        state = try Checkpoint.read(from: path).state
    }
    let resumed = try Trainer(configuration: straight.configuration, data: data)
    #expect(try resumed.run(&state) == .finished)
    #expect(state.parameters.values.map(\.bitPattern) == uninterrupted.parameters.values.map(\.bitPattern))
    #expect(state.optimizer == uninterrupted.optimizer)
    #expect(state.history.map(\.trainLoss) == uninterrupted.history.map(\.trainLoss))
}

@Test func aDamagedCheckpointIsRefused() throws {
    let trainer = try Trainer(configuration: tinyConfiguration(), data: syntheticTrainingData())
    var bytes = try checkpoint(trainer, TrainingState(configuration: trainer.configuration)).encoded()
    bytes[bytes.count / 2] ^= 0x40
    #expect(throws: TrainingError.self) { try Checkpoint(decoding: bytes, path: "x") }
    #expect(throws: TrainingError.self) { try Checkpoint(decoding: Array(bytes.prefix(100)), path: "x") }
    #expect(throws: TrainingError.self) { try Checkpoint(decoding: Array("not a checkpoint at all, clearly not".utf8) + [UInt8](repeating: 0, count: 10), path: "x") }
}

@Test func theExportedModelIsAcceptedByTheReaderWithTheRightMetadata() throws {
    let trainer = try Trainer(configuration: tinyConfiguration(layers: 2), data: syntheticTrainingData())
    var state = TrainingState(configuration: trainer.configuration)
    _ = try trainer.run(&state)
    let model = checkpoint(trainer, state).modelFile(metrics: ["test_accuracy": 0.5])
    let decoded = try ModelReader.decode(try ModelWriter.encode(model))
    #expect(decoded == model)
    #expect(decoded.metadata.layers.map(\.name) == ["dense_in", "lstm0", "lstm1", "dense_out"])
    #expect(decoded.metadata.labels == ["top", "middle", "bottom"])
    #expect(decoded.metadata.input == InputContract(kind: .imageRows, height: 6, width: 5, scale: 1 / 255, offset: 0))
    let p = decoded.metadata.provenance
    #expect(p.producer == "rnn-train" && p.producerVersion == trainerVersion)
    #expect(p.seed == 42 && p.datasetName == "synthetic" && p.datasetSHA256 == ["x": syntheticSHA256])
    #expect(p.metrics["test_accuracy"] == 0.5 && p.metrics["epochs"] == 3)
    #expect(p.metrics["validation_accuracy"] == state.history.last!.validationAccuracy)
    #expect(p.hyperparameters["hidden_size"] == .number(12) && p.hyperparameters["schedule"] == .string("cosine"))
    // The weights come back unchanged, and the float64 reference forward agrees with float32.
    #expect(try LSTMParameters<Float>(model: decoded) == state.parameters)
    let images = Array(trainer.data.test.pixels.prefix(4 * 30))
    let l64 = try forward64(model: decoded, images: images, count: 4)
    let l32 = Evaluator(architecture: state.parameters.architecture, timeSteps: 6, threads: 1)
        .logits(parameters: state.parameters, images: images, count: 4)
    for k in l64.indices { #expect(abs(l64[k] - Double(l32[k])) < 1e-4) }
}

@Test func atomicWritesLeaveNoTemporaryFilesAndFailCleanlyInAMissingDirectory() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnn-train-atomic-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try writeFileAtomically([1, 2, 3], to: dir + "/a.bin")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.bin"])
    #expect(throws: TrainingError.self) { try writeFileAtomically([1], to: dir + "/missing/b.bin") }
    #expect(throws: TrainingError.self) { try probeWritableDirectory(for: dir + "/missing/b.bin") }
    try probeWritableDirectory(for: dir + "/c.bin")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["a.bin"])
}
