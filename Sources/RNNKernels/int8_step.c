// The int8 evaluation of recurrent layers (spec/FORMAT.md §6.6; rnn_kernels.h, "int8 evaluation").
//
// A layer stored as int8 keeps its integer weights `q[c][k]` and per-row scales `s_W[c]`. At every
// step the activations [x, h] are quantized per row with the same symmetric rule as the weights
// (rnnk_i8_quantize), so that each pre-activation is an exact integer dot product times two scales:
//
//     z[c] = b[c] + (s_x s_W[c]) sum_k q_W[c][k] q_x[k] + (s_h s_U[c]) sum_k q_U[c][k] q_h[k]
//
// The integer sums are exact (int32, no saturation) on every variant, so they are identical on every
// instruction set and CPU; only the binary32 arithmetic after them rounds. A step runs in chunks of
// up to CHUNK rows: quantize the chunk's x and h, compute its z with the integer products (into
// scratch, 32 KB at most for the course model: it stays in L1), then run the gates on z through the
// float step kernels (rnnk_lstm_step / rnnk_gru_step with z_in), so the gate math has one
// implementation for both evaluations.
//
// Variants of the product (rnnk_i8_isa): portable C; AVX2 (vpmaddubsw on |w| and sign(x, w), pairs
// then vpmaddwd: every partial sum fits 16 bits, 2 * 127 * 127 < 2^15); AVX-512 VNNI (vpdpbusd on
// x + 128 as unsigned bytes, with 128 * sum_k q[c][k] subtracted at the end, exact modulo 2^32 and
// therefore exact, since the true sum fits int32); ARM64 NEON with the dot product instructions
// (SDOT, vdotq_laneq_s32: signed x signed, so no correction), on the same packed layout (4 inputs x 4
// columns per 16 bytes).
#include "kernel_common.h"

#include <math.h>
#include <string.h>

#if RNNK_X86_VARIANTS
#include <immintrin.h>
#endif
#if RNNK_NEON_VARIANTS
#include <arm_neon.h>
#endif

// Rows per chunk: the z rows of a chunk stay in L1 between the products and the gates.
#ifndef CHUNK
#define CHUNK 16
#endif

// ---------------------------------------------------------------------------------------------
// Quantization (spec §6.6): the one implementation, plain C, shared by every variant.

// One row: the body of every target's copy (always inlined, so each copy's loops vectorize for its
// own instruction set; the arithmetic is the same IEEE binary32 operations, so every copy writes the
// same bytes).
INLINE void quantize_row(const float *row, int width, ptrdiff_t padded, int8_t *out, float *scale) {
    // m = max_k |v[k]| on the bits: for non-negative binary32 values the unsigned order of the bit
    // patterns is the numeric order, and an integer maximum vectorizes where fmaxf's NaN rules keep
    // a float one scalar. (A NaN's bits exceed infinity's: m is then NaN and s falls back to 1.)
    uint32_t peak = 0;
    for (int k = 0; k < width; k++) {
        uint32_t bits;
        memcpy(&bits, row + k, 4);
        bits &= 0x7FFFFFFFu;
        peak = bits > peak ? bits : peak;
    }
    float m;
    memcpy(&m, &peak, 4);
    float s = m / 127.0f;
    if (!(s > 0) || !(s <= 3.4028235e38f)) s = 1.0f;  // an all-zero row (or one whose max underflows)
    // roundTiesToEven(t) for |t| < 2^22 as (t + 1.5 * 2^23) - 1.5 * 2^23 in the default rounding
    // mode: the sum's last place is 1, so the addition rounds t to an integer, ties to even (the
    // same trick as the exp's n, kernel_common.h). Plain arithmetic, so the loop vectorizes on any
    // target without a libm call; |t| <= 127 + ulps here, and the clamp catches the rest.
    for (int k = 0; k < width; k++) {
        float t = row[k] / s;
        t = (t + 12582912.0f) - 12582912.0f;
        t = t > 127.0f ? 127.0f : t < -127.0f ? -127.0f : t == t ? t : 0.0f;  // (NaN: 0)
        out[k] = (int8_t)t;
    }
    for (ptrdiff_t k = width; k < padded; k++) out[k] = 0;
    *scale = s;
}

#define DEFINE_QUANTIZE(NAME, TARGET)                                                     \
    TARGET static void NAME(int rows, const float *v, ptrdiff_t stride, int width, int8_t *q, ptrdiff_t q_stride, float *scale) { \
        const ptrdiff_t padded = 4 * (((ptrdiff_t)width + 3) / 4);                        \
        for (int r = 0; r < rows; r++) quantize_row(v + r * stride, width, padded, q + r * q_stride, scale + r); \
    }

