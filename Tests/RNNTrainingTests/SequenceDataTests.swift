import Foundation
import RNNDatasets
import Testing
@testable import RNNTraining

/// `../shared/datasets/uea/NAME` relative to the package root, or nil when the shared copy is absent.
func ueaFile(_ name: String) -> String? {
    let path = (mnistDirectory as NSString).deletingLastPathComponent + "/uea/" + name
    guard FileManager.default.fileExists(atPath: path) else {
        print("skipped: \(path) is absent (see ../shared/datasets/README.md, section uea/)")
        return nil
    }
    return path
}

/// The trainer's feature-sequence data: standardization statistics (against a float64 computation
/// written out here), the binary32 arithmetic of applying them (spec §6.2.2), the stratified
/// validation split, and the real UEA files.
@Suite struct SequenceDataTests {
    static func sequences(_ values: [[Float]], features: Int) -> FeatureSequences {
        try! FeatureSequences(features: features, values: values)
    }

    /// Two features over sequences of lengths 2, 1 and 3: the statistics count every valid step once,
    /// population std (divisor n); a constant feature has std 0 and is centred only.
    @Test func statisticsArePopulationMeanAndStdOverEveryStep() throws {
        let s = Self.sequences([[1, 5, 3, 5], [2, 5], [4, 5, 6, 5, 9, 5]], features: 2)
        let fit = try Standardization(fitting: s)
        // Feature 0 over its six steps: 1, 3, 2, 4, 6, 9 -> mean 25/6, population variance below.
        let x: [Double] = [1, 3, 2, 4, 6, 9]
        let mean = x.reduce(0, +) / 6
        let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6
        #expect(fit.mean == [Float(mean), 5])
        #expect(fit.std == [Float(variance.squareRoot()), 0])
        let applied = fit.apply(to: s)
        #expect(applied.lengths == [2, 1, 3])
        // Exactly (x - mean) / d in binary32, d = 1 for the constant feature.
        #expect(applied.values[2] == [(4 - fit.mean[0]) / fit.std[0], 0, (6 - fit.mean[0]) / fit.std[0], 0,
                                      (9 - fit.mean[0]) / fit.std[0], 0])
    }

    @Test func noStepToFitOnIsAnError() {
        #expect(throws: TrainingError.self) { try Standardization(fitting: Self.sequences([], features: 3)) }
    }

    /// Proportional quotas by largest remainder, at least one training member left per class,
    /// reproducible for a seed.
    @Test func holdOutIsStratifiedAndSeeded() {
        let labels = Array(repeating: 0, count: 60) + Array(repeating: 1, count: 30) + Array(repeating: 2, count: 10)
        let held = SequenceTrainingData.stratifiedHoldOut(labels: labels, classes: 3, count: 10, seed: 7)
        #expect(held.count == 10)
        #expect(held == held.sorted() && Set(held).count == 10)
        #expect(held.filter { labels[$0] == 0 }.count == 6)
        #expect(held.filter { labels[$0] == 1 }.count == 3)
        #expect(held.filter { labels[$0] == 2 }.count == 1)
        #expect(held == SequenceTrainingData.stratifiedHoldOut(labels: labels, classes: 3, count: 10, seed: 7))
        #expect(held != SequenceTrainingData.stratifiedHoldOut(labels: labels, classes: 3, count: 10, seed: 8))
        // Two members per class and a request for all of them: each class keeps one.
        let tiny = SequenceTrainingData.stratifiedHoldOut(labels: [0, 0, 1, 1], classes: 2, count: 3, seed: 1)
        #expect(tiny.map { [0, 0, 1, 1][$0] }.sorted() == [0, 1])
    }

    /// Statistics come from the training part only, and every part is standardized with them.
    @Test func statisticsComeFromTheTrainingPartOnly() throws {
        let values: [[Float]] = (0..<20).map { i in [Float(i), Float(i % 3)] }
        let all = LabeledSequences(sequences: Self.sequences(values, features: 1), labels: (0..<20).map { $0 % 2 })
        let test = LabeledSequences(sequences: Self.sequences([[100, 200]], features: 1), labels: [1])
        let data = try SequenceTrainingData(train: all, test: test, validationCount: 4, seed: 3, standardize: true,
                                            name: "toy", sha256: [:], classNames: ["a", "b"])
        #expect(data.train.count == 16 && data.validation.count == 4)
        let heldIndices = SequenceTrainingData.stratifiedHoldOut(labels: all.labels, classes: 2, count: 4, seed: 3)
        let trainRaw = all.subset((0..<20).filter { !heldIndices.contains($0) })
        let expected = try Standardization(fitting: trainRaw.sequences)
        #expect(data.standardization == expected)
        #expect(data.test.sequences.values[0] == [(100 - expected.mean[0]) / expected.std[0], (200 - expected.mean[0]) / expected.std[0]])
        #expect(data.validation.sequences == expected.apply(to: all.subset(heldIndices).sequences))
    }

    @Test func badSplitsAndLabelsAreRefused() {
        let all = LabeledSequences(sequences: Self.sequences([[1], [2], [3]], features: 1), labels: [0, 1, 0])
        let empty = LabeledSequences(sequences: Self.sequences([], features: 1), labels: [])
        #expect(throws: TrainingError.self) {
            try SequenceTrainingData(train: all, test: empty, validationCount: 3, seed: 1, standardize: true,
                                     name: "x", sha256: [:], classNames: ["a", "b"])
        }
        let badLabel = LabeledSequences(sequences: Self.sequences([[1], [2]], features: 1), labels: [0, 5])
        #expect(throws: TrainingError.self) {
            try SequenceTrainingData(train: badLabel, test: empty, validationCount: 0, seed: 1, standardize: true,
                                     name: "x", sha256: [:], classNames: ["a", "b"])
        }
        let wide = LabeledSequences(sequences: Self.sequences([[1, 2]], features: 2), labels: [0])
        #expect(throws: TrainingError.self) {
            try SequenceTrainingData(train: all, test: wide, validationCount: 0, seed: 1, standardize: true,
                                     name: "x", sha256: [:], classNames: ["a", "b"])
        }
    }

    /// JapaneseVowels: 270 training and 370 test utterances of 12 features, lengths 7-29, 9 speakers;
    /// the default validation part is a tenth, stratified; the standardized training part has mean 0
    /// and std 1 per feature (to float32 rounding).
    @Test func japaneseVowelsReadsSplitsAndStandardizes() throws {
        guard let train = ueaFile("JapaneseVowels_TRAIN.ts"), let test = ueaFile("JapaneseVowels_TEST.ts") else { return }
        let data = try SequenceTrainingData.readTS(train: train, test: test, validationCount: nil, seed: 1)
        #expect(data.name == "JapaneseVowels")
        #expect(data.classNames.count == 9 && data.features == 12)
        #expect(data.train.count + data.validation.count == 270 && data.validation.count == 27)
        #expect(data.test.count == 370)
        #expect(data.maximumLength == 29)
        #expect(data.sha256.keys.sorted() == ["JapaneseVowels_TEST.ts", "JapaneseVowels_TRAIN.ts"])
        var sum = [Double](repeating: 0, count: 12), squares = sum, steps = 0.0
        for s in data.train.sequences.values {
            for (k, v) in s.enumerated() { sum[k % 12] += Double(v); squares[k % 12] += Double(v) * Double(v) }
            steps += Double(s.count / 12)
        }
        for j in 0..<12 {
            #expect(abs(sum[j] / steps) < 1e-5)
            #expect(abs(squares[j] / steps - 1) < 1e-4)
        }
    }

    @Test func mismatchedClassListsAreRefused() throws {
        guard let train = ueaFile("JapaneseVowels_TRAIN.ts"), let test = ueaFile("BasicMotions_TEST.ts") else { return }
        #expect(throws: TrainingError.self) {
            try SequenceTrainingData.readTS(train: train, test: test, validationCount: nil, seed: 1)
        }
    }
}

