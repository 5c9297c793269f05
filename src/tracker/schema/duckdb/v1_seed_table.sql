-- The seed's DDL, with a sequence for the id (the seed's "auto-increment").
CREATE SEQUENCE IF NOT EXISTS seq_etl_ejecuciones START 1;
CREATE TABLE IF NOT EXISTS etl_ejecuciones (
    id INTEGER PRIMARY KEY DEFAULT nextval('seq_etl_ejecuciones'),
    etl_tipo VARCHAR NOT NULL,
    ubicacion_id VARCHAR NOT NULL,
    ubicacion_nombre VARCHAR NOT NULL,
    fecha_inicio TIMESTAMP NOT NULL,
    fecha_fin TIMESTAMP,
    duracion_segundos DOUBLE,
    fecha_desde DATE NOT NULL,
    fecha_hasta DATE NOT NULL,
    hora_desde TIME,
    hora_hasta TIME,
    estado VARCHAR NOT NULL,
    registros_extraidos INTEGER DEFAULT 0,
    registros_cargados INTEGER DEFAULT 0,
    error_mensaje TEXT,
    error_tipo VARCHAR,
    modo VARCHAR,
    version_etl VARCHAR,
    host VARCHAR
);
