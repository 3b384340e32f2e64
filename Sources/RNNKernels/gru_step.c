// The fused GRU step (rnn_kernels.h, `rnnk_gru_step`): PyTorch's nn.GRU (gates r, z, n), in either
// reset mode, for a batch of rows at one time step.
//
// Why fused, as for the LSTM (lstm_step.c): per step the pre-activations [x, h] W + b go through
// the gates in the registers that accumulated them, instead of a round trip through memory between
// a GEMM and a gate pass. The GRU adds one wrinkle: in the original GRU (reset_after = 0) the
// recurrent product of n is taken over r * h, which needs the r of every unit first, so that mode
// runs in two phases over all groups with a scratch buffer between them (rnn_kernels.h).
//
// Four variants: a portable one in plain C (any compiler, any architecture: the one RNNK_ISA_NONE
// runs), and AVX2, AVX-512 (x86-64) and NEON (ARM64) ones from one 8-lane template
// (gru_step_variant.h) that clang compiles per instruction set with target attributes, chosen at
// run time.
#include "kernel_common.h"

// ---------------------------------------------------------------------------------------------
// Argument checks (rnn_kernels.h lists them; the regions are kernel_common.h's).

// The step needs the scratch buffer: reset before the recurrent product, and a state to reset.
static inline int two_phase(const rnnk_gru_step_args *a) { return !a->reset_after && a->h_width > 0; }

int rnnk_gru_step_check(const rnnk_gru_step_args *a) {
    if (!a) return RNNK_NULL_POINTER;
    if (STEP_SIZES_INVALID(a, 24)) return RNNK_INVALID_SIZE;
    const ptrdiff_t G = 8 * (ptrdiff_t)a->groups, Z = 3 * G;
    if (STEP_INPUTS_NULL(a, a->bias_x, !a->hn_in) || (two_phase(a) && !a->scratch)) return RNNK_NULL_POINTER;
    if (STEP_LAYOUT_BAD(a, G, Z) || (a->hn_in && (!a->reset_after || a->hn_in_stride < G))) return RNNK_BAD_LAYOUT;

    region out[3], in[8];
    int n_out = 0, n_in = 0, ok = 1;
    ok &= rows_region(a->h_out, a->rows, a->h_out_stride, G, &out[n_out++]);
    if (a->gates_out) ok &= rows_region(a->gates_out, a->rows, a->gates_stride, 4 * G, &out[n_out++]);
    if (two_phase(a)) ok &= rows_region(a->scratch, a->rows, 3 * G, 3 * G, &out[n_out++]);
    ADD_STEP_INPUT_REGIONS(a, a->bias_x, Z, in, n_in, ok, !a->hn_in);
    if (a->hn_in) ok &= rows_region(a->hn_in, a->rows, a->hn_in_stride, G, &in[n_in++]);
    else if (a->reset_after && a->bias_hn) ok &= rows_region(a->bias_hn, 1, 0, G, &in[n_in++]);
    if (!ok) return RNNK_INVALID_SIZE;
    return outputs_apart(out, n_out, in, n_in);
}

// ---------------------------------------------------------------------------------------------
// The portable variant: one row x one group (8 units) at a time, in plain C. The loops over a
// panel row's 24 contiguous columns are what a compiler vectorizes; the activations are
// kernel_common.h's polynomial in scalar form. Same structure and order of additions as the
// vector template, so the variants differ only in rounding (FMA or not).

// acc[c] += sum over k < width of v[k] * w[24 k + c], for c < n, k in increasing order: a product
// with `n` columns of a panel (rows of 24 floats). Its own function, so that the compiler sees
// one plain loop over the columns to vectorize.
static void panel_product(float *restrict acc, int n, const float *v, int width, const float *w) {
    for (int k = 0; k < width; k++, w += 24) {
        for (int c = 0; c < n; c++) acc[c] += v[k] * w[c];
    }
}

