/// A human-oriented description of a valid model file: what `rnn-infer inspect` prints.
public struct ModelSummary: Sendable, CustomStringConvertible {
    /// One directory entry (spec §2.2).
    public struct Section: Sendable, Equatable {
        /// Position in the directory.
        public var index: Int
        /// The `kind` field.
        public var kind: UInt32
        /// `metadata`, `tensor table`, `tensor data`, or `unknown (optional)`.
        public var kindName: String
        /// `none` or `zstd`.
        public var codec: String
        /// The `required` flag.
        public var required: Bool
        /// File offset of the payload.
        public var offset: Int
        /// Bytes in the file.
        public var storedSize: Int
        /// Bytes after decompression.
        public var size: Int
    }

    /// One layer with the shapes flowing through it.
    public struct LayerInfo: Sendable, Equatable {
        /// The layer's unique name.
        public var name: String
        /// `lstm` or `dense`.
        public var type: String
        /// E.g. `[T=28, 28]` for a sequence, `[128]` for a vector.
        public var inputShape: String
        /// The shape the layer hands on, written like ``inputShape``.
        public var outputShape: String
        /// Number of stored parameters (weights plus biases).
        public var parameterCount: Int
        /// Names of the tensors the layer references.
        public var tensors: [String]
    }

    /// One tensor-table entry (spec §4).
    public struct TensorInfo: Sendable, Equatable {
        /// The tensor's unique name.
        public var name: String
        /// The stored element type.
        public var dtype: DType
        /// Dimensions, row-major.
        public var shape: [Int]
        /// Bytes of values plus (int8) scales.
        public var storedBytes: Int
    }

    /// `format_major` of the header.
    public var formatMajor: Int
    /// `format_minor` of the header (may exceed this reader's minor, spec §3 rule 4).
    public var formatMinor: Int
    /// `min_reader_major` of the header.
    public var minReaderMajor: Int
    /// `min_reader_minor` of the header.
    public var minReaderMinor: Int
    /// Names of the set `required_features` bits.
    public var features: [String]
    /// Bytes in the file.
    public var fileSize: Int
    /// The section directory, in order.
    public var sections: [Section]
    /// The CRC-32 of the trailer; a summary exists only when it matched.
    public var crc32: UInt32
    /// The SHA-256 of the whole file as 64 lowercase hex digits, when the caller supplied a digest
    /// function to ``ModelReader/inspect(_:limits:sha256:)`` (this module has no SHA-256 of its own).
    public var sha256: String?
    /// The layers in data-flow order.
    public var layers: [LayerInfo]
    /// The tensor table, in order.
    public var tensors: [TensorInfo]
    /// Total parameters.
    public var parameterCount: Int
    /// Input contract, labels and provenance.
    public var metadata: ModelMetadata

