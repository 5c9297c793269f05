-- The stores gaps are computed for: the active ones of `etl_tiendas`, plus any store with
-- executions that the registry does not know (an adopted file), with where each one's sales
-- are expected from (`desde`, or its first sales window) and whether it has stock history.
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
