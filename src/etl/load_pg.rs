//! Loading a fetched window into PostgreSQL, inside the caller's transaction (the same one
//! that marks the execution `exitoso`), with the same result as [`super::load`] on DuckDB: an
//! upsert on the natural key, nothing ever deleted from `ventas`.
//!
//! The lines go over the wire in PostgreSQL's binary `COPY` format, encoded here straight
//! from the Arrow chunks of [`SalesLines`] (no text, no per-cell trait objects). The window's
//! keys are looked up first: lines whose key is new, usually all of them, are copied
//! straight into `ventas` (its primary key would refuse a duplicate, failing the window);
//! only the ones already there go through a temp table and `INSERT ... ON CONFLICT DO
//! UPDATE`. A re-pull of a window already loaded is one upsert of its lines.

use crate::tracker::postgres::storable_text;
use std::collections::HashSet;
use std::io::Write;

use chrono::{NaiveDate, NaiveDateTime};
use duckdb::arrow::array::{
    Array, BooleanArray, Date32Array, Float64Array, Int32Array, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray,
};
use duckdb::arrow::datatypes::{DataType, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;
use postgres::Client;

use super::load::LoadReport;
use crate::klk::{SalesLines, StockItem};
use crate::tracker::TrackerError;
use crate::tracker::postgres::sql_error;
use crate::tracker::verification::VerificationDiff;

const SALES_KEY: &str = "ubicacion_id, numero_factura, linea";
const STOCK_KEY: &str = "ubicacion_id, almacen, codigo_producto";
const STOCK_COLUMNS: [&str; 15] = [
    "ubicacion_id",
    "almacen",
    "codigo_producto",
    "nombre_producto",
    "codigo_barras",
    "categoria",
    "descripcion",
    "subcategoria",
    "descripcion_categoria",
    "marca",
    "precio",
    "iva",
    "stock",
    "instantanea_en",
    "ejecucion_id",
];

fn failure(message: String) -> TrackerError {
    TrackerError::Unexpected(message)
}

/// Upserts one window's sales lines of one store (unique on `numero_factura`, `linea`).
pub fn load_sales(
    client: &mut Client,
    ubicacion_id: &str,
    ejecucion_id: i64,
    loaded_at: NaiveDateTime,
    lines: SalesLines,
) -> Result<LoadReport, TrackerError> {
    let expected = lines.len();
    let ejecucion = i32::try_from(ejecucion_id)
        .map_err(|_| failure(format!("ejecucion_id {ejecucion_id} is out of range")))?;
    let existing = existing_keys(client, ubicacion_id, &lines)?;
    let columns: Vec<&str> = crate::klk::ventas::VENTAS
        .columns
        .iter()
        .map(|c| c.name)
        .collect();
    let column_list = columns.join(", ");

    let mut new_rows = CopyIn::start(
        client,
        &format!("COPY ventas ({column_list}) FROM STDIN (FORMAT binary)"),
    )?;
    let mut replaced_rows = Vec::new();
    let mut replaced_count = 0;
    for chunk in lines.into_chunks() {
        let rows = chunk.rows();
        let mut insert = Vec::with_capacity(rows);
        let mut replace = Vec::new();
        for row in 0..rows {
            let live = chunk.is_live(row);
            let there = live && !existing.is_empty() && {
                let (factura, linea) = chunk.key(row);
                existing.contains(&(storable_text(factura).into_owned(), linea))
            };
            insert.push(live && !there);
            if there {
                replace.resize(row, false);
                replace.push(true);
            }
        }
        let batch = chunk
            .into_batch(ubicacion_id, ejecucion, loaded_at)
            .map_err(|e| failure(format!("arrow: {e}")))?;
        check_columns(&batch, &columns)?;
        if !replace.is_empty() {
            replace.resize(rows, false);
            replaced_count += encode_rows(&mut replaced_rows, &batch, &replace)?;
        }
        let mut buffer = Vec::new();
        encode_rows(&mut buffer, &batch, &insert)?;
        new_rows.write(&buffer)?;
        crate::klk::release_freed_memory();
    }
    let new = new_rows.finish()? as usize;

    let mut replaced = 0;
    if replaced_count > 0 {
        client
            .batch_execute(
                "CREATE TEMP TABLE IF NOT EXISTS klk_staging_ventas (LIKE ventas) ON COMMIT DELETE ROWS; \
                 TRUNCATE klk_staging_ventas",
            )
            .map_err(sql_error)?;
        let mut staged = CopyIn::start(
            client,
            &format!("COPY klk_staging_ventas ({column_list}) FROM STDIN (FORMAT binary)"),
        )?;
        staged.write(&replaced_rows)?;
        drop(replaced_rows);
        staged.finish()?;
        let updates = columns
            .iter()
            .filter(|c| !SALES_KEY.split(", ").any(|k| k == **c))
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        replaced = client
            .execute(
                &format!(
                    "INSERT INTO ventas ({column_list}) SELECT {column_list} FROM klk_staging_ventas \
                     ON CONFLICT ({SALES_KEY}) DO UPDATE SET {updates}"
                ),
                &[],
            )
            .map_err(sql_error)? as usize;
        check_written("ventas (replaced)", replaced, replaced_count)?;
    }
    // Both counts are the server's own (COPY's and the upsert's rows): unlike DuckDB's
    // appender (see load.rs), nothing on the way can lose a row without an error.
    check_written("ventas", new + replaced, expected)?;
    Ok(LoadReport {
        loaded: new + replaced,
        new,
    })
}

/// [`load_sales`] for a whole-day re-pull of a closed day, saying what it found against what
/// `ventas` held for that store and day before (see [`super::load::load_sales_verifying`]).
pub fn load_sales_verifying(
    client: &mut Client,
    ubicacion_id: &str,
    ejecucion_id: i64,
    loaded_at: NaiveDateTime,
    lines: SalesLines,
    fecha: NaiveDate,
) -> Result<(LoadReport, VerificationDiff), TrackerError> {
    let ejecucion = i32::try_from(ejecucion_id)
        .map_err(|_| failure(format!("ejecucion_id {ejecucion_id} is out of range")))?;
    client
        .execute(
            "CREATE TEMP TABLE klk_verificacion_antes ON COMMIT DROP AS \
             SELECT * FROM ventas WHERE ubicacion_id = $1 AND fecha = $2",
            &[&ubicacion_id, &fecha],
        )
        .map_err(sql_error)?;
    let report = load_sales(client, ubicacion_id, ejecucion_id, loaded_at, lines)?;
    let compared = crate::klk::ventas::VENTAS
        .columns
        .iter()
        .map(|c| c.name)
        .filter(|c| !["ejecucion_id", "cargado_en"].contains(c))
        .collect::<Vec<_>>()
        .join(", ");
    let cambiadas: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM ( \
                     SELECT {compared} FROM ventas v \
                     WHERE v.ubicacion_id = $1 AND v.ejecucion_id = $2 AND EXISTS ( \
                         SELECT 1 FROM klk_verificacion_antes a WHERE a.ubicacion_id = v.ubicacion_id \
                         AND a.numero_factura = v.numero_factura AND a.linea = v.linea) \
                     EXCEPT \
                     SELECT {compared} FROM klk_verificacion_antes) cambiadas"
            ),
            &[&ubicacion_id, &ejecucion],
        )
        .map_err(sql_error)?
        .get(0);
    client
        .execute(
            "DELETE FROM etl_lineas_desaparecidas d WHERE d.ubicacion_id = $1 AND d.eliminada_en IS NULL \
             AND EXISTS (SELECT 1 FROM ventas v WHERE v.ubicacion_id = d.ubicacion_id \
                 AND v.numero_factura = d.numero_factura AND v.linea = d.linea AND v.ejecucion_id = $2)",
            &[&ubicacion_id, &ejecucion],
        )
        .map_err(sql_error)?;
    client
        .execute(
            "INSERT INTO etl_lineas_desaparecidas \
             SELECT ubicacion_id, numero_factura, linea, fecha, hora, venta_total_usd, ejecucion_id, \
                    $1, $2, NULL \
             FROM ventas WHERE ubicacion_id = $3 AND fecha = $4 AND ejecucion_id <> $1 \
             ON CONFLICT DO NOTHING",
            &[&ejecucion, &loaded_at, &ubicacion_id, &fecha],
        )
        .map_err(sql_error)?;
    let desaparecidas: i64 = client
        .query_one(
            "SELECT count(*) FROM ventas WHERE ubicacion_id = $1 AND fecha = $2 AND ejecucion_id <> $3",
            &[&ubicacion_id, &fecha, &ejecucion],
        )
        .map_err(sql_error)?
        .get(0);
    let diff = VerificationDiff {
        tardias: report.new as i64,
        cambiadas,
        desaparecidas,
    };
    Ok((report, diff))
}

