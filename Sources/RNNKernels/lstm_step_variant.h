// lstm_step_variant.h: one 8-lane vector variant of the fused LSTM step (rnn_kernels.h,
// `rnnk_lstm_step`). A template, not a header: lstm_step.c includes it once per instruction set
// (hence no include guard) with three macros defined, as gru_step_variant.h:
//
//   VARIANT(f)   the name of `f` in this variant, e.g. f_v8_256; the math (exp, sigmoid, tanh of
//                kernel_common.h's DEFINE_MATH) has the same suffix
//   TARGET       the target attribute: AVX2 (x86-64) or NEON (ARM64, where it is empty)
//   TILE_ROWS    the rows of a full tile, 2 to 4: 3 for both
//
// A tile is R <= TILE_ROWS rows x 1 group, one accumulator per gate. AVX2 has 16 registers of 8
// lanes: R = 3 holds 12 accumulators and 3 broadcasts; each weight vector is loaded once per k and
// used by 3 FMAs. (Measured on the course model: 21.7k images/s, vs 15.5k with R = 2 and 12.9k with
// the weights held in registers, which spills accumulators.) NEON has 32 registers of 4 lanes, each
// 8-lane vector a pair of them: the same 512 bytes of registers, so the same tile fits (24 + 3 + 2
// registers); it has not been measured on an ARM CPU. The AVX-512 variant, 16 lanes wide, is
// lstm_step.c's own.

DEFINE_STORE_GATES(VARIANT(store_gates), TARGET)

TARGET INLINE void VARIANT(lstm_tile)(const rnnk_lstm_step_args *a, int r0, int q0, const int R) {
    ptrdiff_t n;
    v8 acc[TILE_ROWS][4];
    if (a->z_in) {
        UNROLL for (int j = 0; j < 4; j++) UNROLL for (int r = 0; r < R; r++) {
            acc[r][j] = LOAD8(a->z_in + (r0 + r) * a->z_in_stride + 32 * q0 + 8 * j);
        }
    } else {
        UNROLL for (int j = 0; j < 4; j++) {
            v8 b = LOAD8(a->bias + 32 * q0 + 8 * j);
            UNROLL for (int r = 0; r < R; r++) acc[r][j] = b;
        }
    }
    const float *x = a->x + r0 * a->x_stride;
    const float *w = panel(a->wx, a->groups, a->x_width, q0, &n);
    for (int k = 0; k < a->x_width; k++, w += n) {
        v8 s[TILE_ROWS];
        UNROLL for (int r = 0; r < R; r++) s[r] = SPLAT8(x[r * a->x_stride + k]);
        UNROLL for (int j = 0; j < 4; j++) {
            v8 wv = LOAD8(w + 8 * j);
            UNROLL for (int r = 0; r < R; r++) acc[r][j] = __builtin_elementwise_fma(s[r], wv, acc[r][j]);
        }
    }
    if (a->h) {
        const float *h = a->h + r0 * a->h_stride;
        w = panel(a->wh, a->groups, a->h_width, q0, &n);
        for (int k = 0; k < a->h_width; k++, w += n) {
            v8 s[TILE_ROWS];
            UNROLL for (int r = 0; r < R; r++) s[r] = SPLAT8(h[r * a->h_stride + k]);
            UNROLL for (int j = 0; j < 4; j++) {
                v8 wv = LOAD8(w + 8 * j);
                UNROLL for (int r = 0; r < R; r++) acc[r][j] = __builtin_elementwise_fma(s[r], wv, acc[r][j]);
            }
        }
    }
    v8 z[TILE_ROWS][4];  // see lstm_step.c's tile512
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int j = 0; j < 4; j++) z[r][j] = acc[r][j];
    for (int r = 0; r < R; r++) {
        const int row = r0 + r;
        const int unit = 8 * q0;
        v8 i = VARIANT(sigmoid)(z[r][0]), f = VARIANT(sigmoid)(z[r][1]);
        v8 g = VARIANT(tanh)(z[r][2]), o = VARIANT(sigmoid)(z[r][3]);
        v8 c = i * g;
        if (a->c_prev) c = f * LOAD8(a->c_prev + row * a->c_stride + unit) + c;
        v8 tc = VARIANT(tanh)(c);
        STORE8(a->c_out + row * a->c_stride + unit, c);
        STORE8(a->h_out + row * a->h_out_stride + unit, o * tc);
        if (a->gates_out) VARIANT(store_gates)(a, row, unit, i, f, g, o, tc);
    }
}

_Static_assert(TILE_ROWS >= 2 && TILE_ROWS <= 4, "lstm_step_variant.h: TILE_ROWS is 2, 3 or 4");

// Groups outer, rows inner (lstm_step.c's step512 says why); the 1 to TILE_ROWS - 1 rows left are
// one tile of their own, each count its own unrolled copy.
TARGET static void VARIANT(lstm_step)(const rnnk_lstm_step_args *a) {
    for (int q = 0; q < a->groups; q++) {
        int r = 0;
        for (; r + TILE_ROWS <= a->rows; r += TILE_ROWS) VARIANT(lstm_tile)(a, r, q, TILE_ROWS);
        if (TILE_ROWS > 3 && a->rows - r == 3) VARIANT(lstm_tile)(a, r, q, 3);
        if (a->rows - r == 2) VARIANT(lstm_tile)(a, r, q, 2);
        if (a->rows - r == 1) VARIANT(lstm_tile)(a, r, q, 1);
    }
}
