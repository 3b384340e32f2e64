#!/usr/bin/env bash
# Training benchmark: rnn-train next to PyTorch and TensorFlow/Keras on the same architecture and
# hyperparameters (rnn-train's default preset), on this machine, in one run.
#
#   bench/run-train.sh [EPOCHS]            (default 3; the cosine schedule spans the EPOCHS given)
#   CELL=gru bench/run-train.sh [EPOCHS]   (the same network with a GRU: bench/results/train-gru.json)
#
# Writes bench/out/train.jsonl (raw), bench/results/train.json (the table's numbers, committed;
# bench/results.py) and prints a Markdown table: seconds per epoch (median over the epochs),
# validation accuracy after each epoch, test accuracy after the last, and the ratio of our epoch
# time to the fastest peer's.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${1:-3}
CELL=${CELL:-lstm}
case "$CELL" in lstm) NAME=train ;; gru) NAME=train-gru ;; *) echo "CELL must be lstm or gru, got $CELL" >&2; exit 2 ;; esac
DATA=${DATA_DIR:-$( [ -d ../shared/datasets/mnist ] && echo ../shared/datasets/mnist || echo data/mnist )}
swift build -c release --product rnn-train >&2
bench/venv.sh
mkdir -p bench/out/train-model
OUT=bench/out/$NAME.jsonl
: > "$OUT"
echo "rnn-train ($CELL), $EPOCHS epochs" >&2
rm -f bench/out/train-model/m.*
.build/release/rnn-train --data "$DATA" --epochs "$EPOCHS" --threads 2 --cell "$CELL" --output bench/out/train-model/m.rnnm >&2
python3 - "$OUT" bench/out/train-model/m.log.jsonl <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
epochs = [{"epoch": l["epoch"], "seconds": l["seconds"], "train_loss": l["train_loss"],
           "validation_accuracy": l["val_acc"]} for l in lines if "epoch" in l and "event" not in l]
test = [l for l in lines if l.get("event") == "test"][-1]
epochs[-1]["test_accuracy"] = test["test_acc"]
open(sys.argv[1], "a").write(json.dumps({"peer": "rnn-train", "version": "", "threads": 2, "epochs": epochs}) + "\n")
PY
for peer in torch tensorflow; do
  echo "$peer, $EPOCHS epochs" >&2
  if ! bench/.venv/bin/python bench/peers_train.py --peer "$peer" --cell "$CELL" --data "$DATA" --epochs "$EPOCHS" --threads 2 \
       >> "$OUT" 2> bench/out/train-$peer.err; then
    echo "  $peer unavailable or failed (see bench/out/train-$peer.err); skipped" >&2
  fi
done
python3 - "$OUT" "$( [ "$CELL" = lstm ] || echo "CELL=$CELL " )bench/run-train.sh${1:+ $1}" "$NAME" <<'PY' | tee bench/out/$NAME.md
import json, statistics, sys
sys.path.insert(0, "bench")
import results
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = {"rnn-train": "rnn-train", "torch": "PyTorch", "tensorflow": "TensorFlow"}
n = max(len(r["epochs"]) for r in runs)
print("| framework | s/epoch (median) | " + " | ".join(f"val acc ep {i+1}" for i in range(n)) + " | test acc |")
print("|---|---:|" + "---:|" * (n + 1))
median = {r["peer"]: statistics.median(e["seconds"] for e in r["epochs"]) for r in runs}
for r in runs:
    vals = " | ".join(f"{100 * e['validation_accuracy']:.2f}%" for e in r["epochs"])
    print(f"| {names.get(r['peer'], r['peer'])} {r['version']} | {median[r['peer']]:.1f} | {vals} | {100 * r['epochs'][-1]['test_accuracy']:.2f}% |")
peers = [v for k, v in median.items() if k != "rnn-train"]
ratio = median["rnn-train"] / min(peers) if "rnn-train" in median and peers else None
if ratio is not None:
    print(f"\nrnn-train epoch time / fastest peer's: {ratio:.2f}x (target <= 0.5x)")
results.write(sys.argv[3], sys.argv[2], {
    "threads": 2, "epochs": n,
    "rows": [{"name": r["peer"], "label": names.get(r["peer"], r["peer"]), "version": r["version"],
              "seconds_per_epoch_median": median[r["peer"]],
              "validation_accuracy": [e["validation_accuracy"] for e in r["epochs"]],
              "test_accuracy": r["epochs"][-1]["test_accuracy"]} for r in runs],
    "rnn_train_to_fastest_peer": ratio})
PY
