#!/usr/bin/env bash
# examples/run.sh -- builds librnnruntime and the C and Python examples, and checks the C API.
#
#   bash examples/run.sh            # from anywhere; exit status 0 when every check passed
#
# Checks, in order (each prints one "==" line; any failure stops the script with status 1):
#   1. the header compiles as C99 -pedantic and as C++, and the library exports exactly the
#      functions the header declares;
#   2. bad input through every function (test_errors.c) and, through ctypes, the whole corrupt-file
#      corpus and every fixture model (test_c_api.py);
#   3. classify_idx (C) and classify_idx.py (ctypes) predict exactly what `rnn-infer --format csv`
#      predicts, image by image, on the MNIST test set, and report the accuracy; classify_idx.c,
#      the unchanged 1.0 example, also compiled against the 1.0 header (from git) and run against
#      this 1.1 library: 1.0 programs keep working;
#   4. streams (C API 1.1): stream_features.c on feature models written here by
#      make_feature_model.py (GRU, per-step LSTM, values) and on the streamable feature fixtures:
#      step-by-step outputs equal rnn_classify_features of every prefix, a saved state replays exactly;
#   5. threads: 8 pthreads sharing one model reproduce the single-thread logits bitwise, also when
#      the handle is freed while they run; own streams and one shared stream, and a stream freed
#      while stepped (test_threads.c); again under ThreadSanitizer;
#   6. shipping: a -static-stdlib build with only rnn_* exported, copied with the header into an
#      empty directory, runs from another working directory with no Swift toolchain libraries.
#
# Environment (all optional):
#   SCRATCH     SwiftPM scratch path (default .build); the ship build uses "$SCRATCH-ship"
#   RNN_MODEL   the 28x28 MNIST model to use; default: fixtures/golden/course-h128.rnnm when present,
#               else one trained here with `rnn-train --steps 200` (about 10 s) into a temp dir
#   MNIST_DIR   the MNIST .gz files (default ../shared/datasets/mnist); without them step 3 uses a
#               fixture model and random images instead
#   CC          the C compiler (default gcc); TSAN=0 skips ThreadSanitizer, SHIP=0 skips step 6;
#   TSAN=full   also builds the Swift library itself with -sanitize=thread (slow) and runs under it
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH:-.build}
CC=${CC:-gcc}
MNIST_DIR=${MNIST_DIR:-$ROOT/../shared/datasets/mnist}
INCLUDE=$ROOT/Sources/CRNNRuntime/include
EXAMPLES=$ROOT/examples
CFLAGS=(-std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -O2)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rnn-capi.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

step() { printf '== %s\n' "$*"; }
fail() { printf 'examples/run.sh: FAILED: %s\n' "$*" >&2; exit 1; }

