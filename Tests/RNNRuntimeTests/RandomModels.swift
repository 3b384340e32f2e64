import RNNCore
import RNNFormat

/// Every test model and input comes from RNNCore's deterministic ``SplitMix64``, so it is reproducible.
extension SplitMix64 {
    /// Uniform in [-bound, bound).
    mutating func uniform(_ bound: Float) -> Float {
        (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * bound
    }
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next() >> 56) }
    }
}

/// A layer of a test architecture.
enum TestLayer {
    case dense(out: Int, activation: Activation, bias: Bool = true)
    case lstm(hidden: Int, returns: SequenceReturn, hiddenBias: Bool = true, bidirectional: Bool = false)
    case gru(hidden: Int, returns: SequenceReturn, reset: GRUReset = .after, hiddenBias: Bool = true, bidirectional: Bool = false)
    /// Mean or max over time of the previous (recurrent, `"sequence"`) layer's steps (spec §6.1, since 1.3).
    case pool(PoolMode)
}

/// A `features` input of `width` values per step, sequences up to `maxLength`, standardized by
/// random mean and std tensors (one std exactly 0, spec §6.2.2's rule) when `standardize`.
struct FeatureInputSpec {
    var width: Int
    var maxLength: Int
    var standardize: Bool = true
}

/// Builds a random model with PyTorch-like initialization (uniform in ±1/sqrt(fan-in)), so that
/// activations have realistic magnitudes; the last dense layer's width is the number of classes.
func randomModel(height: Int, width: Int, layers: [TestLayer], seed: UInt64, dtype: DType = .f32,
                 features: FeatureInputSpec? = nil, output: ModelOutput = .logits) -> ModelFile {
    var rng = SplitMix64(seed: seed)
    var tensors: [Tensor] = []
    var specs: [Layer] = []
    var inputWidth = features?.width ?? width
    func add(_ name: String, _ shape: [Int], fanIn: Int) -> String {
        let count = shape.reduce(1, *)
        let bound = 1 / Float(fanIn).squareRoot()
        let values = (0..<count).map { _ in rng.uniform(bound) }
        tensors.append(Tensor(name: name, shape: shape, storage: encode(values, shape: shape, dtype: dtype)))
        return name
    }
    /// One direction's `w_ih [gH, I]`, `w_hh [gH, H]`, `b_ih`, `b_hh` of a recurrent layer with `gates` gates.
    func recurrentTensors(_ name: String, _ suffix: String, gates: Int, hidden: Int, hiddenBias: Bool) -> ReverseTensors {
        ReverseTensors(weightIH: add("\(name).w_ih\(suffix)", [gates * hidden, inputWidth], fanIn: hidden),
                       weightHH: add("\(name).w_hh\(suffix)", [gates * hidden, hidden], fanIn: hidden),
                       biasIH: add("\(name).b_ih\(suffix)", [gates * hidden], fanIn: hidden),
                       biasHH: hiddenBias ? add("\(name).b_hh\(suffix)", [gates * hidden], fanIn: hidden) : nil)
    }
    for (index, layer) in layers.enumerated() {
        switch layer {
        case .dense(let out, let activation, let bias):
            let name = "dense\(index)"
            specs.append(.dense(DenseLayer(
                name: name, inputSize: inputWidth, outputSize: out,
                weight: add("\(name).weight", [out, inputWidth], fanIn: inputWidth),
                bias: bias ? add("\(name).bias", [out], fanIn: inputWidth) : nil, activation: activation)))
            inputWidth = out
        case .lstm(let hidden, let returns, let hiddenBias, let bidirectional):
            let name = "lstm\(index)"
            func direction(_ suffix: String) -> ReverseTensors { recurrentTensors(name, suffix, gates: 4, hidden: hidden, hiddenBias: hiddenBias) }
            let f = direction(""), r = bidirectional ? direction("_reverse") : nil
            specs.append(.lstm(LSTMLayer(
                name: name, inputSize: inputWidth, hiddenSize: hidden,
                weightIH: f.weightIH, weightHH: f.weightHH, biasIH: f.biasIH, biasHH: f.biasHH,
                returns: returns, reverse: r)))
            inputWidth = bidirectional ? 2 * hidden : hidden
        case .gru(let hidden, let returns, let reset, let hiddenBias, let bidirectional):
            let name = "gru\(index)"
            func direction(_ suffix: String) -> ReverseTensors { recurrentTensors(name, suffix, gates: 3, hidden: hidden, hiddenBias: hiddenBias) }
            let f = direction(""), r = bidirectional ? direction("_reverse") : nil
            specs.append(.gru(GRULayer(
                name: name, inputSize: inputWidth, hiddenSize: hidden,
                weightIH: f.weightIH, weightHH: f.weightHH, biasIH: f.biasIH, biasHH: f.biasHH,
                reset: reset, returns: returns, reverse: r)))
            inputWidth = bidirectional ? 2 * hidden : hidden
        case .pool(let mode):
            specs.append(.pool(PoolLayer(name: "pool\(index)", mode: mode, size: inputWidth)))
        }
    }
    var input = InputContract(height: height, width: width, scale: 1 / 255, offset: -0.5)
    if let features {
        var spec = FeatureInput(width: features.width, maxLength: features.maxLength)
        if features.standardize {
            let mean = (0..<features.width).map { _ in rng.uniform(2) }
            var std = (0..<features.width).map { _ in 0.25 + abs(rng.uniform(3)) }
            std[features.width / 2] = 0
            tensors.append(Tensor(name: "input.mean", shape: [features.width], values: mean))
            tensors.append(Tensor(name: "input.std", shape: [features.width], values: std))
            spec.mean = "input.mean"
            spec.std = "input.std"
        }
        input = InputContract(features: spec)
    }
    let metadata = ModelMetadata(
        layers: specs,
        input: input,
        labels: (0..<inputWidth).map { "class\($0)" },
        provenance: Provenance(producer: "RNNRuntimeTests"), output: output)
    return ModelFile(metadata: metadata, tensors: tensors)
}

