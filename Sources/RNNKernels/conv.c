// conv.c: the convolutional layers of spec/FORMAT.md §6.1 (since 1.4) for the runtime and the trainer:
// the 2-D convolution (a portable variant here and the vector variants of conv_variant.h: AVX2,
// AVX-512, NEON), floor-mode max pooling, and the trainer's im2col / col2im. Feature maps are channels-last (rnn_kernels.h).
#include "kernel_common.h"

#include <string.h>

// ---------------------------------------------------------------------------------------------
// Argument checks.

// The padded image a convolution reads: every window of the output, rows (out_height - 1) * SH + KH and
// columns (out_width - 1) * SW + KW (windows past the input's bottom or right read zeros). 0 on overflow.
static int padded_size(const rnnk_conv2d_args *a, ptrdiff_t *height, ptrdiff_t *width, ptrdiff_t *floats) {
    ptrdiff_t h, w, f;
    if (__builtin_mul_overflow((ptrdiff_t)(a->out_height - 1), (ptrdiff_t)a->stride_height, &h) ||
        __builtin_add_overflow(h, (ptrdiff_t)a->kernel_height, &h) ||
        __builtin_mul_overflow((ptrdiff_t)(a->out_width - 1), (ptrdiff_t)a->stride_width, &w) ||
        __builtin_add_overflow(w, (ptrdiff_t)a->kernel_width, &w) ||
        __builtin_mul_overflow(h, w, &f) || __builtin_mul_overflow(f, (ptrdiff_t)a->in_channels, &f) || f > INT_MAX)
        return 0;
    *height = h;
    *width = w;
    *floats = f;
    return 1;
}

// Sizes, then layout, of a convolution's input, window and output (not its pointers).
static int conv_shape_check(const rnnk_conv2d_args *a, int output_groups_used) {
    if (a->images < 0 || a->in_height < 1 || a->in_width < 1 || a->in_channels < 1 || a->kernel_height < 1 ||
        a->kernel_width < 1 || a->stride_height < 1 || a->stride_width < 1 || a->pad_top < 0 || a->pad_left < 0 ||
        a->pad_top >= a->kernel_height || a->pad_left >= a->kernel_width || a->out_height < 1 || a->out_width < 1 ||
        (output_groups_used && (a->out_groups < 1 || a->out_groups > INT_MAX / 8)))
        return RNNK_INVALID_SIZE;
    ptrdiff_t h, w, f, in_pixel_floats, out_floats;
    if (!padded_size(a, &h, &w, &f) ||
        __builtin_mul_overflow((ptrdiff_t)a->in_height * a->in_width, (ptrdiff_t)a->in_channel_stride, &in_pixel_floats) ||
        __builtin_mul_overflow((ptrdiff_t)a->out_height * a->out_width, (ptrdiff_t)8 * a->out_groups, &out_floats))
        return RNNK_INVALID_SIZE;
    if (a->in_channel_stride < a->in_channels || a->x_image_stride < in_pixel_floats ||
        (output_groups_used && a->y_image_stride < out_floats))
        return RNNK_BAD_LAYOUT;
    return RNNK_OK;
}

ptrdiff_t rnnk_conv2d_scratch_floats(const rnnk_conv2d_args *a) {
    if (!a || conv_shape_check(a, 0) != RNNK_OK) return -1;
    ptrdiff_t h, w, f;
    return padded_size(a, &h, &w, &f) ? f : -1;
}

// The input region of a convolution's `images` maps (`p`: x, or dx for col2im).
static int input_region(const rnnk_conv2d_args *a, const float *p, region *out) {
    return rows_region(p, a->images, a->x_image_stride, (ptrdiff_t)a->in_height * a->in_width * a->in_channel_stride, out);
}

static int conv2d_check(const rnnk_conv2d_args *a) {
    if (!a) return RNNK_NULL_POINTER;
    int status = conv_shape_check(a, 1);
    if (status != RNNK_OK) return status;
    if (a->images == 0) return RNNK_OK;
    if (!a->x || !a->w || !a->bias || !a->y || !a->scratch) return RNNK_NULL_POINTER;
    ptrdiff_t h, w, f;
    padded_size(a, &h, &w, &f);
    const ptrdiff_t os = 8 * (ptrdiff_t)a->out_groups;
    region in[3], out[2];
    int ok = input_region(a, a->x, &in[0]);
    ok &= rows_region(a->w, (ptrdiff_t)a->kernel_height * a->kernel_width * a->in_channels, os, os, &in[1]);
    ok &= rows_region(a->bias, 1, 0, os, &in[2]);
    ok &= rows_region(a->y, a->images, a->y_image_stride, (ptrdiff_t)a->out_height * a->out_width * os, &out[0]);
    ok &= rows_region(a->scratch, 1, 0, f, &out[1]);
    if (!ok) return RNNK_INVALID_SIZE;
    return outputs_apart(out, 2, in, 3);
}

