import RNNCore

/// The dropout probabilities of an image or sequence run (training only; evaluation never drops).
///
/// Inverted dropout: a kept value is scaled by `1 / (1 - p)`, so the expected value of every
/// element is unchanged and evaluation uses the weights as they are.
///
/// - `input`: on the raw input `x[t]`, *before* `dense_in`. Dropping `dense_in`'s output instead
///   would put a mask between `dense_in` and the first layer's `W_ih`, which ``PreparedWeights``
///   fold into one matrix `W' = W_ih W_in`; dropping `x` keeps the fold (and its 18 % fewer FLOPs)
///   valid for every `p`. (`dense_in (x ⊙ m)` is `dense_in` of a corrupted input.) With an
///   embedding, `x[t]` is the token's embedding row: the classic dropout on embedding outputs.
/// - `between`: on each recurrent layer's per-step output before the layer above reads it.
/// - `output`: on `dense_out`'s input: the last layer's final state or pooled vector.
package struct DropoutRates: Sendable, Equatable, Codable {
    /// Probability of zeroing an element of the input `x`.
    package var input: Double = 0
    /// Probability of zeroing an element of a lower layer's output (the next layer's input).
    package var between: Double = 0
    /// Probability of zeroing an element of `dense_out`'s input.
    package var output: Double = 0

    /// Rates; each must be in `[0, 1)`.
    package init(input: Double = 0, between: Double = 0, output: Double = 0) {
        self.input = input
        self.between = between
        self.output = output
    }

    /// Whether nothing is dropped (then no mask is drawn and training is bit-identical to a run
    /// without dropout).
    package var isZero: Bool { input == 0 && between == 0 && output == 0 }
}

/// The generator of one worker's dropout masks at one step: seeded by the run's seed, the step
/// and the worker alone, so that a seed and a thread count reproduce a run bit for bit.
func dropoutGenerator(seed: UInt64, step: Int, worker: Int) -> Xoshiro256StarStar {
    Xoshiro256StarStar(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step) &* 64 &+ UInt64(worker))
}

/// `count` inverted-dropout factors: each `0` with probability `rate`, else `1 / (1 - rate)`.
func dropoutMask<Scalar: TrainingScalar>(_ count: Int, _ rate: Double, _ g: inout Xoshiro256StarStar) -> [Scalar] {
    guard rate > 0 else { return [Scalar](repeating: 1, count: count) }
    let keep = Scalar(1 / (1 - rate))
    return (0..<count).map { _ in g.nextUnitDouble() < rate ? 0 : keep }
}

/// One worker's masks for one batch of `count` sequences: each element `0` or `1 / (1 - p)`
/// (``dropoutMask(_:_:_:)``), nil where the rate is 0. Drawn in the order input, between
/// (layer by layer), output, all time-major like the buffers they multiply.
struct DropoutMasks<Scalar: TrainingScalar> {
    /// `[T*B, I]`, on ``Workspace/input``.
    var input: [Scalar]?
    /// Per layer below the last, `[T*B, D*H]` on its output in sequence time.
    var between: [[Scalar]]?
    /// `[B, D*H]`, on ``Workspace/head``.
    var output: [Scalar]?

    init(_ rates: DropoutRates, architecture a: LSTMArchitecture, timeSteps: Int, count: Int,
         generator g: inout Xoshiro256StarStar) {
        let rows = timeSteps * count
        func draw(_ n: Int, _ rate: Double) -> [Scalar]? {
            rate > 0 ? dropoutMask(n, rate, &g) : nil
        }
        input = draw(rows * a.inputSize, rates.input)
        between = rates.between > 0 && a.layerCount > 1
            ? (0..<(a.layerCount - 1)).map { _ in draw(rows * a.outputWidth, rates.between)! } : nil
        output = draw(count * a.outputWidth, rates.output)
    }
}

extension Workspace {
    /// `values[k] *= mask[k]` for the first `mask.count` elements.
    func applyMask(_ mask: [Scalar], to values: UnsafeMutablePointer<Scalar>) {
        for k in mask.indices { values[k] *= mask[k] }
    }
}
