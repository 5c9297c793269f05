"""Prints the table of bench/pg.sh from its results (one JSON object per line); with bench/run.sh's
results file as a second argument, also DuckDB's (a) on the same body, for reference."""
import json
import os
import statistics
import sys

results = [json.loads(line) for line in open(sys.argv[1])]
load = {k: v for r in results if r["case"] == "load" for k, v in r["result"].items()}
cases = {c: [r["result"] for r in results if r["case"] == c] for c in "bcd"}
duck = []
if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
    duck = [json.loads(line)["result"] for line in open(sys.argv[2]) if json.loads(line)["case"] == "a"]


def median_run(runs):
    return sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]


m = {c: median_run(runs) for c, runs in cases.items() if runs}
any_run = next(iter(m.values()))
print(f"machine: {os.cpu_count()} cores; PostgreSQL {any_run['server']} on 127.0.0.1 (fsync {any_run['fsync']}, "
      f"synchronous_commit {any_run['synchronous_commit']}); psycopg2 {any_run['psycopg2']}; "
      f"median of {len(cases['b'])} runs")
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
    "b": "(b) Python json + execute_values upsert",
    "c": "(c) COPY to temp + INSERT DISTINCT ON upsert",
    "d": "(d) COPY into a fresh keyed table",
}
rows = [("", "lines/s", "total", "load", "commit", "client CPU", "all runs (lines/s)")]
for c, r in m.items():
    rows.append((names[c], f"{r['lines_per_s']:,}", f"{r['total_s']:.2f} s", f"{r['load_s']:.2f} s",
                 f"{r['commit_s']:.2f} s", f"{r['client_cpu_s']:.2f} s",
                 ", ".join(f"{x['lines_per_s']:,}" for x in cases[c])))
widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
for row in rows:
    print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
print()
if "b" in m and "c" in m:
    need = max(10 * m["b"]["lines_per_s"], m["c"]["lines_per_s"])
    print(f"(a) klk-etl parse + load into PostgreSQL: not built yet (the Rust engine, issue 16). "
          f"Its targets here: >= 10 x (b) = {10 * m['b']['lines_per_s']:,} lines/s and > (c) = "
          f"{m['c']['lines_per_s']:,} lines/s, so >= {need:,} lines/s"
          + (f"; (d) = {m['d']['lines_per_s']:,} lines/s is what a plain COPY costs" if "d" in m else ""))
if duck:
    a = median_run(duck)
    print(f"for reference, DuckDB (a) on the same body (bench/run.sh's last results): {a['lines_per_s']:,} lines/s")
print("issue 16's figures (another run, same machine): (b) ~11,600, (c) ~106,000, (d) ~184,000 lines/s")
