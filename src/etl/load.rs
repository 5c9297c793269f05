//! Loading a fetched window, inside the caller's transaction (the same one that marks the
//! execution `exitoso`): an upsert on the natural key. Nothing is ever deleted from `ventas`:
//! a line loaded once is never lost by a later run, and a line fetched twice is stored once.
//!
//! Sales: the lines arrive column by column ([`SalesLines`]), in chunks that become Arrow
//! record batches without copying, which DuckDB scans with a table function. The window's
//! keys are looked up first (two columns, cheap) to find which lines are already in
//! `ventas`; the others, usually nearly all, are inserted straight into `ventas` (its primary
//! key would refuse a duplicate) and only the ones already there go through `INSERT OR
//! REPLACE`, one chunk at a time, each freed once written. The result is the same as upserting
//! every line, without copying the window twice.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use duckdb::arrow::array::BooleanArray;
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::vtab::arrow::{ArrowBatchRegistration, ArrowVTab};
use duckdb::{Connection, params};
use serde::Serialize;

use crate::klk::{SalesLines, StockItem};
use crate::tracker::verification::VerificationDiff;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    /// Rows written (new plus updated).
    pub loaded: usize,
    /// Rows whose key was not in the table before.
    pub new: usize,
}

/// Rows per appender flush (stock) and per statement (sales: one chunk of [`SalesLines`]).
/// DuckDB 2.0 loses the rows of a single appender flush of a whole row group (122,880 rows)
/// or more into a table created in the same transaction (which the staging tables always
/// are): scans of it return nothing. Writing well below a row group at a time avoids that;
/// [`check_written`] and the count of stored rows catch it should it happen anyway.
const FLUSH_ROWS: usize = crate::klk::CHUNK_ROWS;

const STOCK_STAGING: &str =
    "CREATE TEMP TABLE IF NOT EXISTS klk_staging_inventario AS SELECT * FROM inventario LIMIT 0";

/// Upserts one window's sales lines of one store. `lines` must be unique on
/// (numero_factura, linea) (the client deduplicates). Each chunk of `lines` is inserted
/// column by column and freed before the next.
///
/// DuckDB runs this on one thread (restored before returning, so the commit's checkpoint
/// still uses every core): on two shared cores its task scheduler spends more time waiting
/// for the second than it saves, and the other core is left to the fetch workers.
pub fn load_sales(
    conn: &Connection,
    ubicacion_id: &str,
    ejecucion_id: i64,
    loaded_at: NaiveDateTime,
    lines: SalesLines,
) -> duckdb::Result<LoadReport> {
    let threads: i64 = conn.query_row("SELECT current_setting('threads')", [], |r| r.get(0))?;
    conn.execute_batch("SET threads = 1")?;
    let result = upsert_sales(conn, ubicacion_id, ejecucion_id, loaded_at, lines);
    let restored = conn.execute("SET threads = ?", [threads]);
    let report = result?;
    restored?;
    Ok(report)
}

