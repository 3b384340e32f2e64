#!/usr/bin/env python3
"""The format-1.2 benchmarks' models and peers (bench/run-sequence.sh): GRU, bidirectional GRU and
LSTM image-row classifiers with the same weights in every framework.

  peers_sequence.py prepare --images IDX --out DIR
      Builds the three networks in PyTorch from fixed seeds: the recurrent weights are untrained
      (torch's default initialization; speed does not depend on them), the output layer is fitted
      by least squares to the one-hot labels of 10,000 training images (from their final states, when
      train-images/-labels lie next to IDX) so that predictions vary and the agreement check means
      something. Writes for each NET in gru, bigru, lstm: DIR/NET.npz (the state dict), DIR/NET.rnnm
      (spec/reference/write_min.py), DIR/NET.onnx (torch.onnx.export), plus DIR/lstm-step.onnx
      (one LSTM step with the state as inputs and outputs), DIR/first1000-idx3-ubyte and
      DIR/prepare.json (each network's test accuracy in PyTorch, when the test labels are there).

  peers_sequence.py throughput --peer P --net NET --threads N --dir DIR --images IDX [--ours-csv CSV]
      One JSON line: images/s at each batch size (peers_infer.time_batches, the method of the
      inference table), and the agreement of the peer's predictions with our runtime's (the CSV of
      `rnn-infer CLASSIFY --format csv --top-k 10` on DIR/first1000-idx3-ubyte).

  peers_sequence.py stream --peer P --dir DIR --images IDX [--steps 20000 --warmup 1000]
      One JSON line: p50 and p99 of one streaming step of the LSTM at batch 1 (one stream).

Networks (28 rows of 28 pixels, x = pixel * f32(1/255), batch-first in torch):
  gru    nn.GRU(28, 128) (reset after) -> last h -> nn.Linear(128, 10)           seed 1
  bigru  nn.GRU(28, 128, bidirectional) -> [h_fwd, h_bwd] -> nn.Linear(256, 10)  seed 2
  lstm   nn.LSTM(28, 128) -> last h -> nn.Linear(128, 10)                        seed 3

Peers: torch (PyTorch, torch.set_num_threads), onnxruntime (the exported graph: an ONNX GRU with
linear_before_reset=1, or LSTM; intra_op_num_threads), tensorflow (Keras GRU(reset_after=True),
Bidirectional(merge_mode="concat"), LSTM with the same weights). One peer and thread count per
process, as in peers_infer.py. Peers get float32 input already scaled (not timed); our runtime is
timed from u8 pixels.
"""
import argparse
import csv
import gzip
import io
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "spec", "reference"))
from peers_infer import read_idx_images, time_batches  # noqa: E402

NETS = {"gru": ("gru", False, 1), "bigru": ("gru", True, 2), "lstm": ("lstm", False, 3)}
ROWS = WIDTH = 28
HIDDEN, CLASSES = 128, 10
SCALE = np.float32(1 / 255)


def scaled(images):
    """[N, 28, 28] u8 -> the float32 sequences every peer reads (x = pixel * f32(1/255))."""
    return images.astype(np.float32) * SCALE


# --- The networks (PyTorch defines the weights) ----------------------------------------------

def torch_net(name):
    import torch
    cell, bidirectional, seed = NETS[name]
    torch.manual_seed(seed)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            kind = torch.nn.GRU if cell == "gru" else torch.nn.LSTM
            self.rnn = kind(WIDTH, HIDDEN, batch_first=True, bidirectional=bidirectional)
            self.fc = torch.nn.Linear(2 * HIDDEN if bidirectional else HIDDEN, CLASSES)

        def forward(self, x):
            _, h = self.rnn(x)
            h = h[0] if cell == "lstm" else h
            return self.fc(torch.cat([h[-2], h[-1]], 1) if bidirectional else h[-1])

    return Net().eval()


def load_torch_net(folder, name):
    import torch
    net = torch_net(name)
    with np.load(os.path.join(folder, name + ".npz")) as weights:
        net.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files})
    return net


