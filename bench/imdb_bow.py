#!/usr/bin/env python3
"""Bag-of-words logistic-regression baseline for IMDb sentiment, for an honest comparison with the LSTM.

Same data and split as `rnn-train --dataset imdb` (the 25,000 training reviews, evaluated on the 25,000
test reviews), the same tokenizer (spec §6.2.1 `words-v1`, imported from spec/reference/rnnm.py) and the
same vocabulary rule (the 19,998 most frequent training words, ties by bytes). Features: binary word
presence, each review's vector L2-normalized; model: logistic regression with L2 penalty, full-batch Adam.
The penalty is chosen on a seeded 10 % validation split of the training reviews, then the model is refit
on all 25,000. numpy only (sparse products via bincount / add.reduceat).

    python3 bench/imdb_bow.py [../shared/datasets/aclImdb_v1_labeled.tar.gz] [--json out.json]
"""
import json
import os
import re
import sys
import tarfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "reference"))
import rnnm  # noqa: E402

PATH_RE = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


def load(path):
    data = {"train": [], "test": []}
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            m = PATH_RE.search(member.name)
            if m and member.isfile():
                text = tar.extractfile(member).read()
                data[m.group(1)].append((text, 1 if m.group(2) == "pos" else 0))
    return data


def vocabulary(docs, size):
    counts = {}
    for words in docs:
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return {w: k for k, (w, _) in enumerate(ranked[:size])}


def features(docs, vocab):
    """CSR-like: (indices, row starts, values) of binary presence, rows L2-normalized."""
    indices, starts, values = [], [0], []
    for words in docs:
        ids = sorted({vocab[w] for w in words if w in vocab})
        indices.extend(ids)
        v = 1.0 / np.sqrt(len(ids)) if ids else 0.0
        values.extend([v] * len(ids))
        starts.append(len(indices))
    return np.array(indices, np.int64), np.array(starts, np.int64), np.array(values, np.float64)


def scores(w, b, X):
    idx, starts, vals = X
    contrib = w[idx] * vals
    s = np.zeros(len(starts) - 1)
    nonempty = starts[:-1] < starts[1:]
    s[nonempty] = np.add.reduceat(contrib, starts[:-1][nonempty])
    return s + b


def fit(X, y, size, penalty, steps=400, lr=0.1):
    idx, starts, vals = X
    rows = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
    w, b = np.zeros(size), 0.0
    m, v, mb, vb = np.zeros(size), np.zeros(size), 0.0, 0.0
    n = len(y)
    for t in range(1, steps + 1):
        p = 1 / (1 + np.exp(-scores(w, b, X)))
        r = (p - y) / n
        g = np.bincount(idx, weights=r[rows] * vals, minlength=size) + penalty * w
        gb = r.sum()
        m = 0.9 * m + 0.1 * g; v = 0.999 * v + 0.001 * g * g
        mb = 0.9 * mb + 0.1 * gb; vb = 0.999 * vb + 0.001 * gb * gb
        c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
        w -= lr * (m / c1) / (np.sqrt(v / c2) + 1e-8)
        b -= lr * (mb / c1) / (np.sqrt(vb / c2) + 1e-8)
    return w, b


def accuracy(w, b, X, y):
    return float(((scores(w, b, X) > 0) == (y == 1)).mean())


def main(argv):
    path = argv[1] if len(argv) > 1 and not argv[1].startswith("--") else "../shared/datasets/aclImdb_v1_labeled.tar.gz"
    out = argv[argv.index("--json") + 1] if "--json" in argv else None
    t0 = time.time()
    data = load(path)
    train_docs = [rnnm.tokenize(t) for t, _ in data["train"]]
    test_docs = [rnnm.tokenize(t) for t, _ in data["test"]]
    y_train = np.array([l for _, l in data["train"]], np.float64)
    y_test = np.array([l for _, l in data["test"]], np.float64)
    load_s = time.time() - t0
    size = 19_998
    vocab = vocabulary(train_docs, size)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(train_docs))
    held, rest = order[:2500], order[2500:]
    X_rest = features([train_docs[i] for i in rest], vocab)
    X_held = features([train_docs[i] for i in held], vocab)
    best = None
    for penalty in (1e-4, 3e-5, 1e-5, 3e-6):
        w, b = fit(X_rest, y_train[rest], size, penalty)
        a = accuracy(w, b, X_held, y_train[held])
        print(f"penalty {penalty:g}: validation accuracy {100 * a:.2f} %", file=sys.stderr)
        if best is None or a > best[1]:
            best = (penalty, a)
    t1 = time.time()
    X_train = features(train_docs, vocab)
    w, b = fit(X_train, y_train, size, best[0])
    train_s = time.time() - t1
    t2 = time.time()
    X_test = features(test_docs, vocab)
    test_acc = accuracy(w, b, X_test, y_test)
    infer_s = time.time() - t2
    result = {"model": "bag-of-words logistic regression", "test_accuracy": test_acc, "penalty": best[0],
              "validation_accuracy": best[1], "final_fit_seconds": round(train_s, 1),
              "tokenize_and_load_seconds": round(load_s, 1),
              "test_reviews_per_second_including_featurization": round(len(test_docs) / infer_s),
              "parameters": size + 1, "float32_weight_bytes": 4 * (size + 1)}
    print(json.dumps(result, indent=1))
    if out:
        with open(out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main(sys.argv)
