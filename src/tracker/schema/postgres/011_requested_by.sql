-- Version 11: who asked for an invocation from the web (etl_invocaciones.solicitado_por: the
-- serve token's name; NULL from the command line). (DuckDB: duckdb/v11_requested_by.sql.)

ALTER TABLE etl_invocaciones ADD COLUMN IF NOT EXISTS solicitado_por VARCHAR;
