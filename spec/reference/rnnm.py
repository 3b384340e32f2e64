#!/usr/bin/env python3
"""Independent reference reader for the `.rnnm` model-file format, version 1.4.

Written from spec/FORMAT.md alone (it does not consult the Swift reader), so that it
proves the specification is sufficient. Section numbers (§) refer to that document.

    load(path_or_bytes) -> Model       every check of §7, in order; raises FormatError
    forward(model, images_u8) -> outputs  float64 forward pass of §6 for an image_rows or an image model
                                          (every forward_* and run_sequence take evaluation="float" | "int8":
                                          "int8" is §6.6's int8 evaluation of the qualifying recurrent layers,
                                          and margins=[] collects each input's rounding margin)
    tokenize(text_bytes) -> [bytes]       the words-v1 tokenizer of §6.2.1
    token_ids(model, text) -> [int]       §6.2.1 ids, truncated to max_length
    forward_tokens(model, [ids]) -> outputs  float64 forward pass of a tokens model (one text at a time)
    forward_features(model, [x]) -> [outputs]  a features model (§6.2.2): x float32 [T_i, F] per sequence
    forward_images(model, images_u8) -> [N, K]  an image model (§6.2.3, since 1.4): u8 [N, C, H, W] or [N, H, W]
    run_sequence(model, x) -> outputs     the layers of §6.1 over one float64 sequence [T, width]
    run_image(model, x) -> [K]            the layers of §6.1 over one float64 feature map [C, H, W]
    conv2d, maxpool2d, conv1d             the 1.4 layers' equations (§6.1), on one map / one sequence
    quantize_int8(v) -> (q, s)            §4.1's symmetric int8 rule per row (weights, and §6.6's activations)
    rounding_margin(v, s), int8_layer     §6.6: distance to a rounding boundary; which layers it covers
    output_length(model, T) -> T'         the number of steps after the model's conv1d layers (§6.1)
    softmax(logits) -> probabilities

Outputs (§6.5): one vector [K] per sequence when the last recurrent layer returns "last" or a pool
layer follows it (since 1.3), [T', K] (one vector per step; T' = T without conv1d layers) when it
returns "sequence" unpooled; one vector [K] per image for an image model (since 1.4); logits for
model.output "logits", real values for "values".

CLI:  rnnm.py verify FILE | inspect FILE
      rnnm.py forward FILE --images RAW_U8_OR_IDX | --texts LINES | --features X.npy --lengths L.npy
                           [--evaluation float|int8]   (int8: the output gains "margins", one per input)
Dependencies: numpy, zstandard (and zlib, json, struct from the standard library).
"""
from __future__ import annotations

import json
import re
import sys
import zlib
from dataclasses import dataclass, field

import types

import numpy as np
import zstandard

# --- Constants (§2, §3, §4, §9) ---------------------------------------------------------

MAGIC = b"\x89RNNM\r\n\x1a"
END_MAGIC = b"RNNMEND\n"
READER_MAJOR, READER_MINOR = 1, 4
HEADER_SIZE, ENTRY_SIZE, TRAILER_SIZE = 64, 64, 16

KIND_METADATA, KIND_TABLE, KIND_DATA = 1, 2, 3
CODEC_NONE, CODEC_ZSTD = 0, 1
FLAG_REQUIRED = 1
ZSTD_MAGIC = bytes.fromhex("28b52ffd")

FEATURE_BITS = {0: "zstd", 1: "f16", 2: "bf16", 3: "int8"}  # §3, all since 1.0
DTYPES = {1: ("f32", 4), 2: ("f16", 2), 3: ("bf16", 2), 4: ("int8", 1)}  # §4, §4.1
DTYPE_FEATURE_BIT = {"f16": 1, "bf16": 2, "int8": 3}
RECURRENT = ("lstm", "gru")  # §6.1: the recurrent layer types
GATES = {"lstm": 4, "gru": 3}

MAX_SECTIONS = 16
MAX_TENSORS = 1024
MAX_RANK = 4
MAX_DIM = 16_777_216
MAX_ELEMENTS = 2**31 - 1
MAX_NAME_BYTES = 63
MAX_METADATA = 4 * 1024 * 1024
MAX_TABLE = 8 + 128 * MAX_TENSORS
MAX_DATA = 2 * 1024**3
MAX_FILE = 2**40
MAX_LAYERS = 64
MAX_LABELS, MAX_LABEL_BYTES = 65_536, 256
MAX_JSON_DEPTH = 32
MAX_FEATURES = 65_536  # §6.2.2: features width and max_length (value ranges: `malformed` outside)
MAX_SIDE = 4096        # §6.2.3: an image input's channels, height and width (since 1.4)
MAX_KERNEL = 4096      # §6.1: a convolution's or max-pool's kernel and stride elements; padding < this
MAX_MAP = 16_777_216   # §6.1 rule 3, §6.2.3: values of one feature map, C * H * W (since 1.4)
IMAGE_LAYERS = ("conv2d", "maxpool2d", "flatten")  # §6.1 rule 2c: only in image models (since 1.4)

TENSOR_NAME = re.compile(rb"[A-Za-z0-9_.\-]+")
ERROR_CLASSES = ("not_a_model", "truncated", "corrupted", "unsupported_version",
                 "unsupported_feature", "limit_exceeded", "malformed", "shape_mismatch",
                 "invalid_tensor")


class FormatError(Exception):
    """A refused file: `error_class` is one of the §8 class strings."""

    def __init__(self, error_class: str, message: str):
        assert error_class in ERROR_CLASSES, error_class
        super().__init__(f"{error_class}: {message}")
        self.error_class = error_class
        self.message = message


def _fail(error_class: str, message: str):
    raise FormatError(error_class, message)


def align64(n: int) -> int:
    return (n + 63) // 64 * 64


def _u16(b, o): return int.from_bytes(b[o:o + 2], "little")
def _u32(b, o): return int.from_bytes(b[o:o + 4], "little")
def _u64(b, o): return int.from_bytes(b[o:o + 8], "little")


def _require_zero(buf, start: int, end: int, what: str):
    """§1: every padding byte and reserved field must be zero (`malformed`)."""
    chunk = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start) if end > start else None
    if chunk is not None and chunk.any():
        first = start + int(np.flatnonzero(chunk)[0])
        _fail("malformed", f"{what} must be zero, found byte 0x{buf[first]:02x} at offset {first}")


# --- The loaded model ---------------------------------------------------------------------

@dataclass
class Section:
    kind: int
    codec: int
    flags: int
    offset: int
    stored_size: int
    size: int


@dataclass
class Tensor:
    name: str
    dtype: str
    shape: tuple
    data_offset: int
    data_size: int
    scale_offset: int
    scale_size: int
    values: np.ndarray | None = None   # dequantized binary32 values (§4.1), shape `shape`
    raw_int8: np.ndarray | None = None  # int8 only: q, for the -128 check
    scales: np.ndarray | None = None    # int8 only: s[r]


@dataclass
class Model:
    format_version: tuple
    min_reader_version: tuple
    features: int
    sections: list
    metadata: dict
    layers: list
    input: dict
    labels: list
    tensors: dict = field(default_factory=dict)  # name -> Tensor, in table order

    def weight(self, name: str | None) -> np.ndarray | None:
        return None if name is None else self.tensors[name].values


# --- §7: reading, step by step --------------------------------------------------------------

