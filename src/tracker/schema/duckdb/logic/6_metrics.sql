-- Per store, tipo and day (store-local) over the last `p_days` days including today. For
-- `ventas`, what verifying the day found (the latest verifying re-pull of that day, which is
-- the one that recorded `lineas_tardias`): lines the table did not have, lines whose values
-- changed, lines the API no longer returns; and when the day was first verified.
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
    -- whole microseconds added up (an integer sum: the same in any order, on both engines)
    round(CAST(sum(CAST(floor(e.duracion_segundos * 1000000 + 0.5) AS BIGINT)) AS DOUBLE)
        / count(e.duracion_segundos) / 1000000, 3) AS duracion_promedio_seg,
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
