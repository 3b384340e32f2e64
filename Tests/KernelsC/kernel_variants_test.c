// kernel_variants_test.c: every vector variant of the fused kernels that this CPU and build run
// (x86-64: AVX2, AVX-512; ARM64: NEON) against the portable plain-C variant (RNNK_ISA_NONE), and
// the portable variant against a float64 evaluation of the same equations, on many shapes:
//
//   rnnk_lstm_step  rows 0-13 (every remainder of every row tile), groups 1-5 (pair panels and an
//                   odd last group), x_width 0-16, first steps (h NULL, or given with h_width 0)
//                   and later ones, bias or z_in (bias then NULL), gates_out with and without
//                   cell_tanh_out, c_prev NULL / separate / updated in place, tight and padded strides
//   rnnk_gru_step   the same, both reset modes (reset_after 0 is two-phase at a later step),
//                   bias_hn NULL or given, hn_in (with wh NULL), gates_out
//   rnnk_conv2d     1-2 images, every pixel count 1-40 with out_groups 1-5 (every remainder of the
//                   pixel tiles, the AVX-512 16-pixel tile included), then random shapes: 1-9 input
//                   channels with padded channel strides, kernels 1-5, strides 1-3, padding,
//                   all three activations
//   int8 (int8_step.c) every int8 variant (x86-64: AVX2, AVX-512 VNNI; ARM64: NEON dot product)
//                   against the portable one: rnnk_i8_product bit for bit (the integer sums are
//                   exact on every variant, and the binary32 fma after them is the same operation),
//                   with the sums themselves checked against exact int64 ones (unit scales: the
//                   output is the sum), rows 0-13 (every remainder of the 3-, 4- and 6-row tiles),
//                   8-136 columns (odd 8-column last blocks, groups of 4 blocks), widths 0-130
//                   (every remainder of 4-quad loops), extreme values (all +-127), in-place
//                   accumulation; and rnnk_lstm_step_i8 / rnnk_gru_step_i8 (chunks of 16 rows,
//                   whose gates run on the matching float variant) within the tolerance
//
// Not part of the Swift package (Package.swift names its targets; this directory is none): it is
// built from the kernel sources by Tests/KernelsC/run.sh, natively and cross-compiled for aarch64
// (run under qemu-aarch64), so the NEON variants are tested on a machine without an ARM CPU.
//
// Every buffer ends at a PROT_NONE page, so a read or write past the end of any input or output
// faults; every float of an output buffer that the kernel must not write (row gaps of padded
// strides, everything when rows is 0) is checked to be unchanged, bit for bit.
//
// Tolerance: |variant - reference| <= 1e-5 * max(1, |reference|), for every output value (h, c,
// each gate, tanh c, hn, conv outputs), the same rule as the Swift tests (RNNCoreTests/
// GRUStepTests.swift). Inputs are in [-1, 1] and weights U(-1, 1) / sqrt(K + 1) for a sum of K
// products, so a pre-activation's terms add up to S of a few units. The variants add the same
// terms in the same order (the kernels promise it, rnn_kernels.h); they differ only in rounding:
// a fused multiply-add rounds once where plain C may round twice, and AVX-512's LSTM takes
// tanh g as 2 sigmoid(2 g) - 1. Each is within about sqrt(K) u S of the exact sum (u = 2^-24;
// rounding errors add like independent variables, Higham & Mary 2019), for K <= 57 products
// (16 inputs + 40 state + start) here (conv2d: K <= 225 with S similar), about 8 * 6e-8 * 4 = 2e-6;
// sigmoid' <= 1/4 and tanh' <= 1 pass it on and the polynomial activations add at most 1e-6
// (StepKernelTests), so two variants are a few 1e-6 apart at most and 1e-5 holds with room. The
// float64 evaluation is checked with the same bound. A wrong, missing or extra term, row or column
// (a tile remainder gone astray) moves values by 1e-2 or more. The worst error is printed.
//
// Usage: kernel_variants_test [--expect NAME]... [--expect-not NAME]... [--only lstm|gru|conv2d|int8]
// NAME: avx2, avx512, neon (float variants), i8-avx2, i8-avx512-vnni, i8-neon-dot (int8). Exit status 1
// when a check fails or an expected variant is not available (or an unexpected one is): a run under
// emulation must not pass vacuously.

#include "rnn_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TOLERANCE 1e-5

// ---------------------------------------------------------------------------------------------
// Random numbers (SplitMix64) and guarded buffers.

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

// Uniform in [lo, hi).
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)((next_u64() >> 40) * 0x1p-24); }

static int below(int n) { return (int)(next_u64() % (uint64_t)n); }

// Buffers of one case, each ending at a PROT_NONE page; released together by release_all.
#define MAX_MAPPINGS 64
static struct { void *base; size_t length; } mappings[MAX_MAPPINGS];
static int mapping_count;

static float *guarded(size_t floats) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t bytes = floats * sizeof(float), data_pages = (bytes + page - 1) / page;
    const size_t length = (data_pages + 1) * page;
    char *base = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED || mapping_count == MAX_MAPPINGS) {
        fprintf(stderr, "kernel_variants_test: out of memory\n");
        exit(2);
    }
    if (mprotect(base + data_pages * page, page, PROT_NONE) != 0) {
        perror("mprotect");
        exit(2);
    }
    mappings[mapping_count].base = base;
    mappings[mapping_count++].length = length;
    return (float *)(base + data_pages * page) - floats;
}

static void release_all(void) {
    for (int i = 0; i < mapping_count; i++) munmap(mappings[i].base, mappings[i].length);
    mapping_count = 0;
}

static float *random_buffer(size_t floats, float lo, float hi) {
    float *p = guarded(floats);
    for (size_t i = 0; i < floats; i++) p[i] = uniform(lo, hi);
    return p;
}

static float *copy_buffer(const float *from, size_t floats) {
    float *p = guarded(floats);
    if (floats) memcpy(p, from, floats * sizeof(float));
    return p;
}

// What an output buffer holds before a kernel runs where it is not an input: a quiet NaN with a
// payload, so that a value read from it would also show.
static const uint32_t canary_bits = 0x7FC0DEADu;

static float *canary_buffer(size_t floats) {
    float *p = guarded(floats);
    for (size_t i = 0; i < floats; i++) memcpy(&p[i], &canary_bits, sizeof(float));
    return p;
}

// Floats an array of `rows` rows of `width` floats, `stride` apart, spans (0 when empty).
static size_t span(int rows, ptrdiff_t stride, ptrdiff_t width) {
    return rows > 0 && width > 0 ? (size_t)((rows - 1) * stride + width) : 0;
}

// ---------------------------------------------------------------------------------------------
// Results, per kernel and comparison.

typedef struct tally {
    const char *kernel, *comparison;
    long cases, values, failures;
    double worst;
} tally;

