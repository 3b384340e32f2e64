// rnn_kernels.h: the fused LSTM and GRU steps and the 2-D convolution, with variants per
// instruction set (x86-64 AVX2 and AVX-512, ARM64 NEON) and a portable plain-C variant of each,
// and the trainer's backward GEMM (AVX-512 only).
//
// Internal to the RNN runtime (not part of the public C API in rnn_runtime.h). The Swift side
// (RNNCore: GateLayout.swift lays the weights out, LSTMStep.swift and GRUStep.swift fill the
// arguments) picks the variant once per process and calls a step once per time step.
#ifndef RNN_KERNELS_H
#define RNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// What `rnnk_lstm_step`, `rnnk_gru_step` and `rnnk_sgemm` return. A kernel checks its arguments before it touches
/// any memory it was given, so a call that returns anything but `RNNK_OK` has written nothing.
/// The checks run once per call (not per element); what each kernel checks is listed at it.
/// Callers that only ask "did the kernel run" compare with 0; `RNNK_UNAVAILABLE` keeps its old
/// value -1, the one Swift callers fall back on.
#define RNNK_OK 0
/// The variant asked for is not a fused variant, or this CPU or build lacks it (use the portable path).
#define RNNK_UNAVAILABLE (-1)
/// A count is out of range (negative rows, width, m, n or k; groups < 1 or too large for 32 * groups
/// (24 * groups for the GRU) to fit an int), or a region the arguments describe does not fit in the
/// address space.
#define RNNK_INVALID_SIZE (-2)
/// A pointer the call needs is NULL (the arguments themselves included).
#define RNNK_NULL_POINTER (-3)
/// A stride or width does not fit the layout: a row stride shorter than the row it steps over, a
/// width that is not the one the layout requires, or (`rnnk_sgemm`) `n % 16 != 0`.
#define RNNK_BAD_LAYOUT (-4)
/// An output overlaps another output or an input (byte ranges actually touched).
#define RNNK_OVERLAP (-5)

/// A short English description of a status above ("ok", "invalid size", ...; "unknown status" for any
/// other value), for messages.
const char *rnnk_status_message(int status);

/// Instruction-set variants of the fused kernels, best last within an architecture (x86-64:
/// NONE < AVX2 < AVX512; ARM64: NONE < NEON). Values of the other architecture are never available.
typedef enum rnnk_isa {
    /// No vector variant on this CPU: for the LSTM the runtime uses its portable path (BLAS GEMM +
    /// Swift gate pass); `rnnk_gru_step` runs its portable plain-C variant. As an argument of the
    /// kernels, the portable plain-C variant, available on every CPU and build.
    RNNK_ISA_NONE = 0,
    /// 256-bit vectors with FMA (x86-64 Haswell and later, AMD Zen and later).
    RNNK_ISA_AVX2 = 1,
    /// 512-bit vectors (AVX-512 F/DQ/VL: Intel Skylake-SP and later, AMD Zen 4 and later).
    RNNK_ISA_AVX512 = 2,
    /// ARM64 (AArch64) Advanced SIMD: the AVX2 variants' 8-lane tiles, each 8-lane vector a pair of
    /// 128-bit registers (any ARMv8-A CPU: Linux reports it as HWCAP_ASIMD; every Apple silicon Mac).
    /// Built with clang for aarch64 only; not `rnnk_sgemm`.
    RNNK_ISA_NEON = 3,
} rnnk_isa;

/// The best variant this CPU and operating system support (x86-64: cpuid/xgetbv; ARM64 Linux:
/// getauxval(AT_HWCAP) & HWCAP_ASIMD; Apple ARM64: always NEON), asked once per process; later
/// calls return the cached answer.
rnnk_isa rnnk_detect_isa(void);

/// 1 when the fused kernels (`rnnk_lstm_step`, `rnnk_gru_step`, `rnnk_conv2d`) run variant `isa`
/// on this CPU and build, else 0: `RNNK_ISA_NONE` always; a vector variant when this build has it
/// and the CPU supports it (on x86-64 AVX2 also where AVX-512 was found). Any other value: 0.
int rnnk_isa_available(rnnk_isa isa);

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
    /// Optional (NULL to skip): `tanh(c_out)`, laid out like `c_out`; needs `gates_out`.
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