/// The keys among `lines` already in `ventas` for this store (as stored: see
/// [`storable_text`]).
fn existing_keys(
    client: &mut Client,
    ubicacion_id: &str,
    lines: &SalesLines,
) -> Result<HashSet<(String, i64)>, TrackerError> {
    let mut facturas: Vec<String> = Vec::with_capacity(lines.len());
    let mut lineas: Vec<i32> = Vec::with_capacity(lines.len());
    for batch in lines.key_batches() {
        let batch = batch.map_err(|e| failure(format!("arrow: {e}")))?;
        let (Some(factura), Some(linea)) = (
            batch.column(0).as_any().downcast_ref::<StringArray>(),
            batch.column(1).as_any().downcast_ref::<Int32Array>(),
        ) else {
            return Err(failure("unexpected key columns".to_string()));
        };
        for row in 0..batch.num_rows() {
            facturas.push(storable_text(factura.value(row)).into_owned());
            lineas.push(linea.value(row));
        }
    }
    if facturas.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = client
        .query(
            "SELECT v.numero_factura, v.linea FROM unnest($2::varchar[], $3::int4[]) AS k(numero_factura, linea) \
             JOIN ventas v ON v.ubicacion_id = $1 AND v.numero_factura = k.numero_factura AND v.linea = k.linea",
            &[&ubicacion_id, &facturas, &lineas],
        )
        .map_err(sql_error)?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, String>(0), i64::from(r.get::<_, i32>(1))))
        .collect())
}

