#!/usr/bin/env python3
"""The machine's OpenBLAS SGEMM rate, the yardstick of issue #3's "per-step GEMMs at >= 60 % of SGEMM".

Calls cblas_sgemm from the system's libopenblas (the library RNNRuntime's portable path links, with the
environment's OPENBLAS_CORETYPE) on 1024^3 single-threaded, best of 5, and prints one JSON line:
{"sgemm_gflops": ..., "coretype": ...}.
"""
import ctypes
import ctypes.util
import json
import os
import time

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
lib = ctypes.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
lib.openblas_set_num_threads(1)
lib.openblas_get_corename.restype = ctypes.c_char_p
n = 1024
a, b = (np.random.default_rng(s).standard_normal((n, n), dtype=np.float32) for s in (1, 2))
c = np.zeros((n, n), dtype=np.float32)
p = lambda m: m.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
f = ctypes.c_float
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    # CblasRowMajor = 101, CblasNoTrans = 111
    lib.cblas_sgemm(101, 111, 111, n, n, n, f(1), p(a), n, p(b), n, f(0), p(c), n)
    best = min(best, time.perf_counter() - start)
assert np.allclose(c[:4, :4], (a @ b)[:4, :4], rtol=1e-3, atol=1e-3)
print(json.dumps({"sgemm_gflops": round(2 * n ** 3 / best / 1e9, 1), "coretype": lib.openblas_get_corename().decode()}))
