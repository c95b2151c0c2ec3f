#!/usr/bin/env python3
"""Turns Google Benchmark JSON into bench/REPORT.md: per group, each contender's time and how
many times slower it is than kvmrun's fastest variant in the same run."""
import json
import re
import subprocess
import sys

def main(path):
    data = json.load(open(path))
    ctx = data["context"]
    groups = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            continue
        m = re.match(r"BM_([A-Za-z0-9]+)_(.+?)(/real_time)?$", b["name"])
        if not m:
            continue
        unit = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
        groups.setdefault(m.group(1), []).append((m.group(2), b["real_time"] * unit, b["iterations"]))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except Exception:
        commit = "unknown"
    print("# kvmrun benchmark report\n")
    print("Written by `bench/run` from Google Benchmark's JSON; every row of a table was measured")
    print("in the same run, on the same machine.\n")
    print(f"- date: {ctx.get('date')}")
    print(f"- host: {ctx.get('host_name')}, {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz")
    print(f"- kvmrun commit: {commit}")
    print(f"- kvmrun build: the `ci` preset (-O2); Google Benchmark library from Debian "
          f"(reports itself as {ctx.get('library_build_type')})\n")
    for group, rows in groups.items():
        ours = [(name, t) for name, t, _ in rows if name.startswith("Kvmrun")]
        print(f"## {group}\n")
        print("| contender | wall time per run | " +
              " | ".join(f"x {name}" for name, _ in ours) + " |")
        print("|---|---:|" + "---:|" * len(ours))
        for name, t, iters in rows:
            print(f"| {name} | {t:,.1f} us | " +
                  " | ".join(f"{t / base:,.1f}" for _, base in ours) + " |")
        print()

if __name__ == "__main__":
    main(sys.argv[1])
