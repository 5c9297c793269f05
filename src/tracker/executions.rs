//! Executions: start one (`en_proceso`), finish it exactly once, list them.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use duckdb::Connection;
use serde::Serialize;

use super::engine::{Row, Session, Value};
use super::sql::Filter;
use super::vocab::{ErrorTipo, Estado, EtlTipo, Modo};
use super::{Db, TrackerError, process};

pub const VERSION_ETL: &str = concat!("klk-etl ", env!("CARGO_PKG_VERSION"));

/// What a new execution asks for. Times are store-local.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub etl_tipo: EtlTipo,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub fecha_desde: NaiveDate,
    pub fecha_hasta: NaiveDate,
    pub hora_desde: Option<NaiveTime>,
    pub hora_hasta: Option<NaiveTime>,
    pub modo: Modo,
    pub started_at: NaiveDateTime,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Success {
        extracted: i64,
        loaded: i64,
    },
    Partial {
        extracted: i64,
        loaded: i64,
        error_tipo: ErrorTipo,
        message: String,
    },
    Failure {
        extracted: i64,
        error_tipo: ErrorTipo,
        message: String,
    },
}

impl Outcome {
    pub fn estado(&self) -> Estado {
        match self {
            Outcome::Success { .. } => Estado::Exitoso,
            Outcome::Partial { .. } => Estado::Parcial,
            Outcome::Failure { .. } => Estado::Fallido,
        }
    }
}

/// Records a new `en_proceso` execution with this host and process; returns its id.
/// `db` must not be inside a transaction: now and then (every [`SUMMARY_EVERY`] ids) this
/// also brings the executions summary up to date, in a short transaction of its own, and
/// every [`SUMMARY_REBUILD_EVERY`] ids rebuilds it from the whole table.
pub fn start(db: &Db, new: &NewExecution) -> Result<i64, TrackerError> {
    let mut session = Session::DuckDb(db.conn());
    start_in(&mut session, db.id_sequence(), None, new)
}

/// [`start`] on either engine. `id_sequence`: the sequence an adopted table's ids come from
/// (DuckDB), `None` for the column's default. `identity`: who runs it, where the host and pid
/// cannot tell (a PostgreSQL session: see [`process::SessionIdentity`]); `None` for this
/// process's own identity.
pub fn start_in(
    session: &mut Session,
    id_sequence: Option<&str>,
    identity: Option<String>,
    new: &NewExecution,
) -> Result<i64, TrackerError> {
    let id = start_on(session, id_sequence, identity, new)?;
    if id % SUMMARY_EVERY == 0 {
        refresh_summary(session, id % SUMMARY_REBUILD_EVERY == 0);
    }
    Ok(id)
}

/// How many executions (by id) between two refreshes of the summary behind `klk_resumen`:
/// readers add up at most about this many rows themselves.
pub const SUMMARY_EVERY: i64 = 1024;
/// How many executions between two full rebuilds of the summary (about a day at 100 stores;
/// a bound on how long a hand edit of a finished row can go unnoticed by the counters).
pub const SUMMARY_REBUILD_EVERY: i64 = 16 * SUMMARY_EVERY;

