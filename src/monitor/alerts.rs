//! Alerts that do not spam: the current problems are compared with the ones already
//! announced (`etl_alertas_estado`); only transitions (a new problem, a reminder after
//! `realert_after`, a recovery) go to the outbox (`etl_alertas`), one row per channel,
//! and undelivered rows are retried by later invocations up to `max_attempts`.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::Snapshot;
use super::channels::{self, Outgoing};
use crate::config::Config;
use crate::output::fmt;
use crate::tracker::TrackerError;
use crate::tracker::engine::{Session, Value};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub key: String,
    pub class: &'static str,
    pub message: String,
}

/// What is wrong now, each with a stable key.
pub fn problems(snapshot: &Snapshot, config: &Config) -> Vec<Problem> {
    let mut found = Vec::new();
    let gap_age_hours = config.alerts.gap_age.as_secs_f64() / 3600.0;
    for gap in &snapshot.gaps {
        let key_suffix = if gap.etl_tipo == "inventario" {
            format!("inventario:{}", gap.ubicacion_id)
        } else {
            format!(
                "{}:{}:{}:{}",
                gap.etl_tipo,
                gap.ubicacion_id,
                gap.fecha_desde,
                fmt::time(&gap.hora_desde)
            )
        };
        let window = match (gap.hora_desde, gap.hora_hasta) {
            (Some(_), Some(_)) => format!(
                "{} {}-{}",
                gap.fecha_desde,
                fmt::time(&gap.hora_desde),
                fmt::time(&gap.hora_hasta)
            ),
            _ if gap.etl_tipo == "inventario" => "stock snapshot".to_string(),
            _ => format!("{} whole day", gap.fecha_desde),
        };
        let detail = format!(
            "{} {} ({}) {window}: {} ({}), {} attempt(s), since {}",
            gap.etl_tipo,
            gap.ubicacion_nombre,
            gap.ubicacion_id,
            gap.causa,
            gap.error_tipo,
            gap.intentos,
            fmt::datetime(&gap.fecha_fallo)
        );
        found.push(Problem {
            key: format!("gap:{key_suffix}"),
            class: "gap",
            message: format!("gap: {detail}"),
        });
        if gap.horas_desde_fallo >= gap_age_hours {
            found.push(Problem {
                key: format!("gap_old:{key_suffix}"),
                class: "gap_old",
                message: format!("gap older than {gap_age_hours:.0} h: {detail}"),
            });
        }
    }
    let threshold = config.monitoring.success_rate.0;
    for state in &snapshot.stores {
        if let Some(ratio) = state.success_ratio
            && ratio * 100.0 < threshold
        {
            found.push(Problem {
                key: format!("rate:{}:{}", state.etl_tipo, state.ubicacion_id),
                class: "success_rate",
                message: format!(
                    "{} {} ({}) success rate {:.0}% over its last {} executions (under {threshold:.0}%)",
                    state.etl_tipo,
                    state.ubicacion_nombre,
                    state.ubicacion_id,
                    ratio * 100.0,
                    state.recent_total
                ),
            });
        }
    }
    for stuck in &snapshot.stuck {
        let e = &stuck.execution;
        found.push(Problem {
            key: format!("stuck:{}", e.id),
            class: "stuck",
            message: format!(
                "execution #{} {} {} started {} is stuck ({})",
                e.id,
                e.etl_tipo,
                e.ubicacion_id,
                fmt::datetime(&e.fecha_inicio),
                stuck.reason.describe()
            ),
        });
    }
    let silent_after = config.monitoring.last_run.0;
    let silent = match &snapshot.last_run {
        None => Some("no `klk-etl run` has ever been recorded".to_string()),
        Some(run) => {
            let age = (snapshot.now - run.inicio).to_std().unwrap_or_default();
            (age >= silent_after).then(|| {
                format!(
                    "cron silent: the last `klk-etl run` started {} ({:.1} h ago)",
                    fmt::datetime(&run.inicio),
                    age.as_secs_f64() / 3600.0
                )
            })
        }
    };
    if let Some(message) = silent {
        found.push(Problem {
            key: "cron".to_string(),
            class: "cron",
            message,
        });
    }
    // A post-load hook whose latest invocation failed (it recovers when it next succeeds).
    for hook in snapshot.hooks.iter().filter(|h| h.latest.failed()) {
        let latest = &hook.latest;
        found.push(Problem {
            key: format!("hook:{}", latest.nombre),
            class: "hook",
            message: format!(
                "hook '{}' ({} {}) failed {} of {} time(s) in the run of {}: {}",
                latest.nombre,
                latest.evento,
                latest.accion,
                latest.fallos + latest.omitidas,
                latest.ejecuciones + latest.omitidas,
                fmt::datetime(&latest.inicio),
                latest.error.as_deref().unwrap_or("no detail")
            ),
        });
    }
    found
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    Problem,
    Reminder,
    Recovered,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Problem => "problema",
            Transition::Reminder => "recordatorio",
            Transition::Recovered => "recuperacion",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub key: String,
    pub class: String,
    pub transition: Transition,
    pub message: String,
}