    /// A multi-line report: header, sections, input, layers, tensors, labels, provenance.
    public var description: String {
        var out: [String] = []
        out.append("format        \(formatMajor).\(formatMinor) (needs a reader >= \(minReaderMajor).\(minReaderMinor))")
        out.append("features      \(features.isEmpty ? "none" : features.joined(separator: ", "))")
        out.append("file size     \(fileSize) bytes")
        out.append("checksum      crc32 \(hex(crc32)) ok")
        if let sha256 { out.append("sha256        \(sha256)") }
        out.append("sections")
        out.append(table([["#", "kind", "codec", "offset", "stored", "size"]] + sections.map {
            ["\($0.index)", $0.kindName + ($0.required ? "" : " (optional)"), $0.codec, "\($0.offset)", "\($0.storedSize)", "\($0.size)"]
        }))
        let c = metadata.input
        if let t = c.tokens {
            out.append("input         tokens: \(t.tokenizer.rawValue), vocabulary \(t.vocabulary.count) words + padding (0) + out-of-vocabulary (1), "
                       + "at most \(t.maxLength) tokens (truncating the \(t.truncation.rawValue)); T = the text's own length")
        } else if let f = c.features {
            out.append("input         features: \(f.width) f32 values per step, 1 ... \(f.maxLength) steps, "
                       + (f.mean == nil ? "used as they are" : "standardized (x - \(f.mean!)) / \(f.std!)"))
        } else if c.kind == .image {
            out.append("input         image: \(c.channels) x \(c.height) x \(c.width) u8 (channels first), x = u8 * \(c.scale) + \(c.offset); read whole")
        } else {
            out.append("input         \(c.kind.rawValue): \(c.height) x \(c.width) u8, x = u8 * \(c.scale) + \(c.offset); T = \(c.timeSteps) steps of \(c.featureWidth) features")
        }
        let perStep = metadata.outputsPerStep ? "at every step" : metadata.isImageModel ? "per image" : "per sequence"
        out.append("output        \(metadata.output == .logits ? "class logits" : "real values"), \(perStep): \(metadata.labels.count) (\(metadata.output.rawValue))")
        out.append("layers")
        out.append(table([["name", "type", "input", "output", "parameters"]] + layers.map {
            [$0.name, $0.type, $0.inputShape, $0.outputShape, "\($0.parameterCount)"]
        }))
        out.append("parameters    \(parameterCount)")
        out.append("tensors")
        out.append(table([["name", "dtype", "shape", "bytes"]] + tensors.map {
            [$0.name, $0.dtype.description, "\($0.shape)", "\($0.storedBytes)"]
        }))
        let labels = metadata.labels
        let shown = labels.prefix(12).map(TerminalText.escaped).joined(separator: ", ") + (labels.count > 12 ? ", ... (\(labels.count) in all)" : "")
        out.append("labels        \(labels.count): \(shown)")
        let p = metadata.provenance
        // Every string below comes from the file: escaped, so it cannot move the cursor or recolour the terminal.
        let e = TerminalText.escaped
        out.append("provenance    producer \(e(p.producer))\(p.producerVersion.map { " \(e($0))" } ?? "")")
        if let t = p.createdAt { out.append("              created \(e(t))") }
        if let d = p.datasetName { out.append("              dataset \(e(d))") }
        for (file, sha) in p.datasetSHA256.sorted(by: { $0.key < $1.key }) { out.append("                \(e(file)) sha256 \(e(sha))") }
        if let s = p.seed { out.append("              seed \(s)") }
        for (k, v) in p.hyperparameters.sorted(by: { $0.key < $1.key }) {
            let text = switch v { case .number(let d): CanonicalJSON.ecmaScriptString(d); case .string(let s): e(s) }
            out.append("              hyperparameter \(e(k)) = \(text)")
        }
        for (k, v) in p.metrics.sorted(by: { $0.key < $1.key }) {
            out.append("              metric \(e(k)) = \(CanonicalJSON.ecmaScriptString(v))")
        }
        return out.joined(separator: "\n")
    }

