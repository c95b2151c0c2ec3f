#!/usr/bin/env python3
"""Turns Google Benchmark JSON into bench/REPORT.md: per group, each contender's time and how
many times slower it is than kvmrun's fastest variant in the same run. Given several result
files (bench/run keeps one per run), a benchmark's latest result wins, so a run of a subset
updates its rows and keeps the others; each group says when it was measured."""
import json
import re
import subprocess
import sys

def load(paths):
    """The latest result of each benchmark over the files, in their order, with its run's date."""
    latest, ctx = {}, {}
    for path in paths:
        data = json.load(open(path))
        ctx = data["context"]
        for b in data["benchmarks"]:
            latest[b["name"]] = dict(b, run_date=ctx.get("date"))
    return ctx, list(latest.values())

def main(paths):
    ctx, benchmarks = load(paths)
    dates = {}
    for b in benchmarks:
        m = re.match(r"BM_([A-Za-z0-9]+)_", b["name"])
        dates.setdefault(m.group(1) if m else b["name"], set()).add(b["run_date"])
    groups = {}
    ready = []
    special = {"SideBySide": [], "Scaling": [], "WarmStart": []}
    for b in benchmarks:
        if b.get("error_occurred"):
            print(f"bench/report.py: {b['name']} failed: {b.get('error_message')}", file=sys.stderr)
            continue
        if "overhead_pct" in b:
            ready.append(b)
            continue
        group = next((g for g in special if b["name"].startswith(f"BM_{g}_")), None)
        if group:
            special[group].append(b)
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
        commit = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except Exception:
        commit = "unknown"
    print("# kvmrun benchmark report\n")
    print("Written by `bench/run` from Google Benchmark's JSON; every row of a table was measured")
    print("in the same run, on the same machine.\n")
    print(f"- date of the latest run: {ctx.get('date')} (each group below says when it was measured)")
    print(f"- host: {ctx.get('host_name')}, {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz")
    print(f"- kvmrun commit: {commit}")
    print(f"- kvmrun build: the `ci` preset (-O2); Google Benchmark library from Debian "
          f"(reports itself as {ctx.get('library_build_type')})\n")
    for group, rows in groups.items():
        ours = [(name, cost) for name, _, _, cost in rows if name.startswith("Kvmrun")]
        throughput = any(rate for _, _, rate, _ in rows)
        print(f"## {group}\n\nmeasured {', '.join(sorted(dates.get(group, [])))}\n")
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
    if "DiskWrite" in groups:
        print()
        print("DiskWrite: one tiny guest writes 256 MiB of zeros with `dd conv=fsync` to a raw extra")
        print("disk per setting (`cache`-`aio`; wb: writeback), timed inside the guest, three times")
        print("(the first allocates the qcow2 clusters). Under TCG the emulated guest sets the pace,")
        print("so the settings come out within 12% of each other here: this machine cannot show what")
        print("they change on the host side.")
    if ready:
        print()
        print_ready(ready)
    if special["SideBySide"]:
        print()
        print_side_by_side(special["SideBySide"])
    if special["Scaling"]:
        print()
        print_scaling(special["Scaling"])
    if special["WarmStart"]:
        print()
        print_warm_start(special["WarmStart"])

def measured(rows):
    return f"measured {', '.join(sorted({b['run_date'] for b in rows}))}\n"

def contender(b, group):
    return re.sub(rf"^BM_{group}_([^/]+).*", r"\1", b["name"])