/// Replaces one warehouse's stock snapshot: upserts the articles, then drops the ones the
/// new snapshot no longer lists.
pub fn load_stock(
    client: &mut Client,
    ubicacion_id: &str,
    almacen: &str,
    ejecucion_id: i64,
    snapshot_at: NaiveDateTime,
    items: &[StockItem],
) -> Result<LoadReport, TrackerError> {
    let ejecucion = i32::try_from(ejecucion_id)
        .map_err(|_| failure(format!("ejecucion_id {ejecucion_id} is out of range")))?;
    client
        .batch_execute(
            "CREATE TEMP TABLE IF NOT EXISTS klk_staging_inventario (LIKE inventario) ON COMMIT DELETE ROWS; \
             TRUNCATE klk_staging_inventario",
        )
        .map_err(sql_error)?;
    let column_list = STOCK_COLUMNS.join(", ");
    let mut copy = CopyIn::start(
        client,
        &format!("COPY klk_staging_inventario ({column_list}) FROM STDIN (FORMAT binary)"),
    )?;
    let mut buffer = Vec::new();
    for item in items {
        let mut row = RowEncoder::new(&mut buffer, STOCK_COLUMNS.len());
        row.text(Some(ubicacion_id));
        row.text(Some(almacen));
        row.text(Some(&item.codigo));
        for text in [
            &item.nombre_producto,
            &item.barra,
            &item.categoria,
            &item.descripcion,
            &item.subcategoria,
            &item.descripcion_categoria,
            &item.marca,
        ] {
            row.text(text.as_deref());
        }
        row.float(item.precio);
        row.float(item.iva);
        row.float(Some(item.stock));
        row.timestamp_micros(Some(snapshot_at.and_utc().timestamp_micros()));
        row.int4(Some(ejecucion));
    }
    copy.write(&buffer)?;
    copy.finish()?;
    let updates = STOCK_COLUMNS[3..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = client
        .query_one(
            &format!(
                "WITH escritas AS ( \
                     INSERT INTO inventario ({column_list}) SELECT {column_list} FROM klk_staging_inventario \
                     ON CONFLICT ({STOCK_KEY}) DO UPDATE SET {updates} \
                     RETURNING (xmax = 0) AS nueva) \
                 SELECT count(*), count(*) FILTER (WHERE nueva) FROM escritas"
            ),
            &[],
        )
        .map_err(sql_error)?;
    let (loaded, new): (i64, i64) = (row.get(0), row.get(1));
    client
        .execute(
            "DELETE FROM inventario WHERE ubicacion_id = $1 AND almacen = $2 AND ejecucion_id <> $3",
            &[&ubicacion_id, &almacen, &ejecucion],
        )
        .map_err(sql_error)?;
    check_written("inventario", loaded as usize, items.len())?;
    Ok(LoadReport {
        loaded: loaded as usize,
        new: new as usize,
    })
}

fn check_written(table: &str, written: usize, expected: usize) -> Result<(), TrackerError> {
    if written == expected {
        return Ok(());
    }
    Err(failure(format!(
        "{table}: {written} rows written for {expected} staged"
    )))
}

fn check_columns(batch: &RecordBatch, columns: &[&str]) -> Result<(), TrackerError> {
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if names == columns {
        return Ok(());
    }
    Err(failure(format!(
        "the sales batch has columns {names:?}, ventas expects {columns:?}"
    )))
}

/// A `COPY ... FROM STDIN (FORMAT binary)` in progress: the header goes first, the
/// trailer with [`CopyIn::finish`].
struct CopyIn<'a> {
    writer: postgres::CopyInWriter<'a>,
}

/// The binary COPY signature, flags and header extension length.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

