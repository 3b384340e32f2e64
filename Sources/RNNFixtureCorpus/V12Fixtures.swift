import RNNCore
import RNNFormat

/// The format-1.2 fixtures: gru layers, bidirectional layers, the `features` input with its
/// standardization, per-step and real-valued outputs (spec §6.1, §6.2.2, §6.5), and files that break
/// each of their rules.
extension FixtureModels {
    /// One recurrent layer of a fixture model.
    struct Cell {
        var gru: Bool
        var hidden: Int
        var reset: GRUReset = .after
        var bidirectional = false
        /// nil: `"sequence"` for every cell but the last, `"last"` for the last.
        var returns: SequenceReturn? = nil
        var bHH = true

        static func lstm(_ hidden: Int, bidirectional: Bool = false, returns: SequenceReturn? = nil) -> Cell {
            Cell(gru: false, hidden: hidden, bidirectional: bidirectional, returns: returns)
        }

        static func gru(_ hidden: Int, reset: GRUReset = .after, bidirectional: Bool = false,
                        returns: SequenceReturn? = nil, bHH: Bool = true) -> Cell {
            Cell(gru: true, hidden: hidden, reset: reset, bidirectional: bidirectional, returns: returns, bHH: bHH)
        }
    }

    /// The input of a fixture model.
    enum Source {
        case image(height: Int, width: Int)
        /// `standardized`: `input.mean` and `input.std` tensors, the last std exactly 0 (spec §6.2.2).
        case features(width: Int, maxLength: Int, standardized: Bool)
    }

    /// A model of recurrent `cells`, then (with `pool`, since 1.3) a pool layer over the last cell's
    /// steps, then one dense output layer of `labels.count` outputs; weights uniform(-0.5, 0.5) from
    /// SplitMix64 `seed`, stored as `dtype` (standardization tensors too).
    static func recurrent(seed: UInt64, source: Source, cells: [Cell], labels: [String], output: ModelOutput = .logits,
                          dtype: DType = .f32, pool: PoolMode? = nil) -> ModelFile {
        var rng = SplitMix64(seed: seed)
        var tensors: [Tensor] = []
        func add(_ name: String, _ shape: [Int], _ values: [Float]? = nil) -> String {
            let v = values ?? rng.weights(shape.reduce(1, *))
            tensors.append(try! Tensor.quantized(name: name, shape: shape, values: v, to: dtype))
            return name
        }
        var width: Int
        switch source {
        case .image(_, let w): width = w
        case .features(let w, _, _): width = w
        }
        var layers: [Layer] = []
        for (i, cell) in cells.enumerated() {
            let kind = cell.gru ? "gru" : "lstm", name = "\(kind)\(i)", g = (cell.gru ? 3 : 4) * cell.hidden
            func direction(_ suffix: String) -> ReverseTensors {
                ReverseTensors(weightIH: add("\(name).w_ih\(suffix)", [g, width]), weightHH: add("\(name).w_hh\(suffix)", [g, cell.hidden]),
                               biasIH: add("\(name).b_ih\(suffix)", [g]), biasHH: cell.bHH ? add("\(name).b_hh\(suffix)", [g]) : nil)
            }
            let forward = direction(""), reverse = cell.bidirectional ? direction("_reverse") : nil
            let returns = cell.returns ?? (i == cells.count - 1 && pool == nil ? .last : .sequence)
            layers.append(cell.gru
                ? .gru(GRULayer(name: name, inputSize: width, hiddenSize: cell.hidden, weightIH: forward.weightIH,
                                weightHH: forward.weightHH, biasIH: forward.biasIH, biasHH: forward.biasHH,
                                reset: cell.reset, returns: returns, reverse: reverse))
                : .lstm(LSTMLayer(name: name, inputSize: width, hiddenSize: cell.hidden, weightIH: forward.weightIH,
                                  weightHH: forward.weightHH, biasIH: forward.biasIH, biasHH: forward.biasHH,
                                  returns: returns, reverse: reverse)))
            width = cell.bidirectional ? 2 * cell.hidden : cell.hidden
        }
        if let pool { layers.append(.pool(PoolLayer(name: "pool", mode: pool, size: width))) }
        layers.append(.dense(DenseLayer(name: "out", inputSize: width, outputSize: labels.count,
                                        weight: add("out.weight", [labels.count, width]), bias: add("out.bias", [labels.count]))))
        let input: InputContract
        switch source {
        case .image(let h, let w):
            input = InputContract(height: h, width: w, scale: 1.0 / 255, offset: 0)
        case .features(let w, let maxLength, let standardized):
            var features = FeatureInput(width: w, maxLength: maxLength)
            if standardized {
                features.mean = add("input.mean", [w], rng.weights(w, amplitude: 2))
                var std = rng.weights(w).map { abs($0) + 0.25 }
                std[w - 1] = 0  // a feature that was constant in training: centred, not scaled
                features.std = add("input.std", [w], std)
            }
            input = InputContract(features: features)
        }
        let metadata = ModelMetadata(
            layers: layers, input: input, labels: labels,
            provenance: Provenance(producer: "rnn-fixtures", producerVersion: "1.2", seed: seed, metrics: ["untrained": 1]),
            output: output)
        return ModelFile(metadata: metadata, tensors: tensors)
    }

