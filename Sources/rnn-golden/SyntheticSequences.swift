import RNNCore
import RNNDatasets

/// Labeled variable-length feature sequences drawn by code: the training data and the golden
/// inputs of the trainer set's `features` models (spec/GOLDEN.md, "Trainer-made set"). No data set
/// is copied.
///
/// Four classes, `F = 6` features per step, 1 ... 29 steps. Each feature exercises one part of the
/// `features` input stage:
///
/// | feature | value at step `t` of a sequence of `n` steps, class `c` | why |
/// |---|---|---|
/// | 0 | `slope[c] * (t + 1) / n + 0.5 e` | a trend whose sign and size name the class |
/// | 1 | `±1` flipping every `c + 1` steps, `+ 0.3 e` | a rhythm only a recurrent state can count |
/// | 2 | `e` | noise |
/// | 3 | `100 + 30 c + 10 e` | large raw values: standardization matters |
/// | 4 | `3.25` | constant: its fitted std is exactly 0 (spec §6.2.2: centred, divided by 1) |
/// | 5 | a random walk of `0.5 e` steps | state carried over the whole sequence |
///
/// `e` is a zero-mean noise in `[-2, 2]`, the sum of four uniform draws minus 2 (Irwin-Hall), so
/// that only `+ - *` and correctly rounded conversions are involved: the same seed draws the same
/// binary32 values on every platform (no libm, unlike a Box-Muller normal).
enum SyntheticSequences {
    static let features = 6
    static let classes = 4
    static let maximumLength = 29
    static let slopes: [Double] = [-2, -0.7, 0.7, 2]

    /// `count` sequences (time-major `x[t][f]` each) with their labels; lengths uniform in
    /// 1 ... 29, except that sequence 0 has the maximum length (so that `max_length` is 29) and
    /// labels cycle through the classes.
    static func draw(count: Int, seed: UInt64) -> (sequences: [[Float]], labels: [Int]) {
        var rng = Xoshiro256StarStar(seed: seed)
        var sequences: [[Float]] = [], labels: [Int] = []
        for index in 0..<count {
            let label = index % classes
            let length = index == 0 ? maximumLength : 1 + rng.nextInt(below: maximumLength)
            sequences.append(sequence(label: label, length: length, rng: &rng))
            labels.append(label)
        }
        return (sequences, labels)
    }

    /// One sequence of class `label` and `length` steps.
    static func sequence(label c: Int, length n: Int, rng: inout Xoshiro256StarStar) -> [Float] {
        func noise() -> Double { (0..<4).reduce(-2.0) { sum, _ in sum + rng.nextUnitDouble() } }
        var values: [Float] = []
        values.reserveCapacity(n * features)
        var walk = 0.0
        for t in 0..<n {
            walk += 0.5 * noise()
            let rhythm: Double = (t / (c + 1)) % 2 == 0 ? 1 : -1
            let step: [Double] = [
                slopes[c] * Double(t + 1) / Double(n) + 0.5 * noise(),
                rhythm + 0.3 * noise(),
                noise(),
                100 + 30 * Double(c) + 10 * noise(),
                3.25,
                walk,
            ]
            values += step.map { Float($0) }
        }
        return values
    }

    /// The labeled sequences of one part, in the trainer's form.
    static func part(count: Int, seed: UInt64) throws(DatasetError) -> (FeatureSequences, [Int]) {
        let (sequences, labels) = draw(count: count, seed: seed)
        return (try FeatureSequences(features: features, values: sequences), labels)
    }
}

/// The golden input batch of the `features` models: 23 sequences (not a multiple of any block
/// size), lengths 1 ... 29 with both ends included and unsorted, padded with zeros to
/// `[23, 29, 6]`, plus three raw values far outside the training range.
struct GoldenSequences {
    static let count = 23
    /// `(sequence, step, feature, value)` (the step is the sequence's last if it is shorter): a spike in the trend, one below the large feature's
    /// range, and the constant feature moved off its constant (where `std` is 0, so the input
    /// stage only centres it).
    static let outliers: [(Int, Int, Int, Float)] = [(3, 0, 0, 25), (7, 2, 3, -12), (11, 1, 4, 9.5)]

    /// Sequence `b` as `lengths[b] x 6` values, time-major.
    var sequences: [[Float]]
    var lengths: [Int]
    /// The class each sequence was drawn from (for the manifest; the outliers may change the answer).
    var labels: [Int]

    init() {
        var rng = Xoshiro256StarStar(seed: 0x601D_5E05)
        // Lengths: 1 and 29 and 21 others, in a seeded order.
        var lengths = [1, SyntheticSequences.maximumLength] + (0..<(Self.count - 2)).map { _ in
            1 + rng.nextInt(below: SyntheticSequences.maximumLength)
        }
        rng.shuffle(&lengths)
        var sequences: [[Float]] = [], labels: [Int] = []
        for (b, n) in lengths.enumerated() {
            let label = rng.nextInt(below: SyntheticSequences.classes)
            var x = SyntheticSequences.sequence(label: label, length: n, rng: &rng)
            for (s, t, f, value) in Self.outliers where s == b {
                x[min(t, n - 1) * SyntheticSequences.features + f] = value
            }
            sequences.append(x)
            labels.append(label)
        }
        self.sequences = sequences
        self.lengths = lengths
        self.labels = labels
    }

    /// `[23, 29, 6]` batch-major, zero beyond each sequence's length (what the `.npy` file holds).
    var padded: [Float] {
        let width = SyntheticSequences.features, stride = SyntheticSequences.maximumLength * width
        var values = [Float](repeating: 0, count: Self.count * stride)
        for (b, x) in sequences.enumerated() {
            for (k, v) in x.enumerated() { values[b * stride + k] = v }
        }
        return values
    }
}
