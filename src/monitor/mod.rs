//! Monitoring: one snapshot of the database's state (per store and tipo), from which
//! `health` (monitoring-plugins checks), Prometheus metrics and alerts are derived, so all
//! three (and `gaps`, `metrics`) tell the same story. No printing here.

pub mod alerts;
pub mod channels;
pub mod checkins;
pub mod coverage_map;
pub mod health;
pub mod prometheus;
pub mod views;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use duckdb::Connection;
use serde::Serialize;

use crate::config::Config;
use crate::tracker::engine::{Dialect, Session, Value};
use crate::tracker::gaps::{self, Gap, GapQuery};
use crate::tracker::integrations::{self, CheckinState, HookState};
use crate::tracker::invocations::{self, LastInvocation};
use crate::tracker::process::host_name;
use crate::tracker::unstick::{self, StuckExecution, UnstickOptions};
use crate::tracker::{Access, Database, TrackerError, coverage};

#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreState {
    pub etl_tipo: String,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    /// Finished executions among the store's latest `success_window`.
    pub recent_total: i64,
    pub recent_ok: i64,
    /// `recent_ok / recent_total`, `None` without finished executions.
    pub success_ratio: Option<f64>,
    /// All rows in `etl_ejecuciones`, by estado.
    pub executions_by_state: BTreeMap<String, i64>,
    pub rows_loaded: i64,
    pub last_duration_seconds: Option<f64>,
    pub last_success: Option<NaiveDateTime>,
    pub open_gaps: i64,
    pub oldest_gap_hours: Option<f64>,
    /// ventas: how far behind now the loaded sales end (the watermark).
    pub lag_seconds: Option<f64>,
    /// ventas: where the oldest hole starts (the contiguous low watermark), or the watermark.
    pub low_watermark: Option<NaiveDateTime>,
    /// inventario: age of the latest successful snapshot.
    pub inventory_age_seconds: Option<f64>,
    /// ventas: closed days not verified by their deadline, or whose re-pull failed.
    pub unverified_days: i64,
    /// ventas, over the days verified in the last [`QUALITY_DAYS`]: lines the re-pulls found
    /// late, changed and vanished.
    pub late_lines: i64,
    pub changed_lines: i64,
    pub vanished_lines: i64,
}

/// The days (today included) the data-quality figures of a snapshot add up.
pub const QUALITY_DAYS: u32 = 7;

#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub now: NaiveDateTime,
    pub stores: Vec<StoreState>,
    pub gaps: Vec<Gap>,
    pub stuck: Vec<StuckExecution>,
    pub last_run: Option<LastInvocation>,
    /// Per post-load hook: its latest run and totals.
    pub hooks: Vec<HookState>,
    /// Per check-in: pings sent and failed.
    pub checkins: Vec<CheckinState>,
}

fn seconds_between(later: NaiveDateTime, earlier: NaiveDateTime) -> f64 {
    (later - earlier).num_milliseconds() as f64 / 1000.0
}

