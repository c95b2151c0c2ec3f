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
        m = re.match(r"BM_([A-Za-z0-9]+)_([^/]+)", b["name"])
        if not m:
            continue
        unit = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
        rate = b.get("bytes_per_second")
        median = b.get("median_us")
        # Latency benchmarks compare medians; throughput ones, seconds per byte; others, per run.
        cost = median if median else (1e6 / rate if rate else b["real_time"] * unit)
        shown = median if median else b["real_time"] * unit
        label = m.group(2) + (f" (p99 {b['p99_us']:,.0f} us)" if median else "")
        groups.setdefault(m.group(1), []).append((label, shown, rate, cost))
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
        ours = [(name, cost) for name, _, _, cost in rows if name.startswith("Kvmrun")]
        throughput = any(rate for _, _, rate, _ in rows)
        print(f"## {group}\n")
        print("| contender | wall time per run (median for round trips) |" + (" throughput |" if throughput else "") +
              " ".join(f" cost / {name} |" for name, _ in ours))
        print("|---|---:|" + ("---:|" if throughput else "") + "---:|" * len(ours))
        for name, t, rate, cost in rows:
            line = f"| {name} | {t:,.1f} us |"
            if throughput:
                line += f" {rate / 1e6:,.0f} MB/s |" if rate else " |"
            line += "".join(f" {cost / base:,.2f} |" for _, base in ours)
            print(line)
        print()
    print("A cost above 1 means slower than that kvmrun variant (for throughput rows: time per")
    print("byte). `Written` and `InMemory` variants leave flushing to the caller; `FileSynced`")
    print("and `Durable` flush the file (and its directory) before returning; `ToDisk` writes a")
    print("seed ISO as `kvmrun seed` does (atomic rename, no flush: seeds are rewritten each run).")

if __name__ == "__main__":
    main(sys.argv[1])
