-- Version 10: integrations: post-load hook runs (etl_hooks), check-in counters (etl_checkins).
-- (DuckDB: duckdb/v10_integrations.sql.)

CREATE SEQUENCE IF NOT EXISTS seq_etl_hooks START 1;
CREATE TABLE IF NOT EXISTS etl_hooks (
    id INTEGER PRIMARY KEY DEFAULT nextval('seq_etl_hooks'),
    invocacion_id INTEGER,
    nombre VARCHAR NOT NULL,
    evento VARCHAR NOT NULL,
    accion VARCHAR NOT NULL,
    inicio TIMESTAMP NOT NULL,
    duracion_segundos DOUBLE PRECISION,
    ejecuciones INTEGER NOT NULL,
    fallos INTEGER NOT NULL,
    omitidas INTEGER NOT NULL,
    estado VARCHAR NOT NULL,
    error VARCHAR
);
CREATE TABLE IF NOT EXISTS etl_checkins (
    nombre VARCHAR PRIMARY KEY,
    servicio VARCHAR NOT NULL,
    enviados INTEGER NOT NULL,
    fallidos INTEGER NOT NULL,
    ultimo_envio TIMESTAMP,
    ultimo_fallo TIMESTAMP,
    ultimo_error VARCHAR
);
