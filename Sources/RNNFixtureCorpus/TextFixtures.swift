import RNNCore
import RNNFormat

/// The format-1.1 fixtures: a tiny `tokens` + `embedding` model and files that break its rules.
extension FixtureModels {
    /// Tokens (vocabulary of 6 words, max length 8, truncated at the start) -> embedding(8 x 3)
    /// -> lstm(4) -> dense(2). Weights uniform(-0.5, 0.5) from SplitMix64 seed 11.
    static func tinyText(dtype: DType = .f32) -> ModelFile {
        var rng = SplitMix64(seed: 11)
        var tensors: [Tensor] = []
        func add(_ name: String, _ shape: [Int]) -> String {
            tensors.append(try! Tensor.quantized(name: name, shape: shape, values: rng.weights(shape.reduce(1, *)), to: dtype))
            return name
        }
        let tokens = TokenInput(maxLength: 8, truncation: .start, vocabulary: ["the", "movie", "great", "bad", "don't", "café"])
        let v = tokens.vocabularySize, d = 3, h = 4
        let layers: [Layer] = [
            .embedding(EmbeddingLayer(name: "embed", vocabularySize: v, dimension: d, weight: add("embed.weight", [v, d]))),
            .lstm(LSTMLayer(name: "lstm0", inputSize: d, hiddenSize: h, weightIH: add("lstm0.w_ih", [4 * h, d]),
                            weightHH: add("lstm0.w_hh", [4 * h, h]), biasIH: add("lstm0.b_ih", [4 * h]),
                            biasHH: add("lstm0.b_hh", [4 * h]), returns: .last)),
            .dense(DenseLayer(name: "out", inputSize: h, outputSize: 2, weight: add("out.weight", [2, h]), bias: add("out.bias", [2]))),
        ]
        let metadata = ModelMetadata(
            layers: layers, input: InputContract(tokens: tokens), labels: ["negative", "positive"],
            provenance: Provenance(producer: "rnn-fixtures", producerVersion: "1.1", seed: 11, metrics: ["untrained": 1]))
        return ModelFile(metadata: metadata, tensors: tensors)
    }
}

extension FixtureCorpus {
    /// Good 1.1 models (appended to ``goodModels()``).
    static func textModels() -> [Item] {
        [Item(file: "text-tiny.rnnm", error: nil,
              why: "format 1.1: tokens input (words-v1, 6 words, max length 8) -> embedding(8 x 3) -> lstm(4) -> dense(2); min_reader_minor 1",
              bytes: try! ModelWriter.encode(FixtureModels.tinyText()))]
    }

    /// Bad 1.1 files (appended to ``corruptFiles()``), each breaking one rule of spec §6.1 / §6.2.1.
    static func textCorruptFiles() -> [Item] {
        let base = FixtureModels.tinyText()
        func file(_ m: ModelFile, minReader: UInt16 = 1) -> [UInt8] { RawFile.versioned(m, minor: 1, minReader: minReader) }
        func edited(_ edit: (inout ModelFile) -> Void) -> [UInt8] {
            var m = base
            edit(&m)
            return file(m)
        }
        func json(_ edit: @escaping (inout JSONValue) -> Void) -> [UInt8] { RawFile.versioned(base, minor: 1, json: edit) }
        var items: [Item] = []
        func bad(_ name: String, _ error: ModelFormatError.Kind, _ why: String, _ bytes: [UInt8]) {
            items.append(Item(file: name + ".rnnm", error: error.rawValue, why: why, bytes: bytes))
        }
        bad("text-min-reader-1.0", .malformed, "an embedding layer and tokens input (1.1) but min_reader_minor 0", file(base, minReader: 0))
        bad("text-unknown-tokenizer", .unsupportedFeature, "input.tokenizer \"bpe\" is not defined",
            json { $0.set([.key("input"), .key("tokenizer")], .string("bpe")) })
        bad("text-unknown-truncate", .unsupportedFeature, "input.truncate \"middle\" is not defined",
            json { $0.set([.key("input"), .key("truncate")], .string("middle")) })
        bad("text-max-length-zero", .malformed, "input.max_length 0", json { $0.set([.key("input"), .key("max_length")], .number("0")) })
        bad("text-vocabulary-uppercase", .malformed, "vocabulary word \"The\": the tokenizer never produces ASCII capitals",
            json { $0.set([.key("input"), .key("vocabulary"), .index(0)], .string("The")) })
        bad("text-vocabulary-duplicate", .malformed, "vocabulary words 0 and 1 are both \"the\"",
            json { $0.set([.key("input"), .key("vocabulary"), .index(1)], .string("the")) })
        bad("text-vocab-size-mismatch", .malformed, "embedding vocab_size 9 (weight [9, 3]) but 6 words + 2 reserved ids = 8", edited { m in
            guard case .embedding(var e) = m.metadata.layers[0] else { return }
            e.vocabularySize = 9
            m.metadata.layers[0] = .embedding(e)
            m.tensors[0] = Tensor(name: "embed.weight", shape: [9, 3], values: [Float](repeating: 0.125, count: 27))
        })
        bad("text-embedding-shape", .shapeMismatch, "embed.weight is [3, 8]: transposed", edited { m in m.tensors[0].shape = [3, 8] })
        bad("text-embedding-not-first", .malformed, "tokens input but the first layer is a dense layer", edited { m in
            m.metadata.layers.insert(.dense(DenseLayer(name: "pre", inputSize: 1, outputSize: 1, weight: "pre.weight", bias: nil)), at: 0)
            m.tensors.append(Tensor(name: "pre.weight", shape: [1, 1], values: [0.5]))
        })
        bad("text-embedding-with-image-rows", .malformed, "an embedding layer in a model whose input kind is image_rows", edited { m in
            m.metadata.input = InputContract(height: 8, width: 1, scale: 1, offset: 0)
        })
        return items
    }
}
