import RNNCore
import RNNFormat
import RNNTestSupport
import Testing
@testable import RNNRuntime

/// A layer of a random image model (spec §6.1 rule 2c: 2-D layers, one flatten, dense layers).
enum ConvTestLayer {
    case conv(out: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int, Int, Int) = (0, 0, 0, 0),
              activation: Activation = .relu, bias: Bool = true)
    case maxPool(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int, Int, Int) = (0, 0, 0, 0))
    case flatten
    case dense(out: Int, activation: Activation)
}

/// A random image model (weights uniform in ±1/sqrt(fan-in), as PyTorch initializes them).
func randomImageModel(channels: Int, height: Int, width: Int, layers: [ConvTestLayer], seed: UInt64,
                      dtype: DType = .f32, scale: Float = 1.0 / 255, offset: Float = 0) -> ModelFile {
    var rng = SplitMix64(seed: seed)
    var tensors: [Tensor] = []
    var specs: [Layer] = []
    func add(_ name: String, _ shape: [Int], fanIn: Int) -> String {
        let bound = 1 / Float(fanIn).squareRoot()
        let values = (0..<shape.reduce(1, *)).map { _ in rng.uniform(bound) }
        tensors.append(Tensor(name: name, shape: shape, storage: encode(values, shape: shape, dtype: dtype)))
        return name
    }
    var map = (c: channels, h: height, w: width)
    var vector = 0
    for (index, layer) in layers.enumerated() {
        let name = "layer\(index)"
        switch layer {
        case .conv(let out, let kernel, let stride, let padding, let activation, let bias):
            let window = Window2D(kernel: kernel, stride: stride, padding: padding)
            let fanIn = map.c * kernel.0 * kernel.1
            specs.append(.conv2d(Conv2DLayer(
                name: name, inChannels: map.c, outChannels: out, window: window,
                weight: add("\(name).weight", [out, map.c, kernel.0, kernel.1], fanIn: fanIn),
                bias: bias ? add("\(name).bias", [out], fanIn: fanIn) : nil, activation: activation)))
            let size = window.outputSize(height: map.h, width: map.w)!
            map = (out, size.height, size.width)
        case .maxPool(let kernel, let stride, let padding):
            let window = Window2D(kernel: kernel, stride: stride, padding: padding)
            specs.append(.maxPool2d(MaxPool2DLayer(name: name, window: window)))
            let size = window.outputSize(height: map.h, width: map.w)!
            map = (map.c, size.height, size.width)
        case .flatten:
            specs.append(.flatten(FlattenLayer(name: name)))
            vector = map.c * map.h * map.w
        case .dense(let out, let activation):
            specs.append(.dense(DenseLayer(name: name, inputSize: vector, outputSize: out,
                                           weight: add("\(name).weight", [out, vector], fanIn: vector),
                                           bias: add("\(name).bias", [out], fanIn: vector), activation: activation)))
            vector = out
        }
    }
    let metadata = ModelMetadata(
        layers: specs, input: InputContract(imageChannels: channels, height: height, width: width, scale: scale, offset: offset),
        labels: (0..<vector).map { "class\($0)" }, provenance: Provenance(producer: "ConvModelTests"))
    return ModelFile(metadata: metadata, tensors: tensors)
}

/// The course LeNet (spec §6.1's example; `rnn-train --arch cnn`'s default): 1x28x28 -> 10.
let lenetLayers: [ConvTestLayer] = [
    .conv(out: 6, kernel: (5, 5), padding: (2, 2, 2, 2)), .maxPool(kernel: (2, 2), stride: (2, 2)),
    .conv(out: 16, kernel: (5, 5)), .maxPool(kernel: (2, 2), stride: (2, 2)),
    .flatten, .dense(out: 120, activation: .relu), .dense(out: 84, activation: .relu), .dense(out: 10, activation: .none),
]

