"""Does the equality harness notice a wrong answer? Each mutant is logic.sql with one small,
plausible mistake; equality.py must fail on every one of them (and pass on the real files).

    python tests/pg/mutants.py --url postgres://... --bin target/release/klk-etl [--random 5]

Exit 0 when every mutant was caught.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import klkpg  # noqa: E402

# (name, text in logic.sql, replacement), or (name, text, replacement, file)
MUTANTS = [
    ("grace: a slot is due only after the grace has fully passed (< for <=)",
     "OR u.slot_end <= (SELECT p2.now_ts - make_interval(mins => p2.grace_min::int) FROM p2)",
     "OR u.slot_end < (SELECT p2.now_ts - make_interval(mins => p2.grace_min::int) FROM p2)"),
    ("a window ending at :59 no longer covers the slot ending a second later",
     "ELSE c.d + c.hora_hasta END) + 1000000 - p2.slot_us) / p2.slot_us AS hi",
     "ELSE c.d + c.hora_hasta END) + 0 - p2.slot_us) / p2.slot_us AS hi"),
    ("arg_max keeps NULLs (the latest error_tipo of a gap may be NULL)",
     "FILTER (WHERE a.error_tipo IS NOT NULL))[1] AS ultimo_error_tipo",
     "FILTER (WHERE true))[1] AS ultimo_error_tipo"),
    ("metrics: one day too many",
     "WHERE e.fecha_inicio >= (p_now::date - (p_days - 1)::int)::timestamp",
     "WHERE e.fecha_inicio >= (p_now::date - (p_days)::int)::timestamp"),
    ("inventory: causa misspelt",
     "WHEN o.ultimo_ok IS NOT NULL THEN 'desactualizado'",
     "WHEN o.ultimo_ok IS NOT NULL THEN 'desactualizada'"),
    ("verification: a re-pull counts from midnight, not from the close",
     "AND x.fecha_inicio >= (d.fecha + 1)::timestamp + make_interval(mins => p2.close_min::int)",
     "AND x.fecha_inicio >= d.fecha::timestamp + make_interval(mins => p2.close_min::int)"),
    ("klk_round rounds halves to even (PostgreSQL's round(float8))",
     "WHEN abs(x * power(10::double precision, n) - trunc(x * power(10::double precision, n))) = 0.5",
     "WHEN false"),
    ("klk_resumen forgets the executions pending at the last refresh",
     "WHERE e.id IN (SELECT p.id FROM etl_resumen_pendientes p, ok WHERE ok.valido AND p.id <= ok.hasta_id)",
     "WHERE false AND e.id IN (SELECT p.id FROM etl_resumen_pendientes p, ok WHERE ok.valido AND p.id <= ok.hasta_id)"),
    ("horizon: a window ending on the horizon's first day is not read",
     "AND e.fecha_hasta >= (p_now - make_interval(mins => p_horizon_min::int))::date\n      AND e.fecha_desde <= p_now::date",
     "AND e.fecha_hasta > (p_now - make_interval(mins => p_horizon_min::int))::date\n      AND e.fecha_desde <= p_now::date"),
    ("a live en_proceso sales run is counted as stuck one minute early",
     "e.fecha_inicio >= p_now - make_interval(mins => p_stuck_min::int)) AS vivo",
     "e.fecha_inicio >= p_now - make_interval(mins => p_stuck_min::int - 1)) AS vivo"),
    ("a live en_proceso stock run is counted as stuck one minute early",
     "p.now_ts - make_interval(mins => p.stuck_min::int) AS live_since,\n        -- inventory",
     "p.now_ts - make_interval(mins => p.stuck_min::int - 1) AS live_since,\n        -- inventory"),
    ("the summary is not told of a row inserted below its watermark",
     "WHERE EXISTS (SELECT 1 FROM klk_nuevas n WHERE n.id <= r.hasta_id);",
     "WHERE false AND EXISTS (SELECT 1 FROM klk_nuevas n WHERE n.id <= r.hasta_id);",
     "007_summary.sql"),
    ("the summary is not told of deleted rows",
     "CREATE TRIGGER klk_resumen_borradas AFTER DELETE ON etl_ejecuciones",
     "CREATE TRIGGER klk_resumen_borradas AFTER DELETE ON etl_alertas",
     "007_summary.sql"),
    ("verification: a store's first day counts though it was expected only from its first window",
     "SELECT greatest((t.esperado_desde + interval '1 day' - interval '1 microsecond')::date,",
     "SELECT greatest(t.esperado_desde::date,"),
    ("the first success after a gap's failure is taken at or after it (>= for >)",
     "ON ok.ubicacion_id = g.ubicacion_id AND ok.estado = 'exitoso' AND ok.fecha_inicio > g.fecha_fallo",
     "ON ok.ubicacion_id = g.ubicacion_id AND ok.estado = 'exitoso' AND ok.fecha_inicio >= g.fecha_fallo"),
    ("ventas' key without the line (the tables' layout against DuckDB's)",
     "    PRIMARY KEY (ubicacion_id, numero_factura, linea)",
     "    PRIMARY KEY (ubicacion_id, numero_factura, linea, fecha)",
     "003_target_tables.sql"),
    ("etl_hooks.duracion_segundos a REAL (the tables' layout against DuckDB's)",
     "    duracion_segundos DOUBLE PRECISION,", "    duracion_segundos REAL,", "010_integrations.sql"),
    ("etl_invocaciones.solicitado_por left out (the tables' layout against DuckDB's)",
     "ALTER TABLE etl_invocaciones ADD COLUMN IF NOT EXISTS solicitado_por VARCHAR;", "SELECT 1;",
     "011_requested_by.sql"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--random", type=int, default=20)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--only", default=None, help="only the mutants whose name contains this")
    args = ap.parse_args()
    survivors = []
    ran = 0
    for name, old, new, *where in MUTANTS:
        if args.only and args.only not in name:
            continue
        ran += 1
        target = where[0] if where else "logic.sql"
        original = open(os.path.join(klkpg.SCHEMA_DIR, target), encoding="utf-8").read()
        if original.count(old) != 1:
            sys.exit(f"mutants: '{name}': the text to change occurs {original.count(old)} times in {target}")
        work = tempfile.mkdtemp(prefix="klk-pg-mutant-")
        try:
            for f in os.listdir(klkpg.SCHEMA_DIR):
                shutil.copy(os.path.join(klkpg.SCHEMA_DIR, f), work)
            with open(os.path.join(work, target), "w", encoding="utf-8") as out:
                out.write(original.replace(old, new))
            env = dict(os.environ, KLK_PG_SCHEMA_DIR=work)
            run = subprocess.run(
                [sys.executable, os.path.join(HERE, "equality.py"), "--url", args.url, "--bin", args.bin,
                 "--random", str(args.random), "--seed", str(args.seed), "--quick"],
                env=env, capture_output=True, text=True)
            caught = run.returncode != 0
            first = next((line for line in run.stdout.splitlines() if line.startswith("DIFFERENT")), "")
            print(f"mutants: {'caught  ' if caught else 'MISSED  '} {name}" + (f"\n           {first}" if first else ""),
                  flush=True)
            if not caught:
                survivors.append(name)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if not ran:
        sys.exit(f"mutants: no mutant's name contains '{args.only}'")
    if survivors:
        sys.exit(f"mutants: {len(survivors)} of {ran} went unnoticed: {survivors}")
    print(f"mutants: all {ran} caught")


if __name__ == "__main__":
    main()
