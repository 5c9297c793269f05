//! Schema and migrations. The seed's `etl_ejecuciones` is kept column for column; migrations
//! only add (tables, columns, macros, views) and are recorded in `etl_schema_version`.
//!
//! All gap and metric logic lives in DuckDB table macros (`klk_gaps`, `klk_metricas`) so that
//! `klk-etl` and every other client (the seed's SQL, Python's duckdb, the DuckDB CLI) read the
//! same answer. They use no time zone functions: "now" in store time is UTC from
//! `epoch_us(now())` plus the offset stored in `etl_configuracion`, because the bundled DuckDB
//! has no ICU and the user's tools have one that depends on the host's zone.

use duckdb::Connection;

use crate::klk::ventas::{SqlType, Table, VENTAS};

/// The seed's DDL, with a sequence for the id (the seed's "auto-increment").
const SEED_TABLE: &str = r#"
CREATE SEQUENCE IF NOT EXISTS seq_etl_ejecuciones START 1;
CREATE TABLE IF NOT EXISTS etl_ejecuciones (
    id INTEGER PRIMARY KEY DEFAULT nextval('seq_etl_ejecuciones'),
    etl_tipo VARCHAR NOT NULL,
    ubicacion_id VARCHAR NOT NULL,
    ubicacion_nombre VARCHAR NOT NULL,
    fecha_inicio TIMESTAMP NOT NULL,
    fecha_fin TIMESTAMP,
    duracion_segundos DOUBLE,
    fecha_desde DATE NOT NULL,
    fecha_hasta DATE NOT NULL,
    hora_desde TIME,
    hora_hasta TIME,
    estado VARCHAR NOT NULL,
    registros_extraidos INTEGER DEFAULT 0,
    registros_cargados INTEGER DEFAULT 0,
    error_mensaje TEXT,
    error_tipo VARCHAR,
    modo VARCHAR,
    version_etl VARCHAR,
    host VARCHAR
);
"#;

const TRACKING_TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS etl_configuracion (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    zona_horaria VARCHAR NOT NULL,
    utc_offset_minutos INTEGER NOT NULL,
    slot_minutos INTEGER NOT NULL,
    horizonte_minutos INTEGER NOT NULL,
    atascado_minutos INTEGER NOT NULL,
    gracia_minutos INTEGER NOT NULL,
    inventario_vencido_minutos INTEGER NOT NULL,
    actualizado TIMESTAMP NOT NULL
);
INSERT INTO etl_configuracion
    SELECT 1, 'America/Caracas', -240, 30, 168 * 60, 60, 30, 120, make_timestamp(epoch_us(now()))
    WHERE NOT EXISTS (SELECT 1 FROM etl_configuracion);
CREATE TABLE IF NOT EXISTS etl_tiendas (
    ubicacion_id VARCHAR PRIMARY KEY,
    ubicacion_nombre VARCHAR NOT NULL,
    sucursal VARCHAR,
    almacenes VARCHAR[],
    activa BOOLEAN NOT NULL DEFAULT true,
    hora_apertura TIME,
    hora_cierre TIME,
    desde DATE,
    actualizado TIMESTAMP
);
"#;

/// "Now" as store-local wall time, without ICU.
const NOW_MACRO: &str = r#"
CREATE OR REPLACE MACRO klk_now_local() AS (
    SELECT make_timestamp(epoch_us(now()) + CAST(utc_offset_minutos AS BIGINT) * 60000000)
    FROM etl_configuracion
);
"#;

/// Every (tipo, store, estado) of `etl_ejecuciones` with its count, rows loaded, first and
/// latest start, latest name, first window start and latest end: what the store directory,
/// the counters and "the latest execution" need, without reading the whole table.
///
/// `etl_resumen` holds these figures for every row up to `etl_resumen_estado.hasta_id` but
/// the ones then `en_proceso` (their ids are in `etl_resumen_pendientes`); the macro adds
/// the rows since and the pending ones, read live. The columns it sums never change once a
/// row is finished. If rows up to `hasta_id` were deleted or added since (the counts do not
/// add up), or the summary was never built, it reads the whole table instead: never a
/// wrong answer, only a slower one until `refresh_summary` runs again.
const SUMMARY_MACRO: &str = r#"
CREATE OR REPLACE MACRO klk_resumen() AS TABLE
WITH
s AS (
    SELECT r.hasta_id, r.filas FROM etl_resumen_estado r WHERE r.id = 1
),
ok AS (
    SELECT s.hasta_id,
        (SELECT count(*) FROM etl_ejecuciones)
          = s.filas + (SELECT count(*) FROM etl_ejecuciones e WHERE e.id > s.hasta_id) AS valido
    FROM s
),
filas AS (
    SELECT e.etl_tipo, e.ubicacion_id, e.estado, e.registros_cargados, e.fecha_inicio,
        e.ubicacion_nombre, e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00') AS w_start,
        coalesce(e.fecha_fin, e.fecha_inicio) AS fin
    FROM etl_ejecuciones e, ok
    WHERE ok.valido AND e.id > ok.hasta_id
    UNION ALL
    SELECT e.etl_tipo, e.ubicacion_id, e.estado, e.registros_cargados, e.fecha_inicio,
        e.ubicacion_nombre, e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00'),
        coalesce(e.fecha_fin, e.fecha_inicio)
    FROM etl_ejecuciones e
    WHERE e.id IN (SELECT p.id FROM etl_resumen_pendientes p, ok WHERE ok.valido AND p.id <= ok.hasta_id)
    UNION ALL
    SELECT e.etl_tipo, e.ubicacion_id, e.estado, e.registros_cargados, e.fecha_inicio,
        e.ubicacion_nombre, e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00'),
        coalesce(e.fecha_fin, e.fecha_inicio)
    FROM etl_ejecuciones e
    WHERE NOT coalesce((SELECT valido FROM ok), false)
),
todo AS (
    SELECT r.etl_tipo, r.ubicacion_id, r.estado, r.ejecuciones, r.registros_cargados,
        r.primer_inicio, r.ultimo_inicio, r.ubicacion_nombre, r.primera_ventana, r.ultimo_fin
    FROM etl_resumen r, ok
    WHERE ok.valido
    UNION ALL
    SELECT etl_tipo, ubicacion_id, estado, count(*),
        CAST(coalesce(sum(registros_cargados), 0) AS BIGINT), min(fecha_inicio), max(fecha_inicio),
        arg_max(ubicacion_nombre, fecha_inicio), min(w_start), max(fin)
    FROM filas
    GROUP BY etl_tipo, ubicacion_id, estado
)
SELECT etl_tipo, ubicacion_id, estado,
    CAST(sum(ejecuciones) AS BIGINT) AS ejecuciones,
    CAST(sum(registros_cargados) AS BIGINT) AS registros_cargados,
    min(primer_inicio) AS primer_inicio,
    max(ultimo_inicio) AS ultimo_inicio,
    arg_max(ubicacion_nombre, ultimo_inicio) AS ubicacion_nombre,
    min(primera_ventana) AS primera_ventana,
    max(ultimo_fin) AS ultimo_fin
FROM todo
GROUP BY etl_tipo, ubicacion_id, estado
"#;

/// The summary behind `klk_resumen` (see there). Created with the logic that reads it.
const SUMMARY_TABLES: &str = r#"
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
"#;

/// Rebuilds the summary from what `klk_resumen` answers now (one snapshot, so nothing is
/// counted twice or missed): cheap when the summary is valid (only the rows since are read).
const REFRESH_SUMMARY: &str = r#"
CREATE OR REPLACE TEMP TABLE klk_resumen_nuevo AS
    SELECT * FROM klk_resumen() WHERE estado <> 'en_proceso';
CREATE OR REPLACE TEMP TABLE klk_resumen_corte AS
    SELECT coalesce(max(id), 0) AS hasta_id, count(*) AS filas FROM etl_ejecuciones;