def load(source) -> Model:
    """Read and fully validate a `.rnnm` file (path, bytes or bytearray), following §7 in order."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        buf = bytes(source)
    else:
        with open(source, "rb") as f:
            f.seek(0, 2)
            if f.tell() > MAX_FILE:  # §7 step 4 allows this check before reading anything
                _fail("limit_exceeded", f"file is {f.tell()} bytes, limit {MAX_FILE}")
            f.seek(0)
            buf = f.read()
    n = len(buf)

    # Step 1: magic (§7.1). A short prefix of the magic is a truncated model file.
    if n < 8:
        if n > 0 and MAGIC.startswith(buf):
            _fail("truncated", f"file is {n} bytes, a prefix of the magic; a header needs 64")
        if n == 0:
            _fail("truncated", "file is empty; a header needs 64 bytes")
        _fail("not_a_model", f"file is {n} bytes and does not start with the .rnnm magic")
    if buf[:8] != MAGIC:
        _fail("not_a_model", f"expected magic {MAGIC.hex(' ')}, found {buf[:8].hex(' ')}")
    # Step 2.
    if n < HEADER_SIZE:
        _fail("truncated", f"file is {n} bytes, shorter than the 64-byte header")
    # Step 3 (§3 rule 1).
    major, minor = _u16(buf, 8), _u16(buf, 10)
    if major != READER_MAJOR:
        advice = "upgrade the reader" if major > READER_MAJOR else "re-export the model"
        _fail("unsupported_version", f"file is format {major}.{minor}, this reader implements "
              f"{READER_MAJOR}.{READER_MINOR}: {advice}")
    # Step 4: the reader's file-size cap, then the declared size.
    if n > MAX_FILE:
        _fail("limit_exceeded", f"file is {n} bytes, limit {MAX_FILE}")
    file_size = _u64(buf, 24)
    if file_size > n:
        _fail("truncated", f"header says the file is {file_size} bytes, found {n}")
    if file_size < n:
        _fail("malformed", f"header says the file is {file_size} bytes, found {n} (trailing bytes)")
    if file_size < HEADER_SIZE + ENTRY_SIZE + TRAILER_SIZE:
        _fail("malformed", f"file_size {file_size} is below the minimum {HEADER_SIZE + ENTRY_SIZE + TRAILER_SIZE}")
    # Step 5: trailer (§2.3).
    trailer = file_size - TRAILER_SIZE
    if buf[trailer + 8:trailer + 16] != END_MAGIC:
        _fail("corrupted", f"expected end magic {END_MAGIC.hex(' ')}, found {buf[trailer + 8:trailer + 16].hex(' ')}")
    stored_crc, actual_crc = _u32(buf, trailer), zlib.crc32(memoryview(buf)[:trailer]) & 0xFFFFFFFF
    if stored_crc != actual_crc:
        _fail("corrupted", f"CRC-32 mismatch: trailer says 0x{stored_crc:08x}, bytes give 0x{actual_crc:08x}")
    # Step 6: version and feature checks (§3 rules 2, 3).
    min_major, min_minor = _u16(buf, 12), _u16(buf, 14)
    if min_major != major or min_minor > READER_MINOR:
        _fail("unsupported_version", f"this file needs a reader >= {min_major}.{min_minor}; "
              f"this reader is {READER_MAJOR}.{READER_MINOR}")
    features = _u64(buf, 16)
    for bit in range(64):
        if features >> bit & 1 and bit not in FEATURE_BITS:
            _fail("unsupported_feature", f"required feature bit {bit} is unknown to a "
                  f"{READER_MAJOR}.{READER_MINOR} reader")
    # Step 7: header reserved bytes, section count, directory (§2.1, §2.2).
    _require_zero(buf, 36, 64, "header reserved bytes 36..64")
    _require_zero(buf, trailer + 4, trailer + 8, "trailer reserved bytes")
    sections = _read_directory(buf, file_size)
    # Step 8: metadata, tensor table, tensor data, cross-checks.
    by_kind = {s.kind: s for s in sections if s.kind in (KIND_METADATA, KIND_TABLE, KIND_DATA)}
    meta = _parse_metadata(_payload(buf, by_kind[KIND_METADATA], "metadata"))
    tensors = _parse_table(_payload(buf, by_kind[KIND_TABLE], "tensor table"))
    # §5: the table fixes the data section's size; checked before decompressing (a bomb declares more).
    regions = _check_layout(by_kind[KIND_DATA].size, tensors)
    _read_data(_payload(buf, by_kind[KIND_DATA], "tensor data"), tensors, regions)
    model = Model((major, minor), (min_major, min_minor), features, sections, meta,
                  meta["model"]["layers"], meta["input"], meta["labels"], tensors)
    _check_references_and_shapes(model)
    _check_architecture(model)
    _check_feature_bits(model)
    _check_values(model)
    _check_standardization(model)
    # §7 step 8, since 1.1: min_reader_minor covers every kind and rule used (§3).
    needed, what = _needed_minor(model)
    if min_minor < needed:
        _fail("malformed", f"the file uses {what} (since 1.{needed}) but min_reader_minor is {min_minor}")
    return model


def _needed_minor(model: Model) -> tuple:
    """§3: the largest "since" minor of the kinds and 1.2 rules the file uses, and what they are."""
    layers, inp = model.layers, model.input
    uses_14 = ["the image input"] if inp["kind"] == "image" else []
    uses_14 += [f"a {kind} layer" for kind in IMAGE_LAYERS + ("conv1d",) if any(l["type"] == kind for l in layers)]
    if uses_14:
        return 4, ", ".join(uses_14)
    if any(l["type"] == "pool" for l in layers):
        return 3, "a pool layer"
    uses_12 = []
    if any(l["type"] == "gru" for l in layers):
        uses_12.append("a gru layer")
    if any(l.get("direction") == "bidirectional" for l in layers if l["type"] in RECURRENT):
        uses_12.append("a bidirectional layer")
    if inp["kind"] == "features":
        uses_12.append("the features input")
    if [l for l in layers if l["type"] in RECURRENT][-1]["return"] == "sequence":
        uses_12.append("per-step outputs (the last recurrent layer returns \"sequence\")")
    if model.metadata["model"]["output"] == "values":
        uses_12.append("model.output \"values\"")
    if uses_12:
        return 2, ", ".join(uses_12)
    if inp["kind"] == "tokens" or any(l["type"] == "embedding" for l in layers):
        return 1, "1.1 kinds (embedding / tokens)"
    return 0, "nothing new"


def _read_directory(buf: bytes, file_size: int) -> list:
    """§2.2 and §7 step 7: directory entries, in order, and the fully determined payload layout."""
    count = _u32(buf, 32)
    if count > MAX_SECTIONS:
        _fail("limit_exceeded", f"section_count is {count}, limit {MAX_SECTIONS}")
    if count == 0:
        _fail("malformed", "section_count is 0, expected 1..=16")
    trailer = file_size - TRAILER_SIZE
    dir_end = HEADER_SIZE + ENTRY_SIZE * count
    if dir_end > trailer:
        _fail("malformed", f"directory of {count} entries ends at {dir_end}, past the trailer at {trailer}")
    limits = {KIND_METADATA: (MAX_METADATA, "metadata"), KIND_TABLE: (MAX_TABLE, "tensor table"),
              KIND_DATA: (MAX_DATA, "tensor data")}
    sections, seen = [], {}
    end = dir_end  # end of the previous region (directory, then each payload)
    for i in range(count):
        e = HEADER_SIZE + ENTRY_SIZE * i
        s = Section(_u32(buf, e), _u16(buf, e + 4), _u16(buf, e + 6), _u64(buf, e + 8),
                    _u64(buf, e + 16), _u64(buf, e + 24))
        _require_zero(buf, e + 32, e + 64, f"section {i} reserved bytes")
        if s.flags & ~FLAG_REQUIRED:
            _fail("malformed", f"section {i} flags 0x{s.flags:04x} has bits other than 'required'")
        if s.kind in limits:
            if not s.flags & FLAG_REQUIRED:
                _fail("malformed", f"section {i} (kind {s.kind}) must have the required flag set")
            if s.kind in seen:
                _fail("malformed", f"section kind {s.kind} appears twice (entries {seen[s.kind]} and {i})")
            seen[s.kind] = i
        elif s.flags & FLAG_REQUIRED:
            _fail("unsupported_feature", f"section {i} has unknown kind {s.kind} and is marked required")
        if s.codec not in (CODEC_NONE, CODEC_ZSTD):  # checked even for a skipped section (§2.2)
            _fail("unsupported_feature", f"section {i} uses unknown codec {s.codec}")
        if s.codec == CODEC_NONE and s.stored_size != s.size:
            _fail("malformed", f"section {i} is stored (codec 0) but stored_size {s.stored_size} != size {s.size}")
        if s.kind in limits and s.size > limits[s.kind][0]:
            _fail("limit_exceeded", f"{limits[s.kind][1]} section is {s.size} bytes, limit {limits[s.kind][0]}")
        if s.offset != align64(end):
            _fail("malformed", f"section {i} starts at {s.offset}, expected {align64(end)} (payloads are "
                  "packed in directory order, each at the next multiple of 64)")
        if s.offset + s.stored_size > trailer:  # Python integers cannot overflow
            _fail("malformed", f"section {i} ends at {s.offset + s.stored_size}, past the trailer at {trailer}")
        sections.append(s)
        end = s.offset + s.stored_size
    for kind, (_, what) in limits.items():
        if kind not in seen:
            _fail("malformed", f"no {what} section (kind {kind})")
    if trailer != align64(end):
        _fail("malformed", f"trailer at {trailer}, expected {align64(end)} = align64(end of the last payload)")
    gap_start = dir_end
    for i, s in enumerate(sections):
        _require_zero(buf, gap_start, s.offset, f"padding before section {i}")
        gap_start = s.offset + s.stored_size
    _require_zero(buf, gap_start, trailer, "padding before the trailer")
    return sections


def _payload(buf: bytes, s: Section, what: str) -> bytes:
    """§2.2: the decompressed payload of a section, never allocating more than its checked `size`."""
    stored = buf[s.offset:s.offset + s.stored_size]
    if s.codec == CODEC_NONE:
        return stored
    if stored[:4] != ZSTD_MAGIC:  # a skippable frame is not accepted
        _fail("malformed", f"{what} payload does not start with the zstd frame magic, found {stored[:4].hex(' ')}")
    try:
        declared = zstandard.get_frame_parameters(stored).content_size
    except zstandard.ZstdError as e:
        _fail("malformed", f"{what} section is not a zstd frame: {e}")
    if declared == zstandard.CONTENTSIZE_UNKNOWN:
        _fail("malformed", f"{what} zstd frame does not declare its content size")
    if declared != s.size:
        _fail("malformed", f"{what} zstd frame declares {declared} bytes, directory says {s.size}")
    dobj = zstandard.ZstdDecompressor().decompressobj()
    try:  # libzstd itself refuses output beyond the declared (already limit-checked) size
        out = dobj.decompress(stored)
    except zstandard.ZstdError as e:
        _fail("malformed", f"{what} zstd frame fails to decompress: {e}")
    if not dobj.eof:
        _fail("malformed", f"{what} zstd frame is incomplete")
    if dobj.unused_data:
        _fail("malformed", f"{what} payload has {len(dobj.unused_data)} bytes after its zstd frame")
    if len(out) != s.size:
        _fail("malformed", f"{what} decompressed to {len(out)} bytes, expected {s.size}")
    return out


# --- §6: metadata -----------------------------------------------------------------------------

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _json_depth(raw: bytes) -> int:
    """§6: nesting depth measured on the bytes before parsing (top-level object alone = 1)."""
    outside = _JSON_STRING.sub(b"", raw)  # drop complete strings (a backslash escapes the next byte)
    quote = outside.find(b'"')            # an unterminated string runs to the end of the text
    if quote >= 0:
        outside = outside[:quote]
    codes = np.frombuffer(outside, np.uint8)
    steps = np.isin(codes, (0x5B, 0x7B)).astype(np.int64) - np.isin(codes, (0x5D, 0x7D))
    return int(np.cumsum(steps).max(initial=0))


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            _fail("malformed", f"metadata object has duplicate member {k!r}")
        obj[k] = v
    return obj


def _reject_constant(name):
    _fail("malformed", f"metadata contains {name}, which is not JSON (RFC 8259)")


def _finite_float(text):
    value = float(text)
    if not np.isfinite(value):
        _fail("malformed", f"metadata number {text[:40]} overflows binary64")
    return value


def _bounded_int(text):
    # Python refuses to parse integers of more than 4300 digits (and any above ~309 digits overflows
    # binary64), so a huge integer is refused here rather than crashing the parser.
    if len(text.lstrip("-")) > 309:
        _fail("malformed", f"metadata integer of {len(text)} digits overflows binary64")
    return _NegativeZero() if text == "-0" else int(text)


class _NegativeZero(int):
    """`-0`: a valid JSON number, but not an §6 integer (digits only), so `_is_int` refuses it."""


def _check_surrogates(value, where="metadata"):
    """Python's json accepts an unpaired surrogate escape like "\\ud800"; §6 does not."""
    strings = [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        strings = list(value)
        for k, v in value.items():
            _check_surrogates(v, where)
    elif isinstance(value, list):
        for v in value:
            _check_surrogates(v, where)
    for text in strings:
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
            _fail("malformed", f"{where} has a string with an unpaired surrogate escape")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, (bool, _NegativeZero))


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPE_CHECKS = {str: lambda x: isinstance(x, str), int: _is_int, float: _is_number,
                dict: lambda x: isinstance(x, dict), list: lambda x: isinstance(x, list)}


def _member(obj: dict, key: str, kind, where: str, optional=False):
    """A member of a metadata object with its JSON type checked (`malformed` otherwise)."""
    if key not in obj:
        if optional:
            return None
        _fail("malformed", f"{where} has no member {key!r}")
    v = obj[key]
    if not _TYPE_CHECKS[kind](v):
        _fail("malformed", f"{where}.{key} must be a JSON {kind.__name__}, found {json.dumps(v)[:60]}")
    return v


def _int_in(obj, key, lo, hi, where):
    v = _member(obj, key, int, where)
    if not lo <= v <= hi:
        _fail("malformed", f"{where}.{key} is {v}, expected {lo}..={hi}")
    return v


def _int_array(obj, key, count, lo, hi, where) -> list:
    """§6, since 1.4: a JSON array of exactly `count` integers, each lo ..= hi (`malformed` otherwise)."""
    v = _member(obj, key, list, where)
    if len(v) != count:
        _fail("malformed", f"{where}.{key} has {len(v)} elements, expected {count}")
    for k, x in enumerate(v):
        if not _is_int(x) or not lo <= x <= hi:
            _fail("malformed", f"{where}.{key}[{k}] is {json.dumps(x)[:40]}, expected an integer {lo}..={hi}")
    return v