#define MAX_TALLIES 32
static tally tallies[MAX_TALLIES];
static int tally_count;
static long total_failures;

static tally *tally_for(const char *kernel, const char *comparison) {
    for (int i = 0; i < tally_count; i++) {
        if (!strcmp(tallies[i].kernel, kernel) && !strcmp(tallies[i].comparison, comparison)) return &tallies[i];
    }
    if (tally_count == MAX_TALLIES) {
        fprintf(stderr, "kernel_variants_test: more than %d tallies\n", MAX_TALLIES);
        exit(2);
    }
    tallies[tally_count] = (tally){kernel, comparison, 0, 0, 0, 0};
    return &tallies[tally_count++];
}

static void report_failure(tally *t, const char *context, const char *what, size_t index, double want, float got) {
    t->failures++;
    if (total_failures++ < 20) {
        fprintf(stderr, "FAIL %s %s: %s: %s[%zu] = %.9g, want %.9g\n", t->kernel, t->comparison, context, what,
                index, (double)got, want);
    }
}

// One output buffer of `length` floats: rows `rows` of `width` values `stride` apart must be within
// the tolerance of `want` (same layout, doubles); every other float must equal `initial` bit for bit.
static void compare(tally *t, const char *context, const char *what, const float *got, const double *want,
                    const float *initial, size_t length, int rows, ptrdiff_t stride, ptrdiff_t width) {
    for (size_t i = 0; i < length; i++) {
        const int inside = (ptrdiff_t)(i / (size_t)stride) < rows && (ptrdiff_t)(i % (size_t)stride) < width;
        if (!inside) {
            if (memcmp(&got[i], &initial[i], sizeof(float)) != 0) report_failure(t, context, what, i, initial[i], got[i]);
            continue;
        }
        t->values++;
        const double error = fabs((double)got[i] - want[i]), scale = fabs(want[i]) > 1 ? fabs(want[i]) : 1;
        if (!(error <= TOLERANCE * scale)) report_failure(t, context, what, i, want[i], got[i]);
        else if (error / scale > t->worst) t->worst = error / scale;
    }
}

static double *widen(const float *p, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = p[i];
    return d;
}

static double sigmoid(double v) { return 1 / (1 + exp(-v)); }

// ---------------------------------------------------------------------------------------------
// The variants.

typedef struct variant {
    rnnk_isa isa;
    const char *name, *comparison;
} variant;

static const variant all_variants[] = {
    {RNNK_ISA_AVX2, "avx2", "avx2 vs none"}, {RNNK_ISA_AVX512, "avx512", "avx512 vs none"},
    {RNNK_ISA_NEON, "neon", "neon vs none"},
};
#define VARIANT_COUNT (int)(sizeof all_variants / sizeof all_variants[0])

static variant available[VARIANT_COUNT];
static int available_count;

typedef struct i8_variant {
    rnnk_i8_isa isa;
    const char *name, *comparison, *lstm, *gru;
} i8_variant;

static const i8_variant all_i8_variants[] = {
    {RNNK_I8_AVX2, "i8-avx2", "product i8-avx2 vs portable (bits)", "lstm i8-avx2 vs portable", "gru i8-avx2 vs portable"},
    {RNNK_I8_AVX512_VNNI, "i8-avx512-vnni", "product i8-avx512-vnni vs portable (bits)", "lstm i8-avx512-vnni vs portable",
     "gru i8-avx512-vnni vs portable"},
    {RNNK_I8_NEON_DOT, "i8-neon-dot", "product i8-neon-dot vs portable (bits)", "lstm i8-neon-dot vs portable",
     "gru i8-neon-dot vs portable"},
};
#define I8_VARIANT_COUNT (int)(sizeof all_i8_variants / sizeof all_i8_variants[0])

static i8_variant i8_available[I8_VARIANT_COUNT];
static int i8_available_count;

// ---------------------------------------------------------------------------------------------
// LSTM.

typedef struct lstm_case {
    int rows, groups, x_width;
    int h_mode;      // 0: first step, h NULL; 1: first step, h given with h_width 0; 2: later step
    int z_in;        // 1: z_in rows instead of bias (bias NULL then)
    int gates;       // 0: none; 1: gates_out; 2: gates_out and cell_tanh_out
    int c_mode;      // 0: c_prev NULL; 1: separate c_prev; 2: in place (c_prev == c_out)
    int padded;      // 1: every stride longer than its row
} lstm_case;

// The inputs of one case, shared by every run.
typedef struct lstm_inputs {
    rnnk_lstm_step_args base;   // inputs set, outputs NULL
    float *c_init;              // c_prev's values (c_prev NULL: unused)
    size_t c_length, h_out_length, gates_length;
} lstm_inputs;

// The outputs of one run, with the buffers' values before it.
typedef struct lstm_outputs {
    float *c, *h, *gates, *tanh_c;
    const float *c_before;
} lstm_outputs;

static void lstm_describe(const lstm_case *c, char *out, size_t size) {
    snprintf(out, size, "rows %d groups %d x_width %d h %s %s gates %d c_prev %s strides %s", c->rows, c->groups,
             c->x_width, c->h_mode == 0 ? "NULL" : c->h_mode == 1 ? "width0" : "G", c->z_in ? "z_in" : "bias", c->gates,
             c->c_mode == 0 ? "NULL" : c->c_mode == 1 ? "separate" : "in-place", c->padded ? "padded" : "tight");
}

static lstm_inputs lstm_make(const lstm_case *c) {
    const int G = 8 * c->groups, Z = 32 * c->groups, later = c->h_mode == 2;
    const int K = c->x_width + (later ? G : 0);
    const float w = 1.0f / sqrtf((float)K + 1);
    lstm_inputs in = {0};
    rnnk_lstm_step_args *a = &in.base;
    a->rows = c->rows;
    a->groups = c->groups;
    a->x_width = c->x_width;
    a->x_stride = c->x_width + (c->padded ? 3 : 0);
    if (c->x_width > 0) {
        a->x = random_buffer(span(c->rows, a->x_stride, c->x_width), -1, 1);
        a->wx = random_buffer((size_t)Z * c->x_width, -w, w);
    }
    if (c->h_mode >= 1) {
        a->h_stride = G + (c->padded ? 5 : 0);
        a->h = random_buffer(span(c->rows, a->h_stride, G), -1, 1);
        a->h_width = later ? G : 0;
        a->wh = later ? random_buffer((size_t)Z * G, -w, w) : NULL;
    }
    if (c->z_in) {
        a->z_in_stride = Z + (c->padded ? 3 : 0);
        a->z_in = random_buffer(span(c->rows, a->z_in_stride, Z), -1, 1);
    } else {
        a->bias = random_buffer((size_t)Z, -0.5f, 0.5f);
    }
    a->c_stride = G + (c->padded ? 2 : 0);
    in.c_length = span(c->rows, a->c_stride, G);
    if (c->c_mode) in.c_init = random_buffer(in.c_length, -1, 1);
    if (c->c_mode == 1) a->c_prev = in.c_init;
    a->h_out_stride = G + (c->padded ? 7 : 0);
    in.h_out_length = span(c->rows, a->h_out_stride, G);
    a->gates_hidden = G;
    a->gates_stride = 4 * G + (c->padded ? 1 : 0);
    in.gates_length = span(c->rows, a->gates_stride, 4 * G);
    return in;
}

