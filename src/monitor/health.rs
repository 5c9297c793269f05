//! `klk-etl health`: checks with warning/critical thresholds, in the monitoring-plugins
//! convention (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).

use std::time::Duration;

use serde::Serialize;

use super::Snapshot;
use crate::config::MonitoringSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Worse of two; UNKNOWN does not hide a CRITICAL.
    fn worst(self, other: Status) -> Status {
        let rank = |s: Status| match s {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warning => 2,
            Status::Critical => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub message: String,
    /// Nagios performance data: label, value, warning, critical.
    #[serde(skip)]
    pub perf: Vec<(String, f64, f64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub status: Status,
    pub summary: String,
    pub checks: Vec<Check>,
}

impl Health {
    /// The check itself could not run (e.g. the database cannot be opened).
    pub fn unknown(reason: &str) -> Health {
        Health {
            status: Status::Unknown,
            summary: format!("KLK-ETL UNKNOWN - {reason}"),
            checks: Vec::new(),
        }
    }
}

fn at_least(value: f64, warning: f64, critical: f64) -> Status {
    if value >= critical {
        Status::Critical
    } else if value >= warning {
        Status::Warning
    } else {
        Status::Ok
    }
}

fn hours(d: Duration) -> f64 {
    d.as_secs_f64() / 3600.0
}

fn describe_age(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

pub fn evaluate(snapshot: &Snapshot, settings: &MonitoringSettings) -> Health {
    let mut checks = Vec::new();

    // Cron: every run is recorded, so silence shows.
    let (warn, crit) = settings.last_run;
    checks.push(match &snapshot.last_run {
        None => Check {
            name: "last_run",
            status: Status::Critical,
            message: "no run recorded: is cron calling `klk-etl run`?".to_string(),
            perf: Vec::new(),
        },
        Some(run) => {
            let age = (snapshot.now - run.inicio).num_seconds().max(0) as f64;
            Check {
                name: "last_run",
                status: at_least(age, warn.as_secs_f64(), crit.as_secs_f64()),
                message: format!("last run {} ago ({})", describe_age(age), run.estado),
                perf: vec![(
                    "last_run_age_seconds".into(),
                    age,
                    warn.as_secs_f64(),
                    crit.as_secs_f64(),
                )],
            }
        }
    });

    // Gaps: how many, and how old the oldest.
    let count = snapshot.gaps.len() as f64;
    let oldest = snapshot
        .gaps
        .iter()
        .map(|g| g.horas_desde_fallo)
        .fold(0.0f64, f64::max);
    let (gw, gc) = settings.gaps;
    let (aw, ac) = settings.gap_age;
    let status = if snapshot.gaps.is_empty() {
        Status::Ok
    } else {
        at_least(count, f64::from(gw), f64::from(gc)).worst(at_least(oldest, hours(aw), hours(ac)))
    };
    checks.push(Check {
        name: "gaps",
        status,
        message: if snapshot.gaps.is_empty() {
            "no gaps".to_string()
        } else {
            format!("{} gaps, oldest {oldest:.1} h", snapshot.gaps.len())
        },
        perf: vec![
            ("gaps".into(), count, f64::from(gw), f64::from(gc)),
            ("oldest_gap_hours".into(), oldest, hours(aw), hours(ac)),
        ],
    });

    // Closed days no whole-day re-pull verified by their deadline (also counted as gaps):
    // named here so a failing or missing nightly verification is never silent.
    let unverified: Vec<&crate::tracker::gaps::Gap> = snapshot
        .gaps
        .iter()
        .filter(|g| g.causa == crate::tracker::gaps::CAUSA_SIN_VERIFICAR)
        .collect();
    let oldest_unverified = unverified
        .iter()
        .map(|g| g.horas_desde_fallo)
        .fold(0.0f64, f64::max);
    let unverified_count = unverified.len() as f64;
    checks.push(Check {
        name: "verification",
        status: if unverified.is_empty() {
            Status::Ok
        } else {
            at_least(unverified_count, f64::from(gw), f64::from(gc))
                .worst(at_least(oldest_unverified, hours(aw), hours(ac)))
                .worst(Status::Warning)
        },
        message: if unverified.is_empty() {
            "every closed day verified (or not due yet)".to_string()
        } else {
            let mut named: Vec<String> = unverified
                .iter()
                .take(5)
                .map(|g| {
                    let why = if g.intentos > 0 {
                        format!("re-pull failed {}x: {}", g.intentos, g.error_tipo)
                    } else {
                        "not re-pulled by its deadline".to_string()
                    };
                    format!("{} {} ({why})", g.ubicacion_id, g.fecha_desde)
                })
                .collect();
            if unverified.len() > named.len() {
                named.push(format!("and {} more", unverified.len() - named.len()));
            }
            format!(
                "{} closed day(s) not verified: {}",
                unverified.len(),
                named.join(", ")
            )
        },
        perf: vec![(
            "unverified_days".into(),
            unverified_count,
            f64::from(gw),
            f64::from(gc),
        )],
    });

    // Success rate per store over its latest executions (the seed alerted under 90 %).
    let (rw, rc) = settings.success_rate;
    let mut worst_rate: Option<(f64, String)> = None;
    let mut rate_status = Status::Ok;
    let mut low = Vec::new();
    for state in &snapshot.stores {
        let Some(ratio) = state.success_ratio else {
            continue;
        };
        let pct = ratio * 100.0;
        let status = if pct < rc {
            Status::Critical
        } else if pct < rw {
            Status::Warning
        } else {
            Status::Ok
        };
        if status != Status::Ok {
            low.push(format!(
                "{} {} {:.0}% ({}/{})",
                state.ubicacion_id, state.etl_tipo, pct, state.recent_ok, state.recent_total
            ));
        }
        rate_status = rate_status.worst(status);
        if worst_rate.as_ref().is_none_or(|(w, _)| pct < *w) {
            worst_rate = Some((pct, format!("{} {}", state.ubicacion_id, state.etl_tipo)));
        }
    }
    checks.push(Check {
        name: "success_rate",
        status: rate_status,
        message: if low.is_empty() {
            match &worst_rate {
                Some((pct, who)) => {
                    format!("every store at or above {rw:.0}% (lowest {who} {pct:.0}%)")
                }
                None => "no finished executions yet".to_string(),
            }
        } else {
            format!(
                "under {rw:.0}% over the last {}: {}",
                settings.success_window,
                low.join(", ")
            )
        },
        perf: vec![(
            "lowest_success_pct".into(),
            worst_rate.map_or(100.0, |(pct, _)| pct),
            rw,
            rc,
        )],
    });

    // Stuck executions.
    let stuck = snapshot.stuck.len() as f64;
    let (sw, sc) = settings.stuck;
    checks.push(Check {
        name: "stuck",
        status: at_least(stuck, f64::from(sw), f64::from(sc)),
        message: if snapshot.stuck.is_empty() {
            "no stuck executions".to_string()
        } else {
            format!(
                "{} stuck: {} (run `klk-etl unstick`)",
                snapshot.stuck.len(),
                snapshot
                    .stuck
                    .iter()
                    .map(|s| format!(
                        "#{} {} {}",
                        s.execution.id, s.execution.ubicacion_id, s.execution.etl_tipo
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        perf: vec![("stuck".into(), stuck, f64::from(sw), f64::from(sc))],
    });

    // Inventory staleness and sales freshness per store.
    for (name, tipo, limits, value_of) in [
        (
            "inventory_age",
            "inventario",
            settings.inventory_age,
            (|s: &super::StoreState| s.inventory_age_seconds)
                as fn(&super::StoreState) -> Option<f64>,
        ),
        (
            "sales_lag",
            "ventas",
            settings.lag,
            |s: &super::StoreState| s.lag_seconds,
        ),
    ] {
        let (w, c) = (limits.0.as_secs_f64(), limits.1.as_secs_f64());
        let mut status = Status::Ok;
        let mut late = Vec::new();
        let mut worst = 0.0f64;
        let mut measured = 0;
        for state in snapshot.stores.iter().filter(|s| s.etl_tipo == tipo) {
            let Some(value) = value_of(state) else {
                continue;
            };
            measured += 1;
            worst = worst.max(value);
            let one = at_least(value, w, c);
            if one != Status::Ok {
                let low = state
                    .low_watermark
                    .map(|t| format!(", data complete up to {}", t.format("%Y-%m-%d %H:%M")))
                    .unwrap_or_default();
                late.push(format!(
                    "{} {}{low}",
                    state.ubicacion_id,
                    describe_age(value)
                ));
            }
            status = status.worst(one);
        }
        checks.push(Check {
            name,
            status,
            message: if measured == 0 {
                format!("no {tipo} loaded yet")
            } else if late.is_empty() {
                format!("worst {} across {measured} stores", describe_age(worst))
            } else {
                format!("behind: {}", late.join("; "))
            },
            perf: vec![(format!("{name}_max_seconds"), worst, w, c)],
        });
    }

    // Post-load hooks: a failure never touches the data, but what the hooks maintain (a
    // summary table, an export) is stale until they succeed again.
    if !snapshot.hooks.is_empty() {
        let failing: Vec<&crate::tracker::integrations::HookState> = snapshot
            .hooks
            .iter()
            .filter(|h| h.latest.failed())
            .collect();
        checks.push(Check {
            name: "hooks",
            status: if failing.is_empty() {
                Status::Ok
            } else {
                Status::Warning
            },
            message: if failing.is_empty() {
                format!(
                    "{} hook(s) succeeded in their latest run",
                    snapshot.hooks.len()
                )
            } else {
                failing
                    .iter()
                    .map(|h| {
                        format!(
                            "hook '{}' failed {} of {} time(s) in the run of {}: {}",
                            h.latest.nombre,
                            h.latest.fallos + h.latest.omitidas,
                            h.latest.ejecuciones + h.latest.omitidas,
                            h.latest.inicio.format("%Y-%m-%d %H:%M"),
                            h.latest.error.as_deref().unwrap_or("no detail")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            perf: vec![("failing_hooks".into(), failing.len() as f64, 1.0, 1.0)],
        });
    }

    let status = checks.iter().fold(Status::Ok, |acc, c| acc.worst(c.status));
    let last_run = match &snapshot.last_run {
        None => "no run recorded".to_string(),
        Some(run) => format!(
            "last run {} ago",
            describe_age((snapshot.now - run.inicio).num_seconds().max(0) as f64)
        ),
    };
    let gaps = if snapshot.gaps.is_empty() {
        "no gaps".to_string()
    } else {
        format!("{} gaps, oldest {oldest:.1} h", snapshot.gaps.len())
    };
    Health {
        status,
        summary: format!("KLK-ETL {} - {gaps}; {last_run}", status.label()),
        checks,
    }
}

/// Nagios performance data: `label=value;warn;crit ...`.
pub fn perfdata(health: &Health) -> String {
    health
        .checks
        .iter()
        .flat_map(|c| c.perf.iter())
        .map(|(label, value, warn, crit)| format!("{label}={value:.2};{warn:.2};{crit:.2}"))
        .collect::<Vec<_>>()
        .join(" ")
}
