import RNNCore

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

    /// Width of the rows it writes (`x` rows, or `z` rows for the folded table).
    var width: Int {
        switch self {
        case .imageRows(_, let width, _, _): width
        case .embedding(_, _, let dimension, _): dimension
        case .foldedEmbedding(_, _, let columns, _): columns
        }
    }

    /// The longest sequence a block may hold.
    var maxLength: Int {
        switch self {
        case .imageRows(let height, _, _, _): height
        case .embedding(_, _, _, let maxLength), .foldedEmbedding(_, _, _, let maxLength): maxLength
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

/// An LSTM layer rearranged for the fast path (spec §6.1, `lstm`), in the interleaved, padded gate
/// layout of ``RNNCore/GateLayout``.
///
/// Bias. `bias = b_ih + b_hh` (plus the folded dense bias, see `NetworkCompiler`), added once into
/// the input projection instead of twice per step.
struct LSTMStage: Sendable {
    var hidden: Int
    var paddedHidden: Int
    /// Width of an input row; 0 when the input stage delivers this layer's projection (a folded
    /// embedding table), so there are no input weights.
    var inputStride: Int
    /// `[4 * paddedHidden, inputStride]`, interleaved gate rows (the portable path's GEMM operand).
    var inputWeight: [Float]
    /// `[4 * paddedHidden, paddedHidden]`, interleaved gate rows, zero columns for padded units.
    var recurrentWeight: [Float]
    /// `[4 * paddedHidden]`.
    var bias: [Float]
    /// `inputWeight` in the fused kernel's panels (``RNNCore/GateLayout/pack(_:rows:columns:)``);
    /// empty when this CPU has no fused kernel.
    var packedInputWeight: [Float]
    /// `recurrentWeight` in the fused kernel's panels; empty likewise.
    var packedRecurrentWeight: [Float]
    var returnsSequence: Bool

    /// Whether the input stage already computed this layer's input projection.
    var inputIsProjection: Bool { inputStride == 0 }
}

/// One step of the compiled network.
enum Stage: Sendable {
    case dense(DenseStage)
    case lstm(LSTMStage)

    /// Width of one output row, padding included.
    var outputStride: Int {
        switch self {
        case .dense(let d): d.outputSize
        case .lstm(let l): l.paddedHidden
        }
    }

    /// Whether the output is a sequence (one row per time step) rather than one vector per input.
    var outputIsSequence: Bool {
        switch self {
        case .dense(let d): d.perTimeStep
        case .lstm(let l): l.returnsSequence
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

    /// Multiply-adds of one full-length sequence: per LSTM `T` input products and `T - 1` recurrent
    /// ones (`h[-1] = 0`), per dense layer one product per step it runs on.
    var multiplyAddsPerSequence: Int {
        let steps = input.maxLength
        return stages.reduce(0) { total, stage in
            switch stage {
            case .dense(let d):
                return total + (d.perTimeStep ? steps : 1) * d.outputSize * d.inputStride
            case .lstm(let l):
                let gates = 4 * l.paddedHidden
                return total + steps * gates * l.inputStride + max(0, steps - 1) * gates * l.paddedHidden
            }
        }
    }
}
