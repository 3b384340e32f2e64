import CBLAS
import Dispatch
import RNNCore
import RNNFormat
import RNNSupport  // libm: exp, log, tanhf

/// One 2-D layer of a convolutional classifier (`rnn-train --arch cnn`): a square convolution with
/// symmetric zero padding, or a square max-pool (spec §6.1 `conv2d`, `maxpool2d`).
package struct ConvLayerSpec: Sendable, Codable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable, Codable { case conv, maxpool }
    package var kind: Kind
    /// A convolution's output channels (0 for a max-pool).
    package var channels: Int
    package var kernel: Int
    package var stride: Int
    package var padding: Int

    package init(kind: Kind, channels: Int, kernel: Int, stride: Int, padding: Int) {
        self.kind = kind
        self.channels = channels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// `channels` filters of `kernel x kernel`, `stride`, `padding` zero rows and columns on every side.
    package static func conv(_ channels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) -> ConvLayerSpec {
        ConvLayerSpec(kind: .conv, channels: channels, kernel: kernel, stride: stride, padding: padding)
    }

    /// `size x size` windows, `size` apart (PyTorch's `nn.MaxPool2d(size)`).
    package static func maxPool(_ size: Int) -> ConvLayerSpec {
        ConvLayerSpec(kind: .maxpool, channels: 0, kernel: size, stride: size, padding: 0)
    }

    /// The window as the format writes it (spec §6.1).
    var window: Window2D {
        Window2D(kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding, padding, padding))
    }

    /// `conv6k5p2` or `pool2` (the `--cnn-layers` syntax; `s2` adds a stride other than 1).
    package var description: String {
        switch kind {
        case .conv: "conv\(channels)k\(kernel)" + (stride == 1 ? "" : "s\(stride)") + (padding == 0 ? "" : "p\(padding)")
        case .maxpool: "pool\(kernel)" + (stride == kernel ? "" : "s\(stride)")
        }
    }

    /// Parses one item of `--cnn-layers`: `conv<C>k<K>[s<S>][p<P>]` or `pool<K>[s<S>]`.
    package init?(_ text: String) {
        func numbers(after prefix: String, keys: [Character]) -> [Character: Int]? {
            guard text.hasPrefix(prefix) else { return nil }
            var result: [Character: Int] = [:]
            var key: Character = "#"
            var digits = ""
            for ch in text.dropFirst(prefix.count) {
                if ch.isASCII && ch.isNumber { digits.append(ch); continue }
                guard keys.contains(ch), !digits.isEmpty, result[key] == nil, let n = Int(digits) else { return nil }
                result[key] = n
                key = ch
                digits = ""
            }
            guard !digits.isEmpty, result[key] == nil, let n = Int(digits) else { return nil }
            result[key] = n
            return result
        }
        if let n = numbers(after: "conv", keys: ["k", "s", "p"]), let c = n["#"], let k = n["k"] {
            self = .conv(c, kernel: k, stride: n["s"] ?? 1, padding: n["p"] ?? 0)
        } else if let n = numbers(after: "pool", keys: ["s"]), let k = n["#"], n["k"] == nil, n["p"] == nil {
            self = ConvLayerSpec(kind: .maxpool, channels: 0, kernel: k, stride: n["s"] ?? k, padding: 0)
        } else {
            return nil
        }
    }
}

