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

-- PostgreSQL only: what makes the summary stale, marked when it happens (DuckDB compares the
-- table's count with the summary's instead; counting millions of rows is not free here). Rows
-- deleted, or inserted at or below the summary's hasta_id, delete etl_resumen_estado's row:
-- klk_resumen() then reads the whole table until the next klk_refrescar_resumen(). (Rows
-- inserted but not yet committed while a refresh runs cannot be missed either: the refresh
-- takes a SHARE lock on the table, so none is in flight.)
CREATE OR REPLACE FUNCTION klk_resumen_olvidar() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM etl_resumen_estado;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION klk_resumen_olvidar_si_bajo() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM etl_resumen_estado r
    WHERE EXISTS (SELECT 1 FROM klk_nuevas n WHERE n.id <= r.hasta_id);
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS klk_resumen_borradas ON etl_ejecuciones;
CREATE TRIGGER klk_resumen_borradas AFTER DELETE ON etl_ejecuciones
    FOR EACH STATEMENT EXECUTE FUNCTION klk_resumen_olvidar();
DROP TRIGGER IF EXISTS klk_resumen_vaciada ON etl_ejecuciones;
CREATE TRIGGER klk_resumen_vaciada AFTER TRUNCATE ON etl_ejecuciones
    FOR EACH STATEMENT EXECUTE FUNCTION klk_resumen_olvidar();
DROP TRIGGER IF EXISTS klk_resumen_insertadas ON etl_ejecuciones;
CREATE TRIGGER klk_resumen_insertadas AFTER INSERT ON etl_ejecuciones
    REFERENCING NEW TABLE AS klk_nuevas
    FOR EACH STATEMENT EXECUTE FUNCTION klk_resumen_olvidar_si_bajo();

-- klk_gaps (ventas): the windows that reach into the horizon.
CREATE INDEX IF NOT EXISTS klk_ejecuciones_tipo_hasta
    ON etl_ejecuciones (etl_tipo, fecha_hasta);
-- klk_gaps (inventario), klk_metricas, v_ultimas_ejecuciones: by start.
CREATE INDEX IF NOT EXISTS klk_ejecuciones_tipo_inicio
    ON etl_ejecuciones (etl_tipo, ubicacion_id, fecha_inicio);
CREATE INDEX IF NOT EXISTS klk_ejecuciones_inicio
    ON etl_ejecuciones (fecha_inicio);
-- klk_gaps (inventario): the runs that started before the cut and ended after it.
CREATE INDEX IF NOT EXISTS klk_ejecuciones_tipo_fin
    ON etl_ejecuciones (etl_tipo, fecha_fin);
