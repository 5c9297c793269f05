-- Version 15: the mean duration of klk_metricas and of the per-store summary is the sum of
-- whole microseconds divided by the count, on both engines. A sum of DOUBLEs depends on the
-- order rows are added in, which the two engines do not share: a mean on a half of its last
-- kept digit then rounded differently (35 of 6,000 days at 100 stores x 30 days, durations
-- in milliseconds). An integer sum does not depend on the order.
--
-- The kept days hold the new sum (duracion_suma_us); the days kept before are forgotten and
-- filled again by klk_refrescar_resumen. The two functions whose columns change are dropped
-- here and created again by logic.sql, which runs next in this transaction. The column
-- duracion_suma (a sum of DOUBLE seconds) is no longer filled.

ALTER TABLE etl_metricas_dia ADD COLUMN IF NOT EXISTS duracion_suma_us BIGINT;
DELETE FROM etl_metricas_dias;
DELETE FROM etl_metricas_dia;
DROP FUNCTION IF EXISTS klk_metricas_estado(timestamp, bigint);
DROP FUNCTION IF EXISTS klk_metricas_estado_de(timestamp, timestamp);
