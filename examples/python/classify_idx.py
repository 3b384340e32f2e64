#!/usr/bin/env python3
"""classify_idx.py -- the C example (examples/c/classify_idx.c) through ctypes.

    python3 classify_idx.py [--library PATH] [--csv] [--batch N] MODEL.rnnm IMAGES.idx[.gz] [LABELS.idx[.gz]]

Prints a summary (and the accuracy when a labels file is given); with --csv, one line
`index,class,label` per image on stdout (the first three columns of `rnn-infer --format csv`) and
the summary on stderr. Exit status: 0 ok, 1 error, 64 usage (argparse uses 2).
"""
import argparse
import csv
import gzip
import io
import struct
import sys
import time

from rnn_runtime import RNNError, Runtime

MAX_IDX_BYTES = 1 << 30


def read_idx(path):
    """(dims, data) of a u8 IDX file, raw or gzip (recognized by its magic 1f 8b)."""
    with open(path, "rb") as raw:
        start = raw.read(2)
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if start == b"\x1f\x8b" else raw
        header = stream.read(4)
        if len(header) != 4 or header[:3] != b"\x00\x00\x08" or not 1 <= header[3] <= 3:
            raise ValueError(f"{path}: expected the magic 00 00 08 0{{1,2,3}} of a u8 IDX file")
        dims = struct.unpack(">" + "I" * header[3], stream.read(4 * header[3]))
        total = 1
        for d in dims:
            total *= d
        if total > MAX_IDX_BYTES:
            raise ValueError(f"{path}: more than {MAX_IDX_BYTES} bytes of data")
        data = stream.read(total)
        if len(data) != total:
            raise ValueError(f"{path}: truncated: expected {total} bytes of data, found {len(data)}")
        return dims, data


def main(argv):
    parser = argparse.ArgumentParser(description="Classify an IDX file with librnnruntime through ctypes.")
    parser.add_argument("--library", help="path of librnnruntime.so")
    parser.add_argument("--csv", action="store_true", help="print index,class,label per image")
    parser.add_argument("--batch", type=int, default=1000, help="images per C call")
    parser.add_argument("model")
    parser.add_argument("images")
    parser.add_argument("labels", nargs="?")
    args = parser.parse_args(argv)

    try:
        runtime = Runtime(args.library)
        model = runtime.load(args.model)
    except (OSError, RNNError) as error:
        print(f"classify_idx.py: {error}", file=sys.stderr)
        return 1
    with model:
        try:
            dims, pixels = read_idx(args.images)
            truth = read_idx(args.labels)[1] if args.labels else None
        except (OSError, ValueError) as error:
            print(f"classify_idx.py: {error}", file=sys.stderr)
            return 1
        if len(dims) != 3 or dims[1:] != (model.height, model.width):
            print(f"classify_idx.py: expected {model.height}x{model.width} images, found dims {dims}", file=sys.stderr)
            return 1
        count, per_image = dims[0], model.height * model.width
        if truth is not None and len(truth) != count:
            print(f"classify_idx.py: expected {count} labels, found {len(truth)}", file=sys.stderr)
            return 1

        start = time.perf_counter()
        predicted = []
        for first in range(0, count, args.batch):
            n = min(args.batch, count - first)
            predicted += model.classify_classes(pixels[first * per_image:(first + n) * per_image])
        elapsed = time.perf_counter() - start

        summary = sys.stderr if args.csv else sys.stdout
        if args.csv:
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["index", "class", "label"])
            for i, c in enumerate(predicted):
                writer.writerow([i, c, model.labels[c]])
            sys.stdout.write(out.getvalue())
        print(f"librnnruntime {runtime.version_string} (ctypes): {count} images of {model.height}x{model.width}, "
              f"{model.classes} classes, {elapsed * 1e3:.1f} ms ({count / elapsed if elapsed else 0:.0f} images/s)",
              file=summary)
        if truth is not None:
            correct = sum(1 for p, t in zip(predicted, truth) if p == t)
            print(f"accuracy: {100.0 * correct / count if count else 0:.2f}% ({correct}/{count})", file=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
