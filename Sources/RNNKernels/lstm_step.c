// The fused LSTM step (rnn_kernels.h), written with clang's vector extensions and compiled per
// instruction set with target attributes, so that one binary runs on any x86-64 CPU and picks
// the widest variant at run time (rnnk_detect_isa); on ARM64 the 8-lane variant is compiled for
// NEON (lstm_step_variant.h). A portable plain-C variant runs everywhere else.
//
// Why a hand-written kernel when BLAS is at hand: per time step the runtime needs
// z = [x, h] W + b followed by the gate nonlinearities. As a BLAS call plus a separate gate pass,
// z makes a round trip through memory (4H floats per row, written by the GEMM, read by the gate
// pass), the input projection of all steps is a second pass over memory, and OpenBLAS picks its
// kernels from the CPU it detects (or from OPENBLAS_CORETYPE), not from what the CPU can do.
// Here a register tile of rows x columns accumulates z, then the same registers go through the
// gates: z never leaves the registers. The arithmetic is spec/FORMAT.md §6.1 (`lstm`).
#include "kernel_common.h"

// ---------------------------------------------------------------------------------------------
// Argument checks (rnn_kernels.h lists them; the regions are kernel_common.h's).

int rnnk_lstm_step_check(const rnnk_lstm_step_args *a) {
    if (!a) return RNNK_NULL_POINTER;
    if (STEP_SIZES_INVALID(a, 32)) return RNNK_INVALID_SIZE;
    const ptrdiff_t G = 8 * (ptrdiff_t)a->groups, Z = 4 * G;
    if (STEP_INPUTS_NULL(a, a->bias, 1) || !a->c_out || (a->cell_tanh_out && !a->gates_out)) return RNNK_NULL_POINTER;
    if (STEP_LAYOUT_BAD(a, G, Z) || a->c_stride < G) return RNNK_BAD_LAYOUT;

    region out[4], in[7];
    int n_out = 0, n_in = 0, ok = 1;
    ok &= rows_region(a->c_out, a->rows, a->c_stride, G, &out[n_out++]);
    ok &= rows_region(a->h_out, a->rows, a->h_out_stride, G, &out[n_out++]);
    if (a->gates_out) ok &= rows_region(a->gates_out, a->rows, a->gates_stride, 4 * G, &out[n_out++]);
    if (a->cell_tanh_out) ok &= rows_region(a->cell_tanh_out, a->rows, a->c_stride, G, &out[n_out++]);
    ADD_STEP_INPUT_REGIONS(a, a->bias, Z, in, n_in, ok, 1);
    if (a->c_prev && a->c_prev != a->c_out) ok &= rows_region(a->c_prev, a->rows, a->c_stride, G, &in[n_in++]);
    if (!ok) return RNNK_INVALID_SIZE;

    return outputs_apart(out, n_out, in, n_in);
}

int rnnk_sgemm_check(int m, int n, int k, const float *a, ptrdiff_t a_row, ptrdiff_t a_col,
                     const float *b, ptrdiff_t ldb, const float *c, ptrdiff_t ldc) {
    if (m < 0 || n < 0 || k < 0) return RNNK_INVALID_SIZE;
    if (m > 0 && n > 0 && (!c || (k > 0 && (!a || !b)))) return RNNK_NULL_POINTER;
    if (n % 16 != 0 || ldc < n || ldb < n || a_row < 0 || a_col < 0) return RNNK_BAD_LAYOUT;
    if (m == 0 || n == 0) return RNNK_OK;
    region rc, ra = empty_region, rb = empty_region;
    int ok = rows_region(c, m, ldc, n, &rc);
    if (k > 0) {
        // A(i, p) at a[i a_row + p a_col]: the last float is (m - 1) a_row + (k - 1) a_col.
        size_t last;
        if (__builtin_mul_overflow((size_t)(k - 1), (size_t)a_col, &last) || last >= PTRDIFF_MAX) ok = 0;
        else ok &= rows_region(a, m, a_row, (ptrdiff_t)last + 1, &ra);
        ok &= rows_region(b, k, ldb, n, &rb);
    }
    if (!ok) return RNNK_INVALID_SIZE;
    if (overlap(rc, ra) || overlap(rc, rb)) return RNNK_OVERLAP;
    return RNNK_OK;
}