/// A multi-channel model with every corner of the geometry: strides, asymmetric padding (conv and pool),
/// a non-square kernel, tanh, a conv without bias, 3 and 13 output channels (padded to 8 and 16), a
/// pixel count that is no multiple of any tile.
let oddImageLayers: [ConvTestLayer] = [
    .conv(out: 5, kernel: (3, 3), stride: (2, 2), padding: (1, 0, 1, 1), activation: .tanh),
    .maxPool(kernel: (3, 2), stride: (2, 1), padding: (1, 0, 1, 0)),
    .conv(out: 13, kernel: (2, 3), activation: .none, bias: false),
    .conv(out: 3, kernel: (1, 1), activation: .relu),
    .flatten, .dense(out: 7, activation: .tanh), .dense(out: 4, activation: .none),
]

@Suite struct ConvModelTests {
    /// The images of a test: deterministic bytes with a few all-0 and all-255 images.
    func images(_ count: Int, _ per: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var pixels = rng.bytes(count * per)
        for i in 0..<per { pixels[i] = 0; pixels[per + i] = 255 }
        return pixels
    }

    /// The runtime's logits against the Double reference (spec §6 in straight loops), on every kernel
    /// variant this CPU has, at batch sizes that leave partial blocks.
    func expectAgreement(_ file: ModelFile, count: Int, seed: UInt64, tolerance: Double) throws {
        let model = try Model(file)
        let pixels = images(count, model.pixelsPerImage, seed: seed)
        let expected = try ReferenceModel(file).logits(pixels: pixels)
        for kernel in [StepKernel.portable] + FusedKernel.supported.filter { $0 != .none }.map(StepKernel.fused) {
            for blockSize in [1, 5, 64] {
                let result = try model.classify(pixels: pixels, options: ClassifyOptions(threads: 2, blockSize: blockSize, kernel: kernel))
                var worst = 0.0
                for i in 0..<count { for k in 0..<model.classCount {
                    worst = max(worst, abs(Double(result.logits[i * model.classCount + k]) - expected[i][k]) / max(1, abs(expected[i][k])))
                } }
                #expect(worst < tolerance, "kernel \(kernel), block \(blockSize): worst relative error \(worst)")
            }
        }
    }

    @Test func lenetAgreesWithTheReference() throws {
        try expectAgreement(randomImageModel(channels: 1, height: 28, width: 28, layers: lenetLayers, seed: 1), count: 11, seed: 2, tolerance: 2e-5)
    }

    @Test func stridesPaddingAndChannelsAgreeWithTheReference() throws {
        let file = randomImageModel(channels: 3, height: 13, width: 11, layers: oddImageLayers, seed: 3, scale: -0.02, offset: 1.5)
        try expectAgreement(file, count: 9, seed: 4, tolerance: 2e-5)
    }

