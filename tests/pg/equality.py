"""Proof that the PostgreSQL logic (src/tracker/schema/postgres/) answers what DuckDB's does.

A DuckDB file is made by klk-etl itself (`klk-etl db migrate`, the release binary) and a
PostgreSQL database by the .sql files; the same crafted histories (hand-made edge cases and
random ones) are loaded into both, and, row by row, these must be equal:

    every table              same columns in order, types, nullability, primary key

    klk_gaps(...)            several argument sets: explicit, NULL (stored settings), other
                             horizons, verification off, an earlier "now"
    klk_verificaciones(...)  likewise
    klk_metricas(now, days)  days 1, 7, 30 and NULL
    klk_resumen(), klk_tiendas()
    v_gaps_por_recuperar, v_metricas_confiabilidad, v_ultimas_ejecuciones   (the real now)

each with the summary behind klk_resumen in several states (never refreshed; refreshed
mid-history with executions finished since; the same with a row inserted below its watermark
afterwards; invalidated by a delete; forgotten). Column names
and order must match; PostgreSQL's column types must be the ones the Rust client reads
(BIGINT counts and ids, DOUBLE PRECISION, TIMESTAMP, DATE, TIME). Floats are compared with a
relative tolerance of 1e-9 (horas_desde_fallo of the views, computed at two real instants, to
0.01 h). Also DuckDB's round(DOUBLE, n) against klk_round on many values.

    python tests/pg/equality.py --url postgres://... --bin target/release/klk-etl [--random 150] [--seed 1]

Exit 0 when everything is equal; 1, with every difference printed, otherwise.

Known and deliberate: when two attempts of one store start at the same microsecond, DuckDB's
arg_max takes whichever row it meets first and PostgreSQL the higher id; the generator never
makes such ties (klk-etl reads the clock for each execution it registers).
"""

import argparse
import datetime as dt
import itertools
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import duckdb
import psycopg2
import psycopg2.extras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import klkpg  # noqa: E402

D = dt.date
T = dt.time
TS = dt.datetime
MIN = dt.timedelta(minutes=1)

EXEC_COLUMNS = [
    "id", "etl_tipo", "ubicacion_id", "ubicacion_nombre", "fecha_inicio", "fecha_fin",
    "duracion_segundos", "fecha_desde", "fecha_hasta", "hora_desde", "hora_hasta", "estado",
    "registros_extraidos", "registros_cargados", "error_mensaje", "error_tipo", "modo",
    "version_etl", "host", "pid", "proceso_id", "lineas_tardias", "lineas_cambiadas",
    "lineas_desaparecidas",
]
STORE_COLUMNS = [
    "ubicacion_id", "ubicacion_nombre", "sucursal", "almacenes", "activa", "hora_apertura",
    "hora_cierre", "desde", "actualizado",
]
CONFIG_COLUMNS = [
    "id", "zona_horaria", "utc_offset_minutos", "slot_minutos", "horizonte_minutos",
    "atascado_minutos", "gracia_minutos", "inventario_vencido_minutos", "actualizado",
    "verificacion_cierre_minutos", "verificacion_plazo_minutos", "verificacion_desde",
]
ERRORS = ["timeout", "conexion", "api_error", "db_error", "validacion", "unknown", None]
MESSAGES = [
    "Read timed out. (read timeout=120)", "HTTP 500 from /ventas", "connection refused",
    "malformed body at byte 1832", "database is locked", None,
]

# The types the Rust client reads from PostgreSQL (psycopg2 type OIDs).
PG_TYPES = {16: "BOOLEAN", 20: "BIGINT", 23: "INTEGER", 25: "TEXT", 701: "DOUBLE", 1043: "VARCHAR",
            1082: "DATE", 1083: "TIME", 1114: "TIMESTAMP", 1184: "TIMESTAMPTZ", 21: "SMALLINT",
            1700: "NUMERIC", 1009: "TEXT[]", 1015: "VARCHAR[]"}
# DuckDB type -> PostgreSQL types accepted for a function's result (integers are BIGINT there,
# whatever width DuckDB happens to infer); a view over table columns keeps the table's types.
FUNCTION_TYPES = {
    "BIGINT": {"BIGINT"}, "INTEGER": {"BIGINT"}, "HUGEINT": {"BIGINT"}, "DOUBLE": {"DOUBLE"},
    "VARCHAR": {"VARCHAR", "TEXT"}, "TIMESTAMP": {"TIMESTAMP"}, "DATE": {"DATE"},
    "TIME": {"TIME"}, "BOOLEAN": {"BOOLEAN"},
}
TABLE_TYPES = dict(FUNCTION_TYPES, INTEGER={"INTEGER"})


# ---------------------------------------------------------------------------------------------
# Histories
# ---------------------------------------------------------------------------------------------

class Case:
    def __init__(self, name, now, config, stores=(), executions=(), summary="fresh",
                 live=False):
        self.name = name
        self.now = now  # store-local "now" for the explicit calls
        self.config = config  # etl_configuracion values
        self.stores = list(stores)
        self.executions = list(executions)
        self.summary = summary  # fresh | refreshed | refreshed_late | invalid | forgotten
        self.live = live  # history relative to the real clock: the views are compared too


def config(**kw):
    c = dict(id=1, zona_horaria="America/Caracas", utc_offset_minutos=-240, slot_minutos=30,
             horizonte_minutos=168 * 60, atascado_minutos=60, gracia_minutos=30,
             inventario_vencido_minutos=120, actualizado=TS(2025, 1, 1),
             verificacion_cierre_minutos=None, verificacion_plazo_minutos=None,
             verificacion_desde=None)
    c.update(kw)
    return c


def store(sid, name=None, active=True, hours=None, desde=None, almacenes=("APP-TPF",)):
    return dict(ubicacion_id=sid, ubicacion_nombre=name or sid.upper(), sucursal="SUC" + sid[-2:],
                almacenes=list(almacenes), activa=active,
                hora_apertura=hours[0] if hours else None,
                hora_cierre=hours[1] if hours else None, desde=desde,
                actualizado=TS(2025, 1, 1))