// ---------------------------------------------------------------------------------------------
// The portable variant (RNNK_ISA_NONE): one row x one group (8 units) at a time, in plain C, any
// compiler and architecture. The same order of additions as the vector tiles (start, then k = 0,
// 1, ... of x, then of h), so the variants differ only in rounding (FMA or not) and in the tanh of
// g (AVX-512 takes it as 2 sigmoid(2 z) - 1). The reference the vector variants of other
// architectures are tested against, and what the int8 step (int8_step.c) runs its gates on where
// no vector variant exists.

// acc[c] += sum over k < width of v[k] * w[k * n + c] for the 32 columns of one group, k in
// increasing order (a panel row holds `n` columns: 64 for a pair of groups, 32 for an odd last one).
static void group_product(float *restrict acc, const float *v, int width, const float *w, ptrdiff_t n) {
    for (int k = 0; k < width; k++, w += n) {
        for (int c = 0; c < 32; c++) acc[c] += v[k] * w[c];
    }
}

static void lstm_row_portable(const rnnk_lstm_step_args *a, int row, int q) {
    float acc[32];
    const float *start = a->z_in ? a->z_in + row * a->z_in_stride + 32 * q : a->bias + 32 * q;
    for (int c = 0; c < 32; c++) acc[c] = start[c];
    const ptrdiff_t n = (q & ~1) + 1 < a->groups ? 64 : 32;
    if (a->x_width > 0) {
        group_product(acc, a->x + row * a->x_stride, a->x_width, a->wx + rnnk_packed_index(a->groups, a->x_width, 0, 32 * q), n);
    }
    if (a->h && a->h_width > 0) {
        group_product(acc, a->h + row * a->h_stride, a->h_width, a->wh + rnnk_packed_index(a->groups, a->h_width, 0, 32 * q), n);
    }
    for (int u = 0; u < 8; u++) {
        const int unit = 8 * q + u;
        const float i = sigmoid_f32(acc[u]), f = sigmoid_f32(acc[8 + u]);
        const float g = tanh_f32(acc[16 + u]), o = sigmoid_f32(acc[24 + u]);
        float c = i * g;
        if (a->c_prev) c = f * a->c_prev[row * a->c_stride + unit] + c;
        const float tc = tanh_f32(c);
        a->c_out[row * a->c_stride + unit] = c;
        a->h_out[row * a->h_out_stride + unit] = o * tc;
        if (a->gates_out) {
            float *out = a->gates_out + row * a->gates_stride + unit;
            out[0] = i;
            out[a->gates_hidden] = f;
            out[2 * a->gates_hidden] = g;
            out[3 * a->gates_hidden] = o;
            if (a->cell_tanh_out) a->cell_tanh_out[row * a->c_stride + unit] = tc;
        }
    }
}

// Groups outer, rows inner, as the vector variants.
static void step_portable(const rnnk_lstm_step_args *a) {
    for (int q = 0; q < a->groups; q++) for (int row = 0; row < a->rows; row++) lstm_row_portable(a, row, q);
}

#if RNNK_VECTOR_VARIANTS

// Training's extra outputs: the activated gates (gate-major) and tanh(c).
#define DEFINE_STORE_GATES(NAME, TARGET)                                                   \
    TARGET INLINE void NAME(const rnnk_lstm_step_args *a, int row, int unit, v8 i, v8 f, v8 g, v8 o, v8 tc) { \
        float *out = a->gates_out + row * a->gates_stride + unit;                         \
        STORE8(out, i);                                                                   \
        STORE8(out + a->gates_hidden, f);                                                 \
        STORE8(out + 2 * a->gates_hidden, g);                                             \
        STORE8(out + 3 * a->gates_hidden, o);                                             \
        if (a->cell_tanh_out) STORE8(a->cell_tanh_out + row * a->c_stride + unit, tc);    \
    }

