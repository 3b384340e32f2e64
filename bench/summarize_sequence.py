#!/usr/bin/env python3
"""Turns bench/out/sequence.jsonl (bench/run-sequence.sh) into Markdown tables.

One table of images/s per network (GRU, bidirectional GRU, LSTM), in the layout of the inference
table (summarize_infer.py: rows are implementations, columns (threads, batch), last row our runtime
divided by the fastest peer), the agreement of each peer's predictions with ours, and a table of
one streaming step's latency (the LSTM at batch 1) with the median over the script's rounds.

  python3 bench/summarize_sequence.py [SEQUENCE.jsonl [PREPARE.json]] [--results COMMAND]

With --results, the numbers also go to bench/results/sequence.json (bench/results.py).
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results as results_file  # noqa: E402
import summarize_infer  # noqa: E402

NETS = {"gru": "GRU 128 (reset after) -> dense 10", "bigru": "bidirectional GRU 128 + 128 -> dense 10",
        "lstm": "LSTM 128 -> dense 10"}
PEERS = {"torch": "PyTorch", "onnxruntime": "ONNX Runtime", "tensorflow": "TensorFlow"}
TARGETS = {"stream_step_p50_us": 3.0, "gru_batch_10000_to_fastest_peer": 2.0}


def throughput_tables(records):
    tables = {}
    for net in NETS:
        rows = [r for r in records if r.get("net") == net and r.get("kind") != "stream"]
        if not rows:
            continue
        summary = summarize_infer.summarize(rows, {})
        summary["peers_missing"] = sorted(set(PEERS) - {r["peer"] for r in rows})
        summary["agreement"] = [
            {"peer": r["peer"], "threads": r["threads"], "images": r["agreement_images"],
             "agreeing_with_rnn_runtime": r["agreeing_with_rnn_runtime"], "max_abs_probability_diff": r["max_abs_probability_diff"]}
            for r in rows if "agreeing_with_rnn_runtime" in r]
        tables[net] = summary
    return tables


def stream_table(records):
    """Per implementation: median over rounds of the p50 and p99 step times."""
    by_peer = {}
    for r in records:
        if r.get("kind") == "stream":
            by_peer.setdefault(r["peer"], []).append(r)
    rows = []
    for peer, runs in by_peer.items():
        rows.append({"name": peer, "label": PEERS.get(peer, peer), "version": runs[0].get("version", ""),
                     "rounds": len(runs), "steps": runs[0].get("stream_steps", runs[0].get("steps")),
                     "p50_us": statistics.median(r["stream_step_p50_us"] for r in runs),
                     "p99_us": statistics.median(r["stream_step_p99_us"] for r in runs),
                     "timed": runs[0].get("timed", "Stream.step(pixels:) of a one-stream Stream: u8 row in, logits out")})
    return rows


def targets(tables, stream):
    out = {}
    ours = next((r for r in stream if r["name"] == "rnn-runtime"), None)
    if ours:
        out["stream_step_p50_us"] = {"target": TARGETS["stream_step_p50_us"], "measured": ours["p50_us"],
                                     "met": ours["p50_us"] <= TARGETS["stream_step_p50_us"]}
    for net in ("gru", "bigru"):
        for ratio in tables.get(net, {}).get("ratios", []):
            for threads in (1, 2):
                cell = ratio["to_fastest_peer"].get(f"{threads} thr, batch 10000")
                if cell:
                    out[f"{net}_batch_10000_{threads}_thread_to_fastest_peer"] = {
                        "target": TARGETS["gru_batch_10000_to_fastest_peer"], "measured": cell["ratio"],
                        "fastest_peer": cell["fastest_peer"], "met": cell["ratio"] >= TARGETS["gru_batch_10000_to_fastest_peer"]}
    return out


def markdown(tables, stream, prepare, goals):
    lines = []
    for net, summary in tables.items():
        lines += [f"**{NETS[net]}**", "", summarize_infer.markdown({**summary, "agreement": []}).rstrip(), ""]
        if summary["agreement"]:
            counts = ", ".join(f"{PEERS.get(a['peer'], a['peer'])} {a['threads']} thr {a['agreeing_with_rnn_runtime']:,}"
                               for a in summary["agreement"])
            worst = max(a["max_abs_probability_diff"] for a in summary["agreement"])
            lines.append(f"- predictions equal to rnn-runtime's on the first {summary['agreement'][0]['images']:,} test images: "
                         f"{counts}; max |probability difference| {worst:.1e}")
        if net in prepare.get("test_accuracy", {}):
            lines.append(f"- test accuracy (PyTorch, 10,000 images): {100 * prepare['test_accuracy'][net]:.2f} % "
                         f"(recurrent weights untrained, output layer {prepare.get('head', '?')})")
        lines.append("")
    if stream:
        lines += ["**One streaming step, LSTM 128 -> dense 10, batch 1 (one stream), 1 thread**", "",
                  "| step latency | p50 us | p99 us | rounds x steps | what is timed |", "|---|---:|---:|---|---|"]
        for r in stream:
            label = r["label"] + (f" {r['version']}" if r["version"] else "")
            lines.append(f"| {label} | {r['p50_us']:.2f} | {r['p99_us']:.2f} | {r['rounds']} x {r['steps']:,} | {r['timed']} |")
        ours = next((r for r in stream if r["name"] == "rnn-runtime"), None)
        peers = [r for r in stream if r["name"] != "rnn-runtime"]
        if ours and peers:
            best50, best99 = min(peers, key=lambda r: r["p50_us"]), min(peers, key=lambda r: r["p99_us"])
            lines.append(f"| **rnn-runtime / fastest peer** (time: below 1 is faster) | {ours['p50_us'] / best50['p50_us']:.2f}x "
                         f"| {ours['p99_us'] / best99['p99_us']:.2f}x | | |")
        lines.append("")
    for name, goal in goals.items():
        lines.append(f"- target {name}: {'met' if goal['met'] else 'missed'} (target {goal['target']}, measured {goal['measured']:.2f}"
                     + (f", fastest peer {goal['fastest_peer']})" if "fastest_peer" in goal else ")"))
    return "\n".join(lines)


def main(argv):
    command, argv = results_file.results_option(argv)
    path = argv[0] if argv else "bench/out/sequence.jsonl"
    records = [json.loads(line) for line in open(path) if line.strip()]
    prepare = json.load(open(argv[1])) if len(argv) > 1 and os.path.exists(argv[1]) else {}
    tables, stream = throughput_tables(records), stream_table(records)
    goals = targets(tables, stream)
    print(markdown(tables, stream, prepare, goals))
    if command:
        results_file.write("sequence", command, {"throughput": tables, "stream": stream, "targets": goals,
                                                 "models": prepare})


if __name__ == "__main__":
    main(sys.argv[1:])
