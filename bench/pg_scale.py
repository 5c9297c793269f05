"""The PostgreSQL logic at scale: copies the tracking tables of a DuckDB file made by
`klk-etl dev seed-history` (bench/scale.sh's generator) into a fresh PostgreSQL database,
then times klk_gaps, klk_metricas, klk_verificaciones and the three seed views on both engines
(DuckDB through Python's duckdb), and checks they return the same rows. Prints one table.

    klk-etl --now NOW --db s.duckdb dev seed-history --stores 100 --days 365 --write-config s.toml
    python bench/pg_scale.py s.duckdb postgres://... [--runs 5]

The "now" of the calls is the file's latest execution start plus a minute, in store time.
"""
import argparse
import datetime as dt
import io
import os
import statistics
import sys
import time

import duckdb
import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pg"))
import klkpg  # noqa: E402

TABLES = ["etl_configuracion", "etl_tiendas", "etl_ejecuciones", "etl_resumen", "etl_resumen_estado",
          "etl_resumen_pendientes"]


def copy_table(duck, pg, table):
    cols = [r[0] for r in duck.execute(f"SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}' "
                                       f"ORDER BY column_index").fetchall()]
    exprs = []
    for c in cols:
        kind = duck.execute(f"SELECT data_type FROM duckdb_columns() WHERE table_name = '{table}' "
                            f"AND column_name = '{c}'").fetchone()[0]
        exprs.append(f"'{{' || array_to_string({c}, ',') || '}}'" if kind.endswith("[]") else c)
    path = f"/tmp/klk-pg-scale-{os.getpid()}-{table}.csv"
    duck.execute(f"COPY (SELECT {', '.join(exprs)} FROM {table}) TO '{path}' (HEADER false)")
    with pg.cursor() as cur, open(path, "rb") as f:
        cur.execute(f"DELETE FROM {table}")
        cur.copy_expert(f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT csv)", f)
    os.remove(path)
    return duck.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def timed(fn, runs):
    samples = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return min(samples), statistics.median(samples), result


def canon(rows):
    def v(x):
        if isinstance(x, float):
            return round(x, 6)
        if isinstance(x, (dt.datetime, dt.date, dt.time)):
            return x.isoformat()
        return x
    return sorted((tuple(v(x) for x in r) for r in rows), key=str)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("duckdb_file")
    ap.add_argument("url")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    duck = duckdb.connect(args.duckdb_file, read_only=True)
    duck.execute("SET autoinstall_known_extensions = false")
    now = duck.execute("SELECT max(fecha_inicio) + INTERVAL 1 MINUTE FROM etl_ejecuciones").fetchone()[0]
    dbname = "klk_scale"
    url = klkpg.fresh_database(args.url, dbname)
    pg = psycopg2.connect(url)
    klkpg.apply_schema(pg)
    started = time.perf_counter()
    counts = {t: copy_table(duck, pg, t) for t in TABLES}
    pg.commit()
    pg.autocommit = True
    with pg.cursor() as cur:
        cur.execute("SELECT setval('seq_etl_ejecuciones', (SELECT max(id) FROM etl_ejecuciones))")
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT pg_total_relation_size('etl_ejecuciones')")
        size = cur.fetchone()[0]
    print(f"copied in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items())
          + f"; etl_ejecuciones on PostgreSQL {size / 2**20:.0f} MiB; now = {now}")

    def pg_run(sql, params=()):
        def go():
            with pg.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        return go

    def duck_run(sql, params=()):
        def go():
            return duck.execute(sql, list(params)).fetchall()
        return go

    settings = (now, 10080, 30, 60, 30, 120, 180, 540)
    queries = [
        ("klk_gaps (gaps)", "SELECT * FROM klk_gaps(CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?)",
         "SELECT * FROM klk_gaps(%s, %s, %s, %s, %s, %s, %s, %s)", settings),
        ("klk_metricas 30 days (metrics)", "SELECT * FROM klk_metricas(CAST(? AS TIMESTAMP), 30)",
         "SELECT * FROM klk_metricas(%s, 30)", (now,)),
        ("klk_verificaciones (run's planning)", "SELECT * FROM klk_verificaciones(CAST(? AS TIMESTAMP), 10080, 180, 540, 60)",
         "SELECT * FROM klk_verificaciones(%s, 10080, 180, 540, 60)", (now,)),
        ("klk_resumen()", "SELECT * FROM klk_resumen()", "SELECT * FROM klk_resumen()", ()),
        ("v_ultimas_ejecuciones", "SELECT * FROM v_ultimas_ejecuciones", "SELECT * FROM v_ultimas_ejecuciones", ()),
        ("v_gaps_por_recuperar", "SELECT * FROM v_gaps_por_recuperar", "SELECT * FROM v_gaps_por_recuperar", ()),
        ("v_metricas_confiabilidad", "SELECT * FROM v_metricas_confiabilidad",
         "SELECT * FROM v_metricas_confiabilidad", ()),
    ]
    print(f"\n{'':38} {'PostgreSQL best/median':>24} {'DuckDB best/median':>20}  rows  same rows")
    different = []
    for name, dsql, psql_, params in queries:
        pb, pm, prows = timed(pg_run(psql_, params), args.runs)
        db, dm, drows = timed(duck_run(dsql, params), args.runs)
        # The views read the real clock: their rows are not compared (the history is older).
        same = "n/a (real now)" if name.startswith("v_") and name != "v_ultimas_ejecuciones" else \
            ("yes" if canon(prows) == canon(drows) else "NO")
        if same == "NO":
            different.append(name)
        print(f"{name:38} {pb:>11.0f} / {pm:>6.0f} ms {db:>9.0f} / {dm:>6.0f} ms  {len(prows):>5}  {same}")
    pg.close()
    duck.close()
    load = open("/proc/loadavg").read().split()[:3]
    print(f"\nload average (1, 5, 15 min): {' '.join(load)}")
    if different:
        sys.exit(f"pg_scale: different rows: {different}")


if __name__ == "__main__":
    main()