def print_side_by_side(rows):
    base = next((b for b in rows if contender(b, "SideBySide") == "Kvmrun"), rows[0])
    print("## One cold debian-12 guest: kvmrun, the usual tool chain and libvirt, in one run\n")
    print(measured(rows))
    print("| contender | runs | QEMU started | SSH port answers | cloud-init done | total, median "
          "(min-max) | guest uptime at its ready marker | host CPU of the orchestration | its peak "
          "RSS | total / kvmrun | CPU / kvmrun | RSS / kvmrun |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for b in rows:
        print(f"| {contender(b, 'SideBySide')} | {b['runs']:.0f} | {b['qemu_started_s']:.2f} s | "
              f"{b['port_s']:.1f} s | {b['cloud_init_s']:.1f} s | {b['total_s']:.1f} s "
              f"({b['total_min_s']:.1f}-{b['total_max_s']:.1f}) | {b['guest_uptime_at_marker_s']:.1f} s | "
              f"{b['cpu_ms']:,.0f} ms | {b['peak_rss_mib']:.1f} MiB | "
              f"{b['total_s'] / base['total_s']:.2f} | {b['cpu_ms'] / base['cpu_ms']:.1f} | "
              f"{b['peak_rss_mib'] / base['peak_rss_mib']:.1f} |")
    print()
    print("Medians over the rounds; rounds alternate which contender goes first. Same seed documents")
    print("(kvmrun's, taken out of its seed ISO), CPUs, memory, disk size and SSH forward; QEMU's CPU")
    print("is never counted. Kvmrun: `kvmrun up` to every gate passed (its ports and cloud-init gates")
    print("give the two readiness times; its cloud-init gate also reads result.json). Traditional:")
    print("`bench/chain/traditional` (cloud-localds, qemu-img, QEMU by hand, then `bench/chain/wait-ready`,")
    print("a shell loop polling every 0.5 s for the SSH banner and the final message on the console).")
    print("Libvirt: `bench/chain/libvirt` (qemu-img, virt-install --import --cloud-init, the same loop),")
    print("with libvirtd's and virtlogd's CPU over the run and their peak RSS added. Peak RSS: the")
    print("largest sum, over one 20 ms sample of /proc, of each live orchestrating process's VmHWM.")
    print("Under TCG the guest's own boot varies by several seconds from one boot to the next (the")
    print("uptime column), which the total times carry.")

def print_scaling(rows):
    print("## Scaling: instances brought up at once by one `kvmrun up` (`kvmrun bench cold`)\n")
    print(measured(rows))
    print("| guest | instances | wall time to all ready | first / last instance ready | kvmrun CPU | "
          "per instance | kvmrun peak RSS | QEMU CPU per instance |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for b in rows:
        print(f"| {contender(b, 'Scaling')} | {b['instances']:.0f} | {b['wall_s']:.1f} s | "
              f"{b['first_ready_s']:.1f} s / {b['last_ready_s']:.1f} s | {b['kvmrun_cpu_ms']:.0f} ms | "
              f"{b['kvmrun_cpu_ms_per_instance']:.1f} ms | {b['kvmrun_peak_rss_mib']:.1f} MiB | "
              f"{b['qemu_cpu_s_per_instance']:.1f} s |")
    print()
    print("Measured by `kvmrun bench cold` itself (median of its runs): kvmrun's CPU is getrusage of")
    print("the process running `up` (its threads and the children it reaped, never QEMU); its peak")
    print("RSS is its VmHWM, reset before the run. Targets: under 10 MiB with 8 guests, under 20 ms of")
    print("CPU per instance. Two CPUs for all the guests: beyond two, boots queue for the CPUs.")

def print_ready(rows):
    print("## Time to a ready guest: `kvmrun up` against the same guest started by hand\n")
    print(measured(rows))
    print("| guest | pairs | `kvmrun up` (median) | by hand (median) | overhead: median of pairs "
          "(range) | guest uptime at its ready marker: kvmrun / by hand | kvmrun's extra time "
          "outside the guest (median of pairs) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for b in rows:
        guest = re.sub(r"^BM_ReadyOverhead_([^/]+).*", r"\1", b["name"])
        line = (f"| {guest} | {b['pairs']:.0f} | {b['kvmrun_median_s']:.2f} s | "
                f"{b['by_hand_median_s']:.2f} s | {b['overhead_pct']:+.1f}% "
                f"({b['overhead_min_pct']:+.1f}% to {b['overhead_max_pct']:+.1f}%) |")
        if "outside_guest_overhead_s" in b:
            line += (f" {b['kvmrun_guest_uptime_s']:.2f} s / {b['by_hand_guest_uptime_s']:.2f} s |"
                     f" {b['outside_guest_overhead_s'] * 1000:+.0f} ms "
                     f"({b['outside_guest_overhead_pct']:+.2f}%) |")
        else:
            line += " | |"
        print(line)
    print()
    print("Each pair boots the guest once through `kvmrun up` (from exec to exit: preflight, image")
    print("check, provisioning, QEMU, every readiness gate) and once by hand (qemu-img overlays, then")
    print("QEMU with the argv kvmrun recorded, sockets by path, serial console on a pipe, stopped at")
    print("the guest's ready marker line); the pairs alternate which goes first. Under TCG the guest's")
    print("own boot varies by a few percent from one boot to the next, which the whole-time ratio")
    print("carries; the last column takes it out: per pair, each side's host time minus the guest's")
    print("uptime at its marker (firmware, disk creation, process start, and for kvmrun the gates that")
    print("finish after the marker), kvmrun's minus by hand's, as a share of the by-hand time.")

def print_warm_start(rows):
    print("## Warm starts: clones of a saved template beside a cold `kvmrun up`, in one run\n")
    print(measured(rows))
    print("| guest | cold `up` | template save (state written) | state file / guest RAM | clone `up`: "
          "median (min-max, rounds) | cold / clone | 8 clones at once: all ready |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for b in rows:
        print(f"| {contender(b, 'WarmStart')} | {b['cold_up_s']:.1f} s | {b['save_s']:.2f} s "
              f"({b['save_state_s']:.2f} s) | {b['state_mib']:.0f} / {b['ram_mib']:.0f} MiB | "
              f"{b['clone_up_median_s']:.2f} s ({b['clone_up_min_s']:.2f}-{b['clone_up_max_s']:.2f} s, "
              f"{b['clone_rounds']:.0f}) | {b['speedup']:.0f}x | {b['eight_last_ready_s']:.1f} s |")
    print()
    print("| guest | bytes the clone's QEMU read by ready | its page faults (minor / major) | "
          "reading the state file alone (hot) | QEMU CPU by ready: one clone / each of 8 |")
    print("|---|---:|---:|---:|---:|")
    for b in rows:
        print(f"| {contender(b, 'WarmStart')} | {b['restore_rchar_mib']:.0f} MiB | "
              f"{b['restore_minflt']:,.0f} / {b['restore_majflt']:.0f} | {b['state_read_floor_s'] * 1000:.0f} ms | "
              f"{b['clone_qemu_cpu_s']:.2f} s / {b['eight_qemu_cpu_s_per_clone']:.2f} s |")
    print()
    print("The built-in default lab's guest (debian-12, 2 CPUs, 1 GiB, a 1 GiB data disk, SSH forwarded),")
    print("through the kvmrun binary, each time from exec to exit: a cold `up` on a fresh disk; `template")
    print("save`; then `up` of a clone (a fresh overlay each round: restore, clock, hostname, every gate);")
    print("then 8 clones by one `up` (each one's ready time from the run's evidence). Targets: a clone")
    print("within 1 s and 30x faster than cold; 8 clones within 5 s. What bounds a restore: QEMU reads")
    print("the state file once (the bytes-read column is the state file plus the disks' headers), whose")
    print("bytes alone take the last column; the rest of a clone's time is QEMU's start, the guest's")
    print("first work after resuming under TCG (a fresh QEMU translates every guest code path again),")
    print("and the gates: QEMU's CPU time (utime + stime) by the time the clone is ready, in the last")
    print("column. Under TCG on 2 CPUs, 8 clones queue for that CPU: their sum over 2 is the floor of")
    print("the 8-clone time here, which the time to all ready meets within its gates' polling.")

if __name__ == "__main__":
    main(sys.argv[1:])
