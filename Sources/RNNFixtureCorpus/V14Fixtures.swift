import RNNCore
import RNNFormat

/// The format-1.4 fixtures: image models (the `image` input, `conv2d`, `maxpool2d`, `flatten`), a
/// `conv1d` front end, and files that break each of their rules.
extension FixtureModels {
    /// A 2-D layer of ``image(seed:channels:height:width:layers:dense:labels:dtype:)``.
    enum ImageLayer {
        case conv(Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int, Int, Int) = (0, 0, 0, 0),
                  activation: Activation = .relu, bias: Bool = true)
        case pool(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int, Int, Int) = (0, 0, 0, 0))
    }

    /// An image model: the 2-D layers, `flatten`, dense layers (ReLU) and the output layer.
    static func image(seed: UInt64, channels: Int, height: Int, width: Int, layers: [ImageLayer], dense: [Int] = [],
                      labels: [String], dtype: DType = .f32) -> ModelFile {
        var rng = SplitMix64(seed: seed)
        var tensors: [Tensor] = []
        func add(_ name: String, _ shape: [Int]) -> String {
            tensors.append(try! Tensor.quantized(name: name, shape: shape, values: rng.weights(shape.reduce(1, *)), to: dtype))
            return name
        }
        var specs: [Layer] = []
        var map = (c: channels, h: height, w: width)
        for (i, layer) in layers.enumerated() {
            switch layer {
            case .conv(let out, let kernel, let stride, let padding, let activation, let bias):
                let name = "conv\(i)", window = Window2D(kernel: kernel, stride: stride, padding: padding)
                specs.append(.conv2d(Conv2DLayer(name: name, inChannels: map.c, outChannels: out, window: window,
                                                 weight: add("\(name).weight", [out, map.c, kernel.0, kernel.1]),
                                                 bias: bias ? add("\(name).bias", [out]) : nil, activation: activation)))
                let size = window.outputSize(height: map.h, width: map.w)!
                map = (out, size.height, size.width)
            case .pool(let kernel, let stride, let padding):
                let window = Window2D(kernel: kernel, stride: stride, padding: padding)
                specs.append(.maxPool2d(MaxPool2DLayer(name: "pool\(i)", window: window)))
                let size = window.outputSize(height: map.h, width: map.w)!
                map = (map.c, size.height, size.width)
            }
        }
        specs.append(.flatten(FlattenLayer(name: "flatten")))
        var vector = map.c * map.h * map.w
        for (i, out) in (dense + [labels.count]).enumerated() {
            let last = i == dense.count, name = last ? "out" : "fc\(i)"
            specs.append(.dense(DenseLayer(name: name, inputSize: vector, outputSize: out, weight: add("\(name).weight", [out, vector]),
                                           bias: add("\(name).bias", [out]), activation: last ? .none : .relu)))
            vector = out
        }
        let metadata = ModelMetadata(
            layers: specs, input: InputContract(imageChannels: channels, height: height, width: width, scale: 1.0 / 255, offset: 0),
            labels: labels, provenance: Provenance(producer: "rnn-fixtures", producerVersion: "1.0", seed: seed))
        return ModelFile(metadata: metadata, tensors: tensors)
    }

    /// 1 x 6 x 5 image -> conv 2 (3x3, pad 1) -> max-pool 2 -> flatten (2 x 3 x 2 = 12) -> 3 classes: the
    /// base of the 1.4 corrupt files and the smallest image model.
    static func microImage() -> ModelFile {
        image(seed: 40, channels: 1, height: 6, width: 5, layers: [.conv(2, kernel: (3, 3), padding: (1, 1, 1, 1)),
                                                                    .pool(kernel: (2, 2), stride: (2, 2))],
              labels: ["a", "b", "c"])
    }

    /// Features (4 per step, up to 9 steps) -> conv1d 4 -> 3 (kernel 3, stride 2, padding [2, 0], ReLU) ->
    /// gru(5) -> 2 classes: a CRNN front end.
    static func conv1dGRU(dtype: DType = .f32) -> ModelFile {
        var m = recurrent(seed: 41, source: .features(width: 3, maxLength: 9, standardized: false), cells: [.gru(5)], labels: ["no", "yes"])
        var rng = SplitMix64(seed: 42)
        let window = Window1D(kernel: 3, stride: 2, padBefore: 2, padAfter: 0)
        m.tensors.append(try! Tensor.quantized(name: "conv.weight", shape: [3, 4, 3], values: rng.weights(36), to: dtype))
        m.tensors.append(try! Tensor.quantized(name: "conv.bias", shape: [3], values: rng.weights(3), to: dtype))
        m.metadata.layers.insert(.conv1d(Conv1DLayer(name: "conv", inChannels: 4, outChannels: 3, window: window,
                                                     weight: "conv.weight", bias: "conv.bias", activation: .relu)), at: 0)
        m.metadata.input = InputContract(features: FeatureInput(width: 4, maxLength: 9))
        return m
    }
}

