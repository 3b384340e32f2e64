import RNNCore
import RNNDatasets
import RNNSupport

/// Labeled feature sequences in the form the trainer consumes: `count` sequences of `features`
/// floats per step, of their own lengths, one class index each.
package struct LabeledSequences: Sendable, Equatable {
    /// The sequences (time-major per sequence, ``FeatureSequences``).
    package var sequences: FeatureSequences
    /// One class index per sequence.
    package var labels: [Int]
    /// Features per step, `F`.
    package var features: Int { sequences.features }
    /// Number of sequences.
    package var count: Int { labels.count }
    /// The longest sequence's steps (0 when empty).
    package var maximumLength: Int { sequences.lengths.max() ?? 0 }

    /// Sequences and their labels (as many of each).
    package init(sequences: FeatureSequences, labels: [Int]) {
        precondition(sequences.count == labels.count, "one label per sequence")
        self.sequences = sequences
        self.labels = labels
    }

    /// The sequences at `indices`, in that order.
    package func subset(_ indices: [Int]) -> LabeledSequences {
        // The values were checked when the full set was built; a subset keeps them.
        let values = indices.map { sequences.values[$0] }
        return LabeledSequences(sequences: try! FeatureSequences(features: features, values: values),
                                labels: indices.map { labels[$0] })
    }
}

/// Per-feature standardization fitted on the training split and stored in the model file's input
/// stage (spec §6.2.2): `x[t][j] = (src[t][j] - mean[j]) / d[j]` with `d[j] = std[j]` if positive,
/// else 1, in binary32 (a subtraction, then a division).
///
/// The statistics are those of scikit-learn's `StandardScaler` over every valid step of every
/// training sequence (padding never counts): the mean, and the population standard deviation
/// (divisor `n`, not `n - 1`), both accumulated in float64 (two passes) and rounded once to binary32.
package struct Standardization: Sendable, Equatable {
    /// Per-feature means, `[F]`.
    package var mean: [Float]
    /// Per-feature population standard deviations, `[F]` (0 for a constant feature).
    package var std: [Float]

    /// The given statistics (`mean.count == std.count`).
    package init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count, "one std per mean")
        self.mean = mean
        self.std = std
    }

    /// Fits the statistics on `sequences`, which must hold at least one step.
    package init(fitting sequences: FeatureSequences) throws(TrainingError) {
        let f = sequences.features
        let steps = sequences.lengths.reduce(0, +)
        guard steps > 0 else { throw .dataMismatch("the training sequences hold no time step to standardize on") }
        var sum = [Double](repeating: 0, count: f)
        for s in sequences.values { for (k, v) in s.enumerated() { sum[k % f] += Double(v) } }
        let mean = sum.map { $0 / Double(steps) }
        var squares = [Double](repeating: 0, count: f)
        for s in sequences.values {
            for (k, v) in s.enumerated() {
                let d = Double(v) - mean[k % f]
                squares[k % f] += d * d
            }
        }
        self.init(mean: mean.map { Float($0) }, std: squares.map { Float(($0 / Double(steps)).squareRoot()) })
    }

    /// `sequences` standardized exactly as a runtime standardizes them (spec §6.2.2).
    package func apply(to sequences: FeatureSequences) -> FeatureSequences {
        let f = sequences.features
        precondition(f == mean.count, "feature count mismatch")
        let divisor = std.map { $0 > 0 ? $0 : 1 }
        let values = sequences.values.map { s in
            // Two correctly rounded binary32 operations: no reciprocal, no fused multiply-add.
            s.enumerated().map { k, v in (v - mean[k % f]) / divisor[k % f] }
        }
        // Standardizing finite values by finite statistics with d >= the smallest positive float
        // can still overflow for hostile data; such a value is refused like any non-finite input.
        return (try? FeatureSequences(features: f, values: values)) ?? sequences
    }
}

