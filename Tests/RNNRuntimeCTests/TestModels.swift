import CRNNRuntime
import RNNFormat
import RNNRuntime
import Testing

/// Format 1.2 models for the C API 1.1 tests, built in memory and handed to the library as file
/// bytes (`rnn_model_load_from_memory`), so every kind of model goes through the C entry points.
///
/// Feature models are built from scratch (one recurrent layer and a dense head, weights from a
/// fixed hash, so they are reproducible); image and text variants are the committed fixtures with
/// one member changed (a per-step last layer, values outputs).
enum TestModels {
    /// The recurrent cell of a built model.
    enum Cell { case lstm, gru }

    /// A deterministic value in [-bound, bound) for weight `k` of a model built with `seed`.
    private static func weight(_ k: Int, seed: Int, bound: Float) -> Float {
        var z = UInt64(k) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(seed) &* 0xD1B5_4A32_D192_ED03
        z = (z ^ (z >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return (Float(z >> 40) / Float(1 << 24) * 2 - 1) * bound
    }

    /// features(width, max) [standardized] -> cell(hidden, returns, direction) -> dense(classes).
    static func features(width: Int, maxLength: Int, cell: Cell = .gru, hidden: Int = 6, classes: Int = 3,
                         returns: SequenceReturn = .last, bidirectional: Bool = false, output: ModelOutput = .logits,
                         seed: Int = 1) -> ModelFile {
        var tensors: [Tensor] = []
        func tensor(_ name: String, _ shape: [Int], bound: Float) -> String {
            let base = tensors.count * 10_000
            tensors.append(Tensor(name: name, shape: shape,
                                  values: (0..<shape.reduce(1, *)).map { weight(base + $0, seed: seed, bound: bound) }))
            return name
        }
        let gates = cell == .lstm ? 4 : 3
        let bound = 1 / Float(hidden).squareRoot()
        func direction(_ suffix: String) -> ReverseTensors {
            ReverseTensors(weightIH: tensor("rnn.w_ih\(suffix)", [gates * hidden, width], bound: bound),
                           weightHH: tensor("rnn.w_hh\(suffix)", [gates * hidden, hidden], bound: bound),
                           biasIH: tensor("rnn.b_ih\(suffix)", [gates * hidden], bound: bound),
                           biasHH: tensor("rnn.b_hh\(suffix)", [gates * hidden], bound: bound))
        }
        let forward = direction(""), reverse = bidirectional ? direction("_reverse") : nil
        let recurrent: Layer = switch cell {
        case .lstm: .lstm(LSTMLayer(name: "rnn", inputSize: width, hiddenSize: hidden, weightIH: forward.weightIH,
                                    weightHH: forward.weightHH, biasIH: forward.biasIH, biasHH: forward.biasHH,
                                    returns: returns, reverse: reverse))
        case .gru: .gru(GRULayer(name: "rnn", inputSize: width, hiddenSize: hidden, weightIH: forward.weightIH,
                                 weightHH: forward.weightHH, biasIH: forward.biasIH, biasHH: forward.biasHH,
                                 returns: returns, reverse: reverse))
        }
        let heads = bidirectional ? 2 * hidden : hidden
        let dense = Layer.dense(DenseLayer(name: "head", inputSize: heads, outputSize: classes,
                                           weight: tensor("head.weight", [classes, heads], bound: bound),
                                           bias: tensor("head.bias", [classes], bound: bound)))
        // Standardization (spec §6.2.2): means near 0, standard deviations 0.5 ... 2, one exactly 0.
        tensors.append(Tensor(name: "input.mean", shape: [width], values: (0..<width).map { weight($0, seed: seed + 1, bound: 1) }))
        tensors.append(Tensor(name: "input.std", shape: [width],
                              values: (0..<width).map { $0 == width - 1 ? 0 : 1.25 + weight($0, seed: seed + 2, bound: 0.75) }))
        let input = InputContract(features: FeatureInput(width: width, maxLength: maxLength, mean: "input.mean", std: "input.std"))
        let metadata = ModelMetadata(layers: [recurrent, dense], input: input, labels: (0..<classes).map { "out\($0)" },
                                     provenance: Provenance(producer: "RNNRuntimeCTests"), output: output)
        return ModelFile(metadata: metadata, tensors: tensors)
    }

    /// A committed fixture (fixtures/models/`name`), changed by `edit`.
    static func fixture(_ name: String, _ edit: (inout ModelMetadata) -> Void = { _ in }) throws -> ModelFile {
        var file = try ModelReader.read(contentsOf: CAPITests.fixture("models/\(name)"))
        edit(&file.metadata)
        return file
    }

    /// The fixture's single recurrent layer made per-step (`return: "sequence"`).
    static func perStep(_ metadata: inout ModelMetadata) {
        metadata.layers = metadata.layers.map { layer in
            guard case .lstm(var l) = layer else { return layer }
            l.returns = .sequence
            return .lstm(l)
        }
    }

    /// The file's bytes, as a C caller would read them.
    static func bytes(_ file: ModelFile) throws -> [UInt8] {
        try ModelWriter.encode(file)
    }

    /// Loads `file` through `rnn_model_load_from_memory`; the caller frees the handle.
    static func load(_ file: ModelFile) throws -> OpaquePointer {
        let bytes = try bytes(file)
        var handle: OpaquePointer?
        let status = rnn_model_load_from_memory(bytes, bytes.count, &handle)
        try #require(status == RNN_OK, "\(CAPITests.lastMessage)")
        return try #require(handle)
    }
}
