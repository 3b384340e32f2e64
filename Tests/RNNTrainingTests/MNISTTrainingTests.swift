import RNNCore
import RNNDatasets
import Testing
@testable import RNNTraining

/// A short seeded run on the real MNIST files (which must be present: the test fails, not skips,
/// when they are missing).
@Test func aShortSeededRunOnRealMNISTReachesASaneAccuracy() throws {
    let splits = try DatasetSplits.load(.mnist, directory: mnistDirectory, allowDownload: false)
    let data = try TrainingData(splits, validationCount: 5000)
    #expect(data.train.count == 55000 && data.validation.count == 5000 && data.test.count == 10000)
    var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 28, hiddenSize: 32, classCount: 10))
    c.batchSize = 64
    c.epochs = 1
    c.maximumSteps = 300
    c.learningRate = 5e-3
    c.warmupSteps = 20
    c.seed = 7
    BLASThreads.set(1)  // as rnn-train runs it
    let trainer = try Trainer(configuration: c, data: data)
    var state = TrainingState(configuration: c)
    #expect(try trainer.run(&state) == .finished)
    #expect(state.globalStep == 300)
    let test = trainer.evaluate(state.parameters, on: data.test)
    #expect(test.accuracy > 0.8, "test accuracy \(test.accuracy)")
}