struct Announced {
    class: String,
    message: String,
    since: NaiveDateTime,
    last_notice: NaiveDateTime,
}

fn announced(session: &mut Session) -> Result<BTreeMap<String, Announced>, TrackerError> {
    session
        .query(
            "SELECT clave, clase, mensaje, abierto_desde, ultimo_aviso FROM etl_alertas_estado",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.get(0)?,
                Announced {
                    class: r.get(1)?,
                    message: r.get(2)?,
                    since: r.get(3)?,
                    last_notice: r.get(4)?,
                },
            ))
        })
        .collect()
}

/// The transitions between what was announced and what is wrong now.
pub fn plan(
    session: &mut Session,
    current: &[Problem],
    now: NaiveDateTime,
    realert_after: Duration,
) -> Result<Vec<Planned>, TrackerError> {
    let before = announced(session)?;
    let realert = chrono::Duration::from_std(realert_after).unwrap_or(chrono::Duration::hours(6));
    let mut planned = Vec::new();
    let current_keys: HashSet<&str> = current.iter().map(|p| p.key.as_str()).collect();
    for problem in current {
        match before.get(&problem.key) {
            None => planned.push(Planned {
                key: problem.key.clone(),
                class: problem.class.to_string(),
                transition: Transition::Problem,
                message: format!("KLK-ETL PROBLEM: {}", problem.message),
            }),
            Some(known) if now - known.last_notice >= realert => planned.push(Planned {
                key: problem.key.clone(),
                class: problem.class.to_string(),
                transition: Transition::Reminder,
                message: format!(
                    "KLK-ETL STILL (since {}): {}",
                    fmt::datetime(&known.since),
                    problem.message
                ),
            }),
            Some(_) => {}
        }
    }
    for (key, known) in &before {
        if !current_keys.contains(key.as_str()) {
            planned.push(Planned {
                key: key.clone(),
                class: known.class.clone(),
                transition: Transition::Recovered,
                message: format!("KLK-ETL RECOVERED: {}", known.message),
            });
        }
    }
    Ok(planned)
}

pub fn channels(config: &Config) -> Vec<&'static str> {
    channels::configured(config)
}

/// The outbox's `transicion` in the words the channels use.
fn transition_word(transicion: &str) -> &'static str {
    match transicion {
        "problema" => "problem",
        "recordatorio" => "reminder",
        "recuperacion" => "recovered",
        "resumen" => "summary",
        _ => "other",
    }
}

/// Queues a run's summary for the e-mail channel (`[alerts.email] run_summary`).
pub fn queue_summary(
    session: &mut Session,
    key: &str,
    message: &str,
    now: NaiveDateTime,
) -> Result<(), TrackerError> {
    session.execute(
        "INSERT INTO etl_alertas (clave, clase, transicion, mensaje, canal, creada) \
         VALUES ($1, 'resumen', 'resumen', $2, 'email', $3)",
        &[key.into(), message.into(), Value::Timestamp(now)],
    )?;
    Ok(())
}

