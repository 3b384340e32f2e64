#!/usr/bin/env python3
"""make_feature_model.py -- writes a small random format 1.2 `features` model for the C examples.

    python3 examples/python/make_feature_model.py OUT.rnnm [--cell gru|lstm] [--per-step] [--values]
                                                  [--width 6] [--max-length 20] [--hidden 8] [--outputs 4] [--seed 1]

The model reads sequences of WIDTH floats per step (standardized by stored mean/std tensors, one
std 0, spec/FORMAT.md section 6.2.2) through one GRU (reset "after") or LSTM layer and a dense head:
one output row per sequence, or per step with --per-step; class logits, or values with --values.
The file is written by the spec's independent minimal writer (spec/reference/write_min.py), so the
C API is exercised on a file the Swift writer did not make. Deterministic for a given seed.
Needs numpy and zstandard (`make deps`).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec", "reference"))
import write_min  # noqa: E402


def model(cell, per_step, values, width, max_length, hidden, outputs, seed):
    """(metadata dict, tensors) of features -> cell(hidden) -> dense(outputs)."""
    rng = np.random.default_rng(seed)
    tensors = []

    def tensor(name, shape, bound):
        tensors.append((name, "f32", rng.uniform(-bound, bound, shape).astype(np.float32)))
        return name

    gates = {"gru": 3, "lstm": 4}[cell]
    bound = 1 / np.sqrt(hidden)
    recurrent = {"type": cell, "name": cell, "input_size": width, "hidden_size": hidden,
                 "w_ih": tensor(f"{cell}.w_ih", (gates * hidden, width), bound),
                 "w_hh": tensor(f"{cell}.w_hh", (gates * hidden, hidden), bound),
                 "b_ih": tensor(f"{cell}.b_ih", (gates * hidden,), bound),
                 "b_hh": tensor(f"{cell}.b_hh", (gates * hidden,), bound),
                 "gate_order": {"gru": "rzn", "lstm": "ifgo"}[cell],
                 "return": "sequence" if per_step else "last"}
    if cell == "gru":
        recurrent["reset"] = "after"
    head = {"type": "dense", "name": "head", "in": hidden, "out": outputs, "activation": "none",
            "weight": tensor("head.weight", (outputs, hidden), bound), "bias": tensor("head.bias", (outputs,), bound)}
    std = rng.uniform(0.5, 2.0, width).astype(np.float32)
    std[-1] = 0  # a feature that was constant in training: centred, not scaled
    tensors.append(("input.mean", "f32", rng.uniform(-1, 1, width).astype(np.float32)))
    tensors.append(("input.std", "f32", std))
    meta = {"format": "rnnm", "model": {"layers": [recurrent, head], "output": "values" if values else "logits"},
            "input": {"kind": "features", "source_dtype": "f32", "width": width, "max_length": max_length,
                      "mean": "input.mean", "std": "input.std"},
            "labels": [f"{'value' if values else 'class'}{k}" for k in range(outputs)],
            "provenance": {"producer": "make_feature_model.py", "seed": seed}}
    return meta, tensors


def main(argv):
    parser = argparse.ArgumentParser(description="Write a small random features model (format 1.2).")
    parser.add_argument("output")
    parser.add_argument("--cell", choices=("gru", "lstm"), default="gru")
    parser.add_argument("--per-step", action="store_true")
    parser.add_argument("--values", action="store_true")
    parser.add_argument("--width", type=int, default=6)
    parser.add_argument("--max-length", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--outputs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    meta, tensors = model(args.cell, args.per_step, args.values, args.width, args.max_length, args.hidden,
                          args.outputs, args.seed)
    # zstd sections; format 1.2, readable by readers of 1.2 and later (spec section 3).
    data = write_min.write(meta, tensors, codec=(1, 1, 1), minor=2, min_minor=2)
    with open(args.output, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