def _window(layer, dims, where):
    """§6.1 (since 1.4) kernel, stride, padding of a conv2d / maxpool2d (dims 2) or conv1d (dims 1), in
    this order. Padding has a before and an after value per axis, in ONNX's `pads` order: [PT, PL, PB, PR]
    in 2-D, [PB, PE] in 1-D; each is smaller than the kernel along its axis (checked after the kernel)."""
    kernel = _int_array(layer, "kernel", dims, 1, MAX_KERNEL, where)
    _int_array(layer, "stride", dims, 1, MAX_KERNEL, where)
    padding = _int_array(layer, "padding", 2 * dims, 0, MAX_KERNEL - 1, where)
    for k, p in enumerate(padding):
        axis = k % dims  # [PT, PL, PB, PR]: rows, columns, rows, columns; [PB, PE]: time, time
        if p >= kernel[axis]:
            _fail("malformed", f"{where}.padding[{k}] is {p}, not smaller than the kernel's {kernel[axis]} "
                  f"along its axis")


def _one_of(obj, key, known, where):
    """A fixed-set string: required-to-understand, so an unknown value is `unsupported_feature` (§6)."""
    v = _member(obj, key, str, where)
    if v not in known:
        _fail("unsupported_feature", f"{where}.{key} is {v!r}; this reader knows {', '.join(known)}")
    return v


def _parse_metadata(raw: bytes) -> dict:
    """§6: depth, then strict JSON, then every member in the order §6 gives."""
    if _json_depth(raw) > MAX_JSON_DEPTH:
        _fail("limit_exceeded", f"metadata JSON nests deeper than {MAX_JSON_DEPTH}")
    if raw.startswith(b"\xef\xbb\xbf"):
        _fail("malformed", "metadata starts with a UTF-8 byte-order mark")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        _fail("malformed", f"metadata is not UTF-8: {e}")
    try:
        meta = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant,
                          parse_float=_finite_float, parse_int=_bounded_int)
    except json.JSONDecodeError as e:
        _fail("malformed", f"metadata is not valid JSON: {e}")
    _check_surrogates(meta)
    if not isinstance(meta, dict):
        _fail("malformed", f"metadata top level must be an object, found {type(meta).__name__}")
    if meta.get("format") != "rnnm":
        _fail("malformed", f"metadata.format must be \"rnnm\", found {json.dumps(meta.get('format'))}")

    model = _member(meta, "model", dict, "metadata")
    output = _one_of(model, "output", ("logits", "values"), "model")  # "values" since 1.2 (§6, §6.5)
    layers = _member(model, "layers", list, "model")
    if len(layers) > MAX_LAYERS:
        _fail("limit_exceeded", f"model has {len(layers)} layers, limit {MAX_LAYERS}")
    if not layers:
        _fail("malformed", "model.layers is empty")
    names = set()
    for k, layer in enumerate(layers):
        where = f"model.layers[{k}]"
        if not isinstance(layer, dict):
            _fail("malformed", f"{where} must be an object")
        kind = _one_of(layer, "type", ("dense", "lstm", "embedding", "gru", "pool") + IMAGE_LAYERS + ("conv1d",), where)
        name = _member(layer, "name", str, where)
        if not 1 <= len(name.encode()) <= 63:
            _fail("malformed", f"{where}.name must be 1..=63 bytes, found {len(name.encode())}")
        if kind == "dense":  # members in the order §6.1 lists them
            _int_in(layer, "in", 1, MAX_DIM, where)
            _int_in(layer, "out", 1, MAX_DIM, where)
            _member(layer, "weight", str, where)
            _member(layer, "bias", str, where, optional=True)
            _one_of(layer, "activation", ("none", "relu", "tanh"), where)
        elif kind == "embedding":  # §6.1, since 1.1
            _int_in(layer, "vocab_size", 1, MAX_DIM, where)
            _int_in(layer, "dim", 1, MAX_DIM, where)
            _member(layer, "weight", str, where)
        elif kind == "pool":  # §6.1, since 1.3: mode, size
            _one_of(layer, "mode", ("mean", "max"), where)
            _int_in(layer, "size", 1, MAX_DIM, where)
        elif kind in ("conv2d", "conv1d"):  # §6.1, since 1.4: channels, kernel, stride, padding, tensors, activation
            _int_in(layer, "in_channels", 1, MAX_DIM, where)
            _int_in(layer, "out_channels", 1, MAX_DIM, where)
            _window(layer, 2 if kind == "conv2d" else 1, where)
            _member(layer, "weight", str, where)
            _member(layer, "bias", str, where, optional=True)
            _one_of(layer, "activation", ("none", "relu", "tanh"), where)
        elif kind == "maxpool2d":  # §6.1, since 1.4: kernel, stride, padding; no tensors
            _window(layer, 2, where)
        elif kind == "flatten":  # §6.1, since 1.4: no other members
            pass
        else:  # lstm (§6.1), gru (since 1.2): gate_order, [reset,] return, direction, widths, tensors
            _one_of(layer, "gate_order", ("ifgo",) if kind == "lstm" else ("rzn",), where)
            if kind == "gru":
                _one_of(layer, "reset", ("after", "before"), where)
            _one_of(layer, "return", ("last", "sequence"), where)
            direction = "forward"
            if "direction" in layer:  # *Direction*, since 1.2; absent means forward
                direction = _one_of(layer, "direction", ("forward", "bidirectional"), where)
            _int_in(layer, "input_size", 1, MAX_DIM, where)
            _int_in(layer, "hidden_size", 1, MAX_DIM, where)
            for key in ("w_ih", "w_hh", "b_ih"):
                _member(layer, key, str, where)
            b_hh = _member(layer, "b_hh", str, where, optional=True)
            if direction == "bidirectional":  # in a forward layer the *_reverse members are unknown: ignored
                for key in ("w_ih_reverse", "w_hh_reverse", "b_ih_reverse"):
                    _member(layer, key, str, where)
                b_hh_reverse = _member(layer, "b_hh_reverse", str, where, optional=True)
                if (b_hh is None) != (b_hh_reverse is None):
                    _fail("malformed", f"{where} has {'b_hh_reverse but no b_hh' if b_hh is None else 'b_hh but no b_hh_reverse'}; "
                          "b_hh_reverse is present exactly when b_hh is")
        if name in names:
            _fail("malformed", f"layer name {name!r} is used twice")
        names.add(name)

    inp = _member(meta, "input", dict, "metadata")
    input_kind = _one_of(inp, "kind", ("image_rows", "tokens", "features", "image"), "input")
    if input_kind == "tokens":
        _check_tokens_input(inp)
    elif input_kind == "features":
        _check_features_input(inp)
    else:  # image_rows (§6.2) and, since 1.4, image (§6.2.3): the same members, image adds channels
        _one_of(inp, "source_dtype", ("u8",), "input")
        if input_kind == "image":
            _int_in(inp, "channels", 1, MAX_SIDE, "input")
        _int_in(inp, "height", 1, MAX_SIDE, "input")
        _int_in(inp, "width", 1, MAX_SIDE, "input")
        if input_kind == "image" and inp["channels"] * inp["height"] * inp["width"] > MAX_MAP:
            _fail("malformed", f"input is {inp['channels']} x {inp['height']} x {inp['width']} = "
                  f"{inp['channels'] * inp['height'] * inp['width']} values, more than {MAX_MAP}")
        for key in ("scale", "offset"):
            v = _member(inp, key, float, "input")
            if not np.isfinite(float(v)) or abs(float(v)) >= _F32_OVERFLOW:
                _fail("malformed", f"input.{key} {v} overflows binary32")

    labels = _member(meta, "labels", list, "metadata")
    if len(labels) > MAX_LABELS:
        _fail("limit_exceeded", f"{len(labels)} labels, limit {MAX_LABELS}")
    least = 2 if output == "logits" else 1  # a "values" model may have a single output (since 1.2)
    if len(labels) < least:
        _fail("malformed", f"{len(labels)} labels, expected at least {least} for model.output {output!r}")
    for k, label in enumerate(labels):
        if not isinstance(label, str) or not label:
            _fail("malformed", f"labels[{k}] must be a non-empty string")
        if len(label.encode()) > MAX_LABEL_BYTES:
            _fail("limit_exceeded", f"labels[{k}] is {len(label.encode())} bytes, limit {MAX_LABEL_BYTES}")

    _check_provenance(_member(meta, "provenance", dict, "metadata"))
    return meta


_WORD_RUN = re.compile(rb"[a-z0-9'\x80-\xff]+")


def tokenize(text: bytes) -> list:
    """§6.2.1 words-v1: ASCII lower-casing, `<br />` -> spaces, runs of word bytes, apostrophes trimmed."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    runs = _WORD_RUN.findall(text.lower().replace(b"<br />", b"      "))
    return [w for w in (r.strip(b"'") for r in runs) if w]


def _check_tokens_input(inp: dict):
    """§6.2.1: tokenizer, max_length, truncate, vocabulary (in this order)."""
    _one_of(inp, "tokenizer", ("words-v1",), "input")
    _int_in(inp, "max_length", 1, 65_536, "input")
    _one_of(inp, "truncate", ("start", "end"), "input")
    vocabulary = _member(inp, "vocabulary", list, "input")
    if len(vocabulary) > MAX_DIM - 2:
        _fail("limit_exceeded", f"input.vocabulary has {len(vocabulary)} words, limit {MAX_DIM - 2}")
    seen = set()
    for k, word in enumerate(vocabulary):
        if not isinstance(word, str):
            _fail("malformed", f"input.vocabulary[{k}] must be a string")
        raw = word.encode("utf-8")
        if tokenize(raw) != [raw] or raw.startswith(b"<"):
            _fail("malformed", f"input.vocabulary[{k}] {word!r} is not a word words-v1 can produce")
        if word in seen:
            _fail("malformed", f"input.vocabulary[{k}] repeats {word!r}")
        seen.add(word)


def _check_features_input(inp: dict):
    """§6.2.2 (since 1.2): source_dtype, width, max_length, mean, std (in this order)."""
    _one_of(inp, "source_dtype", ("f32",), "input")
    _int_in(inp, "width", 1, MAX_FEATURES, "input")
    _int_in(inp, "max_length", 1, MAX_FEATURES, "input")
    mean = _member(inp, "mean", str, "input", optional=True)
    std = _member(inp, "std", str, "input", optional=True)
    if (mean is None) != (std is None):
        _fail("malformed", f"input has {'std but no mean' if mean is None else 'mean but no std'}; "
              "standardization needs both tensors or neither")


def token_ids(model, text) -> list:
    """§6.2.1: the ids of a text's words (0 padding, 1 out-of-vocabulary, vocabulary[k] -> k + 2), truncated."""
    inp = model.input
    index = getattr(model, "_vocabulary_index", None)
    if index is None:
        index = {w.encode("utf-8"): k + 2 for k, w in enumerate(inp["vocabulary"])}
        model._vocabulary_index = index
    ids = [index.get(w, 1) for w in tokenize(text)]
    n = inp["max_length"]
    if len(ids) > n:
        ids = ids[-n:] if inp["truncate"] == "start" else ids[:n]
    return ids


