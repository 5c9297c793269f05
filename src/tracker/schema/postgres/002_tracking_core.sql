-- Version 2: process columns, etl_configuracion, etl_tiendas (the gap and metric logic and
-- the seed views come with logic.sql).

ALTER TABLE etl_ejecuciones ADD COLUMN IF NOT EXISTS pid INTEGER;
ALTER TABLE etl_ejecuciones ADD COLUMN IF NOT EXISTS proceso_id VARCHAR;

CREATE TABLE IF NOT EXISTS etl_configuracion (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    zona_horaria VARCHAR NOT NULL,
    utc_offset_minutos INTEGER NOT NULL,
    slot_minutos INTEGER NOT NULL,
    horizonte_minutos INTEGER NOT NULL,
    atascado_minutos INTEGER NOT NULL,
    gracia_minutos INTEGER NOT NULL,
    inventario_vencido_minutos INTEGER NOT NULL,
    actualizado TIMESTAMP NOT NULL
);
-- "Now" as UTC wall time, whatever the session's TimeZone.
INSERT INTO etl_configuracion
    SELECT 1, 'America/Caracas', -240, 30, 168 * 60, 60, 30, 120, now() AT TIME ZONE 'UTC'
    WHERE NOT EXISTS (SELECT 1 FROM etl_configuracion);

CREATE TABLE IF NOT EXISTS etl_tiendas (
    ubicacion_id VARCHAR PRIMARY KEY,
    ubicacion_nombre VARCHAR NOT NULL,
    sucursal VARCHAR,
    almacenes VARCHAR[],
    activa BOOLEAN NOT NULL DEFAULT true,
    hora_apertura TIME,
    hora_cierre TIME,
    desde DATE,
    actualizado TIMESTAMP
);
