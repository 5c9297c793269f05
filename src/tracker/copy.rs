//! `klk-etl db copy`: the whole history from one database to another, either engine to
//! either engine, in one transaction on the destination, verified (row counts and sums per
//! table) before it commits.

use std::time::Instant;

use serde::Serialize;

use super::TrackerError;
use super::engine::{Dialect, Row, Session, Value};

/// How a table's rows are read from the source: a few at a time, so that a year of sales is
/// never held in memory at once.
#[derive(Debug, Clone, Copy)]
enum Chunks {
    /// All at once (small tables).
    Whole,
    /// By `id`, in order, this many at a time.
    ById,
    /// One group of these columns' values at a time (a store's day of sales).
    ByGroup(&'static [&'static str]),
}

struct Table {
    name: &'static str,
    chunks: Chunks,
    /// Columns whose sums must be equal on both sides after the copy.
    sums: &'static [&'static str],
    /// Part of the history (a destination holding rows here is not empty); the others are
    /// settings (`etl_configuracion`, `etl_tiendas`), replaced by the source's.
    history: bool,
}

/// Every table that holds data, in an order that needs nothing later. The executions summary
/// (`etl_resumen*`) is not copied: it is rebuilt from the copied executions.
const TABLES: &[Table] = &[
    Table {
        name: "etl_configuracion",
        chunks: Chunks::Whole,
        sums: &[],
        history: false,
    },
    Table {
        name: "etl_tiendas",
        chunks: Chunks::Whole,
        sums: &[],
        history: false,
    },
    Table {
        name: "etl_ejecuciones",
        chunks: Chunks::ById,
        sums: &["registros_extraidos", "registros_cargados"],
        history: true,
    },
    Table {
        name: "etl_invocaciones",
        chunks: Chunks::ById,
        sums: &["lineas"],
        history: true,
    },
    Table {
        name: "etl_alertas",
        chunks: Chunks::ById,
        sums: &["intentos"],
        history: true,
    },
    Table {
        name: "etl_alertas_estado",
        chunks: Chunks::Whole,
        sums: &[],
        history: true,
    },
    Table {
        name: "etl_hooks",
        chunks: Chunks::ById,
        sums: &["ejecuciones"],
        history: true,
    },
    Table {
        name: "etl_checkins",
        chunks: Chunks::Whole,
        sums: &["enviados"],
        history: true,
    },
    Table {
        name: "etl_lineas_desaparecidas",
        chunks: Chunks::Whole,
        sums: &["venta_total_usd"],
        history: true,
    },
    Table {
        name: "ventas",
        chunks: Chunks::ByGroup(&["ubicacion_id", "fecha"]),
        sums: &["cantidad_vendida", "venta_total_usd"],
        history: true,
    },
    Table {
        name: "inventario",
        chunks: Chunks::ByGroup(&["ubicacion_id", "almacen"]),
        sums: &["stock"],
        history: true,
    },
];

/// Rows per `ById` read.
const ID_CHUNK: i64 = 20_000;
/// Parameters per `INSERT` (PostgreSQL takes at most 65,535).
const PARAMS_PER_INSERT: usize = 30_000;

/// What was copied, table by table.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub from: String,
    pub to: String,
    /// The destination held history that was replaced (`--replace`).
    pub replaced: bool,
    pub tables: Vec<TableReport>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    pub table: &'static str,
    pub rows: i64,
    /// Per summed column, the sum found on both sides.
    pub sums: Vec<(String, f64)>,
}

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "{to} already holds history ({what}); nothing copied. Copy into an empty database, or pass --replace to replace it"
    )]
    NotEmpty { to: String, what: String },
    #[error(transparent)]
    Tracker(#[from] TrackerError),
}

