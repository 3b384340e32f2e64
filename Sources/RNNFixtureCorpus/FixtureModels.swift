import RNNCore
import RNNFormat

/// The good models of `fixtures/models/` and the bases the corrupt files are made from.
enum FixtureModels {
    /// Builds an image-rows classifier: optional dense layers per time step, a stack of LSTMs
    /// (all but the last returning sequences), then dense layers to `labels.count` outputs.
    static func classifier(seed: UInt64, height: Int, width: Int, pre: [Int] = [], lstm: [Int], post: [Int] = [],
                           labels: [String], dtype: DType = .f32, bHH: Bool = true,
                           producer: String = "rnn-fixtures") -> ModelFile {
        var rng = SplitMix64(seed: seed)
        var tensors: [Tensor] = []
        var layers: [Layer] = []
        func add(_ name: String, _ shape: [Int]) -> String {
            let values = rng.weights(shape.reduce(1, *))
            // Fixture values are in [-0.5, 0.5): every dtype represents them, so this cannot fail.
            tensors.append(try! Tensor.quantized(name: name, shape: shape, values: values, to: dtype))
            return name
        }
        var w = width
        for (i, out) in pre.enumerated() {
            let name = "pre\(i)"
            layers.append(.dense(DenseLayer(name: name, inputSize: w, outputSize: out, weight: add("\(name).weight", [out, w]),
                                            bias: add("\(name).bias", [out]), activation: .tanh)))
            w = out
        }
        for (i, h) in lstm.enumerated() {
            let name = "lstm\(i)"
            let wih = add("\(name).w_ih", [4 * h, w]), whh = add("\(name).w_hh", [4 * h, h]), bih = add("\(name).b_ih", [4 * h])
            let bhh = bHH ? add("\(name).b_hh", [4 * h]) : nil
            layers.append(.lstm(LSTMLayer(name: name, inputSize: w, hiddenSize: h, weightIH: wih, weightHH: whh,
                                          biasIH: bih, biasHH: bhh, returns: i == lstm.count - 1 ? .last : .sequence)))
            w = h
        }
        for (i, out) in (post + [labels.count]).enumerated() {
            let last = i == post.count
            let name = last ? "out" : "post\(i)"
            layers.append(.dense(DenseLayer(name: name, inputSize: w, outputSize: out, weight: add("\(name).weight", [out, w]),
                                            bias: add("\(name).bias", [out]), activation: last ? .none : .relu)))
            w = out
        }
        let metadata = ModelMetadata(
            layers: layers,
            input: InputContract(height: height, width: width, scale: 1.0 / 255, offset: 0),
            labels: labels,
            provenance: Provenance(producer: producer, producerVersion: "1.0",
                                   hyperparameters: ["hidden": .number(Double(lstm.last!)), "init": .string("uniform(-0.5, 0.5)")],
                                   seed: seed, metrics: ["untrained": 1]))
        return ModelFile(metadata: metadata, tensors: tensors)
    }

    /// 5 x 6 images -> lstm(4) -> 3 classes.
    static func tiny(dtype: DType = .f32, bHH: Bool = true) -> ModelFile {
        classifier(seed: 4, height: 5, width: 6, lstm: [4], labels: ["a", "b", "c"], dtype: dtype, bHH: bHH)
    }

    /// 3 x 3 images -> lstm(2) -> 2 classes: the base of most corrupt files (as small as possible).
    static func micro(dtype: DType = .f32) -> ModelFile {
        classifier(seed: 1, height: 3, width: 3, lstm: [2], labels: ["no", "yes"], dtype: dtype)
    }
}