# Round-to-nearest-even into binary32 overflows at or beyond 2^128 - 2^103 (half an ulp past FLT_MAX).
_F32_OVERFLOW = 2.0**128 - 2.0**103


def _check_provenance(prov: dict):
    """§6.3: member types, in the order of its table; values are informational."""
    _member(prov, "producer", str, "provenance")
    _member(prov, "producer_version", str, "provenance", optional=True)
    _member(prov, "created_at", str, "provenance", optional=True)
    dataset = _member(prov, "dataset", dict, "provenance", optional=True)
    if dataset is not None:
        _member(dataset, "name", str, "provenance.dataset", optional=True)
        hashes = _member(dataset, "sha256", dict, "provenance.dataset", optional=True) or {}
        for file_name in hashes:
            _member(hashes, file_name, str, "provenance.dataset.sha256")
    hyper = _member(prov, "hyperparameters", dict, "provenance", optional=True) or {}
    for key, v in hyper.items():
        if not (isinstance(v, str) or _is_number(v)):
            _fail("malformed", f"provenance.hyperparameters.{key} must be a number or a string")
    seed = _member(prov, "seed", int, "provenance", optional=True)
    if seed is not None and not 0 <= seed <= 2**64 - 1:
        _fail("malformed", f"provenance.seed is {seed}, expected 0..=2^64-1")
    metrics = _member(prov, "metrics", dict, "provenance", optional=True) or {}
    for key in metrics:
        _member(metrics, key, float, "provenance.metrics")


# --- §4: tensor table -----------------------------------------------------------------------------

def _parse_table(raw: bytes) -> dict:
    if len(raw) < 8:
        _fail("malformed", f"tensor table is {len(raw)} bytes, expected at least 8")
    count = _u32(raw, 0)
    if count == 0:
        _fail("malformed", "tensor_count is 0, expected 1..=1024")
    if count > MAX_TENSORS:
        _fail("limit_exceeded", f"tensor_count is {count}, limit {MAX_TENSORS}")
    _require_zero(raw, 4, 8, "tensor table reserved bytes")
    if len(raw) != 8 + 128 * count:
        _fail("malformed", f"tensor table is {len(raw)} bytes, expected 8 + 128 x {count} = {8 + 128 * count}")
    tensors = {}
    for i in range(count):
        e = 8 + 128 * i
        name_field = raw[e:e + 64]
        length = name_field.find(b"\0")
        if length < 0:
            _fail("limit_exceeded", f"tensor {i} name has no terminating zero within 64 bytes (limit 63)")
        if length == 0:
            _fail("malformed", f"tensor {i} has an empty name")
        _require_zero(raw, e + length, e + 64, f"tensor {i} name padding")
        name_bytes = name_field[:length]
        if not TENSOR_NAME.fullmatch(name_bytes):
            _fail("malformed", f"tensor {i} name {name_bytes!r} has characters outside [A-Za-z0-9_.-]")
        name = name_bytes.decode("ascii")
        dtype_code, rank = raw[e + 64], raw[e + 65]
        if dtype_code not in DTYPES:
            _fail("unsupported_feature", f"tensor {name!r} has unknown dtype {dtype_code}")
        dtype, esize = DTYPES[dtype_code]
        if rank == 0:
            _fail("malformed", f"tensor {name!r} has rank 0, expected 1..=4")
        if rank > MAX_RANK:
            _fail("limit_exceeded", f"tensor {name!r} has rank {rank}, limit {MAX_RANK}")
        _require_zero(raw, e + 66, e + 68, f"tensor {name!r} reserved bytes 66..68")
        dims = [_u32(raw, e + 68 + 4 * d) for d in range(4)]
        for d in range(4):
            if d < rank and dims[d] == 0:
                _fail("malformed", f"tensor {name!r} dims[{d}] is 0")
            if d < rank and dims[d] > MAX_DIM:
                _fail("limit_exceeded", f"tensor {name!r} dims[{d}] is {dims[d]}, limit {MAX_DIM}")
            if d >= rank and dims[d] != 0:
                _fail("malformed", f"tensor {name!r} unused dims[{d}] is {dims[d]}, expected 0")
        _require_zero(raw, e + 84, e + 88, f"tensor {name!r} reserved bytes 84..88")
        shape = tuple(dims[:rank])
        elements = int(np.prod(shape, dtype=object))
        if elements > MAX_ELEMENTS:
            _fail("limit_exceeded", f"tensor {name!r} has {elements} elements, limit {MAX_ELEMENTS}")
        t = Tensor(name, dtype, shape, _u64(raw, e + 88), _u64(raw, e + 96), _u64(raw, e + 104), _u64(raw, e + 112))
        if t.data_offset % 64:
            _fail("malformed", f"tensor {name!r} data_offset {t.data_offset} is not a multiple of 64")
        if t.data_size != elements * esize:
            _fail("malformed", f"tensor {name!r} data_size is {t.data_size}, expected {elements} x {esize}")
        if dtype == "int8":
            if t.scale_offset % 64:
                _fail("malformed", f"tensor {name!r} scale_offset {t.scale_offset} is not a multiple of 64")
            if t.scale_size != shape[0] * 4:
                _fail("malformed", f"tensor {name!r} scale_size is {t.scale_size}, expected {shape[0]} x 4")
        elif t.scale_offset or t.scale_size:
            _fail("malformed", f"tensor {name!r} ({dtype}) has scale_offset/scale_size, expected 0")
        _require_zero(raw, e + 120, e + 128, f"tensor {name!r} reserved bytes 120..128")
        if name in tensors:  # §4: uniqueness is the last check of an entry
            _fail("malformed", f"tensor name {name!r} is used twice")
        tensors[name] = t
    return tensors


# --- §5: tensor data, §4.1 decoding ----------------------------------------------------------------

def _check_layout(size: int, tensors: dict) -> list:
    """§5, the checks that need only the table, before the section is decompressed."""
    regions = []
    for t in tensors.values():
        regions.append((t.data_offset, t.data_size, f"values of {t.name!r}"))
        if t.dtype == "int8":
            regions.append((t.scale_offset, t.scale_size, f"scales of {t.name!r}"))
    # §5, in its order: containment (table order, values before scales), overlap, size.
    for off, length, what in regions:
        if off + length > size:
            _fail("malformed", f"{what} [{off}, {off + length}) lies outside the {size}-byte data section")
    regions.sort(key=lambda r: r[0])
    for (off0, size0, what0), (off1, _, what1) in zip(regions, regions[1:]):
        if off1 < off0 + size0:
            _fail("malformed", f"{what1} at {off1} overlaps {what0} [{off0}, {off0 + size0})")
    end = max(off + length for off, length, _ in regions)
    if size != align64(end):
        _fail("malformed", f"tensor data section is {size} bytes, the table's regions need align64({end}) = {align64(end)}")
    return regions


def _read_data(raw: bytes, tensors: dict, regions: list):
    """§5, the checks that need the bytes (zero outside the regions), then §4.1 decoding."""
    covered = 0
    for off, size, what in regions + [(len(raw), 0, "end")]:
        _require_zero(raw, covered, off, f"tensor data padding [{covered}, {off})")
        covered = off + size

    for t in tensors.values():
        n = int(np.prod(t.shape))
        if t.dtype == "f32":
            v = np.frombuffer(raw, "<f4", n, t.data_offset).astype(np.float32)
        elif t.dtype == "f16":
            v = np.frombuffer(raw, "<f2", n, t.data_offset).astype(np.float32)  # exact widening
        elif t.dtype == "bf16":  # value = f32(bits << 16)
            v = (np.frombuffer(raw, "<u2", n, t.data_offset).astype(np.uint32) << 16).view(np.float32)
        else:  # int8: w[r, j] = f32(q[r, j]) * s[r] in binary32; rank 1: r = j
            q = np.frombuffer(raw, np.int8, n, t.data_offset)
            s = np.frombuffer(raw, "<f4", t.shape[0], t.scale_offset).astype(np.float32)
            with np.errstate(all="ignore"):
                v = (q.reshape(t.shape[0], -1).astype(np.float32) * s[:, None]).reshape(-1)
            t.raw_int8, t.scales = q, s
        t.values = v.reshape(t.shape)


# --- §7 step 8: cross-checks -------------------------------------------------------------------------

def _bidirectional(layer: dict) -> bool:
    return layer["type"] in RECURRENT and layer.get("direction") == "bidirectional"


def _layer_refs(layer: dict) -> list:
    """(key, tensor name, expected shape) for every tensor a layer references, in §6.1's order."""
    if layer["type"] == "dense":
        i, o = layer["in"], layer["out"]
        refs = [("weight", (o, i)), ("bias", (o,))]
    elif layer["type"] == "embedding":
        refs = [("weight", (layer["vocab_size"], layer["dim"]))]
    elif layer["type"] in ("pool", "maxpool2d", "flatten"):  # no tensors
        refs = []
    elif layer["type"] == "conv2d":  # since 1.4: [O, C, KH, KW] (nn.Conv2d.weight), [O]
        o = layer["out_channels"]
        refs = [("weight", (o, layer["in_channels"], *layer["kernel"])), ("bias", (o,))]
    elif layer["type"] == "conv1d":  # since 1.4: [O, I, K] (nn.Conv1d.weight), [O]
        o = layer["out_channels"]
        refs = [("weight", (o, layer["in_channels"], layer["kernel"][0])), ("bias", (o,))]
    else:  # lstm: 4 gates, gru: 3; a bidirectional layer's *_reverse tensors have the same shapes
        i, g = layer["input_size"], GATES[layer["type"]] * layer["hidden_size"]
        shapes = {"w_ih": (g, i), "w_hh": (g, layer["hidden_size"]), "b_ih": (g,), "b_hh": (g,)}
        refs = list(shapes.items())
        if _bidirectional(layer):
            refs += [(key + "_reverse", shape) for key, shape in shapes.items()]
    return [(key, layer[key], shape) for key, shape in refs if key in layer]


def _all_refs(model: Model) -> list:
    """(owner, key, tensor name, expected shape): every layer's references, then the input's mean, std."""
    refs = [(f"layer {layer['name']!r}", key, name, shape)
            for layer in model.layers for key, name, shape in _layer_refs(layer)]
    inp = model.input
    if inp["kind"] == "features" and "mean" in inp:  # §6.2.2: both or neither (checked in §6)
        refs += [("input", key, inp[key], (inp["width"],)) for key in ("mean", "std")]
    return refs


def _check_references_and_shapes(model: Model):
    """§6.1 cross-checks (a) references and (b) shapes."""
    used = {}
    for owner, key, name, _ in _all_refs(model):
        if name not in model.tensors:
            _fail("malformed", f"{owner} {key} names tensor {name!r}, which is not in the table")
        if name in used:
            _fail("malformed", f"tensor {name!r} is referenced twice ({used[name]} and {owner} {key})")
        used[name] = f"{owner} {key}"
    for name in model.tensors:
        if name not in used:
            _fail("malformed", f"tensor {name!r} is not referenced by any layer or the input")
    for owner, key, name, shape in _all_refs(model):
        if model.tensors[name].shape != shape:
            _fail("shape_mismatch", f"{owner} {key} {name!r} has shape "
                  f"{list(model.tensors[name].shape)}, expected {list(shape)}")


