#!/usr/bin/env python3
"""Turns bench/out/infer.jsonl (rnn-infer bench --json and peers_infer.py lines) into a Markdown table.

Rows: implementation; columns: (threads, batch) images/s, and the accuracy on the test images when
the lines carry one (peers_infer.py with labels; ours from `rnn-infer classify --labels`, added by
bench/run-infer.sh); last rows: our runtime divided by the fastest peer in each column (above 1 means
we are faster). Our rows are every line whose peer starts with "rnn-runtime" (on an int8 file
"rnn-runtime int8", the int8 kernels, and "rnn-runtime int8-as-f32", the weights dequantized to f32).

  python3 bench/summarize_infer.py [INFER.jsonl [SGEMM.json]] [--table NAME] [--results COMMAND]

With --results, the table's numbers also go to bench/results/NAME.json (bench/results.py), naming
COMMAND as what produced them. NAME is "infer" (the default: the LSTM table) or, for an image model
(a CNN; bench/run-infer.sh picks it from the model's input kind), "infer-cnn", so that neither table
overwrites the other.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results as results_file  # noqa: E402

# The peer set of every inference table (bench/run-infer.sh runs each at 1 and 2 threads).
PEERS = {
    "torch": "PyTorch",
    "onnxruntime": "ONNX Runtime",
    "tensorflow": "TensorFlow",
    "tflite": "TensorFlow Lite f32",
    "tflite-int8": "TensorFlow Lite int8 (dynamic range)",
    "tflite-int8-full": "TensorFlow Lite int8 (full integer)",
}
# Peers peers_infer.py can run that bench/run-infer.sh does not: labelled when present, never "missing".
OPTIONAL_PEERS = {
    "tflite-int16x8": "TensorFlow Lite 16x8 (int16 activations)",
}
LABELS = {**PEERS, **OPTIONAL_PEERS}
COLUMNS = [(t, b) for t in (1, 2) for b in (1, 128, 10000)]


def rates(record):
    """{batch: images/s} for one line, whichever tool wrote it."""
    if record["peer"].startswith("rnn-runtime"):
        out = {1: record["batch1_images_per_s"]}
        for row in record["throughput"]:
            out[10000 if row["batch"] >= 10000 else row["batch"]] = row["images_per_s"]
        return out
    return {r["batch"]: r["images_per_s"] for r in record["results"]}


def summarize(records, sgemm):
    """The table as data: rows of images/s per column, ratios to the fastest peer, agreement notes."""
    table, versions, agreement, accuracy, quantization = {}, {}, [], {}, {}
    for r in records:
        name = r["peer"]
        versions[name] = r.get("version", "")
        for batch, rate in rates(r).items():
            table.setdefault(name, {})[(r["threads"], batch)] = rate
        if "agreement" in r:
            agreement.append({"peer": name, "threads": r["threads"], "agreement": r["agreement"],
                              "images": r.get("agreement_images", 1000), "max_abs_logit_diff": r["max_abs_logit_diff"]})
        # One accuracy per row: the 1-thread line's (our runtime measures it there), else the first line's.
        if "accuracy" in r and (name not in accuracy or r["threads"] == 1):
            accuracy[name] = {"accuracy": r["accuracy"], "images": r.get("accuracy_images")}
        if "quantization" in r:
            quantization[name] = r["quantization"]
    peers = {n: row for n, row in table.items() if not n.startswith("rnn-runtime")}
    rows = [{"name": name, "label": LABELS.get(name, name), "version": versions[name],
             "images_per_s": {f"{t} thr, batch {b}": row.get((t, b)) for t, b in COLUMNS},
             **({"accuracy": accuracy[name]["accuracy"], "accuracy_images": accuracy[name]["images"]}
                if name in accuracy else {})} for name, row in table.items()]
    ratios = []
    for name, ours in table.items():
        if not name.startswith("rnn-runtime") or not peers:
            continue
        cells = {}
        for c in COLUMNS:
            best = max(((row[c], n) for n, row in peers.items() if c in row), default=None)
            cells[f"{c[0]} thr, batch {c[1]}"] = (
                {"ratio": ours[c] / best[0], "fastest_peer": best[1]} if best and c in ours else None)
        ratios.append({"name": name, "to_fastest_peer": cells})
    summary = {"columns": [f"{t} thr, batch {b}" for t, b in COLUMNS], "rows": rows, "ratios": ratios,
               "agreement": agreement, "peers_missing": sorted(set(PEERS) - set(peers))}
    if quantization:
        summary["quantization"] = quantization
    ours = [r for r in records if r["peer"] == "rnn-runtime" and r["threads"] == 1 and "flops_per_image" in r]
    if sgemm.get("sgemm_gflops") and ours and 10000 in rates(ours[0]):
        summary["sgemm"] = {"sgemm_gflops": sgemm["sgemm_gflops"], "coretype": sgemm.get("coretype"),
                            "flops_per_image": ours[0]["flops_per_image"],
                            "runtime_gflops_batch_10000_1_thread": rates(ours[0])[10000] * ours[0]["flops_per_image"] / 1e9}
    return summary


def table_option(argv):
    """Splits `--table NAME` off the arguments: (NAME, default "infer"; the other arguments)."""
    if "--table" not in argv:
        return "infer", argv
    i = argv.index("--table")
    return argv[i + 1], argv[:i] + argv[i + 2:]


def markdown(summary, cnn=False):
    # The accuracy column only when some row has one (the sequence tables of summarize_sequence.py have none).
    counts = {row["accuracy_images"] for row in summary["rows"] if row.get("accuracy") is not None}
    accuracy = (["accuracy" + (f" ({counts.pop():,} images)" if len(counts) == 1 and None not in counts else "")]
                if counts else [])
    lines = ["| images/s (median) | " + " | ".join(summary["columns"] + accuracy) + " |",
             "|---|" + "---:|" * (len(summary["columns"]) + len(accuracy))]
    for row in summary["rows"]:
        label = row["label"] + (f" {row['version']}" if row["version"] else "")
        cells = [f"{row['images_per_s'][c]:,.0f}" if row["images_per_s"][c] is not None else "n/a" for c in summary["columns"]]
        if accuracy:
            cells.append(f"{100 * row['accuracy']:.2f} %" if row.get("accuracy") is not None else "n/a")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for ratio in summary["ratios"]:
        lines.append(f"| **{ratio['name']} / fastest peer** | " + " | ".join(
            [f"{cell['ratio']:.2f}x" if cell else "n/a" for cell in ratio["to_fastest_peer"].values()] + [""] * len(accuracy)) + " |")
    if summary["peers_missing"]:
        lines.append(f"\nPeers not measured (not selected, not installable or failed): {', '.join(summary['peers_missing'])}")
    lines.append("")
    for a in summary["agreement"]:
        lines.append(f"- {LABELS.get(a['peer'], a['peer'])} ({a['threads']} thr): argmax agreement with the float64 "
                     f"reference on {a['images']:,} images {100 * a['agreement']:.2f}%, max |logit diff| "
                     f"{a['max_abs_logit_diff']:.2e}")
    for name, q in summary.get("quantization", {}).items():
        lines.append(f"- {LABELS.get(name, name)}: {q['mode']}; input {q['input']}, output {q['output']}; calibrated on "
                     f"{q['calibration']}; {q['graph']}")
    if "sgemm" in summary:
        s = summary["sgemm"]
        rate = s["runtime_gflops_batch_10000_1_thread"]
        lines.append(f"\nOpenBLAS SGEMM 1024^3, 1 thread ({s['coretype']} kernels): {s['sgemm_gflops']:.1f} GFLOP/s. "
                     f"rnn-runtime, batch 10,000, 1 thread: {rate:.1f} GFLOP/s for the whole forward pass "
                     f"({s['flops_per_image']:,} FLOP per image x images/s) = {100 * rate / s['sgemm_gflops']:.0f} % "
                     f"of SGEMM; " + ("convolutions, pooling, dense layers and the u8 input are all inside that time."
                                      if cnn else "the step products alone run faster still (gates, input and output "
                                      "are inside that time)."))
    return "\n".join(lines)


def main(argv):
    command, argv = results_file.results_option(argv)
    table, argv = table_option(argv)
    path = argv[0] if argv else "bench/out/infer.jsonl"
    records = [json.loads(line) for line in open(path) if line.strip()]
    sgemm = json.load(open(argv[1])) if len(argv) > 1 else {}
    summary = summarize(records, sgemm)
    print(markdown(summary, cnn=table.endswith("-cnn")))
    if command:
        results_file.write(table, command, summary)


if __name__ == "__main__":
    main(sys.argv[1:])
