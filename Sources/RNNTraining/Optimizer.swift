import RNNSupport

/// Adam (Kingma & Ba 2015, Algorithm 1) with decoupled weight decay (AdamW, Loshchilov & Hutter
/// 2019, Algorithm 2) over a flat parameter vector, in float32.
///
///     m = β1 m + (1-β1) g        v = β2 v + (1-β2) g²
///     θ = θ - lr · m̂ / (sqrt(v̂) + ε) - lr · wd · θ,   m̂ = m / (1-β1^t),  v̂ = v / (1-β2^t)
///
/// The first term is the paper's Adam (ε added to `sqrt(v̂)`, as PyTorch's `torch.optim.Adam`). The
/// decay is *decoupled*: it shrinks the weights directly, scaled by the learning rate (so it follows
/// the schedule), instead of adding `wd · θ` to the gradient, where Adam's `1/sqrt(v̂)` would weaken
/// it for exactly the weights with large gradients (the paper's argument, §2). `θ` in the decay term
/// is the weight before this update, as in PyTorch's `AdamW` (`θ ← θ(1 - lr·wd)` first); the two
/// terms are subtracted in that order, so a step with decay is Adam's step minus `lr · wd · θ`
/// exactly. Only the index ranges in ``decayed`` decay: for the LSTM, the weight matrices, not the
/// biases (``TrainingConfiguration/decayedRanges``), the common choice (a bias sets an offset, not
/// a scale, and pulling a forget-gate bias of 1 to 0 undoes its initialization). With a decay of 0
/// the update is the previous optimizer's, bit for bit.
package struct AdamOptimizer: Sendable, Equatable {
    /// Decay of the first-moment estimate.
    package var beta1: Float
    /// Decay of the second-moment estimate.
    package var beta2: Float
    /// Added to `sqrt(v̂)` to avoid division by zero.
    package var epsilon: Float
    /// Decoupled weight decay `wd` (0: plain Adam).
    package var weightDecay: Float
    /// The parameter index ranges that decay (sorted, disjoint); the rest (biases) do not.
    package var decayed: [Range<Int>]
    /// First-moment estimates, one per parameter.
    package var firstMoment: [Float]
    /// Second-moment estimates, one per parameter.
    package var secondMoment: [Float]
    /// Number of updates applied so far (`t` of the paper after the next update is `step + 1`).
    package var step: Int

    /// An optimizer with zero moments for `parameterCount` parameters; `weightDecay` applies to the
    /// index ranges `decayed` only (sorted, disjoint, inside `0..<parameterCount`).
    package init(parameterCount: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                 weightDecay: Float = 0, decayed: [Range<Int>] = []) {
        precondition(zip(decayed, decayed.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }
                     && decayed.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= parameterCount },
                     "decayed ranges must be sorted, disjoint and inside the parameters")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decayed = decayed
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
        step = 0
    }

    /// Applies one update with learning rate `learningRate` to `parameters` given `gradient`.
    package mutating func update(parameters: inout [Float], gradient: [Float], learningRate: Float) {
        precondition(parameters.count == gradient.count && gradient.count == firstMoment.count, "size mismatch")
        step += 1
        // Bias corrections in double: beta^t underflows gracefully and keeps float32 rounding out of them.
        let correction1 = Float(1 - pow(Double(beta1), Double(step)))
        let correction2 = Float(1 - pow(Double(beta2), Double(step)))
        let stepSize = learningRate / correction1
        let b1 = beta1, b2 = beta2, eps = epsilon
        let root2 = correction2.squareRoot()
        let shrink = learningRate * weightDecay
        // Segments [start, end) alternate between not decaying and decaying (`ranges`).
        let ranges = shrink == 0 ? [] : decayed
        parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                firstMoment.withUnsafeMutableBufferPointer { m in
                    secondMoment.withUnsafeMutableBufferPointer { v in
                        // The hot loop of the optimizer; `decay` is a constant per segment so that
                        // the loop without it is exactly the previous optimizer's.
                        func adam(_ range: Range<Int>, decay: Float) {
                            for k in range {
                                let gk = g[k]
                                m[k] = b1 * m[k] + (1 - b1) * gk
                                v[k] = b2 * v[k] + (1 - b2) * gk * gk
                                // sqrt(v̂) = sqrt(v) / sqrt(1-β2^t)
                                if decay == 0 {
                                    p[k] -= stepSize * m[k] / (v[k].squareRoot() / root2 + eps)
                                } else {
                                    p[k] = p[k] - stepSize * m[k] / (v[k].squareRoot() / root2 + eps) - decay * p[k]
                                }
                            }
                        }
                        var start = 0
                        for r in ranges {
                            adam(start..<r.lowerBound, decay: 0)
                            adam(r, decay: shrink)
                            start = r.upperBound
                        }
                        adam(start..<p.count, decay: 0)
                    }
                }
            }
        }
    }
}

/// Scales `gradient` down so that its L2 norm is at most `maximum` (Pascanu et al. 2013);
/// returns the norm before clipping. A `maximum` of 0 or less disables clipping.
@discardableResult
package func clipGradientNorm(_ gradient: inout [Float], maximum: Float) -> Float {
    var sum = 0.0
    gradient.withUnsafeBufferPointer { g in for x in g { sum += Double(x) * Double(x) } }
    let norm = Float(sum.squareRoot())
    if maximum > 0 && norm > maximum {
        let factor = maximum / norm
        gradient.withUnsafeMutableBufferPointer { g in for k in 0..<g.count { g[k] *= factor } }
    }
    return norm
}

/// How the learning rate changes over training.
package enum LearningRateSchedule: String, Sendable, Codable, CaseIterable {
    /// The base rate throughout (the tutorial preset).
    case constant
    /// Linear warm-up over the first ``LearningRatePlan/warmupSteps`` steps, then cosine decay
    /// to `minimumFactor × base` at the last step (Loshchilov & Hutter 2017, without restarts).
    case cosine
    /// Halve the rate every `max(1, totalSteps / 4)` steps.
    case step
}

/// The learning rate at every step of a run.
package struct LearningRatePlan: Sendable, Equatable {
    /// The peak (or constant) learning rate.
    package var base: Float
    /// How the rate changes.
    package var schedule: LearningRateSchedule
    /// Steps of the whole run.
    package var totalSteps: Int
    /// Linear warm-up steps (cosine schedule only).
    package var warmupSteps: Int
    /// The cosine schedule ends at `base * minimumFactor`.
    package var minimumFactor: Float = 0.01

    /// A plan for a run of `totalSteps` steps.
    package init(base: Float, schedule: LearningRateSchedule, totalSteps: Int, warmupSteps: Int) {
        self.base = base
        self.schedule = schedule
        self.totalSteps = max(1, totalSteps)
        self.warmupSteps = warmupSteps
    }

    /// The rate for 0-based step `step`.
    package func rate(at step: Int) -> Float {
        switch schedule {
        case .constant:
            return base
        case .step:
            let period = max(1, totalSteps / 4)
            return base * Float(pow(0.5, Double(step / period)))
        case .cosine:
            if step < warmupSteps { return base * Float(step + 1) / Float(warmupSteps) }
            let span = max(1, totalSteps - warmupSteps - 1)
            let progress = min(1, Double(step - warmupSteps) / Double(span))
            let cosine = 0.5 * (1 + cos(Double.pi * progress))
            return base * (minimumFactor + (1 - minimumFactor) * Float(cosine))
        }
    }
}
