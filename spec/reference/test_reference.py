#!/usr/bin/env python3
"""Tests for the Python reference reader (plain script; prints `N passed, M failed`).

1. fixtures/models/manifest.json (if present): every good file loads; forward on synthetic
   inputs gives finite logits, probabilities summing to 1, and agrees with an independent
   float32 implementation within the tolerance derived in `TOLERANCE` below.
2. fixtures/corrupt/manifest.json (if present): every bad file is refused with exactly its class.
3. Always: files crafted here from the spec with write_min.py, good and bad.
4. The int8 evaluation of §6.6 (run_int8_evaluation): the activation quantizer by hand and against the
   writer's §4.1 rule, the int8 fixtures against the float evaluation and against an independent binary32
   int8 evaluation (layers_f32(..., "int8")), the one-step error bound, margins, the CLI, wrong variants.
"""
from __future__ import annotations

import copy
import json
import os
import struct
import sys
import traceback

import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rnnm  # noqa: E402
import write_min as w  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
results = {"passed": 0, "failed": 0}


def check(name: str, condition: bool, detail: str = ""):
    if condition:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))


# --- An independent float32 forward pass ---------------------------------------------------------
# Deliberately different code from rnnm.run_sequence: per-gate weight blocks, lists of step vectors,
# binary32 arithmetic throughout.

def _sig32(v):
    with np.errstate(over="ignore"):
        return (np.float32(1) / (np.float32(1) + np.exp(-v))).astype(np.float32)


def _round_half_even32(y):
    """roundTiesToEven of binary32 values, spelled out (floor, then the fraction compared with 1/2)."""
    fl = np.floor(y)
    frac = y - fl  # exact for |y| < 2^23
    return fl + ((frac > 0.5) | (frac == 0.5) & (np.fmod(fl, 2) != 0))


def _quantize32(v):
    """§6.6 activation quantization of one vector, written again from the spec: binary32 throughout."""
    f32 = np.float32
    v = np.asarray(v, f32)
    s = f32(np.max(np.abs(v)) / f32(127))
    s = f32(1) if s == 0 else s
    return np.clip(_round_half_even32((v / s).astype(f32)), -127, 127).astype(np.int32), s


def int8_qualifies(model: rnnm.Model, layer: dict) -> bool:
    """§6.6 *Which layers*, written again: lstm or gru "after" with every w_ih / w_hh (reverse too) int8."""
    suffixes = ("", "_reverse") if layer.get("direction") == "bidirectional" else ("",)
    return (layer["type"] == "lstm" or layer["type"] == "gru" and layer["reset"] == "after") and \
        all(model.tensors[layer[k + sfx]].dtype == "int8" for k in ("w_ih", "w_hh") for sfx in suffixes)


def _cell_f32(layer, get, suffix, steps, int8=None):
    """One direction of a recurrent layer over a list of float32 step vectors; returns h per step.
    int8: None (the float evaluation) or the Tensors (w_ih, w_hh) of this direction for §6.6's int8
    evaluation: int32 dot products of the stored integers, then (s_x S[c]) A[c] in binary32."""
    f32, H = np.float32, layer["hidden_size"]
    A, R, b1, b2 = (get(k + suffix) for k in ("w_ih", "w_hh", "b_ih", "b_hh"))
    b2 = np.zeros_like(b1) if b2 is None else b2
    gates = 4 if layer["type"] == "lstm" else 3
    blk = lambda m, k: m[k * H:(k + 1) * H]  # noqa: E731
    if int8 is None:
        Ax = lambda k, v: blk(A, k) @ v  # noqa: E731
        Rh = lambda k, v: blk(R, k) @ v  # noqa: E731
    else:
        def int8_product(t):
            Q, S = t.raw_int8.reshape(t.shape).astype(np.int32), t.scales

            def product(k, v):
                q, s = _quantize32(v)
                return ((blk(S, k) * s).astype(f32) * (blk(Q, k) @ q).astype(f32)).astype(f32)
            return product
        Ax, Rh = int8_product(int8[0]), int8_product(int8[1])
    h, c, out = np.zeros(H, f32), np.zeros(H, f32), []
    for x in steps:
        if layer["type"] == "lstm":
            pre = [(Ax(k, x) + Rh(k, h) + (blk(b1, k) + blk(b2, k))).astype(f32) for k in range(gates)]
            i, f, g, o = _sig32(pre[0]), _sig32(pre[1]), np.tanh(pre[2]), _sig32(pre[3])
            c = (f * c + i * g).astype(f32)
            h = (o * np.tanh(c)).astype(f32)
        else:
            r = _sig32((Ax(0, x) + blk(b1, 0) + Rh(0, h) + blk(b2, 0)).astype(f32))
            z = _sig32((Ax(1, x) + blk(b1, 1) + Rh(1, h) + blk(b2, 1)).astype(f32))
            if layer["reset"] == "after":
                n = np.tanh((Ax(2, x) + blk(b1, 2) + r * (Rh(2, h) + blk(b2, 2))).astype(f32))
            else:
                n = np.tanh((Ax(2, x) + blk(b1, 2) + Rh(2, r * h) + blk(b2, 2)).astype(f32))
            h = ((f32(1) - z) * n + z * h).astype(f32)
        out.append(h)
    return out


def layers_f32(model: rnnm.Model, seq: list, evaluation: str = "float"):
    """The layers over a list of float32 step vectors: a vector [K], or a list of [K] per step.
    evaluation "int8": the layers that qualify (int8_qualifies) run §6.6's int8 evaluation."""
    f32, vec = np.float32, None
    layers, chain = model.layers, []  # chain: the activation-free dense layers not yet applied (int8 folds them)
    for index, layer in enumerate(layers):
        get = lambda k: model.tensors[layer[k]].values if layer.get(k) else None  # noqa: E731
        ahead = next((later for later in layers[index:] if not (later["type"] == "dense" and later["activation"] == "none")), None)
        if (evaluation == "int8" and layer["type"] == "dense" and layer["activation"] == "none" and ahead is not None
                and int8_qualifies(model, ahead)):
            chain.append(layer)  # §6.6: folded into the int8 layer after the chain, written again here
            continue
        if layer["type"] == "dense":
            W, b = get("weight"), get("bias")
            b = np.zeros(W.shape[0], f32) if b is None else b
            act = {"none": lambda v: v, "relu": lambda v: np.maximum(v, f32(0)), "tanh": np.tanh}[layer["activation"]]
            apply = lambda v: act((W @ v + b).astype(f32))  # noqa: E731
            if vec is None:
                seq = [apply(v) for v in seq]
            else:
                vec = apply(vec)
        elif layer["type"] == "embedding":
            raise ValueError("layers_f32 runs image and features models")
        elif layer["type"] == "conv1d":  # since 1.4: the naive per-step sum, in binary32
            x = np.stack(seq) if seq else np.zeros((0, layer["in_channels"]), f32)
            y = naive_conv1d(x, get("weight"), get("bias"), layer["stride"], layer["padding"], f32)
            seq = list(_act32(layer["activation"], y))
        elif layer["type"] == "pool" and not seq:  # T' = 0 after a conv1d: zeros (§6.1)
            vec = np.zeros(layer["size"], f32)
        elif layer["type"] == "pool":  # binary32: a running sum in t order / T, or the column maximum
            if layer["mode"] == "mean":
                total = np.zeros(layer["size"], f32)
                for v in seq:
                    total = (total + v).astype(f32)
                vec = (total / f32(len(seq))).astype(f32)
            else:
                vec = np.max(np.stack(seq), axis=0)
        else:
            int8 = evaluation == "int8" and int8_qualifies(model, layer)
            tensors = lambda sfx: (model.tensors[layer["w_ih" + sfx]], model.tensors[layer["w_hh" + sfx]]) if int8 else None  # noqa: E731
            if chain:  # u = M x + v in float64, then W_ih' = W_ih M quantized per row, b_ih' = W_ih v + b_ih
                M = np.eye(chain[0]["in_size"] if "in_size" in chain[0] else model.tensors[chain[0]["weight"]].shape[1])
                v = np.zeros(M.shape[0])
                for d in chain:
                    W = model.tensors[d["weight"]].values.astype(np.float64)
                    b = np.zeros(W.shape[0]) if d.get("bias") is None else model.tensors[d["bias"]].values.astype(np.float64)
                    M, v = W @ M, W @ v + b
                base_get, base_tensors = get, tensors

                def folded(sfx):
                    A = model.tensors[layer["w_ih" + sfx]].values.astype(np.float64)
                    rows = [_quantize32((A @ M)[r]) for r in range(A.shape[0])]
                    Q = np.stack([q for q, _ in rows]).astype(np.int8)
                    S = np.array([s for _, s in rows], np.float32)
                    shim = types.SimpleNamespace(raw_int8=Q.reshape(-1), shape=Q.shape, scales=S, values=(A @ M).astype(np.float32))
                    b1 = base_get("b_ih" + sfx)
                    bias = (A @ v + (0 if b1 is None else b1.astype(np.float64))).astype(np.float32)
                    return shim, bias

                def get(k, base=base_get):  # noqa: F811
                    for sfx in ("_reverse", ""):
                        if k == "w_ih" + sfx:
                            return folded(sfx)[0].values
                        if k == "b_ih" + sfx:
                            return folded(sfx)[1]
                    return base(k)
                tensors = lambda sfx: (folded(sfx)[0], base_tensors(sfx)[1])  # noqa: E731
                chain = []
            fwd = _cell_f32(layer, get, "", seq, tensors(""))
            zero = np.zeros(layer["hidden_size"], f32)  # h[-1] = 0: the "last" of no steps (T' = 0)
            if layer.get("direction") == "bidirectional":
                bwd = _cell_f32(layer, get, "_reverse", seq[::-1], tensors("_reverse"))[::-1]
                out = [np.concatenate([a, b]) for a, b in zip(fwd, bwd)]
                last = np.concatenate([fwd[-1], bwd[0]]) if seq else np.concatenate([zero, zero])
            else:
                out, last = fwd, (fwd[-1] if seq else zero)
            if layer["return"] == "last":
                vec = last
            else:
                seq = out
    if vec is not None:
        return vec
    return np.stack(seq) if seq else np.zeros((0, len(model.labels)), f32)


def _act32(name, v):
    f32 = np.float32
    return {"none": lambda v: v, "relu": lambda v: np.maximum(v, f32(0)), "tanh": np.tanh}[name](v).astype(v.dtype)


# --- Independent naive convolutions (format 1.4) ---------------------------------------------------
# The §6.1 sums written out once per output element, with the bounds tested instead of a padded array
# (rnnm.py pads, then sums strided slices per kernel tap): different code for the same equations.

def naive_conv2d(x, W, B, stride, padding, dtype=np.float64):
    """y[o][i][j] = B[o] + sum over c, u, v of W[o][c][u][v] * x[c][i*SH + u - PT][j*SW + v - PL], x = 0 outside."""
    x, W = np.asarray(x, dtype), np.asarray(W, dtype)
    C, H, Wd = x.shape
    O, _, KH, KW = W.shape
    (SH, SW), (PT, PL, PB, PR) = stride, padding
    H2, W2 = (H + PT + PB - KH) // SH + 1, (Wd + PL + PR - KW) // SW + 1
    y = np.zeros((O, H2, W2), dtype)
    for o in range(O):
        for i in range(H2):
            for j in range(W2):
                us = [u for u in range(KH) if 0 <= i * SH + u - PT < H]   # kernel rows over the image
                vs = [v for v in range(KW) if 0 <= j * SW + v - PL < Wd]  # kernel columns over the image
                rows, cols = [i * SH + u - PT for u in us], [j * SW + v - PL for v in vs]
                window = x[:, rows][:, :, cols]                          # [C, len(us), len(vs)]
                total = np.sum(W[o][:, us][:, :, vs] * window, dtype=dtype)
                y[o, i, j] = total + (dtype(B[o]) if B is not None else dtype(0))
    return y


def naive_maxpool2d(x, kernel, stride, padding):
    """y[c][i][j] = max of x[c][i*SH + u - PT][j*SW + v - PL] over the window positions inside the image."""
    C, H, Wd = x.shape
    (KH, KW), (SH, SW), (PT, PL, PB, PR) = kernel, stride, padding
    H2, W2 = (H + PT + PB - KH) // SH + 1, (Wd + PL + PR - KW) // SW + 1
    y = np.zeros((C, H2, W2), x.dtype)
    for c in range(C):
        for i in range(H2):
            for j in range(W2):
                y[c, i, j] = max(x[c, r, q] for r in range(i * SH - PT, i * SH - PT + KH) if 0 <= r < H
                                 for q in range(j * SW - PL, j * SW - PL + KW) if 0 <= q < Wd)
    return y


def naive_conv1d(x, W, B, stride, padding, dtype=np.float64):
    """y[t][o] = B[o] + sum over c, u of W[o][c][u] * x[t*S + u - PB][c], x = 0 outside 0 <= s < T;
    T' = floor((T + PB + PE - K) / S) + 1, or 0 when T + PB + PE < K."""
    x, W = np.asarray(x, dtype), np.asarray(W, dtype)
    T, (O, I, K), (S,), (PB, PE) = len(x), W.shape, stride, padding
    T2 = (T + PB + PE - K) // S + 1 if T + PB + PE >= K else 0
    y = np.zeros((T2, O), dtype)
    for t in range(T2):
        us = [u for u in range(K) if 0 <= t * S + u - PB < T]
        steps = x[[t * S + u - PB for u in us]]                                  # [len(us), I]
        for o in range(O):
            y[t, o] = np.sum(W[o][:, us].T * steps, dtype=dtype) + (dtype(B[o]) if B is not None else dtype(0))
    return y


def image_f32(model: rnnm.Model, image: np.ndarray):
    """An image model (§6.2.3, 1.4) in binary32 with the naive layers: one vector [K]."""
    f32, inp = np.float32, model.input
    x = image.reshape(inp["channels"], inp["height"], inp["width"]).astype(f32) * f32(inp["scale"]) + f32(inp["offset"])
    for layer in model.layers:
        get = lambda k: model.tensors[layer[k]].values if layer.get(k) else None  # noqa: E731
        if layer["type"] == "conv2d":
            x = _act32(layer["activation"], naive_conv2d(x, get("weight"), get("bias"), layer["stride"],
                                                         layer["padding"], f32))
        elif layer["type"] == "maxpool2d":
            x = naive_maxpool2d(x, layer["kernel"], layer["stride"], layer["padding"])
        elif layer["type"] == "flatten":
            x = np.array([x[c, i, j] for c in range(x.shape[0]) for i in range(x.shape[1]) for j in range(x.shape[2])], f32)
        else:
            b = get("bias")
            x = _act32(layer["activation"], (get("weight") @ x + (0 if b is None else b)).astype(f32))
    return x


