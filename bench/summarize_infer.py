#!/usr/bin/env python3
"""Turns bench/out/infer.jsonl (rnn-infer bench --json and peers_infer.py lines) into a Markdown table.

Rows: implementation; columns: (threads, batch) images/s; last rows: our runtime divided by the
fastest peer in each column (above 1 means we are faster).
"""
import json
import sys


def rates(record):
    """{batch: images/s} for one line, whichever tool wrote it."""
    if record["peer"].startswith("rnn-runtime"):
        out = {1: record["batch1_images_per_s"]}
        for row in record["throughput"]:
            out[10000 if row["batch"] >= 10000 else row["batch"]] = row["images_per_s"]
        return out
    return {r["batch"]: r["images_per_s"] for r in record["results"]}


def main(path, sgemm_path=None):
    records = [json.loads(line) for line in open(path) if line.strip()]
    columns = [(t, b) for t in (1, 2) for b in (1, 128, 10000)]
    table, versions, notes = {}, {}, []
    for r in records:
        name = r["peer"]
        versions[name] = r.get("version", "")
        for batch, rate in rates(r).items():
            table.setdefault(name, {})[(r["threads"], batch)] = rate
        if "agreement" in r:
            notes.append(f"{name} ({r['threads']} thr): argmax agreement with the float64 reference "
                         f"{100 * r['agreement']:.2f}%, max |logit diff| {r['max_abs_logit_diff']:.2e}")
    head = "| images/s (median) | " + " | ".join(f"{t} thr, batch {b}" for t, b in columns) + " |"
    print(head)
    print("|---|" + "---:|" * len(columns))
    for name, row in table.items():
        label = name + (f" {versions[name]}" if versions[name] else "")
        print(f"| {label} | " + " | ".join(f"{row[c]:,.0f}" if c in row else "n/a" for c in columns) + " |")
    peers = {n: row for n, row in table.items() if not n.startswith("rnn-runtime")}
    for name, ours in table.items():
        if not name.startswith("rnn-runtime") or not peers:
            continue
        cells = []
        for c in columns:
            best = max((row[c] for row in peers.values() if c in row), default=None)
            cells.append(f"{ours[c] / best:.2f}x" if best and c in ours else "n/a")
        print(f"| **{name} / fastest peer** | " + " | ".join(cells) + " |")
    missing = {"torch", "onnxruntime", "tensorflow"} - set(peers)
    if missing:
        print(f"\nPeers not measured (not installable or failed): {', '.join(sorted(missing))}")
    for n in notes:
        print(f"\n- {n}", end="")
    print()
    sgemm = json.load(open(sgemm_path)) if sgemm_path else {}
    ours = [r for r in records if r["peer"] == "rnn-runtime" and r["threads"] == 1 and "flops_per_image" in r]
    if sgemm.get("sgemm_gflops") and ours:
        rate = rates(ours[0])[10000] * ours[0]["flops_per_image"] / 1e9
        print(f"\nOpenBLAS SGEMM 1024^3, 1 thread ({sgemm['coretype']} kernels): {sgemm['sgemm_gflops']:.1f} GFLOP/s. "
              f"rnn-runtime, batch 10,000, 1 thread: {rate:.1f} GFLOP/s for the whole forward pass "
              f"({ours[0]['flops_per_image']:,} FLOP per image x images/s) = {100 * rate / sgemm['sgemm_gflops']:.0f} % "
              f"of SGEMM; the step products alone run faster still (gates, input and output are inside that time).")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/out/infer.jsonl", sys.argv[2] if len(sys.argv) > 2 else None)
