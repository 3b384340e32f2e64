/// `dense_out`'s input when it is not simply the final states: pooling over time and output dropout.
///
/// With ``TimePooling/mean`` or ``TimePooling/max`` the last layer's per-step outputs (`[hf[t], hb[t]]`
/// in sequence time when bidirectional) are reduced over each sequence's own valid steps
/// `0 ..< length` (padding never counts, spec §6.1 `pool`):
///
///     mean:  y[j] = (h[0][j] + h[1][j] + ... + h[n-1][j]) / n        (summed in increasing t)
///     max:   y[j] = max over t < n of h[t][j]
///
/// and the backward pass sends `dL/dy` back to the steps it came from:
///
///     mean:  dL/dh[t][j] = dL/dy[j] / n            for every t < n
///     max:   dL/dh[t*][j] = dL/dy[j]               t* = the arg-max of column j (ties: the first in
///                                                  sequence time), 0 at every other step
///
/// (max is differentiable wherever the maximum is unique; at a tie this is one subgradient).
/// The backward direction of a bidirectional layer stores step `t` at its own step `n-1-t`
/// (``Workspace/copySteps(from:stride:to:stride:width:count:reversed:add:)``), so its pooling walks
/// its buffer from `n-1` down to 0 to visit sequence time in increasing order.
extension Workspace {
    /// Whether `dense_out` reads ``head`` rather than the final states directly.
    var usesHead: Bool { architecture.pooling != .last || masks?.output != nil }

    /// Fills ``head`` `[B, D*H]`: the final states or the pooled outputs, times the output mask.
    func forwardHead(count: Int) {
        let a = architecture, h = a.hiddenSize, wide = a.outputWidth, last = a.layerCount - 1
        for d in 0..<a.directionCount {
            let hidden = directions[last][d].hidden
            for b in 0..<count {
                let out = head + b * wide + d * h, n = length(b)
                // Row of sequence step t in this direction's buffer.
                func row(_ t: Int) -> UnsafeMutablePointer<Scalar> { hidden + ((d == 1 ? n - 1 - t : t) * count + b) * h }
                if n == 0 && a.pooling != .last {
                    out.update(repeating: 0, count: h)  // an empty text pools to y = 0 (spec §6.1 pool)
                    continue
                }
                switch a.pooling {
                case .last:
                    // Each direction's state at its own step T-1 (carried over padding).
                    out.update(from: hidden + ((timeSteps - 1) * count + b) * h, count: h)
                case .mean:
                    out.update(from: row(0), count: h)
                    for t in 1..<n { let r = row(t); for j in 0..<h { out[j] += r[j] } }
                    let divisor = Scalar(n)
                    for j in 0..<h { out[j] /= divisor }
                case .max:
                    let winners = argmax + b * wide + d * h
                    out.update(from: row(0), count: h)
                    for j in 0..<h { winners[j] = 0 }
                    for t in 1..<n {
                        let r = row(t)
                        for j in 0..<h where r[j] > out[j] { out[j] = r[j]; winners[j] = t }
                    }
                }
            }
        }
        if let mask = masks?.output { applyMask(mask, to: head) }
    }

    /// Spreads ``headGradient`` (`dL/dhead`, before the mask) onto the last layer's steps: per
    /// direction `d`, `[B, H]` at `gradient + d*B*H` for the final state, or `[T*B, H]` in that
    /// direction's time at `gradient + d*T*B*H` for pooling.
    func backwardHead(into gradient: UnsafeMutablePointer<Scalar>, count: Int) {
        let a = architecture, h = a.hiddenSize, wide = a.outputWidth, rows = timeSteps * count
        if let mask = masks?.output { applyMask(mask, to: headGradient) }
        for d in 0..<a.directionCount {
            let base = gradient + d * (a.pooling == .last ? count : rows) * h
            if a.pooling != .last { base.update(repeating: 0, count: rows * h) }
            for b in 0..<count {
                let dy = headGradient + b * wide + d * h, n = length(b)
                if n == 0 && a.pooling != .last { continue }  // y = 0 does not depend on any step
                switch a.pooling {
                case .last:
                    (base + b * h).update(from: dy, count: h)
                case .mean:
                    let divisor = Scalar(n)
                    for u in 0..<n {
                        let r = base + (u * count + b) * h
                        for j in 0..<h { r[j] = dy[j] / divisor }
                    }
                case .max:
                    let winners = argmax + b * wide + d * h
                    for j in 0..<h {
                        let u = d == 1 ? n - 1 - winners[j] : winners[j]
                        base[(u * count + b) * h + j] = dy[j]
                    }
                }
            }
        }
    }
}
