// kernel_common.h: what the fused kernels (lstm_step.c, gru_step.c, conv.c) share, internal to
// RNNKernels (not in include/): the argument checks' regions, the vector types and target
// attributes of the x86-64 and ARM64 variants, and the one polynomial exp (with sigmoid and tanh),
// instantiated for every vector type and for plain `float` (the portable variants).
#ifndef RNNK_KERNEL_COMMON_H
#define RNNK_KERNEL_COMMON_H

#include "rnn_kernels.h"

#include <limits.h>
#include <stdint.h>

// ---------------------------------------------------------------------------------------------
// Argument checks (rnn_kernels.h lists each kernel's), the same on every build. The kernels run
// them once per call, before touching any memory the caller gave: a few dozen integer operations
// against a step's thousands of FMAs.

// The bytes a kernel touches in one array, [lo, hi). An empty region is {UINTPTR_MAX, 0}, which
// `overlap` never reports.
typedef struct region {
    uintptr_t lo, hi;
} region;

static const region empty_region = {UINTPTR_MAX, 0};

// `rows` rows of `width` floats, `stride` floats apart, from `p` (`stride >= 0`): the floats from
// `p` to `p + (rows - 1) * stride + width`; false when that end does not fit in the address space.
static inline int rows_region(const void *p, ptrdiff_t rows, ptrdiff_t stride, ptrdiff_t width, region *out) {
    *out = empty_region;
    if (rows <= 0 || width <= 0) return 1;
    size_t floats, bytes;
    uintptr_t end;
    if (__builtin_mul_overflow((size_t)(rows - 1), (size_t)stride, &floats) ||
        __builtin_add_overflow(floats, (size_t)width, &floats) ||
        __builtin_mul_overflow(floats, sizeof(float), &bytes) ||
        __builtin_add_overflow((uintptr_t)p, bytes, &end))
        return 0;
    out->lo = (uintptr_t)p;
    out->hi = end;
    return 1;
}

static inline int overlap(region a, region b) { return a.lo < b.hi && b.lo < a.hi; }

// Checks 3-5 of rnn_kernels.h on the fields both steps share (true: the check fails); each kernel
// adds the checks of its own fields. `columns` is the pre-activation columns per group (LSTM 32,
// GRU 24), G the padded hidden size and Z the columns of a row (`columns * groups`).
#define STEP_SIZES_INVALID(a, columns)                                                    \
    ((a)->rows < 0 || (a)->groups < 1 || (a)->groups > INT_MAX / (columns) || (a)->x_width < 0 || (a)->h_width < 0)
// `wh_read`: whether the step reads `wh` (the GRU's does not when `hn_in` replaces its products).
#define STEP_INPUTS_NULL(a, bias, wh_read)                                                \
    (!(a)->h_out || ((a)->x_width > 0 && (!(a)->x || !(a)->wx)) ||                        \
     ((a)->h_width > 0 && (!(a)->h || ((wh_read) && !(a)->wh))) || (!(a)->z_in && !(bias)))
#define STEP_LAYOUT_BAD(a, G, Z)                                                          \
    (((a)->x_width > 0 && (a)->x_stride < (a)->x_width) || ((a)->h_width != 0 && (a)->h_width != (G)) || \
     ((a)->h_width > 0 && (a)->h_stride < (G)) || (a)->h_out_stride < (G) ||              \
     ((a)->gates_out && ((a)->gates_hidden != (G) || (a)->gates_stride < 4 * (G))) ||     \
     ((a)->z_in && (a)->z_in_stride < (Z)))

// Appends the regions of the inputs both steps read, named by the fields their argument structures
// share (rnn_kernels.h): x and wx when x_width > 0, h and (when `wh_read`) wh when h_width > 0 (h_width is then G),
// and the z_in rows or else `bias`, `Z` columns wide (4G for the LSTM, 3G for the GRU). `ok`
// becomes 0 when one does not fit in the address space.
#define ADD_STEP_INPUT_REGIONS(a, bias, Z, in, n_in, ok, wh_read)                         \
    do {                                                                                  \
        if ((a)->x_width > 0) {                                                           \
            ok &= rows_region((a)->x, (a)->rows, (a)->x_stride, (a)->x_width, &(in)[(n_in)++]); \
            ok &= rows_region((a)->wx, 1, 0, (Z) * (a)->x_width, &(in)[(n_in)++]);        \
        }                                                                                 \
        if ((a)->h_width > 0) {                                                           \
            ok &= rows_region((a)->h, (a)->rows, (a)->h_stride, (a)->h_width, &(in)[(n_in)++]); \
            if (wh_read) ok &= rows_region((a)->wh, 1, 0, (Z) * (a)->h_width, &(in)[(n_in)++]); \
        }                                                                                 \
        if ((a)->z_in) ok &= rows_region((a)->z_in, (a)->rows, (a)->z_in_stride, (Z), &(in)[(n_in)++]); \
        else ok &= rows_region((bias), 1, 0, (Z), &(in)[(n_in)++]);                      \
    } while (0)

