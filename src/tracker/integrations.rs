//! What the integrations did, kept for `status`, `health`, alerts and the Prometheus output:
//! one row per post-load hook and invocation (`etl_hooks`), and per check-in the pings sent
//! and failed (`etl_checkins`, counters that only grow).

use chrono::NaiveDateTime;
use duckdb::Connection;
use serde::Serialize;

use super::TrackerError;
use super::engine::{Dialect, Session, Value};

/// One hook's work in one invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookRun {
    pub nombre: String,
    /// `after_window` or `after_run`.
    pub evento: String,
    /// `command` or `sql`.
    pub accion: String,
    pub inicio: NaiveDateTime,
    pub duracion_segundos: f64,
    /// Times it ran (once per window for `after_window`).
    pub ejecuciones: i64,
    pub fallos: i64,
    /// Not started: the hooks' time budget was spent, or the run was interrupted.
    pub omitidas: i64,
    /// The first failure: for which window, and why.
    pub error: Option<String>,
}

impl HookRun {
    pub fn failed(&self) -> bool {
        self.fallos > 0 || self.omitidas > 0
    }
}

pub fn record_hooks(
    session: &mut Session,
    invocation: Option<i64>,
    runs: &[HookRun],
) -> Result<(), TrackerError> {
    session.transaction(|tx| {
        for run in runs {
            tx.execute(
                "INSERT INTO etl_hooks (invocacion_id, nombre, evento, accion, inicio, duracion_segundos, \
                 ejecuciones, fallos, omitidas, estado, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    invocation.into(),
                    run.nombre.as_str().into(),
                    run.evento.as_str().into(),
                    run.accion.as_str().into(),
                    Value::Timestamp(run.inicio),
                    Value::Float(run.duracion_segundos),
                    Value::Int(run.ejecuciones),
                    Value::Int(run.fallos),
                    Value::Int(run.omitidas),
                    if run.failed() { "fallido" } else { "exitoso" }.into(),
                    run.error.as_deref().into(),
                ],
            )?;
        }
        Ok(())
    })
}

/// Per hook: its latest invocation's row, and its totals over every recorded one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookState {
    pub latest: HookRun,
    pub total_runs: i64,
    pub total_failures: i64,
    /// When it last failed, and why (it may have succeeded since).
    pub last_failure: Option<NaiveDateTime>,
    pub last_error: Option<String>,
}

pub fn hook_states(conn: &Connection) -> Result<Vec<HookState>, TrackerError> {
    hook_states_in(&mut Session::DuckDb(conn))
}

/// [`hook_states`] on either engine.
pub fn hook_states_in(session: &mut Session) -> Result<Vec<HookState>, TrackerError> {
    let last_error = match session.dialect() {
        Dialect::DuckDb => "arg_max(error, inicio) FILTER (WHERE estado = 'fallido')",
        Dialect::Postgres => {
            "(array_agg(error ORDER BY inicio DESC, id DESC) FILTER (WHERE estado = 'fallido'))[1]"
        }
    };
    let sql = format!(
        "WITH ranked AS (
            SELECT *, row_number() OVER (PARTITION BY nombre ORDER BY inicio DESC, id DESC) AS rn
            FROM etl_hooks),
         totals AS (
            SELECT nombre, sum(ejecuciones) AS runs, sum(fallos + omitidas) AS failures,
                   max(inicio) FILTER (WHERE estado = 'fallido') AS last_failure,
                   {last_error} AS last_error
            FROM etl_hooks GROUP BY nombre)
         SELECT r.nombre, r.evento, r.accion, r.inicio, coalesce(r.duracion_segundos, 0),
                r.ejecuciones, r.fallos, r.omitidas, r.error,
                CAST(t.runs AS BIGINT), CAST(t.failures AS BIGINT), t.last_failure, t.last_error
         FROM ranked r JOIN totals t USING (nombre) WHERE r.rn = 1 ORDER BY r.nombre"
    );
    session
        .query(&sql, &[])?
        .iter()
        .map(|r| {
            Ok(HookState {
                latest: HookRun {
                    nombre: r.get(0)?,
                    evento: r.get(1)?,
                    accion: r.get(2)?,
                    inicio: r.get(3)?,
                    duracion_segundos: r.get(4)?,
                    ejecuciones: r.get(5)?,
                    fallos: r.get(6)?,
                    omitidas: r.get(7)?,
                    error: r.get(8)?,
                },
                total_runs: r.get(9)?,
                total_failures: r.get(10)?,
                last_failure: r.get(11)?,
                last_error: r.get(12)?,
            })
        })
        .collect()
}

/// One check-in ping's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ping {
    pub nombre: String,
    pub servicio: String,
    pub at: NaiveDateTime,
    pub error: Option<String>,
}

pub fn record_pings(session: &mut Session, pings: &[Ping]) -> Result<(), TrackerError> {
    session.transaction(|tx| {
        for ping in pings {
            let failed = i64::from(ping.error.is_some());
            tx.execute(
                "INSERT INTO etl_checkins (nombre, servicio, enviados, fallidos, ultimo_envio, ultimo_fallo, ultimo_error) \
                 VALUES ($1, $2, 1, $3, $4, CASE WHEN $3 = 1 THEN CAST($4 AS TIMESTAMP) END, $5) \
                 ON CONFLICT (nombre) DO UPDATE SET servicio = excluded.servicio, \
                   enviados = etl_checkins.enviados + 1, \
                   fallidos = etl_checkins.fallidos + excluded.fallidos, \
                   ultimo_envio = excluded.ultimo_envio, \
                   ultimo_fallo = coalesce(excluded.ultimo_fallo, etl_checkins.ultimo_fallo), \
                   ultimo_error = coalesce(excluded.ultimo_error, etl_checkins.ultimo_error)",
                &[
                    ping.nombre.as_str().into(),
                    ping.servicio.as_str().into(),
                    Value::Int(failed),
                    Value::Timestamp(ping.at),
                    ping.error.as_deref().into(),
                ],
            )?;
        }
        Ok(())
    })
}

/// A check-in's counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckinState {
    pub nombre: String,
    pub servicio: String,
    pub enviados: i64,
    pub fallidos: i64,
    pub ultimo_envio: Option<NaiveDateTime>,
    pub ultimo_fallo: Option<NaiveDateTime>,
    pub ultimo_error: Option<String>,
}

pub fn checkin_states(conn: &Connection) -> Result<Vec<CheckinState>, TrackerError> {
    checkin_states_in(&mut Session::DuckDb(conn))
}

/// [`checkin_states`] on either engine.
pub fn checkin_states_in(session: &mut Session) -> Result<Vec<CheckinState>, TrackerError> {
    session
        .query(
            "SELECT nombre, servicio, enviados, fallidos, ultimo_envio, ultimo_fallo, ultimo_error \
             FROM etl_checkins ORDER BY nombre",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(CheckinState {
                nombre: r.get(0)?,
                servicio: r.get(1)?,
                enviados: r.get(2)?,
                fallidos: r.get(3)?,
                ultimo_envio: r.get(4)?,
                ultimo_fallo: r.get(5)?,
                ultimo_error: r.get(6)?,
            })
        })
        .collect()
}
