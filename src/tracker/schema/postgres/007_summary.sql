-- Version 7: scale. The summary of executions per store, tipo and estado behind klk_resumen()
-- (etl_resumen, etl_resumen_estado, etl_resumen_pendientes); gaps and the latest executions
-- read only the horizon.
--
-- The summary starts empty: klk_resumen() then reads the whole table (never a wrong answer,
-- only a slower one), and logic.sql builds it at the end of this migration
-- (klk_refrescar_resumen(true) when etl_resumen_estado has no row).
--
-- PostgreSQL only: indexes for what the logic reads by range (DuckDB skips row groups by their
-- min/max instead; the table is in time order there).

CREATE TABLE IF NOT EXISTS etl_resumen (
    etl_tipo VARCHAR NOT NULL,
    ubicacion_id VARCHAR NOT NULL,
    estado VARCHAR NOT NULL,
    ejecuciones BIGINT NOT NULL,
    registros_cargados BIGINT NOT NULL,
    primer_inicio TIMESTAMP,
    ultimo_inicio TIMESTAMP,
    ubicacion_nombre VARCHAR,
    primera_ventana TIMESTAMP,
    ultimo_fin TIMESTAMP
);
CREATE TABLE IF NOT EXISTS etl_resumen_estado (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hasta_id INTEGER NOT NULL,
    filas BIGINT NOT NULL,
    actualizado TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS etl_resumen_pendientes (
    id INTEGER NOT NULL
);

-- klk_gaps (ventas): the windows that reach into the horizon.
CREATE INDEX IF NOT EXISTS klk_ejecuciones_tipo_hasta
    ON etl_ejecuciones (etl_tipo, fecha_hasta);
-- klk_gaps (inventario), klk_metricas, v_ultimas_ejecuciones: by start.
CREATE INDEX IF NOT EXISTS klk_ejecuciones_tipo_inicio
    ON etl_ejecuciones (etl_tipo, ubicacion_id, fecha_inicio);
CREATE INDEX IF NOT EXISTS klk_ejecuciones_inicio
    ON etl_ejecuciones (fecha_inicio);
