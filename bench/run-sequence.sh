#!/usr/bin/env bash
# The format-1.2 benchmarks (issue #15): a GRU, a bidirectional GRU and an LSTM image-row classifier
# (28 rows of 28 pixels of the 10,000 MNIST test images -> 128 units -> dense 10), with the same weights
# in our runtime, PyTorch, ONNX Runtime and TensorFlow, at 1 and 2 threads, in one run on one machine;
# then one streaming step of the LSTM at batch 1 (one stream) in our runtime, ONNX Runtime (an exported
# one-step graph, the state fed back by Python) and PyTorch (nn.LSTMCell), in interleaved rounds.
#
#   bench/run-sequence.sh          the full run (a few minutes)
#   QUICK=1 bench/run-sequence.sh  a smoke test of the whole chain: batch 1 and 128 only, short runs;
#                                  numbers meaningless, bench/results/ untouched
#
# The networks come from seeded PyTorch modules (bench/peers_sequence.py prepare: recurrent weights
# untrained, output layer least-squares fitted) written to bench/out/sequence/NET.rnnm, .onnx, .npz.
# Writes bench/out/sequence.jsonl (every raw result), bench/results/sequence.json (the tables'
# numbers, committed; bench/results.py) and prints Markdown tables with the ratio of our runtime to
# the fastest peer in each column.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA_DIR:-$( [ -d ../shared/datasets/mnist ] && echo ../shared/datasets/mnist || echo data/mnist )}
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
[ -f "$IMAGES" ] || { echo "run-sequence.sh: no MNIST test images at $IMAGES" >&2; exit 1; }
PY=bench/.venv/bin/python
DIR=bench/out/sequence
NETS=(gru bigru lstm)

if [ "${QUICK:-0}" = 1 ]; then   # the first 1,000 images only
  OURS=(--batch-sizes 128 --repeats 1 --single-images 200); PEERS=(--batches 1,128 --budget 0.2 --single-images 200)
  STEPS=2000; ROUNDS=1; RESULTS=(); INPUT=$DIR/first1000-idx3-ubyte
else
  OURS=(--batch-sizes 1 128 0 --repeats 5); PEERS=(--batches 1,128,10000 --budget 3 --single-images 1000)
  STEPS=20000; ROUNDS=3; RESULTS=(--results "bench/run-sequence.sh"); INPUT=$IMAGES
fi

swift build -c release --product rnn-infer >&2
[ -x "$PY" ] || bench/venv.sh
mkdir -p "$DIR"
if [ ! "$DIR/prepare.json" -nt bench/peers_sequence.py ]; then
  echo "preparing the models (bench/peers_sequence.py prepare)" >&2
  "$PY" bench/peers_sequence.py prepare --images "$IMAGES" --out "$DIR" 2> >(grep -v -i warning >&2)
fi
# Our predictions on the first 1,000 images, which every peer's are compared with.
for net in "${NETS[@]}"; do
  .build/release/rnn-infer "$DIR/first1000-idx3-ubyte" --model "$DIR/$net.rnnm" --format csv --top-k 10 > "$DIR/ours-$net.csv"
done

OUT=bench/out/sequence.jsonl
: > "$OUT"
tag() { python3 -c "import json,sys; r=json.load(sys.stdin); r.update(json.loads(sys.argv[1])); print(json.dumps(r))" "$1"; }
for threads in 1 2; do
  for net in "${NETS[@]}"; do
    echo "$net: rnn-runtime, $threads thread(s)" >&2
    .build/release/rnn-infer bench --model "$DIR/$net.rnnm" "$INPUT" --threads "$threads" "${OURS[@]}" --stream-steps 0 --json \
      | tag "{\"peer\": \"rnn-runtime\", \"net\": \"$net\"}" >> "$OUT"
    for peer in torch onnxruntime tensorflow; do
      echo "$net: $peer, $threads thread(s)" >&2
      if ! "$PY" bench/peers_sequence.py throughput --peer "$peer" --net "$net" --threads "$threads" --dir "$DIR" \
           --images "$INPUT" --ours-csv "$DIR/ours-$net.csv" "${PEERS[@]}" >> "$OUT" 2> "bench/out/sequence-$peer-$net-$threads.err"; then
        echo "  $peer unavailable or failed (see bench/out/sequence-$peer-$net-$threads.err); skipped" >&2
      fi
    done
  done
done

# One streaming step of the LSTM at batch 1, 1 thread: ROUNDS interleaved rounds of STEPS timed steps
# each (after 1,000 untimed); the table gives the median of the rounds' p50 and p99.
for round in $(seq "$ROUNDS"); do
  echo "stream round $round: rnn-runtime, onnxruntime, torch" >&2
  .build/release/rnn-infer bench --model "$DIR/lstm.rnnm" "$DIR/first1000-idx3-ubyte" --threads 1 --batch-sizes 1 --repeats 1 \
      --single-images 1 --stream-steps "$STEPS" --json | tag '{"peer": "rnn-runtime", "net": "lstm", "kind": "stream"}' >> "$OUT"
  for peer in onnxruntime torch; do
    if ! "$PY" bench/peers_sequence.py stream --peer "$peer" --dir "$DIR" --images "$INPUT" --steps "$STEPS" \
         2> "bench/out/sequence-stream-$peer.err" | tag '{"kind": "stream"}' >> "$OUT"; then
      echo "  $peer stream failed (see bench/out/sequence-stream-$peer.err); skipped" >&2
    fi
  done
done

python3 bench/summarize_sequence.py "$OUT" "$DIR/prepare.json" "${RESULTS[@]}" | tee bench/out/sequence.md
