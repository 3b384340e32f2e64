/// The in-memory form of an `.rnnm` model file (spec/FORMAT.md).
///
/// A ``ModelFile`` is plain data: tensors plus the metadata that says what they mean.
/// ``ModelReader`` produces one only after every check of spec §7 has passed, and
/// ``ModelWriter`` encodes one canonically, so that equal values give identical bytes.
public struct ModelFile: Sendable, Equatable {
    /// Architecture, input contract, labels and provenance (spec §6).
    public var metadata: ModelMetadata
    /// The tensors, in table order (spec §4).
    public var tensors: [Tensor]

    public init(metadata: ModelMetadata, tensors: [Tensor]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The tensor called `name`, if any.
    public func tensor(named name: String) -> Tensor? {
        tensors.first { $0.name == name }
    }
}

/// Element types a tensor may be stored in (spec §4.1).
public enum DType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 1
    case f16 = 2
    case bf16 = 3
    case int8 = 4

    /// Bytes per stored element (int8 scales are stored separately).
    public var elementSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .int8: 1
        }
    }

    public var description: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .bf16: "bf16"
        case .int8: "int8"
        }
    }
}

/// One named tensor with its stored values.
public struct Tensor: Sendable, Equatable {
    /// Unique name, 1...63 bytes of `[A-Za-z0-9_.-]`.
    public var name: String
    /// Dimensions, row-major (the last varies fastest).
    public var shape: [Int]
    /// The stored values, in the tensor's dtype.
    public var storage: TensorStorage

    public init(name: String, shape: [Int], storage: TensorStorage) {
        self.name = name
        self.shape = shape
        self.storage = storage
    }

    /// A float32 tensor.
    public init(name: String, shape: [Int], values: [Float]) {
        self.init(name: name, shape: shape, storage: .f32(values))
    }

    /// The stored dtype.
    public var dtype: DType { storage.dtype }

    /// Number of elements (product of the shape).
    public var count: Int { shape.reduce(1, *) }
}

/// Stored tensor values; the cases mirror ``DType``.
public enum TensorStorage: Sendable, Equatable {
    /// IEEE binary32 values.
    case f32([Float])
    /// IEEE binary16 bit patterns.
    case f16([UInt16])
    /// bfloat16 bit patterns (upper half of a binary32).
    case bf16([UInt16])
    /// Symmetric int8 values with one binary32 scale per row (index along `shape[0]`).
    case int8(values: [Int8], scales: [Float])

    /// The dtype of these values.
    public var dtype: DType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .int8: .int8
        }
    }
}

/// Everything in the metadata section (spec §6).
public struct ModelMetadata: Sendable, Equatable {
    /// The ordered layers (spec §6.1).
    public var layers: [Layer]
    /// How source data becomes network input (spec §6.2).
    public var input: InputContract
    /// Class names in output order.
    public var labels: [String]
    /// Where the model came from (spec §6.3).
    public var provenance: Provenance
    /// What the outputs mean: class logits or real values (spec §6.5, `model.output`).
    public var output: ModelOutput

    public init(layers: [Layer], input: InputContract, labels: [String], provenance: Provenance,
                output: ModelOutput = .logits) {
        self.layers = layers
        self.input = input
        self.labels = labels
        self.provenance = provenance
        self.output = output
    }

    /// The last recurrent layer (spec §6.1), whose `return` decides whether the model has one output
    /// per sequence or one per step (spec §6.5).
    public var lastRecurrentLayer: Layer? { layers.last { $0.isRecurrent } }

    /// Whether the model produces an output at every time step (its last recurrent layer returns
    /// `"sequence"`, since 1.2, and no `pool` layer follows it) rather than one per sequence.
    public var outputsPerStep: Bool { lastRecurrentLayer?.returns == .sequence && poolLayer == nil }

    /// The model's `pool` layer, if any (since 1.3; at most one, right after the last recurrent layer).
    public var poolLayer: PoolLayer? {
        for case .pool(let p) in layers { return p }
        return nil
    }

    /// Whether some layer is bidirectional (such a model cannot be streamed, spec §6.5).
    public var hasBidirectionalLayer: Bool { layers.contains { $0.direction == .bidirectional } }

    /// Whether some layer is a `conv1d` (since 1.4; the Swift runtime does not stream such a model).
    public var hasConv1dLayer: Bool { layers.contains { if case .conv1d = $0 { true } else { false } } }

