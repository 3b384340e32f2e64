#!/usr/bin/env python3
"""Generates the format-1.2 golden files, fixtures/golden/v1.2/ (spec/GOLDEN.md, "Format 1.2").

    /work/main/bench/.venv/bin/python spec/reference/make_golden_v12.py [--check] [OUTPUT_DIRECTORY]

Needs torch (CPU), numpy and zstandard. For each model:

1. weights from PyTorch's own initialization (torch.manual_seed, nn.GRU / nn.LSTM / nn.Linear), mapped
   to spec §6.1 unchanged (w_ih = weight_ih_l0, ..., *_reverse = weight_ih_l0_reverse, ...); "reset
   before" reuses an nn.GRU's weights, a mode PyTorch does not have;
2. the file written by write_min.py (f32, zstd; one int8 and one f16 copy), read back by rnnm.py;
3. the expected outputs: rnnm.py's float64 forward pass on the inputs (features .npy files, or the
   image batch fixtures/golden/inputs-37.idx3), written as JSON;
4. verification: PyTorch's float64 forward (the modules rebuilt in float64 from the file's dequantized
   tensors, run per sequence and packed) agrees with rnnm.py's to ~1e-15 for every model PyTorch can
   express, which checks the PyTorch mapping of spec §6.1 and rnnm.py against each other; PyTorch's
   binary32 forward is measured against the expected values (the measured column of spec/GOLDEN.md).

The output is a function of this script, torch's CPU generator and the zstd library (spec §2.2):
`--check` regenerates into a temporary directory and compares byte for byte with the committed files.
OpenBLAS is pinned to its Haswell kernels and one thread, and NumPy's and torch's own SIMD dispatch to
AVX2, before numpy loads, so that the float64 sums (and the expected JSON) have the same order on every
x86-64 CPU with AVX2, AVX-512 ones included.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# NumPy (exp, tanh, sums) and torch pick SIMD kernels by CPU too; on an AVX-512 CPU their results differ
# from the AVX2 kernels' in the last bit, which changes the expected JSON and torch's binary32 measurement.
# Pin both to AVX2, the kernels the committed sets were made with (NumPy 2.4's dispatch names; the
# bench/.venv peers are pinned in bench/requirements.txt).
os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")

import json  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import rnnm  # noqa: E402
import write_min as w  # noqa: E402

torch.set_num_threads(1)

N, T_MAX = 23, 29                 # sequences per input file, longest sequence
IMAGES = "inputs-37.idx3"         # the 1.0 golden image batch, one directory up
# Binary32 tolerance of this set (derived in spec/GOLDEN.md and Tests/GoldenTests/Tolerance.swift).
TOLERANCE = {"binary32": {"absolute": 2e-4, "relative": 1e-4}, "binary64": {"absolute": 1e-9, "relative": 1e-9}}


# --- Inputs ------------------------------------------------------------------------------------------

def lengths() -> np.ndarray:
    """23 lengths in 1 ..= 29, both ends included, in no particular order (a runtime sorts them)."""
    rng = np.random.default_rng(1202)
    out = np.concatenate([[T_MAX, 1], rng.integers(1, T_MAX + 1, N - 2)]).astype(np.int64)
    rng.shuffle(out)
    return out


def features(width: int, lens: np.ndarray) -> np.ndarray:
    """float32 [N, T_MAX, width], seeded N(0, 1) with a few large values, zero beyond each length."""
    rng = np.random.default_rng(1200 + width)
    x = rng.normal(0, 1, (N, T_MAX, width)).astype(np.float32)
    for n, t, j, v in [(0, 0, 0, 9.5), (3, 1, width - 1, -12.0), (7, 0, width // 2, 25.0)]:
        x[n, min(t, lens[n] - 1), j] = v
    for n, t in enumerate(lens):
        x[n, t:] = 0
    return x


def read_idx_images(path: str) -> np.ndarray:
    raw = open(path, "rb").read()
    assert raw[:4] == b"\0\0\x08\x03", "not an IDX3 u8 file"
    count, h, wd = (int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(3))
    return np.frombuffer(raw, np.uint8, count * h * wd, 16).reshape(count, h * wd)


# --- Models from PyTorch modules -------------------------------------------------------------------

def torch_tensors(module: nn.Module) -> dict:
    return {k: v.detach().numpy().astype(np.float32) for k, v in module.state_dict().items()}


def recurrent(t: w.Tensors, name: str, module: nn.Module, n_in: int, *, ret: str, reset="after") -> dict:
    """A §6.1 layer from layer 0 of a one-layer nn.LSTM / nn.GRU, tensors unchanged (PyTorch's order
    is the spec's: i, f, g, o and r, z, n)."""
    kind = "lstm" if isinstance(module, nn.LSTM) else "gru"
    p = torch_tensors(module)
    layer = {"type": kind, "name": name, "input_size": n_in, "hidden_size": module.hidden_size,
             "gate_order": "ifgo" if kind == "lstm" else "rzn", "return": ret}
    if kind == "gru":
        layer["reset"] = reset
    suffixes = ["", "_reverse"] if module.bidirectional else [""]
    if module.bidirectional:
        layer["direction"] = "bidirectional"
    for s in suffixes:
        for key, torch_key in (("w_ih", "weight_ih_l0"), ("w_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                               ("b_hh", "bias_hh_l0")):
            layer[key + s] = t.add(f"{name}.{key}{s}", p[torch_key + s].shape, p[torch_key + s])
    return layer


def dense(t: w.Tensors, name: str, module: nn.Linear) -> dict:
    p = torch_tensors(module)
    return {"type": "dense", "name": name, "in": module.in_features, "out": module.out_features,
            "weight": t.add(f"{name}.weight", p["weight"].shape, p["weight"]),
            "bias": t.add(f"{name}.bias", p["bias"].shape, p["bias"]), "activation": "none"}


def features_model(seed: int, width: int, stack, classes: int, *, output="logits", standardize=False,
                   labels=None, description=""):
    """stack: [(kind, hidden, bidirectional, return, reset)]; returns (metadata, tensors, description)."""
    torch.manual_seed(seed)
    t = w.Tensors()
    layers, n_in = [], width
    for k, (kind, hidden, bidirectional, ret, reset) in enumerate(stack):
        cls = nn.LSTM if kind == "lstm" else nn.GRU
        module = cls(n_in, hidden, batch_first=True, bidirectional=bidirectional)
        layers.append(recurrent(t, f"{kind}{k}", module, n_in, ret=ret, reset=reset))
        n_in = hidden * (2 if bidirectional else 1)
    layers.append(dense(t, "out", nn.Linear(n_in, classes)))
    mean = std = None
    if standardize:  # a per-feature mean and spread as a scaler fitted on training data would give
        g = torch.Generator().manual_seed(seed + 1)
        m = (torch.randn(width, generator=g) * 0.5).numpy().astype(np.float32)
        s = (torch.rand(width, generator=g) * 1.5 + 0.5).numpy().astype(np.float32)
        s[width // 3] = 0  # a feature that was constant in training: centred, not scaled (spec §6.2.2)
        mean, std = t.add("input.mean", (width,), m), t.add("input.std", (width,), s)
    labels = labels or [f"class{k}" for k in range(classes)]
    meta = w.metadata(layers, w.features_input(width, T_MAX, mean, std), labels, output,
                      producer="make_golden_v12.py", seed=seed)
    return meta, t.items, description


def image_model(seed: int):
    torch.manual_seed(seed)
    t = w.Tensors()
    layers = [recurrent(t, "gru0", nn.GRU(28, 32, batch_first=True), 28, ret="last"),
              dense(t, "out", nn.Linear(32, 10))]
    meta = w.metadata(layers, w.image_input(28, 28), [str(k) for k in range(10)], producer="make_golden_v12.py", seed=seed)
    return meta, t.items, "image rows 28x28 (scale f32(1/255)) -> gru(32, reset after) -> dense(10) logits"


def models():
    """(stem, metadata, tensors, description, input) for every model of the set."""
    out = []

    def add(stem, model, inp):
        out.append((stem, *model, inp))
    add("gru-after", features_model(121, 12, [("gru", 20, False, "last", "after")], 9, standardize=True,
                                    description="features 12 standardized by input.mean / input.std (std of feature 4 "
                                                "exactly 0) -> gru(20, reset after) -> dense(9) logits"), "f12")
    add("gru-before", features_model(122, 6, [("gru", 16, False, "last", "before")], 4,
                                     description="features 6 -> gru(16, reset before; an nn.GRU's weights) -> dense(4) logits"),
        "f6")
    add("bilstm", features_model(123, 12, [("lstm", 16, True, "last", None)], 9,
                                 description="features 12 -> bidirectional lstm(16), last = [hf[T-1], hb[0]] -> dense(32 -> 9) logits"),
        "f12")
    add("bigru", features_model(124, 6, [("gru", 13, True, "last", "after")], 4,
                                description="features 6 -> bidirectional gru(13, reset after), last -> dense(26 -> 4) logits"), "f6")
    add("stacked", features_model(125, 8, [("lstm", 24, False, "sequence", None), ("gru", 12, True, "sequence", "after"),
                                           ("gru", 16, False, "last", "after")], 5,
                                  description="features 8 -> lstm(24, sequence) -> bidirectional gru(12, sequence) -> "
                                              "gru(16, last) -> dense(5) logits"), "f8")
    add("per-step", features_model(126, 4, [("gru", 16, False, "sequence", "after")], 3,
                                   description="features 4 -> gru(16, sequence) -> dense(3) logits at every step"), "f4")
    add("regression", features_model(127, 6, [("lstm", 16, False, "last", None)], 2, output="values",
                                     labels=["level", "trend"],
                                     description="features 6 -> lstm(16) -> dense(2), model.output \"values\""), "f6")
    add("image-gru", image_model(128), IMAGES)
    base = {stem: (meta, tensors, inp) for stem, meta, tensors, _, inp in out}
    for stem, dtype in (("gru-after", "int8"), ("bilstm", "f16")):
        meta, tensors, inp = base[stem]
        out.append((f"{stem}-{dtype}", meta, [(n, dtype, a) for n, _, a in tensors],
                    f"{stem} with every tensor (biases, mean and std included) stored as {dtype} (spec §4.1)", inp))
    return out


# --- PyTorch's own forward pass (the check of the mapping) ---------------------------------------------

def torch_modules(model: rnnm.Model, dtype):
    """The model's layers as PyTorch modules built from its dequantized tensors (the §6.1 mapping in
    reverse); None when a layer has no PyTorch equivalent (gru with reset "before")."""
    mods = []
    for layer in model.layers:
        v = lambda key: torch.tensor(model.tensors[layer[key]].values, dtype=dtype)  # noqa: E731
        if layer["type"] == "dense":
            lin = nn.Linear(layer["in"], layer["out"]).to(dtype)
            with torch.no_grad():
                lin.weight.copy_(v("weight"))
                lin.bias.copy_(v("bias"))
            mods.append(("dense", lin, None))
            continue
        if layer["type"] == "gru" and layer["reset"] != "after":
            return None
        bidirectional = layer.get("direction") == "bidirectional"
        cls = nn.LSTM if layer["type"] == "lstm" else nn.GRU
        rnn = cls(layer["input_size"], layer["hidden_size"], batch_first=True, bidirectional=bidirectional).to(dtype)
        with torch.no_grad():
            for s in (["", "_reverse"] if bidirectional else [""]):
                for key, tkey in (("w_ih", "weight_ih_l0"), ("w_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"),
                                  ("b_hh", "bias_hh_l0")):
                    getattr(rnn, tkey + s).copy_(v(key + s))
        mods.append(("rnn", rnn, layer["return"]))
    return mods


def torch_forward(mods, xs: list, packed: bool) -> list:
    """Outputs per sequence ([K], or [T, K] per step) from PyTorch modules: each sequence alone
    (`packed` False: a batch of one, no packing) or all of them as one pack_padded_sequence batch
    (PyTorch's own variable-length batching). A recurrent layer's "last" is its h_n, directions
    concatenated: cat(h_n[-2], h_n[-1]) for a bidirectional layer."""
    from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
    if not packed:
        return [_torch_layers(mods, x.unsqueeze(0), [len(x)], None)[0] for x in xs]
    lens = [len(x) for x in xs]
    padded = nn.utils.rnn.pad_sequence(xs, batch_first=True)
    pack = lambda t: pack_padded_sequence(t, torch.tensor(lens), batch_first=True, enforce_sorted=False)  # noqa: E731
    unpack = lambda p: pad_packed_sequence(p, batch_first=True)[0] if isinstance(p, PackedSequence) else p  # noqa: E731
    return _torch_layers(mods, pack(padded), lens, (pack, unpack))


def _torch_layers(mods, seq, lens: list, packing) -> list:
    pack, unpack = packing or (lambda t: t, lambda t: t)
    vec = None
    for kind, mod, ret in mods:
        if kind == "dense":  # at every step (of the padded batch, packed again), or once on the last state
            if vec is None:
                seq = pack(mod(unpack(seq)))
            else:
                vec = mod(vec)
            continue
        output, state = mod(seq)
        h_n = state[0] if isinstance(mod, nn.LSTM) else state  # [directions, B, H]
        if ret == "last":
            vec = torch.cat(list(h_n), dim=-1)                 # [B, directions * H], in the input order
        else:
            seq = output
    if vec is not None:
        return list(vec)
    seq = unpack(seq)
    return [seq[b, :n] for b, n in enumerate(lens)]


# --- Expected values ---------------------------------------------------------------------------------

def json_number(x: float) -> str:
    return json.dumps(float(x))  # repr: the shortest decimal that reads back as the same binary64


def row(values) -> str:
    return "[" + ",".join(json_number(v) for v in values) + "]"


def expected_json(stem: str, inp_name: str, outputs: list, lens, logits: bool, per_step: bool, classes: int) -> str:
    """Like the 1.0 expected files (spec/GOLDEN.md): one sequence per line."""
    head = {"model": f"{stem}.rnnm", "input": inp_name, "count": len(outputs), "outputs_per_step": per_step,
            "output": "logits" if logits else "values", "classes": classes, "lengths": [int(n) for n in lens]}
    parts = [json.dumps(head, separators=(",", ":"))[:-1]]
    if logits:
        pred, margin = [], []
        for o in outputs:
            rows = o if per_step else [o]
            top = [np.sort(r)[::-1] for r in rows]
            p = [int(np.argmax(r)) for r in rows]  # lowest index on ties
            m = [float(s[0] - s[1]) for s in top]
            pred.append(p if per_step else p[0])
            margin.append(m if per_step else m[0])
        parts.append('"predictions":' + json.dumps(pred, separators=(",", ":")))
        parts.append('"margins":[\n' + ",\n".join((row(m) if per_step else json_number(m)) for m in margin) + "]")
    lines = ["[" + ",".join(row(r) for r in o) + "]" if per_step else row(o) for o in outputs]
    parts.append('"outputs":[\n' + ",\n".join(lines) + "]")
    return ",\n".join(parts) + "}\n"


def difference(a: list, b: list, tol: dict) -> tuple:
    """(max |a - b|, largest |a - b| / (absolute + relative |b|))."""
    worst_abs, worst_ratio = 0.0, 0.0
    for x, y in zip(a, b):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        d = np.abs(x - y)
        worst_abs = max(worst_abs, float(d.max()))
        worst_ratio = max(worst_ratio, float((d / (tol["absolute"] + tol["relative"] * np.abs(y))).max()))
    return worst_abs, worst_ratio


def generate(directory: str, verbose=True) -> dict:
    os.makedirs(directory, exist_ok=True)
    lens = lengths()
    files = {"lengths.npy": lens}
    widths = sorted({int(inp[1:]) for *_, inp in models() if inp != IMAGES})
    for width in widths:
        files[f"features-{width}.npy"] = features(width, lens)
    for name, arr in files.items():
        with open(os.path.join(directory, name), "wb") as f:
            np.save(f, arr, allow_pickle=False)
    images = read_idx_images(os.path.join(ROOT, "fixtures", "golden", IMAGES))
    manifest = {"generator": "spec/reference/make_golden_v12.py (torch %s, numpy %s, OPENBLAS_CORETYPE=Haswell)"
                % (torch.__version__.split("+")[0], np.__version__),
                "tolerance": TOLERANCE, "models": [], "inputs": [], "cases": []}
    manifest["inputs"].append({"file": "lengths.npy", "what": f"int64 [{N}]: the length of each sequence, "
                               f"1 ..= {T_MAX}, shared by every features input", "count": N})
    for width in widths:
        manifest["inputs"].append({"file": f"features-{width}.npy", "what": f"float32 [{N}, {T_MAX}, {width}], "
                                   "zero-padded beyond each length; seeded N(0, 1) with three large values "
                                   "(9.5, -12, 25)", "count": N, "width": width, "lengths": "lengths.npy"})
    manifest["inputs"].append({"file": f"../{IMAGES}", "what": "the 37 images of the 1.0 golden set (spec/GOLDEN.md)",
                               "count": 37})
    report = {}
    for stem, meta, tensors, description, inp in models():
        data = w.write(meta, tensors, codec=(1, 1, 1))
        with open(os.path.join(directory, f"{stem}.rnnm"), "wb") as f:
            f.write(data)
        model = rnnm.load(data)
        logits = meta["model"]["output"] == "logits"
        per_step = [l for l in model.layers if l["type"] in rnnm.RECURRENT][-1]["return"] == "sequence"
        if inp == IMAGES:
            outputs = list(rnnm.forward(model, images))
            x32 = [torch.tensor(x) for x in rnnm.input_sequence(model, images).astype(np.float32)]
            case = {"model": f"{stem}.rnnm", "images": f"../{IMAGES}", "expected": f"{stem}.json"}
            inp_name, seq_lens = f"../{IMAGES}", [28] * len(images)
        else:
            x = files[f"features-{inp[1:]}.npy"]
            seqs = [x[n, :t] for n, t in enumerate(lens)]
            outputs = rnnm.forward_features(model, seqs)
            x32 = [torch.tensor(rnnm.standardized(model, s).astype(np.float32)) for s in seqs]
            inp_name, seq_lens = f"features-{inp[1:]}.npy", lens
            case = {"model": f"{stem}.rnnm", "features": inp_name, "lengths": "lengths.npy", "expected": f"{stem}.json"}
        with open(os.path.join(directory, f"{stem}.json"), "w") as f:
            f.write(expected_json(stem, inp_name, outputs, seq_lens, logits, per_step, len(meta["labels"])))
        entry = {"file": f"{stem}.rnnm", "dtype": {d for _, d, _ in tensors}.pop(), "architecture": description,
                 "output": meta["model"]["output"], "outputs_per_step": per_step}
        # PyTorch's float64 forward from the file's own tensors; its binary32 forward for the measurement.
        mods64 = torch_modules(model, torch.float64)
        if mods64 is None:
            entry["torch_float64"] = "not expressible (gru reset \"before\"): rnnm.py alone gives the expected values"
        else:
            with torch.no_grad():
                x64 = [s.double() for s in x32]
                single = [o.numpy() for o in torch_forward(mods64, x64, packed=False)]
                packed = [o.numpy() for o in torch_forward(mods64, x64, packed=True)]
                mods32 = torch_modules(model, torch.float32)
                single32 = [o.numpy() for o in torch_forward(mods32, x32, packed=False)]
            d_single, _ = difference(single, outputs, TOLERANCE["binary64"])
            d_packed, _ = difference(packed, outputs, TOLERANCE["binary64"])
            d32, ratio32 = difference(single32, outputs, TOLERANCE["binary32"])
            assert d_single < 1e-12 and d_packed < 1e-12, f"{stem}: torch float64 differs by {d_single}, packed {d_packed}"
            entry["torch_float64"] = f"max |torch - expected| {d_single:.1e} per sequence, {d_packed:.1e} packed"
            entry["torch_float32"] = f"max |torch - expected| {d32:.1e} ({ratio32:.4f} x the binary32 tolerance)"
            report[stem] = (d_single, d_packed, d32, ratio32)
        manifest["models"].append(entry)
        manifest["cases"].append(case)
        if verbose:
            r = report.get(stem)
            print(f"{stem:16s} {len(data):6d} bytes  " + (f"torch f64 {r[0]:.1e} / packed {r[1]:.1e}; torch f32 max abs "
                                                          f"{r[2]:.2e} ({r[3]:.4f} x tolerance)" if r else "not in torch"))
    teeth(directory, files, verbose)
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        f.write(text)
    return report


def teeth(directory: str, files: dict, verbose: bool):
    """The tolerance has teeth: a plausible implementation mistake moves some output far beyond it."""
    lens, bound = files["lengths.npy"], TOLERANCE["binary32"]["absolute"]

    def outputs(stem, edit):
        data = open(os.path.join(directory, f"{stem}.rnnm"), "rb").read()
        model = rnnm.load(data)
        x = files[f"features-{model.input['width']}.npy"]
        seqs = [x[n, :t] for n, t in enumerate(lens)]
        before = rnnm.forward_features(model, seqs)
        edit(model)
        return max(float(np.abs(a - b).max()) for a, b in zip(before, rnnm.forward_features(model, seqs)))

    def swap_directions(m):
        for layer in m.layers:
            if layer.get("direction") == "bidirectional":
                for k in ("w_ih", "w_hh", "b_ih", "b_hh"):
                    layer[k], layer[k + "_reverse"] = layer[k + "_reverse"], layer[k]

    def scale_zero_std(m):  # dividing by a zero std's replacement 1 forgotten: treat std 0 as tiny
        std = m.tensors[m.input["std"]].values
        std[std == 0] = np.float32(0.5)

    mistakes = [("gru-after", "reset \"before\" instead of \"after\"",
                 lambda m: m.layers[0].update(reset="before")),
                ("gru-before", "reset \"after\" instead of \"before\"", lambda m: m.layers[0].update(reset="after")),
                ("bilstm", "the two directions' tensors swapped", swap_directions),
                ("gru-after", "no standardization", lambda m: [m.input.pop("mean"), m.input.pop("std")]),
                ("gru-after", "a zero std divided as 0.5", scale_zero_std)]
    for stem, what, edit in mistakes:
        bites(stem, what, outputs(stem, edit), bound, verbose)


def bites(stem: str, what: str, moved: float, bound: float, verbose: bool):
    """A mistake must move some output by more than 10 x the tolerance."""
    assert moved > 10 * bound, f"{stem}: {what} moves the outputs by only {moved}"
    if verbose:
        print(f"teeth: {stem}, {what}: outputs move by up to {moved:.3g} ({moved / bound:.0f} x the tolerance)")


def main(argv) -> int:
    return cli(argv, os.path.join(ROOT, "fixtures", "golden", "v1.2"), generate)


def cli(argv, default_target: str, generate_into, siblings=()) -> int:
    """`[--check] [OUTPUT_DIRECTORY]`: writes the set, or regenerates it into a temporary directory (next
    to links to the `siblings` directories of the target, for sets that read another set's inputs) and
    compares byte for byte."""
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    target = args[0] if args else default_target
    if not check:
        generate_into(target)
        total = sum(os.path.getsize(os.path.join(target, f)) for f in os.listdir(target))
        print(f"{target}: {len(os.listdir(target))} files, {total} bytes")
        return 0
    with tempfile.TemporaryDirectory() as parent:
        for name in siblings:
            os.symlink(os.path.join(os.path.dirname(os.path.abspath(target)), name), os.path.join(parent, name))
        tmp = os.path.join(parent, os.path.basename(os.path.normpath(target)))
        generate_into(tmp, verbose=False)
        return report_stale(tmp, target)


def report_stale(regenerated: str, target: str) -> int:
    """Compares a regenerated directory with the committed one byte for byte; prints what differs."""
    stale = [f for f in sorted(set(os.listdir(regenerated)) | set(os.listdir(target)))
             if not os.path.exists(os.path.join(target, f)) or not os.path.exists(os.path.join(regenerated, f))
             or open(os.path.join(regenerated, f), "rb").read() != open(os.path.join(target, f), "rb").read()]
    for f in stale:
        print(f"stale: {target}/{f}")
    print("ok" if not stale else f"{len(stale)} stale files: regenerate and review the diff")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