fn upsert_sales(
    conn: &Connection,
    ubicacion_id: &str,
    ejecucion_id: i64,
    loaded_at: NaiveDateTime,
    lines: SalesLines,
) -> duckdb::Result<LoadReport> {
    let expected = lines.len();
    let ejecucion = i32::try_from(ejecucion_id)
        .map_err(|_| failure(format!("ejecucion_id {ejecucion_id} is out of range")))?;
    register_arrow_scan(conn)?;
    let found = existing_keys(conn, ubicacion_id, &lines)?;
    let is_existing = |(numero_factura, linea): (&str, i64)| {
        found
            .get(numero_factura)
            .is_some_and(|lineas| lineas.contains(&linea))
    };

    // New keys: straight into ventas (its primary key would refuse a duplicate); keys
    // already there: replaced. One chunk (at most CHUNK_ROWS rows) at a time, freed before
    // the next, so a re-pull of a window already loaded does not hold it twice either.
    let mut new = 0;
    let mut replaced = 0;
    for chunk in lines.into_chunks() {
        let rows = chunk.rows();
        let mut to_insert = Vec::with_capacity(rows);
        let mut to_replace = Vec::new();
        for row in 0..rows {
            let live = chunk.is_live(row);
            let there = live && !found.is_empty() && is_existing(chunk.key(row));
            to_insert.push(live && !there);
            if there {
                to_replace.resize(row, false);
                to_replace.push(true);
            }
        }
        let batch = chunk
            .into_batch(ubicacion_id, ejecucion, loaded_at)
            .map_err(arrow_failure)?;
        if !to_replace.is_empty() {
            to_replace.resize(rows, false);
            let staged = to_replace.iter().filter(|&&replace| replace).count();
            let written = insert_rows(
                "INSERT OR REPLACE INTO ventas BY NAME",
                conn,
                &batch,
                to_replace,
            )?;
            check_written("ventas (replaced)", written, staged)?;
            replaced += written;
        }
        let staged = to_insert.iter().filter(|&&insert| insert).count();
        if staged > 0 {
            let inserted = insert_rows("INSERT INTO ventas BY NAME", conn, &batch, to_insert)?;
            check_written("ventas", inserted, staged)?;
            new += inserted;
        }
        // Hands the chunk's memory back to the system, for DuckDB's growing share of the
        // window to reuse rather than add to.
        crate::klk::release_freed_memory();
    }
    check_written("ventas", new + replaced, expected)?;
    // What the table now holds from this execution, counted by DuckDB itself: rows lost on
    // the way show here.
    let stored: i64 = conn.query_row(
        "SELECT count(*) FROM ventas WHERE ejecucion_id = ? AND ubicacion_id = ?",
        params![ejecucion_id, ubicacion_id],
        |row| row.get(0),
    )?;
    check_written("ventas (stored)", stored as usize, expected)?;
    Ok(LoadReport {
        loaded: new + replaced,
        new,
    })
}

/// Loads a whole-day re-pull of a closed day (a verification) like [`load_sales`], and says
/// what it found against what `ventas` held for that store and day before: lines new to the
/// table, lines whose values changed, and lines the API no longer returns. Those are kept in
/// `ventas` (an explicit `klk-etl vanished --delete` removes them) and listed in
/// `etl_lineas_desaparecidas`; a listed line the API returns again is taken off the list.
pub fn load_sales_verifying(
    conn: &Connection,
    ubicacion_id: &str,
    ejecucion_id: i64,
    loaded_at: NaiveDateTime,
    lines: SalesLines,
    fecha: chrono::NaiveDate,
) -> duckdb::Result<(LoadReport, VerificationDiff)> {
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE klk_verificacion_antes AS \
         SELECT * FROM ventas WHERE ubicacion_id = ? AND fecha = ?",
        params![ubicacion_id, fecha],
    )?;
    let report = load_sales(conn, ubicacion_id, ejecucion_id, loaded_at, lines)?;
    // The day's lines this re-pull rewrote whose values differ from before (the execution
    // and load time aside).
    let cambiadas: i64 = conn.query_row(
        "SELECT count(*) FROM ( \
             SELECT v.* EXCLUDE (ejecucion_id, cargado_en) FROM ventas v \
             SEMI JOIN klk_verificacion_antes a USING (ubicacion_id, numero_factura, linea) \
             WHERE v.ubicacion_id = ? AND v.ejecucion_id = ? \
             EXCEPT \
             SELECT * EXCLUDE (ejecucion_id, cargado_en) FROM klk_verificacion_antes)",
        params![ubicacion_id, ejecucion_id],
        |r| r.get(0),
    )?;
    conn.execute(
        "DELETE FROM etl_lineas_desaparecidas d WHERE d.ubicacion_id = ? AND d.eliminada_en IS NULL \
         AND EXISTS (SELECT 1 FROM ventas v WHERE v.ubicacion_id = d.ubicacion_id \
             AND v.numero_factura = d.numero_factura AND v.linea = d.linea AND v.ejecucion_id = ?)",
        params![ubicacion_id, ejecucion_id],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO etl_lineas_desaparecidas \
         SELECT ubicacion_id, numero_factura, linea, fecha, hora, venta_total_usd, ejecucion_id, \
                ?, CAST(? AS TIMESTAMP), NULL \
         FROM ventas WHERE ubicacion_id = ? AND fecha = ? AND ejecucion_id <> ?",
        params![ejecucion_id, loaded_at, ubicacion_id, fecha, ejecucion_id],
    )?;
    let desaparecidas: i64 = conn.query_row(
        "SELECT count(*) FROM ventas WHERE ubicacion_id = ? AND fecha = ? AND ejecucion_id <> ?",
        params![ubicacion_id, fecha, ejecucion_id],
        |r| r.get(0),
    )?;
    conn.execute_batch("DROP TABLE klk_verificacion_antes")?;
    let diff = VerificationDiff {
        tardias: report.new as i64,
        cambiadas,
        desaparecidas,
    };
    Ok((report, diff))
}