// ---------------------------------------------------------------------------------------------
// The convolution.

// Image n of x, zero-padded and with its channels packed (in_channels floats per pixel), into scratch:
// padded row r is input row r - pad_top, padded column s input column s - pad_left, zeros outside.
static void pad_image(const rnnk_conv2d_args *a, int n) {
    ptrdiff_t height, width, floats;
    padded_size(a, &height, &width, &floats);
    const int C = a->in_channels;
    const float *x = a->x + n * a->x_image_stride;
    float *to = a->scratch;
    for (ptrdiff_t r = 0; r < height; r++) {
        const ptrdiff_t source_row = r - a->pad_top;
        for (ptrdiff_t s = 0; s < width; s++, to += C) {
            const ptrdiff_t source_column = s - a->pad_left;
            if (source_row < 0 || source_row >= a->in_height || source_column < 0 || source_column >= a->in_width) {
                memset(to, 0, (size_t)C * sizeof(float));
            } else {
                memcpy(to, x + (source_row * a->in_width + source_column) * a->in_channel_stride, (size_t)C * sizeof(float));
            }
        }
    }
}

// Portable C: the same sums, an output pixel's channels at a time. The innermost loop runs over the
// output channels, contiguous in the packed weights and the output, so any compiler vectorizes it for the
// target's baseline (SSE2 on x86-64, NEON on ARM64); a multiply then an add (`fmaf` without hardware FMA
// would be a libm call per term).
static void conv2d_portable(const rnnk_conv2d_args *a) {
    const int C = a->in_channels, row_k = a->kernel_width * C, os = 8 * a->out_groups;
    const int padded_width = (a->out_width - 1) * a->stride_width + a->kernel_width;
    for (int n = 0; n < a->images; n++) {
        pad_image(a, n);
        float *y = a->y + n * a->y_image_stride;
        for (int i = 0; i < a->out_height; i++) for (int j = 0; j < a->out_width; j++) {
            const float *base = a->scratch + ((ptrdiff_t)i * a->stride_height * padded_width + (ptrdiff_t)j * a->stride_width) * C;
            float *restrict out = y + ((ptrdiff_t)i * a->out_width + j) * os;
            for (int o = 0; o < os; o++) out[o] = a->bias[o];
            for (int u = 0; u < a->kernel_height; u++) {
                const float *in = base + (ptrdiff_t)u * padded_width * C;
                const float *w = a->w + (ptrdiff_t)u * row_k * os;
                for (int k = 0; k < row_k; k++, w += os) {
                    const float x = in[k];
                    for (int o = 0; o < os; o++) out[o] += x * w[o];
                }
            }
            if (a->activation == RNNK_ACTIVATION_RELU) {
                for (int o = 0; o < os; o++) out[o] = out[o] > 0 ? out[o] : 0;
            } else if (a->activation == RNNK_ACTIVATION_TANH) {
                for (int o = 0; o < os; o++) out[o] = tanh_f32(out[o]);
            }
        }
    }
}

#if RNNK_X86_VARIANTS

#define VARIANT(f) f##_v8_256
#define TARGET AVX2
#define TILE_PIXELS 4
#include "conv_variant.h"
#undef VARIANT
#undef TARGET
#undef TILE_PIXELS

#define VARIANT(f) f##_v8_512
#define TARGET AVX512
#define TILE_PIXELS 8
#define WIDE_PIXELS 16
#include "conv_variant.h"
#undef VARIANT
#undef TARGET
#undef TILE_PIXELS
#undef WIDE_PIXELS

#endif

#if RNNK_NEON_VARIANTS