/// An optimisation only: if it fails the summary stays as it was (still correct, `klk_resumen`
/// reads the rows since), and the execution just recorded is unaffected.
fn refresh_summary(session: &mut Session, rebuild: bool) {
    match session {
        Session::DuckDb(conn) => {
            if conn.execute_batch("BEGIN TRANSACTION").is_err() {
                return;
            }
            let refreshed = if rebuild {
                super::schema::rebuild_summary(conn)
            } else {
                super::schema::refresh_summary(conn)
            };
            let committed = refreshed.and_then(|()| conn.execute_batch("COMMIT"));
            if committed.is_err() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
        // Gives up at once (returns false) while another session refreshes or writes.
        Session::Postgres(_) => {
            let _ = session.query("SELECT klk_refrescar_resumen($1)", &[Value::Bool(rebuild)]);
        }
    }
}

fn start_on(
    session: &mut Session,
    id_sequence: Option<&str>,
    identity: Option<String>,
    new: &NewExecution,
) -> Result<i64, TrackerError> {
    let pid = process::current_pid();
    let identity = identity.or_else(|| process::process_identity(pid));
    let id_column = match id_sequence {
        Some(seq) => format!("nextval('{seq}')"),
        None => "DEFAULT".to_string(),
    };
    let sql = format!(
        "INSERT INTO etl_ejecuciones (id, etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, \
         fecha_desde, fecha_hasta, hora_desde, hora_hasta, estado, registros_extraidos, \
         registros_cargados, modo, version_etl, host, pid, proceso_id) \
         VALUES ({id_column}, $1, $2, $3, $4, $5, $6, $7, $8, 'en_proceso', 0, 0, $9, $10, $11, $12, $13) \
         RETURNING id"
    );
    session
        .query_one(
            &sql,
            &[
                new.etl_tipo.as_str().into(),
                new.ubicacion_id.as_str().into(),
                new.ubicacion_nombre.as_str().into(),
                Value::Timestamp(new.started_at),
                Value::Date(new.fecha_desde),
                Value::Date(new.fecha_hasta),
                new.hora_desde.into(),
                new.hora_hasta.into(),
                new.modo.as_str().into(),
                VERSION_ETL.into(),
                process::host_name().into(),
                Value::Int(i64::from(pid)),
                identity.into(),
            ],
        )?
        .get(0)
}

/// Finishes an `en_proceso` execution. Runs on the connection given, so a caller can do it
/// inside the transaction that loads the window's data: both commit or neither does.
/// Fenced: an execution that is no longer `en_proceso` is left as it is and reported.
pub fn finish(
    conn: &Connection,
    id: i64,
    outcome: &Outcome,
    finished_at: NaiveDateTime,
) -> Result<(), TrackerError> {
    finish_in(&mut Session::DuckDb(conn), id, outcome, finished_at)
}

/// [`finish`] on either engine.
pub fn finish_in(
    session: &mut Session,
    id: i64,
    outcome: &Outcome,
    finished_at: NaiveDateTime,
) -> Result<(), TrackerError> {
    let (extracted, loaded, error_tipo, message) = match outcome {
        Outcome::Success { extracted, loaded } => (*extracted, *loaded, None, None),
        Outcome::Partial {
            extracted,
            loaded,
            error_tipo,
            message,
        } => (
            *extracted,
            *loaded,
            Some(error_tipo.as_str()),
            Some(message.as_str()),
        ),
        Outcome::Failure {
            extracted,
            error_tipo,
            message,
        } => (
            *extracted,
            0,
            Some(error_tipo.as_str()),
            Some(message.as_str()),
        ),
    };
    let epoch_us = session.dialect().epoch_us();
    let changed = session.execute(
        &format!(
            "UPDATE etl_ejecuciones SET estado = $1, fecha_fin = $2, \
             duracion_segundos = greatest(0, ({epoch_us}(CAST($2 AS TIMESTAMP)) - {epoch_us}(fecha_inicio)) / 1e6), \
             registros_extraidos = $3, registros_cargados = $4, error_tipo = $5, error_mensaje = $6 \
             WHERE id = $7 AND estado = 'en_proceso'"
        ),
        &[
            outcome.estado().as_str().into(),
            Value::Timestamp(finished_at),
            Value::Int(extracted),
            Value::Int(loaded),
            error_tipo.into(),
            message.into(),
            Value::Int(id),
        ],
    )?;
    if changed == 1 {
        return Ok(());
    }
    let estado: Option<String> = session
        .query(
            "SELECT estado FROM etl_ejecuciones WHERE id = $1",
            &[Value::Int(id)],
        )?
        .first()
        .map(|r| r.get(0))
        .transpose()?;
    match estado {
        Some(estado) => Err(TrackerError::NotInProgress { id, estado }),
        None => Err(TrackerError::NoSuchExecution(id)),
    }
}

/// One row of `etl_ejecuciones`, as listed by `klk-etl executions`.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionRow {
    pub id: i64,
    pub etl_tipo: String,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub fecha_inicio: NaiveDateTime,
    pub fecha_fin: Option<NaiveDateTime>,
    pub duracion_segundos: Option<f64>,
    pub fecha_desde: NaiveDate,
    pub fecha_hasta: NaiveDate,
    pub hora_desde: Option<NaiveTime>,
    pub hora_hasta: Option<NaiveTime>,
    pub estado: String,
    pub modo: Option<String>,
    pub registros_extraidos: Option<i64>,
    pub registros_cargados: Option<i64>,
    pub error_tipo: Option<String>,
    pub error_mensaje: Option<String>,
    pub host: Option<String>,
    pub pid: Option<i64>,
    /// A verifying whole-day re-pull: lines found late, changed and vanished.
    pub lineas_tardias: Option<i64>,
    pub lineas_cambiadas: Option<i64>,
    pub lineas_desaparecidas: Option<i64>,
    /// The program that wrote the row (`klk-etl 0.1.0`, or the original system's version).
    pub version_etl: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    pub etl_tipo: Option<EtlTipo>,
    pub stores: Vec<String>,
    pub estado: Option<Estado>,
    pub modo: Option<Modo>,
    /// Only executions whose window overlaps `[from, to)` (store-local).
    pub window: Option<(NaiveDateTime, NaiveDateTime)>,
    pub limit: usize,
}

