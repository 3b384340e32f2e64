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

/// An LSTM layer rearranged for the fast path (spec §6.1, `lstm`).
///
/// Layout. The hidden size `H` is padded to `paddedHidden`, a multiple of `laneCount` (8), and the
/// `4H` gate rows of `W_ih`, `W_hh` and the bias are *interleaved* in blocks of 8 hidden units:
/// row `32 * (j / 8) + 8 * k + j % 8` holds gate `k` (i, f, g, o) of unit `j`. The gate pass then
/// reads one contiguous run of 32 pre-activations per 8 units (i, f, g, o side by side) and writes 8
/// cells and 8 hidden values, with no tail loop. Padded units have zero weights and zero bias, so
/// their cell stays `0.5 * 0 + 0.5 * tanh(0) = 0` and their hidden value `sigmoid(0) * tanh(0) = 0`
/// forever: they never change the real units (their `W_hh` columns are zero as well).
///
/// Bias. `bias = b_ih + b_hh` (plus the folded dense bias, see `NetworkCompiler`), added once into
/// the input projection instead of twice per step.
struct LSTMStage: Sendable {
    var hidden: Int
    var paddedHidden: Int
    var inputStride: Int
    /// `[4 * paddedHidden, inputStride]`, interleaved gate rows.
    var inputWeight: [Float]
    /// `[4 * paddedHidden, paddedHidden]`, interleaved gate rows, zero columns for padded units.
    var recurrentWeight: [Float]
    /// `[4 * paddedHidden]`.
    var bias: [Float]
    /// `inputWeight` in the fused kernel's panels (``packForKernel(_:rows:columns:)``); empty when
    /// this CPU has no fused kernel.
    var packedInputWeight: [Float]
    /// `recurrentWeight` in the fused kernel's panels; empty likewise.
    var packedRecurrentWeight: [Float]
    var returnsSequence: Bool
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

    /// Whether the output is a sequence (one row per time step) rather than one vector per image.
    var outputIsSequence: Bool {
        switch self {
        case .dense(let d): d.perTimeStep
        case .lstm(let l): l.returnsSequence
        }
    }
}

/// The whole network as the fast path runs it: input contract, stages, class count.
struct CompiledNetwork: Sendable {
    var timeSteps: Int
    var featureWidth: Int
    var scale: Float
    var offset: Float
    var stages: [Stage]
    var classCount: Int
    /// How many dense layers were folded into an LSTM's input weights (for `inspect`/tests).
    var foldedDenseLayers: Int

    /// Multiply-adds per image: per LSTM `T` input products and `T - 1` recurrent ones (`h[-1] = 0`),
    /// per dense layer one product per step it runs on.
    var multiplyAddsPerImage: Int {
        stages.reduce(0) { total, stage in
            switch stage {
            case .dense(let d):
                return total + (d.perTimeStep ? timeSteps : 1) * d.outputSize * d.inputStride
            case .lstm(let l):
                let gates = 4 * l.paddedHidden
                return total + timeSteps * gates * l.inputStride + max(0, timeSteps - 1) * gates * l.paddedHidden
            }
        }
    }
}