// ARM64: AVX2's tile of 4 pixels x 16 channels (an 8-lane vector is two 128-bit registers, so
// NEON's 32 hold what AVX2's 16 do; not measured on an ARM CPU).
#define VARIANT(f) f##_v8_neon
#define TARGET NEON
#define TILE_PIXELS 4
#include "conv_variant.h"
#undef VARIANT
#undef TARGET
#undef TILE_PIXELS

#endif

int rnnk_conv2d(rnnk_isa isa, const rnnk_conv2d_args *args) {
    if (isa != RNNK_ISA_NONE && !rnnk_fused_available(isa)) return RNNK_UNAVAILABLE;
    const int status = conv2d_check(args);
    if (status != RNNK_OK || args->images == 0) return status;
#if RNNK_X86_VARIANTS
    if (isa == RNNK_ISA_AVX512) {
        conv2d_v8_512(args);
        return RNNK_OK;
    }
    if (isa == RNNK_ISA_AVX2) {
        conv2d_v8_256(args);
        return RNNK_OK;
    }
#endif
#if RNNK_NEON_VARIANTS
    if (isa == RNNK_ISA_NEON) {
        conv2d_v8_neon(args);
        return RNNK_OK;
    }
#endif
    conv2d_portable(args);
    return RNNK_OK;
}

// ---------------------------------------------------------------------------------------------
// Max pooling.

static int maxpool2d_check(const rnnk_maxpool2d_args *a) {
    if (!a) return RNNK_NULL_POINTER;
    if (a->images < 0 || a->channels < 1 || a->in_height < 1 || a->in_width < 1 || a->kernel_height < 1 ||
        a->kernel_width < 1 || a->stride_height < 1 || a->stride_width < 1 || a->pad_top < 0 || a->pad_left < 0 ||
        a->pad_top >= a->kernel_height || a->pad_left >= a->kernel_width || a->out_height < 1 || a->out_width < 1)
        return RNNK_INVALID_SIZE;
    // Every window holds an input position: the last one starts inside the input.
    ptrdiff_t last_row, last_column, in_floats, out_floats;
    if (__builtin_mul_overflow((ptrdiff_t)(a->out_height - 1), (ptrdiff_t)a->stride_height, &last_row) ||
        __builtin_mul_overflow((ptrdiff_t)(a->out_width - 1), (ptrdiff_t)a->stride_width, &last_column) ||
        last_row - a->pad_top >= a->in_height || last_column - a->pad_left >= a->in_width ||
        __builtin_mul_overflow((ptrdiff_t)a->in_height * a->in_width, (ptrdiff_t)a->channels, &in_floats) ||
        __builtin_mul_overflow((ptrdiff_t)a->out_height * a->out_width, (ptrdiff_t)a->channels, &out_floats) ||
        in_floats > INT_MAX)
        return RNNK_INVALID_SIZE;
    if (a->x_image_stride < in_floats || a->y_image_stride < out_floats) return RNNK_BAD_LAYOUT;
    if (a->images == 0) return RNNK_OK;
    if (!a->x || !a->y) return RNNK_NULL_POINTER;
    region in[1], out[2];
    int ok = rows_region(a->x, a->images, a->x_image_stride, in_floats, &in[0]);
    ok &= rows_region(a->y, a->images, a->y_image_stride, out_floats, &out[0]);
    out[1] = empty_region;
    // The argmax indices: images x out_floats ints, counted in floats (same size).
    if (a->argmax) ok &= rows_region(a->argmax, a->images, out_floats, out_floats, &out[1]);
    if (!ok) return RNNK_INVALID_SIZE;
    return outputs_apart(out, 2, in, 1);
}

