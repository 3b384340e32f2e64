#!/usr/bin/env python3
"""Generates the format-1.3 golden files, fixtures/golden/v1.3/ (spec/GOLDEN.md, "Format 1.3").

    /work/main/bench/.venv/bin/python spec/reference/make_golden_v13.py [--check] [OUTPUT_DIRECTORY]

The sibling of make_golden_v12.py (whose inputs, helpers and expected-file layout it reuses): pooled
models (spec §6.1 `pool`, mean or max over each sequence's own steps) with PyTorch-initialized
weights, on the 1.2 set's variable-length feature inputs (../v1.2/features-*.npy, ../v1.2/lengths.npy;
not copied). For each model:

1. weights from PyTorch's own initialization, mapped to spec §6.1 unchanged;
2. the file written by write_min.py (f32, zstd), read back by rnnm.py;
3. the expected outputs: rnnm.py's float64 forward pass, written as JSON (one vector per sequence);
4. verification: PyTorch's float64 forward agrees with rnnm.py's to ~1e-15, once per sequence (a batch
   of one: `output.mean(dim=1)` / `output.max(dim=1)`) and once as one packed batch (pack_padded_sequence,
   then the pool over the padded output with the padding masked: a sum divided by the lengths, a max
   over -inf), which checks that padding never counts; PyTorch's binary32 forward is measured against
   the expected values.

`--check` regenerates into a temporary directory and compares byte for byte with the committed files.
"""
from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace

import make_golden_v12 as v12  # sets the OpenBLAS environment before numpy loads
import numpy as np
import torch
from torch import nn

rnnm, w = v12.rnnm, v12.w
T_MAX, TOLERANCE = v12.T_MAX, v12.TOLERANCE
INPUTS = "../v1.2"   # the 1.2 set's inputs, shared


def pooled_model(seed: int, width: int, stack, mode: str, head, classes: int, *, output="logits", standardize=False,
                 labels=None, description=""):
    """stack: [(kind, hidden, bidirectional, reset)], every layer returning "sequence", then a pool of
    `mode`, then dense layers `head` (tanh) and the output layer. Returns (metadata, tensors, description)."""
    torch.manual_seed(seed)
    t = w.Tensors()
    layers, n_in = [], width
    for k, (kind, hidden, bidirectional, reset) in enumerate(stack):
        cls = nn.LSTM if kind == "lstm" else nn.GRU
        module = cls(n_in, hidden, batch_first=True, bidirectional=bidirectional)
        layers.append(v12.recurrent(t, f"{kind}{k}", module, n_in, ret="sequence", reset=reset))
        n_in = hidden * (2 if bidirectional else 1)
    layers.append(w.pool_layer("pool", mode, n_in))
    for k, n in enumerate(head):
        layer = v12.dense(t, f"mid{k}", nn.Linear(n_in, n))
        layer["activation"] = "tanh"
        layers.append(layer)
        n_in = n
    layers.append(v12.dense(t, "out", nn.Linear(n_in, classes)))
    mean = std = None
    if standardize:
        g = torch.Generator().manual_seed(seed + 1)
        m = (torch.randn(width, generator=g) * 0.5).numpy().astype(np.float32)
        s = (torch.rand(width, generator=g) * 1.5 + 0.5).numpy().astype(np.float32)
        mean, std = t.add("input.mean", (width,), m), t.add("input.std", (width,), s)
    labels = labels or [f"class{k}" for k in range(classes)]
    meta = w.metadata(layers, w.features_input(width, T_MAX, mean, std), labels, output,
                      producer="make_golden_v13.py", seed=seed)
    return meta, t.items, description


