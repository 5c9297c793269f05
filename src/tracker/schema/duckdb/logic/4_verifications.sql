-- Every closed sales day of every expected store inside the horizon (from the first day it
-- was expected whole: a store whose first window started at 23:30 is not asked to verify
-- that day), and whether (and when) it was verified: a whole-day sales load of the store that succeeded and started
-- after the day closed (`p_close_min` after its midnight), whatever its modo. Days before
-- `etl_configuracion.verificacion_desde` (the day before klk-etl began verifying this
-- file) are not listed; nor is anything when verification is off (no closing time stored,
-- or a negative `p_close_min`).
--
-- `intentos` counts the failed re-pulls (a dead `en_proceso` one included) since the day
-- closed; `vencido` says the deadline (`p_deadline_min` after its midnight) has passed;
-- `en_curso` that a live execution is re-pulling it now.
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
