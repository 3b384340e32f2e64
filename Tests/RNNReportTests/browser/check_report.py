#!/usr/bin/env python3
"""Checks the analysis report as a person would see it: in a real headless browser.

1. Writes a report with the built `rnn-report` from the golden course-size model
   (fixtures/golden/course-h128.rnnm, a trainer export) and the MNIST test set, with the
   comparison JSON of bench/compare_cnn.py's schema when one is given.
2. Opens index.html in Debian's headless Chromium: takes a screenshot, dumps the DOM after layout
   and collects console messages.
3. Asserts: no console errors; every figure the page promises is present as an inline <svg> with
   drawn content and a positive size; every .svg file written next to it is well-formed XML; the
   screenshot is a real PNG that is not blank (several distinct colours over a large area).

Usage: check_report.py RNN_REPORT_BINARY [--data DIR]. Ends with "N passed, M failed".
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib
from html.parser import HTMLParser

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}: {name}" + (f" ({detail})" if detail and not ok else ""))


class SVGCollector(HTMLParser):
    """Counts inline <svg> elements and the drawing elements inside each one."""

    def __init__(self):
        super().__init__()
        self.svgs, self.depth = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.depth += 1
            if self.depth == 1:
                self.svgs.append({"attrs": dict(attrs), "shapes": 0})
        elif self.depth and tag in ("rect", "path", "line", "polyline", "circle", "text", "image", "polygon"):
            self.svgs[-1]["shapes"] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.depth -= 1


def png_colours(path):
    """(width, height, distinct RGB colours in a sample of rows) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return 0, 0, 0
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None:
        return width, height, 2  # unusual encoding: size is all we check
    raw, stride = zlib.decompress(idat), width * channels
    prev, colours = bytearray(stride), set()
    for y in range(height):  # undo the PNG row filters (RFC 2083 §6)
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if f == 1: row[i] = (row[i] + a) & 255
            elif f == 2: row[i] = (row[i] + b) & 255
            elif f == 3: row[i] = (row[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 7 == 0:
            colours.update(bytes(row[i:i + 3]) for i in range(0, stride, channels * 3))
        prev = row
    return width, height, len(colours)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rnn_report")
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets", "mnist"))
    args = ap.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    check("headless Chromium is installed (Debian package chromium)", browser is not None)
    if browser is None:
        return finish()
    out = tempfile.mkdtemp(prefix="report-check-")
    try:
        run = subprocess.run([args.rnn_report, "--model", os.path.join(ROOT, "fixtures/golden/course-h128.rnnm"),
                              "--data", args.data, "--test-images", "2000", "--no-speed", "--output", out],
                             capture_output=True, text=True, timeout=600)
        check("rnn-report writes the report", run.returncode == 0, run.stderr.strip()[-500:])
        index = os.path.join(out, "index.html")
        if run.returncode != 0 or not os.path.exists(index):
            return finish()
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                 "--disable-extensions", "--user-data-dir=" + os.path.join(out, "profile"),
                 "--enable-logging=stderr", "--v=0", "--window-size=1280,6000"]
        shot = os.path.join(out, "page.png")
        r = subprocess.run([browser, *flags, f"--screenshot={shot}", "file://" + index],
                           capture_output=True, text=True, timeout=120)
        console = [l for l in r.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
        check("the page loads without console errors", not console, "; ".join(console)[:500])
        w, h, colours = png_colours(shot) if os.path.exists(shot) else (0, 0, 0)
        check("the screenshot is a non-blank PNG", w >= 1000 and h >= 1000 and colours >= 8,
              f"{w}x{h}, {colours} colours")
        dom = subprocess.run([browser, *flags, "--dump-dom", "file://" + index],
                             capture_output=True, text=True, timeout=120).stdout
        parser = SVGCollector()
        parser.feed(dom)
        figures = [s for s in parser.svgs if s["shapes"] > 0]
        check("the page shows its figures (samples, curves or confusion, misclassified, sizes)",
              len(figures) >= 4, f"{len(figures)} non-empty inline SVGs of {len(parser.svgs)}")
        empty = [i for i, s in enumerate(parser.svgs) if s["shapes"] == 0]
        check("no inline figure is empty", not empty, f"empty SVG #{empty}")
        svg_files = [f for f in os.listdir(out) if f.endswith(".svg")]
        check("SVG files are written next to the page", len(svg_files) >= 4, str(svg_files))
        for name in svg_files:
            try:
                root = ET.parse(os.path.join(out, name)).getroot()
                ok = root.tag.endswith("svg") and len(list(root.iter())) > 3
                check(f"{name} is well-formed SVG with content", ok)
            except ET.ParseError as e:
                check(f"{name} is well-formed XML", False, str(e))
        md = os.path.join(out, "REPORT.md")
        check("the Markdown summary is written", os.path.exists(md) and os.path.getsize(md) > 200)
        if os.environ.get("REPORT_SCREENSHOT"):
            shutil.copy(shot, os.environ["REPORT_SCREENSHOT"])
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return finish()


def finish():
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) and results else 1


if __name__ == "__main__":
    sys.exit(main())
