"""A minimal `.rnnm` writer written from spec/FORMAT.md, used only to craft test inputs.

It writes canonical files (§2, §4, §5, §6: table order, 64-aligned regions, sorted compact
JSON) and exposes the pieces separately so that tests can build deliberately broken files.
Formats 1.0 - 1.4: the header's minor versions follow from the metadata (`required_minor`), and the
layer helpers below build every layer kind (1.4: conv2d, maxpool2d, flatten, conv1d, the image input).
"""
from __future__ import annotations

import json
import struct
import zlib
from decimal import Decimal

import numpy as np
import zstandard

from rnnm import END_MAGIC, MAGIC, align64

DTYPE_CODES = {"f32": 1, "f16": 2, "bf16": 3, "int8": 4}
FEATURE_OF_DTYPE = {"f16": 1, "bf16": 2, "int8": 3}


def quantize(w: np.ndarray, dtype: str):
    """§4.1 writer rules. Returns (value bytes, scale bytes or b"")."""
    w = np.ascontiguousarray(w, dtype=np.float32)
    if dtype == "f32":
        return w.astype("<f4").tobytes(), b""
    if dtype == "f16":
        h = w.astype(np.float16)  # round to nearest even
        assert np.isfinite(h).all(), "value beyond the f16 range"
        return h.astype("<f2").tobytes(), b""
    if dtype == "bf16":
        bits = w.view(np.uint32).astype(np.uint64)
        return (((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF).astype("<u2").tobytes(), b""
    rows = w.reshape(w.shape[0], -1) if w.ndim > 1 else w.reshape(-1, 1)
    s = (np.abs(rows).max(axis=1) / np.float32(127)).astype(np.float32)
    s[s == 0] = 1
    q = np.clip(np.rint(rows / s[:, None]), -127, 127).astype(np.int8)
    return q.tobytes(), s.astype("<f4").tobytes()


def table_and_data(tensors):
    """tensors: list of (name, dtype, array). Canonical §4 table and §5 data payloads."""
    entries, data = [], bytearray()
    for name, dtype, arr in tensors:
        values, scales = quantize(arr, dtype)
        data.extend(b"\0" * (align64(len(data)) - len(data)))
        data_offset = len(data)
        data.extend(values)
        scale_offset = 0
        if scales:
            data.extend(b"\0" * (align64(len(data)) - len(data)))
            scale_offset = len(data)
            data.extend(scales)
        dims = list(arr.shape) + [0] * (4 - arr.ndim)
        e = name.encode().ljust(64, b"\0")
        e += struct.pack("<BBH4II", DTYPE_CODES[dtype], arr.ndim, 0, *dims, 0)
        e += struct.pack("<QQQQQ", data_offset, len(values), scale_offset, len(scales), 0)
        entries.append(e)
    data.extend(b"\0" * (align64(len(data)) - len(data)))
    return struct.pack("<II", len(entries), 0) + b"".join(entries), bytes(data)


def js_number(x) -> str:
    """§6.4: ECMAScript Number.prototype.toString of a binary64 value (integers as digits)."""
    if isinstance(x, int):
        return str(x)
    if x == 0:
        return "0"  # -0 is written 0
    if x < 0:
        return "-" + js_number(-x)
    # repr gives the shortest digit string that round-trips; value = 0.s x 10^n.
    _, digit_tuple, exp = Decimal(repr(x)).normalize().as_tuple()
    s = "".join(map(str, digit_tuple))
    n = len(s) + exp
    k = len(s)
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    e = n - 1
    return (s[0] + ("." + s[1:] if k > 1 else "")) + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def canonical_json(value) -> bytes:
    """§6.4 canonical metadata: sorted keys (UTF-8 byte order), no white space, JS number form."""
    def enc(v):
        if isinstance(v, dict):
            items = sorted(v.items(), key=lambda kv: kv[0].encode())
            return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + enc(x) for k, x in items) + "}"
        if isinstance(v, list):
            return "[" + ",".join(enc(x) for x in v) + "]"
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)  # escapes exactly as JSON.stringify does
        return js_number(v)
    return enc(value).encode()