def _widths(layer: dict, width: int) -> tuple:
    """(input width, output width) of a layer of a sequence model (§6.1 rule 3)."""
    if layer["type"] == "dense":
        return layer["in"], layer["out"]
    if layer["type"] == "embedding":  # reads token ids: exempt from the width chain
        return width, layer["dim"]
    if layer["type"] == "pool":  # one vector as wide as each step
        return layer["size"], layer["size"]
    if layer["type"] == "conv1d":  # since 1.4: the channels are the widths of the steps
        return layer["in_channels"], layer["out_channels"]
    return layer["input_size"], layer["hidden_size"] * (2 if _bidirectional(layer) else 1)


def window_length(n: int, kernel: int, stride: int, before: int, after: int) -> int:
    """§6.1: the number of windows of a convolution or max-pool along one axis of length n,
    floor((n + before + after - kernel) / stride) + 1, or 0 when the padded axis is shorter than the
    kernel (H' and W' must then be at least 1, rule 3; a conv1d's T' may be 0)."""
    padded = n + before + after
    return (padded - kernel) // stride + 1 if padded >= kernel else 0


def map_shape(layer: dict, shape: tuple) -> tuple:
    """The feature map C x H x W after a conv2d or maxpool2d layer (§6.1), without any check."""
    c, h, w = shape
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = layer["kernel"], layer["stride"], layer["padding"]
    if layer["type"] == "conv2d":
        c = layer["out_channels"]
    return c, window_length(h, kh, sh, pt, pb), window_length(w, kw, sw, pl, pr)


def _check_architecture(model: Model):
    """§6.1 architectural rules (`malformed`), in the order given there."""
    layers, image = model.layers, model.input["kind"] == "image"
    name = lambda k: repr(layers[k]["name"])  # noqa: E731
    recurrent = [k for k, l in enumerate(layers) if l["type"] in RECURRENT]
    # Rule 1: a sequence model has a recurrent layer; an image model (since 1.4) has none.
    if image and recurrent:
        _fail("malformed", f"layer {name(recurrent[0])} is a {layers[recurrent[0]]['type']} layer; "
              "an image model has no recurrent layer")
    if not image and not recurrent:
        _fail("malformed", "the model has no recurrent layer (lstm or gru)")
    for k in recurrent[:-1]:  # the last may return "last" or (since 1.2) "sequence"
        if layers[k]["return"] != "sequence":
            _fail("malformed", f"recurrent layer {name(k)} returns {layers[k]['return']!r}; "
                  f"every recurrent layer but the last returns \"sequence\"")
    # Rule 2a (since 1.1): an embedding exactly when the input is tokens, first and only once.
    embeddings = [k for k, l in enumerate(layers) if l["type"] == "embedding"]
    if model.input["kind"] != "tokens":
        if embeddings:
            _fail("malformed", "an embedding layer needs input kind \"tokens\"")
    else:
        if layers[0]["type"] != "embedding":
            _fail("malformed", "input kind \"tokens\" but the first layer is not an embedding")
        if len(embeddings) > 1:
            _fail("malformed", "more than one embedding layer")
        if layers[0]["vocab_size"] != len(model.input["vocabulary"]) + 2:
            _fail("malformed", f"embedding vocab_size {layers[0]['vocab_size']} != "
                  f"{len(model.input['vocabulary'])} words + 2")
    # Rule 2b (since 1.3): at most one pool, directly after the last recurrent layer, which returns "sequence".
    pools = [k for k, l in enumerate(layers) if l["type"] == "pool"]
    if len(pools) > 1:
        _fail("malformed", f"layer {name(pools[1])} is a second pool layer")
    if pools:
        if not recurrent:  # only in an image model (rule 1)
            _fail("malformed", f"pool layer {name(pools[0])} needs a recurrent layer to follow; an image model has none")
        last = layers[recurrent[-1]]
        if pools[0] != recurrent[-1] + 1:
            _fail("malformed", f"pool layer {name(pools[0])} does not directly follow the last "
                  f"recurrent layer {last['name']!r}")
        if last["return"] != "sequence":
            _fail("malformed", f"pool layer {name(pools[0])} follows {last['name']!r}, which returns "
                  f"{last['return']!r}; a pooled layer returns \"sequence\"")
    # Rule 2c (since 1.4): conv2d, maxpool2d, flatten only in image models, whose layers are
    # (conv2d | maxpool2d)*, then exactly one flatten, then one or more dense layers.
    if not image:
        for k, l in enumerate(layers):
            if l["type"] in IMAGE_LAYERS:
                _fail("malformed", f"layer {name(k)} is a {l['type']} layer, which needs input kind \"image\"")
    else:
        k = 0
        while k < len(layers) and layers[k]["type"] in ("conv2d", "maxpool2d"):
            k += 1
        if k == len(layers) or layers[k]["type"] != "flatten":
            found = "the end of the model" if k == len(layers) else f"{layers[k]['type']} layer {name(k)}"
            _fail("malformed", f"an image model's conv2d / maxpool2d layers are followed by one flatten layer, "
                  f"found {found}")
        if k + 1 == len(layers):
            _fail("malformed", f"flatten layer {name(k)} is the last layer; an image model ends with dense layers")
        for j in range(k + 1, len(layers)):
            if layers[j]["type"] != "dense":
                _fail("malformed", f"layer {name(j)} is a {layers[j]['type']} layer after the flatten layer "
                      f"{name(k)}; only dense layers follow it")
    # Rule 2d (since 1.4): conv1d only in sequence models, before the first recurrent layer.
    for k, l in enumerate(layers):
        if l["type"] == "conv1d":
            if image:
                _fail("malformed", f"conv1d layer {name(k)} in an image model; conv1d runs over a sequence")
            if k > recurrent[0]:
                _fail("malformed", f"conv1d layer {name(k)} comes after the recurrent layer {name(recurrent[0])}; "
                      "conv1d layers stand before the first recurrent layer")
    # Rule 3: the widths chain (sequence models) or the feature-map shapes (image models).
    if image:
        width = _check_map_shapes(model)
    else:
        width = 1 if model.input["kind"] == "tokens" else model.input["width"]
        for layer in layers:
            w_in, w_out = _widths(layer, width)
            if w_in != width:
                _fail("malformed", f"layer {layer['name']!r} expects input width {w_in}, receives {width}")
            width = w_out
    # Rule 4.
    if width != len(model.labels):
        _fail("malformed", f"last layer outputs {width} values, but there are {len(model.labels)} labels")


def _check_map_shapes(model: Model) -> int:
    """§6.1 rule 3 for an image model (since 1.4): follows C x H x W from the input through the conv2d and
    maxpool2d layers (H', W' >= 1, at most MAX_MAP values per map), flatten gives C * H * W, then the
    dense chain. Returns the last layer's output width."""
    inp = model.input
    shape = (inp["channels"], inp["height"], inp["width"])
    if np.prod(shape, dtype=object) > MAX_MAP:  # already refused by §6.2.3; stated again by rule 3
        _fail("malformed", f"the input feature map {shape} has more than {MAX_MAP} values")
    width = None
    for layer in model.layers:
        if layer["type"] in ("conv2d", "maxpool2d"):
            if layer["type"] == "conv2d" and layer["in_channels"] != shape[0]:
                _fail("malformed", f"layer {layer['name']!r} has in_channels {layer['in_channels']}, "
                      f"receives a map of {shape[0]} channels ({shape[0]} x {shape[1]} x {shape[2]})")
            c, h, w = map_shape(layer, shape)
            if h < 1 or w < 1:
                _fail("malformed", f"layer {layer['name']!r}: kernel {layer['kernel']} with padding "
                      f"{layer['padding']} does not fit the {shape[1]} x {shape[2]} map it receives (H' or W' < 1)")
            if c * h * w > MAX_MAP:
                _fail("malformed", f"layer {layer['name']!r} gives a {c} x {h} x {w} feature map, "
                      f"{c * h * w} values, more than {MAX_MAP}")
            shape = (c, h, w)
        elif layer["type"] == "flatten":
            width = shape[0] * shape[1] * shape[2]
        else:  # dense (rule 2c)
            if layer["in"] != width:
                _fail("malformed", f"layer {layer['name']!r} expects input width {layer['in']}, receives {width}")
            width = layer["out"]
    return width


def _check_standardization(model: Model):
    """§6.1 (f), since 1.2: no element of the input's std tensor is negative (`invalid_tensor`)."""
    if model.input["kind"] != "features" or "std" not in model.input:
        return
    flat = model.tensors[model.input["std"]].values.reshape(-1)
    bad = np.flatnonzero(flat < 0)
    if bad.size:
        _fail("invalid_tensor", f"tensor {model.input['std']!r} (the input's std) element {int(bad[0])} is "
              f"{float(flat[bad[0]])!r}; a standard deviation is >= 0")


def _check_feature_bits(model: Model):
    """§3: the feature bits must agree exactly with the file's content."""
    used = {0: any(s.codec == CODEC_ZSTD for s in model.sections)}
    for dtype, bit in DTYPE_FEATURE_BIT.items():
        used[bit] = any(t.dtype == dtype for t in model.tensors.values())
    for bit, in_use in used.items():
        if bool(model.features >> bit & 1) != in_use:
            state = "set" if model.features >> bit & 1 else "clear"
            _fail("malformed", f"feature bit {bit} ({FEATURE_BITS[bit]}) is {state} but the file "
                  f"{'uses' if in_use else 'does not use'} {FEATURE_BITS[bit]}")


def _check_values(model: Model):
    """§4.2: finite values, positive finite scales, first bad element named."""
    for t in model.tensors.values():
        if t.dtype == "int8":
            bad = np.flatnonzero(~np.isfinite(t.scales) | ~(t.scales > 0))
            if bad.size:
                _fail("invalid_tensor", f"tensor {t.name!r} scale {int(bad[0])} is {float(t.scales[bad[0]])!r}, "
                      "expected finite and > 0")
            bad = np.flatnonzero(t.raw_int8 == -128)
            if bad.size:
                _fail("invalid_tensor", f"tensor {t.name!r} element {int(bad[0])} is -128, which must not occur")
        flat = t.values.reshape(-1)
        bad = np.flatnonzero(~np.isfinite(flat))
        if bad.size:
            _fail("invalid_tensor", f"tensor {t.name!r} element {int(bad[0])} is {float(flat[bad[0]])!r}")


# --- §6: forward pass in float64 ------------------------------------------------------------------
# Inputs are formed in binary32 as §6.2 says, weights are the §4.1 binary32 values; everything after
# that is float64. One sequence at a time: every layer runs over exactly the sequence's own T steps
# (§6.2.1, §6.2.2), so no padding exists to be masked.