/// A convolutional classifier: 2-D layers on a `channels x height x width` image (ReLU after every
/// convolution), `flatten`, ReLU dense layers of widths ``dense``, and the output layer.
package struct ConvArchitecture: Sendable, Codable, Equatable, CustomStringConvertible {
    package var channels: Int
    package var height: Int
    package var width: Int
    package var layers: [ConvLayerSpec]
    /// Hidden dense widths, in order (the output layer of ``classCount`` follows them).
    package var dense: [Int]
    package var classCount: Int
    /// The activation after every convolution and hidden dense layer: `relu` (the default) or `tanh`
    /// (smooth, for gradient checks).
    package var activation: String = "relu"

    /// LeNet-5 as the course compares it (and `bench/compare_cnn.py` trains it in PyTorch): conv 1->6
    /// 5x5 pad 2, ReLU, max-pool 2; conv 6->16 5x5, ReLU, max-pool 2; dense 400->120->84->classes.
    package static func lenet(classCount: Int, channels: Int = 1, height: Int = 28, width: Int = 28) -> ConvArchitecture {
        ConvArchitecture(channels: channels, height: height, width: width,
                         layers: [.conv(6, kernel: 5, padding: 2), .maxPool(2), .conv(16, kernel: 5), .maxPool(2)],
                         dense: [120, 84], classCount: classCount)
    }

    package var description: String {
        "cnn \(channels)x\(height)x\(width) " + layers.map(\.description).joined(separator: ",")
            + " dense " + (dense + [classCount]).map(String.init).joined(separator: ",") + (activation == "relu" ? "" : " \(activation)")
    }

    var kernelActivation: KernelActivation { activation == "tanh" ? .tanh : .relu }
    var formatActivation: Activation { activation == "tanh" ? .tanh : .relu }

    /// Each 2-D layer's input map and output map `(channels, height, width)`; nil when a window does not
    /// fit (checked by ``validate(naming:)``).
    var maps: [(input: (c: Int, h: Int, w: Int), output: (c: Int, h: Int, w: Int))]? {
        var map = (c: channels, h: height, w: width)
        var result: [(input: (c: Int, h: Int, w: Int), output: (c: Int, h: Int, w: Int))] = []
        for layer in layers {
            guard let out = layer.window.outputSize(height: map.h, width: map.w) else { return nil }
            let next = (c: layer.kind == .conv ? layer.channels : map.c, h: out.height, w: out.width)
            result.append((map, next))
            map = next
        }
        return result
    }

    /// The width `flatten` gives: the last map's `C * H * W`.
    var flattened: Int {
        guard let last = maps?.last?.output else { return channels * height * width }
        return last.c * last.h * last.w
    }

    /// Where each tensor lives in the flat parameter vector: per convolution `W [O, C, K, K]`, `b [O]`; per
    /// dense layer `W [out, in]`, `b [out]` (the output layer last). The file's shapes, in the file's order.
    package var layout: [(name: String, shape: [Int], range: Range<Int>)] {
        var slots: [(name: String, shape: [Int], range: Range<Int>)] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) {
            let n = shape.reduce(1, *)
            slots.append((name, shape, offset..<(offset + n)))
            offset += n
        }
        var c = channels
        for (i, layer) in layers.enumerated() where layer.kind == .conv {
            add("conv\(i).weight", [layer.channels, c, layer.kernel, layer.kernel])
            add("conv\(i).bias", [layer.channels])
            c = layer.channels
        }
        var inputs = flattened
        for (i, out) in (dense + [classCount]).enumerated() {
            let name = i == dense.count ? "out" : "fc\(i)"
            add("\(name).weight", [out, inputs])
            add("\(name).bias", [out])
            inputs = out
        }
        return slots
    }

    /// Parameters in all.
    package var parameterCount: Int { layout.last?.range.upperBound ?? 0 }

    /// The ranges AdamW decays: the weight matrices and filters, not the biases.
    var decayedRanges: [Range<Int>] { layout.filter { $0.shape.count > 1 }.map(\.range) }

    func validate(naming: SettingNaming) throws(TrainingError) {
        func check(_ ok: Bool, _ option: String, _ field: String, _ expected: String, _ found: Any) throws(TrainingError) {
            if !ok { throw .invalidHyperparameter("\(naming.name(option: option, field: "architecture.\(field)")) must be \(expected), got \(found)") }
        }
        try check((1...4096).contains(channels) && (1...4096).contains(height) && (1...4096).contains(width),
                  "--data", "channels/height/width", "images of 1...4096 channels, rows and columns", "\(channels)x\(height)x\(width)")
        try check((1...32).contains(layers.count), "--cnn-layers", "layers", "1...32 layers", layers.count)
        for (i, l) in layers.enumerated() {
            try check((1...64).contains(l.kernel) && (1...64).contains(l.stride) && (0..<l.kernel).contains(l.padding),
                      "--cnn-layers", "layers[\(i)]", "a kernel and stride of 1...64 and a padding below the kernel", l.description)
            if l.kind == .conv { try check((1...4096).contains(l.channels), "--cnn-layers", "layers[\(i)].channels", "in 1...4096", l.channels) }
        }
        guard let maps else {
            throw .invalidHyperparameter("\(naming.name(option: "--cnn-layers", field: "architecture.layers")) do not fit a \(channels)x\(height)x\(width) image: a window is larger than its (padded) input")
        }
        for (i, m) in maps.enumerated() {
            try check(m.output.c * m.output.h * m.output.w <= 1 << 22, "--cnn-layers", "layers[\(i)]", "at most 2^22 outputs per image",
                      "\(m.output.c)x\(m.output.h)x\(m.output.w)")
        }
        try check(dense.count <= 8 && dense.allSatisfy { (1...65536).contains($0) }, "--cnn-dense", "dense", "at most 8 widths of 1...65536", dense)
        try check((2...65536).contains(classCount), "--data", "classCount", "in 2...65536", classCount)
        try check(["relu", "tanh"].contains(activation), "--cnn-activation", "activation", "relu or tanh", activation)
        try check(parameterCount <= 1 << 28, "--cnn-layers", "layers", "at most 2^28 parameters", parameterCount)
    }
}

