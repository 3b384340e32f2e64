/// The metadata JSON to ``ModelMetadata``, checking the type of every known member (spec §6).
///
/// Unknown members are ignored (forward compatibility, spec §3 rule 4); unknown values of the
/// *required-to-understand* members are `unsupported_feature`; wrong types are `malformed`.
enum MetadataDecoding {
    static func decode(_ root: JSONValue) throws(ModelFormatError) -> ModelMetadata {
        let top = try Object(root, path: "")
        let format = try top.string("format")
        guard format == "rnnm" else {
            throw .malformed("metadata: \"format\" is \"\(format)\"; expected \"rnnm\"")
        }
        let model = try top.object("model")
        let outputText = try model.string("output")
        guard let output = ModelOutput(rawValue: outputText) else {
            throw .unsupportedFeature("metadata: model.output \"\(outputText)\" is unknown; this reader knows \"logits\" and \"values\" (upgrade the reader)")
        }
        let layerValues = try model.array("layers")
        if layerValues.count > Format.maxLayers {
            throw .limitExceeded("metadata: model.layers has \(layerValues.count) layers; the limit is \(Format.maxLayers) (spec §9)")
        }
        if layerValues.isEmpty { throw .malformed("metadata: model.layers is empty; a model needs at least one layer") }
        var layers: [Layer] = []
        var layerNames = Set<UTF8Key>()
        for (i, value) in layerValues.enumerated() {
            let layer = try decodeLayer(value, path: "model.layers[\(i)]")
            guard layerNames.insert(UTF8Key(layer.name)).inserted else {
                throw .malformed("metadata: model.layers[\(i)] repeats the layer name \"\(layer.name)\"; names are unique")
            }
            layers.append(layer)
        }
        let input = try decodeInput(try top.object("input"))
        let labels = try decodeLabels(try top.array("labels"), output: output)
        let provenance = try decodeProvenance(try top.object("provenance"))
        return ModelMetadata(layers: layers, input: input, labels: labels, provenance: provenance, output: output)
    }