/// Per store and tipo: the latest `success_window` finished executions (how many, how many
/// succeeded), the latest one's duration, the latest success's end and the latest name.
/// Counts, names and the latest success come from the summary (`klk_resumen`); the rows
/// ranked are those started inside the horizon, plus the whole history of a store that has
/// fewer finished ones there than the window and more elsewhere (usually none).
const RECENT_DUCKDB: &str = "WITH
     p AS (SELECT CAST($1 AS TIMESTAMP) AS desde, CAST($2 AS BIGINT) AS ventana),
     resumen AS (
        SELECT etl_tipo, ubicacion_id,
               sum(ejecuciones) FILTER (WHERE estado <> 'en_proceso') AS terminadas,
               arg_max(ubicacion_nombre, ultimo_inicio) FILTER (WHERE estado <> 'en_proceso') AS nombre,
               max(ultimo_fin) FILTER (WHERE estado = 'exitoso') AS ultimo_exito
        FROM klk_resumen() GROUP BY etl_tipo, ubicacion_id),
     recientes AS (
        SELECT e.etl_tipo, e.ubicacion_id, e.estado, e.duracion_segundos, e.fecha_inicio, e.id
        FROM etl_ejecuciones e, p WHERE e.fecha_inicio >= p.desde AND e.estado <> 'en_proceso'),
     cuenta AS (SELECT etl_tipo, ubicacion_id, count(*) AS n FROM recientes GROUP BY ALL),
     faltan AS (
        SELECT r.etl_tipo, r.ubicacion_id FROM resumen r
        LEFT JOIN cuenta c USING (etl_tipo, ubicacion_id), p
        WHERE r.terminadas > 0 AND coalesce(c.n, 0) < p.ventana AND r.terminadas > coalesce(c.n, 0)),
     anteriores AS (
        SELECT e.etl_tipo, e.ubicacion_id, e.estado, e.duracion_segundos, e.fecha_inicio, e.id
        FROM etl_ejecuciones e
        SEMI JOIN faltan f ON e.etl_tipo = f.etl_tipo AND e.ubicacion_id = f.ubicacion_id, p
        WHERE e.fecha_inicio < p.desde AND e.estado <> 'en_proceso'),
     ranked AS (
        SELECT *, row_number() OVER (PARTITION BY etl_tipo, ubicacion_id ORDER BY fecha_inicio DESC, id DESC) AS rn
        FROM (SELECT * FROM recientes UNION ALL SELECT * FROM anteriores))
     SELECT r.etl_tipo, r.ubicacion_id, any_value(s.nombre),
            count(*) FILTER (WHERE rn <= p.ventana), count(*) FILTER (WHERE rn <= p.ventana AND estado = 'exitoso'),
            arg_max(duracion_segundos, fecha_inicio),
            any_value(s.ultimo_exito)
     FROM ranked r JOIN resumen s USING (etl_tipo, ubicacion_id), p
     GROUP BY r.etl_tipo, r.ubicacion_id";

/// [`RECENT_DUCKDB`]'s rows on PostgreSQL, read per store and tipo with index probes: its
/// last `ventana` finished executions, and its latest duration (since `desde`, or older for a
/// store with fewer than `ventana` finished since, as DuckDB's ranked rows). Ranking every
/// execution since `desde` took 250 ms there at 100 stores; DuckDB's scan does it in a few.
const RECENT_POSTGRES: &str = "WITH
     p AS (SELECT CAST($1 AS TIMESTAMP) AS desde, CAST($2 AS BIGINT) AS ventana),
     resumen AS (
        SELECT etl_tipo, ubicacion_id,
               sum(ejecuciones) FILTER (WHERE estado <> 'en_proceso') AS terminadas,
               (array_agg(ubicacion_nombre ORDER BY ultimo_inicio DESC) FILTER (
                   WHERE estado <> 'en_proceso' AND ubicacion_nombre IS NOT NULL
                     AND ultimo_inicio IS NOT NULL))[1] AS nombre,
               max(ultimo_fin) FILTER (WHERE estado = 'exitoso') AS ultimo_exito
        FROM klk_resumen() GROUP BY etl_tipo, ubicacion_id),
     ultimas AS (
        SELECT s.etl_tipo, s.ubicacion_id, count(*) AS n,
               count(*) FILTER (WHERE u.estado = 'exitoso') AS ok
        FROM resumen s
        CROSS JOIN p
        CROSS JOIN LATERAL (
            SELECT e.estado FROM etl_ejecuciones e
            WHERE e.etl_tipo = s.etl_tipo AND e.ubicacion_id = s.ubicacion_id AND e.estado <> 'en_proceso'
            ORDER BY e.fecha_inicio DESC, e.id DESC
            LIMIT p.ventana) u
        WHERE s.terminadas > 0
        GROUP BY s.etl_tipo, s.ubicacion_id),
     duracion AS (
        SELECT s.etl_tipo, s.ubicacion_id, d.duracion_segundos
        FROM resumen s
        CROSS JOIN p
        CROSS JOIN LATERAL (
            SELECT e.duracion_segundos, e.fecha_inicio FROM etl_ejecuciones e
            WHERE e.etl_tipo = s.etl_tipo AND e.ubicacion_id = s.ubicacion_id AND e.estado <> 'en_proceso'
              AND e.duracion_segundos IS NOT NULL
            ORDER BY e.fecha_inicio DESC, e.id DESC
            LIMIT 1) d
        WHERE s.terminadas > 0
          AND (d.fecha_inicio >= p.desde
               OR (SELECT count(*) FROM (
                      SELECT 1 FROM etl_ejecuciones e
                      WHERE e.etl_tipo = s.etl_tipo AND e.ubicacion_id = s.ubicacion_id
                        AND e.estado <> 'en_proceso' AND e.fecha_inicio >= p.desde
                      LIMIT p.ventana) x) < p.ventana))
     SELECT s.etl_tipo, s.ubicacion_id, s.nombre, u.n, u.ok, d.duracion_segundos, s.ultimo_exito
     FROM resumen s
     JOIN ultimas u USING (etl_tipo, ubicacion_id)
     LEFT JOIN duracion d USING (etl_tipo, ubicacion_id)";