    /// 5 x 6 images -> gru(4, reset after) -> 3 classes: the smallest change from tiny-h4 that needs 1.2.
    static func tinyGRU() -> ModelFile {
        recurrent(seed: 12, source: .image(height: 5, width: 6), cells: [.gru(4)], labels: ["a", "b", "c"])
    }

    /// Features (3 per step, mean/std) -> bidirectional gru(2) -> 2 classes: the base of the 1.2 corrupt files.
    static func micro12() -> ModelFile {
        recurrent(seed: 13, source: .features(width: 3, maxLength: 4, standardized: true),
                  cells: [.gru(2, bidirectional: true)], labels: ["no", "yes"])
    }

    /// Features (3 per step, mean/std) -> lstm(4) -> one real value.
    static func values12() -> ModelFile {
        recurrent(seed: 14, source: .features(width: 3, maxLength: 6, standardized: true), cells: [.lstm(4)],
                  labels: ["y"], output: .values)
    }
}

extension FixtureCorpus {
    /// Good 1.2 models (appended to ``goodModels()``); they are also seeds of the reader fuzzer.
    static func v12Models() -> [Item] {
        var items: [Item] = []
        func add(_ file: String, _ why: String, _ m: ModelFile, _ o: WriteOptions = .init()) {
            items.append(Item(file: file, error: nil, why: why, bytes: try! ModelWriter.encode(m, options: o)))
        }
        add("gru-uncompressed.rnnm", "format 1.2: 5x6 image rows -> gru(4, reset after) -> dense(3); f32, codec none: the second hex dump of spec §10",
            FixtureModels.tinyGRU(), .uncompressed)
        add("gru-before.rnnm", "format 1.2: features (3, max 6) -> gru(5, reset before, no b_hh) -> dense(2); f32, zstd",
            FixtureModels.recurrent(seed: 15, source: .features(width: 3, maxLength: 6, standardized: false),
                                    cells: [.gru(5, reset: .before, bHH: false)], labels: ["a", "b"]))
        add("bilstm.rnnm", "format 1.2: features (4, max 8) -> bidirectional lstm(3), last = [hf[T-1], hb[0]] -> dense(6 -> 3); f32, zstd",
            FixtureModels.recurrent(seed: 16, source: .features(width: 4, maxLength: 8, standardized: false),
                                    cells: [.lstm(3, bidirectional: true)], labels: ["a", "b", "c"]))
        add("features-std.rnnm", "format 1.2: features (5, max 10) standardized by input.mean / input.std (the last std 0) -> lstm(4) -> dense(3)",
            FixtureModels.recurrent(seed: 17, source: .features(width: 5, maxLength: 10, standardized: true),
                                    cells: [.lstm(4)], labels: ["a", "b", "c"]))
        add("per-step.rnnm", "format 1.2: features (3, max 6) -> gru(4) returning \"sequence\" as the last recurrent layer -> dense(3) logits at every step",
            FixtureModels.recurrent(seed: 18, source: .features(width: 3, maxLength: 6, standardized: false),
                                    cells: [.gru(4, returns: .sequence)], labels: ["a", "b", "c"]))
        add("values.rnnm", "format 1.2: features (3, max 6, standardized) -> lstm(4) -> dense(1); model.output \"values\" with a single label",
            FixtureModels.values12())
        add("stacked-bigru-int8.rnnm", "format 1.2: features (4, max 7, standardized) -> lstm(3, sequence) -> bidirectional gru(2, reset before, sequence) "
            + "-> gru(3, last) -> dense(2); every tensor int8, mean/std included",
            FixtureModels.recurrent(seed: 19, source: .features(width: 4, maxLength: 7, standardized: true),
                                    cells: [.lstm(3), .gru(2, reset: .before, bidirectional: true), .gru(3)], labels: ["a", "b"], dtype: .int8))
        return items
    }