DEFINE_QUANTIZE(quantize_portable, )
#if RNNK_X86_VARIANTS
DEFINE_QUANTIZE(quantize_avx2, AVX2)
DEFINE_QUANTIZE(quantize_avx512, AVX512)
#endif

// The quantizer for int8 variant `isa` (the copies differ in speed only).
static void quantize(rnnk_i8_isa isa, int rows, const float *v, ptrdiff_t stride, int width, int8_t *q, ptrdiff_t q_stride, float *scale) {
#if RNNK_X86_VARIANTS
    if (isa == RNNK_I8_AVX512_VNNI) { quantize_avx512(rows, v, stride, width, q, q_stride, scale); return; }
    if (isa == RNNK_I8_AVX2) { quantize_avx2(rows, v, stride, width, q, q_stride, scale); return; }
#endif
    (void)isa;
    quantize_portable(rows, v, stride, width, q, q_stride, scale);
}

int rnnk_i8_quantize(int rows, const float *v, ptrdiff_t stride, int width, int8_t *q, ptrdiff_t q_stride, float *scale) {
    if (rows < 0 || width < 0) return RNNK_INVALID_SIZE;
    const ptrdiff_t padded = 4 * (((ptrdiff_t)width + 3) / 4);
    if (rows > 0 && (!q || !scale || (width > 0 && !v))) return RNNK_NULL_POINTER;
    if (stride < width || q_stride < padded) return RNNK_BAD_LAYOUT;
    quantize(rnnk_detect_i8_isa(), rows, v, stride, width, q, q_stride, scale);
    return RNNK_OK;
}

int rnnk_i8_pack(int columns, int width, const int8_t *rows, int8_t *packed, int32_t *col_sum) {
    if (columns < 0 || width < 0 || columns % 8 != 0) return RNNK_INVALID_SIZE;
    if (columns > 0 && (!packed || !col_sum || (width > 0 && !rows))) return RNNK_NULL_POINTER;
    const int k4 = (width + 3) / 4;
    memset(packed, 0, (size_t)columns * (size_t)k4 * 4);
    for (int c = 0; c < columns; c++) {
        int32_t sum = 0;
        for (int k = 0; k < width; k++) {
            const int8_t v = rows[(ptrdiff_t)c * width + k];
            packed[rnnk_i8_packed_index(columns, width, k, c)] = v;
            sum += v;
        }
        col_sum[c] = sum;
    }
    return RNNK_OK;
}

// ---------------------------------------------------------------------------------------------
// The products: out[r][c] = fma(f32(acc[r][c]), a_scale[r] * w_scale[c], start[r][c]), acc the
// exact integer dot product of activation row r and weight column c.

typedef struct i8_product {
    int rows, k4, columns;
    const int8_t *a;  // quantized rows, 4 * k4 bytes each (zero padded), a_stride bytes apart
    ptrdiff_t a_stride;
    const float *a_scale;
    const int8_t *w;  // packed (rnnk_i8_packed_index)
    const int32_t *col_sum;
    const float *w_scale;
    const float *start;  // NULL: 0; start_stride 0: one row for every row (a bias)
    ptrdiff_t start_stride;
    float *out;
    ptrdiff_t out_stride;
} i8_product;

// The bytes of column block `b` (16 columns; the last of an odd number of 8-column halves has 8).
static inline const int8_t *block(const i8_product *p, int b) { return p->w + (ptrdiff_t)b * 64 * p->k4; }

static inline float start_value(const i8_product *p, int r, int c) {
    return p->start ? p->start[r * p->start_stride + c] : 0.0f;
}

static void product_portable(const i8_product *p) {
    for (int r = 0; r < p->rows; r++) {
        const int8_t *a = p->a + r * p->a_stride;
        for (int c = 0; c < p->columns; c++) {
            const int b = c / 16, width = 16 * b + 16 <= p->columns ? 16 : 8;
            const int8_t *w = block(p, b) + 4 * (c % 16);
            int32_t acc = 0;
            for (int k = 0; k < p->k4; k++, w += 4 * width) {
                acc += w[0] * a[4 * k] + w[1] * a[4 * k + 1] + w[2] * a[4 * k + 2] + w[3] * a[4 * k + 3];
            }
            p->out[r * p->out_stride + c] = fmaf((float)acc, p->a_scale[r] * p->w_scale[c], start_value(p, r, c));
        }
    }
}

