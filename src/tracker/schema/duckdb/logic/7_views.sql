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