    private static func decodeLayer(_ value: JSONValue, path: String) throws(ModelFormatError) -> Layer {
        let o = try Object(value, path: path)
        let type = try o.string("type")
        guard ["dense", "lstm", "embedding", "gru", "pool", "conv2d", "maxpool2d", "flatten", "conv1d"].contains(type) else {
            throw .unsupportedFeature("metadata: \(path).type \"\(type)\" is an unknown layer type; this reader knows dense, lstm, gru, embedding, pool, conv2d, maxpool2d, flatten and conv1d (upgrade the reader)")
        }
        let name = try o.string("name")
        let nameBytes = name.utf8.count
        guard (1...Format.maxTensorNameBytes).contains(nameBytes) else {
            throw .malformed("metadata: \(path).name is \(nameBytes) bytes; expected 1 ... \(Format.maxTensorNameBytes)")
        }
        switch type {
        case "dense":
            let inputSize = try o.width("in"), outputSize = try o.width("out")
            let weight = try o.string("weight"), bias = try o.optionalString("bias")
            return .dense(DenseLayer(name: name, inputSize: inputSize, outputSize: outputSize,
                                     weight: weight, bias: bias, activation: try activation(o, path: path)))
        case "conv2d":
            // Spec §6.1 (since 1.4): in_channels, out_channels, kernel, stride, padding, weight, bias, activation.
            let inChannels = try o.width("in_channels"), outChannels = try o.width("out_channels")
            let window = try window2D(o)
            return .conv2d(Conv2DLayer(name: name, inChannels: inChannels, outChannels: outChannels, window: window,
                                       weight: try o.string("weight"), bias: try o.optionalString("bias"),
                                       activation: try activation(o, path: path)))
        case "maxpool2d":
            // Spec §6.1 (since 1.4): kernel, stride, padding.
            return .maxPool2d(MaxPool2DLayer(name: name, window: try window2D(o)))
        case "flatten":
            return .flatten(FlattenLayer(name: name))
        case "conv1d":
            // Spec §6.1 (since 1.4): in_channels, out_channels, kernel, stride, padding, weight, bias, activation.
            let inChannels = try o.width("in_channels"), outChannels = try o.width("out_channels")
            let kernel = try o.integers("kernel", count: 1, in: 1...Format.maxWindow)[0]
            let stride = try o.integers("stride", count: 1, in: 1...Format.maxWindow)[0]
            let padding = try o.integers("padding", count: 2, in: 0...(Format.maxWindow - 1))
            for (k, side) in ["before", "after"].enumerated() where padding[k] >= kernel {
                throw .malformed("metadata: \(path).padding[\(k)] (\(side)) is \(padding[k]); padding is smaller than the kernel \(kernel) (spec §6.1)")
            }
            let window = Window1D(kernel: kernel, stride: stride, padBefore: padding[0], padAfter: padding[1])
            return .conv1d(Conv1DLayer(name: name, inChannels: inChannels, outChannels: outChannels, window: window,
                                       weight: try o.string("weight"), bias: try o.optionalString("bias"),
                                       activation: try activation(o, path: path)))
        case "lstm":
            let gateOrder = try o.string("gate_order")
            guard gateOrder == "ifgo" else {
                throw .unsupportedFeature("metadata: \(path).gate_order \"\(gateOrder)\" is unknown; version 1.0 defines only \"ifgo\"")
            }
            let returns = try sequenceReturn(o, path: path)
            let direction = try decodeDirection(o, path: path)
            let layer = LSTMLayer(
                name: name, inputSize: try o.width("input_size"), hiddenSize: try o.width("hidden_size"),
                weightIH: try o.string("w_ih"), weightHH: try o.string("w_hh"),
                biasIH: try o.string("b_ih"), biasHH: try o.optionalString("b_hh"), returns: returns,
                reverse: try decodeReverse(o, direction: direction, hasBiasHH: o.value("b_hh") != nil, path: path))
            return .lstm(layer)
        case "gru":
            // Spec §6.1 (since 1.2): gate_order, reset, return, direction, widths, tensors, reverse tensors.
            let gateOrder = try o.string("gate_order")
            guard gateOrder == "rzn" else {
                throw .unsupportedFeature("metadata: \(path).gate_order \"\(gateOrder)\" is unknown; a gru's gate order is \"rzn\"")
            }
            let resetText = try o.string("reset")
            guard let reset = GRUReset(rawValue: resetText) else {
                throw .unsupportedFeature("metadata: \(path).reset \"\(resetText)\" is unknown; this reader knows \"after\" and \"before\"")
            }
            let returns = try sequenceReturn(o, path: path)
            let direction = try decodeDirection(o, path: path)
            let layer = GRULayer(
                name: name, inputSize: try o.width("input_size"), hiddenSize: try o.width("hidden_size"),
                weightIH: try o.string("w_ih"), weightHH: try o.string("w_hh"),
                biasIH: try o.string("b_ih"), biasHH: try o.optionalString("b_hh"), reset: reset, returns: returns,
                reverse: try decodeReverse(o, direction: direction, hasBiasHH: o.value("b_hh") != nil, path: path))
            return .gru(layer)
        case "pool":
            // Spec §6.1 (since 1.3): members in the order mode, size.
            let modeText = try o.string("mode")
            guard let mode = PoolMode(rawValue: modeText) else {
                throw .unsupportedFeature("metadata: \(path).mode \"\(modeText)\" is unknown; this reader knows \"mean\" and \"max\" (upgrade the reader)")
            }
            return .pool(PoolLayer(name: name, mode: mode, size: try o.width("size")))
        case "embedding":
            // Spec §6.1 (since 1.1): members in the order vocab_size, dim, weight.
            return .embedding(EmbeddingLayer(name: name, vocabularySize: try o.width("vocab_size"),
                                             dimension: try o.width("dim"), weight: try o.string("weight")))
        default:
            throw .unsupportedFeature("metadata: \(path).type \"\(type)\" is an unknown layer type; this reader knows dense and lstm (upgrade the reader)")
        }
    }

