import RNNCore

/// The loss and gradient of a batch of sequences, computed on one thread.
///
/// This is the path the float64 gradient checks exercise: the same forward and backward code as
/// training, only instantiated for `Double`.
func batchLossAndGradient<Scalar: TrainingScalar>(
    parameters: LSTMParameters<Scalar>, sequences: [Scalar], labels: [Int], timeSteps: Int,
    kernel: KernelISA = .detected
) -> (loss: Double, gradient: [Scalar]) {
    let count = labels.count
    let engine = GradientEngine<Scalar>(architecture: parameters.architecture, timeSteps: timeSteps,
                                        batchCapacity: count, workerCount: 1, kernel: kernel)
    var gradient = [Scalar](repeating: 0, count: parameters.layout.count)
    let result = parameters.values.withUnsafeBufferPointer { p in
        sequences.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { g in
                    engine.lossAndGradient(parameters: p, source: .sequences(x), labels: y,
                                           indices: Array(0..<count)[...], gradient: g)
                }
            }
        }
    }
    return (result.loss / Double(count), gradient)
}

/// Logits `[count, C]` of `count` sequences given batch-major as `[count, T, I]`.
func batchLogits<Scalar: TrainingScalar>(parameters: LSTMParameters<Scalar>, sequences: [Scalar], count: Int, timeSteps: Int) -> [Scalar] {
    let engine = GradientEngine<Scalar>(architecture: parameters.architecture, timeSteps: timeSteps,
                                        batchCapacity: max(count, 1), workerCount: 1)
    return parameters.values.withUnsafeBufferPointer { p in
        sequences.withUnsafeBufferPointer { x in
            engine.logits(parameters: p, source: .sequences(x), indices: Array(0..<count)[...])
        }
    }
}
