/// The one implementation of `e^x`, `sigmoid` and `tanh` that the Swift gate passes use (runtime and
/// trainer alike), in binary32, on eight lanes and on one value.
///
/// libm evaluates one scalar at a time and LLVM cannot vectorize its calls; the gate pass needs `4H`
/// transcendental functions per sequence and time step. The approximation is Cephes' `expf`: range
/// reduction `x = n ln2 + r` with `n = round(x / ln2)` (the `1.5 * 2^23` trick) and `ln2` split in two
/// (Cody-Waite) so that `n ln2_hi` is exact; a degree-6 polynomial for `e^r` on `[-ln2/2, ln2/2]`;
/// `2^n` built in the exponent bits. The input is clamped to `[-87.3, 88.3]` so that `2^n` stays a
/// normal binary32. Relative error below 2e-7; `|sigmoid - libm|` and `|tanh - libm|` stay below
/// 1e-6 on `[-30, 30]` (RNNCoreTests).
///
/// The lane and scalar forms perform the same IEEE operations in the same order (Swift never
/// contracts `a * b + c` into a fused multiply-add), so they agree bit for bit; a test checks it.
/// The C kernels (RNNKernels) evaluate the same polynomial in their own registers.
@usableFromInline package typealias Lanes = SIMD8<Float>

/// Lanes per SIMD vector: hidden sizes are padded to a multiple of it (``GateLayout``).
@usableFromInline package let laneCount = Lanes.scalarCount

/// `e^x` on eight lanes.
@inlinable @inline(__always)
package func fastExp(_ input: Lanes) -> Lanes {
    // Compare-and-select, not `clamped`, whose pointwise min/max the compiler leaves as calls.
    let low = Lanes(repeating: -87.3), high = Lanes(repeating: 88.3)
    var x = input
    x.replace(with: low, where: x .< low)
    x.replace(with: high, where: x .> high)
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let r = x - n * 0.693_359_375 + n * 2.121_944_40e-4
    var p = Lanes(repeating: 1.987_569_150_0e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let y = p * r * r + r + 1
    return y * unsafeBitCast((integer &+ 127) &<< 23, to: Lanes.self)
}

/// `e^x` on one value: the same operations as the lane form.
@inlinable @inline(__always)
package func fastExp(_ input: Float) -> Float {
    var x = input
    if x < -87.3 { x = -87.3 }
    if x > 88.3 { x = 88.3 }
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let integer = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    let r = x - n * 0.693_359_375 + n * 2.121_944_40e-4
    var p: Float = 1.987_569_150_0e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let y = p * r * r + r + 1
    return y * Float(bitPattern: UInt32(bitPattern: (integer &+ 127) &<< 23))
}

/// `1 / (1 + e^-x)` on eight lanes.
@inlinable @inline(__always)
package func fastSigmoid(_ x: Lanes) -> Lanes { 1 / (1 + fastExp(-x)) }

/// `1 / (1 + e^-x)` on one value.
@inlinable @inline(__always)
package func fastSigmoid(_ x: Float) -> Float { 1 / (1 + fastExp(-x)) }

/// `tanh(x) = 2 / (1 + e^(-2x)) - 1` on eight lanes: one exponential, no sign handling; the
/// subtraction near `x = 0` costs at most an ulp of 1 (6e-8) in absolute error.
@inlinable @inline(__always)
package func fastTanh(_ x: Lanes) -> Lanes { 2 / (1 + fastExp(-2 * x)) - 1 }

/// `tanh` on one value, as the lane form.
@inlinable @inline(__always)
package func fastTanh(_ x: Float) -> Float { 2 / (1 + fastExp(-2 * x)) - 1 }

/// libm's `expf` (softmax, the `libm` activation mode).
@inlinable @inline(__always)
package func libmExp(_ x: Float) -> Float { expf(x) }

/// libm's `tanhf`.
@inlinable @inline(__always)
package func libmTanh(_ x: Float) -> Float { tanhf(x) }

import RNNSupport