/// Copies every table of `from` into `to` (both migrated to this klk-etl's version), in one
/// transaction on `to`, and checks counts and sums before committing.
pub fn copy(
    from: &mut Session,
    to: &mut Session,
    names: (String, String),
    replace: bool,
) -> Result<CopyReport, CopyError> {
    let started = Instant::now();
    let held = history_held(to)?;
    if !held.is_empty() && !replace {
        return Err(CopyError::NotEmpty {
            to: names.1,
            what: held.join(", "),
        });
    }
    let tables = to.transaction(|to| {
        delete_all(to)?;
        let mut reports = Vec::new();
        for table in TABLES {
            let columns = shared_columns(from, to, table.name)?;
            copy_table(from, to, table, &columns).map_err(|err| in_table(table.name, err))?;
            reports.push(verify(from, to, table)?);
        }
        advance_sequences(to)?;
        Ok(reports)
    })?;
    if to.dialect() == Dialect::Postgres {
        // Rebuilt outside the copy's transaction: an optimisation, readers are right without.
        let _ = to.query("SELECT klk_refrescar_resumen(true)", &[]);
    }
    Ok(CopyReport {
        from: names.0,
        to: names.1,
        replaced: !held.is_empty(),
        tables,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `err` as it happened while copying `table`.
fn in_table(table: &str, err: TrackerError) -> TrackerError {
    match err {
        TrackerError::Postgres(message) => {
            TrackerError::Postgres(format!("copying {table}: {message}"))
        }
        TrackerError::Unexpected(message) => {
            TrackerError::Unexpected(format!("copying {table}: {message}"))
        }
        other => TrackerError::Unexpected(format!("copying {table}: {other}")),
    }
}

/// Empties every table that holds data (history and settings; the settings are written again
/// by the next open), in one transaction.
pub fn empty(session: &mut Session) -> Result<(), TrackerError> {
    session.transaction(delete_all)
}

fn delete_all(session: &mut Session) -> Result<(), TrackerError> {
    for table in TABLES.iter().rev() {
        session.execute(&format!("DELETE FROM {}", table.name), &[])?;
    }
    forget_summary(session)
}

/// The history tables of `session` that hold rows, with how many.
fn history_held(session: &mut Session) -> Result<Vec<String>, TrackerError> {
    let mut held = Vec::new();
    for table in TABLES.iter().filter(|t| t.history) {
        let rows: i64 = session
            .query_one(&format!("SELECT count(*) FROM {}", table.name), &[])?
            .get(0)?;
        if rows > 0 {
            held.push(format!("{rows} rows in {}", table.name));
        }
    }
    Ok(held)
}

/// The summary no longer matches the executions: forgotten, so that readers add up the
/// whole table until it is rebuilt.
fn forget_summary(to: &mut Session) -> Result<(), TrackerError> {
    for table in [
        "etl_resumen",
        "etl_resumen_estado",
        "etl_resumen_pendientes",
    ] {
        to.execute(&format!("DELETE FROM {table}"), &[])?;
    }
    Ok(())
}

/// The columns `table` has on both sides, in the source's order; arrays (`etl_tiendas.
/// almacenes`, which the configuration writes again on the next open) are left out.
fn shared_columns(
    from: &mut Session,
    to: &mut Session,
    table: &str,
) -> Result<Vec<String>, TrackerError> {
    let columns = |session: &mut Session| -> Result<Vec<(String, String)>, TrackerError> {
        session
            .query(
                "SELECT CAST(column_name AS VARCHAR), CAST(data_type AS VARCHAR) \
                 FROM information_schema.columns \
                 WHERE table_name = $1 AND table_schema = current_schema() \
                 ORDER BY ordinal_position",
                &[table.into()],
            )?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect()
    };
    let theirs = columns(to)?;
    Ok(columns(from)?
        .into_iter()
        .filter(|(_, ty)| ty != "ARRAY" && !ty.ends_with("[]"))
        .map(|(name, _)| name)
        .filter(|name| theirs.iter().any(|(other, _)| other == name))
        .collect())
}

fn copy_table(
    from: &mut Session,
    to: &mut Session,
    table: &Table,
    columns: &[String],
) -> Result<(), TrackerError> {
    let list = columns.join(", ");
    let select = format!("SELECT {list} FROM {}", table.name);
    match table.chunks {
        Chunks::Whole => insert(to, table.name, &list, &from.query(&select, &[])?),
        Chunks::ById => {
            // Below any id either engine's INTEGER can hold.
            let mut after = i64::from(i32::MIN);
            loop {
                let rows = from.query(
                    &format!("{select} WHERE id > $1 ORDER BY id LIMIT {ID_CHUNK}"),
                    &[Value::Int(after)],
                )?;
                let Some(last) = rows.last() else {
                    return Ok(());
                };
                let id_at = columns
                    .iter()
                    .position(|c| c == "id")
                    .ok_or_else(|| TrackerError::Unexpected(format!("{} has no id", table.name)))?;
                after = last.get(id_at)?;
                insert(to, table.name, &list, &rows)?;
            }
        }
        Chunks::ByGroup(keys) => {
            let key_list = keys.join(", ");
            let groups = from.query(
                &format!(
                    "SELECT DISTINCT {key_list} FROM {} ORDER BY {key_list}",
                    table.name
                ),
                &[],
            )?;
            let filter = keys
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{k} = ${}", i + 1))
                .collect::<Vec<_>>()
                .join(" AND ");
            for group in groups {
                let rows = from.query(&format!("{select} WHERE {filter}"), &group.0)?;
                insert(to, table.name, &list, &rows)?;
            }
            Ok(())
        }
    }
}

/// Writes `rows` into `table`: on PostgreSQL `INSERT`s of as many rows as the parameters
/// allow; on DuckDB, whose statements bind thousands of parameters slowly, an appender into
/// a text staging table, then one `INSERT ... SELECT` that casts every column at once.
fn insert(to: &mut Session, table: &str, list: &str, rows: &[Row]) -> Result<(), TrackerError> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    if let Session::DuckDb(conn) = to {
        return Ok(append_duckdb(conn, table, list, rows)?);
    }
    let width = first.0.len();
    for batch in rows.chunks((PARAMS_PER_INSERT / width.max(1)).max(1)) {
        let mut values = Vec::with_capacity(batch.len() * width);
        let mut tuples = Vec::with_capacity(batch.len());
        for row in batch {
            let start = values.len();
            tuples.push(format!(
                "({})",
                (1..=width)
                    .map(|i| format!("${}", start + i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            values.extend(row.0.iter().cloned());
        }
        to.execute(
            &format!("INSERT INTO {table} ({list}) VALUES {}", tuples.join(", ")),
            &values,
        )?;
    }
    Ok(())
}

fn append_duckdb(
    conn: &duckdb::Connection,
    table: &str,
    list: &str,
    rows: &[Row],
) -> duckdb::Result<()> {
    const STAGING: &str = "klk_copia";
    let columns = list
        .split(", ")
        .map(|c| format!("{c} VARCHAR"))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP TABLE {STAGING} ({columns})"
    ))?;
    {
        let mut appender = conn.appender_to_catalog_and_db(STAGING, "temp", "main")?;
        for row in rows {
            appender.append_row(duckdb::appender_params_from_iter(row.0.iter().map(as_text)))?;
        }
        appender.flush()?;
    }
    conn.execute(
        &format!("INSERT INTO {table} ({list}) SELECT {list} FROM temp.{STAGING}"),
        [],
    )?;
    conn.execute_batch(&format!("DROP TABLE temp.{STAGING}"))
}

/// A cell as the text DuckDB casts back to its column's type without loss (a float's
/// shortest text reads back as the same float).
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Bool(v) => Some(v.to_string()),
        Value::Int(v) => Some(v.to_string()),
        Value::Float(v) => Some(v.to_string()),
        Value::Text(v) => Some(v.clone()),
        Value::Date(v) => Some(v.to_string()),
        Value::Time(v) => Some(v.format("%H:%M:%S%.6f").to_string()),
        Value::Timestamp(v) => Some(v.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
    }
}

/// Counts and sums of `table` on both sides: equal, or the copy is refused (rolled back).
fn verify(
    from: &mut Session,
    to: &mut Session,
    table: &Table,
) -> Result<TableReport, TrackerError> {
    let sql = format!(
        "SELECT CAST(count(*) AS BIGINT){} FROM {}",
        table
            .sums
            .iter()
            .map(|c| format!(", CAST(coalesce(sum({c}), 0) AS DOUBLE PRECISION)"))
            .collect::<String>(),
        table.name
    );
    let (source, copied) = (from.query_one(&sql, &[])?, to.query_one(&sql, &[])?);
    let rows: i64 = source.get(0)?;
    let copied_rows: i64 = copied.get(0)?;
    if rows != copied_rows {
        return Err(TrackerError::Unexpected(format!(
            "{}: {copied_rows} rows copied of {rows}; nothing committed",
            table.name
        )));
    }
    let mut sums = Vec::new();
    for (i, column) in table.sums.iter().enumerate() {
        let (a, b): (f64, f64) = (source.get(i + 1)?, copied.get(i + 1)?);
        // Sums of doubles depend on the order they are added in.
        if (a - b).abs() > 1e-9 * a.abs().max(1.0) {
            return Err(TrackerError::Unexpected(format!(
                "{}: sum({column}) is {b} copied, {a} in the source; nothing committed",
                table.name
            )));
        }
        sums.push((column.to_string(), a));
    }
    Ok(TableReport {
        table: table.name,
        rows,
        sums,
    })
}

/// New ids continue after the copied ones: each table's id sequence is moved past its
/// highest id (PostgreSQL: `setval`; DuckDB, which has none, takes values until past it).
fn advance_sequences(to: &mut Session) -> Result<(), TrackerError> {
    for table in TABLES.iter().filter(|t| matches!(t.chunks, Chunks::ById)) {
        let default: Option<String> = to
            .query(
                "SELECT CAST(column_default AS VARCHAR) FROM information_schema.columns \
                 WHERE table_name = $1 AND column_name = 'id' AND table_schema = current_schema()",
                &[table.name.into()],
            )?
            .first()
            .map(|r| r.get(0))
            .transpose()?
            .flatten();
        let Some(sequence) = default.as_deref().and_then(sequence_of) else {
            continue;
        };
        let highest: Option<i64> = to
            .query_one(
                &format!("SELECT CAST(max(id) AS BIGINT) FROM {}", table.name),
                &[],
            )?
            .get(0)?;
        let Some(highest) = highest else { continue };
        match to.dialect() {
            Dialect::Postgres => {
                to.query(
                    "SELECT setval(CAST(CAST($1 AS TEXT) AS regclass), $2)",
                    &[sequence.as_str().into(), Value::Int(highest)],
                )?;
            }
            Dialect::DuckDb => {
                let next: i64 = to
                    .query_one(&format!("SELECT nextval('{sequence}')"), &[])?
                    .get(0)?;
                if next < highest {
                    to.query(
                        &format!(
                            "SELECT max(nextval('{sequence}')) FROM range({})",
                            highest - next
                        ),
                        &[],
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// `nextval('seq_etl_ejecuciones'::regclass)` (PostgreSQL) or `nextval('seq_etl_ejecuciones')`
/// (DuckDB): the sequence's name.
fn sequence_of(default: &str) -> Option<String> {
    let rest = default.split("nextval(").nth(1)?;
    let name = rest.trim_start_matches('\'').split('\'').next()?;
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_is_read_from_either_engines_default() {
        assert_eq!(
            sequence_of("nextval('seq_etl_ejecuciones'::regclass)").as_deref(),
            Some("seq_etl_ejecuciones")
        );
        assert_eq!(
            sequence_of("nextval('seq_etl_hooks')").as_deref(),
            Some("seq_etl_hooks")
        );
        assert_eq!(sequence_of("0"), None);
    }
}
