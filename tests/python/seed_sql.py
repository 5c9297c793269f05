"""Runs every SQL snippet of the seed document (ETL_TRACKING_RECUPERACION.md), unchanged,
against a klk-etl database with Python's duckdb (which, unlike klk-etl's bundled DuckDB,
has ICU: CURRENT_DATE and CURRENT_TIMESTAMP work and follow the host's time zone).

Usage: python seed_sql.py DB_FILE [--write]
Prints one JSON object: each snippet's rows (as strings), or its error.
--write also runs the seed's maintenance statements (purge and manual unstick).
"""

import json
import subprocess
import sys

import duckdb

READ_SNIPPETS = {
    "ultimas_10_ventas": """
SELECT
    fecha_inicio,
    ubicacion_nombre,
    estado,
    modo,
    registros_cargados,
    duracion_segundos,
    error_tipo
FROM etl_ejecuciones
WHERE etl_tipo = 'ventas'
ORDER BY fecha_inicio DESC
LIMIT 10;
""",
    "gaps_actuales": """
SELECT
    ubicacion_nombre,
    fecha_desde,
    hora_desde,
    hora_hasta,
    error_tipo,
    horas_desde_fallo
FROM v_gaps_por_recuperar
ORDER BY fecha_fallo ASC;
""",
    "gaps_campos": """
SELECT
    etl_tipo,
    ubicacion_id,
    ubicacion_nombre,
    fecha_desde,
    fecha_hasta,
    hora_desde,
    hora_hasta,
    fecha_fallo,
    error_tipo,
    error_mensaje,
    horas_desde_fallo          -- Tiempo transcurrido desde el fallo
FROM v_gaps_por_recuperar
ORDER BY fecha_fallo ASC;
""",
    "metricas_campos": """
SELECT
    etl_tipo,
    ubicacion_id,
    ubicacion_nombre,
    fecha,                         -- Día agregado
    total_ejecuciones,
    ejecuciones_exitosas,
    ejecuciones_fallidas,
    tasa_exito_pct,               -- % de éxito
    duracion_promedio_seg,        -- Tiempo promedio
    total_registros_cargados
FROM v_metricas_confiabilidad
ORDER BY fecha DESC, ubicacion_id;
""",
    "dashboard_hoy": """
SELECT
    ubicacion_nombre,
    total_ejecuciones,
    ejecuciones_exitosas,
    ejecuciones_fallidas,
    tasa_exito_pct,
    duracion_promedio_seg
FROM v_metricas_confiabilidad
WHERE fecha = CURRENT_DATE
    AND etl_tipo = 'ventas'
ORDER BY tasa_exito_pct ASC;
""",
    "total_ejecuciones": "SELECT COUNT(*) as total_ejecuciones FROM etl_ejecuciones;",
    "rango_fechas": "SELECT MIN(fecha_inicio), MAX(fecha_inicio) FROM etl_ejecuciones;",
}

WRITE_SNIPPETS = {
    "unstick_manual": """
UPDATE etl_ejecuciones
SET estado = 'fallido',
    fecha_fin = CURRENT_TIMESTAMP,
    error_tipo = 'interrumpido',
    error_mensaje = 'Proceso interrumpido manualmente'
WHERE estado = 'en_proceso'
    AND fecha_inicio < CURRENT_TIMESTAMP - INTERVAL '1 hour';
""",
    "purge_90_dias": """
DELETE FROM etl_ejecuciones
WHERE fecha_inicio < CURRENT_DATE - INTERVAL '90 days';
""",
}


def run(conn, sql):
    try:
        rows = conn.execute(sql).fetchall()
        return {"rows": [[None if v is None else str(v) for v in row] for row in rows]}
    except Exception as exc:  # report, do not stop: every snippet is checked
        return {"error": f"{type(exc).__name__}: {exc}"}


def main():
    db = sys.argv[1]
    write = "--write" in sys.argv
    result = {"duckdb_version": duckdb.__version__}
    conn = duckdb.connect(db, read_only=not write)
    for name, sql in READ_SNIPPETS.items():
        result[name] = run(conn, sql)
    if write:
        for name, sql in WRITE_SNIPPETS.items():
            result[name] = run(conn, sql)
    conn.close()
    if not write:
        # The seed's monitoring script, unchanged but for the database path.
        script = MONITOR.replace("'../data/fluxion_production.db'", repr(db))
        script = script.replace("conn = duckdb.connect(" + repr(db) + ")",
                                "conn = duckdb.connect(" + repr(db) + ", read_only=True)")
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        result["monitoreo"] = {"exit": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}
    print(json.dumps(result))


MONITOR = r'''
#!/usr/bin/env python3
"""Monitoreo de ETL - Dashboard en Terminal"""

import duckdb
from datetime import date

conn = duckdb.connect('../data/fluxion_production.db')

print("\n" + "="*80)
print("📊 DASHBOARD ETL KLK - " + str(date.today()))
print("="*80 + "\n")

# Últimas ejecuciones
print("🕐 ÚLTIMAS EJECUCIONES (10):")
result = conn.execute("""
    SELECT
        fecha_inicio,
        etl_tipo,
        ubicacion_nombre,
        estado,
        registros_cargados,
        duracion_segundos
    FROM etl_ejecuciones
    ORDER BY fecha_inicio DESC
    LIMIT 10
""").fetchall()

for row in result:
    emoji = "✅" if row[3] == 'exitoso' else "❌"
    print(f"{emoji} {row[0]} | {row[1]:10} | {row[2]:15} | {row[4]:5,} recs | {row[5]:.1f}s")

# Gaps actuales
print("\n🔍 GAPS POR RECUPERAR:")
result = conn.execute("""
    SELECT
        ubicacion_nombre,
        fecha_desde,
        error_tipo,
        horas_desde_fallo
    FROM v_gaps_por_recuperar
    ORDER BY fecha_fallo ASC
""").fetchall()

if result:
    for row in result:
        print(f"⚠️  {row[0]:15} | {row[1]} | {row[2]:10} | {row[3]:.1f}h atrás")
else:
    print("✅ No hay gaps pendientes")

# Métricas de hoy
print("\n📈 MÉTRICAS DE HOY:")
result = conn.execute("""
    SELECT
        etl_tipo,
        ubicacion_nombre,
        tasa_exito_pct,
        total_ejecuciones,
        duracion_promedio_seg
    FROM v_metricas_confiabilidad
    WHERE fecha = CURRENT_DATE
    ORDER BY etl_tipo, ubicacion_nombre
""").fetchall()

for row in result:
    print(f"{row[0]:10} | {row[1]:15} | {row[2]:5.1f}% | {row[3]:2} ejecuciones | {row[4]:.1f}s avg")

conn.close()

print("\n" + "="*80 + "\n")
'''

if __name__ == "__main__":
    main()
