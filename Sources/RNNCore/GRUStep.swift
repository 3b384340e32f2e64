import RNNKernels

/// One call of the fused GRU step kernel (`rnnk_gru_step`, rnn_kernels.h), with named arguments.
///
/// The only place that builds `rnnk_gru_step_args`. PyTorch's `nn.GRU` (gates r, z, n) per row,
/// with `h = h[t-1]` (nil at the first step: `h = 0`) and the columns of ``GateLayout/gruRow(gate:unit:)``:
///
///     r = σ(x W_ir + h W_hr + b_r)     z = σ(x W_iz + h W_hz + b_z)    (b = ``biasX``, or ``zIn``[r] replacing b + x W)
///     resetAfter:  n = tanh(x W_in + b_in + r * (h W_hn + b_hn))       (PyTorch; b_hn = ``biasHN``)
///     otherwise:   n = tanh(x W_in + (r * h) W_hn + b_in + b_hn)       (the original GRU; b_hn folded into ``biasX``)
///     h_out = n + z * (h - n)
package struct GRUStep {
    /// Rows (sequences) in this call.
    package var rows: Int
    /// Groups of 8 hidden units (`paddedHidden / 8`).
    package var groups: Int
    /// Input rows at `x + r * xStride`, `xWidth` values each, and their packed weights
    /// (``GateLayout/packGRU(_:rows:columns:)``); `x == nil` when ``zIn`` holds the input projection.
    package var x: UnsafePointer<Float>?
    package var xStride: Int
    package var xWidth: Int
    package var wx: UnsafePointer<Float>?
    /// Previous hidden state rows at `h + r * hStride` (width `8 * groups`), or nil at the first step.
    package var h: UnsafePointer<Float>?
    package var hStride: Int
    /// `[8 * groups, 24 * groups]` packed; its n columns hold `W_hn`.
    package var wh: UnsafePointer<Float>
    /// `[24 * groups]`: r `b_ir + b_hr`, z `b_iz + b_hz`, n `b_in` (``resetAfter``) or `b_in + b_hn`.
    /// Not read when ``zIn`` is given.
    package var biasX: UnsafePointer<Float>?
    /// `[8 * groups]`: `b_hn`, read only when ``resetAfter``; nil means zero.
    package var biasHN: UnsafePointer<Float>?
    /// PyTorch's GRU (Keras `reset_after=True`, ONNX `linear_before_reset=1`) when true; the
    /// original GRU (the reset before the recurrent product of n) when false.
    package var resetAfter: Bool
    package var hOut: UnsafeMutablePointer<Float>
    package var hOutStride: Int
    /// `[rows, 3 * 8 * groups]` contiguous: needed when `resetAfter` is false and `h` is given (the
    /// kernel's two phases hand `r * h`, `z` and the input side of n over through it).
    package var scratch: UnsafeMutablePointer<Float>? = nil
    /// Per-row starting values of the 24 * groups input-side columns in place of ``biasX`` (a
    /// folded embedding table's rows, `E W_ihᵀ + b`).
    package var zIn: UnsafePointer<Float>? = nil
    package var zInStride: Int = 0
    /// For training: r, z, n and `hn` (the recurrent term of n: `h W_hn + b_hn`, or `(r * h) W_hn`
    /// when not ``resetAfter``), gate-major at `+ 0`, `+ gatesHidden`, `+ 2 gatesHidden`,
    /// `+ 3 gatesHidden`, row stride `gatesStride`.
    package var gatesOut: UnsafeMutablePointer<Float>? = nil
    package var gatesStride: Int = 0
    package var gatesHidden: Int = 0

    package init(rows: Int, groups: Int,
                 x: UnsafePointer<Float>?, xStride: Int, xWidth: Int, wx: UnsafePointer<Float>?,
                 h: UnsafePointer<Float>?, hStride: Int, wh: UnsafePointer<Float>,
                 biasX: UnsafePointer<Float>?, biasHN: UnsafePointer<Float>?, resetAfter: Bool,
                 hOut: UnsafeMutablePointer<Float>, hOutStride: Int) {
        self.rows = rows
        self.groups = groups
        self.x = x
        self.xStride = xStride
        self.xWidth = xWidth
        self.wx = wx
        self.h = h
        self.hStride = hStride
        self.wh = wh
        self.biasX = biasX
        self.biasHN = biasHN
        self.resetAfter = resetAfter
        self.hOut = hOut
        self.hOutStride = hOutStride
    }

    /// Runs the step with variant `isa` (``KernelISA/none`` is the portable C variant, available on
    /// every CPU).
    ///
    /// A nonzero status is a caller bug (a variant this CPU lacks, or arguments that break the
    /// kernel's preconditions): callers choose the variant from ``KernelISA/supported`` and size
    /// every buffer from the same layout, so this stops the process with the kernel's status rather
    /// than let it compute garbage.
    package func run(_ isa: KernelISA) {
        var args = rnnk_gru_step_args(
            rows: Int32(rows), groups: Int32(groups),
            x: x, x_stride: xStride, x_width: Int32(x == nil ? 0 : xWidth), wx: wx,
            h: h, h_stride: hStride, h_width: h == nil ? 0 : Int32(8 * groups), wh: wh,
            bias_x: biasX, bias_hn: biasHN, reset_after: resetAfter ? 1 : 0,
            h_out: hOut, h_out_stride: hOutStride, scratch: scratch,
            z_in: zIn, z_in_stride: zInStride,
            gates_out: gatesOut, gates_stride: gatesStride, gates_hidden: Int32(gatesHidden),
            hn_in: nil, hn_in_stride: 0)
        let status = rnnk_gru_step(isa.c, &args)
        precondition(status == RNNK_OK, "rnnk_gru_step(\(isa)): \(String(cString: rnnk_status_message(status)))")
    }
}
