import RNNCore
import RNNFormat  // PoolMode

/// How the first stage gets its rows: the input stage of the compiled network.
///
/// Every model kind runs through the same stages and the same forward pass (``Engine``); only the
/// input stage differs. It turns one block of caller inputs into packed time-major rows (see
/// ``RNNCore/PackedBatch``): either input vectors `x[t]` for the first stage, or, when an embedding
/// was folded into the first LSTM, that LSTM's whole input projection `z[t]`.
enum InputStage: Sendable {
    /// Images as `u8` rows (spec §6.2): `x[t][j] = f32(src[t * width + j]) * scale + offset`, every
    /// sequence `height` steps long. (`classify(features:)` skips the scale and offset.)
    case imageRows(height: Int, width: Int, scale: Float, offset: Float)
    /// Token ids (spec §6.2.1) looked up in an embedding table `[vocabulary, dimension]`:
    /// `x[t] = E[id[t]]`, sequences up to `maxLength` steps.
    case embedding(table: [Float], vocabulary: Int, dimension: Int, maxLength: Int)
    /// Token ids whose embedding *and* first-LSTM input projection were folded into one table
    /// `[vocabulary, 4 * paddedHidden]` (interleaved gate columns, both biases included):
    /// `z[t] = table[id[t]]`, read by the first LSTM in place of `x[t] W_ihᵀ + b`.
    case foldedEmbedding(table: [Float], vocabulary: Int, columns: Int, maxLength: Int)
    /// Feature sequences (spec §6.2.2), `width` binary32 values per step, 1 ... `maxLength` steps:
    /// `x[t][j] = (src[t][j] - mean[j]) / divisor[j]` (`divisor` is `std` with zeros replaced by 1),
    /// or `x = src` when the file has no standardization (`mean` empty).
    case features(width: Int, maxLength: Int, mean: [Float], divisor: [Float])
    /// Images read whole (spec §6.2.3, since 1.4): `channels x height x width` u8 values, channels first,
    /// written as one channels-last row per image, `x[(i * width + j) * channels + c] = f32(src[(c * height
    /// + i) * width + j]) * scale + offset` (the layout the convolutions read, ``RNNCore/Conv2DKernel``).
    case image(channels: Int, height: Int, width: Int, scale: Float, offset: Float)

    /// Width of the rows it writes (`x` rows, or `z` rows for the folded table).
    var width: Int {
        switch self {
        case .imageRows(_, let width, _, _): width
        case .embedding(_, _, let dimension, _): dimension
        case .foldedEmbedding(_, _, let columns, _): columns
        case .features(let width, _, _, _): width
        case .image(let channels, let height, let width, _, _): channels * height * width
        }
    }

    /// The longest sequence a block may hold.
    var maxLength: Int {
        switch self {
        case .imageRows(let height, _, _, _): height
        case .embedding(_, _, _, let maxLength), .foldedEmbedding(_, _, _, let maxLength),
             .features(_, let maxLength, _, _): maxLength
        case .image: 1  // one row per image: a block of images is a batch of length-1 sequences
        }
    }
}

/// A dense layer ready for the fast path: `y = activation(x W^T + b)` over `rows` inputs at once.
///
/// `weight` is `[outputSize, inputStride]` row-major; `inputStride` may exceed the layer's logical
/// input width when the previous stage is an LSTM whose hidden size was padded (`LSTMStage`): the
/// extra columns are zero, so padded inputs contribute nothing.
struct DenseStage: Sendable {
    var outputSize: Int
    var inputStride: Int
    var weight: [Float]
    var bias: [Float]
    var activation: ActivationKind
    /// Applied to every time step of a sequence (before the last LSTM) or once to a vector (after it).
    var perTimeStep: Bool
}

/// The runtime's own copy of ``RNNFormat/Activation`` (kept internal so that stages stay plain data).
enum ActivationKind: Sendable {
    case none, relu, tanh
}

/// Which recurrence a ``RecurrentStage`` runs (spec §6.1).
enum CellKind: Sendable, Equatable {
    /// Gates i, f, g, o; state `h` and `c`.
    case lstm
    /// Gates r, z, n; state `h`; the reset gate after (`true`) or before the recurrent product.
    case gru(resetAfter: Bool)

    /// Pre-activation columns per hidden unit: 4 (LSTM) or 3 (GRU).
    var gates: Int {
        switch self {
        case .lstm: 4
        case .gru: 3
        }
    }
}