#if RNNK_X86_VARIANTS

#define AVX2_I8 __attribute__((target("avx2,fma")))
#define VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))

// The 8 results of columns c0 ..< c0 + 8 of row `row`, from their int32 sums.
AVX2_I8 INLINE void finish8(const i8_product *p, int row, int c0, __m256i sum) {
    const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(p->a_scale[row]), _mm256_loadu_ps(p->w_scale + c0));
    const __m256 start = !p->start ? _mm256_setzero_ps() : _mm256_loadu_ps(p->start + row * p->start_stride + c0);
    _mm256_storeu_ps(p->out + row * p->out_stride + c0, _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), scale, start));
}

// AVX2: a tile is R <= 3 rows x one 8-column half of a block. Per 4 inputs and row: the signs of x
// moved onto |w| (vpsignb), vpmaddubsw (pairs, exact in 16 bits), vpmaddwd with ones (quads, int32).
AVX2_I8 INLINE void tile_avx2(const i8_product *p, int r0, int c0, const int R) {
    const int b = c0 / 16, width = 16 * b + 16 <= p->columns ? 16 : 8;
    const int8_t *w = block(p, b) + 4 * (c0 % 16);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[3];
    UNROLL for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_si256();
    for (int k = 0; k < p->k4; k++, w += 4 * width) {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)w);
        const __m256i wabs = _mm256_abs_epi8(wv);
        UNROLL for (int r = 0; r < R; r++) {
            int32_t quad;
            memcpy(&quad, p->a + (r0 + r) * p->a_stride + 4 * k, 4);
            const __m256i x = _mm256_sign_epi8(_mm256_set1_epi32(quad), wv);
            acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, x), ones));
        }
    }
    UNROLL for (int r = 0; r < R; r++) finish8(p, r0 + r, c0, acc[r]);
}

AVX2_I8 static void product_avx2(const i8_product *p) {
    for (int c0 = 0; c0 < p->columns; c0 += 8) {
        int r = 0;
        for (; r + 3 <= p->rows; r += 3) tile_avx2(p, r, c0, 3);
        if (p->rows - r == 2) tile_avx2(p, r, c0, 2);
        if (p->rows - r == 1) tile_avx2(p, r, c0, 1);
    }
}

// AVX-512 VNNI: a tile is R <= 6 rows x V <= 4 blocks of 16 columns (24 accumulators). Per 4 inputs:
// V weight loads, R broadcasts of x + 128 (the sign bit flipped: unsigned bytes), R * V vpdpbusd.
VNNI512 INLINE void tile_vnni512(const i8_product *p, int r0, int b0, const int R, const int V) {
    __m512i acc[6][4];
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_si512();
    const int8_t *w = block(p, b0);
    const __m512i flip = _mm512_set1_epi32((int)0x80808080);
    for (int k = 0; k < p->k4; k++, w += 64) {
        __m512i wv[4];
        UNROLL for (int v = 0; v < V; v++) wv[v] = _mm512_loadu_si512((const void *)(w + (ptrdiff_t)v * 64 * p->k4));
        UNROLL for (int r = 0; r < R; r++) {
            int32_t quad;
            memcpy(&quad, p->a + (r0 + r) * p->a_stride + 4 * k, 4);
            const __m512i x = _mm512_xor_si512(_mm512_set1_epi32(quad), flip);
            UNROLL for (int v = 0; v < V; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], x, wv[v]);
        }
    }
    UNROLL for (int v = 0; v < V; v++) {
        const int c0 = 16 * (b0 + v);
        // sum_k w (x + 128) - 128 sum_k w = sum_k w x, exact modulo 2^32.
        const __m512i bias = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(p->col_sum + c0)), 7);
        const __m512 ws = _mm512_loadu_ps(p->w_scale + c0);
        UNROLL for (int r = 0; r < R; r++) {
            const int row = r0 + r;
            const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(p->a_scale[row]), ws);
            const __m512 start = !p->start ? _mm512_setzero_ps() : _mm512_loadu_ps(p->start + row * p->start_stride + c0);
            const __m512i sum = _mm512_sub_epi32(acc[r][v], bias);
            _mm512_storeu_ps(p->out + row * p->out_stride + c0, _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, start));
        }
    }
}

