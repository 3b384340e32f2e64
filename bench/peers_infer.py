#!/usr/bin/env python3
"""Inference throughput of peer frameworks on the weights of one .rnnm file.

Loads the model with the independent reference reader (spec/reference/rnnm.py), rebuilds the
same network in one peer framework, checks that the peer's predictions agree with the float64
reference, and times it on the MNIST test images at several batch sizes.

Two kinds of model: the course network (image_rows input, dense -> lstm -> dense; course_layers),
and since format 1.4 an image model (image input, conv2d / maxpool2d layers, one flatten, dense
layers; image_layers), with any kernel, stride, padding (asymmetric too), activation none / relu /
tanh and channel count. A CNN gets its input as NCHW float32 in PyTorch and ONNX Runtime and as NHWC
in TensorFlow and TensorFlow Lite (each framework's natural layout), converted before timing.

Peers: torch (PyTorch), onnxruntime (ONNX Runtime), tensorflow (TensorFlow/Keras), tflite and
tflite-int8 (TensorFlow Lite f32, and with dynamic-range int8 weights; see make_tflite),
tflite-int8-full (TensorFlow Lite full-integer quantization: int8 weights and activations, int8 input
and output, calibrated on real training images; see make_tflite_quantized) and tflite-int16x8 (the
same with 16-bit activations; not in bench/run-infer.sh's peer set: XNNPack does not run it, and
TFLite's own int16 kernels are one to two orders of magnitude slower: at batch 128, 1 thread, about
1,100 images/s in tf.lite.Interpreter and 200 in LiteRT 2.3.0, where tflite-int8-full ran 17,000 in
the same minutes). The TFLite models come from TensorFlow's converter and run in LiteRT's interpreter
(ai-edge-litert, pinned in bench/requirements.txt) when it is installed, else in tf.lite.Interpreter
(--tflite-interpreter picks one; on the f32, dynamic-range and full-integer models the two measured
within 5 % of each other, batch 1 and 128).

One peer and one thread count per process: thread pools (TensorFlow's in particular) are fixed
once created, so bench/run-infer.sh starts a fresh process for every (peer, threads) pair.

Output: one JSON object on stdout:
  {"peer": ..., "version": ..., "threads": N, "agreement": fraction of argmax equal to reference,
   "agreement_images": images compared, "max_abs_logit_diff": ...,
   "accuracy": fraction of the labels predicted, "accuracy_images": N (all the images; with --labels,
   by default the IDX1 file next to --images: t10k-images-idx3-ubyte.gz -> t10k-labels-idx1-ubyte.gz),
   "results": [{"batch": B, "images": n, "median_s": s, "images_per_s": r, "runs": k}, ...]}
plus, for the quantized TFLite peers, "quantization" (how the model was quantized and calibrated,
its input and output types and scales). Peers receive already-normalized float32 input (the
preprocessing is not timed for them), which favours them slightly: our runtime is timed from raw u8
pixels. tflite-int8-full receives that input already quantized to its int8 input tensor (not timed
either; for MNIST's scale 1/255 and zero point -128 it is exactly the u8 pixel - 128), and its int8
logits are dequantized to float inside the timed call.
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


def image_layers(model):
    """An image model (format 1.4, §6.1 rule 2c): conv2d / maxpool2d layers, one flatten, dense layers.
    Returns {"image": (C, H, W), "layers": [...]}: each layer's type, float32 weight and bias (zeros when
    the file has none) in our layout (conv [O, C, KH, KW], dense [O, I]), kernel, stride, padding
    [top, left, bottom, right], activation, and the feature map C x H x W it receives ("in_shape")."""
    kinds = [layer["type"] for layer in model.layers]
    if model.input["kind"] != "image" or not kinds or "flatten" not in kinds:
        raise SystemExit(f"peers support image models of conv2d / maxpool2d / flatten / dense layers, got {kinds}")
    cut = kinds.index("flatten")
    if (any(k not in ("conv2d", "maxpool2d") for k in kinds[:cut]) or len(kinds) == cut + 1
            or any(k != "dense" for k in kinds[cut + 1:])):
        raise SystemExit(f"peers support conv2d / maxpool2d layers, one flatten, then dense layers; got {kinds}")
    shape = (model.input["channels"], model.input["height"], model.input["width"])
    out = []
    for layer in model.layers:
        kind, entry = layer["type"], {"type": layer["type"], "in_shape": shape}
        if kind in ("conv2d", "dense"):
            weight = model.weight(layer["weight"]).astype(np.float32)
            bias = layer.get("bias")
            entry.update(weight=weight, activation=layer.get("activation", "none"),
                         bias=model.weight(bias).astype(np.float32) if bias else np.zeros(weight.shape[0], np.float32))
        if kind in ("conv2d", "maxpool2d"):
            entry.update(kernel=tuple(layer["kernel"]), stride=tuple(layer["stride"]), padding=tuple(layer["padding"]))
            shape = rnnm.map_shape(layer, shape)
        elif kind == "flatten":
            shape = (shape[0] * shape[1] * shape[2],)
        out.append(entry)
    return {"image": (model.input["channels"], model.input["height"], model.input["width"]), "layers": out}


def model_images(model, images):
    """The u8 images [N, C, H, W] of an image model from IDX3 planes [n, H, W]: consecutive planes form
    one image (C = 1 for MNIST), as `rnn-infer bench` reads the same file."""
    c, h, w = model.input["channels"], model.input["height"], model.input["width"]
    if images.shape[1:] != (h, w):
        raise SystemExit(f"images are {images.shape[1]}x{images.shape[2]}, the model reads {h}x{w}")
    n = images.shape[0] // c
    if n == 0:
        raise SystemExit(f"{images.shape[0]} image planes do not make one {c}-channel image")
    return images[:n * c].reshape(n, c, h, w)


def torch_cnn(torch, p):
    """The image model in PyTorch (NCHW), our weights unchanged: nn.Conv2d (weight [O, C, KH, KW]),
    nn.MaxPool2d (floor mode; it pads with -inf), nn.Flatten (channel-first, as ours), nn.Linear.
    Padding that a module cannot take (asymmetric, or over half the kernel for nn.MaxPool2d) is an
    explicit pad in front of it: zeros (nn.ZeroPad2d) for a convolution, -inf for a max-pool."""
    nn = torch.nn
    activation = {"none": [], "relu": [nn.ReLU()], "tanh": [nn.Tanh()]}
    modules = []
    for layer in p["layers"]:
        kind = layer["type"]
        if kind == "flatten":
            modules.append(nn.Flatten())
            continue
        if kind == "dense":
            o, i = layer["weight"].shape
            module = nn.Linear(i, o)
        else:
            (kh, kw), (pt, pl, pb, pr) = layer["kernel"], layer["padding"]
            native = pt == pb and pl == pr and (kind == "conv2d" or (2 * pt <= kh and 2 * pl <= kw))
            if not native:
                modules.append(nn.ZeroPad2d((pl, pr, pt, pb)) if kind == "conv2d"
                               else nn.ConstantPad2d((pl, pr, pt, pb), float("-inf")))
            padding = (pt, pl) if native else 0
            if kind == "maxpool2d":
                modules.append(nn.MaxPool2d((kh, kw), stride=layer["stride"], padding=padding))
                continue
            o, c = layer["weight"].shape[:2]
            module = nn.Conv2d(c, o, (kh, kw), stride=layer["stride"], padding=padding)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(layer["weight"]))
            module.bias.copy_(torch.from_numpy(layer["bias"]))
        modules += [module] + activation[layer["activation"]]
    return nn.Sequential(*modules).eval()


def onnx_cnn_graph(p):
    """The image model in ONNX (NCHW): Conv (W [O, C, KH, KW]; `pads` is our padding, same order),
    MaxPool (floor mode, `pads` as ours; padding never chosen), Flatten (axis 1), Gemm (transB=1 on our
    [O, I] weights), Relu / Tanh."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits, cur = [], [], "x"
    for k, layer in enumerate(p["layers"]):
        kind, y = layer["type"], f"y{k}"
        if kind in ("conv2d", "dense"):
            inits += [numpy_helper.from_array(layer["weight"], f"W{k}"),
                      numpy_helper.from_array(layer["bias"], f"B{k}")]
        if kind == "conv2d":
            nodes.append(helper.make_node("Conv", [cur, f"W{k}", f"B{k}"], [y], kernel_shape=list(layer["kernel"]),
                                          strides=list(layer["stride"]), pads=list(layer["padding"])))
        elif kind == "maxpool2d":
            nodes.append(helper.make_node("MaxPool", [cur], [y], kernel_shape=list(layer["kernel"]),
                                          strides=list(layer["stride"]), pads=list(layer["padding"])))
        elif kind == "flatten":
            nodes.append(helper.make_node("Flatten", [cur], [y], axis=1))
        else:
            nodes.append(helper.make_node("Gemm", [cur, f"W{k}", f"B{k}"], [y], transB=1))
        cur = y
        if layer.get("activation", "none") != "none":
            nodes.append(helper.make_node({"relu": "Relu", "tanh": "Tanh"}[layer["activation"]], [cur], [y + "a"]))
            cur = y + "a"
    nodes[-1].output[0] = "logits"
    c, h, w = p["image"]
    graph = helper.make_graph(
        nodes, "rnnm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", c, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", p["layers"][-1]["weight"].shape[0]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def keras_padding(layer):
    """"valid" for no padding, "same" when our padding is exactly Keras' split of "same" for this layer's
    input (§6.1: total = max((ceil(n / S) - 1) * S + K - n, 0), the smaller half first), else None (an
    explicit pad layer goes in front)."""
    if not any(layer["padding"]):
        return "valid"
    _, h, w = layer["in_shape"]
    split = []
    for n, k, s in ((h, layer["kernel"][0], layer["stride"][0]), (w, layer["kernel"][1], layer["stride"][1])):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        split.append((total // 2, total - total // 2))
    (pt, pb), (pl, pr) = split
    return "same" if tuple(layer["padding"]) == (pt, pl, pb, pr) else None


def keras_cnn(tf, p, batch=None):
    """The image model in Keras, channels last (NHWC): Conv2D with kernel W.transpose(2, 3, 1, 0)
    ([KH, KW, C, O]), MaxPooling2D, padding "same" where our padding is Keras' split of it, else
    ZeroPadding2D (convolution) or a tf.pad with -inf (max-pool) in front of a "valid" layer. Flatten
    (a reshape to [-1, H * W * C]) then orders the values (i, j, c), so the first dense layer's columns
    are permuted (§6.1 flatten): kernel[(i * W + j) * C + c][o] = weight[o][(c * H + i) * W + j]; no
    transpose runs."""
    layers = tf.keras.layers
    c, h, w = p["image"]
    stack, weights = [tf.keras.Input((h, w, c), batch_size=batch)], []
    flat_shape = None
    for layer in p["layers"]:
        kind = layer["type"]
        act = None if layer.get("activation", "none") == "none" else layer["activation"]
        if kind in ("conv2d", "maxpool2d"):
            padding = keras_padding(layer)
            if padding is None:
                pt, pl, pb, pr = layer["padding"]
                if kind == "conv2d":
                    stack.append(layers.ZeroPadding2D(((pt, pb), (pl, pr))))
                else:
                    stack.append(layers.Lambda(lambda t, pads=((0, 0), (pt, pb), (pl, pr), (0, 0)):
                                               tf.pad(t, pads, constant_values=float("-inf"))))
                padding = "valid"
            if kind == "conv2d":
                stack.append(layers.Conv2D(layer["weight"].shape[0], layer["kernel"], strides=layer["stride"],
                                           padding=padding, activation=act))
                weights.append((stack[-1], [layer["weight"].transpose(2, 3, 1, 0), layer["bias"]]))
            else:
                stack.append(layers.MaxPooling2D(layer["kernel"], strides=layer["stride"], padding=padding))
        elif kind == "flatten":
            # Flatten's own reshape has a batch size computed at run time (SHAPE, STRIDED_SLICE, PACK ops
            # in TFLite, outside the XNNPack partitions); a reshape to [-1, n] is one static RESHAPE.
            flat_shape = layer["in_shape"]
            stack.append(layers.Lambda(lambda t, n=int(np.prod(flat_shape)): tf.reshape(t, (-1, n))))
        else:
            o = layer["weight"].shape[0]
            kernel = layer["weight"].T
            if flat_shape is not None:  # the first dense layer after Flatten: (c, i, j) columns to (i, j, c) rows
                fc, fh, fw = flat_shape
                kernel = layer["weight"].reshape(o, fc, fh, fw).transpose(2, 3, 1, 0).reshape(fh * fw * fc, o)
                flat_shape = None
            stack.append(layers.Dense(o, activation=act))
            weights.append((stack[-1], [np.ascontiguousarray(kernel), layer["bias"]]))
    model = tf.keras.Sequential(stack)
    for module, arrays in weights:
        module.set_weights(arrays)
    return model


def make_torch(p, threads):
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    if "image" in p:
        net = torch_cnn(torch, p)

        def run_cnn(x):
            with torch.inference_mode():
                return net(torch.from_numpy(x)).numpy()
        return run_cnn, torch.__version__
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
    graph = onnx_cnn_graph(p) if "image" in p else onnx_graph(p)
    sess = ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
    return (lambda x: sess.run(["logits"], {"x": x})[0]), ort.__version__


def keras_model(tf, p, batch=None, steps=None, unroll=False):
    """The course network in Keras with our weights; `batch` and `steps` fix the input shape (TFLite).
    `unroll` (needs `steps`) writes the LSTM as `steps` copies of the cell instead of a loop."""
    h, feat = p["hidden"], p["w_in"].shape[1]
    model = tf.keras.Sequential([
        tf.keras.Input((steps, feat), batch_size=batch),
        tf.keras.layers.Dense(p["w_in"].shape[0]),
        tf.keras.layers.LSTM(h, unroll=unroll),  # Keras gate order i, f, c, o = ours; one bias
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
    model = keras_cnn(tf, p) if "image" in p else keras_model(tf, p)
    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return (lambda x: fn(tf.constant(x)).numpy()), tf.__version__


# Which interpreter runs the .tflite models: "auto" (LiteRT's when ai-edge-litert is installed, else
# TensorFlow's), "litert" or "tensorflow"; --tflite-interpreter sets it.
TFLITE_INTERPRETER = "auto"


def tflite_interpreter(tf, threads):
    """(make, version): make(flat) is an interpreter of the .tflite model `flat` with `threads` threads and
    the BUILTIN op resolver, which applies the default XNNPack delegate ("Created TensorFlow Lite XNNPACK
    delegate for CPU" on stderr); version names the converter and the interpreter ("2.21.0, LiteRT 2.3.0").

    LiteRT's interpreter (ai_edge_litert.interpreter, the ai-edge-litert package pinned in
    bench/requirements.txt) is the maintained one: tf.lite.Interpreter warns that it is deprecated in its
    favour and scheduled for deletion. tf.lite.Interpreter (the one in tensorflow-cpu) is the fallback when
    ai-edge-litert is not installed. The models are the same either way: TensorFlow's converter makes them."""
    if TFLITE_INTERPRETER in ("auto", "litert"):
        try:
            import ai_edge_litert
            from ai_edge_litert import interpreter as litert
        except ImportError:
            if TFLITE_INTERPRETER == "litert":
                raise SystemExit("--tflite-interpreter litert: ai-edge-litert is not installed (bench/venv.sh)")
        else:
            return (lambda flat: litert.Interpreter(model_content=flat, num_threads=threads,
                                                    experimental_op_resolver_type=litert.OpResolverType.BUILTIN),
                    f"{tf.__version__}, LiteRT {ai_edge_litert.__version__}")
    return (lambda flat: tf.lite.Interpreter(model_content=flat, num_threads=threads,
                                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN),
            f"{tf.__version__}, tf.lite.Interpreter")


def tflite_setup(threads):
    """TensorFlow with `threads` intra-op threads (the converter's calibration runs in it), the folder
    bench/out/tflite/, and the interpreter (tflite_interpreter)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    folder = os.path.join(HERE, "out", "tflite")
    os.makedirs(folder, exist_ok=True)
    return tf, folder, *tflite_interpreter(tf, threads)


def convert(converter, path):
    """converter.convert(), its .tflite written to `path`."""
    with contextlib.redirect_stdout(sys.stderr):  # the converter prints "Saved artifact at ..."
        flat = converter.convert()
    with open(path, "wb") as f:
        f.write(flat)
    return flat


def make_tflite(p, threads, int8):
    """TensorFlow Lite f32, or with dynamic-range quantization (`optimizations=[tf.lite.Optimize.DEFAULT]`,
    no calibration data: weights stored int8, activations quantized on the fly), in the interpreter of
    tflite_interpreter (XNNPack delegate).

    The same Keras model as the TensorFlow peer. Its LSTM converts to TFLite only with a fixed batch
    size (with a free one the converter fails on TensorListReserve: "requires element_shape to be
    static"), into a WHILE loop over the steps. So there is one .tflite model per batch size,
    converted (not timed) the first time a batch of that size arrives: each timed size, the smaller
    last chunk of a pass, the agreement check's 500. The files are kept in bench/out/tflite/, and
    each one's size and top-level ops go to stderr.

    An image model (keras_cnn, NHWC) converts with a free batch size (input shape signature
    [-1, H, W, C]): one conversion, bench/out/tflite/cnn-{f32,int8}.tflite, and one interpreter per
    batch size made from it (resize_tensor_input, so that no batch re-plans another's tensors)."""
    tf, folder, make, version = tflite_setup(threads)
    kind = "int8" if int8 else "f32"
    if "image" in p:
        converter = tf.lite.TFLiteConverter.from_keras_model(keras_cnn(tf, p))
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        flat = convert(converter, os.path.join(folder, f"cnn-{kind}.tflite"))
        interpreter = per_batch_interpreters(flat, make, f"tflite {kind} cnn")
    else:
        interpreters = {}

        def interpreter(shape):
            batch = shape[0]
            if batch not in interpreters:
                converter = tf.lite.TFLiteConverter.from_keras_model(keras_model(tf, p, batch, shape[1]))
                if int8:
                    converter.optimizations = [tf.lite.Optimize.DEFAULT]
                flat = convert(converter, os.path.join(folder, f"{kind}-batch{batch}.tflite"))
                it = make(flat)
                it.allocate_tensors()
                ops = {op["op_name"] for op in it._get_ops_details()}
                print(f"tflite {kind} batch {batch}: {len(flat):,} bytes, ops {sorted(ops)}", file=sys.stderr)
                interpreters[batch] = (it, it.get_input_details()[0]["index"], it.get_output_details()[0]["index"])
            return interpreters[batch]

    def run(x):
        it, inp, out = interpreter(x.shape)
        it.set_tensor(inp, np.ascontiguousarray(x))
        it.invoke()
        return it.get_tensor(out)
    return run, version


def per_batch_interpreters(flat, make, label):
    """For a .tflite model with a free batch size: interpreter(shape) -> (interpreter, input index, output
    index), one interpreter per batch size (resize_tensor_input, so that no batch re-plans another's
    tensors). The model's size, input shape signature and ops go to stderr once."""
    interpreters = {}

    def interpreter(shape):
        batch = shape[0]
        if batch not in interpreters:
            it = make(flat)
            detail = it.get_input_details()[0]
            if list(detail["shape"]) != list(shape):
                it.resize_tensor_input(detail["index"], list(shape), strict=True)
            it.allocate_tensors()
            if not interpreters:  # after allocate_tensors: the ops XNNPack took are one DELEGATE node per partition
                ops = sorted({op["op_name"] for op in it._get_ops_details()})
                print(f"{label}: {len(flat):,} bytes, input shape signature "
                      f"{[int(d) for d in detail['shape_signature']]}, ops {ops}", file=sys.stderr)
            interpreters[batch] = (it, detail["index"], it.get_output_details()[0]["index"])
        return interpreters[batch]
    return interpreter


def make_tflite_quantized(p, threads, activations):
    """TensorFlow Lite with full-integer post-training quantization: `optimizations=[Optimize.DEFAULT]`,
    a representative data set (p["calibration"]: real images in the model's input normalization, by
    default the first 300 of the MNIST training set, fed one at a time), and
      activations "int8":  supported_ops=[OpsSet.TFLITE_BUILTINS_INT8], inference_input_type and
                           inference_output_type tf.int8: int8 weights (per channel) and activations,
                           int32 biases, an int8 input and output tensor; XNNPack runs it (QS8);
      activations "int16": supported_ops=[OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
                           ("16x8"), float input and output: TFLite's own int16 kernels, not XNNPack's.
    The returned run has run.prepare (float32 input -> the input tensor's type, applied before timing)
    and run.quantization (what was done, for the JSON line).

    The LSTM is the Keras model of the tflite peers written out step by step (keras_model with
    unroll=True: FULLY_CONNECTED, SPLIT, LOGISTIC, TANH, MUL, ADD per step), with a free batch size: one
    conversion and calibration, bench/out/tflite/lstm-{int8-full,int16x8}.tflite, one interpreter per
    batch size. The looped form the tflite peers convert (a WHILE over the steps, fixed batch size)
    cannot be fully quantized with TensorFlow 2.21.0: the converter's calibrator crashes the process
    (SIGSEGV in tensorflow/lite/python/optimize/calibrator.py _feed_tensors, in the native FeedTensor)
    with TFLITE_BUILTINS_INT8 and with 16x8, at batch 1 and 128. The fused UNIDIRECTIONAL_SEQUENCE_LSTM
    op, which has an integer kernel, comes only from Keras 2's LSTM (the tf-keras package, not installed
    here): with tf-keras 2.21.0 the converted model is already wrong in f32 (43.9 % of the test images
    right where the Keras model and the reference get 93.5 %; course-h128 fixture), and its int8 kernel
    is not delegated to XNNPack (641 images/s at batch 128, 1 thread). An image model (keras_cnn, NHWC)
    converts as it is: bench/out/tflite/cnn-{int8-full,int16x8}.tflite."""
    tf, folder, make, version = tflite_setup(threads)
    calibration = p["calibration"]
    if "image" in p:
        model, net = keras_cnn(tf, p), "cnn"
    else:
        model, net = keras_model(tf, p, None, calibration.shape[1], unroll=True), "lstm"
    name = "int8-full" if activations == "int8" else "int16x8"
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([calibration[i:i + 1]] for i in range(calibration.shape[0]))
    if activations == "int8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    flat = convert(converter, os.path.join(folder, f"{net}-{name}.tflite"))
    interpreter = per_batch_interpreters(flat, make, f"tflite {name} {net}")
    probe = make(flat)
    inp, out = probe.get_input_details()[0], probe.get_output_details()[0]
    (in_scale, in_zero), (out_scale, out_zero) = inp["quantization"], out["quantization"]
    types = {np.dtype(np.int8): "int8", np.dtype(np.int16): "int16", np.dtype(np.float32): "float32"}
    dtypes = {np.dtype(t["dtype"]) for t in probe.get_tensor_details()}
    described = lambda d, scale, zero: types[np.dtype(d)] + (f" (scale {scale:.6g}, zero point {zero})" if scale else "")

    def quantize(x):
        if np.dtype(inp["dtype"]) == np.float32:
            return x
        info = np.iinfo(inp["dtype"])
        return np.clip(np.round(x / in_scale) + in_zero, info.min, info.max).astype(inp["dtype"])

    def run(x):
        it, i, o = interpreter(x.shape)
        it.set_tensor(i, np.ascontiguousarray(x))
        it.invoke()
        y = it.get_tensor(o)
        return y if y.dtype == np.float32 else (y.astype(np.float32) - out_zero) * out_scale
    run.prepare = quantize
    run.quantization = {
        "mode": ("full integer: int8 weights and activations (OpsSet.TFLITE_BUILTINS_INT8)" if activations == "int8"
                 else "16x8: int8 weights, int16 activations (OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8)"),
        "input": described(inp["dtype"], in_scale, in_zero), "output": described(out["dtype"], out_scale, out_zero),
        "tensor_types": sorted(types.get(d, str(d)) for d in dtypes),
        "calibration": p.get("calibration_source", f"{calibration.shape[0]} images"),
        "graph": "CNN as in the tflite peer, free batch size" if net == "cnn"
                 else f"LSTM unrolled over {calibration.shape[1]} steps (Keras LSTM(unroll=True)), free batch size",
        "bytes": len(flat),
    }
    print(f"tflite {name}: input {run.quantization['input']}, output {run.quantization['output']}, "
          f"calibrated on {run.quantization['calibration']}", file=sys.stderr)
    return run, version


PEERS = {"torch": make_torch, "onnxruntime": make_onnxruntime, "tensorflow": make_tensorflow,
         "tflite": lambda p, threads: make_tflite(p, threads, int8=False),
         "tflite-int8": lambda p, threads: make_tflite(p, threads, int8=True),
         "tflite-int8-full": lambda p, threads: make_tflite_quantized(p, threads, "int8"),
         "tflite-int16x8": lambda p, threads: make_tflite_quantized(p, threads, "int16")}
# Peers whose image input is channels last (NHWC); the others read NCHW, our own layout.
CHANNELS_LAST = {"tensorflow", "tflite", "tflite-int8", "tflite-int8-full", "tflite-int16x8"}
# Peers calibrated on representative images (--calibration-images).
CALIBRATED = {"tflite-int8-full", "tflite-int16x8"}


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


def sibling(path, old, new):
    """`path` with `old` replaced by `new` in its file name (t10k-images-idx3-ubyte.gz -> t10k-labels-idx1-ubyte.gz),
    or None when the name has no `old` or no such file exists."""
    folder, name = os.path.split(path)
    other = os.path.join(folder, name.replace(old, new))
    return other if old in name and os.path.exists(other) else None


def read_idx_labels(path):
    raw = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    magic, n = (int.from_bytes(raw[i:i + 4], "big") for i in range(0, 8, 4))
    if magic != 0x00000801:
        raise SystemExit(f"{path}: expected IDX1 u8 magic 0x00000801, found {magic:#010x}")
    return np.frombuffer(raw, dtype=np.uint8, count=n, offset=8)


def peer_input(model, images, peer):
    """(float32 input of `peer`, u8 images as rnnm.forward reads them) for IDX3 planes `images`: the model's
    input normalization, computed in binary32 (exact); an image model's input NHWC for CHANNELS_LAST peers."""
    if model.input["kind"] == "image":
        images = model_images(model, images)                          # u8 [N, C, H, W]
        x = rnnm.input_images(model, images).astype(np.float32)
        if peer in CHANNELS_LAST:
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))         # NHWC
        return x, images
    images = images.reshape(images.shape[0], -1)
    return rnnm.input_sequence(model, images).astype(np.float32), images


def main():
    global TFLITE_INTERPRETER
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", choices=sorted(PEERS), required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True, help="IDX3 u8 images (raw or .gz)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,128,10000")
    ap.add_argument("--budget", type=float, default=5.0, help="seconds of repeats per batch size")
    ap.add_argument("--agreement-images", type=int, default=1000,
                    help="images compared with the float64 reference (in chunks of 500)")
    ap.add_argument("--labels", help="IDX1 labels of --images, for the accuracy on all of them (default: the "
                    "labels file next to --images, t10k-labels-idx1-ubyte.gz for t10k-images-idx3-ubyte.gz, if present)")
    ap.add_argument("--calibration-images", help="IDX3 images for the representative data set of tflite-int8-full "
                    "and tflite-int16x8 (default: train-images-idx3-ubyte.gz next to --images, else --images)")
    ap.add_argument("--calibration-count", type=int, default=300, help="images of the representative data set")
    ap.add_argument("--tflite-interpreter", choices=["auto", "litert", "tensorflow"], default="auto",
                    help="what runs the TFLite peers: LiteRT's interpreter (ai-edge-litert), tf.lite.Interpreter, "
                    "or auto: LiteRT's when installed")
    args = ap.parse_args()
    TFLITE_INTERPRETER = args.tflite_interpreter

    model = rnnm.load(args.model)
    layers = image_layers(model) if model.input["kind"] == "image" else course_layers(model)
    x, images = peer_input(model, read_idx_images(args.images), args.peer)
    count = min(args.agreement_images, x.shape[0])
    reference = rnnm.forward(model, images[:count])
    if args.peer in CALIBRATED:
        path = args.calibration_images or sibling(args.images, "t10k-images", "train-images") or args.images
        calibration, _ = peer_input(model, read_idx_images(path), args.peer)
        layers["calibration"] = calibration[:args.calibration_count]
        layers["calibration_source"] = f"the first {layers['calibration'].shape[0]:,} images of {os.path.basename(path)}"
    run, version = PEERS[args.peer](layers, args.threads)
    if hasattr(run, "prepare"):  # the peer's own input type (a quantized input tensor), not timed
        x = run.prepare(x)
    peer_logits = np.concatenate([run(x[i:min(i + 500, count)]) for i in range(0, count, 500)])
    out = {
        "peer": args.peer, "version": version, "threads": args.threads,
        "agreement": float(np.mean(peer_logits.argmax(1) == reference.argmax(1))), "agreement_images": count,
        "max_abs_logit_diff": float(np.abs(peer_logits - reference).max()),
    }
    labels_path = args.labels or sibling(args.images, "images-idx3", "labels-idx1")
    if labels_path:
        labels = read_idx_labels(labels_path)
        if labels.shape[0] != x.shape[0]:
            raise SystemExit(f"{labels_path}: {labels.shape[0]} labels for {x.shape[0]} images")
        predicted = np.concatenate([run(x[i:i + 500]).argmax(1) for i in range(0, x.shape[0], 500)])
        out.update(accuracy=float(np.mean(predicted == labels)), accuracy_images=int(x.shape[0]))
    if hasattr(run, "quantization"):
        out["quantization"] = run.quantization
    out["results"] = [time_batches(run, x, int(b), args.budget, 20) for b in args.batches.split(",")]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