DELETE FROM etl_resumen;
INSERT INTO etl_resumen SELECT * FROM klk_resumen_nuevo;
DELETE FROM etl_resumen_pendientes;
INSERT INTO etl_resumen_pendientes SELECT id FROM etl_ejecuciones WHERE estado = 'en_proceso';
INSERT OR REPLACE INTO etl_resumen_estado
    SELECT 1, hasta_id, filas, make_timestamp(epoch_us(now())) FROM klk_resumen_corte;
DROP TABLE klk_resumen_nuevo;
DROP TABLE klk_resumen_corte;
"#;

/// The stores gaps are computed for: the active ones of `etl_tiendas`, plus any store with
/// executions that the registry does not know (an adopted file), with where each one's sales
/// are expected from (`desde`, or its first sales window) and whether it has stock history.
const STORES_MACRO: &str = r#"
CREATE OR REPLACE MACRO klk_tiendas() AS TABLE
WITH dir AS (
    SELECT ubicacion_id,
        arg_max(ubicacion_nombre, ultimo_inicio) AS ubicacion_nombre,
        min(primera_ventana) FILTER (WHERE etl_tipo = 'ventas') AS primera_ventas,
        bool_or(etl_tipo = 'inventario') AS con_inventario
    FROM klk_resumen()
    GROUP BY ubicacion_id
),
t AS (
    SELECT t.ubicacion_id, t.ubicacion_nombre, t.hora_apertura, t.hora_cierre, t.desde,
        d.primera_ventas, coalesce(d.con_inventario, false) AS con_inventario
    FROM etl_tiendas t
    LEFT JOIN dir d USING (ubicacion_id)
    WHERE t.activa
    UNION ALL
    SELECT d.ubicacion_id, d.ubicacion_nombre, CAST(NULL AS TIME), CAST(NULL AS TIME),
        CAST(NULL AS DATE), d.primera_ventas, d.con_inventario
    FROM dir d
    WHERE d.ubicacion_id NOT IN (SELECT ubicacion_id FROM etl_tiendas)
)
SELECT t.*, coalesce(CAST(t.desde AS TIMESTAMP), t.primera_ventas) AS esperado_desde
FROM t
"#;

/// Every closed sales day of every expected store inside the horizon (from the first day it
/// was expected whole: a store whose first window started at 23:30 is not asked to verify
/// that day), and whether (and when) it was verified: a whole-day sales load of the store that succeeded and started
/// after the day closed (`p_close_min` after its midnight), whatever its modo. Days before
/// `etl_configuracion.verificacion_desde` (the day before klk-etl began verifying this
/// file) are not listed; nor is anything when verification is off (no closing time stored,
/// or a negative `p_close_min`).
///
/// `intentos` counts the failed re-pulls (a dead `en_proceso` one included) since the day
/// closed; `vencido` says the deadline (`p_deadline_min` after its midnight) has passed;
/// `en_curso` that a live execution is re-pulling it now.
const VERIFICATIONS_MACRO: &str = r#"
CREATE OR REPLACE MACRO klk_verificaciones(p_now, p_horizon_min, p_close_min, p_deadline_min, p_stuck_min) AS TABLE
WITH
p AS (
    SELECT
        CAST(coalesce(p_now, klk_now_local()) AS TIMESTAMP) AS now_ts,
        CAST(coalesce(p_horizon_min, c.horizonte_minutos) AS BIGINT) AS horizon_min,
        CAST(coalesce(p_close_min, c.verificacion_cierre_minutos) AS BIGINT) AS close_min,
        CAST(coalesce(p_deadline_min, c.verificacion_plazo_minutos) AS BIGINT) AS deadline_min,
        CAST(coalesce(p_stuck_min, c.atascado_minutos) AS BIGINT) AS stuck_min,
        c.verificacion_desde AS desde
    FROM etl_configuracion c
),
p2 AS (
    SELECT *,
        CAST(now_ts - to_minutes(horizon_min) AS DATE) AS first_day,
        CAST(now_ts - to_minutes(close_min) AS DATE) - 1 AS last_day,
        now_ts - to_minutes(stuck_min) AS live_since
    FROM p
    WHERE close_min IS NOT NULL AND close_min >= 0
),
dias AS (
    SELECT d.ubicacion_id, d.ubicacion_nombre, CAST(d.dia AS DATE) AS fecha
    FROM (
        SELECT t.ubicacion_id, t.ubicacion_nombre,
            unnest(range(
                -- a store's first day counts only when it was expected from its midnight
                CAST(greatest(
                    CAST(t.esperado_desde + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND AS DATE),
                    p2.first_day, coalesce(p2.desde, p2.first_day)) AS TIMESTAMP),
                CAST(p2.last_day AS TIMESTAMP) + INTERVAL 1 DAY,
                INTERVAL 1 DAY
            )) AS dia
        FROM klk_tiendas() t, p2
        WHERE t.esperado_desde IS NOT NULL
    ) d
),
ex AS (
    SELECT e.id, e.ubicacion_id, e.estado, e.error_tipo, e.error_mensaje, e.fecha_inicio,
        e.fecha_fin, e.fecha_desde, e.fecha_hasta,
        (e.estado = 'en_proceso' AND e.fecha_inicio >= p2.live_since) AS vivo
    FROM etl_ejecuciones e, p2
    WHERE e.etl_tipo = 'ventas' AND e.hora_desde IS NULL AND e.hora_hasta IS NULL
      AND e.fecha_hasta >= p2.first_day AND e.fecha_desde <= p2.last_day
),
intentos AS (
    SELECT d.ubicacion_id, d.fecha, x.id, x.estado, x.error_tipo, x.error_mensaje,
        x.fecha_inicio, x.fecha_fin, x.vivo,
        (x.estado IN ('fallido', 'parcial') OR (x.estado = 'en_proceso' AND NOT x.vivo)) AS fallo
    FROM dias d
    CROSS JOIN p2
    JOIN ex x
      ON x.ubicacion_id = d.ubicacion_id AND x.fecha_desde <= d.fecha AND x.fecha_hasta >= d.fecha
     AND x.fecha_inicio >= CAST(d.fecha + 1 AS TIMESTAMP) + to_minutes(p2.close_min)
),
por_dia AS (
    SELECT ubicacion_id, fecha,
        min(coalesce(fecha_fin, fecha_inicio)) FILTER (WHERE estado = 'exitoso') AS verificado_en,
        coalesce(bool_or(vivo), false) AS en_curso,
        count(*) FILTER (WHERE fallo) AS intentos,
        min(fecha_inicio) FILTER (WHERE fallo) AS primer_fallo,
        max(fecha_inicio) FILTER (WHERE fallo) AS ultimo_intento,
        arg_max(estado, fecha_inicio) FILTER (WHERE fallo) AS ultimo_estado,
        arg_max(error_tipo, fecha_inicio) FILTER (WHERE fallo) AS ultimo_error_tipo,
        arg_max(error_mensaje, fecha_inicio) FILTER (WHERE fallo) AS ultimo_error_mensaje,
        max(id) FILTER (WHERE fallo) AS ultima_ejecucion_id
    FROM intentos
    GROUP BY ubicacion_id, fecha
)
SELECT
    d.ubicacion_id, d.ubicacion_nombre, d.fecha,
    CAST(d.fecha + 1 AS TIMESTAMP) + to_minutes(p2.close_min) AS cierre,
    CAST(d.fecha + 1 AS TIMESTAMP) + to_minutes(p2.deadline_min) AS plazo,
    v.verificado_en,
    coalesce(v.en_curso, false) AS en_curso,
    coalesce(v.intentos, 0) AS intentos,
    v.primer_fallo, v.ultimo_intento, v.ultimo_estado, v.ultimo_error_tipo,
    v.ultimo_error_mensaje, v.ultima_ejecucion_id,
    p2.now_ts >= CAST(d.fecha + 1 AS TIMESTAMP) + to_minutes(p2.deadline_min) AS vencido
FROM dias d
CROSS JOIN p2
LEFT JOIN por_dia v USING (ubicacion_id, fecha)
"#;

