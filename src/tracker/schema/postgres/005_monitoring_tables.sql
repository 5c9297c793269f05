-- Version 5: invocations (etl_invocaciones) and the alert outbox (etl_alertas,
-- etl_alertas_estado).

CREATE SEQUENCE IF NOT EXISTS seq_etl_invocaciones START 1;
CREATE TABLE IF NOT EXISTS etl_invocaciones (
    id INTEGER PRIMARY KEY DEFAULT nextval('seq_etl_invocaciones'),
    comando VARCHAR NOT NULL,
    tipos VARCHAR NOT NULL,
    inicio TIMESTAMP NOT NULL,
    fin TIMESTAMP,
    duracion_segundos DOUBLE PRECISION,
    estado VARCHAR NOT NULL,
    ventanas INTEGER,
    ventanas_fallidas INTEGER,
    gaps_recuperados INTEGER,
    lineas INTEGER,
    host VARCHAR,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS etl_alertas_estado (
    clave VARCHAR PRIMARY KEY,
    clase VARCHAR NOT NULL,
    mensaje VARCHAR NOT NULL,
    abierto_desde TIMESTAMP NOT NULL,
    ultimo_aviso TIMESTAMP NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS seq_etl_alertas START 1;
CREATE TABLE IF NOT EXISTS etl_alertas (
    id INTEGER PRIMARY KEY DEFAULT nextval('seq_etl_alertas'),
    clave VARCHAR NOT NULL,
    clase VARCHAR NOT NULL,
    transicion VARCHAR NOT NULL,
    mensaje VARCHAR NOT NULL,
    canal VARCHAR NOT NULL,
    creada TIMESTAMP NOT NULL,
    intentos INTEGER NOT NULL DEFAULT 0,
    ultimo_intento TIMESTAMP,
    entregada TIMESTAMP,
    ultimo_error VARCHAR
);