    /// Whether the model reads an `image` input through convolutions (spec §6.1, an *image model*, since 1.4).
    public var isImageModel: Bool { input.kind == .image }
}

/// What a model's outputs are (spec §6, `model.output`).
public enum ModelOutput: String, Sendable, Equatable, CaseIterable {
    /// Unnormalized class log-probabilities; probabilities are their softmax.
    case logits
    /// Real values (regression), used as they are (since 1.2).
    case values
}

/// A layer of the network (spec §6.1).
public enum Layer: Sendable, Equatable {
    case dense(DenseLayer)
    case lstm(LSTMLayer)
    /// Token id -> vector (since 1.1; spec §6.1).
    case embedding(EmbeddingLayer)
    /// A GRU layer, gate order r, z, n (since 1.2; spec §6.1).
    case gru(GRULayer)
    /// Mean or max of the last recurrent layer's outputs over each sequence's steps (since 1.3; spec §6.1).
    case pool(PoolLayer)
    /// A 2-D convolution over a feature map (since 1.4; spec §6.1).
    case conv2d(Conv2DLayer)
    /// 2-D max pooling, floor mode (since 1.4; spec §6.1).
    case maxPool2d(MaxPool2DLayer)
    /// A feature map to a vector in channel-first order (since 1.4; spec §6.1).
    case flatten(FlattenLayer)
    /// A convolution over time in front of the recurrent layers (since 1.4; spec §6.1).
    case conv1d(Conv1DLayer)

    /// The layer's unique name.
    public var name: String {
        switch self {
        case .dense(let d): d.name
        case .lstm(let l): l.name
        case .embedding(let e): e.name
        case .gru(let g): g.name
        case .pool(let p): p.name
        case .conv2d(let c): c.name
        case .maxPool2d(let m): m.name
        case .flatten(let f): f.name
        case .conv1d(let c): c.name
        }
    }

    /// The layer's `type` as the file spells it (spec §6.1).
    public var typeName: String {
        switch self {
        case .dense: "dense"
        case .lstm: "lstm"
        case .gru: "gru"
        case .embedding: "embedding"
        case .pool: "pool"
        case .conv2d: "conv2d"
        case .maxPool2d: "maxpool2d"
        case .flatten: "flatten"
        case .conv1d: "conv1d"
        }
    }

    /// Whether this is a recurrent layer (`lstm` or `gru`).
    public var isRecurrent: Bool {
        switch self {
        case .lstm, .gru: true
        case .dense, .embedding, .pool, .conv2d, .maxPool2d, .flatten, .conv1d: false
        }
    }

    /// A recurrent layer's `return`; nil for other layers.
    public var returns: SequenceReturn? {
        switch self {
        case .lstm(let l): l.returns
        case .gru(let g): g.returns
        default: nil
        }
    }

    /// A recurrent layer's direction; nil for other layers.
    public var direction: Direction? {
        switch self {
        case .lstm(let l): l.direction
        case .gru(let g): g.direction
        default: nil
        }
    }
}

/// Which way a recurrent layer reads its sequence (spec §6.1, `direction`, since 1.2).
public enum Direction: String, Sendable, Equatable, CaseIterable {
    /// `t = 0 ..< T` (every 1.0 and 1.1 layer).
    case forward
    /// Both ways, outputs concatenated `[forward, backward]` (width `2H`).
    case bidirectional
}

/// The tensors of a recurrent layer's backward direction (spec §6.1, `w_ih_reverse` ...).
public struct ReverseTensors: Sendable, Equatable {
    public var weightIH: String
    public var weightHH: String
    public var biasIH: String
    /// Present exactly when the forward direction has `b_hh`.
    public var biasHH: String?

    public init(weightIH: String, weightHH: String, biasIH: String, biasHH: String?) {
        self.weightIH = weightIH
        self.weightHH = weightHH
        self.biasIH = biasIH
        self.biasHH = biasHH
    }
}

/// Activation applied after a dense layer's affine map.
public enum Activation: String, Sendable, Equatable, CaseIterable {
    case none, relu, tanh
}

/// `y = activation(W x + b)` with `W` of shape `[out, in]` (spec §6.1, `dense`).
public struct DenseLayer: Sendable, Equatable {
    public var name: String
    public var inputSize: Int
    public var outputSize: Int
    /// Tensor name of `W`, shape `[outputSize, inputSize]`.
    public var weight: String
    /// Tensor name of `b`, shape `[outputSize]`; `nil` means zero bias.
    public var bias: String?
    public var activation: Activation