/// The weights of a ``ConvArchitecture``, in its ``ConvArchitecture/layout`` order.
package struct ConvParameters: TrainableWeights {
    package let architecture: ConvArchitecture
    package var values: [Float]

    package init(architecture: ConvArchitecture, values: [Float]) {
        precondition(values.count == architecture.parameterCount, "parameter count mismatch")
        self.architecture = architecture
        self.values = values
    }

    /// PyTorch's default initialization of `nn.Conv2d` and `nn.Linear`: weights and biases uniform in
    /// `±1 / sqrt(fan_in)` (Kaiming-uniform with `a = sqrt(5)`), drawn from `seed`.
    package init(architecture: ConvArchitecture, seed: UInt64) {
        var rng = Xoshiro256StarStar(seed: seed)
        var values = [Float](repeating: 0, count: architecture.parameterCount)
        let layout = architecture.layout
        for pair in stride(from: 0, to: layout.count, by: 2) {
            let weight = layout[pair], bias = layout[pair + 1]
            let fanIn = weight.shape.dropFirst().reduce(1, *)
            let bound = 1 / Double(fanIn).squareRoot()
            for k in weight.range { values[k] = Float(rng.nextDouble(in: -bound, bound)) }
            for k in bias.range { values[k] = Float(rng.nextDouble(in: -bound, bound)) }
        }
        self.init(architecture: architecture, values: values)
    }

    /// The weights of an exported model (``modelFile(labels:provenance:dtype:)``), dequantized to binary32.
    package init(architecture: ConvArchitecture, model: ModelFile) throws(TrainingError) {
        var values = [Float](repeating: 0, count: architecture.parameterCount)
        for slot in architecture.layout {
            guard let tensor = model.tensor(named: slot.name), tensor.shape == slot.shape else {
                throw .dataMismatch("the model has no tensor \(slot.name) of shape \(slot.shape)")
            }
            values.replaceSubrange(slot.range, with: tensor.floatValues())
        }
        self.init(architecture: architecture, values: values)
    }

    /// Format 1.4's image model (spec §6.1 rule 2c): the `image` input (`pixel / 255`), the 2-D layers, `flatten`,
    /// the dense layers; tensors named as in ``ConvArchitecture/layout`` and stored as `dtype`.
    package func modelFile(labels: [String], provenance: Provenance, dtype: DType = .f32) throws(TrainingError) -> ModelFile {
        let a = architecture
        var tensors: [Tensor] = []
        for slot in a.layout {
            do {
                tensors.append(try Tensor.quantized(name: slot.name, shape: slot.shape, values: Array(values[slot.range]), to: dtype))
            } catch { throw .dataMismatch("cannot store \(slot.name) as \(dtype): \(error)") }
        }
        var layers: [Layer] = []
        var c = a.channels
        for (i, l) in a.layers.enumerated() {
            switch l.kind {
            case .conv:
                layers.append(.conv2d(Conv2DLayer(name: "conv\(i)", inChannels: c, outChannels: l.channels, window: l.window,
                                                  weight: "conv\(i).weight", bias: "conv\(i).bias", activation: a.formatActivation)))
                c = l.channels
            case .maxpool:
                layers.append(.maxPool2d(MaxPool2DLayer(name: "pool\(i)", window: l.window)))
            }
        }
        layers.append(.flatten(FlattenLayer(name: "flatten")))
        var inputs = a.flattened
        for (i, out) in (a.dense + [a.classCount]).enumerated() {
            let last = i == a.dense.count, name = last ? "out" : "fc\(i)"
            layers.append(.dense(DenseLayer(name: name, inputSize: inputs, outputSize: out, weight: "\(name).weight",
                                            bias: "\(name).bias", activation: last ? .none : a.formatActivation)))
            inputs = out
        }
        let input = InputContract(imageChannels: a.channels, height: a.height, width: a.width, scale: pixelScale, offset: 0)
        return ModelFile(metadata: ModelMetadata(layers: layers, input: input, labels: labels, provenance: provenance), tensors: tensors)
    }
}

