"""Prints the table of bench/pg.sh from its results (one JSON object per line); with bench/run.sh's
results file as a second argument, also DuckDB's (a) on the same body, for reference."""
import json
import os
import sys

results = [json.loads(line) for line in open(sys.argv[1])]
load = {k: v for r in results if r["case"] == "load" for k, v in r["result"].items()}
cases = {c: [r["result"] for r in results if r["case"] == c] for c in "abcd"}
duck = []
if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
    duck = [json.loads(line)["result"] for line in open(sys.argv[2]) if json.loads(line)["case"] == "a"]


def median_run(runs):
    return sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]


def seconds(x):
    return "-" if x is None else f"{x:.2f} s"


m = {c: median_run(runs) for c, runs in cases.items() if runs}
any_run = next(iter(m.values()))
python_run = next((m[c] for c in "bcd" if c in m), {})
print(f"machine: {os.cpu_count()} cores; PostgreSQL {any_run['server']} on 127.0.0.1 (fsync {any_run['fsync']}, "
      f"synchronous_commit {any_run['synchronous_commit']}); psycopg2 {python_run.get('psycopg2', '-')}; "
      f"median of {max(len(runs) for runs in cases.values())} runs")
print(f"body: {any_run['received']:,} elements, {any_run['rows']:,} distinct lines; every case left "
      f"{any_run['rows']:,} rows, sum(venta_total_usd) {any_run['sum_usd']:,.2f}")
busy = max(float(load.get("before", "0").split()[0]), float(load.get("after", "0").split()[0]))
print(f"load average (1, 5, 15 min) before: {load.get('before')}, after: {load.get('after')}"
      + ("  <- the machine was busy: wall times are inflated" if busy > 0.7 else ""))
for c in m:
    if {r["rows"] for r in cases[c]} != {any_run["rows"]} or {r["sum_usd"] for r in cases[c]} != {any_run["sum_usd"]}:
        sys.exit(f"case ({c}) left different rows or sums: {[(r['rows'], r['sum_usd']) for r in cases[c]]}")
print()
names = {
    "a": "(a) klk-etl parse + load (committed)",
    "b": "(b) Python json + execute_values upsert",
    "c": "(c) COPY to temp + INSERT DISTINCT ON upsert",
    "d": "(d) COPY into a fresh keyed table",
}
rows = [("", "lines/s", "total", "parse", "load", "commit", "client CPU", "server CPU", "all runs (lines/s)")]
for c, r in m.items():
    rows.append((names[c], f"{r['lines_per_s']:,}", seconds(r["total_s"]), seconds(r.get("parse_s")),
                 seconds(r["load_s"]), seconds(r["commit_s"]), seconds(r["client_cpu_s"]),
                 seconds(r.get("server_cpu_s")), ", ".join(f"{x['lines_per_s']:,}" for x in cases[c])))
widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
for row in rows:
    print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
print()
print("parse: (a)'s own, on the clock; (b) parses inside its load, (c) and (d) start from rows already "
      "flattened. server CPU: the session's backend, from /proc")
if "a" in m:
    a = m["a"]
    print(f"(a) split: parse {a['parse_s']:.2f} s (CPU {a['parse_cpu_s']:.2f} s), load {a['load_s']:.2f} s "
          f"(of which the look-up of the window's keys, timed apart: {a['key_lookup_s']:.2f} s), "
          f"exitoso mark + commit {a['commit_s']:.2f} s; peak RSS {a['peak_rss_bytes'] / 1e6:,.0f} MB")
    print()
    if "b" in m:
        need = 10 * m["b"]["lines_per_s"]
        print(f"target (a) >= 10 x (b) = {need:,} lines/s: {'met' if a['lines_per_s'] >= need else 'NOT met'} "
              f"({a['lines_per_s'] / m['b']['lines_per_s']:.1f} x)")
    if "c" in m:
        c = m["c"]["lines_per_s"]
        print(f"target (a) faster than (c) = {c:,} lines/s: {'met' if a['lines_per_s'] > c else 'NOT met'} "
              f"({a['lines_per_s'] / c:.2f} x)")
    if "d" in m:
        print(f"(not a target) (a) against a plain COPY, (d) = {m['d']['lines_per_s']:,} lines/s: "
              f"{a['lines_per_s'] / m['d']['lines_per_s']:.2f} x")
if duck:
    a = median_run(duck)
    print(f"for reference, DuckDB (a) on the same body (bench/run.sh's last results): {a['lines_per_s']:,.0f} lines/s")
print("issue 16's figures (another run, same machine): (b) ~11,600, (c) ~106,000, (d) ~184,000 lines/s")