extension FixtureCorpus {
    /// Good 1.4 models (appended to ``goodModels()``); they are also seeds of the reader fuzzer.
    static func v14Models() -> [Item] {
        var items: [Item] = []
        func add(_ file: String, _ why: String, _ m: ModelFile, _ o: WriteOptions = .init()) {
            items.append(Item(file: file, error: nil, why: why, bytes: try! ModelWriter.encode(m, options: o)))
        }
        add("cnn-uncompressed.rnnm", "format 1.4: image 1x6x5 -> conv2d 2 (3x3, pad 1, relu) -> maxpool2d 2 -> flatten (12) -> dense(3); f32, codec none",
            FixtureModels.microImage(), .uncompressed)
        add("cnn-small.rnnm", "format 1.4: image 1x12x10 -> conv2d 4 (5x5, pad 2) -> maxpool2d 2 -> conv2d 9 (3x3) -> maxpool2d 2 -> flatten (18) -> dense 8 -> dense(4): a small LeNet; f32, zstd",
            FixtureModels.image(seed: 43, channels: 1, height: 12, width: 10, layers: [
                .conv(4, kernel: (5, 5), padding: (2, 2, 2, 2)), .pool(kernel: (2, 2), stride: (2, 2)),
                .conv(9, kernel: (3, 3)), .pool(kernel: (2, 2), stride: (2, 2)),
            ], dense: [8], labels: ["a", "b", "c", "d"]))
        add("cnn-rgb-int8.rnnm", "format 1.4: image 3x9x7 -> conv2d 5 (3x2, stride 2x1, padding [1,0,1,1], tanh) -> maxpool2d 3x2 stride 2x1 padding [1,0,1,0] -> conv2d 3 (1x1, no bias, none) -> flatten -> dense(2); int8, zstd",
            FixtureModels.image(seed: 44, channels: 3, height: 9, width: 7, layers: [
                .conv(5, kernel: (3, 2), stride: (2, 1), padding: (1, 0, 1, 1), activation: .tanh),
                .pool(kernel: (3, 2), stride: (2, 1), padding: (1, 0, 1, 0)),
                .conv(3, kernel: (1, 1), activation: .none, bias: false),
            ], labels: ["x", "y"], dtype: .int8))
        add("conv1d-gru.rnnm", "format 1.4: features (4, max 9) -> conv1d 3 (kernel 3, stride 2, padding [2,0], relu) -> gru(5) -> dense(2); f32, zstd",
            FixtureModels.conv1dGRU())
        return items
    }

