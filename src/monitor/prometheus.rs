//! The snapshot in Prometheus' text exposition format (for node_exporter's textfile
//! collector or any scraper), and an atomic writer for the textfile.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use chrono::TimeZone;

use super::Snapshot;
use super::health::Health;

/// Name, type, help and how to read the value of a per-store metric family.
type PerStoreFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&super::StoreState) -> Option<f64>,
);

/// A sales-only figure: no sample for the store's inventario row.
fn ventas_only(state: &super::StoreState, value: i64) -> Option<f64> {
    (state.etl_tipo == "ventas").then_some(value as f64)
}

/// Label values escaped as the format requires (`\\`, `"`, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
            .collect();
        let value = if value.is_finite() {
            format!("{value}")
        } else {
            "NaN".to_string()
        };
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
        }
    }
}

/// Renders every metric family; `timezone` turns store-local times into Unix seconds.
pub fn render(snapshot: &Snapshot, health: &Health, timezone: chrono_tz::Tz) -> String {
    let mut text = String::new();
    let mut f = Family { out: &mut text };
    let per_store = |s: &super::StoreState| {
        vec![
            ("tipo", s.etl_tipo.clone()),
            ("store", s.ubicacion_id.clone()),
            ("name", s.ubicacion_nombre.clone()),
        ]
    };

    f.header(
        "klk_etl_executions_total",
        "counter",
        "Executions recorded in etl_ejecuciones, by store, tipo and estado.",
    );
    for s in &snapshot.stores {
        for estado in ["exitoso", "fallido", "parcial", "en_proceso"] {
            let mut labels = per_store(s);
            labels.push(("estado", estado.to_string()));
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            f.sample(
                "klk_etl_executions_total",
                &labels,
                *s.executions_by_state.get(estado).unwrap_or(&0) as f64,
            );
        }
    }
    let families: [PerStoreFamily; 11] = [
        (
            "klk_etl_success_ratio",
            "gauge",
            "Share of successes among the store's latest finished executions (monitoring.success_window).",
            |s| s.success_ratio,
        ),
        (
            "klk_etl_rows_loaded_total",
            "counter",
            "Rows loaded (registros_cargados) over all recorded executions.",
            |s| Some(s.rows_loaded as f64),
        ),
        (
            "klk_etl_open_gaps",
            "gauge",
            "Open gaps (windows not covered by a success) inside the horizon.",
            |s| Some(s.open_gaps as f64),
        ),
        (
            "klk_etl_oldest_gap_age_seconds",
            "gauge",
            "Age of the store's oldest open gap (0 without gaps).",
            |s| Some(s.oldest_gap_hours.unwrap_or(0.0) * 3600.0),
        ),
        (
            "klk_etl_lag_seconds",
            "gauge",
            "ventas: how far behind now the store's loaded sales end.",
            |s| s.lag_seconds,
        ),
        (
            "klk_etl_inventory_age_seconds",
            "gauge",
            "inventario: age of the latest successful stock snapshot.",
            |s| s.inventory_age_seconds,
        ),
        (
            "klk_etl_last_execution_duration_seconds",
            "gauge",
            "Duration of the store's latest finished execution.",
            |s| s.last_duration_seconds,
        ),
        (
            "klk_etl_unverified_days",
            "gauge",
            "ventas: closed days not verified by their deadline, or whose whole-day re-pull failed.",
            |s| ventas_only(s, s.unverified_days),
        ),
        (
            "klk_etl_verification_late_lines",
            "gauge",
            "ventas: lines the re-pulls of the days verified in the last 7 days found that the incremental runs had missed.",
            |s| ventas_only(s, s.late_lines),
        ),
        (
            "klk_etl_verification_changed_lines",
            "gauge",
            "ventas: lines whose values the re-pulls of the last 7 days changed.",
            |s| ventas_only(s, s.changed_lines),
        ),
        (
            "klk_etl_verification_vanished_lines",
            "gauge",
            "ventas: lines the re-pulls of the last 7 days no longer found (kept in ventas).",
            |s| ventas_only(s, s.vanished_lines),
        ),
    ];
    for (name, kind, help, value_of) in families {
        f.header(name, kind, help);
        for s in &snapshot.stores {
            if let Some(value) = value_of(s) {
                let labels = per_store(s);
                let labels: Vec<(&str, &str)> =
                    labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                f.sample(name, &labels, value);
            }
        }
    }
    f.header(
        "klk_etl_stuck_executions",
        "gauge",
        "Executions left en_proceso by a process that is gone or older than the threshold.",
    );
    f.sample("klk_etl_stuck_executions", &[], snapshot.stuck.len() as f64);
    if let Some(run) = &snapshot.last_run {
        let unix = timezone
            .from_local_datetime(&run.inicio)
            .earliest()
            .map_or(f64::NAN, |t| t.timestamp_millis() as f64 / 1000.0);
        f.header(
            "klk_etl_last_run_timestamp_seconds",
            "gauge",
            "When the latest `klk-etl run` started (Unix time).",
        );
        f.sample("klk_etl_last_run_timestamp_seconds", &[], unix);
        if let Some(duration) = run.duracion_segundos {
            f.header(
                "klk_etl_last_run_duration_seconds",
                "gauge",
                "How long the latest finished `klk-etl run` took.",
            );
            f.sample("klk_etl_last_run_duration_seconds", &[], duration);
        }
    }
    if !snapshot.checkins.is_empty() {
        for (name, help, value_of) in [
            (
                "klk_etl_checkins_total",
                "Check-in pings sent ([[checkins]]: start and end of every run).",
                (|c: &crate::tracker::integrations::CheckinState| c.enviados)
                    as fn(&crate::tracker::integrations::CheckinState) -> i64,
            ),
            (
                "klk_etl_checkin_failures_total",
                "Check-in pings that failed (the run went on regardless).",
                |c| c.fallidos,
            ),
        ] {
            f.header(name, "counter", help);
            for c in &snapshot.checkins {
                f.sample(
                    name,
                    &[
                        ("checkin", c.nombre.as_str()),
                        ("service", c.servicio.as_str()),
                    ],
                    value_of(c) as f64,
                );
            }
        }
    }
    if !snapshot.hooks.is_empty() {
        type HookValue = fn(&crate::tracker::integrations::HookState) -> f64;
        let families: [(&str, &str, &str, HookValue); 3] = [
            (
                "klk_etl_hook_runs_total",
                "counter",
                "Times each post-load hook ran ([hooks]).",
                |h| h.total_runs as f64,
            ),
            (
                "klk_etl_hook_failures_total",
                "counter",
                "Times each post-load hook failed, timed out or was not started (budget spent).",
                |h| h.total_failures as f64,
            ),
            (
                "klk_etl_hook_last_run_failed",
                "gauge",
                "1 when the hook's latest run failed (what it maintains is stale), else 0.",
                |h| f64::from(u8::from(h.latest.failed())),
            ),
        ];
        for (name, kind, help, value_of) in families {
            f.header(name, kind, help);
            for h in &snapshot.hooks {
                f.sample(
                    name,
                    &[
                        ("hook", h.latest.nombre.as_str()),
                        ("event", h.latest.evento.as_str()),
                    ],
                    value_of(h),
                );
            }
        }
    }
    f.header(
        "klk_etl_health_status",
        "gauge",
        "klk-etl health: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    );
    f.sample("klk_etl_health_status", &[], health.status as i32 as f64);
    text
}

/// Writes `text` next to `path` and renames it over `path`, so a scraper never reads half a file.
pub fn write_textfile(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
