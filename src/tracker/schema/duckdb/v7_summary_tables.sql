-- The summary behind `klk_resumen` (see there). Created with the logic that reads it.
CREATE TABLE IF NOT EXISTS etl_resumen (
    etl_tipo VARCHAR NOT NULL,
    ubicacion_id VARCHAR NOT NULL,
    estado VARCHAR NOT NULL,
    ejecuciones BIGINT NOT NULL,
    registros_cargados BIGINT NOT NULL,
    primer_inicio TIMESTAMP,
    ultimo_inicio TIMESTAMP,
    ubicacion_nombre VARCHAR,
    primera_ventana TIMESTAMP,
    ultimo_fin TIMESTAMP
);
CREATE TABLE IF NOT EXISTS etl_resumen_estado (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hasta_id INTEGER NOT NULL,
    filas BIGINT NOT NULL,
    actualizado TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS etl_resumen_pendientes (
    id INTEGER NOT NULL
);