def synthetic_chw_images(c: int, h: int, wd: int) -> np.ndarray:
    """Deterministic u8 images [N, C, H, W]: black, white, per-channel gradients, a checkerboard, noise."""
    ch, t, j = np.meshgrid(np.arange(c), np.arange(h), np.arange(wd), indexing="ij")
    rng = np.random.default_rng(5678)
    imgs = [np.zeros((c, h, wd)), np.full((c, h, wd), 255), ((t * wd + j) * 37 + ch * 85) % 256,
            ((t + j + ch) % 2) * 255, rng.integers(0, 256, (c, h, wd))]
    return np.stack(imgs).astype(np.uint8)


def forward_f32(model: rnnm.Model, image: np.ndarray, evaluation: str = "float"):
    f32, inp = np.float32, model.input
    rows = image.reshape(inp["height"], inp["width"]).astype(f32)
    return layers_f32(model, [row * f32(inp["scale"]) + f32(inp["offset"]) for row in rows], evaluation)


def features_f32(model: rnnm.Model, source: np.ndarray, evaluation: str = "float"):
    """§6.2.2 standardization written out again: (src - mean) / (std or 1), binary32."""
    inp, steps = model.input, list(source.astype(np.float32))
    if "mean" in inp:
        mean, std = model.tensors[inp["mean"]].values, model.tensors[inp["std"]].values
        d = np.array([s if s > 0 else 1 for s in std], np.float32)
        steps = [((x - mean).astype(np.float32) / d).astype(np.float32) for x in steps]
    return layers_f32(model, steps, evaluation)


# Tolerance between the float64 and float32 logits, derived (to first order, typical case):
# - binary32 unit roundoff u = 2^-24 ~ 6.0e-8; float64 errors are ~1e-16 and negligible.
# - A dot product of length n (here n = input + hidden + 2 bias terms <= 28 + 256) rounds with an
#   error of about sqrt(n) * u * S, S = sum |w_i x_i| (rounding errors add like a random walk).
# - sigmoid and tanh are 1-Lipschitz, and c[t] = f*c[t-1] + i*g with f, i in (0, 1), so the per-step
#   errors add over the T steps rather than multiply (unless the recurrent map is expansive; worst-case
#   bounds grow like ||R||^T and are useless for a test).
# - Hence |delta logit| ~ T * sqrt(n) * u * S; with T = 28, sqrt(n) ~ 17, S <= 50 this is ~1.4e-3 at
#   the very most and ~1e-5 typically (the fixtures measure ~3e-6).
# So ATOL = 2e-3 plus RTOL = 1e-4 of |logit| for large logits. The tests also show the tolerance has
# teeth: swapping the input and forget gates (a real bug) moves the logits by far more.
ATOL, RTOL = 2e-3, 1e-4


def synthetic_images(h: int, wd: int) -> np.ndarray:
    """Deterministic u8 inputs: black, white, a gradient, a checkerboard, seeded noise."""
    t, j = np.meshgrid(np.arange(h), np.arange(wd), indexing="ij")
    rng = np.random.default_rng(1234)
    imgs = [np.zeros((h, wd)), np.full((h, wd), 255), (t * wd + j) * 37 % 256,
            ((t + j) % 2) * 255, rng.integers(0, 256, (h, wd))]
    return np.stack(imgs).astype(np.uint8).reshape(len(imgs), h * wd)