/// The three parts of a feature-sequence run, standardized with the training part's statistics.
package struct SequenceTrainingData: Sendable {
    /// Sequences trained on.
    package var train: LabeledSequences
    /// Sequences evaluated after every epoch (for the best epoch / early stopping).
    package var validation: LabeledSequences
    /// Sequences evaluated once, at the end.
    package var test: LabeledSequences
    /// The statistics every part was standardized with (nil: raw features), exported into the
    /// model's input stage.
    package var standardization: Standardization?
    /// Data set name for provenance (the `.ts` file's `@problemName`, or the file name).
    package var name: String
    /// File name -> SHA-256 of its (decompressed) content.
    package var sha256: [String: String]
    /// Class names, in label order.
    package var classNames: [String]

    /// Features per step.
    package var features: Int { train.features }
    /// The longest sequence of any part: the exported model's `max_length`.
    package var maximumLength: Int { max(train.maximumLength, validation.maximumLength, test.maximumLength) }

    /// Splits `train` into training and validation parts and standardizes all three parts.
    ///
    /// The validation part is `validationCount` sequences drawn per class in proportion to the class
    /// sizes (largest remainders; at least one sequence stays in training for every class), chosen by
    /// a generator seeded by `seed`, so that a small set such as BasicMotions (40 recordings, 4
    /// classes) keeps every class on both sides. The statistics are fitted on the training part
    /// only (validation and test are standardized with them, as a deployed model would be).
    package init(train all: LabeledSequences, test: LabeledSequences, validationCount: Int, seed: UInt64,
                 standardize: Bool, name: String, sha256: [String: String], classNames: [String]) throws(TrainingError) {
        guard all.count > 0 else { throw .dataMismatch("the training file holds no sequence") }
        guard test.count == 0 || test.features == all.features else {
            throw .dataMismatch("the test sequences have \(test.features) features per step; the training sequences have \(all.features)")
        }
        let classes = classNames.count
        for (part, set) in [("training", all), ("test", test)] {
            if let bad = set.labels.firstIndex(where: { !(0..<classes).contains($0) }) {
                throw .dataMismatch("label \(set.labels[bad]) of \(part) sequence \(bad) is outside 0..<\(classes)")
            }
        }
        guard (0..<all.count).contains(validationCount) else {
            throw .invalidHyperparameter("--validation must be in 0..<\(all.count) (the training sequences), got \(validationCount)")
        }
        let held = Self.stratifiedHoldOut(labels: all.labels, classes: classes, count: validationCount, seed: seed)
        let heldSet = Set(held)
        let kept = (0..<all.count).filter { !heldSet.contains($0) }
        var trainPart = all.subset(kept), validationPart = all.subset(held), testPart = test
        if standardize {
            let s = try Standardization(fitting: trainPart.sequences)
            trainPart.sequences = s.apply(to: trainPart.sequences)
            validationPart.sequences = s.apply(to: validationPart.sequences)
            testPart.sequences = s.apply(to: testPart.sequences)
            standardization = s
        } else {
            standardization = nil
        }
        self.train = trainPart
        self.validation = validationPart
        self.test = testPart
        self.name = name
        self.sha256 = sha256
        self.classNames = classNames
    }

    /// `count` indices of `labels`, spread over the classes in proportion to their sizes (largest
    /// remainders, ties to the lower class), each class keeping at least one member, in ascending order.
    static func stratifiedHoldOut(labels: [Int], classes: Int, count: Int, seed: UInt64) -> [Int] {
        guard count > 0 else { return [] }
        var members = [[Int]](repeating: [], count: classes)
        for (i, label) in labels.enumerated() { members[label].append(i) }
        var rng = Xoshiro256StarStar(seed: seed ^ 0x5EED_0F_5A11D)
        for c in 0..<classes { rng.shuffle(&members[c]) }
        // Quotas by largest remainder, capped so that every class keeps one training member.
        let total = Double(labels.count)
        var quota = members.map { min(max($0.count - 1, 0), Int(Double($0.count) * Double(count) / total)) }
        var remainders = members.enumerated().map { c, m in (Double(m.count) * Double(count) / total - Double(quota[c]), c) }
        remainders.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        var missing = count - quota.reduce(0, +)
        while missing > 0 {
            var progressed = false
            for (_, c) in remainders where missing > 0 && quota[c] < members[c].count - 1 {
                quota[c] += 1
                missing -= 1
                progressed = true
            }
            if !progressed { break }  // every class is down to one member: hold out what can be
        }
        return (0..<classes).flatMap { members[$0].prefix(quota[$0]) }.sorted()
    }
}