    public init(name: String, inputSize: Int, outputSize: Int, weight: String, bias: String?, activation: Activation = .none) {
        self.name = name
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.weight = weight
        self.bias = bias
        self.activation = activation
    }
}

/// What an LSTM layer hands to the next layer (spec §6.1, `lstm`).
public enum SequenceReturn: String, Sendable, Equatable {
    /// Only the final hidden state `h[T-1]`.
    case last
    /// Every hidden state `h[0..<T]`.
    case sequence
}

/// An LSTM layer with gate order i, f, g, o (spec §6.1, `lstm`).
public struct LSTMLayer: Sendable, Equatable {
    public var name: String
    public var inputSize: Int
    public var hiddenSize: Int
    /// Tensor name of `W_ih`, shape `[4H, I]`.
    public var weightIH: String
    /// Tensor name of `W_hh`, shape `[4H, H]`.
    public var weightHH: String
    /// Tensor name of `b_ih`, shape `[4H]`.
    public var biasIH: String
    /// Tensor name of `b_hh`, shape `[4H]`; `nil` when the model has a single bias.
    public var biasHH: String?
    public var returns: SequenceReturn
    /// The backward direction's tensors: nil for a forward layer, set for a bidirectional one.
    public var reverse: ReverseTensors?

    public init(name: String, inputSize: Int, hiddenSize: Int, weightIH: String, weightHH: String,
                biasIH: String, biasHH: String?, returns: SequenceReturn = .last, reverse: ReverseTensors? = nil) {
        self.name = name
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.weightIH = weightIH
        self.weightHH = weightHH
        self.biasIH = biasIH
        self.biasHH = biasHH
        self.returns = returns
        self.reverse = reverse
    }

    public var direction: Direction { reverse == nil ? .forward : .bidirectional }
    /// Width of one output step: `H`, or `2H` when bidirectional.
    public var outputSize: Int { reverse == nil ? hiddenSize : 2 * hiddenSize }
}

/// How a `pool` layer reduces a sequence to one vector (spec §6.1, `pool`, member `mode`).
public enum PoolMode: String, Sendable, Equatable, CaseIterable {
    /// `y = (h[0] + h[1] + ... + h[T-1]) / T`, summed in increasing `t`.
    case mean
    /// `y[j] = max over t of h[t][j]`.
    case max
}

/// Pooling over time (spec §6.1, `pool`, since 1.3): the per-step outputs of the last recurrent
/// layer (which returns `"sequence"`) become one vector per sequence, over exactly its `T` steps.
public struct PoolLayer: Sendable, Equatable {
    public var name: String
    public var mode: PoolMode
    /// Width of each step's row and of the pooled vector: the recurrent layer's `H`, or `2H` when
    /// it is bidirectional (both halves pooled column by column).
    public var size: Int

    public init(name: String, mode: PoolMode, size: Int) {
        self.name = name
        self.mode = mode
        self.size = size
    }
}

/// The window of a `conv2d` or `maxpool2d` layer (spec §6.1, since 1.4): kernel, stride and zero
/// padding, rows first; padding in ONNX's `pads` order `[top, left, bottom, right]`.
public struct Window2D: Sendable, Equatable {
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideHeight: Int
    public var strideWidth: Int
    public var padTop: Int
    public var padLeft: Int
    public var padBottom: Int
    public var padRight: Int

    public init(kernel: (Int, Int), stride: (Int, Int), padding: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0)) {
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = stride
        (padTop, padLeft, padBottom, padRight) = padding
    }

    /// `H' = floor((H + PT + PB - KH) / SH) + 1` and likewise `W'`; nil when a side would be below 1
    /// (or the arithmetic overflows).
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int)? {
        func side(_ n: Int, _ before: Int, _ after: Int, _ kernel: Int, _ stride: Int) -> Int? {
            let (padded, overflow) = n.addingReportingOverflow(before + after)
            guard !overflow, padded >= kernel, stride > 0 else { return nil }
            return (padded - kernel) / stride + 1
        }
        guard let h = side(height, padTop, padBottom, kernelHeight, strideHeight),
              let w = side(width, padLeft, padRight, kernelWidth, strideWidth) else { return nil }
        return (h, w)
    }
}

/// The window of a `conv1d` layer over time (spec §6.1, since 1.4).
public struct Window1D: Sendable, Equatable {
    public var kernel: Int
    public var stride: Int
    /// Zero steps before the first step and after the last.
    public var padBefore: Int
    public var padAfter: Int

