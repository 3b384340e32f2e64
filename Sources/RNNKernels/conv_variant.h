// conv_variant.h: one vector variant of the 2-D convolution (rnn_kernels.h, `rnnk_conv2d`).
// A template, not a header: conv.c includes it once per instruction set (hence no include guard)
// with three macros defined, as gru_step_variant.h:
//
//   VARIANT(f)    the name of `f` in this variant, e.g. f_v8_256 (tanh_v8_256 is kernel_common.h's)
//   TARGET        the target attribute, AVX2 or AVX512 (x86-64), NEON (ARM64, empty)
//   TILE_PIXELS   the output pixels of a full tile: 4 for AVX2's 16 vector registers, 8 for AVX-512's 32,
//                 4 for NEON (32 registers of 128 bits: the register file of AVX2)
//   WIDE_PIXELS   (AVX-512 only) the pixels of a 16-lane tile: pairs of output groups (16 channels) are
//                 one 512-bit vector, so a tile of 16 pixels needs 16 accumulators, one weight load and
//                 one broadcast per input, half the FMAs of two 8-lane vectors
//
// A tile is P <= TILE_PIXELS output pixels x 16 output channels (two 8-lane vectors; one for an odd last
// group): 2P accumulators. Per input k of a window the tile loads 2 weight vectors and broadcasts one input
// per pixel for 2P FMAs. The window's inputs of one kernel row are contiguous in the padded scratch image
// (`kernel_width * in_channels` floats), so the k loop is a straight walk over them and the weight rows.

// acc[r][g] = bias, + the window sums of the P pixels starting at output pixel p0, for output groups
// q0 .. q0 + G - 1 (G = 1 or 2); then the activation, stored at y's pixel rows.
TARGET INLINE void VARIANT(conv_tile)(const rnnk_conv2d_args *a, const float *padded, int padded_width,
                                      int p0, const int P, int q0, const int G, float *y) {
    const int C = a->in_channels, row_k = a->kernel_width * C, os = 8 * a->out_groups;
    const float *base[TILE_PIXELS];
    UNROLL for (int r = 0; r < P; r++) {
        const int i = (p0 + r) / a->out_width, j = (p0 + r) % a->out_width;
        base[r] = padded + ((ptrdiff_t)i * a->stride_height * padded_width + (ptrdiff_t)j * a->stride_width) * C;
    }
    v8 acc[TILE_PIXELS][2];
    UNROLL for (int r = 0; r < P; r++) UNROLL for (int g = 0; g < G; g++) acc[r][g] = LOAD8(a->bias + 8 * (q0 + g));
    for (int u = 0; u < a->kernel_height; u++) {
        const float *w = a->w + (ptrdiff_t)u * row_k * os + 8 * q0;
        const ptrdiff_t row = (ptrdiff_t)u * padded_width * C;
        for (int k = 0; k < row_k; k++, w += os) {
            v8 wv[2];
            UNROLL for (int g = 0; g < G; g++) wv[g] = LOAD8(w + 8 * g);
            UNROLL for (int r = 0; r < P; r++) {
                const v8 s = SPLAT8(base[r][row + k]);
                UNROLL for (int g = 0; g < G; g++) acc[r][g] = __builtin_elementwise_fma(s, wv[g], acc[r][g]);
            }
        }
    }
    UNROLL for (int r = 0; r < P; r++) UNROLL for (int g = 0; g < G; g++) {
        v8 v = acc[r][g];
        if (a->activation == RNNK_ACTIVATION_RELU) v = __builtin_elementwise_max(v, (v8){0});
        else if (a->activation == RNNK_ACTIVATION_TANH) v = VARIANT(tanh)(v);
        STORE8(y + (ptrdiff_t)(p0 + r) * os + 8 * (q0 + g), v);
    }
}