// Runs variant `isa` on fresh output buffers.
static int lstm_run(rnnk_isa isa, const lstm_case *c, const lstm_inputs *in, lstm_outputs *out) {
    rnnk_lstm_step_args a = in->base;
    if (c->c_mode == 2) {
        out->c = copy_buffer(in->c_init, in->c_length);
        a.c_prev = out->c;
        out->c_before = in->c_init;
    } else {
        out->c = canary_buffer(in->c_length);
        out->c_before = copy_buffer(out->c, in->c_length);
    }
    a.c_out = out->c;
    out->h = canary_buffer(in->h_out_length);
    a.h_out = out->h;
    out->gates = c->gates ? canary_buffer(in->gates_length) : NULL;
    out->tanh_c = c->gates == 2 ? canary_buffer(in->c_length) : NULL;
    a.gates_out = out->gates;
    a.cell_tanh_out = out->tanh_c;
    return rnnk_lstm_step(isa, &a);
}

// What the outputs should be, in float64, laid out like the outputs.
typedef struct lstm_expected {
    double *c, *h, *gates, *tanh_c;
} lstm_expected;

static lstm_expected lstm_oracle(const lstm_case *c, const lstm_inputs *in) {
    const rnnk_lstm_step_args *a = &in->base;
    const int G = 8 * c->groups;
    lstm_expected e = {calloc(in->c_length + 1, sizeof(double)), calloc(in->h_out_length + 1, sizeof(double)),
                       calloc(in->gates_length + 1, sizeof(double)), calloc(in->c_length + 1, sizeof(double))};
    for (int r = 0; r < c->rows; r++) {
        for (int u = 0; u < G; u++) {
            double z[4];
            for (int j = 0; j < 4; j++) {
                const int col = 32 * (u / 8) + 8 * j + u % 8;
                double s = a->z_in ? a->z_in[r * a->z_in_stride + col] : a->bias[col];
                for (int k = 0; k < a->x_width; k++) {
                    s += (double)a->x[r * a->x_stride + k] * a->wx[rnnk_packed_index(c->groups, a->x_width, k, col)];
                }
                for (int k = 0; k < a->h_width; k++) {
                    s += (double)a->h[r * a->h_stride + k] * a->wh[rnnk_packed_index(c->groups, a->h_width, k, col)];
                }
                z[j] = s;
            }
            const double i = sigmoid(z[0]), f = sigmoid(z[1]), g = tanh(z[2]), o = sigmoid(z[3]);
            const double c_prev = c->c_mode ? in->c_init[r * a->c_stride + u] : 0;
            const double cell = f * c_prev + i * g;
            e.c[r * a->c_stride + u] = cell;
            e.tanh_c[r * a->c_stride + u] = tanh(cell);
            e.h[r * a->h_out_stride + u] = o * tanh(cell);
            double *gates = e.gates + r * a->gates_stride + u;
            gates[0] = i;
            gates[G] = f;
            gates[2 * G] = g;
            gates[3 * G] = o;
        }
    }
    return e;
}

static void lstm_free_expected(lstm_expected *e) {
    free(e->c);
    free(e->h);
    free(e->gates);
    free(e->tanh_c);
}

// got against want (float64), with the layout of case c.
static void lstm_compare(tally *t, const char *context, const lstm_case *c, const lstm_inputs *in,
                         const lstm_outputs *got, const lstm_expected *want) {
    const rnnk_lstm_step_args *a = &in->base;
    const int G = 8 * c->groups;
    t->cases++;
    compare(t, context, "c_out", got->c, want->c, got->c_before, in->c_length, c->rows, a->c_stride, G);
    float *h_canary = canary_buffer(in->h_out_length);
    compare(t, context, "h_out", got->h, want->h, h_canary, in->h_out_length, c->rows, a->h_out_stride, G);
    if (c->gates) {
        float *canary = canary_buffer(in->gates_length);
        compare(t, context, "gates_out", got->gates, want->gates, canary, in->gates_length, c->rows, a->gates_stride, 4 * G);
    }
    if (c->gates == 2) {
        float *canary = canary_buffer(in->c_length);
        compare(t, context, "cell_tanh_out", got->tanh_c, want->tanh_c, canary, in->c_length, c->rows, a->c_stride, G);
    }
}

static lstm_expected lstm_widen(const lstm_case *c, const lstm_inputs *in, const lstm_outputs *o) {
    return (lstm_expected){widen(o->c, in->c_length), widen(o->h, in->h_out_length),
                           c->gates ? widen(o->gates, in->gates_length) : NULL,
                           c->gates == 2 ? widen(o->tanh_c, in->c_length) : NULL};
}

static void lstm_check(const lstm_case *c) {
    char context[256];
    lstm_describe(c, context, sizeof context);
    lstm_inputs in = lstm_make(c);
    lstm_outputs reference;
    tally *t = tally_for("lstm", "none vs float64");
    if (lstm_run(RNNK_ISA_NONE, c, &in, &reference) != RNNK_OK) {
        report_failure(t, context, "status", 0, 0, 0);
        release_all();
        return;
    }
    lstm_expected exact = lstm_oracle(c, &in);
    lstm_compare(t, context, c, &in, &reference, &exact);
    lstm_free_expected(&exact);
    lstm_expected want = lstm_widen(c, &in, &reference);
    for (int v = 0; v < available_count; v++) {
        tally *tv = tally_for("lstm", available[v].comparison);
        lstm_outputs got;
        const int status = lstm_run(available[v].isa, c, &in, &got);
        if (status != RNNK_OK) report_failure(tv, context, "status", 0, 0, (float)status);
        else lstm_compare(tv, context, c, &in, &got, &want);
    }
    lstm_free_expected(&want);
    release_all();
}

static void lstm_cases(void) {
    static const int widths[] = {0, 1, 2, 7, 9, 16};
    int n = 0;
    for (int rows = 0; rows <= 13; rows++) for (int groups = 1; groups <= 5; groups++)
    for (int wi = 0; wi < 6; wi++) for (int h_mode = 0; h_mode < 3; h_mode++) for (int repeat = 0; repeat < 2; repeat++) {
        // The 36 combinations of the options, in turn (7 is prime to 36, so each shape meets several).
        const int option = (7 * n++) % 36;
        lstm_case c = {rows, groups, widths[wi], h_mode, option % 2, (option / 2) % 3, (option / 6) % 3, option / 18};
        lstm_check(&c);
    }
}