def assemble(sections, *, features, major=1, minor=0, min_major=1, min_minor=0, pad_trailer=True):
    """sections: list of (kind, codec, flags, size, stored_payload). Returns the file bytes with CRC."""
    count = len(sections)
    body = bytearray(b"\0" * align64(64 + 64 * count))
    entries = []
    for kind, codec, flags, size, stored in sections:
        body.extend(b"\0" * (align64(len(body)) - len(body)))
        entries.append(struct.pack("<IHHQQQ32x", kind, codec, flags, len(body), len(stored), size))
        body.extend(stored)
    if pad_trailer:
        body.extend(b"\0" * (align64(len(body)) - len(body)))
    file_size = len(body) + 16
    header = MAGIC + struct.pack("<HHHHQQI28x", major, minor, min_major, min_minor, features, file_size, count)
    body[0:64] = header
    body[64:64 + 64 * count] = b"".join(entries)
    return fix_crc(bytes(body) + b"\0" * 8 + END_MAGIC)


def fix_crc(buf: bytes) -> bytes:
    """Recompute the trailer CRC-32 (§2.3) after a deliberate edit."""
    buf = bytearray(buf)
    t = len(buf) - 16
    buf[t:t + 4] = struct.pack("<I", zlib.crc32(bytes(buf[:t])) & 0xFFFFFFFF)
    return bytes(buf)


def required_minor(meta: dict) -> int:
    """§3: the lowest reader minor for `meta`: 4 with an image input or a conv2d, maxpool2d, flatten or conv1d
    layer; 3 with a pool layer; 2 with anything of 1.2 (a gru layer, a bidirectional layer, features input,
    a last recurrent layer returning "sequence", output "values"), 1 with tokens / embedding, else 0.
    Metadata that is not a well-formed model gives 0."""
    try:
        layers, kind = meta["model"]["layers"], meta["input"]["kind"]
        if kind == "image" or any(l.get("type") in ("conv2d", "maxpool2d", "flatten", "conv1d") for l in layers):
            return 4
        if any(l.get("type") == "pool" for l in layers):
            return 3
        recurrent = [l for l in layers if l.get("type") in ("lstm", "gru")]
        if (any(l.get("type") == "gru" or l.get("direction") == "bidirectional" for l in recurrent)
                or kind == "features" or meta["model"].get("output") == "values"
                or (recurrent and recurrent[-1].get("return") == "sequence")):
            return 2
        return 1 if kind == "tokens" or any(l.get("type") == "embedding" for l in layers) else 0
    except (KeyError, TypeError, AttributeError):
        return 0


def write(meta: dict, tensors, *, codec=(0, 0, 0), extra_sections=(), meta_bytes=None,
          table_hook=None, data_hook=None, **kw) -> bytes:
    """A complete file. codec: per section (metadata, table, data); extra_sections are appended.
    meta_bytes replaces the JSON text; table_hook/data_hook edit a bytearray payload in place.
    min_minor defaults to required_minor(meta) and minor to min_minor (the canonical header, §2.1)."""
    kw.setdefault("min_minor", required_minor(meta))
    kw.setdefault("minor", kw["min_minor"])
    table, data = table_and_data(tensors)
    table, data = bytearray(table), bytearray(data)
    if table_hook:
        table_hook(table)
    if data_hook:
        data_hook(data)
    payloads = [canonical_json(meta) if meta_bytes is None else meta_bytes, bytes(table), bytes(data)]
    sections = []
    for kind, (c, p) in enumerate(zip(codec, payloads), start=1):
        stored = zstandard.ZstdCompressor(write_content_size=True).compress(p) if c else p
        sections.append((kind, c, 1, len(p), stored))
    sections.extend(extra_sections)
    features = kw.pop("features", None)
    if features is None:
        features = int(any(codec)) | sum(1 << FEATURE_OF_DTYPE[d] for d in {t[1] for t in tensors} if d in FEATURE_OF_DTYPE)
    return assemble(sections, features=features, **kw)


