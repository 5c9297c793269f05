-- Every (tipo, store, estado) of `etl_ejecuciones` with its count, rows loaded, first and
-- latest start, latest name, first window start and latest end: what the store directory,
-- the counters and "the latest execution" need, without reading the whole table.
--
-- `etl_resumen` holds these figures for every row up to `etl_resumen_estado.hasta_id` but
-- the ones then `en_proceso` (their ids are in `etl_resumen_pendientes`); the macro adds
-- the rows since and the pending ones, read live. The columns it sums never change once a
-- row is finished. If rows up to `hasta_id` were deleted or added since (the counts do not
-- add up), or the summary was never built, it reads the whole table instead: never a
-- wrong answer, only a slower one until `refresh_summary` runs again.
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
