#!/usr/bin/env python3
"""Writes a benchmark's final numbers to bench/results/NAME.json, the files README tables come from.

bench/results/ is committed; bench/out/ stays scratch (raw runs, logs, converted models). Every
result file names the command that produced it, when, on which machine and at which commit:

  {"schema": "rnn-bench-result/1", "table": NAME, "command": "bench/run-infer.sh",
   "measured_utc": "2026-12-01T22:00:00Z", "commit": "1ca2a1b" (+ "-dirty"),
   "machine": {"cpu": ..., "logical_cpus": N, "isa": "avx512" | "avx2" | "other", "os": ...},
   "results": {...what the script measured...}}

Usage: from Python, `results.write(NAME, COMMAND, RESULTS)`; from a shell script,
`python3 bench/results.py NAME COMMAND < results.json`. Standard library only.
"""
import datetime
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "results")


def machine():
    cpu, flags = None, set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and cpu is None:
                    cpu = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    isa = "avx512" if {"avx512f", "avx512dq", "avx512vl"} <= flags else "avx2" if {"avx2", "fma"} <= flags else "other"
    return {"cpu": cpu or platform.processor() or platform.machine(), "logical_cpus": os.cpu_count(), "isa": isa,
            "os": f"{platform.system()} {platform.release()}"}


def commit():
    try:
        head = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", HERE, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def write(name, command, results):
    """Writes bench/results/NAME.json atomically and returns its path."""
    record = {
        "schema": "rnn-bench-result/1",
        "table": name,
        "command": command,
        "measured_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "machine": machine(),
        "results": results,
    }
    os.makedirs(FOLDER, exist_ok=True)
    path = os.path.join(FOLDER, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"results: wrote {os.path.relpath(path)}", file=sys.stderr)
    return path


def results_option(argv):
    """Splits a summarizer's `--results COMMAND` off its arguments: (COMMAND or None, the other arguments)."""
    if "--results" not in argv:
        return None, argv
    i = argv.index("--results")
    return argv[i + 1], argv[:i] + argv[i + 2:]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python3 bench/results.py NAME COMMAND < results.json")
    write(sys.argv[1], sys.argv[2], json.load(sys.stdin))
