-- "Now" as store-local wall time, without ICU.
CREATE OR REPLACE MACRO klk_now_local() AS (
    SELECT make_timestamp(epoch_us(now()) + CAST(utc_offset_minutos AS BIGINT) * 60000000)
    FROM etl_configuracion
);