    /// `activation` of a dense or convolution layer (*required-to-understand*).
    private static func activation(_ o: Object, path: String) throws(ModelFormatError) -> Activation {
        let text = try o.string("activation")
        guard let activation = Activation(rawValue: text) else {
            throw .unsupportedFeature("metadata: \(path).activation \"\(text)\" is unknown; this reader knows none, relu, tanh")
        }
        return activation
    }

    /// `kernel` `[KH, KW]`, `stride` `[SH, SW]` and `padding` `[PT, PL, PB, PR]` of a `conv2d` or
    /// `maxpool2d` (spec §6.1, since 1.4): each padding smaller than the kernel along its axis.
    private static func window2D(_ o: Object) throws(ModelFormatError) -> Window2D {
        let kernel = try o.integers("kernel", count: 2, in: 1...Format.maxWindow)
        let stride = try o.integers("stride", count: 2, in: 1...Format.maxWindow)
        let padding = try o.integers("padding", count: 4, in: 0...(Format.maxWindow - 1))
        let sides = ["top", "left", "bottom", "right"]
        for k in 0..<4 where padding[k] >= kernel[k % 2] {
            throw .malformed("metadata: \(o.path).padding[\(k)] (\(sides[k])) is \(padding[k]); padding is smaller than the kernel's \(k % 2 == 0 ? "height" : "width") \(kernel[k % 2]) (spec §6.1)")
        }
        return Window2D(kernel: (kernel[0], kernel[1]), stride: (stride[0], stride[1]),
                        padding: (padding[0], padding[1], padding[2], padding[3]))
    }

    private static func sequenceReturn(_ o: Object, path: String) throws(ModelFormatError) -> SequenceReturn {
        let returnText = try o.string("return")
        guard let returns = SequenceReturn(rawValue: returnText) else {
            throw .unsupportedFeature("metadata: \(path).return \"\(returnText)\" is unknown; this reader knows \"last\" and \"sequence\"")
        }
        return returns
    }

    /// Spec §6.1 *Direction* (since 1.2): absent means forward.
    private static func decodeDirection(_ o: Object, path: String) throws(ModelFormatError) -> Direction {
        guard let text = try o.optionalString("direction") else { return .forward }
        guard let direction = Direction(rawValue: text) else {
            throw .unsupportedFeature("metadata: \(path).direction \"\(text)\" is unknown; this reader knows \"forward\" and \"bidirectional\"")
        }
        return direction
    }

    /// The `*_reverse` tensor references of a bidirectional layer (`b_hh_reverse` exactly when `b_hh`
    /// is present); nil for a forward layer.
    private static func decodeReverse(_ o: Object, direction: Direction, hasBiasHH: Bool,
                                      path: String) throws(ModelFormatError) -> ReverseTensors? {
        // In a forward layer the reverse members are unknown members, ignored like any other (spec §6),
        // so that a 1.0/1.1 file that happened to carry them keeps its meaning.
        guard direction == .bidirectional else { return nil }
        let reverse = ReverseTensors(weightIH: try o.string("w_ih_reverse"), weightHH: try o.string("w_hh_reverse"),
                                     biasIH: try o.string("b_ih_reverse"), biasHH: try o.optionalString("b_hh_reverse"))
        if (reverse.biasHH != nil) != hasBiasHH {
            throw .malformed("metadata: \(path) has \(hasBiasHH ? "b_hh but no b_hh_reverse" : "b_hh_reverse but no b_hh"); both directions have b_hh or neither (spec §6.1)")
        }
        return reverse
    }

