-- The latest stock per (store, warehouse, article). (`ventas`, the sales lines, is made from
-- its list of columns in src/klk/ventas.rs: see `create_table` in src/tracker/schema/mod.rs.)
CREATE TABLE IF NOT EXISTS inventario (
    ubicacion_id VARCHAR NOT NULL,
    almacen VARCHAR NOT NULL,
    codigo_producto VARCHAR NOT NULL,
    nombre_producto VARCHAR,
    codigo_barras VARCHAR,
    categoria VARCHAR,
    descripcion VARCHAR,
    subcategoria VARCHAR,
    descripcion_categoria VARCHAR,
    marca VARCHAR,
    precio DOUBLE,
    iva DOUBLE,
    stock DOUBLE NOT NULL,
    instantanea_en TIMESTAMP NOT NULL,
    ejecucion_id INTEGER NOT NULL,
    PRIMARY KEY (ubicacion_id, almacen, codigo_producto)
);