def tiny_model(rng, *, height=5, width=4, hidden=3, classes=3, dtypes=None, stacked=False,
               dense_before=False, hidden_dense=False, omit_bias=False, omit_b_hh=False, scale=None):
    """A small random image_rows classifier: (metadata dict, tensors list)."""
    tensors, layers = [], []
    dt = iter(dtypes or [])

    def tensor(name, shape):
        tensors.append((name, next(dt, "f32"), rng.normal(0, 0.7, shape).astype(np.float32)))
        return name

    feat = width
    if dense_before:
        layers.append({"type": "dense", "name": "pre", "in": feat, "out": 6, "weight": tensor("pre.w", (6, feat)),
                       "bias": tensor("pre.b", (6,)), "activation": "tanh"})
        feat = 6
    lstm_count = 2 if stacked else 1
    for k in range(lstm_count):
        layer = {"type": "lstm", "name": f"lstm{k}", "input_size": feat, "hidden_size": hidden,
                 "w_ih": tensor(f"lstm{k}.w_ih", (4 * hidden, feat)), "w_hh": tensor(f"lstm{k}.w_hh", (4 * hidden, hidden)),
                 "b_ih": tensor(f"lstm{k}.b_ih", (4 * hidden,)), "gate_order": "ifgo",
                 "return": "last" if k == lstm_count - 1 else "sequence"}
        if not omit_b_hh:
            layer["b_hh"] = tensor(f"lstm{k}.b_hh", (4 * hidden,))
        layers.append(layer)
        feat = hidden
    if hidden_dense:
        layers.append({"type": "dense", "name": "mid", "in": feat, "out": 5, "weight": tensor("mid.w", (5, feat)),
                       "bias": tensor("mid.b", (5,)), "activation": "relu"})
        feat = 5
    out = {"type": "dense", "name": "out", "in": feat, "out": classes, "weight": tensor("out.w", (classes, feat)),
           "activation": "none"}
    if not omit_bias:
        out["bias"] = tensor("out.b", (classes,))
    layers.append(out)
    meta = {"format": "rnnm", "model": {"layers": layers, "output": "logits"},
            "input": {"kind": "image_rows", "height": height, "width": width, "source_dtype": "u8",
                      "scale": float(np.float32(1 / 255)) if scale is None else scale, "offset": 0},
            "labels": [f"c{k}" for k in range(classes)],
            "provenance": {"producer": "write_min.py", "seed": 1}}
    return meta, tensors


# --- Building blocks for any model (1.2: gru, direction, features input, outputs) ----------------

class Tensors:
    """The tensor list of a file being built, in table order. `add` registers one and returns its
    name for the metadata reference; values come from `source(name, shape)` unless given."""

    def __init__(self, rng=None, *, dtype="f32", source=None, scale=0.5):
        self.items, self.dtype = [], dtype
        self.source = source or (lambda name, shape: rng.normal(0, scale, shape).astype(np.float32))

    def add(self, name: str, shape, values=None, dtype=None) -> str:
        v = self.source(name, tuple(shape)) if values is None else values
        v = np.asarray(v, dtype=np.float32).reshape(shape)
        self.items.append((name, dtype or self.dtype, v))
        return name


def dense_layer(t: Tensors, name: str, n_in: int, n_out: int, activation="none", bias=True) -> dict:
    """§6.1 dense: weight [O, I], bias [O]."""
    layer = {"type": "dense", "name": name, "in": n_in, "out": n_out,
             "weight": t.add(f"{name}.weight", (n_out, n_in)), "activation": activation}
    if bias:
        layer["bias"] = t.add(f"{name}.bias", (n_out,))
    return layer


def recurrent_layer(t: Tensors, kind: str, name: str, n_in: int, hidden: int, *, ret="last", reset="after",
                    bidirectional=False, b_hh=True) -> dict:
    """§6.1 lstm (gate order ifgo) or gru (rzn, reset after/before), forward or bidirectional.
    Tensors in the §6.1 reference order: w_ih, w_hh, b_ih, b_hh, then the *_reverse ones."""
    g = (4 if kind == "lstm" else 3) * hidden
    layer = {"type": kind, "name": name, "input_size": n_in, "hidden_size": hidden,
             "gate_order": "ifgo" if kind == "lstm" else "rzn", "return": ret}
    if kind == "gru":
        layer["reset"] = reset
    shapes = [("w_ih", (g, n_in)), ("w_hh", (g, hidden)), ("b_ih", (g,))] + ([("b_hh", (g,))] if b_hh else [])
    suffixes = ["", "_reverse"] if bidirectional else [""]
    if bidirectional:
        layer["direction"] = "bidirectional"
    for suffix in suffixes:
        for key, shape in shapes:
            layer[key + suffix] = t.add(f"{name}.{key}{suffix}", shape)
    return layer


def pool_layer(name: str, mode: str, size: int) -> dict:
    """§6.1 pool (since 1.3): mean or max over time of `size` columns; no tensors."""
    return {"type": "pool", "name": name, "mode": mode, "size": size}


def conv2d_layer(t: Tensors, name: str, n_in: int, n_out: int, kernel, stride=(1, 1), padding=(0, 0, 0, 0),
                 activation="none", bias=True) -> dict:
    """§6.1 conv2d (since 1.4): weight [O, C, KH, KW] (nn.Conv2d.weight), bias [O]; kernel [KH, KW],
    stride [SH, SW], padding [PT, PL, PB, PR] (top, left, bottom, right)."""
    kernel = list(kernel)
    layer = {"type": "conv2d", "name": name, "in_channels": n_in, "out_channels": n_out, "kernel": kernel,
             "stride": list(stride), "padding": list(padding),
             "weight": t.add(f"{name}.weight", (n_out, n_in, *kernel)), "activation": activation}
    if bias:
        layer["bias"] = t.add(f"{name}.bias", (n_out,))
    return layer