int rnnk_maxpool2d(const rnnk_maxpool2d_args *a) {
    const int status = maxpool2d_check(a);
    if (status != RNNK_OK) return status;
    const int C = a->channels;
    for (int n = 0; n < a->images; n++) {
        const float *x = a->x + n * a->x_image_stride;
        float *y = a->y + n * a->y_image_stride;
        int *arg = a->argmax ? a->argmax + (ptrdiff_t)n * a->out_height * a->out_width * C : NULL;
        for (int i = 0; i < a->out_height; i++) {
            const int r0 = i * a->stride_height - a->pad_top;
            const int r_lo = r0 < 0 ? 0 : r0, r_hi = r0 + a->kernel_height < a->in_height ? r0 + a->kernel_height : a->in_height;
            for (int j = 0; j < a->out_width; j++) {
                const int s0 = j * a->stride_width - a->pad_left;
                const int s_lo = s0 < 0 ? 0 : s0, s_hi = s0 + a->kernel_width < a->in_width ? s0 + a->kernel_width : a->in_width;
                float *out = y + ((ptrdiff_t)i * a->out_width + j) * C;
                int *out_arg = arg ? arg + ((ptrdiff_t)i * a->out_width + j) * C : NULL;
                // The window's first position, then a strict comparison with the others (first maximum wins).
                const ptrdiff_t first = ((ptrdiff_t)r_lo * a->in_width + s_lo) * C;
                memcpy(out, x + first, (size_t)C * sizeof(float));
                if (out_arg) for (int ch = 0; ch < C; ch++) out_arg[ch] = (int)(first + ch);
                for (int r = r_lo; r < r_hi; r++) for (int s = s_lo; s < s_hi; s++) {
                    if (r == r_lo && s == s_lo) continue;
                    const ptrdiff_t at = ((ptrdiff_t)r * a->in_width + s) * C;
                    const float *in = x + at;
                    if (out_arg) {
                        for (int ch = 0; ch < C; ch++) if (in[ch] > out[ch]) { out[ch] = in[ch]; out_arg[ch] = (int)(at + ch); }
                    } else {
                        for (int ch = 0; ch < C; ch++) out[ch] = in[ch] > out[ch] ? in[ch] : out[ch];
                    }
                }
            }
        }
    }
    return RNNK_OK;
}

// ---------------------------------------------------------------------------------------------
// im2col and col2im (the trainer's backward pass).

static int im2col_check(const rnnk_conv2d_args *a, const float *x, const float *col) {
    if (!a) return RNNK_NULL_POINTER;
    const int status = conv_shape_check(a, 0);
    if (status != RNNK_OK || a->images == 0) return status;
    if (!x || !col) return RNNK_NULL_POINTER;
    ptrdiff_t width = (ptrdiff_t)a->kernel_height * a->kernel_width * a->in_channels, rows;
    if (__builtin_mul_overflow((ptrdiff_t)a->images * a->out_height, (ptrdiff_t)a->out_width, &rows)) return RNNK_INVALID_SIZE;
    region in[1], out[1];
    int ok = input_region(a, x, &in[0]);
    ok &= rows_region(col, rows, width, width, &out[0]);
    if (!ok) return RNNK_INVALID_SIZE;
    return outputs_apart(out, 1, in, 1);
}

// Calls BODY(col_pointer, input_offset_or_-1) for every element of every window, in col's order.
#define FOR_EACH_WINDOW_ELEMENT(a, col, BODY)                                                       \
    for (int n = 0; n < (a)->images; n++) for (int i = 0; i < (a)->out_height; i++)                 \
    for (int j = 0; j < (a)->out_width; j++) for (int u = 0; u < (a)->kernel_height; u++) {         \
        const int r = i * (a)->stride_height + u - (a)->pad_top;                                     \
        for (int v = 0; v < (a)->kernel_width; v++) {                                                \
            const int s = j * (a)->stride_width + v - (a)->pad_left;                                 \
            const int inside = r >= 0 && r < (a)->in_height && s >= 0 && s < (a)->in_width;          \
            const ptrdiff_t at = n * (a)->x_image_stride + ((ptrdiff_t)r * (a)->in_width + s) * (a)->in_channel_stride; \
            for (int c = 0; c < (a)->in_channels; c++, (col)++) BODY(col, inside ? at + c : -1);      \
        }                                                                                             \
    }

int rnnk_im2col(const rnnk_conv2d_args *a, float *col) {
    const int status = im2col_check(a, a ? a->x : NULL, col);
    if (status != RNNK_OK || a->images == 0) return status;
    const float *x = a->x;
#define COPY(p, at) (*(p) = (at) >= 0 ? x[at] : 0.0f)
    FOR_EACH_WINDOW_ELEMENT(a, col, COPY)
#undef COPY
    return RNNK_OK;
}

int rnnk_col2im(const rnnk_conv2d_args *a, const float *col, float *dx) {
    const int status = im2col_check(a, dx, col);
    if (status != RNNK_OK || a->images == 0) return status;
#define ADD(p, at) do { if ((at) >= 0) dx[at] += *(p); } while (0)
    FOR_EACH_WINDOW_ELEMENT(a, col, ADD)
#undef ADD
    return RNNK_OK;
}
