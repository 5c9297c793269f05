-- Version 12: an index on ventas (ubicacion_id, fecha). A verification (a whole-day re-pull of
-- a closed day) reads what the table held for that store and day; without it, PostgreSQL reads
-- every line the store has. DuckDB needs nothing (its zone maps skip the other days).

CREATE INDEX IF NOT EXISTS klk_ventas_tienda_fecha ON ventas (ubicacion_id, fecha);
