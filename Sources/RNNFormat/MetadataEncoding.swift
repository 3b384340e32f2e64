/// ``ModelMetadata`` to its canonical JSON (spec §6, §6.4).
package enum MetadataEncoding {
    /// The metadata as a JSON value; non-finite numbers are refused (JSON cannot hold them).
    package static func json(_ m: ModelMetadata) throws(ModelFormatError) -> JSONValue {
        let layers = m.layers.map(layerJSON)
        let input: JSONValue = if let t = m.input.tokens, m.input.kind == .tokens { tokensJSON(t) }
            else if let f = m.input.features, m.input.kind == .features { featuresJSON(f) }
            else if m.input.kind == .image { try imageJSON(m.input) } else { .object([
            ("kind", .string(m.input.kind.rawValue)),
            ("height", CanonicalJSON.integer(m.input.height)),
            ("width", CanonicalJSON.integer(m.input.width)),
            ("source_dtype", .string("u8")),
            ("scale", try number(Double(m.input.scale), "input.scale")),
            ("offset", try number(Double(m.input.offset), "input.offset")),
        ]) }
        return .object([
            ("format", .string("rnnm")),
            ("model", .object([("layers", .array(layers)), ("output", .string(m.output.rawValue))])),
            ("input", input),
            ("labels", .array(m.labels.map { .string($0) })),
            ("provenance", try provenanceJSON(m.provenance)),
        ])
    }

    /// The canonical bytes of the metadata section.
    package static func bytes(_ m: ModelMetadata) throws(ModelFormatError) -> [UInt8] {
        CanonicalJSON.encode(try json(m))
    }

    private static func number(_ v: Double, _ what: String) throws(ModelFormatError) -> JSONValue {
        guard v.isFinite else { throw .malformed("metadata: \(what) is \(v); JSON numbers must be finite") }
        return CanonicalJSON.number(v)
    }

    /// Spec §6.2.3: the `image` input contract (since 1.4).
    private static func imageJSON(_ input: InputContract) throws(ModelFormatError) -> JSONValue {
        .object([
            ("kind", .string("image")), ("source_dtype", .string("u8")),
            ("channels", CanonicalJSON.integer(input.channels)),
            ("height", CanonicalJSON.integer(input.height)), ("width", CanonicalJSON.integer(input.width)),
            ("scale", try number(Double(input.scale), "input.scale")),
            ("offset", try number(Double(input.offset), "input.offset")),
        ])
    }

    private static func integers(_ values: [Int]) -> JSONValue { .array(values.map { CanonicalJSON.integer($0) }) }

    /// `kernel`, `stride` and `padding` of a `conv2d` or `maxpool2d` (spec §6.1).
    private static func windowMembers(_ w: Window2D) -> [(String, JSONValue)] {
        [("kernel", integers([w.kernelHeight, w.kernelWidth])), ("stride", integers([w.strideHeight, w.strideWidth])),
         ("padding", integers([w.padTop, w.padLeft, w.padBottom, w.padRight]))]
    }

    private static func layerJSON(_ layer: Layer) -> JSONValue {
        switch layer {
        case .conv2d(let c):
            var members: [(String, JSONValue)] = [
                ("type", .string("conv2d")), ("name", .string(c.name)),
                ("in_channels", CanonicalJSON.integer(c.inChannels)), ("out_channels", CanonicalJSON.integer(c.outChannels)),
                ("weight", .string(c.weight)), ("activation", .string(c.activation.rawValue)),
            ] + windowMembers(c.window)
            if let b = c.bias { members.append(("bias", .string(b))) }
            return .object(members)
        case .maxPool2d(let m):
            return .object([("type", .string("maxpool2d")), ("name", .string(m.name))] + windowMembers(m.window))
        case .flatten(let f):
            return .object([("type", .string("flatten")), ("name", .string(f.name))])
        case .conv1d(let c):
            var members: [(String, JSONValue)] = [
                ("type", .string("conv1d")), ("name", .string(c.name)),
                ("in_channels", CanonicalJSON.integer(c.inChannels)), ("out_channels", CanonicalJSON.integer(c.outChannels)),
                ("weight", .string(c.weight)), ("activation", .string(c.activation.rawValue)),
                ("kernel", integers([c.window.kernel])), ("stride", integers([c.window.stride])),
                ("padding", integers([c.window.padBefore, c.window.padAfter])),
            ]
            if let b = c.bias { members.append(("bias", .string(b))) }
            return .object(members)
        case .dense(let d):
            var members: [(String, JSONValue)] = [
                ("type", .string("dense")), ("name", .string(d.name)),
                ("in", CanonicalJSON.integer(d.inputSize)), ("out", CanonicalJSON.integer(d.outputSize)),
                ("weight", .string(d.weight)), ("activation", .string(d.activation.rawValue)),
            ]
            if let b = d.bias { members.append(("bias", .string(b))) }
            return .object(members)
        case .embedding(let e):
            return .object([
                ("type", .string("embedding")), ("name", .string(e.name)),
                ("vocab_size", CanonicalJSON.integer(e.vocabularySize)), ("dim", CanonicalJSON.integer(e.dimension)),
                ("weight", .string(e.weight)),
            ])
        case .lstm(let l):
            var members: [(String, JSONValue)] = [
                ("type", .string("lstm")), ("name", .string(l.name)),
                ("input_size", CanonicalJSON.integer(l.inputSize)), ("hidden_size", CanonicalJSON.integer(l.hiddenSize)),
                ("w_ih", .string(l.weightIH)), ("w_hh", .string(l.weightHH)), ("b_ih", .string(l.biasIH)),
                ("gate_order", .string("ifgo")), ("return", .string(l.returns.rawValue)),
            ]
            if let b = l.biasHH { members.append(("b_hh", .string(b))) }
            return .object(members + reverseMembers(l.reverse))
        case .gru(let g):
            var members: [(String, JSONValue)] = [
                ("type", .string("gru")), ("name", .string(g.name)),
                ("input_size", CanonicalJSON.integer(g.inputSize)), ("hidden_size", CanonicalJSON.integer(g.hiddenSize)),
                ("w_ih", .string(g.weightIH)), ("w_hh", .string(g.weightHH)), ("b_ih", .string(g.biasIH)),
                ("gate_order", .string("rzn")), ("reset", .string(g.reset.rawValue)), ("return", .string(g.returns.rawValue)),
            ]
            if let b = g.biasHH { members.append(("b_hh", .string(b))) }
            return .object(members + reverseMembers(g.reverse))
        case .pool(let p):
            return .object([
                ("type", .string("pool")), ("name", .string(p.name)),
                ("mode", .string(p.mode.rawValue)), ("size", CanonicalJSON.integer(p.size)),
            ])
        }
    }

    /// A bidirectional layer's `direction` and reverse tensors (spec §6.1); nothing for a forward
    /// layer, whose canonical form omits `direction` (so 1.0/1.1 files keep their bytes).
    private static func reverseMembers(_ r: ReverseTensors?) -> [(String, JSONValue)] {
        guard let r else { return [] }
        var members: [(String, JSONValue)] = [
            ("direction", .string("bidirectional")),
            ("w_ih_reverse", .string(r.weightIH)), ("w_hh_reverse", .string(r.weightHH)), ("b_ih_reverse", .string(r.biasIH)),
        ]
        if let b = r.biasHH { members.append(("b_hh_reverse", .string(b))) }
        return members
    }

    /// Spec §6.2.2: the `features` input contract.
    private static func featuresJSON(_ f: FeatureInput) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("kind", .string("features")), ("source_dtype", .string("f32")),
            ("width", CanonicalJSON.integer(f.width)), ("max_length", CanonicalJSON.integer(f.maxLength)),
        ]
        if let mean = f.mean { members.append(("mean", .string(mean))) }
        if let std = f.std { members.append(("std", .string(std))) }
        return .object(members)
    }

    /// Spec §6.2.1: the `tokens` input contract.
    private static func tokensJSON(_ t: TokenInput) -> JSONValue {
        .object([
            ("kind", .string("tokens")), ("tokenizer", .string(t.tokenizer.rawValue)),
            ("max_length", CanonicalJSON.integer(t.maxLength)), ("truncate", .string(t.truncation.rawValue)),
            ("vocabulary", .array(t.vocabulary.map { .string($0) })),
        ])
    }

    private static func provenanceJSON(_ p: Provenance) throws(ModelFormatError) -> JSONValue {
        var members: [(String, JSONValue)] = [("producer", .string(p.producer))]
        if let v = p.producerVersion { members.append(("producer_version", .string(v))) }
        if let v = p.createdAt { members.append(("created_at", .string(v))) }
        if p.datasetName != nil || !p.datasetSHA256.isEmpty {
            var dataset: [(String, JSONValue)] = []
            if let name = p.datasetName { dataset.append(("name", .string(name))) }
            if !p.datasetSHA256.isEmpty {
                dataset.append(("sha256", .object(p.datasetSHA256.map { ($0.key, .string($0.value)) })))
            }
            members.append(("dataset", .object(dataset)))
        }
        if !p.hyperparameters.isEmpty {
            var hp: [(String, JSONValue)] = []
            for (key, value) in p.hyperparameters {
                switch value {
                case .string(let s): hp.append((key, .string(s)))
                case .number(let d): hp.append((key, try number(d, "provenance.hyperparameters.\(key)")))
                }
            }
            members.append(("hyperparameters", .object(hp)))
        }
        if let seed = p.seed { members.append(("seed", CanonicalJSON.integer(seed))) }
        if !p.metrics.isEmpty {
            var metrics: [(String, JSONValue)] = []
            for (key, value) in p.metrics { metrics.append((key, try number(value, "provenance.metrics.\(key)"))) }
            members.append(("metrics", .object(metrics)))
        }
        return .object(members)
    }
}