def rnnm_bytes(name, w):
    """The .rnnm file of network `name` with state dict `w` (spec §6.1 importers: PyTorch tensors unchanged)."""
    import write_min
    cell, bidirectional, seed = NETS[name]
    tensors = []

    def tensor(key, values):
        tensors.append((key, "f32", np.asarray(values, np.float32)))
        return key

    layer = {"type": cell, "name": cell, "input_size": WIDTH, "hidden_size": HIDDEN,
             "gate_order": "rzn" if cell == "gru" else "ifgo", "return": "last"}
    if cell == "gru":
        layer["reset"] = "after"
    if bidirectional:
        layer["direction"] = "bidirectional"
    for suffix in ["", "_reverse"] if bidirectional else [""]:
        for key, torch_key in [("w_ih", "weight_ih_l0"), ("w_hh", "weight_hh_l0"), ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")]:
            layer[key + suffix] = tensor(f"{cell}.{key}{suffix}", w[f"rnn.{torch_key}{suffix}"])
    out = {"type": "dense", "name": "out", "in": w["fc.weight"].shape[1], "out": CLASSES, "activation": "none",
           "weight": tensor("out.weight", w["fc.weight"]), "bias": tensor("out.bias", w["fc.bias"])}
    meta = {"format": "rnnm", "model": {"layers": [layer, out], "output": "logits"},
            "input": {"kind": "image_rows", "height": ROWS, "width": WIDTH, "source_dtype": "u8",
                      "scale": float(SCALE), "offset": 0},
            "labels": [str(k) for k in range(CLASSES)],
            "provenance": {"producer": "bench/peers_sequence.py", "seed": seed}}
    minor = 2 if cell == "gru" or bidirectional else 0   # spec §3: the lowest minor that describes the file
    return write_min.write(meta, tensors, codec=(1, 1, 1), minor=minor, min_minor=minor)


def read_idx_labels(path):
    raw = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    if int.from_bytes(raw[:4], "big") != 0x801:
        raise SystemExit(f"{path}: expected IDX1 u8 magic 0x00000801")
    return np.frombuffer(raw, dtype=np.uint8, count=int.from_bytes(raw[4:8], "big"), offset=8)


def final_states(net, x):
    """The input of the output layer for float32 sequences x, in chunks."""
    import torch
    captured = []
    hook = net.fc.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0].numpy().copy()))
    with torch.inference_mode():
        for i in range(0, len(x), 1000):
            net(torch.from_numpy(x[i:i + 1000]))
    hook.remove()
    return np.concatenate(captured).astype(np.float64)


def fit_head(net, x, labels):
    """Least squares (ridge 1e-3) of one-hot labels on the final states: the output layer's weights."""
    import torch
    h = np.hstack([final_states(net, x), np.ones((len(x), 1))])
    solution = np.linalg.solve(h.T @ h + 1e-3 * np.eye(h.shape[1]), h.T @ np.eye(CLASSES)[labels])
    with torch.no_grad():
        net.fc.weight.copy_(torch.from_numpy(solution[:-1].T.astype(np.float32)))
        net.fc.bias.copy_(torch.from_numpy(solution[-1].astype(np.float32)))


def onnx_export(module, args, names, outputs, dynamic):
    import torch
    buffer = io.BytesIO()
    torch.onnx.export(module, args, buffer, input_names=names, output_names=outputs, dynamic_axes=dynamic,
                      opset_version=17, dynamo=False)
    return buffer.getvalue()