/// Runs one step with the variant `isa`. Returns `RNNK_OK` (0) after computing the step, or, having
/// written nothing, the first failed check in this order (`G = 8 * groups`, the padded hidden size;
/// "a region" is the floats the kernel touches: `(rows - 1) * stride + width` from its pointer, or
/// nothing when `rows` or `width` is 0):
///
/// 1. `RNNK_UNAVAILABLE` (-1): `isa` is not `RNNK_ISA_NONE` (the portable variant in plain C,
///    available on every CPU and build), `RNNK_ISA_AVX2`, `RNNK_ISA_AVX512` or `RNNK_ISA_NEON`, or
///    this build or CPU lacks it (`rnnk_isa_available`). (The Swift runtime's own portable LSTM path is BLAS + a Swift gate pass; the C
///    portable variant is the reference for other architectures' variants and the int8 step's.)
/// 2. `RNNK_NULL_POINTER`: `args` is NULL.
/// 3. `RNNK_INVALID_SIZE`: `rows < 0`; `groups < 1` or `groups > INT_MAX / 32`; `x_width < 0`;
///    `h_width < 0`.
/// 4. `RNNK_NULL_POINTER`: `c_out` or `h_out` is NULL; `x_width > 0` and `x` or `wx` is NULL;
///    `h_width > 0` and `h` or `wh` is NULL; `z_in` and `bias` are both NULL; `cell_tanh_out` is
///    given but `gates_out` is NULL (the kernel writes `tanh(c_out)` with the gates).
/// 5. `RNNK_BAD_LAYOUT`: `x_width > 0` and `x_stride < x_width`; `h_width` is neither 0 nor `G`;
///    `h_width > 0` and `h_stride < G`; `c_stride < G` (also `cell_tanh_out`'s stride);
///    `h_out_stride < G`; `gates_out` given and `gates_hidden != G` or
///    `gates_stride < 4 * gates_hidden`; `z_in` given and `z_in_stride < 32 * groups`.
/// 6. `RNNK_INVALID_SIZE`: a region's end (`x`, `h`, `z_in`, `c_prev` and the outputs over `rows`
///    rows; `wx` `32 * groups * x_width` floats, `wh` `32 * groups * h_width`, `bias` `32 * groups`)
///    does not fit in the address space (computed with overflow checks).
/// 7. `RNNK_OVERLAP`: two of the outputs `c_out`, `h_out`, `gates_out`, `cell_tanh_out` overlap, or
///    one of them overlaps an input that is read (`x`, `wx`, `h`, `wh`, `bias` unless `z_in`
///    replaces it, `z_in`, `c_prev`); the one exception is `c_prev == c_out` (the update in place).
///    Regions are compared from their first to their last float, so two row-interleaved arrays
///    (one in the gaps of the other's stride) count as overlapping.
///
/// A NULL `h` with `h_width` 0 means `h = 0`; a non-NULL `h` with `h_width` 0 is not read.
int rnnk_lstm_step(rnnk_isa isa, const rnnk_lstm_step_args *args);

/// Checks 2-7 of `rnnk_lstm_step` alone (on every CPU and build), without running the step: what
/// `rnnk_lstm_step` would return with an available variant. Lets a caller check a plan once.
int rnnk_lstm_step_check(const rnnk_lstm_step_args *args);