    /// Bad 1.4 files (appended to ``corruptFiles()``), each breaking one rule of spec §6.1 or §6.2.3.
    static func v14CorruptFiles() -> [Item] {
        let base = FixtureModels.microImage()
        var items: [Item] = []
        func bad(_ name: String, _ error: ModelFormatError.Kind, _ why: String, _ bytes: [UInt8]) {
            items.append(Item(file: name + ".rnnm", error: error.rawValue, why: why, bytes: bytes))
        }
        func json(_ m: ModelFile = base, _ edit: @escaping (inout JSONValue) -> Void) -> [UInt8] { RawFile.versioned(m, minor: 4, json: edit) }
        func layers(_ m: ModelFile = base, _ edit: (inout [Layer]) -> Void) -> [UInt8] {
            var m = m
            edit(&m.metadata.layers)
            return RawFile.versioned(m, minor: 4)
        }
        /// `base` with one tensor replaced by zeros of `shape` and its layers edited.
        func model(_ tensor: String, _ shape: [Int], _ edit: (inout [Layer]) -> Void) -> [UInt8] {
            var m = base
            let i = m.tensors.firstIndex { $0.name == tensor }!
            m.tensors[i] = Tensor(name: tensor, shape: shape, values: [Float](repeating: 0, count: shape.reduce(1, *)))
            edit(&m.metadata.layers)
            return RawFile.versioned(m, minor: 4)
        }
        func ints(_ v: [Int]) -> JSONValue { .array(v.map { .number(String($0)) }) }
        let conv: [JSONPath] = [.key("model"), .key("layers"), .index(0)]
        let input: [JSONPath] = [.key("input")]
        bad("conv-kernel-length-3", .malformed, "a conv2d kernel of 3 integers (a 2-D kernel has 2)",
            json { $0.set(conv + [.key("kernel")], ints([3, 3, 3])) })
        bad("conv-kernel-0", .malformed, "a conv2d kernel [0, 3] (kernel sides are 1 ... 4096)",
            json { $0.set(conv + [.key("kernel")], ints([0, 3])) })
        bad("conv-stride-string", .malformed, "a conv2d stride given as the string \"1\"",
            json { $0.set(conv + [.key("stride")], .string("1")) })
        bad("conv-stride-fraction", .malformed, "a conv2d stride element 1.0 (integers have digits only)",
            json { $0.set(conv + [.key("stride")], .array([.number("1.0"), .number("1")])) })
        bad("conv-padding-not-below-kernel", .malformed, "a conv2d padding of 3 rows at the top with a kernel of 3 rows (padding is smaller than the kernel)",
            json { $0.set(conv + [.key("padding")], ints([3, 1, 1, 1])) })
        bad("conv-padding-missing", .malformed, "a conv2d without the required member \"padding\"",
            json { $0.set(conv + [.key("padding")], nil) })
        bad("conv-unknown-activation", .unsupportedFeature, "a conv2d with activation \"gelu\" (known: none, relu, tanh)",
            json { $0.set(conv + [.key("activation")], .string("gelu")) })
        bad("conv-in-channels-mismatch", .malformed, "a conv2d with in_channels 2 (and a [2, 2, 3, 3] weight) on a 1-channel image",
            model("conv0.weight", [2, 2, 3, 3]) { l in
                guard case .conv2d(var c) = l[0] else { return }
                c.inChannels = 2
                l[0] = .conv2d(c)
            })
        bad("conv-weight-shape", .shapeMismatch, "a conv2d whose kernel says 3x2 but whose weight is [2, 1, 3, 3]",
            json { $0.set(conv + [.key("kernel")], ints([3, 2])) })
        bad("conv-window-too-large", .malformed, "a 7x3 kernel without padding on a 6x5 image: no output row",
            model("conv0.weight", [2, 1, 7, 3]) { l in
                guard case .conv2d(var c) = l[0] else { return }
                c.window = Window2D(kernel: (7, 3), stride: (1, 1))
                l[0] = .conv2d(c)
            })
        bad("image-channels-missing", .malformed, "an image input without the required member \"channels\"",
            json { $0.set(input + [.key("channels")], nil) })
        bad("image-channels-0", .malformed, "an image input of 0 channels (1 ... 4096)",
            json { $0.set(input + [.key("channels")], .number("0")) })
        bad("image-too-many-values", .malformed, "an image input of 4096 x 4096 x 2 values (an image holds at most 16,777,216)",
            json { j in
                j.set(input + [.key("channels")], .number("4096")); j.set(input + [.key("height")], .number("4096"))
                j.set(input + [.key("width")], .number("2"))
            })
        bad("image-unknown-dtype", .unsupportedFeature, "an image input with source_dtype \"f32\" (known: \"u8\")",
            json { $0.set(input + [.key("source_dtype")], .string("f32")) })
        bad("image-no-flatten", .malformed, "an image model without its flatten layer",
            layers { $0.remove(at: 2) })
        bad("image-two-flattens", .malformed, "an image model that flattens twice",
            layers { $0.insert(.flatten(FlattenLayer(name: "flatten2")), at: 3) })
        bad("image-dense-before-flatten", .malformed, "an image model with its dense layer before the flatten layer",
            layers { $0.swapAt(2, 3) })
        bad("image-conv-after-flatten", .malformed, "a maxpool2d after the flatten layer",
            layers { $0.insert(.maxPool2d(MaxPool2DLayer(name: "late", window: Window2D(kernel: (1, 1), stride: (1, 1)))), at: 3) })
        bad("image-ends-with-flatten", .malformed, "an image model whose last layer is the flatten layer (12 outputs, 12 labels)",
            { () -> [UInt8] in
                var m = base
                m.metadata.layers.removeLast()
                m.tensors.removeAll { $0.name.hasPrefix("out.") }
                m.metadata.labels = (0..<12).map { "l\($0)" }
                return RawFile.versioned(m, minor: 4)
            }())
        bad("image-model-min-reader-1.3", .malformed, "an image model (1.4) with min_reader_minor 3: a 1.3 reader would misreport it",
            RawFile.versioned(base, minor: 3))
        let sequence = FixtureModels.micro13()
        bad("maxpool-in-sequence-model", .malformed, "a maxpool2d layer in a features model (2-D layers belong to image models)",
            layers(sequence) { $0.insert(.maxPool2d(MaxPool2DLayer(name: "mp", window: Window2D(kernel: (1, 1), stride: (1, 1)))), at: 0) })
        bad("flatten-in-sequence-model", .malformed, "a flatten layer in a features model",
            layers(sequence) { $0.insert(.flatten(FlattenLayer(name: "fl")), at: 1) })
        let crnn = FixtureModels.conv1dGRU()
        bad("conv1d-after-recurrent", .malformed, "a conv1d layer after the recurrent layer (it stands before the first one)",
            layers(crnn) { $0.swapAt(0, 1) })
        bad("conv1d-padding-not-below-kernel", .malformed, "a conv1d with padding [3, 0] and kernel [3]",
            json(crnn) { $0.set([.key("model"), .key("layers"), .index(0), .key("padding")], ints([3, 0])) })
        bad("conv1d-kernel-two-values", .malformed, "a conv1d kernel of 2 integers (a 1-D kernel has 1)",
            json(crnn) { $0.set([.key("model"), .key("layers"), .index(0), .key("kernel")], ints([3, 1])) })
        return items
    }
}
