#!/bin/sh
# Regenerates the analysis report (reports/DATASET/) and the committed figures (docs/figures/)
# from a trained model, in a release build (speeds measured in a debug build mean nothing).
#
#   bench/report-figures/make.sh                     # MNIST, models/mnist-lstm.rnnm
#   MODEL=models/fashion-mnist-lstm.rnnm DATASET=fashion-mnist bench/report-figures/make.sh
#
# Inputs (each optional except the model): the run log next to the model (rnn-train writes it),
# bench/out/compare.json (bench/.venv/bin/python bench/compare_cnn.py), bench/report-figures/findings.txt.
set -eu
cd "$(dirname "$0")/../.."

DATASET=${DATASET:-mnist}
MODEL=${MODEL:-models/$DATASET-lstm.rnnm}
DATA=${DATA:-}
SCRATCH=${SCRATCH:-.build-rep}
COMPARISON=${COMPARISON:-bench/out/compare.json}
FINDINGS=${FINDINGS:-bench/report-figures/findings.txt}

if [ ! -f "$MODEL" ]; then
    echo "make.sh: expected a trained model at $MODEL; train one first (rnn-train --output $MODEL)" >&2
    exit 2
fi
if [ -z "$DATA" ]; then
    if [ "$DATASET" = mnist ]; then DATA=../shared/datasets/mnist; else DATA=/usr/share/datasets/fashion-mnist; fi
fi

swift build -c release --scratch-path "$SCRATCH" --product rnn-report
REPORT="$SCRATCH/release/rnn-report"

set -- --model "$MODEL" --data "$DATA" --dataset "$DATASET"
[ -f "$COMPARISON" ] && set -- "$@" --comparison "$COMPARISON"
[ -f "$FINDINGS" ] && set -- "$@" --findings "$FINDINGS"

"$REPORT" "$@" --output "reports/$DATASET"
if [ "$DATASET" = mnist ]; then
    # The two figures committed to the repository (README/docs): learning curves and the
    # most confident mistakes. Without --comparison/--findings nothing slow is re-measured.
    "$REPORT" --model "$MODEL" --data "$DATA" --dataset "$DATASET" \
        --figures-only docs/figures --figures learning-curves-accuracy,misclassified
fi
echo "make.sh: open reports/$DATASET/index.html"
