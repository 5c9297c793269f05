//! Response body parsing, independent of HTTP so it can be tested (and fuzzed) on bytes.
//!
//! Each function reads the body to its end from a reader, converting list elements one at a
//! time: memory holds the parsed result, not the body. Any element that cannot be loaded
//! fails the whole body ([`ErrorKind::InvalidLine`]), naming the element.

mod envelope;
#[cfg(test)]
mod equivalence;
mod fast;
mod fields;
mod quick;
mod sales;
mod stock;
mod typed;

use std::io::Read;

use serde_json::Value;

use crate::klk::error::ErrorKind;
use crate::klk::model::{SalesBatch, SalesMeta, StockBatch, Warehouse};

pub(crate) use envelope::single_line_excerpt;
pub use fields::parse_time_of_day;
pub use sales::sales_line_from_value;
pub use stock::stock_item_from_value;

/// Parses a `POST /ventas` body (object or bare-array layout). `attempts` and
/// `outside_window` are left at 0 for the caller to fill.
///
/// Elements are parsed on every core (see `fast.rs`); the result, and any error with its
/// message, is that of the streaming parser.
pub fn parse_sales(reader: impl Read) -> Result<SalesBatch, ErrorKind> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let (envelope, collector) = fast::parse_sales_parallel(reader, workers);
    sales_batch(envelope?, collector)
}

/// [`parse_sales`] on one thread, reading elements straight from the stream: the reference
/// the parallel parser is tested against.
#[cfg(test)]
pub(crate) fn parse_sales_streaming(reader: impl Read) -> Result<SalesBatch, ErrorKind> {
    let mut collector = sales::SalesCollector::default();
    let envelope = envelope::read_envelope(reader, "ventas", &mut collector)?;
    sales_batch(envelope, collector)
}

fn sales_batch(
    envelope: envelope::Envelope,
    mut collector: sales::SalesCollector,
) -> Result<SalesBatch, ErrorKind> {
    collector.lines.shrink_to_fit();
    Ok(SalesBatch {
        lines: collector.lines,
        received: envelope.received,
        duplicates_removed: collector.duplicates_removed,
        conflicting_duplicates: collector.conflicting_duplicates,
        outside_window: 0,
        format: envelope.format,
        meta: envelope.meta.as_ref().map(sales_meta),
        attempts: 0,
    })
}

/// Parses a `POST /maestra/articulos/almacen` body for warehouse `almacen`.
pub fn parse_stock(reader: impl Read, almacen: &str) -> Result<StockBatch, ErrorKind> {
    let mut collector = stock::StockCollector::new(almacen);
    let envelope = envelope::read_envelope(reader, "articulos", &mut collector)?;
    Ok(StockBatch {
        almacen: almacen.to_owned(),
        items: collector.items,
        received: envelope.received,
        duplicates_removed: collector.duplicates_removed,
        conflicting_duplicates: collector.conflicting_duplicates,
        format: envelope.format,
        total_articulos: envelope
            .meta
            .as_ref()
            .and_then(|meta| meta.get("total_articulos"))
            .and_then(Value::as_i64),
        attempts: 0,
    })
}

/// Parses a `GET /maestra/almacenes/...` body.
pub fn parse_warehouses(reader: impl Read) -> Result<Vec<Warehouse>, ErrorKind> {
    let mut collector = stock::WarehouseCollector::default();
    envelope::read_envelope(reader, "almacenes", &mut collector)?;
    Ok(collector.warehouses)
}

fn sales_meta(meta: &Value) -> SalesMeta {
    let text = |key: &str| meta.get(key).and_then(Value::as_str).map(str::to_owned);
    SalesMeta {
        sucursal_codigo: text("sucursal_codigo"),
        total_registros: meta.get("total_registros").and_then(Value::as_i64),
        fecha_generacion: text("fecha_generacion"),
    }
}
