"""Reference for bench/run.sh: DuckDB's own read_json of the same lines as NDJSON into a
table of a DuckDB file, committed. Prints one JSON line.

    python read_json.py NDJSON DB           # (b): CREATE TABLE AS, no key (the issue's reference)
    python read_json.py NDJSON DB --keyed   # (b'): into a table with ventas' key, one row per
                                            # (numero_factura, linea), as klk-etl stores them

(b') keeps one copy of each repeated key with DISTINCT ON, which does not promise the later
copy as klk-etl does: it is a reference for speed, not for content. (INSERT OR REPLACE of
every line, the literal upsert, is slower.)"""
import json
import os
import resource
import sys
import time

import duckdb

ndjson, db_path = sys.argv[1], sys.argv[2]
keyed = "--keyed" in sys.argv[3:]
if os.path.exists(db_path):
    sys.exit(f"{db_path} exists: give a fresh path")
lines = sum(1 for _ in open(ndjson, "rb"))
con = duckdb.connect(db_path)
con.execute("SET autoinstall_known_extensions = false")
if keyed:
    # Set up before the clock, as klk-etl's tables are: same columns, ventas' key.
    con.execute(
        "CREATE TABLE ventas_ndjson AS "
        "SELECT * FROM read_json(?, format = 'newline_delimited') LIMIT 0",
        [ndjson],
    )
    con.execute("ALTER TABLE ventas_ndjson ADD PRIMARY KEY (numero_factura, linea)")
cpu_started = time.process_time()
started = time.perf_counter()
con.execute("BEGIN")
if keyed:
    con.execute(
        "INSERT INTO ventas_ndjson SELECT DISTINCT ON (numero_factura, linea) * "
        "FROM read_json(?, format = 'newline_delimited')",
        [ndjson],
    )
else:
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
distinct = None
if keyed:
    check = duckdb.connect()
    distinct = check.execute(
        "SELECT count(*) FROM (SELECT DISTINCT numero_factura, linea "
        "FROM read_json(?, format = 'newline_delimited'))",
        [ndjson],
    ).fetchone()[0]
    check.close()
if rows != (distinct if keyed else lines):
    sys.exit(f"ventas_ndjson has {rows} rows for {lines} lines ({distinct} distinct keys)")
print(json.dumps({
    "ndjson_bytes": os.path.getsize(ndjson),
    "lines": lines,
    "rows": rows,
    "keyed": keyed,
    "total_s": round(total, 4),
    "cpu_s": round(cpu, 4),
    "lines_per_s": round(lines / total),
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "duckdb": duckdb.__version__,
}))
