import RNNCore
import RNNDatasets
@testable import RNNTraining

/// `../shared/datasets/mnist` relative to the package root, found from this file's path.
let mnistDirectory: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    parts.removeLast(3)  // Tests/RNNTrainingTests/Fixtures.swift
    return (parts + ["..", "shared", "datasets", "mnist"]).joined(separator: "/")
}()

/// A small synthetic image task: `count` images of `height x width` whose class is which third
/// of the rows is brightest, learnable in a few dozen steps.
func syntheticData(count: Int, height: Int = 6, width: Int = 5, classes: Int = 3, seed: UInt64) -> LabeledPixels {
    var rng = Xoshiro256StarStar(seed: seed)
    var pixels: [UInt8] = []
    var labels: [Int] = []
    for _ in 0..<count {
        let label = rng.nextInt(below: classes)
        for row in 0..<height {
            let bright = row * classes / height == label
            for _ in 0..<width { pixels.append(UInt8(rng.nextInt(below: 100) + (bright ? 150 : 0))) }
        }
        labels.append(label)
    }
    return LabeledPixels(pixels: pixels, labels: labels, height: height, width: width)
}

/// The synthetic task split in three. Also sets OpenBLAS to one thread, as rnn-train does before it
/// trains (the trainer splits batches over its own threads; the library no longer does it for them).
func syntheticTrainingData(seed: UInt64 = 5) -> TrainingData {
    BLASThreads.set(1)
    return TrainingData(train: syntheticData(count: 96, seed: seed), validation: syntheticData(count: 30, seed: seed + 1),
                 test: syntheticData(count: 30, seed: seed + 2), name: "synthetic", sha256: ["x": syntheticSHA256],
                 classNames: ["top", "middle", "bottom"])
}

func tinyConfiguration(layers: Int = 1, threads: Int = 2) -> TrainingConfiguration {
    var c = TrainingConfiguration(architecture: LSTMArchitecture(inputSize: 5, hiddenSize: 12, layerCount: layers, classCount: 3))
    c.batchSize = 16
    c.epochs = 3
    c.learningRate = 1e-2
    c.warmupSteps = 3
    c.seed = 42
    c.threads = threads
    return c
}

/// The synthetic data set's stand-in file hash (a checkpoint holds lowercase hex SHA-256s).
let syntheticSHA256 = String(repeating: "0f", count: 32)