/// `.npy` parts: features with lengths and labels, written here in NumPy's format.
@Suite struct SequenceNPYTests {
    /// A version 1.0 `.npy` file of `dtype` and `shape` holding `payload` (little-endian values).
    static func npy(_ dtype: String, _ shape: [Int], _ payload: [UInt8]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(dtype)', 'fortran_order': False, 'shape': \(dims), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let n = header.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(header.utf8) + payload
    }
    static func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    static func write(_ name: String, _ content: [UInt8]) -> String {
        let path = NSTemporaryDirectory() + "seqnpy-\(getpid())-" + name
        FileManager.default.createFile(atPath: path, contents: Data(content))
        return path
    }

    @Test func readsFeaturesLengthsAndLabels() throws {
        // 4 sequences of up to 3 steps of 2 features; lengths 3, 1, 2, 3; labels 0, 2, 1, 2.
        let x = (0..<24).map { Float($0) }
        let train = NPYPart(features: Self.write("x.npy", Self.npy("<f4", [4, 3, 2], Self.bytes(x))),
                            labels: Self.write("y.npy", Self.npy("<i8", [4], Self.bytes([0, 2, 1, 2] as [Int64]))),
                            lengths: Self.write("l.npy", Self.npy("<i4", [4], Self.bytes([3, 1, 2, 3] as [Int32]))))
        let test = NPYPart(features: Self.write("tx.npy", Self.npy("<f8", [1, 2, 2], Self.bytes([1, 2, 3, 4] as [Double]))),
                           labels: Self.write("ty.npy", Self.npy("<i4", [1], Self.bytes([1] as [Int32]))))
        let data = try SequenceTrainingData.readNPY(train: train, test: test, validationCount: 0, seed: 1, standardize: false)
        #expect(data.classNames == ["0", "1", "2"])
        #expect(data.train.sequences.lengths == [3, 1, 2, 3])
        #expect(data.train.sequences.values[1] == [6, 7])
        #expect(data.train.labels == [0, 2, 1, 2])
        #expect(data.test.sequences.values == [[1, 2, 3, 4]] && data.test.labels == [1])
        #expect(data.sha256.count == 5)
        // A label file with the wrong count, and a length of 0, are one-line errors.
        let short = NPYPart(features: train.features, labels: Self.write("y3.npy", Self.npy("<i8", [3], Self.bytes([0, 1, 1] as [Int64]))))
        #expect(throws: TrainingError.self) { try SequenceTrainingData.readNPY(train: short, test: test, validationCount: 0, seed: 1) }
        let zero = NPYPart(features: train.features, labels: train.labels,
                           lengths: Self.write("l0.npy", Self.npy("<i4", [4], Self.bytes([3, 0, 2, 3] as [Int32]))))
        #expect(throws: TrainingError.self) { try SequenceTrainingData.readNPY(train: zero, test: test, validationCount: 0, seed: 1) }
    }
}
