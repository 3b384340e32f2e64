// gru_step_variant.h: one vector variant of the fused GRU step (rnn_kernels.h, `rnnk_gru_step`).
// A template, not a header: gru_step.c includes it once per instruction set (hence no include
// guard) with three macros defined:
//
//   VARIANT(f)   the name of `f` in this variant, e.g. f_v8_256; the math (exp, sigmoid, tanh of
//                kernel_common.h's DEFINE_MATH) has the same suffix
//   TARGET       the target attribute, AVX2 or AVX512 (x86-64), NEON (ARM64, where it is empty)
//   TILE_ROWS    the rows of a full tile: 3 for AVX2's 16 vector registers, 6 for AVX-512's 32;
//                3 for NEON, whose 32 registers are 128 bits (an 8-lane vector takes two, so
//                they hold what AVX2's 16 hold)
//
// All variants are the same 8-lane code; AVX-512 gains the registers for twice the rows per
// weight load. Only the target and TILE_ROWS differ, so the AVX2 tests, which run on the machines
// we have, cover the AVX-512 variant's logic too. (The NEON variant is tested under emulation
// against the portable one: Tests/KernelsC.)
//
// A tile is R <= TILE_ROWS rows x 1 group (8 units, 24 columns). A row has 4 accumulators: r, z,
// the input side of n (n_x) and its recurrent side (n_h); per k the tile loads 3 weight vectors
// and broadcasts R inputs for 3R FMAs. AVX2 with R = 3: 12 accumulators, 3 broadcasts and a
// weight vector fill the 16 registers (the LSTM's tile, lstm_step.c, measured best at that shape).

// acc[r][slot] += sum over k < width of v[r][k] * w[24 k + 8 j ..< 24 k + 8 j + 8], k in increasing
// order, for the panel's column vectors first <= j < last (0 r, 1 z, 2 n); r and z go to slots 0
// and 1, n to slot `n_slot` (2 for the input side n_x, 3 for the recurrent side n_h).
TARGET INLINE void VARIANT(panel_product)(v8 acc[TILE_ROWS][4], const int R, const float *v, ptrdiff_t v_stride,
                                          int width, const float *w, const int first, const int last, const int n_slot) {
    for (int k = 0; k < width; k++, w += 24) {
        v8 s[TILE_ROWS];
        UNROLL for (int r = 0; r < R; r++) s[r] = SPLAT8(v[r * v_stride + k]);
        UNROLL for (int j = first; j < last; j++) {
            const v8 wv = LOAD8(w + 8 * j);
            const int slot = j == 2 ? n_slot : j;
            UNROLL for (int r = 0; r < R; r++) acc[r][slot] = __builtin_elementwise_fma(s[r], wv, acc[r][slot]);
        }
    }
}

// acc = the rows' starting values (z_in or bias_x, and hn_in, bias_hn or 0 in n_h), + x W for r, z,
// n_x, + h W for r, z, and (`with_hn`) + h W_hn into n_h (no h products when hn_in supplies them).
TARGET INLINE void VARIANT(gru_accumulate)(const rnnk_gru_step_args *a, int r0, int q, const int R,
                                           const int with_hn, v8 acc[TILE_ROWS][4]) {
    const v8 hn = a->reset_after && a->bias_hn ? LOAD8(a->bias_hn + 8 * q) : (v8){0};
    UNROLL for (int r = 0; r < R; r++) {
        const float *start = a->z_in ? a->z_in + (r0 + r) * a->z_in_stride + 24 * q : a->bias_x + 24 * q;
        UNROLL for (int j = 0; j < 3; j++) acc[r][j] = LOAD8(start + 8 * j);
        acc[r][3] = a->hn_in ? LOAD8(a->hn_in + (r0 + r) * a->hn_in_stride + 8 * q) : hn;
    }
    if (a->x_width > 0) {
        VARIANT(panel_product)(acc, R, a->x + r0 * a->x_stride, a->x_stride, a->x_width,
                               a->wx + rnnk_gru_packed_index(a->groups, a->x_width, 0, 24 * q), 0, 3, 2);
    }
    if (a->h_width > 0 && !a->hn_in) {
        VARIANT(panel_product)(acc, R, a->h + r0 * a->h_stride, a->h_stride, a->h_width,
                               a->wh + rnnk_gru_packed_index(a->groups, a->h_width, 0, 24 * q), 0, with_hn ? 3 : 2, 3);
    }
}

// The state this tile's row `row` starts from (0 at a first step).
TARGET INLINE v8 VARIANT(gru_h)(const rnnk_gru_step_args *a, int row, int unit) {
    return a->h_width > 0 ? LOAD8(a->h + row * a->h_stride + unit) : (v8){0};
}

// gates_out's block `gate` (0 r, 1 z, 2 n, 3 hn) of the row.
TARGET INLINE void VARIANT(gru_store_gate)(const rnnk_gru_step_args *a, int row, int unit, int gate, v8 v) {
    STORE8(a->gates_out + row * a->gates_stride + gate * a->gates_hidden + unit, v);
}

