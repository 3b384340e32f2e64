#!/usr/bin/env python3
"""Prints the README's "Can an RNN do better than a CNN?" tables and plain answer from measured JSON.

    python3 bench/course_answer.py            # Markdown on stdout; paste it over the README section's body

Reads only committed results (bench/results/), so the section is regenerated, never hand-edited:
  - family.json  (bench/family.sh): the course LSTM and the LeNet CNN, both trained by rnn-train and
    run by RNNRuntime on this machine, seed 1: accuracy, parameters, file sizes, training time, images/s;
  - quality.json (bench/quality.sh): medians over seeds 1-3 of the same commands (rows mnist-default,
    fashion-default, mnist-cnn, mnist-cnn-3, fashion-cnn), where measured;
  - infer-cnn.json (bench/run-infer.sh MODEL-CNN): the same CNN weights in PyTorch, ONNX Runtime,
    TensorFlow and TensorFlow Lite next to our runtime;
  - compare-cnn.json (bench/compare_cnn.py): PyTorch's own LeNet and LSTM trained for the same epochs.
A missing file leaves its table out and says so. Standard library only.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    path = os.path.join(HERE, "results", name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def pct(x):
    return f"{100 * x:.2f} %"


def kib(n):
    return f"{n / 1024:,.0f} KiB"


def num(x):
    return f"{x:,.0f}"


def main():
    out = []
    family, quality = load("family"), load("quality")
    infer, compare = load("infer-cnn"), load("compare-cnn")
    if not family:
        sys.exit("course_answer.py: bench/results/family.json is missing; run bench/family.sh")
    rows = {r["name"]: r for r in family["results"]["rows"]}
    medians = {r["name"]: r for r in (quality or {}).get("results", {}).get("rows", [])}
    pairs = [("MNIST", "mnist-lstm", "mnist-default", "mnist-cnn", "mnist-cnn"),
             ("Fashion-MNIST", "fashion-lstm", "fashion-default", "fashion-cnn", "fashion-cnn")]
    m = family["machine"]
    out.append(f"Both networks trained by `rnn-train` and run by `RNNRuntime` on this machine ({m['cpu']}, "
               f"{m['logical_cpus']} cores, {m['isa']}; `bench/family.sh`, seed 1, measured {family['measured_utc'][:10]}; "
               "speeds with 2 threads on the 10,000 test images; medians of seeds 1-3 from `bench/quality.sh` where measured):")
    out.append("")
    out.append("| data | model | test acc (seed 1) | median of 3 seeds | params | file f32 / int8 | training (epochs) | img/s batch 1 | img/s batch 10,000 |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    verdicts = []
    for data, lstm_key, lstm_q, cnn_key, cnn_q in pairs:
        lstm, cnn = rows.get(lstm_key), rows.get(cnn_key)
        if not lstm or not cnn:
            continue
        for r, q, label in [(lstm, lstm_q, "LSTM 128 (course, default preset)"), (cnn, cnn_q, "CNN (LeNet, `--arch cnn`)")]:
            median = medians.get(q, {}).get("test_accuracy_median")
            out.append(f"| {data} | {label} | {pct(r['test_accuracy'])} | {pct(median) if median else '-'} | {num(r['parameters'])} | "
                       f"{kib(r['file_bytes_f32'])} / {kib(r['file_bytes_int8'])} | {r['train_seconds']:.0f} s ({r['epochs']}) | "
                       f"{num(r['images_per_s_batch1'])} | {num(r['images_per_s_batch10000'])} |")
        verdicts.append((data, lstm, cnn))
    out.append("")
    if infer:
        res = infer["results"]
        out.append(f"The same CNN weights in the peers (`{infer['command']}`, measured {infer['measured_utc'][:10]}; images/s, medians; "
                   "the peers get normalized float32 input prepared before the clock, ours starts from u8 pixels):")
        out.append("")
        columns = res["columns"]
        out.append("| | " + " | ".join(columns) + " |")
        out.append("|---|" + "---:|" * len(columns))
        for row in res["rows"]:
            cells = [num(row["images_per_s"][c]) if row["images_per_s"].get(c) else "-" for c in columns]
            out.append(f"| {row['label']} | " + " | ".join(cells) + " |")
        for ratio in res["ratios"]:
            if ratio["name"] == "rnn-runtime":
                cells = [f"{v['ratio']:.2f}x {v['fastest_peer']}" if v else "-" for v in (ratio["to_fastest_peer"][c] for c in columns)]
                out.append("| ours / fastest peer | " + " | ".join(cells) + " |")
        torch = next((r for r in res["rows"] if r["name"] == "torch"), None)
        ours = next((r for r in res["rows"] if r["name"] == "rnn-runtime"), None)
        out.append("")
        if torch and ours:
            for threads in (1, 2):
                c = f"{threads} thr, batch 10000"
                if torch["images_per_s"].get(c) and ours["images_per_s"].get(c):
                    out.append(f"- At batch 10,000 with {threads} thread{'s' if threads > 1 else ''} our runtime classifies "
                               f"{num(ours['images_per_s'][c])} images/s, PyTorch {num(torch['images_per_s'][c])}: "
                               f"{ours['images_per_s'][c] / torch['images_per_s'][c]:.1f}x.")
        out.append("")
    else:
        out.append("(bench/results/infer-cnn.json is missing: run `bench/run-infer.sh` on a CNN model for the peer table.)")
        out.append("")
    if compare:
        runs = compare["results"]["runs"]
        torch_cnn = next((r for r in runs if r["key"] == "cnn" and r["dataset"] == "mnist"), None)
        torch_lstm = next((r for r in runs if r["key"] == "lstm-128" and r["dataset"] == "mnist"), None)
        ours3 = medians.get("mnist-cnn-3", {}).get("test_accuracy_median")
        if torch_cnn:
            epochs = torch_cnn.get("trained_epochs") or len(torch_cnn.get("epochs", []))
            line = (f"- PyTorch's own LeNet (`bench/compare_cnn.py`, Adam 1e-3, batch 128, seed 1) reaches {pct(torch_cnn['test_accuracy'])} "
                    f"after {epochs} epochs")
            if ours3:
                line += f"; ours after the same {epochs} epochs {pct(ours3)} (median of 3 seeds, cosine schedule)"
            if torch_lstm:
                line += f"; PyTorch's course LSTM {pct(torch_lstm['test_accuracy'])}"
            out.append(line + ".")
            out.append("")
    out.append("The answer, plainly (from the table above):")
    for data, lstm, cnn in verdicts:
        da = (lstm["test_accuracy"] - cnn["test_accuracy"]) * 100
        acc = ("a tie" if abs(da) < 0.1 else (f"the LSTM by {da:.2f} points" if da > 0 else f"the CNN by {-da:.2f} points"))
        size = lstm["file_bytes_f32"] / cnn["file_bytes_f32"]
        train = lstm["train_seconds"] / cnn["train_seconds"]
        b1 = lstm["images_per_s_batch1"] / cnn["images_per_s_batch1"]
        b10k = lstm["images_per_s_batch10000"] / cnn["images_per_s_batch10000"]
        def faster(ratio):
            if 0.95 <= ratio <= 1.05:
                return f"neither (within 5 %: {ratio:.2f})"
            return f"the LSTM {ratio:.1f}x" if ratio >= 1 else f"the CNN {1 / ratio:.1f}x"
        out.append(f"- **{data}**: accuracy: {acc} ({pct(lstm['test_accuracy'])} vs {pct(cnn['test_accuracy'])}); "
                   f"size: the CNN is {size:.1f}x smaller ({num(cnn['parameters'])} vs {num(lstm['parameters'])} parameters; "
                   f"int8 {kib(cnn['file_bytes_int8'])} vs {kib(lstm['file_bytes_int8'])}); training: the CNN {train:.1f}x faster "
                   f"({cnn['train_seconds']:.0f} s for {cnn['epochs']} epochs vs {lstm['train_seconds']:.0f} s for {lstm['epochs']}); "
                   f"speed at batch 1: {faster(b1)} faster; at batch 10,000: {faster(b10k)}.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