/// One time step of a GRU layer for `rows` sequences, fused: matrix products, gates, state update.
/// The arithmetic is PyTorch's `nn.GRU` (gate order r, z, n), with `h = h[t-1]` (0 at the first step):
///
///     r = σ(x W_ir + b_ir + h W_hr + b_hr)       z = σ(x W_iz + b_iz + h W_hz + b_hz)
///     reset_after = 1 (PyTorch; Keras reset_after=True; ONNX linear_before_reset=1):
///         n = tanh(x W_in + b_in + r * (h W_hn + b_hn))
///     reset_after = 0 (the original GRU; ONNX's default; Keras reset_after=False):
///         n = tanh(x W_in + b_in + (r * h) W_hn + b_hn)
///     h_out = (1 - z) * n + z * h                 (computed as n + z * (h - n))
///
/// Layout: hidden units come in `groups` groups of 8 (`G = 8 * groups`, the padded hidden size);
/// the 24 pre-activation columns of group `q` are `24q ..< 24q + 24`, holding r, z, n of its 8
/// units side by side (column `24 (u / 8) + 8 gate + u % 8`). Weights are packed one panel per
/// group (`rnnk_gru_packed_index`). `wx` is `[x_width][24 groups]`, `wh` `[G][24 groups]` (its n
/// columns hold W_hn).
///
/// With reset_after = 0 the recurrent n product needs all of `r * h` first, so such a step (with
/// `h`) runs in two phases: the first computes r, z and the input side of n for every group and
/// keeps `r * h`, `z` and the input side of n in `scratch`; the second adds `(r * h) W_hn` and
/// writes `h_out`.
///
/// Each accumulator adds its terms in the same order (its start, then k = 0, 1, ... of the input,
/// then of the state) whatever `rows` is, so a row's result does not depend on how many rows are
/// computed together.
typedef struct rnnk_gru_step_args {
    /// Sequences (rows) in this call.
    int rows;
    /// Groups of 8 hidden units: the padded hidden size is `G = 8 * groups`.
    int groups;
    /// Input rows `x[r][k]` at `x + r * x_stride + k`, `k < x_width`; packed weights `[x_width][24 * groups]`.
    const float *x;
    ptrdiff_t x_stride;
    int x_width;
    const float *wx;
    /// Previous hidden state `[rows][G]` at `h + r * h_stride`, or NULL (with `h_width` 0) for the
    /// first step, where `h = 0`; packed weights `[G][24 * groups]`.
    const float *h;
    ptrdiff_t h_stride;
    int h_width;
    const float *wh;
    /// `[24 * groups]`, the starting values of the input-side columns: r holds `b_ir + b_hr`, z
    /// `b_iz + b_hz`, n `b_in` (reset_after = 1) or `b_in + b_hn` (reset_after = 0, where `b_hn` is
    /// a constant inside the tanh).
    const float *bias_x;
    /// `[G]`: `b_hn`, read only when `reset_after` is nonzero; NULL means zero.
    const float *bias_hn;
    /// Nonzero: n resets after the recurrent product (PyTorch); 0: before it.
    int reset_after;
    /// New hidden state at `h_out + r * h_out_stride`; must not overlap `h`.
    float *h_out;
    ptrdiff_t h_out_stride;
    /// `[rows][3 * G]` contiguous, the two phases' hand-over: row `r` holds `r * h`, `z` and the
    /// input side of n at `scratch + 3 G r` plus 0, `G`, `2 G`. Needed (and written) only when
    /// `reset_after` is 0 and `h_width` is `G`; not read otherwise (may be NULL).
    float *scratch;
    /// Optional: per-row starting values of the 24 * groups input-side columns instead of
    /// `bias_x` (`[rows][24 * groups]`, same interleaved columns, row stride `z_in_stride`), for a
    /// projection computed another way (a text model's folded embedding table `E W_ihᵀ + b`).
    /// `bias_x` is then not read.
    const float *z_in;
    ptrdiff_t z_in_stride;
    /// Optional (NULL to skip), for training's backward pass, gate-major per row: r of unit `u` at
    /// `gates_out + r * gates_stride + u`, then z, n and `hn` at offsets 1, 2, 3 times
    /// `gates_hidden` (which must be `G`). `hn` is the recurrent term of n before the reset
    /// multiplies it, `h W_hn + b_hn` (reset_after = 1), or `(r * h) W_hn` without `b_hn`
    /// (reset_after = 0); 0 at a first step without `b_hn`.
    float *gates_out;
    ptrdiff_t gates_stride;
    int gates_hidden;
    /// Optional, reset_after = 1 only (used by the int8 step, `rnnk_gru_step_i8`): per-row recurrent
    /// terms of n, `h W_hn + b_hn` (`[rows][G]`, row stride `hn_in_stride`), computed another way.
    /// The kernel then computes no recurrent product at all: `wh` and `bias_hn` are not read (`wh`
    /// may be NULL), the starting values (`z_in` or `bias_x`) must already hold the recurrent r and
    /// z terms, and `h` (still `h_width = G`) is read only for the update `n + z (h - n)`.
    const float *hn_in;
    ptrdiff_t hn_in_stride;
} rnnk_gru_step_args;

