"""The seed document's SQL (seed/ETL_TRACKING_RECUPERACION.md) in psql against PostgreSQL.

A seed-era table is made with the seed's own DDL (first as written, then with the one dialect
change it needs), given seed-era rows, and adopted by `klk-etl db migrate --database URL`; then every
SQL snippet of the seed runs in `psql`, unchanged, and its rows are compared with the same
snippet run by Python's duckdb (which, like the user's tools, has ICU) against a DuckDB file
holding the same rows, adopted by `klk-etl db migrate`. The seed's maintenance statements
(manual unstick, 90-day purge) run on both and must change the same rows. The seed's
monitoring script runs against PostgreSQL with its driver changed (duckdb -> psycopg 3, whose
`conn.execute(...).fetchall()` is duckdb's API): two lines.

    python tests/pg/seed_sql.py --url postgres://... --bin target/release/klk-etl [--psql psql]

Prints what each snippet did and the dialect changes; exit 1 on a difference or an
unexpected failure.
"""

import argparse
import csv
import datetime as dt
import io
import os
import shutil
import subprocess
import sys
import tempfile

import duckdb
import psycopg2
import psycopg2.extras

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import klkpg  # noqa: E402
import seed_sql as duck_seed  # noqa: E402  (tests/python/seed_sql.py: the snippets, verbatim)

# The seed's DDL, verbatim (also in tests/seed_adoption.rs).
SEED_DDL = """
CREATE TABLE etl_ejecuciones (
    id INTEGER PRIMARY KEY,                  -- Auto-increment
    etl_tipo VARCHAR NOT NULL,               -- 'inventario' | 'ventas'
    ubicacion_id VARCHAR NOT NULL,           -- 'tienda_01', etc
    ubicacion_nombre VARCHAR NOT NULL,       -- 'PERIFERICO', etc

    -- Timestamps
    fecha_inicio TIMESTAMP NOT NULL,
    fecha_fin TIMESTAMP,
    duracion_segundos DOUBLE,

    -- Rango de datos procesados
    fecha_desde DATE NOT NULL,
    fecha_hasta DATE NOT NULL,
    hora_desde TIME,                         -- Para modo incremental
    hora_hasta TIME,                         -- Para modo incremental

    -- Resultado
    estado VARCHAR NOT NULL,                 -- 'en_proceso' | 'exitoso' | 'fallido' | 'parcial'
    registros_extraidos INTEGER DEFAULT 0,
    registros_cargados INTEGER DEFAULT 0,

    -- Errores
    error_mensaje TEXT,
    error_tipo VARCHAR,                      -- 'timeout' | 'conexion' | 'api_error' | 'db_error'

    -- Metadata
    modo VARCHAR,                            -- 'completo' | 'incremental_30min' | 'recuperacion'
    version_etl VARCHAR,
    host VARCHAR
);
"""
# The one change PostgreSQL needs: it has no type DOUBLE (it is DOUBLE PRECISION).
SEED_DDL_PG = SEED_DDL.replace("duracion_segundos DOUBLE,", "duracion_segundos DOUBLE PRECISION,")

# The seed's query-logic block is only comments; the others are in tests/python/seed_sql.py.
COMMENT_ONLY = """
-- 1. Ejecuciones fallidas (últimos 7 días)
-- 2. LEFT JOIN con ejecuciones exitosas
-- 3. WHERE NO existe ejecución exitosa para ese rango
"""