// The last 8 columns of an odd number of halves: 256-bit vpdpbusd (AVX-512 VL), R <= 6 rows.
VNNI512 INLINE void tail_vnni512(const i8_product *p, int r0, int c0, const int R) {
    __m256i acc[6];
    UNROLL for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_si256();
    const int8_t *w = block(p, c0 / 16);
    const __m256i flip = _mm256_set1_epi32((int)0x80808080);
    for (int k = 0; k < p->k4; k++, w += 32) {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)w);
        UNROLL for (int r = 0; r < R; r++) {
            int32_t quad;
            memcpy(&quad, p->a + (r0 + r) * p->a_stride + 4 * k, 4);
            acc[r] = _mm256_dpbusd_epi32(acc[r], _mm256_xor_si256(_mm256_set1_epi32(quad), flip), wv);
        }
    }
    const __m256i bias = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(p->col_sum + c0)), 7);
    UNROLL for (int r = 0; r < R; r++) finish8(p, r0 + r, c0, _mm256_sub_epi32(acc[r], bias));
}

#define ROWS_VNNI(CALL_R)                                                                 \
    {                                                                                     \
        int r = 0;                                                                        \
        for (; r + 6 <= p->rows; r += 6) CALL_R(6);                                       \
        switch (p->rows - r) {                                                            \
        case 5: CALL_R(5); break;                                                         \
        case 4: CALL_R(4); break;                                                         \
        case 3: CALL_R(3); break;                                                         \
        case 2: CALL_R(2); break;                                                         \
        case 1: CALL_R(1); break;                                                         \
        default: break;                                                                   \
        }                                                                                 \
    }

// Column tiles outer (their weights stay in L1), rows inner.
VNNI512 static void product_vnni512(const i8_product *p) {
    const int full = p->columns / 16;
    int b = 0;
#define TILE4(R) tile_vnni512(p, r, b, R, 4)
#define TILE1(R) tile_vnni512(p, r, b, R, 1)
#define TAIL(R) tail_vnni512(p, r, 16 * full, R)
    for (; b + 4 <= full; b += 4) ROWS_VNNI(TILE4)
    for (; b < full; b++) ROWS_VNNI(TILE1)
    if (p->columns % 16) ROWS_VNNI(TAIL)
#undef TILE4
#undef TILE1
#undef TAIL
}

#endif

#if RNNK_NEON_VARIANTS

// ARM64 NEON with the dot product instructions (FEAT_DotProd, ARMv8.2: Linux's HWCAP_ASIMDDP; every
// Apple silicon Mac). SDOT multiplies signed bytes by signed bytes, so unlike VNNI there is no offset
// to correct. 16 bytes of a block at one input quad are 4 columns x 4 inputs, SDOT's operand as it
// is: vdotq_laneq_s32(acc, w, x, j) adds to each of the 4 columns its dot product with quad j of the
// 16 activation bytes in x, so one activation load serves 4 quads of a row.
#define DOTPROD __attribute__((target("dotprod")))

// acc[r][v] += the 4 columns 4v ..< 4v + 4 of quad `j` of the loaded activations (J a constant: the
// lane of vdotq_laneq_s32 must be one).
#define DOT_QUAD(J)                                                                       \
    {                                                                                     \
        int8x16_t wv[4];                                                                  \
        UNROLL for (int v = 0; v < V; v++) wv[v] = vld1q_s8(w + 16 * v);                  \
        w += 16 * V;                                                                      \
        UNROLL for (int r = 0; r < R; r++) UNROLL for (int v = 0; v < V; v++) {           \
            acc[r][v] = vdotq_laneq_s32(acc[r][v], wv[v], x[r], J);                       \
        }                                                                                 \
    }

