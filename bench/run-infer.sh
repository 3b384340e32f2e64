#!/usr/bin/env bash
# Inference benchmark: our runtime next to the peer set of every table (PyTorch, ONNX Runtime,
# TensorFlow, and TensorFlow Lite with the XNNPack delegate: f32, int8 with dynamic-range quantization,
# and int8 with full-integer quantization calibrated on 300 training images), on the same weights and
# the 10,000 MNIST test images, with 1 and 2 threads, in one run on one machine. Every row also gets
# its accuracy on the test images (labels next to the images; ours from `rnn-infer classify --labels`).
#
#   bench/run-infer.sh [MODEL]     (default models/mnist-lstm.rnnm, made by `make run`)
#   bench/run-infer.sh models/mnist-cnn.rnnm
#                                  an image model (format 1.4: conv2d / maxpool2d / flatten / dense, e.g.
#                                  the LeNet of `rnn-train --arch cnn`, also made by `make run`): the same
#                                  peers rebuild the CNN on its weights (bench/peers_infer.py: NCHW in
#                                  PyTorch and ONNX Runtime, NHWC in TensorFlow and TFLite); our side's
#                                  kernel variants are the convolution's (fused AVX-512 / AVX2, portable)
#   bench/run-infer.sh models/mnist-lstm-int8.rnnm
#                                  a model whose weights are stored int8 (`rnn-infer convert MODEL OUT
#                                  --weights int8`): our rows are then "rnn-runtime int8" (the int8
#                                  kernels, `--evaluation automatic`) and "rnn-runtime int8-as-f32" (the
#                                  weights dequantized to f32, `--evaluation float`, with the kernel
#                                  variants below), written as table infer-int8 (infer-cnn-int8 for an
#                                  image model) so that the f32 table's numbers stay. An rnn-infer without
#                                  --evaluation runs int8 files dequantized only: int8-as-f32 rows alone.
#                                  The peers rebuild the network on the dequantized weights.
#   QUICK=1 bench/run-infer.sh [MODEL]
#                                  a smoke test of the whole chain: batch 1 and 128 only, a fraction
#                                  of a second per peer; numbers meaningless, bench/results/ untouched
#   SKIP_BUILD=1 bench/run-infer.sh [MODEL]
#                                  no `swift build`: times the .build/release/rnn-infer that exists
#   PEERS_ONLY="tflite tflite-int8-full" bench/run-infer.sh [MODEL]
#                                  our rows and only these peers (any of bench/peers_infer.py --peer, e.g.
#                                  tflite-int16x8 too); the table is printed, bench/results/ untouched
#
# Writes bench/out/infer.jsonl (every raw result), bench/results/infer.json (the table's numbers,
# committed; bench/results.py) and prints a Markdown table of images/s (medians) with the ratio
# of our runtime to the fastest peer in each column. For an image model (input kind "image") the
# names are infer-cnn instead: bench/out/infer-cnn.jsonl, bench/out/infer-cnn.md, bench/out/cnn-PEER-T.err
# and bench/results/infer-cnn.json, so that a CNN run never overwrites the LSTM table's numbers. A model
# with int8 weights appends -int8 to the name (infer-int8, infer-cnn-int8; bench/out/int8-PEER-T.err).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/mnist-lstm.rnnm}
DATA=${DATA_DIR:-$( [ -d ../shared/datasets/mnist ] && echo ../shared/datasets/mnist || echo data/mnist )}
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
LABELS=$DATA/t10k-labels-idx1-ubyte.gz
[ -f "$MODEL" ] || { echo "run-infer.sh: no model at $MODEL; train one with 'make run'" >&2; exit 1; }
[ -f "$IMAGES" ] || { echo "run-infer.sh: no MNIST test images at $IMAGES" >&2; exit 1; }

if [ "${QUICK:-0}" = 1 ]; then
  OURS=(--batch-sizes 128 --repeats 1 --single-images 200); PEERS=(--batches 1,128 --budget 0.2); RESULTS=()
else
  OURS=(--batch-sizes 1 128 0 --repeats 7); PEERS=(--batches 1,128,10000); RESULTS=(--results "bench/run-infer.sh${1:+ $1}")
fi
PEER_SET=(torch onnxruntime tensorflow tflite tflite-int8 tflite-int8-full)
if [ -n "${PEERS_ONLY:-}" ]; then read -r -a PEER_SET <<< "$PEERS_ONLY"; RESULTS=(); fi

# SKIP_BUILD=1 runs .build/release/rnn-infer as it is (e.g. while others edit the sources).
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x .build/release/rnn-infer ]; then
  echo "run-infer.sh: SKIP_BUILD=1: using .build/release/rnn-infer as built" >&2
else
  swift build -c release --product rnn-infer >&2