/// `C = alpha op(A) op(B) + beta C`, row-major (a thin wrapper so the passes below read as math).
private func gemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int,
                  _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                  beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    guard m > 0, n > 0, k > 0 else { return }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

/// The network as one worker runs it: the convolution kernels (RNNCore, shared with the runtime) and
/// every buffer of a slice of up to `capacity` images, allocated once.
///
/// Layout. Maps are channels last, `channelStride` floats per pixel (a convolution's output channels padded
/// to a multiple of 8, as the kernel writes them). `flatten` gathers the spec's channel-first order
/// `(c * H + i) * W + j` from pixel `(i, j)`, channel `c`, so the dense weights are the file's.
final class ConvWorker {
    let architecture: ConvArchitecture
    let capacity: Int
    /// Per 2-D layer: its kernel's geometry (the weights are re-packed from the parameters each call).
    var convolutions: [Conv2DKernel?]
    let pools: [MaxPool2DKernel?]
    /// Floats per image of the input map and of each layer's output map.
    let inputFloats: Int
    let outputFloats: [Int]
    /// Logical flatten index -> position in the last map.
    let gather: [Int]
    let widths: [Int]   // dense inputs..., classes
    /// The architecture's parameter layout, and where the dense layers' slots start in it.
    let layout: [(name: String, shape: [Int], range: Range<Int>)]
    let firstDense: Int

    // Buffers, `capacity` images each.
    let input: UnsafeMutablePointer<Float>
    let maps: [UnsafeMutablePointer<Float>]
    let mapGradients: [UnsafeMutablePointer<Float>]
    let argmax: [UnsafeMutablePointer<Int32>?]
    /// Dense activations: `activations[0]` is the flattened input, `activations[d + 1]` layer d's output.
    let activations: [UnsafeMutablePointer<Float>]
    let activationGradients: [UnsafeMutablePointer<Float>]
    let scratch: UnsafeMutablePointer<Float>
    /// im2col rows of the largest convolution, and their gradient.
    let columns: UnsafeMutablePointer<Float>
    let columnGradients: UnsafeMutablePointer<Float>
    /// A convolution's weight gradient in the kernel's layout `[K, outChannelStride]`.
    let packedGradient: UnsafeMutablePointer<Float>
    /// This worker's gradient, layout order.
    var gradient: [Float]
    /// The loss's `e^(z - max)` of one image's logits.
    private var exponentials: [Double]