// ---------------------------------------------------------------------------------------------
// GRU.

typedef struct gru_case {
    int rows, groups, x_width;
    int h_mode;        // as lstm_case
    int reset_after;
    int z_in;          // 1: z_in rows instead of bias_x (bias_x NULL then)
    int bias_hn;       // 1: bias_hn given (read when reset_after)
    int hn_in;         // 1: hn_in rows (reset_after only; wh NULL then)
    int gates;         // 1: gates_out
    int padded;
} gru_case;

typedef struct gru_inputs {
    rnnk_gru_step_args base;
    size_t h_out_length, gates_length, scratch_length;
    int two_phase;
} gru_inputs;

typedef struct gru_outputs {
    float *h, *gates;
} gru_outputs;

static void gru_describe(const gru_case *c, char *out, size_t size) {
    snprintf(out, size, "rows %d groups %d x_width %d h %s reset_after %d %s bias_hn %d hn_in %d gates %d strides %s",
             c->rows, c->groups, c->x_width, c->h_mode == 0 ? "NULL" : c->h_mode == 1 ? "width0" : "G", c->reset_after,
             c->z_in ? "z_in" : "bias_x", c->bias_hn, c->hn_in, c->gates, c->padded ? "padded" : "tight");
}

static gru_inputs gru_make(const gru_case *c) {
    const int G = 8 * c->groups, Z = 24 * c->groups, later = c->h_mode == 2;
    const int K = c->x_width + (later ? G : 0);
    const float w = 1.0f / sqrtf((float)K + 1);
    gru_inputs in = {0};
    rnnk_gru_step_args *a = &in.base;
    a->rows = c->rows;
    a->groups = c->groups;
    a->reset_after = c->reset_after;
    a->x_width = c->x_width;
    a->x_stride = c->x_width + (c->padded ? 3 : 0);
    if (c->x_width > 0) {
        a->x = random_buffer(span(c->rows, a->x_stride, c->x_width), -1, 1);
        a->wx = random_buffer((size_t)Z * c->x_width, -w, w);
    }
    if (c->h_mode >= 1) {
        a->h_stride = G + (c->padded ? 5 : 0);
        a->h = random_buffer(span(c->rows, a->h_stride, G), -1, 1);
        a->h_width = later ? G : 0;
        a->wh = later && !c->hn_in ? random_buffer((size_t)Z * G, -w, w) : NULL;
    }
    if (c->z_in) {
        a->z_in_stride = Z + (c->padded ? 3 : 0);
        a->z_in = random_buffer(span(c->rows, a->z_in_stride, Z), -1, 1);
    } else {
        a->bias_x = random_buffer((size_t)Z, -0.5f, 0.5f);
    }
    if (c->bias_hn) a->bias_hn = random_buffer((size_t)G, -0.5f, 0.5f);
    if (c->hn_in) {
        a->hn_in_stride = G + (c->padded ? 4 : 0);
        a->hn_in = random_buffer(span(c->rows, a->hn_in_stride, G), -1, 1);
    }
    a->h_out_stride = G + (c->padded ? 7 : 0);
    in.h_out_length = span(c->rows, a->h_out_stride, G);
    a->gates_hidden = G;
    a->gates_stride = 4 * G + (c->padded ? 1 : 0);
    in.gates_length = span(c->rows, a->gates_stride, 4 * G);
    in.two_phase = !c->reset_after && a->h_width > 0;
    in.scratch_length = in.two_phase ? (size_t)c->rows * 3 * G : 0;
    return in;
}

static int gru_run(rnnk_isa isa, const gru_case *c, const gru_inputs *in, gru_outputs *out) {
    rnnk_gru_step_args a = in->base;
    out->h = canary_buffer(in->h_out_length);
    a.h_out = out->h;
    out->gates = c->gates ? canary_buffer(in->gates_length) : NULL;
    a.gates_out = out->gates;
    // Scratch is needed (non-NULL even for 0 rows) only by a two-phase step; otherwise NULL.
    a.scratch = in->two_phase ? canary_buffer(in->scratch_length) : NULL;
    return rnnk_gru_step(isa, &a);
}

typedef struct gru_expected {
    double *h, *gates;
} gru_expected;

static gru_expected gru_oracle(const gru_case *c, const gru_inputs *in) {
    const rnnk_gru_step_args *a = &in->base;
    const int G = 8 * c->groups;
    gru_expected e = {calloc(in->h_out_length + 1, sizeof(double)), calloc(in->gates_length + 1, sizeof(double))};
    double *r_gate = malloc(sizeof(double) * G), *x_part = malloc(sizeof(double) * 3 * G), *h_part = malloc(sizeof(double) * 3 * G);
    for (int r = 0; r < c->rows; r++) {
        const float *h = a->h_width > 0 ? a->h + r * a->h_stride : NULL;
        // Per unit and gate: the start plus the input products (x_part), and h W (h_part).
        for (int u = 0; u < G; u++) for (int j = 0; j < 3; j++) {
            const int col = 24 * (u / 8) + 8 * j + u % 8;
            double s = a->z_in ? a->z_in[r * a->z_in_stride + col] : a->bias_x[col];
            for (int k = 0; k < a->x_width; k++) {
                s += (double)a->x[r * a->x_stride + k] * a->wx[rnnk_gru_packed_index(c->groups, a->x_width, k, col)];
            }
            x_part[3 * u + j] = s;
            double p = 0;
            if (h && !a->hn_in) {
                for (int k = 0; k < G; k++) p += (double)h[k] * a->wh[rnnk_gru_packed_index(c->groups, G, k, col)];
            }
            h_part[3 * u + j] = p;
        }
        for (int u = 0; u < G; u++) r_gate[u] = sigmoid(x_part[3 * u] + h_part[3 * u]);
        for (int u = 0; u < G; u++) {
            const double rg = r_gate[u], zg = sigmoid(x_part[3 * u + 1] + h_part[3 * u + 1]);
            double hn, n;
            if (a->hn_in) {
                hn = a->hn_in[r * a->hn_in_stride + u];
                n = tanh(x_part[3 * u + 2] + rg * hn);
            } else if (a->reset_after) {
                hn = h_part[3 * u + 2] + (a->bias_hn ? a->bias_hn[u] : 0);
                n = tanh(x_part[3 * u + 2] + rg * hn);
            } else {
                // (r * h) W_hn: every unit's r first.
                hn = 0;
                if (h) {
                    const int col = 24 * (u / 8) + 16 + u % 8;
                    for (int k = 0; k < G; k++) hn += r_gate[k] * h[k] * a->wh[rnnk_gru_packed_index(c->groups, G, k, col)];
                }
                n = tanh(x_part[3 * u + 2] + hn);
            }
            const double hv = h ? h[u] : 0;
            e.h[r * a->h_out_stride + u] = n + zg * (hv - n);
            double *gates = e.gates + r * a->gates_stride + u;
            gates[0] = rg;
            gates[G] = zg;
            gates[2 * G] = n;
            gates[3 * G] = hn;
        }
    }
    free(r_gate);
    free(x_part);
    free(h_part);
    return e;
}

