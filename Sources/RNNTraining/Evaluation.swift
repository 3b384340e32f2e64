import RNNCore

/// Loss and accuracy of a model on a labeled set.
package struct EvaluationResult: Sendable, Equatable {
    /// Mean cross-entropy.
    package var loss: Double
    /// Fraction of correct arg-max predictions.
    package var accuracy: Double
    /// Number of images evaluated.
    package var count: Int

    /// The figures of an empty set: NaN loss and accuracy, count 0 (a run without validation examples).
    package static let none = EvaluationResult(loss: .nan, accuracy: .nan, count: 0)
}

/// A float32 forward-only evaluator that reuses its buffers across calls.
package final class Evaluator: @unchecked Sendable {
    let engine: GradientEngine<Float>
    let batchSize: Int

    /// An evaluator for `architecture` on `timeSteps`-step inputs, splitting each batch over `threads`
    /// workers, with kernel variant `kernel` (``FusedStep``).
    package init(architecture: LSTMArchitecture, timeSteps: Int, threads: Int, batchSize: Int = 1000, kernel: KernelISA = .detected) {
        self.batchSize = batchSize
        engine = GradientEngine(architecture: architecture, timeSteps: timeSteps, batchCapacity: batchSize, workerCount: threads,
                                kernel: kernel)
    }

    /// Logits `[count, C]` of `data`'s images (pixels scaled by 1/255, spec §6.2).
    package func logits(parameters: LSTMParameters<Float>, images: [UInt8], count: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(count * parameters.architecture.classCount)
        parameters.values.withUnsafeBufferPointer { p in
            images.withUnsafeBufferPointer { px in
                for start in stride(from: 0, to: count, by: batchSize) {
                    let indices = Array(start..<min(count, start + batchSize))[...]
                    out += engine.logits(parameters: p, source: .images(px, scale: pixelScale), indices: indices)
                }
            }
        }
        return out
    }

    /// Mean loss and accuracy on `data`.
    package func evaluate(parameters: LSTMParameters<Float>, on data: LabeledPixels) -> EvaluationResult {
        EvaluationResult(logits: logits(parameters: parameters, images: data.pixels, count: data.count),
                         labels: data.labels, classCount: parameters.architecture.classCount)
    }
}

extension EvaluationResult {
    /// Mean cross-entropy and arg-max accuracy of `logits` (`[labels.count, classCount]`, row-major)
    /// against `labels`. Per row, `loss = log(sum_j exp(z_j - m)) - (z_label - m)` with `m` the row's
    /// maximum (no overflow), accumulated in float64; the prediction is the first maximum.
    package init(logits: [Float], labels: [Int], classCount c: Int) {
        var loss = 0.0, correct = 0
        for (b, label) in labels.enumerated() {
            let row = logits[(b * c)..<((b + 1) * c)]
            let maximum = row.max()!
            let best = row.firstIndex(of: maximum)! - b * c
            if best == label { correct += 1 }
            var sum = 0.0
            for v in row { sum += Double.exponential(Double(v - maximum)) }
            loss += Double.logarithm(sum) - Double(row[b * c + label] - maximum)
        }
        let n = max(1, labels.count)
        self.init(loss: loss / Double(n), accuracy: Double(correct) / Double(n), count: labels.count)
    }
}

/// `1/255` rounded to binary32: the input contract's scale (spec §6.2).
package let pixelScale: Float = 1 / 255
