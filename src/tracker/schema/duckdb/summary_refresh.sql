-- Rebuilds the summary from what `klk_resumen` answers now (one snapshot, so nothing is
-- counted twice or missed): cheap when the summary is valid (only the rows since are read).
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
