// fma_peak.c: this CPU's measured FMA peak per core, for the "% of peak" of bench/README and issue #18:
// 12 independent chains of vector FMAs (enough to cover the FMA latency of every x86 core we know, 4-5
// cycles, on two pipes), each FMA 2 FLOP per lane. Prints GFLOP/s for 256-bit (AVX2 + FMA) and 512-bit
// (AVX-512) vectors, the best of 7 runs of about 0.2 s each.
//
//   clang -O2 bench/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
#include <stdio.h>
#include <time.h>

#if defined(__x86_64__)
typedef float v8 __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHAINS 12
#define DEFINE_PEAK(NAME, V, LANES, TARGET)                                               \
    __attribute__((target(TARGET), noinline)) static double NAME(long iterations) {       \
        V acc[CHAINS];                                                                    \
        for (int i = 0; i < CHAINS; i++) acc[i] = (V){0} + (float)i * 1e-3f;              \
        const V a = (V){0} + 0.999999f, b = (V){0} + 1e-7f;                               \
        const double t0 = now();                                                          \
        for (long n = 0; n < iterations; n++) {                                           \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < CHAINS; i++)           \
                acc[i] = __builtin_elementwise_fma(acc[i], a, b);                         \
            __asm__ volatile("" ::: "memory");                                                \
        }                                                                                 \
        const double seconds = now() - t0;                                                \
        float sink = 0;                                                                   \
        for (int i = 0; i < CHAINS; i++) sink += acc[i][0];                               \
        if (sink == 12345.0f) printf("%f\n", sink);                                       \
        return 2.0 * LANES * CHAINS * (double)iterations / seconds / 1e9;                 \
    }

DEFINE_PEAK(peak256, v8, 8, "avx2,fma")
DEFINE_PEAK(peak512, v16, 16, "avx512f")

int main(void) {
    __builtin_cpu_init();
    double best256 = 0, best512 = 0;
    for (int run = 0; run < 7; run++) {
        const double g = peak256(40000000);
        if (g > best256) best256 = g;
        if (__builtin_cpu_supports("avx512f")) {
            const double h = peak512(20000000);
            if (h > best512) best512 = h;
        }
    }
    printf("{\"avx2_fma_gflops\": %.1f, \"avx512_fma_gflops\": %.1f}\n", best256, best512);
    return 0;
}
#else
int main(void) {
    printf("{\"error\": \"x86-64 only\"}\n");
    return 0;
}
#endif
