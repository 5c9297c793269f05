//! The data of `status` and `stores`, shared by the command line (`--format json`) and
//! `klk-etl serve` (`/api/v1/status`, `/api/v1/stores`), so both answer the same JSON.

use std::path::Path;

use chrono::NaiveDateTime;
use duckdb::Connection;
use serde::Serialize;

use crate::config::{Config, Store};
use crate::tracker::TrackerError;
use crate::tracker::engine::Session;
use crate::tracker::executions::{self, ExecutionFilter, ExecutionRow};
use crate::tracker::gaps::{self, Gap, GapQuery};
use crate::tracker::integrations::{self, CheckinState, HookState};
use crate::tracker::metrics::{self, DayMetrics, MetricsQuery};

/// `klk-etl status`: the latest executions, the open gaps and today's metrics.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub now: NaiveDateTime,
    pub timezone: String,
    pub database: String,
    pub latest_executions: Vec<ExecutionRow>,
    pub gaps: Vec<Gap>,
    pub today: Vec<DayMetrics>,
    /// Per configured post-load hook: its latest run and totals.
    pub hooks: Vec<HookState>,
    /// Per configured check-in: pings sent and failed.
    pub checkins: Vec<CheckinState>,
}

pub fn status(
    conn: &Connection,
    config: &Config,
    database: &Path,
    now_local: NaiveDateTime,
    limit: usize,
) -> Result<StatusReport, TrackerError> {
    let database = database.display().to_string();
    status_in(
        &mut Session::DuckDb(conn),
        config,
        &database,
        now_local,
        limit,
    )
}

/// [`status`] on either engine; `database` is how the report names it.
pub fn status_in(
    session: &mut Session,
    config: &Config,
    database: &str,
    now_local: NaiveDateTime,
    limit: usize,
) -> Result<StatusReport, TrackerError> {
    let latest_executions = executions::list_in(
        session,
        &ExecutionFilter {
            limit,
            ..ExecutionFilter::default()
        },
    )?;
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
    let today = metrics::report_in(
        session,
        &MetricsQuery {
            now_local,
            days: 1,
            etl_tipo: None,
            stores: Vec::new(),
        },
    )?
    .por_dia;
    let hooks = super::configured_hooks_in(session, config)?;
    let checkins = integrations::checkin_states_in(session)?
        .into_iter()
        .filter(|c| config.checkins.iter().any(|k| k.name == c.nombre))
        .collect();
    Ok(StatusReport {
        now: now_local,
        timezone: config.timezone.name().to_string(),
        database: database.to_string(),
        latest_executions,
        gaps,
        today,
        hooks,
        checkins,
    })
}

/// A configured store as `klk-etl stores --format json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct StoreView {
    #[serde(flatten)]
    pub store: Store,
    pub opening_hours_text: Option<String>,
}

pub fn opening_hours_text(store: &Store) -> Option<String> {
    store.opening_hours.map(|h| {
        let close = h
            .close
            .map_or("24:00".to_string(), |c| c.format("%H:%M").to_string());
        format!("{}-{close}", h.open.format("%H:%M"))
    })
}

pub fn stores(config: &Config) -> Vec<StoreView> {
    config
        .stores
        .iter()
        .map(|store| StoreView {
            store: store.clone(),
            opening_hours_text: opening_hours_text(store),
        })
        .collect()
}
