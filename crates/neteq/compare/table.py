#!/usr/bin/env python3
"""Prints the markdown tables of a comparison run: one per trace, then the means over traces.

usage: table.py TRACE_DIR...   (directories written by run.sh)
"""
import json
import os
import sys

ENGINES = ("tern", "libwebrtc", "fixed")


def load(d):
    pesq = {}
    for line in open(f"{d}/pesq.json"):
        row = json.loads(line)
        pesq[row["engine"]] = row["pesq_wb"]
    stats = {e: json.load(open(f"{d}/{e}.json")) for e in ENGINES}
    return pesq, stats


def main():
    dirs = sys.argv[1:]
    if not dirs:
        sys.exit(__doc__)
    sums = {e: [0.0, 0.0, 0.0] for e in ENGINES}
    for d in dirs:
        pesq, stats = load(d)
        print(f"\n{os.path.basename(d.rstrip('/'))}\n")
        print("| receiver | PESQ-WB | mean delay ms | target ms | concealed % | events | accel % | decel % | late |")
        print("|---|---|---|---|---|---|---|---|---|")
        for e in ENGINES:
            s = stats[e]
            total = max(s["total_samples"], 1)
            label = f"fixed {s['playout_delay_ms']} ms" if e == "fixed" else e
            print(
                f"| {label} | {pesq[e]:.2f} | {s['mean_delay_ms']:.1f} | {s['mean_target_delay_ms']:.1f} "
                f"| {100 * s['concealed_samples'] / total:.2f} | {s['concealment_events']} "
                f"| {100 * s['removed_samples'] / total:.2f} | {100 * s['inserted_samples'] / total:.2f} "
                f"| {s['packets_discarded']} |"
            )
            sums[e][0] += pesq[e]
            sums[e][1] += s["mean_delay_ms"]
            sums[e][2] += 1
    print(f"\nmean over {len(dirs)} traces\n")
    print("| receiver | PESQ-WB | mean delay ms |")
    print("|---|---|---|")
    for e in ENGINES:
        p, dl, n = sums[e]
        print(f"| {e} | {p / n:.2f} | {dl / n:.1f} |")


if __name__ == "__main__":
    main()
