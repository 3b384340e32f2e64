#!/usr/bin/env python3
"""RNN versus CNN on MNIST (and Fashion-MNIST): accuracy, model size and speed, in PyTorch on the CPU.

The course question is whether an RNN can solve the digit task and whether it beats a CNN in
accuracy, model size and computational speed. This script answers it in one framework, on the
same data, with the same optimizer settings and the same number of epochs for every model, so
that the only difference is the architecture:

  cnn               LeNet-5-like CNN: conv 1->6 5x5 pad 2 + ReLU + maxpool 2,
                    conv 6->16 5x5 + ReLU + maxpool 2, dense 400->120 + ReLU, 120->84 + ReLU, 84->10
  lstm-128          the course LSTM: each 28x28 image is 28 time steps of one 28-pixel row;
                    dense-in 28->128 (no activation), LSTM 128, dense-out 128->10 on the last step
  lstm-64           the same with hidden size 64
  lstm-256          the same with hidden size 256
  lstm-2x128        two stacked LSTM layers of 128
  lstm-128-columns  the course LSTM reading the image column by column (the image transposed)

Training (every model): Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8, constant rate), batch 128,
gradient-norm clip 1.0, pixels scaled to [0, 1], seed 1, shuffled every epoch. Test accuracy is measured
after every epoch on the 10,000 test images. The rate is constant so that "accuracy after epoch k" means
the same thing whatever the total epoch count. To keep the full run near 15 minutes on 2 cores, the
CNN and the course LSTM train 3 epochs on MNIST (--epochs) but the LSTM variants 1 (--variant-epochs),
compared with the others' epoch-1 accuracy, and both Fashion-MNIST models 1 (--fashion-epochs).

Measured per model: test accuracy per epoch, parameter count, bytes of the float32 weights (and
zstd level 19 of those bytes), training seconds per epoch (torch.set_num_threads(--train-threads)),
inference images/s at batch 1 (median per-image latency over --single-images calls) and at batch
10,000 (median of --repeats calls), each with torch.set_num_threads(1) and (2).

Output: JSON (schema "rnn-compare/1", read by `rnn-report --comparison`) and a Markdown table on stdout.

Usage (from the repository root):
  bench/.venv/bin/python bench/compare_cnn.py --quick          # smoke test: 1 epoch on a subset, ~1-2 min
  bench/.venv/bin/python bench/compare_cnn.py                  # full run: 3 epochs, writes bench/out/compare.json
                                                               # and bench/results/compare-cnn.json (committed)
The virtual environment, if missing:
  python3 -m venv bench/.venv && bench/.venv/bin/pip install "torch==2.13.0+cpu" onnxruntime onnx tensorflow-cpu numpy zstandard
"""
import argparse
import gzip
import json
import os
import platform
import statistics
import struct
import sys
import time

import numpy as np

try:
    import torch
    import torch.nn as nn
except ImportError:  # pragma: no cover - explained to the user
    sys.exit("compare_cnn.py: PyTorch is missing; create the environment with:\n"
             "  python3 -m venv bench/.venv && bench/.venv/bin/pip install \"torch==2.13.0+cpu\" "
             "onnxruntime onnx tensorflow-cpu numpy zstandard\nand run with bench/.venv/bin/python")
try:
    import zstandard
except ImportError:  # zstd sizes are then left out
    zstandard = None

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_MNIST = os.path.normpath(os.path.join(REPO, "..", "shared", "datasets", "mnist"))
DEFAULT_FASHION = "/usr/share/datasets/fashion-mnist"
MAX_IDX_BYTES = 1 << 30


# ---------------------------------------------------------------------------------------------
# Data: IDX files (raw or .gz), as RNNDatasets reads them.

