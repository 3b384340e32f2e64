#!/usr/bin/env python3
"""Inference throughput of peer frameworks on the weights of one .rnnm file.

Loads the model with the independent reference reader (spec/reference/rnnm.py), rebuilds the
same network in one peer framework, checks that the peer's predictions agree with the float64
reference, and times it on the MNIST test images at several batch sizes.

Peers: torch (PyTorch), onnxruntime (ONNX Runtime), tensorflow (TensorFlow/Keras), tflite and
tflite-int8 (TensorFlow Lite f32, and with dynamic-range int8 weights; see make_tflite).

One peer and one thread count per process: thread pools (TensorFlow's in particular) are fixed
once created, so bench/run-infer.sh starts a fresh process for every (peer, threads) pair.

Output: one JSON object on stdout:
  {"peer": ..., "version": ..., "threads": N, "agreement": fraction of argmax equal to reference,
   "agreement_images": images compared, "max_abs_logit_diff": ...,
   "results": [{"batch": B, "images": n, "median_s": s, "images_per_s": r, "runs": k}, ...]}
Peers receive already-normalized float32 input (the preprocessing is not timed for them), which
favours them slightly: our runtime is timed from raw u8 pixels.
"""
import argparse
import contextlib
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "spec", "reference"))
import rnnm  # noqa: E402


def read_idx_images(path):
    raw = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    magic, n, h, w = (int.from_bytes(raw[i:i + 4], "big") for i in range(0, 16, 4))
    if magic != 0x00000803:
        raise SystemExit(f"{path}: expected IDX3 u8 magic 0x00000803, found {magic:#010x}")
    return np.frombuffer(raw, dtype=np.uint8, count=n * h * w, offset=16).reshape(n, h, w)


def course_layers(model):
    """The peers implement exactly dense-in -> one LSTM (last) -> dense-out; refuse anything else."""
    kinds = [layer["type"] for layer in model.layers]
    if kinds != ["dense", "lstm", "dense"] or model.layers[0].get("activation", "none") != "none":
        raise SystemExit(f"peers support dense(none) -> lstm -> dense only, got {kinds}")
    d_in, lstm, d_out = model.layers
    w = lambda name: None if name is None else model.weight(name).astype(np.float32)
    b_hh = w(lstm.get("b_hh"))
    return dict(
        w_in=w(d_in["weight"]), b_in=w(d_in.get("bias")) if d_in.get("bias") else np.zeros(d_in["out"], np.float32),
        w_ih=w(lstm["w_ih"]), w_hh=w(lstm["w_hh"]), b_ih=w(lstm["b_ih"]),
        b_hh=b_hh if b_hh is not None else np.zeros_like(w(lstm["b_ih"])),
        w_out=w(d_out["weight"]), b_out=w(d_out.get("bias")) if d_out.get("bias") else np.zeros(d_out["out"], np.float32),
        hidden=lstm["hidden_size"],
    )


def make_torch(p, threads):
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    hidden, feat = p["hidden"], p["w_in"].shape[1]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dense_in = torch.nn.Linear(feat, p["w_in"].shape[0])
            self.lstm = torch.nn.LSTM(p["w_in"].shape[0], hidden, batch_first=True)
            self.dense_out = torch.nn.Linear(hidden, p["w_out"].shape[0])

        def forward(self, x):
            y, _ = self.lstm(self.dense_in(x))
            return self.dense_out(y[:, -1])

    net = Net().eval()
    with torch.no_grad():
        for param, key in [(net.dense_in.weight, "w_in"), (net.dense_in.bias, "b_in"),
                           (net.lstm.weight_ih_l0, "w_ih"), (net.lstm.weight_hh_l0, "w_hh"),
                           (net.lstm.bias_ih_l0, "b_ih"), (net.lstm.bias_hh_l0, "b_hh"),
                           (net.dense_out.weight, "w_out"), (net.dense_out.bias, "b_out")]:
            param.copy_(torch.from_numpy(p[key]))

    def run(x):
        with torch.inference_mode():
            return net(torch.from_numpy(x)).numpy()
    return run, torch.__version__