    /// A model read back from its file runs as the in-memory one; int8 weights dequantize at load.
    @Test func fileRoundTripAndQuantizedWeights() throws {
        let file = randomImageModel(channels: 1, height: 12, width: 10, layers: [
            .conv(out: 4, kernel: (3, 3), padding: (1, 1, 1, 1)), .maxPool(kernel: (2, 2), stride: (2, 2)), .flatten, .dense(out: 3, activation: .none),
        ], seed: 5, dtype: .int8)
        let bytes = try ModelWriter.encode(file)
        let model = try Model(bytes: bytes)
        #expect(model.inputKind == .image && model.pixelsPerImage == 120)
        let pixels = images(6, 120, seed: 6)
        let expected = try ReferenceModel(try ModelReader.decode(bytes)).logits(pixels: pixels)
        let result = try model.classify(pixels: pixels)
        for i in 0..<6 { for k in 0..<3 { #expect(abs(Double(result.logits[i * 3 + k]) - expected[i][k]) < 1e-5) } }
    }

    /// Normalized input (`classify(features:)`) is channels first like the pixels.
    @Test func normalizedInputMatchesPixels() throws {
        let file = randomImageModel(channels: 3, height: 13, width: 11, layers: oddImageLayers, seed: 7)
        let model = try Model(file)
        let pixels = images(4, model.pixelsPerImage, seed: 8)
        let a = try model.classify(pixels: pixels)
        let b = try model.classify(features: pixels.map { Float($0) * file.metadata.input.scale + file.metadata.input.offset })
        #expect(a.logits == b.logits)
    }

    @Test func wrongShapesAndStreamsAreRefused() throws {
        let model = try Model(randomImageModel(channels: 3, height: 13, width: 11, layers: oddImageLayers, seed: 9))
        #expect(throws: RuntimeError.imageShapeMismatch(expected: [3, 13, 11], found: [1, 13, 11])) { try model.checkImageSize(height: 13, width: 11) }
        #expect(throws: RuntimeError.inputLengthMismatch(valuesPerImage: 429, found: 430, what: "pixels")) {
            try model.classify(pixels: [UInt8](repeating: 0, count: 430))
        }
        #expect(throws: RuntimeError.self) { try model.makeStream(count: 1) }
        #expect(try model.classify(pixels: []).count == 0)
        #expect(model.multiplyAddsPerImage > 0)
    }
}

/// `conv1d` front ends (spec §6.1, since 1.4) through the runtime against the Double reference: a
/// strided, padded convolution that shortens sequences (to nothing for the shortest), then per-step
/// or pooled recurrent layers.
@Suite struct Conv1DModelTests {
    /// `file` with a conv1d of `window` (`inChannels -> its first layer's input width`) put in front.
    func withConv1d(_ file: ModelFile, inChannels: Int, window: Window1D, activation: Activation, seed: UInt64) -> ModelFile {
        var m = file
        var rng = SplitMix64(seed: seed)
        let out = m.metadata.input.width
        m.tensors.append(Tensor(name: "conv.weight", shape: [out, inChannels, window.kernel],
                                values: (0..<(out * inChannels * window.kernel)).map { _ in rng.uniform(0.5) }))
        m.tensors.append(Tensor(name: "conv.bias", shape: [out], values: (0..<out).map { _ in rng.uniform(0.5) }))
        m.metadata.layers.insert(.conv1d(Conv1DLayer(name: "conv", inChannels: inChannels, outChannels: out, window: window,
                                                     weight: "conv.weight", bias: "conv.bias", activation: activation)), at: 0)
        m.metadata.input = InputContract(features: FeatureInput(width: inChannels, maxLength: m.metadata.input.features!.maxLength))
        return m
    }

    func sequences(_ lengths: [Int], width: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return lengths.map { t in (0..<(t * width)).map { _ in rng.uniform(2) } }
    }

    @Test(arguments: [(SequenceReturn.sequence, nil as PoolMode?), (.last, nil), (.sequence, .mean)])
    func conv1dFrontEndsAgreeWithTheReference(_ returns: SequenceReturn, _ pool: PoolMode?) throws {
        var layers: [TestLayer] = [.gru(hidden: 6, returns: returns)]
        if let pool { layers.append(.pool(pool)) }
        layers.append(.dense(out: 3, activation: .none))
        let base = randomModel(height: 1, width: 5, layers: layers, seed: 11,
                               features: FeatureInputSpec(width: 5, maxLength: 12, standardize: false))
        let file = withConv1d(base, inChannels: 4, window: Window1D(kernel: 4, stride: 2, padBefore: 1, padAfter: 2),
                              activation: .relu, seed: 12)
        let lengths = [1, 2, 7, 12, 3, 12, 9]
        let input = sequences(lengths, width: 4, seed: 13)
        let expected = try ReferenceModel(file).outputs(sequences: input)
        let model = try Model(file)
        for kernel in [StepKernel.portable, .automatic] {
            for blockSize in [1, 3, 64] {
                let result = try model.classify(sequences: input, options: ClassifyOptions(threads: 2, blockSize: blockSize, kernel: kernel))
                #expect(result.lengths == lengths.map(Window1D(kernel: 4, stride: 2, padBefore: 1, padAfter: 2).outputLength))
                for (n, e) in expected.enumerated() {
                    let actual = result.outputs(of: n)
                    let wanted = returns == .sequence && pool == nil ? e : [e.last ?? []]
                    #expect(actual.count == wanted.count, "#\(n): \(actual.count) rows, expected \(wanted.count)")
                    for (a, w) in zip(actual, wanted) { for (x, y) in zip(a, w) { #expect(abs(Double(x) - y) < 1e-5, "#\(n) \(kernel) \(blockSize)") } }
                }
            }
        }
        #expect(throws: RuntimeError.self) { try model.makeStream(count: 1) }
    }
}