static void gru_compare(tally *t, const char *context, const gru_case *c, const gru_inputs *in, const gru_outputs *got,
                        const gru_expected *want) {
    const rnnk_gru_step_args *a = &in->base;
    const int G = 8 * c->groups;
    t->cases++;
    float *h_canary = canary_buffer(in->h_out_length);
    compare(t, context, "h_out", got->h, want->h, h_canary, in->h_out_length, c->rows, a->h_out_stride, G);
    if (c->gates) {
        float *canary = canary_buffer(in->gates_length);
        compare(t, context, "gates_out", got->gates, want->gates, canary, in->gates_length, c->rows, a->gates_stride, 4 * G);
    }
}

static void gru_check(const gru_case *c) {
    char context[256];
    gru_describe(c, context, sizeof context);
    gru_inputs in = gru_make(c);
    gru_outputs reference;
    tally *t = tally_for("gru", "none vs float64");
    if (gru_run(RNNK_ISA_NONE, c, &in, &reference) != RNNK_OK) {
        report_failure(t, context, "status", 0, 0, 0);
        release_all();
        return;
    }
    gru_expected exact = gru_oracle(c, &in);
    gru_compare(t, context, c, &in, &reference, &exact);
    free(exact.h);
    free(exact.gates);
    gru_expected want = {widen(reference.h, in.h_out_length), c->gates ? widen(reference.gates, in.gates_length) : NULL};
    for (int v = 0; v < available_count; v++) {
        tally *tv = tally_for("gru", available[v].comparison);
        gru_outputs got;
        const int status = gru_run(available[v].isa, c, &in, &got);
        if (status != RNNK_OK) report_failure(tv, context, "status", 0, 0, (float)status);
        else gru_compare(tv, context, c, &in, &got, &want);
    }
    free(want.h);
    free(want.gates);
    release_all();
}

static void gru_cases(void) {
    static const int widths[] = {0, 1, 2, 7, 9, 16};
    int n = 0;
    for (int rows = 0; rows <= 13; rows++) for (int groups = 1; groups <= 5; groups++)
    for (int wi = 0; wi < 6; wi++) for (int h_mode = 0; h_mode < 3; h_mode++) for (int reset_after = 0; reset_after < 2; reset_after++) {
        // The 16 combinations of z_in, bias_hn, gates and strides in turn (5 is prime to 16);
        // hn_in on every other reset-after case.
        const int option = (5 * n++) % 16;
        gru_case c = {rows, groups, widths[wi], h_mode, reset_after, option % 2, (option / 2) % 2,
                      reset_after && (n / 2) % 2, (option / 4) % 2, option / 8};
        gru_check(&c);
    }
}

// ---------------------------------------------------------------------------------------------
// conv2d.

static void conv_describe(const rnnk_conv2d_args *a, char *out, size_t size) {
    snprintf(out, size, "images %d in %dx%dx%d (stride %d) kernel %dx%d stride %dx%d pad %d,%d out %dx%dx%d activation %d",
             a->images, a->in_height, a->in_width, a->in_channels, a->in_channel_stride, a->kernel_height, a->kernel_width,
             a->stride_height, a->stride_width, a->pad_top, a->pad_left, a->out_height, a->out_width, 8 * a->out_groups,
             (int)a->activation);
}

// One convolution: `a` has the shape set; inputs and outputs are made here.
static void conv_check(rnnk_conv2d_args a) {
    char context[256];
    conv_describe(&a, context, sizeof context);
    tally *t = tally_for("conv2d", "none vs float64");
    const int C = a.in_channels, O = 8 * a.out_groups, KHW = a.kernel_height * a.kernel_width;
    a.x_image_stride = (ptrdiff_t)a.in_height * a.in_width * a.in_channel_stride + (a.in_channels % 2 ? 5 : 0);
    a.y_image_stride = (ptrdiff_t)a.out_height * a.out_width * O + (a.out_groups % 2 ? 0 : 3);
    const size_t x_length = span(a.images, a.x_image_stride, (ptrdiff_t)a.in_height * a.in_width * a.in_channel_stride);
    const size_t y_length = span(a.images, a.y_image_stride, (ptrdiff_t)a.out_height * a.out_width * O);
    const float w = 1.0f / sqrtf((float)(KHW * C) + 1);
    a.x = random_buffer(x_length, -1, 1);
    a.w = random_buffer((size_t)KHW * C * O, -w, w);
    a.bias = random_buffer((size_t)O, -0.5f, 0.5f);
    const ptrdiff_t scratch_floats = rnnk_conv2d_scratch_floats(&a);
    if (scratch_floats < 0) {
        report_failure(t, context, "scratch size", 0, 0, 0);
        release_all();
        return;
    }
    // The float64 value of every output.
    double *exact = calloc(y_length + 1, sizeof(double));
    for (int n = 0; n < a.images; n++) for (int i = 0; i < a.out_height; i++) for (int j = 0; j < a.out_width; j++)
    for (int o = 0; o < O; o++) {
        double s = a.bias[o];
        for (int u = 0; u < a.kernel_height; u++) for (int v = 0; v < a.kernel_width; v++) {
            const int r = i * a.stride_height + u - a.pad_top, q = j * a.stride_width + v - a.pad_left;
            if (r < 0 || r >= a.in_height || q < 0 || q >= a.in_width) continue;
            for (int ch = 0; ch < C; ch++) {
                s += (double)a.x[n * a.x_image_stride + ((ptrdiff_t)r * a.in_width + q) * a.in_channel_stride + ch] *
                     a.w[((ptrdiff_t)(u * a.kernel_width + v) * C + ch) * O + o];
            }
        }
        if (a.activation == RNNK_ACTIVATION_RELU) s = s > 0 ? s : 0;
        else if (a.activation == RNNK_ACTIVATION_TANH) s = tanh(s);
        exact[n * a.y_image_stride + ((ptrdiff_t)i * a.out_width + j) * O + o] = s;
    }
    const int pixels_floats = a.out_height * a.out_width * O;
    float *canary = canary_buffer(y_length);
    // Scratch only needs to exist: its contents are the kernel's own (an image is copied in first).
    a.scratch = guarded(scratch_floats > 0 ? (size_t)scratch_floats : 1);
    a.y = canary_buffer(y_length);
    int status = rnnk_conv2d(RNNK_ISA_NONE, &a);
    if (status != RNNK_OK) {
        report_failure(t, context, "status", 0, 0, (float)status);
    } else {
        t->cases++;
        compare(t, context, "y", a.y, exact, canary, y_length, a.images, a.y_image_stride, pixels_floats);
        double *want = widen(a.y, y_length);
        for (int v = 0; v < available_count; v++) {
            tally *tv = tally_for("conv2d", available[v].comparison);
            rnnk_conv2d_args b = a;
            b.y = canary_buffer(y_length);
            b.scratch = guarded(scratch_floats > 0 ? (size_t)scratch_floats : 1);
            status = rnnk_conv2d(available[v].isa, &b);
            if (status != RNNK_OK) {
                report_failure(tv, context, "status", 0, 0, (float)status);
                continue;
            }
            tv->cases++;
            compare(tv, context, "y", b.y, want, canary, y_length, a.images, a.y_image_stride, pixels_floats);
        }
        free(want);
    }
    free(exact);
    release_all();
}