/// Gaps of both tipos. NULL arguments take the values stored in `etl_configuracion`, which
/// is what the view does; `klk-etl gaps` passes its own (pinned) now and settings.
///
/// ventas: every closed slot of an expected store inside the horizon, minus the slots some
/// `exitoso` execution's window contains (or a live `en_proceso` one is working on); a
/// never-attempted slot only counts once `gracia` has passed after it closed. Remaining
/// slots are merged into maximal runs per store and date.
/// inventario: a store whose attempts since its last success failed, or whose last success
/// is older than the staleness threshold.
/// verificacion (`causa = 'sin_verificar'`, a whole day): a closed sales day that no whole-day
/// re-pull has verified by its deadline, or whose re-pull failed (see `klk_verificaciones`).
///
/// Cost: only executions whose window reaches into the horizon are read (the table is in
/// time order, so DuckDB skips the rest by its min/max per row group); which stores exist and
/// where each one's sales start come from `klk_resumen`; a store's older inventory history
/// is read only when its latest success is not inside the horizon.
const GAPS_MACRO: &str = r#"
CREATE OR REPLACE MACRO klk_gaps(p_now, p_horizon_min, p_slot_min, p_stuck_min, p_grace_min, p_stale_min, p_close_min, p_deadline_min) AS TABLE
WITH
p AS (
    SELECT
        CAST(coalesce(p_now, klk_now_local()) AS TIMESTAMP) AS now_ts,
        CAST(coalesce(p_horizon_min, c.horizonte_minutos) AS BIGINT) AS horizon_min,
        CAST(coalesce(p_slot_min, c.slot_minutos) AS BIGINT) AS slot_min,
        CAST(coalesce(p_stuck_min, c.atascado_minutos) AS BIGINT) AS stuck_min,
        CAST(coalesce(p_grace_min, c.gracia_minutos) AS BIGINT) AS grace_min,
        CAST(coalesce(p_stale_min, c.inventario_vencido_minutos) AS BIGINT) AS stale_min
    FROM etl_configuracion c
),
p2 AS (
    SELECT *,
        now_ts - to_minutes(horizon_min) AS horizon_ts,
        slot_min * 60000000 AS slot_us,
        now_ts - to_minutes(stuck_min) AS live_since,
        -- inventory rows from here on decide a store whose latest success ends after it
        least(now_ts - to_minutes(horizon_min), now_ts - to_minutes(stuck_min)) AS i_cut
    FROM p
),
tiendas AS (
    SELECT * FROM klk_tiendas()
),
-- ventas ------------------------------------------------------------------------------
v_ex AS (
    SELECT
        e.id, e.ubicacion_id, e.estado, e.error_tipo, e.error_mensaje, e.fecha_inicio,
        e.fecha_desde, e.fecha_hasta, e.hora_desde, e.hora_hasta,
        e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00') AS w_start,
        CASE WHEN e.hora_hasta IS NULL THEN CAST(e.fecha_hasta + 1 AS TIMESTAMP)
             ELSE e.fecha_hasta + e.hora_hasta END AS w_end,
        (e.estado = 'en_proceso' AND e.fecha_inicio >= p2.live_since) AS vivo
    FROM etl_ejecuciones e, p2
    WHERE e.etl_tipo = 'ventas'
      AND e.fecha_hasta >= CAST(p2.horizon_ts AS DATE)
      AND e.fecha_desde <= CAST(p2.now_ts AS DATE)
),
v_inicio AS (
    SELECT t.* FROM tiendas t WHERE t.esperado_desde IS NOT NULL
),
v_slots AS (
    SELECT
        s.ubicacion_id, s.ubicacion_nombre, s.k, s.slot_start,
        s.slot_start + to_minutes(p2.slot_min) AS slot_end,
        CAST(s.slot_start AS DATE) AS fecha
    FROM (
        SELECT k.ubicacion_id, k.ubicacion_nombre, k.hora_apertura, k.hora_cierre, k.k,
            make_timestamp(k.k * p2.slot_us) AS slot_start
        FROM (
            SELECT i.ubicacion_id, i.ubicacion_nombre, i.hora_apertura, i.hora_cierre,
                unnest(range(
                    (epoch_us(greatest(i.esperado_desde, p2.horizon_ts)) + p2.slot_us - 1) // p2.slot_us,
                    epoch_us(p2.now_ts) // p2.slot_us
                )) AS k
            FROM v_inicio i, p2
        ) k, p2
    ) s, p2
    WHERE s.hora_apertura IS NULL
       OR (CAST(s.slot_start AS TIME) >= s.hora_apertura
           AND (s.hora_cierre IS NULL
                OR s.slot_start + to_minutes(p2.slot_min) <= CAST(s.slot_start AS DATE) + s.hora_cierre))
),
-- The slots (by index k: slot_start = k * slot) each success (or live run) covers: on each
-- day d of its dates inside the horizon, those starting at or after d + hora_desde and
-- ending at most a second after d + hora_hasta (or midnight). Then a slot is uncovered by an
-- equality anti-join.
v_cover_days AS (
    SELECT x.ubicacion_id, x.hora_desde, x.hora_hasta, x.fecha_desde AS d
    FROM v_ex x
    WHERE (x.estado = 'exitoso' OR x.vivo) AND x.fecha_desde = x.fecha_hasta
    UNION ALL
    SELECT x.ubicacion_id, x.hora_desde, x.hora_hasta,
        CAST(unnest(range(
            CAST(greatest(x.fecha_desde, CAST(p2.horizon_ts AS DATE)) AS TIMESTAMP),
            CAST(least(x.fecha_hasta, CAST(p2.now_ts AS DATE)) AS TIMESTAMP) + INTERVAL 1 DAY,
            INTERVAL 1 DAY
        )) AS DATE)
    FROM v_ex x, p2
    WHERE (x.estado = 'exitoso' OR x.vivo) AND x.fecha_desde <> x.fecha_hasta
),
v_covered AS (
    SELECT c.ubicacion_id, unnest(range(
            (epoch_us(c.d + coalesce(c.hora_desde, TIME '00:00:00')) + p2.slot_us - 1) // p2.slot_us,
            (epoch_us(CASE WHEN c.hora_hasta IS NULL THEN CAST(c.d + 1 AS TIMESTAMP)
                           ELSE c.d + c.hora_hasta END) + 1000000 - p2.slot_us) // p2.slot_us + 1
        )) AS k
    FROM v_cover_days c, p2
),
v_uncovered AS (
    SELECT s.* FROM v_slots s
    ANTI JOIN v_covered c ON c.ubicacion_id = s.ubicacion_id AND c.k = s.k
),
v_attempts AS (
    SELECT u.ubicacion_id, u.slot_start, x.id, x.estado, x.error_tipo, x.error_mensaje, x.fecha_inicio
    FROM v_uncovered u
    JOIN v_ex x
      ON x.ubicacion_id = u.ubicacion_id
     AND x.estado IN ('fallido', 'parcial', 'en_proceso') AND NOT x.vivo
     AND x.w_start < u.slot_end AND x.w_end > u.slot_start
),
v_slot_state AS (
    SELECT u.ubicacion_id, u.ubicacion_nombre, u.fecha, u.slot_start, u.slot_end,
        count(a.id) AS n_attempts,
        min(a.fecha_inicio) AS first_attempt
    FROM v_uncovered u
    LEFT JOIN v_attempts a ON a.ubicacion_id = u.ubicacion_id AND a.slot_start = u.slot_start
    GROUP BY u.ubicacion_id, u.ubicacion_nombre, u.fecha, u.slot_start, u.slot_end
    HAVING count(a.id) > 0
        OR u.slot_end <= (SELECT now_ts - to_minutes(grace_min) FROM p2)
),
v_islands AS (
    SELECT s.*,
        epoch_us(s.slot_start) // p2.slot_us
          - row_number() OVER (PARTITION BY s.ubicacion_id, s.fecha ORDER BY s.slot_start) AS island
    FROM v_slot_state s, p2
),
v_gaps AS (
    SELECT ubicacion_id, any_value(ubicacion_nombre) AS ubicacion_nombre, fecha, island,
        min(slot_start) AS g_start, max(slot_end) AS g_end, count(*) AS n_slots,
        min(coalesce(first_attempt, slot_end)) AS fecha_fallo
    FROM v_islands
    GROUP BY ubicacion_id, fecha, island
),
v_gap_attempts AS (
    SELECT g.ubicacion_id, g.fecha, g.island,
        count(DISTINCT a.id) AS intentos,
        arg_max(a.estado, a.fecha_inicio) AS ultimo_estado,
        arg_max(a.error_tipo, a.fecha_inicio) AS ultimo_error_tipo,
        arg_max(a.error_mensaje, a.fecha_inicio) AS ultimo_error_mensaje,
        max(a.id) AS ultima_ejecucion_id,
        max(a.fecha_inicio) AS ultimo_intento,
        -- Attempts made while the store was otherwise healthy (it had a success after the
        -- gap's first failure and before the attempt): a poison window, not an outage.
        count(DISTINCT a.id) FILTER (WHERE EXISTS (
            SELECT 1 FROM v_ex ok
            WHERE ok.ubicacion_id = g.ubicacion_id AND ok.estado = 'exitoso'
              AND ok.fecha_inicio > g.fecha_fallo AND ok.fecha_inicio < a.fecha_inicio
        )) AS intentos_tras_exito
    FROM v_gaps g
    JOIN v_attempts a
      ON a.ubicacion_id = g.ubicacion_id AND a.slot_start >= g.g_start AND a.slot_start < g.g_end
    GROUP BY g.ubicacion_id, g.fecha, g.island
),
ventas_gaps AS (
    SELECT
        'ventas' AS etl_tipo,
        g.ubicacion_id,
        g.ubicacion_nombre,
        g.fecha AS fecha_desde,
        g.fecha AS fecha_hasta,
        CAST(g.g_start AS TIME) AS hora_desde,
        CASE WHEN CAST(g.g_end AS DATE) > g.fecha THEN TIME '23:59:59'
             ELSE CAST(g.g_end AS TIME) END AS hora_hasta,
        g.fecha_fallo,
        CASE
            WHEN a.ultimo_estado IS NULL THEN 'sin_ejecucion'
            WHEN a.ultimo_estado = 'en_proceso' THEN 'interrumpido'
            ELSE coalesce(a.ultimo_error_tipo, 'unknown')
        END AS error_tipo,
        a.ultimo_error_mensaje AS error_mensaje,
        CASE
            WHEN a.ultimo_estado IS NULL THEN 'sin_ejecucion'
            WHEN a.ultimo_estado = 'en_proceso' THEN 'atascado'
            ELSE a.ultimo_estado
        END AS causa,
        coalesce(a.intentos, 0) AS intentos,
        g.n_slots AS slots,
        a.ultima_ejecucion_id,
        g.g_start AS ventana_desde,
        g.g_end AS ventana_hasta,
        a.ultimo_intento,
        coalesce(a.intentos_tras_exito, 0) AS intentos_tras_exito
    FROM v_gaps g
    LEFT JOIN v_gap_attempts a USING (ubicacion_id, fecha, island)
),
-- inventario --------------------------------------------------------------------------
-- Rows started or finished since i_cut: they decide every store whose latest success ends
-- after i_cut (later failures and live runs started after it too).
i_rec AS (
    SELECT e.id, e.ubicacion_id, e.estado, e.error_tipo, e.error_mensaje, e.fecha_inicio, e.fecha_fin
    FROM etl_ejecuciones e, p2
    WHERE e.etl_tipo = 'inventario' AND e.fecha_inicio >= p2.i_cut
    UNION ALL
    SELECT e.id, e.ubicacion_id, e.estado, e.error_tipo, e.error_mensaje, e.fecha_inicio, e.fecha_fin
    FROM etl_ejecuciones e, p2
    WHERE e.etl_tipo = 'inventario' AND e.fecha_inicio < p2.i_cut AND e.fecha_fin >= p2.i_cut
),
i_decididas AS (
    SELECT DISTINCT r.ubicacion_id FROM i_rec r, p2
    WHERE r.estado = 'exitoso' AND coalesce(r.fecha_fin, r.fecha_inicio) >= p2.i_cut
),
-- The whole older history of the other expected stores that have any (usually none).
i_old AS (
    SELECT e.id, e.ubicacion_id, e.estado, e.error_tipo, e.error_mensaje, e.fecha_inicio, e.fecha_fin
    FROM etl_ejecuciones e, p2
    WHERE e.etl_tipo = 'inventario' AND e.fecha_inicio < p2.i_cut
      AND (e.fecha_fin IS NULL OR e.fecha_fin < p2.i_cut)
      AND e.ubicacion_id IN (
          SELECT t.ubicacion_id FROM tiendas t
          WHERE t.con_inventario
            AND t.ubicacion_id NOT IN (SELECT ubicacion_id FROM i_decididas)
      )
),
i_ex AS (
    SELECT x.*, (x.estado = 'en_proceso' AND x.fecha_inicio >= p2.live_since) AS vivo
    FROM (SELECT * FROM i_rec UNION ALL SELECT * FROM i_old) x, p2
),
-- Per store: the latest success and the first attempt; then, over the attempts after that
-- success, the failed (or dead en_proceso) ones and whether one is live.
i_ok AS (
    SELECT ubicacion_id,
        max(coalesce(fecha_fin, fecha_inicio)) FILTER (WHERE estado = 'exitoso') AS ultimo_ok,
        min(fecha_inicio) AS primera
    FROM i_ex GROUP BY ubicacion_id
),
i_after AS (
    SELECT x.ubicacion_id,
        count(*) FILTER (WHERE x.fallo) AS intentos,
        min(x.fecha_inicio) FILTER (WHERE x.fallo) AS primer_fallo,
        arg_max(x.estado, x.fecha_inicio) FILTER (WHERE x.fallo) AS ultimo_estado,
        arg_max(x.error_tipo, x.fecha_inicio) FILTER (WHERE x.fallo) AS ultimo_error_tipo,
        arg_max(x.error_mensaje, x.fecha_inicio) FILTER (WHERE x.fallo) AS ultimo_error_mensaje,
        max(x.id) FILTER (WHERE x.fallo) AS ultima_ejecucion_id,
        max(x.fecha_inicio) FILTER (WHERE x.fallo) AS ultimo_intento,
        bool_or(x.vivo) AS vivo
    FROM (
        SELECT x.*, (x.estado IN ('fallido', 'parcial') OR (x.estado = 'en_proceso' AND NOT x.vivo)) AS fallo
        FROM i_ex x LEFT JOIN i_ok o USING (ubicacion_id)
        WHERE o.ultimo_ok IS NULL OR x.fecha_inicio > o.ultimo_ok
    ) x
    GROUP BY x.ubicacion_id
),
inventario_gaps AS (
    SELECT
        'inventario' AS etl_tipo,
        t.ubicacion_id,
        t.ubicacion_nombre,
        CAST(p2.now_ts AS DATE) AS fecha_desde,
        CAST(p2.now_ts AS DATE) AS fecha_hasta,
        CAST(NULL AS TIME) AS hora_desde,
        CAST(NULL AS TIME) AS hora_hasta,
        coalesce(f.primer_fallo, o.ultimo_ok + to_minutes(p2.stale_min),
                 CAST(t.desde AS TIMESTAMP)) AS fecha_fallo,
        CASE
            WHEN f.ultimo_estado = 'en_proceso' THEN 'interrumpido'
            WHEN f.ultimo_estado IS NOT NULL THEN coalesce(f.ultimo_error_tipo, 'unknown')
            ELSE 'sin_ejecucion'
        END AS error_tipo,
        f.ultimo_error_mensaje AS error_mensaje,
        CASE
            WHEN f.ultimo_estado = 'en_proceso' THEN 'atascado'
            WHEN f.ultimo_estado IS NOT NULL THEN f.ultimo_estado
            WHEN o.ultimo_ok IS NOT NULL THEN 'desactualizado'
            ELSE 'sin_ejecucion'
        END AS causa,
        coalesce(f.intentos, 0) AS intentos,
        CAST(NULL AS BIGINT) AS slots,
        f.ultima_ejecucion_id,
        CAST(NULL AS TIMESTAMP) AS ventana_desde,
        CAST(NULL AS TIMESTAMP) AS ventana_hasta,
        f.ultimo_intento,
        CAST(0 AS BIGINT) AS intentos_tras_exito
    FROM tiendas t
    CROSS JOIN p2
    LEFT JOIN i_ok o USING (ubicacion_id)
    LEFT JOIN i_after f USING (ubicacion_id)
    WHERE NOT coalesce(f.vivo, false)
      AND (
          f.intentos > 0
          OR o.ultimo_ok < p2.now_ts - to_minutes(p2.stale_min)
          OR (o.ultimo_ok IS NULL AND o.primera IS NULL AND t.desde IS NOT NULL
              AND CAST(t.desde AS TIMESTAMP) <= p2.now_ts)
      )
),
-- verificacion ------------------------------------------------------------------------
-- A closed day not verified by its deadline, or whose re-pull failed: a gap of its own.
verificacion_gaps AS (
    SELECT
        'ventas' AS etl_tipo,
        v.ubicacion_id,
        v.ubicacion_nombre,
        v.fecha AS fecha_desde,
        v.fecha AS fecha_hasta,
        CAST(NULL AS TIME) AS hora_desde,
        CAST(NULL AS TIME) AS hora_hasta,
        coalesce(v.primer_fallo, v.plazo) AS fecha_fallo,
        CASE
            WHEN v.intentos = 0 THEN 'sin_ejecucion'
            WHEN v.ultimo_estado = 'en_proceso' THEN 'interrumpido'
            ELSE coalesce(v.ultimo_error_tipo, 'unknown')
        END AS error_tipo,
        v.ultimo_error_mensaje AS error_mensaje,
        'sin_verificar' AS causa,
        v.intentos,
        CAST(NULL AS BIGINT) AS slots,
        v.ultima_ejecucion_id,
        CAST(v.fecha AS TIMESTAMP) AS ventana_desde,
        CAST(v.fecha + 1 AS TIMESTAMP) AS ventana_hasta,
        v.ultimo_intento,
        CAST(0 AS BIGINT) AS intentos_tras_exito
    FROM klk_verificaciones(p_now, p_horizon_min, p_close_min, p_deadline_min, p_stuck_min) v
    WHERE v.verificado_en IS NULL AND NOT v.en_curso AND (v.vencido OR v.intentos > 0)
),
todos AS (
    SELECT * FROM ventas_gaps
    UNION ALL
    SELECT * FROM inventario_gaps
    UNION ALL
    SELECT * FROM verificacion_gaps
)
SELECT
    todos.etl_tipo, todos.ubicacion_id, todos.ubicacion_nombre, todos.fecha_desde,
    todos.fecha_hasta, todos.hora_desde, todos.hora_hasta, todos.fecha_fallo,
    todos.error_tipo, todos.error_mensaje,
    CAST(epoch_us(p2.now_ts) - epoch_us(todos.fecha_fallo) AS DOUBLE) / 3600000000.0 AS horas_desde_fallo,
    todos.causa, todos.intentos, todos.slots, todos.ultima_ejecucion_id,
    todos.ventana_desde, todos.ventana_hasta, todos.ultimo_intento, todos.intentos_tras_exito
FROM todos, p2
"#;

/// Per store, tipo and day (store-local) over the last `p_days` days including today. For
/// `ventas`, what verifying the day found (the latest verifying re-pull of that day, which is
/// the one that recorded `lineas_tardias`): lines the table did not have, lines whose values
/// changed, lines the API no longer returns; and when the day was first verified.
const METRICS_MACRO: &str = r#"
CREATE OR REPLACE MACRO klk_metricas(p_now, p_days) AS TABLE
WITH p AS (
    SELECT CAST(coalesce(p_now, klk_now_local()) AS TIMESTAMP) AS now_ts,
           CAST(coalesce(p_days, 30) AS BIGINT) AS days
),
verificado AS (
    SELECT e.ubicacion_id, e.fecha_desde AS fecha,
        arg_max(e.ubicacion_nombre, e.fecha_inicio) AS ubicacion_nombre,
        arg_max(e.lineas_tardias, e.fecha_inicio) AS lineas_tardias,
        arg_max(e.lineas_cambiadas, e.fecha_inicio) AS lineas_cambiadas,
        arg_max(e.lineas_desaparecidas, e.fecha_inicio) AS lineas_desaparecidas,
        min(e.fecha_fin) AS verificado_en
    FROM etl_ejecuciones e, p
    WHERE e.etl_tipo = 'ventas' AND e.estado = 'exitoso' AND e.lineas_tardias IS NOT NULL
      AND e.fecha_desde = e.fecha_hasta
      AND e.fecha_desde >= CAST(p.now_ts AS DATE) - CAST(p.days - 1 AS INTEGER)
      AND e.fecha_desde <= CAST(p.now_ts AS DATE)
    GROUP BY e.ubicacion_id, e.fecha_desde
),
dia AS (
SELECT
    e.etl_tipo,
    e.ubicacion_id,
    arg_max(e.ubicacion_nombre, e.fecha_inicio) AS ubicacion_nombre,
    CAST(e.fecha_inicio AS DATE) AS fecha,
    count(*) AS total_ejecuciones,
    count(*) FILTER (WHERE e.estado = 'exitoso') AS ejecuciones_exitosas,
    count(*) FILTER (WHERE e.estado = 'fallido') AS ejecuciones_fallidas,
    count(*) FILTER (WHERE e.estado = 'parcial') AS ejecuciones_parciales,
    count(*) FILTER (WHERE e.estado = 'en_proceso') AS ejecuciones_en_proceso,
    round(100.0::DOUBLE * count(*) FILTER (WHERE e.estado = 'exitoso') / count(*), 2) AS tasa_exito_pct,
    round(avg(e.duracion_segundos), 3) AS duracion_promedio_seg,
    round(quantile_cont(e.duracion_segundos, 0.95), 3) AS duracion_p95_seg,
    CAST(coalesce(sum(e.registros_cargados), 0) AS BIGINT) AS total_registros_cargados
FROM etl_ejecuciones e, p
WHERE e.fecha_inicio >= CAST(CAST(p.now_ts AS DATE) - CAST(p.days - 1 AS INTEGER) AS TIMESTAMP)
  AND e.fecha_inicio < CAST(CAST(p.now_ts AS DATE) + 1 AS TIMESTAMP)
GROUP BY e.etl_tipo, e.ubicacion_id, CAST(e.fecha_inicio AS DATE)
)
-- A day verified but without executions started on it (cron down all day) still shows.
SELECT
    coalesce(dia.etl_tipo, 'ventas') AS etl_tipo,
    coalesce(dia.ubicacion_id, v.ubicacion_id) AS ubicacion_id,
    coalesce(dia.ubicacion_nombre, v.ubicacion_nombre) AS ubicacion_nombre,
    coalesce(dia.fecha, v.fecha) AS fecha,
    coalesce(dia.total_ejecuciones, 0) AS total_ejecuciones,
    coalesce(dia.ejecuciones_exitosas, 0) AS ejecuciones_exitosas,
    coalesce(dia.ejecuciones_fallidas, 0) AS ejecuciones_fallidas,
    coalesce(dia.ejecuciones_parciales, 0) AS ejecuciones_parciales,
    coalesce(dia.ejecuciones_en_proceso, 0) AS ejecuciones_en_proceso,
    dia.tasa_exito_pct,
    dia.duracion_promedio_seg,
    dia.duracion_p95_seg,
    coalesce(dia.total_registros_cargados, 0) AS total_registros_cargados,
    v.lineas_tardias, v.lineas_cambiadas, v.lineas_desaparecidas, v.verificado_en
FROM dia
FULL OUTER JOIN verificado v
  ON dia.etl_tipo = 'ventas' AND v.ubicacion_id = dia.ubicacion_id AND v.fecha = dia.fecha
"#;

const VIEWS: &str = r#"
CREATE OR REPLACE VIEW v_gaps_por_recuperar AS
SELECT * FROM klk_gaps(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE OR REPLACE VIEW v_metricas_confiabilidad AS
SELECT * FROM klk_metricas(NULL, 30);

-- The latest start per store and tipo comes from klk_resumen; only the rows started then are
-- read (the highest id wins a tie, as before).
CREATE OR REPLACE VIEW v_ultimas_ejecuciones AS
WITH ultimo AS (
    SELECT etl_tipo, ubicacion_id, max(ultimo_inicio) AS fecha_inicio
    FROM klk_resumen()
    GROUP BY etl_tipo, ubicacion_id
)
SELECT e.id, e.etl_tipo, e.ubicacion_id, e.ubicacion_nombre, e.fecha_inicio, e.fecha_fin,
       e.duracion_segundos, e.fecha_desde, e.fecha_hasta, e.hora_desde, e.hora_hasta, e.estado,
       e.registros_extraidos, e.registros_cargados, e.error_tipo, e.error_mensaje, e.modo,
       e.version_etl, e.host
FROM etl_ejecuciones e
JOIN ultimo u
  ON e.etl_tipo = u.etl_tipo AND e.ubicacion_id = u.ubicacion_id AND e.fecha_inicio = u.fecha_inicio
QUALIFY row_number() OVER (PARTITION BY e.etl_tipo, e.ubicacion_id ORDER BY e.id DESC) = 1;
"#;

/// The latest stock per (store, warehouse, article). (`ventas`, the sales lines, is made from
/// its list of columns: see [`create_table`].)
const INVENTARIO_TABLE: &str = r#"
CREATE TABLE IF NOT EXISTS inventario (
    ubicacion_id VARCHAR NOT NULL,
    almacen VARCHAR NOT NULL,
    codigo_producto VARCHAR NOT NULL,
    nombre_producto VARCHAR,
    codigo_barras VARCHAR,
    categoria VARCHAR,
    descripcion VARCHAR,
    subcategoria VARCHAR,
    descripcion_categoria VARCHAR,
    marca VARCHAR,
    precio DOUBLE,
    iva DOUBLE,
    stock DOUBLE NOT NULL,
    instantanea_en TIMESTAMP NOT NULL,
    ejecucion_id INTEGER NOT NULL,
    PRIMARY KEY (ubicacion_id, almacen, codigo_producto)
);
"#;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("{0}")]
    Sql(#[from] duckdb::Error),
    #[error("{0}")]
    Refused(String),
}

pub struct Migration {
    pub version: i32,
    pub description: &'static str,
    pub apply: fn(&Connection) -> Result<(), MigrationError>,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "seed table etl_ejecuciones (adopted in place when it exists)",
        apply: adopt_seed_table,
    },
    Migration {
        version: 2,
        description: "process columns, etl_configuracion, etl_tiendas, gap and metric macros, seed views",
        apply: tracking_core,
    },
    Migration {
        version: 3,
        description: "typed target tables ventas and inventario",
        apply: target_tables,
    },
    Migration {
        version: 4,
        description: "klk_gaps: time of the latest attempt (ultimo_intento)",
        apply: reinstall_logic,
    },
    Migration {
        version: 5,
        description: "invocations (etl_invocaciones) and the alert outbox (etl_alertas, etl_alertas_estado)",
        apply: monitoring_tables,
    },
    Migration {
        version: 6,
        description: "klk_gaps: attempts made while the store was otherwise healthy (intentos_tras_exito)",
        apply: reinstall_logic,
    },
    Migration {
        version: 7,
        description: "scale: summary of executions per store, tipo and estado (etl_resumen, klk_resumen); gaps and the latest executions read only the horizon",
        apply: summary_and_logic,
    },
    Migration {
        version: 8,
        description: "klk_gaps: covered slots by slot index, inventory in two passes (same rows, less work)",
        apply: reinstall_logic,
    },
    Migration {
        version: 9,
        description: "verification of closed days: what each re-pull found (lineas_tardias, lineas_cambiadas, lineas_desaparecidas), vanished lines (etl_lineas_desaparecidas), unverified days as gaps (klk_verificaciones)",
        apply: verification,
    },
];

pub const LATEST_VERSION: i32 = 9;

/// What verifying a closed day records, and its settings (see `klk_verificaciones`).
const VERIFICATION_TABLES: &str = r#"
ALTER TABLE etl_ejecuciones ADD COLUMN IF NOT EXISTS lineas_tardias INTEGER;
ALTER TABLE etl_ejecuciones ADD COLUMN IF NOT EXISTS lineas_cambiadas INTEGER;
ALTER TABLE etl_ejecuciones ADD COLUMN IF NOT EXISTS lineas_desaparecidas INTEGER;
ALTER TABLE etl_configuracion ADD COLUMN IF NOT EXISTS verificacion_cierre_minutos INTEGER;
ALTER TABLE etl_configuracion ADD COLUMN IF NOT EXISTS verificacion_plazo_minutos INTEGER;
ALTER TABLE etl_configuracion ADD COLUMN IF NOT EXISTS verificacion_desde DATE;
CREATE TABLE IF NOT EXISTS etl_lineas_desaparecidas (
    ubicacion_id VARCHAR NOT NULL,
    numero_factura VARCHAR NOT NULL,
    linea INTEGER NOT NULL,
    fecha DATE NOT NULL,
    hora TIME,
    venta_total_usd DOUBLE,
    cargada_por INTEGER NOT NULL,
    detectada_por INTEGER NOT NULL,
    detectada_en TIMESTAMP NOT NULL,
    eliminada_en TIMESTAMP,
    PRIMARY KEY (ubicacion_id, numero_factura, linea)
);
"#;

fn verification(conn: &Connection) -> Result<(), MigrationError> {
    Ok(conn.execute_batch(VERIFICATION_TABLES)?)
}

/// Every `run`/`recover` invocation (so a silent cron shows), and the alert state and outbox.
const MONITORING_TABLES: &str = r#"
CREATE SEQUENCE IF NOT EXISTS seq_etl_invocaciones START 1;
CREATE TABLE IF NOT EXISTS etl_invocaciones (
    id INTEGER PRIMARY KEY DEFAULT nextval('seq_etl_invocaciones'),
    comando VARCHAR NOT NULL,
    tipos VARCHAR NOT NULL,
    inicio TIMESTAMP NOT NULL,
    fin TIMESTAMP,
    duracion_segundos DOUBLE,
    estado VARCHAR NOT NULL,
    ventanas INTEGER,
    ventanas_fallidas INTEGER,
    gaps_recuperados INTEGER,
    lineas INTEGER,
    host VARCHAR,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS etl_alertas_estado (
    clave VARCHAR PRIMARY KEY,
    clase VARCHAR NOT NULL,
    mensaje VARCHAR NOT NULL,
    abierto_desde TIMESTAMP NOT NULL,
    ultimo_aviso TIMESTAMP NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS seq_etl_alertas START 1;
CREATE TABLE IF NOT EXISTS etl_alertas (
    id INTEGER PRIMARY KEY DEFAULT nextval('seq_etl_alertas'),
    clave VARCHAR NOT NULL,
    clase VARCHAR NOT NULL,
    transicion VARCHAR NOT NULL,
    mensaje VARCHAR NOT NULL,
    canal VARCHAR NOT NULL,
    creada TIMESTAMP NOT NULL,
    intentos INTEGER NOT NULL DEFAULT 0,
    ultimo_intento TIMESTAMP,
    entregada TIMESTAMP,
    ultimo_error VARCHAR
);
"#;

fn monitoring_tables(conn: &Connection) -> Result<(), MigrationError> {
    Ok(conn.execute_batch(MONITORING_TABLES)?)
}

/// For migrations that only change macros or views: the latest logic is installed once
/// after the last pending migration (see [`install_logic`]), with every table it reads.
fn reinstall_logic(_conn: &Connection) -> Result<(), MigrationError> {
    Ok(())
}

/// The summary is built once from the whole table, with the macro that reads it.
fn summary_and_logic(conn: &Connection) -> Result<(), MigrationError> {
    conn.execute_batch(SUMMARY_TABLES)?;
    conn.execute_batch(SUMMARY_MACRO)?;
    Ok(rebuild_summary(conn)?)
}

/// Brings `etl_resumen` up to date (see `klk_resumen`). Run it inside a transaction: it reads
/// and rewrites the summary in one snapshot. Cheap while the summary is valid (it reads only
/// the rows added since); a full pass over the table otherwise (after a delete).
pub fn refresh_summary(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch(REFRESH_SUMMARY)
}

/// Rebuilds the summary from the whole table (one pass), whatever its state: also picks up
/// hand edits of finished rows, which the summary cannot see (klk-etl never changes a
/// finished row). Run it inside a transaction.
pub fn rebuild_summary(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch("DELETE FROM etl_resumen_estado;")?;
    conn.execute_batch(REFRESH_SUMMARY)
}

/// The loaded data: one sales line per (store, invoice, line), the latest stock per
/// (store, warehouse, article). Numbers are numbers, timestamps are timestamps (store-local).
fn target_tables(conn: &Connection) -> Result<(), MigrationError> {
    // A table of the same name from another program is the user's: never alter or reuse it.
    for table in ["ventas", "inventario"] {
        refuse_foreign_target_table(conn, table)?;
    }
    conn.execute_batch(&create_table(&VENTAS, 3))?;
    Ok(conn.execute_batch(INVENTARIO_TABLE)?)
}

/// `CREATE TABLE IF NOT EXISTS` of `table` as of schema version `version` (its columns of
/// that version), in DuckDB's types.
pub fn create_table(table: &Table, version: i32) -> String {
    let mut lines: Vec<String> = table
        .columns_at(version)
        .map(|column| {
            let not_null = if column.nullable { "" } else { " NOT NULL" };
            format!("    {} {}{not_null}", column.name, duckdb_type(column.ty))
        })
        .collect();
    let key: Vec<&str> = table.key().map(|column| column.name).collect();
    if !key.is_empty() {
        lines.push(format!("    PRIMARY KEY ({})", key.join(", ")));
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n);\n",
        table.name,
        lines.join(",\n")
    )
}

/// `ALTER TABLE ... ADD COLUMN` for the columns of `table` that schema version `version` adds
/// (those whose `since` it is): the migration of a column added to the list later. Such a
/// column is nullable (the rows already there have no value for it).
pub fn add_columns(table: &Table, version: i32) -> String {
    table
        .columns
        .iter()
        .filter(|column| column.since == version)
        .map(|column| {
            format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {};\n",
                table.name,
                column.name,
                duckdb_type(column.ty)
            )
        })
        .collect()
}

/// DuckDB's name of each column type.
pub fn duckdb_type(ty: SqlType) -> &'static str {
    match ty {
        SqlType::Text => "VARCHAR",
        SqlType::Double => "DOUBLE",
        SqlType::Integer => "INTEGER",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Boolean => "BOOLEAN",
    }
}