    /// Aligned columns; cells are escaped (layer names are any UTF-8, spec §6.1).
    private func table(_ rows: [[String]]) -> String {
        let rows = rows.map { $0.map(TerminalText.escaped) }
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        return rows.map { row in
            "  " + row.enumerated().map { i, cell in cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
    func padding(toLength n: Int, withPad pad: String, startingAt _: Int) -> String {
        count >= n ? self : self + String(repeating: pad, count: n - count)
    }
}

extension ModelReader {
    /// Checks the file completely (as ``decode(_:limits:)``) and describes it.
    ///
    /// - Parameter sha256: computes the SHA-256 of the file's bytes as lowercase hex (for example
    ///   `RNNDatasets.SHA256.hex`); nil leaves ``ModelSummary/sha256`` empty.
    public static func inspect(_ bytes: [UInt8], limits: ReadLimits = .default,
                               sha256: (([UInt8]) -> String)? = nil) throws(ModelFormatError) -> ModelSummary {
        let container = try Container.parse(bytes, limits: limits)
        let (model, entries) = try decodeSections(container, limits: limits)
        let sections = container.sections.map { s in
            ModelSummary.Section(index: s.index, kind: s.kind, kindName: s.known?.label ?? "unknown kind \(s.kind)",
                                 codec: s.codec == 0 ? "none" : "zstd", required: s.required,
                                 offset: s.offset, storedSize: s.storedSize, size: s.size)
        }
        let tensors = entries.map { e in
            ModelSummary.TensorInfo(name: e.name, dtype: e.dtype, shape: e.shape,
                                    storedBytes: e.dataSize + (e.dtype == .int8 ? e.scaleSize : 0))
        }
        var counts: [String: Int] = [:]
        for t in model.tensors { counts[t.name] = t.count }
        var layers: [ModelSummary.LayerInfo] = []
        let c = model.metadata.input
        var isSequence = true
        var width = c.featureWidth
        let steps = c.kind == .imageRows ? "=\(c.timeSteps)" : "<=\(c.timeSteps)"
        var map: (c: Int, h: Int, w: Int)? = c.kind == .image ? (c.channels, c.height, c.width) : nil
        var stepsShown = "T\(steps)"  // after a conv1d: T'
        func shape(_ w: Int, _ seq: Bool) -> String {
            if let map { return "[\(map.c), \(map.h), \(map.w)]" }
            return seq ? "[\(stepsShown), \(w)]" : "[\(w)]"
        }
        if map != nil { isSequence = false }
        for layer in model.metadata.layers {
            let refs = ModelChecks.references(layer).map(\.name)
            let params = refs.reduce(0) { $0 + (counts[$1] ?? 0) }
            let inShape = shape(width, isSequence)
            let type: String
            switch layer {
            case .dense(let d):
                type = d.activation == .none ? "dense" : "dense+\(d.activation.rawValue)"
                width = d.outputSize
            case .embedding(let e):
                type = "embedding"
                width = e.dimension
            case .lstm(let l):
                type = l.direction == .bidirectional ? "lstm (bidirectional)" : "lstm"
                width = l.outputSize
                isSequence = l.returns == .sequence
            case .gru(let g):
                type = "gru (reset \(g.reset.rawValue)\(g.direction == .bidirectional ? ", bidirectional" : ""))"
                width = g.outputSize
                isSequence = g.returns == .sequence
            case .pool(let p):
                type = "pool (\(p.mode.rawValue))"
                width = p.size
                isSequence = false
            case .conv2d(let conv):
                let w = conv.window
                type = "conv2d \(w.kernelHeight)x\(w.kernelWidth)" + (w.strideHeight == 1 && w.strideWidth == 1 ? "" : " /\(w.strideHeight)x\(w.strideWidth)")
                    + (conv.activation == .none ? "" : "+\(conv.activation.rawValue)")
                if let m = map, let out = w.outputSize(height: m.h, width: m.w) { map = (conv.outChannels, out.height, out.width) }
            case .maxPool2d(let pool):
                let w = pool.window
                type = "maxpool2d \(w.kernelHeight)x\(w.kernelWidth) /\(w.strideHeight)x\(w.strideWidth)"
                if let m = map, let out = w.outputSize(height: m.h, width: m.w) { map = (m.c, out.height, out.width) }
            case .flatten:
                type = "flatten"
                if let m = map { width = m.c * m.h * m.w }
                map = nil
            case .conv1d(let conv):
                type = "conv1d k\(conv.window.kernel)" + (conv.window.stride == 1 ? "" : " /\(conv.window.stride)")
                    + (conv.activation == .none ? "" : "+\(conv.activation.rawValue)")
                width = conv.outChannels
                stepsShown = "T'"
            }
            layers.append(.init(name: layer.name, type: type, inputShape: inShape, outputShape: shape(width, isSequence),
                                parameterCount: params, tensors: refs))
        }
        return ModelSummary(
            formatMajor: Int(container.formatMajor), formatMinor: Int(container.formatMinor),
            minReaderMajor: Int(container.minReaderMajor), minReaderMinor: Int(container.minReaderMinor),
            features: FormatFeature.names(of: container.requiredFeatures), fileSize: bytes.count,
            sections: sections, crc32: container.crc, sha256: sha256?(bytes), layers: layers, tensors: tensors,
            parameterCount: model.tensors.reduce(0) { $0 + $1.count }, metadata: model.metadata)
    }

    /// Reads the file at `path` (size-checked first, as ``read(contentsOf:limits:)``) and describes it.
    public static func inspect(contentsOf path: String, limits: ReadLimits = .default,
                               sha256: (([UInt8]) -> String)? = nil) throws(ModelFormatError) -> ModelSummary {
        try inspect(try FileContents.read(path, maxBytes: limits.effectiveFileBytes), limits: limits, sha256: sha256)
    }
}