// The checks' last step: RNNK_OVERLAP when two outputs overlap or an output overlaps an input.
static inline int outputs_apart(const region *out, int n_out, const region *in, int n_in) {
    for (int i = 0; i < n_out; i++) {
        for (int j = i + 1; j < n_out; j++) if (overlap(out[i], out[j])) return RNNK_OVERLAP;
        for (int j = 0; j < n_in; j++) if (overlap(out[i], in[j])) return RNNK_OVERLAP;
    }
    return RNNK_OK;
}

// Whether `isa` is a fused (vector) variant that this build and CPU run: on x86-64 RNNK_ISA_AVX2 or
// RNNK_ISA_AVX512, at most what rnnk_detect_isa found; on ARM64 RNNK_ISA_NEON when it found NEON
// (kernel_common.c). Never RNNK_ISA_NONE (see rnnk_isa_available).
__attribute__((visibility("hidden"))) int rnnk_fused_available(rnnk_isa isa);

#define INLINE static inline __attribute__((always_inline))

// ---------------------------------------------------------------------------------------------
// e^x, Cephes expf: x = n ln2 + r with n = round(x / ln2) (the 1.5 * 2^23 trick) and ln2 split in
// two (Cody-Waite) so that n ln2_hi is exact; e^r on [-ln2/2, ln2/2] by a degree-6 polynomial;
// 2^n built in the exponent bits. Relative error below 2e-7 on [-87.3, 88.3] (the clamp keeps 2^n
// a normal binary32). The same constants as the Swift fast path (RNNCore/Activations.swift).
//
// `V` is a vector of floats (or `float`) and `I` its integer twin; the instantiation NAME needs
// `max_NAME`, `min_NAME` (element-wise), `bits_NAME` (V -> I) and `floats_NAME` (I -> V), both
// reinterpreting the bits, defined before it.
#define DEFINE_MATH(V, I, NAME, TARGET)                                                   \
    TARGET INLINE V exp_##NAME(V x) {                                                     \
        x = max_##NAME(x, (V){0} - 87.3f);                                                \
        x = min_##NAME(x, (V){0} + 88.3f);                                                \
        V shifted = x * 1.44269504f + 12582912.0f;                                        \
        V n = shifted - 12582912.0f;                                                      \
        V r = x - n * 0.693359375f;                                                       \
        r = r - n * -2.12194440e-4f;                                                      \
        V p = (V){0} + 1.9875691500e-4f;                                                  \
        p = p * r + 1.3981999507e-3f;                                                     \
        p = p * r + 8.3334519073e-3f;                                                     \
        p = p * r + 4.1665795894e-2f;                                                     \
        p = p * r + 1.6666665459e-1f;                                                     \
        p = p * r + 5.0000001201e-1f;                                                     \
        p = p * (r * r) + r + 1.0f;                                                       \
        I bits = (bits_##NAME(shifted) - 0x4B400000 + 127) << 23;                         \
        return p * floats_##NAME(bits);                                                   \
    }                                                                                     \
    TARGET INLINE V sigmoid_##NAME(V x) { return 1.0f / (1.0f + exp_##NAME(-x)); }        \
    /* tanh x = 2 / (1 + e^-2x) - 1: one exponential, no sign handling. */                \
    TARGET INLINE V tanh_##NAME(V x) { return 2.0f / (1.0f + exp_##NAME(-2.0f * x)) - 1.0f; }

// Plain `float`, for the portable variants: any C compiler, any architecture. (Without hardware
// FMA, as on baseline x86-64, `a * b + c` rounds twice, so these differ from the vector forms in
// the last bits.)
typedef union f32_bits {
    float f;
    int i;
} f32_bits;
INLINE float max_f32(float a, float b) { return a > b ? a : b; }
INLINE float min_f32(float a, float b) { return a < b ? a : b; }
INLINE int bits_f32(float x) { return ((f32_bits){.f = x}).i; }
INLINE float floats_f32(int i) { return ((f32_bits){.i = i}).f; }
DEFINE_MATH(float, int, f32, )