/// The columns [`row_to_execution`] reads, in its order ([`EXECUTION_COLUMN_COUNT`] of them).
pub(crate) const EXECUTION_COLUMNS: &str = "id, etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_fin, \
     duracion_segundos, fecha_desde, fecha_hasta, hora_desde, hora_hasta, estado, modo, \
     registros_extraidos, registros_cargados, error_tipo, error_mensaje, host, pid, \
     lineas_tardias, lineas_cambiadas, lineas_desaparecidas, version_etl";
pub(crate) const EXECUTION_COLUMN_COUNT: usize = 23;

pub(crate) fn row_to_execution(r: &Row) -> Result<ExecutionRow, TrackerError> {
    Ok(ExecutionRow {
        id: r.get(0)?,
        etl_tipo: r.get(1)?,
        ubicacion_id: r.get(2)?,
        ubicacion_nombre: r.get(3)?,
        fecha_inicio: r.get(4)?,
        fecha_fin: r.get(5)?,
        duracion_segundos: r.get(6)?,
        fecha_desde: r.get(7)?,
        fecha_hasta: r.get(8)?,
        hora_desde: r.get(9)?,
        hora_hasta: r.get(10)?,
        estado: r.get(11)?,
        modo: r.get(12)?,
        registros_extraidos: r.get(13)?,
        registros_cargados: r.get(14)?,
        error_tipo: r.get(15)?,
        error_mensaje: r.get(16)?,
        host: r.get(17)?,
        pid: r.get(18)?,
        lineas_tardias: r.get(19)?,
        lineas_cambiadas: r.get(20)?,
        lineas_desaparecidas: r.get(21)?,
        version_etl: r.get(22)?,
    })
}

/// The latest executions first (the seed's "last 10 executions" query, with filters).
pub fn list(
    conn: &Connection,
    filter: &ExecutionFilter,
) -> Result<Vec<ExecutionRow>, TrackerError> {
    list_in(&mut Session::DuckDb(conn), filter)
}

/// [`list`] on either engine.
pub fn list_in(
    session: &mut Session,
    filter: &ExecutionFilter,
) -> Result<Vec<ExecutionRow>, TrackerError> {
    let mut clauses = Filter::default();
    clauses.equals("etl_tipo", filter.etl_tipo.map(|t| t.as_str().to_string()));
    clauses.one_of("ubicacion_id", &filter.stores);
    clauses.equals("estado", filter.estado.map(|e| e.as_str().to_string()));
    clauses.equals("modo", filter.modo.map(|m| m.as_str().to_string()));
    if let Some((from, to)) = filter.window {
        // The window [fecha_desde + hora_desde, fecha_hasta + hora_hasta or midnight) overlaps.
        clauses.timestamp_condition(
            "fecha_desde + coalesce(hora_desde, TIME '00:00:00') < CAST(? AS TIMESTAMP)",
            to,
        );
        clauses.timestamp_condition(
            "CASE WHEN hora_hasta IS NULL THEN CAST(fecha_hasta + 1 AS TIMESTAMP) \
             ELSE fecha_hasta + hora_hasta END > CAST(? AS TIMESTAMP)",
            from,
        );
        // An execution never fetches past the midnight after it started (future days are
        // refused), so one that overlaps the window started at most a day before it; two
        // days of margin let DuckDB skip the older row groups.
        clauses.timestamp_condition(
            "fecha_inicio >= CAST(? AS TIMESTAMP)",
            from - chrono::Duration::days(2),
        );
    }
    let params = clauses.engine_values();
    let mut query = |recent_only: bool| -> Result<Vec<ExecutionRow>, TrackerError> {
        // The table is in time order: a bound on fecha_inicio lets DuckDB skip the rest.
        let recent = if recent_only {
            "fecha_inicio >= (SELECT max(fecha_inicio) FROM etl_ejecuciones) - INTERVAL '1 day' AND "
        } else {
            ""
        };
        let sql = format!(
            "SELECT {EXECUTION_COLUMNS} FROM etl_ejecuciones WHERE {recent}{} ORDER BY fecha_inicio DESC, id DESC LIMIT {}",
            clauses.numbered_sql(1),
            filter.limit
        );
        session
            .query(&sql, &params)?
            .iter()
            .map(row_to_execution)
            .collect()
    };
    // The latest day of history holds the answer unless the filters are narrow: every row
    // left out started before every row in it. Otherwise, the whole table.
    let rows = query(true)?;
    if rows.len() >= filter.limit {
        return Ok(rows);
    }
    query(false)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<ExecutionRow>, TrackerError> {
    get_in(&mut Session::DuckDb(conn), id)
}

pub fn get_in(session: &mut Session, id: i64) -> Result<Option<ExecutionRow>, TrackerError> {
    let sql = format!("SELECT {EXECUTION_COLUMNS} FROM etl_ejecuciones WHERE id = $1");
    session
        .query(&sql, &[Value::Int(id)])?
        .first()
        .map(row_to_execution)
        .transpose()
}
