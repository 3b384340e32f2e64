import RNNDatasets
import RNNFormat
import RNNCore
import Testing
@testable import RNNTraining

@Test func theSameSeedAndThreadCountGiveBitwiseIdenticalWeights() throws {
    for threads in [1, 2] {
        var runs: [[Float]] = []
        for _ in 0..<2 {
            let trainer = try Trainer(configuration: tinyConfiguration(layers: 2, threads: threads), data: syntheticTrainingData())
            var state = TrainingState(configuration: trainer.configuration)
            _ = try trainer.run(&state)
            runs.append(state.parameters.values)
        }
        #expect(runs[0].map(\.bitPattern) == runs[1].map(\.bitPattern))
    }
}

@Test func aDifferentSeedGivesDifferentWeights() throws {
    var a = tinyConfiguration(), b = tinyConfiguration()
    b.seed = a.seed + 1
    a.epochs = 1; b.epochs = 1
    let sa = TrainingState(configuration: a), sb = TrainingState(configuration: b)
    #expect(sa.parameters.values != sb.parameters.values)
}

@Test func trainingLearnsTheSyntheticTask() throws {
    var c = tinyConfiguration()
    c.epochs = 8
    let trainer = try Trainer(configuration: c, data: syntheticTrainingData())
    var state = TrainingState(configuration: c)
    #expect(try trainer.run(&state) == .finished)
    #expect(state.history.count == 8)
    #expect(state.history.last!.trainLoss < state.history.first!.trainLoss)
    #expect(trainer.evaluate(state.parameters, on: trainer.data.test).accuracy > 0.9)
}