// ---------------------------------------------------------------------------------------------
// The vector variants need clang's vector extensions and its element-wise builtins (clang 17 and
// later, e.g. Swift 6.1's); elsewhere only the portable variants exist. They are the same C on
// every architecture: an 8-lane `v8` is one 256-bit register on x86-64 (AVX2, AVX-512) and a pair
// of 128-bit q registers on ARM64 (NEON), where clang splits each operation in two. So the 8-lane
// tiles (lstm_step_variant.h, gru_step_variant.h, conv_variant.h) are instantiated for NEON too;
// the 16-lane AVX-512 code (v16) is x86-64 only.
//
//   RNNK_X86_VARIANTS   x86-64: AVX2 and AVX-512 variants, chosen at run time (cpuid, xgetbv)
//   RNNK_NEON_VARIANTS  ARM64 (AArch64) with Advanced SIMD: the NEON variants (HWCAP on Linux)
//   RNNK_VECTOR_VARIANTS either of them: the 8-lane types and macros below exist

#if defined(__has_builtin)
#define RNNK_HAS_BUILTINS __has_builtin(__builtin_elementwise_fma) && __has_builtin(__builtin_elementwise_max)
#else
#define RNNK_HAS_BUILTINS 0
#endif

#if defined(__x86_64__) && defined(__clang__) && RNNK_HAS_BUILTINS
#define RNNK_X86_VARIANTS 1
#define RNNK_NEON_VARIANTS 0
#elif defined(__aarch64__) && defined(__ARM_NEON) && defined(__clang__) && RNNK_HAS_BUILTINS
#define RNNK_X86_VARIANTS 0
#define RNNK_NEON_VARIANTS 1
#else
#define RNNK_X86_VARIANTS 0
#define RNNK_NEON_VARIANTS 0
#endif
#define RNNK_VECTOR_VARIANTS (RNNK_X86_VARIANTS || RNNK_NEON_VARIANTS)

#if RNNK_VECTOR_VARIANTS

typedef float v8 __attribute__((vector_size(32)));
typedef int i8 __attribute__((vector_size(32)));
// The same vector with 4-byte alignment, for loads and stores at any float address.
typedef float v8u __attribute__((vector_size(32), aligned(4)));

#define LOAD8(p) (*(const v8u *)(p))
#define STORE8(p, v) (*(v8u *)(p) = (v))
#define SPLAT8(s) ((v8){s, s, s, s, s, s, s, s})
// Full unrolling of the small register-tile loops lets every accumulator live in a register.
#define UNROLL _Pragma("clang loop unroll(full)")

// The element-wise operations DEFINE_MATH needs, for vector type V (integer twin I).
#define DEFINE_VECTOR_OPS(V, I, NAME, TARGET)                                             \
    TARGET INLINE V max_##NAME(V a, V b) { return __builtin_elementwise_max(a, b); }      \
    TARGET INLINE V min_##NAME(V a, V b) { return __builtin_elementwise_min(a, b); }      \
    TARGET INLINE I bits_##NAME(V x) { return (I)x; }                                     \
    TARGET INLINE V floats_##NAME(I x) { return (V)x; }

#endif

#if RNNK_X86_VARIANTS

typedef float v16 __attribute__((vector_size(64)));
typedef int i16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

#define LOAD16(p) (*(const v16u *)(p))
#define SPLAT16(s) ((v16){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s})

#define AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
#define AVX2 __attribute__((target("avx2,fma")))

DEFINE_VECTOR_OPS(v16, i16, v16_512, AVX512)
DEFINE_VECTOR_OPS(v8, i8, v8_512, AVX512)
DEFINE_VECTOR_OPS(v8, i8, v8_256, AVX2)
DEFINE_MATH(v16, i16, v16_512, AVX512)
DEFINE_MATH(v8, i8, v8_512, AVX512)
DEFINE_MATH(v8, i8, v8_256, AVX2)

#endif

#if RNNK_NEON_VARIANTS

// Advanced SIMD is part of the AArch64 baseline (every ARMv8-A CPU an OS targets has it, and
// compilers emit it without being asked), so the NEON variants need no target attribute: the name
// marks them like AVX2 and AVX512 above. rnnk_detect_isa still asks the OS (HWCAP_ASIMD) on Linux.
#define NEON

DEFINE_VECTOR_OPS(v8, i8, v8_neon, NEON)
DEFINE_MATH(v8, i8, v8_neon, NEON)

#endif

#endif