    public init(kernel: Int, stride: Int = 1, padBefore: Int = 0, padAfter: Int = 0) {
        self.kernel = kernel
        self.stride = stride
        self.padBefore = padBefore
        self.padAfter = padAfter
    }

    /// `T' = floor((T + PB + PE - K) / S) + 1`, or 0 when `T + PB + PE < K` (spec §6.1, `conv1d`).
    public func outputLength(_ length: Int) -> Int {
        let padded = length + padBefore + padAfter
        return padded < kernel ? 0 : (padded - kernel) / stride + 1
    }
}

/// `y = activation(conv2d(x, W) + b)` with `W` of shape `[out, in, KH, KW]` (spec §6.1, `conv2d`, since 1.4).
public struct Conv2DLayer: Sendable, Equatable {
    public var name: String
    public var inChannels: Int
    public var outChannels: Int
    public var window: Window2D
    /// Tensor name of `W`, shape `[outChannels, inChannels, KH, KW]`.
    public var weight: String
    /// Tensor name of `b`, shape `[outChannels]`; `nil` means zero bias.
    public var bias: String?
    public var activation: Activation

    public init(name: String, inChannels: Int, outChannels: Int, window: Window2D, weight: String, bias: String?,
                activation: Activation = .none) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.window = window
        self.weight = weight
        self.bias = bias
        self.activation = activation
    }
}

/// Max pooling of each channel of a feature map, floor mode (spec §6.1, `maxpool2d`, since 1.4).
public struct MaxPool2DLayer: Sendable, Equatable {
    public var name: String
    public var window: Window2D

    public init(name: String, window: Window2D) {
        self.name = name
        self.window = window
    }
}

/// A feature map `C x H x W` to the vector `v[(c * H + i) * W + j]` (spec §6.1, `flatten`, since 1.4).
public struct FlattenLayer: Sendable, Equatable {
    public var name: String

    public init(name: String) { self.name = name }
}

/// A convolution over time, `W` of shape `[out, in, K]` (spec §6.1, `conv1d`, since 1.4).
public struct Conv1DLayer: Sendable, Equatable {
    public var name: String
    public var inChannels: Int
    public var outChannels: Int
    public var window: Window1D
    /// Tensor name of `W`, shape `[outChannels, inChannels, K]`.
    public var weight: String
    /// Tensor name of `b`, shape `[outChannels]`; `nil` means zero bias.
    public var bias: String?
    public var activation: Activation

    public init(name: String, inChannels: Int, outChannels: Int, window: Window1D, weight: String, bias: String?,
                activation: Activation = .none) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.window = window
        self.weight = weight
        self.bias = bias
        self.activation = activation
    }
}

/// Where a GRU applies its reset gate (spec §6.1, `gru`, member `reset`).
public enum GRUReset: String, Sendable, Equatable, CaseIterable {
    /// `n = tanh(A_n x + b_in + r * (R_n h + b_hn))`: PyTorch, Keras `reset_after=True`, ONNX `linear_before_reset=1`.
    case after
    /// `n = tanh(A_n x + b_in + R_n (r * h) + b_hn)`: the original GRU, ONNX's default, Keras `reset_after=False`.
    case before
}

/// A GRU layer with gate order r, z, n (spec §6.1, `gru`, since 1.2).
public struct GRULayer: Sendable, Equatable {
    public var name: String
    public var inputSize: Int
    public var hiddenSize: Int
    /// Tensor name of `W_ih`, shape `[3H, I]`.
    public var weightIH: String
    /// Tensor name of `W_hh`, shape `[3H, H]`.
    public var weightHH: String
    /// Tensor name of `b_ih`, shape `[3H]`.
    public var biasIH: String
    /// Tensor name of `b_hh`, shape `[3H]`; `nil` means zero.
    public var biasHH: String?
    public var reset: GRUReset
    public var returns: SequenceReturn
    /// The backward direction's tensors: nil for a forward layer, set for a bidirectional one.
    public var reverse: ReverseTensors?

    public init(name: String, inputSize: Int, hiddenSize: Int, weightIH: String, weightHH: String,
                biasIH: String, biasHH: String?, reset: GRUReset = .after, returns: SequenceReturn = .last,
                reverse: ReverseTensors? = nil) {
        self.name = name
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.weightIH = weightIH
        self.weightHH = weightHH
        self.biasIH = biasIH
        self.biasHH = biasHH
        self.reset = reset
        self.returns = returns
        self.reverse = reverse
    }

