"""DuckDB's own cost of writing a window into `ventas`, with no parsing and no Arrow:
the rows of a `ventas` table (e.g. bench/run.sh's $BENCH_DIR/a.duckdb after a run) are
copied into a temporary table, then inserted into a fresh file's `ventas` (same DDL, same
primary key) in one transaction, with DuckDB on 1 and on 2 threads. Prints one line per
case: insert, commit and close times.

    ~/.cache/klk-etl/venv/bin/python bench/insert_floor.py $CARGO_TARGET_DIR/bench/a.duckdb
"""
import os
import sys
import tempfile
import time

import duckdb

source = sys.argv[1]
ddl = duckdb.connect(source, read_only=True).execute(
    "SELECT sql FROM duckdb_tables() WHERE table_name = 'ventas'"
).fetchone()[0]
with tempfile.TemporaryDirectory() as work:
    for threads in (1, 2):
        path = os.path.join(work, f"floor-{threads}.duckdb")
        con = duckdb.connect(path)
        con.execute(ddl)
        con.execute(f"ATTACH '{source}' AS source (READ_ONLY)")
        con.execute("CREATE TEMP TABLE rows AS SELECT * FROM source.ventas")
        con.execute("DETACH source")
        con.execute(f"SET threads = {threads}")
        started = time.perf_counter()
        con.execute("BEGIN")
        rows = con.execute("INSERT INTO ventas SELECT * FROM rows").fetchone()[0]
        inserted = time.perf_counter()
        con.execute("COMMIT")
        committed = time.perf_counter()
        con.close()
        closed = time.perf_counter()
        print(f"threads={threads}: {rows:,} rows, insert {inserted - started:.3f} s, "
              f"commit {committed - inserted:.3f} s, close {closed - committed:.3f} s, "
              f"total {closed - started:.3f} s")