@Test func splittingTheBatchOverWorkersGivesTheSameGradient() {
    let a = LSTMArchitecture(inputSize: 5, hiddenSize: 9, layerCount: 2, classCount: 3)
    let p = LSTMParameters<Double>(architecture: a, seed: 3)
    let (x, y) = randomSequences(count: 7, timeSteps: 4, inputs: 5, classes: 3, seed: 4)
    func gradient(workers: Int) -> [Double] {
        let engine = GradientEngine<Double>(architecture: a, timeSteps: 4, batchCapacity: 7, workerCount: workers)
        var g = [Double](repeating: 0, count: a.layout.count)
        _ = p.values.withUnsafeBufferPointer { pp in x.withUnsafeBufferPointer { xx in y.withUnsafeBufferPointer { yy in
            g.withUnsafeMutableBufferPointer { gg in
                engine.lossAndGradient(parameters: pp, source: .sequences(xx), labels: yy, indices: Array(0..<7)[...], gradient: gg)
            } } } }
        return g
    }
    let one = gradient(workers: 1), three = gradient(workers: 3)
    for k in one.indices { #expect(abs(one[k] - three[k]) <= 1e-12 * max(1, abs(one[k]))) }
}

@Test func float32AndFloat64ForwardPassesAgree() {
    let a = LSTMArchitecture(inputSize: 28, hiddenSize: 32, layerCount: 2, classCount: 10)
    let p64 = randomTinyParameters(a, seed: 8)
    let p32: LSTMParameters<Float> = p64.converted()
    let (x, _) = randomSequences(count: 5, timeSteps: 28, inputs: 28, classes: 10, seed: 9)
    let l64 = forward64(parameters: p64, sequences: x, count: 5, timeSteps: 28)
    let l32 = batchLogits(parameters: p32, sequences: x.map { Float($0) }, count: 5, timeSteps: 28)
    var worst = 0.0
    for k in l64.indices { worst = max(worst, abs(l64[k] - Double(l32[k]))) }
    #expect(worst < 1e-4, "largest |f32 - f64| logit difference: \(worst)")
}

@Test func adamMatchesAHandComputedStep() {
    // Step 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², θ -= lr · g / (|g| + ε).
    // Step 2 (g2): m = 0.09 g + 0.1 g2, v = 0.000999 g² + 0.001 g2², m̂ = m / 0.19, v̂ = v / 0.001999.
    var adam = AdamOptimizer(parameterCount: 2)
    var theta: [Float] = [1, -2]
    adam.update(parameters: &theta, gradient: [0.5, -4], learningRate: 0.1)
    #expect(abs(theta[0] - (1 - 0.1 * 0.5 / (0.5 + 1e-8))) < 1e-6)
    #expect(abs(theta[1] - (-2 + 0.1)) < 1e-6)
    adam.update(parameters: &theta, gradient: [0.25, 2], learningRate: 0.1)
    func expected(_ start: Double, _ g1: Double, _ g2: Double) -> Double {
        let m1 = 0.1 * g1, v1 = 0.001 * g1 * g1
        let afterOne = start - 0.1 * (m1 / 0.1) / ((v1 / 0.001).squareRoot() + 1e-8)
        let m2 = 0.9 * m1 + 0.1 * g2, v2 = 0.999 * v1 + 0.001 * g2 * g2
        return afterOne - 0.1 * (m2 / (1 - 0.81)) / ((v2 / (1 - 0.998001)).squareRoot() + 1e-8)
    }
    #expect(abs(Double(theta[0]) - expected(1, 0.5, 0.25)) < 1e-6)
    #expect(abs(Double(theta[1]) - expected(-2, -4, 2)) < 1e-6)
    #expect(adam.step == 2)
}

@Test func clippingScalesTheGradientToTheMaximumNorm() {
    var g: [Float] = [3, 4]
    #expect(clipGradientNorm(&g, maximum: 1) == 5)
    #expect(abs(g[0] - 0.6) < 1e-7 && abs(g[1] - 0.8) < 1e-7)
    var small: [Float] = [0.3, 0.4]
    clipGradientNorm(&small, maximum: 1)
    #expect(small == [0.3, 0.4])
}

@Test func theCosineScheduleWarmsUpThenDecaysToTheFloor() {
    let plan = LearningRatePlan(base: 1, schedule: .cosine, totalSteps: 110, warmupSteps: 10)
    #expect(plan.rate(at: 0) == 0.1)
    #expect(plan.rate(at: 9) == 1)
    #expect(abs(plan.rate(at: 10) - 1) < 1e-6)
    #expect(abs(plan.rate(at: 109) - 0.01) < 1e-6)
    #expect(plan.rate(at: 60) < plan.rate(at: 30))
}

@Test func recurrentWeightsStartOrthogonalPerGate() {
    let a = LSTMArchitecture(inputSize: 28, hiddenSize: 16, classCount: 10)
    let p = LSTMParameters<Double>(architecture: a, seed: 11)
    let w = p.tensor(p.layout.recurrent[0][0].weightHH)
    for gate in 0..<4 {
        for r in 0..<16 {
            for s in 0..<16 {
                var dot = 0.0
                for c in 0..<16 { dot += w[(gate * 16 + r) * 16 + c] * w[(gate * 16 + s) * 16 + c] }
                #expect(abs(dot - (r == s ? 1 : 0)) < 1e-12)
            }
        }
    }
    let forgetBias = p.tensor(p.layout.recurrent[0][0].biasIH)[16..<32]
    #expect(forgetBias.allSatisfy { $0 == 1 })
}

@Test func invalidHyperparametersAreRejectedWithTheOptionNameRangeAndValue() {
    var c = tinyConfiguration()
    c.architecture.hiddenSize = 0
    #expect(throws: TrainingError.invalidArchitecture("--hidden-size must be in 1...4096, got 0")) { try c.validate() }
    c = tinyConfiguration()
    c.learningRate = -1
    #expect(throws: TrainingError.invalidHyperparameter("--lr must be in (0, 10], got -1.0")) { try c.validate() }
    c = tinyConfiguration()
    c.batchSize = 0
    #expect(throws: TrainingError.invalidHyperparameter("--batch-size must be in 1...65536, got 0")) { try c.validate() }
    c = tinyConfiguration()
    c.beta2 = 1
    #expect(throws: TrainingError.self) { try Trainer(configuration: c, data: syntheticTrainingData()) }
}

@Test func dataThatDoesNotFitTheModelIsRejected() {
    var c = tinyConfiguration()
    c.architecture.inputSize = 28
    #expect(throws: TrainingError.self) { try Trainer(configuration: c, data: syntheticTrainingData()) }
    c = tinyConfiguration()
    c.architecture.classCount = 2
    #expect(throws: TrainingError.self) { try Trainer(configuration: c, data: syntheticTrainingData()) }
}

/// The float32 gradient (on x86-64: the fused forward kernel and, with AVX-512 and `H % 16 == 0`,
/// the kernel products of the backward pass) against the float64 BLAS path, which the finite-difference
/// checks verify. Sizes exercise the kernels' edges: 11 sequences (row tiles of 6 plus a remainder),
/// 11 x 28 = 308 rows (more than one 256-row block of the weight-gradient products), two layers
/// (the `dW_ih` and `dL/dx` products of the upper layer), and `H = 24`, where the forward pass is
/// fused but the backward products fall back to BLAS (24 is not a multiple of 16).
///
/// Tolerance: binary32 products of up to 308 terms and 28 steps of recurrence carry relative errors
/// around 1e-6 to 1e-5 of the largest gradient; a wrong term (a missed row, a transposed weight, a
/// wrong gate) is of the order of the gradient itself.
///
/// Every kernel variant this CPU can run is checked: BLAS only, the AVX2 forward kernel (backward on
/// BLAS), and AVX-512 (forward and backward kernels).
@Test(arguments: [32, 24])
func float32AndFloat64GradientsAgree(hiddenSize: Int) {
    let a = LSTMArchitecture(inputSize: 28, hiddenSize: hiddenSize, layerCount: 2, classCount: 10)
    let p64 = randomTinyParameters(a, seed: 21)
    let p32: LSTMParameters<Float> = p64.converted()
    let (x, y) = randomSequences(count: 11, timeSteps: 28, inputs: 28, classes: 10, seed: 22)
    let g64 = batchLossAndGradient(parameters: p64, sequences: x, labels: y, timeSteps: 28).gradient
    for kernel in KernelISA.supported {
        let g32 = batchLossAndGradient(parameters: p32, sequences: x.map { Float($0) }, labels: y, timeSteps: 28,
                                       kernel: kernel).gradient
        for slot in p64.layout.slots {
            let scale = slot.range.map { abs(g64[$0]) }.max()!
            let worst = slot.range.map { abs(Double(g32[$0]) - g64[$0]) }.max()!
            #expect(scale > 0 && worst <= 1e-4 * scale,
                    "kernel \(kernel.rawValue), \(slot.name): largest |f32 - f64| \(worst), largest |f64| \(scale)")
        }
    }
}
