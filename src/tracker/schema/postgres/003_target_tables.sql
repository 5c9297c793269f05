-- Version 3: typed target tables ventas and inventario.
--
-- A table of the same name made by another program (it has no ejecucion_id) is the user's:
-- refused, never altered or reused.

DO $klk$
DECLARE
    foreign_table text;
BEGIN
    SELECT c.relname INTO foreign_table
    FROM pg_catalog.pg_class c
    WHERE c.relname IN ('ventas', 'inventario') AND c.relnamespace = current_schema()::regnamespace
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attname = 'ejecucion_id' AND NOT a.attisdropped)
    ORDER BY c.relname DESC  -- ventas first, as DuckDB's check
    LIMIT 1;
    IF foreign_table IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'KLK01',
            MESSAGE = format('the database already has a table ''%1$s'' that klk-etl did not create; rename it (ALTER TABLE %1$s RENAME TO %1$s_anterior) and run again', foreign_table);
    END IF;
END
$klk$;

-- One sales line per (store, invoice, line), the latest stock per (store, warehouse, article).
-- Numbers are numbers, timestamps are timestamps (store-local).
CREATE TABLE IF NOT EXISTS ventas (
    ubicacion_id VARCHAR NOT NULL,
    numero_factura VARCHAR NOT NULL,
    linea INTEGER NOT NULL,
    fecha DATE NOT NULL,
    hora TIME NOT NULL,
    fecha_hora TIMESTAMP NOT NULL,
    codigo_almacen VARCHAR NOT NULL,
    nombre_almacen VARCHAR,
    codigo_producto VARCHAR NOT NULL,
    descripcion_producto VARCHAR,
    marca_producto VARCHAR,
    modelo_producto VARCHAR,
    categoria_producto VARCHAR,
    grupo_articulo VARCHAR,
    subgrupo_producto VARCHAR,
    codigo_barras VARCHAR,
    cantidad_vendida DOUBLE PRECISION NOT NULL,
    peso_unitario DOUBLE PRECISION,
    unidad_medida_venta VARCHAR,
    factor_unidad_medida DOUBLE PRECISION,
    costo_unitario_bs DOUBLE PRECISION,
    costo_unitario_usd DOUBLE PRECISION,
    precio_unitario_bs DOUBLE PRECISION,
    precio_unitario_usd DOUBLE PRECISION,
    impuesto_porcentaje DOUBLE PRECISION,
    impuesto_monto_bs DOUBLE PRECISION,
    porcentaje_descuento DOUBLE PRECISION,
    monto_descuento DOUBLE PRECISION,
    venta_total_bs DOUBLE PRECISION NOT NULL,
    venta_total_usd DOUBLE PRECISION NOT NULL,
    costo_total_bs DOUBLE PRECISION,
    costo_total_usd DOUBLE PRECISION,
    utilidad_bruta_bs DOUBLE PRECISION,
    utilidad_bruta_usd DOUBLE PRECISION,
    total_factura DOUBLE PRECISION,
    tasa_usd DOUBLE PRECISION,
    es_no_fiscal BOOLEAN,
    tiene_promocion VARCHAR,
    codigo_promocion VARCHAR,
    ejecucion_id INTEGER NOT NULL,
    cargado_en TIMESTAMP NOT NULL,
    PRIMARY KEY (ubicacion_id, numero_factura, linea)
);
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
    precio DOUBLE PRECISION,
    iva DOUBLE PRECISION,
    stock DOUBLE PRECISION NOT NULL,
    instantanea_en TIMESTAMP NOT NULL,
    ejecucion_id INTEGER NOT NULL,
    PRIMARY KEY (ubicacion_id, almacen, codigo_producto)
);