/// Where weight `(k, col)` of a `[width, 24 * groups]` GRU matrix goes in its packed layout: one
/// panel per group `q = col / 24`, starting at `24 * q * width`, of `width` rows of 24 contiguous
/// floats (row `k` holds columns `24q ..< 24q + 24`). (`groups` is not needed; it is there to
/// match `rnnk_packed_index`.)
static inline ptrdiff_t rnnk_gru_packed_index(int groups, int width, int k, int col) {
    (void)groups;
    const int group = col / 24;
    return (ptrdiff_t)24 * group * width + (ptrdiff_t)k * 24 + (col - 24 * group);
}

/// Runs one GRU step with the variant `isa`. Returns `RNNK_OK` (0) after computing the step, or,
/// having written nothing, the first failed check in this order (`G = 8 * groups`; "a region" is
/// the floats the kernel touches: `(rows - 1) * stride + width` from its pointer, or nothing when
/// `rows` or `width` is 0; "two-phase" means `reset_after == 0 && h_width > 0`):
///
/// 1. `RNNK_UNAVAILABLE` (-1): `isa` is not `RNNK_ISA_NONE` (the portable variant, available on
///    every CPU and build), `RNNK_ISA_AVX2`, `RNNK_ISA_AVX512` or `RNNK_ISA_NEON`, or this build or
///    CPU lacks it (`rnnk_isa_available`).
/// 2. `RNNK_NULL_POINTER`: `args` is NULL.
/// 3. `RNNK_INVALID_SIZE`: `rows < 0`; `groups < 1` or `groups > INT_MAX / 24`; `x_width < 0`;
///    `h_width < 0`.
/// 4. `RNNK_NULL_POINTER`: `h_out` is NULL; `x_width > 0` and `x` or `wx` is NULL; `h_width > 0`
///    and `h` is NULL, or `wh` is NULL without `hn_in`; `z_in` and `bias_x` are both NULL;
///    two-phase and `scratch` is NULL.
/// 5. `RNNK_BAD_LAYOUT`: `x_width > 0` and `x_stride < x_width`; `h_width` is neither 0 nor `G`;
///    `h_width > 0` and `h_stride < G`; `h_out_stride < G`; `gates_out` given and
///    `gates_hidden != G` or `gates_stride < 4 * gates_hidden`; `z_in` given and
///    `z_in_stride < 24 * groups`; `hn_in` given and `reset_after` is 0 or `hn_in_stride < G`.
/// 6. `RNNK_INVALID_SIZE`: a region's end (`x`, `h`, `z_in`, `h_out`, `gates_out` over `rows`
///    rows; `scratch` `rows * 3 * G` floats when two-phase; `wx` `24 * groups * x_width` floats,
///    `wh` `24 * groups * h_width`, `bias_x` `24 * groups`, `bias_hn` `G`) does not fit in the
///    address space (computed with overflow checks).
/// 7. `RNNK_OVERLAP`: two of the outputs `h_out`, `gates_out`, `scratch` (when two-phase) overlap,
///    or one of them overlaps an input that is read (`x`, `wx`, `h`, `wh` and `bias_hn` (when
///    `reset_after`) unless `hn_in` replaces them, `bias_x` unless `z_in` replaces it, `z_in`, `hn_in`). Regions are compared from their first
///    to their last float, so two row-interleaved arrays count as overlapping.
///
/// A NULL `h` with `h_width` 0 means `h = 0`; a non-NULL `h` with `h_width` 0 is not read (and
/// `h = 0`). `rows` 0 computes and writes nothing.
int rnnk_gru_step(rnnk_isa isa, const rnnk_gru_step_args *args);

/// Checks 2-7 of `rnnk_gru_step` alone, without running the step: what `rnnk_gru_step` returns
/// with an available variant.
int rnnk_gru_step_check(const rnnk_gru_step_args *args);

