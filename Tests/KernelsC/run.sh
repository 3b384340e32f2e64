#!/usr/bin/env bash
# Tests/KernelsC/run.sh -- the C kernels (Sources/RNNKernels) on x86-64 and, cross-compiled and
# emulated, on ARM64; `make kernels-c`, part of `make test`.
#
#   bash Tests/KernelsC/run.sh          # from anywhere; exit status 0 when every check passed
#
# Steps (each prints one "==" line; any failure stops the script with status 1):
#   1. lint: lint_arch.py's self-test (deliberately unguarded snippets must be flagged), then the
#      tree (Sources/, Tests/, examples/, fuzz/): no x86-only or ARM-only code outside its guards;
#   2. native: kernel_variants_test.c with the kernel sources, every vector variant this CPU runs
#      (AVX2, AVX-512; int8: AVX2, AVX-512 VNNI) against the portable one (and the ones /proc/cpuinfo
#      promises must be there);
#   3. aarch64: the same, cross-compiled (clang --target=aarch64-linux-gnu -O2, Debian's
#      libc6-dev-arm64-cross and libgcc-12-dev-arm64-cross, the toolchain's ld.lld) and run under
#      qemu-aarch64: the NEON variants and the int8 NEON dot-product variant against the portable
#      ones (both must be detected on qemu's default CPU); then the int8 part again on an emulated
#      Cortex-A53, which has NEON but no dot product: the int8 variant must not be picked there;
#   4. every other C file of the package cross-compiles for aarch64 (-fsyntax-only):
#      Sources/CRNNRuntime (the C API header), examples/c/*.c, the CZstd and CZlib shims (zstd.h,
#      zlib.h are architecture-independent in Debian, found in /usr/include); not the CBLAS and
#      COpenSSL shims, whose headers Debian installs per architecture (cblas.h, openssl/
#      configuration.h under /usr/include/x86_64-linux-gnu; the arm64 ones would need the
#      libopenblas-dev:arm64 and libssl-dev:arm64 multiarch packages). The kernels themselves
#      were compiled in step 3 (with -Werror); three of them (kernel_common.c, lstm_step.c,
#      gru_step.c need no C library) are also compiled for arm64-apple-macos (-ffreestanding),
#      the Apple path of rnnk_detect_isa.
#
# On an ARM64 Linux host step 2 is the NEON run (natively) and step 3 is skipped.
#
# Environment (all optional): CLANG (default clang: it must be clang, for the vector extensions
# and --target), ARM64=0 skips steps 3-4 (saying so; CI runs them), SCRATCH (default
# .build-kernels-c, emptied first).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
CLANG=${CLANG:-clang}
SCRATCH=${SCRATCH:-$ROOT/.build-kernels-c}
KERNELS=$ROOT/Sources/RNNKernels
HARNESS=$ROOT/Tests/KernelsC/kernel_variants_test.c
SYSROOT=/usr/aarch64-linux-gnu
CFLAGS=(-O2 -Wall -Wextra -Werror -I "$KERNELS/include")
AARCH64=(--target=aarch64-linux-gnu)

step() { printf '== %s\n' "$*"; }
fail() { printf 'Tests/KernelsC/run.sh: FAILED: %s\n' "$*" >&2; exit 1; }

rm -rf "$SCRATCH"
mkdir -p "$SCRATCH/native" "$SCRATCH/aarch64"

