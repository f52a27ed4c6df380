#!/usr/bin/env python3
"""Prints one markdown table for a trace directory written by run.sh.

usage: table.py NAME DIR
"""
import json
import sys


def main():
    name, d = sys.argv[1], sys.argv[2]
    pesq = {}
    for line in open(f"{d}/pesq.json"):
        row = json.loads(line)
        pesq[row["engine"]] = row["pesq_wb"]
    print(f"\n{name}\n")
    print("| receiver | PESQ-WB | mean delay ms | target ms | concealed % | events | accel % | decel % | discarded |")
    print("|---|---|---|---|---|---|---|---|---|")
    for engine in ("tern", "libwebrtc", "fixed"):
        s = json.load(open(f"{d}/{engine}.json"))
        total = max(s["total_samples"], 1)
        label = engine
        if engine == "fixed":
            label = f"fixed {s['playout_delay_ms']} ms"
        print(
            f"| {label} | {pesq[engine]:.2f} | {s['mean_delay_ms']:.1f} | {s['mean_target_delay_ms']:.1f} "
            f"| {100 * s['concealed_samples'] / total:.2f} | {s['concealment_events']} "
            f"| {100 * s['removed_samples'] / total:.2f} | {100 * s['inserted_samples'] / total:.2f} "
            f"| {s['packets_discarded']} |"
        )


if __name__ == "__main__":
    main()