/// `C = A B` (or `C += A B` when `accumulate` is nonzero) for the training's backward pass, with
/// `A(i, k) = a[i * a_row + k * a_col]` (so a transposed A is just other strides), `B` row-major
/// `[k, n]` with row stride `ldb`, `C` row-major `[m, n]` with row stride `ldc`.
///
/// Blocked for cache (64-column panels of B, 256 rows of B at a time) with a 6 x 64 register tile.
/// Every `C` entry sums its `k` terms in increasing `k` order whatever `m` is.
/// Returns `RNNK_OK` (0) after computing `C`, or, having written nothing, the first failed check:
///
/// 1. `RNNK_UNAVAILABLE` (-1): `isa` is not `RNNK_ISA_AVX512`, or this build or CPU lacks it (the
///    caller then uses BLAS).
/// 2. `RNNK_INVALID_SIZE`: `m`, `n` or `k` is negative.
/// 3. `RNNK_NULL_POINTER`: `m > 0 && n > 0` and `c` is NULL, or also `k > 0` and `a` or `b` is NULL.
/// 4. `RNNK_BAD_LAYOUT`: `n % 16 != 0`; `ldc < n`; `ldb < n`; `a_row < 0` or `a_col < 0`.
/// 5. `RNNK_INVALID_SIZE`: the end of `A` (`(m - 1) a_row + (k - 1) a_col + 1` floats), `B`
///    (`(k - 1) ldb + n`) or `C` (`(m - 1) ldc + n`) does not fit in the address space.
/// 6. `RNNK_OVERLAP`: `C`'s region overlaps `A`'s or `B`'s (from first to last float touched).
///
/// With `m` or `n` 0 nothing is touched; with `k` 0, `C` is zeroed (or left as it is when
/// `accumulate`).
int rnnk_sgemm(rnnk_isa isa, int m, int n, int k,
               const float *a, ptrdiff_t a_row, ptrdiff_t a_col,
               const float *b, ptrdiff_t ldb,
               float *c, ptrdiff_t ldc, int accumulate);

/// Checks 2-6 of `rnnk_sgemm` alone (on every CPU and build), without computing anything.
int rnnk_sgemm_check(int m, int n, int k,
                     const float *a, ptrdiff_t a_row, ptrdiff_t a_col,
                     const float *b, ptrdiff_t ldb,
                     const float *c, ptrdiff_t ldc);


// ---------------------------------------------------------------------------------------------
// int8 evaluation of recurrent layers (spec/FORMAT.md §6.6, int8_step.c): integer weights with the
// file's per-row scales, activations quantized per row and step by `rnnk_i8_quantize`, exact int32
// dot products, binary32 after them. The integer sums are identical on every variant.

/// Variants of the int8 products, best last per architecture.
typedef enum rnnk_i8_isa {
    /// Plain C, every CPU and build.
    RNNK_I8_PORTABLE = 0,
    /// 256-bit vpmaddubsw / vpmaddwd (x86-64 with AVX2).
    RNNK_I8_AVX2 = 1,
    /// 128-bit SDOT (ARM64 NEON with the dot product instructions, FEAT_DotProd: Linux HWCAP_ASIMDDP,
    /// Arm Cortex-A55/A75 and later, Neoverse N1 and later, every Apple silicon Mac).
    RNNK_I8_NEON_DOT = 2,
    /// 512-bit vpdpbusd (AVX-512 F/BW/VL + VNNI: Intel Cascade Lake and later, AMD Zen 4 and later).
    RNNK_I8_AVX512_VNNI = 3,
} rnnk_i8_isa;

/// The best int8 variant this CPU and build run (asked once per process).
rnnk_i8_isa rnnk_detect_i8_isa(void);
/// Whether this CPU and build run `isa` (RNNK_I8_PORTABLE always).
int rnnk_i8_isa_available(rnnk_i8_isa isa);

/// The widest product an int8 kernel takes: `127 * 127 * width < 2^31`, so no int32 sum can overflow.
#define RNNK_I8_MAX_WIDTH 131072

