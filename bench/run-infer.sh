#!/usr/bin/env bash
# Inference benchmark: our runtime next to the peer set of every table (PyTorch, ONNX Runtime,
# TensorFlow, TensorFlow Lite f32 and TensorFlow Lite int8 with dynamic-range quantization and the
# XNNPack delegate), on the same weights and the 10,000 MNIST test images, with 1 and 2 threads,
# in one run on one machine.
#
#   bench/run-infer.sh [MODEL]     (default models/mnist-lstm.rnnm, made by `make run`)
#   bench/run-infer.sh models/mnist-cnn.rnnm
#                                  an image model (format 1.4: conv2d / maxpool2d / flatten / dense, e.g.
#                                  the LeNet of `rnn-train --arch cnn`, also made by `make run`): the same
#                                  peers rebuild the CNN on its weights (bench/peers_infer.py: NCHW in
#                                  PyTorch and ONNX Runtime, NHWC in TensorFlow and TFLite); our side's
#                                  kernel variants are the convolution's (fused AVX-512 / AVX2, portable)
#   QUICK=1 bench/run-infer.sh [MODEL]
#                                  a smoke test of the whole chain: batch 1 and 128 only, a fraction
#                                  of a second per peer; numbers meaningless, bench/results/ untouched
#
# Writes bench/out/infer.jsonl (every raw result), bench/results/infer.json (the table's numbers,
# committed; bench/results.py) and prints a Markdown table of images/s (medians) with the ratio
# of our runtime to the fastest peer in each column. For an image model (input kind "image") the
# names are infer-cnn instead: bench/out/infer-cnn.jsonl, bench/out/infer-cnn.md, bench/out/cnn-PEER-T.err
# and bench/results/infer-cnn.json, so that a CNN run never overwrites the LSTM table's numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/mnist-lstm.rnnm}
DATA=${DATA_DIR:-$( [ -d ../shared/datasets/mnist ] && echo ../shared/datasets/mnist || echo data/mnist )}
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
[ -f "$MODEL" ] || { echo "run-infer.sh: no model at $MODEL; train one with 'make run'" >&2; exit 1; }
[ -f "$IMAGES" ] || { echo "run-infer.sh: no MNIST test images at $IMAGES" >&2; exit 1; }

if [ "${QUICK:-0}" = 1 ]; then
  OURS=(--batch-sizes 128 --repeats 1 --single-images 200); PEERS=(--batches 1,128 --budget 0.2); RESULTS=()
else
  OURS=(--batch-sizes 1 128 0 --repeats 7); PEERS=(--batches 1,128,10000); RESULTS=(--results "bench/run-infer.sh${1:+ $1}")
fi

swift build -c release --product rnn-infer >&2
bench/venv.sh
# The table (and its files) by the model's kind: "infer" for a sequence model, "infer-cnn" for an image model.
KIND=$(bench/.venv/bin/python -c 'import sys; sys.path.insert(0, "spec/reference"); import rnnm
print(rnnm.load(sys.argv[1]).input["kind"])' "$MODEL")
if [ "$KIND" = image ]; then TABLE=infer-cnn; ERR=bench/out/cnn-; else TABLE=infer; ERR=bench/out/; fi
mkdir -p bench/out
OUT=bench/out/$TABLE.jsonl
: > "$OUT"
for threads in 1 2; do
  # Ours with the kernel it picks by itself (the fused kernel for this CPU), then each other
  # kernel this CPU can run: the AVX2 variant (what a CPU without AVX-512 gets) and the portable
  # path (OpenBLAS GEMMs + Swift gates, as the environment's OPENBLAS_CORETYPE runs them). For a CNN
  # --kernel picks the convolution's variant the same way (rnnk_conv2d: AVX-512, AVX2, or the portable
  # C loop); its dense layers are OpenBLAS GEMMs in every variant.
  variants=("rnn-runtime|automatic")
  grep -q avx512f /proc/cpuinfo && variants+=("rnn-runtime fused-avx2|avx2")
  variants+=("rnn-runtime portable|portable")
  for v in "${variants[@]}"; do
    echo "${v%%|*}, $threads thread(s)" >&2
    .build/release/rnn-infer bench --model "$MODEL" "$IMAGES" --threads "$threads" --kernel "${v#*|}" \
        "${OURS[@]}" --json 2>/dev/null \
      | python3 -c "import json,sys; r=json.load(sys.stdin); r['peer']=sys.argv[1]; print(json.dumps(r))" "${v%%|*}" >> "$OUT"
  done
  for peer in torch onnxruntime tensorflow tflite tflite-int8; do
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