// The start of group q0's weights and the panel's row stride (rnnk_packed_index).
INLINE const float *panel(const float *w, int groups, int width, int q0, ptrdiff_t *stride) {
    const int pair = q0 & ~1;
    *stride = pair + 1 < groups ? 64 : 32;
    return w + rnnk_packed_index(groups, width, 0, 32 * q0);
}

#endif

#if RNNK_X86_VARIANTS

// ---------------------------------------------------------------------------------------------
// AVX-512: a tile is R rows x G groups (G = 1 or 2). One group's 32 columns are two 16-lane
// vectors, A = [i | f] and B = [g | o]; R = 6, G = 2 holds 24 accumulators, and each k costs
// 4 weight loads and 6 broadcasts for 24 FMAs.

DEFINE_STORE_GATES(store_gates512, AVX512)

AVX512 INLINE void tile512(const rnnk_lstm_step_args *a, int r0, int q0, const int R, const int G) {
    ptrdiff_t n;
    v16 acc[6][4];
    if (a->z_in) {
        UNROLL for (int j = 0; j < 2 * G; j++) UNROLL for (int r = 0; r < R; r++) {
            acc[r][j] = LOAD16(a->z_in + (r0 + r) * a->z_in_stride + 32 * q0 + 16 * j);
        }
    } else {
        UNROLL for (int j = 0; j < 2 * G; j++) {
            v16 b = LOAD16(a->bias + 32 * q0 + 16 * j);
            UNROLL for (int r = 0; r < R; r++) acc[r][j] = b;
        }
    }
    // z += x W_x: one row of W_x per k, broadcast x[r][k] against it.
    const float *x = a->x + r0 * a->x_stride;
    const float *w = panel(a->wx, a->groups, a->x_width, q0, &n);
    for (int k = 0; k < a->x_width; k++, w += n) {
        v16 wv[4];
        UNROLL for (int j = 0; j < 2 * G; j++) wv[j] = LOAD16(w + 16 * j);
        UNROLL for (int r = 0; r < R; r++) {
            v16 s = SPLAT16(x[r * a->x_stride + k]);
            UNROLL for (int j = 0; j < 2 * G; j++) acc[r][j] = __builtin_elementwise_fma(s, wv[j], acc[r][j]);
        }
    }
    // z += h W_h, the same way.
    if (a->h) {
        const float *h = a->h + r0 * a->h_stride;
        w = panel(a->wh, a->groups, a->h_width, q0, &n);
        for (int k = 0; k < a->h_width; k++, w += n) {
            v16 wv[4];
            UNROLL for (int j = 0; j < 2 * G; j++) wv[j] = LOAD16(w + 16 * j);
            UNROLL for (int r = 0; r < R; r++) {
                v16 s = SPLAT16(h[r * a->h_stride + k]);
                UNROLL for (int j = 0; j < 2 * G; j++) acc[r][j] = __builtin_elementwise_fma(s, wv[j], acc[r][j]);
            }
        }
    }
    // Gates. sigmoid on A gives i and f; on B, tanh g = 2 sigmoid(2 g) - 1 lets one sigmoid over
    // [2 z_g | z_o] give both g and o.
    // The accumulators go to a local buffer first: the gate code below is too large to unroll, and
    // indexing `acc` with loop variables there would keep all of `acc` in memory in the k loops.
    v16 z[6][4];
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int j = 0; j < 2 * G; j++) z[r][j] = acc[r][j];
    const v16 twoThenOne = {2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int r = 0; r < R; r++) {
        const int row = r0 + r;
        for (int q = 0; q < G; q++) {
            v16 sa = sigmoid_v16_512(z[r][2 * q]);
            v16 sb = sigmoid_v16_512(z[r][2 * q + 1] * twoThenOne);
            v8 i = __builtin_shufflevector(sa, sa, 0, 1, 2, 3, 4, 5, 6, 7);
            v8 f = __builtin_shufflevector(sa, sa, 8, 9, 10, 11, 12, 13, 14, 15);
            v8 g = 2.0f * __builtin_shufflevector(sb, sb, 0, 1, 2, 3, 4, 5, 6, 7) - 1.0f;
            v8 o = __builtin_shufflevector(sb, sb, 8, 9, 10, 11, 12, 13, 14, 15);
            const int unit = 8 * (q0 + q);
            v8 c = i * g;
            if (a->c_prev) c = f * LOAD8(a->c_prev + row * a->c_stride + unit) + c;
            v8 tc = tanh_v8_512(c);
            STORE8(a->c_out + row * a->c_stride + unit, c);
            STORE8(a->h_out + row * a->h_out_stride + unit, o * tc);
            if (a->gates_out) store_gates512(a, row, unit, i, f, g, o, tc);
        }
    }
}