static void conv_cases(void) {
    // Every pixel count 1-40 (out_height x out_width = 1 x P, or a near-square P) x out_groups 1-5:
    // every remainder of 4-, 8- and 16-pixel tiles, single groups and pairs. 3x3 kernel, padding 1.
    int n = 0;
    for (int pixels = 1; pixels <= 40; pixels++) for (int groups = 1; groups <= 5; groups++) {
        int oh = 1, ow = pixels;
        if (n % 2) for (int d = 2; d * d <= pixels; d++) if (pixels % d == 0) { oh = d; ow = pixels / d; }
        rnnk_conv2d_args a = {0};
        a.images = 1 + n % 2;
        a.in_channels = 1 + n % 3;
        a.in_channel_stride = a.in_channels + (n % 4 == 3);
        a.kernel_height = a.kernel_width = 3;
        a.stride_height = a.stride_width = 1;
        a.pad_top = a.pad_left = 1;
        a.in_height = oh;   // stride 1, padding 1 on both sides: out = in
        a.in_width = ow;
        a.out_height = oh;
        a.out_width = ow;
        a.out_groups = groups;
        a.activation = (rnnk_activation)(n % 3);
        conv_check(a);
        n++;
    }
    // Random shapes: the output size follows from the input, the window and padding on both sides.
    for (int made = 0; made < 700;) {
        rnnk_conv2d_args a = {0};
        a.images = 1 + below(2);
        a.in_channels = 1 + below(9);
        a.in_channel_stride = a.in_channels + (below(3) == 0 ? 1 + below(3) : 0);
        a.kernel_height = 1 + below(5);
        a.kernel_width = below(3) == 0 ? 1 + below(5) : a.kernel_height;
        a.stride_height = 1 + below(3);
        a.stride_width = below(3) == 0 ? 1 + below(3) : a.stride_height;
        a.pad_top = below(a.kernel_height);
        a.pad_left = below(a.kernel_width);
        a.in_height = 1 + below(12);
        a.in_width = 1 + below(12);
        const int pad_bottom = below(a.kernel_height), pad_right = below(a.kernel_width);
        const int h = a.in_height + a.pad_top + pad_bottom - a.kernel_height, wd = a.in_width + a.pad_left + pad_right - a.kernel_width;
        if (h < 0 || wd < 0) continue;
        a.out_height = h / a.stride_height + 1;
        a.out_width = wd / a.stride_width + 1;
        a.out_groups = 1 + below(5);
        a.activation = (rnnk_activation)below(3);
        conv_check(a);
        made++;
    }
    // No images: nothing computed, nothing written.
    rnnk_conv2d_args a = {0};
    a.in_height = a.in_width = a.in_channels = a.in_channel_stride = 2;
    a.kernel_height = a.kernel_width = a.stride_height = a.stride_width = 1;
    a.out_height = a.out_width = 2;
    a.out_groups = 1;
    conv_check(a);
}

// ---------------------------------------------------------------------------------------------
// int8 (int8_step.c).

// A guarded array of `bytes` bytes (ending at the guard page when `bytes` is a multiple of 4).
static int8_t *guarded_bytes(size_t bytes) { return (int8_t *)guarded((bytes + 3) / 4); }

// A weight matrix of `columns` x `width` int8 values, packed; `extreme`: every value -127 (the
// largest sums); `unit`: every scale 1.
typedef struct i8_weights {
    rnnk_i8_matrix m;
    int8_t *rows;  // [columns][width], malloc'ed
} i8_weights;

static i8_weights i8_make_weights(int columns, int width, int extreme, int unit) {
    i8_weights w;
    const size_t k4 = ((size_t)width + 3) / 4;
    w.rows = malloc((size_t)columns * (size_t)width + 1);
    for (size_t i = 0; i < (size_t)columns * (size_t)width; i++) w.rows[i] = (int8_t)(extreme ? -127 : below(255) - 127);
    int8_t *packed = guarded_bytes((size_t)columns * 4 * k4);
    int32_t *col_sum = (int32_t *)guarded((size_t)columns);
    float *scale = guarded((size_t)columns);
    for (int c = 0; c < columns; c++) scale[c] = unit ? 1.0f : uniform(0.001f, 0.02f);
    if (rnnk_i8_pack(columns, width, w.rows, packed, col_sum) != RNNK_OK) {
        fprintf(stderr, "kernel_variants_test: rnnk_i8_pack failed\n");
        exit(2);
    }
    w.m = (rnnk_i8_matrix){packed, col_sum, scale, width};
    return w;
}