// A tile is R <= 4 rows x block `b` of 4V columns (V = 4, or 2 for an 8-column last block): with
// 16 columns, 16 accumulators, 4 weight and 4 activation vectors, 24 of the 32 registers.
DOTPROD INLINE void tile_neon_dot(const i8_product *p, int r0, int b, const int R, const int V) {
    const int8_t *w = block(p, b);
    int32x4_t acc[4][4];
    UNROLL for (int r = 0; r < R; r++) UNROLL for (int v = 0; v < V; v++) acc[r][v] = vdupq_n_s32(0);
    int k = 0;
    // Four quads (16 inputs) per activation load, inside each row's 4 * k4 bytes.
    for (; k + 4 <= p->k4; k += 4) {
        int8x16_t x[4];
        UNROLL for (int r = 0; r < R; r++) x[r] = vld1q_s8(p->a + (r0 + r) * p->a_stride + 4 * k);
        DOT_QUAD(0)
        DOT_QUAD(1)
        DOT_QUAD(2)
        DOT_QUAD(3)
    }
    // The last 1-3 quads one at a time, the quad broadcast.
    for (; k < p->k4; k++) {
        int8x16_t x[4];
        UNROLL for (int r = 0; r < R; r++) {
            int32_t quad;
            memcpy(&quad, p->a + (r0 + r) * p->a_stride + 4 * k, 4);
            x[r] = vreinterpretq_s8_s32(vdupq_n_s32(quad));
        }
        DOT_QUAD(0)
    }
    // out = fma(f32(acc), a_scale * w_scale, start), as product_portable: the same bits.
    UNROLL for (int v = 0; v < V; v++) {
        const int c0 = 16 * b + 4 * v;
        const float32x4_t ws = vld1q_f32(p->w_scale + c0);
        UNROLL for (int r = 0; r < R; r++) {
            const int row = r0 + r;
            const float32x4_t scale = vmulq_f32(vdupq_n_f32(p->a_scale[row]), ws);
            const float32x4_t start = p->start ? vld1q_f32(p->start + row * p->start_stride + c0) : vdupq_n_f32(0);
            vst1q_f32(p->out + row * p->out_stride + c0, vfmaq_f32(start, vcvtq_f32_s32(acc[r][v]), scale));
        }
    }
}

#undef DOT_QUAD

#define ROWS_NEON_DOT(V)                                                                  \
    {                                                                                     \
        int r = 0;                                                                        \
        for (; r + 4 <= p->rows; r += 4) tile_neon_dot(p, r, b, 4, V);                    \
        switch (p->rows - r) {                                                            \
        case 3: tile_neon_dot(p, r, b, 3, V); break;                                      \
        case 2: tile_neon_dot(p, r, b, 2, V); break;                                      \
        case 1: tile_neon_dot(p, r, b, 1, V); break;                                      \
        default: break;                                                                   \
        }                                                                                 \
    }

// Column blocks outer (their weights stay in L1), rows inner.
DOTPROD static void product_neon_dot(const i8_product *p) {
    const int full = p->columns / 16;
    int b = 0;
    for (; b < full; b++) ROWS_NEON_DOT(4)
    if (p->columns % 16) ROWS_NEON_DOT(2)
}

#undef ROWS_NEON_DOT

#endif

// ---------------------------------------------------------------------------------------------
// Variants and dispatch.

#if RNNK_X86_VARIANTS
#include <cpuid.h>
static rnnk_i8_isa detect_i8_uncached(void) {
    const rnnk_isa f32 = rnnk_detect_isa();
    if (f32 == RNNK_ISA_NONE) return RNNK_I8_PORTABLE;
    unsigned a, b, c, d;
    if (f32 == RNNK_ISA_AVX512 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        const int avx512bw = (b >> 30) & 1, vnni = (c >> 11) & 1;
        if (avx512bw && vnni) return RNNK_I8_AVX512_VNNI;
    }
    return RNNK_I8_AVX2;
}
#elif RNNK_NEON_VARIANTS
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20) // linux/arch/arm64/include/uapi/asm/hwcap.h
#endif
#endif
// The dot product instructions on top of NEON: Linux says so in AT_HWCAP; every Apple silicon Mac
// (M1 and later) has them; elsewhere only when the compiler's target already assumes them.
static rnnk_i8_isa detect_i8_uncached(void) {
    if (rnnk_detect_isa() != RNNK_ISA_NEON) return RNNK_I8_PORTABLE;
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) ? RNNK_I8_NEON_DOT : RNNK_I8_PORTABLE;
#elif defined(__APPLE__) || defined(__ARM_FEATURE_DOTPROD)
    return RNNK_I8_NEON_DOT;
#else
    return RNNK_I8_PORTABLE;
#endif
}
#else
static rnnk_i8_isa detect_i8_uncached(void) { return RNNK_I8_PORTABLE; }
#endif

static int detected_i8 = -1;

rnnk_i8_isa rnnk_detect_i8_isa(void) {
    int best = __atomic_load_n(&detected_i8, __ATOMIC_RELAXED);
    if (best < 0) {
        best = (int)detect_i8_uncached();
        __atomic_store_n(&detected_i8, best, __ATOMIC_RELAXED);
    }
    return (rnnk_i8_isa)best;
}

