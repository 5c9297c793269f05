//! Unstick: close `en_proceso` executions whose process is gone (at once) or that are older
//! than the stuck threshold (another host, or no way to tell), as `fallido`/`interrumpido`.

use std::time::Duration;

use chrono::NaiveDateTime;
use duckdb::Connection;
use serde::Serialize;

use super::engine::{Dialect, Session};
use super::executions::{
    EXECUTION_COLUMN_COUNT, EXECUTION_COLUMNS, ExecutionRow, Outcome, finish_in, row_to_execution,
};
use super::process::{Liveness, SessionIdentity, liveness};
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
    /// Run by a PostgreSQL session that the server no longer has (its runner was killed, or
    /// its host vanished and the server's keepalives gave up on it).
    SessionGone,
}

impl StuckReason {
    pub fn describe(self) -> &'static str {
        match self {
            StuckReason::ProcessGone => "process gone",
            StuckReason::TooOld => "older than threshold",
            StuckReason::SessionGone => "its database session is gone",
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
    session: &mut Session,
    options: &UnstickOptions,
) -> Result<Vec<StuckExecution>, TrackerError> {
    let rows = session
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
    let sessions = match session.dialect() {
        Dialect::Postgres if !rows.is_empty() => Some(live_sessions(session)?),
        _ => None,
    };
    let threshold =
        options.now_local - chrono::Duration::seconds(options.older_than.as_secs() as i64);
    let mut stuck = Vec::new();
    for (execution, identity) in rows {
        let reason = match (
            identity.as_deref().and_then(SessionIdentity::parse),
            &sessions,
        ) {
            // Run by a session of this server: alive exactly while that session is.
            (Some(owner), Some(live)) if !live.iter().any(|l| l.is(&owner)) => {
                Some(StuckReason::SessionGone)
            }
            (Some(_), Some(_)) => None,
            // Another server's session (a copied database): only age can tell.
            (Some(_), None) => (execution.fecha_inicio < threshold).then_some(StuckReason::TooOld),
            (None, _) => match liveness(
                execution.host.as_deref(),
                execution.pid,
                identity.as_deref(),
                &options.this_host,
            ) {
                Liveness::Dead => Some(StuckReason::ProcessGone),
                Liveness::Alive => None,
                Liveness::Unknown if execution.fecha_inicio < threshold => {
                    Some(StuckReason::TooOld)
                }
                Liveness::Unknown => None,
            },
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

/// The sessions the PostgreSQL server has open now, whoever their user (every role may see
/// another session's pid; its start only with the right to see its activity).
fn live_sessions(session: &mut Session) -> Result<Vec<LiveSession>, TrackerError> {
    session
        .query(
            "SELECT pid, klk_epoch_us(backend_start AT TIME ZONE 'UTC') FROM pg_stat_activity",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(LiveSession {
                pid: r.get(0)?,
                started_us: r.get(1)?,
            })
        })
        .collect()
}

/// A session in `pg_stat_activity`.
struct LiveSession {
    pid: i64,
    /// `None` when the role may not see it.
    started_us: Option<i64>,
}

impl LiveSession {
    /// Whether this is the session an execution recorded (by its pid alone when its start
    /// is hidden from this role).
    fn is(&self, recorded: &SessionIdentity) -> bool {
        self.pid == recorded.pid && self.started_us.is_none_or(|s| s == recorded.started_us)
    }
}

/// Marks the given executions `fallido`/`interrumpido` in one transaction. Fenced: one that
/// finished meanwhile is skipped. Returns how many were changed.
pub fn apply(
    session: &mut Session,
    stuck: &[StuckExecution],
    now_local: NaiveDateTime,
) -> Result<usize, TrackerError> {
    session.transaction(|tx| {
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
            match finish_in(tx, item.execution.id, &outcome, now_local) {
                Ok(()) => changed += 1,
                Err(TrackerError::NotInProgress { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(changed)
    })
}

/// Executions in progress, for `status` and dry runs.
pub fn count_in_progress(conn: &Connection, before: NaiveDateTime) -> Result<i64, TrackerError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso' AND fecha_inicio < CAST(? AS TIMESTAMP)",
        duckdb::params_from_iter([timestamp(before)]),
        |r| r.get(0),
    )?)
}
