import RNNCore
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
func worstRelativeError(_ architecture: LSTMArchitecture, timeSteps: Int, batch: Int, seed: UInt64) -> (Double, String) {
    let p = randomTinyParameters(architecture, seed: seed)
    let (x, y) = randomSequences(count: batch, timeSteps: timeSteps, inputs: architecture.inputSize,
                                 classes: architecture.classCount, seed: seed + 1)
    let analytic = batchLossAndGradient(parameters: p, sequences: x, labels: y, timeSteps: timeSteps).gradient
    // Five-point central difference: truncation error O(h^4) ~ 1e-16, round-off ~ 1e-16/h ~ 1e-12.
    let h = 1e-4
    func loss(shiftedBy delta: Double, at k: Int) -> Double {
        var shifted = p
        shifted.values[k] += delta
        return batchLossAndGradient(parameters: shifted, sequences: x, labels: y, timeSteps: timeSteps).loss
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