    private static func decodeInput(_ o: Object) throws(ModelFormatError) -> InputContract {
        let kindText = try o.string("kind")
        guard let kind = InputContract.Kind(rawValue: kindText) else {
            throw .unsupportedFeature("metadata: input.kind \"\(kindText)\" is unknown; this reader knows \"image_rows\", \"tokens\", \"features\" and \"image\" (upgrade the reader)")
        }
        if kind == .tokens { return InputContract(tokens: try decodeTokens(o)) }
        if kind == .features { return InputContract(features: try decodeFeatures(o)) }
        let sourceType = try o.string("source_dtype")
        guard sourceType == "u8" else {
            throw .unsupportedFeature("metadata: input.source_dtype \"\(sourceType)\" is unknown; this reader knows \"u8\"")
        }
        if kind == .image {
            // Spec §6.2.3 (since 1.4): channels, height, width, their product, scale, offset.
            let channels = try o.integer("channels", in: 1...Format.maxImageSide)
            let height = try o.integer("height", in: 1...Format.maxImageSide)
            let width = try o.integer("width", in: 1...Format.maxImageSide)
            if channels * height * width > Format.maxFeatureMap {
                throw .malformed("metadata: input is \(channels) x \(height) x \(width) = \(channels * height * width) values; an image has at most \(Format.maxFeatureMap) (spec §6.2.3)")
            }
            return InputContract(imageChannels: channels, height: height, width: width,
                                 scale: try o.float("scale"), offset: try o.float("offset"))
        }
        let height = try o.integer("height", in: 1...Format.maxImageSide)
        let width = try o.integer("width", in: 1...Format.maxImageSide)
        return InputContract(kind: kind, height: height, width: width,
                             scale: try o.float("scale"), offset: try o.float("offset"))
    }

    /// Spec §6.2.1 (since 1.1): `tokenizer`, `max_length`, `truncate`, `vocabulary`, in this order.
    private static func decodeTokens(_ o: Object) throws(ModelFormatError) -> TokenInput {
        let tokenizerText = try o.string("tokenizer")
        guard let tokenizer = TokenInput.Tokenizer(rawValue: tokenizerText) else {
            throw .unsupportedFeature("metadata: input.tokenizer \"\(tokenizerText)\" is unknown; this reader knows \"words-v1\" (upgrade the reader)")
        }
        let maxLength = try o.integer("max_length", in: 1...TokenInput.maxLengthLimit)
        let truncateText = try o.string("truncate")
        guard let truncation = TokenInput.Truncation(rawValue: truncateText) else {
            throw .unsupportedFeature("metadata: input.truncate \"\(truncateText)\" is unknown; this reader knows \"start\" and \"end\"")
        }
        let values = try o.array("vocabulary")
        // Ids 0 and 1 are reserved, and the embedding's rows (vocabulary + 2) are one tensor dimension.
        let maxWords = Format.maxDimension - TokenInput.firstWordID
        if values.count > maxWords {
            throw .limitExceeded("metadata: input.vocabulary has \(values.count) words; the limit is \(maxWords) (spec §9)")
        }
        var words: [String] = []
        words.reserveCapacity(values.count)
        var seen = Set<UTF8Key>()
        for (i, value) in values.enumerated() {
            guard case .string(let word) = value else {
                throw .malformed("metadata: input.vocabulary[\(i)] is \(value.typeName); expected a string")
            }
            guard WordTokenizer.isWord(word) else {
                throw .malformed("metadata: input.vocabulary[\(i)] \"\(word)\" is not a word the tokenizer can produce (spec §6.2.1)")
            }
            guard seen.insert(UTF8Key(word)).inserted else {
                throw .malformed("metadata: input.vocabulary[\(i)] repeats \"\(word)\"; words are unique")
            }
            words.append(word)
        }
        return TokenInput(tokenizer: tokenizer, maxLength: maxLength, truncation: truncation, vocabulary: words)
    }

    /// Spec §6.2.2 (since 1.2): `source_dtype`, `width`, `max_length`, `mean`, `std`, in this order.
    private static func decodeFeatures(_ o: Object) throws(ModelFormatError) -> FeatureInput {
        let sourceType = try o.string("source_dtype")
        guard sourceType == "f32" else {
            throw .unsupportedFeature("metadata: input.source_dtype \"\(sourceType)\" is unknown for a features input; this reader knows \"f32\"")
        }
        let width = try o.integer("width", in: 1...FeatureInput.limit)
        let maxLength = try o.integer("max_length", in: 1...FeatureInput.limit)
        let mean = try o.optionalString("mean"), std = try o.optionalString("std")
        if (mean == nil) != (std == nil) {
            throw .malformed("metadata: input has \(mean == nil ? "std but no mean" : "mean but no std"); standardization needs both or neither (spec §6.2.2)")
        }
        return FeatureInput(width: width, maxLength: maxLength, mean: mean, std: std)
    }