def input_sequence(model: Model, images_u8) -> np.ndarray:
    """§6.2 image_rows: x[t][j] = f32(src[t*W + j]) * scale + offset in binary32, then float64."""
    h, w = model.input["height"], model.input["width"]
    src = np.asarray(images_u8, dtype=np.uint8).reshape(-1, h, w)
    scale, offset = np.float32(model.input["scale"]), np.float32(model.input["offset"])
    x32 = src.astype(np.float32) * scale   # rounded to binary32 ...
    x32 = x32 + offset                       # ... then added and rounded again (no fused multiply-add)
    return x32.astype(np.float64)            # shape [N, T = height, width]


def input_images(model: Model, images_u8) -> np.ndarray:
    """§6.2.3 image (since 1.4): x[c][i][j] = f32(src[(c*H + i)*W + j]) * scale + offset in binary32 (the
    image_rows contract: two roundings, no fused multiply-add), then float64. `images_u8`: uint8
    [N, C, H, W], [N, H, W] when C = 1 (a grey-scale IDX3 batch), or [N, C*H*W] (each image's bytes
    channels first). Returns [N, C, H, W]."""
    c, h, w = model.input["channels"], model.input["height"], model.input["width"]
    src = np.asarray(images_u8)
    if src.dtype != np.uint8:
        raise ValueError(f"image bytes are uint8, found {src.dtype}")
    if not (src.ndim == 4 and src.shape[1:] == (c, h, w) or src.ndim == 3 and c == 1 and src.shape[1:] == (h, w)
            or src.ndim == 2 and src.shape[1] == c * h * w):
        raise ValueError(f"images of shape {list(src.shape)} do not fit the model's {c} x {h} x {w} input: "
                         f"expected [N, {c}, {h}, {w}]" + (f", [N, {h}, {w}]" if c == 1 else "") + f" or [N, {c * h * w}]")
    src = src.reshape(-1, c, h, w)  # byte (c*H + i)*W + j is channel c, row i, column j
    scale, offset = np.float32(model.input["scale"]), np.float32(model.input["offset"])
    x32 = src.astype(np.float32) * scale   # rounded to binary32 ...
    x32 = x32 + offset                       # ... then added and rounded again (no fused multiply-add)
    return x32.astype(np.float64)


def standardized(model: Model, source) -> np.ndarray:
    """§6.2.2 features: x[t][j] = (src[t][j] - mean[j]) / d[j] in binary32 (d = std, or 1 where std
    is 0), two correctly rounded operations; then float64. `source`: float32 [T, F], 1 <= T <= max_length."""
    inp = model.input
    src = np.asarray(source)
    if src.dtype != np.float32:
        raise ValueError(f"a features sequence is binary32 (float32), found {src.dtype}")
    if src.ndim != 2 or src.shape[1] != inp["width"]:
        raise ValueError(f"a features sequence has shape [T, {inp['width']}], found {list(src.shape)}")
    if not 1 <= src.shape[0] <= inp["max_length"]:
        raise ValueError(f"a features sequence has 1 ..= {inp['max_length']} steps, found {src.shape[0]}")
    if not np.isfinite(src).all():
        raise ValueError("a features sequence holds a non-finite value")
    if "mean" not in inp:
        return src.astype(np.float64)
    mean = model.tensors[inp["mean"]].values
    std = model.tensors[inp["std"]].values
    d = np.where(std > 0, std, np.float32(1)).astype(np.float32)
    x32 = src - mean   # binary32 subtraction, rounded ...
    x32 = x32 / d      # ... then a binary32 division (not a multiplication by 1/d)
    return x32.astype(np.float64)


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _activation(name: str, y):
    return {"none": lambda v: v, "relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh}[name](y)


def _lstm(x, products, b_ih, b_hh):
    """§6.1 lstm (gate order i, f, g, o) from h[-1] = c[-1] = 0 over x [T, I]; returns h [T, H].
    `products` = (ih, hh): ih(x) = A x[t] for every t [T, 4H], hh(h, rows) = rows `rows` of R h (all 4H by
    default) (_float_products, or §6.6's _int8_products: the gate math is one for both evaluations)."""
    ih, hh = products
    hs = b_ih.shape[0] // 4
    pre = ih(x) + b_ih + (0.0 if b_hh is None else b_hh)  # A x[t] + b_ih + b_hh for every t: [T, 4H]
    h, c = np.zeros(hs), np.zeros(hs)
    out = np.zeros((x.shape[0], hs))
    for t in range(x.shape[0]):
        z = pre[t] + hh(h)
        i, f = _sigmoid(z[0:hs]), _sigmoid(z[hs:2 * hs])
        g, o = np.tanh(z[2 * hs:3 * hs]), _sigmoid(z[3 * hs:4 * hs])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[t] = h
    return out


def _gru(x, products, b_ih, b_hh, reset):
    """§6.1 gru (gate order r, z, n; reset "after" or "before") from h[-1] = 0 over x [T, I]; returns h [T, H].
    `products` = (ih, hh) as for _lstm, of 3H rows."""
    ih, hh = products
    hs = b_ih.shape[0] // 3
    b_hh = np.zeros(3 * hs) if b_hh is None else b_hh
    pre = ih(x) + b_ih  # A x[t] + B1 for every t: [T, 3H]
    h = np.zeros(hs)
    out = np.zeros((x.shape[0], hs))
    for t in range(x.shape[0]):
        rz = _sigmoid(pre[t, :2 * hs] + hh(h, slice(0, 2 * hs)) + b_hh[:2 * hs])
        rg, zg = rz[:hs], rz[hs:]
        if reset == "after":   # n = tanh(A_n x + B1_n + r * (R_n h + B2_n))
            n = np.tanh(pre[t, 2 * hs:] + rg * (hh(h, slice(2 * hs, None)) + b_hh[2 * hs:]))
        else:                  # "before": n = tanh(A_n x + B1_n + R_n (r * h) + B2_n); never int8 (§6.6)
            n = np.tanh(pre[t, 2 * hs:] + hh(rg * h, slice(2 * hs, None)) + b_hh[2 * hs:])
        h = (1.0 - zg) * n + zg * h
        out[t] = h
    return out


def _float_products(w_ih, w_hh):
    """The two matrix products of a recurrent direction (§6.1) in float64: A x[t] for every row of x
    [T, I] -> [T, G], and rows `rows` of R h, h [H] (all G by default)."""
    return (lambda x: x @ w_ih.T), (lambda h, rows=slice(None): w_hh[rows] @ h)


# --- §6.6 the int8 evaluation of recurrent layers ---------------------------------------------------

EVALUATIONS = ("float", "int8")
MARGIN_SKIP = 1e-3  # §6.6 (informative): a sequence whose rounding margin is below this is excused in comparisons


def quantize_int8(v):
    """§4.1's int8 rule, symmetric per row, in binary32; a row is the last axis of `v` (a vector is one row):

        m = max_k |v[k]|,  s = m / 127 (binary32; s = 1 where that is 0),
        q[k] = clamp(roundTiesToEven(v[k] / s), -127, 127)   (binary32 division)

    Returns (q int8 [..., n], s float32 [...]). One rule for a writer's weight rows (§4.1) and for the int8
    evaluation's activations x[t] and h[t-1] (§6.6); float64 input is rounded to binary32 first."""
    v = np.asarray(v, dtype=np.float32)
    with np.errstate(under="ignore"):
        s = np.abs(v).max(axis=-1) / np.float32(127)  # a row of tiny values can underflow to 0
    s = np.where(s == 0, np.float32(1), s).astype(np.float32)
    q = np.clip(np.rint(v / s[..., None]), -127, 127)  # float32 / float32 is the binary32 division; rint: ties to even
    return q.astype(np.int8), s


def rounding_margin(v, s) -> float:
    """§6.6 (informative): the smallest distance, in units of q, from |v[k] / s| to a rounding boundary
    k + 1/2, over the elements actually rounded (v[k] != 0 and |v[k] / s| < 127: a clamped value cannot
    round differently); float64 arithmetic on the binary32 v and s of quantize_int8. 0.5 (the largest
    possible) when no element counts, e.g. h[-1] = 0."""
    u = np.abs(np.asarray(v, dtype=np.float32).astype(np.float64) / np.asarray(s, np.float64)[..., None])
    d = np.abs(u - np.floor(u) - 0.5)
    return float(d[(u > 0) & (u < 127)].min(initial=0.5))


def int8_layer(model: Model, layer: dict) -> bool:
    """§6.6 *Which layers*: an lstm, or a gru with reset "after", whose w_ih and w_hh (and, when
    bidirectional, w_ih_reverse and w_hh_reverse) are all stored as int8. Biases may have any dtype."""
    if layer["type"] not in RECURRENT or layer["type"] == "gru" and layer["reset"] != "after":
        return False
    keys = ("w_ih", "w_hh") + (("w_ih_reverse", "w_hh_reverse") if _bidirectional(layer) else ())
    return all(model.tensors[layer[key]].dtype == "int8" for key in keys)


def _int8_folds(model: Model) -> dict:
    """§6.6 *Which layers*: for every int8 recurrent layer (its index), the indices of the chain of dense layers
    without activation directly before it (possibly empty), which the int8 evaluation folds into it."""
    chains = {}
    for i, layer in enumerate(model.layers):
        if int8_layer(model, layer):
            j = i
            while j > 0 and model.layers[j - 1]["type"] == "dense" and model.layers[j - 1]["activation"] == "none":
                j -= 1
            if j < i:
                chains[i] = list(range(j, i))
    return chains


def _compose(model: Model, chain: list):
    """The affine map u = M x + v of a chain of dense layers without activation (float64, dequantized)."""
    m, v = None, None
    for layer in chain:
        w = model.weight(layer["weight"]).astype(np.float64)
        b = np.zeros(w.shape[0]) if layer.get("bias") is None else model.weight(layer["bias"]).astype(np.float64)
        m, v = (w, b) if m is None else (w @ m, w @ v + b)
    return m, v


def _int8_products(t_ih: Tensor, t_hh: Tensor, margin: list):
    """§6.6's replacements for _float_products: every vector (each row x[t], and h[t-1]) quantized by
    quantize_int8; the integer sums A[c] = sum_k Q_ih[c][k] q_x[k] (B[c] likewise) exact in int64; then
    a[c] = (s_x S_ih[c]) A[c] with the scale product in binary32 and the rest float64. Lowers margin[0]
    to every quantized vector's rounding_margin."""
    def product(t: Tensor):
        stored = t.raw_int8.reshape(t.shape).astype(np.int64)  # Q[c][k], the stored integers [G, n]

        def apply(v, rows=slice(None)):
            q, s = quantize_int8(v)  # the same q and s for whichever rows are asked for
            margin[0] = min(margin[0], rounding_margin(v, s))
            sums = q.astype(np.int64) @ stored[rows].T                  # A[c] (B[c]): exact integers
            scale = (s[..., None] * t.scales[rows]).astype(np.float32)  # s_x S[c], one binary32 product
            return scale.astype(np.float64) * sums
        return apply
    return product(t_ih), product(t_hh)


# --- §6.1 convolutions and max-pooling (since 1.4), float64 -----------------------------------------

def conv2d(x, weight, bias, stride, padding) -> np.ndarray:
    """§6.1 conv2d before its activation: x [C, H, W] -> y [O, H', W'] with

        y[o][i][j] = B[o] + sum over c < C, u < KH, v < KW of W[o][c][u][v] * x[c][i*SH + u - PT][j*SW + v - PL]

    where x is 0 outside the image (zero padding). weight [O, C, KH, KW], bias [O] or None, stride
    [SH, SW], padding [PT, PL, PB, PR]. A cross-correlation (the kernel is not flipped)."""
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    n_out, _, kh, kw = weight.shape
    (sh, sw), (pt, pl, pb, pr) = stride, padding
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr)))  # xp[c][r + PT][s + PL] = x[c][r][s], zeros around it
    h2 = window_length(x.shape[1], kh, sh, pt, pb)
    w2 = window_length(x.shape[2], kw, sw, pl, pr)
    y = np.zeros((n_out, h2, w2))
    if bias is not None:
        y += np.asarray(bias, np.float64)[:, None, None]  # B[o] at every position
    for u in range(kh):
        for v in range(kw):
            # For every output (i, j): the input value under kernel tap (u, v), x[c][i*SH + u - PT][j*SW + v - PL],
            # is xp[c][i*SH + u][j*SW + v]: a strided slice of the padded map, [C, H', W'].
            tap = xp[:, u:u + sh * (h2 - 1) + 1:sh, v:v + sw * (w2 - 1) + 1:sw]
            y += np.tensordot(weight[:, :, u, v], tap, axes=(1, 0))  # sum over the channels c: [O, H', W']
    return y


