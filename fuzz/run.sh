#!/usr/bin/env bash
# Builds the libFuzzer harness for the .rnnm reader and runs it.
#
#   fuzz/run.sh [SECONDS] [extra libFuzzer flags...]     (default 600 seconds)
#
# Needs a Swift toolchain with libFuzzer (the swift.org Linux toolchains have it), libzstd-dev
# and zlib1g-dev. Corpus: fuzz-out/corpus (seeded from fixtures/); crashes: fuzz-out/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
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