    init(architecture a: ConvArchitecture, capacity: Int) {
        architecture = a
        self.capacity = capacity
        let maps = a.maps!
        var convolutions: [Conv2DKernel?] = [], pools: [MaxPool2DKernel?] = []
        var stride = a.channels
        var outputFloats: [Int] = []
        var largestColumns = 1, largestPacked = 1, largestScratch = 1
        for (l, m) in zip(a.layers, maps) {
            let window = Window(kernelHeight: l.kernel, kernelWidth: l.kernel, strideHeight: l.stride, strideWidth: l.stride,
                                padTop: l.padding, padLeft: l.padding)
            if l.kind == .conv {
                let k = Conv2DKernel(inHeight: m.input.h, inWidth: m.input.w, inChannels: m.input.c, inChannelStride: stride,
                                     window: window, outHeight: m.output.h, outWidth: m.output.w, outChannels: m.output.c,
                                     activation: a.kernelActivation,
                                     weight: [Float](repeating: 0, count: m.output.c * m.input.c * l.kernel * l.kernel), bias: nil)
                convolutions.append(k)
                pools.append(nil)
                stride = k.outChannelStride
                outputFloats.append(k.outputFloats)
                largestColumns = max(largestColumns, m.output.h * m.output.w * k.windowSize)
                largestPacked = max(largestPacked, k.windowSize * k.outChannelStride)
                largestScratch = max(largestScratch, k.scratchFloats)
            } else {
                let p = MaxPool2DKernel(inHeight: m.input.h, inWidth: m.input.w, channels: stride, window: window,
                                        outHeight: m.output.h, outWidth: m.output.w)
                convolutions.append(nil)
                pools.append(p)
                outputFloats.append(p.outputFloats)
            }
        }
        self.convolutions = convolutions
        self.pools = pools
        self.outputFloats = outputFloats
        inputFloats = a.channels * a.height * a.width
        let last = maps.last!.output
        var gather = [Int](repeating: 0, count: last.c * last.h * last.w)
        for c in 0..<last.c { for i in 0..<last.h { for j in 0..<last.w {
            gather[(c * last.h + i) * last.w + j] = (i * last.w + j) * stride + c
        } } }
        self.gather = gather
        widths = [a.flattened] + a.dense + [a.classCount]
        layout = a.layout
        firstDense = 2 * convolutions.compactMap { $0 }.count
        input = .allocate(capacity: capacity * inputFloats)
        self.maps = outputFloats.map { .allocate(capacity: capacity * $0) }
        mapGradients = outputFloats.map { .allocate(capacity: capacity * $0) }
        argmax = zip(pools, outputFloats).map { p, n in p == nil ? nil : .allocate(capacity: capacity * n) }
        activations = widths.map { .allocate(capacity: capacity * $0) }
        activationGradients = widths.map { .allocate(capacity: capacity * $0) }
        scratch = .allocate(capacity: largestScratch)
        columns = .allocate(capacity: capacity * largestColumns)
        columnGradients = .allocate(capacity: capacity * largestColumns)
        packedGradient = .allocate(capacity: largestPacked)
        gradient = [Float](repeating: 0, count: a.parameterCount)
        exponentials = [Double](repeating: 0, count: a.classCount)
    }

    deinit {
        for p in [input, scratch, columns, columnGradients, packedGradient] + maps + mapGradients + activations + activationGradients {
            p.deallocate()
        }
        for case let p? in argmax { p.deallocate() }
    }

    /// Re-packs the convolutions' weights from `parameters` (once per step, before the workers run).
    func load(_ parameters: [Float]) {
        var slot = 0
        for l in convolutions.indices where convolutions[l] != nil {
            let weight = Array(parameters[layout[slot].range]), bias = Array(parameters[layout[slot + 1].range])
            convolutions[l]!.weights = convolutions[l]!.pack(weight)
            for o in 0..<bias.count { convolutions[l]!.bias[o] = bias[o] }
            slot += 2
        }
    }