def onnx_graph(p):
    """dense-in as MatMul+Add, ONNX LSTM (gates i,o,f,c; spec §6.1 importer note), dense-out."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    h = p["hidden"]
    perm = lambda m: np.concatenate([m[0:h], m[3 * h:4 * h], m[h:2 * h], m[2 * h:3 * h]])  # ifgo -> iofc
    inits = [
        numpy_helper.from_array(p["w_in"].T.copy(), "W_in"), numpy_helper.from_array(p["b_in"], "b_in"),
        numpy_helper.from_array(perm(p["w_ih"])[None], "W"), numpy_helper.from_array(perm(p["w_hh"])[None], "R"),
        numpy_helper.from_array(np.concatenate([perm(p["b_ih"]), perm(p["b_hh"])])[None], "B"),
        numpy_helper.from_array(p["w_out"].T.copy(), "W_out"), numpy_helper.from_array(p["b_out"], "b_out"),
        numpy_helper.from_array(np.array([0], np.int64), "axis0"),
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_tbf"], perm=[1, 0, 2]),          # [B,T,F] -> [T,B,F]
        helper.make_node("MatMul", ["x_tbf", "W_in"], ["a0"]),
        helper.make_node("Add", ["a0", "b_in"], ["a1"]),
        helper.make_node("LSTM", ["a1", "W", "R", "B"], ["", "y_h"], hidden_size=h),
        helper.make_node("Squeeze", ["y_h", "axis0"], ["h_last"]),                  # [1,B,H] -> [B,H]
        helper.make_node("MatMul", ["h_last", "W_out"], ["o0"]),
        helper.make_node("Add", ["o0", "b_out"], ["logits"]),
    ]
    feat = p["w_in"].shape[1]
    graph = helper.make_graph(
        nodes, "rnnm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", feat])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", p["w_out"].shape[0]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def make_onnxruntime(p, threads):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(onnx_graph(p), opts, providers=["CPUExecutionProvider"])
    return (lambda x: sess.run(["logits"], {"x": x})[0]), ort.__version__


def keras_model(tf, p, batch=None, steps=None):
    """The course network in Keras with our weights; `batch` and `steps` fix the input shape (TFLite)."""
    h, feat = p["hidden"], p["w_in"].shape[1]
    model = tf.keras.Sequential([
        tf.keras.Input((steps, feat), batch_size=batch),
        tf.keras.layers.Dense(p["w_in"].shape[0]),
        tf.keras.layers.LSTM(h),              # Keras gate order i, f, c, o = ours; one bias
        tf.keras.layers.Dense(p["w_out"].shape[0]),
    ])
    model.layers[0].set_weights([p["w_in"].T, p["b_in"]])
    model.layers[1].set_weights([p["w_ih"].T, p["w_hh"].T, p["b_ih"] + p["b_hh"]])
    model.layers[2].set_weights([p["w_out"].T, p["b_out"]])
    return model


def make_tensorflow(p, threads):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    model = keras_model(tf, p)
    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return (lambda x: fn(tf.constant(x)).numpy()), tf.__version__


def make_tflite(p, threads, int8):
    """TensorFlow Lite through tf.lite.Interpreter with the BUILTIN op resolver, which applies the
    default XNNPack delegate ("Created TensorFlow Lite XNNPACK delegate for CPU" on stderr), f32 or
    with dynamic-range quantization (`optimizations=[tf.lite.Optimize.DEFAULT]`, no calibration data:
    weights stored int8, activations quantized on the fly).

    The same Keras model as the TensorFlow peer. Its LSTM converts to TFLite only with a fixed batch
    size (with a free one the converter fails on TensorListReserve: "requires element_shape to be
    static"), into a WHILE loop over the steps. So there is one .tflite model per batch size,
    converted (not timed) the first time a batch of that size arrives: each timed size, the smaller
    last chunk of a pass, the agreement check's 500. The files are kept in bench/out/tflite/, and
    each one's size and top-level ops go to stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    folder = os.path.join(HERE, "out", "tflite")
    os.makedirs(folder, exist_ok=True)
    interpreters = {}

    def interpreter(batch, steps):
        if batch not in interpreters:
            converter = tf.lite.TFLiteConverter.from_keras_model(keras_model(tf, p, batch, steps))
            if int8:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            with contextlib.redirect_stdout(sys.stderr):  # the converter prints "Saved artifact at ..."
                flat = converter.convert()
            with open(os.path.join(folder, f"{'int8' if int8 else 'f32'}-batch{batch}.tflite"), "wb") as f:
                f.write(flat)
            it = tf.lite.Interpreter(model_content=flat, num_threads=threads,
                                     experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN)
            it.allocate_tensors()
            ops = {op["op_name"] for op in it._get_ops_details()}
            print(f"tflite {'int8' if int8 else 'f32'} batch {batch}: {len(flat):,} bytes, ops {sorted(ops)}",
                  file=sys.stderr)
            interpreters[batch] = (it, it.get_input_details()[0]["index"], it.get_output_details()[0]["index"])
        return interpreters[batch]

    def run(x):
        it, inp, out = interpreter(x.shape[0], x.shape[1])
        it.set_tensor(inp, np.ascontiguousarray(x))
        it.invoke()
        return it.get_tensor(out)
    return run, tf.__version__


PEERS = {"torch": make_torch, "onnxruntime": make_onnxruntime, "tensorflow": make_tensorflow,
         "tflite": lambda p, threads: make_tflite(p, threads, int8=False),
         "tflite-int8": lambda p, threads: make_tflite(p, threads, int8=True)}


def time_batches(run, x, batch, budget_s, max_runs):
    """Median seconds for one pass over `x` in chunks of `batch` (fewer images for tiny batches)."""
    n = x.shape[0] if batch > 1 else min(x.shape[0], 2000)
    run(x[:batch])  # warm-up: graph building, allocation
    if n % batch:
        run(x[:n % batch])  # the last, smaller chunk's shape too (a retrace, or TFLite's conversion)
    times = []
    start = time.perf_counter()
    while len(times) < max_runs and (len(times) < 3 or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        for i in range(0, n, batch):
            run(x[i:i + batch])
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"batch": batch, "images": n, "median_s": med, "images_per_s": n / med, "runs": len(times)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", choices=sorted(PEERS), required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True, help="IDX3 u8 images (raw or .gz)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,128,10000")
    ap.add_argument("--budget", type=float, default=5.0, help="seconds of repeats per batch size")
    ap.add_argument("--agreement-images", type=int, default=1000,
                    help="images compared with the float64 reference (in chunks of 500)")
    args = ap.parse_args()

    model = rnnm.load(args.model)
    images = read_idx_images(args.images)
    x = rnnm.input_sequence(model, images.reshape(images.shape[0], -1)).astype(np.float32)
    count = min(args.agreement_images, x.shape[0])
    reference = rnnm.forward(model, images.reshape(images.shape[0], -1)[:count])
    run, version = PEERS[args.peer](course_layers(model), args.threads)
    peer_logits = np.concatenate([run(x[i:min(i + 500, count)]) for i in range(0, count, 500)])
    out = {
        "peer": args.peer, "version": version, "threads": args.threads,
        "agreement": float(np.mean(peer_logits.argmax(1) == reference.argmax(1))), "agreement_images": count,
        "max_abs_logit_diff": float(np.abs(peer_logits - reference).max()),
        "results": [time_batches(run, x, int(b), args.budget, 20) for b in args.batches.split(",")],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