fi
bench/venv.sh
# The table (and its files) by the model's kind: "infer" for a sequence model, "infer-cnn" for an image
# model, each with "-int8" when the file stores int8 tensors (rnnm.py: a tensor of dtype int8).
read -r KIND INT8 < <(bench/.venv/bin/python -c 'import sys; sys.path.insert(0, "spec/reference"); import rnnm
m = rnnm.load(sys.argv[1]); print(m.input["kind"], int(any(t.dtype == "int8" for t in m.tensors.values())))' "$MODEL")
if [ "$KIND" = image ]; then TABLE=infer-cnn; ERR=bench/out/cnn-; else TABLE=infer; ERR=bench/out/; fi
if [ "$INT8" = 1 ]; then TABLE=$TABLE-int8; ERR=${ERR}int8-; fi
# --evaluation automatic|float (int8 files: the int8 kernels, or dequantized to f32) is newer than
# some builds of rnn-infer; without it an int8 file runs dequantized, so only the int8-as-f32 rows exist.
has_option() { local help; help=$(.build/release/rnn-infer "$1" --help 2>/dev/null) || true; grep -q -- "--$2" <<< "$help"; }
EVALUATION=0; has_option bench evaluation && EVALUATION=1
CLASSIFY_EVALUATION=0; has_option classify evaluation && CLASSIFY_EVALUATION=1
if [ "$INT8" = 1 ] && [ "$EVALUATION" = 0 ]; then
  echo "run-infer.sh: this rnn-infer has no --evaluation option: the int8 file runs dequantized to f32 only" \
       "(rows 'rnn-runtime int8-as-f32'; no 'rnn-runtime int8' row)" >&2
fi
mkdir -p bench/out
OUT=bench/out/$TABLE.jsonl
: > "$OUT"
for threads in 1 2; do
  # Ours with the kernel it picks by itself (the fused kernel for this CPU), then each other
  # kernel this CPU can run: the AVX2 variant (what a CPU without AVX-512 gets) and the portable
  # path (OpenBLAS GEMMs + Swift gates, as the environment's OPENBLAS_CORETYPE runs them). For a CNN
  # --kernel picks the convolution's variant the same way (rnnk_conv2d: AVX-512, AVX2, or the portable
  # C loop); its dense layers are OpenBLAS GEMMs in every variant.
  # Each variant is "row name|--kernel|--evaluation" (no --evaluation when empty). An int8 file runs the
  # int8 kernels (automatic) and, as "int8-as-f32", dequantized to f32 with each kernel variant.
  if [ "$INT8" = 0 ]; then
    name=rnn-runtime; evaluation=
  elif [ "$EVALUATION" = 1 ]; then
    name="rnn-runtime int8-as-f32"; evaluation=float
  else
    name="rnn-runtime int8-as-f32"; evaluation=
  fi
  variants=()
  [ "$INT8" = 1 ] && [ "$EVALUATION" = 1 ] && variants+=("rnn-runtime int8|automatic|automatic")
  variants+=("$name|automatic|$evaluation")
  grep -q avx512f /proc/cpuinfo && variants+=("$name fused-avx2|avx2|$evaluation")
  variants+=("$name portable|portable|$evaluation")
  for v in "${variants[@]}"; do
    IFS='|' read -r row kernel evaluation <<< "$v"
    options=(--threads "$threads" --kernel "$kernel")
    [ -n "$evaluation" ] && options+=(--evaluation "$evaluation")
    echo "$row, $threads thread(s)" >&2
    # The accuracy on the test images, once per row (1 thread): classify's "accuracy: 94.14% (9414 of 10000 correct)".
    accuracy=
    if [ "$threads" = 1 ] && [ -f "$LABELS" ] && { [ -z "$evaluation" ] || [ "$CLASSIFY_EVALUATION" = 1 ]; }; then
      accuracy=$(.build/release/rnn-infer classify --model "$MODEL" "$IMAGES" --labels "$LABELS" "${options[@]}" \
                   --format ndjson 2>&1 >/dev/null | sed -n 's/^accuracy: .*(\([0-9]*\) of \([0-9]*\) correct).*/\1 \2/p') || accuracy=
    fi
    if ! .build/release/rnn-infer bench --model "$MODEL" "$IMAGES" "${options[@]}" "${OURS[@]}" --json 2> "${ERR}ours.err" \
      | python3 -c "import json,sys; r=json.load(sys.stdin); r['peer']=sys.argv[1]
if sys.argv[2]: correct, n = map(int, sys.argv[2].split()[:2]); r.update(accuracy=correct / n, accuracy_images=n)
if sys.argv[3]: r['evaluation']=sys.argv[3]
print(json.dumps(r))" "$row" "$accuracy" "$evaluation" >> "$OUT"; then
      echo "  $row failed: $(tail -n 1 "${ERR}ours.err"); skipped" >&2
    fi
  done
  for peer in "${PEER_SET[@]}"; do
    echo "$peer, $threads thread(s)" >&2
    if ! bench/.venv/bin/python bench/peers_infer.py --peer "$peer" --model "$MODEL" --images "$IMAGES" \
         --threads "$threads" "${PEERS[@]}" >> "$OUT" 2> "$ERR$peer-$threads.err"; then
      echo "  $peer unavailable or failed (see $ERR$peer-$threads.err); skipped" >&2
    fi
  done
done
# The yardstick for "per-step products at >= 60 % of the machine's SGEMM rate".
python3 bench/sgemm_rate.py > bench/out/sgemm.json || echo '{}' > bench/out/sgemm.json
python3 bench/summarize_infer.py "$OUT" bench/out/sgemm.json --table "$TABLE" "${RESULTS[@]}" | tee "bench/out/$TABLE.md"