# Compares the `class` column of two CSV files (header row first; RFC 4180, CRLF or LF).
same_predictions() {
    python3 - "$1" "$2" <<'EOF'
import csv, sys
def classes(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [int(r["class"]) for r in rows]
a, b = classes(sys.argv[1]), classes(sys.argv[2])
diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
if len(a) != len(b) or diff:
    print(f"  {sys.argv[1]} vs {sys.argv[2]}: {len(a)} vs {len(b)} rows, first differences at {diff[:10]}")
    sys.exit(1)
print(f"  {len(a)} predictions identical")
EOF
}

step "building librnnruntime and rnn-infer (release, scratch path $SCRATCH)"
$SWIFT build -c release --scratch-path "$SCRATCH" --product rnnruntime
$SWIFT build -c release --scratch-path "$SCRATCH" --product rnn-infer
BIN=$(cd "$ROOT" && $SWIFT build -c release --scratch-path "$SCRATCH" --show-bin-path)
LIB=$BIN/librnnruntime.so
[ -f "$LIB" ] || fail "no $LIB"

step "1. header: C99 -pedantic, C++, and the exported symbols"
$CC "${CFLAGS[@]}" -I "$INCLUDE" "$EXAMPLES/c/header_check.c" -L "$BIN" -lrnnruntime -Wl,-rpath,"$BIN" -o "$TMP/header_check"
"$TMP/header_check" || fail "header_check: loading a missing file did not fail"
if command -v g++ >/dev/null; then
    g++ -std=c++11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ -I "$INCLUDE" "$EXAMPLES/c/header_check.c"
fi
declared=$(python3 -c 'import re, sys
text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", open(sys.argv[1]).read(), flags=re.S)  # without comments
print("\n".join(sorted(set(re.findall(r"\b(rnn_\w+)\s*\(", text)))))' "$INCLUDE/rnn_runtime.h")
exported=$(nm -D --defined-only "$LIB" | awk '$2 == "T" && $3 ~ /^rnn_/ {print $3}' | sort)
[ "$declared" = "$exported" ] || fail "header and library disagree: $(diff <(echo "$declared") <(echo "$exported") | tr '\n' ' ')"
echo "  $(echo "$declared" | wc -l) functions declared and exported"

step "2. bad input: test_errors.c and test_c_api.py"
$CC "${CFLAGS[@]}" -I "$INCLUDE" "$EXAMPLES/c/test_errors.c" -L "$BIN" -lrnnruntime -lm -lpthread -Wl,-rpath,"$BIN" \
    -o "$TMP/test_errors"
"$TMP/test_errors" fixtures/models/small-h16.rnnm fixtures/corrupt/flipped-crc.rnnm fixtures/models/text-tiny.rnnm
# The 66 KB file declaring 2 GiB of zstd zeros, under a 600 MB address-space limit: RNN_ERROR_MALFORMED
# (17) from both load functions, not an abort of the host (issue #13).
bash -c 'ulimit -v 600000; exec "$0" --load fixtures/corrupt/tensor-data-zstd-bomb.rnnm 17' "$TMP/test_errors" \
    || fail "test_errors --load of the zstd bomb under ulimit -v"
python3 "$EXAMPLES/python/test_c_api.py" --library "$LIB" fixtures

step "3. classify an IDX file: C and Python against rnn-infer"
C_SOURCES=("$EXAMPLES/c/classify_idx.c" "$EXAMPLES/c/idx.c")
$CC "${CFLAGS[@]}" -I "$INCLUDE" "${C_SOURCES[@]}" -L "$BIN" -lrnnruntime -lz -Wl,-rpath,"$BIN" -o "$TMP/classify_idx"
if [ -f "$MNIST_DIR/t10k-images-idx3-ubyte.gz" ] && [ -f "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" ]; then
    # Decompressed into the temp dir, never into the repository (the C example also reads .gz).
    gunzip -c "$MNIST_DIR/t10k-images-idx3-ubyte.gz" > "$TMP/images.idx"
    gunzip -c "$MNIST_DIR/t10k-labels-idx1-ubyte.gz" > "$TMP/labels.idx"
    MODEL=${RNN_MODEL:-}
    # The golden MNIST model (the TF1-course preset, 28x28, 94.14 % on the test set) when present.
    if [ -z "$MODEL" ] && [ -f fixtures/golden/course-h128.rnnm ]; then MODEL=fixtures/golden/course-h128.rnnm; fi
    if [ -z "$MODEL" ]; then
        echo "  no RNN_MODEL and no fixtures/golden model: training one with rnn-train --steps 200"
        $SWIFT build -c release --scratch-path "$SCRATCH" --product rnn-train
        "$BIN/rnn-train" --data "$MNIST_DIR" --steps 200 --output "$TMP/mnist.rnnm" --no-download > "$TMP/train.log" 2>&1 \
            || { cat "$TMP/train.log"; fail "rnn-train"; }
        MODEL=$TMP/mnist.rnnm
    fi
    LABELS=$TMP/labels.idx
else
    echo "  no MNIST test set in $MNIST_DIR: using fixtures/models/small-h16.rnnm and random 8x8 images"
    python3 -c "import os,struct,sys; n=500; sys.stdout.buffer.write(bytes([0,0,8,3])+struct.pack('>III',n,8,8)+os.urandom(n*64))" \
        > "$TMP/images.idx"
    MODEL=fixtures/models/small-h16.rnnm
    LABELS=
fi
echo "  model: $MODEL"
"$BIN/rnn-infer" "$TMP/images.idx" --model "$MODEL" --format csv > "$TMP/rnn-infer.csv"
"$TMP/classify_idx" --csv "$MODEL" "$TMP/images.idx" $LABELS > "$TMP/c.csv"
same_predictions "$TMP/rnn-infer.csv" "$TMP/c.csv" || fail "C predictions differ from rnn-infer's"
python3 "$EXAMPLES/python/classify_idx.py" --library "$LIB" --csv "$MODEL" "$TMP/images.idx" $LABELS > "$TMP/python.csv"
same_predictions "$TMP/rnn-infer.csv" "$TMP/python.csv" || fail "Python predictions differ from rnn-infer's"
if [ -n "$LABELS" ]; then
    # The C example also reads the gzip file directly (zlib).
    "$TMP/classify_idx" "$MODEL" "$MNIST_DIR/t10k-images-idx3-ubyte.gz" "$MNIST_DIR/t10k-labels-idx1-ubyte.gz"
fi
# The 1.0 header (its last version, commit f5bba0e) with the unchanged 1.0 example, run against this
# library: what a program built for 1.0 sees (a 1.1 library is a drop-in replacement).
HEADER_1_0=f5bba0e:Sources/CRNNRuntime/include/rnn_runtime.h
if git -C "$ROOT" cat-file -e "$HEADER_1_0" 2>/dev/null; then
    mkdir -p "$TMP/include-1.0"
    git -C "$ROOT" show "$HEADER_1_0" > "$TMP/include-1.0/rnn_runtime.h"
    grep -q 'RNN_RUNTIME_VERSION_STRING "1.0.0"' "$TMP/include-1.0/rnn_runtime.h" || fail "$HEADER_1_0 is not the 1.0 header"
    $CC "${CFLAGS[@]}" -I "$TMP/include-1.0" "${C_SOURCES[@]}" -L "$BIN" -lrnnruntime -lz -Wl,-rpath,"$BIN" \
        -o "$TMP/classify_idx-1.0"
    "$TMP/classify_idx-1.0" --csv "$MODEL" "$TMP/images.idx" $LABELS > "$TMP/c-1.0.csv"
    echo "  classify_idx.c built with the 1.0 header ($HEADER_1_0), against this library:"
    same_predictions "$TMP/rnn-infer.csv" "$TMP/c-1.0.csv" || fail "classify_idx built with the 1.0 header differs from rnn-infer"
else
    echo "  (no git history here: the 1.0-header build of classify_idx.c was skipped)"
fi

step "4. streams: stream_features.c on feature models"
$CC "${CFLAGS[@]}" -I "$INCLUDE" "$EXAMPLES/c/stream_features.c" -L "$BIN" -lrnnruntime -lm -Wl,-rpath,"$BIN" \
    -o "$TMP/stream_features"
# Written by the spec's independent minimal writer (needs numpy and zstandard: make deps).
python3 "$EXAMPLES/python/make_feature_model.py" "$TMP/stream-gru.rnnm"
python3 "$EXAMPLES/python/make_feature_model.py" "$TMP/stream-lstm-per-step.rnnm" --cell lstm --per-step --seed 2
python3 "$EXAMPLES/python/make_feature_model.py" "$TMP/stream-values.rnnm" --values --outputs 2 --seed 3
"$TMP/stream_features" "$TMP/stream-gru.rnnm" || fail "stream_features on a GRU model"
STREAM_MODELS=("$TMP/stream-lstm-per-step.rnnm" "$TMP/stream-values.rnnm")
# The streamable feature models of the format 1.2 fixture corpus, when this tree has them.
for f in features-std gru-before per-step values; do
    [ -f "fixtures/models/$f.rnnm" ] && STREAM_MODELS+=("fixtures/models/$f.rnnm")
done
for f in "${STREAM_MODELS[@]}"; do
    "$TMP/stream_features" --quiet "$f" || fail "stream_features on $f"
done

step "5. threads: one shared model, 8 pthreads; shared and own streams"
$CC "${CFLAGS[@]}" -I "$INCLUDE" "$EXAMPLES/c/test_threads.c" "$EXAMPLES/c/idx.c" -L "$BIN" -lrnnruntime -lz -lpthread -lm \
    -Wl,-rpath,"$BIN" -o "$TMP/test_threads"
"$TMP/test_threads" "$MODEL" "$TMP/images.idx" 8
if [ "${TSAN:-1}" != 0 ] && command -v clang >/dev/null; then
    # Swift's clang carries a TSan runtime with libdispatch interceptors: link dispatch and blocks.
    SWIFT_LIBS=$(dirname "$(dirname "$(command -v "$SWIFT")")")/lib/swift/linux
    TSAN_LIBS=(-L "$SWIFT_LIBS" -ldispatch -lBlocksRuntime -Wl,-rpath,"$SWIFT_LIBS")
    tsan_run() {  # $1: directory of the librnnruntime.so to test
        clang -std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -fsanitize=thread -I "$INCLUDE" "$EXAMPLES/c/test_threads.c" \
            "$EXAMPLES/c/idx.c" -L "$1" -lrnnruntime "${TSAN_LIBS[@]}" -lz -lpthread -lm -Wl,-rpath,"$1" -o "$TMP/test_threads_tsan"
        TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$TMP/test_threads_tsan" "$MODEL" "$TMP/images.idx" 8
    }
    echo "  ThreadSanitizer, C side (the library is not instrumented; its locks are intercepted):"
    tsan_run "$BIN"
    if [ "${TSAN:-1}" = full ]; then
        echo "  ThreadSanitizer, C side and the Swift library built with -sanitize=thread:"
        $SWIFT build --scratch-path "$SCRATCH-tsan" --sanitize=thread -Xcc -O2 --product rnnruntime
        tsan_run "$($SWIFT build --scratch-path "$SCRATCH-tsan" --sanitize=thread -Xcc -O2 --show-bin-path)"
    fi
fi

if [ "${SHIP:-1}" != 0 ]; then
    step "6. shipping: -static-stdlib, rnn_* exported only, run from an empty directory"
    SHIP_FLAGS=(-c release --scratch-path "$SCRATCH-ship" -Xswiftc -static-stdlib
                -Xlinker --version-script="$EXAMPLES/c/exports.map")
    $SWIFT build "${SHIP_FLAGS[@]}" --product rnnruntime
    SHIP_BIN=$($SWIFT build "${SHIP_FLAGS[@]}" --show-bin-path)
    DIST=$TMP/dist
    mkdir -p "$DIST/include"
    # The documented files: the library, the header; and the example sources to build against them.
    cp "$SHIP_BIN/librnnruntime.so" "$DIST/"
    cp "$INCLUDE/rnn_runtime.h" "$DIST/include/"
    cp "${C_SOURCES[@]}" "$EXAMPLES/c/idx.h" "$EXAMPLES/c/stream_features.c" "$EXAMPLES/python/rnn_runtime.py" \
       "$EXAMPLES/python/classify_idx.py" "$TMP/"
    if ldd "$DIST/librnnruntime.so" | grep -E 'swift|dispatch|BlocksRuntime|not found'; then
        fail "the shipped library still needs the libraries above"
    fi
    extra=$(nm -D --defined-only "$DIST/librnnruntime.so" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^rnn_/' | wc -l)
    [ "$extra" = 0 ] || fail "the shipped library exports $extra global symbols besides rnn_*"
    (cd "$TMP" && $CC "${CFLAGS[@]}" -I dist/include classify_idx.c idx.c -L dist -lrnnruntime -lz \
        -Wl,-rpath,'$ORIGIN' -o dist/classify_idx \
        && $CC "${CFLAGS[@]}" -I dist/include stream_features.c -L dist -lrnnruntime -lm -Wl,-rpath,'$ORIGIN' \
        -o dist/stream_features)
    cp "$TMP/rnn_runtime.py" "$TMP/classify_idx.py" "$DIST/"
    cp "$MODEL" "$TMP/model.rnnm"
    echo "  $DIST: $(cd "$DIST" && ls | tr '\n' ' ')($(du -sh "$DIST/librnnruntime.so" | cut -f1) library)"
    (cd / && env -u LD_LIBRARY_PATH "$DIST/classify_idx" --csv "$TMP/model.rnnm" "$TMP/images.idx" $LABELS) > "$TMP/ship-c.csv"
    same_predictions "$TMP/rnn-infer.csv" "$TMP/ship-c.csv" || fail "the shipped C example differs from rnn-infer"
    (cd / && env -u LD_LIBRARY_PATH -u RNN_RUNTIME_LIBRARY python3 "$DIST/classify_idx.py" --csv "$TMP/model.rnnm" \
        "$TMP/images.idx" $LABELS) > "$TMP/ship-python.csv"
    same_predictions "$TMP/rnn-infer.csv" "$TMP/ship-python.csv" || fail "the shipped Python example differs from rnn-infer"
    (cd / && env -u LD_LIBRARY_PATH "$DIST/stream_features" --quiet "$TMP/stream-gru.rnnm") || fail "the shipped stream_features"
fi

step "examples/run.sh: all checks passed"