def maxpool2d_layer(name: str, kernel, stride=None, padding=(0, 0, 0, 0)) -> dict:
    """§6.1 maxpool2d (since 1.4), floor mode; the stride defaults to the kernel (as in PyTorch); no tensors."""
    return {"type": "maxpool2d", "name": name, "kernel": list(kernel), "stride": list(stride or kernel),
            "padding": list(padding)}


def flatten_layer(name: str = "flatten") -> dict:
    """§6.1 flatten (since 1.4): C x H x W -> C*H*W values, channels first; no tensors."""
    return {"type": "flatten", "name": name}


def conv1d_layer(t: Tensors, name: str, n_in: int, n_out: int, kernel: int, stride=1, padding=(0, 0),
                 activation="none", bias=True) -> dict:
    """§6.1 conv1d (since 1.4): weight [O, I, K] (nn.Conv1d.weight), bias [O]; kernel [K], stride [S],
    padding [PB, PE] (steps before the first and after the last)."""
    layer = {"type": "conv1d", "name": name, "in_channels": n_in, "out_channels": n_out, "kernel": [kernel],
             "stride": [stride], "padding": list(padding),
             "weight": t.add(f"{name}.weight", (n_out, n_in, kernel)), "activation": activation}
    if bias:
        layer["bias"] = t.add(f"{name}.bias", (n_out,))
    return layer


def image_chw_input(channels: int, height: int, width: int, scale=None, offset=0) -> dict:
    """§6.2.3 input kind "image" (since 1.4): channels x height x width u8, channels first; scale defaults
    to f32(1/255)."""
    return {"kind": "image", "source_dtype": "u8", "channels": channels, "height": height, "width": width,
            "scale": float(np.float32(1 / 255)) if scale is None else scale, "offset": offset}


def features_input(width: int, max_length: int, mean=None, std=None) -> dict:
    """§6.2.2: `mean`/`std` are tensor names (both or neither)."""
    inp = {"kind": "features", "source_dtype": "f32", "width": width, "max_length": max_length}
    if mean is not None:
        inp["mean"] = mean
    if std is not None:
        inp["std"] = std
    return inp


def image_input(height: int, width: int, scale=None, offset=0) -> dict:
    """§6.2 image_rows (u8 pixels; scale defaults to f32(1/255))."""
    return {"kind": "image_rows", "height": height, "width": width, "source_dtype": "u8",
            "scale": float(np.float32(1 / 255)) if scale is None else scale, "offset": offset}


def metadata(layers, inp: dict, labels, output="logits", producer="write_min.py", **provenance) -> dict:
    return {"format": "rnnm", "model": {"layers": layers, "output": output}, "input": inp,
            "labels": list(labels), "provenance": {"producer": producer, **provenance}}


def features_model(rng, *, width=4, max_length=6, cells=(("gru", 3, {}),), head=(), classes=3, output="logits",
                   standardize=True, dtype="f32", zero_std=False, pool=None):
    """A small features model (§6.2.2): optional mean/std tensors, a stack of recurrent cells
    (kind, hidden, options for recurrent_layer; all but the last return "sequence" unless an option
    says otherwise; with `pool` ("mean" or "max", since 1.3) the last returns "sequence" and a pool
    layer follows it), dense layers `head` (relu) and an output dense layer. Returns (metadata, tensors)."""
    t = Tensors(rng, dtype=dtype)
    layers, w = [], width
    for k, (kind, hidden, options) in enumerate(cells):
        options = {"ret": "last" if k == len(cells) - 1 and pool is None else "sequence", **options}
        layers.append(recurrent_layer(t, kind, f"{kind}{k}", w, hidden, **options))
        w = hidden * (2 if options.get("bidirectional") else 1)
    if pool is not None:
        layers.append(pool_layer("pool", pool, w))
    for k, n in enumerate(head):
        layers.append(dense_layer(t, f"mid{k}", w, n, "relu"))
        w = n
    layers.append(dense_layer(t, "out", w, classes))
    mean = std = None
    if standardize:
        mean = t.add("input.mean", (width,), rng.normal(0, 2, width))
        s = np.abs(rng.normal(1, 0.5, width)) + 0.1
        if zero_std:
            s[0] = 0
        std = t.add("input.std", (width,), s)
    meta = metadata(layers, features_input(width, max_length, mean, std), [f"y{k}" for k in range(classes)], output)
    return meta, t.items