/// Updates the announced state and queues one outbox row per channel, in one transaction.
pub fn record(
    session: &mut Session,
    current: &[Problem],
    planned: &[Planned],
    channels: &[&str],
    now: NaiveDateTime,
) -> Result<(), TrackerError> {
    session.transaction(|tx| {
        for p in planned {
            match p.transition {
                Transition::Problem => {
                    let message = current
                        .iter()
                        .find(|c| c.key == p.key)
                        .map_or(p.message.clone(), |c| c.message.clone());
                    tx.execute(
                        "INSERT INTO etl_alertas_estado VALUES ($1, $2, $3, $4, $4) \
                         ON CONFLICT (clave) DO UPDATE SET clase = excluded.clase, \
                         mensaje = excluded.mensaje, abierto_desde = excluded.abierto_desde, \
                         ultimo_aviso = excluded.ultimo_aviso",
                        &[
                            p.key.as_str().into(),
                            p.class.as_str().into(),
                            message.as_str().into(),
                            Value::Timestamp(now),
                        ],
                    )?;
                }
                Transition::Reminder => {
                    tx.execute(
                        "UPDATE etl_alertas_estado SET ultimo_aviso = $1 WHERE clave = $2",
                        &[Value::Timestamp(now), p.key.as_str().into()],
                    )?;
                }
                Transition::Recovered => {
                    tx.execute(
                        "DELETE FROM etl_alertas_estado WHERE clave = $1",
                        &[p.key.as_str().into()],
                    )?;
                }
            }
            for channel in channels {
                tx.execute(
                    "INSERT INTO etl_alertas (clave, clase, transicion, mensaje, canal, creada) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        p.key.as_str().into(),
                        p.class.as_str().into(),
                        p.transition.as_str().into(),
                        p.message.as_str().into(),
                        (*channel).into(),
                        Value::Timestamp(now),
                    ],
                )?;
            }
        }
        Ok(())
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub canal: String,
    pub alert: Outgoing,
}

/// Undelivered alerts still within their attempts, oldest first.
pub fn pending(session: &mut Session, max_attempts: u32) -> Result<Vec<Pending>, TrackerError> {
    session
        .query(
            "SELECT id, canal, mensaje, clave, clase, transicion, creada FROM etl_alertas \
             WHERE entregada IS NULL AND intentos < $1 ORDER BY id",
            &[Value::Int(i64::from(max_attempts))],
        )?
        .iter()
        .map(|r| {
            Ok(Pending {
                canal: r.get(1)?,
                alert: Outgoing {
                    id: r.get(0)?,
                    message: r.get(2)?,
                    key: r.get(3)?,
                    class: r.get(4)?,
                    transition: transition_word(&r.get::<String>(5)?).to_string(),
                    created: r.get(6)?,
                },
            })
        })
        .collect()
}

/// Sends each pending alert on its channel (no database held), channel by channel. Errors
/// never contain a webhook URL, header value or password.
pub fn deliver(ctx: &channels::Context, pending: &[Pending]) -> Vec<(i64, Result<(), String>)> {
    let mut by_channel: BTreeMap<&str, Vec<Outgoing>> = BTreeMap::new();
    for p in pending {
        by_channel
            .entry(p.canal.as_str())
            .or_default()
            .push(p.alert.clone());
    }
    let mut results: Vec<(i64, Result<(), String>)> = by_channel
        .into_iter()
        .flat_map(|(channel, alerts)| channels::deliver(ctx, channel, &alerts))
        .collect();
    results.sort_by_key(|(id, _)| *id);
    results
}

pub fn record_delivery(
    session: &mut Session,
    results: &[(i64, Result<(), String>)],
    now: NaiveDateTime,
) -> Result<(), TrackerError> {
    session.transaction(|tx| {
        for (id, result) in results {
            match result {
                Ok(()) => tx.execute(
                    "UPDATE etl_alertas SET intentos = intentos + 1, ultimo_intento = $1, \
                     entregada = $1, ultimo_error = NULL WHERE id = $2",
                    &[Value::Timestamp(now), Value::Int(*id)],
                )?,
                Err(error) => tx.execute(
                    "UPDATE etl_alertas SET intentos = intentos + 1, ultimo_intento = $1, \
                     ultimo_error = $2 WHERE id = $3",
                    &[
                        Value::Timestamp(now),
                        error.as_str().into(),
                        Value::Int(*id),
                    ],
                )?,
            };
        }
        Ok(())
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub creada: NaiveDateTime,
    pub clase: String,
    pub transicion: String,
    pub canal: String,
    pub mensaje: String,
    pub intentos: i64,
    pub entregada: Option<NaiveDateTime>,
    pub ultimo_error: Option<String>,
}

pub fn recent(session: &mut Session, limit: usize) -> Result<Vec<AlertRow>, TrackerError> {
    session
        .query(
            "SELECT id, creada, clase, transicion, canal, mensaje, intentos, entregada, ultimo_error \
             FROM etl_alertas ORDER BY id DESC LIMIT $1",
            &[Value::Int(limit as i64)],
        )?
        .iter()
        .map(|r| {
            Ok(AlertRow {
                id: r.get(0)?,
                creada: r.get(1)?,
                clase: r.get(2)?,
                transicion: r.get(3)?,
                canal: r.get(4)?,
                mensaje: r.get(5)?,
                intentos: r.get(6)?,
                entregada: r.get(7)?,
                ultimo_error: r.get(8)?,
            })
        })
        .collect()
}
