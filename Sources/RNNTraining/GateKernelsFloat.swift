import RNNCore

/// SIMD versions of the fused gate passes for `Float`.
///
/// LLVM does not vectorize the generic loops (too many pointers that might alias), and these
/// passes are the only non-BLAS work that scales with `T·B·H`. Eight lanes at a time, the scalar
/// loop handling any remainder of `H`. Same arithmetic as ``Float/gateSigmoid(_:)`` and
/// ``Float/gateTanh(_:)`` lane by lane, so results do not depend on `H mod 8`.
///
/// In debug builds (`-DDEBUG`, as `swift test` builds) the SIMD types are unspecialized generic
/// code, about 100x slower than the scalar loop, so there the scalar loop does all of `H`.

#if DEBUG
let vectorLanes = false
#else
let vectorLanes = true
#endif

@inline(__always)
func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }

@inline(__always)
func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) }

/// The gate functions: RNNCore's one implementation (``fastSigmoid(_:)``, ``fastTanh(_:)``).
@inline(__always) func sigmoid(_ x: Lanes) -> Lanes { fastSigmoid(x) }
@inline(__always) func tanhLanes(_ x: Lanes) -> Lanes { fastTanh(x) }

func gateForwardFloat(
    z: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, previousCell: UnsafePointer<Float>?,
    cell: UnsafeMutablePointer<Float>, cellTanh: UnsafeMutablePointer<Float>,
    hidden: UnsafeMutablePointer<Float>, rows: Int, hiddenSize h: Int
) {
    let vectorEnd = vectorLanes ? h - h % 8 : 0
    for b in 0..<rows {
        let zr = z + b * 4 * h
        let cr = cell + b * h, tr = cellTanh + b * h, hr = hidden + b * h
        var j = 0
        while j < vectorEnd {
            let i = sigmoid(load(zr + j) + load(bias + j))
            let f = sigmoid(load(zr + h + j) + load(bias + h + j))
            let g = tanhLanes(load(zr + 2 * h + j) + load(bias + 2 * h + j))
            let o = sigmoid(load(zr + 3 * h + j) + load(bias + 3 * h + j))
            var c = i * g
            if let previousCell { c += f * load(previousCell + b * h + j) }
            let tc = tanhLanes(c)
            store(i, zr + j); store(f, zr + h + j); store(g, zr + 2 * h + j); store(o, zr + 3 * h + j)
            store(c, cr + j); store(tc, tr + j); store(o * tc, hr + j)
            j += 8
        }
        while j < h {
            let i = Float.gateSigmoid(zr[j] + bias[j])
            let f = Float.gateSigmoid(zr[h + j] + bias[h + j])
            let g = Float.gateTanh(zr[2 * h + j] + bias[2 * h + j])
            let o = Float.gateSigmoid(zr[3 * h + j] + bias[3 * h + j])
            var c = i * g
            if let previousCell { c += f * previousCell[b * h + j] }
            let tc = Float.gateTanh(c)
            zr[j] = i; zr[h + j] = f; zr[2 * h + j] = g; zr[3 * h + j] = o
            cr[j] = c; tr[j] = tc; hr[j] = o * tc
            j += 1
        }
    }
}

func gateBackwardFloat(
    gates: UnsafePointer<Float>, gateGradient: UnsafeMutablePointer<Float>,
    previousCell: UnsafePointer<Float>?, cellTanh: UnsafePointer<Float>,
    hiddenGradient: UnsafePointer<Float>, externalGradient: UnsafePointer<Float>?,
    cellGradient: UnsafeMutablePointer<Float>, rows: Int, hiddenSize h: Int
) {
    let vectorEnd = vectorLanes ? h - h % 8 : 0
    let one = Lanes(repeating: 1)
    for b in 0..<rows {
        let act = gates + b * 4 * h, dz = gateGradient + b * 4 * h
        let tc = cellTanh + b * h, dhr = hiddenGradient + b * h, dcr = cellGradient + b * h
        var j = 0
        while j < vectorEnd {
            var dh = load(dhr + j)
            if let externalGradient { dh += load(externalGradient + b * h + j) }
            let i = load(act + j), f = load(act + h + j), g = load(act + 2 * h + j), o = load(act + 3 * h + j)
            let t = load(tc + j)
            let dc = load(dcr + j) + dh * o * (one - t * t)
            store(dc * g * i * (one - i), dz + j)
            let cp = previousCell.map { load($0 + b * h + j) } ?? Lanes(repeating: 0)
            store(dc * cp * f * (one - f), dz + h + j)
            store(dc * i * (one - g * g), dz + 2 * h + j)
            store(dh * t * o * (one - o), dz + 3 * h + j)
            store(dc * f, dcr + j)
            j += 8
        }
        while j < h {
            let dh = dhr[j] + (externalGradient.map { $0[b * h + j] } ?? 0)
            let i = act[j], f = act[h + j], g = act[2 * h + j], o = act[3 * h + j]
            let t = tc[j]
            let dc = dcr[j] + dh * o * (1 - t * t)
            dz[j] = dc * g * i * (1 - i)
            dz[h + j] = (previousCell.map { dc * $0[b * h + j] } ?? 0) * f * (1 - f)
            dz[2 * h + j] = dc * i * (1 - g * g)
            dz[3 * h + j] = dh * t * o * (1 - o)
            dcr[j] = dc * f
            j += 1
        }
    }
}

/// ``gruGateBackward(gates:gateGradient:previousHidden:after:hiddenGradient:externalGradient:rows:hiddenSize:)``
/// for `Float`, eight units at a time (``gruGateBackwardUnits`` takes any remainder of `H`); the same
/// arithmetic in the same order lane by lane, so results do not depend on `H mod 8`.
func gruGateBackwardFloat(
    gates: UnsafePointer<Float>, gateGradient: UnsafeMutablePointer<Float>, previousHidden: UnsafePointer<Float>?,
    after: Bool, hiddenGradient: UnsafeMutablePointer<Float>, externalGradient: UnsafePointer<Float>?,
    rows: Int, hiddenSize h: Int
) {
    let vectorEnd = vectorLanes ? h - h % 8 : 0
    let one = Lanes(repeating: 1)
    for b in 0..<rows {
        let act = gates + b * 4 * h, dz = gateGradient + b * 4 * h, dhr = hiddenGradient + b * h
        var j = 0
        while j < vectorEnd {
            var dh = load(dhr + j)
            if let externalGradient { dh += load(externalGradient + b * h + j) }
            let r = load(act + j), u = load(act + h + j), n = load(act + 2 * h + j), hn = load(act + 3 * h + j)
            let hp = previousHidden.map { load($0 + b * h + j) } ?? Lanes(repeating: 0)
            let dn = dh * (one - u) * (one - n * n)
            store(dh * (hp - n) * u * (one - u), dz + h + j)
            store(dn, dz + 2 * h + j)
            if after {
                store(dn * hn * r * (one - r), dz + j)
                store(dn * r, dz + 3 * h + j)
            } else {
                store(dn, dz + 3 * h + j)
            }
            store(dh * u, dhr + j)
            j += 8
        }
        gruGateBackwardUnits(j..<h, row: b, gates: gates, gateGradient: gateGradient, previousHidden: previousHidden,
                             after: after, hiddenGradient: hiddenGradient, externalGradient: externalGradient, hiddenSize: h)
    }
}
