/// How far a binary32 implementation's logits may be from the float64 golden logits.
///
/// A value passes when `|actual - golden| <= absolute + relative * |golden|`.
///
/// Derivation (spec/GOLDEN.md, "Tolerances", has the long form). `u = 2^-24 ≈ 5.96e-8` is the
/// binary32 unit roundoff. The golden values take the spec §6.2 input in binary32 and the
/// dequantized binary32 weights, then compute in float64 (error ~1e-15: negligible).
///
/// 1. Each of the T = 28 steps computes the 4H pre-activations `z = A x + b_ih + R h + b_hh`
///    as binary32 sums of `K = I + H + 2` terms (158 for the course model, folded). Rounding
///    errors behave like independent zero-mean variables (Higham & Mary 2019), so a sum errs by
///    about `√K u S`, with `S = Σ|terms|`: `|x| <= 1`, `|h| < 1`, most pixels are 0, so `S` is a
///    few units (its bound, the largest row 1-norm of `[A' R b']`, is 15.5 for the course model, 20.1 for the tiny one).
/// 2. The gates pass `δz` on with `sigmoid' <= 1/4`, `tanh' <= 1`, and add their own error:
///    1 ulp with libm, at most 1e-6 absolute with the runtime's fast approximations.
/// 3. The state carries each step's error into the next. A trained LSTM's state map is
///    contractive on average (forget gates < 1, saturated gates), so the T step errors add at
///    most linearly: `δ ≈ T √K u S = 28 × 12.6 × 5.96e-8 × S ≈ 2.1e-5 S`, i.e. `1e-4` for
///    `S ≈ 5`; the activation approximations add at most `28 × 1e-6 × ‖w_out‖_2 (<= 2.5) ≈ 7e-5`.
/// 4. `dense_out` (`‖w_out‖_2 <= 2.5` per row here) adds `√H u Σ|w h|` ≈ 1e-6 of its own.
///
/// Hence `absolute = 1e-4`, and `relative = 1e-4` so that large logits (whose final sums round
/// in proportion to them) get proportional room. This is a statistically safe estimate, not a
/// proof: a worst-case bound for a recurrence grows like `‖J‖^T` and is vacuous. Measured
/// differences (printed by the tests, listed in spec/GOLDEN.md) stay below 4e-6, 25 times inside.
/// The same tolerance holds for f16/bf16/int8 models: the golden values are computed from the
/// *dequantized* binary32 weights (spec §4.1), so quantization error is not part of the comparison.
struct Tolerance: Sendable {
    var absolute: Double
    var relative: Double

    /// The bound for one golden value.
    func bound(_ golden: Double) -> Double { absolute + relative * abs(golden) }

    /// binary32 inference (and f16/bf16/int8 models, which are computed in binary32 after
    /// dequantization) against the float64 golden values.
    static let binary32 = Tolerance(absolute: 1e-4, relative: 1e-4)

    /// Two float64 implementations (the Python reference reader) against the golden values:
    /// only summation order differs, `≈ K × 1.1e-16 × S` per step, far below 1e-9.
    static let binary64 = Tolerance(absolute: 1e-9, relative: 1e-9)

    /// For a dtype name of the manifest.
    static func forDType(_ dtype: String) -> Tolerance { binary32 }

    /// binary32 inference on the format-1.2 golden set (fixtures/golden/v1.2; spec/GOLDEN.md,
    /// "Format 1.2"): gru and lstm layers over sequences of up to T = 29 steps, bidirectional layers,
    /// a stack of three recurrent layers, standardized features, PyTorch-initialized weights.
    ///
    /// The same model of rounding as above, per recurrent layer and direction: `δh ≈ T √K u S` with
    /// `K = I + H + 2` and `S` the largest row 1-norm of `[A' R b']` against `|x| <= 1` (standardized
    /// features), `|h| < 1`. Over the ten models `K` is 21 ... 62 and `S` 3.7 ... 7.1 (PyTorch's
    /// uniform(±1/√H) init), so one direction gives `3e-5 ... 7e-5`. A bidirectional layer's two
    /// directions err independently and meet in the head (`× √2`); stacked layers pass the error
    /// below them on through `A` (row 2-norms below 1 here) and add their own, so the three layers
    /// of `stacked` add up to `2.3e-4` in `h`. The output layer's rows have 2-norm <= 0.71, which
    /// leaves `1.3e-4` on the outputs; the runtime's activation approximations (<= 1e-6 each) add at
    /// most `29 × 1e-6 × 0.71 ≈ 2e-5` per direction and layer, about `6e-5` for `stacked`.
    /// Hence `absolute = 2e-4` (the largest estimate, `stacked`'s ~1.9e-4), `relative = 1e-4` as
    /// above. PyTorch's own binary32 forward pass stays below 1e-7 on every case (0.0005 of this);
    /// a wrong reset mode, swapped directions or a forgotten standardization move the outputs by
    /// 300 ... 2,700 times the tolerance (make_golden_v12.py checks both). The manifest states it too.
    static let binary32FormatV12 = Tolerance(absolute: 2e-4, relative: 1e-4)
}