/// One direction's weights of a recurrent layer, in the interleaved, padded gate layout of
/// ``RNNCore/GateLayout`` (LSTM: 32 columns per group of 8 units; GRU: 24).
///
/// LSTM bias: `bias = b_ih + b_hh` (plus a folded dense bias, see `NetworkCompiler`), added once
/// into the input projection instead of twice per step. GRU bias: `bias` holds the kernel's
/// `bias_x` (r and z: both biases summed; n: `b_in`, plus `b_hn` when the reset comes before the
/// product) and `biasHN` holds `b_hn` for the reset-after form, where the reset gate multiplies it.
struct DirectionWeights: Sendable {
    /// LSTM, portable path: `[4 * paddedHidden, inputStride]`, interleaved gate rows (a GEMM operand).
    var inputWeight: [Float]
    /// LSTM, portable path: `[4 * paddedHidden, paddedHidden]`.
    var recurrentWeight: [Float]
    /// `[gates * paddedHidden]`.
    var bias: [Float]
    /// GRU with the reset after the product: `b_hn`, `[paddedHidden]`; empty otherwise.
    var biasHN: [Float]
    /// The input weights in the step kernel's panels; empty when there is no kernel to feed (an
    /// LSTM on a CPU without a fused variant) or no input weights (a folded embedding).
    var packedInputWeight: [Float]
    /// The recurrent weights in the step kernel's panels; empty likewise.
    var packedRecurrentWeight: [Float]
    /// The file's int8 weights, for a layer that runs the int8 evaluation (spec §6.6); the float
    /// weights above are then empty (only the biases are kept).
    var int8: Int8Weights? = nil
}

/// One direction's int8 weights (spec §6.6), in the interleaved, padded gate columns.
struct Int8Weights: Sendable {
    /// `W_ih`, `[gates * paddedHidden]` columns of `inputStride` inputs.
    var input: Int8Matrix
    /// `W_hh`, `[gates * paddedHidden]` columns of `paddedHidden` inputs.
    var recurrent: Int8Matrix
}

/// An LSTM or GRU layer rearranged for the fast path (spec §6.1), one or two directions.
///
/// Padding. `H` is padded to `paddedHidden`, a multiple of 8; padded units have zero weights and
/// biases and stay exactly 0 (``RNNCore/GateLayout``). A bidirectional layer's output row is
/// `[hf (paddedHidden) | hb (paddedHidden)]`, so the next layer's weights place logical input
/// `j >= H` at column `paddedHidden + j - H` (`NetworkCompiler`'s column map).
struct RecurrentStage: Sendable {
    var cell: CellKind
    var hidden: Int
    var paddedHidden: Int
    /// Width of an input row; 0 when the input stage delivers this layer's projection (a folded
    /// embedding table), so there are no input weights.
    var inputStride: Int
    var forward: DirectionWeights
    /// The backward direction of a bidirectional layer.
    var backward: DirectionWeights?
    var returnsSequence: Bool

    /// Whether the input stage already computed this layer's input projection.
    var inputIsProjection: Bool { inputStride == 0 }
    /// Whether the layer runs the int8 evaluation (spec §6.6).
    var isInt8: Bool { forward.int8 != nil }
    /// Pre-activation columns of one direction: `gates * paddedHidden`.
    var gateColumns: Int { cell.gates * paddedHidden }
    /// Width of one output row: `paddedHidden`, or twice that when bidirectional.
    var outputStride: Int { backward == nil ? paddedHidden : 2 * paddedHidden }
}

/// Pooling over time (spec §6.1, `pool`, since 1.3): the packed per-step rows of the last recurrent
/// layer become one row per sequence, over exactly that sequence's steps (padding is never packed,
/// so it never counts).
///
/// Rows are `stride` floats wide, the recurrent layer's padded layout (`[hf | pad]`, or `[hf | pad |
/// hb | pad]` when bidirectional). Padded units are exactly 0 at every step, so they pool to 0 in
/// both modes and the next layer's scattered weights (zero there) see the same columns as before.
struct PoolStage: Sendable {
    var mode: PoolMode
    var stride: Int
}