/// Spec §6.6's activation quantization, per row `r < rows` of `width` floats at `v + r * stride`:
/// `m = max_k |v[k]|`, `s = m / 127` in binary32 (1 when that is 0: an all-zero row, or a maximum so
/// small that the division underflows), `q[k] = clamp(roundeven(v[k] / s), -127, 127)` with the
/// division in binary32 (the weights' rule, §4.1). Writes `q` rows of `4 * ceil(width / 4)` bytes
/// (zero after `width`), `q_stride` bytes apart, and `scale[r] = s`. Returns RNNK_INVALID_SIZE
/// (negative counts), RNNK_NULL_POINTER, RNNK_BAD_LAYOUT (`stride < width` or `q_stride` below the
/// padded width), or RNNK_OK.
int rnnk_i8_quantize(int rows, const float *v, ptrdiff_t stride, int width, int8_t *q, ptrdiff_t q_stride, float *scale);

/// Where weight `(k, col)` of an int8 matrix with `columns` output columns (a multiple of 8) and
/// `width` inputs goes in its packed layout: columns in blocks of 16 (the last one 8 wide when
/// `columns % 16 == 8`), block `b` at `64 * b * ceil(width / 4)` bytes, holding for each group of 4
/// inputs its columns side by side, 4 bytes each (inputs `4 j ..< 4 j + 4` of one column adjacent):
/// one 512-bit vpdpbusd (or 128-bit SDOT per 4 columns) takes 4 inputs x 16 columns.
static inline ptrdiff_t rnnk_i8_packed_index(int columns, int width, int k, int col) {
    const ptrdiff_t k4 = ((ptrdiff_t)width + 3) / 4;
    const int b = col / 16, block_width = 16 * b + 16 <= columns ? 16 : 8;
    return 64 * b * k4 + (ptrdiff_t)(k / 4) * 4 * block_width + 4 * (col % 16) + k % 4;
}

/// Packs `rows` (`[columns][width]` int8, row `c` = output column `c`, the file's row order) into
/// `packed` (`columns * 4 * ceil(width / 4)` bytes, padding zero) and writes `col_sum[c] = sum_k
/// rows[c][k]`. `columns` must be a multiple of 8.
int rnnk_i8_pack(int columns, int width, const int8_t *rows, int8_t *packed, int32_t *col_sum);

/// One int8 weight matrix: packed values (`rnnk_i8_pack`), their column sums, the per-column scales
/// `s_W[c]` (the file's per-row scales in the kernel's column order), and the input width.
typedef struct rnnk_i8_matrix {
    const int8_t *q;
    const int32_t *col_sum;
    const float *scale;
    int width;
} rnnk_i8_matrix;

/// `out[r][c] = fma(f32(acc), a_scale[r] * w.scale[c], start[r][c])` for `r < rows`, `c < columns`,
/// where `acc = sum_k w[c][k] a[r][k]` exactly (int32). `a` rows are quantized activations
/// (`rnnk_i8_quantize`), `a_stride` bytes apart; `start` NULL means 0, `start_stride` 0 one row for
/// every row (a bias), and `start == out` accumulates in place. Returns RNNK_UNAVAILABLE,
/// RNNK_NULL_POINTER, RNNK_INVALID_SIZE (`columns % 8 != 0`, a width above RNNK_I8_MAX_WIDTH),
/// RNNK_BAD_LAYOUT, RNNK_OVERLAP (out against a_scale or another start), or RNNK_OK.
typedef struct rnnk_i8_product_args {
    int rows, columns;
    const int8_t *a;
    ptrdiff_t a_stride;
    const float *a_scale;
    rnnk_i8_matrix w;
    const float *start;
    ptrdiff_t start_stride;
    float *out;
    ptrdiff_t out_stride;
} rnnk_i8_product_args;
int rnnk_i8_product(rnnk_i8_isa isa, const rnnk_i8_product_args *args);

