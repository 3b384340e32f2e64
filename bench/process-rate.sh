#!/usr/bin/env bash
# The whole `rnn-infer` process against its own classification (issue #18): how close does
# `rnn-infer digits.idx --format csv > /dev/null` (start, load the model, read, classify, write the
# CSV) come to the in-process rate of `rnn-infer bench` on the same 10,000 MNIST test images?
#
#   bench/process-rate.sh [MODEL]    (default models/mnist-lstm.rnnm, else the course-architecture
#                                     golden model fixtures/golden/course-h128.rnnm: same layers, f32)
#
#   ROUNDS=5 RUNS=10      rounds of (RUNS timed processes, then one `rnn-infer bench`), interleaved
#                         so that both see the same machine; medians over all of them
#   RNN_INFER=path        the binary to measure (default: build .build/release/rnn-infer)
#
# Measures, on the raw (uncompressed) IDX file of the test images, with default threads:
#   process         hyperfine (-N, stdout to /dev/null) of `rnn-infer IDX --model MODEL --format csv`
#   in process      `rnn-infer bench --batch-sizes 0 1024`: the median of 7 passes over the images in
#                   one call (0) and in calls of 1024 (classify's default --batch-size)
#   fixed costs     the process on an IDX file of 0 images (start, model load, exit) and `--version`
# and writes bench/results/process-rate.json (bench/results.py) with ratio = process images/s over
# in-process images/s (the issue's target: >= 0.90).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/mnist-lstm.rnnm}
if [ -z "${1:-}" ] && [ ! -f "$MODEL" ]; then
  MODEL=fixtures/golden/course-h128.rnnm
  echo "process-rate.sh: no models/mnist-lstm.rnnm ('make run' trains it); timing the same architecture in $MODEL" >&2
fi
[ -f "$MODEL" ] || { echo "process-rate.sh: no model at $MODEL" >&2; exit 1; }
DATA=${DATA_DIR:-$( [ -d ../shared/datasets/mnist ] && echo ../shared/datasets/mnist || echo data/mnist )}
IMAGES_GZ=$DATA/t10k-images-idx3-ubyte.gz
[ -f "$IMAGES_GZ" ] || { echo "process-rate.sh: no MNIST test images at $IMAGES_GZ" >&2; exit 1; }
command -v hyperfine > /dev/null || { echo "process-rate.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-10}
if [ -z "${RNN_INFER:-}" ]; then
  swift build -c release --product rnn-infer >&2
  RNN_INFER=.build/release/rnn-infer
fi

OUT=bench/out/process-rate
mkdir -p "$OUT"
IDX=$OUT/digits.idx
EMPTY=$OUT/empty.idx
gzip -dc "$IMAGES_GZ" > "$IDX"
head -c 16 "$IDX" | python3 -c 'import sys; h = bytearray(sys.stdin.buffer.read()); h[4:8] = bytes(4); sys.stdout.buffer.write(h)' > "$EMPTY"
# The output is the same whatever the timing: check it once (one line per image plus the header).
lines=$("$RNN_INFER" "$IDX" --model "$MODEL" --format csv 2> /dev/null | wc -l)
[ "$lines" -eq 10001 ] || { echo "process-rate.sh: expected 10001 CSV lines, got $lines" >&2; exit 1; }

load_before=$(cut -d' ' -f1 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
  hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$OUT/process-$round.json" \
    "$RNN_INFER $IDX --model $MODEL --format csv" > /dev/null 2>&1
  "$RNN_INFER" bench --model "$MODEL" "$IDX" --batch-sizes 0 1024 --repeats 7 --single-images 1 --stream-steps 0 --json \
    > "$OUT/bench-$round.json" 2> /dev/null
  echo "process-rate.sh: round $round of $ROUNDS done" >&2
done
hyperfine -N --warmup 2 --runs $((RUNS * 2)) --export-json "$OUT/fixed.json" \
  "$RNN_INFER $EMPTY --model $MODEL --format csv" "$RNN_INFER --version" > /dev/null 2>&1
load_after=$(cut -d' ' -f1 /proc/loadavg)

python3 - "$OUT" "$ROUNDS" "$MODEL" "bench/process-rate.sh${1:+ $1}" "$load_before" "$load_after" <<'PY'
import json, statistics, sys
sys.path.insert(0, "bench")
import results
out, rounds, model, command, load_before, load_after = sys.argv[1:]
rounds = int(rounds)
times, whole, batched = [], [], []
for r in range(1, rounds + 1):
    times += json.load(open(f"{out}/process-{r}.json"))["results"][0]["times"]
    bench = json.load(open(f"{out}/bench-{r}.json"))
    rates = {row["batch"]: row["images_per_s"] for row in bench["throughput"]}
    whole.append(rates[bench["images"]])
    batched.append(rates[1024])
fixed = json.load(open(f"{out}/fixed.json"))["results"]
images = bench["images"]
process_s = statistics.median(times)
process_rate = images / process_s
in_process = statistics.median(whole)
row = {
    "model": model, "images": images, "threads": bench["threads"], "kernel": bench["kernel"],
    "rounds": rounds, "process_runs": len(times),
    "process_median_s": round(process_s, 4), "process_min_s": round(min(times), 4),
    "process_images_per_s": round(process_rate, 1),
    "in_process_images_per_s": round(in_process, 1),
    "in_process_batch1024_images_per_s": round(statistics.median(batched), 1),
    "in_process_s": round(images / in_process, 4),
    "ratio": round(process_rate / in_process, 3),
    "ratio_batch1024": round(process_rate / statistics.median(batched), 3),
    "empty_input_process_median_s": round(statistics.median(fixed[0]["times"]), 4),
    "version_process_median_s": round(statistics.median(fixed[1]["times"]), 4),
    "load_average": [float(load_before), float(load_after)],
}
results.write("process-rate", command, row)
print(f"process     {process_s * 1000:7.1f} ms median ({row['process_min_s'] * 1000:.1f} min) of {len(times)} runs = {process_rate:8.0f} images/s")
print(f"in process  {images / in_process * 1000:7.1f} ms (whole input in one call, median of {rounds} benches) = {in_process:8.0f} images/s; "
      f"calls of 1024: {row['in_process_batch1024_images_per_s']:.0f} images/s")
print(f"ratio       {row['ratio']:.3f} (batch-1024 in process: {row['ratio_batch1024']:.3f}); target >= 0.90")
print(f"fixed costs {row['empty_input_process_median_s'] * 1000:.1f} ms for 0 images (start, load, exit), "
      f"{row['version_process_median_s'] * 1000:.1f} ms for --version; load average {load_before} -> {load_after}")
PY
