"""PostgreSQL references for the load benchmark (bench/pg.sh drives it): the same generated
/ventas body as bench/run.sh, loaded into a fresh database's `ventas` (the table of
src/tracker/schema/postgres/003_target_tables.sql, key (ubicacion_id, numero_factura, linea)),
committed. Prints one JSON line.

    python pg_load.py b BODY URL   # the usual Python path: json + flatten + psycopg2
                                   # execute_values INSERT ... ON CONFLICT DO UPDATE, pages of 1,000
    python pg_load.py c BODY URL   # the SQL floor for the same job: COPY of the pre-flattened rows
                                   # into a temp table, then INSERT ... SELECT DISTINCT ON (key)
                                   # ... ON CONFLICT DO UPDATE
    python pg_load.py d BODY URL   # COPY of the pre-flattened rows, one per key, straight into the
                                   # fresh keyed table (no upsert)

A line repeated in the body keeps its latest copy in every case, as klk-etl does: (b)
deduplicates while flattening (an INSERT ... ON CONFLICT cannot touch one row twice), (c)
with DISTINCT ON over the copy's order, (d) is given the deduplicated rows. (c) and (d) start
the clock with the rows already flattened (in COPY's text format, in memory): what is
measured is PostgreSQL's part only. lines_per_s counts the body's elements, as bench_load does.
server_cpu_s is the session's backend CPU time over the clock, read from /proc when the server
runs on this machine (else null), as `bench_load load --database` reports it for (a).

URL names a database that this script drops and creates again (so the table is fresh);
the role must be allowed to create databases. It is dropped without FORCE (tests/pg/klkpg.py's
drop uses WITH (FORCE)): on PostgreSQL 15 a role that is not a superuser cannot FORCE out an
autovacuum worker, which the table just loaded often has, while a plain DROP DATABASE stops
such a worker itself (and waits up to 5 s for this script's own sessions to end).
"""
import datetime as dt
import io
import json
import os
import resource
import sys
import time

import psycopg2
import psycopg2.extras

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pg"))
import klkpg  # noqa: E402

STORE = "bench_01"
EXECUTION = 1
LOADED_AT = dt.datetime(2025, 11, 18, 3, 0, 0)

COLUMNS = [
    "ubicacion_id", "numero_factura", "linea", "fecha", "hora", "fecha_hora", "codigo_almacen",
    "nombre_almacen", "codigo_producto", "descripcion_producto", "marca_producto", "modelo_producto",
    "categoria_producto", "grupo_articulo", "subgrupo_producto", "codigo_barras", "cantidad_vendida",
    "peso_unitario", "unidad_medida_venta", "factor_unidad_medida", "costo_unitario_bs",
    "costo_unitario_usd", "precio_unitario_bs", "precio_unitario_usd", "impuesto_porcentaje",
    "impuesto_monto_bs", "porcentaje_descuento", "monto_descuento", "venta_total_bs", "venta_total_usd",
    "costo_total_bs", "costo_total_usd", "utilidad_bruta_bs", "utilidad_bruta_usd", "total_factura",
    "tasa_usd", "es_no_fiscal", "tiene_promocion", "codigo_promocion", "ejecucion_id", "cargado_en",
]
KEY = ("ubicacion_id", "numero_factura", "linea")


def text(v):
    """Missing, null and "N/A" are NULL (as klk-etl reads them); numbers become their text."""
    if v is None or (isinstance(v, str) and v.strip() == "N/A"):
        return None
    return v if isinstance(v, str) else str(v)


def number(v):
    if v is None or (isinstance(v, str) and v.strip() == "N/A"):
        return None
    return float(v)


def hora(v):
    # HH:MM:SS with up to 9 fractional digits, kept to the microsecond.
    main, _, frac = v.partition(".")
    h, m, s = (int(x) for x in main.split(":"))
    return dt.time(h, m, s, int((frac + "000000")[:6]) if frac else 0)


def flatten(element):
    p = (element.get("producto") or [{}])[0]
    c = (element.get("cantidad") or [{}])[0]
    f = (element.get("financiero") or [{}])[0]
    fecha = dt.date.fromisoformat(element["fecha"])
    h = hora(element["hora"])
    return (
        STORE, text(element["numero_factura"]), int(element["linea"]), fecha, h,
        dt.datetime.combine(fecha, h), text(c.get("codigo_almacen")), text(c.get("nombre_almacen")),
        text(p.get("codigo_producto")), text(p.get("descripcion_producto")), text(p.get("marca_producto")),
        text(p.get("modelo_producto")), text(p.get("categoria_producto")), text(p.get("grupo_articulo")),
        text(p.get("subgrupo_producto")), text(p.get("codigo_barras")), number(c.get("cantidad_vendida")),
        number(c.get("peso_unitario")), text(c.get("unidad_medida_venta")),
        number(c.get("factor_unidad_medida")), number(f.get("costo_unitario_bs")),
        number(f.get("costo_unitario_usd")), number(f.get("precio_unitario_bs")),
        number(f.get("precio_unitario_usd")), number(f.get("impuesto_porcentaje")),
        number(f.get("impuesto_monto")), number(f.get("porcentaje_descuento")),
        number(f.get("monto_descuento")), number(f.get("venta_total_bs")), number(f.get("venta_total_usd")),
        number(f.get("costo_total_bs")), number(f.get("costo_total_usd")),
        number(f.get("utilidad_bruta_bs")), number(f.get("utilidad_bruta_usd")),
        number(element.get("total_factura")), number(element.get("tasa_usd")),
        element.get("es_no_fiscal"), text(element.get("tiene_promocion")),
        text(element.get("codigo_promocion")), EXECUTION, LOADED_AT,
    )


