-- Version 12: two indexes PostgreSQL needs where DuckDB's zone maps and columnar scans do
-- without (DuckDB records the version and changes nothing):
-- * ventas (ubicacion_id, fecha): a verification (a whole-day re-pull of a closed day) reads
--   what the table held for that store and day; without it, every line the store has is read;
-- * the executions in progress (a partial index, as small as what is running): every run's
--   start, `unstick`, `health` and `status` look for them; without it, the whole table is
--   read (about 0.3 s at 100 stores x 365 days).

CREATE INDEX IF NOT EXISTS klk_ventas_tienda_fecha ON ventas (ubicacion_id, fecha);
CREATE INDEX IF NOT EXISTS klk_ejecuciones_en_proceso ON etl_ejecuciones (id)
    WHERE estado = 'en_proceso';