    private static func decodeLabels(_ values: [JSONValue], output: ModelOutput) throws(ModelFormatError) -> [String] {
        if values.count > Format.maxLabels {
            throw .limitExceeded("metadata: labels has \(values.count) entries; the limit is \(Format.maxLabels) (spec §9)")
        }
        let minimum = output == .values ? 1 : 2
        guard values.count >= minimum else {
            throw .malformed("metadata: labels has \(values.count) entries; \(output == .values ? "a model needs at least 1 output" : "a classifier needs at least 2")")
        }
        var labels: [String] = []
        labels.reserveCapacity(values.count)
        for (i, value) in values.enumerated() {
            guard case .string(let label) = value else {
                throw .malformed("metadata: labels[\(i)] is \(value.typeName); expected a string")
            }
            let n = label.utf8.count
            if n > Format.maxLabelBytes {
                throw .limitExceeded("metadata: labels[\(i)] is \(n) bytes; the limit is \(Format.maxLabelBytes) (spec §9)")
            }
            if n == 0 { throw .malformed("metadata: labels[\(i)] is empty; labels are 1 ... 256 bytes") }
            labels.append(label)
        }
        return labels
    }

    private static func decodeProvenance(_ o: Object) throws(ModelFormatError) -> Provenance {
        var p = Provenance(producer: try o.string("producer"))
        p.producerVersion = try o.optionalString("producer_version")
        p.createdAt = try o.optionalString("created_at")
        if let dataset = try o.optionalObject("dataset") {
            p.datasetName = try dataset.optionalString("name")
            if let sha = try dataset.optionalObject("sha256") {
                for (key, value) in sha.members {
                    guard case .string(let s) = value else {
                        throw .malformed("metadata: provenance.dataset.sha256.\(key) is \(value.typeName); expected a string")
                    }
                    p.datasetSHA256[key] = s
                }
            }
        }
        if let hp = try o.optionalObject("hyperparameters") {
            for (key, value) in hp.members {
                switch value {
                case .string(let s): p.hyperparameters[key] = .string(s)
                case .number(let text): p.hyperparameters[key] = .number(try finiteNumber(text, "provenance.hyperparameters.\(key)"))
                default: throw .malformed("metadata: provenance.hyperparameters.\(key) is \(value.typeName); expected a number or a string")
                }
            }
        }
        if let seedValue = o.value("seed") {
            guard case .number(let text) = seedValue, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let seed = UInt64(text) else {
                throw .malformed("metadata: provenance.seed must be an integer 0 ... 2^64-1; found \(seedValue.typeName)")
            }
            p.seed = seed
        }
        if let metrics = try o.optionalObject("metrics") {
            // Values are taken from the member list directly: a lookup per key would be quadratic.
            for (key, value) in metrics.members {
                guard case .number(let text) = value else {
                    throw .malformed("metadata: provenance.metrics.\(key) is \(value.typeName); expected a number")
                }
                p.metrics[key] = try finiteNumber(text, "provenance.metrics.\(key)")
            }
        }
        return p
    }
}

/// A JSON number's binary64 value, which must be finite.
private func finiteNumber(_ text: String, _ path: String) throws(ModelFormatError) -> Double {
    guard let d = Double(text), d.isFinite else {
        throw .malformed("metadata: \(path) is \(text); expected a finite number")
    }
    return d
}

/// Typed access to the members of a JSON object, with messages naming the member's path.
private struct Object {
    let members: [(String, JSONValue)]
    let path: String

