//! Loading a fetched window: bulk append into a temporary staging table, then one upsert
//! on the natural key, inside the caller's transaction (the same one that marks the
//! execution `exitoso`). Nothing is ever deleted from `ventas`: a line loaded once is never
//! lost by a later run, and a line fetched twice is stored once.

use chrono::NaiveDateTime;
use duckdb::{Connection, params};
use serde::Serialize;

use crate::klk::{SalesLine, StockItem};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    /// Rows written (new plus updated).
    pub loaded: usize,
    /// Rows whose key was not in the table before.
    pub new: usize,
}

const SALES_STAGING: &str =
    "CREATE TEMP TABLE IF NOT EXISTS klk_staging_ventas AS SELECT * FROM ventas LIMIT 0";
const STOCK_STAGING: &str =
    "CREATE TEMP TABLE IF NOT EXISTS klk_staging_inventario AS SELECT * FROM inventario LIMIT 0";

/// Upserts one window's sales lines of one store. `lines` must be unique on
/// (numero_factura, linea) (the client deduplicates).
pub fn load_sales(
    conn: &Connection,
    ubicacion_id: &str,
    ejecucion_id: i64,
    loaded_at: NaiveDateTime,
    lines: &[SalesLine],
) -> duckdb::Result<LoadReport> {
    conn.execute_batch(SALES_STAGING)?;
    conn.execute_batch("DELETE FROM klk_staging_ventas")?;
    {
        let mut appender = conn.appender_to_catalog_and_db("klk_staging_ventas", "temp", "main")?;
        for l in lines {
            appender.append_row(params![
                ubicacion_id,
                l.numero_factura,
                l.linea,
                l.fecha,
                l.hora,
                l.fecha_hora,
                l.codigo_almacen,
                l.nombre_almacen,
                l.codigo_producto,
                l.descripcion_producto,
                l.marca_producto,
                l.modelo_producto,
                l.categoria_producto,
                l.grupo_articulo,
                l.subgrupo_producto,
                l.codigo_barras,
                l.cantidad_vendida,
                l.peso_unitario,
                l.unidad_medida_venta,
                l.factor_unidad_medida,
                l.costo_unitario_bs,
                l.costo_unitario_usd,
                l.precio_unitario_bs,
                l.precio_unitario_usd,
                l.impuesto_porcentaje,
                l.impuesto_monto,
                l.porcentaje_descuento,
                l.monto_descuento,
                l.venta_total_bs,
                l.venta_total_usd,
                l.costo_total_bs,
                l.costo_total_usd,
                l.utilidad_bruta_bs,
                l.utilidad_bruta_usd,
                l.total_factura,
                l.tasa_usd,
                l.es_no_fiscal,
                l.tiene_promocion,
                l.codigo_promocion,
                ejecucion_id,
                loaded_at,
            ])?;
        }
        // Explicitly: the Appender's Drop would swallow an error.
        appender.flush()?;
    }
    let new: i64 = conn.query_row(
        "SELECT count(*) FROM klk_staging_ventas s \
         ANTI JOIN ventas v USING (ubicacion_id, numero_factura, linea)",
        [],
        |r| r.get(0),
    )?;
    let loaded = conn.execute(
        "INSERT OR REPLACE INTO ventas SELECT * FROM klk_staging_ventas",
        [],
    )?;
    conn.execute_batch("DELETE FROM klk_staging_ventas")?;
    Ok(LoadReport {
        loaded,
        new: new as usize,
    })
}

/// Replaces one warehouse's stock snapshot: upserts the articles, then drops the ones the
/// new snapshot no longer lists.
pub fn load_stock(
    conn: &Connection,
    ubicacion_id: &str,
    almacen: &str,
    ejecucion_id: i64,
    snapshot_at: NaiveDateTime,
    items: &[StockItem],
) -> duckdb::Result<LoadReport> {
    conn.execute_batch(STOCK_STAGING)?;
    conn.execute_batch("DELETE FROM klk_staging_inventario")?;
    {
        let mut appender =
            conn.appender_to_catalog_and_db("klk_staging_inventario", "temp", "main")?;
        for item in items {
            appender.append_row(params![
                ubicacion_id,
                almacen,
                item.codigo,
                item.nombre_producto,
                item.barra,
                item.categoria,
                item.descripcion,
                item.subcategoria,
                item.descripcion_categoria,
                item.marca,
                item.precio,
                item.iva,
                item.stock,
                snapshot_at,
                ejecucion_id,
            ])?;
        }
        appender.flush()?;
    }
    let new: i64 = conn.query_row(
        "SELECT count(*) FROM klk_staging_inventario s \
         ANTI JOIN inventario v USING (ubicacion_id, almacen, codigo_producto)",
        [],
        |r| r.get(0),
    )?;
    let loaded = conn.execute(
        "INSERT OR REPLACE INTO inventario SELECT * FROM klk_staging_inventario",
        [],
    )?;
    conn.execute(
        "DELETE FROM inventario WHERE ubicacion_id = ? AND almacen = ? AND ejecucion_id <> ?",
        params![ubicacion_id, almacen, ejecucion_id],
    )?;
    conn.execute_batch("DELETE FROM klk_staging_inventario")?;
    Ok(LoadReport {
        loaded,
        new: new as usize,
    })
}
