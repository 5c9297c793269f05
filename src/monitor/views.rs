//! The data of `status` and `stores`, shared by the command line (`--format json`) and
//! `klk-etl serve` (`/api/v1/status`, `/api/v1/stores`), so both answer the same JSON.

use std::path::Path;

use chrono::NaiveDateTime;
use duckdb::Connection;
use serde::Serialize;

use crate::config::{Config, Store};
use crate::tracker::TrackerError;
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
    let latest_executions = executions::list(
        conn,
        &ExecutionFilter {
            limit,
            ..ExecutionFilter::default()
        },
    )?;
    let gaps = gaps::list(
        conn,
        &GapQuery {
            now_local,
            tracking: config.tracking,
            horizon: config.tracking.horizon,
            etl_tipo: None,
            stores: Vec::new(),
        },
    )?;
    let today = metrics::report(
        conn,
        &MetricsQuery {
            now_local,
            days: 1,
            etl_tipo: None,
            stores: Vec::new(),
        },
    )?
    .por_dia;
    let hooks = super::configured_hooks(conn, config)?;
    let checkins = integrations::checkin_states(conn)?
        .into_iter()
        .filter(|c| config.checkins.iter().any(|k| k.name == c.nombre))
        .collect();
    Ok(StatusReport {
        now: now_local,
        timezone: config.timezone.name().to_string(),
        database: database.display().to_string(),
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
