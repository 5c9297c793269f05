"""DuckDB's own cost of writing a window into `ventas`, with no parsing and no Arrow:
the rows of a `ventas` table (e.g. bench/run.sh's $BENCH_DIR/a.duckdb after a run) are
copied into a temporary table, then inserted into a fresh file's `ventas` (same DDL, same
primary key) in one transaction, with DuckDB on 1 and on 2 threads. Prints one line per
case: insert, commit and close times.

    ~/.cache/klk-etl/venv/bin/python bench/insert_floor.py $CARGO_TARGET_DIR/bench/a.duckdb
    ~/.cache/klk-etl/venv/bin/python bench/insert_floor.py $CARGO_TARGET_DIR/bench/a.duckdb --variants

`--variants` adds what might lower that floor, each on its own: no primary key (what the
key costs), FSST compression disabled, no compression at all, no checkpoint at commit, and
the rows inserted in key order or in hashed (random) order instead of the body's order.
"""
import os
import sys
import tempfile
import time

import duckdb

source = sys.argv[1]
variants = "--variants" in sys.argv[2:]
ddl = duckdb.connect(source, read_only=True).execute(
    "SELECT sql FROM duckdb_tables() WHERE table_name = 'ventas'"
).fetchone()[0]
key = ", PRIMARY KEY(ubicacion_id, numero_factura, linea)"
if key not in ddl:
    sys.exit(f"ventas in {source} does not have the expected primary key")

# name: (DDL, settings before the clock, order of the rows)
cases = {"keyed (ventas)": (ddl, [], "rowid")}
if variants:
    cases.update({
        "no primary key": (ddl.replace(key, ""), [], "rowid"),
        "no FSST": (ddl, ["SET disabled_compression_methods = 'fsst'"], "rowid"),
        "uncompressed": (ddl, ["SET force_compression = 'uncompressed'"], "rowid"),
        "no checkpoint at commit": (ddl, ["SET checkpoint_threshold = '100GB'"], "rowid"),
        "rows in key order": (ddl, [], "ubicacion_id, numero_factura, linea"),
        "rows in hashed order": (ddl, [], "hash(numero_factura, linea)"),
    })

with tempfile.TemporaryDirectory() as work:
    for name, (table_ddl, settings, order) in cases.items():
        for threads in (1, 2):
            path = os.path.join(work, f"floor-{len(os.listdir(work))}.duckdb")
            con = duckdb.connect(path)
            con.execute(table_ddl)
            con.execute(f"ATTACH '{source}' AS source (READ_ONLY)")
            con.execute(f"CREATE TEMP TABLE rows AS SELECT * FROM source.ventas ORDER BY {order}")
            con.execute("DETACH source")
            con.execute(f"SET threads = {threads}")
            for setting in settings:
                con.execute(setting)
            started = time.perf_counter()
            con.execute("BEGIN")
            rows = con.execute("INSERT INTO ventas SELECT * FROM rows").fetchone()[0]
            inserted = time.perf_counter()
            con.execute("COMMIT")
            committed = time.perf_counter()
            con.close()
            closed = time.perf_counter()
            print(f"{name:24} threads={threads}: {rows:,} rows, insert {inserted - started:.3f} s, "
                  f"commit {committed - inserted:.3f} s, close {closed - committed:.3f} s, "
                  f"total {closed - started:.3f} s, file {os.path.getsize(path) / 1e6:.1f} MB",
                  flush=True)
