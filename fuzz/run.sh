#!/usr/bin/env bash
# Builds one libFuzzer harness and runs it (fuzz/README.md).
#
#   fuzz/run.sh [TARGET] [SECONDS] [extra libFuzzer flags...]
#
# TARGET is reader (the .rnnm reader, the default: `fuzz/run.sh 600` still fuzzes it), tar, idx,
# tokenizer, checkpoint, npy, ts or streamline; SECONDS defaults to 600. Each target is one case
# below: its sources, C includes and libraries, seed corpus, dictionary and input cap. Corpus:
# fuzz-out/TARGET/corpus (it grows between runs); crashes: fuzz-out/TARGET/crash-*.
#
# Needs a Swift toolchain with libFuzzer (the swift.org Linux toolchains have it), libzstd-dev,
# zlib1g-dev, libssl-dev and python3 (the generated seeds).
set -euo pipefail
cd "$(dirname "$0")/.."

# Every library imports RNNSupport (the C library, atomic files, ...): it is built first, as an
# instrumented static library and module in fuzz-out/support, and every target links it.
SUPPORT=fuzz-out/support
build_support() {
  mkdir -p "$SUPPORT"
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -package-name rnn \
    -emit-library -static -emit-module -module-name RNNSupport Sources/RNNSupport/*.swift -o "$SUPPORT/libRNNSupport.a"
}

# The checkpoint reader lives in RNNTraining, which imports RNNFormat, RNNDatasets, RNNCore, CBLAS and
# the C kernels: those are built first (static libraries, an object per C file and a module map), then
# RNNTraining's sources and the harness are compiled into one instrumented module.
build_checkpoint() {
  local out=fuzz-out/checkpoint/build
  mkdir -p "$out/kernels"
  local kernels=() source
  for source in Sources/RNNKernels/*.c; do
    kernels+=("$out/kernels/$(basename "$source" .c).o")
    clang -O2 -c "$source" -I Sources/RNNKernels/include -o "${kernels[-1]}"
  done
  printf 'module RNNKernels {\n  umbrella "%s"\n  export *\n}\n' "$PWD/Sources/RNNKernels/include" \
    > "$out/kernels/module.modulemap"
  local flags=(-sanitize=fuzzer,address -parse-as-library -O -g -package-name rnn -I "$SUPPORT" -I "$out" -I "$out/kernels"
               -I Sources/CZstd -I Sources/CZlib -I Sources/COpenSSL -I Sources/CBLAS
               -Xcc "$(pkg-config --cflags-only-I openblas | tr -d ' ')")
  swiftc "${flags[@]}" -emit-library -static -emit-module -module-name RNNFormat \
    Sources/RNNFormat/*.swift -o "$out/libRNNFormat.a"
  # -enable-testing: the harness builds small text data sets with RNNDatasets' memberwise initializers.
  swiftc "${flags[@]}" -enable-testing -emit-library -static -emit-module -module-name RNNDatasets \
    Sources/RNNDatasets/*.swift -o "$out/libRNNDatasets.a"
  swiftc "${flags[@]}" -emit-library -static -emit-module -module-name RNNCore \
    Sources/RNNCore/*.swift -o "$out/libRNNCore.a"
  swiftc "${flags[@]}" -module-name RNNTraining Sources/RNNTraining/*.swift fuzz/FuzzCheckpoint.swift \
    "$out/libRNNFormat.a" "$out/libRNNDatasets.a" "$out/libRNNCore.a" "$SUPPORT/libRNNSupport.a" "${kernels[@]}" \
    $(pkg-config --libs openblas) -lzstd -lz -lcrypto -lFoundationNetworking -o fuzz-out/checkpoint/fuzz-checkpoint
}

TARGET=reader
case "${1:-}" in
  [a-z]*) TARGET="$1"; shift ;;
esac
SECONDS_TO_RUN="${1:-600}"; shift || true
OUT="fuzz-out/$TARGET"
mkdir -p "$OUT/corpus"

case "$TARGET" in
  reader)
    SOURCES=(Sources/RNNFormat/*.swift fuzz/FuzzReader.swift)
    FLAGS=(-I Sources/CZstd -I Sources/CZlib -lzstd -lz)
    MAX_LEN=65536 DICT=fuzz/rnnm.dict
    cp -n fixtures/models/*.rnnm fixtures/corrupt/*.rnnm "$OUT/corpus/" 2>/dev/null || true ;;
  tar)
    SOURCES=(Sources/RNNDatasets/*.swift fuzz/FuzzTar.swift)
    FLAGS=(-I Sources/CZlib -I Sources/COpenSSL -lz -lcrypto)
    MAX_LEN=16384 DICT=fuzz/tar.dict
    python3 fuzz/seeds.py tar "$OUT/corpus" ;;
  idx)
    SOURCES=(Sources/RNNDatasets/*.swift fuzz/FuzzIDX.swift fuzz/FuzzSupport.swift)
    FLAGS=(-I Sources/CZlib -I Sources/COpenSSL -lz -lcrypto)
    MAX_LEN=8192 DICT=fuzz/idx.dict
    python3 fuzz/seeds.py idx "$OUT/corpus" ;;
  npy|ts|streamline)  # the feature-sequence readers: harness, seeds.py TARGET, fuzz/TARGET.dict
    declare -A HARNESS=([npy]=FuzzNPY [ts]=FuzzTS [streamline]=FuzzStreamLine)
    declare -A CAP=([npy]=4096 [ts]=8192 [streamline]=4096)
    SOURCES=(Sources/RNNDatasets/*.swift "fuzz/${HARNESS[$TARGET]}.swift" fuzz/FuzzSupport.swift)
    FLAGS=(-I Sources/CZlib -I Sources/COpenSSL -lz -lcrypto)
    MAX_LEN=${CAP[$TARGET]} DICT=fuzz/$TARGET.dict
    python3 fuzz/seeds.py "$TARGET" "$OUT/corpus" ;;
  tokenizer)
    SOURCES=(Sources/RNNFormat/*.swift fuzz/FuzzTokenizer.swift)
    FLAGS=(-I Sources/CZstd -I Sources/CZlib -lzstd -lz)
    MAX_LEN=4096 DICT=fuzz/tokenizer.dict
    python3 fuzz/seeds.py tokenizer "$OUT/corpus" ;;
  checkpoint)  # built by build_checkpoint (above): RNNTraining needs its dependencies as libraries
    build_support
    build_checkpoint
    MAX_LEN=16384 DICT=fuzz/checkpoint.dict
    # Seeds: tiny real training runs, written by the harness itself.
    FUZZ_CHECKPOINT_SEEDS="$OUT/corpus" "$OUT/fuzz-checkpoint" -runs=0 "$OUT/corpus" ;;
  *)
    echo "fuzz/run.sh: unknown target '$TARGET'; expected reader, tar, idx, tokenizer, checkpoint, npy, ts or streamline" >&2
    exit 2 ;;
esac

if [ "$TARGET" != checkpoint ]; then
  build_support
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -package-name rnn -module-name "Fuzz_$TARGET" \
    "${SOURCES[@]}" "${FLAGS[@]}" -I "$SUPPORT" "$SUPPORT/libRNNSupport.a" -o "$OUT/fuzz-$TARGET"
fi

# Without the Swift runtime's backtracer, a trap reaches libFuzzer as a plain deadly signal with
# a symbolized stack ("Swift runtime failure: ..."); with it, ASan reports its memory server instead.
export SWIFT_BACKTRACE=enable=no
exec "$OUT/fuzz-$TARGET" "$OUT/corpus" \
  -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 \
  -max_len="$MAX_LEN" -artifact_prefix="$OUT/" -dict="$DICT" "$@"