/// `ventas` or `inventario` made by another program (it has no `ejecucion_id`).
fn refuse_foreign_target_table(conn: &Connection, table: &str) -> Result<(), MigrationError> {
    let foreign: bool = conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() t WHERE t.table_name = ? AND t.schema_name = 'main' \
         AND NOT EXISTS (SELECT 1 FROM duckdb_columns() c WHERE c.table_name = t.table_name \
                         AND c.schema_name = 'main' AND c.column_name = 'ejecucion_id')",
        [table],
        |r| r.get(0),
    )?;
    if foreign {
        return Err(MigrationError::Refused(format!(
            "the database already has a table '{table}' that klk-etl did not create; \
             rename it (ALTER TABLE {table} RENAME TO {table}_anterior) and run again"
        )));
    }
    Ok(())
}

/// The columns of the seed's `etl_ejecuciones`: a table of that name without all of them
/// belongs to another program.
const SEED_COLUMNS: [&str; 19] = [
    "id",
    "etl_tipo",
    "ubicacion_id",
    "ubicacion_nombre",
    "fecha_inicio",
    "fecha_fin",
    "duracion_segundos",
    "fecha_desde",
    "fecha_hasta",
    "hora_desde",
    "hora_hasta",
    "estado",
    "registros_extraidos",
    "registros_cargados",
    "error_mensaje",
    "error_tipo",
    "modo",
    "version_etl",
    "host",
];