impl<'a> CopyIn<'a> {
    fn start(client: &'a mut Client, sql: &str) -> Result<CopyIn<'a>, TrackerError> {
        let mut writer = client.copy_in(sql).map_err(sql_error)?;
        writer.write_all(COPY_HEADER).map_err(copy_failure)?;
        Ok(CopyIn { writer })
    }

    fn write(&mut self, rows: &[u8]) -> Result<(), TrackerError> {
        self.writer.write_all(rows).map_err(copy_failure)
    }

    /// The rows the server took.
    fn finish(mut self) -> Result<u64, TrackerError> {
        self.writer
            .write_all(&(-1i16).to_be_bytes())
            .map_err(copy_failure)?;
        self.writer.finish().map_err(sql_error)
    }
}

fn copy_failure(err: std::io::Error) -> TrackerError {
    failure(format!("COPY to the server failed: {err}"))
}

/// Days and microseconds between 1970-01-01 (Arrow, chrono) and 2000-01-01 (PostgreSQL).
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// One row of a binary COPY: the field count, then each field's length and bytes.
struct RowEncoder<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> RowEncoder<'a> {
    fn new(out: &'a mut Vec<u8>, fields: usize) -> RowEncoder<'a> {
        out.extend_from_slice(&(fields as i16).to_be_bytes());
        RowEncoder { out }
    }

    fn null(&mut self) {
        self.out.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        self.out
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.out.extend_from_slice(bytes);
    }

    fn text(&mut self, value: Option<&str>) {
        match value {
            Some(text) => self.field(storable_text(text).as_bytes()),
            None => self.null(),
        }
    }

    fn float(&mut self, value: Option<f64>) {
        match value {
            Some(v) => self.field(&v.to_bits().to_be_bytes()),
            None => self.null(),
        }
    }

    fn int4(&mut self, value: Option<i32>) {
        match value {
            Some(v) => self.field(&v.to_be_bytes()),
            None => self.null(),
        }
    }

    fn timestamp_micros(&mut self, unix_micros: Option<i64>) {
        match unix_micros {
            Some(v) => self.field(&(v - PG_EPOCH_MICROS).to_be_bytes()),
            None => self.null(),
        }
    }
}

/// A column of an Arrow batch, typed once for the whole batch.
enum Column<'a> {
    Text(&'a StringArray),
    Float(&'a Float64Array),
    Int4(&'a Int32Array),
    Bool(&'a BooleanArray),
    Date(&'a Date32Array),
    Time(&'a Time64MicrosecondArray),
    Timestamp(&'a TimestampMicrosecondArray),
}

fn typed_column<'a>(array: &'a dyn Array, name: &str) -> Result<Column<'a>, TrackerError> {
    let any = array.as_any();
    let column = match array.data_type() {
        DataType::Utf8 => any.downcast_ref().map(Column::Text),
        DataType::Float64 => any.downcast_ref().map(Column::Float),
        DataType::Int32 => any.downcast_ref().map(Column::Int4),
        DataType::Boolean => any.downcast_ref().map(Column::Bool),
        DataType::Date32 => any.downcast_ref().map(Column::Date),
        DataType::Time64(TimeUnit::Microsecond) => any.downcast_ref().map(Column::Time),
        DataType::Timestamp(TimeUnit::Microsecond, None) => {
            any.downcast_ref().map(Column::Timestamp)
        }
        _ => None,
    };
    column.ok_or_else(|| {
        failure(format!(
            "column {name} has Arrow type {}, which the PostgreSQL loader does not write",
            array.data_type()
        ))
    })
}

/// Appends the rows of `batch` where `rows` is true; how many.
fn encode_rows(
    out: &mut Vec<u8>,
    batch: &RecordBatch,
    rows: &[bool],
) -> Result<usize, TrackerError> {
    let schema = batch.schema();
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(array, field)| typed_column(array.as_ref(), field.name()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut written = 0;
    for row in (0..rows.len()).filter(|&row| rows[row]) {
        let mut encoder = RowEncoder::new(out, columns.len());
        for column in &columns {
            match column {
                Column::Text(a) => encoder.text((!a.is_null(row)).then(|| a.value(row))),
                Column::Float(a) => encoder.float((!a.is_null(row)).then(|| a.value(row))),
                Column::Int4(a) => encoder.int4((!a.is_null(row)).then(|| a.value(row))),
                Column::Bool(a) => match a.is_null(row) {
                    true => encoder.null(),
                    false => encoder.field(&[u8::from(a.value(row))]),
                },
                Column::Date(a) => match a.is_null(row) {
                    true => encoder.null(),
                    false => encoder.field(&(a.value(row) - PG_EPOCH_DAYS).to_be_bytes()),
                },
                Column::Time(a) => match a.is_null(row) {
                    true => encoder.null(),
                    false => encoder.field(&a.value(row).to_be_bytes()),
                },
                Column::Timestamp(a) => {
                    encoder.timestamp_micros((!a.is_null(row)).then(|| a.value(row)))
                }
            }
        }
        written += 1;
    }
    Ok(written)
}