pub fn snapshot(
    session: &mut Session,
    config: &Config,
    now_local: NaiveDateTime,
) -> Result<Snapshot, TrackerError> {
    let gaps = gaps::list_in(
        session,
        &GapQuery {
            now_local,
            tracking: config.tracking,
            horizon: config.tracking.horizon,
            etl_tipo: None,
            stores: Vec::new(),
        },
    )?;
    let stuck = unstick::find(
        session,
        &UnstickOptions {
            now_local,
            older_than: config.tracking.stuck_after,
            this_host: host_name(),
        },
    )?;
    let last_run = invocations::last(session, "run")?;

    let mut states: BTreeMap<(String, String), StoreState> = BTreeMap::new();
    // Every configured active store has a row for both tipos, executions or not.
    for store in config.stores.iter().filter(|s| s.active) {
        for tipo in ["ventas", "inventario"] {
            states.insert(
                (tipo.to_string(), store.id.clone()),
                StoreState {
                    etl_tipo: tipo.to_string(),
                    ubicacion_id: store.id.clone(),
                    ubicacion_nombre: store.name.clone(),
                    ..StoreState::default()
                },
            );
        }
    }
    let horizon_start = now_local
        - chrono::Duration::from_std(config.tracking.horizon).unwrap_or(chrono::Duration::days(7));
    let recent = match session.dialect() {
        Dialect::DuckDb => RECENT_DUCKDB,
        Dialect::Postgres => RECENT_POSTGRES,
    };
    let window = i64::from(config.monitoring.success_window);
    let rows = session
        .query(
            recent,
            &[Value::Timestamp(horizon_start), Value::Int(window)],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.get::<String>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<i64>(3)?,
                r.get::<i64>(4)?,
                r.get::<Option<f64>>(5)?,
                r.get::<Option<NaiveDateTime>>(6)?,
            ))
        })
        .collect::<Result<Vec<_>, TrackerError>>()?;
    for row in rows {
        let (tipo, store, name, total, ok, last_duration, last_success) = row;
        let state = states
            .entry((tipo.clone(), store.clone()))
            .or_insert_with(|| StoreState {
                etl_tipo: tipo,
                ubicacion_id: store,
                ubicacion_nombre: name,
                ..StoreState::default()
            });
        state.recent_total = total;
        state.recent_ok = ok;
        state.success_ratio = (total > 0).then(|| ok as f64 / total as f64);
        state.last_duration_seconds = last_duration;
        state.last_success = last_success;
    }
    // All rows by estado: from the summary, which adds up only the rows since it was built.
    let rows = session.query(
        "SELECT etl_tipo, ubicacion_id, estado, ejecuciones, registros_cargados FROM klk_resumen()",
        &[],
    )?;
    for r in &rows {
        let (tipo, store, estado): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        if let Some(state) = states.get_mut(&(tipo, store)) {
            state.executions_by_state.insert(estado, r.get(3)?);
            state.rows_loaded += r.get::<i64>(4)?;
        }
    }
    let rows = session.query(
        "SELECT ubicacion_id, CAST(coalesce(sum(lineas_tardias), 0) AS BIGINT), \
         CAST(coalesce(sum(lineas_cambiadas), 0) AS BIGINT), \
         CAST(coalesce(sum(lineas_desaparecidas), 0) AS BIGINT) \
         FROM klk_metricas(CAST($1 AS TIMESTAMP), $2) WHERE etl_tipo = 'ventas' GROUP BY ubicacion_id",
        &[Value::Timestamp(now_local), Value::Int(i64::from(QUALITY_DAYS))],
    )?;
    for r in &rows {
        if let Some(state) = states.get_mut(&("ventas".to_string(), r.get(0)?)) {
            state.late_lines = r.get(1)?;
            state.changed_lines = r.get(2)?;
            state.vanished_lines = r.get(3)?;
        }
    }
    for gap in &gaps {
        if let Some(state) = states.get_mut(&(gap.etl_tipo.clone(), gap.ubicacion_id.clone())) {
            if gap.causa == gaps::CAUSA_SIN_VERIFICAR {
                state.unverified_days += 1;
            }
            state.open_gaps += 1;
            state.oldest_gap_hours = Some(
                state
                    .oldest_gap_hours
                    .map_or(gap.horas_desde_fallo, |h| h.max(gap.horas_desde_fallo)),
            );
        }
    }
    let marks = coverage::sales_watermarks(session, horizon_start)?;
    for state in states.values_mut() {
        match state.etl_tipo.as_str() {
            "ventas" => {
                let mark = marks.get(&state.ubicacion_id).copied();
                state.lag_seconds = mark.map(|m| seconds_between(now_local, m).max(0.0));
                let oldest_hole = gaps
                    .iter()
                    .filter(|g| g.etl_tipo == "ventas" && g.ubicacion_id == state.ubicacion_id)
                    .filter_map(|g| g.hora_desde.map(|h| g.fecha_desde.and_time(h)))
                    .min();
                state.low_watermark = oldest_hole.or(mark);
            }
            _ => {
                state.inventory_age_seconds = state
                    .last_success
                    .map(|t| seconds_between(now_local, t).max(0.0));
            }
        }
    }
    Ok(Snapshot {
        now: now_local,
        stores: states.into_values().collect(),
        gaps,
        stuck,
        last_run,
        hooks: configured_hooks_in(session, config)?,
        checkins: integrations::checkin_states_in(session)?
            .into_iter()
            .filter(|c| config.checkins.iter().any(|k| k.name == c.nombre))
            .collect(),
    })
}

