import RNNCore

/// The loss and gradient of a batch of sequences, computed on one thread.
///
/// This is the path the float64 gradient checks exercise: the same forward and backward code as
/// training, only instantiated for `Double`. `dropout` fixes the masks by seed and step, so every
/// call with the same one drops the same elements.
func batchLossAndGradient<Scalar: TrainingScalar>(
    parameters: LSTMParameters<Scalar>, sequences: [Scalar], labels: [Int], timeSteps: Int,
    lengths: [Int]? = nil, kernel: KernelISA = .detected,
    dropout: (rates: DropoutRates, seed: UInt64, step: Int)? = nil
) -> (loss: Double, gradient: [Scalar]) {
    let count = labels.count
    let engine = GradientEngine<Scalar>(architecture: parameters.architecture, timeSteps: timeSteps,
                                        batchCapacity: count, workerCount: 1, kernel: kernel)
    var gradient = [Scalar](repeating: 0, count: parameters.layout.count)
    let result = parameters.values.withUnsafeBufferPointer { p in
        sequences.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                gradient.withUnsafeMutableBufferPointer { g in
                    withOptionalBuffer(lengths) { n in
                        engine.lossAndGradient(parameters: p, source: .sequences(x, lengths: n), labels: y,
                                               indices: Array(0..<count)[...], gradient: g, dropout: dropout)
                    }
                }
            }
        }
    }
    return (result.loss / Double(count), gradient)
}

/// Logits `[count, C]` of `count` sequences given batch-major as `[count, T, I]`, with optional
/// per-sequence lengths (see ``BatchSource/sequences(_:lengths:)``).
func batchLogits<Scalar: TrainingScalar>(parameters: LSTMParameters<Scalar>, sequences: [Scalar], count: Int, timeSteps: Int,
                                         lengths: [Int]? = nil, kernel: KernelISA = .detected) -> [Scalar] {
    let engine = GradientEngine<Scalar>(architecture: parameters.architecture, timeSteps: timeSteps,
                                        batchCapacity: max(count, 1), workerCount: 1, kernel: kernel)
    return parameters.values.withUnsafeBufferPointer { p in
        sequences.withUnsafeBufferPointer { x in
            withOptionalBuffer(lengths) { n in
                engine.logits(parameters: p, source: .sequences(x, lengths: n), indices: Array(0..<count)[...])
            }
        }
    }
}

/// Calls `body` with a buffer over `array`, or nil.
private func withOptionalBuffer<R>(_ array: [Int]?, _ body: (UnsafeBufferPointer<Int>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0) }
}