class History:
    """Executions with increasing ids; a store's start times are distinct (every tie-break
    by start, arg_max, is within one store)."""

    def __init__(self):
        self.rows = []
        self.used = set()

    def add(self, tipo, sid, start, d_from, d_to=None, h_from=None, h_to=None, estado="exitoso",
            dur=2.5, error=None, message=None, cargados=10, modo=None, name=None, lineas=None,
            fin=True):
        while (sid, start) in self.used:  # never two starts of a store at the same microsecond
            start += dt.timedelta(microseconds=1)
        self.used.add((sid, start))
        if estado == "en_proceso":
            fin, dur = False, None
        end = start + dt.timedelta(seconds=dur) if (fin and dur is not None) else (start if fin else None)
        if estado in ("fallido", "parcial") and error is None and message is None:
            error, message = "timeout", "Read timed out. (read timeout=120)"
        row = dict(
            id=None, etl_tipo=tipo, ubicacion_id=sid, ubicacion_nombre=name or sid.upper(),
            fecha_inicio=start, fecha_fin=end, duracion_segundos=dur if fin else None,
            fecha_desde=d_from, fecha_hasta=d_to or d_from, hora_desde=h_from, hora_hasta=h_to,
            estado=estado, registros_extraidos=cargados, registros_cargados=cargados,
            error_mensaje=message, error_tipo=error,
            modo=modo or ("incremental_30min" if h_from else "completo"),
            version_etl="klk-etl 0.1.0", host="h1", pid=4242, proceso_id="boot:1",
            lineas_tardias=None, lineas_cambiadas=None, lineas_desaparecidas=None,
        )
        if lineas is not None:
            row["lineas_tardias"], row["lineas_cambiadas"], row["lineas_desaparecidas"] = lineas
        self.rows.append(row)
        return row

    def finish(self, shuffle_ids=None):
        self.rows.sort(key=lambda r: r["fecha_inicio"])
        for i, r in enumerate(self.rows, start=1):
            r["id"] = i
        if shuffle_ids:  # an adopted table's ids need not follow time
            ids = [r["id"] for r in self.rows]
            for _ in range(len(ids) // 10):
                a, b = shuffle_ids.randrange(len(ids)), shuffle_ids.randrange(len(ids))
                self.rows[a]["id"], self.rows[b]["id"] = self.rows[b]["id"], self.rows[a]["id"]
        return self.rows


def hand_cases():
    """Named edge cases, each small enough to read."""
    cases = []
    now = TS(2025, 11, 24, 16, 10, 7, 123456)
    today = now.date()
    y = today - dt.timedelta(days=1)

    cases.append(Case("empty database", now, config()))
    cases.append(Case("stores but no executions", now, config(),
                      [store("tienda_01"), store("tienda_02", desde=today),
                       store("tienda_03", desde=today + dt.timedelta(days=2))]))

    h = History()
    for k in range(0, 32):  # 00:00 .. 16:00 today, one failure at 10:00
        s = TS.combine(today, T(0)) + k * 30 * MIN
        e = s + 30 * MIN
        if e > now:
            break
        h.add("ventas", "tienda_01", e + 2 * MIN, today, today, s.time(), e.time(),
              "fallido" if k == 20 else "exitoso")
    cases.append(Case("one failed slot", now, config(), [store("tienda_01")], h.finish()))

    h = History()
    h.add("ventas", "tienda_01", TS.combine(today, T(10, 32)), today, today, T(10), T(10, 30), "fallido",
          error="conexion", message="connection refused")
    h.add("ventas", "tienda_01", TS.combine(today, T(11, 2)), today, today, T(10), T(11), "fallido",
          error=None, message=None, modo="recuperacion")
    h.add("ventas", "tienda_01", TS.combine(today, T(11, 33)), today, today, T(11), T(11, 30), "exitoso")
    h.add("ventas", "tienda_01", TS.combine(today, T(12, 3)), today, today, T(10), T(10, 30), "parcial",
          error="api_error", message="HTTP 500 from /ventas", modo="recuperacion")
    h.add("ventas", "tienda_01", TS.combine(today, T(12, 40)), today, today, T(9), T(9, 30), "exitoso",
          modo="recuperacion")
    h.add("ventas", "tienda_01", TS.combine(today, T(13, 40)), today, today, T(10), T(10, 30), "fallido",
          error="timeout", message="poison", modo="recuperacion")
    h.add("ventas", "tienda_01", TS.combine(y, T(0, 0)), y, y, None, None, "exitoso", modo="completo")
    cases.append(Case("failures, recoveries, a poison window, a whole day",
                      now, config(gracia_minutos=0), [store("tienda_01", desde=y)], h.finish()))

    h = History()
    h.add("ventas", "tienda_01", now - 20 * MIN, today, today, T(15, 30), T(16), "en_proceso")
    h.add("ventas", "tienda_01", now - 90 * MIN, today, today, T(14), T(14, 30), "en_proceso")
    h.add("ventas", "tienda_01", now - 61 * MIN, today, today, T(14, 30), T(15), "en_proceso")
    h.add("inventario", "tienda_01", now - 10 * MIN, today, today, None, None, "en_proceso")
    h.add("inventario", "tienda_02", now - 300 * MIN, today, today, None, None, "en_proceso")
    h.add("inventario", "tienda_02", now - 400 * MIN, today, today, None, None, "exitoso")
    cases.append(Case("stuck and live en_proceso", now, config(),
                      [store("tienda_01", desde=today), store("tienda_02", desde=today)], h.finish()))

    h = History()
    d0 = today - dt.timedelta(days=5)
    h.add("ventas", "tienda_01", TS.combine(d0, T(23)), d0, d0 + dt.timedelta(days=2), None, None, "exitoso")
    h.add("ventas", "tienda_01", TS.combine(d0, T(23, 5)), d0 + dt.timedelta(days=3),
          d0 + dt.timedelta(days=4), T(8), T(12), "exitoso")
    h.add("ventas", "tienda_01", TS.combine(y, T(23, 59, 59)), y, y, T(23, 30), T(23, 59, 59), "exitoso")
    h.add("ventas", "tienda_01", TS.combine(y, T(10, 30)), y, y, T(10), T(10, 29, 59), "exitoso")
    h.add("ventas", "tienda_01", TS.combine(y, T(11, 50)), y, y, T(11, 15), T(11, 45), "exitoso")
    h.add("ventas", "tienda_01", TS.combine(y, T(12, 0)), y, y, T(11, 45), T(12, 30), "fallido")
    h.add("ventas", "tienda_01", TS.combine(y, T(22, 0)), y, today, T(21, 0), T(1, 0), "fallido")
    cases.append(Case("multi-day windows, :59 ends, odd hours, across midnight", now, config(),
                      [store("tienda_01", desde=d0)], h.finish()))

    h = History()
    for sid in ("tienda_01", "tienda_02", "tienda_09"):
        h.add("ventas", sid, TS.combine(y, T(9, 5)), y, y, T(8, 30), T(9), "exitoso", name=sid + " viejo")
        h.add("ventas", sid, TS.combine(y, T(9, 35)), y, y, T(9), T(9, 30), "fallido", name=sid + " nuevo")
    cases.append(Case("opening hours, inactive and unregistered stores, renamed", now, config(),
                      [store("tienda_01", hours=(T(8), T(20))), store("tienda_02", active=False),
                       store("tienda_03", hours=(T(7, 30), None), desde=y)], h.finish()))

    h = History()
    # Inventory: stale success; failures since a success; never a success with desde; old
    # success beyond the horizon with later failures; a success finishing across i_cut.
    h.add("inventario", "tienda_01", now - 200 * MIN, today, today)
    h.add("inventario", "tienda_02", now - 100 * MIN, today, today)
    h.add("inventario", "tienda_02", now - 50 * MIN, today, today, estado="fallido", error="conexion")
    h.add("inventario", "tienda_02", now - 20 * MIN, today, today, estado="fallido", error=None, message=None)
    h.add("inventario", "tienda_04", TS.combine(today - dt.timedelta(days=20), T(6)),
          today - dt.timedelta(days=20), today - dt.timedelta(days=20))
    h.add("inventario", "tienda_04", now - 30 * MIN, today, today, estado="parcial")
    h.add("inventario", "tienda_05", now - 61 * MIN, today, today, dur=120.0)
    h.add("inventario", "tienda_06", now - dt.timedelta(days=7, minutes=5), today - dt.timedelta(days=7),
          today - dt.timedelta(days=7), dur=600.0)
    cases.append(Case("inventory states", now, config(),
                      [store("tienda_01"), store("tienda_02"), store("tienda_03", desde=y),
                       store("tienda_04"), store("tienda_05"), store("tienda_06"),
                       store("tienda_07", desde=today + dt.timedelta(days=1))], h.finish()))

    h = History()
    d2 = today - dt.timedelta(days=2)
    d3 = today - dt.timedelta(days=3)
    d4 = today - dt.timedelta(days=4)
    for d in (d4, d3, d2, y, today):
        h.add("ventas", "tienda_01", TS.combine(d, T(8, 5)), d, d, T(7, 30), T(8), "exitoso")
    h.add("ventas", "tienda_01", TS.combine(d3, T(23, 0)), d4, d4, None, None, "exitoso", lineas=(3, 1, 0))
    h.add("ventas", "tienda_01", TS.combine(d3, T(1, 0)), d4, d4, None, None, "exitoso", lineas=(1, 0, 2))
    h.add("ventas", "tienda_01", TS.combine(d2, T(0, 20)), d3, d3, None, None, "exitoso", lineas=(0, 0, 0))
    h.add("ventas", "tienda_01", TS.combine(y, T(1, 10)), d2, d2, None, None, "fallido", error="timeout")
    h.add("ventas", "tienda_01", TS.combine(y, T(2, 10)), d2, d2, None, None, "en_proceso")
    h.add("ventas", "tienda_01", TS.combine(today, T(1, 0)), y, y, None, None, "fallido", error=None,
          message="x")
    h.add("ventas", "tienda_01", now - 5 * MIN, y, y, None, None, "en_proceso")
    h.add("ventas", "tienda_02", TS.combine(y, T(8, 5)), y, y, T(7, 30), T(8), "exitoso")
    h.add("ventas", "tienda_02", TS.combine(today, T(0, 10)), y, y, None, None, "exitoso", lineas=(5, 2, 1))
    for cierre, plazo, desde in ((30, 360, None), (120, 720, d3), (60, 1440, None)):
        cases.append(Case(f"verification close={cierre} deadline={plazo} desde={desde}", now,
                          config(verificacion_cierre_minutos=cierre, verificacion_plazo_minutos=plazo,
                                 verificacion_desde=desde),
                          [store("tienda_01", desde=d4), store("tienda_02")], [dict(r) for r in h.finish()]))

    # Exact boundaries, with now on a slot boundary: a slot due exactly at now - grace; an
    # en_proceso run started exactly stuck_min ago (still live); stock exactly stale_min old (not
    # stale yet); a re-pull started exactly at the close (verifies); a day whose deadline is
    # exactly now (overdue); a slot starting exactly at the horizon; runs started exactly at
    # midnight and at the first second of the metrics' first day, and the last microsecond before.
    bnow = TS(2025, 11, 24, 16, 0, 0)
    h = History()
    bday, bprev = bnow.date(), bnow.date() - dt.timedelta(days=1)
    for k in range(0, 30):  # 00:00 .. 15:00 covered; 15:00-15:30 and 15:30-16:00 never tried
        s = TS.combine(bday, T(0)) + k * 30 * MIN
        if k != 22:  # 11:00-11:30: only the live run below
            h.add("ventas", "tienda_01", s + 30 * MIN + dt.timedelta(seconds=65), bday, bday, s.time(),
                  (s + 30 * MIN).time(), "exitoso", dur=1.25)
    h.add("ventas", "tienda_01", bnow - 60 * MIN, bday, bday, T(11), T(11, 30), "en_proceso")
    h.add("ventas", "tienda_04", TS.combine(bprev, T(16, 31)), bprev, bprev, T(16, 30), T(17),
          "exitoso")
    h.add("inventario", "tienda_02", bnow - 120 * MIN - dt.timedelta(seconds=30), bday, bday, dur=30.0)
    h.add("inventario", "tienda_03", bnow - 121 * MIN, bday, bday, dur=60.0)
    h.add("ventas", "tienda_01", TS.combine(bday, T(0, 30)), bprev, bprev, None, None, "exitoso", lineas=(2, 0, 0))
    h.add("ventas", "tienda_02", TS.combine(bday, T(0, 29, 59, 999999)), bprev, bprev, None, None, "exitoso",
          lineas=(1, 0, 0))
    h.add("ventas", "tienda_02", TS.combine(bday, T(0, 0)), bday, bday, T(0), T(0, 30), "exitoso")
    h.add("ventas", "tienda_02", TS.combine(bday - dt.timedelta(days=6), T(0, 0)), bday - dt.timedelta(days=6),
          bday - dt.timedelta(days=6), T(0), T(0, 30), "fallido")
    h.add("ventas", "tienda_02", TS.combine(bday - dt.timedelta(days=6), T(0)) - dt.timedelta(microseconds=1),
          bday - dt.timedelta(days=7), bday - dt.timedelta(days=7), T(23, 30), T(23, 59, 59), "exitoso")
    # tienda_03, open 14:00-16:00: 14:30-15:00 never tried (so the gap's first failure is that
    # slot's end, 15:00 exactly), a success of another window started exactly then (not after
    # the failure: not a poison attempt), 15:00-15:30 failed later; and a stock run started
    # exactly stuck_min ago (still live).
    h.add("ventas", "tienda_03", TS.combine(bday, T(15, 0)), bday, bday, T(14), T(14, 30), "exitoso")
    h.add("ventas", "tienda_03", TS.combine(bday, T(15, 40)), bday, bday, T(15), T(15, 30), "fallido")
    h.add("inventario", "tienda_04", bnow - 60 * MIN, bday, bday, None, None, "en_proceso")
    h.add("inventario", "tienda_04", bnow - 200 * MIN, bday, bday, None, None, "fallido")
    cases.append(Case("exact boundaries", bnow,
                      config(horizonte_minutos=24 * 60, gracia_minutos=30, atascado_minutos=60,
                             inventario_vencido_minutos=120, verificacion_cierre_minutos=30,
                             verificacion_plazo_minutos=16 * 60),
                      [store("tienda_01", desde=bday), store("tienda_02", desde=bprev),
                       store("tienda_03", desde=bday, hours=(T(14), T(16))),
                       store("tienda_04", desde=bprev - dt.timedelta(days=3))], h.finish()))

    # Horizon edges: now not on a slot boundary, a horizon of 1 day and 17 minutes.
    h = History()
    edge = now - dt.timedelta(minutes=24 * 60 + 17)
    s0 = TS.combine(edge.date(), T(edge.hour, 0))
    for k in range(-4, 6):
        s = s0 + k * 30 * MIN
        h.add("ventas", "tienda_01", s + 31 * MIN, s.date(), s.date(), s.time(), (s + 30 * MIN).time(),
              "fallido" if k % 2 else "exitoso")
    cases.append(Case("horizon edge", now, config(horizonte_minutos=24 * 60 + 17),
                      [store("tienda_01", desde=today - dt.timedelta(days=3))], h.finish()))

    # Rounding of metrics: durations whose mean or p95 lands on a half at the 3rd decimal.
    h = History()
    for i, dur in enumerate([0.0125, 0.0125, 1.0005, 2.675, 0.1235, 0.0015, 5.0, None, 0.0005]):
        h.add("ventas", "tienda_01", TS.combine(today, T(1 + i, 5)), today, today, T(1 + i), T(1 + i, 30),
              "exitoso" if i % 3 else "fallido", dur=dur)
    cases.append(Case("rounding of durations", now, config(), [store("tienda_01")], h.finish()))

    # Slot sizes other than 30 minutes.
    for slot in (15, 60):
        h = History()
        for k in range(0, 40):
            s = TS.combine(y, T(6)) + k * 15 * MIN
            h.add("ventas", "tienda_01", s + 16 * MIN, s.date(), s.date(), s.time(), (s + 15 * MIN).time(),
                  "fallido" if k % 7 == 3 else "exitoso")
        cases.append(Case(f"slot of {slot} minutes", now, config(slot_minutos=slot),
                          [store("tienda_01", desde=y)], h.finish()))
    return cases


def slot_floor(ts, slot_min):
    """ts floored to the slot grid (slots are aligned to midnight)."""
    minutes = ts.hour * 60 + ts.minute
    return TS.combine(ts.date(), T(0)) + dt.timedelta(minutes=minutes - minutes % slot_min)


def duration(rng, top=30.0):
    """Seconds as klk-etl measures them (microseconds), now and then none (seed-era rows)."""
    if rng.random() < 0.05:
        return None
    return round(rng.uniform(0.05, top), 6)


def random_case(rng, index, real_now_utc):
    """A history relative to the real clock, so the views can be compared too."""
    offset = rng.choice([-240, -240, -240, 0, 60, 330, -300])
    now = real_now_utc + dt.timedelta(minutes=offset)
    today = now.date()
    slot = rng.choice([30, 30, 30, 15, 60])
    close = rng.choice([None, None, 30, 90, 360])
    cfg = config(
        utc_offset_minutos=offset, slot_minutos=slot,
        horizonte_minutos=rng.choice([168 * 60, 168 * 60, 72 * 60, 24 * 60 + 17, 48 * 60]),
        atascado_minutos=rng.choice([60, 60, 30, 120, 7]),
        gracia_minutos=rng.choice([30, 30, 0, 45, 90]),
        inventario_vencido_minutos=rng.choice([120, 120, 60, 600]),
        verificacion_cierre_minutos=close,
        verificacion_plazo_minutos=None if close is None else close + rng.choice([120, 600, 1440]),
        verificacion_desde=rng.choice([None, None, today - dt.timedelta(days=rng.randint(1, 10))]),
    )
    stores = []
    h = History()
    for s in range(rng.randint(1, 5)):
        sid = f"tienda_{s + 1:02d}"
        registered = rng.random() < 0.8
        hours = rng.choice([None, None, (T(8), T(20)), (T(7, 30), None), (T(9), T(21, 30)), (T(6), T(23, 59, 59))])
        desde = rng.choice([None, None, today - dt.timedelta(days=rng.randint(-1, 10))])
        if registered:
            stores.append(store(sid, name=f"Tienda {s + 1}", active=rng.random() < 0.85, hours=hours,
                                desde=desde))
        days = rng.randint(1, 10)
        begin = TS.combine(today - dt.timedelta(days=days), T(0)) + rng.randint(0, 47) * 30 * MIN
        p_cron = rng.choice([0.95, 0.8, 0.5])
        p_fail = rng.choice([0.02, 0.1, 0.3])
        name = f"Tienda {s + 1}"
        t = begin
        while t + 30 * MIN <= now:
            e = t + 30 * MIN
            if rng.random() < p_cron:
                start = e + dt.timedelta(seconds=rng.uniform(1, 400), microseconds=rng.randrange(10 ** 6))
                if start < now:
                    r = rng.random()
                    estado = ("exitoso" if r > p_fail + 0.05 else "fallido" if r > 0.05 else
                              "parcial" if r > 0.03 else "en_proceso")
                    h.add("ventas", sid, start, t.date(), t.date(), t.time(),
                          T(23, 59, 59) if e.date() > t.date() else e.time(), estado,
                          dur=duration(rng),
                          error=rng.choice(ERRORS), message=rng.choice(MESSAGES),
                          cargados=rng.choice([0, 5, 120, None]), name=name)
            t = e
        # Recoveries: multi-slot windows later on.
        for _ in range(rng.randint(0, 6)):
            d = today - dt.timedelta(days=rng.randint(0, days))
            a = rng.randint(0, 44)
            b = rng.randint(a + 1, min(48, a + 8))
            h_from = (TS.combine(d, T(0)) + a * 30 * MIN).time()
            h_to = T(23, 59, 59) if b == 48 else (TS.combine(d, T(0)) + b * 30 * MIN).time()
            start = TS.combine(d, h_to) + dt.timedelta(minutes=rng.randint(1, 600), seconds=rng.random())
            if start < now:
                h.add("ventas", sid, start, d, d, h_from, h_to,
                      rng.choice(["exitoso", "exitoso", "fallido", "parcial", "en_proceso"]),
                      error=rng.choice(ERRORS), message=rng.choice(MESSAGES), modo="recuperacion", name=name)
        # Whole days: re-pulls (some after close, with what they found), seed-era multi-day
        # windows, odd hours.
        for _ in range(rng.randint(0, 5)):
            d = today - dt.timedelta(days=rng.randint(1, days + 1))
            start = TS.combine(d + dt.timedelta(days=1), T(0)) + dt.timedelta(
                minutes=rng.randint(-120, 800), seconds=rng.random())
            if start < now:
                estado = rng.choice(["exitoso", "exitoso", "fallido", "en_proceso"])
                lineas = ((rng.randint(0, 9), rng.randint(0, 3), rng.randint(0, 2))
                          if estado == "exitoso" and rng.random() < 0.8 else None)
                h.add("ventas", sid, start, d, d, None, None, estado, lineas=lineas, name=name,
                      error=rng.choice(ERRORS), message=rng.choice(MESSAGES))
        if rng.random() < 0.3:
            d = today - dt.timedelta(days=rng.randint(2, days + 2))
            n = rng.randint(1, 3)
            hours = rng.choice([(None, None), (T(8), T(12)), (T(21), T(2))])
            start = TS.combine(d + dt.timedelta(days=n), T(3)) + dt.timedelta(seconds=rng.random())
            if start < now:
                h.add("ventas", sid, start, d, d + dt.timedelta(days=n), hours[0], hours[1],
                      rng.choice(["exitoso", "fallido"]), name=name)
        if rng.random() < 0.3:
            d = today - dt.timedelta(days=rng.randint(0, days))
            h.add("ventas", sid, TS.combine(d, T(13, 7)), d, d, T(10, 15), T(12, 29, 59),
                  rng.choice(["exitoso", "fallido"]), name=name)
        if rng.random() < 0.1:  # a window in the future (a clock that was ahead)
            d = today + dt.timedelta(days=1)
            h.add("ventas", sid, now - 3 * MIN, d, d, T(1), T(2), "exitoso", name=name)
        # Inventory.
        if rng.random() < 0.7:
            step = rng.choice([30, 120, 240])
            t = TS.combine(today - dt.timedelta(days=rng.choice([0, 1, 3, days, 12])), T(0)) + \
                dt.timedelta(minutes=rng.randint(0, 600))
            stop_ok = now - dt.timedelta(minutes=rng.choice([0, 0, 200, 3000, 20000]))
            while t < now:
                r = rng.random()
                estado = "exitoso" if (r > 0.25 and t < stop_ok) else rng.choice(["fallido", "parcial", "en_proceso"])
                h.add("inventario", sid, t + dt.timedelta(seconds=rng.uniform(0, 59)), t.date(), t.date(), None,
                      None, estado, dur=duration(rng, 900), error=rng.choice(ERRORS),
                      message=rng.choice(MESSAGES), name=name)
                t += dt.timedelta(minutes=step * rng.choice([1, 1, 1, 3]))
    # Rows exactly on the boundaries of the slot-aligned now the explicit calls also use.
    now_b = slot_floor(now, slot)
    sid = f"tienda_{rng.randint(1, 5):02d}"
    if rng.random() < 0.6:
        start = now_b - dt.timedelta(minutes=cfg["atascado_minutos"])
        h.add("ventas", sid, start, start.date(), start.date(), slot_floor(start, 30).time(),
              (slot_floor(start, 30) + 30 * MIN).time() if slot_floor(start, 30).time() < T(23, 30) else T(23, 59, 59),
              "en_proceso")
    if rng.random() < 0.6:
        end = now_b - dt.timedelta(minutes=cfg["inventario_vencido_minutos"])
        h.add("inventario", sid, end - dt.timedelta(seconds=12.5), end.date(), end.date(), dur=12.5)
    summary = rng.choice(["fresh", "refreshed", "refreshed_late", "invalid", "forgotten"])
    return Case(f"random #{index}", now, cfg, stores, h.finish(shuffle_ids=rng if rng.random() < 0.2 else None),
                summary=summary, live=True)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

def duckdb_refresh_sql():
    """What klk-etl runs to refresh DuckDB's summary (REFRESH_SUMMARY in schema/mod.rs)."""
    return klkpg.duckdb_sql("summary_refresh.sql")


class Engines:
    def __init__(self, duck_path, pg_url):
        self.duck = duckdb.connect(duck_path)
        self.duck.execute("SET autoinstall_known_extensions = false")
        self.pg = psycopg2.connect(pg_url)
        self.pg.autocommit = True
        self.refresh_duck = duckdb_refresh_sql()

    def reset(self):
        for table in ("etl_ejecuciones", "etl_tiendas", "etl_configuracion", "etl_resumen",
                      "etl_resumen_pendientes", "etl_resumen_estado"):
            self.duck.execute(f"DELETE FROM {table}")
            with self.pg.cursor() as c:
                c.execute(f"DELETE FROM {table}")

    def insert(self, table, columns, rows):
        if not rows:
            return
        values = [[r[c] for r in rows] for c in columns]
        names = ", ".join(columns)
        self.duck.execute(
            f"INSERT INTO {table} ({names}) SELECT {', '.join(f'unnest(${i + 1})' for i in range(len(columns)))}",
            values,
        )
        with self.pg.cursor() as c:
            psycopg2.extras.execute_values(
                c, f"INSERT INTO {table} ({names}) VALUES %s", [[r[col] for col in columns] for r in rows],
                page_size=1000)

    def refresh_duckdb(self, full=False):
        self.duck.execute("BEGIN TRANSACTION")
        if full:
            self.duck.execute("DELETE FROM etl_resumen_estado")
        self.duck.execute(self.refresh_duck)
        self.duck.execute("COMMIT")

    def refresh(self, full=False):
        self.refresh_duckdb(full)
        # klk_refrescar_resumen returns false, doing nothing, when another session holds a
        # conflicting lock on its tables. No client of ours does, but autovacuum does (its SHARE
        # UPDATE EXCLUSIVE lock conflicts with the refresh's SHARE NOWAIT), and this harness's
        # deletes between cases feed it: wait for it, a while, as a caller would try again later.
        holders = set()
        with self.pg.cursor() as c:
            for attempt in range(150):
                c.execute("SELECT klk_refrescar_resumen(%s)", (full,))
                if c.fetchone()[0]:
                    if attempt:
                        print(f"equality: klk_refrescar_resumen skipped {attempt} times, while held by "
                              f"{sorted(holders)}", flush=True)
                    return
                c.execute("SELECT DISTINCT a.backend_type || ': ' || coalesce(a.query, '') "
                          "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                          "WHERE l.relation IN ('etl_ejecuciones'::regclass, 'etl_resumen_estado'::regclass) "
                          "AND l.pid <> pg_backend_pid()")
                holders.update(r[0] for r in c.fetchall())
                time.sleep(0.2)
        raise RuntimeError(f"klk_refrescar_resumen was skipped for 30 s; lock holders seen: {sorted(holders)}")

    def execute_both(self, sql_duck, sql_pg, params=()):
        self.duck.execute(sql_duck, list(params))
        with self.pg.cursor() as c:
            c.execute(sql_pg, params)

    def load(self, case, rng):
        self.reset()
        self.insert("etl_configuracion", CONFIG_COLUMNS, [case.config])
        self.insert("etl_tiendas", STORE_COLUMNS, case.stores)
        rows = case.executions
        self.refresh(full=True)  # the state a migration leaves: an empty, valid summary
        if case.summary == "fresh" or not rows:
            self.insert("etl_ejecuciones", EXEC_COLUMNS, rows)
            return
        # Part of the history, some of it still en_proceso; the summary refreshed; the rest,
        # and those executions finished as klk-etl finishes them.
        by_id = sorted(rows, key=lambda r: r["id"])
        cut = max(1, int(len(by_id) * rng.uniform(0.3, 0.9)))
        first, rest = by_id[:cut], by_id[cut:]
        pending = [r for r in first if r["estado"] != "en_proceso" and rng.random() < 0.05]
        staged = [dict(r, estado="en_proceso", fecha_fin=None, duracion_segundos=None)
                  if r in pending else r for r in first]
        # Now and then a row committed after the refresh with an id below its watermark (a
        # runner's insert that was still in flight, or a hand insert). Not together with the
        # deletes of "invalid": one delete and one such insert leave DuckDB's count check
        # satisfied with a stale summary (PostgreSQL's triggers see both), a DuckDB defect.
        late = ([staged.pop(rng.randrange(len(staged)))]
                if case.summary == "refreshed_late" and len(staged) > 2 else [])
        pending = [r for r in pending if all(r is not x for x in late)]
        self.insert("etl_ejecuciones", EXEC_COLUMNS, staged)
        self.refresh()
        self.insert("etl_ejecuciones", EXEC_COLUMNS, late)
        self.insert("etl_ejecuciones", EXEC_COLUMNS, rest)
        for r in pending:
            self.execute_both(
                "UPDATE etl_ejecuciones SET estado = ?, fecha_fin = ?, duracion_segundos = ? WHERE id = ?",
                "UPDATE etl_ejecuciones SET estado = %s, fecha_fin = %s, duracion_segundos = %s WHERE id = %s",
                (r["estado"], r["fecha_fin"], r["duracion_segundos"], r["id"]))
        if case.summary == "invalid":
            # A purge below the summary's watermark: the counts no longer add up.
            victims = [r["id"] for r in first[: max(1, len(first) // 20)]]
            for vid in victims:
                self.execute_both("DELETE FROM etl_ejecuciones WHERE id = ?",
                                  "DELETE FROM etl_ejecuciones WHERE id = %s", (vid,))
        elif case.summary == "forgotten":
            self.execute_both("DELETE FROM etl_resumen_estado", "DELETE FROM etl_resumen_estado")


# ---------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------

SPENT = {"duckdb": 0.0, "postgres": 0.0, "klk-etl": 0.0, "load": 0.0}


def duck_query(con, sql, params):
    started = time.perf_counter()
    cur = con.execute(sql, list(params))
    cols = [(d[0], str(d[1])) for d in cur.description]
    rows = cur.fetchall()
    SPENT["duckdb"] += time.perf_counter() - started
    return cols, rows


def pg_query(con, sql, params):
    started = time.perf_counter()
    with con.cursor() as cur:
        cur.execute(sql, params)
        cols = [(d.name, PG_TYPES.get(d.type_code, f"oid {d.type_code}")) for d in cur.description]
        rows = cur.fetchall()
    SPENT["postgres"] += time.perf_counter() - started
    return cols, rows


def norm(v):
    if isinstance(v, float):
        return v
    if isinstance(v, (TS, D, T)):
        return v.isoformat()
    if isinstance(v, list):
        return tuple(v)
    return v


def sort_key(row):
    return tuple((0, "") if v is None else (1, f"{v:.6f}") if isinstance(v, float) else (1, str(v))
                 for v in row)


def close_enough(a, b, tol):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= max(tol[0], tol[1] * max(abs(a), abs(b)))
    return a == b


class Failures:
    def __init__(self):
        self.items = []
        self.checks = 0
        self.rows = 0

    def add(self, case, what, detail):
        self.items.append((case, what, detail))
        print(f"DIFFERENT  [{case}] {what}\n{detail}\n", flush=True)


# Python's duckdb wheel is compiled with FMA contraction; klk-etl's bundled DuckDB is not (nor is
# PostgreSQL's arithmetic). So quantile_cont's lo * (1 - d) + hi * d can differ in its last bit
# between the two DuckDBs, and a mean's last bit depends on the order rows are summed in: once
# rounded to 3 decimals, a value on a half of the last digit can differ by 0.001. Against
# Python's duckdb these two columns are compared to 0.001; against klk-etl's own output
# (check_binary) the p95 must be equal.
STATS = {"duracion_promedio_seg": (0.0011, 0), "duracion_p95_seg": (0.0011, 0)}


def compare(engines, failures, case, what, duck_sql, pg_sql, params, types, tolerances=None,
            retries=0):
    tolerances = dict(STATS, **(tolerances or {}))
    for attempt in range(retries + 1):
        dcols, drows = duck_query(engines.duck, duck_sql, params)
        pcols, prows = pg_query(engines.pg, pg_sql, params)
        problems = []
        if [c for c, _ in dcols] != [c for c, _ in pcols]:
            problems.append(f"  columns differ:\n    duckdb:   {[c for c, _ in dcols]}\n"
                            f"    postgres: {[c for c, _ in pcols]}")
        else:
            for (name, dtype), (_, ptype) in zip(dcols, pcols):
                allowed = types.get(dtype.split("(")[0], {dtype})
                if ptype not in allowed:
                    problems.append(f"  column {name}: DuckDB {dtype}, PostgreSQL {ptype} (expected {sorted(allowed)})")
        drows = sorted([tuple(norm(v) for v in r) for r in drows], key=sort_key)
        prows = sorted([tuple(norm(v) for v in r) for r in prows], key=sort_key)
        if len(drows) != len(prows):
            problems.append(f"  {len(drows)} rows on DuckDB, {len(prows)} on PostgreSQL")
        names = [c for c, _ in dcols]
        shown = 0
        for dr, pr in zip(drows, prows):
            bad = [(names[i], dv, pv) for i, (dv, pv) in enumerate(zip(dr, pr))
                   if not close_enough(dv, pv, tolerances.get(names[i], (1e-12, 1e-9)))]
            if bad and shown < 5:
                problems.append("  row differs: " + "; ".join(f"{n}: duckdb={dv!r} postgres={pv!r}" for n, dv, pv in bad)
                                + f"\n    duckdb row:   {dr}\n    postgres row: {pr}")
                shown += 1
            elif bad:
                shown += 1
        if shown > 5:
            problems.append(f"  ... {shown - 5} more rows differ")
        if len(drows) != len(prows):
            dset, pset = set(map(sort_key, drows)), set(map(sort_key, prows))
            only_d = [r for r in drows if sort_key(r) not in pset][:5]
            only_p = [r for r in prows if sort_key(r) not in dset][:5]
            problems.append(f"    only on DuckDB (first 5): {only_d}\n    only on PostgreSQL (first 5): {only_p}")
        if not problems:
            failures.checks += 1
            failures.rows += len(drows)
            return drows
        if attempt < retries:
            time.sleep(0.5)  # the real clock crossed a boundary between the two reads
    failures.add(case.name, f"{what} {params!r}", "\n".join(problems))
    return None


def qmarks(n):
    return ", ".join(["?"] * n), ", ".join(["%s"] * n)


def gap_arg_sets(case):
    """The klk_gaps argument sets every case is asked with."""
    c = case.config
    now = case.now
    explicit = [now, c["horizonte_minutos"], c["slot_minutos"], c["atascado_minutos"], c["gracia_minutos"],
                c["inventario_vencido_minutos"],
                -1 if c["verificacion_cierre_minutos"] is None else c["verificacion_cierre_minutos"],
                -1 if c["verificacion_plazo_minutos"] is None else c["verificacion_plazo_minutos"]]
    now_b = slot_floor(now, c["slot_minutos"])
    gap_args = [
        explicit,
        [now_b] + explicit[1:],  # now exactly on a slot boundary
        [now] + [None] * 7,  # the stored settings
        [now, 24 * 60, None, None, None, None, 30, 360],  # `gaps --max-hours 24`, verification on
        [now, None, None, 7, 0, 60, -1, -1],  # verification off
        [now - dt.timedelta(minutes=37, seconds=11), None, None, None, None, None, None, None],
        [now + dt.timedelta(hours=5), c["horizonte_minutos"] * 2, None, None, None, None, 90, 90],
    ]
    return explicit, now_b, gap_args


def gaps_everywhere(engines, failures, case, stage, few=False):
    """klk_gaps compared with every argument set, or (few) with the stored settings, a horizon
    twice as long and another slot length than the stored one (the kept coverage is for the
    stored one)."""
    explicit, _, gap_args = gap_arg_sets(case)
    other_slot = 15 if case.config["slot_minutos"] != 15 else 60
    gap_args = ([gap_args[0], gap_args[-1]] if few else gap_args) + [[case.now, None, other_slot] + [None] * 5]
    _, pq = qmarks(8)
    what = "klk_gaps" if stage is None else f"klk_gaps ({stage})"
    for args in gap_args:
        compare(engines, failures, case, what,
                f"SELECT * FROM klk_gaps(CAST(? AS TIMESTAMP), {', '.join(['?'] * 7)})",
                f"SELECT * FROM klk_gaps({pq})", args, FUNCTION_TYPES)


def check_case(engines, failures, case, rng):
    c = case.config
    now = case.now
    explicit, now_b, _ = gap_arg_sets(case)
    gaps_everywhere(engines, failures, case, None)
    ver_args = [
        [now, c["horizonte_minutos"], explicit[6], explicit[7], c["atascado_minutos"]],
        [now, None, None, None, None],
        [now, None, 30, 360, None],
        [now - dt.timedelta(hours=7), 72 * 60, 0, 0, 1],
        [now_b, c["horizonte_minutos"], explicit[6], explicit[7], c["atascado_minutos"]],
    ]
    dq, pq = qmarks(5)
    for args in ver_args:
        compare(engines, failures, case, "klk_verificaciones",
                f"SELECT * FROM klk_verificaciones(CAST(? AS TIMESTAMP), ?, ?, ?, ?)",
                f"SELECT * FROM klk_verificaciones({pq})", args, FUNCTION_TYPES)
    midnight = TS.combine(now.date(), T(0))
    for at, days in ((now, 1), (now, 7), (now, 30), (now, None), (midnight, 7), (now_b, 2)):
        compare(engines, failures, case, "klk_metricas",
                "SELECT * FROM klk_metricas(CAST(? AS TIMESTAMP), ?)",
                "SELECT * FROM klk_metricas(%s, %s)", [at, days], FUNCTION_TYPES)
    compare(engines, failures, case, "klk_resumen", "SELECT * FROM klk_resumen()",
            "SELECT * FROM klk_resumen()", [], FUNCTION_TYPES)
    compare(engines, failures, case, "klk_tiendas", "SELECT * FROM klk_tiendas()",
            "SELECT * FROM klk_tiendas()", [], FUNCTION_TYPES)
    compare(engines, failures, case, "v_ultimas_ejecuciones", "SELECT * FROM v_ultimas_ejecuciones",
            "SELECT * FROM v_ultimas_ejecuciones", [], TABLE_TYPES)
    if case.live:
        # The views use the real now (UTC plus the stored offset) on both engines.
        compare(engines, failures, case, "v_gaps_por_recuperar", "SELECT * FROM v_gaps_por_recuperar",
                "SELECT * FROM v_gaps_por_recuperar", [], FUNCTION_TYPES,
                tolerances={"horas_desde_fallo": (0.01, 0)}, retries=2)
        compare(engines, failures, case, "v_metricas_confiabilidad", "SELECT * FROM v_metricas_confiabilidad",
                "SELECT * FROM v_metricas_confiabilidad", [], FUNCTION_TYPES, retries=2)


def metrics_everywhere(engines, failures, case, stage):
    now = case.now
    midnight = TS.combine(now.date(), T(0))
    for at, days in ((now, 1), (now, 7), (now, 30), (now, None), (midnight, 7)):
        compare(engines, failures, case, f"klk_metricas ({stage})",
                "SELECT * FROM klk_metricas(CAST(? AS TIMESTAMP), ?)",
                "SELECT * FROM klk_metricas(%s, %s)", [at, days], FUNCTION_TYPES)


def check_kept_metrics(engines, failures, case):
    """PostgreSQL keeps the per-day metrics of past days (etl_metricas_dia, migration 14):
    with every day kept, then after an execution of a kept day is changed, deleted and added
    (the triggers must take the day off), klk_metricas still answers what DuckDB's does."""
    with engines.pg.cursor() as c:
        c.execute("SELECT klk_llenar_metricas(62)")
        c.execute("SELECT count(*) FROM etl_metricas_dias")
        kept = c.fetchone()[0]
    metrics_everywhere(engines, failures, case, f"{kept} days kept")
    if not case.executions:
        return
    first = min(case.executions, key=lambda r: (r["fecha_inicio"], r["id"]))
    last = max(case.executions, key=lambda r: (r["fecha_inicio"], r["id"]))
    engines.execute_both(
        "UPDATE etl_ejecuciones SET duracion_segundos = coalesce(duracion_segundos, 0) + 1.25, estado = 'parcial' "
        "WHERE id = ?",
        "UPDATE etl_ejecuciones SET duracion_segundos = coalesce(duracion_segundos, 0) + 1.25, estado = 'parcial' WHERE id = %s",
        (first["id"],))
    metrics_everywhere(engines, failures, case, "a kept day's execution changed")
    with engines.pg.cursor() as c:
        c.execute("SELECT klk_llenar_metricas(62)")
    if last["id"] != first["id"]:
        engines.execute_both("DELETE FROM etl_ejecuciones WHERE id = ?",
                             "DELETE FROM etl_ejecuciones WHERE id = %s", (last["id"],))
        metrics_everywhere(engines, failures, case, "a kept day's execution deleted")
        with engines.pg.cursor() as c:
            c.execute("SELECT klk_llenar_metricas(62)")
    new_id = max(r["id"] for r in case.executions) + 1000
    # A microsecond after the first (the same start would be a tie DuckDB's arg_max breaks
    # either way, a documented difference), on the same day.
    start = first["fecha_inicio"] + dt.timedelta(microseconds=1)
    if start.date() != first["fecha_inicio"].date():
        start = first["fecha_inicio"] - dt.timedelta(microseconds=1)
    added = (new_id, first["etl_tipo"], first["ubicacion_id"], "Añadida", start,
             start + dt.timedelta(seconds=3), 3.0, first["fecha_desde"], first["fecha_desde"],
             "exitoso", 7, 7)
    engines.execute_both(
        "INSERT INTO etl_ejecuciones (id, etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_fin, "
        "duracion_segundos, fecha_desde, fecha_hasta, estado, registros_extraidos, registros_cargados) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO etl_ejecuciones (id, etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_fin, "
        "duracion_segundos, fecha_desde, fecha_hasta, estado, registros_extraidos, registros_cargados) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", added)
    metrics_everywhere(engines, failures, case, "an execution added to a kept day")
    with engines.pg.cursor() as c:
        c.execute("SELECT klk_llenar_metricas(62)")
    metrics_everywhere(engines, failures, case, "kept again")


def check_kept_coverage(engines, failures, case):
    """PostgreSQL keeps the sales coverage of past days (etl_cobertura_dia, migration 16):
    with every day of the horizon kept, then after a kept day's success is changed, deleted,
    moved to another day, and after successes (one day, several days) and a live run are
    added (the triggers must take the days off), klk_gaps still answers what DuckDB's does."""
    def keep():
        with engines.pg.cursor() as c:
            c.execute("SELECT klk_llenar_cobertura(62)")
            c.execute("SELECT array_agg(fecha ORDER BY fecha) FROM etl_cobertura_dias")
            return c.fetchone()[0] or []
    if case.summary != "fresh" and not case.name.startswith("random"):
        # The same history as the case without "(summary ...)", checked there. (Loaded in
        # parts around a refresh, which kept coverage the later rows then changed: check_case
        # compared that state.)
        return
    kept = keep()
    gaps_everywhere(engines, failures, case, f"{len(kept)} days' coverage kept")
    with engines.pg.cursor() as c:
        c.execute("SELECT id, ubicacion_id, fecha_desde FROM etl_ejecuciones "
                  "WHERE etl_tipo = 'ventas' AND estado = 'exitoso' AND fecha_desde = fecha_hasta "
                  "AND fecha_desde = ANY (%s) ORDER BY fecha_inicio, id", (kept,))
        ok_kept = [dict(zip(("id", "ubicacion_id", "fecha_desde"), r)) for r in c.fetchall()]
        c.execute("SELECT coalesce(max(id), 0) FROM etl_ejecuciones")
        new_id = c.fetchone()[0] + 1
    if not ok_kept:
        return
    first, last = ok_kept[0], ok_kept[-1]
    steps = [
        ("a kept day's success failed", "UPDATE etl_ejecuciones SET estado = 'fallido', error_tipo = 'timeout' WHERE id = {}",
         first["id"]),
        ("a kept day's success deleted", "DELETE FROM etl_ejecuciones WHERE id = {}", last["id"]),
    ]
    other_day = next((d for d in kept if d != first["fecha_desde"]), None)
    if other_day is not None and len(ok_kept) > 2:
        steps.append(("a kept day's success moved to another kept day",
                      f"UPDATE etl_ejecuciones SET fecha_desde = DATE '{other_day}', fecha_hasta = DATE '{other_day}' "
                      "WHERE id = {}", ok_kept[1]["id"]))
    for stage, sql, row_id in steps:
        engines.execute_both(sql.format("?"), sql.format("%s"), (row_id,))
        # DuckDB's summary (each store's first sales window, which klk_tiendas reads) is checked
        # by row count: after the late insert of "refreshed_late", a delete leaves it stale (a
        # DuckDB defect, see Engines.load). Rebuilt on DuckDB only: PostgreSQL's kept coverage
        # stays as its triggers left it.
        engines.refresh_duckdb(full=True)
        gaps_everywhere(engines, failures, case, stage, few=True)
        keep()
    day = first["fecha_desde"]
    start = dt.datetime.combine(case.now.date(), T(0)) if case.now.date() > day else case.now
    insert_d = ("INSERT INTO etl_ejecuciones (id, etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, "
                "fecha_desde, fecha_hasta, hora_desde, hora_hasta, estado) VALUES (?, 'ventas', ?, 'Añadida', ?, ?, ?, ?, ?, ?)")
    insert_p = insert_d.replace("?", "%s")
    added = [
        ("a whole-day success added to a kept day",
         (new_id, first["ubicacion_id"], start, day, day, None, None, "exitoso")),
        ("a success of several days added, ending on a kept day",
         (new_id + 1, last["ubicacion_id"], start, day - dt.timedelta(days=2), day, T(9), T(10), "exitoso")),
        ("a live run added to a kept day",
         (new_id + 2, last["ubicacion_id"], case.now - dt.timedelta(minutes=1), kept[-1], kept[-1], T(0), T(23, 59, 59),
          "en_proceso")),
    ]
    for stage, row in added:
        engines.execute_both(insert_d, insert_p, row)
        gaps_everywhere(engines, failures, case, stage, few=True)
        keep()
    gaps_everywhere(engines, failures, case, "kept again", few=True)


def check_binary(engines, failures, case, binary, duck_path):
    """`klk-etl gaps` and `klk-etl metrics` (JSON, --now pinned, default settings) on the DuckDB
    file against the PostgreSQL functions with the same arguments: what a user reads."""
    # No write on open: with verificacion_desde set (a date before anything, which means what
    # NULL means) and no config file, klk-etl finds nothing to synchronise.
    engines.execute_both(
        "UPDATE etl_configuracion SET verificacion_desde = coalesce(verificacion_desde, DATE '2000-01-01')",
        "UPDATE etl_configuracion SET verificacion_desde = coalesce(verificacion_desde, DATE '2000-01-01')")
    engines.duck.close()
    try:
        # klk-etl's zone is America/Caracas (UTC-4, no DST) without a config file.
        now_utc = (case.now + dt.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        base = [binary, "--db", duck_path, "--quiet", "--format", "json", "--now", now_utc]
        env = dict(os.environ, NO_COLOR="1")
        env.pop("KLK_ETL_CONFIG", None)
        runs = [("gaps", ["gaps"], "SELECT * FROM klk_gaps(%s, 10080, 30, 60, 30, 120, 180, 540)", [case.now])]
        for days in (1, 7, 30):
            runs.append((f"metrics --days {days}", ["metrics", "--days", str(days)],
                         "SELECT * FROM klk_metricas(%s, %s)", [case.now, days]))
        for what, argv, sql, params in runs:
            out = subprocess.run(base + argv, capture_output=True, text=True, cwd=os.path.dirname(duck_path),
                                 env=env)
            if out.returncode not in (0,):
                failures.add(case.name, f"klk-etl {what}", f"  exit {out.returncode}: {out.stderr.strip()}")
                continue
            data = json.loads(out.stdout)
            rows = data if what == "gaps" else data["por_dia"]
            cols, prows = pg_query(engines.pg, sql, params)
            names = [c for c, _ in cols]
            types = dict(cols)
            fields = list(rows[0].keys()) if rows else [n for n in names]
            missing = [f for f in fields if f not in types]
            if missing:
                failures.add(case.name, f"klk-etl {what}", f"  fields {missing} are not columns of the function")
                continue

            def parse(field, value):
                if value is None:
                    return None
                kind = types[field]
                if kind == "TIMESTAMP":
                    return dt.datetime.fromisoformat(value).isoformat()
                if kind == "DATE":
                    return dt.date.fromisoformat(value).isoformat()
                if kind == "TIME":
                    return dt.time.fromisoformat(value).isoformat()
                if kind == "DOUBLE":
                    return float(value)
                return value

            brows = sorted([tuple(parse(f, r[f]) for f in fields) for r in rows], key=sort_key)
            prows = sorted([tuple(norm(r[names.index(f)]) for f in fields) for r in prows], key=sort_key)
            problems = []
            if len(brows) != len(prows):
                problems.append(f"  {len(brows)} rows from klk-etl, {len(prows)} from PostgreSQL")
            for br, pr in zip(brows, prows):
                bad = [(f, b, p) for f, b, p in zip(fields, br, pr)
                       if not close_enough(b, p, (0.0011, 0) if f == "duracion_promedio_seg" else (0, 0))]
                if bad:
                    problems.append("  row differs: " + "; ".join(f"{f}: klk-etl={b!r} postgres={p!r}" for f, b, p in bad))
                    if len(problems) > 5:
                        break
            if problems:
                failures.add(case.name, f"klk-etl {what} vs PostgreSQL", "\n".join(problems))
            else:
                failures.checks += 1
                failures.rows += len(brows)
    finally:
        engines.duck = duckdb.connect(duck_path)
        engines.duck.execute("SET autoinstall_known_extensions = false")


def check_now(engines, failures):
    """klk_now_local() is UTC plus the stored offset on both, whatever the session's zone."""
    with engines.pg.cursor() as c:
        for zone in ("UTC", "America/Caracas", "Asia/Kolkata", "Pacific/Chatham"):
            c.execute("SET TIME ZONE %s", (zone,))
            c.execute("SELECT klk_now_local(), (now() AT TIME ZONE 'UTC') + make_interval(mins => "
                      "(SELECT utc_offset_minutos FROM etl_configuracion))")
            got, want = c.fetchone()
            d = engines.duck.execute("SELECT klk_now_local()").fetchone()[0]
            if got != want or abs((got - d).total_seconds()) > 5:
                failures.add("klk_now_local", f"TimeZone {zone}",
                             f"  postgres {got}, expected {want}, duckdb {d}")
            else:
                failures.checks += 1
        c.execute("RESET TIME ZONE")


# information_schema's data_type in PostgreSQL, as DuckDB names the same type.
PG_TABLE_TYPES = {"character varying": "VARCHAR", "text": "VARCHAR", "integer": "INTEGER",
                  "bigint": "BIGINT", "smallint": "SMALLINT", "double precision": "DOUBLE",
                  "date": "DATE", "time without time zone": "TIME",
                  "timestamp without time zone": "TIMESTAMP", "boolean": "BOOLEAN",
                  "_varchar": "VARCHAR[]", "_text": "VARCHAR[]"}  # arrays: by udt_name


def table_layouts(columns, keys):
    """{table: ([(column, type, nullable), ...] in order, (primary key columns, in order))}:
    a primary key column counts as NOT NULL whatever the catalog says."""
    layouts = {}
    for table, column, ty, nullable in columns:
        layouts.setdefault(table, ([], keys.get(table, ())))[0].append(
            (column, ty, nullable and column not in keys.get(table, ())))
    return layouts


# What PostgreSQL keeps and DuckDB does without (its columnar scan is fast enough): the per-day
# metrics of past days (migration 14), derived from etl_ejecuciones, never the only copy.
PG_ONLY_TABLES = {"etl_metricas_dia", "etl_metricas_dias", "etl_cobertura_dia", "etl_cobertura_dias"}


def check_tables(engines, failures):
    """Every table of the DuckDB file klk-etl made (ventas, inventario and the tracking tables,
    migrations 1 to the latest) exists in PostgreSQL with the same columns in the same order,
    the same types (DOUBLE is DOUBLE PRECISION there), nullability and primary key, and
    PostgreSQL has no table DuckDB lacks but PG_ONLY_TABLES."""
    duck = table_layouts(
        engines.duck.execute(
            "SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name IN (SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_type = 'BASE TABLE') "
            "ORDER BY table_name, ordinal_position").fetchall(),
        {t: tuple(k) for t, k in engines.duck.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE schema_name = 'main' AND constraint_type = 'PRIMARY KEY'").fetchall()})
    with engines.pg.cursor() as c:
        c.execute("SELECT c.table_name, c.column_name, "
                  "CASE WHEN c.data_type = 'ARRAY' THEN c.udt_name ELSE c.data_type END, c.is_nullable = 'YES' "
                  "FROM information_schema.columns c JOIN information_schema.tables t "
                  "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
                  "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
                  "ORDER BY c.table_name, c.ordinal_position")
        pg_columns = [(t, col, PG_TABLE_TYPES.get(ty, f"PostgreSQL {ty}"), n) for t, col, ty, n in c.fetchall()]
        c.execute("SELECT tc.table_name, array_agg(k.column_name::text ORDER BY k.ordinal_position) "
                  "FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage k "
                  "ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name "
                  "WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'PRIMARY KEY' "
                  "GROUP BY tc.table_name")
        pg = table_layouts(pg_columns, {t: tuple(k) for t, k in c.fetchall()})
    for table in sorted(set(duck) | set(pg)):
        failures.checks += 1
        if table not in pg:
            failures.add("tables", f"{table}: in DuckDB, not in PostgreSQL", duck[table])
        elif table not in duck and table not in PG_ONLY_TABLES:
            failures.add("tables", f"{table}: in PostgreSQL, not in DuckDB", pg[table])
        elif table not in duck:
            continue
        elif duck[table] != pg[table]:
            d_cols, d_key = duck[table]
            p_cols, p_key = pg[table]
            detail = [f"  column {i + 1}: DuckDB {a} | PostgreSQL {b}"
                      for i, (a, b) in enumerate(itertools.zip_longest(d_cols, p_cols)) if a != b]
            if d_key != p_key:
                detail.append(f"  primary key: DuckDB {d_key} | PostgreSQL {p_key}")
            failures.add("tables", f"{table}: columns or key differ", "\n".join(detail))
    return len(set(duck) | set(pg))


def check_round(engines, failures, rng):
    """klk_round against DuckDB's round(DOUBLE, n) on values that stress halves."""
    values = [0.0125, 1.0005, 2.675, 0.125, -0.125, -2.675, 1e-9, 123456.7895, 0.0, None, 5e15, -0.0005]
    values += [round(rng.uniform(-1000, 1000), rng.randint(1, 6)) for _ in range(3000)]
    values += [rng.randint(0, 10 ** 6) / 10 ** rng.randint(1, 5) + 0.0005 for _ in range(3000)]
    for n in (2, 3):
        d = engines.duck.execute(f"SELECT round(x, {n}) FROM unnest(?::DOUBLE[]) t(x)", [values]).fetchall()
        with engines.pg.cursor() as c:
            c.execute(f"SELECT klk_round(x, {n}) FROM unnest(%s::float8[]) WITH ORDINALITY t(x, o) ORDER BY o",
                      (values,))
            p = c.fetchall()
        bad = [(v, a[0], b[0]) for v, a, b in zip(values, d, p) if a[0] != b[0]]
        if bad:
            failures.add("klk_round", f"n={n}", f"  {len(bad)} values differ, e.g. {bad[:5]}")
        else:
            failures.checks += 1


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="a PostgreSQL URL whose role may create databases")
    ap.add_argument("--bin", required=True, help="the klk-etl release binary (makes the DuckDB file)")
    ap.add_argument("--random", type=int, default=150, help="random histories (default 150)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock, printed)")
    ap.add_argument("--only", default=None, help="run only the cases whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep the DuckDB file and PostgreSQL database")
    ap.add_argument("--quick", action="store_true",
                    help="no klk-etl runs and the hand cases under one summary state only (for mutants.py)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    print(f"equality: seed {seed} (rerun with --seed {seed})", flush=True)

    work = tempfile.mkdtemp(prefix="klk-pg-equality-")
    duck_path = os.path.join(work, "klk.duckdb")
    started = time.perf_counter()
    out = subprocess.run([args.bin, "--db", duck_path, "--quiet", "db", "migrate"], cwd=work,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"equality: klk-etl db migrate failed ({out.returncode}): {out.stderr.strip()}")
    dbname = f"klk_equality_{os.getpid()}"
    pg_url = klkpg.fresh_database(args.url, dbname)
    # DuckDB's migrations as klk-etl reports them (db info), checked against schema/mod.rs.
    descriptions = klkpg.duckdb_migrations(args.bin)
    latest = max(descriptions)
    pg = psycopg2.connect(pg_url)
    applied = klkpg.apply_schema(pg, descriptions)
    pg.close()
    if [v for v, _ in applied] != list(range(1, latest + 1)):
        sys.exit(f"equality: PostgreSQL migrations applied {[v for v, _ in applied]}, "
                 f"DuckDB's schema version (klk-etl db info) is {latest}: a version is missing")
    # Migrating again applies nothing (idempotent).
    pg = psycopg2.connect(pg_url)
    if klkpg.apply_schema(pg, descriptions):
        sys.exit("equality: a second migration applied something")
    pg.close()
    print(f"equality: DuckDB {duck_path} (klk-etl db migrate), PostgreSQL database {dbname} "
          f"(versions 1-{latest}), ready in {time.perf_counter() - started:.1f} s", flush=True)

    engines = Engines(duck_path, pg_url)
    failures = Failures()
    tables = check_tables(engines, failures)
    print(f"equality: {tables} tables compared (columns, types, nullability, primary key)", flush=True)
    check_round(engines, failures, rng)
    # (name, make) pairs: random histories are made when their turn comes, relative to the
    # clock then (the views read the real now).
    cases = [(c.name, (lambda c=c: c)) for c in hand_cases()]
    for case in hand_cases():  # the hand cases also under every state of the summary
        modes = ("refreshed", "refreshed_late", "invalid", "forgotten")
        if args.quick and not case.name.startswith("failures, recoveries"):
            modes = ()
        for mode in modes:
            cases.append((f"{case.name} (summary {mode})",
                          lambda case=case, mode=mode: Case(f"{case.name} (summary {mode})", case.now,
                                                            case.config, case.stores,
                                                            [dict(r) for r in case.executions],
                                                            summary=mode)))
    for i in range(args.random):
        cases.append((f"random #{i}", lambda i=i: random_case(
            random.Random(seed * 1000003 + i), i, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))))
    if args.only:
        cases = [c for c in cases if args.only in c[0]]
    executions = 0
    for i, (name, make) in enumerate(cases):
        case = make()
        try:
            t0 = time.perf_counter()
            engines.load(case, random.Random(seed + i))
            SPENT["load"] += time.perf_counter() - t0
            if i == 0:
                check_now(engines, failures)
            check_case(engines, failures, case, rng)
            check_kept_metrics(engines, failures, case)
            check_kept_coverage(engines, failures, case)
            if not args.quick:
                t0 = time.perf_counter()
                check_binary(engines, failures, case, args.bin, duck_path)
                SPENT["klk-etl"] += time.perf_counter() - t0
        except Exception:
            failures.add(case.name, "raised", traceback.format_exc())
        executions += len(case.executions)
        if (i + 1) % 25 == 0:
            print(f"equality: {i + 1}/{len(cases)} cases, {failures.checks} comparisons equal, "
                  f"{len(failures.items)} different", flush=True)
    engines.duck.close()
    engines.pg.close()
    elapsed = time.perf_counter() - started
    if not args.keep:
        klkpg.drop_database(args.url, dbname)
        shutil.rmtree(work, ignore_errors=True)
    print("equality: time spent: " + ", ".join(f"{k} {v:.1f} s" for k, v in SPENT.items()))
    print(f"equality: {len(cases)} histories ({executions} executions), {failures.checks} comparisons "
          f"({failures.rows} rows) equal, {len(failures.items)} different, in {elapsed:.0f} s; seed {seed}")
    if failures.items:
        print("equality: FAILED: " + "; ".join(f"[{c}] {w}" for c, w, _ in failures.items[:10]))
        sys.exit(1)
    print("equality: OK: the PostgreSQL logic answers what DuckDB's does")


if __name__ == "__main__":
    main()