// acc (r, z, n_x, n_h of the group's 8 units, 8 floats each) = the row's starting values, + x W,
// + h W for r and z, and (`with_hn`) + h W_hn into n_h.
static void gru_accumulate_portable(const rnnk_gru_step_args *a, int row, int q, int with_hn, float acc[32]) {
    const float *start = a->z_in ? a->z_in + row * a->z_in_stride + 24 * q : a->bias_x + 24 * q;
    for (int c = 0; c < 24; c++) acc[c] = start[c];
    for (int u = 0; u < 8; u++) {
        acc[24 + u] = a->hn_in ? a->hn_in[row * a->hn_in_stride + 8 * q + u]
                    : a->reset_after && a->bias_hn ? a->bias_hn[8 * q + u] : 0.0f;
    }
    if (a->x_width > 0) {
        const float *w = a->wx + rnnk_gru_packed_index(a->groups, a->x_width, 0, 24 * q);
        panel_product(acc, 24, a->x + row * a->x_stride, a->x_width, w);
    }
    if (a->h_width > 0 && !a->hn_in) {
        const float *h = a->h + row * a->h_stride;
        const float *w = a->wh + rnnk_gru_packed_index(a->groups, a->h_width, 0, 24 * q);
        panel_product(acc, 16, h, a->h_width, w);
        if (with_hn) panel_product(acc + 24, 8, h, a->h_width, w + 16);
    }
}

static inline float gru_h_portable(const rnnk_gru_step_args *a, int row, int unit) {
    return a->h_width > 0 ? a->h[row * a->h_stride + unit] : 0.0f;
}

static inline void gru_store_gate_portable(const rnnk_gru_step_args *a, int row, int unit, int gate, float v) {
    a->gates_out[row * a->gates_stride + gate * a->gates_hidden + unit] = v;
}

// gru_step_variant.h's gru_tile, for one row.
static void gru_row_portable(const rnnk_gru_step_args *a, int row, int q) {
    float acc[32];
    gru_accumulate_portable(a, row, q, 1, acc);
    for (int u = 0; u < 8; u++) {
        const int unit = 8 * q + u;
        const float rg = sigmoid_f32(acc[u]), zg = sigmoid_f32(acc[8 + u]);
        const float n = tanh_f32(acc[16 + u] + rg * acc[24 + u]);
        const float h = gru_h_portable(a, row, unit);
        a->h_out[row * a->h_out_stride + unit] = n + zg * (h - n);
        if (a->gates_out) {
            gru_store_gate_portable(a, row, unit, 0, rg);
            gru_store_gate_portable(a, row, unit, 1, zg);
            gru_store_gate_portable(a, row, unit, 2, n);
            gru_store_gate_portable(a, row, unit, 3, acc[24 + u]);
        }
    }
}

// gru_step_variant.h's gru_phase1, for one row.
static void gru_phase1_portable(const rnnk_gru_step_args *a, int row, int q) {
    const ptrdiff_t G = 8 * (ptrdiff_t)a->groups;
    float acc[32];
    gru_accumulate_portable(a, row, q, 0, acc);
    for (int u = 0; u < 8; u++) {
        const int unit = 8 * q + u;
        const float rg = sigmoid_f32(acc[u]), zg = sigmoid_f32(acc[8 + u]);
        float *s = a->scratch + 3 * G * row + unit;
        s[0] = rg * gru_h_portable(a, row, unit);
        s[G] = zg;
        s[2 * G] = acc[16 + u];
        if (a->gates_out) {
            gru_store_gate_portable(a, row, unit, 0, rg);
            gru_store_gate_portable(a, row, unit, 1, zg);
        }
    }
}

// gru_step_variant.h's gru_phase2, for one row.
static void gru_phase2_portable(const rnnk_gru_step_args *a, int row, int q) {
    const ptrdiff_t G = 8 * (ptrdiff_t)a->groups;
    float acc[8] = {0};
    const float *w = a->wh + rnnk_gru_packed_index(a->groups, a->h_width, 0, 24 * q + 16);
    panel_product(acc, 8, a->scratch + 3 * G * row, a->h_width, w);
    for (int u = 0; u < 8; u++) {
        const int unit = 8 * q + u;
        const float *s = a->scratch + 3 * G * row + unit;
        const float zg = s[G];
        const float n = tanh_f32(s[2 * G] + acc[u]);
        const float h = gru_h_portable(a, row, unit);
        a->h_out[row * a->h_out_stride + unit] = n + zg * (h - n);
        if (a->gates_out) {
            gru_store_gate_portable(a, row, unit, 2, n);
            gru_store_gate_portable(a, row, unit, 3, acc[u]);
        }
    }
}