// Every pixel tile of one padded image from pixel `first`, for groups q0 .. q0 + G - 1; the last 1 ..
// TILE_PIXELS - 1 pixels as a tile of their own (each count its own unrolled copy).
TARGET INLINE void VARIANT(conv_groups)(const rnnk_conv2d_args *a, const float *padded, int padded_width,
                                        int q0, const int G, float *y, int first) {
    const int pixels = a->out_height * a->out_width;
    int p = first;
    for (; p + TILE_PIXELS <= pixels; p += TILE_PIXELS) VARIANT(conv_tile)(a, padded, padded_width, p, TILE_PIXELS, q0, G, y);
    switch (pixels - p) {
    case 7: if (TILE_PIXELS > 7) VARIANT(conv_tile)(a, padded, padded_width, p, 7, q0, G, y); break;
    case 6: if (TILE_PIXELS > 6) VARIANT(conv_tile)(a, padded, padded_width, p, 6, q0, G, y); break;
    case 5: if (TILE_PIXELS > 5) VARIANT(conv_tile)(a, padded, padded_width, p, 5, q0, G, y); break;
    case 4: if (TILE_PIXELS > 4) VARIANT(conv_tile)(a, padded, padded_width, p, 4, q0, G, y); break;
    case 3: VARIANT(conv_tile)(a, padded, padded_width, p, 3, q0, G, y); break;
    case 2: VARIANT(conv_tile)(a, padded, padded_width, p, 2, q0, G, y); break;
    case 1: VARIANT(conv_tile)(a, padded, padded_width, p, 1, q0, G, y); break;
    default: break;
    }
}

#ifdef WIDE_PIXELS
// WIDE_PIXELS output pixels from p0 x the 16 channels of groups q0, q0 + 1, as 16-lane vectors: the
// same sums as ``conv_tile``, in the same order of k.
TARGET INLINE void VARIANT(conv_tile16)(const rnnk_conv2d_args *a, const float *padded, int padded_width,
                                        int p0, int q0, float *y) {
    const int C = a->in_channels, row_k = a->kernel_width * C, os = 8 * a->out_groups;
    const float *base[WIDE_PIXELS];
    UNROLL for (int r = 0; r < WIDE_PIXELS; r++) {
        const int i = (p0 + r) / a->out_width, j = (p0 + r) % a->out_width;
        base[r] = padded + ((ptrdiff_t)i * a->stride_height * padded_width + (ptrdiff_t)j * a->stride_width) * C;
    }
    v16 acc[WIDE_PIXELS];
    const v16 bias = LOAD16(a->bias + 8 * q0);
    UNROLL for (int r = 0; r < WIDE_PIXELS; r++) acc[r] = bias;
    for (int u = 0; u < a->kernel_height; u++) {
        const float *w = a->w + (ptrdiff_t)u * row_k * os + 8 * q0;
        const ptrdiff_t row = (ptrdiff_t)u * padded_width * C;
        for (int k = 0; k < row_k; k++, w += os) {
            const v16 wv = LOAD16(w);
            UNROLL for (int r = 0; r < WIDE_PIXELS; r++) acc[r] = __builtin_elementwise_fma(SPLAT16(base[r][row + k]), wv, acc[r]);
        }
    }
    UNROLL for (int r = 0; r < WIDE_PIXELS; r++) {
        v16 v = acc[r];
        if (a->activation == RNNK_ACTIVATION_RELU) v = __builtin_elementwise_max(v, (v16){0});
        else if (a->activation == RNNK_ACTIVATION_TANH) v = tanh_v16_512(v);
        *(v16u *)(y + (ptrdiff_t)(p0 + r) * os + 8 * q0) = v;
    }
}
#endif

TARGET static void VARIANT(conv2d)(const rnnk_conv2d_args *a) {
    const int padded_width = (a->out_width - 1) * a->stride_width + a->kernel_width;
    const int pixels = a->out_height * a->out_width;
    for (int n = 0; n < a->images; n++) {
        pad_image(a, n);
        float *y = a->y + n * a->y_image_stride;
        int q = 0;
        for (; q + 2 <= a->out_groups; q += 2) {
            int first = 0;
#ifdef WIDE_PIXELS
            // Pairs of groups as 16 lanes, WIDE_PIXELS pixels at a time; the pixels left as 8-lane tiles.
            for (; first + WIDE_PIXELS <= pixels; first += WIDE_PIXELS) VARIANT(conv_tile16)(a, a->scratch, padded_width, first, q, y);
#endif
            VARIANT(conv_groups)(a, a->scratch, padded_width, q, 2, y, first);
        }
        if (q < a->out_groups) VARIANT(conv_groups)(a, a->scratch, padded_width, q, 1, y, 0);
    }
    (void)pixels;
}