# Compiles every kernel source and the harness to objects in $1 with the target flags after it (all
# at once), then links them (the link flags: $LINK).
LINK=()
build() {
    local out=$1; shift
    local pids=() f
    for f in "$KERNELS"/*.c "$HARNESS"; do
        "$CLANG" "${CFLAGS[@]}" "$@" -c "$f" -o "$out/$(basename "$f" .c).o" &
        pids+=($!)
    done
    for f in "${pids[@]}"; do wait "$f" || fail "compiling for $out"; done
    "$CLANG" "$@" "${LINK[@]}" "$out"/*.o -lm -o "$out/kernel_variants_test" || fail "linking $out/kernel_variants_test"
}

step "lint: architecture-specific code only inside its guards (lint_arch.py)"
python3 Tests/KernelsC/lint_arch.py --self-test || fail "lint_arch.py self-test"
python3 Tests/KernelsC/lint_arch.py || fail "lint_arch.py found unguarded code"

step "native ($(uname -m)): every vector variant against the portable one"
build "$SCRATCH/native"
expect=()
if [ "$(uname -m)" = x86_64 ] && [ -r /proc/cpuinfo ]; then
    flags=" $(grep -m1 '^flags' /proc/cpuinfo) "
    if [[ $flags == *" avx2 "* && $flags == *" fma "* ]]; then expect+=(--expect avx2 --expect i8-avx2); fi
    if [[ $flags == *" avx512f "* && $flags == *" avx512dq "* && $flags == *" avx512vl "* ]]; then
        expect+=(--expect avx512)
        if [[ $flags == *" avx512bw "* && $flags == *" avx512_vnni "* ]]; then expect+=(--expect i8-avx512-vnni); fi
    fi
elif [ "$(uname -m)" = aarch64 ] && [ -r /proc/cpuinfo ]; then
    features=" $(grep -m1 '^Features' /proc/cpuinfo) "
    if [[ $features == *" asimd "* ]]; then expect+=(--expect neon); fi
    if [[ $features == *" asimddp "* ]]; then expect+=(--expect i8-neon-dot); fi
fi
"$SCRATCH/native/kernel_variants_test" "${expect[@]}" || fail "native kernel variants"

if [ "${ARM64:-1}" = 0 ]; then
    step "aarch64: SKIPPED (ARM64=0): NEON variants and cross-compilation not checked"
    exit 0
fi

if [ "$(uname -m)" = aarch64 ]; then
    step "aarch64: the native run above was the NEON one; no emulation needed"
else
    step "aarch64 (qemu-aarch64): the NEON variants against the portable one"
    command -v qemu-aarch64 >/dev/null || fail "qemu-aarch64 not found (Debian: qemu-user; make deps installs it)"
    [ -f "$SYSROOT/include/stdio.h" ] || fail "$SYSROOT/include missing (Debian: libc6-dev-arm64-cross; make deps)"
    ls /usr/lib/gcc-cross/aarch64-linux-gnu/*/crtbeginS.o >/dev/null 2>&1 \
        || fail "no aarch64 crtbeginS.o/libgcc (Debian 12: libgcc-12-dev-arm64-cross, or gcc-aarch64-linux-gnu; make deps)"
    LINK=(-fuse-ld=lld)
    build "$SCRATCH/aarch64" "${AARCH64[@]}"
    file_type=$(od -An -tx1 -j18 -N2 "$SCRATCH/aarch64/kernel_variants_test" | tr -d ' ')
    [ "$file_type" = b700 ] || fail "the aarch64 build is not an AArch64 ELF (e_machine $file_type)"
    qemu-aarch64 -L "$SYSROOT" "$SCRATCH/aarch64/kernel_variants_test" --expect neon --expect i8-neon-dot \
        || fail "aarch64 kernel variants"
    echo "-- the int8 part on an emulated Cortex-A53 (NEON without the dot product instructions):"
    qemu-aarch64 -cpu cortex-a53 -L "$SYSROOT" "$SCRATCH/aarch64/kernel_variants_test" --only int8 \
        --expect neon --expect-not i8-neon-dot || fail "aarch64 (Cortex-A53) int8 variants"
fi

step "aarch64: every C file of the package compiles (kernels above; C API header, examples, shims)"
checked=0
syntax() { "$CLANG" "${AARCH64[@]}" -fsyntax-only "$@" || fail "aarch64: $*"; checked=$((checked + 1)); }
for f in Sources/CRNNRuntime/*.c; do syntax -Wall -Wextra -Werror -I Sources/CRNNRuntime/include "$f"; done
for f in examples/c/*.c; do
    syntax -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -I Sources/CRNNRuntime/include -I examples/c "$f"
done
for shim in Sources/CZstd/shim.h Sources/CZlib/shim.h; do syntax -Wall -Werror -x c "$shim"; done
for f in kernel_common lstm_step gru_step; do
    "$CLANG" --target=arm64-apple-macos13 -ffreestanding "${CFLAGS[@]}" -c "$KERNELS/$f.c" -o "$SCRATCH/aarch64/$f.macos.o" \
        || fail "arm64-apple-macos: $f.c"
done
echo "$checked files (-fsyntax-only) + $(ls "$KERNELS"/*.c | wc -l) kernel sources (-c -Werror, step 2 or 3) for aarch64-linux-gnu," \
     "3 for arm64-apple-macos; not checked: Sources/CBLAS, Sources/COpenSSL (per-architecture headers), the Swift code"
step "Tests/KernelsC: all passed"
