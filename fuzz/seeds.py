#!/usr/bin/env python3
"""Writes the generated seed corpus of one fuzz target (see fuzz/README.md).

    fuzz/seeds.py TARGET DIRECTORY        TARGET: tar, idx, tokenizer, npy, ts or streamline

Seeds are small, valid inputs of every shape the reader knows, built here from code so that no
binary blob is committed; libFuzzer mutates them from there.
"""
import gzip
import io
import os
import struct
import sys
import tarfile


def tar_seeds():
    reviews = [
        ("aclImdb/README", b"readme"),
        ("aclImdb/train/pos/7_9.txt", b"Great film."),
        ("aclImdb/train/neg/3_1.txt", b"Dreadful.<br />Avoid."),
        ("aclImdb/test/neg/1_2.txt", "Bad ending \u2014 \u00fcn\u00efcode.".encode()),
        ("aclImdb/" + "d" * 120 + "/train/pos/4_8.txt", b"Long path review."),
    ]
    for name, fmt in (("ustar", tarfile.USTAR_FORMAT), ("gnu", tarfile.GNU_FORMAT), ("pax", tarfile.PAX_FORMAT)):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=fmt) as archive:
            directory = tarfile.TarInfo("aclImdb/train")
            directory.type = tarfile.DIRTYPE
            archive.addfile(directory)
            for path, data in reviews:
                if fmt == tarfile.USTAR_FORMAT and len(path) > 100:
                    continue
                info = tarfile.TarInfo(path)
                info.size = len(data)
                if fmt == tarfile.PAX_FORMAT:
                    info.pax_headers = {"comment": "seed"}
                archive.addfile(info, io.BytesIO(data))
        yield name + ".tar", out.getvalue()
        if name == "pax":
            yield name + ".tar.gz", gzip.compress(out.getvalue(), mtime=0)


def idx_seeds():
    def header(dimensions, sizes):
        return bytes([0, 0, 8, dimensions]) + b"".join(struct.pack(">I", s) for s in sizes)

    images = header(3, [3, 4, 2]) + bytes((i * 37) % 256 for i in range(24))
    labels = header(1, [5]) + bytes([3, 1, 4, 1, 5])
    yield "images", images
    yield "labels", labels
    yield "images.gz", gzip.compress(images, mtime=0)
    yield "labels.gz", gzip.compress(labels, mtime=0)
    yield "images-two-members.gz", gzip.compress(images[:10], mtime=0) + gzip.compress(images[10:], mtime=0)
    yield "images-empty", header(3, [0, 28, 28])
    yield "images-truncated", header(3, [2, 28, 28]) + bytes(100)


def tokenizer_seeds():
    # Layout: 2 bytes of settings, vocabulary lines, NUL, text (FuzzTokenizer.swift).
    def seed(max_length, end, vocabulary, text):
        settings = bytes([(0x80 if end else 0) | (max_length - 1) >> 8, (max_length - 1) & 0xFF])
        return settings + "\n".join(vocabulary).encode() + b"\0" + text.encode()

    yield "review", seed(400, False, ["the", "film", "great", "isn't"], "The film was GREAT.<br /><br />Isn't it?")
    yield "apostrophes", seed(3, True, ["'tis", "rock'n'roll"], "'''Tis rock'n'roll'' -- ' ' 'x'")
    yield "unicode", seed(8, False, ["caf\u00e9", "na\u00efve"], "Caf\u00e9 NA\u00cfVE \u00fcber \u2014 \U0001F600 cafe\u0301")
    yield "markup", seed(65536, False, ["br"], "<BR /><br/><br /x<br <br />br")


def npy_seeds():
    # A .npy file as numpy writes one (version 1.0 or 2.0/3.0), built here so that numpy is not needed.
    def npy(descr, shape, data, version=1, fortran=False):
        shape_text = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
        text = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_text)
        prefix = 10 if version == 1 else 12
        text += " " * (63 - (prefix + len(text)) % 64) + "\n"
        length = struct.pack("<H" if version == 1 else "<I", len(text))
        return b"\x93NUMPY" + bytes([version, 0]) + length + text.encode() + data

    yield "f4-sequences", npy("<f4", (2, 3, 4), struct.pack("<24f", *[i / 8 - 1 for i in range(24)]))
    yield "f8", npy("<f8", (5,), struct.pack("<5d", 0.1, -2.5, 1e-310, 3.4e38, 1e300))
    yield "i4-lengths", npy("<i4", (3,), struct.pack("<3i", 3, 1, 0))
    yield "i8", npy("<i8", (2, 2), struct.pack("<4q", -2**63, -1, 0, 2**63 - 1))
    yield "scalar", npy("<f4", (), struct.pack("<f", 2.5))
    yield "empty", npy("<f4", (0, 5, 3), b"")
    yield "v2", npy("<f4", (3, 2), struct.pack("<6f", *range(6)), version=2)
    yield "v3", npy("<i8", (1, 1, 1), struct.pack("<q", 7), version=3)
    yield "fortran", npy("<f4", (2, 3), struct.pack("<6f", *range(6)), fortran=True)
    yield "big-endian", npy(">f4", (2,), struct.pack(">2f", 1, 2))
    yield "nan-feature", npy("<f4", (1, 2, 2), struct.pack("<4f", 1, float("nan"), 2, 3))


def ts_seeds():
    header = "# seed\n@problemName Seed\n@timeStamps false\n@missing false\n@univariate %s\n@dimensions %d\n"

    def series(dimensions, length, start):
        return ":".join(",".join(repr(round((start + d * length + t) * 0.37 - 3, 6)) for t in range(length))
                        for d in range(dimensions))

    variable = header % ("false", 3) + "@equalLength false\n@classLabel true 1 2 3\n@data\n" + "".join(
        series(3, 2 + i, i) + ":%d\n" % (i % 3 + 1) for i in range(4))
    yield "variable", variable
    yield "variable-crlf", variable.replace("\n", "\r\n")
    yield "equal", header % ("true", 1) + "@equalLength true\n@seriesLength 5\n@classLabel true Standing Running\n@data\n" \
        + series(1, 5, 0) + ":Running\n" + series(1, 5, 9) + ":Standing\n"
    yield "regression", "@problemName R\n@dimensions 2\n@targetLabel true\n@data\n" + series(2, 3, 1) + ":0.25\n" \
        + series(2, 1, 4) + ":-1e3\n"
    yield "unlabelled", "@classLabel false\n@data\n1,.5,+2.:-5.8E-5,7e1,0\n\n# c\n 3 : 4 \n"


def streamline_seeds():
    yield "step", "[0.5, -1, 2e-3]"
    yield "reset", " reset \r\n"
    yield "blank", "\n"
    yield "extremes", "[3.4028235e38, -0.0, 1.4e-45, 16777217, 1E+2]"
    yield "twelve", "[" + ",".join(str(i / 7) for i in range(12)) + "]"


def main():
    target, directory = sys.argv[1], sys.argv[2]
    seeds = {"tar": tar_seeds, "idx": idx_seeds, "tokenizer": tokenizer_seeds, "npy": npy_seeds, "ts": ts_seeds,
             "streamline": streamline_seeds}[target]
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(directory, "seed-" + name), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)


if __name__ == "__main__":
    main()
