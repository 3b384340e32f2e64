import RNNSupport
import CBLAS
import RNNCore

/// A floating-point type the network can be computed in.
///
/// Training runs in `Float`; gradient checks and the reference forward pass run the very same
/// code in `Double`. The two conformances differ only in which BLAS routine multiplies matrices
/// and which libm functions they call, so the float64 path checks the float32 one.
package protocol TrainingScalar: BinaryFloatingPoint, Sendable where Self.RawSignificand: FixedWidthInteger {
    /// `C = alpha * op(A) * op(B) + beta * C`, row-major (`cblas_sgemm` / `cblas_dgemm`).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// `e^x`.
    static func exponential(_ x: Self) -> Self
    /// Natural logarithm.
    static func logarithm(_ x: Self) -> Self
    /// Hyperbolic tangent.
    static func hyperbolicTangent(_ x: Self) -> Self
    /// The logistic function `1 / (1 + e^-x)` as used by the gate pass.
    static func gateSigmoid(_ x: Self) -> Self
    /// `tanh` as used by the gate pass.
    static func gateTanh(_ x: Self) -> Self
}

@inline(__always)
private func transposeFlag(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }

extension Float: TrainingScalar {
    @inline(__always)
    package static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor, transposeFlag(transposeA), transposeFlag(transposeB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    @inline(__always) package static func exponential(_ x: Float) -> Float { expf(x) }
    @inline(__always) package static func logarithm(_ x: Float) -> Float { logf(x) }
    @inline(__always) package static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    /// Branch-free, so that the gate loops vectorize: RNNCore's one `exp` (``fastSigmoid(_:)``).
    @inline(__always) package static func gateSigmoid(_ x: Float) -> Float { fastSigmoid(x) }
    /// `tanh(x) = 2 σ(2x) - 1`; absolute error below 2e-7 (RNNCore's ``fastTanh(_:)``).
    @inline(__always) package static func gateTanh(_ x: Float) -> Float { fastTanh(x) }
}

extension Double: TrainingScalar {
    @inline(__always)
    package static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, transposeFlag(transposeA), transposeFlag(transposeB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    @inline(__always) package static func exponential(_ x: Double) -> Double { exp(x) }
    @inline(__always) package static func logarithm(_ x: Double) -> Double { log(x) }
    @inline(__always) package static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
    /// Exact libm functions: the float64 path is the reference.
    @inline(__always) package static func gateSigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
    @inline(__always) package static func gateTanh(_ x: Double) -> Double { tanh(x) }
}
