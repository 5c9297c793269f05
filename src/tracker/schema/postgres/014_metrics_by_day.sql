-- Version 14 (PostgreSQL; DuckDB records the version only): the per-day figures behind
-- klk_metricas kept for past days, so that `metrics --days 30` and v_metricas_confiabilidad
-- read a month as a few thousand rows instead of adding up every execution of it (about
-- 300,000 at 100 stores). DuckDB's columnar scan does without.
--
-- etl_metricas_dia holds, per day, tipo and store, what klk_metricas_estado_de() answers;
-- it counts for a day only while etl_metricas_dias lists that day. klk_refrescar_resumen()
-- fills days (it runs with no writer in flight); any insert, update or delete of an execution
-- started on a day takes the day off the list (the triggers below), and readers add that
-- day up live until it is filled again. Never a wrong answer, at worst a slower one.

CREATE TABLE IF NOT EXISTS etl_metricas_dia (
    fecha DATE NOT NULL,
    etl_tipo VARCHAR NOT NULL,
    ubicacion_id VARCHAR NOT NULL,
    ubicacion_nombre VARCHAR,
    -- {microseconds since 1970 of fecha_inicio, id} of the latest execution with a name
    ultimo BIGINT[],
    total_ejecuciones BIGINT NOT NULL,
    ejecuciones_exitosas BIGINT NOT NULL,
    ejecuciones_fallidas BIGINT NOT NULL,
    ejecuciones_parciales BIGINT NOT NULL,
    ejecuciones_en_proceso BIGINT NOT NULL,
    duracion_promedio_seg DOUBLE PRECISION,
    duracion_p95_seg DOUBLE PRECISION,
    duracion_suma DOUBLE PRECISION,
    -- every duration of the day, sorted (NULL when none)
    duraciones DOUBLE PRECISION[],
    total_registros_cargados BIGINT NOT NULL,
    PRIMARY KEY (fecha, etl_tipo, ubicacion_id)
);
CREATE TABLE IF NOT EXISTS etl_metricas_dias (
    fecha DATE PRIMARY KEY
);

CREATE OR REPLACE FUNCTION klk_metricas_olvidar_nuevas() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM etl_metricas_dias d WHERE d.fecha IN (SELECT n.fecha_inicio::date FROM klk_dia_nuevas n);
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION klk_metricas_olvidar_viejas() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM etl_metricas_dias d WHERE d.fecha IN (SELECT v.fecha_inicio::date FROM klk_dia_viejas v);
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION klk_metricas_olvidar_cambiadas() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM etl_metricas_dias d
    WHERE d.fecha IN (SELECT v.fecha_inicio::date FROM klk_dia_viejas v
                      UNION SELECT n.fecha_inicio::date FROM klk_dia_nuevas n);
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION klk_metricas_olvidar_todo() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM etl_metricas_dias;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS klk_metricas_insertadas ON etl_ejecuciones;
CREATE TRIGGER klk_metricas_insertadas AFTER INSERT ON etl_ejecuciones
    REFERENCING NEW TABLE AS klk_dia_nuevas
    FOR EACH STATEMENT EXECUTE FUNCTION klk_metricas_olvidar_nuevas();
DROP TRIGGER IF EXISTS klk_metricas_cambiadas ON etl_ejecuciones;
CREATE TRIGGER klk_metricas_cambiadas AFTER UPDATE ON etl_ejecuciones
    REFERENCING OLD TABLE AS klk_dia_viejas NEW TABLE AS klk_dia_nuevas
    FOR EACH STATEMENT EXECUTE FUNCTION klk_metricas_olvidar_cambiadas();
DROP TRIGGER IF EXISTS klk_metricas_borradas ON etl_ejecuciones;
CREATE TRIGGER klk_metricas_borradas AFTER DELETE ON etl_ejecuciones
    REFERENCING OLD TABLE AS klk_dia_viejas
    FOR EACH STATEMENT EXECUTE FUNCTION klk_metricas_olvidar_viejas();
DROP TRIGGER IF EXISTS klk_metricas_vaciada ON etl_ejecuciones;
CREATE TRIGGER klk_metricas_vaciada AFTER TRUNCATE ON etl_ejecuciones
    FOR EACH STATEMENT EXECUTE FUNCTION klk_metricas_olvidar_todo();

-- The verified days klk_metricas reads: a handful of rows, not every sales execution of the
-- period.
CREATE INDEX IF NOT EXISTS klk_ejecuciones_verificadas ON etl_ejecuciones (fecha_desde)
    WHERE lineas_tardias IS NOT NULL;