def maxpool2d(x, kernel, stride, padding) -> np.ndarray:
    """§6.1 maxpool2d: x [C, H, W] -> y [C, H', W'], each channel on its own, floor mode:

        y[c][i][j] = max over u < KH, v < KW with 0 <= i*SH + u - PT < H and 0 <= j*SW + v - PL < W
                     of x[c][i*SH + u - PT][j*SW + v - PL]

    Padding positions never take part: they hold -inf, and as every padding is smaller than the kernel,
    every window holds at least one input position. max is exact, so the order does not matter."""
    x = np.asarray(x, np.float64)
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    h2 = window_length(x.shape[1], kh, sh, pt, pb)
    w2 = window_length(x.shape[2], kw, sw, pl, pr)
    y = np.full((x.shape[0], h2, w2), -np.inf)
    for u in range(kh):
        for v in range(kw):
            y = np.maximum(y, xp[:, u:u + sh * (h2 - 1) + 1:sh, v:v + sw * (w2 - 1) + 1:sw])
    return y


def conv1d(x, weight, bias, stride, padding) -> np.ndarray:
    """§6.1 conv1d before its activation, over one sequence: x [T, I] -> y [T', O] with

        T' = floor((T + PB + PE - K) / S) + 1 when T + PB + PE >= K, else 0
        y[t][o] = B[o] + sum over c < I, u < K of W[o][c][u] * x[t*S + u - PB][c]

    where x[s] is the zero vector outside 0 <= s < T. weight [O, I, K], bias [O] or None, stride [S],
    padding [PB, PE]. T is the sequence's own length, so no batch padding is ever part of a window."""
    x, weight = np.asarray(x, np.float64), np.asarray(weight, np.float64)
    n_out, n_in, k = weight.shape
    (s,), (pb, pe) = stride, padding
    t2 = window_length(x.shape[0], k, s, pb, pe)
    y = np.zeros((t2, n_out)) + (0.0 if bias is None else np.asarray(bias, np.float64))
    if t2 == 0:
        return y  # T + PB + PE < K: no window fits, an empty sequence [0, O]
    xp = np.concatenate([np.zeros((pb, n_in)), x, np.zeros((pe, n_in))])  # xp[s + PB] = x[s]
    for u in range(k):
        # Tap u of every output step t reads x[t*S + u - PB] = xp[t*S + u]: a strided slice [T', I].
        y += xp[u:u + s * (t2 - 1) + 1:s] @ weight[:, :, u].T
    return y


def output_length(model: Model, steps: int) -> int:
    """The number of steps a sequence of `steps` steps has after the model's conv1d layers (§6.1): the
    number of per-step outputs of a per-step model (§6.5), and the T of its recurrent layers."""
    for layer in model.layers:
        if layer["type"] == "conv1d":
            steps = window_length(steps, layer["kernel"][0], layer["stride"][0], *layer["padding"])
    return steps


def run_sequence(model: Model, x, evaluation: str = "float", margins: list | None = None) -> np.ndarray:
    """The layers of §6.1 over one input sequence x [T, width] (float64; for tokens: ids [T]).

    Returns y [K] when the last recurrent layer returns "last" or is pooled, [T, K] when it returns
    "sequence" and no pool follows (§6.5).

    `evaluation` "float" is §6.1 on the dequantized weights; "int8" runs the recurrent layers that
    qualify (int8_layer) with §6.6's int8 evaluation and every other layer as "float". `margins`, when a
    list, gets the sequence's rounding margin appended: the smallest rounding_margin of every vector the
    int8 evaluation quantized (0.5 when it quantized none, as under "float"); below MARGIN_SKIP another
    implementation may round an element differently, and a comparison excuses the sequence (§6.6).
    """
    if evaluation not in EVALUATIONS:
        raise ValueError(f"evaluation is one of {', '.join(EVALUATIONS)}, found {evaluation!r}")
    margin = [0.5]  # lowered by every quantized vector
    chains = _int8_folds(model) if evaluation == "int8" else {}
    folded = {j for chain in chains.values() for j in chain}
    seq, vec = np.asarray(x), None  # a sequence [T, w] until a recurrent layer returns "last", then a vector
    for index, layer in enumerate(model.layers):
        f64 = lambda key: None if layer.get(key) is None else model.weight(layer[key]).astype(np.float64)
        kind = layer["type"]
        if index in folded:
            continue  # §6.6: folded into the int8 recurrent layer after it, which reads this chain's input
        if kind == "embedding":
            seq = f64("weight")[np.asarray(x, dtype=np.int64).reshape(-1)]  # x[t] = W[k[t]]: [T, D]
        elif kind == "conv1d":  # §6.1 (since 1.4): [T, I] -> [T', O]; T' may be 0
            y = conv1d(seq, f64("weight"), f64("bias"), layer["stride"], layer["padding"])
            seq = _activation(layer["activation"], y)
        elif kind == "pool":  # §6.1 (since 1.3): over exactly the T steps; T = 0 pools to zeros
            if seq.shape[0] == 0:
                vec = np.zeros(layer["size"])
            elif layer["mode"] == "mean":
                total = np.zeros(seq.shape[1])
                for t in range(seq.shape[0]):  # summed in increasing t, then divided by T
                    total = total + seq[t]
                vec = total / seq.shape[0]
            else:
                vec = seq.max(axis=0)
        elif kind == "dense":  # at every step of a sequence, or once on a vector
            w, b = f64("weight"), f64("bias")
            v = seq if vec is None else vec
            y = v @ w.T
            y = _activation(layer["activation"], y if b is None else y + b)
            seq, vec = (y, None) if vec is None else (seq, y)
        else:
            int8 = evaluation == "int8" and int8_layer(model, layer)

            chain = [model.layers[j] for j in chains.get(index, [])]

            def direction(suffix, xs):
                b_ih, b_hh = f64("b_ih" + suffix), f64("b_hh" + suffix)  # biases: dequantized in either evaluation
                if int8 and chain:  # §6.6: the folded W_ih' = W_ih M, quantized per row; b_ih' = W_ih v + b_ih
                    m, v = _compose(model, chain)
                    w_ih = f64("w_ih" + suffix)
                    b_ih = w_ih @ v + (0 if b_ih is None else b_ih)
                    q, s = quantize_int8(w_ih @ m)
                    folded_ih = types.SimpleNamespace(raw_int8=q.reshape(-1), shape=q.shape, scales=s)
                    products = _int8_products(folded_ih, model.tensors[layer["w_hh" + suffix]], margin)
                elif int8:  # §6.6: the stored integers and scales, not the dequantized values
                    products = _int8_products(model.tensors[layer["w_ih" + suffix]],
                                              model.tensors[layer["w_hh" + suffix]], margin)
                else:
                    products = _float_products(f64("w_ih" + suffix), f64("w_hh" + suffix))
                if kind == "lstm":
                    return _lstm(xs, products, b_ih, b_hh)
                return _gru(xs, products, b_ih, b_hh, layer["reset"])
            hs, steps = layer["hidden_size"], seq.shape[0]
            hf = direction("", seq)  # hf[t], t = 0 .. T-1
            if _bidirectional(layer):
                hb = direction("_reverse", seq[::-1])[::-1]  # run t = T-1 down to 0; hb[t] after reading x[t..T)
                out = np.concatenate([hf, hb], axis=1)       # [hf[t], hb[t]], forward first
                last = np.concatenate([hf[-1], hb[0]]) if steps else np.zeros(2 * hs)
            else:
                out, last = hf, (hf[-1] if steps else np.zeros(hs))  # T = 0 (an empty text): h[-1] = 0
            if layer["return"] == "last":
                vec = last
            else:
                seq = out
    if margins is not None:
        margins.append(margin[0])
    return seq if vec is None else vec


def run_image(model: Model, x) -> np.ndarray:
    """The layers of §6.1 over one image model input x [C, H, W] (float64, since 1.4): conv2d and
    maxpool2d layers on the feature map, flatten to a vector, then the dense layers once. Returns y [K]."""
    v = np.asarray(x, np.float64)
    for layer in model.layers:
        f64 = lambda key: None if layer.get(key) is None else model.weight(layer[key]).astype(np.float64)  # noqa: E731
        kind = layer["type"]
        if kind == "conv2d":
            v = _activation(layer["activation"], conv2d(v, f64("weight"), f64("bias"), layer["stride"], layer["padding"]))
        elif kind == "maxpool2d":
            v = maxpool2d(v, layer["kernel"], layer["stride"], layer["padding"])
        elif kind == "flatten":
            v = v.reshape(-1)  # v[(c*H + i)*W + j] = x[c][i][j]: row-major [C, H, W], channels first
        else:  # dense (rule 2c): y = W v + b, then the activation
            w, b = f64("weight"), f64("bias")
            y = w @ v
            v = _activation(layer["activation"], y if b is None else y + b)
    return v


def outputs_per_step(model: Model) -> bool:
    """§6.5: one output per step when the last recurrent layer returns "sequence" and no pool follows it
    (never for an image model, which has no recurrent layer)."""
    recurrent = [l for l in model.layers if l["type"] in RECURRENT]
    return (bool(recurrent) and recurrent[-1]["return"] == "sequence"
            and not any(l["type"] == "pool" for l in model.layers))


def _stack(outputs: list):
    """One array [N, K] (or [N, T, K] for equal lengths); a list when per-step lengths differ."""
    shapes = {o.shape for o in outputs}
    return np.array(outputs) if len(shapes) <= 1 else outputs


