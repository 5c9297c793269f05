//! Unstick: close `en_proceso` executions whose process is gone (at once) or that are older
//! than the stuck threshold (another host, or no way to tell), as `fallido`/`interrumpido`.

use std::time::Duration;

use chrono::NaiveDateTime;
use duckdb::Connection;
use serde::Serialize;

use super::engine::Session;
use super::executions::{
    EXECUTION_COLUMN_COUNT, EXECUTION_COLUMNS, ExecutionRow, Outcome, finish, row_to_execution,
};
use super::process::{Liveness, liveness};
use super::vocab::ErrorTipo;
use super::{TrackerError, sql::timestamp};

#[derive(Debug, Clone)]
pub struct UnstickOptions {
    pub now_local: NaiveDateTime,
    pub older_than: Duration,
    pub this_host: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StuckReason {
    /// Same host, and its process is dead or its pid now belongs to another process.
    ProcessGone,
    /// Older than the threshold.
    TooOld,
}

impl StuckReason {
    pub fn describe(self) -> &'static str {
        match self {
            StuckReason::ProcessGone => "process gone",
            StuckReason::TooOld => "older than threshold",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StuckExecution {
    #[serde(flatten)]
    pub execution: ExecutionRow,
    pub reason: StuckReason,
    pub age_hours: f64,
}

pub fn find(
    conn: &Connection,
    options: &UnstickOptions,
) -> Result<Vec<StuckExecution>, TrackerError> {
    let rows = Session::DuckDb(conn)
        .query(
            &format!(
                "SELECT {EXECUTION_COLUMNS}, proceso_id \
                 FROM etl_ejecuciones WHERE estado = 'en_proceso' ORDER BY fecha_inicio, id"
            ),
            &[],
        )?
        .iter()
        .map(|r| {
            Ok((
                row_to_execution(r)?,
                r.get::<Option<String>>(EXECUTION_COLUMN_COUNT)?,
            ))
        })
        .collect::<Result<Vec<_>, TrackerError>>()?;
    let threshold =
        options.now_local - chrono::Duration::seconds(options.older_than.as_secs() as i64);
    let mut stuck = Vec::new();
    for (execution, identity) in rows {
        let alive = liveness(
            execution.host.as_deref(),
            execution.pid,
            identity.as_deref(),
            &options.this_host,
        );
        let reason = match alive {
            Liveness::Dead => Some(StuckReason::ProcessGone),
            Liveness::Alive => None,
            Liveness::Unknown if execution.fecha_inicio < threshold => Some(StuckReason::TooOld),
            Liveness::Unknown => None,
        };
        if let Some(reason) = reason {
            let age_hours = (options.now_local - execution.fecha_inicio).num_milliseconds() as f64
                / 3_600_000.0;
            stuck.push(StuckExecution {
                execution,
                reason,
                age_hours,
            });
        }
    }
    Ok(stuck)
}

/// Marks the given executions `fallido`/`interrumpido` in one transaction. Fenced: one that
/// finished meanwhile is skipped. Returns how many were changed.
pub fn apply(
    conn: &mut Connection,
    stuck: &[StuckExecution],
    now_local: NaiveDateTime,
) -> Result<usize, TrackerError> {
    let tx = conn.transaction()?;
    let mut changed = 0;
    for item in stuck {
        let outcome = Outcome::Failure {
            extracted: item.execution.registros_extraidos.unwrap_or(0),
            error_tipo: ErrorTipo::Interrumpido,
            message: format!(
                "interrupted: marked by klk-etl unstick at {} ({})",
                now_local.format("%Y-%m-%d %H:%M:%S"),
                item.reason.describe()
            ),
        };
        match finish(&tx, item.execution.id, &outcome, now_local) {
            Ok(()) => changed += 1,
            Err(TrackerError::NotInProgress { .. }) => {}
            Err(other) => return Err(other),
        }
    }
    tx.commit()?;
    Ok(changed)
}

/// Executions in progress, for `status` and dry runs.
pub fn count_in_progress(conn: &Connection, before: NaiveDateTime) -> Result<i64, TrackerError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso' AND fecha_inicio < CAST(? AS TIMESTAMP)",
        duckdb::params_from_iter([timestamp(before)]),
        |r| r.get(0),
    )?)
}