// rnnk_i8_product: each variant bit for bit against the portable one; with unit scales and no
// start, the portable one against the exact sums.
static void i8_product_check(int rows, int columns, int width, int extreme, int start_mode, int unit) {
    char context[256];
    snprintf(context, sizeof context, "rows %d columns %d width %d%s start %s%s", rows, columns, width,
             extreme ? " extreme" : "", start_mode == 0 ? "NULL" : start_mode == 1 ? "bias" : start_mode == 2 ? "rows" : "in-place",
             unit ? " unit scales" : "");
    const int k4 = (width + 3) / 4;
    const ptrdiff_t a_stride = 4 * (ptrdiff_t)k4 + (rows % 2 ? 4 : 0), out_stride = columns + (rows % 3 ? 3 : 0);
    i8_weights w = i8_make_weights(columns, width, extreme, unit);
    int8_t *a = guarded_bytes((size_t)span(rows, a_stride, 4 * (ptrdiff_t)k4));
    for (size_t i = 0; i < (size_t)span(rows, a_stride, 4 * (ptrdiff_t)k4); i++) a[i] = (int8_t)(extreme ? -127 : below(255) - 127);
    float *a_scale = guarded((size_t)(rows > 0 ? rows : 0));
    for (int r = 0; r < rows; r++) a_scale[r] = unit ? 1.0f : uniform(0.001f, 0.02f);
    const size_t out_length = span(rows, out_stride, columns);
    float *start = NULL, *initial = canary_buffer(out_length);
    ptrdiff_t start_stride = 0;
    if (start_mode == 1) start = random_buffer((size_t)columns, -1, 1);
    if (start_mode == 2) start = random_buffer(out_length, -1, 1), start_stride = out_stride;
    if (start_mode == 3) initial = random_buffer(out_length, -1, 1), start_stride = out_stride;  // start = out
    rnnk_i8_product_args args = {rows, columns, a, a_stride, a_scale, w.m, start, start_stride, NULL, out_stride};

    tally *t = tally_for("int8", "product portable vs exact sums");
    float *reference = copy_buffer(initial, out_length);
    args.out = reference;
    if (start_mode == 3) args.start = reference;
    int status = rnnk_i8_product(RNNK_I8_PORTABLE, &args);
    if (status != RNNK_OK) {
        report_failure(t, context, "status", 0, 0, (float)status);
        free(w.rows);
        release_all();
        return;
    }
    if (unit && start_mode == 0) {
        // The exact sum of every entry, in int64 (from the unpacked rows; padding never counts).
        double *exact = calloc(out_length + 1, sizeof(double));
        for (int r = 0; r < rows; r++) for (int c = 0; c < columns; c++) {
            int64_t sum = 0;
            for (int k = 0; k < width; k++) sum += (int64_t)w.rows[(size_t)c * width + k] * a[r * a_stride + k];
            exact[r * out_stride + c] = (double)sum;
        }
        t->cases++;
        compare(t, context, "sum", reference, exact, initial, out_length, rows, out_stride, columns);
        // compare's tolerance is relative; the sums must be exact (below 2^24 here, so exact as floats).
        for (int r = 0; r < rows; r++) for (int c = 0; c < columns; c++) {
            if ((double)reference[r * out_stride + c] != exact[r * out_stride + c]) {
                report_failure(t, context, "exact sum", (size_t)(r * out_stride + c), exact[r * out_stride + c], reference[r * out_stride + c]);
            }
        }
        free(exact);
    }
    for (int v = 0; v < i8_available_count; v++) {
        tally *tv = tally_for("int8", i8_available[v].comparison);
        float *out = copy_buffer(initial, out_length);
        args.out = out;
        if (start_mode == 3) args.start = out;
        status = rnnk_i8_product(i8_available[v].isa, &args);
        if (status != RNNK_OK) {
            report_failure(tv, context, "status", 0, 0, (float)status);
            continue;
        }
        tv->cases++;
        tv->values += (long)rows * columns;
        // Bit for bit, every float of the buffer (gaps included).
        for (size_t i = 0; i < out_length; i++) {
            if (memcmp(&out[i], &reference[i], sizeof(float)) != 0) report_failure(tv, context, "out (bits)", i, reference[i], out[i]);
        }
    }
    free(w.rows);
    release_all();
}

// rnnk_lstm_step_i8 / rnnk_gru_step_i8 (`cell` 32 or 24): each variant against the portable one.
static void i8_step_check(int cell, int rows, int groups, int x_width, int with_h, int z_in, int c_mode, int bias_hn) {
    char context[256];
    snprintf(context, sizeof context, "%s rows %d groups %d x_width %d h %d %s c_prev %d bias_hn %d", cell == 32 ? "lstm" : "gru",
             rows, groups, x_width, with_h, z_in ? "z_in" : "bias", c_mode, bias_hn);
    const int G = 8 * groups, Z = cell * groups;
    rnnk_i8_step_args a = {0};
    a.rows = rows;
    a.groups = groups;
    a.x_width = x_width;
    a.x_stride = x_width + 2;
    i8_weights wx = i8_make_weights(Z, x_width, 0, 0), wh = i8_make_weights(Z, G, 0, 0);
    a.wx = wx.m;
    a.wh = wh.m;
    if (x_width > 0) a.x = random_buffer(span(rows, a.x_stride, x_width), -1, 1);
    a.h_stride = G + 1;
    if (with_h) a.h = random_buffer(span(rows, a.h_stride, G), -1, 1);
    if (z_in) {
        a.z_in_stride = Z + 3;
        a.z_in = random_buffer(span(rows, a.z_in_stride, Z), -1, 1);
    } else {
        a.bias = random_buffer((size_t)Z, -0.5f, 0.5f);
    }
    if (bias_hn) a.bias_hn = random_buffer((size_t)G, -0.5f, 0.5f);
    a.c_stride = G + 2;
    const size_t c_length = span(rows, a.c_stride, G);
    float *c_init = random_buffer(c_length, -1, 1);
    if (c_mode == 1) a.c_prev = c_init;
    a.h_out_stride = G + 5;
    const size_t h_length = span(rows, a.h_out_stride, G);
    const size_t scratch = rnnk_i8_step_scratch_bytes(cell, groups, x_width);
    float *h_canary = canary_buffer(h_length), *c_canary = canary_buffer(c_length);
    // One run: fresh outputs (c in place when c_mode is 2).
    float *h_out[I8_VARIANT_COUNT + 1], *c_out[I8_VARIANT_COUNT + 1];
    rnnk_i8_isa isas[I8_VARIANT_COUNT + 1] = {RNNK_I8_PORTABLE};
    for (int v = 0; v < i8_available_count; v++) isas[v + 1] = i8_available[v].isa;
    tally *t0 = tally_for("int8", cell == 32 ? "lstm portable (runs)" : "gru portable (runs)");
    for (int v = 0; v <= i8_available_count; v++) {
        rnnk_i8_step_args b = a;
        h_out[v] = canary_buffer(h_length);
        c_out[v] = c_mode == 2 ? copy_buffer(c_init, c_length) : canary_buffer(c_length);
        b.h_out = h_out[v];
        if (cell == 32) {
            b.c_out = c_out[v];
            if (c_mode == 2) b.c_prev = c_out[v];
        }
        b.scratch = guarded_bytes(scratch);
        const int status = cell == 32 ? rnnk_lstm_step_i8(isas[v], &b) : rnnk_gru_step_i8(isas[v], &b);
        if (status != RNNK_OK) {
            report_failure(v ? tally_for("int8", cell == 32 ? i8_available[v - 1].lstm : i8_available[v - 1].gru) : t0, context,
                           "step status", 0, 0, (float)status);
            free(wx.rows);
            free(wh.rows);
            release_all();
            return;
        }
    }
    t0->cases++;
    double *want_h = widen(h_out[0], h_length), *want_c = widen(c_out[0], c_length);
    for (int v = 1; v <= i8_available_count; v++) {
        tally *tv = tally_for("int8", cell == 32 ? i8_available[v - 1].lstm : i8_available[v - 1].gru);
        tv->cases++;
        compare(tv, context, "h_out", h_out[v], want_h, h_canary, h_length, rows, a.h_out_stride, G);
        if (cell == 32) compare(tv, context, "c_out", c_out[v], want_c, c_mode == 2 ? c_init : c_canary, c_length, rows, a.c_stride, G);
    }
    free(want_h);
    free(want_c);
    free(wx.rows);
    free(wh.rows);
    release_all();
}