// Rows in tiles of 6; the remaining 1-5 rows each get their own fully unrolled tile.
#define ROWS512(G)                                                                        \
    {                                                                                     \
        int r = 0;                                                                        \
        for (; r + 6 <= a->rows; r += 6) tile512(a, r, q, 6, G);                          \
        switch (a->rows - r) {                                                            \
        case 5: tile512(a, r, q, 5, G); break;                                            \
        case 4: tile512(a, r, q, 4, G); break;                                            \
        case 3: tile512(a, r, q, 3, G); break;                                            \
        case 2: tile512(a, r, q, 2, G); break;                                            \
        case 1: tile512(a, r, q, 1, G); break;                                            \
        default: break;                                                                   \
        }                                                                                 \
    }

// Groups outer, rows inner: the weights of two groups ([x_width + h_width] x 64 floats, 40 KB for
// the course model) stay in L1 while all rows stream past them.
AVX512 static void step512(const rnnk_lstm_step_args *a) {
    int q = 0;
    for (; q + 2 <= a->groups; q += 2) ROWS512(2)
    if (q < a->groups) ROWS512(1)
}

// ---------------------------------------------------------------------------------------------
// AVX2: 16 registers of 8 lanes, a tile of 3 rows x 1 group (lstm_step_variant.h).

#define VARIANT(f) f##_v8_256
#define TARGET AVX2
#define TILE_ROWS 3
#include "lstm_step_variant.h"
#undef VARIANT
#undef TARGET
#undef TILE_ROWS

// ---------------------------------------------------------------------------------------------
// The backward pass's products (rnnk_sgemm), AVX-512 only: a tile is R rows x V vectors of 16
// columns, R <= 6, V <= 4, accumulating k in [k0, k0 + kc) onto what C holds (or onto zero).

typedef struct gemm_args {
    const float *a;
    ptrdiff_t a_row, a_col;
    const float *b;
    ptrdiff_t ldb;
    float *c;
    ptrdiff_t ldc;
} gemm_args;

AVX512 INLINE void gemm_tile512(const gemm_args *g, int i0, int j0, int k0, int kc, int load_c, const int R, const int V) {
    v16 acc[6][4];
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int v = 0; v < V; v++) {
        acc[r][v] = load_c ? LOAD16(g->c + (i0 + r) * g->ldc + j0 + 16 * v) : (v16){};
    }
    const float *b = g->b + (ptrdiff_t)k0 * g->ldb + j0;
    const float *a = g->a + i0 * g->a_row + (ptrdiff_t)k0 * g->a_col;
    for (int k = 0; k < kc; k++, b += g->ldb, a += g->a_col) {
        v16 wv[4];
        UNROLL for (int v = 0; v < V; v++) wv[v] = LOAD16(b + 16 * v);
        UNROLL for (int r = 0; r < R; r++) {
            v16 s = SPLAT16(a[r * g->a_row]);
            UNROLL for (int v = 0; v < V; v++) acc[r][v] = __builtin_elementwise_fma(s, wv[v], acc[r][v]);
        }
    }
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int v = 0; v < V; v++) {
        *(v16u *)(g->c + (i0 + r) * g->ldc + j0 + 16 * v) = acc[r][v];
    }
}

