-- Gaps of both tipos. NULL arguments take the values stored in `etl_configuracion`, which
-- is what the view does; `klk-etl gaps` passes its own (pinned) now and settings.
--
-- ventas: every closed slot of an expected store inside the horizon, minus the slots some
-- `exitoso` execution's window contains (or a live `en_proceso` one is working on); a
-- never-attempted slot only counts once `gracia` has passed after it closed. Remaining
-- slots are merged into maximal runs per store and date.
-- inventario: a store whose attempts since its last success failed, or whose last success
-- is older than the staleness threshold.
-- verificacion (`causa = 'sin_verificar'`, a whole day): a closed sales day that no whole-day
-- re-pull has verified by its deadline, or whose re-pull failed (see `klk_verificaciones`).
--
-- Cost: only executions whose window reaches into the horizon are read (the table is in
-- time order, so DuckDB skips the rest by its min/max per row group); which stores exist and
-- where each one's sales start come from `klk_resumen`; a store's older inventory history
-- is read only when its latest success is not inside the horizon.
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