/// The recorded state of the hooks configured now (a hook removed from the configuration no
/// longer counts).
pub fn configured_hooks(
    conn: &Connection,
    config: &Config,
) -> Result<Vec<HookState>, TrackerError> {
    configured_hooks_in(&mut Session::DuckDb(conn), config)
}

/// [`configured_hooks`] on either engine.
pub fn configured_hooks_in(
    session: &mut Session,
    config: &Config,
) -> Result<Vec<HookState>, TrackerError> {
    let hooks = &config.hooks;
    Ok(integrations::hook_states_in(session)?
        .into_iter()
        .filter(|h| {
            hooks
                .after_window
                .iter()
                .chain(&hooks.after_run)
                .any(|k| k.name == h.latest.nombre)
        })
        .collect())
}

/// What an alert evaluation did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertsOutcome {
    pub dry_run: bool,
    pub channels: Vec<&'static str>,
    pub transitions: Vec<alerts::Planned>,
    pub delivered: usize,
    /// (outbox id, reason) of deliveries that failed this time (retried later).
    pub failed: Vec<(i64, String)>,
}

/// Compares the problems of now with those announced, queues the transitions and sends
/// whatever is pending (this time's and earlier undelivered ones). The database is never
/// held while sending.
pub fn check_alerts(
    config: &Config,
    now_utc: chrono::DateTime<chrono::Utc>,
    now_local: NaiveDateTime,
    dry_run: bool,
) -> Result<AlertsOutcome, TrackerError> {
    check_alerts_with_summary(config, now_utc, now_local, dry_run, None)
}

