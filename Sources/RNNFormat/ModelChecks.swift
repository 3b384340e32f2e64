/// The checks of spec §4, §4.2 and §6.1 that apply to in-memory values; the reader and the
/// writer share them, so that the writer never produces a file the reader refuses.
package enum ModelChecks {
    /// Spec §4: a tensor name is 1 ... 63 bytes of `[A-Za-z0-9_.-]`.
    static func checkName(_ name: String, _ what: String) throws(ModelFormatError) {
        let bytes = Array(name.utf8)
        if bytes.count > Format.maxTensorNameBytes {
            throw .limitExceeded("\(what): the name \"\(name)\" is \(bytes.count) bytes; the limit is 63 (spec §9)")
        }
        if bytes.isEmpty { throw .malformed("\(what): the name is empty") }
        for (i, b) in bytes.enumerated() where !isNameByte(b) {
            throw .malformed("\(what): the name \"\(name)\" has byte \(hex(b)) at position \(i); names use only A-Z a-z 0-9 _ . -")
        }
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39)
            || b == 0x5F || b == 0x2E || b == 0x2D
    }

    /// Spec §4 and §9 for tensors built in memory (the writer's side of the table checks).
    static func tensorTable(_ tensors: [Tensor]) throws(ModelFormatError) {
        if tensors.count > Format.maxTensors {
            throw .limitExceeded("the model has \(tensors.count) tensors; the limit is \(Format.maxTensors) (spec §9)")
        }
        if tensors.isEmpty { throw .malformed("the model has no tensors; spec §4 requires 1 ... 1024") }
        var names = Set<String>()
        for (i, t) in tensors.enumerated() {
            try checkName(t.name, "tensor \(i)")
            guard names.insert(t.name).inserted else {
                throw .malformed("tensor \(i): the name \"\(t.name)\" is used twice; names are unique (spec §4)")
            }
            if t.shape.count > Format.maxRank {
                throw .limitExceeded("tensor \"\(t.name)\": rank \(t.shape.count); the limit is \(Format.maxRank)")
            }
            if t.shape.isEmpty { throw .malformed("tensor \"\(t.name)\": rank 0; expected 1 ... 4") }
            var elements = 1
            for (d, n) in t.shape.enumerated() {
                if n > Format.maxDimension {
                    throw .limitExceeded("tensor \"\(t.name)\": dimension \(d) is \(n); the limit is \(Format.maxDimension)")
                }
                if n < 1 { throw .malformed("tensor \"\(t.name)\": dimension \(d) is \(n); expected 1 ... \(Format.maxDimension)") }
                elements *= n  // cannot overflow: at most 4 factors of 2^24 exceed Int64 only past the check below
                if elements > Format.maxElements {
                    throw .limitExceeded("tensor \"\(t.name)\": more than 2^31-1 elements (spec §9)")
                }
            }
            let stored: Int
            switch t.storage {
            case .f32(let v): stored = v.count
            case .f16(let v): stored = v.count
            case .bf16(let v): stored = v.count
            case .int8(let v, let scales):
                stored = v.count
                if scales.count != t.shape[0] {
                    throw .malformed("tensor \"\(t.name)\": \(scales.count) int8 scales; expected one per row, \(t.shape[0])")
                }
            }
            if stored != elements {
                throw .malformed("tensor \"\(t.name)\": \(stored) stored values; the shape \(t.shape) needs \(elements)")
            }
        }
    }

    /// Spec §6.1: references, then shapes, then the architectural rules.
    static func crossCheck(_ metadata: ModelMetadata, _ tensors: [Tensor]) throws(ModelFormatError) {
        // Names match by code points (spec §6), not by Swift's canonical equivalence.
        var shapes: [UTF8Key: [Int]] = [:]
        for t in tensors { shapes[UTF8Key(t.name)] = t.shape }
        // References: every named tensor exists and is named once; every tensor is named.
        var referenced = Set<UTF8Key>()
        for (owner, refs) in allReferences(metadata) {
            for (role, name, _) in refs {
                guard shapes[UTF8Key(name)] != nil else {
                    throw .malformed("\(owner): \(role) names tensor \"\(name)\", which is not in the tensor table")
                }
                guard referenced.insert(UTF8Key(name)).inserted else {
                    throw .malformed("\(owner): \(role) names tensor \"\(name)\", which another reference already uses; each tensor is referenced exactly once")
                }
            }
        }
        for t in tensors where !referenced.contains(UTF8Key(t.name)) {
            throw .malformed("tensor \"\(t.name)\" is not referenced by any layer; every tensor belongs to exactly one layer or the input (spec §6.1)")
        }
        // Shapes.
        for (owner, refs) in allReferences(metadata) {
            for (role, name, expected) in refs where shapes[UTF8Key(name)] != expected {
                throw .shapeMismatch("\(owner): \(role) tensor \"\(name)\" has shape \(shapes[UTF8Key(name)]!); expected \(expected) (spec §6.1)")
            }
        }
        try architecture(metadata)
    }

    /// Every tensor reference in spec §6.1's order: each layer's, then the input contract's.
    static func allReferences(_ m: ModelMetadata) -> [(owner: String, refs: [(role: String, name: String, shape: [Int])])] {
        var all = m.layers.map { (owner: "layer \"\($0.name)\"", refs: references($0)) }
        if let f = m.input.features, m.input.kind == .features, let mean = f.mean, let std = f.std {
            all.append((owner: "input", refs: [("mean", mean, [f.width]), ("std", std, [f.width])]))
        }
        return all
    }

    /// The tensors a layer names, with their role and the shape spec §6.1 requires.
    static func references(_ layer: Layer) -> [(role: String, name: String, shape: [Int])] {
        switch layer {
        case .dense(let d):
            var r = [("weight", d.weight, [d.outputSize, d.inputSize])]
            if let b = d.bias { r.append(("bias", b, [d.outputSize])) }
            return r
        case .embedding(let e):
            return [("weight", e.weight, [e.vocabularySize, e.dimension])]
        case .pool, .maxPool2d, .flatten:
            return []  // no weights
        case .conv2d(let c):
            let w = c.window
            var r = [("weight", c.weight, [c.outChannels, c.inChannels, w.kernelHeight, w.kernelWidth])]
            if let b = c.bias { r.append(("bias", b, [c.outChannels])) }
            return r
        case .conv1d(let c):
            var r = [("weight", c.weight, [c.outChannels, c.inChannels, c.window.kernel])]
            if let b = c.bias { r.append(("bias", b, [c.outChannels])) }
            return r
        case .lstm(let l):
            return recurrentReferences(gates: 4, input: l.inputSize, hidden: l.hiddenSize,
                                       forward: ReverseTensors(weightIH: l.weightIH, weightHH: l.weightHH, biasIH: l.biasIH, biasHH: l.biasHH),
                                       reverse: l.reverse)
        case .gru(let g):
            return recurrentReferences(gates: 3, input: g.inputSize, hidden: g.hiddenSize,
                                       forward: ReverseTensors(weightIH: g.weightIH, weightHH: g.weightHH, biasIH: g.biasIH, biasHH: g.biasHH),
                                       reverse: g.reverse)
        }
    }

    /// `w_ih [gH, I]`, `w_hh [gH, H]`, `b_ih [gH]`, `b_hh [gH]`, then the same for the reverse tensors.
    private static func recurrentReferences(gates: Int, input: Int, hidden: Int, forward: ReverseTensors,
                                            reverse: ReverseTensors?) -> [(role: String, name: String, shape: [Int])] {
        // Checked: an in-memory layer may hold any Int; an impossible width matches no shape.
        let (g, overflow) = hidden.multipliedReportingOverflow(by: gates)
        func refs(_ t: ReverseTensors, _ suffix: String) -> [(role: String, name: String, shape: [Int])] {
            var r = [("w_ih" + suffix, t.weightIH, overflow ? [-1] : [g, input]),
                     ("w_hh" + suffix, t.weightHH, overflow ? [-1] : [g, hidden]),
                     ("b_ih" + suffix, t.biasIH, overflow ? [-1] : [g])]
            if let b = t.biasHH { r.append(("b_hh" + suffix, b, overflow ? [-1] : [g])) }
            return r
        }
        return refs(forward, "") + (reverse.map { refs($0, "_reverse") } ?? [])
    }

    /// Spec §6.1, architectural rules, in the order the spec lists them in §7.
    static func architecture(_ m: ModelMetadata) throws(ModelFormatError) {
        let recurrent = m.layers.indices.filter { m.layers[$0].isRecurrent }
        if m.isImageModel {
            // Rule (1) for an image model (since 1.4): no recurrent layer.
            if let i = recurrent.first {
                throw .malformed("layer \"\(m.layers[i].name)\" is recurrent but the input kind is \"image\"; an image model has no recurrent layer (spec §6.1)")
            }
            try imageRules(m)
            return
        }
        guard let lastRecurrent = recurrent.last else {
            throw .malformed("the model has no recurrent layer (lstm or gru); spec §6.1 requires at least one in a model with a sequence input")
        }
        for i in recurrent.dropLast() where m.layers[i].returns != .sequence {
            throw .malformed("recurrent layer \"\(m.layers[i].name)\" returns \"last\" but is followed by recurrent layer \"\(m.layers[lastRecurrent].name)\"; every recurrent layer but the last returns \"sequence\" (spec §6.1)")
        }
        try tokenRules(m)
        try poolRules(m, lastRecurrent: lastRecurrent)
        // Rule (2c): the image layers belong to image models.
        for layer in m.layers {
            switch layer {
            case .conv2d, .maxPool2d, .flatten:
                throw .malformed("layer \"\(layer.name)\" is a \(layer.typeName) but the input kind is \"\(m.input.kind.rawValue)\"; conv2d, maxpool2d and flatten belong to models with an \"image\" input (spec §6.1)")
            default: break
            }
        }
        // Rule (2d): conv1d layers come before the first recurrent layer.
        if let i = m.layers.indices.first(where: { if case .conv1d = m.layers[$0] { $0 > recurrent[0] } else { false } }) {
            throw .malformed("conv1d layer \"\(m.layers[i].name)\" comes after recurrent layer \"\(m.layers[recurrent[0]].name)\"; a conv1d stands before the first recurrent layer (spec §6.1)")
        }
        var width = m.input.featureWidth
        var source = "the input contract (width \(m.input.featureWidth))"
        for layer in m.layers {
            let (inWidth, outWidth): (Int, Int) = switch layer {
            case .dense(let d): (d.inputSize, d.outputSize)
            case .lstm(let l): (l.inputSize, l.outputSize)
            case .gru(let g): (g.inputSize, g.outputSize)
            case .pool(let p): (p.size, p.size)
            case .conv1d(let c): (c.inChannels, c.outChannels)
            // Its input is one token id per step (width 1 in the contract), checked by tokenRules.
            case .embedding(let e): (width, e.dimension)
            case .conv2d, .maxPool2d, .flatten: (width, width)  // refused above
            }
            if inWidth != width {
                throw .malformed("layer \"\(layer.name)\" takes \(inWidth) inputs but \(source) gives \(width) (spec §6.1)")
            }
            width = outWidth
            source = "layer \"\(layer.name)\""
        }
        try labelCount(m, width: width)
    }

    /// Rule (4): the last layer's output width equals the number of labels.
    private static func labelCount(_ m: ModelMetadata, width: Int) throws(ModelFormatError) {
        if width != m.labels.count {
            throw .malformed("the last layer gives \(width) outputs but there are \(m.labels.count) labels; they must agree (spec §6.1)")
        }
    }

    /// Spec §6.1 rules (2c) and (3) for an image model (since 1.4): `conv2d` / `maxpool2d` layers, one
    /// `flatten`, then `dense` layers, following the feature map's shape `C x H x W` from the input.
    static func imageRules(_ m: ModelMetadata) throws(ModelFormatError) {
        var shape = (c: m.input.channels, h: m.input.height, w: m.input.width)
        var source = "the input (\(shape.c) x \(shape.h) x \(shape.w))"
        var flattened: Int? = nil   // the vector width once `flatten` has run
        for layer in m.layers {
            let place = "layer \"\(layer.name)\""
            switch layer {
            case .conv2d, .maxPool2d:
                if flattened != nil {
                    throw .malformed("\(place) is a \(layer.typeName) after the flatten layer; an image model's 2-D layers come before its one flatten (spec §6.1)")
                }
                let window: Window2D
                if case .conv2d(let c) = layer {
                    if c.inChannels != shape.c {
                        throw .malformed("\(place) takes \(c.inChannels) channels but \(source) gives \(shape.c) (spec §6.1)")
                    }
                    window = c.window
                } else if case .maxPool2d(let p) = layer {
                    window = p.window
                } else { preconditionFailure() }
                guard let out = window.outputSize(height: shape.h, width: shape.w) else {
                    throw .malformed("\(place): its \(window.kernelHeight) x \(window.kernelWidth) window does not fit the \(shape.h) x \(shape.w) map of \(source) with its padding; the output needs at least one row and column (spec §6.1)")
                }
                let channels = if case .conv2d(let c) = layer { c.outChannels } else { shape.c }
                let (values, overflow) = channels.multipliedReportingOverflow(by: out.height * out.width)
                if overflow || values > Format.maxFeatureMap {
                    throw .malformed("\(place) gives a \(channels) x \(out.height) x \(out.width) feature map; a feature map has at most \(Format.maxFeatureMap) values (spec §6.1)")
                }
                shape = (channels, out.height, out.width)
                source = place
            case .flatten:
                if flattened != nil {
                    throw .malformed("\(place) is a second flatten layer; an image model flattens exactly once (spec §6.1)")
                }
                flattened = shape.c * shape.h * shape.w
                source = place
            case .dense(let d):
                guard let width = flattened else {
                    throw .malformed("\(place) is a dense layer before the flatten layer; an image model's feature map is flattened before its dense layers (spec §6.1)")
                }
                if d.inputSize != width {
                    throw .malformed("\(place) takes \(d.inputSize) inputs but \(source) gives \(width) (spec §6.1)")
                }
                flattened = d.outputSize
                source = place
            case .embedding, .pool, .conv1d, .lstm, .gru:
                throw .malformed("\(place) is a \(layer.typeName) layer but the input kind is \"image\"; an image model has only conv2d, maxpool2d, flatten and dense layers (spec §6.1)")
            }
        }
        guard let width = flattened else {
            throw .malformed("the image model has no flatten layer; its feature map is flattened once before the dense layers (spec §6.1)")
        }
        if case .flatten? = m.layers.last {
            throw .malformed("the image model ends with its flatten layer; one or more dense layers follow it (spec §6.1)")
        }
        try labelCount(m, width: width)
    }

    /// Spec §6.1 rule (2a), since 1.1: an `embedding` layer is present exactly when the input kind is
    /// `tokens`; then it is the first layer, the only embedding, and has one row per token id.
    static func tokenRules(_ m: ModelMetadata) throws(ModelFormatError) {
        let embeddings = m.layers.indices.filter { if case .embedding = m.layers[$0] { true } else { false } }
        guard m.input.kind == .tokens else {
            if let i = embeddings.first {
                throw .malformed("layer \"\(m.layers[i].name)\" is an embedding but the input kind is \"\(m.input.kind.rawValue)\"; an embedding reads token ids, so it needs input kind \"tokens\" (spec §6.1)")
            }
            return
        }
        guard let tokens = m.input.tokens else {
            throw .malformed("input kind \"tokens\" has no text pipeline (spec §6.2.1)")
        }
        guard case .embedding(let e) = m.layers[0] else {
            throw .malformed("the input kind is \"tokens\" but the first layer \"\(m.layers[0].name)\" is not an embedding; token ids enter an embedding layer first (spec §6.1)")
        }
        if embeddings.count > 1 {
            throw .malformed("layer \"\(m.layers[embeddings[1]].name)\" is a second embedding; a model has at most one, as its first layer (spec §6.1)")
        }
        if e.vocabularySize != tokens.vocabularySize {
            throw .malformed("embedding \"\(e.name)\" has vocab_size \(e.vocabularySize) but the vocabulary has \(tokens.vocabulary.count) words + 2 reserved ids = \(tokens.vocabularySize) (spec §6.2.1)")
        }
    }

    /// Spec §6.1 rule (2b), since 1.3: a `pool` layer appears at most once, right after the last
    /// recurrent layer, which returns `"sequence"` (so only dense layers can follow it).
    static func poolRules(_ m: ModelMetadata, lastRecurrent: Int) throws(ModelFormatError) {
        let pools = m.layers.indices.filter { if case .pool = m.layers[$0] { true } else { false } }
        guard let first = pools.first else { return }
        if pools.count > 1 {
            throw .malformed("layer \"\(m.layers[pools[1]].name)\" is a second pool layer; a model pools at most once (spec §6.1)")
        }
        let recurrent = m.layers[lastRecurrent]
        if first != lastRecurrent + 1 {
            throw .malformed("pool layer \"\(m.layers[first].name)\" is layer \(first) but the last recurrent layer \"\(recurrent.name)\" is layer \(lastRecurrent); a pool directly follows the last recurrent layer (spec §6.1)")
        }
        if recurrent.returns != .sequence {
            throw .malformed("pool layer \"\(m.layers[first].name)\" follows recurrent layer \"\(recurrent.name)\", which returns \"last\"; a pool reads every step, so that layer returns \"sequence\" (spec §6.1)")
        }
    }

    /// The lowest reader minor version that understands `m` (spec §3): 3 when it has a `pool` layer;
    /// 2 when it uses anything of 1.2 (a `gru` layer, a bidirectional layer, the `features` input,
    /// per-step outputs, `"values"`); else 1 when it uses the `tokens` input kind or an `embedding`
    /// layer (both since 1.1); else 0.
    static func minimumReaderMinor(_ m: ModelMetadata) -> Int {
        let usesConvolution = m.layers.contains {
            switch $0 {
            case .conv2d, .maxPool2d, .flatten, .conv1d: true
            default: false
            }
        }
        if usesConvolution || m.input.kind == .image { return 4 }
        if m.poolLayer != nil { return 3 }
        let usesGRU = m.layers.contains { if case .gru = $0 { true } else { false } }
        if usesGRU || m.hasBidirectionalLayer || m.input.kind == .features || m.outputsPerStep || m.output == .values {
            return 2
        }
        let usesEmbedding = m.layers.contains { if case .embedding = $0 { true } else { false } }
        return usesEmbedding || m.input.kind == .tokens ? 1 : 0
    }

    /// What a file of minor `minor` uses of a newer version, for the message of spec §7 step 8.
    static func newestFeature(_ m: ModelMetadata) -> String {
        switch minimumReaderMinor(m) {
        case 4: "a 1.4 feature (the image input, conv2d, maxpool2d, flatten or conv1d)"
        case 3: "the pool layer of 1.3"
        case 2: "a 1.2 feature (gru, bidirectional, features input, per-step outputs or values)"
        default: "the embedding layer or tokens input of 1.1"
        }
    }

    /// Spec §6.1 (f), since 1.2: no standard deviation of a `features` input is negative.
    static func standardization(_ m: ModelMetadata, _ tensors: [Tensor]) throws(ModelFormatError) {
        guard let f = m.input.features, m.input.kind == .features, let name = f.std,
              let std = tensors.first(where: { $0.name.utf8.elementsEqual(name.utf8) }) else { return }
        let values = std.floatValues()
        if let i = values.firstIndex(where: { $0 < 0 }) {
            throw .invalidTensor("tensor \"\(name)\" (the input's std): element \(i) is \(values[i]); a standard deviation is >= 0 (spec §6.2.2)")
        }
    }

    /// The feature bits a model's content implies (spec §3); `usesZstd` covers the sections.
    package static func requiredFeatures(tensors: [Tensor], usesZstd: Bool) -> UInt64 {
        var bits: UInt64 = usesZstd ? FormatFeature.zstd.bit : 0
        for t in tensors {
            switch t.dtype {
            case .f32: break
            case .f16: bits |= FormatFeature.f16.bit
            case .bf16: bits |= FormatFeature.bf16.bit
            case .int8: bits |= FormatFeature.int8.bit
            }
        }
        return bits
    }

    /// Spec §4.2: finite values, finite positive scales, no int8 -128; tensors in table order.
    static func values(_ tensors: [Tensor]) throws(ModelFormatError) {
        for t in tensors {
            switch t.storage {
            case .f32(let v):
                if let i = firstNonFinite(v) { throw nonFinite(t, i, Double(v[i])) }
            case .f16(let v):
                // Exponent all ones: infinity or NaN.
                if let i = v.firstIndex(where: { $0 & 0x7C00 == 0x7C00 }) {
                    throw nonFinite(t, i, Double(Float(Float16(bitPattern: v[i]))))
                }
            case .bf16(let v):
                if let i = v.firstIndex(where: { $0 & 0x7F80 == 0x7F80 }) {
                    throw nonFinite(t, i, Double(Float(bitPattern: UInt32(v[i]) << 16)))
                }
            case .int8(let v, let scales):
                if let r = scales.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
                    throw .invalidTensor("tensor \"\(t.name)\": scale \(r) is \(scales[r]); scales must be finite and > 0 (spec §4.2)")
                }
                if let i = v.firstIndex(of: -128) {
                    throw .invalidTensor("tensor \"\(t.name)\": element \(i) is -128; symmetric int8 uses -127 ... 127 (spec §4.1)")
                }
                // f32(q) * s can overflow for a finite scale near the binary32 maximum.
                let perRow = max(1, v.count / max(1, scales.count))
                for (i, q) in v.enumerated() where !(Float(q) * scales[min(i / perRow, scales.count - 1)]).isFinite {
                    throw .invalidTensor("tensor \"\(t.name)\": element \(i) dequantizes to infinity (q = \(q), scale \(scales[i / perRow])); every value must be finite (spec §4.2)")
                }
            }
        }
    }

    private static func firstNonFinite(_ v: [Float]) -> Int? {
        v.withUnsafeBufferPointer { buf in
            for i in buf.indices where !buf[i].isFinite { return i }
            return nil
        }
    }

    private static func nonFinite(_ t: Tensor, _ i: Int, _ value: Double) -> ModelFormatError {
        .invalidTensor("tensor \"\(t.name)\" (\(t.dtype)): element \(i) is \(value); every value must be finite (spec §4.2)")
    }
}