def prepare(args):
    import warnings
    import torch
    warnings.filterwarnings("ignore")
    os.makedirs(args.out, exist_ok=True)
    images = read_idx_images(args.images)
    x = torch.from_numpy(scaled(images[:500]))
    folder = os.path.dirname(args.images)
    near = lambda stem: next((p for p in (os.path.join(folder, stem + ".gz"), os.path.join(folder, stem)) if os.path.exists(p)), None)
    train_images, train_labels, test_labels = near("train-images-idx3-ubyte"), near("train-labels-idx1-ubyte"), near("t10k-labels-idx1-ubyte")
    accuracy = {}
    for name in NETS:
        net = torch_net(name)
        if train_images and train_labels:
            fit_head(net, scaled(read_idx_images(train_images)[:10000]), read_idx_labels(train_labels)[:10000])
        else:
            print(f"prepare: no training images next to {args.images}: the output layer stays untrained", file=sys.stderr)
        if test_labels:
            logits = final_states(net, scaled(images)) @ net.fc.weight.detach().numpy().T.astype(np.float64) + net.fc.bias.detach().numpy()
            accuracy[name] = float(np.mean(logits.argmax(1) == read_idx_labels(test_labels)[:len(images)]))
        w = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
        np.savez(os.path.join(args.out, name + ".npz"), **w)
        with open(os.path.join(args.out, name + ".rnnm"), "wb") as f:
            f.write(rnnm_bytes(name, w))
        graph = onnx_export(net, (x[:2],), ["x"], ["logits"], {"x": {0: "B"}, "logits": {0: "B"}})
        with open(os.path.join(args.out, name + ".onnx"), "wb") as f:
            f.write(graph)
        ops = sorted({n.op_type for n in __import__("onnx").load_from_string(graph).graph.node})
        print(f"prepare: {name}: {os.path.getsize(os.path.join(args.out, name + '.rnnm')):,} B .rnnm, "
              f"ONNX ops {ops}, test accuracy {accuracy.get(name, float('nan')):.4f}", file=sys.stderr)
    with open(os.path.join(args.out, "prepare.json"), "w") as f:
        json.dump({"test_accuracy": accuracy, "head": "least squares on 10,000 training images" if train_images and train_labels else "untrained"}, f)

    lstm = load_torch_net(args.out, "lstm")

    class Step(torch.nn.Module):
        """One LSTM step of one stream: (x [1,1,28], h [1,1,128], c [1,1,128]) -> (logits, h, c)."""
        def __init__(self):
            super().__init__()
            self.rnn, self.fc = lstm.rnn, lstm.fc

        def forward(self, x, h, c):
            y, (h, c) = self.rnn(x, (h, c))
            return self.fc(y[:, -1]), h, c

    zero = torch.zeros(1, 1, HIDDEN)
    with open(os.path.join(args.out, "lstm-step.onnx"), "wb") as f:
        f.write(onnx_export(Step().eval(), (x[:1, :1], zero, zero), ["x", "h0", "c0"], ["logits", "h", "c"], None))
    first = images[:1000]
    with open(os.path.join(args.out, "first1000-idx3-ubyte"), "wb") as f:
        f.write((0x803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in first.shape) + first.tobytes())


# --- Peers -----------------------------------------------------------------------------------

def make_torch(folder, name, threads):
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    net = load_torch_net(folder, name)

    def run(x):
        with torch.inference_mode():
            return net(torch.from_numpy(x)).numpy()
    return run, torch.__version__


def ort_session(path, threads):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"]), ort.__version__


def make_onnxruntime(folder, name, threads):
    sess, version = ort_session(os.path.join(folder, name + ".onnx"), threads)
    return (lambda x: sess.run(["logits"], {"x": x})[0]), version


def make_tensorflow(folder, name, threads):
    """Keras with the torch weights: GRU gate blocks (r, z, n) -> Keras' (z, r, h), reset_after=True with
    the bias [2, 3H] = [b_ih; b_hh]; LSTM gates i, f, g, o are Keras' order, one bias b_ih + b_hh."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    cell, bidirectional, _ = NETS[name]
    w = dict(np.load(os.path.join(folder, name + ".npz")))

    def keras_weights(suffix):
        get = lambda key: w[f"rnn.{key}{suffix}"]
        if cell == "lstm":
            return [get("weight_ih_l0").T, get("weight_hh_l0").T, get("bias_ih_l0") + get("bias_hh_l0")]
        zrn = lambda m: np.concatenate([m[HIDDEN:2 * HIDDEN], m[:HIDDEN], m[2 * HIDDEN:]])
        return [zrn(get("weight_ih_l0")).T, zrn(get("weight_hh_l0")).T, np.stack([zrn(get("bias_ih_l0")), zrn(get("bias_hh_l0"))])]

    layer = (lambda: tf.keras.layers.GRU(HIDDEN, reset_after=True)) if cell == "gru" else (lambda: tf.keras.layers.LSTM(HIDDEN))
    rnn = tf.keras.layers.Bidirectional(layer(), merge_mode="concat") if bidirectional else layer()
    model = tf.keras.Sequential([tf.keras.Input((None, WIDTH)), rnn, tf.keras.layers.Dense(CLASSES)])
    if bidirectional:
        rnn.forward_layer.set_weights(keras_weights(""))
        rnn.backward_layer.set_weights(keras_weights("_reverse"))
    else:
        rnn.set_weights(keras_weights(""))
    model.layers[-1].set_weights([w["fc.weight"].T, w["fc.bias"]])
    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return (lambda x: fn(tf.constant(x)).numpy()), tf.__version__


PEERS = {"torch": make_torch, "onnxruntime": make_onnxruntime, "tensorflow": make_tensorflow}


def read_ours(path):
    """Our runtime's classes and probabilities from `rnn-infer --format csv --top-k 10`."""
    classes, probabilities = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            classes.append(int(row["class"]))
            p = np.zeros(CLASSES)
            for k in range(1, CLASSES + 1):
                p[int(row[f"top{k}_class"])] = float(row[f"top{k}_probability"])
            probabilities.append(p)
    return np.array(classes), np.array(probabilities)


def softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def throughput(args):
    x = scaled(read_idx_images(args.images))
    run, version = PEERS[args.peer](args.dir, args.net, args.threads)
    out = {"peer": args.peer, "net": args.net, "version": version, "threads": args.threads}
    if args.ours_csv:
        classes, probabilities = read_ours(args.ours_csv)
        n = len(classes)
        logits = np.concatenate([run(x[i:min(i + 500, n)]) for i in range(0, n, 500)])
        out.update({"agreement_images": n, "agreeing_with_rnn_runtime": int((logits.argmax(1) == classes).sum()),
                    "max_abs_probability_diff": float(np.abs(softmax(logits.astype(np.float64)) - probabilities).max())})
    out["results"] = [time_batches(run, x if int(b) > 1 else x[:args.single_images], int(b), args.budget, 20)
                      for b in args.batches.split(",")]
    print(json.dumps(out))


def stream(args):
    """Per-step times of one LSTM stream at batch 1, each the peer's call alone (perf_counter around it)."""
    rows = scaled(read_idx_images(args.images)[:200]).reshape(-1, WIDTH)   # 5,600 rows, cycled
    times = []
    if args.peer == "onnxruntime":
        sess, version = ort_session(os.path.join(args.dir, "lstm-step.onnx"), 1)
        what = "InferenceSession.run of the exported one-step graph (LSTM over 1 step + dense head), state fed back as numpy outputs"
        feeds = [row.reshape(1, 1, WIDTH).copy() for row in rows]
        h = c = np.zeros((1, 1, HIDDEN), np.float32)
        for i in range(args.warmup + args.steps):
            feed = {"x": feeds[i % len(feeds)], "h0": h, "c0": c}
            t0 = time.perf_counter()
            _, h, c = sess.run(None, feed)
            t1 = time.perf_counter()
            if i >= args.warmup:
                times.append(t1 - t0)
    elif args.peer == "torch":
        import torch
        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
        version = torch.__version__
        net = load_torch_net(args.dir, "lstm")
        cell = torch.nn.LSTMCell(WIDTH, HIDDEN)
        cell.load_state_dict({k[:-3]: v for k, v in net.rnn.state_dict().items()})   # weight_ih_l0 -> weight_ih
        cell.eval()
        what = "nn.LSTMCell + nn.Linear head under torch.inference_mode(), state kept as tensors"
        inputs = [torch.from_numpy(row.reshape(1, WIDTH).copy()) for row in rows]
        with torch.inference_mode():
            h = c = torch.zeros(1, HIDDEN)
            for i in range(args.warmup + args.steps):
                xi = inputs[i % len(inputs)]
                t0 = time.perf_counter()
                h, c = cell(xi, (h, c))
                _ = net.fc(h)
                t1 = time.perf_counter()
                if i >= args.warmup:
                    times.append(t1 - t0)
    else:
        raise SystemExit(f"stream: peers are onnxruntime and torch, not {args.peer}")
    times.sort()
    pct = lambda p: times[min(len(times) - 1, int(len(times) * p))] * 1e6
    print(json.dumps({"peer": args.peer, "version": version, "net": "lstm", "threads": 1, "steps": len(times),
                      "warmup": args.warmup, "stream_step_p50_us": pct(0.5), "stream_step_p99_us": pct(0.99),
                      "median_us": statistics.median(times) * 1e6, "timed": what}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--images", required=True)
    p.add_argument("--out", required=True)
    t = sub.add_parser("throughput")
    t.add_argument("--peer", choices=sorted(PEERS), required=True)
    t.add_argument("--net", choices=sorted(NETS), required=True)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--batches", default="1,128,10000")
    t.add_argument("--budget", type=float, default=3.0, help="seconds of repeats per batch size")
    t.add_argument("--single-images", type=int, default=1000, help="images of a batch-1 pass")
    t.add_argument("--ours-csv", help="our runtime's predictions on the first images (agreement check)")
    s = sub.add_parser("stream")
    s.add_argument("--peer", choices=["onnxruntime", "torch"], required=True)
    s.add_argument("--steps", type=int, default=20000)
    s.add_argument("--warmup", type=int, default=1000)
    for q in (t, s):
        q.add_argument("--dir", required=True)
        q.add_argument("--images", required=True)
    args = ap.parse_args()
    {"prepare": prepare, "throughput": throughput, "stream": stream}[args.command](args)


if __name__ == "__main__":
    main()