#define GEMM_ROWS(V)                                                                      \
    {                                                                                     \
        int i = 0;                                                                        \
        for (; i + 6 <= m; i += 6) gemm_tile512(g, i, j, k0, kc, load_c, 6, V);           \
        switch (m - i) {                                                                  \
        case 5: gemm_tile512(g, i, j, k0, kc, load_c, 5, V); break;                       \
        case 4: gemm_tile512(g, i, j, k0, kc, load_c, 4, V); break;                       \
        case 3: gemm_tile512(g, i, j, k0, kc, load_c, 3, V); break;                       \
        case 2: gemm_tile512(g, i, j, k0, kc, load_c, 2, V); break;                       \
        case 1: gemm_tile512(g, i, j, k0, kc, load_c, 1, V); break;                       \
        default: break;                                                                   \
        }                                                                                 \
    }

// Panels of 64 columns, blocks of 256 k: a 64 KB block of B stays in L2 while every row tile
// passes over it; the C tile is reloaded once per block.
AVX512 static void gemm512(int m, int n, int k, const gemm_args *g, int accumulate) {
    for (int j = 0; j < n; j += 64) {
        const int width = n - j < 64 ? n - j : 64;
        for (int k0 = 0; k0 < k; k0 += 256) {
            const int kc = k - k0 < 256 ? k - k0 : 256;
            const int load_c = accumulate || k0 > 0;
            switch (width / 16) {
            case 4: GEMM_ROWS(4) break;
            case 3: GEMM_ROWS(3) break;
            case 2: GEMM_ROWS(2) break;
            default: GEMM_ROWS(1) break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------

int rnnk_sgemm(rnnk_isa isa, int m, int n, int k,
               const float *a, ptrdiff_t a_row, ptrdiff_t a_col,
               const float *b, ptrdiff_t ldb,
               float *c, ptrdiff_t ldc, int accumulate) {
    if (isa != RNNK_ISA_AVX512 || !rnnk_fused_available(isa)) return RNNK_UNAVAILABLE;
    const int status = rnnk_sgemm_check(m, n, k, a, a_row, a_col, b, ldb, c, ldc);
    if (status != RNNK_OK) return status;
    if (m == 0 || n == 0) return RNNK_OK;
    if (k == 0) {
        if (!accumulate) for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[i * ldc + j] = 0;
        return RNNK_OK;
    }
    const gemm_args g = {a, a_row, a_col, b, ldb, c, ldc};
    gemm512(m, n, k, &g, accumulate);
    return RNNK_OK;
}

#else // not x86-64 with a recent clang: no AVX-512 GEMM.

int rnnk_sgemm(rnnk_isa isa, int m, int n, int k, const float *a, ptrdiff_t a_row, ptrdiff_t a_col,
               const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int accumulate) {
    (void)isa; (void)m; (void)n; (void)k; (void)a; (void)a_row; (void)a_col;
    (void)b; (void)ldb; (void)c; (void)ldc; (void)accumulate;
    return RNNK_UNAVAILABLE;
}

#endif

#if RNNK_NEON_VARIANTS

// ---------------------------------------------------------------------------------------------
// NEON (ARM64): the AVX2 variant's 8-lane tile, 3 rows x 1 group (lstm_step_variant.h says why).

#define VARIANT(f) f##_v8_neon
#define TARGET NEON
#define TILE_ROWS 3
#include "lstm_step_variant.h"
#undef VARIANT
#undef TARGET
#undef TILE_ROWS

#endif

int rnnk_lstm_step(rnnk_isa isa, const rnnk_lstm_step_args *args) {
    if (isa != RNNK_ISA_NONE && !rnnk_fused_available(isa)) return RNNK_UNAVAILABLE;
    const int status = rnnk_lstm_step_check(args);
    if (status != RNNK_OK) return status;
#if RNNK_X86_VARIANTS
    if (isa == RNNK_ISA_AVX512) {
        step512(args);
        return RNNK_OK;
    }
    if (isa == RNNK_ISA_AVX2) {
        lstm_step_v8_256(args);
        return RNNK_OK;
    }
#endif
#if RNNK_NEON_VARIANTS
    if (isa == RNNK_ISA_NEON) {
        lstm_step_v8_neon(args);
        return RNNK_OK;
    }
#endif
    step_portable(args);
    return RNNK_OK;
}
