"""Reference for bench/run.sh: DuckDB's own read_json of the same lines as NDJSON into a
table of a DuckDB file, committed. Prints one JSON line."""
import json
import os
import resource
import sys
import time

import duckdb

ndjson, db_path = sys.argv[1], sys.argv[2]
if os.path.exists(db_path):
    sys.exit(f"{db_path} exists: give a fresh path")
lines = sum(1 for _ in open(ndjson, "rb"))
con = duckdb.connect(db_path)
con.execute("SET autoinstall_known_extensions = false")
cpu_started = time.process_time()
started = time.perf_counter()
con.execute("BEGIN")
con.execute(
    "CREATE TABLE ventas_ndjson AS SELECT * FROM read_json(?, format = 'newline_delimited')",
    [ndjson],
)
con.execute("COMMIT")
con.close()
total = time.perf_counter() - started
cpu = time.process_time() - cpu_started
check = duckdb.connect(db_path, read_only=True)
rows = check.execute("SELECT count(*) FROM ventas_ndjson").fetchone()[0]
check.close()
if rows != lines:
    sys.exit(f"ventas_ndjson has {rows} rows for {lines} lines")
print(json.dumps({
    "ndjson_bytes": os.path.getsize(ndjson),
    "lines": lines,
    "total_s": round(total, 4),
    "cpu_s": round(cpu, 4),
    "lines_per_s": round(lines / total),
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "duckdb": duckdb.__version__,
}))
