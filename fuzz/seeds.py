#!/usr/bin/env python3
"""Writes the generated seed corpus of one fuzz target (see fuzz/README.md).

    fuzz/seeds.py TARGET DIRECTORY        TARGET: tar, idx or tokenizer

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


def main():
    target, directory = sys.argv[1], sys.argv[2]
    seeds = {"tar": tar_seeds, "idx": idx_seeds, "tokenizer": tokenizer_seeds}[target]
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(directory, "seed-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