static void gru_step_portable(const rnnk_gru_step_args *a) {
    if (!two_phase(a)) {
        for (int q = 0; q < a->groups; q++) for (int row = 0; row < a->rows; row++) gru_row_portable(a, row, q);
        return;
    }
    for (int q = 0; q < a->groups; q++) for (int row = 0; row < a->rows; row++) gru_phase1_portable(a, row, q);
    for (int q = 0; q < a->groups; q++) for (int row = 0; row < a->rows; row++) gru_phase2_portable(a, row, q);
}

// ---------------------------------------------------------------------------------------------
// The vector variants: gru_step_variant.h, once per instruction set.

#if RNNK_VECTOR_VARIANTS

// TILE(a, r, q, n) over the rows, TILE_ROWS at a time, then one tile of the 1 to TILE_ROWS - 1
// rows left: each count is its own fully unrolled copy (the counts a variant cannot have left are
// constant-false and never compiled).
#define ROW_TILES(TILE, q)                                                                \
    {                                                                                     \
        int r = 0;                                                                        \
        for (; r + TILE_ROWS <= a->rows; r += TILE_ROWS) TILE(a, r, q, TILE_ROWS);        \
        switch (a->rows - r) {                                                            \
        case 5: if (TILE_ROWS > 5) TILE(a, r, q, 5); break;                               \
        case 4: if (TILE_ROWS > 4) TILE(a, r, q, 4); break;                               \
        case 3: if (TILE_ROWS > 3) TILE(a, r, q, 3); break;                               \
        case 2: TILE(a, r, q, 2); break;                                                  \
        case 1: TILE(a, r, q, 1); break;                                                  \
        default: break;                                                                   \
        }                                                                                 \
    }

#endif

#if RNNK_X86_VARIANTS

#define VARIANT(f) f##_v8_256
#define TARGET AVX2
#define TILE_ROWS 3
#include "gru_step_variant.h"
#undef VARIANT
#undef TARGET
#undef TILE_ROWS

#define VARIANT(f) f##_v8_512
#define TARGET AVX512
#define TILE_ROWS 6
#include "gru_step_variant.h"
#undef VARIANT
#undef TARGET
#undef TILE_ROWS

#endif

#if RNNK_NEON_VARIANTS

// ARM64: AVX2's tile of 3 rows. NEON's 32 registers are 128 bits, so an 8-lane vector takes two
// and the register file holds what AVX2's 16 do (gru_step_variant.h).
#define VARIANT(f) f##_v8_neon
#define TARGET NEON
#define TILE_ROWS 3
#include "gru_step_variant.h"
#undef VARIANT
#undef TARGET
#undef TILE_ROWS

#endif

int rnnk_gru_step(rnnk_isa isa, const rnnk_gru_step_args *args) {
    if (isa != RNNK_ISA_NONE && !rnnk_fused_available(isa)) return RNNK_UNAVAILABLE;
    const int status = rnnk_gru_step_check(args);
    if (status != RNNK_OK) return status;
#if RNNK_X86_VARIANTS
    if (isa == RNNK_ISA_AVX512) {
        gru_step_v8_512(args);
        return RNNK_OK;
    }
    if (isa == RNNK_ISA_AVX2) {
        gru_step_v8_256(args);
        return RNNK_OK;
    }
#endif
#if RNNK_NEON_VARIANTS
    if (isa == RNNK_ISA_NEON) {
        gru_step_v8_neon(args);
        return RNNK_OK;
    }
#endif
    gru_step_portable(args);
    return RNNK_OK;
}