def models():
    """(stem, metadata, tensors, description, features width) for every model of the set."""
    return [
        ("gru-mean", *pooled_model(131, 12, [("gru", 20, False, "after")], "mean", (), 9, standardize=True,
                                   description="features 12 standardized -> gru(20, sequence) -> pool mean (20) -> dense(9) logits"), 12),
        ("bilstm-max", *pooled_model(132, 6, [("lstm", 13, True, None)], "max", (), 4,
                                     description="features 6 -> bidirectional lstm(13, sequence) -> pool max over 2H = 26 "
                                                 "-> dense(4) logits"), 6),
        ("stacked-bigru-mean-values", *pooled_model(133, 8, [("lstm", 16, False, None), ("gru", 8, True, "after")], "mean",
                                                    (10,), 2, output="values", labels=["level", "trend"],
                                                    description="features 8 -> lstm(16, sequence) -> bidirectional gru(8, "
                                                                "sequence) -> pool mean (16) -> dense(10, tanh) -> dense(2) values"), 8),
    ]


# --- PyTorch's own forward pass, pooled ------------------------------------------------------------

def torch_modules(model: rnnm.Model, dtype):
    """The layers as PyTorch modules from the file's dequantized tensors; a pool is ("pool", mode)."""
    mods = []
    for layer in model.layers:
        if layer["type"] == "pool":
            mods.append(("pool", layer["mode"]))
            continue
        (kind, mod, _), = v12.torch_modules(SimpleNamespace(layers=[layer], tensors=model.tensors), dtype)
        if kind == "dense" and layer["activation"] == "tanh":
            mod = nn.Sequential(mod, nn.Tanh())
        mods.append((kind, mod))
    return mods


