import Foundation
import RNNCore
@testable import RNNDatasets
@testable import RNNTraining

/// Synthetic two-class reviews: a positive one contains "good", a negative one "bad", amid 3 to 14
/// random filler words; sorted as IMDb's loader sorts (negatives first, each class by id).
func syntheticReviews(count: Int, seed: UInt64) -> [TextExample] {
    var rng = Xoshiro256StarStar(seed: seed)
    let filler = (0..<30).map { "w\($0)" }
    let reviews = (0..<count).map { i -> TextExample in
        let positive = i % 2 == 0
        var words = (0..<(3 + rng.nextInt(below: 12))).map { _ in filler[rng.nextInt(below: filler.count)] }
        words.insert(positive ? "good" : "bad", at: rng.nextInt(below: words.count + 1))
        return TextExample(text: words.joined(separator: " "), label: positive ? 1 : 0, rating: positive ? 9 : 2, id: i)
    }
    return reviews.sorted { ($0.label, $0.id) < ($1.label, $1.id) }
}

/// `train` and `test` synthetic reviews in IMDb's shape (negative, positive).
func syntheticTextSplits(train: Int = 240, test: Int = 80, seed: UInt64 = 1) -> TextDatasetSplits {
    TextDatasetSplits(train: syntheticReviews(count: train, seed: seed), test: syntheticReviews(count: test, seed: seed + 1),
                      classNames: IMDb.classNames)
}

/// A text model small enough to train in a fraction of a second: 12 steps per epoch of 16 reviews
/// (240 - 40 validation = 200 training reviews: the last batch is 8), dropout on.
func tinyTextConfiguration(threads: Int = 2) -> TextTrainingConfiguration {
    var c = TextTrainingConfiguration()
    c.vocabularyWords = 40
    c.embeddingSize = 8
    c.hiddenSize = 8
    c.maxLength = 20
    c.batchSize = 16
    c.epochs = 3
    c.learningRate = 0.02
    c.threads = threads
    c.validationCount = 40
    c.embeddingDropout = 0.2
    c.hiddenDropout = 0.2
    return c
}

/// The synthetic data split and tokenized by `configuration`'s rules (which set its vocabulary size).
func syntheticTextData(_ configuration: inout TextTrainingConfiguration, splits: TextDatasetSplits = syntheticTextSplits()) throws -> TextTrainingData {
    try TextTrainingData(splits: splits, configuration: &configuration, name: "synthetic reviews", sha256: ["reviews.tar": syntheticSHA256])
}

/// Writes `splits` in the layout of the IMDb archive (`aclImdb/{train,test}/{neg,pos}/ID_RATING.txt`)
/// under `directory`, for the command-line tests.
func writeIMDbDirectory(_ splits: TextDatasetSplits, to directory: URL) throws {
    for (split, examples) in [("train", splits.train), ("test", splits.test)] {
        for example in examples {
            let folder = directory.appendingPathComponent("aclImdb/\(split)/\(example.label == 1 ? "pos" : "neg")")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(example.text.utf8).write(to: folder.appendingPathComponent("\(example.id)_\(example.rating).txt"))
        }
    }
}
