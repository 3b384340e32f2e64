#!/usr/bin/env bash
# Accuracy of every recurrent model the README quotes: each row's exact rnn-train command, trained
# with seeds 1, 2, 3 (or SEEDS="..."), tested on the data set's test split; the median is the
# row's figure. Writes bench/results/quality.json (committed; bench/results.py) and prints a table.
#
#   bench/quality.sh               every row
#   bench/quality.sh ROW [ROW...]  only these rows (names: bench/quality.sh --list); rows already
#                                  in bench/results/quality.json and not named keep their results
#   SEEDS="1" bench/quality.sh ROW one seed only (quick look; the README's figures use 1 2 3)
#
# Each row's command is run as written below, with `--seed S --output OUT` appended; the test
# accuracy and training seconds come from the run's log (OUT minus .rnnm, plus .log.jsonl; its
# event "test"). The IMDb
# row also runs bench/imdb_bow.py (the bag-of-words baseline, unchanged) in the same run.
set -euo pipefail
EXTRA_ARGS=${EXTRA_ARGS:-}  # e.g. "--subset 2000 --epochs 1" for a smoke run (not for the committed results)
cd "$(dirname "$0")/.."
source bench/datasets.sh
SEEDS=${SEEDS:-1 2 3}
# The best IMDb recipe (also bench/imdb-compare.sh's default).
IMDB_BEST="--cell gru --bidirectional --pool max --hidden-size 128 --embedding-size 128 --epochs 5 --validation 0"

# name | data set | model | command (without --seed and --output)
ROWS=(
  "mnist-default|MNIST|course LSTM (default preset)|$TRAIN --data $MNIST"
  "fashion-default|Fashion-MNIST|course LSTM (default preset)|$TRAIN --dataset fashion-mnist --data $FASHION"
  "imdb-default|IMDb|LSTM (default text preset)|$TRAIN --dataset imdb --data $IMDB"
  "imdb-best|IMDb|BiGRU 128, max-pooled, embedding 128, all 25,000 training reviews|$TRAIN --dataset imdb --data $IMDB $IMDB_BEST"
  "mnist-bigru|MNIST|BiGRU 128 (default preset)|$TRAIN --data $MNIST --cell gru --bidirectional"
  "fashion-bigru|Fashion-MNIST|2-layer BiGRU 128, dropout 0.3 between the layers and on the output, no augmentation, 15 epochs|$TRAIN --dataset fashion-mnist --data $FASHION --cell gru --bidirectional --layers 2 --dropout 0.3 --output-dropout 0.3 --augment none --epochs 15"
  "mnist-cnn|MNIST|LeNet CNN (rnn-train --arch cnn defaults: 10 epochs)|$TRAIN --arch cnn --data $MNIST"
  "mnist-cnn-3|MNIST|LeNet CNN, 3 epochs (bench/compare_cnn.py's PyTorch LeNet trains 3)|$TRAIN --arch cnn --data $MNIST --epochs 3"
  "fashion-cnn|Fashion-MNIST|LeNet CNN (rnn-train --arch cnn defaults: 10 epochs)|$TRAIN --arch cnn --dataset fashion-mnist --data $FASHION"
  "japanese-vowels|JapaneseVowels (UEA)|2-layer BiGRU 64 (ts defaults)|$TRAIN --dataset ts --data $UEA/JapaneseVowels_TRAIN.ts --test $UEA/JapaneseVowels_TEST.ts"
  "basic-motions|BasicMotions (UEA)|2-layer BiGRU 64, batch 4, 100 epochs|$TRAIN --dataset ts --data $UEA/BasicMotions_TRAIN.ts --test $UEA/BasicMotions_TEST.ts --batch-size 4 --epochs 100"
)

if [ "${1:-}" = "--list" ]; then
  for row in "${ROWS[@]}"; do IFS='|' read -r name data model command <<< "$row"; echo "$name: $data, $model"; done
  exit 0
