#!/usr/bin/env python3
"""test_c_api.py -- the C API through ctypes, over the repository's fixtures.

    python3 examples/python/test_c_api.py [--library PATH] [FIXTURES_DIR]

Checks that
  * every file of fixtures/corrupt fails to load, from a path and from memory, with the status of
    its error class in fixtures/corrupt/manifest.json (RNN_ERROR_<CLASS>) and a message that names it;
  * every image model of fixtures/models loads, reports a consistent input contract and labels, and
    classifies random pixels to the same classes through every entry point (u8 logits /
    probabilities / classes, and f32 with the model's own normalization applied here); text
    models (input kind "tokens") are refused with RNN_ERROR_UNSUPPORTED_MODEL;
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
from rnn_runtime import (RNN_ERROR_INPUT_SIZE, RNN_ERROR_INVALID_HANDLE, RNNError, Runtime)  # noqa: E402

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
    names = []
    for entry in entries:
        # Text models (input kind "tokens", format 1.1) are not in the C API yet: they must be
        # refused cleanly with RNN_ERROR_UNSUPPORTED_MODEL.
        if entry["why"].startswith("format 1.2"):
            # Format 1.2 models (gru, features input, ...) wait for the runtime's 1.2 engine: until then
            # they must be refused cleanly too.
            try:
                rt.load(os.path.join(models, entry["file"])).close()
                expect(False, f"{entry['file']}: a format 1.2 model loaded before the runtime supports it")
            except RNNError as error:
                expect(error.name == "RNN_ERROR_UNSUPPORTED_MODEL" and "1.2" in error.message, f"{entry['file']}: {error}")
        elif "tokens input" in entry["why"]:
            try:
                rt.load(os.path.join(models, entry["file"])).close()
                expect(False, f"{entry['file']}: a token model loaded through the image-only C API")
            except RNNError as error:
                expect(error.name == "RNN_ERROR_UNSUPPORTED_MODEL" and "tokens" in error.message, f"{entry['file']}: {error}")
        else:
            names.append(entry["file"])
    rng = random.Random(1)
    for name in names:
        with rt.load(os.path.join(models, name)) as model:
            expect(model.height > 0 and model.width > 0 and model.classes == len(model.labels) >= 2, f"{name}: contract")
            count = 5
            pixels = bytes(rng.randrange(256) for _ in range(count * model.height * model.width))
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
    print(f"models: {len(names)} image models classified, {len(entries) - len(names)} token and 1.2 models refused")

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
