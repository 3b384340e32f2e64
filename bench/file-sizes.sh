#!/usr/bin/env bash
# Smaller files: a model converted to each weight dtype (rnn-infer convert --weights f32|f16|bf16|int8;
# matrices in the dtype, biases f32), and what each costs.
#
#   bench/file-sizes.sh [MODEL]      (default models/mnist-lstm.rnnm, the default model `make run` trains)
#
# Every column of the README's "Smaller files" table, per dtype:
#   file               bytes of the converted file (zstd, as rnn-infer convert writes it)
#   % of f32           file / the f32 file
#   zstd saves         1 - file / the same conversion with --uncompressed
#   test accuracy      rnn-infer on the 10,000 MNIST test images (--labels)
#   max abs logit change   the largest |logit - f32 logit| over the test images, both in float64 by
#                      the reference reader (spec/reference/rnnm.py), so that only the dtype differs
# Writes bench/out/file-sizes/ (the converted files, reports), bench/results/file-sizes.json (committed;
# bench/results.py) and prints the Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-models/mnist-lstm.rnnm}
DATA=${DATA_DIR:-$( [ -d ../shared/datasets/mnist ] && echo ../shared/datasets/mnist || echo data/mnist )}
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
LABELS=$DATA/t10k-labels-idx1-ubyte.gz
[ -f "$MODEL" ] || { echo "file-sizes.sh: no model at $MODEL; train one with 'make run'" >&2; exit 1; }
[ -f "$IMAGES" ] && [ -f "$LABELS" ] || { echo "file-sizes.sh: no MNIST test images and labels in $DATA" >&2; exit 1; }

swift build -c release --product rnn-infer >&2
OUT=bench/out/file-sizes
mkdir -p "$OUT"
for dtype in f32 f16 bf16 int8; do
  .build/release/rnn-infer convert "$MODEL" "$OUT/$dtype.rnnm" --weights "$dtype" >&2
  .build/release/rnn-infer convert "$MODEL" "$OUT/$dtype-uncompressed.rnnm" --weights "$dtype" --uncompressed >&2
  .build/release/rnn-infer classify "$IMAGES" --model "$OUT/$dtype.rnnm" --labels "$LABELS" --format csv \
    > /dev/null 2> "$OUT/$dtype.report"
done
python3 - "$OUT" "$MODEL" "$IMAGES" "bench/file-sizes.sh${1:+ $1}" <<'PY'
import gzip, hashlib, json, os, re, sys
sys.path.insert(0, "spec/reference")
sys.path.insert(0, "bench")
import numpy as np
import results
import rnnm
out, source, images_path, command = sys.argv[1:]
raw = gzip.open(images_path).read() if images_path.endswith(".gz") else open(images_path, "rb").read()
count = int.from_bytes(raw[4:8], "big")
pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(count, -1)
logits = {d: rnnm.forward(rnnm.load(f"{out}/{d}.rnnm"), pixels) for d in ("f32", "f16", "bf16", "int8")}
rows = []
for dtype in ("f32", "f16", "bf16", "int8"):
    size = os.path.getsize(f"{out}/{dtype}.rnnm")
    report = open(f"{out}/{dtype}.report").read()
    correct, total = map(int, re.search(r"accuracy: [0-9.]+% \((\d+) of (\d+) correct\)", report).groups())
    rows.append({"weights": dtype, "file_bytes": size,
                 "uncompressed_bytes": os.path.getsize(f"{out}/{dtype}-uncompressed.rnnm"),
                 "test_correct": correct, "test_images": total,
                 "max_abs_logit_change": float(np.abs(logits[dtype] - logits["f32"]).max())})
f32 = rows[0]["file_bytes"]
print("| weights | file | % of f32 | zstd saves | test accuracy | max abs logit change |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    r["percent_of_f32"] = 100 * r["file_bytes"] / f32
    r["zstd_saves_percent"] = 100 * (1 - r["file_bytes"] / r["uncompressed_bytes"])
    r["test_accuracy"] = r["test_correct"] / r["test_images"]
    change = "0" if r["max_abs_logit_change"] == 0 else f"{r['max_abs_logit_change']:.3g}"
    print(f"| {r['weights']} | {r['file_bytes']:,} B | {r['percent_of_f32']:.1f} % | {r['zstd_saves_percent']:.1f} % "
          f"| {100 * r['test_accuracy']:.2f} % | {change} |")
model = rnnm.load(source)
results.write("file-sizes", command, {
    "model": {"path": source, "sha256": hashlib.sha256(open(source, "rb").read()).hexdigest(),
              "provenance_metrics": model.metadata.get("provenance", {}).get("metrics", {})},
    "test_images": count, "rows": rows})
PY