def process_cpu_seconds(pid):
    """User + system CPU time of a process of this machine (the server's backend), or None."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drop_database(server, name, create=False):
    """Drops database `name` on the server of `server` (without FORCE: see above), and with
    `create` makes it again, empty; returns its URL."""
    admin = psycopg2.connect(server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if create:
            cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return klkpg.with_database(server, name)


def latest_per_key(rows):
    """One row per key, the latest copy, in the order keys first appeared."""
    by_key = {}
    for row in rows:
        by_key[(row[0], row[1], row[2])] = row
    return list(by_key.values())


def copy_text(rows, with_order=False):
    """Rows in COPY's text format (tab-separated, \\N for NULL), in memory."""
    def field(v):
        if v is None:
            return "\\N"
        if isinstance(v, bool):
            return "t" if v else "f"
        if isinstance(v, float):
            return repr(v)
        s = str(v) if not isinstance(v, (dt.date, dt.time)) else v.isoformat()
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    out = io.StringIO()
    for i, row in enumerate(rows):
        fields = [field(v) for v in row]
        if with_order:
            fields.append(str(i))
        out.write("\t".join(fields))
        out.write("\n")
    return io.BytesIO(out.getvalue().encode("utf-8"))


UPSERT_SET = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c not in KEY)


def main():
    case, body_path, url = sys.argv[1], sys.argv[2], sys.argv[3]
    if case not in ("b", "c", "d"):
        sys.exit("usage: pg_load.py b|c|d BODY URL")
    dbname = url.rsplit("/", 1)[1].split("?")[0]
    server = url.rsplit("/", 1)[0] + "/postgres"
    fresh = drop_database(server, dbname, create=True)
    conn = psycopg2.connect(fresh)
    klkpg.apply_schema(conn)
    conn.commit()

    prepared = None
    if case in ("c", "d"):
        # Before the clock: the rows, flattened (and for d deduplicated), as COPY text.
        elements = json.load(open(body_path, "rb"))["ventas"]
        rows = [flatten(e) for e in elements]
        received = len(elements)
        prepared = copy_text(rows, with_order=True) if case == "c" else copy_text(latest_per_key(rows))
        del elements, rows

    cur = conn.cursor()
    cur.execute("SELECT pg_backend_pid()")
    backend = cur.fetchone()[0]
    server_cpu_started = process_cpu_seconds(backend)
    cpu_started = time.process_time()
    started = time.perf_counter()
    if case == "b":
        elements = json.load(open(body_path, "rb"))["ventas"]
        received = len(elements)
        rows = latest_per_key(flatten(e) for e in elements)
        psycopg2.extras.execute_values(
            cur,
            f"INSERT INTO ventas ({', '.join(COLUMNS)}) VALUES %s "
            f"ON CONFLICT (ubicacion_id, numero_factura, linea) DO UPDATE SET {UPSERT_SET}",
            rows, page_size=1000)
    elif case == "c":
        cur.execute("CREATE TEMP TABLE ventas_copia (LIKE ventas) ON COMMIT DROP")
        cur.execute("ALTER TABLE ventas_copia ADD COLUMN orden integer")
        cur.copy_expert(f"COPY ventas_copia ({', '.join(COLUMNS)}, orden) FROM STDIN", prepared)
        cur.execute(
            f"INSERT INTO ventas ({', '.join(COLUMNS)}) "
            f"SELECT DISTINCT ON (ubicacion_id, numero_factura, linea) {', '.join(COLUMNS)} FROM ventas_copia "
            f"ORDER BY ubicacion_id, numero_factura, linea, orden DESC "
            f"ON CONFLICT (ubicacion_id, numero_factura, linea) DO UPDATE SET {UPSERT_SET}")
    else:
        cur.copy_expert(f"COPY ventas ({', '.join(COLUMNS)}) FROM STDIN", prepared)
    loaded = time.perf_counter()
    conn.commit()
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    server_cpu_ended = process_cpu_seconds(backend)
    server_cpu = (None if server_cpu_started is None or server_cpu_ended is None
                  else round(server_cpu_ended - server_cpu_started, 4))

    cur.execute("SELECT count(*), count(DISTINCT (numero_factura, linea)), sum(venta_total_usd) FROM ventas")
    rows_in_table, distinct, usd = cur.fetchone()
    cur.execute("SELECT pg_total_relation_size('ventas'), current_setting('server_version'), "
                "current_setting('fsync'), current_setting('synchronous_commit')")
    size, version, fsync, sync = cur.fetchone()
    conn.close()
    drop_database(server, dbname)
    if rows_in_table != distinct:
        sys.exit(f"pg_load {case}: ventas has {rows_in_table} rows for {distinct} distinct keys")
    print(json.dumps({
        "case": case,
        "received": received,
        "rows": rows_in_table,
        "sum_usd": round(usd, 2),
        "load_s": round(loaded - started, 4),
        "commit_s": round(total - (loaded - started), 4),
        "total_s": round(total, 4),
        "client_cpu_s": round(cpu, 4),
        "server_cpu_s": server_cpu,
        "lines_per_s": round(received / total),
        "table_bytes": size,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "server": version,
        "fsync": fsync,
        "synchronous_commit": sync,
        "psycopg2": psycopg2.__version__.split()[0],
    }))


if __name__ == "__main__":
    main()