/// The table function that scans a registered Arrow record batch.
const ARROW_SCAN: &str = "klk_arrow_scan";

/// Registers [`ARROW_SCAN`] on this connection (registering it again is accepted, and
/// cheaper than looking it up in `duckdb_functions()`).
fn register_arrow_scan(conn: &Connection) -> duckdb::Result<()> {
    conn.register_table_function::<ArrowVTab>(ARROW_SCAN)
}

/// `{insert} SELECT * FROM` the rows of the batch where `rows` is true; the rows DuckDB says
/// it wrote. The rows are picked by DuckDB as it scans (a column of `rows`), not copied out.
/// (The batch's columns are named as the table's: inserts go `BY NAME`.)
fn insert_rows(
    insert: &str,
    conn: &Connection,
    batch: &RecordBatch,
    rows: Vec<bool>,
) -> duckdb::Result<usize> {
    if rows.iter().all(|&row| row) {
        let registration = ArrowBatchRegistration::new(batch.clone());
        return conn.execute(
            &format!("{insert} SELECT * FROM {ARROW_SCAN}(?)"),
            [&registration],
        );
    }
    let mut fields: Vec<_> = batch.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(PICKED, DataType::Boolean, false)));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(BooleanArray::from(rows)));
    let picked =
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(arrow_failure)?;
    let registration = ArrowBatchRegistration::new(picked);
    conn.execute(
        &format!("{insert} SELECT * EXCLUDE ({PICKED}) FROM {ARROW_SCAN}(?) WHERE {PICKED}"),
        [&registration],
    )
}

/// The column of [`insert_rows`]' batch that says which rows to write.
const PICKED: &str = "klk_picked";

