#!/usr/bin/env bash
# IMDb: the recurrent model (rnn-train --dataset imdb with IMDB_ARGS, by default the best recipe of
# the README) against the bag-of-words logistic regression of bench/imdb_bow.py, on the same 25,000
# test reviews and the same tokenizer.
#
#   bench/imdb-compare.sh [ARCHIVE]   (default ../shared/datasets/aclImdb_v1_labeled.tar.gz)
#   IMDB_ARGS="" bench/imdb-compare.sh   the default text preset (the LSTM) instead
#
# Trains models/imdb-rnn.rnnm unless it exists (a few minutes on 2 cores), classifies the test
# set with rnn-infer, fits the baseline, and writes bench/out/imdb-compare.json (schema
# "rnn-imdb-compare/1", read by `rnn-report --imdb-comparison`, which `make run` passes on) and the
# same numbers to bench/results/imdb-compare.json (committed; bench/results.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHIVE=${1:-../shared/datasets/aclImdb_v1_labeled.tar.gz}
IMDB_ARGS=${IMDB_ARGS---cell gru --bidirectional --pool max --hidden-size 128 --embedding-size 128 --epochs 5 --validation 0}
MODEL=models/imdb-rnn.rnnm
swift build -c release --product rnn-train >&2
swift build -c release --product rnn-infer >&2
mkdir -p bench/out models
if [ ! -f "$MODEL" ]; then
  start=$(date +%s)
  # shellcheck disable=SC2086  # IMDB_ARGS are words
  .build/release/rnn-train --dataset imdb --data "$ARCHIVE" $IMDB_ARGS --output "$MODEL" >&2
  echo $(( $(date +%s) - start )) > bench/out/imdb-train-seconds
fi
.build/release/rnn-infer text --model "$MODEL" --imdb "$ARCHIVE" 2>&1 | tee bench/out/imdb-rnn.txt >&2
python3 bench/imdb_bow.py "$ARCHIVE" --json bench/out/imdb-bow.json >&2
python3 - "$MODEL" "bench/imdb-compare.sh${1:+ $1}" <<'PY'
import json, os, re, sys
sys.path.insert(0, "spec/reference")
sys.path.insert(0, "bench")
import results
import rnnm
model = rnnm.load(sys.argv[1])
metrics = model.metadata["provenance"].get("metrics", {})
text = open("bench/out/imdb-rnn.txt").read()
correct, total = map(int, re.search(r"\((\d+) of (\d+) test reviews\)", text).groups())
accuracy = correct / total
rate = float(re.search(r"([0-9.]+) reviews/s", text).group(1))
train_seconds = metrics.get("train_seconds")
if os.path.exists("bench/out/imdb-train-seconds"):
    train_seconds = train_seconds or float(open("bench/out/imdb-train-seconds").read())
layers = {l["type"]: l for l in model.layers}
recurrent = [l for l in model.layers if l["type"] in ("lstm", "gru")]
kind = ("Bi" if recurrent[0].get("direction") == "bidirectional" else "") + recurrent[0]["type"].upper()
pool = f", {layers['pool']['mode']}-pooled" if "pool" in layers else ""
stack = f"{len(recurrent)}-layer " if len(recurrent) > 1 else ""
name = f"{stack}{kind} (embedding {layers['embedding']['dim']}, H {recurrent[0]['hidden_size']}{pool}, max {model.input['max_length']})"
comparison = {"schema": "rnn-imdb-compare/1", "test_reviews": 25000,
              "lstm": {"name": name, "test_accuracy": accuracy, "file_bytes": os.path.getsize(sys.argv[1]),
                       "reviews_per_second": rate,
                       "training_minutes": None if train_seconds is None else train_seconds / 60,
                       "note": "rnn-train --dataset imdb; rnn-infer text, 2 threads, tokenizing included"},
              "bag_of_words": json.load(open("bench/out/imdb-bow.json"))}
json.dump(comparison, open("bench/out/imdb-compare.json", "w"), indent=1)
results.write("imdb-compare", sys.argv[2], comparison)
print(f"{name}: {100 * accuracy:.2f} %, {rate:.0f} reviews/s; written bench/out/imdb-compare.json")
PY
