import Foundation
import RNNCore
import Testing
@testable import RNNTraining

/// Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): a step is Adam's step minus
/// `lr · wd · θ` on the decayed ranges (the weight matrices), nothing else changes.
@Suite struct AdamWTests {
    static let count = 10
    static let decayed = [0..<4, 6..<9]  // 4, 5 and 9 play the biases

    /// An optimizer after three steps of the same pseudo-random gradients, and the weights then.
    static func warmedUp(weightDecay: Float) -> (AdamOptimizer, [Float]) {
        var rng = Xoshiro256StarStar(seed: 7)
        var adam = AdamOptimizer(parameterCount: count, weightDecay: weightDecay, decayed: decayed)
        var theta = (0..<count).map { _ in Float(rng.nextDouble(in: -2, 2)) }
        for _ in 0..<3 {
            adam.update(parameters: &theta, gradient: (0..<count).map { _ in Float(rng.nextDouble(in: -1, 1)) }, learningRate: 0.01)
        }
        return (adam, theta)
    }

    @Test func aStepWithDecayIsAdamsStepMinusLrTimesDecayTimesTheWeight() {
        let lr: Float = 0.05, wd: Float = 0.3
        let warmed = Self.warmedUp(weightDecay: wd), theta = warmed.1
        var adamW = warmed.0, adam = warmed.0
        adam.weightDecay = 0
        let gradient: [Float] = (0..<Self.count).map { Float($0) / 7 - 0.6 }
        var withDecay = theta, without = theta
        adamW.update(parameters: &withDecay, gradient: gradient, learningRate: lr)
        adam.update(parameters: &without, gradient: gradient, learningRate: lr)
        #expect(adamW.firstMoment == adam.firstMoment && adamW.secondMoment == adam.secondMoment && adamW.step == adam.step)
        for k in 0..<Self.count {
            let decays = Self.decayed.contains { $0.contains(k) }
            // Exactly: the optimizer subtracts the two terms in this order, each rounded once.
            #expect(withDecay[k].bitPattern == (decays ? without[k] - lr * wd * theta[k] : without[k]).bitPattern, "k = \(k)")
            // And against the float64 formula, from the float32 moments (tolerance: a few float32 ulps of θ).
            let t = Double(adam.step), m = Double(adam.firstMoment[k]), v = Double(adam.secondMoment[k])
            let mHat: Double = m / (1 - pow(0.9, t)), vHat: Double = v / (1 - pow(0.999, t))
            let adamTerm: Double = Double(lr) * mHat / (vHat.squareRoot() + 1e-8)
            let decayTerm: Double = decays ? Double(lr) * Double(wd) * Double(theta[k]) : 0
            let expected: Double = Double(theta[k]) - adamTerm - decayTerm
            #expect(abs(Double(withDecay[k]) - expected) <= 1e-6, "k = \(k)")
        }
    }

    /// The update before AdamW, verbatim: what a decay of 0 must reproduce bit for bit.
    static func previousAdam(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], step: Int, lr: Float) {
        let b1: Float = 0.9, b2: Float = 0.999
        let correction1 = Float(1 - pow(Double(b1), Double(step))), correction2 = Float(1 - pow(Double(b2), Double(step)))
        let stepSize = lr / correction1, root2 = correction2.squareRoot()
        for k in p.indices {
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k]
            p[k] -= stepSize * m[k] / (v[k].squareRoot() / root2 + 1e-8)
        }
    }

    @Test func aDecayOfZeroIsThePreviousOptimizerBitForBit() {
        var rng = Xoshiro256StarStar(seed: 3)
        var adam = AdamOptimizer(parameterCount: Self.count, weightDecay: 0, decayed: Self.decayed)
        var p = (0..<Self.count).map { _ in Float(rng.nextDouble(in: -2, 2)) }
        var q = p, m = [Float](repeating: 0, count: Self.count), v = m
        for step in 1...20 {
            let g = (0..<Self.count).map { _ in Float(rng.nextDouble(in: -3, 3)) }
            adam.update(parameters: &p, gradient: g, learningRate: 0.01 * Float(step))
            Self.previousAdam(&q, g, &m, &v, step: step, lr: 0.01 * Float(step))
        }
        #expect(p.map(\.bitPattern) == q.map(\.bitPattern))
        #expect(adam.firstMoment.map(\.bitPattern) == m.map(\.bitPattern) && adam.secondMoment.map(\.bitPattern) == v.map(\.bitPattern))
    }

    /// The run's optimizer decays the weight matrices and leaves every bias alone.
    @Test func theRunDecaysTheWeightMatricesNotTheBiases() {
        var c = tinyConfiguration(layers: 2)
        c.weightDecay = 0.01
        let layout = c.architecture.layout
        let matrices = [layout.denseInWeight!, layout.denseOutWeight] + layout.recurrent.joined().flatMap { [$0.weightIH, $0.weightHH] }
        #expect(Set(c.decayedRanges) == Set(matrices.map(\.range)))
        let optimizer = c.makeOptimizer()
        #expect(optimizer.weightDecay == 0.01 && optimizer.decayed == c.decayedRanges)
        #expect(c.decayedRanges.reduce(0) { $0 + $1.count } == layout.count - layout.slots.filter { $0.shape.count == 1 }.reduce(0) { $0 + $1.count })
    }

    /// A run with `--weight-decay 0` trains exactly like one without the option.
    @Test func aRunWithDecayZeroTrainsAsPlainAdam() throws {
        let data = syntheticTrainingData()
        var zero = tinyConfiguration()
        zero.weightDecay = 0
        var weights: [[UInt32]] = []
        for c in [tinyConfiguration(), zero] {
            let trainer = try Trainer(configuration: c, data: data)
            var state = TrainingState(configuration: c)
            _ = try trainer.run(&state)
            weights.append(state.parameters.values.map(\.bitPattern))
        }
        #expect(weights[0] == weights[1])
    }

    @Test func weightDecayOutsideItsRangeIsRefusedNamingTheOption() {
        func message(_ wd: Float) -> String? {
            var c = tinyConfiguration()
            c.weightDecay = wd
            do { try c.validate() } catch { return error.description }
            return nil
        }
        #expect(message(-0.1)?.contains("--weight-decay must be at least 0 and below 1 / learning rate 100.0, got -0.1") == true)
        #expect(message(100)?.contains("--weight-decay") == true)  // lr 0.01: lr · wd = 1 would zero the weights every step
        #expect(message(.nan)?.contains("--weight-decay") == true)
        #expect(message(0.5) == nil)
    }
}
