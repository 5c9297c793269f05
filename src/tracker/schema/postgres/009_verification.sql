-- Version 9: verification of closed days: what each re-pull found (lineas_tardias,
-- lineas_cambiadas, lineas_desaparecidas), vanished lines (etl_lineas_desaparecidas),
-- unverified days as gaps (klk_verificaciones, in logic.sql).

ALTER TABLE etl_ejecuciones ADD COLUMN IF NOT EXISTS lineas_tardias INTEGER;
ALTER TABLE etl_ejecuciones ADD COLUMN IF NOT EXISTS lineas_cambiadas INTEGER;
ALTER TABLE etl_ejecuciones ADD COLUMN IF NOT EXISTS lineas_desaparecidas INTEGER;
ALTER TABLE etl_configuracion ADD COLUMN IF NOT EXISTS verificacion_cierre_minutos INTEGER;
ALTER TABLE etl_configuracion ADD COLUMN IF NOT EXISTS verificacion_plazo_minutos INTEGER;
ALTER TABLE etl_configuracion ADD COLUMN IF NOT EXISTS verificacion_desde DATE;
CREATE TABLE IF NOT EXISTS etl_lineas_desaparecidas (
    ubicacion_id VARCHAR NOT NULL,
    numero_factura VARCHAR NOT NULL,
    linea INTEGER NOT NULL,
    fecha DATE NOT NULL,
    hora TIME,
    venta_total_usd DOUBLE PRECISION,
    cargada_por INTEGER NOT NULL,
    detectada_por INTEGER NOT NULL,
    detectada_en TIMESTAMP NOT NULL,
    eliminada_en TIMESTAMP,
    PRIMARY KEY (ubicacion_id, numero_factura, linea)
);
