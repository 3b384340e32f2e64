// rnn_kernels.h: the runtime's fused LSTM step, with variants per x86-64 instruction set.
//
// Internal to the RNN runtime (not part of the public C API in rnn_runtime.h). The Swift side
// (RNNRuntime/FusedLSTM.swift) lays the weights out, picks the variant once per process and calls
// `rnnk_lstm_step` once per time step.
#ifndef RNN_KERNELS_H
#define RNN_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set variants of the fused kernels, best last.
typedef enum rnnk_isa {
    /// No fused kernel on this CPU: the runtime uses its portable path (BLAS GEMM + Swift gate pass).
    RNNK_ISA_NONE = 0,
    /// 256-bit vectors with FMA (x86-64 Haswell and later, AMD Zen and later).
    RNNK_ISA_AVX2 = 1,
    /// 512-bit vectors (AVX-512 F/DQ/VL: Intel Skylake-SP and later, AMD Zen 4 and later).
    RNNK_ISA_AVX512 = 2,
} rnnk_isa;

/// The best variant this CPU and operating system support (checked with cpuid/xgetbv once per
/// process; later calls return the cached answer).
rnnk_isa rnnk_detect_isa(void);

/// One time step of an LSTM layer for `rows` sequences, fused: matrix products, gates, cell update.
///
/// Layout (the runtime's interleaved gate layout, RNNRuntime/Stages.swift): hidden units come in
/// `groups` groups of 8; the 32 pre-activation columns of group `q` are `32q ..< 32q + 32`, holding
/// gates i, f, g, o of its 8 units side by side. Weights are packed in panels, one per pair of groups
/// (an odd last group alone), each panel `k`-major and contiguous: see `rnnk_packed_index`, so that a
/// tile streams its weights sequentially (at batch 1 the step is bound by reading the weights).
///
/// For every row `r` and column `col`:
///
///     z[r][col] = bias[col] (or z_in[r][col]) + sum_k x[r][k] wx[k][col] + sum_k h[r][k] wh[k][col]
///     i = σ(z_i)  f = σ(z_f)  g = tanh(z_g)  o = σ(z_o)
///     c_out = f c_prev + i g        h_out = o tanh(c_out)
///
/// Each accumulator adds its terms in the same order (bias, then k = 0, 1, ...) whatever `rows`
/// is, so a row's result does not depend on how many rows are computed together.
typedef struct rnnk_lstm_step_args {
    /// Sequences (rows) in this call.
    int rows;
    /// Groups of 8 hidden units: the padded hidden size is `8 * groups`.
    int groups;
    /// Input rows `x[r][k]` at `x + r * x_stride + k`, `k < x_width`; weights `[x_width][32 * groups]`.
    const float *x;
    ptrdiff_t x_stride;
    int x_width;
    const float *wx;
    /// Previous hidden state, or NULL (with `h_width` 0) for the first step, where `h = 0`.
    const float *h;
    ptrdiff_t h_stride;
    int h_width;
    const float *wh;
    /// `[32 * groups]`, both LSTM biases (and any folded dense bias) summed.
    const float *bias;
    /// Previous cell state `[rows][8 * groups]` at `c_prev + r * c_stride`, or NULL for zeros.
    const float *c_prev;
    /// New cell state, same layout; may equal `c_prev` (updated in place).
    float *c_out;
    ptrdiff_t c_stride;
    /// New hidden state at `h_out + r * h_out_stride`; must not overlap `h`.
    float *h_out;
    ptrdiff_t h_out_stride;
    /// Optional (NULL to skip), for training's backward pass: the activated gates in gate-major
    /// order, `i` of unit `u` at `gates_out + r * gates_stride + 0 * gates_hidden + u`, then f, g,
    /// o at offsets 1, 2, 3 times `gates_hidden` (which must be `8 * groups`).
    float *gates_out;
    ptrdiff_t gates_stride;
    int gates_hidden;
    /// Optional (NULL to skip): `tanh(c_out)`, laid out like `c_out`.
    float *cell_tanh_out;
    /// Optional: per-row starting values of `z` instead of `bias` (`[rows][32 * groups]`, same
    /// interleaved columns, row stride `z_in_stride`), for inputs whose projection was computed
    /// another way (a text model's folded embedding table). `bias` is then not read.
    const float *z_in;
    ptrdiff_t z_in_stride;
} rnnk_lstm_step_args;

/// Where weight `(k, col)` of a `[width, 32 * groups]` matrix goes in the packed panel layout:
/// the panel of group pair `p = (col / 32) & ~1` starts at `32 * p * width`, holds `width` rows of
/// 64 columns (32 for an odd last group), and row `k` of it holds columns `32p ..< 32p + 64`.
static inline ptrdiff_t rnnk_packed_index(int groups, int width, int k, int col) {
    const int group = col / 32, pair = group & ~1;
    const int panel_width = pair + 1 < groups ? 64 : 32;
    return (ptrdiff_t)32 * pair * width + (ptrdiff_t)k * panel_width + (col - 32 * pair);
}

/// Runs one step with the variant `isa`. Returns 0, or -1 when this build or CPU lacks `isa`.
int rnnk_lstm_step(rnnk_isa isa, const rnnk_lstm_step_args *args);

/// `C = A B` (or `C += A B` when `accumulate` is nonzero) for the training's backward pass, with
/// `A(i, k) = a[i * a_row + k * a_col]` (so a transposed A is just other strides), `B` row-major
/// `[k, n]` with row stride `ldb`, `C` row-major `[m, n]` with row stride `ldc`.
///
/// Requires `n % 16 == 0`. Blocked for cache (64-column panels of B, 256 rows of B at a time) with a
/// 6 x 64 register tile. Every `C` entry sums its `k` terms in increasing `k` order whatever `m` is.
/// Returns 0, or -1 when `isa` is not `RNNK_ISA_AVX512` on an AVX-512 CPU or `n % 16 != 0` (the
/// caller then uses BLAS).
int rnnk_sgemm(rnnk_isa isa, int m, int n, int k,
               const float *a, ptrdiff_t a_row, ptrdiff_t a_col,
               const float *b, ptrdiff_t ldb,
               float *c, ptrdiff_t ldc, int accumulate);

#ifdef __cplusplus
}
#endif

#endif
