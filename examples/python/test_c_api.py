#!/usr/bin/env python3
"""test_c_api.py -- the C API through ctypes, over the repository's fixtures.

    python3 examples/python/test_c_api.py [--library PATH] [FIXTURES_DIR]

Checks that
  * every file of fixtures/corrupt fails to load, from a path and from memory, with the status of
    its error class in fixtures/corrupt/manifest.json (RNN_ERROR_<CLASS>) and a message that names it;
  * every image model of fixtures/models loads, reports a consistent input contract and labels, and
    classifies random pixels to the same classes through every entry point (u8 logits /
    probabilities / classes, and f32 with the model's own normalization applied here);
  * (C API 1.1) every other model loads too: text models classify texts (rnn_classify_texts*),
    feature models classify sequences of different lengths (rnn_classify_features), and the image
    functions refuse both with RNN_ERROR_UNSUPPORTED_MODEL;
  * misuse from Python (a closed handle, a wrong length) raises RNNError instead of crashing.
Exit status 0 when everything passed.
"""
import ctypes
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rnn_runtime import (RNN_ERROR_INPUT_SIZE, RNN_ERROR_INVALID_HANDLE, RNN_ERROR_UNSUPPORTED_MODEL,  # noqa: E402
                         RNN_INPUT_FEATURES, RNN_INPUT_IMAGE, RNN_INPUT_IMAGE_ROWS, RNN_INPUT_TOKENS, RNNError, Runtime)

failures = 0
checks = 0


def expect(condition, what):
    global failures, checks
    checks += 1
    if not condition:
        failures += 1
        print(f"FAIL {what}")


def to_f32(x):
    """`x` rounded to the nearest binary32."""
    return struct.unpack("f", struct.pack("f", x))[0]


def argmax(row):
    best = 0
    for i, v in enumerate(row):
        if v > row[best]:
            best = i
    return best


def check_other_kind(rt, model, name):
    """A text or features model: refused by the image functions, classified by its own."""
    try:
        rt.check(rt.lib.rnn_classify_u8(model.handle, (ctypes.c_uint8 * 1)(), 1, 1, (ctypes.c_float * model.classes)(), model.classes))
        expect(False, f"{name}: an image function accepted a model of input kind {model.kind}")
    except RNNError as error:
        expect(error.status == RNN_ERROR_UNSUPPORTED_MODEL and "input kind" in error.message, f"{name}: {error}")
    rng = random.Random(2)
    per_step = ctypes.c_int()
    rt.check(rt.lib.rnn_model_outputs_per_step(model.handle, ctypes.byref(per_step)))
    if model.kind == RNN_INPUT_TOKENS:
        if per_step.value:
            return  # per-step text models are not in the C API (their row count depends on the tokens)
        texts = ["", "a film", " ".join(model.labels) + " and some words " * 50, b"\xff\xfe not utf-8"]
        rows = model.classify_texts(texts, probabilities=True)
        expect(len(rows) == len(texts) and all(abs(sum(r) - 1) < 1e-5 for r in rows), f"{name}: text probabilities")
    else:
        expect(model.kind == RNN_INPUT_FEATURES, f"{name}: input kind {model.kind}")
        width, max_length = ctypes.c_size_t(), ctypes.c_size_t()
        rt.check(rt.lib.rnn_model_feature_shape(model.handle, ctypes.byref(width), ctypes.byref(max_length)))
        expect(width.value == model.width and max_length.value == model.height, f"{name}: feature shape")
        lengths = [1, max_length.value, 1 + rng.randrange(max_length.value)]
        sequences = [[[rng.uniform(-3, 3) for _ in range(model.width)] for _ in range(n)] for n in lengths]
        rows = model.classify_features(sequences)
        expected = sum(lengths) if per_step.value else len(lengths)
        expect(len(rows) == expected and all(v == v for r in rows for v in r), f"{name}: {len(rows)} output rows, expected {expected}")