/// A `conv1d` layer (spec §6.1, since 1.4) over packed sequences: for each output step `t'` of each
/// sequence, the `K` input rows `t' * S + u - PB` (zeros outside the sequence's own steps) are gathered
/// side by side into one row of `K * inputStride` floats, and one GEMM with `weight` (`[outputSize,
/// K * inputStride]`: `W[o][c][u]` at column `u * inputStride + column(c)`, zero at padded columns)
/// gives every output row. The block's lengths become `window.outputLength(T)`.
struct Conv1DStage: Sendable {
    var window: Window1D
    var inputStride: Int
    var outputSize: Int
    var weight: [Float]
    var bias: [Float]
    var activation: ActivationKind

    /// Floats of one gathered row.
    var windowWidth: Int { window.kernel * inputStride }
}

/// One step of the compiled network.
enum Stage: Sendable {
    case dense(DenseStage)
    case recurrent(RecurrentStage)
    case pool(PoolStage)
    /// A `conv2d` layer (since 1.4) over one channels-last map per image, run by `rnnk_conv2d`.
    case conv2d(Conv2DKernel)
    /// A `maxpool2d` layer (since 1.4), run by `rnnk_maxpool2d`. (`flatten` is no stage: the dense
    /// layer after it reads the channels-last map through its column map, ``NetworkCompiler``.)
    case maxPool2d(MaxPool2DKernel)
    /// A `conv1d` layer (since 1.4): a sequence in, a (possibly shorter) sequence out.
    case conv1d(Conv1DStage)

    /// Width of one output row, padding included.
    var outputStride: Int {
        switch self {
        case .dense(let d): d.outputSize
        case .recurrent(let r): r.outputStride
        case .pool(let p): p.stride
        case .conv2d(let c): c.outputFloats
        case .maxPool2d(let m): m.outputFloats
        case .conv1d(let c): c.outputSize
        }
    }

    /// Whether the output is a sequence (one row per time step) rather than one vector per input.
    var outputIsSequence: Bool {
        switch self {
        case .dense(let d): d.perTimeStep
        case .recurrent(let r): r.returnsSequence
        case .conv1d: true
        case .pool, .conv2d, .maxPool2d: false
        }
    }
}

/// The whole network as the fast path runs it: input stage, stages, class count.
struct CompiledNetwork: Sendable {
    var input: InputStage
    var stages: [Stage]
    var classCount: Int
    /// How many dense layers were folded into an LSTM's input weights (for `inspect`/tests).
    var foldedDenseLayers: Int
    /// Whether the last recurrent layer returns its sequence: one output row per step (spec §6.5).
    var outputsPerStep: Bool = false

    /// The windows of the `conv1d` stages, in order (usually none): what changes a sequence's length.
    var conv1dWindows: [Window1D] = []

    /// The steps a sequence of `length` steps has after every `conv1d` stage (spec §6.1): what the
    /// recurrent layers run and a per-step model outputs.
    func outputLength(_ length: Int) -> Int {
        conv1dWindows.reduce(length) { $1.outputLength($0) }
    }

    /// The most steps any stage of a sequence of `length` steps holds (a padded `conv1d` may lengthen it).
    func longestLength(_ length: Int) -> Int {
        var steps = length, longest = length
        for window in conv1dWindows {
            steps = window.outputLength(steps)
            longest = max(longest, steps)
        }
        return longest
    }

    /// The recurrent stages, in order (their states are what a stream carries).
    var recurrentStages: [RecurrentStage] {
        stages.compactMap { if case .recurrent(let r) = $0 { r } else { nil } }
    }

    /// Multiply-adds of one full-length sequence: per recurrent direction `T` input products and
    /// `T - 1` recurrent ones (`h[-1] = 0`), per dense layer one product per step it runs on.
    var multiplyAddsPerSequence: Int {
        var steps = input.maxLength
        return stages.reduce(0) { total, stage in
            switch stage {
            case .conv1d(let c):
                steps = c.window.outputLength(steps)
                return total + steps * c.outputSize * c.windowWidth
            case .dense(let d):
                return total + (d.perTimeStep ? steps : 1) * d.outputSize * d.inputStride
            case .recurrent(let r):
                let directions = r.backward == nil ? 1 : 2
                let gates = r.gateColumns
                return total + directions * (steps * gates * r.inputStride + max(0, steps - 1) * gates * r.paddedHidden)
            case .pool, .maxPool2d:
                return total  // additions or comparisons only
            case .conv2d(let c):
                return total + c.outHeight * c.outWidth * c.outChannelStride * c.windowSize
            }
        }
    }
}
