#!/usr/bin/env python3
"""Train the course LSTM (or its GRU twin) in a peer framework with rnn-train's hyperparameters; time each epoch.

The network is rnn-train's: dense-in 28->H, LSTM H (gate order i, f, g, o) or, with --cell gru, GRU H
(gate order r, z, n, reset after: PyTorch's nn.GRU, Keras's reset_after=True), dense-out H->10,
softmax cross-entropy, Adam, rnn-train's learning-rate schedule (200 warm-up steps, cosine decay per step), gradient-norm clipping, trained
on the first 55,000 MNIST training images (the last 5,000 are rnn-train's validation split) and
evaluated on the 10,000 test images after every epoch.

One framework per process (thread pools are fixed once created). Output: one JSON object,
{"peer", "version", "threads", "epochs": [{"epoch", "seconds", "train_loss", "validation_accuracy",
"test_accuracy"}]} (validation: the last 5,000 training images, as rnn-train).
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np


def read_idx(path):
    raw = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit(f"{name}[.gz] not found in {directory}")


def load_mnist(directory):
    get = lambda n: read_idx(find(directory, n))
    x_train = get("train-images-idx3-ubyte").astype(np.float32) / np.float32(255)
    y_train = get("train-labels-idx1-ubyte").astype(np.int64)
    x_test = get("t10k-images-idx3-ubyte").astype(np.float32) / np.float32(255)
    y_test = get("t10k-labels-idx1-ubyte").astype(np.int64)
    return x_train[:55000], y_train[:55000], x_train[55000:], y_train[55000:], x_test, y_test


def schedule_lr(base, step, total, warmup=200, floor=0.01):
    """rnn-train's default schedule (Sources/RNNTraining/Optimizer.swift): linear warm-up, then
    cosine decay to `floor` x base."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup - 1))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def train_torch(args, data):
    import torch
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    x_train, y_train, x_val, y_val, x_test, y_test = (torch.from_numpy(a) for a in data)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dense_in = torch.nn.Linear(28, args.hidden)
            cell = torch.nn.GRU if args.cell == "gru" else torch.nn.LSTM
            self.lstm = cell(args.hidden, args.hidden, batch_first=True)
            self.dense_out = torch.nn.Linear(args.hidden, 10)

        def forward(self, x):
            y, _ = self.lstm(self.dense_in(x))
            return self.dense_out(y[:, -1])

    net = Net()
    if args.cell == "lstm":
        with torch.no_grad():  # rnn-train's forget-gate bias convention (b_ih forget rows = 1)
            net.lstm.bias_ih_l0[args.hidden:2 * args.hidden].fill_(1.0)
            net.lstm.bias_hh_l0.zero_()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = len(x_train) // args.batch
    total = steps_per_epoch * args.epochs
    gen = torch.Generator().manual_seed(args.seed)
    epochs, step = [], 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(len(x_train), generator=gen)
        net.train()
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            for group in opt.param_groups:
                group["lr"] = schedule_lr(args.lr, step, total)
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(x_train[idx]), y_train[idx])
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), args.clip)
            opt.step()
            loss_sum += loss.item()
            step += 1
        seconds = time.perf_counter() - t0
        net.eval()
        with torch.inference_mode():
            accuracy = lambda x, y: float(torch.cat([net(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
                                          .eq(y).float().mean())
            epochs.append({"epoch": epoch, "seconds": seconds, "train_loss": loss_sum / steps_per_epoch,
                           "validation_accuracy": accuracy(x_val, y_val), "test_accuracy": accuracy(x_test, y_test)})
        print(json.dumps({"progress": epochs[-1]}), flush=True, file=__import__("sys").stderr)
    return torch.__version__, epochs


def train_tensorflow(args, data):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(args.seed)
    x_train, y_train, x_val, y_val, x_test, y_test = data
    model = tf.keras.Sequential([
        tf.keras.Input((28, 28)),
        tf.keras.layers.Dense(args.hidden),
        (tf.keras.layers.GRU(args.hidden, reset_after=True) if args.cell == "gru"
         else tf.keras.layers.LSTM(args.hidden, unit_forget_bias=True)),
        tf.keras.layers.Dense(10),
    ])
    steps_per_epoch = len(x_train) // args.batch
    total = steps_per_epoch * args.epochs

    class Schedule(tf.keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            warm = args.lr * (step + 1) / 200
            progress = tf.minimum(1.0, (step - 200) / max(1, total - 201))
            decay = args.lr * (0.01 + 0.99 * 0.5 * (1 + tf.cos(math.pi * progress)))
            return tf.where(step < 200, warm, decay)

    schedule = Schedule()
    opt = tf.keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                                   global_clipnorm=args.clip if args.clip > 0 else None)
    model.compile(optimizer=opt, loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    epochs = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        hist = model.fit(x_train, y_train, batch_size=args.batch, epochs=1, shuffle=True, verbose=0)
        seconds = time.perf_counter() - t0
        _, val = model.evaluate(x_val, y_val, batch_size=1000, verbose=0)
        _, acc = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
        epochs.append({"epoch": epoch, "seconds": seconds, "train_loss": float(hist.history["loss"][0]),
                       "validation_accuracy": float(val), "test_accuracy": float(acc)})
    return tf.__version__, epochs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", choices=["torch", "tensorflow"], required=True)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets", "mnist"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    args = ap.parse_args()
    data = load_mnist(args.data)
    version, epochs = (train_torch if args.peer == "torch" else train_tensorflow)(args, data)
    print(json.dumps({"peer": args.peer, "version": version, "threads": args.threads, "cell": args.cell,
                      "epochs": epochs}))


if __name__ == "__main__":
    main()