def main(argv):
    library = None
    if argv[:1] == ["--library"]:
        library, argv = argv[1], argv[2:]
    fixtures = argv[0] if argv else os.path.join(os.path.dirname(__file__), "..", "..", "fixtures")
    rt = Runtime(library)

    # The corrupt corpus: one status per error class of spec section 8.
    corrupt = os.path.join(fixtures, "corrupt")
    with open(os.path.join(corrupt, "manifest.json")) as f:
        manifest = json.load(f)
    for entry in manifest:
        path = os.path.join(corrupt, entry["file"])
        expected = "RNN_ERROR_" + entry["error"].upper()
        for source in ("path", "memory"):
            try:
                if source == "path":
                    rt.load(path).close()
                else:
                    with open(path, "rb") as f:
                        rt.load_from_memory(f.read()).close()
                expect(False, f"{entry['file']} ({source}) loaded, expected {expected}")
            except RNNError as error:
                expect(error.name == expected, f"{entry['file']} ({source}): expected {expected}, found {error.name}: {error.message}")
                expect(entry["error"] in error.message, f"{entry['file']} ({source}): message names the class: {error.message}")
    print(f"corrupt corpus: {len(manifest)} files x 2 sources")

    # Every valid model: contract, labels, and agreement of all entry points.
    models = os.path.join(fixtures, "models")
    with open(os.path.join(models, "manifest.json")) as f:
        entries = json.load(f)
    names, others = [], 0
    for entry in entries:
        # Since 1.1 every kind loads; the image functions refuse the models that do not read images.
        # (1.2: convolutional image models, RNN_INPUT_IMAGE, read images through the same functions.)
        path = os.path.join(models, entry["file"])
        with rt.load(path) as model:
            if model.kind in (RNN_INPUT_IMAGE_ROWS, RNN_INPUT_IMAGE):
                names.append(entry["file"])
                continue
            others += 1
            check_other_kind(rt, model, entry["file"])
    rng = random.Random(1)
    for name in names:
        with rt.load(os.path.join(models, name)) as model:
            expect(model.height > 0 and model.width > 0 and model.classes == len(model.labels) >= 2, f"{name}: contract")
            count = 5
            pixels = bytes(rng.randrange(256) for _ in range(count * model.channels * model.height * model.width))
            classes = model.classify_classes(pixels)
            logits = model.classify_logits(pixels)
            probabilities = model.classify_logits(pixels, probabilities=True)
            expect(classes == [argmax(r) for r in logits], f"{name}: classes are the argmax of the logits")
            expect(classes == [argmax(r) for r in probabilities], f"{name}: and of the probabilities")
            expect(all(abs(sum(r) - 1) < 1e-5 for r in probabilities), f"{name}: probabilities sum to 1")
            # The f32 path with the normalization of spec 6.2 applied here, in binary32, gives the same logits.
            # (binary64 arithmetic rounded to binary32 is exact for the product of two floats and
            # correctly rounded for their sum, so this is the binary32 computation.)
            features = [to_f32(to_f32(p * model.scale) + model.offset) for p in pixels]
            buffer = (ctypes.c_float * len(features))(*features)
            out = (ctypes.c_float * (count * model.classes))()
            rt.check(rt.lib.rnn_classify_f32(model.handle, buffer, len(features), count, out, len(out)))
            f32_rows = [list(out[i * model.classes:(i + 1) * model.classes]) for i in range(count)]
            expect(f32_rows == logits, f"{name}: f32 of normalized pixels equals u8 logits")
    print(f"models: {len(names)} image models classified, {others} text and feature models (C API 1.1)")

    # Misuse raises, never crashes.
    model = rt.load(os.path.join(models, names[0]))
    try:
        model.classify_classes(b"")  # 0 images is fine
        rt.check(rt.lib.rnn_classify_u8_classes(model.handle, (ctypes.c_uint8 * 3)(), 3, 1, (ctypes.c_int32 * 1)(), 1))
        expect(False, "a wrong length was accepted")
    except RNNError as error:
        expect(error.status == RNN_ERROR_INPUT_SIZE, f"wrong length: {error}")
    stale = model.handle
    model.close()
    try:
        rt.check(rt.lib.rnn_model_free(stale))
        expect(False, "double free accepted")
    except RNNError as error:
        expect(error.status == RNN_ERROR_INVALID_HANDLE and "already freed" in error.message, f"double free: {error}")

    print(f"test_c_api.py: {checks} checks, {failures} failed")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