    /// `path` is the member path from the top level, e.g. `model.layers[0]`; empty for the top.
    init(_ value: JSONValue, path: String) throws(ModelFormatError) {
        guard case .object(let m) = value else {
            throw .malformed("metadata: \(path.isEmpty ? "the top-level value" : path) is \(value.typeName); expected an object")
        }
        members = m
        self.path = path
    }

    /// `metadata: model.layers[0].name` for messages.
    private func where_(_ key: String) -> String { "metadata: " + (path.isEmpty ? key : "\(path).\(key)") }

    /// The member named exactly `key` (by code points: U+212A is not "K").
    func value(_ key: String) -> JSONValue? { members.first { $0.0.utf8.elementsEqual(key.utf8) }?.1 }

    private func required(_ key: String) throws(ModelFormatError) -> JSONValue {
        guard let v = value(key) else {
            throw .malformed("metadata: \(path.isEmpty ? "the top level" : path) has no member \"\(key)\"; it is required (spec §6)")
        }
        return v
    }

    private func wrongType(_ key: String, _ v: JSONValue, _ expected: String) -> ModelFormatError {
        .malformed("\(where_(key)) is \(v.typeName); expected \(expected)")
    }

    func string(_ key: String) throws(ModelFormatError) -> String {
        let v = try required(key)
        guard case .string(let s) = v else { throw wrongType(key, v, "a string") }
        return s
    }

    func optionalString(_ key: String) throws(ModelFormatError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw wrongType(key, v, "a string") }
        return s
    }

    func object(_ key: String) throws(ModelFormatError) -> Object {
        try Object(try required(key), path: path.isEmpty ? key : "\(path).\(key)")
    }

    func optionalObject(_ key: String) throws(ModelFormatError) -> Object? {
        guard let v = value(key) else { return nil }
        return try Object(v, path: path.isEmpty ? key : "\(path).\(key)")
    }

    func array(_ key: String) throws(ModelFormatError) -> [JSONValue] {
        let v = try required(key)
        guard case .array(let a) = v else { throw wrongType(key, v, "an array") }
        return a
    }

    /// An integer written without fraction or exponent, within `range`.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(ModelFormatError) -> Int {
        let v = try required(key)
        guard case .number(let text) = v else { throw wrongType(key, v, "an integer") }
        guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text), range.contains(n) else {
            throw .malformed("\(where_(key)) is \(text); expected an integer \(range.lowerBound) ... \(range.upperBound)")
        }
        return n
    }

    /// An array of exactly `count` integers, each within `range` (spec §6, *integer arrays*, since 1.4).
    func integers(_ key: String, count: Int, in range: ClosedRange<Int>) throws(ModelFormatError) -> [Int] {
        let v = try required(key)
        guard case .array(let elements) = v else { throw wrongType(key, v, "an array of \(count) integers") }
        guard elements.count == count else {
            throw .malformed("\(where_(key)) has \(elements.count) elements; expected \(count) integers")
        }
        var result: [Int] = []
        for (i, element) in elements.enumerated() {
            guard case .number(let text) = element, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let n = Int(text), range.contains(n) else {
                throw .malformed("\(where_(key))[\(i)] is \(element.numberText ?? element.typeName); expected an integer \(range.lowerBound) ... \(range.upperBound)")
            }
            result.append(n)
        }
        return result
    }

    /// A layer width: an integer 1 ... 16,777,216 (the largest tensor dimension).
    func width(_ key: String) throws(ModelFormatError) -> Int {
        try integer(key, in: 1...Format.maxDimension)
    }

    func double(_ key: String) throws(ModelFormatError) -> Double {
        let v = try required(key)
        guard case .number(let text) = v else { throw wrongType(key, v, "a number") }
        guard let d = Double(text), d.isFinite else {
            throw .malformed("\(where_(key)) is \(text); expected a finite number")
        }
        return d
    }

    /// A number rounded to binary32 (spec §6.2: `scale` and `offset` are rounded first).
    func float(_ key: String) throws(ModelFormatError) -> Float {
        let f = Float(try double(key))
        guard f.isFinite else { throw .malformed("\(where_(key)) overflows binary32 (spec §6.2)") }
        return f
    }
}