int rnnk_i8_isa_available(rnnk_i8_isa isa) {
    switch (isa) {
    case RNNK_I8_PORTABLE: return 1;
    case RNNK_I8_AVX2: return RNNK_X86_VARIANTS && rnnk_detect_i8_isa() >= RNNK_I8_AVX2;
    case RNNK_I8_AVX512_VNNI: return RNNK_X86_VARIANTS && rnnk_detect_i8_isa() == RNNK_I8_AVX512_VNNI;
    case RNNK_I8_NEON_DOT: return RNNK_NEON_VARIANTS && rnnk_detect_i8_isa() == RNNK_I8_NEON_DOT;
    default: return 0;
    }
}

// The float step variant the gates of an int8 variant run on.
static rnnk_isa gate_isa(rnnk_i8_isa isa) {
    switch (isa) {
    case RNNK_I8_AVX512_VNNI: return RNNK_ISA_AVX512;
    case RNNK_I8_AVX2: return RNNK_ISA_AVX2;
    case RNNK_I8_NEON_DOT: return RNNK_ISA_NEON;
    default: return RNNK_ISA_NONE;
    }
}

static void product(rnnk_i8_isa isa, const i8_product *p) {
#if RNNK_X86_VARIANTS
    if (isa == RNNK_I8_AVX512_VNNI) {
        product_vnni512(p);
        return;
    }
    if (isa == RNNK_I8_AVX2) {
        product_avx2(p);
        return;
    }
#endif
#if RNNK_NEON_VARIANTS
    if (isa == RNNK_I8_NEON_DOT) {
        product_neon_dot(p);
        return;
    }
#endif
    (void)isa;
    product_portable(p);
}

// Checks of a matrix (rnn_kernels.h, rnnk_i8_matrix) of width `width`.
static int matrix_check(const rnnk_i8_matrix *m, int width) {
    if (width == 0) return RNNK_OK;
    if (!m->q || !m->col_sum || !m->scale) return RNNK_NULL_POINTER;
    if (m->width != width) return RNNK_BAD_LAYOUT;
    return RNNK_OK;
}

int rnnk_i8_product(rnnk_i8_isa isa, const rnnk_i8_product_args *a) {
    if (!rnnk_i8_isa_available(isa)) return RNNK_UNAVAILABLE;
    if (!a) return RNNK_NULL_POINTER;
    if (a->rows < 0 || a->columns < 0 || a->columns % 8 != 0 || a->w.width < 0 || a->w.width > RNNK_I8_MAX_WIDTH)
        return RNNK_INVALID_SIZE;
    if (a->rows == 0 || a->columns == 0) return RNNK_OK;
    const int k4 = (a->w.width + 3) / 4;
    if (!a->out || !a->a_scale || (a->w.width > 0 && !a->a)) return RNNK_NULL_POINTER;
    int status = matrix_check(&a->w, a->w.width);
    if (status != RNNK_OK) return status;
    if (a->a_stride < 4 * (ptrdiff_t)k4 || a->out_stride < a->columns || (a->start && a->start_stride != 0 && a->start_stride < a->columns))
        return RNNK_BAD_LAYOUT;
    region out, in[2];
    int ok = rows_region(a->out, a->rows, a->out_stride, a->columns, &out);
    ok &= rows_region(a->a_scale, 1, 0, a->rows, &in[0]);
    in[1] = empty_region;
    if (a->start) ok &= rows_region(a->start, a->start_stride ? a->rows : 1, a->start_stride, a->columns, &in[1]);
    if (!ok) return RNNK_INVALID_SIZE;
    // The start may be the output itself (accumulating in place); every other input must be apart.
    if (overlap(out, in[0]) || (a->start != a->out && overlap(out, in[1]))) return RNNK_OVERLAP;
    const i8_product p = {a->rows, k4, a->columns, a->a, a->a_stride, a->a_scale, a->w.q, a->w.col_sum, a->w.scale,
                          a->start, a->start_stride, a->out, a->out_stride};
    if (k4 == 0) {
        // No inputs: every sum is 0, out = start (fma(0, s, start) = start).
        for (int r = 0; r < a->rows; r++) for (int c = 0; c < a->columns; c++) a->out[r * a->out_stride + c] = start_value(&p, r, c);
        return RNNK_OK;
    }
    product(isa, &p);
    return RNNK_OK;
}

// ---------------------------------------------------------------------------------------------
// The steps.

// Bytes of a chunk's scratch (rnn_kernels.h): quantized x and h rows, their scales, z and (GRU) the
// recurrent products and hn.
static size_t scratch_layout(int cell_columns, int groups, int x_width, size_t *x_bytes, size_t *h_bytes, size_t *z_floats) {
    const size_t G = 8 * (size_t)groups, Z = (size_t)cell_columns * (size_t)groups;
    *x_bytes = 4 * (((size_t)x_width + 3) / 4);
    *h_bytes = G;  // G is a multiple of 8, hence of 4
    *z_floats = Z;
    // x rows, h rows, 2 scales, z, and for the GRU h's products (Z) and hn (G).
    return CHUNK * (*x_bytes + *h_bytes + 2 * sizeof(float) + (2 * Z + G) * sizeof(float)) + 64;
}