/// An existing `etl_ejecuciones` must be the seed's (every seed column, by name) to be
/// adopted; another program's table of that name is refused, never altered.
fn refuse_foreign_seed_table(conn: &Connection) -> Result<(), MigrationError> {
    let mut stmt = conn.prepare(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'etl_ejecuciones' AND schema_name = 'main'",
    )?;
    let present = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<std::collections::HashSet<String>, _>>()?;
    if present.is_empty() {
        return Ok(());
    }
    let missing: Vec<&str> = SEED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !present.contains(*c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let lacks = if missing.len() > 4 {
        format!(
            "{} of the {} seed columns, e.g. {}",
            missing.len(),
            SEED_COLUMNS.len(),
            missing[..3].join(", ")
        )
    } else {
        missing.join(", ")
    };
    Err(MigrationError::Refused(format!(
        "the database already has a table 'etl_ejecuciones' that is not the original system's \
         (it lacks {lacks}); klk-etl will not adopt or alter it: rename it \
         (ALTER TABLE etl_ejecuciones RENAME TO etl_ejecuciones_anterior) or use another --db"
    )))
}

/// Every refusal the pending migrations could meet, checked before anything is written, so
/// that a refused file is left exactly as it was. (`Db::migrate` also runs the migrations in
/// one transaction, so an unexpected failure leaves nothing behind either.)
pub fn check_adoptable(conn: &Connection, current_version: i32) -> Result<(), MigrationError> {
    if current_version < 1 {
        refuse_foreign_seed_table(conn)?;
    }
    if current_version < 3 {
        for table in ["ventas", "inventario"] {
            refuse_foreign_target_table(conn, table)?;
        }
    }
    Ok(())
}

/// Whether the table `main.<table>` exists (from the catalog listing: safe inside a
/// transaction, about 10 ms on a new connection).
pub fn table_exists(conn: &Connection, table: &str) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
        [table],
        |r| r.get(0),
    )
}