    /// The forward pass of `count` images (`pixels` channels first, `count` of them from `indices`):
    /// the logits land in `activations.last`.
    func forward(pixels: UnsafePointer<UInt8>, indices: ArraySlice<Int>, parameters: UnsafePointer<Float>, kernel: KernelISA) {
        let a = architecture, count = indices.count
        let plane = a.height * a.width
        // x[(i * W + j) * C + c] = pixel[(c * H + i) * W + j] / 255 (spec §6.2.3, channels last).
        for (b, index) in indices.enumerated() {
            let from = pixels + index * inputFloats, to = input + b * inputFloats
            for c in 0..<a.channels { for p in 0..<plane { to[p * a.channels + c] = Float(from[c * plane + p]) * pixelScale } }
        }
        var current = UnsafePointer(input)
        for l in a.layers.indices {
            if let k = convolutions[l] {
                k.run(isa: kernel, images: count, x: current, y: maps[l], scratch: scratch)
            } else {
                pools[l]!.run(images: count, x: current, y: maps[l], argmax: argmax[l])
            }
            current = UnsafePointer(maps[l])
        }
        // flatten: the spec's channel-first order.
        let last = outputFloats.last!, flat = activations[0], width = widths[0]
        for b in 0..<count { for k in 0..<width { flat[b * width + k] = current[b * last + gather[k]] } }
        // Dense layers: z = x Wᵀ + b, activation on the hidden ones.
        for d in 0..<(widths.count - 1) {
            let inputs = widths[d], outputs = widths[d + 1]
            let weight = layout[firstDense + 2 * d].range, bias = layout[firstDense + 2 * d + 1].range
            let out = activations[d + 1]
            for b in 0..<count { for o in 0..<outputs { out[b * outputs + o] = parameters[bias.lowerBound + o] } }
            gemm(false, true, count, outputs, inputs, activations[d], inputs, parameters + weight.lowerBound, inputs, beta: 1, out, outputs)
            if d < widths.count - 2 { activate(out, count * outputs) }
        }
    }

    private func activate(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        if architecture.activation == "tanh" {
            for i in 0..<n { x[i] = tanhf(x[i]) }
        } else {
            for i in 0..<n where x[i] < 0 { x[i] = 0 }
        }
    }

    /// `gradient *= activation'(y)` given the activation's outputs `y` (ReLU: `y > 0`; tanh: `1 - y²`).
    private func backActivate(_ gradient: UnsafeMutablePointer<Float>, outputs y: UnsafePointer<Float>, _ n: Int) {
        if architecture.activation == "tanh" {
            for i in 0..<n { gradient[i] *= 1 - y[i] * y[i] }
        } else {
            for i in 0..<n where y[i] <= 0 { gradient[i] = 0 }
        }
    }

    /// Softmax cross-entropy of the logits against `labels`: the summed loss and correct count, and
    /// `dL/dz = (softmax(z) - onehot) / batch` into `activationGradients.last` (the mean over the whole
    /// batch of `batch` images, of which this worker holds `count`).
    func loss(labels: UnsafePointer<Int>, indices: ArraySlice<Int>, batch: Int) -> (loss: Double, correct: Int) {
        let classes = architecture.classCount, logits = activations.last!, g = activationGradients.last!
        var total = 0.0, correct = 0
        for (b, index) in indices.enumerated() {
            let z = logits + b * classes
            var best = 0
            var top = z[0]
            for k in 1..<classes where z[k] > top { top = z[k]; best = k }
            // e^(z - max) once per class, kept until the sum is known.
            var sum = 0.0
            for k in 0..<classes {
                exponentials[k] = exp(Double(z[k] - top))
                sum += exponentials[k]
            }
            let label = labels[index]
            total += log(sum) - Double(z[label] - top)
            if best == label { correct += 1 }
            for k in 0..<classes {
                let p = exponentials[k] / sum
                g[b * classes + k] = Float((p - (k == label ? 1 : 0)) / Double(batch))
            }
        }
        return (total, correct)
    }

