#!/usr/bin/env python3
"""Tests for the Python reference reader (plain script; prints `N passed, M failed`).

1. fixtures/models/manifest.json (if present): every good file loads; forward on synthetic
   inputs gives finite logits, probabilities summing to 1, and agrees with an independent
   float32 implementation within the tolerance derived in `TOLERANCE` below.
2. fixtures/corrupt/manifest.json (if present): every bad file is refused with exactly its class.
3. Always: files crafted here from the spec with write_min.py, good and bad.
"""
from __future__ import annotations

import copy
import json
import os
import struct
import sys
import traceback

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
# Deliberately different code from rnnm.forward: per-gate weight blocks, one sample at a time,
# binary32 arithmetic throughout.

def forward_f32(model: rnnm.Model, image: np.ndarray) -> np.ndarray:
    f32 = np.float32
    inp = model.input
    rows = image.reshape(inp["height"], inp["width"]).astype(f32)
    seq = [row * f32(inp["scale"]) + f32(inp["offset"]) for row in rows]
    vec = None
    for layer in model.layers:
        get = lambda k: model.tensors[layer[k]].values if layer.get(k) else None  # noqa: E731
        if layer["type"] == "dense":
            W, b = get("weight"), get("bias")
            b = np.zeros(W.shape[0], f32) if b is None else b
            act = {"none": lambda v: v, "relu": lambda v: np.maximum(v, f32(0)), "tanh": np.tanh}[layer["activation"]]
            apply = lambda v: act((W @ v + b).astype(f32))  # noqa: E731
            if vec is None:
                seq = [apply(v) for v in seq]
            else:
                vec = apply(vec)
        else:
            H = layer["hidden_size"]
            A, R, b1, b2 = get("w_ih"), get("w_hh"), get("b_ih"), get("b_hh")
            b = b1 if b2 is None else (b1 + b2).astype(f32)
            blocks = [(A[k * H:(k + 1) * H], R[k * H:(k + 1) * H], b[k * H:(k + 1) * H]) for k in range(4)]
            sig = lambda v: (f32(1) / (f32(1) + np.exp(-v))).astype(f32)  # noqa: E731
            h, c, out = np.zeros(H, f32), np.zeros(H, f32), []
            for x in seq:
                pre = [(Ak @ x + Rk @ h + bk).astype(f32) for Ak, Rk, bk in blocks]
                i, f, g, o = sig(pre[0]), sig(pre[1]), np.tanh(pre[2]), sig(pre[3])
                c = (f * c + i * g).astype(f32)
                h = (o * np.tanh(c)).astype(f32)
                out.append(h)
            if layer["return"] == "last":
                vec = h
            else:
                seq = out
    return vec


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


def check_good_model(label: str, model: rnnm.Model):
    if model.input["kind"] == "tokens":  # §6.2.1: texts of different lengths, including an empty one
        texts = [b"", b"The movie was GREAT<br />great", b"don't 'bad' caf\xc3\xa9 x " * 5]
        logits = rnnm.forward_tokens(model, [rnnm.token_ids(model, t) for t in texts])
        check(f"{label}: logits shape", logits.shape == (len(texts), len(model.labels)), str(logits.shape))
        check(f"{label}: logits finite", bool(np.isfinite(logits).all()))
        return logits
    imgs = synthetic_images(model.input["height"], model.input["width"])
    logits = rnnm.forward(model, imgs)
    check(f"{label}: logits shape", logits.shape == (len(imgs), len(model.labels)), str(logits.shape))
    check(f"{label}: logits finite", bool(np.isfinite(logits).all()))
    probs = rnnm.softmax(logits)
    check(f"{label}: probabilities sum to 1", bool(np.allclose(probs.sum(axis=1), 1, atol=1e-12)))
    ref = np.stack([forward_f32(model, im) for im in imgs]).astype(np.float64)
    err = np.abs(ref - logits)
    ok = bool((err <= ATOL + RTOL * np.abs(logits)).all())
    check(f"{label}: float64 vs float32 within tolerance", ok, f"max error {err.max():.3g}")
    results.setdefault("max_err", []).append(float(err.max()))
    return logits


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
        try:
            model = rnnm.load(data)
        except rnnm.FormatError as e:
            check(f"crafted {label}: loads", False, str(e))
            continue
        check(f"crafted {label}: loads", True)
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
            ("min reader 1.2", header(base, 14, "<H", 2), "unsupported_version"),
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
            ("unknown layer type", meta_edit(lambda m: m["model"]["layers"][0].update(type="gru")),
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
            ("sequence lstm last", meta_edit(lambda m: m["model"]["layers"][0].update({"return": "sequence"})),
             "malformed"),
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
    run_fixtures()
    run_mutations()
    if results.get("max_err"):
        print(f"note: largest float64-vs-float32 logit difference {max(results['max_err']):.3g} "
              f"(tolerance {ATOL} + {RTOL}*|logit|)")
    print(f"{results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
