import RNNCore
import RNNFormat
import Testing
@testable import RNNTraining

/// A tiny model whose every parameter is random, including biases, so that no gradient term
/// hides behind a zero.
func randomTinyParameters(_ architecture: LSTMArchitecture, seed: UInt64) -> LSTMParameters<Double> {
    var p = LSTMParameters<Double>(architecture: architecture, seed: seed)
    var rng = Xoshiro256StarStar(seed: seed &+ 99)
    for k in p.values.indices { p.values[k] += rng.nextDouble(in: -0.5, 0.5) }
    return p
}

func randomSequences(count: Int, timeSteps: Int, inputs: Int, classes: Int, seed: UInt64) -> ([Double], [Int]) {
    var rng = Xoshiro256StarStar(seed: seed)
    let x = (0..<(count * timeSteps * inputs)).map { _ in rng.nextDouble(in: -1, 1) }
    let y = (0..<count).map { _ in rng.nextInt(below: classes) }
    return (x, y)
}

/// Largest relative error between the analytic gradient and central finite differences, over
/// every parameter. Relative error is `|a - n| / max(|a|, |n|, 1e-5)`: the floor (an absolute tolerance of 1e-11 for gradients below 1e-5) keeps
/// parameters whose true gradient is ~0 from dividing round-off by round-off.
///
/// `lengths` makes the batch variable-length (padding steps hold random values too, which must not
/// matter); `dropout` fixes dropout masks (the same seed and step draw the same masks at every
/// evaluation, so the finite differences are of the loss under those masks); `corrupt` alters the analytic gradient before the comparison (to show the check fails).
func worstRelativeError(_ architecture: LSTMArchitecture, timeSteps: Int, batch: Int, seed: UInt64,
                        lengths: [Int]? = nil, dropout: (rates: DropoutRates, seed: UInt64, step: Int)? = nil,
                        corrupt: (inout [Double], ParameterLayout) -> Void = { _, _ in }) -> (Double, String) {
    let p = randomTinyParameters(architecture, seed: seed)
    let (x, y) = randomSequences(count: batch, timeSteps: timeSteps, inputs: architecture.inputSize,
                                 classes: architecture.classCount, seed: seed + 1)
    var analytic = batchLossAndGradient(parameters: p, sequences: x, labels: y, timeSteps: timeSteps, lengths: lengths,
                                        dropout: dropout).gradient
    corrupt(&analytic, p.layout)
    // Five-point central difference: truncation error O(h^4) ~ 1e-16, round-off ~ 1e-16/h ~ 1e-12.
    let h = 1e-4
    func loss(shiftedBy delta: Double, at k: Int) -> Double {
        var shifted = p
        shifted.values[k] += delta
        return batchLossAndGradient(parameters: shifted, sequences: x, labels: y, timeSteps: timeSteps, lengths: lengths,
                                     dropout: dropout).loss
    }
    var worst = 0.0, worstName = ""
    for slot in p.layout.slots {
        for k in slot.range {
            let numeric = (-loss(shiftedBy: 2 * h, at: k) + 8 * loss(shiftedBy: h, at: k)
                           - 8 * loss(shiftedBy: -h, at: k) + loss(shiftedBy: -2 * h, at: k)) / (12 * h)
            let error = abs(analytic[k] - numeric) / max(abs(analytic[k]), abs(numeric), 1e-5)
            if error > worst { worst = error; worstName = "\(slot.name)[\(k - slot.offset)] analytic \(analytic[k]) numeric \(numeric)" }
        }
    }
    return (worst, worstName)
}