extension SequenceTrainingData {
    /// Reads a UEA/UCR `.ts` training file and test file (spec of the format: ``TSDataset``); the
    /// class list is the training file's `@classLabel` list, which the test file must share.
    package static func readTS(train trainPath: String, test testPath: String, validationCount: Int?, seed: UInt64,
                               standardize: Bool = true) throws(TrainingError) -> SequenceTrainingData {
        func read(_ path: String) throws(TrainingError) -> (TSDataset, String) {
            do {
                return (try TSDataset.read(at: path), try DatasetDownloader.decompressedSHA256(of: path))
            } catch {
                throw .dataMismatch(error.description)
            }
        }
        let (train, trainHash) = try read(trainPath)
        let (test, testHash) = try read(testPath)
        guard !train.classLabels.isEmpty else {
            throw .dataMismatch("\(trainPath): expected a classification file (@classLabel true ...), found no class labels")
        }
        guard test.classLabels == train.classLabels else {
            throw .dataMismatch("\(testPath): its @classLabel list \(test.classLabels) differs from the training file's \(train.classLabels)")
        }
        let all = LabeledSequences(sequences: train.sequences, labels: train.classIndices)
        let testSet = LabeledSequences(sequences: test.sequences, labels: test.classIndices)
        for (path, set) in [(trainPath, all), (testPath, testSet)] {
            if let empty = set.sequences.lengths.firstIndex(of: 0) {
                throw .dataMismatch("\(path): series \(empty) has no time step")
            }
        }
        // Default: a tenth of the training sequences, at least one per class, never all of them.
        let count = validationCount ?? min(max(train.classLabels.count, all.count / 10), all.count - 1)
        let name = train.problemName ?? AtomicFile.split(trainPath).base
        return try SequenceTrainingData(
            train: all, test: testSet, validationCount: count, seed: seed, standardize: standardize,
            name: name, sha256: [AtomicFile.split(trainPath).base: trainHash, AtomicFile.split(testPath).base: testHash],
            classNames: train.classLabels)
    }
}

/// The files of one part of an `.npy` data set: features `[N, T, F]` (float32 or float64), labels `[N]`
/// (int32 or int64 class indices) and optionally lengths `[N]` (int32 or int64; without them every
/// sequence has T steps).
package struct NPYPart: Sendable, Equatable {
    /// The features file.
    package var features: String
    /// The labels file.
    package var labels: String
    /// The lengths file, if the sequences have different lengths.
    package var lengths: String?

    /// The paths of one part.
    package init(features: String, labels: String, lengths: String? = nil) {
        self.features = features
        self.labels = labels
        self.lengths = lengths
    }
}

extension SequenceTrainingData {
    /// Reads `.npy` training and test parts (``NPYPart``). The classes are `0 ..< C` with `C` one
    /// more than the largest training label (at least 2), named by their numbers.
    package static func readNPY(train: NPYPart, test: NPYPart, validationCount: Int?, seed: UInt64,
                                standardize: Bool = true) throws(TrainingError) -> SequenceTrainingData {
        func read(_ part: NPYPart) throws(TrainingError) -> (LabeledSequences, [String: String]) {
            do {
                let x = try NPYArray.read(at: part.features)
                let sequences = try x.featureSequences(lengths: part.lengths.map { path throws(DatasetError) in try NPYArray.read(at: path) })
                let y = try NPYArray.read(at: part.labels)
                let labels = try y.lengths(count: sequences.count)  // rank 1, integer, one per sequence, >= 0
                if let empty = sequences.lengths.firstIndex(of: 0) {
                    throw TrainingError.dataMismatch("\(part.lengths ?? part.features): sequence \(empty) has length 0")
                }
                var hashes: [String: String] = [:]
                for path in [part.features, part.labels] + (part.lengths.map { [$0] } ?? []) {
                    hashes[AtomicFile.split(path).base] = try DatasetDownloader.decompressedSHA256(of: path)
                }
                return (LabeledSequences(sequences: sequences, labels: labels), hashes)
            } catch let error as TrainingError {
                throw error
            } catch let error as DatasetError {
                throw .dataMismatch(error.description)
            } catch {
                throw .dataMismatch("\(error)")
            }
        }
        let (all, trainHashes) = try read(train)
        let (testSet, testHashes) = try read(test)
        let classes = max(2, (all.labels.max() ?? 0) + 1)
        let count = validationCount ?? min(max(classes, all.count / 10), max(all.count - 1, 0))
        return try SequenceTrainingData(
            train: all, test: testSet, validationCount: count, seed: seed, standardize: standardize,
            name: AtomicFile.split(train.features).base, sha256: trainHashes.merging(testHashes) { a, _ in a },
            classNames: (0..<classes).map(String.init))
    }
}