static void i8_cases(void) {
    static const int columns[] = {8, 16, 24, 40, 56, 64, 72, 136};
    static const int widths[] = {0, 1, 3, 4, 5, 12, 15, 16, 17, 31, 33, 64, 65, 130};
    int n = 0;
    for (int rows = 0; rows <= 13; rows++) for (int ci = 0; ci < 8; ci++) for (int wi = 0; wi < 14; wi++) {
        // Unit scales without a start (the exact sums) on every other case; else the 4 start modes in turn.
        const int unit = n % 2 == 0;
        i8_product_check(rows, columns[ci], widths[wi], n % 7 == 3, unit ? 0 : (n / 2) % 4, unit);
        n++;
    }
    static const int step_rows[] = {0, 1, 2, 3, 5, 15, 16, 17, 33};
    n = 0;
    for (int cell = 24; cell <= 32; cell += 8) for (int ri = 0; ri < 9; ri++) for (int groups = 1; groups <= 3; groups++)
    for (int with_h = 0; with_h < 2; with_h++) for (int xi = 0; xi < 3; xi++) {
        static const int step_widths[] = {0, 5, 17};
        i8_step_check(cell, step_rows[ri], groups, step_widths[xi], with_h, n % 2, (n / 2) % 3, (n / 3) % 2);
        n++;
    }
}

// ---------------------------------------------------------------------------------------------

// Whether `name` is an available variant's (float or int8) name.
static int available_named(const char *name) {
    for (int v = 0; v < available_count; v++) if (!strcmp(available[v].name, name)) return 1;
    for (int v = 0; v < i8_available_count; v++) if (!strcmp(i8_available[v].name, name)) return 1;
    return 0;
}

static int known_name(const char *name) {
    for (int v = 0; v < VARIANT_COUNT; v++) if (!strcmp(all_variants[v].name, name)) return 1;
    for (int v = 0; v < I8_VARIANT_COUNT; v++) if (!strcmp(all_i8_variants[v].name, name)) return 1;
    return 0;
}

int main(int argc, char **argv) {
    const char *arch =
#if defined(__x86_64__)
        "x86-64";
#elif defined(__aarch64__)
        "aarch64";
#else
        "other";
#endif
    const rnnk_isa detected = rnnk_detect_isa();
    const rnnk_i8_isa detected_i8 = rnnk_detect_i8_isa();
    const char *detected_name = "none", *detected_i8_name = "portable";
    for (int v = 0; v < VARIANT_COUNT; v++) {
        if (all_variants[v].isa == detected) detected_name = all_variants[v].name;
        if (rnnk_isa_available(all_variants[v].isa)) {
            available[available_count++] = all_variants[v];
        } else {
            // A variant that is not there is refused by every kernel, before anything else.
            if (rnnk_lstm_step(all_variants[v].isa, NULL) != RNNK_UNAVAILABLE ||
                rnnk_gru_step(all_variants[v].isa, NULL) != RNNK_UNAVAILABLE ||
                rnnk_conv2d(all_variants[v].isa, NULL) != RNNK_UNAVAILABLE) {
                fprintf(stderr, "FAIL: unavailable variant %s not refused\n", all_variants[v].name);
                total_failures++;
            }
        }
    }
    for (int v = 0; v < I8_VARIANT_COUNT; v++) {
        if (all_i8_variants[v].isa == detected_i8) detected_i8_name = all_i8_variants[v].name;
        if (rnnk_i8_isa_available(all_i8_variants[v].isa)) {
            i8_available[i8_available_count++] = all_i8_variants[v];
        } else if (rnnk_i8_product(all_i8_variants[v].isa, NULL) != RNNK_UNAVAILABLE ||
                   rnnk_lstm_step_i8(all_i8_variants[v].isa, NULL) != RNNK_UNAVAILABLE ||
                   rnnk_gru_step_i8(all_i8_variants[v].isa, NULL) != RNNK_UNAVAILABLE) {
            fprintf(stderr, "FAIL: unavailable int8 variant %s not refused\n", all_i8_variants[v].name);
            total_failures++;
        }
    }
    if (!rnnk_isa_available(RNNK_ISA_NONE) || rnnk_isa_available((rnnk_isa)7) || !rnnk_i8_isa_available(RNNK_I8_PORTABLE)) {
        fprintf(stderr, "FAIL: rnnk_isa_available(NONE) and rnnk_i8_isa_available(PORTABLE) must be 1, of an unknown value 0\n");
        total_failures++;
    }
    printf("kernel_variants_test: %s, rnnk_detect_isa %s, rnnk_detect_i8_isa %s; tested against the portable variants:", arch,
           detected_name, detected_i8_name);
    for (int v = 0; v < available_count; v++) printf(" %s", available[v].name);
    for (int v = 0; v < i8_available_count; v++) printf(" %s", i8_available[v].name);
    printf("%s\n", available_count + i8_available_count ? "" : " (no vector variant on this CPU and build)");
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        const int expect = !strcmp(argv[i], "--expect"), expect_not = !strcmp(argv[i], "--expect-not");
        if ((expect || expect_not) && i + 1 < argc && known_name(argv[i + 1])) {
            const char *name = argv[++i];
            if (available_named(name) != expect) {
                fprintf(stderr, "FAIL: variant %s %s\n", name, expect ? "expected but not available" : "available but not expected");
                total_failures++;
            }
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            only = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--expect NAME]... [--expect-not NAME]... [--only lstm|gru|conv2d|int8]\n"
                            "NAME: avx2 avx512 neon i8-avx2 i8-avx512-vnni i8-neon-dot\n", argv[0]);
            return 2;
        }
    }

    if (!only || !strcmp(only, "lstm")) lstm_cases();
    if (!only || !strcmp(only, "gru")) gru_cases();
    if (!only || !strcmp(only, "conv2d")) conv_cases();
    if (!only || !strcmp(only, "int8")) i8_cases();

    for (int i = 0; i < tally_count; i++) {
        const tally *t = &tallies[i];
        printf("  %-7s %-42s %5ld cases %9ld values  worst %.2e  %s\n", t->kernel, t->comparison, t->cases, t->values,
               t->worst, t->failures ? "FAILED" : "ok");
    }
    if (total_failures) {
        fprintf(stderr, "kernel_variants_test: %ld failures\n", total_failures);
        return 1;
    }
    printf("kernel_variants_test: all passed (tolerance %.0e relative to max(1, |reference|); int8 products bit for bit)\n",
           TOLERANCE);
    return 0;
}
