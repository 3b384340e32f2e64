/// Vectorized `exp`, `sigmoid` and `tanh` for the LSTM gate pass (spec §6.1, `lstm`).
///
/// libm evaluates one scalar at a time; the gate pass needs `4H` transcendental functions per
/// image and time step, so these work on eight lanes at once. The approximation is the classic
/// Cephes `expf` (range reduction `x = n ln2 + r`, a degree-6 polynomial for `e^r`, then `2^n`
/// built in the exponent bits). Its relative error is below 2e-7; the tests sweep [-30, 30] and
/// check `|sigmoid - libm| < 1e-6` and `|tanh - libm| < 1e-6`.
typealias Lanes = SIMD8<Float>

/// Lanes per SIMD vector; the LSTM hidden size is padded to a multiple of it (see `LSTMStage`).
let laneCount = Lanes.scalarCount

@inline(__always)
func fastExp(_ x: Lanes) -> Lanes {
    // Clamp so that 2^n stays a normal binary32: n in [-126, 127]. (Compare-and-select, not
    // `clamped`, whose pointwise min/max the compiler leaves as out-of-line calls.)
    let low = Lanes(repeating: -87.3), high = Lanes(repeating: 88.3)
    var x = x.replacing(with: low, where: x .< low)
    x = x.replacing(with: high, where: x .> high)
    // n = round(x / ln2), using the 1.5 * 2^23 trick: adding it leaves n in the low mantissa bits.
    let magic = Lanes(repeating: 12_582_912)
    let shifted = x * Lanes(repeating: 1.442_695_04) + magic
    let n = shifted - magic
    // r = x - n ln2 with ln2 split in two so that n * ln2_hi is exact (Cody-Waite).
    var r = x - n * Lanes(repeating: 0.693_359_375)
    r = r - n * Lanes(repeating: -2.121_944_4e-4)
    // e^r on [-ln2/2, ln2/2] (Cephes expf coefficients).
    var p = Lanes(repeating: 1.987_569_15e-4)
    p = p * r + Lanes(repeating: 1.398_199_95e-3)
    p = p * r + Lanes(repeating: 8.333_451_9e-3)
    p = p * r + Lanes(repeating: 4.166_579_59e-2)
    p = p * r + Lanes(repeating: 1.666_666_55e-1)
    p = p * r + Lanes(repeating: 5.000_000_12e-1)
    p = p * (r * r) + r + Lanes(repeating: 1)
    // 2^n: the integer n sits in the low bits of `shifted`; move it into the exponent field.
    let nBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- SIMD8<Int32>(repeating: 0x4B40_0000)
    let scale = unsafeBitCast((nBits &+ SIMD8<Int32>(repeating: 127)) &<< SIMD8<Int32>(repeating: 23), to: Lanes.self)
    return p * scale
}

/// `1 / (1 + e^-x)`.
@inline(__always)
func fastSigmoid(_ x: Lanes) -> Lanes {
    Lanes(repeating: 1) / (Lanes(repeating: 1) + fastExp(-x))
}

/// `tanh(x) = 2 / (1 + e^(-2x)) - 1`: one exponential, no sign handling; the subtraction near
/// `x = 0` costs at most an ulp of 1 (6e-8) in absolute error, well inside the 1e-6 bound.
@inline(__always)
func fastTanh(_ x: Lanes) -> Lanes {
    Lanes(repeating: 2) / (Lanes(repeating: 1) + fastExp(Lanes(repeating: -2) * x)) - Lanes(repeating: 1)
}

/// Scalar `exp` for softmax and the reference path, from the platform's libm.
@inline(__always)
func libmExp(_ x: Float) -> Float {
    expf(x)
}

@inline(__always)
func libmTanh(_ x: Float) -> Float {
    tanhf(x)
}

import RNNSupport
