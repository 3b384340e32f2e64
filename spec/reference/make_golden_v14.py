#!/usr/bin/env python3
"""Generates the format-1.4 golden files, fixtures/golden/v1.4/ (spec/GOLDEN.md, "Format 1.4").

    /work/main/bench/.venv/bin/python spec/reference/make_golden_v14.py [--check] [OUTPUT_DIRECTORY]

The sibling of make_golden_v12.py and make_golden_v13.py (whose helpers, tolerance and expected-file
layout it reuses): convolutional models (spec §6.1 `conv2d`, `maxpool2d`, `flatten` on an §6.2.3 `image`
input) and CRNNs (`conv1d` in front of a recurrent layer, on the 1.2 set's variable-length features,
../v1.2/features-*.npy and ../v1.2/lengths.npy, not copied). For each model:

1. weights from PyTorch's own initialization (torch.manual_seed; nn.Conv2d / nn.Conv1d / nn.GRU / nn.LSTM /
   nn.Linear), mapped to spec §6.1 unchanged (conv weights are [O, C, KH, KW] and [O, I, K] in both);
2. the file written by write_min.py (f32, zstd; one int8 copy), read back by rnnm.py;
3. the expected outputs: rnnm.py's float64 forward pass, written as JSON (one vector per image or sequence);
4. verification: PyTorch's float64 forward, rebuilt from the file's dequantized tensors, agrees with
   rnnm.py's to ~1e-15, once per image / sequence and once as one batch (for the CRNNs: the zero-padded
   batch through the convolution, then pack_padded_sequence over each sequence's T'); asymmetric padding
   is F.pad (zeros before a convolution, -inf before a max-pool), symmetric padding PyTorch's own
   `padding=`, which checks the importer mapping of spec §6.1 both ways. PyTorch's binary32 forward is
   measured against the expected values.

The image inputs are drawn by code and written here as IDX files: gray-7.idx3 (7 one-channel 28 x 28
images, magic 00 00 08 03) and rgb-5.idx4 (5 three-channel 13 x 11 images [N, C, H, W], magic 00 00 08 04);
lenet-int8 reads the 1.0 set's ../inputs-37.idx3.

`--check` regenerates into a temporary directory (next to links to ../v1.2 and ../inputs-37.idx3) and
compares byte for byte with the committed files.
"""
from __future__ import annotations

import json
import os
import sys
from types import SimpleNamespace

import make_golden_v12 as v12  # sets the OpenBLAS environment before numpy loads
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

rnnm, w = v12.rnnm, v12.w
T_MAX, TOLERANCE = v12.T_MAX, v12.TOLERANCE
FEATURES = "../v1.2"          # the 1.2 set's features and lengths, shared
DIGITS = "../inputs-37.idx3"  # the 1.0 set's 37 images, shared
GRAY, RGB = "gray-7.idx3", "rgb-5.idx4"


# --- Inputs: images drawn by code ----------------------------------------------------------------------

def gray_images() -> tuple:
    """7 one-channel 28 x 28 u8 images [7, 28, 28] and what each is."""
    i, j = np.meshgrid(np.arange(28), np.arange(28), indexing="ij")
    rng = np.random.default_rng(1401)
    ring = np.clip(255 * (1 - np.abs(np.hypot(i - 13.5, j - 13.5) - 8) / 2.5), 0, 255)  # a "0": radius 8, soft edge
    seven = np.zeros((28, 28))
    seven[5:8, 7:22] = 255                                  # a "7": the top bar ...
    for r in range(8, 24):                                  # ... and a 3-pixel stroke down to the left
        c = int(round(21 - (r - 8) * 0.55))
        seven[r, c - 1:c + 2] = 255
    images = [np.zeros((28, 28)), np.full((28, 28), 255), rng.integers(0, 256, (28, 28)), ((i + j) % 2) * 255,
              ring, seven, j * 255 / 27]
    kinds = ["zeros", "all 255", "uniform noise", "checkerboard (1 pixel)", "a ring (a drawn 0)", "a drawn 7",
             "horizontal gradient 0 -> 255"]
    return np.rint(np.stack(images)).astype(np.uint8), kinds


