import RNNKernels

/// One call of the fused LSTM step kernel (`rnnk_lstm_step`, rnn_kernels.h), with named arguments.
///
/// The only place that builds `rnnk_lstm_step_args`: runtime and trainer describe a step here and
/// ``run(_:)`` fills the C structure. Per row `r`:
///
///     z = bias (or zIn[r]) + x[r] Wx + h[r] Wh        (interleaved gate columns, ``GateLayout``)
///     c_out = σ(z_f) c_prev + σ(z_i) tanh(z_g)        h_out = σ(z_o) tanh(c_out)
///
/// `h == nil` means `h[t-1] = 0` (the first step), `cPrevious == nil` means `c[t-1] = 0`.
package struct LSTMStep {
    /// Rows (sequences) in this call.
    package var rows: Int
    /// Groups of 8 hidden units (`paddedHidden / 8`).
    package var groups: Int
    /// Input rows at `x + r * xStride`, `xWidth` values each, and their packed weights; `x == nil`
    /// when ``zIn`` already holds the input projection.
    package var x: UnsafePointer<Float>?
    package var xStride: Int
    package var xWidth: Int
    package var wx: UnsafePointer<Float>?
    /// Previous hidden state rows at `h + r * hStride` (width `8 * groups`), or nil at the first step.
    package var h: UnsafePointer<Float>?
    package var hStride: Int
    package var wh: UnsafePointer<Float>
    /// `[32 * groups]`; not read when ``zIn`` is given.
    package var bias: UnsafePointer<Float>?
    package var cPrevious: UnsafePointer<Float>?
    package var cOut: UnsafeMutablePointer<Float>
    package var cStride: Int
    package var hOut: UnsafeMutablePointer<Float>
    package var hOutStride: Int
    /// For training: the activated gates, gate-major (`i` of unit `u` at `+ u`, then f, g, o at
    /// `+ gatesHidden`, `+ 2 gatesHidden`, `+ 3 gatesHidden`), row stride `gatesStride`.
    package var gatesOut: UnsafeMutablePointer<Float>? = nil
    package var gatesStride: Int = 0
    package var gatesHidden: Int = 0
    /// For training: `tanh(c_out)`, laid out like `cOut`.
    package var cellTanhOut: UnsafeMutablePointer<Float>? = nil
    /// Per-row starting values of `z` in place of ``bias`` (a folded embedding table's rows).
    package var zIn: UnsafePointer<Float>? = nil
    package var zInStride: Int = 0


    package init(rows: Int, groups: Int,
                 x: UnsafePointer<Float>?, xStride: Int, xWidth: Int, wx: UnsafePointer<Float>?,
                 h: UnsafePointer<Float>?, hStride: Int, wh: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                 cPrevious: UnsafePointer<Float>?, cOut: UnsafeMutablePointer<Float>, cStride: Int,
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
        self.bias = bias
        self.cPrevious = cPrevious
        self.cOut = cOut
        self.cStride = cStride
        self.hOut = hOut
        self.hOutStride = hOutStride
    }

    /// Runs the step with variant `isa`.
    ///
    /// A nonzero status is a caller bug (a variant this CPU lacks, or arguments that break the
    /// kernel's preconditions): callers choose the variant from ``KernelISA/supported`` and size
    /// every buffer from the same layout, so this stops the process with the kernel's status rather
    /// than let it compute garbage.

    package func run(_ isa: KernelISA) {
        var args = rnnk_lstm_step_args(
            rows: Int32(rows), groups: Int32(groups),
            x: x, x_stride: xStride, x_width: Int32(x == nil ? 0 : xWidth), wx: wx,
            h: h, h_stride: hStride, h_width: h == nil ? 0 : Int32(8 * groups), wh: wh,
            bias: bias,
            c_prev: cPrevious, c_out: cOut, c_stride: cStride,
            h_out: hOut, h_out_stride: hOutStride,
            gates_out: gatesOut, gates_stride: gatesStride, gates_hidden: Int32(gatesHidden),
            cell_tanh_out: cellTanhOut, z_in: zIn, z_in_stride: zInStride)
        let status = rnnk_lstm_step(isa.c, &args)
        precondition(status == RNNK_OK, "rnnk_lstm_step(\(isa)): \(String(cString: rnnk_status_message(status)))")
    }
}