def torch_forward(mods, xs: list, packed: bool) -> list:
    """One output vector per sequence: each sequence alone (a batch of one), or all of them as one
    pack_padded_sequence batch whose pool masks the padding (PyTorch has no masked pool of its own)."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    lens = [len(x) for x in xs]
    if packed:
        seq = pack_padded_sequence(nn.utils.rnn.pad_sequence(xs, batch_first=True), torch.tensor(lens),
                                   batch_first=True, enforce_sorted=False)
    else:
        return [_alone(mods, x) for x in xs]
    vec = None
    for kind, mod in mods:
        if kind == "rnn":
            seq, _ = mod(seq)
        elif kind == "pool":
            out, n = pad_packed_sequence(seq, batch_first=True)   # [B, T_max, D], zeros beyond each length
            valid = (torch.arange(out.shape[1])[None, :] < n[:, None])[:, :, None]
            if mod == "mean":
                vec = out.masked_fill(~valid, 0).sum(dim=1) / n[:, None].to(out.dtype)
            else:
                vec = out.masked_fill(~valid, float("-inf")).max(dim=1).values
        else:
            vec = mod(vec)
    return list(vec)


def _alone(mods, x):
    seq, vec = x.unsqueeze(0), None
    for kind, mod in mods:
        if kind == "rnn":
            seq, _ = mod(seq)
        elif kind == "pool":
            vec = seq.mean(dim=1) if mod == "mean" else seq.max(dim=1).values
        else:
            vec = mod(vec)
    return vec[0]


def generate(directory: str, verbose=True) -> dict:
    os.makedirs(directory, exist_ok=True)
    inputs = os.path.join(directory, INPUTS)
    lens = np.load(os.path.join(inputs, "lengths.npy"))
    manifest = {"generator": "spec/reference/make_golden_v13.py (torch %s, numpy %s, OPENBLAS_CORETYPE=Haswell)"
                % (torch.__version__.split("+")[0], np.__version__),
                "tolerance": TOLERANCE, "models": [], "inputs": [], "cases": []}
    widths = sorted({width for *_, width in models()})
    manifest["inputs"].append({"file": f"{INPUTS}/lengths.npy", "what": "the 1.2 set's lengths (int64, 1 ..= 29)",
                               "count": int(len(lens))})
    for width in widths:
        manifest["inputs"].append({"file": f"{INPUTS}/features-{width}.npy", "what": f"the 1.2 set's float32 "
                                   f"[{len(lens)}, {T_MAX}, {width}] features", "count": int(len(lens)), "width": width,
                                   "lengths": f"{INPUTS}/lengths.npy"})
    report = {}
    for stem, meta, tensors, description, width in models():
        data = w.write(meta, tensors, codec=(1, 1, 1))
        with open(os.path.join(directory, f"{stem}.rnnm"), "wb") as f:
            f.write(data)
        model = rnnm.load(data)
        assert model.min_reader_version == (1, 3) and not rnnm.outputs_per_step(model)
        x = np.load(os.path.join(inputs, f"features-{width}.npy"))
        seqs = [x[n, :t] for n, t in enumerate(lens)]
        outputs = rnnm.forward_features(model, seqs)
        logits = meta["model"]["output"] == "logits"
        inp_name = f"{INPUTS}/features-{width}.npy"
        with open(os.path.join(directory, f"{stem}.json"), "w") as f:
            f.write(v12.expected_json(stem, inp_name, outputs, lens, logits, False, len(meta["labels"])))
        x32 = [torch.tensor(rnnm.standardized(model, s).astype(np.float32)) for s in seqs]
        with torch.no_grad():
            mods64 = torch_modules(model, torch.float64)
            x64 = [s.double() for s in x32]
            single = [o.numpy() for o in torch_forward(mods64, x64, packed=False)]
            packed = [o.numpy() for o in torch_forward(mods64, x64, packed=True)]
            single32 = [o.numpy() for o in torch_forward(torch_modules(model, torch.float32), x32, packed=False)]
        d_single, _ = v12.difference(single, outputs, TOLERANCE["binary64"])
        d_packed, _ = v12.difference(packed, outputs, TOLERANCE["binary64"])
        d32, ratio32 = v12.difference(single32, outputs, TOLERANCE["binary32"])
        assert d_single < 1e-12 and d_packed < 1e-12, f"{stem}: torch float64 differs by {d_single}, packed {d_packed}"
        manifest["models"].append({
            "file": f"{stem}.rnnm", "dtype": "f32", "architecture": description, "output": meta["model"]["output"],
            "outputs_per_step": False,
            "torch_float64": f"max |torch - expected| {d_single:.1e} per sequence, {d_packed:.1e} packed (padding masked)",
            "torch_float32": f"max |torch - expected| {d32:.1e} ({ratio32:.4f} x the binary32 tolerance)"})
        manifest["cases"].append({"model": f"{stem}.rnnm", "features": inp_name, "lengths": f"{INPUTS}/lengths.npy",
                                  "expected": f"{stem}.json"})
        report[stem] = (d_single, d_packed, d32, ratio32)
        if verbose:
            print(f"{stem:26s} {len(data):6d} bytes  torch f64 {d_single:.1e} / packed {d_packed:.1e}; "
                  f"torch f32 max abs {d32:.2e} ({ratio32:.4f} x tolerance)")
    teeth(directory, lens, verbose)
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        f.write(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return report


def teeth(directory: str, lens, verbose: bool):
    """The tolerance has teeth: counting the padding, or the other mode, moves some output far beyond it."""
    bound = TOLERANCE["binary32"]["absolute"]
    for stem, width, what, edit in [
            ("gru-mean", 12, "max instead of mean", lambda m: m.layers[1].update(mode="max")),
            ("bilstm-max", 6, "mean instead of max", lambda m: m.layers[1].update(mode="mean")),
            ("gru-mean", 12, "zero padding counted (every sequence run to 29 steps)", None)]:
        model = rnnm.load(open(os.path.join(directory, f"{stem}.rnnm"), "rb").read())
        x = np.load(os.path.join(directory, INPUTS, f"features-{width}.npy"))
        before = rnnm.forward_features(model, [x[n, :t] for n, t in enumerate(lens)])
        if edit is None:  # the padded arrays as they are: padding steps are zeros of the source
            after = rnnm.forward_features(model, list(x))
        else:
            edit(model)
            after = rnnm.forward_features(model, [x[n, :t] for n, t in enumerate(lens)])
        v12.bites(stem, what, max(float(np.abs(a - b).max()) for a, b in zip(before, after)), bound, verbose)


def main(argv) -> int:
    return v12.cli(argv, os.path.join(v12.ROOT, "fixtures", "golden", "v1.3"), generate, siblings=("v1.2",))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