/// A run's summary for the e-mail channel: its outbox key and text.
#[derive(Debug, Clone)]
pub struct SummaryMail {
    pub key: String,
    pub text: String,
}

/// [`check_alerts`], also queueing (and sending with the rest) a run's summary e-mail.
pub fn check_alerts_with_summary(
    config: &Config,
    now_utc: chrono::DateTime<chrono::Utc>,
    now_local: NaiveDateTime,
    dry_run: bool,
    summary: Option<&SummaryMail>,
) -> Result<AlertsOutcome, TrackerError> {
    let channels = alerts::channels(config);
    let (current, transitions) = {
        let mut db = Database::open(config, Access::Read, now_utc)?;
        let session = &mut db.session();
        let snap = snapshot(session, config, now_local)?;
        let current = alerts::problems(&snap, config);
        let transitions = alerts::plan(session, &current, now_local, config.alerts.realert_after)?;
        (current, transitions)
    };
    let mut outcome = AlertsOutcome {
        dry_run,
        channels: channels.clone(),
        transitions,
        ..AlertsOutcome::default()
    };
    // Without a channel nothing is recorded, so configuring one later announces what is open.
    if dry_run || channels.is_empty() {
        return Ok(outcome);
    }
    let pending = {
        let mut db = Database::open(config, Access::Write, now_utc)?;
        let session = &mut db.session();
        alerts::record(
            session,
            &current,
            &outcome.transitions,
            &channels,
            now_local,
        )?;
        if let Some(summary) = summary.filter(|_| channels.contains(&"email")) {
            alerts::queue_summary(session, &summary.key, &summary.text, now_local)?;
        }
        alerts::pending(session, config.alerts.max_attempts)?
    };
    if pending.is_empty() {
        return Ok(outcome);
    }
    let host = host_name();
    let results = alerts::deliver(
        &channels::Context {
            config,
            now_utc,
            host: &host,
        },
        &pending,
    );
    outcome.delivered = results.iter().filter(|(_, r)| r.is_ok()).count();
    // "webhook unreachable: connection refused", "slack answered HTTP 404: no_service".
    outcome.failed = results
        .iter()
        .filter_map(|(id, r)| {
            let channel = pending
                .iter()
                .find(|p| p.alert.id == *id)
                .map_or("", |p| p.canal.as_str());
            r.as_ref().err().map(|e| (*id, format!("{channel} {e}")))
        })
        .collect();
    let mut db = Database::connect(config)?;
    alerts::record_delivery(&mut db.session(), &results, now_local)?;
    Ok(outcome)
}

/// The Prometheus text of the database's state now.
pub fn prometheus_text(
    config: &Config,
    now_utc: chrono::DateTime<chrono::Utc>,
    now_local: NaiveDateTime,
) -> Result<String, TrackerError> {
    let mut db = Database::open(config, Access::Read, now_utc)?;
    let snap = snapshot(&mut db.session(), config, now_local)?;
    let health = health::evaluate(&snap, &config.monitoring);
    Ok(prometheus::render(&snap, &health, config.timezone))
}
