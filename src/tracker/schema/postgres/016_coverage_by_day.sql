-- Version 16 (PostgreSQL; DuckDB records the version only): the sales coverage of past days
-- kept, so that klk_gaps (every `run`'s planning, `gaps`, `status`) reads the horizon's
-- covered slots as about one range per store and day instead of every execution of the
-- horizon (about 38,000 at 100 stores x 7 days). DuckDB's columnar scan does without.
--
-- etl_cobertura_dia holds, per day and store, the slots (by index k: slot_start = k * slot)
-- that the successful sales executions of that day cover, merged into ranges, for the slot
-- length slot_minutos; it counts for a day only while etl_cobertura_dias lists that day with
-- the configured slot length. klk_refrescar_resumen() fills days (with no writer in flight),
-- never a day an execution still in progress touches; any insert, update or delete of a
-- sales execution whose window touches a day takes the day off the list (the triggers below),
-- and klk_gaps covers such days from the executions, live, until the day is filled again.

CREATE TABLE IF NOT EXISTS etl_cobertura_dia (
    fecha DATE NOT NULL,
    ubicacion_id VARCHAR NOT NULL,
    slot_minutos BIGINT NOT NULL,
    desde_k BIGINT NOT NULL,
    hasta_k BIGINT NOT NULL,
    PRIMARY KEY (fecha, ubicacion_id, desde_k)
);
CREATE TABLE IF NOT EXISTS etl_cobertura_dias (
    fecha DATE PRIMARY KEY,
    slot_minutos BIGINT NOT NULL
);

-- One function keeps both kept lists right, for the three statement triggers (PostgreSQL's own
-- pattern for transition tables: a statement naming a table the firing trigger lacks is never
-- planned). It replaces the four triggers and functions of version 14, which did the same for
-- the metrics alone: a day's metrics go with the executions started on it, a day's coverage
-- with the sales executions whose window touches it.
CREATE OR REPLACE FUNCTION klk_dias_olvidar() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM etl_metricas_dias;
        DELETE FROM etl_cobertura_dias;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        DELETE FROM etl_metricas_dias d WHERE d.fecha IN (SELECT n.fecha_inicio::date FROM klk_nuevas n);
        DELETE FROM etl_cobertura_dias d
        WHERE EXISTS (SELECT 1 FROM klk_nuevas n
                      WHERE n.etl_tipo = 'ventas' AND d.fecha BETWEEN n.fecha_desde AND n.fecha_hasta);
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        DELETE FROM etl_metricas_dias d WHERE d.fecha IN (SELECT v.fecha_inicio::date FROM klk_viejas v);
        DELETE FROM etl_cobertura_dias d
        WHERE EXISTS (SELECT 1 FROM klk_viejas v
                      WHERE v.etl_tipo = 'ventas' AND d.fecha BETWEEN v.fecha_desde AND v.fecha_hasta);
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS klk_metricas_insertadas ON etl_ejecuciones;
DROP TRIGGER IF EXISTS klk_metricas_cambiadas ON etl_ejecuciones;
DROP TRIGGER IF EXISTS klk_metricas_borradas ON etl_ejecuciones;
DROP TRIGGER IF EXISTS klk_metricas_vaciada ON etl_ejecuciones;
DROP FUNCTION IF EXISTS klk_metricas_olvidar_nuevas();
DROP FUNCTION IF EXISTS klk_metricas_olvidar_viejas();
DROP FUNCTION IF EXISTS klk_metricas_olvidar_cambiadas();
DROP FUNCTION IF EXISTS klk_metricas_olvidar_todo();
DROP TRIGGER IF EXISTS klk_dias_insertadas ON etl_ejecuciones;
CREATE TRIGGER klk_dias_insertadas AFTER INSERT ON etl_ejecuciones
    REFERENCING NEW TABLE AS klk_nuevas
    FOR EACH STATEMENT EXECUTE FUNCTION klk_dias_olvidar();
DROP TRIGGER IF EXISTS klk_dias_cambiadas ON etl_ejecuciones;
CREATE TRIGGER klk_dias_cambiadas AFTER UPDATE ON etl_ejecuciones
    REFERENCING OLD TABLE AS klk_viejas NEW TABLE AS klk_nuevas
    FOR EACH STATEMENT EXECUTE FUNCTION klk_dias_olvidar();
DROP TRIGGER IF EXISTS klk_dias_borradas ON etl_ejecuciones;
CREATE TRIGGER klk_dias_borradas AFTER DELETE ON etl_ejecuciones
    REFERENCING OLD TABLE AS klk_viejas
    FOR EACH STATEMENT EXECUTE FUNCTION klk_dias_olvidar();
DROP TRIGGER IF EXISTS klk_dias_vaciada ON etl_ejecuciones;
CREATE TRIGGER klk_dias_vaciada AFTER TRUNCATE ON etl_ejecuciones
    FOR EACH STATEMENT EXECUTE FUNCTION klk_dias_olvidar();

-- klk_gaps: the failed, partial and interrupted sales attempts of the horizon (a few percent of
-- the executions), and each store's successes by start (the first one after a gap's failure).
CREATE INDEX IF NOT EXISTS klk_ejecuciones_intentos
    ON etl_ejecuciones (etl_tipo, fecha_hasta) WHERE estado <> 'exitoso';
CREATE INDEX IF NOT EXISTS klk_ejecuciones_exitos
    ON etl_ejecuciones (etl_tipo, ubicacion_id, fecha_inicio) WHERE estado = 'exitoso';

-- klk_gaps_q gains the first day not kept (logic.sql creates it again with it).
DROP FUNCTION IF EXISTS klk_gaps_q(timestamp, bigint, bigint, bigint, bigint, bigint, bigint, bigint, date);