def read_idx(path, expected_dims):
    """Reads an IDX file of unsigned bytes; checks magic, dimensions and size before allocating."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        header = f.read(4)
        if len(header) != 4 or header[0] != 0 or header[1] != 0 or header[2] != 0x08:
            raise ValueError(f"{path}: expected an IDX file of u8 (magic 00 00 08 xx), found {header.hex()}")
        dims = header[3]
        if dims != expected_dims:
            raise ValueError(f"{path}: expected {expected_dims} dimensions, found {dims}")
        shape = struct.unpack(">" + "I" * dims, f.read(4 * dims))
        count = int(np.prod(shape, dtype=np.int64))
        if count > MAX_IDX_BYTES:
            raise ValueError(f"{path}: header claims {count} bytes, limit {MAX_IDX_BYTES}")
        data = f.read(count)
        if len(data) != count:
            raise ValueError(f"{path}: expected {count} data bytes, found {len(data)}")
        return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def find(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{directory}: expected {name} or {name}.gz")


def load_dataset(directory):
    train_x = read_idx(find(directory, "train-images-idx3-ubyte"), 3)
    train_y = read_idx(find(directory, "train-labels-idx1-ubyte"), 1)
    test_x = read_idx(find(directory, "t10k-images-idx3-ubyte"), 3)
    test_y = read_idx(find(directory, "t10k-labels-idx1-ubyte"), 1)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError(f"{directory}: image and label counts differ")
    to_tensor = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0)  # noqa: E731
    return (to_tensor(train_x), torch.from_numpy(train_y.astype(np.int64)),
            to_tensor(test_x), torch.from_numpy(test_y.astype(np.int64)))


# ---------------------------------------------------------------------------------------------
# Models. Every model takes a batch of images [N, 28, 28] in [0, 1] and returns logits [N, 10].

class LeNet(nn.Module):
    architecture = ("conv 1->6 5x5 pad 2 + ReLU + maxpool 2, conv 6->16 5x5 + ReLU + maxpool 2, "
                    "dense 400->120 + ReLU, dense 120->84 + ReLU, dense 84->10")

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, images):
        return self.classifier(self.features(images.unsqueeze(1)))


class RowLSTM(nn.Module):
    """dense-in 28->E (no activation), LSTM(E -> H) x layers, dense-out H->10 on the last step."""

    def __init__(self, hidden=128, layers=1, embed=128, columns=False):
        super().__init__()
        self.columns = columns
        self.dense_in = nn.Linear(28, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.dense_out = nn.Linear(hidden, 10)
        self.architecture = (f"{'columns' if columns else 'rows'} as 28 time steps of 28 pixels; dense 28->{embed} "
                             f"(no activation), LSTM {hidden}" + (f" x {layers} layers" if layers > 1 else "")
                             + f", dense {hidden}->10 on the last step")

    def forward(self, images):
        x = images.transpose(1, 2) if self.columns else images
        out, _ = self.lstm(self.dense_in(x))
        return self.dense_out(out[:, -1, :])


MODELS = {
    "cnn": ("CNN (LeNet-5-like)", "cnn", lambda: LeNet()),
    "lstm-128": ("LSTM 128 (course)", "rnn", lambda: RowLSTM(128)),
    "lstm-64": ("LSTM 64", "rnn", lambda: RowLSTM(64)),
    "lstm-256": ("LSTM 256", "rnn", lambda: RowLSTM(256)),
    "lstm-2x128": ("LSTM 2x128 stacked", "rnn", lambda: RowLSTM(128, layers=2)),
    "lstm-128-columns": ("LSTM 128, columns", "rnn", lambda: RowLSTM(128, columns=True)),
}
# The CNN and the course LSTM: trained for --epochs, and on Fashion-MNIST too. The others are variants.
MAIN_MODELS = ["cnn", "lstm-128"]
FASHION_MODELS = MAIN_MODELS


# ---------------------------------------------------------------------------------------------
# Training and measurement.

@torch.inference_mode()
def accuracy(model, images, labels, batch=1000):
    model.eval()
    correct = 0
    for start in range(0, len(images), batch):
        correct += (model(images[start:start + batch]).argmax(1) == labels[start:start + batch]).sum().item()
    return correct / len(images)


def train(model, data, args, epochs_to_run, log):
    train_x, train_y, test_x, test_y = data
    torch.set_num_threads(args.train_threads)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed)
    epochs = []
    for epoch in range(1, epochs_to_run + 1):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        started = time.perf_counter()
        loss_sum, seen = 0.0, 0
        for start in range(0, len(train_x), args.batch_size):
            index = order[start:start + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(train_x[index]), train_y[index])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            loss_sum += loss.item() * len(index)
            seen += len(index)
        seconds = time.perf_counter() - started
        test_accuracy = accuracy(model, test_x, test_y)
        epochs.append({"epoch": epoch, "train_loss": loss_sum / seen, "test_accuracy": test_accuracy, "seconds": seconds})
        log(f"    epoch {epoch}: loss {loss_sum / seen:.4f}, test accuracy {100 * test_accuracy:.2f}%, {seconds:.1f} s")
    return epochs


def weight_bytes(model):
    """The float32 weights, concatenated in state_dict order: what a raw weight file would hold."""
    return b"".join(t.detach().contiguous().numpy().astype("<f4").tobytes() for t in model.state_dict().values())


@torch.inference_mode()
def inference_speed(model, images, threads, single_images, repeats, big_batch):
    model.eval()
    torch.set_num_threads(threads)
    results = []
    # Batch 1: per-call latency of single images; images/s = 1 / median latency.
    for i in range(min(20, single_images)):  # warm-up
        model(images[i:i + 1])
    latencies = []
    for i in range(single_images):
        x = images[i % len(images)].unsqueeze(0)
        started = time.perf_counter()
        model(x)
        latencies.append(time.perf_counter() - started)
    median = statistics.median(latencies)
    results.append({"threads": threads, "batch": 1, "images": single_images, "median_seconds": median,
                    "images_per_second": 1 / median, "runs": single_images})
    # Whole batch: median over repeats.
    batch = images[:big_batch]
    model(batch[:256])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model(batch)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    results.append({"threads": threads, "batch": len(batch), "images": len(batch), "median_seconds": median,
                    "images_per_second": len(batch) / median, "runs": repeats})
    return results


def run_model(key, dataset_name, data, args, log):
    name, family, factory = MODELS[key]
    torch.manual_seed(args.seed)
    model = factory()
    parameters = sum(p.numel() for p in model.parameters())
    log(f"  {dataset_name} / {name}: {parameters:,} parameters")
    if dataset_name != "mnist":
        epoch_count = args.fashion_epochs
    else:
        epoch_count = args.epochs if key in MAIN_MODELS else args.variant_epochs
    epochs = train(model, data, args, epoch_count, log)
    raw = weight_bytes(model)
    zstd_bytes = len(zstandard.ZstdCompressor(level=19).compress(raw)) if zstandard else None
    inference = []
    for threads in args.infer_threads:
        inference += inference_speed(model, data[2], threads, args.single_images, args.repeats, args.big_batch)
    for entry in inference:
        log(f"    inference: batch {entry['batch']}, {entry['threads']} thread(s): {entry['images_per_second']:,.0f} images/s")
    return {
        "key": key, "name": name, "family": family, "dataset": dataset_name,
        "architecture": getattr(model, "architecture", None) or type(model).architecture,
        "parameters": parameters, "float32_bytes": len(raw), "zstd_bytes": zstd_bytes,
        "test_accuracy": epochs[-1]["test_accuracy"], "trained_epochs": len(epochs), "epochs": epochs,
        "train_seconds_per_epoch": statistics.mean(e["seconds"] for e in epochs),
        "inference": inference,
    }


def subset(data, train_count, test_count):
    train_x, train_y, test_x, test_y = data
    return train_x[:train_count], train_y[:train_count], test_x[:test_count], test_y[:test_count]


def markdown(result):
    header = ["dataset", "model", "test acc", "params", "float32", "zstd", "train s/epoch"]
    threads = sorted({e["threads"] for r in result["runs"] for e in r["inference"]})
    batches = sorted({e["batch"] for r in result["runs"] for e in r["inference"]})
    header += [f"img/s b={b} t={t}" for b in batches for t in threads]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in result["runs"]:
        rates = {(e["batch"], e["threads"]): e["images_per_second"] for e in r["inference"]}
        row = [r["dataset"], r["name"], f"{100 * r['test_accuracy']:.2f}%", f"{r['parameters']:,}",
               f"{r['float32_bytes'] / 1024:.1f} KiB", f"{r['zstd_bytes'] / 1024:.1f} KiB" if r["zstd_bytes"] else "",
               f"{r['train_seconds_per_epoch']:.1f}"]
        row += [f"{rates[(b, t)]:,.0f}" if (b, t) in rates else "" for b in batches for t in threads]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.environ.get("MNIST_DIR", DEFAULT_MNIST), help="MNIST IDX directory (default: %(default)s)")
    parser.add_argument("--fashion-data", default=os.environ.get("FASHION_MNIST_DIR", DEFAULT_FASHION),
                        help="Fashion-MNIST IDX directory (default: %(default)s)")
    parser.add_argument("--no-fashion", action="store_true", help="skip Fashion-MNIST")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of: " + ", ".join(MODELS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--variant-epochs", type=int, default=1, help="epochs of the MNIST LSTM variants (default: %(default)s)")
    parser.add_argument("--fashion-epochs", type=int, default=1, help="epochs on Fashion-MNIST (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-threads", type=int, default=2)
    parser.add_argument("--infer-threads", default="1,2", help="thread counts for the inference timings")
    parser.add_argument("--single-images", type=int, default=500, help="batch-1 calls timed per thread count")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls at the large batch")
    parser.add_argument("--big-batch", type=int, default=10000)
    parser.add_argument("--quick", action="store_true", help="smoke test: 1 epoch on 6,000 training and 2,000 test images")
    parser.add_argument("--output", help="JSON file (default: bench/out/compare.json, with --quick bench/out/compare-quick.json)")
    args = parser.parse_args(argv)
    args.infer_threads = [int(t) for t in args.infer_threads.split(",") if t]
    keys = [k for k in args.models.split(",") if k]
    unknown = [k for k in keys if k not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; expected some of {list(MODELS)}")
    if min(args.epochs, args.variant_epochs, args.fashion_epochs, args.batch_size) < 1:
        parser.error("--epochs, --variant-epochs, --fashion-epochs and --batch-size must be at least 1")
    if args.output is None:
        args.output = os.path.join(REPO, "bench", "out", "compare-quick.json" if args.quick else "compare.json")
    if args.quick:
        args.epochs, args.variant_epochs, args.fashion_epochs, args.single_images, args.repeats = 1, 1, 1, 50, 2
        args.big_batch = min(args.big_batch, 2000)

    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    started = time.perf_counter()
    datasets = [("mnist", args.data, keys)]
    if not args.no_fashion:
        fashion_keys = [k for k in FASHION_MODELS if k in keys]
        if os.path.isdir(args.fashion_data):
            datasets.append(("fashion-mnist", args.fashion_data, fashion_keys))
        else:
            log(f"compare_cnn.py: no Fashion-MNIST at {args.fashion_data} (apt-get install dataset-fashion-mnist); skipped")
    runs = []
    for dataset_name, directory, dataset_keys in datasets:
        log(f"{dataset_name}: {directory}")
        data = load_dataset(directory)
        if args.quick:
            data = subset(data, 6000, 2000)
        for key in dataset_keys:
            runs.append(run_model(key, dataset_name, data, args, log))

    result = {
        "schema": "rnn-compare/1",
        "quick": args.quick,
        "settings": {
            "framework": f"PyTorch {torch.__version__} (CPU)",
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs",
            "epochs": args.epochs, "variant_epochs": args.variant_epochs, "fashion_epochs": args.fashion_epochs, "batch_size": args.batch_size,
            "optimizer": f"Adam lr {args.lr} (constant), betas 0.9/0.999, eps 1e-8, gradient-norm clip 1.0",
            "train_threads": args.train_threads, "infer_threads": ",".join(map(str, args.infer_threads)),
            "seed": args.seed, "input": "pixels / 255",
            "command": " ".join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(REPO) else "python"]
                                + ["bench/compare_cnn.py"] + (argv if argv is not None else sys.argv[1:])),
            "total_seconds": round(time.perf_counter() - started, 1),
        },
        "runs": runs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    temporary = args.output + ".tmp"
    with open(temporary, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(temporary, args.output)
    if not args.quick:  # the README table's numbers (bench/results.py); bench/out/ stays scratch
        sys.path.insert(0, os.path.join(REPO, "bench"))
        import results as results_file
        results_file.write("compare-cnn", result["settings"]["command"], result)
    print(markdown(result))
    log(f"compare_cnn.py: wrote {args.output} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