size_t rnnk_i8_step_scratch_bytes(int cell_columns, int groups, int x_width) {
    if (groups < 1 || x_width < 0 || (cell_columns != 24 && cell_columns != 32)) return 0;
    size_t xb, hb, zf;
    return scratch_layout(cell_columns, groups, x_width, &xb, &hb, &zf);
}

static int step_i8_check(rnnk_i8_isa isa, const rnnk_i8_step_args *a, int cell_columns) {
    if (!rnnk_i8_isa_available(isa)) return RNNK_UNAVAILABLE;
    if (!a) return RNNK_NULL_POINTER;
    if (a->rows < 0 || a->groups < 1 || a->groups > RNNK_I8_MAX_WIDTH / 8 || a->x_width < 0 || a->x_width > RNNK_I8_MAX_WIDTH)
        return RNNK_INVALID_SIZE;
    const ptrdiff_t G = 8 * (ptrdiff_t)a->groups, Z = cell_columns * (ptrdiff_t)a->groups;
    if (!a->h_out || !a->scratch || (a->x_width > 0 && !a->x) || (!a->z_in && !a->bias)) return RNNK_NULL_POINTER;
    int status = matrix_check(&a->wx, a->x_width);
    if (status == RNNK_OK) status = matrix_check(&a->wh, (int)G);
    if (status != RNNK_OK) return status;
    if ((a->x_width > 0 && a->x_stride < a->x_width) || (a->h && a->h_stride < G) || a->h_out_stride < G ||
        (a->z_in && a->z_in_stride < Z))
        return RNNK_BAD_LAYOUT;
    if (cell_columns == 32) {
        if (!a->c_out) return RNNK_NULL_POINTER;
        if (a->c_stride < G) return RNNK_BAD_LAYOUT;
    }
    // Outputs (h_out, c_out, the scratch) apart from each other and from every input (c_prev may be c_out).
    region out[3], in[6];
    int n_out = 0, n_in = 0, ok = 1;
    size_t xb, hb, zf;
    const size_t bytes = scratch_layout(cell_columns, a->groups, a->x_width, &xb, &hb, &zf);
    ok &= rows_region(a->h_out, a->rows, a->h_out_stride, G, &out[n_out++]);
    ok &= rows_region(a->scratch, 1, 0, (ptrdiff_t)(bytes / sizeof(float)), &out[n_out++]);
    if (cell_columns == 32) ok &= rows_region(a->c_out, a->rows, a->c_stride, G, &out[n_out++]);
    if (a->x_width > 0) ok &= rows_region(a->x, a->rows, a->x_stride, a->x_width, &in[n_in++]);
    if (a->h) ok &= rows_region(a->h, a->rows, a->h_stride, G, &in[n_in++]);
    if (a->z_in) ok &= rows_region(a->z_in, a->rows, a->z_in_stride, Z, &in[n_in++]);
    else ok &= rows_region(a->bias, 1, 0, Z, &in[n_in++]);
    if (cell_columns == 32 && a->c_prev && a->c_prev != a->c_out) ok &= rows_region(a->c_prev, a->rows, a->c_stride, G, &in[n_in++]);
    if (cell_columns == 24 && a->bias_hn) ok &= rows_region(a->bias_hn, 1, 0, G, &in[n_in++]);
    if (!ok) return RNNK_INVALID_SIZE;
    return outputs_apart(out, n_out, in, n_in);
}

