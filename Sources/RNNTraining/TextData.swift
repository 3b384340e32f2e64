import RNNCore
import RNNDatasets
import RNNFormat

/// A text data set tokenized for training: the validation reviews held out of the training split, the
/// reviews trained on, the test reviews, and the pipeline (tokenizer and vocabulary) the model stores.
package struct TextTrainingData: Sendable {
    /// Reviews trained on, in the data set's order.
    package var train: TokenizedTexts
    /// Reviews evaluated after every epoch, in the seeded order that chose them.
    package var validation: TokenizedTexts
    /// Reviews evaluated once, at the end.
    package var test: TokenizedTexts
    /// The pipeline to store in the model (spec §6.2.1).
    package var tokens: TokenInput
    /// Class names, in label order.
    package var classNames: [String]
    /// Data set name for provenance ("imdb").
    package var name: String
    /// File name -> SHA-256 of the file the reviews came from (empty for a directory).
    package var sha256: [String: String]

    /// The parts as they are.
    package init(train: TokenizedTexts, validation: TokenizedTexts, test: TokenizedTexts, tokens: TokenInput,
                 classNames: [String], name: String, sha256: [String: String]) {
        self.train = train
        self.validation = validation
        self.test = test
        self.tokens = tokens
        self.classNames = classNames
        self.name = name
        self.sha256 = sha256
    }

    /// Splits and tokenizes a loaded data set by `configuration`'s rules (the README's `--subset`):
    ///
    /// 1. The training split is shuffled with a generator seeded from the seed; its first
    ///    `validationCount` reviews are the validation set, which must leave at least one review.
    /// 2. The reviews trained on are the next `subset` of that order (all the rest without a subset),
    ///    taken back to the data set's order. A subset larger than what validation leaves is refused:
    ///    validation never eats into the reviews the option asked for.
    /// 3. The vocabulary is built from the reviews of 1 and 2 (all training reviews without a subset)
    ///    and `configuration.vocabularyWords` set to its size (a small corpus may have fewer distinct
    ///    words than asked for).
    /// 4. The test set is every test review, or with a subset `subset` of them drawn by another seeded
    ///    shuffle, in the data set's order (IMDb's files come sorted by class, so the first N would be
    ///    one class only).
    ///
    /// The errors name the options (``TrainingError/invalidHyperparameter(_:)``).
    package init(splits: TextDatasetSplits, configuration: inout TextTrainingConfiguration, name: String,
                 sha256: [String: String]) throws(TrainingError) {
        let c = configuration, available = splits.train.count
        guard c.validationCount < available else {
            throw .invalidHyperparameter("--validation must be below the \(available) training reviews, got \(c.validationCount)")
        }
        let rest = available - c.validationCount
        if let n = c.subset, n > rest {
            throw .invalidHyperparameter("--subset must be at most the \(rest) training reviews --validation \(c.validationCount) leaves, got \(n)")
        }
        var rng = Xoshiro256StarStar(seed: c.seed &+ 0xDA7A)
        var order = Array(0..<available)
        rng.shuffle(&order)
        let held = Array(order[..<c.validationCount])
        let kept = order[c.validationCount..<(c.validationCount + (c.subset ?? rest))].sorted()
        let vocabulary = TextVocabulary.build(from: (held + kept).map { splits.train[$0].text }, size: c.vocabularyWords)
        configuration.vocabularyWords = vocabulary.count
        tokens = TokenInput(tokenizer: .wordsV1, maxLength: c.maxLength, truncation: .start, vocabulary: vocabulary)
        let encoder = TokenEncoder(tokens)
        func tokenized(_ examples: [TextExample]) -> TokenizedTexts {
            TokenizedTexts(texts: examples.map(\.text), labels: examples.map { Int($0.label) }, encoder: encoder)
        }
        validation = tokenized(held.map { splits.train[$0] })
        train = tokenized(kept.map { splits.train[$0] })
        var testIndices = Array(splits.test.indices)
        if let n = c.subset, n < testIndices.count {
            var rng = Xoshiro256StarStar(seed: c.seed &+ 0x7E57)
            rng.shuffle(&testIndices)
            testIndices = testIndices[..<n].sorted()
        }
        test = tokenized(testIndices.map { splits.test[$0] })
        classNames = splits.classNames
        self.name = name
        self.sha256 = sha256
    }
}