/// The tokens version of a features model of width `d` without standardization: a random embedding
/// table `[vocabulary + 2, d]` (uniform in ±1, from `seed`) as its first layer, the same layers after it.
/// Returns the model and the table, whose rows are the features model's input for the same ids.
func tokensModel(from features: ModelFile, vocabulary: [String], maxLength: Int, seed: UInt64) -> (ModelFile, [Float]) {
    let d = features.metadata.input.width, rows = vocabulary.count + 2
    var rng = SplitMix64(seed: seed)
    let table = (0..<(rows * d)).map { _ in rng.uniform(1) }
    var text = features
    text.metadata.input = InputContract(tokens: TokenInput(maxLength: maxLength, vocabulary: vocabulary))
    text.metadata.layers.insert(.embedding(EmbeddingLayer(name: "embed", vocabularySize: rows, dimension: d, weight: "embed.weight")), at: 0)
    text.tensors.append(Tensor(name: "embed.weight", shape: [rows, d], values: table))
    return (text, table)
}

/// Stores `values` in `dtype` (round to nearest even; int8 symmetric per row, spec §4.1).
func encode(_ values: [Float], shape: [Int], dtype: DType) -> TensorStorage {
    switch dtype {
    case .f32:
        return .f32(values)
    case .f16:
        return .f16(values.map { Float16($0).bitPattern })
    case .bf16:
        return .bf16(values.map { v in
            let bits = v.bitPattern
            return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
        })
    case .int8:
        let rows = shape[0], perRow = values.count / rows
        var scales: [Float] = [], q: [Int8] = []
        for r in 0..<rows {
            let row = values[(r * perRow)..<((r + 1) * perRow)]
            let peak = row.map(abs).max() ?? 0
            let s = peak > 0 ? peak / 127 : 1
            scales.append(s)
            q += row.map { Int8(max(-127, min(127, ($0 / s).rounded(.toNearestOrEven)))) }
        }
        return .int8(values: q, scales: scales)
    }
}