def seed_rows(now_local):
    """Seed-era history, relative to the real clock (the views read the real now)."""
    rows = []
    today = now_local.date()
    t = dt.time
    for i, (sid, name) in enumerate([("tienda_01", "PERIFERICO"), ("tienda_08", "BOSQUE")]):
        for back in range(10):
            day = today - dt.timedelta(days=back)
            for slot in range(24):
                start_t = dt.datetime.combine(day, t(8 + slot // 2, (slot % 2) * 30))
                end = start_t + dt.timedelta(minutes=30)
                started = end + dt.timedelta(minutes=5, seconds=i)  # no ties between stores
                if started >= now_local:
                    continue
                failed = (slot + back + i) % 9 == 0
                rows.append(("ventas", sid, name, started, day, start_t.time(), end.time(),
                             "fallido" if failed else "exitoso",
                             ("timeout", "Read timed out. (read timeout=120)") if failed else None))
            snap = dt.datetime.combine(day, t(6))
            if snap < now_local:
                rows.append(("inventario", sid, name, snap, day, None, None, "exitoso", None))
        old = today - dt.timedelta(days=100)
        rows.append(("ventas", sid, name, dt.datetime.combine(old, t(23)), old, None, None, "exitoso", None))
    rows.append(("inventario", "tienda_17", "ARTIGAS", now_local - dt.timedelta(hours=26), today, None, None,
                 "en_proceso", None))
    out = []
    for n, (tipo, sid, name, started, day, h_from, h_to, estado, err) in enumerate(rows, start=1):
        done = estado != "en_proceso"
        out.append((n, tipo, sid, name, started, started + dt.timedelta(seconds=3) if done else None,
                    3.0 if done else None, day, day, h_from, h_to, estado,
                    120 if estado == "exitoso" else 0, 120 if estado == "exitoso" else 0,
                    err[1] if err else None, err[0] if err else None,
                    "incremental_30min" if h_from else "completo", "2.0", "etl-server"))
    return out


def psql(psql_bin, url, sql):
    """Runs sql in psql (CSV output); returns (ok, rows or error). The password goes through
    PGPASSWORD, not the command line."""
    bare, password = klkpg.split_password(url)
    env = dict(os.environ, PGPASSWORD=password or "")
    run = subprocess.run([psql_bin, "-X", "--csv", "-v", "ON_ERROR_STOP=1", "-d", bare],
                         input=sql, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        return False, klkpg.redact(run.stderr.strip())
    lines = run.stdout.splitlines()
    if not lines or not run.stdout.strip():
        return True, []
    if lines[0].startswith(("UPDATE", "DELETE", "INSERT")):
        return True, lines[0]
    rows = list(csv.reader(io.StringIO(run.stdout)))
    return True, rows[1:]


def same(a, b):
    """psql's text and duckdb's str() of one value: equal, or numbers within 0.01 (the views'
    hours are computed at two real instants), or the same timestamp (psql drops a fraction's
    trailing zeros, '14:21:35.7765', where Python prints '14:21:35.776500')."""
    if a == b:
        return True
    try:
        return abs(float(a) - float(b)) <= 0.01
    except (TypeError, ValueError):
        pass
    try:
        return dt.datetime.fromisoformat(a) == dt.datetime.fromisoformat(b)
    except (TypeError, ValueError):
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--psql", default=shutil.which("psql") or "psql")
    args = ap.parse_args()
    problems = []
    notes = []
    # Away from a slot boundary, so both engines see the same slots.
    while True:
        now_local = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(hours=4)
        into = (now_local.minute % 30) * 60 + now_local.second
        if 20 <= into <= 30 * 60 - 60:
            break
        import time
        time.sleep(5)
    rows = seed_rows(now_local)

    # PostgreSQL: the seed's DDL in psql, then the rows, then klk-etl's migrations (adoption).
    dbname = f"klk_seed_{os.getpid()}"
    url = klkpg.fresh_database(args.url, dbname)
    ok, out = psql(args.psql, url, SEED_DDL)
    if ok:
        problems.append("the seed's DDL ran unchanged in psql: expected PostgreSQL to refuse type DOUBLE")
    else:
        error = next((line for line in out.splitlines() if "ERROR" in line), out.splitlines()[0])
        notes.append(f"seed DDL as written: refused by PostgreSQL ({error.split('ERROR:')[-1].strip()}); "
                     f"dialect change: DOUBLE -> DOUBLE PRECISION")
    ok, out = psql(args.psql, url, SEED_DDL_PG)
    if not ok:
        problems.append(f"the seed's DDL with DOUBLE PRECISION failed in psql: {out}")
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(cur, "INSERT INTO etl_ejecuciones VALUES %s", rows)
    conn.commit()
    conn.close()
    # Adopted by klk-etl itself, as a user would: `klk-etl db migrate --database URL`.
    descriptions = klkpg.duckdb_migrations(args.bin)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLK_ETL_") and not k.startswith("PG")}
    with tempfile.TemporaryDirectory(prefix="klk-pg-seed-migrate-") as empty:
        run = subprocess.run([args.bin, "--database", url, "--quiet", "db", "migrate"], cwd=empty,
                             env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"seed_sql: klk-etl db migrate --database (PostgreSQL) failed: {klkpg.redact(run.stderr.strip())}")
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT version, descripcion FROM etl_schema_version ORDER BY version")
        applied = cur.fetchall()
    if dict(applied) != descriptions:
        problems.append(f"klk-etl's PostgreSQL migrations recorded {applied}, DuckDB's are {descriptions}")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*), max(id) FROM etl_ejecuciones")
        count, max_id = cur.fetchone()
        cur.execute("SELECT last_value, is_called FROM klk_seq_etl_ejecuciones")
        seq = cur.fetchone()
    conn.close()
    if count != len(rows) or [v for v, _ in applied] != list(range(1, max(descriptions) + 1)):
        problems.append(f"adoption: {count} rows of {len(rows)}, versions {[v for v, _ in applied]}")
    if seq != (max_id + 1, False):
        problems.append(f"adoption: klk_seq_etl_ejecuciones is at {seq}, expected to start at {max_id + 1}")
    notes.append(f"adopted by `klk-etl db migrate --database URL`: {count} seed rows kept, versions 1-{applied[-1][0]}, "
                 f"new ids from klk_seq_etl_ejecuciones starting at {seq[0]}")

    # DuckDB: the same rows in a seed file, adopted by klk-etl itself.
    work = tempfile.mkdtemp(prefix="klk-pg-seed-")
    duck_path = os.path.join(work, "fluxion_production.db")
    d = duckdb.connect(duck_path)
    d.execute(SEED_DDL)
    d.executemany("INSERT INTO etl_ejecuciones VALUES (" + ", ".join(["?"] * 19) + ")", rows)
    d.close()
    run = subprocess.run([args.bin, "--db", duck_path, "--quiet", "db", "migrate"], cwd=work,
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"seed_sql: klk-etl db migrate failed: {run.stderr.strip()}")
    # The same settings on both sides (klk-etl wrote its defaults into the DuckDB file).
    d = duckdb.connect(duck_path)
    settings = d.execute("SELECT utc_offset_minutos, slot_minutos, horizonte_minutos, atascado_minutos, "
                         "gracia_minutos, inventario_vencido_minutos, verificacion_cierre_minutos, "
                         "verificacion_plazo_minutos, verificacion_desde FROM etl_configuracion").fetchone()
    d.close()
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("UPDATE etl_configuracion SET utc_offset_minutos = %s, slot_minutos = %s, "
                    "horizonte_minutos = %s, atascado_minutos = %s, gracia_minutos = %s, "
                    "inventario_vencido_minutos = %s, verificacion_cierre_minutos = %s, "
                    "verificacion_plazo_minutos = %s, verificacion_desde = %s", settings)
    conn.commit()
    conn.close()

    ok, out = psql(args.psql, url, COMMENT_ONLY)
    notes.append(f"query-logic block (comments only): {'runs (nothing to return)' if ok else out}")
    d = duckdb.connect(duck_path, read_only=True)
    for name, sql in duck_seed.READ_SNIPPETS.items():
        ok, pg_rows = psql(args.psql, url, sql)
        duck_rows = duck_seed.run(d, sql)
        if not ok:
            problems.append(f"{name}: failed in psql: {pg_rows}")
            continue
        if "error" in duck_rows:
            problems.append(f"{name}: failed in DuckDB: {duck_rows['error']}")
            continue
        # The seed's ORDER BYs leave ties (two tipos of one store and day): compared as sets.
        pg_text = sorted([[None if v == "" else v for v in r] for r in pg_rows], key=str)
        duck_text = sorted(duck_rows["rows"], key=str)
        differ = len(pg_text) != len(duck_text) or any(
            not all(same(a, b) for a, b in zip(pr, dr)) or len(pr) != len(dr)
            for pr, dr in zip(pg_text, duck_text))
        if differ:
            problems.append(f"{name}: psql and DuckDB differ:\n    psql:   {pg_text[:3]}\n    duckdb: {duck_text[:3]}")
        else:
            notes.append(f"{name}: unchanged, {len(pg_text)} rows, same as DuckDB's")
    d.close()

    # Maintenance statements: the same rows changed on both.
    d = duckdb.connect(duck_path)
    for name, sql in duck_seed.WRITE_SNIPPETS.items():
        before = d.execute("SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'").fetchone()[0], \
            d.execute("SELECT count(*) FROM etl_ejecuciones").fetchone()[0]
        d.execute(sql)
        after = d.execute("SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'").fetchone()[0], \
            d.execute("SELECT count(*) FROM etl_ejecuciones").fetchone()[0]
        ok, out = psql(args.psql, url, sql)
        if not ok:
            problems.append(f"{name}: failed in psql: {out}")
            continue
        changed_pg = int(out.split()[-1])
        changed_duck = (before[0] - after[0]) if name == "unstick_manual" else (before[1] - after[1])
        if changed_pg != changed_duck:
            problems.append(f"{name}: psql changed {changed_pg} rows, DuckDB {changed_duck}")
        notes.append(f"{name}: unchanged, {out} (DuckDB: {changed_duck} rows)")
    d.close()

    # The monitoring script, with its driver changed.
    script = duck_seed.MONITOR
    ported = script.replace("import duckdb", "import os, psycopg").replace(
        "conn = duckdb.connect('../data/fluxion_production.db')", "conn = psycopg.connect(os.environ['KLK_ETL_DATABASE'])")
    changed = [(a, b) for a, b in zip(script.splitlines(), ported.splitlines()) if a != b]
    run = subprocess.run([sys.executable, "-c", ported], capture_output=True, text=True,
                         env=dict(os.environ, KLK_ETL_DATABASE=url))
    if run.returncode != 0 or "GAPS POR RECUPERAR" not in run.stdout or "MÉTRICAS DE HOY" not in run.stdout:
        problems.append(f"monitoring script on PostgreSQL: exit {run.returncode}: {klkpg.redact(run.stderr[-500:])}")
    else:
        notes.append(f"monitoring script: runs on PostgreSQL with {len(changed)} lines changed "
                     f"(duckdb -> psycopg): " + "; ".join(f"'{a.strip()}' -> '{klkpg.redact(b.strip())}'" for a, b in changed))

    klkpg.drop_database(args.url, dbname)
    shutil.rmtree(work, ignore_errors=True)
    for note in notes:
        print(f"seed_sql: {note}")
    if problems:
        for p in problems:
            print(f"seed_sql: PROBLEM: {p}")
        sys.exit(1)
    print("seed_sql: OK: the seed's SQL runs in psql unchanged, but for its DDL (DOUBLE PRECISION); "
          "its monitoring script with psycopg for duckdb")


if __name__ == "__main__":
    main()
