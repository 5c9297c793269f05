CREATE TABLE IF NOT EXISTS etl_schema_version (
    version INTEGER PRIMARY KEY,
    descripcion VARCHAR NOT NULL,
    aplicada TIMESTAMP NOT NULL
);
