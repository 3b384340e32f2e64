/// Writes `softmax(logits)` into `probabilities` for one row of `count` classes and returns the
/// arg-max (the lowest index on ties).
///
/// Numerically stable: `e^(z - max z)` never overflows and the largest term is exactly 1, so the
/// sum is at least 1 and never underflows to zero. Uses libm's `expf`.
package func softmaxRow(_ logits: UnsafePointer<Float>, _ probabilities: UnsafeMutablePointer<Float>, count: Int) -> Int {
    var best = 0
    for c in 1..<max(count, 1) where logits[c] > logits[best] { best = c }
    let top = logits[best]
    var sum: Float = 0
    for c in 0..<count {
        let e = libmExp(logits[c] - top)
        probabilities[c] = e
        sum += e
    }
    let inverse = 1 / sum
    for c in 0..<count { probabilities[c] *= inverse }
    return best
}