    public var direction: Direction { reverse == nil ? .forward : .bidirectional }
    /// Width of one output step: `H`, or `2H` when bidirectional.
    public var outputSize: Int { reverse == nil ? hiddenSize : 2 * hiddenSize }
}

/// How a caller's source data becomes the input sequence (spec §6.2).
public struct InputContract: Sendable, Equatable {
    /// The kind of source data.
    public enum Kind: String, Sendable, Equatable {
        /// A `height x width` u8 image read one row per time step.
        case imageRows = "image_rows"
        /// A sequence of token ids made from text by the pipeline in ``InputContract/tokens`` (since 1.1).
        case tokens
        /// `width` binary32 features per step, sequences of 1 ... `max_length` steps (since 1.2).
        case features
        /// A `channels x height x width` u8 image, channels first, read whole by convolutions (since 1.4).
        case image
    }
    public var kind: Kind
    public var height: Int
    public var width: Int
    /// `x = Float(source) * scale + offset`, in binary32.
    public var scale: Float
    public var offset: Float
    /// Channels of an `image` input (spec §6.2.3); 1 for every other kind.
    public var channels: Int = 1
    /// The text pipeline of a `tokens` input (spec §6.2.1); `nil` for other kinds.
    public var tokens: TokenInput? = nil
    /// The standardization of a `features` input (spec §6.2.2); `nil` for other kinds.
    public var features: FeatureInput? = nil

    public init(kind: Kind = .imageRows, height: Int, width: Int, scale: Float, offset: Float) {
        self.kind = kind
        self.height = height
        self.width = width
        self.scale = scale
        self.offset = offset
    }

    /// A `features` input (spec §6.2.2): `height` is `max_length`, `width` the features per step.
    public init(features: FeatureInput) {
        self.init(kind: .features, height: features.maxLength, width: features.width, scale: 1, offset: 0)
        self.features = features
    }

    /// An `image` input (spec §6.2.3): `channels x height x width` u8 values, channels first.
    public init(imageChannels channels: Int, height: Int, width: Int, scale: Float, offset: Float) {
        self.init(kind: .image, height: height, width: width, scale: scale, offset: offset)
        self.channels = channels
    }

    /// Source bytes of one image: `channels * height * width` (`height * width` for `image_rows`).
    public var valuesPerImage: Int { channels * height * width }

    /// Number of time steps `T` (the longest sequence for `tokens` and `features`).
    public var timeSteps: Int { height }
    /// Features per time step.
    public var featureWidth: Int { width }
}

/// A `features` input contract (spec §6.2.2, since 1.2).
public struct FeatureInput: Sendable, Equatable {
    /// `F`, binary32 values per time step, 1 ... 65,536.
    public var width: Int
    /// The longest whole sequence, 1 ... 65,536 steps.
    public var maxLength: Int
    /// Tensor names of the per-feature mean and standard deviation (shape `[F]`), both or neither.
    public var mean: String?
    public var std: String?

    /// The largest `width` and `max_length` (spec §9).
    public static let limit = 65_536

    public init(width: Int, maxLength: Int, mean: String? = nil, std: String? = nil) {
        self.width = width
        self.maxLength = maxLength
        self.mean = mean
        self.std = std
    }
}

/// A JSON-representable provenance value: hyperparameters and metrics are numbers or strings.
public enum MetadataValue: Sendable, Equatable {
    case number(Double)
    case string(String)
}

/// Where a model came from (spec §6.3). Informational only.
public struct Provenance: Sendable, Equatable {
    public var producer: String
    public var producerVersion: String?
    /// RFC 3339; written only when supplied, keeping output byte-identical otherwise.
    public var createdAt: String?
    public var datasetName: String?
    /// File name -> lowercase hex SHA-256 of the decompressed file.
    public var datasetSHA256: [String: String]
    public var hyperparameters: [String: MetadataValue]
    public var seed: UInt64?
    public var metrics: [String: Double]

    public init(producer: String, producerVersion: String? = nil, createdAt: String? = nil,
                datasetName: String? = nil, datasetSHA256: [String: String] = [:],
                hyperparameters: [String: MetadataValue] = [:], seed: UInt64? = nil,
                metrics: [String: Double] = [:]) {
        self.producer = producer
        self.producerVersion = producerVersion
        self.createdAt = createdAt
        self.datasetName = datasetName
        self.datasetSHA256 = datasetSHA256
        self.hyperparameters = hyperparameters
        self.seed = seed
        self.metrics = metrics
    }
}