def forward(model: Model, images_u8, evaluation: str = "float", margins: list | None = None):
    """Outputs of an image_rows model in float64: [N, K] (logits or values), or [N, T', K] for a
    per-step model (§6.5); weights are the §4.1 binary32 values widened. An image model (since 1.4)
    goes to forward_images. `evaluation` and `margins` (one entry appended per input): run_sequence."""
    if model.input["kind"] == "image":
        return forward_images(model, images_u8, evaluation, margins)
    return np.array([run_sequence(model, x, evaluation, margins) for x in input_sequence(model, images_u8)])


def forward_images(model: Model, images_u8, evaluation: str = "float", margins: list | None = None) -> np.ndarray:
    """Outputs of an image model (§6.2.3, since 1.4) in float64: [N, K], one vector per image (§6.5).
    `images_u8`: uint8 [N, C, H, W], [N, H, W] for a one-channel model, or [N, C*H*W]. An image model has no
    recurrent layer, so evaluation "int8" (§6.6) changes nothing and every margin is 0.5."""
    if model.input["kind"] != "image":
        raise ValueError(f"forward_images needs an image model, this one reads {model.input['kind']!r}")
    if evaluation not in EVALUATIONS:
        raise ValueError(f"evaluation is one of {', '.join(EVALUATIONS)}, found {evaluation!r}")
    images = input_images(model, images_u8)
    if margins is not None:
        margins.extend([0.5] * len(images))
    return np.array([run_image(model, x) for x in images]).reshape(-1, len(model.labels))


def forward_tokens(model: Model, sequences, evaluation: str = "float", margins: list | None = None):
    """Outputs of a tokens model in float64: each id sequence runs over its own length (§6.2.1).
    [N, K] for a last-state model; for a per-step model a list of [T_i, K] arrays. `evaluation`,
    `margins`: run_sequence."""
    return _stack([run_sequence(model, np.asarray(ids, dtype=np.int64), evaluation, margins) for ids in sequences])


def forward_features(model: Model, sequences, evaluation: str = "float", margins: list | None = None) -> list:
    """Outputs of a features model (§6.2.2) in float64, one entry per sequence: [K] for a last-state
    model, [T_i, K] for a per-step model. `sequences`: float32 arrays [T_i, F], 1 <= T_i <= max_length;
    a sequence of the wrong shape, length or with a non-finite value is the caller's error (ValueError).
    `evaluation`, `margins`: run_sequence."""
    if model.input["kind"] != "features":
        raise ValueError(f"forward_features needs a features model, this one reads {model.input['kind']!r}")
    return [run_sequence(model, standardized(model, s), evaluation, margins) for s in sequences]


def softmax(logits) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- CLI ---------------------------------------------------------------------------------------------

def _inspect(model: Model) -> str:
    lines = [f"format {model.format_version[0]}.{model.format_version[1]}, needs reader >= "
             f"{model.min_reader_version[0]}.{model.min_reader_version[1]}, features "
             f"{[FEATURE_BITS[b] for b in FEATURE_BITS if model.features >> b & 1] or 'none'}"]
    for s in model.sections:
        lines.append(f"  section kind {s.kind} codec {s.codec} at {s.offset}: {s.stored_size} -> {s.size} bytes")
    i = model.input
    if i["kind"] == "tokens":
        lines.append(f"input tokens {i['tokenizer']} max_length {i['max_length']} truncate {i['truncate']} "
                     f"vocabulary {len(i['vocabulary'])} words")
    elif i["kind"] == "features":
        lines.append(f"input features width {i['width']} max_length {i['max_length']} {i['source_dtype']}, "
                     + (f"standardized by {i['mean']}, {i['std']}" if "mean" in i else "not standardized"))
    else:
        sides = f"{i['channels']}x" if i["kind"] == "image" else ""
        lines.append(f"input {i['kind']} {sides}{i['height']}x{i['width']} {i['source_dtype']} scale {i['scale']} "
                     f"offset {i['offset']}")
    lines.append(f"output {model.metadata['model']['output']}"
                 + (", one per image" if i["kind"] == "image" else ", one per step" if outputs_per_step(model)
                    else ", one per sequence"))
    shape = (i["channels"], i["height"], i["width"]) if i["kind"] == "image" else None
    for layer in model.layers:
        kind = layer["type"]
        if kind in ("conv2d", "maxpool2d", "conv1d"):
            window = f"kernel {layer['kernel']} stride {layer['stride']} padding {layer['padding']}"
        if kind in ("conv2d", "maxpool2d"):
            shape = map_shape(layer, shape)
        if kind == "dense":
            extra = f"{layer['in']}->{layer['out']} {layer['activation']}"
        elif kind == "pool":
            extra = f"{layer['mode']} over {layer['size']}"
        elif kind == "embedding":
            extra = f"{layer['vocab_size']}x{layer['dim']}"
        elif kind == "conv2d":
            extra = f"{layer['in_channels']}->{layer['out_channels']} {window} {layer['activation']} -> {'x'.join(map(str, shape))}"
        elif kind == "conv1d":
            extra = f"{layer['in_channels']}->{layer['out_channels']} {window} {layer['activation']}"
        elif kind == "maxpool2d":
            extra = f"{window} -> {'x'.join(map(str, shape))}"
        elif kind == "flatten":
            extra = f"-> {shape[0] * shape[1] * shape[2]}"
        else:
            extra = (f"{layer['input_size']}->{layer['hidden_size']} return {layer['return']}"
                     + (f" reset {layer['reset']}" if kind == "gru" else "")
                     + (" bidirectional" if _bidirectional(layer) else ""))
        lines.append(f"  layer {layer['name']}: {kind} {extra}")
    for t in model.tensors.values():
        lines.append(f"  tensor {t.name}: {t.dtype} {list(t.shape)}")
    labels = model.labels if len(model.labels) <= 12 else model.labels[:12] + ["..."]
    lines.append(f"labels ({len(model.labels)}): {labels}")
    lines.append(f"producer: {model.metadata['provenance'].get('producer')}")
    return "\n".join(lines)


def _to_json(outputs):
    """Arrays (or a list of per-sequence arrays) as nested lists; json writes floats with repr:
    full float64 precision."""
    return [o.tolist() for o in outputs] if isinstance(outputs, list) else outputs.tolist()


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description="Reference reader for .rnnm model files (spec/FORMAT.md)")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("verify", "inspect", "forward", "tokenize"):
        sp = sub.add_parser(name)
        sp.add_argument("file")
        if name == "forward":
            sp.add_argument("--images", help="image_rows and image models: raw u8 bytes (N x height x width; "
                            "N x channels x height x width for an image model) or an IDX u8 file of 3 dims "
                            "[N, height, width] (magic 00 00 08 03) or 4 dims [N, channels, height, width] (00 00 08 04)")
            sp.add_argument("--texts", help="tokens models: a file of texts, one per line (outputs per line)")
            sp.add_argument("--features", help="features models: .npy of float32 [N, T_max, F], zero-padded")
            sp.add_argument("--lengths", help="features models: .npy of integers [N], each sequence's length")
            sp.add_argument("--evaluation", choices=EVALUATIONS, default="float",
                            help="float (default): §6.1 on the dequantized weights; int8: §6.6's int8 evaluation "
                            "of the qualifying recurrent layers; the output then gains \"margins\", each "
                            "input's rounding margin (below 1e-3, another implementation may round an element differently)")
        if name == "tokenize":
            sp.add_argument("--texts", required=True, help="a file of texts, one per line; prints the ids as JSON lines")
    args = p.parse_args(argv)
    try:
        model = load(args.file)
    except FormatError as e:
        print(f"error: {e.error_class}: {e.message}")
        return 1
    # "logits" for a logits model (as 1.0/1.1 printed), "outputs" for a values model and for features input.
    key = "logits" if model.metadata["model"]["output"] == "logits" else "outputs"
    evaluation = getattr(args, "evaluation", "float")
    margins = [] if evaluation == "int8" else None

    def result(outputs, name=key) -> str:  # {name: outputs}, and under the int8 evaluation "margins" (one per input)
        return json.dumps({name: _to_json(outputs)} | ({} if margins is None else {"margins": margins}))
    if args.command == "verify":
        print("ok")
    elif args.command == "inspect":
        print(_inspect(model))
    elif args.command == "tokenize" or args.texts is not None:
        with open(args.texts, "rb") as f:
            lines = f.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if args.command == "tokenize":
            for line in lines:
                print(json.dumps(token_ids(model, line)))
        else:
            print(result(forward_tokens(model, [token_ids(model, l) for l in lines], evaluation, margins)))
    elif args.features is not None:
        if args.lengths is None:
            print("error: --features needs --lengths", file=sys.stderr)
            return 2
        x, lengths = np.load(args.features), np.load(args.lengths)
        if x.ndim != 3 or lengths.shape != (x.shape[0],):
            print(f"error: --features is {list(x.shape)}, --lengths {list(lengths.shape)}: expected [N, T_max, F] and [N]",
                  file=sys.stderr)
            return 2
        try:
            outputs = forward_features(model, [x[n, :int(t)] for n, t in enumerate(lengths)], evaluation, margins)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(result(outputs, "outputs"))
    else:
        raw = open(args.images, "rb").read()
        inp = model.input
        channels = inp.get("channels", 1) if inp["kind"] == "image" else 1
        per = channels * inp["height"] * inp["width"]
        if inp["kind"] not in ("image_rows", "image"):
            print("error: --images needs an image_rows or an image model", file=sys.stderr)
            return 2
        images = read_idx(raw)
        if images is None:  # raw bytes, each image channels first
            if len(raw) % per:
                print(f"error: --images: {len(raw)} bytes is not a multiple of {per} bytes per image", file=sys.stderr)
                return 2
            images = np.frombuffer(raw, np.uint8).reshape(-1, per)
        else:  # IDX [N, H, W] (one channel) or [N, C, H, W]
            dims = tuple(images.shape[1:])
            if dims not in ((inp["height"], inp["width"]), (channels, inp["height"], inp["width"])) \
                    or len(dims) == 2 and channels != 1:
                print(f"error: --images: IDX images of {list(dims)} do not fit the model's input "
                      f"{[channels, inp['height'], inp['width']]}", file=sys.stderr)
                return 2
            images = images.reshape(-1, per)
        print(result(forward(model, images, evaluation, margins)))
    return 0


def read_idx(raw: bytes):
    """An IDX file of unsigned bytes (the MNIST container: 00 00 08 D, then D big-endian u32 dimensions,
    then the values) with 3 dims [N, H, W] or 4 dims [N, C, H, W], as a uint8 array; None when `raw` is not
    one (its length must match the header exactly, so raw pixel bytes are not mistaken for it)."""
    if len(raw) < 4 or raw[:3] != b"\0\0\x08" or raw[3] not in (3, 4):
        return None
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        return None
    dims = [int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim)]
    if len(raw) != 4 + 4 * ndim + int(np.prod(dims, dtype=object)):
        return None
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


if __name__ == "__main__":
    sys.exit(main())