/// One int8 step of an LSTM (`rnnk_lstm_step_i8`) or a reset-after GRU (`rnnk_gru_step_i8`) for
/// `rows` rows: the fields mean what they mean in `rnnk_lstm_step_args` / `rnnk_gru_step_args`
/// (interleaved gate columns, `Z = 32 * groups` or `24 * groups`), with the weights as int8
/// matrices (`wx.width == x_width`, `wh.width == 8 * groups`; `x_width` 0 with `z_in` for a folded
/// input). `bias` is the LSTM's bias or the GRU's `bias_x`; `bias_hn` the GRU's `b_hn` (NULL: 0);
/// `c_prev`, `c_out`, `c_stride` the LSTM's cell. `h` NULL: the first step (`h = 0`). `scratch` holds
/// `rnnk_i8_step_scratch_bytes` bytes.
///
/// Per chunk of up to 16 rows: x and h are quantized (spec §6.6), z = start + x term + h term by
/// `rnnk_i8_product` (GRU: n's h term kept apart, plus b_hn), and the gates run on z through the
/// float step (`rnnk_lstm_step` / `rnnk_gru_step` with `z_in`, and `hn_in`) of the matching variant
/// (AVX-512 VNNI: AVX-512; AVX2: AVX2; NEON dot: NEON; portable: portable). Checks before any write: availability,
/// NULL args, sizes (`rows < 0`, `groups < 1`, widths above RNNK_I8_MAX_WIDTH), NULL pointers,
/// strides, and overlaps of the outputs (`h_out`, `c_out`, scratch) with each other or an input
/// (`c_prev == c_out` allowed).
typedef struct rnnk_i8_step_args {
    int rows, groups;
    const float *x;
    ptrdiff_t x_stride;
    int x_width;
    rnnk_i8_matrix wx;
    const float *h;
    ptrdiff_t h_stride;
    rnnk_i8_matrix wh;
    const float *bias;
    const float *bias_hn;
    const float *z_in;
    ptrdiff_t z_in_stride;
    const float *c_prev;
    float *c_out;
    ptrdiff_t c_stride;
    float *h_out;
    ptrdiff_t h_out_stride;
    void *scratch;
} rnnk_i8_step_args;

/// Scratch bytes of one int8 step call (any `rows`): `cell_columns` 32 (LSTM) or 24 (GRU); 0 for
/// arguments out of range.
size_t rnnk_i8_step_scratch_bytes(int cell_columns, int groups, int x_width);
int rnnk_lstm_step_i8(rnnk_i8_isa isa, const rnnk_i8_step_args *args);
int rnnk_gru_step_i8(rnnk_i8_isa isa, const rnnk_i8_step_args *args);

// ---------------------------------------------------------------------------------------------
// Convolutional layers (spec/FORMAT.md §6.1 `conv2d`, `maxpool2d`, since 1.4), shared by the runtime and
// the trainer. Feature maps are stored channels-last (NHWC): pixel (i, j) of an image is `channel_stride`
// consecutive floats at `(i * width + j) * channel_stride`, its channels first, then padding. (The format's
// flatten order is channels-first; the runtime maps it onto this layout in the weights of the dense layer
// after `flatten`, so no transpose runs.)

/// Activation applied as the convolution writes its outputs.
typedef enum rnnk_activation {
    RNNK_ACTIVATION_NONE = 0,
    RNNK_ACTIVATION_RELU = 1,
    RNNK_ACTIVATION_TANH = 2,
} rnnk_activation;

/// Arguments of `rnnk_conv2d`: `images` feature maps convolved with one layer's weights.
typedef struct rnnk_conv2d_args {
    /// Feature maps in the batch (>= 0).
    int images;
    /// Input map: `in_height x in_width` pixels of `in_channels` channels, `in_channel_stride` floats per
    /// pixel (>= in_channels), image `n` at `x + n * x_image_stride` (>= in_height * in_width * in_channel_stride).
    const float *x;
    int in_height, in_width, in_channels, in_channel_stride;
    ptrdiff_t x_image_stride;
    /// The window (spec §6.1): kernel, stride, padding at the top and left (the bottom and right padding
    /// follow from the output size: windows past the input read zeros).
    int kernel_height, kernel_width, stride_height, stride_width, pad_top, pad_left;
    /// Output map: `out_height x out_width` pixels of `8 * out_groups` floats (the output channels padded
    /// to a multiple of 8; padded channels have zero weights and bias and come out exactly 0).
    int out_height, out_width, out_groups;
    /// Weights `[kernel_height * kernel_width * in_channels, 8 * out_groups]`: row `(u * kernel_width + v) *
    /// in_channels + c` holds `W[o][c][u][v]` for every output channel `o` (use `rnnk_conv2d_pack`).
    const float *w;
    /// `[8 * out_groups]`.
    const float *bias;
    rnnk_activation activation;
    /// Output, image `n` at `y + n * y_image_stride` (>= out_height * out_width * 8 * out_groups).
    float *y;
    ptrdiff_t y_image_stride;
    /// Scratch for one zero-padded input image: `rnnk_conv2d_scratch_floats(args)` floats, not overlapping
    /// anything else.
    float *scratch;
} rnnk_conv2d_args;