    /// The backward pass of the last ``forward(pixels:indices:parameters:kernel:)`` from the gradient in
    /// `activationGradients.last`: every parameter's gradient added into ``gradient``.
    func backward(count: Int, parameters: UnsafePointer<Float>) {
        let a = architecture
        gradient.withUnsafeMutableBufferPointer { g in
            let g = g.baseAddress!
            // Dense layers, last first: dW += dZᵀ X, db += Σ dZ, dX = dZ W (then through the activation).
            for d in stride(from: widths.count - 2, through: 0, by: -1) {
                let inputs = widths[d], outputs = widths[d + 1], dz = activationGradients[d + 1]
                let weight = layout[firstDense + 2 * d].range, bias = layout[firstDense + 2 * d + 1].range
                gemm(true, false, outputs, inputs, count, dz, outputs, activations[d], inputs, beta: 1, g + weight.lowerBound, inputs)
                for b in 0..<count { for o in 0..<outputs { g[bias.lowerBound + o] += dz[b * outputs + o] } }
                gemm(false, false, count, inputs, outputs, dz, outputs, parameters + weight.lowerBound, inputs, beta: 0,
                     activationGradients[d], inputs)
                if d > 0 { backActivate(activationGradients[d], outputs: activations[d], count * inputs) }
            }
            // flatten's adjoint: scatter into the last map (its padded channels get 0).
            let lastLayer = a.layers.count - 1, last = outputFloats[lastLayer], width = widths[0]
            let top = mapGradients[lastLayer]
            top.update(repeating: 0, count: count * last)
            for b in 0..<count { for k in 0..<width { top[b * last + gather[k]] = activationGradients[0][b * width + k] } }
            // 2-D layers, last first.
            var convSlot = firstDense - 2
            for l in stride(from: lastLayer, through: 0, by: -1) {
                let dOut = mapGradients[l]
                let input: UnsafePointer<Float> = l == 0 ? UnsafePointer(self.input) : UnsafePointer(maps[l - 1])
                let inFloats = l == 0 ? inputFloats : outputFloats[l - 1]
                if let pool = pools[l] {
                    // Max-pool: each output's gradient goes to the input it took.
                    guard l > 0 else { continue }
                    let dIn = mapGradients[l - 1], idx = argmax[l]!
                    dIn.update(repeating: 0, count: count * inFloats)
                    for b in 0..<count {
                        let from = dOut + b * pool.outputFloats, at = idx + b * pool.outputFloats, to = dIn + b * inFloats
                        for e in 0..<pool.outputFloats { to[Int(at[e])] += from[e] }
                    }
                    continue
                }
                let k = convolutions[l]!
                let os = k.outChannelStride, rows = count * k.outHeight * k.outWidth, window = k.windowSize
                backActivate(dOut, outputs: maps[l], count * k.outputFloats)
                // dW: the im2col rows of the input times dZ, in the kernel's layout, then into [O, C, K, K].
                k.im2col(images: count, x: input, into: columns)
                gemm(true, false, window, os, rows, columns, window, dOut, os, beta: 0, packedGradient, os)
                let weight = layout[convSlot].range.lowerBound, bias = layout[convSlot + 1].range.lowerBound
                let kk = k.window.kernelHeight * k.window.kernelWidth, c = k.inChannels
                for o in 0..<k.outChannels { for ch in 0..<c { for uv in 0..<kk {
                    g[weight + (o * c + ch) * kk + uv] += packedGradient[(uv * c + ch) * os + o]
                } } }
                for r in 0..<rows { for o in 0..<k.outChannels { g[bias + o] += dOut[r * os + o] } }
                if l > 0 {
                    // dX: dZ times the packed weights, then col2im.
                    k.weights.withUnsafeBufferPointer { w in
                        gemm(false, true, rows, window, k.outChannels, dOut, os, w.baseAddress!, os, beta: 0, columnGradients, window)
                    }
                    let dIn = mapGradients[l - 1]
                    dIn.update(repeating: 0, count: count * inFloats)
                    k.col2im(images: count, col: columnGradients, into: dIn)
                }
                convSlot -= 2
            }
        }
    }
}
