// What every kernel of RNNKernels shares at run time: the status messages and the choice of
// variant (x86-64: cpuid and xgetbv; ARM64: the OS's hardware capabilities; asked once per process).
#include "kernel_common.h"

const char *rnnk_status_message(int status) {
    switch (status) {
    case RNNK_OK: return "ok";
    case RNNK_UNAVAILABLE: return "kernel variant unavailable on this CPU or build";
    case RNNK_INVALID_SIZE: return "invalid size";
    case RNNK_NULL_POINTER: return "a required pointer is NULL";
    case RNNK_BAD_LAYOUT: return "a stride or width does not fit the layout";
    case RNNK_OVERLAP: return "an output overlaps another output or an input";
    default: return "unknown status";
    }
}

#if RNNK_X86_VARIANTS

#include <cpuid.h>

static unsigned long long xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

// What cpuid and xgetbv say, asked every time; rnnk_detect_isa caches it.
static rnnk_isa detect_uncached(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return RNNK_ISA_NONE;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx || !fma) return RNNK_ISA_NONE;
    // The OS must save the registers: XCR0 bits 1-2 (SSE, AVX) and 5-7 (opmask, ZMM halves).
    const unsigned long long state = xcr0();
    if ((state & 0x6) != 0x6) return RNNK_ISA_NONE;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return RNNK_ISA_NONE;
    const int avx2 = (b >> 5) & 1;
    const int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1, avx512vl = (b >> 31) & 1;
    if (!avx2) return RNNK_ISA_NONE;
    if (avx512f && avx512dq && avx512vl && (state & 0xE6) == 0xE6) return RNNK_ISA_AVX512;
    return RNNK_ISA_AVX2;
}

#elif RNNK_NEON_VARIANTS

#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1) // linux/arch/arm64/include/uapi/asm/hwcap.h
#endif
#endif

// Linux says whether the CPU has Advanced SIMD in AT_HWCAP (glibc's <sys/auxv.h> defines the bit).
// Apple silicon always has it; elsewhere (other ARM64 systems) the compiler's baseline already
// assumes it (__ARM_NEON, required by RNNK_NEON_VARIANTS), so the portable code uses it too.
static rnnk_isa detect_uncached(void) {
#if defined(__linux__)
    return (getauxval(AT_HWCAP) & HWCAP_ASIMD) ? RNNK_ISA_NEON : RNNK_ISA_NONE;
#else
    return RNNK_ISA_NEON;
#endif
}

#endif

#if RNNK_VECTOR_VARIANTS

// The answer is computed once (cpuid is slow, and traps to the hypervisor in a VM). Threads that
// race here all store the same value.
static int detected = -1;

rnnk_isa rnnk_detect_isa(void) {
    int best = __atomic_load_n(&detected, __ATOMIC_RELAXED);
    if (best < 0) {
        best = (int)detect_uncached();
        __atomic_store_n(&detected, best, __ATOMIC_RELAXED);
    }
    return (rnnk_isa)best;
}

#if RNNK_X86_VARIANTS
int rnnk_fused_available(rnnk_isa isa) {
    return (isa == RNNK_ISA_AVX2 || isa == RNNK_ISA_AVX512) && (int)isa <= (int)rnnk_detect_isa();
}
#else
int rnnk_fused_available(rnnk_isa isa) { return isa == RNNK_ISA_NEON && rnnk_detect_isa() == RNNK_ISA_NEON; }
#endif

#else // neither x86-64 nor ARM64 with a recent clang: no vector variants.

rnnk_isa rnnk_detect_isa(void) { return RNNK_ISA_NONE; }

int rnnk_fused_available(rnnk_isa isa) {
    (void)isa;
    return 0;
}

#endif

int rnnk_isa_available(rnnk_isa isa) { return isa == RNNK_ISA_NONE || rnnk_fused_available(isa); }
