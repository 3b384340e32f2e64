/// Sequences of feature vectors, the input of models that read `F` floats per time step:
/// what a `[N, T, F]` `.npy` array (``NPYArray/featureSequences(lengths:)``) and a UEA/UCR `.ts`
/// file (``TSDataset/sequences``) become.
///
/// Each sequence is stored time-major: step `t`, feature `f` is `values[i][t * features + f]`,
/// so sequence `i` holds `lengths[i] * features` values. Every value is finite.
public struct FeatureSequences: Equatable, Sendable {
    /// `F`, the features per step (at least 1).
    public let features: Int
    /// The steps of each sequence (0 or more).
    public let lengths: [Int]
    /// Each sequence's values, time-major (`x[t][f]` flat): `lengths[i] * features` floats.
    public let values: [[Float]]

    /// The number of sequences.
    public var count: Int { values.count }

    /// Sequences of `features` values per step; each sequence's count must be a multiple of
    /// `features` and every value finite.
    public init(features: Int, values: [[Float]]) throws(DatasetError) {
        guard features >= 1 else { throw .invalidArgument(detail: "features is \(features), expected at least 1") }
        for (index, sequence) in values.enumerated() {
            guard sequence.count % features == 0 else {
                throw .invalidArgument(detail: "sequence \(index) holds \(sequence.count) values, "
                    + "not a multiple of \(features) features")
            }
            if let position = sequence.firstIndex(where: { !$0.isFinite }) {
                throw .invalidArgument(detail: "sequence \(index), step \(position / features), "
                    + "feature \(position % features) is \(sequence[position]), expected a finite number")
            }
        }
        self.init(uncheckedFeatures: features, values: values)
    }

    /// For readers that have checked the counts and values themselves.
    init(uncheckedFeatures features: Int, values: [[Float]]) {
        self.features = features
        self.values = values
        self.lengths = values.map { $0.count / features }
    }
}

extension NPYArray {
    /// This `[N, T, F]` float array as `N` sequences of `T` steps of `F` features, or, with a
    /// `lengths` array, of `lengths[i]` steps each (the steps past a sequence's length are padding:
    /// neither kept nor checked).
    ///
    /// Checks, in order: rank 3 with `F >= 1`; a float type (`<f4` or `<f8`); the lengths (see
    /// ``lengths(count:maximum:)``, with `count` N and `maximum` T); every kept value finite (a NaN
    /// or infinity is an error naming its sequence, step and feature, from 0).
    public func featureSequences(lengths: NPYArray? = nil) throws(DatasetError) -> FeatureSequences {
        let expected = "rank 3 [N, T, F] (sequences, steps, features) with F >= 1"
        guard shape.count == 3, shape[2] >= 1 else {
            throw .npy(path: path, .wrongShape(expected: shape.count == 2 ? expected + "; one sequence [T, F] is arr[None]"
                                               : expected, shape: shape))
        }
        let (n, t, f) = (shape[0], shape[1], shape[2])
        guard case .float(let all) = values else {
            throw .npy(path: path, .wrongDType(expected: "float features ('<f4' or '<f8')", found: dtype.rawValue))
        }
        let steps = try lengths?.lengths(count: n, maximum: t) ?? Array(repeating: t, count: n)
        var sequences: [[Float]] = []
        sequences.reserveCapacity(n)
        for (sequence, length) in steps.enumerated() {
            let start = sequence * t * f
            let kept = all[start ..< start + length * f]
            if let position = kept.firstIndex(where: { !$0.isFinite }) {
                let offset = position - start
                throw .npy(path: path, .nonFiniteFeature(sequence: sequence, step: offset / f, feature: offset % f,
                                                         value: all[position]))
            }
            sequences.append(Array(kept))
        }
        return FeatureSequences(uncheckedFeatures: f, values: sequences)
    }

    /// This rank-1 integer array (`<i4` or `<i8`) as sequence lengths: `count` of them when given,
    /// each in `0 ... maximum` (the steps of the features array) when `maximum` is given, else `>= 0`.
    public func lengths(count: Int? = nil, maximum: Int? = nil) throws(DatasetError) -> [Int] {
        guard shape.count == 1 else {
            throw .npy(path: path, .wrongShape(expected: "rank 1 [N] (one length per sequence)", shape: shape))
        }
        guard case .integer(let all) = values else {
            throw .npy(path: path, .wrongDType(expected: "integer lengths ('<i4' or '<i8')", found: dtype.rawValue))
        }
        if let count, all.count != count { throw .npy(path: path, .lengthCount(expected: count, found: all.count)) }
        let limit = maximum ?? Int.max
        if let index = all.firstIndex(where: { $0 < 0 || $0 > Int64(limit) }) {
            throw .npy(path: path, .lengthOutOfRange(index: index, value: all[index], maximum: limit))
        }
        return all.map { Int($0) }
    }
}
