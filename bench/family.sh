#!/usr/bin/env bash
# The course question for the whole recurrent family: LSTM, GRU and bidirectional LSTM, each
# trained by rnn-train on MNIST, Fashion-MNIST and the IMDb reviews (each with its data set's default
# preset, only the cell or direction changed), and the LeNet CNN (`rnn-train --arch cnn`, its defaults:
# 10 epochs) on the two image sets through the same trainer and runtime, with test accuracy, parameters, file size (f32 and int8), training seconds per epoch,
# and classification speed at batch 1 and 10,000 (rnn-infer bench, 2 threads, this machine: images/s on
# the 10,000 test images; reviews/s on the 25,000 IMDb test reviews, tokenized before the clock starts).
# Writes bench/results/family.json (committed; bench/results.py; `rnn-report --family` renders it)
# and prints the table.
#
#   bench/family.sh               every row (about 30 minutes on 2 cores)
#   bench/family.sh ROW [ROW...]  only these rows (bench/family.sh --list); rows not named keep
#                                 their last results in bench/results/family.json
#
# Every row trains with seed 1; bench/quality.sh gives the medians over seeds of the best models.
set -euo pipefail
EXTRA_ARGS=${EXTRA_ARGS:-}  # e.g. "--subset 2000 --epochs 1" for a smoke run (not for the committed results)
cd "$(dirname "$0")/.."
source bench/datasets.sh

# name | data set | model | rnn-train arguments (the output and seed are added) | test inputs for the speed runs
ROWS=(
  "mnist-lstm|MNIST|LSTM|--data $MNIST|$MNIST/t10k-images-idx3-ubyte.gz"
  "mnist-gru|MNIST|GRU|--data $MNIST --cell gru|$MNIST/t10k-images-idx3-ubyte.gz"
  "mnist-bilstm|MNIST|BiLSTM|--data $MNIST --bidirectional|$MNIST/t10k-images-idx3-ubyte.gz"
  "mnist-cnn|MNIST|CNN (LeNet)|--arch cnn --data $MNIST|$MNIST/t10k-images-idx3-ubyte.gz"
  "fashion-lstm|Fashion-MNIST|LSTM|--dataset fashion-mnist --data $FASHION|$FASHION/t10k-images-idx3-ubyte.gz"
  "fashion-gru|Fashion-MNIST|GRU|--dataset fashion-mnist --data $FASHION --cell gru|$FASHION/t10k-images-idx3-ubyte.gz"
  "fashion-bilstm|Fashion-MNIST|BiLSTM|--dataset fashion-mnist --data $FASHION --bidirectional|$FASHION/t10k-images-idx3-ubyte.gz"
  "fashion-cnn|Fashion-MNIST|CNN (LeNet)|--arch cnn --dataset fashion-mnist --data $FASHION|$FASHION/t10k-images-idx3-ubyte.gz"
  "imdb-lstm|IMDb|LSTM|--dataset imdb --data $IMDB|$IMDB"
  "imdb-gru|IMDb|GRU|--dataset imdb --data $IMDB --cell gru|$IMDB"
  "imdb-bilstm|IMDb|BiLSTM|--dataset imdb --data $IMDB --bidirectional|$IMDB"
)

if [ "${1:-}" = "--list" ]; then
  for row in "${ROWS[@]}"; do IFS='|' read -r name data model _ _ <<< "$row"; echo "$name: $data, $model"; done
  exit 0
fi
WANTED=("$@")
for want in "${WANTED[@]}"; do
  printf '%s\n' "${ROWS[@]}" | cut -d'|' -f1 | grep -qx "$want" || { echo "bench/family.sh: no row named $want (see --list)" >&2; exit 2; }
done

# The rows are read with the reference reader (spec/reference/rnnm.py): check its packages before
# the first hour of training, not after it (the same install as the Makefile's).
python3 -c "import numpy, zstandard" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check numpy zstandard
swift build -c release --product rnn-train >&2
swift build -c release --product rnn-infer >&2
mkdir -p bench/out/family
RAW=bench/out/family/runs.jsonl
: > "$RAW"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name data model args images <<< "$row"
  if [ ${#WANTED[@]} -gt 0 ] && ! printf '%s\n' "${WANTED[@]}" | grep -qx "$name"; then continue; fi
  out=bench/out/family/$name.rnnm
  rm -f "$out" "${out%.rnnm}.log.jsonl" "${out%.rnnm}.ckpt"
  echo "== $name: rnn-train $args --seed 1 --output $out" >&2
  # shellcheck disable=SC2086  # the row's arguments are words
  $TRAIN $args --seed 1 $EXTRA_ARGS --output "$out" >&2
  $INFER convert "$out" "${out%.rnnm}-int8.rnnm" --weights int8 >&2
  # Batches of 10,000: the whole MNIST test set in one call; the IMDb reviews in three.
  speed=$($INFER bench "$images" --model "$out" --threads 2 --batch-sizes 10000 --stream-steps 0 --json)
  python3 - "$name" "$data" "$model" "rnn-train $args --seed 1" "$out" "$speed" >> "$RAW" <<'PY'
import json, os, statistics, sys
sys.path.insert(0, "spec/reference")
import rnnm
name, data, model, command, out, speed = sys.argv[1:]
log = [json.loads(l) for l in open(out[:-len(".rnnm")] + ".log.jsonl") if l.strip()]
test = [l for l in log if l.get("event") == "test"][-1]
epochs = [l["seconds"] for l in log if "epoch" in l and "event" not in l]
m = rnnm.load(out)
parameters = sum(int(__import__("math").prod(t.shape)) for t in m.tensors.values())
speed = json.loads(speed)
print(json.dumps({
    "name": name, "data": data, "model": model, "command": command, "test_accuracy": test["test_acc"],
    "parameters": parameters, "file_bytes_f32": os.path.getsize(out),
    "file_bytes_int8": os.path.getsize(out[:-len(".rnnm")] + "-int8.rnnm"),
    "epochs": len(epochs), "seconds_per_epoch_median": statistics.median(epochs) if epochs else None,
    "train_seconds": test["train_seconds"],
    "images_per_s_batch1": speed["batch1_images_per_s"],
    "images_per_s_batch10000": speed["throughput"][-1]["images_per_s"],
    "speed_unit": "reviews" if speed["unit"] == "texts" else speed["unit"]}))
PY
done

python3 - "$RAW" "bench/family.sh${*:+ $*}" <<'PY'
import json, os, sys
sys.path.insert(0, "bench")
import results
path = os.path.join("bench", "results", "family.json")
rows = {r["name"]: r for r in json.load(open(path))["results"]["rows"]} if os.path.exists(path) else {}
for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip()):
    rows[r["name"]] = r
results.write("family", sys.argv[2], {"threads": 2, "seed": 1, "rows": list(rows.values())})
print("| data | model | test accuracy | parameters | f32 / int8 file | s/epoch | per second, batch 1 | batch 10,000 |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in rows.values():
    unit = r.get("speed_unit", "images")
    speed = (f"{r['images_per_s_batch1']:,.0f} {unit} | {r['images_per_s_batch10000']:,.0f} {unit}"
             if r["images_per_s_batch1"] else "- | -")
    print(f"| {r['data']} | {r['model']} | {100 * r['test_accuracy']:.2f} % | {r['parameters']:,} | "
          f"{r['file_bytes_f32'] / 1024:.0f} / {r['file_bytes_int8'] / 1024:.0f} KiB | "
          f"{r['seconds_per_epoch_median']:.1f} | {speed} |")
PY