/// Floats `rnnk_conv2d` needs in `scratch`: `((out_height - 1) * stride_height + kernel_height) *
/// ((out_width - 1) * stride_width + kernel_width) * in_channels`, or -1 when that overflows or a size is
/// out of range.
ptrdiff_t rnnk_conv2d_scratch_floats(const rnnk_conv2d_args *args);

/// y = activation(conv2d(x, W) + bias) for every image (spec §6.1 `conv2d`):
///
///     y[n][i][j][o] = bias[o] + sum over u, v, c of W[o][c][u][v] * x[n][i*SH + u - PT][j*SW + v - PL][c]
///
/// with `x` zero outside the input. Each image is first copied, zero-padded and with its channels packed,
/// into `scratch`, so the inner loops run without bounds checks: for a kernel row `u`, the `kernel_width *
/// in_channels` inputs of a window are contiguous there. A tile of output pixels x output channels is
/// accumulated in registers (AVX2 and NEON: 4 pixels x 16 channels; AVX-512: 8 x 16). `isa` selects the variant
/// (RNNK_ISA_NONE: portable C). Checks, in order: NULL args (RNNK_NULL_POINTER); sizes (images, sizes >= 0,
/// out_groups >= 1, kernel and stride >= 1, padding >= 0 and < kernel; RNNK_INVALID_SIZE); strides
/// (RNNK_BAD_LAYOUT); NULL pointers; overlaps of y and scratch with each other and with the inputs
/// (RNNK_OVERLAP). Returns RNNK_UNAVAILABLE for a vector variant this CPU lacks.
int rnnk_conv2d(rnnk_isa isa, const rnnk_conv2d_args *args);

/// Arguments of `rnnk_maxpool2d`: floor-mode max pooling of every channel (spec §6.1 `maxpool2d`).
typedef struct rnnk_maxpool2d_args {
    int images;
    /// `channels` floats per pixel, in and out (every one pooled, padding channels included).
    int channels;
    const float *x;
    int in_height, in_width;
    ptrdiff_t x_image_stride;
    int kernel_height, kernel_width, stride_height, stride_width, pad_top, pad_left;
    int out_height, out_width;
    float *y;
    ptrdiff_t y_image_stride;
    /// Optional (NULL: not written): for each output value, the index `(r * in_width + s) * channels + ch`
    /// within its image of the input it took (the first maximum in window order), for the trainer's
    /// backward pass.
    int *argmax;
} rnnk_maxpool2d_args;

/// y[n][i][j][ch] = max over the window's positions inside the input of x[n][i*SH + u - PT][j*SW + v - PL][ch]
/// (padding never takes part). Portable C on every instruction set (comparisons vectorize as written).
/// Checks as `rnnk_conv2d`: NULL args, sizes (every window must hold an input position: padding < kernel and
/// the last window starting inside the input), strides, NULL pointers, overlaps.
int rnnk_maxpool2d(const rnnk_maxpool2d_args *args);

/// im2col of the trainer's convolution backward pass: for every image and output pixel (row `(n *
/// out_height + i) * out_width + j` of `col`), the `kernel_height * kernel_width * in_channels` inputs of
/// its window in `rnnk_conv2d`'s weight-row order, zeros where the window leaves the input. `col` has
/// `images * out_height * out_width` rows of that width. Uses the input, window and output-size fields of
/// `args` (not `w`, `bias`, `y`, `scratch`). Checks as `rnnk_conv2d` on those fields; `col` must not overlap `x`.
int rnnk_im2col(const rnnk_conv2d_args *args, float *col);

/// col2im, the adjoint of `rnnk_im2col`: adds every element of `col` into the input position it was read
/// from (`dx` is the input's gradient, same layout as `x`: `in_channel_stride` per pixel, `x_image_stride`
/// per image; not cleared first). Same checks, `dx` in place of `x`.
int rnnk_col2im(const rnnk_conv2d_args *args, const float *col, float *dx);

#ifdef __cplusplus
}
#endif

#endif