// One pass for reset_after = 1 (and reset_after = 0 at a first step, where n_h stays 0).
TARGET INLINE void VARIANT(gru_tile)(const rnnk_gru_step_args *a, int r0, int q, const int R) {
    v8 acc[TILE_ROWS][4];
    VARIANT(gru_accumulate)(a, r0, q, R, 1, acc);
    // The gate code is too large to unroll; indexing `acc` with `r` there would keep all of it in
    // memory during the k loops, so it goes to a local copy first (as in lstm_step.c's tiles).
    v8 p[TILE_ROWS][4];
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int j = 0; j < 4; j++) p[r][j] = acc[r][j];
    const int unit = 8 * q;
    for (int r = 0; r < R; r++) {
        const int row = r0 + r;
        const v8 rg = VARIANT(sigmoid)(p[r][0]), zg = VARIANT(sigmoid)(p[r][1]);
        const v8 n = VARIANT(tanh)(p[r][2] + rg * p[r][3]);
        const v8 h = VARIANT(gru_h)(a, row, unit);
        STORE8(a->h_out + row * a->h_out_stride + unit, n + zg * (h - n));
        if (a->gates_out) {
            VARIANT(gru_store_gate)(a, row, unit, 0, rg);
            VARIANT(gru_store_gate)(a, row, unit, 1, zg);
            VARIANT(gru_store_gate)(a, row, unit, 2, n);
            VARIANT(gru_store_gate)(a, row, unit, 3, p[r][3]);
        }
    }
}

// reset_after = 0, phase 1: r and z, then `r * h`, `z` and n_x to scratch (rnn_kernels.h).
TARGET INLINE void VARIANT(gru_phase1)(const rnnk_gru_step_args *a, int r0, int q, const int R) {
    v8 acc[TILE_ROWS][4];
    VARIANT(gru_accumulate)(a, r0, q, R, 0, acc);
    v8 p[TILE_ROWS][3];
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int j = 0; j < 3; j++) p[r][j] = acc[r][j];
    const ptrdiff_t G = 8 * (ptrdiff_t)a->groups;
    const int unit = 8 * q;
    for (int r = 0; r < R; r++) {
        const int row = r0 + r;
        const v8 rg = VARIANT(sigmoid)(p[r][0]), zg = VARIANT(sigmoid)(p[r][1]);
        float *s = a->scratch + 3 * G * row + unit;
        STORE8(s, rg * VARIANT(gru_h)(a, row, unit));
        STORE8(s + G, zg);
        STORE8(s + 2 * G, p[r][2]);
        if (a->gates_out) {
            VARIANT(gru_store_gate)(a, row, unit, 0, rg);
            VARIANT(gru_store_gate)(a, row, unit, 1, zg);
        }
    }
}

// reset_after = 0, phase 2: n_h = (r * h) W_hn from scratch's `r * h` (every group's, written by
// phase 1), then n and h_out. One accumulator per row (slot 3): per k one weight vector, R FMAs.
// (At one row that is a chain of G dependent FMAs per group, but the chains of successive groups
// are independent and overlap in the out-of-order core: tiles of 3 groups measured no faster.)
TARGET INLINE void VARIANT(gru_phase2)(const rnnk_gru_step_args *a, int r0, int q, const int R) {
    const ptrdiff_t G = 8 * (ptrdiff_t)a->groups;
    v8 acc[TILE_ROWS][4];
    UNROLL for (int r = 0; r < R; r++) acc[r][3] = (v8){0};
    VARIANT(panel_product)(acc, R, a->scratch + 3 * G * r0, 3 * G, a->h_width,
                           a->wh + rnnk_gru_packed_index(a->groups, a->h_width, 0, 24 * q), 2, 3, 3);
    v8 p[TILE_ROWS];
    UNROLL for (int r = 0; r < R; r++) p[r] = acc[r][3];
    const int unit = 8 * q;
    for (int r = 0; r < R; r++) {
        const int row = r0 + r;
        const float *s = a->scratch + 3 * G * row + unit;
        const v8 zg = LOAD8(s + G);
        const v8 n = VARIANT(tanh)(LOAD8(s + 2 * G) + p[r]);
        const v8 h = VARIANT(gru_h)(a, row, unit);
        STORE8(a->h_out + row * a->h_out_stride + unit, n + zg * (h - n));
        if (a->gates_out) {
            VARIANT(gru_store_gate)(a, row, unit, 2, n);
            VARIANT(gru_store_gate)(a, row, unit, 3, p[r]);
        }
    }
}

// Groups outer, rows inner: a group's panels ([x_width + G] x 24 floats, 15 KB at H = 128) stay in
// L1 while all rows stream past them.
TARGET static void VARIANT(gru_step)(const rnnk_gru_step_args *a) {
    if (a->reset_after || a->h_width == 0) {
        for (int q = 0; q < a->groups; q++) ROW_TILES(VARIANT(gru_tile), q)
        return;
    }
    for (int q = 0; q < a->groups; q++) ROW_TILES(VARIANT(gru_phase1), q)
    for (int q = 0; q < a->groups; q++) ROW_TILES(VARIANT(gru_phase2), q)
}
