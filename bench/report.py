"""Prints the table of bench/run.sh from its results (one JSON object per line)."""
import json
import os
import statistics
import sys

results = [json.loads(line) for line in open(sys.argv[1])]
a = [r["result"] for r in results if r["case"] == "a"]
b = [r["result"] for r in results if r["case"] == "b"]
b2 = [r["result"] for r in results if r["case"] == "b2"]
c = [r["result"] for r in results if r["case"] == "c"][0]
load = {k: v for r in results if r["case"] == "load" for k, v in r["result"].items()}


def median_run(runs):
    """The run with the median total time."""
    return sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]


def mb(n):
    return f"{n / 1e6:,.0f} MB"


ma, mb_, mb2 = median_run(a), median_run(b), median_run(b2)
body = ma["body_bytes"]
print(f"machine: {os.cpu_count()} cores; median of {len(a)} runs; "
      f"body {mb(body)}, {ma['received']:,} elements ({ma['lines']:,} distinct lines)")
busy = max(float(load.get("before", "0").split()[0]), float(load.get("after", "0").split()[0]))
print(f"load average (1, 5, 15 min) before (a) and (b): {load.get('before')}, after: {load.get('after')}"
      + ("  <- the machine was busy: wall times are inflated, compare CPU times" if busy > 0.7 else ""))
print()
rows = [
    ("", "lines/s", "total", "CPU", "peak RSS", "RSS / body"),
    ("(a) klk-etl parse+load (committed)", f"{ma['lines_per_s']:,.0f}", f"{ma['total_s']:.2f} s",
     f"{ma['cpu_s']:.2f} s", mb(ma["peak_rss_bytes"]), f"{ma['peak_rss_bytes'] / body:.2f}"),
    ("(b) DuckDB read_json NDJSON (ref.)", f"{mb_['lines_per_s']:,.0f}", f"{mb_['total_s']:.2f} s",
     f"{mb_['cpu_s']:.2f} s", mb(mb_["peak_rss_bytes"]), f"{mb_['peak_rss_bytes'] / body:.2f}"),
    ("(b') read_json into a keyed table", f"{mb2['lines_per_s']:,.0f}", f"{mb2['total_s']:.2f} s",
     f"{mb2['cpu_s']:.2f} s", mb(mb2["peak_rss_bytes"]), f"{mb2['peak_rss_bytes'] / body:.2f}"),
]
widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
for row in rows:
    print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                    for i, cell in enumerate(row)))
print()
print(f"(a) split: parse {ma['parse_s']:.2f} s, open {ma['open_s']:.2f} s, "
      f"load {ma['load_s']:.2f} s, commit {ma['commit_s']:.2f} s, close {ma['close_s']:.2f} s; "
      f"all runs: " + ", ".join(f"{r['lines_per_s']:,.0f}" for r in a) + " lines/s")
if "parse_cpu_s" in ma:
    print(f"(a) parse CPU {ma['parse_cpu_s']:.2f} s; parsed lines held "
          f"{mb(ma['lines_heap_bytes'])} ({ma['lines_heap_bytes'] / ma['lines']:,.0f} B/line); "
          f"peak RSS after parse {mb(ma['rss_after_parse_bytes'])}, "
          f"after load {mb(ma['rss_after_load_bytes'])}, at start {mb(ma['rss_before_bytes'])}")
print(f"(b) all runs: " + ", ".join(f"{r['lines_per_s']:,.0f}" for r in b) + " lines/s; "
      f"(b') all runs: " + ", ".join(f"{r['lines_per_s']:,.0f}" for r in b2) + " lines/s "
      f"({mb2['rows']:,} rows: one per key, as in (a))")
print()
ratio = c["ratio_jobs19_to_slowest_single"]
print(f"(c) {c['stores']} stores, {c['latency_s']:g} s per request: "
      f"--jobs 19 {c['jobs19_s']:.2f} s | --jobs 1 {c['jobs1_s']:.2f} s | "
      f"slowest single store ({c['slowest_single_store']}, of {c['single_runs']}) "
      f"{c['slowest_single_s']:.2f} s | jobs 19 / slowest single = {ratio:.2f}")
print()
targets = [
    ("(a) faster than (b)", ma["lines_per_s"] > mb_["lines_per_s"]),
    ("(a) >= 150,000 lines/s", ma["lines_per_s"] >= 150_000),
    ("(a) peak RSS below the body's size", ma["peak_rss_bytes"] < body),
    ("(c) jobs 19 <= 1.5 x slowest single store", ratio <= 1.5),
]
for name, met in targets:
    print(f"target {name}: {'met' if met else 'NOT met'}")
print(f"(not a target) (a) faster than (b'), the same job in DuckDB alone: "
      f"{'yes' if ma['lines_per_s'] > mb2['lines_per_s'] else 'no'}")