fn adopt_seed_table(conn: &Connection) -> Result<(), MigrationError> {
    if !table_exists(conn, "etl_ejecuciones")? {
        return Ok(conn.execute_batch(SEED_TABLE)?);
    }
    refuse_foreign_seed_table(conn)?;
    // A file from the original system: keep its rows and its id default. When the id has no
    // default, give it a sequence that starts after the existing ids.
    if id_default(conn)?.is_none() {
        let next: i64 = conn.query_row(
            "SELECT coalesce(max(id), 0) + 1 FROM etl_ejecuciones",
            [],
            |r| r.get(0),
        )?;
        conn.execute_batch(&format!(
            "CREATE SEQUENCE IF NOT EXISTS klk_seq_etl_ejecuciones START {next};"
        ))?;
    }
    Ok(())
}

fn tracking_core(conn: &Connection) -> Result<(), MigrationError> {
    for (column, ty) in [("pid", "INTEGER"), ("proceso_id", "VARCHAR")] {
        let present: bool = conn.query_row(
            "SELECT count(*) > 0 FROM duckdb_columns() WHERE table_name = 'etl_ejecuciones' AND schema_name = 'main' AND column_name = ?",
            [column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!(
                "ALTER TABLE etl_ejecuciones ADD COLUMN {column} {ty};"
            ))?;
        }
    }
    Ok(conn.execute_batch(TRACKING_TABLES)?)
}

