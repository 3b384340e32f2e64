#!/usr/bin/env bash
# Builds the libFuzzer harness for the .rnnm reader and runs it.
#
#   fuzz/run.sh [SECONDS] [extra libFuzzer flags...]     (default 600 seconds)
#
# Needs a Swift toolchain with libFuzzer (the swift.org Linux toolchains have it), libzstd-dev
# and zlib1g-dev. Corpus: fuzz-out/corpus (seeded from fixtures/); crashes: fuzz-out/crash-*.
#
#   fuzz/run.sh checkpoint [SECONDS] [flags...]          the rnn-train checkpoint reader
#                                                        (fuzz-out/checkpoint/; seeds made by code)
set -euo pipefail
cd "$(dirname "$0")/.."

# The checkpoint reader lives in RNNTraining, which imports RNNFormat, RNNDatasets, CBLAS and the C
# kernels: those are built first (static libraries, an object and a module map), then RNNTraining's
# sources and the harness are compiled into one instrumented module.
build_checkpoint() {
  local out=fuzz-out/checkpoint/build
  mkdir -p "$out/kernels"
  clang -O2 -c Sources/RNNKernels/lstm_step.c -I Sources/RNNKernels/include -o "$out/kernels.o"
  printf 'module RNNKernels {\n  umbrella "%s"\n  export *\n}\n' "$PWD/Sources/RNNKernels/include" \
    > "$out/kernels/module.modulemap"
  local flags=(-sanitize=fuzzer,address -parse-as-library -O -g -I "$out" -I "$out/kernels"
               -I Sources/CZstd -I Sources/CZlib -I Sources/COpenSSL -I Sources/CBLAS
               -Xcc "$(pkg-config --cflags-only-I openblas | tr -d ' ')")
  swiftc "${flags[@]}" -emit-library -static -emit-module -module-name RNNFormat \
    Sources/RNNFormat/*.swift Sources/RNNFormat/Fixtures/*.swift -o "$out/libRNNFormat.a"
  swiftc "${flags[@]}" -emit-library -static -emit-module -module-name RNNDatasets \
    Sources/RNNDatasets/*.swift -o "$out/libRNNDatasets.a"
  swiftc "${flags[@]}" -module-name RNNTraining Sources/RNNTraining/*.swift fuzz/FuzzCheckpoint.swift \
    "$out/libRNNFormat.a" "$out/libRNNDatasets.a" "$out/kernels.o" \
    $(pkg-config --libs openblas) -lzstd -lz -lcrypto -lFoundationNetworking -o fuzz-out/checkpoint/fuzz-checkpoint
}

if [ "${1:-}" = checkpoint ]; then
  shift
  SECONDS_TO_RUN="${1:-600}"; shift || true
  mkdir -p fuzz-out/checkpoint/corpus
  build_checkpoint
  FUZZ_CHECKPOINT_SEEDS=fuzz-out/checkpoint/corpus fuzz-out/checkpoint/fuzz-checkpoint -runs=0 fuzz-out/checkpoint/corpus
  exec fuzz-out/checkpoint/fuzz-checkpoint fuzz-out/checkpoint/corpus \
    -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 \
    -max_len=16384 -artifact_prefix=fuzz-out/checkpoint/ -dict=fuzz/checkpoint.dict "$@"
fi

SECONDS_TO_RUN="${1:-600}"; shift || true
OUT=fuzz-out
mkdir -p "$OUT/corpus"
cp -n fixtures/models/*.rnnm fixtures/corrupt/*.rnnm "$OUT/corpus/" 2>/dev/null || true

swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
  -module-name RNNFormatFuzz \
  -I Sources/CZstd -I Sources/CZlib \
  Sources/RNNFormat/*.swift Sources/RNNFormat/Fixtures/*.swift fuzz/FuzzReader.swift \
  -lzstd -lz -o "$OUT/fuzz-reader"

exec "$OUT/fuzz-reader" "$OUT/corpus" \
  -max_total_time="$SECONDS_TO_RUN" -print_final_stats=1 \
  -max_len=65536 -artifact_prefix="$OUT/" -dict=fuzz/rnnm.dict "$@"