/// Invoice number to the lines of it already in `ventas` for this store, among `lines`' keys.
/// A key missed here would have its line inserted, and the primary key of ventas would
/// refuse it: nothing is skipped silently.
fn existing_keys(
    conn: &Connection,
    ubicacion_id: &str,
    lines: &SalesLines,
) -> duckdb::Result<HashMap<String, Vec<i64>>> {
    let mut found: HashMap<String, Vec<i64>> = HashMap::new();
    let mut statement = conn.prepare(&format!(
        "SELECT k.numero_factura, k.linea FROM {ARROW_SCAN}(?) k \
         SEMI JOIN ventas v ON v.ubicacion_id = ? \
         AND v.numero_factura = k.numero_factura AND v.linea = k.linea"
    ))?;
    for batch in lines.key_batches() {
        let registration = ArrowBatchRegistration::new(batch.map_err(arrow_failure)?);
        let mut rows = statement.query(params![&registration, ubicacion_id])?;
        while let Some(row) = rows.next()? {
            found.entry(row.get(0)?).or_default().push(row.get(1)?);
        }
    }
    Ok(found)
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
        for (i, item) in items.iter().enumerate() {
            if i > 0 && i % FLUSH_ROWS == 0 {
                appender.flush()?;
            }
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
    check_written("inventario", loaded, items.len())?;
    Ok(LoadReport {
        loaded,
        new: new as usize,
    })
}

/// Every staged row is unique on the key, so the upsert writes each exactly once: any other
/// count means rows were lost on the way and the transaction must not commit.
fn check_written(table: &str, written: usize, expected: usize) -> duckdb::Result<()> {
    if written == expected {
        return Ok(());
    }
    Err(failure(format!(
        "{table}: {written} rows written for {expected} staged"
    )))
}

fn failure(message: String) -> duckdb::Error {
    duckdb::Error::DuckDBFailure(
        duckdb::ffi::Error::new(duckdb::ffi::DuckDBError),
        Some(message),
    )
}

fn arrow_failure(err: ArrowError) -> duckdb::Error {
    failure(format!("building the columns to append: {err}"))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime};

    use super::*;
    use crate::config::Config;
    use crate::klk::SalesLine;
    use crate::tracker::{Access, Db};

    fn line(factura: usize, linea: i64, usd: f64) -> SalesLine {
        let fecha = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
        let hora = NaiveTime::from_hms_micro_opt(12, 19, 56, 896_614).unwrap();
        SalesLine {
            numero_factura: format!("C01-{factura:08}"),
            linea,
            fecha,
            hora,
            fecha_hora: fecha.and_time(hora),
            codigo_producto: "001853".to_owned(),
            descripcion_producto: Some("NECTAR DE PERA".to_owned()),
            marca_producto: None,
            modelo_producto: Some(String::new()),
            categoria_producto: Some("BEBIDAS".to_owned()),
            grupo_articulo: None,
            subgrupo_producto: None,
            codigo_barras: None,
            codigo_almacen: "APP-TPF".to_owned(),
            nombre_almacen: Some("PISO DE VENTA".to_owned()),
            cantidad_vendida: 1.0,
            peso_unitario: None,
            unidad_medida_venta: Some("UNIDAD".to_owned()),
            factor_unidad_medida: Some(1.0),
            costo_unitario_bs: None,
            costo_unitario_usd: None,
            precio_unitario_bs: None,
            precio_unitario_usd: Some(usd),
            impuesto_porcentaje: Some(16.0),
            impuesto_monto: None,
            porcentaje_descuento: None,
            monto_descuento: None,
            venta_total_bs: usd * 36.0,
            venta_total_usd: usd,
            costo_total_bs: None,
            costo_total_usd: None,
            utilidad_bruta_bs: None,
            utilidad_bruta_usd: None,
            total_factura: None,
            tasa_usd: Some(36.0),
            es_no_fiscal: Some(false),
            tiene_promocion: None,
            codigo_promocion: None,
        }
    }

    fn database(dir: &tempfile::TempDir) -> Db {
        let path = dir.path().join("klk.duckdb");
        let config = Config::parse(
            &format!("database = {:?}\n", path.display().to_string()),
            std::path::Path::new("test.toml"),
        )
        .unwrap();
        // Any fixed instant: "now" only sets the stored UTC offset here.
        let now = chrono::DateTime::from_timestamp(1_763_380_800, 0).unwrap();
        Db::open(&config, Access::Write, now).unwrap()
    }

    fn load(db: &mut Db, store: &str, execution: i64, lines: &[SalesLine]) -> LoadReport {
        load_lines(db, store, execution, lines.to_vec().into())
    }

    fn load_lines(db: &mut Db, store: &str, execution: i64, lines: SalesLines) -> LoadReport {
        let at = NaiveDate::from_ymd_opt(2025, 11, 17)
            .unwrap()
            .and_hms_opt(13, 0, 0)
            .unwrap();
        let tx = db.conn_mut().transaction().unwrap();
        let report = load_sales(&tx, store, execution, at, lines).unwrap();
        tx.commit().unwrap();
        report
    }

    #[test]
    fn of_a_line_repeated_in_the_window_only_its_latest_copy_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = database(&dir);
        load(&mut db, "tienda_01", 1, &[line(1, 1, 1.0), line(2, 1, 1.0)]);

        // Key 1 is already stored and comes twice; key 4 is new and comes twice.
        let mut lines = SalesLines::new();
        let first_of_1 = lines.push(&line(1, 1, 5.0));
        lines.push(&line(3, 1, 1.0));
        let first_of_4 = lines.push(&line(4, 1, 1.0));
        lines.replace(first_of_1, &line(1, 1, 7.0));
        lines.replace(first_of_4, &line(4, 1, 9.0));
        assert_eq!(
            load_lines(&mut db, "tienda_01", 2, lines),
            LoadReport { loaded: 3, new: 2 }
        );
        // Keys 1..=4 once each: 7 + 1 + 1 + 9.
        assert_eq!(totals(&db, "tienda_01"), (4, 18.0, 2));
    }

    fn totals(db: &Db, store: &str) -> (i64, f64, i64) {
        db.conn()
            .query_row(
                "SELECT count(*), coalesce(sum(venta_total_usd), 0), coalesce(max(ejecucion_id), 0) \
                 FROM ventas WHERE ubicacion_id = ?",
                [store],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
    }

    #[test]
    fn a_window_larger_than_a_row_group_is_loaded_whole() {
        // DuckDB dropped such a window when it was appended in one flush (see FLUSH_ROWS).
        let dir = tempfile::tempdir().unwrap();
        let mut db = database(&dir);
        let lines: Vec<SalesLine> = (0..130_000)
            .map(|i| line(i / 3, (i % 3) as i64 + 1, 1.0))
            .collect();
        let report = load(&mut db, "tienda_01", 1, &lines);
        assert_eq!(
            report,
            LoadReport {
                loaded: 130_000,
                new: 130_000
            }
        );
        assert_eq!(totals(&db, "tienda_01"), (130_000, 130_000.0, 1));
        // All of it again, changed: every line is already there and is replaced.
        let again: Vec<SalesLine> = lines
            .iter()
            .map(|l| SalesLine {
                venta_total_usd: 2.0,
                ..l.clone()
            })
            .collect();
        let report = load(&mut db, "tienda_01", 2, &again);
        assert_eq!(
            report,
            LoadReport {
                loaded: 130_000,
                new: 0
            }
        );
        assert_eq!(totals(&db, "tienda_01"), (130_000, 260_000.0, 2));
    }

    #[test]
    fn lines_already_there_are_replaced_and_only_new_keys_count_as_new() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = database(&dir);
        let first: Vec<SalesLine> = (0..10).map(|i| line(i, 1, 1.0)).collect();
        assert_eq!(
            load(&mut db, "tienda_01", 1, &first),
            LoadReport {
                loaded: 10,
                new: 10
            }
        );
        // The same keys in another store are other lines.
        assert_eq!(
            load(&mut db, "tienda_02", 2, &first),
            LoadReport {
                loaded: 10,
                new: 10
            }
        );

        // Overlapping window: 5 lines again, changed, and 10 new ones.
        let second: Vec<SalesLine> = (5..20).map(|i| line(i, 1, 2.0)).collect();
        assert_eq!(
            load(&mut db, "tienda_01", 3, &second),
            LoadReport {
                loaded: 15,
                new: 10
            }
        );
        assert_eq!(totals(&db, "tienda_01"), (20, 5.0 * 1.0 + 15.0 * 2.0, 3));
        let replaced: (f64, i64) = db
            .conn()
            .query_row(
                "SELECT venta_total_usd, ejecucion_id FROM ventas \
                 WHERE ubicacion_id = 'tienda_01' AND numero_factura = ? AND linea = 1",
                [line(7, 1, 0.0).numero_factura],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(replaced, (2.0, 3), "the later copy wins");
        assert_eq!(
            totals(&db, "tienda_02"),
            (10, 10.0, 2),
            "other store untouched"
        );

        // The same window again: nothing new, nothing duplicated.
        assert_eq!(
            load(&mut db, "tienda_01", 4, &second),
            LoadReport { loaded: 15, new: 0 }
        );
        assert_eq!(totals(&db, "tienda_01").0, 20);
    }

    #[test]
    fn every_column_is_stored_as_parsed() {
        use crate::klk::columns::tests::varied_line;

        let dir = tempfile::tempdir().unwrap();
        let mut db = database(&dir);
        // Three chunks, and the same keys again with other values (replaced).
        let lines: Vec<SalesLine> = (0..crate::klk::CHUNK_ROWS * 2 + 7)
            .map(|seed| varied_line(seed, 0))
            .collect();
        load(&mut db, "tienda_01", 1, &lines);
        let again: Vec<SalesLine> = lines
            .iter()
            .step_by(5)
            .enumerate()
            .map(|(i, l)| SalesLine {
                venta_total_usd: i as f64,
                tasa_usd: None,
                descripcion_producto: Some(format!("otra {i}")),
                ..l.clone()
            })
            .collect();
        let report = load(&mut db, "tienda_01", 2, &again);
        assert_eq!(
            report,
            LoadReport {
                loaded: again.len(),
                new: 0
            }
        );
        let mut expected: HashMap<(String, i64), SalesLine> = lines
            .into_iter()
            .map(|l| ((l.numero_factura.clone(), l.linea), l))
            .collect();
        for l in again {
            expected.insert((l.numero_factura.clone(), l.linea), l);
        }

        let mut statement = db
            .conn()
            .prepare("SELECT * EXCLUDE (ubicacion_id, ejecucion_id, cargado_en) FROM ventas")
            .unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut seen = 0;
        while let Some(r) = rows.next().unwrap() {
            let stored = SalesLine {
                numero_factura: r.get(0).unwrap(),
                linea: r.get(1).unwrap(),
                fecha: r.get(2).unwrap(),
                hora: r.get(3).unwrap(),
                fecha_hora: r.get(4).unwrap(),
                codigo_almacen: r.get(5).unwrap(),
                nombre_almacen: r.get(6).unwrap(),
                codigo_producto: r.get(7).unwrap(),
                descripcion_producto: r.get(8).unwrap(),
                marca_producto: r.get(9).unwrap(),
                modelo_producto: r.get(10).unwrap(),
                categoria_producto: r.get(11).unwrap(),
                grupo_articulo: r.get(12).unwrap(),
                subgrupo_producto: r.get(13).unwrap(),
                codigo_barras: r.get(14).unwrap(),
                cantidad_vendida: r.get(15).unwrap(),
                peso_unitario: r.get(16).unwrap(),
                unidad_medida_venta: r.get(17).unwrap(),
                factor_unidad_medida: r.get(18).unwrap(),
                costo_unitario_bs: r.get(19).unwrap(),
                costo_unitario_usd: r.get(20).unwrap(),
                precio_unitario_bs: r.get(21).unwrap(),
                precio_unitario_usd: r.get(22).unwrap(),
                impuesto_porcentaje: r.get(23).unwrap(),
                impuesto_monto: r.get(24).unwrap(),
                porcentaje_descuento: r.get(25).unwrap(),
                monto_descuento: r.get(26).unwrap(),
                venta_total_bs: r.get(27).unwrap(),
                venta_total_usd: r.get(28).unwrap(),
                costo_total_bs: r.get(29).unwrap(),
                costo_total_usd: r.get(30).unwrap(),
                utilidad_bruta_bs: r.get(31).unwrap(),
                utilidad_bruta_usd: r.get(32).unwrap(),
                total_factura: r.get(33).unwrap(),
                tasa_usd: r.get(34).unwrap(),
                es_no_fiscal: r.get(35).unwrap(),
                tiene_promocion: r.get(36).unwrap(),
                codigo_promocion: r.get(37).unwrap(),
            };
            let key = (stored.numero_factura.clone(), stored.linea);
            assert_eq!(Some(&stored), expected.get(&key), "{key:?}");
            seen += 1;
        }
        assert_eq!(seen, expected.len());
    }
}
