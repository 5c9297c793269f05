//! A recovery asked for from the web: the same path as `klk-etl recover --store S --date D
//! --from --to` (explicit windows through `etl::run::run`, modo `recuperacion`), under the
//! same run lock as cron's `run`, recorded with the name of the token that asked.

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use super::Shared;
use super::http::ApiError;
use crate::etl::execute::{NoProgress, TaskReport};
use crate::etl::plan::{Window, next_midnight, split_at_midnight};
use crate::etl::run::{RunError, RunRequest};
use crate::etl::runlock::RunLockError;
use crate::etl::tasks::{PlanOptions, Scope, Task};
use crate::tracker::vocab::{Estado, EtlTipo, Modo};

/// The longest window one request may recover (days).
pub const MAX_DAYS: i64 = 31;

/// What to recover, as the previous panels send it.
#[derive(Debug, Clone)]
pub struct RecoverAsk {
    pub tipo: EtlTipo,
    pub store: String,
    pub fecha_desde: NaiveDate,
    pub fecha_hasta: NaiveDate,
    pub hora_desde: Option<NaiveTime>,
    /// `None`: to the end of `fecha_hasta`.
    pub hora_hasta: Option<NaiveTime>,
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.ffffff`; `24:00` and `23:59:59` (the gaps' "end of
/// day") are the end of the day (`None` in the second place).
pub fn parse_time(text: &str, field: &str) -> Result<(NaiveTime, bool), ApiError> {
    let text = text.trim();
    if text == "24:00" || text == "24:00:00" {
        return Ok((NaiveTime::MIN, true));
    }
    let time = ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(text, f).ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field} must be HH:MM or HH:MM:SS, got '{}'",
                text.chars().take(40).collect::<String>()
            ))
        })?;
    let end_of_day = time >= crate::etl::plan::LAST_SECOND;
    Ok((time, end_of_day))
}

pub fn parse_date(text: &str, field: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(format!(
            "{field} must be YYYY-MM-DD, got '{}'",
            text.chars().take(40).collect::<String>()
        ))
    })
}

/// The tasks a recovery runs, or why the ask is refused (400).
pub fn plan(
    state: &Shared,
    ask: &RecoverAsk,
    now_local: NaiveDateTime,
) -> Result<Vec<Task>, ApiError> {
    let store = state.config.store(&ask.store).ok_or_else(|| {
        ApiError::bad_request(format!(
            "unknown store '{}'",
            ask.store.chars().take(40).collect::<String>()
        ))
    })?;
    if !store.active {
        return Err(ApiError::bad_request(format!(
            "store '{}' is not active in the configuration",
            store.id
        )));
    }
    let today = now_local.date();
    if ask.fecha_hasta < ask.fecha_desde {
        return Err(ApiError::bad_request(format!(
            "fecha_desde {} is after fecha_hasta {}",
            ask.fecha_desde, ask.fecha_hasta
        )));
    }
    if ask.fecha_hasta > today {
        return Err(ApiError::bad_request(format!(
            "{} is in the future (today is {today} in the stores' time zone)",
            ask.fecha_hasta
        )));
    }
    if (ask.fecha_hasta - ask.fecha_desde).num_days() >= MAX_DAYS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_DAYS} days per recovery"
        )));
    }
    let task = |window: Window| Task {
        tipo: ask.tipo,
        ubicacion_id: store.id.clone(),
        ubicacion_nombre: store.name.clone(),
        store: store.clone(),
        window,
        modo: Modo::Recuperacion,
    };
    if ask.tipo == EtlTipo::Inventario {
        // Stock cannot be fetched for the past: recovering it is a snapshot now.
        let start = today.and_time(NaiveTime::MIN);
        return Ok(vec![task(Window {
            start,
            end: next_midnight(start),
        })]);
    }
    let start = ask
        .fecha_desde
        .and_time(ask.hora_desde.unwrap_or(NaiveTime::MIN));
    let end = match ask.hora_hasta {
        Some(t) => ask.fecha_hasta.and_time(t),
        None => next_midnight(ask.fecha_hasta.and_time(NaiveTime::MIN)),
    };
    if end <= start {
        return Err(ApiError::bad_request(format!(
            "the window is empty: {} is not before {}",
            start.format("%Y-%m-%d %H:%M:%S"),
            end.format("%Y-%m-%d %H:%M:%S")
        )));
    }
    let end = end.min(now_local);
    if end <= start {
        return Err(ApiError::bad_request(
            "the window has not started yet in the stores' time zone",
        ));
    }
    Ok(split_at_midnight(start, end)
        .into_iter()
        .map(task)
        .collect())
}

/// One execution a recovery made.
#[derive(Debug, Clone, Serialize)]
pub struct RecoveredWindow {
    pub ejecucion_id: Option<i64>,
    pub etl_tipo: String,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub fecha: NaiveDate,
    pub hora_desde: Option<NaiveTime>,
    pub hora_hasta: Option<NaiveTime>,
    pub modo: String,
    pub estado: String,
    pub registros_extraidos: i64,
    pub registros_cargados: i64,
    pub duracion_segundos: f64,
    pub error_tipo: Option<String>,
    pub error_mensaje: Option<String>,
}

impl From<&TaskReport> for RecoveredWindow {
    fn from(r: &TaskReport) -> Self {
        RecoveredWindow {
            ejecucion_id: r.ejecucion_id,
            etl_tipo: r.etl_tipo.to_string(),
            ubicacion_id: r.ubicacion_id.clone(),
            ubicacion_nombre: r.ubicacion_nombre.clone(),
            fecha: r.fecha,
            hora_desde: r.hora_desde,
            hora_hasta: r.hora_hasta,
            modo: r.modo.to_string(),
            estado: r.estado.to_string(),
            registros_extraidos: r.extraidos as i64,
            registros_cargados: r.cargados as i64,
            duracion_segundos: r.duracion_segundos,
            error_tipo: r.error_tipo.map(|e| e.to_string()),
            error_mensaje: r.error_mensaje.clone(),
        }
    }
}

/// What a recovery did.
#[derive(Debug, Clone, Serialize)]
pub struct RecoverOutcome {
    /// `exitoso` when every window loaded, `fallido` when none did, `parcial` otherwise;
    /// `interrumpido` when the server was stopped mid-way.
    pub estado: String,
    pub solicitado_por: String,
    pub ejecuciones: Vec<RecoveredWindow>,
}

impl RecoverOutcome {
    pub fn all_ok(&self) -> bool {
        self.estado == "exitoso"
    }
}

/// Runs the recovery on a blocking thread: 409 naming the holder when another run of the
/// same tipo holds the run lock (cron's `run`, or another recovery).
pub async fn execute(
    state: &Shared,
    ask: RecoverAsk,
    requested_by: &str,
) -> Result<RecoverOutcome, ApiError> {
    if !state.auth.has_tokens() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "recovering from the web needs a token: set [serve] token or token_file",
        ));
    }
    let now_local = state.clock.now_local();
    let tasks = plan(state, &ask, now_local)?;
    // Counted once the ask is valid: a typo does not use up the operator's minute.
    state.auth.allow_recovery(requested_by)?;
    let request = RunRequest {
        plan: PlanOptions {
            tipos: vec![ask.tipo],
            stores: vec![ask.store.clone()],
            scope: Scope::None,
            recover: false,
            max_gaps: 0,
            ignore_backoff: true,
            settle_lag: chrono::Duration::zero(),
            overlap: chrono::Duration::zero(),
            gaps_since: None,
            max_verifications: 0,
        },
        jobs: 2,
        recovery_budget: Duration::MAX,
        verification_budget: Duration::MAX,
        // No queue: while cron's run (or another recovery) holds the tipo, answer 409 now.
        lock_wait: Duration::ZERO,
        dry_run: false,
        extra: tasks,
        command: "recover",
        requested_by: Some(requested_by.to_string()),
    };
    let worker = state.clone();
    let result = tokio::task::spawn_blocking(move || {
        crate::etl::run::run(
            &worker.config,
            &worker.clock,
            &request,
            &worker.interrupt,
            &NoProgress,
        )
    })
    .await
    .map_err(|err| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("worker failed: {err}"),
        )
    })?;
    // Whatever happened, what the pages show may have changed.
    state.cache.clear();
    let outcome = result.map_err(|err| match &err {
        RunError::Lock(RunLockError::Busy { tipo, holder, .. }) => ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "another klk-etl is running {tipo} on this database ({}); try again when it ends",
                describe_holder(holder)
            ),
        )
        .with(serde_json::json!({ "holder": holder_json(holder) }))
        .retry_after(30),
        RunError::Tracker(tracker) => ApiError::from_tracker(tracker),
        other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    })?;
    let ejecuciones: Vec<RecoveredWindow> = outcome.reports.iter().map(Into::into).collect();
    let ok = outcome
        .reports
        .iter()
        .filter(|r| r.estado == Estado::Exitoso)
        .count();
    let estado = if outcome.interrupted {
        "interrumpido"
    } else if ok == outcome.reports.len() {
        "exitoso"
    } else if ok == 0 {
        "fallido"
    } else {
        "parcial"
    };
    Ok(RecoverOutcome {
        estado: estado.to_string(),
        solicitado_por: requested_by.to_string(),
        ejecuciones,
    })
}

/// The lock file holds the holder's pid: name its command when it runs on this host.
fn holder_command(pid: &str) -> Option<String> {
    let pid: u32 = pid.trim().parse().ok()?;
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let program = args.first()?;
    let program = std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The subcommand only: arguments could carry anything.
    let subcommand = args
        .iter()
        .skip(1)
        .scan(false, |skip_value, arg| {
            let this = if *skip_value { None } else { Some(arg) };
            *skip_value = arg.starts_with("--")
                && !arg.contains('=')
                && GLOBAL_WITH_VALUE.contains(&arg.as_str());
            Some(this)
        })
        .flatten()
        .find(|a| !a.starts_with('-'))
        .cloned();
    Some(match subcommand {
        Some(sub) => format!("{program} {sub}"),
        None => program,
    })
}

/// Global options that take a value (so the value is not read as the subcommand).
const GLOBAL_WITH_VALUE: &[&str] = &[
    "--config",
    "--db",
    "--format",
    "--color",
    "--lock-timeout",
    "--now",
];

fn describe_holder(pid: &str) -> String {
    match holder_command(pid) {
        Some(command) => format!("pid {}, {command}", pid.trim()),
        None => format!("pid {}", pid.trim()),
    }
}

fn holder_json(pid: &str) -> serde_json::Value {
    serde_json::json!({
        "pid": pid.trim().parse::<u32>().ok(),
        "command": holder_command(pid),
    })
}