    /// Bad 1.2 files (appended to ``corruptFiles()``), each breaking one rule of spec §3, §6, §6.1, §6.2.2.
    static func v12CorruptFiles() -> [Item] {
        let base = FixtureModels.micro12()
        var items: [Item] = []
        func bad(_ name: String, _ error: ModelFormatError.Kind, _ why: String, _ bytes: [UInt8]) {
            items.append(Item(file: name + ".rnnm", error: error.rawValue, why: why, bytes: bytes))
        }
        /// `m` encoded unchecked, zstd, with `format_minor = min_reader_minor = minReader`.
        func file(_ m: ModelFile, minReader: UInt16 = 2) -> [UInt8] { RawFile.versioned(m, minor: minReader) }
        func edited(_ m: ModelFile = base, _ edit: (inout ModelFile) -> Void) -> [UInt8] {
            var m = m
            edit(&m)
            return file(m)
        }
        func json(_ m: ModelFile = base, _ edit: @escaping (inout JSONValue) -> Void) -> [UInt8] {
            RawFile.versioned(m, minor: 2, json: edit)
        }
        let layer0: [JSONPath] = [.key("model"), .key("layers"), .index(0)]
        func tensor(_ m: ModelFile, _ name: String) -> Int { m.tensors.firstIndex { $0.name == name }! }

        // §6.1 gru and Direction: metadata.
        bad("gru-unknown-gate-order", .unsupportedFeature, "a gru layer with gate_order \"ifgo\" (a gru's order is \"rzn\")",
            json { $0.set(layer0 + [.key("gate_order")], .string("ifgo")) })
        bad("gru-unknown-reset", .unsupportedFeature, "a gru layer with reset \"middle\" (known: \"after\", \"before\")",
            json { $0.set(layer0 + [.key("reset")], .string("middle")) })
        bad("gru-reset-missing", .malformed, "a gru layer without the required member \"reset\"", json { $0.set(layer0 + [.key("reset")], nil) })
        bad("unknown-direction", .unsupportedFeature, "a recurrent layer with direction \"backward\" (known: \"forward\", \"bidirectional\")",
            json { $0.set(layer0 + [.key("direction")], .string("backward")) })
        bad("bidirectional-missing-w-hh-reverse", .malformed, "a bidirectional layer without the member w_hh_reverse",
            json { $0.set(layer0 + [.key("w_hh_reverse")], nil) })
        bad("bidirectional-b-hh-reverse-without-b-hh", .malformed, "a bidirectional layer with b_hh_reverse but no b_hh (both or neither)",
            json { $0.set(layer0 + [.key("b_hh")], nil) })
        bad("bidirectional-b-hh-without-b-hh-reverse", .malformed, "a bidirectional layer with b_hh but no b_hh_reverse (both or neither)",
            json { $0.set(layer0 + [.key("b_hh_reverse")], nil) })
        bad("gru-returns-last-before-lstm", .malformed, "a gru returning \"last\" followed by another recurrent layer",
            file(FixtureModels.recurrent(seed: 20, source: .features(width: 3, maxLength: 4, standardized: false),
                                         cells: [.gru(2, returns: .last), .lstm(2)], labels: ["no", "yes"])))
        // Cross-checks.
        bad("bidirectional-reverse-tensor-missing", .malformed, "w_ih_reverse names a tensor that is not in the table",
            edited { m in m.tensors.remove(at: tensor(m, "gru0.w_ih_reverse")) })
        bad("bidirectional-reverse-shape", .shapeMismatch, "gru0.w_hh_reverse is [2, 6] instead of [3H, H] = [6, 2]",
            edited { m in m.tensors[tensor(m, "gru0.w_hh_reverse")].shape = [2, 6] })
        bad("bidirectional-next-layer-width-h", .malformed, "the dense layer after a bidirectional gru(2) takes 2 inputs, not 2H = 4", edited { m in
            guard case .dense(var d) = m.metadata.layers[1] else { return }
            d.inputSize = 2
            m.metadata.layers[1] = .dense(d)
            m.tensors[tensor(m, "out.weight")] = Tensor(name: "out.weight", shape: [2, 2], values: [0.5, -0.5, 0.25, -0.25])
        })

        // §6.2.2 features input.
        let input: [JSONPath] = [.key("input")]
        bad("features-width-0", .malformed, "features input width 0 (range 1 ... 65,536)", json { $0.set(input + [.key("width")], .number("0")) })
        bad("features-width-65537", .malformed, "features input width 65,537 (range 1 ... 65,536: a value range, not a §9 limit)",
            json { $0.set(input + [.key("width")], .number("65537")) })
        bad("features-max-length-0", .malformed, "features input max_length 0", json { $0.set(input + [.key("max_length")], .number("0")) })
        bad("features-unknown-source-dtype", .unsupportedFeature, "features input source_dtype \"f64\" (known: \"f32\")",
            json { $0.set(input + [.key("source_dtype")], .string("f64")) })
        bad("features-mean-without-std", .malformed, "input.mean without input.std (both or neither)", edited { m in
            m.metadata.input.features!.std = nil
            m.tensors.remove(at: tensor(m, "input.std"))
        })
        bad("features-standardization-unreferenced", .malformed, "tensors input.mean and input.std, but the input names neither", edited { m in
            m.metadata.input.features!.mean = nil
            m.metadata.input.features!.std = nil
        })
        bad("features-std-shape", .shapeMismatch, "input.std of shape [F + 1] = [4]", edited { m in
            m.tensors[tensor(m, "input.std")] = Tensor(name: "input.std", shape: [4], values: [1, 1, 1, 1])
        })
        bad("features-std-negative", .invalidTensor, "input.std element 1 is -0.5: a standard deviation is >= 0", edited { m in
            m.tensors[tensor(m, "input.std")] = Tensor(name: "input.std", shape: [3], values: [1, -0.5, 0])
        })

        // §3 and §7 step 8: min_reader_minor covers every 1.2 kind and rule.
        bad("gru-min-reader-1.1", .malformed, "a gru layer (1.2) but min_reader_minor 1", file(FixtureModels.tinyGRU(), minReader: 1))
        bad("bidirectional-min-reader-1.1", .malformed, "a bidirectional lstm (1.2; a 1.1 reader would ignore \"direction\") but min_reader_minor 1",
            file(FixtureModels.recurrent(seed: 21, source: .image(height: 4, width: 3), cells: [.lstm(2, bidirectional: true)],
                                         labels: ["no", "yes"]), minReader: 1))
        bad("features-min-reader-1.1", .malformed, "the features input (1.2) but min_reader_minor 1",
            file(FixtureModels.recurrent(seed: 22, source: .features(width: 3, maxLength: 4, standardized: false),
                                         cells: [.lstm(2)], labels: ["no", "yes"]), minReader: 1))
        bad("values-min-reader-1.1", .malformed, "model.output \"values\" (1.2) but min_reader_minor 1",
            file(FixtureModels.recurrent(seed: 23, source: .image(height: 4, width: 3), cells: [.lstm(2)], labels: ["y"], output: .values),
                 minReader: 1))
        bad("per-step-min-reader-1.1", .malformed,
            "a 1.1-era file (tokens, embedding) whose only lstm returns \"sequence\": per-step outputs since 1.2, but min_reader_minor 1",
            { var m = FixtureModels.tinyText()
              guard case .lstm(var l) = m.metadata.layers[1] else { return [] }
              l.returns = .sequence
              m.metadata.layers[1] = .lstm(l)
              return file(m, minReader: 1) }())
        bad("order-standardization-before-min-reader", .invalidTensor,
            "a negative std and min_reader_minor 1: the value checks (§6.1 (f)) come before the min_reader_minor check",
            { var m = base
              m.tensors[tensor(m, "input.std")] = Tensor(name: "input.std", shape: [3], values: [1, -0.5, 0])
              return file(m, minReader: 1) }())

        // §6 model.output and labels.
        bad("unknown-model-output", .unsupportedFeature, "model.output \"probabilities\" (known: \"logits\", \"values\")",
            json { $0.set([.key("model"), .key("output")], .string("probabilities")) })
        bad("values-one-label-as-logits", .malformed, "the one-output values model with model.output \"logits\": a classifier needs 2 labels",
            json(FixtureModels.values12()) { $0.set([.key("model"), .key("output")], .string("logits")) })
        return items
    }
}