// Runs one chunk of rows [r0, r0 + n): quantize, products, gates.
static int step_i8_chunk(rnnk_i8_isa isa, const rnnk_i8_step_args *a, int cell_columns, int r0, int n) {
    size_t xb, hb, zf;
    scratch_layout(cell_columns, a->groups, a->x_width, &xb, &hb, &zf);
    const ptrdiff_t G = 8 * (ptrdiff_t)a->groups, Z = (ptrdiff_t)zf;
    uint8_t *s = (uint8_t *)a->scratch;
    float *z = (float *)(((uintptr_t)s + 63) & ~(uintptr_t)63);
    float *zh = z + CHUNK * Z, *hn = zh + CHUNK * Z;
    float *xs = hn + CHUNK * G, *hs = xs + CHUNK;
    int8_t *xq = (int8_t *)(hs + CHUNK), *hq = xq + CHUNK * xb;

    // z = start (bias or z_in) + x term.
    const float *start = a->z_in ? a->z_in + r0 * a->z_in_stride : a->bias;
    const ptrdiff_t start_stride = a->z_in ? a->z_in_stride : 0;
    if (a->x_width > 0) {
        quantize(isa, n, a->x + r0 * a->x_stride, a->x_stride, a->x_width, xq, (ptrdiff_t)xb, xs);
        const i8_product p = {n, (int)(xb / 4), (int)Z, xq, (ptrdiff_t)xb, xs, a->wx.q, a->wx.col_sum, a->wx.scale,
                              start, start_stride, z, Z};
        product(isa, &p);
    } else {
        for (int r = 0; r < n; r++) memcpy(z + r * Z, start + r * start_stride, Z * sizeof(float));
    }
    const int with_h = a->h != NULL;
    if (with_h) quantize(isa, n, a->h + r0 * a->h_stride, a->h_stride, (int)G, hq, (ptrdiff_t)hb, hs);

    if (cell_columns == 32) {
        // LSTM: z += h term, then the gates.
        if (with_h) {
            const i8_product p = {n, (int)(hb / 4), (int)Z, hq, (ptrdiff_t)hb, hs, a->wh.q, a->wh.col_sum, a->wh.scale,
                                  z, Z, z, Z};
            product(isa, &p);
        }
        rnnk_lstm_step_args g = {0};
        g.rows = n;
        g.groups = a->groups;
        g.c_prev = a->c_prev ? a->c_prev + r0 * a->c_stride : NULL;
        g.c_out = a->c_out + r0 * a->c_stride;
        g.c_stride = a->c_stride;
        g.h_out = a->h_out + r0 * a->h_out_stride;
        g.h_out_stride = a->h_out_stride;
        g.z_in = z;
        g.z_in_stride = Z;
        return rnnk_lstm_step(gate_isa(isa), &g);
    }
    // GRU (reset after the product): r and z get the h term, n's h term goes to hn with b_hn.
    if (with_h) {
        const i8_product p = {n, (int)(hb / 4), (int)Z, hq, (ptrdiff_t)hb, hs, a->wh.q, a->wh.col_sum, a->wh.scale,
                              NULL, 0, zh, Z};
        product(isa, &p);
    }
    for (int r = 0; r < n; r++) {
        for (int q = 0; q < a->groups; q++) {
            float *zr = z + r * Z + 24 * q;
            const float *hr = zh + r * Z + 24 * q;
            for (int c = 0; c < 16; c++) zr[c] += with_h ? hr[c] : 0.0f;
            for (int u = 0; u < 8; u++) {
                const float b = a->bias_hn ? a->bias_hn[8 * q + u] : 0.0f;
                hn[r * G + 8 * q + u] = with_h ? hr[16 + u] + b : b;
            }
        }
    }
    rnnk_gru_step_args g = {0};
    g.rows = n;
    g.groups = a->groups;
    g.h = with_h ? a->h + r0 * a->h_stride : NULL;
    g.h_stride = a->h_stride;
    g.h_width = with_h ? (int)G : 0;
    g.reset_after = 1;
    g.h_out = a->h_out + r0 * a->h_out_stride;
    g.h_out_stride = a->h_out_stride;
    g.z_in = z;
    g.z_in_stride = Z;
    g.hn_in = hn;
    g.hn_in_stride = G;
    return rnnk_gru_step(gate_isa(isa), &g);
}

static int step_i8(rnnk_i8_isa isa, const rnnk_i8_step_args *a, int cell_columns) {
    for (int r0 = 0; r0 < a->rows; r0 += CHUNK) {
        const int n = a->rows - r0 < CHUNK ? a->rows - r0 : CHUNK;
        const int status = step_i8_chunk(isa, a, cell_columns, r0, n);
        if (status != RNNK_OK) return status;
    }
    return RNNK_OK;
}

int rnnk_lstm_step_i8(rnnk_i8_isa isa, const rnnk_i8_step_args *a) {
    const int status = step_i8_check(isa, a, 32);
    if (status != RNNK_OK) return status;
    return step_i8(isa, a, 32);
}

int rnnk_gru_step_i8(rnnk_i8_isa isa, const rnnk_i8_step_args *a) {
    const int status = step_i8_check(isa, a, 24);
    if (status != RNNK_OK) return status;
    return step_i8(isa, a, 24);
}