@Test func everyGradientOfAOneLayerModelMatchesFiniteDifferences() {
    let a = LSTMArchitecture(inputSize: 5, hiddenSize: 3, layerCount: 1, classCount: 3)
    let (worst, name) = worstRelativeError(a, timeSteps: 4, batch: 2, seed: 1)
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

@Test func everyGradientOfAStackedModelMatchesFiniteDifferences() {
    let a = LSTMArchitecture(inputSize: 5, hiddenSize: 3, layerCount: 2, classCount: 3)
    let (worst, name) = worstRelativeError(a, timeSteps: 4, batch: 2, seed: 2)
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

@Test func everyGradientOfAThreeLayerModelWithOneStepMatchesFiniteDifferences() {
    // T = 1 exercises the "no recurrent term" edge; three layers the ping-pong of dL/dh buffers.
    let a = LSTMArchitecture(inputSize: 4, hiddenSize: 2, layerCount: 3, classCount: 4)
    let (worst, name) = worstRelativeError(a, timeSteps: 1, batch: 3, seed: 3)
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

// GRU, bidirectional and variable-length models: the same five-point check of every parameter,
// same bound (1e-6 relative, see worstRelativeError). Biases are random, so the GRU's b_hn (inside
// r ⊙ (W_hn h + b_hn) with reset "after") and the fold of dense_in into each direction are covered.

@Test(arguments: [GRUReset.after, .before])
func everyGradientOfAGRUMatchesFiniteDifferences(reset: GRUReset) {
    let a = LSTMArchitecture(inputSize: 5, hiddenSize: 3, layerCount: 1, classCount: 3, cell: .gru, gruReset: reset)
    let (worst, name) = worstRelativeError(a, timeSteps: 4, batch: 2, seed: 11)
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

@Test(arguments: [RecurrentCell.lstm, .gru])
func everyGradientOfABidirectionalLayerMatchesFiniteDifferences(cell: RecurrentCell) {
    let a = LSTMArchitecture(inputSize: 4, hiddenSize: 3, layerCount: 1, classCount: 3, cell: cell, bidirectional: true)
    let (worst, name) = worstRelativeError(a, timeSteps: 4, batch: 2, seed: 12)
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

/// Two stacked bidirectional layers over one batch of lengths 4, 2, 1 and 3 (of T = 4): the
/// reversal within each length, the carry over padding and the 2H-wide layer above all at once.
@Test(arguments: [(RecurrentCell.lstm, GRUReset.after), (.gru, .after), (.gru, .before)])
func everyGradientOfAStackedBidirectionalVariableLengthModelMatchesFiniteDifferences(cell: RecurrentCell, reset: GRUReset) {
    let a = LSTMArchitecture(inputSize: 3, hiddenSize: 2, layerCount: 2, classCount: 3, cell: cell, gruReset: reset,
                             bidirectional: true)
    let (worst, name) = worstRelativeError(a, timeSteps: 4, batch: 4, seed: 13, lengths: [4, 2, 1, 3])
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

@Test func everyGradientOfAVariableLengthLSTMStackMatchesFiniteDifferences() {
    let a = LSTMArchitecture(inputSize: 3, hiddenSize: 3, layerCount: 2, classCount: 3)
    let (worst, name) = worstRelativeError(a, timeSteps: 5, batch: 3, seed: 14, lengths: [2, 5, 3])
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

/// The check is not vacuous: flipping the sign of one block of the analytic gradient (what a sign
/// error in one line of a hand-written backward pass does) is caught, with a relative error of
/// about 2 (the two differ by twice their size) against the bound of 1e-6. Done for the blocks the
/// new code computes: a GRU's recurrent n rows (`dhn`), the reverse direction's input weights, and
/// the first layer's folded bias.
@Test func aSignErrorInTheBackwardPassFailsTheCheck() {
    let a = LSTMArchitecture(inputSize: 3, hiddenSize: 2, layerCount: 2, classCount: 3, cell: .gru, bidirectional: true)
    let blocks: [(ParameterLayout) -> Range<Int>] = [
        { $0.recurrent[1][0].weightHH.offset + 2 * 2 * 2 ..< $0.recurrent[1][0].weightHH.offset + 3 * 2 * 2 },
        { $0.recurrent[0][1].weightIH.range },
        { $0.recurrent[0][0].biasIH.range },
    ]
    for block in blocks {
        let (worst, _) = worstRelativeError(a, timeSteps: 3, batch: 2, seed: 15, lengths: [3, 2]) { g, layout in
            for k in block(layout) { g[k] = -g[k] }
        }
        #expect(worst > 1, "a flipped gradient block gave only \(worst)")
    }
}

// Pooling over time (mean and max of the last layer's per-step outputs over each sequence's own
// steps): the same five-point check of every parameter, same bound, on variable-length batches,
// uni- and bidirectional, LSTM and GRU. Max pooling is differentiable only where each column's
// maximum is unique; the inputs and weights are continuous random values, so the best and the
// second-best step of a column differ by O(0.1), far more than the largest shift of the
// differences (2e-4 in one parameter), and no finite difference crosses an arg-max (a crossing
// would show as a relative error of order 1, not below 1e-6). ``maxPoolingMargins`` measures it.

@Test(arguments: [TimePooling.mean, .max], [(RecurrentCell.lstm, false), (.gru, false), (.lstm, true), (.gru, true)])
func everyGradientOfAPooledModelMatchesFiniteDifferences(pooling: TimePooling, shape: (RecurrentCell, Bool)) {
    let a = LSTMArchitecture(inputSize: 3, hiddenSize: 3, layerCount: 2, classCount: 3, cell: shape.0,
                             bidirectional: shape.1, pooling: pooling)
    let lengths = [4, 2, 1, 3]
    if pooling == .max {
        let margin = maxPoolingMargin(a, timeSteps: 4, batch: 4, seed: 16, lengths: lengths)
        #expect(margin > 1e-3, "the smallest gap between a column's best and second-best step is \(margin)")
    }
    let (worst, name) = worstRelativeError(a, timeSteps: 4, batch: 4, seed: 16, lengths: lengths)
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

/// Dropout with fixed masks (input, between the two layers, output; rates 0.3, 0.4, 0.5): the
/// gradient is that of the loss under those masks, for the final state and both poolings.
@Test(arguments: [TimePooling.last, .mean, .max])
func everyGradientUnderFixedDropoutMasksMatchesFiniteDifferences(pooling: TimePooling) {
    let a = LSTMArchitecture(inputSize: 3, hiddenSize: 3, layerCount: 2, classCount: 3, cell: .gru, bidirectional: true,
                             pooling: pooling)
    let dropout = (rates: DropoutRates(input: 0.3, between: 0.4, output: 0.5), seed: UInt64(7), step: 3)
    let (worst, name) = worstRelativeError(a, timeSteps: 4, batch: 3, seed: 17, lengths: [4, 2, 3], dropout: dropout)
    #expect(worst < 1e-6, "worst: \(worst) at \(name)")
}

/// The smallest gap, over every sequence and column of the last layer's max pooling, between the
/// largest and the second-largest value over the sequence's valid steps (infinity for length 1).
func maxPoolingMargin(_ a: LSTMArchitecture, timeSteps: Int, batch: Int, seed: UInt64, lengths: [Int]) -> Double {
    let p = randomTinyParameters(a, seed: seed)
    let (x, _) = randomSequences(count: batch, timeSteps: timeSteps, inputs: a.inputSize, classes: a.classCount, seed: seed + 1)
    let engine = GradientEngine<Double>(architecture: a, timeSteps: timeSteps, batchCapacity: batch, workerCount: 1)
    _ = p.values.withUnsafeBufferPointer { pp in
        x.withUnsafeBufferPointer { xp in
            lengths.withUnsafeBufferPointer { n in
                engine.logits(parameters: pp, source: .sequences(xp, lengths: n), indices: Array(0..<batch)[...])
            }
        }
    }
    let ws = engine.workers[0], h = a.hiddenSize, last = a.layerCount - 1
    var margin = Double.infinity
    for d in 0..<a.directionCount {
        for b in 0..<batch where lengths[b] > 1 {
            for j in 0..<h {
                let values = (0..<lengths[b]).map { u in ws.directions[last][d].hidden[(u * batch + b) * h + j] }.sorted(by: >)
                margin = min(margin, values[0] - values[1])
            }
        }
    }
    return margin
}