def synthetic_sequences(width: int, max_length: int) -> list:
    """Deterministic float32 feature sequences [T, width]: lengths 1, 2 and max_length among them,
    seeded normal values with a few large ones."""
    rng = np.random.default_rng(4321)
    lengths = sorted({1, min(2, max_length), max_length, max(1, max_length // 2)})
    seqs = [rng.normal(0, 1.5, (t, width)).astype(np.float32) for t in lengths]
    seqs[-1][0, 0] = np.float32(40.0)
    return seqs


def _per_step(model: rnnm.Model) -> bool:
    return rnnm.outputs_per_step(model)


def check_good_model(label: str, model: rnnm.Model):
    K, logits_model = len(model.labels), model.metadata["model"]["output"] == "logits"
    if model.input["kind"] == "tokens":  # §6.2.1: texts of different lengths, including an empty one
        texts = [b"", b"The movie was GREAT<br />great", b"don't 'bad' caf\xc3\xa9 x " * 5]
        outputs = rnnm.forward_tokens(model, [rnnm.token_ids(model, t) for t in texts])
        if _per_step(model):
            check(f"{label}: one output per token", [o.shape for o in outputs] ==
                  [(rnnm.output_length(model, len(rnnm.token_ids(model, t))), K) for t in texts])
        else:
            check(f"{label}: logits shape", outputs.shape == (len(texts), K), str(outputs.shape))
        check(f"{label}: outputs finite", all(np.isfinite(o).all() for o in outputs))
        return outputs
    if model.input["kind"] == "features":  # §6.2.2: sequences of different lengths
        seqs = synthetic_sequences(model.input["width"], model.input["max_length"])
        outputs = rnnm.forward_features(model, seqs)
        shapes = [((rnnm.output_length(model, len(s)), K) if _per_step(model) else (K,)) for s in seqs]
        check(f"{label}: output shapes", [o.shape for o in outputs] == shapes, str([o.shape for o in outputs]))
        refs = [features_f32(model, s) for s in seqs]
    elif model.input["kind"] == "image":  # since 1.4: one vector per image
        imgs = synthetic_chw_images(model.input["channels"], model.input["height"], model.input["width"])
        outputs = list(rnnm.forward_images(model, imgs))
        check(f"{label}: output shapes", all(o.shape == (K,) for o in outputs), str(outputs[0].shape))
        refs = [image_f32(model, im) for im in imgs]
    else:
        imgs = synthetic_images(model.input["height"], model.input["width"])
        outputs = list(rnnm.forward(model, imgs))
        shape = (rnnm.output_length(model, model.input["height"]), K) if _per_step(model) else (K,)
        check(f"{label}: output shapes", all(o.shape == shape for o in outputs), str(outputs[0].shape))
        refs = [forward_f32(model, im) for im in imgs]
    check(f"{label}: outputs finite", all(np.isfinite(o).all() for o in outputs))
    if logits_model:
        probs = [rnnm.softmax(o) for o in outputs]
        check(f"{label}: probabilities sum to 1", all(np.allclose(p.sum(axis=-1), 1, atol=1e-12) for p in probs))
    err = max(float(np.abs(np.asarray(r, np.float64) - o).max(initial=0)) for r, o in zip(refs, outputs))
    ok = all((np.abs(np.asarray(r, np.float64) - o) <= ATOL + RTOL * np.abs(o)).all() for r, o in zip(refs, outputs))
    check(f"{label}: float64 vs float32 within tolerance", ok, f"max error {err:.3g}")
    results.setdefault("max_err", []).append(err)
    return outputs


def load_good(label: str, data):
    """The model of a file that must load (a check either way); None when it does not."""
    try:
        model = rnnm.load(data)
    except rnnm.FormatError as e:
        check(f"{label}: loads", False, str(e))
        return None
    check(f"{label}: loads", True)
    return model


def expect_error(label: str, data, expected: str):
    try:
        rnnm.load(data)
    except rnnm.FormatError as e:
        check(f"{label}: class", e.error_class == expected, f"expected {expected}, got {e.error_class}: {e.message}")
        return e.error_class, e.message
    except Exception as e:  # a crash is a bug in the reader
        check(f"{label}: class", False, f"expected {expected}, crashed: {traceback.format_exc(limit=-2)}")
        return "crash", repr(e)
    check(f"{label}: class", False, f"expected {expected}, file loaded")
    return "ok", ""


# --- Fixture corpora -----------------------------------------------------------------------------

def manifest_entries(path: str):
    with open(path) as f:
        m = json.load(f)
    if isinstance(m, dict):
        m = next((v for v in m.values() if isinstance(v, list)), [])
    return [e if isinstance(e, dict) else {"file": e} for e in m]


def check_canonical(label: str, buf: bytes, model: rnnm.Model):
    """The Swift writer is canonical: §6.4 JSON bytes, §5 data layout in table order."""
    raw = rnnm._payload(buf, next(s for s in model.sections if s.kind == rnnm.KIND_METADATA), "metadata")
    check(f"{label}: metadata is canonical JSON (§6.4)", w.canonical_json(json.loads(raw)) == raw)
    pos, ok = 0, True
    for t in model.tensors.values():
        pos = rnnm.align64(pos)
        ok &= t.data_offset == pos
        pos += t.data_size
        if t.dtype == "int8":
            pos = rnnm.align64(pos)
            ok &= t.scale_offset == pos
            pos += t.scale_size
    check(f"{label}: tensor data in canonical layout (§5)", ok)


def check_quantization(folder: str):
    """If the corpus has tiny-h4 (f32) and tiny-{f16,bf16,int8} with the same weights, the stored
    quantized bytes must equal this script's §4.1 quantization of the f32 weights, bit for bit."""
    base_path = os.path.join(folder, "tiny-h4.rnnm")
    if not os.path.exists(base_path):
        return
    base = rnnm.load(base_path)
    for dtype in ("f16", "bf16", "int8"):
        path = os.path.join(folder, f"tiny-{dtype}.rnnm")
        if not os.path.exists(path):
            continue
        for name, t in rnnm.load(path).tensors.items():
            if t.dtype != dtype or name not in base.tensors:
                continue
            values, scales = w.quantize(base.tensors[name].values, dtype)
            if dtype == "int8":
                same = values == t.raw_int8.tobytes() and scales == t.scales.astype("<f4").tobytes()
            else:
                same = values == w.quantize(t.values, dtype)[0]  # f16/bf16 values round-trip exactly
            check(f"tiny-{dtype} {name}: Swift quantization equals §4.1 quantization", same)


def run_fixtures():
    disagreements = []
    models = os.path.join(ROOT, "fixtures", "models", "manifest.json")
    if os.path.exists(models):
        for e in manifest_entries(models):
            path = os.path.join(os.path.dirname(models), e["file"])
            try:
                model = rnnm.load(path)
            except Exception as ex:
                cls = getattr(ex, "error_class", "crash")
                check(f"fixture {e['file']}: loads", False, f"{cls}: {ex}")
                disagreements.append((e["file"], "ok", cls, str(ex)))
                continue
            check(f"fixture {e['file']}: loads", True)
            check_good_model(f"fixture {e['file']}", model)
            check_canonical(f"fixture {e['file']}", open(path, "rb").read(), model)
        check_quantization(os.path.dirname(models))
    else:
        print(f"note: {models} not present; skipped")
    corrupt = os.path.join(ROOT, "fixtures", "corrupt", "manifest.json")
    if os.path.exists(corrupt):
        for e in manifest_entries(corrupt):
            path = os.path.join(os.path.dirname(corrupt), e["file"])
            with open(path, "rb") as f:
                data = f.read()
            got, msg = expect_error(f"corrupt {e['file']}", data, e["error"])
            if got != e["error"]:
                disagreements.append((e["file"], e["error"], got, msg))
    else:
        print(f"note: {corrupt} not present; skipped")
    for d in disagreements:
        print("DISAGREE file={} expected={} got={} message={}".format(*d))


# --- Files crafted from the spec ------------------------------------------------------------------

def run_crafted():
    rng = np.random.default_rng(7)
    base_meta, base_tensors = w.tiny_model(rng)
    base = w.write(base_meta, base_tensors)

    good = {
        "base": base,
        "stacked+dense": w.write(*w.tiny_model(rng, stacked=True, dense_before=True, hidden_dense=True)),
        "f16/bf16/int8": w.write(*w.tiny_model(rng, dtypes=["f16", "bf16", "int8", "int8", "f32", "bf16", "int8"])),
        "zstd": w.write(base_meta, base_tensors, codec=(1, 1, 1)),
        "no biases": w.write(*w.tiny_model(rng, omit_bias=True, omit_b_hh=True)),
        "28x28 mnist-like": w.write(*w.tiny_model(rng, height=28, width=28, hidden=64, classes=10)),
    }
    fwd = copy.deepcopy(base_meta)
    fwd["future_member"] = {"x": [1, 2]}
    fwd["model"]["layers"][0]["future"] = True
    good["forward compatible"] = w.write(fwd, base_tensors, minor=3,
                                         extra_sections=[(77, 0, 0, 5, b"hello")])
    # Clarifications in 1.1 (FORMAT.md §11): what an independent reader had to guess.
    signs = copy.deepcopy(base_meta)
    signs["input"]["scale"], signs["input"]["offset"] = -1 / 255, 1
    good["negative scale"] = w.write(signs, base_tensors)
    signs["input"]["scale"], signs["input"]["offset"] = 0, -3.5
    good["zero scale, negative offset"] = w.write(signs, base_tensors)
    good["format_minor 0 < min_reader_minor 1"] = w.write(base_meta, base_tensors, minor=0, min_minor=1)
    kelvin = copy.deepcopy(base_meta)
    kelvin["future"] = {"K": 1, "\u212a": 2}  # different code points: not duplicates (no normalization)
    good["member names K and U+212A"] = w.write(kelvin, base_tensors)
    for label, data in good.items():
        model = load_good(f"crafted {label}", data)
        if model is not None:
            check_good_model(f"crafted {label}", model)

    # Dequantization is exact binary32 math (§4.1).
    m = rnnm.load(good["f16/bf16/int8"])
    t = m.tensors["lstm0.b_ih"]  # int8, rank 1: one scale per element
    check("int8 rank-1 has one scale per element", t.scales.shape == t.values.shape)
    check("int8 values are q*s in binary32", bool(np.array_equal(
        t.values, t.raw_int8.astype(np.float32) * t.scales)))
    bf = m.tensors["lstm0.w_hh"]
    check("bf16 values are f32(bits<<16)", bool((bf.values.view(np.uint32) & 0xFFFF == 0).all()))

    # The tolerance has teeth: swapping the input and forget gates must exceed it.
    m = rnnm.load(base)
    imgs = synthetic_images(m.input["height"], m.input["width"])
    before = rnnm.forward(m, imgs)
    for key in ("w_ih", "w_hh", "b_ih", "b_hh"):
        v = m.tensors[m.layers[0][key]].values
        H = m.layers[0]["hidden_size"]
        v[0:H], v[H:2 * H] = v[H:2 * H].copy(), v[0:H].copy()
    moved = np.abs(rnnm.forward(m, imgs) - before).max()
    check("gate swap moves logits beyond the tolerance", moved > 10 * ATOL, f"moved {moved:.3g}")

    # Bad files: (label, bytes, expected class).
    bad = []
    crc = w.fix_crc

    def header(data, offset, fmt, value, fix=True):
        b = bytearray(data)
        struct.pack_into(fmt, b, offset, value)
        return crc(bytes(b)) if fix else bytes(b)

    def meta_edit(fn, **kw):
        meta = copy.deepcopy(base_meta)
        fn(meta)
        return w.write(meta, base_tensors, **kw)

    def table_edit(index, offset, fmt, value):
        return w.write(base_meta, base_tensors,
                       table_hook=lambda t: struct.pack_into(fmt, t, 8 + 128 * index + offset, value))

    bad += [("empty", b"", "truncated"), ("magic prefix", rnnm.MAGIC[:5], "truncated"),
            ("text", b"hello world, not a model", "not_a_model"), ("short text", b"abc", "not_a_model"),
            ("header cut", base[:40], "truncated"),
            ("major 2", header(base, 8, "<H", 2, fix=False), "unsupported_version"),
            ("cut tail", base[:-10], "truncated"), ("extra byte", base + b"\0", "malformed"),
            ("flipped byte", base[:200] + bytes([base[200] ^ 1]) + base[201:], "corrupted"),
            ("end magic", base[:-1] + b"X", "corrupted"),
            ("min reader 1.5", header(base, 14, "<H", 5), "unsupported_version"),
            ("min reader major 2", header(base, 12, "<H", 2), "unsupported_version"),
            ("feature bit 9", header(base, 16, "<Q", 1 << 9), "unsupported_feature"),
            ("header reserved", header(base, 40, "<I", 1), "malformed"),
            ("17 sections", header(base, 32, "<I", 17), "limit_exceeded"),
            ("0 sections", header(base, 32, "<I", 0), "malformed"),
            ("section reserved", header(base, 64 + 40, "<I", 1), "malformed"),
            ("section flags bit 1", header(base, 64 + 6, "<H", 3), "malformed"),
            ("metadata not required", header(base, 64 + 6, "<H", 0), "malformed"),
            ("codec 5", header(base, 64 + 4, "<H", 5), "unsupported_feature"),
            ("unaligned offset", header(base, 64 + 8, "<Q", 256 + 8), "malformed"),
            ("size mismatch", header(base, 64 + 24, "<Q", 10), "malformed"),
            ("required unknown section", w.write(base_meta, base_tensors, extra_sections=[(9, 0, 1, 3, b"abc")]),
             "unsupported_feature"),
            ("metadata over 4 MiB", header(header(base, 64 + 24, "<Q", 5 << 20, fix=False), 64 + 16, "<Q", 5 << 20),
             "limit_exceeded"),
            ("zstd bit without zstd", w.write(base_meta, base_tensors, features=1), "malformed"),
            ("f16 without bit", w.write(*w.tiny_model(np.random.default_rng(1), dtypes=["f16"]), features=0),
             "malformed"),
            ("int8 bit unused", w.write(base_meta, base_tensors, features=8), "malformed"),
            ("invalid json", w.write(base_meta, base_tensors, meta_bytes=b'{"format":"rnnm",'), "malformed"),
            ("json NaN", w.write(base_meta, base_tensors, meta_bytes=w.canonical_json(base_meta)
                                 .replace(b'"offset":0', b'"offset":NaN')), "malformed"),
            ("json duplicate", w.write(base_meta, base_tensors, meta_bytes=w.canonical_json(base_meta)
                                       .replace(b'{"format":"rnnm"', b'{"format":"rnnm","format":"rnnm"')), "malformed"),
            ("json BOM", w.write(base_meta, base_tensors, meta_bytes=b"\xef\xbb\xbf" + w.canonical_json(base_meta)),
             "malformed"),
            ("json depth 40", meta_edit(lambda m: m["provenance"].update(deep=json.loads("[" * 40 + "]" * 40))),
             "limit_exceeded"),
            ("json top-level array", w.write(base_meta, base_tensors, meta_bytes=b"[]"), "malformed"),
            ("format not rnnm", meta_edit(lambda m: m.update(format="xyz")), "malformed"),
            ("unknown layer type", meta_edit(lambda m: m["model"]["layers"][0].update(type="conv3d")),
             "unsupported_feature"),
            ("unknown input kind", meta_edit(lambda m: m["input"].update(kind="audio")), "unsupported_feature"),
            ("height 0", meta_edit(lambda m: m["input"].update(height=0)), "malformed"),
            ("gate order", meta_edit(lambda m: m["model"]["layers"][0].update(gate_order="iofc")), "unsupported_feature"),
            ("unpadded trailer", w.write(base_meta, base_tensors, codec=(1, 1, 1), pad_trailer=False),
             "malformed"),
            ("one label", meta_edit(lambda m: m.update(labels=["a"])), "malformed"),
            ("labels count", meta_edit(lambda m: m.update(labels=["a", "b"])), "malformed"),
            ("long label", meta_edit(lambda m: m["labels"].__setitem__(0, "x" * 257)), "limit_exceeded"),
            ("65 layers", meta_edit(lambda m: m["model"]["layers"].extend([{}] * 64)), "limit_exceeded"),
            ("no layers", meta_edit(lambda m: m["model"].update(layers=[])), "malformed"),
            ("duplicate layer name", meta_edit(lambda m: m["model"]["layers"][1].update(name="lstm0")), "malformed"),
            # Since 1.2 a last lstm may return "sequence" (per-step outputs), but a file that does must
            # say min_reader_minor 2 (§3, §7 step 8): a 1.1 reader would read it with another meaning.
            ("sequence lstm last, min reader 1.1", meta_edit(lambda m: m["model"]["layers"][0].update({"return": "sequence"}),
                                                              min_minor=1), "malformed"),
            ("missing tensor", meta_edit(lambda m: m["model"]["layers"][1].update(bias="nope")), "malformed"),
            ("unreferenced tensor", meta_edit(lambda m: m["model"]["layers"][1].pop("bias")), "malformed"),
            ("shape mismatch", meta_edit(lambda m: m["model"]["layers"][0].update(input_size=5)), "shape_mismatch"),
            ("width mismatch", meta_edit(lambda m: m["input"].update(width=5)), "malformed"),
            ("table count 0", table_edit(0, -8, "<I", 0), "malformed"),
            ("table count 2000", table_edit(0, -8, "<I", 2000), "limit_exceeded"),
            ("dtype 9", table_edit(0, 64, "<B", 9), "unsupported_feature"),
            ("rank 5", table_edit(0, 65, "<B", 5), "limit_exceeded"),
            ("dim too large", table_edit(0, 68, "<I", 1 << 25), "limit_exceeded"),
            ("unused dim", table_edit(0, 80, "<I", 1), "malformed"),
            ("bad name char", table_edit(0, 0, "<B", ord("/")), "malformed"),
            ("data_size wrong", table_edit(0, 96, "<Q", 4), "malformed"),
            ("data_offset outside", table_edit(0, 88, "<Q", 1 << 20), "malformed"),
            ("overlap", table_edit(1, 88, "<Q", 0), "malformed"),
            ("data gap nonzero", w.write(base_meta, base_tensors, data_hook=lambda d: d.__setitem__(len(d) - 1, 1)),
             "malformed"),
            ("NaN weight", w.write(base_meta, [(n, d, np.where(n == "out.b", np.nan, a).astype(np.float32))
                                               for n, d, a in base_tensors]), "invalid_tensor"),
        ]
    int8_meta, int8_tensors = w.tiny_model(np.random.default_rng(3), dtypes=["int8"])
    bad.append(("int8 zero scale", w.write(int8_meta, int8_tensors,
                                           data_hook=lambda d: struct.pack_into("<f", d, 64 * ((12 * 4 + 63) // 64), 0.0)),
                "invalid_tensor"))
    bad.append(("int8 -128", w.write(int8_meta, int8_tensors, data_hook=lambda d: d.__setitem__(0, 0x80)), "invalid_tensor"))
    zbad = bytearray(w.write(base_meta, base_tensors, codec=(1, 0, 0)))
    struct.pack_into("<Q", zbad, 64 + 24, struct.unpack_from("<Q", zbad, 64 + 24)[0] + 1)
    bad.append(("zstd declared size != size", w.fix_crc(bytes(zbad)), "malformed"))
    for label, data, expected in bad:
        expect_error(f"crafted bad {label}", data, expected)


def run_crafted_12():
    """Format 1.2 (§6.1 gru and *Direction*, §6.2.2 features, §6.5 outputs): good files and one
    file per rule, each with the class the spec assigns."""
    rng = np.random.default_rng(12)
    fm = w.features_model
    good = {
        "1.2 gru after": fm(rng, cells=[("gru", 5, {})]),
        "1.2 gru before, no b_hh": fm(rng, cells=[("gru", 4, {"reset": "before", "b_hh": False})]),
        "1.2 bidirectional lstm": fm(rng, cells=[("lstm", 3, {"bidirectional": True})]),
        "1.2 bidirectional gru before, no b_hh": fm(rng, cells=[("gru", 3, {"bidirectional": True, "reset": "before",
                                                                           "b_hh": False})]),
        "1.2 stacked lstm -> bigru -> gru, dense head": fm(rng, width=5, cells=[
            ("lstm", 4, {}), ("gru", 3, {"bidirectional": True}), ("gru", 4, {})], head=[6]),
        "1.2 per-step gru": fm(rng, cells=[("gru", 4, {"ret": "sequence"})]),
        "1.2 per-step bidirectional lstm, dense head": fm(rng, cells=[("lstm", 3, {"ret": "sequence", "bidirectional": True})],
                                                          head=[5]),
        "1.2 values, one label": fm(rng, cells=[("lstm", 4, {})], classes=1, output="values"),
        "1.2 values per step": fm(rng, cells=[("gru", 4, {"ret": "sequence"})], classes=2, output="values"),
        "1.2 features without standardization": fm(rng, standardize=False),
        "1.2 features, a zero std": fm(rng, zero_std=True),
        "1.2 features max_length 1": fm(rng, max_length=1),
        "1.2 f16 (mean/std too)": fm(rng, dtype="f16", cells=[("gru", 3, {"bidirectional": True})]),
        "1.2 int8 (mean/std too)": fm(rng, dtype="int8", cells=[("lstm", 3, {"bidirectional": True})]),
    }
    t = w.Tensors(rng)
    layers = [w.recurrent_layer(t, "gru", "gru0", 4, 5), w.dense_layer(t, "out", 5, 3)]
    good["1.2 image rows gru"] = (w.metadata(layers, w.image_input(6, 4), ["a", "b", "c"]), t.items)
    t = w.Tensors(rng)
    layers = [w.recurrent_layer(t, "lstm", "lstm0", 4, 3, ret="sequence"), w.dense_layer(t, "out", 3, 3)]
    good["1.2 image rows per-step lstm"] = (w.metadata(layers, w.image_input(6, 4), ["a", "b", "c"]), t.items)
    t = w.Tensors(rng)
    vocabulary = ["the", "movie", "great", "bad"]
    layers = [{"type": "embedding", "name": "embed", "vocab_size": 6, "dim": 3, "weight": t.add("embed.weight", (6, 3))},
              w.recurrent_layer(t, "gru", "gru0", 3, 4, bidirectional=True), w.dense_layer(t, "out", 8, 2)]
    tokens = {"kind": "tokens", "tokenizer": "words-v1", "max_length": 8, "truncate": "start", "vocabulary": vocabulary}
    good["1.2 tokens -> bidirectional gru"] = (w.metadata(layers, tokens, ["neg", "pos"]), t.items)
    # A forward layer may say direction "forward" and carry *_reverse members: unknown members, ignored
    # (§6.1 *Direction*); nothing of 1.2 is used, so min_reader_minor stays 0.
    fwd_meta, fwd_tensors = w.tiny_model(rng)
    fwd_meta["model"]["layers"][0].update(direction="forward", w_ih_reverse="not-a-tensor", b_hh_reverse=7)
    files = {label: w.write(*mt) for label, mt in good.items()}
    files["1.2 explicit forward direction, reverse members ignored"] = w.write(fwd_meta, fwd_tensors)
    files["1.2 gru after, zstd"] = w.write(*good["1.2 gru after"], codec=(1, 1, 1))
    neg_zero_meta, neg_zero_tensors = good["1.2 features, a zero std"]
    files["1.2 features, a std of -0 (not negative: a zero std)"] = w.write(neg_zero_meta, [
        (n, d, np.where(np.arange(a.size) == 0, np.float32(-0.0), a).astype(np.float32) if n == "input.std" else a)
        for n, d, a in neg_zero_tensors])
    for label, data in files.items():
        model = load_good(f"crafted {label}", data)
        if model is not None:
            check(f"crafted {label}: min_reader_minor", model.min_reader_version[1] == w.required_minor(model.metadata))
            check_good_model(f"crafted {label}", model)
    check("explicit forward direction needs reader 1.0", rnnm.load(files["1.2 explicit forward direction, reverse "
                                                                        "members ignored"]).min_reader_version == (1, 0))

    # Each direction and each reset matters: the alternatives move the outputs beyond the tolerance.
    def moved(meta_tensors, edit):
        meta, tensors = meta_tensors
        m0 = rnnm.load(w.write(meta, tensors))
        meta2 = copy.deepcopy(meta)
        edit(meta2["model"]["layers"][0])
        m1 = rnnm.load(w.write(meta2, tensors))
        seqs = synthetic_sequences(meta["input"]["width"], meta["input"]["max_length"])
        return max(float(np.abs(a - b).max()) for a, b in zip(rnnm.forward_features(m0, seqs),
                                                                rnnm.forward_features(m1, seqs)))
    gru = good["1.2 gru after"]
    check("reset before differs from after", moved(gru, lambda l: l.update(reset="before")) > 10 * ATOL)
    bilstm = good["1.2 bidirectional lstm"]
    # Swapping the two directions' tensors reads the backward direction with the forward weights.
    def swap(l):
        for k in ("w_ih", "w_hh", "b_ih", "b_hh"):
            l[k], l[k + "_reverse"] = l[k + "_reverse"], l[k]
    check("bidirectional: swapped directions differ", moved(bilstm, swap) > 10 * ATOL)

    # "last" of a bidirectional layer is [hf[T-1], hb[0]]; per-step output t is [hf[t], hb[t]].
    meta, tensors = fm(np.random.default_rng(5), cells=[("gru", 3, {"bidirectional": True})])
    seq_meta = copy.deepcopy(meta)
    seq_meta["model"]["layers"][0]["return"] = "sequence"
    m_last, m_seq = rnnm.load(w.write(meta, tensors)), rnnm.load(w.write(seq_meta, tensors))
    m_last.layers.pop(), m_seq.layers.pop()  # drop the dense head: look at the layer's own output
    x = rnnm.standardized(m_last, synthetic_sequences(4, 6)[-1])
    last, per_step = rnnm.run_sequence(m_last, x), rnnm.run_sequence(m_seq, x)
    check("bidirectional last = [hf[T-1], hb[0]]", np.array_equal(last, np.concatenate([per_step[-1, :3], per_step[0, 3:]])))
    check("backward direction at t depends on x[t..T) only",
          np.allclose(rnnm.run_sequence(m_seq, x[2:])[:, 3:], per_step[2:, 3:], atol=0, rtol=0))

    # Standardization: two binary32 roundings (subtract, then divide), zero std -> divide by 1.
    meta, tensors = fm(np.random.default_rng(6), zero_std=True)
    m = rnnm.load(w.write(meta, tensors))
    src = synthetic_sequences(4, 6)[-1]
    mean, std = m.tensors["input.mean"].values, m.tensors["input.std"].values
    expect = np.array([[np.float32(np.float32(v - mu) / (s if s > 0 else np.float32(1)))
                        for v, mu, s in zip(row, mean, std)] for row in src])
    check("standardization in binary32, zero std divides by 1", np.array_equal(rnnm.standardized(m, src), expect))
    for bad_input in (src.astype(np.float64), src[:, :3], np.zeros((7, 4), np.float32), np.zeros((0, 4), np.float32),
                      np.full((2, 4), np.nan, np.float32)):
        try:
            rnnm.standardized(m, bad_input)
            check(f"caller error refused: {bad_input.dtype} {bad_input.shape}", False)
        except ValueError:
            check(f"caller error refused: {bad_input.dtype} {bad_input.shape}", True)

    # Bad files.
    bad = []
    base_meta, base_tensors = fm(np.random.default_rng(8), width=3, max_length=5,
                                 cells=[("gru", 2, {"bidirectional": True})], classes=2)

    def edit(fn, meta=None, tensors=None, **kw):
        m = copy.deepcopy(meta or base_meta)
        t = list(tensors or base_tensors)
        out = fn(m, t)  # may return the edited tensor list: (name, dtype, array) tuples
        if isinstance(out, list) and out and all(isinstance(x, tuple) for x in out):
            t = out
        return w.write(m, t, **kw)

    def layer(m, k=0):
        return m["model"]["layers"][k]

    def replace(tensors, name, values):
        return [(n, d, np.asarray(values, np.float32) if n == name else a) for n, d, a in tensors]

    image_gru = good["1.2 image rows gru"]
    bilstm_image = w.Tensors(np.random.default_rng(9))
    bilstm_layers = [w.recurrent_layer(bilstm_image, "lstm", "lstm0", 4, 3, bidirectional=True),
                     w.dense_layer(bilstm_image, "out", 6, 2)]
    bilstm = (w.metadata(bilstm_layers, w.image_input(5, 4), ["a", "b"]), bilstm_image.items)
    bad += [
        ("gru gate_order ifgo", edit(lambda m, t: layer(m).update(gate_order="ifgo")), "unsupported_feature"),
        ("lstm gate_order rzn", edit(lambda m, t: layer(m).update(gate_order="rzn"), *bilstm),
         "unsupported_feature"),
        ("gru reset unknown", edit(lambda m, t: layer(m).update(reset="middle")), "unsupported_feature"),
        ("gru reset missing", edit(lambda m, t: layer(m).pop("reset")), "malformed"),
        ("gru reset is a number", edit(lambda m, t: layer(m).update(reset=1)), "malformed"),
        ("gate_order before reset", edit(lambda m, t: layer(m).update(gate_order="zrn", reset=3)), "unsupported_feature"),
        ("direction unknown", edit(lambda m, t: layer(m).update(direction="backward")), "unsupported_feature"),
        ("direction null", edit(lambda m, t: layer(m).update(direction=None)), "malformed"),
        ("return before direction", edit(lambda m, t: layer(m).update({"return": "all", "direction": "x"})),
         "unsupported_feature"),
        ("bidirectional without w_hh_reverse", edit(lambda m, t: layer(m).pop("w_hh_reverse")), "malformed"),
        ("bidirectional b_hh_reverse without b_hh",
         edit(lambda m, t: [layer(m).pop("b_hh"), [x for x in t if x[0] != "gru0.b_hh"]][1]), "malformed"),
        ("bidirectional b_hh without b_hh_reverse",
         edit(lambda m, t: [layer(m).pop("b_hh_reverse"), [x for x in t if x[0] != "gru0.b_hh_reverse"]][1]), "malformed"),
        ("reverse tensor not in the table", edit(lambda m, t: layer(m).update(w_ih_reverse="nope")), "malformed"),
        ("reverse tensor named twice", edit(lambda m, t: [layer(m).update(b_ih_reverse="gru0.b_ih"),
                                                          [x for x in t if x[0] != "gru0.b_ih_reverse"]][1]), "malformed"),
        ("reverse tensor wrong shape", edit(lambda m, t: replace(t, "gru0.w_hh_reverse", np.zeros((6, 3)))), "shape_mismatch"),
        ("reverse tensor transposed", edit(lambda m, t: replace(t, "gru0.w_ih_reverse", np.zeros((3, 6)))), "shape_mismatch"),
        ("next layer takes H, not 2H", edit(lambda m, t: [layer(m, 1).update({"in": 2}),
                                                          replace(t, "out.weight", np.zeros((2, 2)))][1]), "malformed"),
        ("forward layer returns last before a recurrent layer",
         edit(lambda m, t: None, *fm(np.random.default_rng(3), cells=[("gru", 2, {"ret": "last"}), ("lstm", 2, {})])),
         "malformed"),
        ("no recurrent layer", edit(lambda m, t: [m["model"].update(layers=[layer(m, 1)]), layer(m).update({"in": 3}),
                                                  [x for x in replace(t, "out.weight", np.zeros((2, 3)))
                                                   if not x[0].startswith("gru0.")]][2]), "malformed"),
        ("features width 0", edit(lambda m, t: m["input"].update(width=0)), "malformed"),
        ("features width 65537", edit(lambda m, t: m["input"].update(width=65537)), "malformed"),
        ("features max_length 0", edit(lambda m, t: m["input"].update(max_length=0)), "malformed"),
        ("features max_length 65537", edit(lambda m, t: m["input"].update(max_length=65537)), "malformed"),
        ("features width 3.0", w.write(base_meta, base_tensors, meta_bytes=w.canonical_json(base_meta)
                                       .replace(b'"width":3', b'"width":3.0')), "malformed"),
        ("features source_dtype f64", edit(lambda m, t: m["input"].update(source_dtype="f64")), "unsupported_feature"),
        ("features source_dtype missing", edit(lambda m, t: m["input"].pop("source_dtype")), "malformed"),
        ("features width mismatch", edit(lambda m, t: m["input"].update(width=4)), "shape_mismatch"),
        ("mean without std", edit(lambda m, t: [m["input"].pop("std"), [x for x in t if x[0] != "input.std"]][1]),
         "malformed"),
        ("std without mean", edit(lambda m, t: [m["input"].pop("mean"), [x for x in t if x[0] != "input.mean"]][1]),
         "malformed"),
        ("mean is a number", edit(lambda m, t: m["input"].update(mean=1)), "malformed"),
        ("std tensor missing", edit(lambda m, t: m["input"].update(std="nope")), "malformed"),
        ("std names a layer's tensor", edit(lambda m, t: m["input"].update(std="out.bias")), "malformed"),
        ("standardization tensors unreferenced", edit(lambda m, t: [m["input"].pop("mean"), m["input"].pop("std")]),
         "malformed"),
        ("std of shape [F+1]", edit(lambda m, t: replace(t, "input.std", np.ones(4))), "shape_mismatch"),
        ("mean of shape [1, F]", edit(lambda m, t: replace(t, "input.mean", np.ones((1, 3)))), "shape_mismatch"),
        ("negative std", edit(lambda m, t: replace(t, "input.std", [1, -0.5, 2])), "invalid_tensor"),
        ("NaN std", edit(lambda m, t: replace(t, "input.std", [1, np.nan, 2])), "invalid_tensor"),
        ("negative std and min_reader_minor 1 (std checked first)",
         edit(lambda m, t: replace(t, "input.std", [1, -0.5, 2]), min_minor=1), "invalid_tensor"),
        ("negative std and a NaN weight (values first)",
         edit(lambda m, t: replace(replace(t, "input.std", [1, -0.5, 2]), "out.bias", [np.nan, 0])), "invalid_tensor"),
        ("gru, min_reader_minor 1", edit(lambda m, t: None, *image_gru, min_minor=1), "malformed"),
        ("bidirectional lstm, min_reader_minor 1", edit(lambda m, t: None, *bilstm,
                                                        min_minor=1), "malformed"),
        ("features input, min_reader_minor 1",
         edit(lambda m, t: None, *fm(np.random.default_rng(2), cells=[("lstm", 2, {})]), min_minor=1), "malformed"),
        ("values, min_reader_minor 1", edit(lambda m, t: m["model"].update(output="values"), *w.tiny_model(
            np.random.default_rng(2)), min_minor=1), "malformed"),
        ("values, min_reader_minor 0", edit(lambda m, t: m["model"].update(output="values"), *w.tiny_model(
            np.random.default_rng(2)), min_minor=0), "malformed"),
        ("min_reader_minor 5", edit(lambda m, t: None, min_minor=5), "unsupported_version"),
        ("model.output unknown", edit(lambda m, t: m["model"].update(output="probabilities")), "unsupported_feature"),
        ("model.output is a list", edit(lambda m, t: m["model"].update(output=["values"])), "malformed"),
        ("one label, logits", edit(lambda m, t: None, *fm(np.random.default_rng(4), classes=1)), "malformed"),
        ("no labels, values", edit(lambda m, t: m.update(labels=[]), *fm(np.random.default_rng(4), classes=1,
                                                                            output="values")), "malformed"),
        ("embedding with features input",
         edit(lambda m, t: [m["model"]["layers"].insert(0, {"type": "embedding", "name": "e", "vocab_size": 4, "dim": 3,
                                                           "weight": "e.weight"}),
                            t + [("e.weight", "f32", np.zeros((4, 3), np.float32))]][1]), "malformed"),
    ]
    for label, data, expected in bad:
        expect_error(f"crafted bad 1.2 {label}", data, expected)


def run_crafted_13():
    """Format 1.3 (§6.1 pool): good pooled models (checked against the float32 implementation and
    against the pooling written out by hand), padding never counted, and one bad file per rule."""
    fm = w.features_model
    rng = np.random.default_rng(31)
    good = {
        "1.3 gru + mean pool": fm(rng, cells=[("gru", 4, {})], pool="mean"),
        "1.3 bidirectional lstm + max pool, dense head": fm(rng, cells=[("lstm", 3, {"bidirectional": True})],
                                                            pool="max", head=(5,)),
        "1.3 stacked lstm -> bigru + mean pool": fm(rng, width=5, cells=[("lstm", 3, {}),
                                                                         ("gru", 2, {"bidirectional": True})], pool="mean"),
        "1.3 max pool, values": fm(rng, cells=[("gru", 3, {})], pool="max", classes=1, output="values"),
        "1.3 int8 mean pool": fm(rng, dtype="int8", cells=[("lstm", 3, {})], pool="mean"),
    }
    for label, (meta, tensors) in good.items():
        model = load_good(f"crafted {label}", w.write(meta, tensors))
        if model is not None:
            check(f"crafted {label}: min_reader_minor 3", model.min_reader_version == (1, 3))
            check_good_model(f"crafted {label}", model)
    # A 1.2 reader refuses a pooled file with "needs a reader >= 1.3".
    saved = rnnm.READER_MINOR
    rnnm.READER_MINOR = 2
    try:
        expect_error("1.2 reader refuses a pooled file", w.write(*good["1.3 gru + mean pool"]), "unsupported_version")
    finally:
        rnnm.READER_MINOR = saved

    # The pool's arithmetic, by hand, on the recurrent layer's own outputs.
    for mode in ("mean", "max"):
        meta, tensors = fm(np.random.default_rng(32), cells=[("gru", 3, {"bidirectional": True})], pool=mode)
        seq_meta = copy.deepcopy(meta)
        pooled, seq = rnnm.load(w.write(meta, tensors)), rnnm.load(w.write(seq_meta, tensors))
        pooled.layers.pop()                 # drop the dense head: look at the pool's output
        del seq.layers[1:]                  # only the recurrent layer: its per-step rows [T, 2H]
        x = rnnm.standardized(pooled, synthetic_sequences(4, 6)[-1])
        rows = rnnm.run_sequence(seq, x)
        expect = rows.mean(axis=0) if mode == "mean" else rows.max(axis=0)
        check(f"pool {mode}: over the 2H columns of every step", rows.shape[1] == 6 and
              np.allclose(rnnm.run_sequence(pooled, x), expect, rtol=0, atol=1e-15))
        # Padding never counts: a sequence of T steps pools over exactly T, whatever follows it.
        check(f"pool {mode}: a prefix pools over its own steps",
              np.allclose(rnnm.run_sequence(pooled, x[:3]), (rnnm.run_sequence(seq, x[:3]).mean(axis=0) if mode == "mean"
                                                             else rnnm.run_sequence(seq, x[:3]).max(axis=0)), atol=1e-15))

    base_meta, base_tensors = good["1.3 gru + mean pool"]

    def edit(fn, **kw):
        m = copy.deepcopy(base_meta)
        t = list(base_tensors)
        out = fn(m, t)
        return w.write(m, out if isinstance(out, list) else t, **kw)

    def pool(m):
        return m["model"]["layers"][1]

    def recurrent(m):
        return m["model"]["layers"][0]

    bad = [
        ("pool mode unknown", edit(lambda m, t: pool(m).update(mode="median")), "unsupported_feature"),
        ("pool mode is a number", edit(lambda m, t: pool(m).update(mode=1)), "malformed"),
        ("pool mode missing", edit(lambda m, t: pool(m).pop("mode")), "malformed"),
        ("pool size 0", edit(lambda m, t: pool(m).update(size=0)), "malformed"),
        ("pool size missing", edit(lambda m, t: pool(m).pop("size")), "malformed"),
        ("pool mode before size", edit(lambda m, t: pool(m).update(mode="median", size=0)), "unsupported_feature"),
        ("pool size mismatch", edit(lambda m, t: pool(m).update(size=5)), "malformed"),
        ("pool after a layer returning last", edit(lambda m, t: recurrent(m).update({"return": "last"})), "malformed"),
        ("pool first", edit(lambda m, t: m["model"]["layers"].insert(0, m["model"]["layers"].pop(1))), "malformed"),
        ("pool after the dense head",
         edit(lambda m, t: m["model"]["layers"].append(m["model"]["layers"].pop(1)), ), "malformed"),
        ("two pools", edit(lambda m, t: m["model"]["layers"].insert(2, dict(pool(m), name="pool2"))), "malformed"),
        ("pool, min_reader_minor 2", edit(lambda m, t: None, min_minor=2), "malformed"),
    ]
    for label, data, expected in bad:
        expect_error(f"crafted bad 1.3 {label}", data, expected)


def _fan_in(rng):
    """Tensor values N(0, 1/fan_in) for weights (fan_in = the product of all dims but the first), N(0, 0.1)
    for biases: activations stay of order 1 through deep stacks, as with a framework's initialization."""
    def source(name, shape):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 100
        return rng.normal(0, 1 / np.sqrt(fan_in), shape).astype(np.float32)
    return source


def lenet_model(rng, dtype="f32"):
    """The course LeNet on a 1 x 28 x 28 image: conv 5x5 pad 2 (6, relu), maxpool 2, conv 5x5 (16, relu),
    maxpool 2, flatten (16 x 5 x 5 = 400), dense 120 relu, 84 relu, 10."""
    t = w.Tensors(dtype=dtype, source=_fan_in(rng))
    layers = [w.conv2d_layer(t, "conv1", 1, 6, (5, 5), padding=(2, 2, 2, 2), activation="relu"),
              w.maxpool2d_layer("pool1", (2, 2)),
              w.conv2d_layer(t, "conv2", 6, 16, (5, 5), activation="relu"),
              w.maxpool2d_layer("pool2", (2, 2)),
              w.flatten_layer("flatten"),
              w.dense_layer(t, "fc1", 400, 120, "relu"), w.dense_layer(t, "fc2", 120, 84, "relu"),
              w.dense_layer(t, "out", 84, 10)]
    return w.metadata(layers, w.image_chw_input(1, 28, 28), [str(k) for k in range(10)]), t.items


def rgb_model(rng, dtype="f32"):
    """3 x 13 x 11, scale 2/255 offset -1: conv 3x3 stride 2 padding [1, 0, 1, 1] (5, tanh) -> 5 x 7 x 5;
    maxpool [3, 2] stride [2, 1] padding [1, 0, 1, 0] -> 5 x 4 x 4; conv [2, 3] no bias, activation none
    -> 4 x 3 x 2; flatten 24; dense 3."""
    t = w.Tensors(dtype=dtype, source=_fan_in(rng))
    layers = [w.conv2d_layer(t, "c1", 3, 5, (3, 3), (2, 2), (1, 0, 1, 1), "tanh"),
              w.maxpool2d_layer("p1", (3, 2), (2, 1), (1, 0, 1, 0)),
              w.conv2d_layer(t, "c2", 5, 4, (2, 3), bias=False),
              w.flatten_layer("flat"),
              w.dense_layer(t, "out", 24, 3)]
    inp = w.image_chw_input(3, 13, 11, scale=float(np.float32(2 / 255)), offset=-1)
    return w.metadata(layers, inp, ["red", "green", "blue"]), t.items


def crnn_model(rng, *, width=4, max_length=6, convs=((5, 3, 2, (2, 0), "relu"),), between=(), cell=("gru", 3, {}),
               pool=None, classes=3, output="logits", standardize=True):
    """A features model with conv1d layers in front of one recurrent layer: convs = [(out, kernel, stride,
    padding, activation)], `between` dense widths (tanh, per step) after them, then cell (kind, hidden,
    options), an optional pool, and the output layer."""
    t = w.Tensors(source=_fan_in(rng))
    layers, n = [], width
    for k, (out, kernel, stride, padding, act) in enumerate(convs):
        layers.append(w.conv1d_layer(t, f"conv{k}", n, out, kernel, stride, padding, act))
        n = out
    for k, out in enumerate(between):
        layers.append(w.dense_layer(t, f"step{k}", n, out, "tanh"))
        n = out
    kind, hidden, options = cell
    options = {"ret": "sequence" if pool else "last", **options}
    layers.append(w.recurrent_layer(t, kind, f"{kind}0", n, hidden, **options))
    n = hidden * (2 if options.get("bidirectional") else 1)
    if pool:
        layers.append(w.pool_layer("pool", pool, n))
    layers.append(w.dense_layer(t, "out", n, classes))
    mean = std = None
    if standardize:
        mean = t.add("input.mean", (width,), rng.normal(0, 1, width))
        std = t.add("input.std", (width,), np.abs(rng.normal(1, 0.3, width)) + 0.2)
    meta = w.metadata(layers, w.features_input(width, max_length, mean, std), [f"y{k}" for k in range(classes)], output)
    return meta, t.items


def run_crafted_14():
    """Format 1.4 (§6.1 conv2d, maxpool2d, flatten, conv1d; §6.2.3 image input): good image and CRNN
    models against the naive binary32 layers, the float64 layers against the naive formulas on random
    data, the T' = 0 cases, and one bad file per new check."""
    rng = np.random.default_rng(41)
    good = {"1.4 LeNet 1x28x28": lenet_model(rng), "1.4 RGB 3x13x11, strides, asymmetric padding": rgb_model(rng),
            "1.4 LeNet int8 (rank-4 int8 weights)": lenet_model(rng, "int8"),
            "1.4 RGB f16": rgb_model(rng, "f16")}
    t = w.Tensors(source=_fan_in(rng))  # an image model need not convolve: flatten, then dense layers
    good["1.4 image 2x3x4 -> flatten -> dense"] = (w.metadata(
        [w.flatten_layer("f"), w.dense_layer(t, "mid", 24, 5, "relu"), w.dense_layer(t, "out", 5, 2)],
        w.image_chw_input(2, 3, 4), ["a", "b"], output="logits"), t.items)
    t = w.Tensors(source=_fan_in(rng))  # a max-pool with stride 1 and padding grows the map: 5 x 5 -> 7 x 7
    good["1.4 maxpool growing the map, values"] = (w.metadata(
        [w.maxpool2d_layer("grow", (3, 3), (1, 1), (2, 2, 2, 2)), w.conv2d_layer(t, "c", 1, 2, (2, 2), (3, 3)),
         w.maxpool2d_layer("p", (1, 1)), w.flatten_layer("f"), w.dense_layer(t, "out", 2 * 2 * 2, 1)],
        w.image_chw_input(1, 5, 5, scale=-0.5, offset=7), ["value"], output="values"), t.items)
    good["1.4 conv1d (stride 2, padding [2, 0]) -> gru"] = crnn_model(rng)
    good["1.4 conv1d kernel 5 (T' = 0 for T <= 3) -> lstm"] = crnn_model(
        rng, width=3, convs=((4, 5, 1, (1, 0), "tanh"),), cell=("lstm", 3, {}))
    good["1.4 conv1d -> dense -> gru -> mean pool (T' = 0 pools to zeros)"] = crnn_model(
        rng, convs=((5, 4, 1, (0, 0), "relu"),), between=(6,), pool="mean")
    good["1.4 two conv1d -> bidirectional gru, max pool, values"] = crnn_model(
        rng, convs=((5, 3, 1, (1, 1), "none"), (4, 2, 2, (0, 1), "relu")), cell=("gru", 3, {"bidirectional": True}),
        pool="max", classes=2, output="values")
    good["1.4 conv1d stride 3 -> per-step gru"] = crnn_model(
        rng, convs=((5, 3, 3, (0, 1), "relu"),), cell=("gru", 3, {"ret": "sequence"}), standardize=False)
    t = w.Tensors(source=_fan_in(rng))
    layers = [{"type": "embedding", "name": "embed", "vocab_size": 6, "dim": 3, "weight": t.add("embed.weight", (6, 3))},
              w.conv1d_layer(t, "conv", 3, 4, 2, 1, (1, 0), "relu"),
              w.recurrent_layer(t, "lstm", "lstm0", 4, 3), w.dense_layer(t, "out", 3, 2)]
    tokens = {"kind": "tokens", "tokenizer": "words-v1", "max_length": 8, "truncate": "start",
              "vocabulary": ["the", "movie", "great", "bad"]}
    good["1.4 tokens -> embedding -> conv1d -> lstm"] = (w.metadata(layers, tokens, ["neg", "pos"]), t.items)
    t = w.Tensors(source=_fan_in(rng))
    layers = [w.conv1d_layer(t, "conv", 4, 3, 3, 2, (1, 1), "tanh"), w.recurrent_layer(t, "lstm", "lstm0", 3, 4),
              w.dense_layer(t, "out", 4, 3)]
    good["1.4 image rows -> conv1d -> lstm"] = (w.metadata(layers, w.image_input(6, 4), ["a", "b", "c"]), t.items)
    meta, tensors = lenet_model(rng)
    meta["model"]["layers"][4]["future"] = {"x": 1}  # an unknown member of a flatten layer: ignored (§6)
    good["1.4 unknown member on flatten"] = (meta, tensors)
    files = {label: w.write(*mt) for label, mt in good.items()}
    files["1.4 LeNet, zstd"] = w.write(*good["1.4 LeNet 1x28x28"], codec=(1, 1, 1))
    for label, data in files.items():
        model = load_good(f"crafted {label}", data)
        if model is not None:
            check(f"crafted {label}: min_reader_minor 4", model.min_reader_version == (1, 4)
                  and w.required_minor(model.metadata) == 4)
            check_good_model(f"crafted {label}", model)

    # A 1.3 reader refuses a 1.4 file: "needs a reader >= 1.4" (§3).
    saved = rnnm.READER_MINOR
    rnnm.READER_MINOR = 3
    try:
        expect_error("1.3 reader refuses an image model", files["1.4 LeNet 1x28x28"], "unsupported_version")
        expect_error("1.3 reader refuses a conv1d model", files["1.4 conv1d (stride 2, padding [2, 0]) -> gru"],
                     "unsupported_version")
    finally:
        rnnm.READER_MINOR = saved

    # The float64 layers equal the naive formulas on random data (strides > 1, asymmetric padding, T' = 0).
    r = np.random.default_rng(42)
    for kernel, stride, padding, shape in [((3, 2), (2, 3), (2, 1, 0, 1), (3, 9, 8)), ((1, 1), (1, 1), (0, 0, 0, 0), (2, 4, 5)),
                                           ((5, 4), (1, 2), (1, 3, 3, 0), (4, 3, 2)),  # H' = 1 over a padded 3-row map
                                           ((4, 4), (3, 3), (3, 3, 3, 3), (1, 6, 7))]:
        x, W, B = r.normal(0, 1, shape), r.normal(0, 1, (5, shape[0], *kernel)), r.normal(0, 1, 5)
        for bias in (B, None):
            got, want = rnnm.conv2d(x, W, bias, stride, padding), naive_conv2d(x, W, bias, stride, padding)
            check(f"conv2d = naive formula: kernel {kernel} stride {stride} padding {padding} bias {bias is not None}",
                  got.shape == want.shape and np.allclose(got, want, rtol=0, atol=1e-12), f"{got.shape} {want.shape}")
        got, want = rnnm.maxpool2d(x, kernel, stride, padding), naive_maxpool2d(x, kernel, stride, padding)
        check(f"maxpool2d = naive formula (exactly): kernel {kernel} stride {stride} padding {padding}",
              got.shape == want.shape and np.array_equal(got, want))
    for T, kernel, stride, padding in [(9, 3, 2, (2, 0)), (7, 4, 3, (1, 3)), (1, 1, 1, (0, 0)), (5, 5, 4, (0, 0)),
                                       (2, 4, 1, (1, 0)), (0, 2, 1, (1, 0)), (3, 6, 2, (1, 1))]:  # the last three: T' = 0
        x, W, B = r.normal(0, 1, (T, 3)), r.normal(0, 1, (4, 3, kernel)), r.normal(0, 1, 4)
        got, want = rnnm.conv1d(x, W, B, [stride], padding), naive_conv1d(x, W, B, [stride], padding)
        check(f"conv1d = naive formula: T {T} kernel {kernel} stride {stride} padding {padding} (T' {len(want)})",
              got.shape == want.shape == (rnnm.window_length(T, kernel, stride, *padding), 4)
              and np.allclose(got, want, rtol=0, atol=1e-12))
    # Max-pool padding never takes part: on a map of negative values a zero-padded max would give 0.
    neg = -1 - r.random((2, 5, 5))
    check("maxpool2d padding is never chosen", (rnnm.maxpool2d(neg, (3, 3), (2, 2), (2, 2, 2, 2)) < 0).all())

    # T' = 0: a "last" recurrent layer gives h[-1] = 0 (the output is the dense bias), a pool gives zeros
    # (the head's biases), a per-step model has no outputs.
    for label, expect in [("1.4 conv1d kernel 5 (T' = 0 for T <= 3) -> lstm", "bias"),
                          ("1.4 conv1d -> dense -> gru -> mean pool (T' = 0 pools to zeros)", "bias"),
                          ("1.4 conv1d stride 3 -> per-step gru", "empty")]:
        m = rnnm.load(files[label])
        short = [s for s in synthetic_sequences(m.input["width"], m.input["max_length"])
                 if rnnm.output_length(m, len(s)) == 0]
        outs = rnnm.forward_features(m, short) if short else []
        bias = m.tensors["out.bias"].values.astype(np.float64)
        ok = bool(short) and all(np.array_equal(o, bias) if expect == "bias" else o.shape == (0, len(m.labels)) for o in outs)
        check(f"{label}: T' = 0 gives {'the output bias' if expect == 'bias' else 'no outputs'}", ok,
              f"{len(short)} short sequences")
    check("conv1d stride 2 padding [2, 0]: T' = floor((T - 1) / 2) + 1",
          [rnnm.output_length(rnnm.load(files["1.4 conv1d (stride 2, padding [2, 0]) -> gru"]), T) for T in range(1, 8)]
          == [1, 1, 2, 2, 3, 3, 4])

    # Channel-first input and flatten order: an identity dense layer shows v[(c*H + i)*W + j] = x[c][i][j].
    t = w.Tensors()
    ident = [w.flatten_layer("f"), {"type": "dense", "name": "id", "in": 12, "out": 12, "activation": "none",
                                    "weight": t.add("id.weight", (12, 12), np.eye(12))}]
    m = rnnm.load(w.write(w.metadata(ident, w.image_chw_input(2, 2, 3, scale=1.0), [str(k) for k in range(12)]), t.items))
    src = np.arange(12, dtype=np.uint8) * 7
    check("image input and flatten are channels first", np.array_equal(rnnm.forward_images(m, src.reshape(1, 2, 2, 3))[0],
                                                                       src.astype(np.float64)))
    check("forward_images takes [N, C*H*W] too", np.array_equal(rnnm.forward_images(m, src.reshape(1, 12)),
                                                                rnnm.forward_images(m, src.reshape(1, 2, 2, 3))))
    for bad_images in (src.reshape(1, 4, 3), src.astype(np.float32).reshape(1, 2, 2, 3), src.reshape(1, 3, 2, 2)):
        try:
            rnnm.forward_images(m, bad_images)
            check(f"caller error refused: images {bad_images.dtype} {bad_images.shape}", False)
        except ValueError:
            check(f"caller error refused: images {bad_images.dtype} {bad_images.shape}", True)
    # The teeth of the tolerance: the kernel flipped (a convolution, not a cross-correlation) or the
    # flatten order taken channels last (Keras' order) moves the outputs far beyond it.
    m = rnnm.load(files["1.4 RGB 3x13x11, strides, asymmetric padding"])
    imgs = synthetic_chw_images(3, 13, 11)
    before = rnnm.forward_images(m, imgs)
    c1 = m.tensors["c1.weight"]
    c1.values = c1.values[:, :, ::-1, ::-1].copy()
    check("a flipped kernel moves the outputs beyond the tolerance", np.abs(rnnm.forward_images(m, imgs) - before).max()
          > 10 * ATOL)
    c1.values = c1.values[:, :, ::-1, ::-1].copy()
    out_w = m.tensors["out.weight"]
    out_w.values = out_w.values.reshape(3, 4, 3, 2).transpose(0, 2, 3, 1).reshape(3, 24).copy()
    check("a channels-last flatten moves the outputs beyond the tolerance", np.abs(rnnm.forward_images(m, imgs) - before)
          .max() > 10 * ATOL)

    # The CLI reads IDX image files: 3 dims for a one-channel model, 4 dims [N, C, H, W] for RGB.
    import contextlib
    import io
    import tempfile
    for label, shape in [("1.4 RGB 3x13x11, strides, asymmetric padding", (3, 13, 11)), ("1.4 LeNet 1x28x28", (28, 28))]:
        imgs = synthetic_chw_images(*((1,) * (3 - len(shape)) + shape)).reshape(-1, *shape)
        idx = b"\0\0\x08" + bytes([1 + len(shape)]) + b"".join(n.to_bytes(4, "big") for n in imgs.shape) + imgs.tobytes()
        with tempfile.TemporaryDirectory() as d:
            for name, payload in (("images.idx", idx), ("images.u8", imgs.tobytes())):
                open(os.path.join(d, "model.rnnm"), "wb").write(files[label])
                open(os.path.join(d, name), "wb").write(payload)
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    rc = rnnm.main(["forward", os.path.join(d, "model.rnnm"), "--images", os.path.join(d, name)])
                got = json.loads(out.getvalue())["logits"] if rc == 0 else None
                want = rnnm.forward_images(rnnm.load(files[label]), imgs.reshape(len(imgs), -1))
                check(f"CLI forward --images {name} ({len(shape) + 1} dims): {label}", got is not None and
                      np.array_equal(np.array(got), want))

    # --- Bad files: one per new check ----------------------------------------------------------------
    image_meta, image_tensors = rgb_model(np.random.default_rng(43))
    seq_meta, seq_tensors = crnn_model(np.random.default_rng(44))  # conv0, gru0, out; features width 4

    def edit(fn, base=(image_meta, image_tensors), **kw):
        m = copy.deepcopy(base[0])
        t = list(base[1])
        out = fn(m, t)  # may return the edited tensor list: (name, dtype, array) tuples
        if isinstance(out, list) and out and all(isinstance(x, tuple) for x in out):
            t = out
        return w.write(m, t, **kw)

    def seq(fn, **kw):
        return edit(fn, (seq_meta, seq_tensors), **kw)

    def L(m, k):
        return m["model"]["layers"][k]

    def with_layers(m, t, position, *build):
        """Inserts layers made by build(Tensors) at `position`; returns the tensor list with their tensors."""
        extra = w.Tensors(np.random.default_rng(45))
        for k, make in enumerate(build):
            m["model"]["layers"].insert(position + k, make(extra))
        return t + extra.items

    def replace(t, name, shape):
        return [(n, d, np.zeros(shape, np.float32) if n == name else a) for n, d, a in t]

    def meta_text(old: bytes, new: bytes, base=(image_meta, image_tensors)):
        text = w.canonical_json(base[0])
        assert old in text, old
        return w.write(base[0], base[1], meta_bytes=text.replace(old, new, 1))

    def wide(channels):
        """1 x 64 x 64 -> a 1x1 conv2d to `channels` maps of 64 x 64 -> a max over each -> flatten -> dense."""
        t = w.Tensors(np.random.default_rng(46))
        layers = [w.conv2d_layer(t, "wide", 1, channels, (1, 1)), w.maxpool2d_layer("all", (64, 64)),
                  w.flatten_layer("f"), w.dense_layer(t, "out", channels, 2)]
        return w.metadata(layers, w.image_chw_input(1, 64, 64), ["a", "b"]), t.items
    bad = [
        # §6.1 members of conv2d / maxpool2d / conv1d, in their order; integer arrays (§6).
        ("conv2d kernel of 1 element", edit(lambda m, t: L(m, 0).update(kernel=[3])), "malformed"),
        ("conv2d kernel of 3 elements", edit(lambda m, t: L(m, 0).update(kernel=[3, 3, 3])), "malformed"),
        ("conv2d kernel is a number", edit(lambda m, t: L(m, 0).update(kernel=3)), "malformed"),
        ("conv2d kernel 0", edit(lambda m, t: L(m, 0).update(kernel=[0, 3])), "malformed"),
        ("conv2d kernel 4097", edit(lambda m, t: L(m, 0).update(kernel=[3, 4097])), "malformed"),
        ("conv2d kernel -1", edit(lambda m, t: L(m, 0).update(kernel=[-1, 3])), "malformed"),
        ("conv2d kernel 3.0", meta_text(b'"kernel":[3,3]', b'"kernel":[3.0,3]'), "malformed"),
        ("conv2d kernel true", edit(lambda m, t: L(m, 0).update(kernel=[True, 3])), "malformed"),
        ("conv2d stride 0", edit(lambda m, t: L(m, 0).update(stride=[2, 0])), "malformed"),
        ("conv2d stride of 1 element", edit(lambda m, t: L(m, 0).update(stride=[2])), "malformed"),
        ("conv2d stride missing", edit(lambda m, t: L(m, 0).pop("stride")), "malformed"),
        ("conv2d padding of 2 elements", edit(lambda m, t: L(m, 0).update(padding=[1, 1])), "malformed"),
        ("conv2d padding top = KH", edit(lambda m, t: L(m, 0).update(padding=[3, 0, 1, 1])), "malformed"),
        ("conv2d padding right = KW", edit(lambda m, t: L(m, 2).update(padding=[0, 0, 0, 3])), "malformed"),
        ("conv2d padding 4096", edit(lambda m, t: L(m, 0).update(padding=[4096, 0, 0, 0])), "malformed"),
        ("conv2d padding null", edit(lambda m, t: L(m, 0).update(padding=None)), "malformed"),
        ("maxpool2d padding left = KW", edit(lambda m, t: L(m, 1).update(padding=[1, 2, 1, 0])), "malformed"),
        ("maxpool2d kernel missing", edit(lambda m, t: L(m, 1).pop("kernel")), "malformed"),
        ("maxpool2d stride of 4 elements", edit(lambda m, t: L(m, 1).update(stride=[1, 1, 1, 1])), "malformed"),
        ("conv2d in_channels 0", edit(lambda m, t: L(m, 0).update(in_channels=0)), "malformed"),
        ("conv2d in_channels missing", edit(lambda m, t: L(m, 0).pop("in_channels")), "malformed"),
        ("conv2d out_channels 16777217", edit(lambda m, t: L(m, 0).update(out_channels=16777217)), "malformed"),
        ("conv2d activation unknown", edit(lambda m, t: L(m, 0).update(activation="sigmoid")), "unsupported_feature"),
        ("conv2d activation missing", edit(lambda m, t: L(m, 0).pop("activation")), "malformed"),
        ("conv2d padding before activation", edit(lambda m, t: L(m, 0).update(padding=[3, 0, 1, 1], activation="gelu")),
         "malformed"),
        ("conv2d weight is a number", edit(lambda m, t: L(m, 0).update(weight=1)), "malformed"),
        ("conv2d weight missing", edit(lambda m, t: L(m, 0).pop("weight")), "malformed"),
        ("conv2d bias null", edit(lambda m, t: L(m, 0).update(bias=None)), "malformed"),
        ("conv1d kernel of 2 elements", seq(lambda m, t: L(m, 0).update(kernel=[3, 3])), "malformed"),
        ("conv1d padding of 4 elements", seq(lambda m, t: L(m, 0).update(padding=[2, 0, 0, 0])), "malformed"),
        ("conv1d padding before = K", seq(lambda m, t: L(m, 0).update(padding=[3, 0])), "malformed"),
        ("conv1d padding after = K", seq(lambda m, t: L(m, 0).update(padding=[0, 3])), "malformed"),
        ("conv1d stride 4097", seq(lambda m, t: L(m, 0).update(stride=[4097])), "malformed"),
        ("conv1d activation unknown", seq(lambda m, t: L(m, 0).update(activation="swish")), "unsupported_feature"),
        ("conv1d kernel 0 before activation unknown", seq(lambda m, t: L(m, 0).update(kernel=[0], activation="swish")),
         "malformed"),
        ("layer type conv3d", edit(lambda m, t: L(m, 0).update(type="conv3d")), "unsupported_feature"),
        # §6.2.3 image input.
        ("image channels 0", edit(lambda m, t: m["input"].update(channels=0)), "malformed"),
        ("image channels 4097", edit(lambda m, t: m["input"].update(channels=4097)), "malformed"),
        ("image channels missing", edit(lambda m, t: m["input"].pop("channels")), "malformed"),
        ("image channels 3.0", meta_text(b'"channels":3', b'"channels":3.0'), "malformed"),
        ("image height 4097", edit(lambda m, t: m["input"].update(height=4097)), "malformed"),
        ("image 2 x 4096 x 4096 values", edit(lambda m, t: m["input"].update(channels=2, height=4096, width=4096)),
         "malformed"),
        ("image source_dtype f32", edit(lambda m, t: m["input"].update(source_dtype="f32")), "unsupported_feature"),
        ("image source_dtype before channels", edit(lambda m, t: m["input"].update(source_dtype="f16", channels=0)),
         "unsupported_feature"),
        ("image scale overflows binary32", edit(lambda m, t: m["input"].update(scale=1e39)), "malformed"),
        ("image offset missing", edit(lambda m, t: m["input"].pop("offset")), "malformed"),
        # §6.1 cross-checks (a) references and (b) shapes.
        ("conv2d weight not in the table", edit(lambda m, t: L(m, 0).update(weight="nope")), "malformed"),
        ("conv2d bias unreferenced", edit(lambda m, t: L(m, 0).pop("bias")), "malformed"),
        ("maxpool2d names no tensors (its weight member is ignored)",
         edit(lambda m, t: [L(m, 1).update(weight="extra"), t + [("extra", "f32", np.zeros(1, np.float32))]][1]),
         "malformed"),
        ("conv2d weight [O, C, KW, KH]", edit(lambda m, t: replace(t, "c2.weight", (4, 5, 3, 2))), "shape_mismatch"),
        ("conv2d weight of rank 3", edit(lambda m, t: replace(t, "c1.weight", (5, 3, 9))), "shape_mismatch"),
        ("conv2d bias [O + 1]", edit(lambda m, t: replace(t, "c1.bias", (6,))), "shape_mismatch"),
        ("conv1d weight [O, K, I]", seq(lambda m, t: replace(t, "conv0.weight", (5, 3, 4))), "shape_mismatch"),
        ("shapes before architecture", edit(lambda m, t: [m["model"]["layers"].pop(3), replace(t, "c1.bias", (6,))][1]),
         "shape_mismatch"),
        # §6.1 architectural rules 1, 2a - 2d, 3, 4.
        ("image model with a recurrent layer",
         edit(lambda m, t: with_layers(m, t, 5, lambda x: w.recurrent_layer(x, "gru", "g", 3, 3),
                                       lambda x: w.dense_layer(x, "last", 3, 3))), "malformed"),
        ("conv2d in a sequence model", seq(lambda m, t: with_layers(m, t, 0, lambda x: w.conv2d_layer(x, "c", 4, 4, (1, 1)))),
         "malformed"),
        ("maxpool2d in a sequence model", seq(lambda m, t: with_layers(m, t, 1, lambda x: w.maxpool2d_layer("p", (1, 1))))
         , "malformed"),
        ("flatten in a sequence model", seq(lambda m, t: with_layers(m, t, 2, lambda x: w.flatten_layer("f"))), "malformed"),
        ("missing flatten", edit(lambda m, t: m["model"]["layers"].pop(3)), "malformed"),
        ("two flattens", edit(lambda m, t: with_layers(m, t, 4, lambda x: w.flatten_layer("flat2"))), "malformed"),
        ("dense before flatten", edit(lambda m, t: with_layers(m, t, 3, lambda x: w.dense_layer(x, "d", 2, 2))),
         "malformed"),
        ("conv2d after flatten", edit(lambda m, t: m["model"]["layers"].insert(2, m["model"]["layers"].pop(3))),
         "malformed"),
        ("flatten as the last layer", edit(lambda m, t: [m["model"]["layers"].pop(4), m.update(labels=[str(k) for k in range(24)]),
                                                         [x for x in t if not x[0].startswith("out.")]][2]), "malformed"),
        ("pool in an image model", edit(lambda m, t: with_layers(m, t, 4, lambda x: w.pool_layer("pool", "mean", 24))),
         "malformed"),
        ("embedding in an image model",
         edit(lambda m, t: with_layers(m, t, 0, lambda x: {"type": "embedding", "name": "e", "vocab_size": 4, "dim": 3,
                                                           "weight": x.add("e.weight", (4, 3))})), "malformed"),
        ("conv1d in an image model",
         edit(lambda m, t: with_layers(m, t, 4, lambda x: w.conv1d_layer(x, "c1d", 24, 24, 1))), "malformed"),
        ("conv1d after a recurrent layer",
         seq(lambda m, t: [L(m, 1).update({"return": "sequence"}),
                           with_layers(m, t, 2, lambda x: w.conv1d_layer(x, "late", 3, 3, 1),
                                       lambda x: w.recurrent_layer(x, "gru", "gru1", 3, 3))][1]), "malformed"),
        ("conv1d before the embedding of a tokens model",
         edit(lambda m, t: [m["model"]["layers"].insert(0, m["model"]["layers"].pop(1))],
              good["1.4 tokens -> embedding -> conv1d -> lstm"]), "malformed"),
        ("conv1d in_channels != the input's width",
         seq(lambda m, t: [L(m, 0).update(in_channels=5), replace(t, "conv0.weight", (5, 5, 3))][1]), "malformed"),
        ("gru input_size != conv1d out_channels",
         seq(lambda m, t: [L(m, 0).update(out_channels=6), replace(replace(t, "conv0.weight", (6, 4, 3)), "conv0.bias", (6,))][1]),
         "malformed"),
        ("conv2d in_channels != the channels it receives",
         edit(lambda m, t: [L(m, 2).update(in_channels=4), replace(t, "c2.weight", (4, 4, 2, 3))][1]), "malformed"),
        ("first conv2d in_channels != the input's channels", edit(lambda m, t: m["input"].update(channels=1)), "malformed"),
        ("dense in != the flattened width",
         edit(lambda m, t: [L(m, 4).update({"in": 23}), replace(t, "out.weight", (3, 23))][1]), "malformed"),
        ("H' < 1 (conv2d kernel taller than the padded map)",
         edit(lambda m, t: [L(m, 2).update(kernel=[5, 3]), replace(t, "c2.weight", (4, 5, 5, 3))][1]), "malformed"),
        ("W' < 1 (maxpool2d kernel wider than the map)", edit(lambda m, t: L(m, 1).update(kernel=[3, 6])), "malformed"),
        ("a feature map of 4097 x 64 x 64 values", w.write(*wide(4097)), "malformed"),
        ("labels != the last dense layer's width", edit(lambda m, t: m["labels"].append("alpha")), "malformed"),
        # §7 step 8: min_reader_minor covers the 1.4 kinds.
        ("conv2d, min_reader_minor 3", edit(lambda m, t: None, min_minor=3), "malformed"),
        ("image input (flatten + dense only), min_reader_minor 3",
         w.write(*good["1.4 image 2x3x4 -> flatten -> dense"], min_minor=3), "malformed"),
        ("conv1d, min_reader_minor 3", seq(lambda m, t: None, min_minor=3), "malformed"),
        ("conv1d, min_reader_minor 2", seq(lambda m, t: None, min_minor=2), "malformed"),
        ("min_reader_minor 5", edit(lambda m, t: None, min_minor=5), "unsupported_version"),
    ]
    load_good("crafted 1.4 a feature map of exactly 4096 x 64 x 64 = 16,777,216 values", w.write(*wide(4096)))
    for label, data, expected in bad:
        expect_error(f"crafted bad 1.4 {label}", data, expected)


# --- The int8 evaluation of recurrent layers (§6.6) -----------------------------------------------

def _q8_half_away(v):
    """A wrong variant: rounds halves away from zero (C's roundf) instead of to even."""
    v = np.asarray(v, np.float32)
    s = np.abs(v).max(axis=-1) / np.float32(127)
    s = np.where(s == 0, np.float32(1), s).astype(np.float32)
    y = v / s[..., None]
    return np.clip(np.sign(y) * np.floor(np.abs(y) + np.float32(0.5)), -127, 127).astype(np.int8), s


def _q8_over_128(v):
    """A wrong variant: s = m / 128 (the int8 range's other end)."""
    v = np.asarray(v, np.float32)
    s = np.abs(v).max(axis=-1) / np.float32(128)
    s = np.where(s == 0, np.float32(1), s).astype(np.float32)
    return np.clip(np.rint(v / s[..., None]), -127, 127).astype(np.int8), s


def _q8_float64_division(v):
    """A wrong variant: v / s divided in binary64 (not binary32) before rounding."""
    v = np.asarray(v, np.float32)
    s = np.abs(v).max(axis=-1) / np.float32(127)
    s = np.where(s == 0, np.float32(1), s).astype(np.float32)
    return np.clip(np.rint(v.astype(np.float64) / s[..., None].astype(np.float64)), -127, 127).astype(np.int8), s


def _q8_truncated(v):
    """A wrong variant: truncates v / s toward zero."""
    _, s = rnnm.quantize_int8(v)
    return np.clip(np.trunc(np.asarray(v, np.float32) / s[..., None]), -127, 127).astype(np.int8), s


# Hand cases of the §4.1 / §6.6 rule: (label, v, q, s). With s = 1 or 2 the quotients v / s are exact, so the
# cases sit exactly on ties. The last one is a quotient that binary32 rounds onto a tie (64.5, then 64 by
# ties-to-even) while the exact quotient, 64.5000003, rounds to 65: found by a seeded search.
QUANTIZER_CASES = [
    ("ties to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 126.5 -> 126), s = 1",
     [127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 3.49], [127, 0, 2, 2, 0, -2, -2, 126, 3], 1.0),
    ("a negative maximum: m = |-254|, s = 2", [-254, 1, 3, -5, 100], [-127, 0, 2, -2, 50], 2.0),
    ("an all-zero vector: s = 1", [0, 0, -0.0], [0, 0, 0], 1.0),
    ("clamped: m / 127 rounds to the subnormal 2^-149, so 190 x 2^-149 / s = 190 -> 127",
     [190 * 2.0**-149, -190 * 2.0**-149, 50 * 2.0**-149, 2.0**-149], [127, -127, 50, 1], 2.0**-149),
    ("m / 127 underflows to 0: s = 1", [2.0**-149, -(2.0**-149)], [0, 0], 1.0),
    ("the division in binary32: 0.73918146 / f32(1.4554425 / 127) rounds to 64.5 -> 64",
     [1.4554425477981567, 0.7391814589500427], [127, 64], float(np.float32(np.float32(1.4554425477981567) / np.float32(127)))),
]


def _quantizer_failures(quantize) -> list:
    """The labels of the hand cases a quantizer gets wrong (q or s)."""
    bad = []
    for label, v, q, s in QUANTIZER_CASES:
        got_q, got_s = quantize(np.array(v, np.float64))
        if not (np.array_equal(got_q, np.array(q)) and got_q.dtype == np.int8 and float(got_s) == s):
            bad.append(label)
    return bad


def _int8_cases() -> list:
    """(label, model, inputs, kind): the int8 fixtures (fixtures/models/*int8*, fixtures/golden/**/*int8*) with
    recurrent layers, on the golden inputs where they have them, plus the course model converted to int8."""
    cases, golden = [], os.path.join(ROOT, "fixtures", "golden")
    models = os.path.join(ROOT, "fixtures", "models")
    for name in ("tiny-int8", "stacked-bigru-int8"):
        path = os.path.join(models, f"{name}.rnnm")
        if os.path.exists(path):
            m = rnnm.load(path)
            ins = synthetic_sequences(m.input["width"], m.input["max_length"]) if m.input["kind"] == "features" \
                else list(synthetic_images(m.input["height"], m.input["width"]))
            cases.append((f"fixture {name}", m, ins))
    idx_path = os.path.join(golden, "inputs-37.idx3")
    if os.path.exists(idx_path):
        images = list(rnnm.read_idx(open(idx_path, "rb").read()))
        path = os.path.join(golden, "tiny-h8-int8.rnnm")
        if os.path.exists(path):
            cases.append(("golden tiny-h8-int8", rnnm.load(path), images))
        path = os.path.join(golden, "course-h128.rnnm")
        if os.path.exists(path):  # the course model (lstm 128) with its matrices converted to int8 by §4.1
            m = rnnm.load(path)
            raw = rnnm._payload(open(path, "rb").read(), next(s for s in m.sections if s.kind == rnnm.KIND_METADATA), "m")
            tensors = [(n, "int8" if t.values.ndim == 2 else "f32", t.values) for n, t in m.tensors.items()]
            cases.append(("golden course-h128 as int8", rnnm.load(w.write(json.loads(raw), tensors)), images))
    v12 = os.path.join(golden, "v1.2")
    if os.path.exists(os.path.join(v12, "gru-after-int8.rnnm")):
        x, lengths = np.load(os.path.join(v12, "features-12.npy")), np.load(os.path.join(v12, "lengths.npy"))
        cases.append(("golden v1.2 gru-after-int8", rnnm.load(os.path.join(v12, "gru-after-int8.rnnm")),
                      [x[n, :int(t)] for n, t in enumerate(lengths)]))
    rng = np.random.default_rng(66)
    m = rnnm.load(w.write(*w.features_model(rng, dtype="int8", cells=[("lstm", 5, {"bidirectional": True}),
                                                                     ("gru", 4, {"bidirectional": True})])))
    cases.append(("crafted bidirectional lstm -> bidirectional gru, int8", m,
                  synthetic_sequences(m.input["width"], m.input["max_length"])))
    return cases


def _run(model, inputs, evaluation="float", margins=None):
    """rnnm's outputs for one input at a time (features or image_rows), as a list."""
    if model.input["kind"] == "features":
        return [rnnm.forward_features(model, [x], evaluation, margins)[0] for x in inputs]
    return [rnnm.forward(model, [x], evaluation, margins)[0] for x in inputs]


def _run_f32(model, inputs, evaluation="float"):
    f = features_f32 if model.input["kind"] == "features" else forward_f32
    return [f(model, x, evaluation) for x in inputs]


def _one_step_bound(label, t_ih, t_hh, xs, h_prev):
    """§6.6's error bound for single steps: from the same binary32 x[t] and h[t-1], every pre-activation's
    difference between the int8 products (rnnm's own) and the float ones (the dequantized W, float64) is
    at most (s_x / 2) sum_k |W_ih[c][k]| + (s_h / 2) sum_k |W_hh[c][k]|, plus 1e-6 of it and 2^-22 of
    sum |W| |v| for the binary32 scale products. Returns the largest |dz| / bound seen (the bound's use)."""
    w_ih, w_hh = t_ih.values.astype(np.float64), t_hh.values.astype(np.float64)
    ih, hh = rnnm._int8_products(t_ih, t_hh, [0.5])
    ok, used = True, 0.0
    for vx, vh in zip(xs, h_prev):
        vx = np.asarray(vx, np.float32).astype(np.float64)  # "the same x[t] and h[t-1]": binary32 values
        vh = np.asarray(vh, np.float32).astype(np.float64)
        dz = ih(vx[None])[0] + hh(vh) - (w_ih @ vx + w_hh @ vh)
        s_x, s_h = float(rnnm.quantize_int8(vx)[1]), float(rnnm.quantize_int8(vh)[1])
        bound = s_x / 2 * np.abs(w_ih).sum(axis=1) + s_h / 2 * np.abs(w_hh).sum(axis=1)
        slack = 2.0**-22 * (np.abs(w_ih) @ np.abs(vx) + np.abs(w_hh) @ np.abs(vh))
        ok &= bool((np.abs(dz) <= bound * (1 + 1e-6) + slack).all())
        used = max(used, float((np.abs(dz) / bound).max()))
    check(f"int8 evaluation {label}: one step, |dz[c]| <= (s_x/2) sum|W_ih[c]| + (s_h/2) sum|W_hh[c]|", ok)
    return used


def run_int8_evaluation():
    """§6.6: the activation quantizer (one function with §4.1's writer rule), the int8 evaluation of the
    int8 fixtures against the float evaluation and against an independent binary32 int8 evaluation
    (layers_f32), the one-step error bound, margins, the CLI, and wrong variants that the checks catch."""
    f32 = np.float32
    # (1) The quantizer by hand, each row on its own, and the writer's rule (write_min.quantize) on the same rows.
    check("int8 quantizer: the hand cases", not _quantizer_failures(rnnm.quantize_int8),
          "; ".join(_quantizer_failures(rnnm.quantize_int8)))
    for label, variant in (("rounding half away from zero", _q8_half_away), ("s = m / 128", _q8_over_128),
                           ("the division in binary64", _q8_float64_division), ("truncation", _q8_truncated)):
        failures = _quantizer_failures(variant)
        check(f"int8 quantizer: a wrong variant ({label}) fails a hand case", bool(failures))
    rows = np.array([[127, 0.5, -1.5], [0, 0, 0], [-254, 3, 1]], np.float32)
    q, s = rnnm.quantize_int8(rows)
    check("int8 quantizer: per row (2-D)", np.array_equal(q, [[127, 0, -2], [0, 0, 0], [-127, 2, 0]]) and
          np.array_equal(s, np.array([1, 1, 2], f32)) and s.dtype == f32)
    rng = np.random.default_rng(68)
    mats = [rng.normal(0, s, (n, k)).astype(f32) for s, n, k in ((0.7, 12, 5), (3e-3, 7, 130), (40, 3, 1))]
    mats += [np.array([v], f32) for _, v, _, _ in QUANTIZER_CASES]
    mats.append(np.round(rng.normal(0, 30, (9, 11))).astype(f32) / f32(2))  # many exact halves
    same = all(w.quantize(m, "int8") == (rnnm.quantize_int8(m)[0].tobytes(), rnnm.quantize_int8(m)[1].astype("<f4").tobytes())
               for m in mats)
    check("int8 quantizer == the writer's §4.1 rule (write_min.quantize), bit for bit", same)
    h4, i8 = (os.path.join(ROOT, "fixtures", "models", f) for f in ("tiny-h4.rnnm", "tiny-int8.rnnm"))
    if os.path.exists(h4) and os.path.exists(i8):
        base, swift = rnnm.load(h4), rnnm.load(i8)
        ok = True
        for name, t in swift.tensors.items():
            v = base.tensors[name].values
            q, s = rnnm.quantize_int8(v.reshape(v.shape[0], -1) if v.ndim > 1 else v.reshape(-1, 1))
            ok &= np.array_equal(q.reshape(-1), t.raw_int8) and np.array_equal(s, t.scales)
        check("int8 quantizer == the Swift writer's tiny-int8 (integers and scales)", ok)

    # Rounding margins, by hand: in units of q, from |v / s| to the nearest k + 1/2.
    one = np.float32(1)
    margin_cases = [([127, 0.5], 0.0), ([127, 1.25], 0.25), ([127, 0, -3.75], 0.25), ([127, 2.0], 0.5),
                    ([127], 0.5), ([0, 0], 0.5), ([-254, 101], 0.0)]
    check("rounding_margin: hand cases (a tie 0, clamped and zero elements not counted)",
          all(rnnm.rounding_margin(np.array(v, f32), rnnm.quantize_int8(np.array(v, f32))[1]) == want
              for v, want in margin_cases))
    v = np.array(QUANTIZER_CASES[-1][1], f32)
    check("rounding_margin: a binary32 tie whose exact quotient is not one is within 1e-6",
          0 < rnnm.rounding_margin(v, rnnm.quantize_int8(v)[1]) < 1e-6)
    check("rounding_margin: per row", rnnm.rounding_margin(np.array([[127, 1.25], [254, 1.0]], f32),
                                                         np.array([one, 2 * one])) == 0.0)

    # (2) The int8 fixtures: int8 vs float evaluation, and vs the independent binary32 int8 evaluation.
    notes = []
    for label, m, inputs in _int8_cases():
        qualifying = [l["name"] for l in m.layers if rnnm.int8_layer(m, l)]
        check(f"int8 evaluation {label}: int8_layer agrees with the tests' reading",
              qualifying == [l["name"] for l in m.layers if l["type"] in rnnm.RECURRENT and int8_qualifies(m, l)]
              and bool(qualifying))
        margins = []
        floats, int8s = _run(m, inputs), _run(m, inputs, "int8", margins)
        moved = max(float(np.abs(a - b).max()) for a, b in zip(floats, int8s))
        same_class = np.mean([int(np.argmax(a)) == int(np.argmax(b)) for a, b in zip(floats, int8s)])
        check(f"{label}: one margin per input, each in [0, 0.5]", len(margins) == len(inputs)
              and all(0 <= x <= 0.5 for x in margins))
        check(f"{label}: int8 differs from float, by at most 0.1", 0 < moved <= 0.1, f"moved {moved:.3g}")
        check(f"{label}: int8 and float predict the same class on >= 90 % of inputs", same_class >= 0.9,
              f"{same_class:.2f}")
        ref32 = _run_f32(m, inputs, "int8")
        diffs = [float(np.abs(np.asarray(r, np.float64) - o).max()) for r, o in zip(ref32, int8s)]
        within = [d <= ATOL + RTOL * float(np.abs(o).max()) for d, o in zip(diffs, int8s)]
        kept = [x >= rnnm.MARGIN_SKIP for x in margins]
        check(f"{label}: float64 vs an independent binary32 int8 evaluation within tolerance, except inputs with "
              f"margin < {rnnm.MARGIN_SKIP}", all(ok or not keep for ok, keep in zip(within, kept)))
        check(f"{label}: the binary32 int8 evaluation is not the float one",
              max(float(np.abs(a - b).max()) for a, b in zip(ref32, _run_f32(m, inputs))) > 0)
        notes.append(f"{label}: {kept.count(False)} of {len(margins)} inputs have margin < {rnnm.MARGIN_SKIP} "
                     f"(smallest {min(margins):.2g}), {within.count(False)} differ beyond tolerance; int8 - float "
                     f"{moved:.2g}, float64 - binary32 int8 {max(diffs):.2g}")

    # Layers that do not qualify run in float: the same outputs, bit for bit, and margins of 0.5.
    h4m = rnnm.load(w.write(*w.tiny_model(np.random.default_rng(61))))
    imgs = synthetic_images(h4m.input["height"], h4m.input["width"])
    margins = []
    check("int8 evaluation of an f32 model == float, margins 0.5",
          np.array_equal(rnnm.forward(h4m, imgs, "int8", margins), rnnm.forward(h4m, imgs)) and margins == [0.5] * len(imgs))
    for label, dtypes, qualifies in (("w_ih int8, w_hh f32", ["int8", "f32", "int8", "int8", "int8", "int8"], False),
                                     ("w_ih, w_hh int8, biases f32", ["int8", "int8", "f32", "f32", "f32", "f32"], True)):
        m = rnnm.load(w.write(*w.tiny_model(np.random.default_rng(62), dtypes=dtypes)))
        same = np.array_equal(rnnm.forward(m, imgs[:, :20], "int8"), rnnm.forward(m, imgs[:, :20]))
        check(f"int8 evaluation, {label}: {'qualifies' if qualifies else 'runs in float'}",
              rnnm.int8_layer(m, m.layers[0]) == qualifies and same != qualifies)
    m = rnnm.load(w.write(*w.features_model(np.random.default_rng(63), dtype="int8",
                                             cells=[("gru", 3, {"reset": "before"}), ("lstm", 3, {"bidirectional": True})])))
    seqs = synthetic_sequences(m.input["width"], m.input["max_length"])
    check("int8 evaluation: a gru \"before\" does not qualify, a bidirectional int8 lstm does",
          [rnnm.int8_layer(m, l) for l in m.layers] == [False, True, False])
    m.tensors[m.layers[1]["w_hh_reverse"]].dtype = "f32"  # one direction's recurrent matrix not int8: the layer runs in float
    check("int8 evaluation: a bidirectional layer with w_hh_reverse not int8 runs in float",
          not rnnm.int8_layer(m, m.layers[1]) and all(np.array_equal(a, b) for a, b in zip(
              rnnm.forward_features(m, seqs, "int8"), rnnm.forward_features(m, seqs))))
    try:
        rnnm.forward(h4m, imgs, "int4")
        check("evaluation \"int4\" is a ValueError", False)
    except ValueError:
        check("evaluation \"int4\" is a ValueError", True)

    # The one-step error bound of §6.6, on real states of the float evaluation and on random vectors.
    golden = os.path.join(ROOT, "fixtures", "golden")
    path, idx_path = os.path.join(golden, "tiny-h8-int8.rnnm"), os.path.join(golden, "inputs-37.idx3")
    if os.path.exists(path) and os.path.exists(idx_path):
        m = rnnm.load(path)
        dense, lstm = m.layers[0], m.layers[1]
        t_ih, t_hh = m.tensors[lstm["w_ih"]], m.tensors[lstm["w_hh"]]
        f64 = lambda k: m.tensors[lstm[k]].values.astype(np.float64)  # noqa: E731
        xs_all, hp_all = [], []
        for x in rnnm.input_sequence(m, rnnm.read_idx(open(idx_path, "rb").read())[:8]):
            xs = x @ m.tensors[dense["weight"]].values.astype(np.float64).T + m.tensors[dense["bias"]].values
            hs = rnnm._lstm(xs, rnnm._float_products(f64("w_ih"), f64("w_hh")), f64("b_ih"), f64("b_hh"))
            xs_all += list(xs)
            hp_all += [np.zeros(lstm["hidden_size"])] + list(hs[:-1])
        rng = np.random.default_rng(69)
        xs_all += list(rng.normal(0, 2, (40, 8))) + [np.array([127, 0.5, 1.5, -2.5, 0, 3, 4, 5]) / 64]
        hp_all += list(np.tanh(rng.normal(0, 1, (40, 8)))) + [np.array([1, -0.5, 0.25, 0, 0, 0, 0, 0])]
        used = _one_step_bound("golden tiny-h8-int8 lstm", t_ih, t_hh, xs_all, hp_all)
        check("the one-step bound is not vacuous (some |dz| > 5 % of it)", used > 0.05, f"{used:.3g}")
        # A wrong quantizer (s = m / 128: the largest element clamped a whole step off) inside rnnm's int8
        # evaluation: the comparison with the independent binary32 int8 evaluation catches it.
        saved, imgs37 = rnnm.quantize_int8, rnnm.read_idx(open(idx_path, "rb").read())
        try:
            rnnm.quantize_int8 = _q8_over_128
            wrong = rnnm.forward(m, imgs37, "int8")
        finally:
            rnnm.quantize_int8 = saved
        ref32 = np.array([forward_f32(m, x, "int8") for x in imgs37])
        check("the binary32 comparison catches a wrong variant (s = m / 128)",
              float(np.abs(wrong - ref32).max()) > 10 * ATOL, f"{float(np.abs(wrong - ref32).max()):.3g}")
    v12 = os.path.join(golden, "v1.2", "gru-after-int8.rnnm")
    if os.path.exists(v12):
        m = rnnm.load(v12)
        gru = m.layers[0]
        rng = np.random.default_rng(70)
        used = _one_step_bound("golden v1.2 gru-after-int8 (all 3H rows)", m.tensors[gru["w_ih"]], m.tensors[gru["w_hh"]],
                               rng.normal(0, 1.5, (30, 12)), np.tanh(rng.normal(0, 1, (30, 20))))
        check("the one-step bound (gru) is not vacuous", used > 0.05, f"{used:.3g}")

    # The CLI: --evaluation int8 adds "margins"; float (the default) prints what it printed before.
    import contextlib
    import io
    import tempfile

    def cli(args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = rnnm.main(args)
        return json.loads(out.getvalue()) if rc == 0 else None

    path = os.path.join(ROOT, "fixtures", "models", "tiny-int8.rnnm")
    if os.path.exists(path):
        m = rnnm.load(path)
        imgs = synthetic_images(m.input["height"], m.input["width"])
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "images.u8"), "wb").write(imgs.tobytes())
            base = ["forward", path, "--images", os.path.join(d, "images.u8")]
            plain, as_float, as_int8 = cli(base), cli(base + ["--evaluation", "float"]), cli(base + ["--evaluation", "int8"])
        margins = []
        want = rnnm.forward(m, imgs, "int8", margins)
        check("CLI forward --images: default float, no margins", plain == as_float and list(plain) == ["logits"]
              and np.array_equal(np.array(plain["logits"]), rnnm.forward(m, imgs)))
        check("CLI forward --images --evaluation int8: logits and one margin per image",
              as_int8 is not None and np.array_equal(np.array(as_int8["logits"]), want) and as_int8["margins"] == margins)
    v12 = os.path.join(golden, "v1.2")
    if os.path.exists(os.path.join(v12, "gru-after-int8.rnnm")):
        got = cli(["forward", os.path.join(v12, "gru-after-int8.rnnm"), "--features", os.path.join(v12, "features-12.npy"),
                   "--lengths", os.path.join(v12, "lengths.npy"), "--evaluation", "int8"])
        m = rnnm.load(os.path.join(v12, "gru-after-int8.rnnm"))
        x, lengths = np.load(os.path.join(v12, "features-12.npy")), np.load(os.path.join(v12, "lengths.npy"))
        margins = []
        want = rnnm.forward_features(m, [x[n, :int(t)] for n, t in enumerate(lengths)], "int8", margins)
        check("CLI forward --features --evaluation int8: outputs and one margin per sequence",
              got is not None and np.array_equal(np.array(got["outputs"]), np.array(want)) and got["margins"] == margins)
    t = w.Tensors(np.random.default_rng(64), dtype="int8")
    layers = [{"type": "embedding", "name": "embed", "vocab_size": 6, "dim": 3, "weight": t.add("embed.weight", (6, 3))},
              w.recurrent_layer(t, "gru", "gru0", 3, 4, bidirectional=True), w.dense_layer(t, "out", 8, 2)]
    tokens = {"kind": "tokens", "tokenizer": "words-v1", "max_length": 8, "truncate": "start",
              "vocabulary": ["the", "movie", "great", "bad"]}
    data = w.write(w.metadata(layers, tokens, ["neg", "pos"]), t.items)
    texts = [b"", b"the movie was great", b"bad bad movie the the great"]
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "m.rnnm"), "wb").write(data)
        open(os.path.join(d, "texts.txt"), "wb").write(b"\n".join(texts) + b"\n")
        got = cli(["forward", os.path.join(d, "m.rnnm"), "--texts", os.path.join(d, "texts.txt"), "--evaluation", "int8"])
    m = rnnm.load(data)
    margins = []
    want = rnnm.forward_tokens(m, [rnnm.token_ids(m, x) for x in texts], "int8", margins)
    check("CLI forward --texts --evaluation int8 (int8 bidirectional gru; an empty text): logits and margins",
          got is not None and np.array_equal(np.array(got["logits"]), want) and got["margins"] == margins
          and margins[0] == 0.5 and not np.array_equal(want, rnnm.forward_tokens(m, [rnnm.token_ids(m, x) for x in texts])))
    for n in notes:
        print(f"note: int8 evaluation {n}")


def run_mutations(iterations: int = 1500):
    """The reader refuses arbitrary damage with a FormatError and never crashes (CRC re-sealed so
    that the damage reaches the later checks)."""
    import random
    folder = os.path.join(ROOT, "fixtures", "models")
    seeds = [open(os.path.join(folder, f), "rb").read() for f in sorted(os.listdir(folder))
             if f.endswith(".rnnm")] if os.path.isdir(folder) else []
    seeds = seeds or [w.write(*w.tiny_model(np.random.default_rng(5), dtypes=["int8", "f16", "bf16"]),
                              codec=(1, 1, 0))]
    rng, crashes = random.Random(5), []
    for _ in range(iterations):
        b = bytearray(rng.choice(seeds))
        for _ in range(rng.choice([1, 1, 2, 4])):
            pos = rng.randrange(len(b) - 16)
            b[pos] = rng.choice([0, 0xFF, 0x80, 0x7F, rng.randrange(256), b[pos] ^ 1 << rng.randrange(8)])
        try:
            rnnm.load(w.fix_crc(bytes(b)))
        except rnnm.FormatError:
            pass
        except Exception as e:
            crashes.append(repr(e))
    check(f"{iterations} mutated files: no crash", not crashes, "; ".join(crashes[:3]))


def main() -> int:
    run_crafted()
    run_crafted_12()
    run_crafted_13()
    run_crafted_14()
    run_int8_evaluation()
    run_fixtures()
    run_mutations()
    if results.get("max_err"):
        print(f"note: largest float64-vs-float32 logit difference {max(results['max_err']):.3g} "
              f"(tolerance {ATOL} + {RTOL}*|logit|)")
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