def rgb_images() -> tuple:
    """5 three-channel 13 x 11 u8 images [5, 3, 13, 11] (channels first) and what each is."""
    c, i, j = np.meshgrid(np.arange(3), np.arange(13), np.arange(11), indexing="ij")
    rng = np.random.default_rng(1402)
    gradients = np.stack([j[0] * 255 / 10, i[0] * 255 / 12, (i[0] + j[0]) * 255 / 22])
    blocks = ((i // 2 + j // 2 + c) % 3) * 127
    images = [np.zeros((3, 13, 11)), np.full((3, 13, 11), 255), rng.integers(0, 256, (3, 13, 11)), gradients, blocks]
    kinds = ["zeros", "all 255", "uniform noise", "red left-right, green top-bottom, blue diagonal gradients",
             "2 x 2 colour blocks, a different phase per channel"]
    return np.rint(np.stack(images)).astype(np.uint8), kinds


def idx_bytes(images: np.ndarray) -> bytes:
    """The IDX container of u8 values: 00 00 08 D, D big-endian u32 dimensions, the bytes row-major."""
    return (b"\0\0\x08" + bytes([images.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in images.shape)
            + images.tobytes())


def read_idx(path: str) -> np.ndarray:
    images = rnnm.read_idx(open(path, "rb").read())
    assert images is not None, f"{path} is not an IDX u8 file"
    return images


# --- Models from PyTorch modules -------------------------------------------------------------------

def conv2d(t: w.Tensors, name: str, module: nn.Conv2d, padding, activation: str) -> dict:
    """A §6.1 conv2d from an nn.Conv2d (padding=0, applied separately as [PT, PL, PB, PR]); tensors unchanged."""
    p = v12.torch_tensors(module)
    layer = {"type": "conv2d", "name": name, "in_channels": module.in_channels, "out_channels": module.out_channels,
             "kernel": list(module.kernel_size), "stride": list(module.stride), "padding": list(padding),
             "weight": t.add(f"{name}.weight", p["weight"].shape, p["weight"]), "activation": activation}
    if module.bias is not None:
        layer["bias"] = t.add(f"{name}.bias", p["bias"].shape, p["bias"])
    return layer


def conv1d(t: w.Tensors, name: str, module: nn.Conv1d, padding, activation: str) -> dict:
    """A §6.1 conv1d from an nn.Conv1d (padding [PB, PE]); tensors unchanged."""
    p = v12.torch_tensors(module)
    return {"type": "conv1d", "name": name, "in_channels": module.in_channels, "out_channels": module.out_channels,
            "kernel": list(module.kernel_size), "stride": list(module.stride), "padding": list(padding),
            "weight": t.add(f"{name}.weight", p["weight"].shape, p["weight"]),
            "bias": t.add(f"{name}.bias", p["bias"].shape, p["bias"]), "activation": activation}


def dense(t: w.Tensors, name: str, module: nn.Linear, activation="none") -> dict:
    layer = v12.dense(t, name, module)
    layer["activation"] = activation
    return layer


def lenet(seed: int):
    """The course LeNet: 1 x 28 x 28 -> conv 5x5 pad 2 (6, relu) -> maxpool 2 -> conv 5x5 (16, relu) -> maxpool 2
    -> flatten (400) -> dense 120 relu -> 84 relu -> 10 logits."""
    torch.manual_seed(seed)
    t = w.Tensors()
    layers = [conv2d(t, "conv1", nn.Conv2d(1, 6, 5), (2, 2, 2, 2), "relu"), w.maxpool2d_layer("pool1", (2, 2)),
              conv2d(t, "conv2", nn.Conv2d(6, 16, 5), (0, 0, 0, 0), "relu"), w.maxpool2d_layer("pool2", (2, 2)),
              w.flatten_layer("flatten"),
              dense(t, "fc1", nn.Linear(400, 120), "relu"), dense(t, "fc2", nn.Linear(120, 84), "relu"),
              dense(t, "out", nn.Linear(84, 10))]
    meta = w.metadata(layers, w.image_chw_input(1, 28, 28), [str(k) for k in range(10)], producer="make_golden_v14.py",
                      seed=seed)
    return meta, t.items, ("image 1x28x28 (scale f32(1/255)) -> conv2d 6 5x5 padding 2 relu -> maxpool2d 2 -> conv2d 16 "
                           "5x5 relu -> maxpool2d 2 -> flatten 400 -> dense 120 relu -> dense 84 relu -> dense 10 logits")


def cnn_rgb(seed: int):
    """3 x 13 x 11, x = f32(2/255) * pixel - 1: conv 3x3 stride 2 padding [1, 0, 1, 1] (5, tanh) -> 5 x 7 x 5;
    maxpool [3, 2] stride [2, 1] padding [1, 0, 1, 0] -> 5 x 4 x 4; conv [2, 3] no bias, none -> 4 x 3 x 2;
    flatten 24 -> dense 3 logits."""
    torch.manual_seed(seed)
    t = w.Tensors()
    layers = [conv2d(t, "conv1", nn.Conv2d(3, 5, 3, stride=2), (1, 0, 1, 1), "tanh"),
              w.maxpool2d_layer("pool", (3, 2), (2, 1), (1, 0, 1, 0)),
              conv2d(t, "conv2", nn.Conv2d(5, 4, (2, 3), bias=False), (0, 0, 0, 0), "none"),
              w.flatten_layer("flatten"), dense(t, "out", nn.Linear(24, 3))]
    inp = w.image_chw_input(3, 13, 11, scale=float(np.float32(2 / 255)), offset=-1)
    meta = w.metadata(layers, inp, ["red", "green", "blue"], producer="make_golden_v14.py", seed=seed)
    return meta, t.items, ("image 3x13x11 (scale f32(2/255), offset -1) -> conv2d 5 3x3 stride 2 padding [1,0,1,1] tanh "
                           "(5x7x5) -> maxpool2d [3,2] stride [2,1] padding [1,0,1,0] (5x4x4) -> conv2d 4 [2,3] no bias, "
                           "activation none (4x3x2) -> flatten 24 -> dense 3 logits")


def crnn(seed: int):
    """features 6 -> conv1d 8, kernel 3, stride 2, padding [2, 0], relu (T' = floor((T - 1) / 2) + 1) -> gru 5 last
    -> dense 4 logits."""
    torch.manual_seed(seed)
    t = w.Tensors()
    layers = [conv1d(t, "conv", nn.Conv1d(6, 8, 3, stride=2), (2, 0), "relu"),
              v12.recurrent(t, "gru0", nn.GRU(8, 5, batch_first=True), 8, ret="last"),
              dense(t, "out", nn.Linear(5, 4))]
    meta = w.metadata(layers, w.features_input(6, T_MAX), [f"class{k}" for k in range(4)],
                      producer="make_golden_v14.py", seed=seed)
    return meta, t.items, ("features 6 -> conv1d 8 kernel 3 stride 2 padding [2,0] relu (T' = floor((T-1)/2)+1) -> "
                           "gru(5, last) -> dense(4) logits")


def crnn_pool(seed: int):
    """features 4, standardized -> conv1d 6, kernel 5, padding [1, 1], relu (T' = T - 2: 0 for T <= 2) -> dense 6
    tanh at every step -> lstm 7 (sequence) -> pool mean (zeros when T' = 0) -> dense 2 values."""
    torch.manual_seed(seed)
    t = w.Tensors()
    layers = [conv1d(t, "conv", nn.Conv1d(4, 6, 5), (1, 1), "relu"), dense(t, "step", nn.Linear(6, 6), "tanh"),
              v12.recurrent(t, "lstm0", nn.LSTM(6, 7, batch_first=True), 6, ret="sequence"),
              w.pool_layer("pool", "mean", 7), dense(t, "out", nn.Linear(7, 2))]
    g = torch.Generator().manual_seed(seed + 1)
    m = (torch.randn(4, generator=g) * 0.5).numpy().astype(np.float32)
    s = (torch.rand(4, generator=g) * 1.5 + 0.5).numpy().astype(np.float32)
    mean, std = t.add("input.mean", (4,), m), t.add("input.std", (4,), s)
    meta = w.metadata(layers, w.features_input(4, T_MAX, mean, std), ["level", "trend"], "values",
                      producer="make_golden_v14.py", seed=seed)
    return meta, t.items, ("features 4 standardized -> conv1d 6 kernel 5 padding [1,1] relu (T' = T-2, 0 for T <= 2) -> "
                           "dense 6 tanh per step -> lstm(7, sequence) -> pool mean (zeros when T' = 0) -> dense(2) values")


def models():
    """(stem, metadata, tensors, description, input) for every model of the set; input is an IDX file or
    "f<width>" for the 1.2 set's features of that width."""
    out = [("lenet", *lenet(141), GRAY), ("cnn-rgb", *cnn_rgb(142), RGB), ("crnn", *crnn(143), "f6"),
           ("crnn-pool", *crnn_pool(144), "f4")]
    meta, tensors, _ = lenet(141)
    out.insert(1, ("lenet-int8", meta, [(n, "int8", a) for n, _, a in tensors],
                   "lenet with every tensor stored as int8 (rank-4 conv weights: one scale per output channel, "
                   "spec §4.1), on the 1.0 set's 37 images", DIGITS))
    return out


# --- PyTorch's own forward pass, from the file's tensors ------------------------------------------------

class Pad(nn.Module):
    """F.pad with PyTorch's (left, right, top, bottom) order, from the spec's [PT, PL, PB, PR] (or [PB, PE])."""

    def __init__(self, padding, value=0.0):
        super().__init__()
        self.pads = (padding[1], padding[3], padding[0], padding[2]) if len(padding) == 4 else tuple(padding)
        self.value = value

    def forward(self, x):
        return F.pad(x, self.pads, value=self.value)


def activation(name: str) -> nn.Module:
    return {"none": nn.Identity(), "relu": nn.ReLU(), "tanh": nn.Tanh()}[name]


def torch_image_model(model: rnnm.Model, dtype) -> nn.Sequential:
    """An image model's layers as one nn.Sequential over [N, C, H, W]. Symmetric padding is the module's own
    `padding=(p, q)` (the spec's [p, q, p, q]); asymmetric padding is an F.pad before it."""
    mods = []
    v = lambda layer, key: torch.tensor(model.tensors[layer[key]].values, dtype=dtype)  # noqa: E731
    for layer in model.layers:
        kind = layer["type"]
        if kind in ("conv2d", "maxpool2d"):
            pt, pl, pb, pr = layer["padding"]
            symmetric = pt == pb and pl == pr
            if kind == "conv2d":
                conv = nn.Conv2d(layer["in_channels"], layer["out_channels"], layer["kernel"], stride=layer["stride"],
                                 padding=(pt, pl) if symmetric else 0, bias="bias" in layer).to(dtype)
                with torch.no_grad():
                    conv.weight.copy_(v(layer, "weight"))
                    if "bias" in layer:
                        conv.bias.copy_(v(layer, "bias"))
                mods += ([] if symmetric else [Pad(layer["padding"])]) + [conv, activation(layer["activation"])]
            else:  # PyTorch's own padding is -inf and at most half the kernel; otherwise F.pad with -inf
                own = symmetric and 2 * pt <= layer["kernel"][0] and 2 * pl <= layer["kernel"][1]
                pool = nn.MaxPool2d(layer["kernel"], stride=layer["stride"], padding=(pt, pl) if own else 0)
                mods += ([] if own else [Pad(layer["padding"], float("-inf"))]) + [pool]
        elif kind == "flatten":
            mods.append(nn.Flatten())
        else:
            lin = nn.Linear(layer["in"], layer["out"]).to(dtype)
            with torch.no_grad():
                lin.weight.copy_(v(layer, "weight"))
                lin.bias.copy_(v(layer, "bias"))
            mods += [lin, activation(layer["activation"])]
    return nn.Sequential(*mods)


class TorchCRNN:
    """A CRNN (conv1d layers, per-step dense layers, one recurrent layer, an optional pool, dense head) as
    PyTorch modules from the file's tensors: each sequence alone, or the whole zero-padded batch."""

    def __init__(self, model: rnnm.Model, dtype):
        self.model, self.front, self.head, self.pool = model, [], [], None
        v = lambda layer, key: torch.tensor(model.tensors[layer[key]].values, dtype=dtype)  # noqa: E731
        for layer in model.layers:
            kind = layer["type"]
            if kind == "conv1d":
                pb, pe = layer["padding"]
                conv = nn.Conv1d(layer["in_channels"], layer["out_channels"], layer["kernel"][0], stride=layer["stride"][0],
                                 padding=pb if pb == pe else 0).to(dtype)
                with torch.no_grad():
                    conv.weight.copy_(v(layer, "weight"))
                    conv.bias.copy_(v(layer, "bias"))
                self.front.append(nn.Sequential(*([] if pb == pe else [Pad(layer["padding"])]), conv,
                                                activation(layer["activation"])))
            elif kind == "dense":
                lin = nn.Linear(layer["in"], layer["out"]).to(dtype)
                with torch.no_grad():
                    lin.weight.copy_(v(layer, "weight"))
                    lin.bias.copy_(v(layer, "bias"))
                # before the recurrent layer: at every step (front); after it: once on the vector (head)
                (self.head if hasattr(self, "rnn") else self.front).append(
                    ("dense", nn.Sequential(lin, activation(layer["activation"]))))
            elif kind == "pool":
                self.pool = layer["mode"]
            else:  # the recurrent layer, as make_golden_v12.py builds it
                (_, self.rnn, _), = v12.torch_modules(SimpleNamespace(layers=[layer], tensors=model.tensors), dtype)
                self.hidden = layer["hidden_size"]

    def _front(self, x):
        """[B, T, F] -> [B, T', D]: the conv1d layers on [B, F, T], the dense layers at every step."""
        for mod in self.front:
            if isinstance(mod, tuple):
                x = mod[1](x)
            else:
                x = mod(x.transpose(1, 2)).transpose(1, 2)
        return x

    def _head(self, vec):
        for _, mod in self.head:
            vec = mod(vec)
        return vec

    def alone(self, x) -> torch.Tensor:
        """One sequence [T, F] as a batch of one. PyTorch refuses a convolution whose padded input is
        shorter than its kernel: there T' = 0, the recurrent layer's h[-1] = 0 and the pool's mean is 0."""
        if rnnm.output_length(self.model, len(x)) == 0:
            return self._head(torch.zeros(self.hidden, dtype=x.dtype))
        out, state = self.rnn(self._front(x.unsqueeze(0)))
        if self.pool:
            return self._head(out.mean(dim=1)[0] if self.pool == "mean" else out.max(dim=1).values[0])
        return self._head((state[0] if isinstance(self.rnn, nn.LSTM) else state)[-1, 0])

    def batch(self, xs: list) -> list:
        """All sequences as one zero-padded batch through the convolutions (a window of output step
        t < T' reads nothing past the sequence's own T + PE steps, where the batch's zeros are the spec's
        padding), then pack_padded_sequence over each sequence's T' (those with T' = 0 get h = 0)."""
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        steps = [rnnm.output_length(self.model, len(x)) for x in xs]
        seq = self._front(nn.utils.rnn.pad_sequence(xs, batch_first=True))
        live = [n for n, t in enumerate(steps) if t > 0]
        packed = pack_padded_sequence(seq[live], torch.tensor([steps[n] for n in live]), batch_first=True,
                                      enforce_sorted=False)
        out, state = self.rnn(packed)
        vec = torch.zeros(len(xs), self.hidden, dtype=seq.dtype)
        if self.pool:
            out, n = pad_packed_sequence(out, batch_first=True)
            valid = (torch.arange(out.shape[1])[None, :] < n[:, None])[:, :, None]
            pooled = (out.masked_fill(~valid, 0).sum(dim=1) / n[:, None].to(out.dtype) if self.pool == "mean"
                      else out.masked_fill(~valid, float("-inf")).max(dim=1).values)
            vec[live] = pooled
        else:
            vec[live] = (state[0] if isinstance(self.rnn, nn.LSTM) else state)[-1]
        return list(self._head(vec))


# --- Expected values -------------------------------------------------------------------------------

def expected_json(stem: str, inp_name: str, outputs: list, logits: bool, classes: int, extra: dict) -> str:
    """The 1.2 set's layout (one output vector per image or sequence), with `extra` members after
    `classes`: `image_shape` [C, H, W] for an image case, `lengths` (T) and `conv1d_lengths` (T') for a
    features case."""
    head = {"model": f"{stem}.rnnm", "input": inp_name, "count": len(outputs), "outputs_per_step": False,
            "output": "logits" if logits else "values", "classes": classes, **extra}
    parts = [json.dumps(head, separators=(",", ":"))[:-1]]
    if logits:
        top = [np.sort(o)[::-1] for o in outputs]
        parts.append('"predictions":' + json.dumps([int(np.argmax(o)) for o in outputs], separators=(",", ":")))
        parts.append('"margins":[\n' + ",\n".join(v12.json_number(s[0] - s[1]) for s in top) + "]")
    parts.append('"outputs":[\n' + ",\n".join(v12.row(o) for o in outputs) + "]")
    return ",\n".join(parts) + "}\n"


def generate(directory: str, verbose=True) -> dict:
    os.makedirs(directory, exist_ok=True)
    gray, gray_kinds = gray_images()
    rgb, rgb_kinds = rgb_images()
    for name, images in ((GRAY, gray), (RGB, rgb)):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(idx_bytes(images))
    lens = np.load(os.path.join(directory, FEATURES, "lengths.npy"))
    manifest = {"generator": "spec/reference/make_golden_v14.py (torch %s, numpy %s, OPENBLAS_CORETYPE=Haswell)"
                % (torch.__version__.split("+")[0], np.__version__),
                "tolerance": TOLERANCE, "models": [], "inputs": [], "cases": []}
    manifest["inputs"] += [
        {"file": GRAY, "what": "IDX3 u8 [7, 28, 28] (magic 00 00 08 03): one-channel images drawn by code",
         "count": len(gray), "shape": [1, 28, 28], "kinds": gray_kinds},
        {"file": RGB, "what": "IDX u8 of 4 dims [5, 3, 13, 11] (magic 00 00 08 04): three-channel images, channels first, "
         "drawn by code", "count": len(rgb), "shape": [3, 13, 11], "kinds": rgb_kinds},
        {"file": DIGITS, "what": "the 37 images of the 1.0 golden set (spec/GOLDEN.md)", "count": 37, "shape": [1, 28, 28]},
        {"file": f"{FEATURES}/lengths.npy", "what": "the 1.2 set's lengths (int64, 1 ..= 29)", "count": int(len(lens))}]
    widths = sorted({int(inp[1:]) for *_, inp in models() if inp.startswith("f")})
    for width in widths:
        manifest["inputs"].append({"file": f"{FEATURES}/features-{width}.npy", "what": f"the 1.2 set's float32 "
                                   f"[{len(lens)}, {T_MAX}, {width}] features", "count": int(len(lens)), "width": width,
                                   "lengths": f"{FEATURES}/lengths.npy"})
    report = {}
    for stem, meta, tensors, description, inp in models():
        data = w.write(meta, tensors, codec=(1, 1, 1))
        with open(os.path.join(directory, f"{stem}.rnnm"), "wb") as f:
            f.write(data)
        model = rnnm.load(data)
        assert model.min_reader_version == (1, 4) and not rnnm.outputs_per_step(model)
        logits = meta["model"]["output"] == "logits"
        if not inp.startswith("f"):  # an image case
            images = read_idx(os.path.join(directory, inp))
            outputs = list(rnnm.forward_images(model, images))
            shape = [model.input[k] for k in ("channels", "height", "width")]
            extra = {"image_shape": shape}
            case = {"model": f"{stem}.rnnm", "images": inp, "expected": f"{stem}.json"}
            x = rnnm.input_images(model, images)  # [N, C, H, W], the binary32 values widened
            with torch.no_grad():
                m64, m32 = torch_image_model(model, torch.float64), torch_image_model(model, torch.float32)
                x64 = torch.tensor(x)
                single = [m64(x64[n:n + 1])[0].numpy() for n in range(len(x))]
                batched = list(m64(x64).numpy())
                single32 = [m32(torch.tensor(x[n:n + 1].astype(np.float32)))[0].numpy() for n in range(len(x))]
            how = "per image", "as one batch"
        else:  # a features case
            inp = f"{FEATURES}/features-{inp[1:]}.npy"
            xs = np.load(os.path.join(directory, inp))
            seqs = [xs[n, :t] for n, t in enumerate(lens)]
            outputs = rnnm.forward_features(model, seqs)
            extra = {"lengths": [int(t) for t in lens], "conv1d_lengths": [rnnm.output_length(model, int(t)) for t in lens]}
            case = {"model": f"{stem}.rnnm", "features": inp, "lengths": f"{FEATURES}/lengths.npy", "expected": f"{stem}.json"}
            x32 = [torch.tensor(rnnm.standardized(model, s).astype(np.float32)) for s in seqs]
            with torch.no_grad():
                m64, m32 = TorchCRNN(model, torch.float64), TorchCRNN(model, torch.float32)
                x64 = [s.double() for s in x32]
                single = [m64.alone(s).numpy() for s in x64]
                batched = [o.numpy() for o in m64.batch(x64)]
                single32 = [m32.alone(s).numpy() for s in x32]
            how = "per sequence", "as one padded batch (packed over T')"
        with open(os.path.join(directory, f"{stem}.json"), "w") as f:
            f.write(expected_json(stem, inp, outputs, logits, len(meta["labels"]), extra))
        d_single, _ = v12.difference(single, outputs, TOLERANCE["binary64"])
        d_batch, _ = v12.difference(batched, outputs, TOLERANCE["binary64"])
        d32, ratio32 = v12.difference(single32, outputs, TOLERANCE["binary32"])
        assert d_single < 1e-12 and d_batch < 1e-12, f"{stem}: torch float64 differs by {d_single}, batched {d_batch}"
        manifest["models"].append({
            "file": f"{stem}.rnnm", "dtype": {d for _, d, _ in tensors}.pop(), "architecture": description,
            "output": meta["model"]["output"], "outputs_per_step": False,
            "torch_float64": f"max |torch - expected| {d_single:.1e} {how[0]}, {d_batch:.1e} {how[1]}",
            "torch_float32": f"max |torch - expected| {d32:.1e} ({ratio32:.4f} x the binary32 tolerance)"})
        manifest["cases"].append(case)
        report[stem] = (d_single, d_batch, d32, ratio32)
        if verbose:
            print(f"{stem:12s} {len(data):6d} bytes  torch f64 {d_single:.1e} / batched {d_batch:.1e}; "
                  f"torch f32 max abs {d32:.2e} ({ratio32:.4f} x tolerance)")
    teeth(directory, lens, verbose)
    with open(os.path.join(directory, "manifest.json"), "w") as f:
        f.write(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return report


def teeth(directory: str, lens, verbose: bool):
    """The tolerance has teeth: a plausible implementation mistake moves some output far beyond it."""
    bound = TOLERANCE["binary32"]["absolute"]

    def moved(stem, edit, images=None, features=None):
        model = rnnm.load(open(os.path.join(directory, f"{stem}.rnnm"), "rb").read())
        if images:
            x = read_idx(os.path.join(directory, images))
            run = lambda: rnnm.forward_images(model, x)  # noqa: E731
        else:
            xs = np.load(os.path.join(directory, FEATURES, f"features-{features}.npy"))
            run = lambda: np.array(rnnm.forward_features(model, [xs[n, :t] for n, t in enumerate(lens)]))  # noqa: E731
        before = run()
        restore = edit(model)
        try:
            return float(np.abs(run() - before).max())
        finally:
            if restore:
                restore()

    def flip_kernels(m):  # a convolution (kernel flipped) instead of the cross-correlation
        for layer in m.layers:
            if layer["type"] == "conv2d":
                t = m.tensors[layer["weight"]]
                t.values = t.values[:, :, ::-1, ::-1].copy()

    def zero_padded_max(m):  # max-pool padding taken as zeros (not -inf): the padding can win
        original = rnnm.maxpool2d

        def padded_with_zeros(x, kernel, stride, padding):
            (pt, pl, pb, pr) = padding
            return original(np.pad(x, ((0, 0), (pt, pb), (pl, pr))), kernel, stride, (0, 0, 0, 0))
        rnnm.maxpool2d = padded_with_zeros
        return lambda: setattr(rnnm, "maxpool2d", original)

    def channels_last_flatten(m):  # Keras' (i, j, c) order read as the spec's (c, i, j)
        layer = m.layers[-1]
        t = m.tensors[layer["weight"]]
        t.values = t.values.reshape(-1, 4, 3, 2).transpose(0, 2, 3, 1).reshape(t.values.shape).copy()

    def padding_order(m):  # [PT, PL, PB, PR] read as PyTorch's F.pad order (left, right, top, bottom)
        pt, pl, pb, pr = m.layers[0]["padding"]
        m.layers[0]["padding"] = [pb, pt, pr, pl]

    for stem, what, edit, kw in [
            ("lenet", "kernels flipped (convolution instead of cross-correlation)", flip_kernels, {"images": GRAY}),
            ("cnn-rgb", "kernels flipped", flip_kernels, {"images": RGB}),
            ("cnn-rgb", "max-pool padding taken as zeros instead of -inf", zero_padded_max, {"images": RGB}),
            ("cnn-rgb", "flatten in channels-last order", channels_last_flatten, {"images": RGB}),
            ("cnn-rgb", "padding [PT, PL, PB, PR] read in F.pad's order (left, right, top, bottom)", padding_order,
             {"images": RGB}),
            ("crnn", "padding [2, 0] read as [0, 2]", lambda m: m.layers[0].update(padding=[0, 2]), {"features": 6}),
            ("crnn-pool", "stride 2 instead of 1", lambda m: m.layers[0].update(stride=[2]), {"features": 4})]:
        v12.bites(stem, what, moved(stem, edit, **kw), bound, verbose)
    # The batch padding must not be part of a sequence: every sequence run to 29 steps moves the outputs.
    for stem, width in (("crnn", 6), ("crnn-pool", 4)):
        model = rnnm.load(open(os.path.join(directory, f"{stem}.rnnm"), "rb").read())
        xs = np.load(os.path.join(directory, FEATURES, f"features-{width}.npy"))
        before = np.array(rnnm.forward_features(model, [xs[n, :t] for n, t in enumerate(lens)]))
        v12.bites(stem, "zero padding counted (every sequence run to 29 steps)",
                  float(np.abs(np.array(rnnm.forward_features(model, list(xs))) - before).max()), bound, verbose)


def main(argv) -> int:
    return v12.cli(argv, os.path.join(v12.ROOT, "fixtures", "golden", "v1.4"), generate,
                   siblings=("v1.2", "inputs-37.idx3"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