fi
WANTED=("$@")
for want in "${WANTED[@]}"; do
  found=0
  for row in "${ROWS[@]}"; do [ "${row%%|*}" = "$want" ] && found=1; done
  [ $found = 1 ] || { echo "bench/quality.sh: no row named $want (see --list)" >&2; exit 2; }
done

swift build -c release --product rnn-train >&2
mkdir -p bench/out/quality
# One file of runs per invocation, so that two invocations (different rows) can run at once.
RAW=bench/out/quality/runs-$$.jsonl
: > "$RAW"
for row in "${ROWS[@]}"; do
  IFS='|' read -r name data model command <<< "$row"
  if [ ${#WANTED[@]} -gt 0 ] && ! printf '%s\n' "${WANTED[@]}" | grep -qx "$name"; then continue; fi
  for seed in $SEEDS; do
    out=bench/out/quality/$name-$seed.rnnm
    rm -f "$out" "${out%.rnnm}.log.jsonl" "${out%.rnnm}.ckpt"
    echo "== $name, seed $seed: $command --seed $seed --output $out" >&2
    start=$(date +%s.%N)
    $command --seed "$seed" $EXTRA_ARGS --output "$out" >&2
    end=$(date +%s.%N)
    python3 - "$name" "$data" "$model" "$command" "$seed" "${out%.rnnm}.log.jsonl" "$start" "$end" >> "$RAW" <<'PY'
import json, sys
name, data, model, command, seed, log, start, end = sys.argv[1:]
log = [json.loads(l) for l in open(log) if l.strip()]
test = [l for l in log if l.get("event") == "test"][-1]
epochs = [l for l in log if "epoch" in l and "event" not in l]
print(json.dumps({"name": name, "data": data, "model": model, "command": command, "seed": int(seed),
                  "test_accuracy": test["test_acc"], "train_seconds": test["train_seconds"],
                  "wall_seconds": float(end) - float(start), "epochs": len(epochs)}))
PY
  done
  if [ "$name" = imdb-default ] || [ "$name" = imdb-best ]; then
    # The bag-of-words baseline (unchanged) in the same run as the IMDb rows it is compared with.
    python3 bench/imdb_bow.py "$IMDB" --json bench/out/quality/imdb-bow.json >&2
  fi
done

python3 - "$RAW" "bench/quality.sh${*:+ $*}" <<'PY'
import json, os, statistics, sys
sys.path.insert(0, "bench")
import results
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
path = os.path.join("bench", "results", "quality.json")
rows = {}
if os.path.exists(path):  # rows not re-run keep their last results
    rows = {r["name"]: r for r in json.load(open(path))["results"]["rows"]}
for name in dict.fromkeys(r["name"] for r in runs):
    mine = [r for r in runs if r["name"] == name]
    rows[name] = {"name": name, "data": mine[0]["data"], "model": mine[0]["model"], "command": mine[0]["command"],
                  "seeds": [r["seed"] for r in mine],
                  "test_accuracy": [r["test_accuracy"] for r in mine],
                  "test_accuracy_median": statistics.median(r["test_accuracy"] for r in mine),
                  "train_seconds": [r["train_seconds"] for r in mine],
                  "wall_seconds": [r["wall_seconds"] for r in mine]}
bow = "bench/out/quality/imdb-bow.json"
extra = {"imdb_bag_of_words": json.load(open(bow))} if os.path.exists(bow) and ("imdb-default" in rows or "imdb-best" in rows) else {}
results.write("quality", sys.argv[2], {"rows": list(rows.values()), **extra})
print("| data | model | test accuracy (median) | seeds | train s (median) |")
print("|---|---|---:|---|---:|")
for r in rows.values():
    print(f"| {r['data']} | {r['model']} | {100 * r['test_accuracy_median']:.2f} % | "
          f"{', '.join(f'{100 * a:.2f}' for a in r['test_accuracy'])} | {statistics.median(r['train_seconds']):.0f} |")
PY