/// Macros and views are logic, not data: (re)created by the latest code after the last
/// pending migration, when every table and column they read exists (DuckDB binds a view when
/// it is created). The summary tables come with them, created empty if missing: an empty
/// summary only makes `klk_resumen` read the whole table until it is built.
pub fn install_logic(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch(SUMMARY_TABLES)?;
    conn.execute_batch(NOW_MACRO)?;
    conn.execute_batch(SUMMARY_MACRO)?;
    conn.execute_batch(STORES_MACRO)?;
    conn.execute_batch(VERIFICATIONS_MACRO)?;
    conn.execute_batch(GAPS_MACRO)?;
    conn.execute_batch(METRICS_MACRO)?;
    conn.execute_batch(VIEWS)
}

/// The id column's default expression, if any (`nextval('...')`); `None` also when the
/// table has no `id` column (another program's table, refused by the migrations). Read with
/// `pragma_table_info`, which looks at this one table (`duckdb_columns()` lists the whole
/// catalog: some 15-40 ms on every command's open).
pub fn id_default(conn: &Connection) -> duckdb::Result<Option<String>> {
    use duckdb::OptionalExt;
    Ok(conn
        .query_row(
            "SELECT dflt_value FROM pragma_table_info('main.etl_ejecuciones') WHERE name = 'id'",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

pub const VERSION_TABLE: &str = r#"
CREATE TABLE IF NOT EXISTS etl_schema_version (
    version INTEGER PRIMARY KEY,
    descripcion VARCHAR NOT NULL,
    aplicada TIMESTAMP NOT NULL
);
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// `ventas` as migration 3 created it when its DDL was still written out by hand: files
    /// made then exist, so migration 3 must keep creating exactly this table.
    const VENTAS_AS_WRITTEN_FOR_VERSION_3: &str = r#"
CREATE TABLE IF NOT EXISTS ventas (
    ubicacion_id VARCHAR NOT NULL,
    numero_factura VARCHAR NOT NULL,
    linea INTEGER NOT NULL,
    fecha DATE NOT NULL,
    hora TIME NOT NULL,
    fecha_hora TIMESTAMP NOT NULL,
    codigo_almacen VARCHAR NOT NULL,
    nombre_almacen VARCHAR,
    codigo_producto VARCHAR NOT NULL,
    descripcion_producto VARCHAR,
    marca_producto VARCHAR,
    modelo_producto VARCHAR,
    categoria_producto VARCHAR,
    grupo_articulo VARCHAR,
    subgrupo_producto VARCHAR,
    codigo_barras VARCHAR,
    cantidad_vendida DOUBLE NOT NULL,
    peso_unitario DOUBLE,
    unidad_medida_venta VARCHAR,
    factor_unidad_medida DOUBLE,
    costo_unitario_bs DOUBLE,
    costo_unitario_usd DOUBLE,
    precio_unitario_bs DOUBLE,
    precio_unitario_usd DOUBLE,
    impuesto_porcentaje DOUBLE,
    impuesto_monto_bs DOUBLE,
    porcentaje_descuento DOUBLE,
    monto_descuento DOUBLE,
    venta_total_bs DOUBLE NOT NULL,
    venta_total_usd DOUBLE NOT NULL,
    costo_total_bs DOUBLE,
    costo_total_usd DOUBLE,
    utilidad_bruta_bs DOUBLE,
    utilidad_bruta_usd DOUBLE,
    total_factura DOUBLE,
    tasa_usd DOUBLE,
    es_no_fiscal BOOLEAN,
    tiene_promocion VARCHAR,
    codigo_promocion VARCHAR,
    ejecucion_id INTEGER NOT NULL,
    cargado_en TIMESTAMP NOT NULL,
    PRIMARY KEY (ubicacion_id, numero_factura, linea)
);
"#;

    /// What DuckDB's catalog says of `ventas`: each column, each constraint, and the table
    /// (with its SQL as DuckDB writes it back), one text per row, object ids left out.
    fn ventas_in_catalog(conn: &Connection) -> Vec<String> {
        let queries = [
            "SELECT CAST(c AS VARCHAR) FROM (
                 SELECT * EXCLUDE (database_oid, schema_oid, table_oid) FROM duckdb_columns()
                 WHERE table_name = 'ventas' ORDER BY column_index) c",
            // (constraint_index counts the whole catalog's constraints: its order is kept)
            "SELECT CAST(c AS VARCHAR) FROM (
                 SELECT * EXCLUDE (database_oid, schema_oid, table_oid, constraint_index)
                 FROM duckdb_constraints()
                 WHERE table_name = 'ventas' ORDER BY constraint_index) c",
            "SELECT CAST(t AS VARCHAR) FROM (
                 SELECT * EXCLUDE (database_oid, schema_oid, table_oid) FROM duckdb_tables()
                 WHERE table_name = 'ventas') t",
        ];
        let mut rows = Vec::new();
        for query in queries {
            let mut statement = conn.prepare(query).unwrap();
            let found = statement
                .query_map([], |row| row.get::<_, String>(0))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert!(!found.is_empty(), "nothing in the catalog for {query}");
            rows.extend(found);
        }
        rows
    }

    #[test]
    fn migration_3_creates_ventas_exactly_as_it_always_did() {
        let written = Connection::open_in_memory().unwrap();
        written
            .execute_batch(VENTAS_AS_WRITTEN_FOR_VERSION_3)
            .unwrap();
        let migrated = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS.iter().filter(|m| m.version <= 3) {
            (migration.apply)(&migrated).unwrap();
        }

        let expected = ventas_in_catalog(&written);
        // 41 columns; 14 constraints (13 NOT NULL and the key); the table.
        assert_eq!(expected.len(), 41 + 14 + 1, "{expected:#?}");
        assert!(
            expected.iter().any(|row| row.contains("PRIMARY KEY")
                && row.contains("[ubicacion_id, numero_factura, linea]")),
            "{expected:#?}"
        );
        assert_eq!(ventas_in_catalog(&migrated), expected);
        // And the text itself, so that a difference reads plainly.
        assert_eq!(
            create_table(&VENTAS, 3),
            VENTAS_AS_WRITTEN_FOR_VERSION_3.trim_start()
        );
    }

    #[test]
    fn a_column_added_later_makes_the_table_a_new_file_gets() {
        use crate::klk::ventas::Column;

        let column = |name, ty, nullable, key, since| Column {
            name,
            ty,
            nullable,
            key,
            since,
        };
        let table = Table {
            name: "ventas",
            columns: Vec::leak(vec![
                column("ubicacion_id", SqlType::Text, false, true, 3),
                column("linea", SqlType::Integer, false, true, 3),
                column("cantidad_vendida", SqlType::Double, false, false, 3),
                column("descuento_usd", SqlType::Double, true, false, 10),
                column("es_devolucion", SqlType::Boolean, true, false, 10),
            ]),
        };
        let upgraded = Connection::open_in_memory().unwrap();
        upgraded.execute_batch(&create_table(&table, 3)).unwrap();
        upgraded
            .execute_batch("INSERT INTO ventas VALUES ('t1', 1, 2.0)")
            .unwrap();
        upgraded.execute_batch(&add_columns(&table, 10)).unwrap();
        let fresh = Connection::open_in_memory().unwrap();
        fresh.execute_batch(&create_table(&table, 10)).unwrap();

        let columns = |conn: &Connection| {
            let mut statement = conn
                .prepare(
                    "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM duckdb_columns() \
                     WHERE table_name = 'ventas' ORDER BY column_index",
                )
                .unwrap();
            statement
                .query_map([], |row| row.get::<_, String>(0))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        };
        assert_eq!(columns(&upgraded).len(), 5);
        assert_eq!(columns(&upgraded), columns(&fresh));
        assert_eq!(add_columns(&table, 10).lines().count(), 2);
        let kept: (String, Option<f64>) = upgraded
            .query_row("SELECT ubicacion_id, descuento_usd FROM ventas", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(kept, ("t1".to_owned(), None));
    }
}
