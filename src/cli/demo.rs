//! `klk-etl demo`: the main job end to end in seconds. A simulated KLK API with a scripted
//! day of faults, the cron sequence every 30 minutes of a simulated day (time pinned, no
//! waiting), gaps appearing and being recovered, and the final check against the
//! simulator's own truth.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime, TimeZone};

use super::Ctx;
use crate::clock::Clock;
use crate::config::Config;
use crate::etl::execute::NoProgress;
use crate::etl::run::{self, RunRequest};
use crate::etl::tasks::{PlanOptions, Scope};
use crate::exit::{Exit, UsageError};
use crate::output::{self, fmt};
use crate::sim::{
    BoundSemantics, FaultRule, SimData, SimOptions, SimQuirks, SimStore, Simulator, truth,
};
use crate::tracker::engine::Dialect;
use crate::tracker::gaps::{self, GapQuery};
use crate::tracker::metrics::{self, MetricsQuery};
use crate::tracker::vocab::{Estado, EtlTipo, Modo};
use crate::tracker::{Access, Database};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The demo's database, a DuckDB file or a postgres:// URL (recreated: an existing file, or
    /// klk-etl's tables on the server, are replaced only if an earlier demo made them)
    #[arg(long, default_value = "klk-etl-demo.duckdb", value_name = "FILE|URL")]
    pub database: PathBuf,
    /// Replace --database (or empty klk-etl's tables there) even if it is not an earlier demo's
    #[arg(long)]
    pub force: bool,
    /// The simulated day
    #[arg(long, default_value = "2025-11-24", value_parser = parse_date)]
    pub day: NaiveDate,
    /// Seed of the simulated sales
    #[arg(long, default_value = "7")]
    pub seed: u64,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("expected YYYY-MM-DD, got '{text}'"))
}

/// The scripted faults and what the demo says of them. Sales faults are anchored inside the
/// half hour they hit (`{day}` is the demo's day; a request reaches a second beyond its
/// window, so a rule on the whole half hour would also count the neighbours' requests): they
/// count only the requests for that window, so they show at the run the description names
/// and the next run recovers. Stock requests have no window: that rule counts PERIFERICO's
/// stock requests (one per run and attempt).
const FAULTS: &[(&str, &str)] = &[
    (
        "SUC002:ventas:500:1-2@{day}T10:10/{day}T10:20",
        "BOSQUE answers HTTP 500 to both attempts of the 10:35 run",
    ),
    (
        "SUC003:ventas:refuse:1-2@{day}T15:10/{day}T15:20",
        "ARTIGAS refuses both connections of the 15:35 run",
    ),
    (
        "SUC004:ventas:malformed:1@{day}T04:10/{day}T04:20",
        "PARAISO sends malformed JSON at 04:35",
    ),
    (
        "SUC004:ventas:truncate:1@{day}T18:10/{day}T18:20",
        "PARAISO cuts a body short at 18:35",
    ),
    (
        "SUC001:stock:reset:5-6",
        "PERIFERICO's inventory connection is reset twice at 02:05",
    ),
    (
        "SUC001:ventas:hide:1-2@{day}T13:10/{day}T13:11",
        "PERIFERICO's sales of 13:10 reach the API late: the half-hourly runs miss them",
    ),
    (
        "SUC003:ventas-dia:503:1-2",
        "ARTIGAS's whole-day re-pull fails at 03:05 (HTTP 503)",
    ),
];
/// Cron did not run at these times (the host was down).
const SKIPPED_RUNS: &[(u32, u32)] = &[(14, 5), (14, 35)];
/// The runs of the next day: up to the one after the day closed (03:00), and the one after.
const NEXT_DAY_RUNS: u32 = 8;

impl DemoArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        let started = Instant::now();
        let example = Config::parse(
            include_str!("../../klk-etl.example.toml"),
            std::path::Path::new("klk-etl.example.toml"),
        )?;
        let stores: Vec<_> = example.stores.into_iter().take(4).collect();
        let data = SimData {
            seed: self.seed,
            lines_per_hour: 120,
            articles_per_warehouse: 300,
            stores: stores
                .iter()
                .map(|s| {
                    let mut sim = SimStore::new(s.sucursal.clone(), s.warehouses.clone());
                    sim.name = s.name.clone();
                    sim
                })
                .collect(),
        };
        let day = self.day.to_string();
        let faults = FAULTS
            .iter()
            .map(|(rule, _)| rule.replace("{day}", &day))
            .map(|rule| rule.parse::<FaultRule>().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // The unkind reading of the hour bounds (SQL BETWEEN on full precision), with sales at
        // 00:00:00.0, on every boundary and at 23:59:59.8.
        let quirks = SimQuirks {
            bounds: BoundSemantics::Between,
            edge_lines: true,
        };
        let sim = Simulator::start_with(
            SimOptions {
                port: 0,
                data: data.clone(),
                faults,
            },
            quirks,
        )?;

        let mut config = example_config(ctx, &self.database, sim.base_url())?;
        config.stores = stores;
        let tz = config.timezone;
        // Created as of the demo's first run (the database's settings and verification start
        // follow the simulated clock, not the real one).
        let demo_start = tz
            .from_local_datetime(&self.day.and_time(NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or_else(|| UsageError(format!("{} has no midnight in {tz}", self.day)))?;
        match &config.postgres {
            Some(target) => start_on_server(&config, target, self.force, demo_start)?,
            None => start_in_file(&config, &self.database, self.force, demo_start)?,
        }

        let say = |line: String| output::emit_text(&line);
        say(format!(
            "klk-etl demo: {} stores, simulated KLK API at {}, database {}",
            config.stores.len(),
            sim.base_url(),
            config.database_display()
        ))?;
        for (_, what) in FAULTS {
            say(format!("  scripted: {what}"))?;
        }
        say("  scripted: cron does not run at 14:05 and 14:35 (host down)".to_string())?;
        say(
            "  the API reads hour bounds as SQL BETWEEN and has sales at 00:00:00.0, on every \
             boundary and at 23:59:59.8"
                .to_string(),
        )?;
        say(format!(
            "\n{:<17} {:>4} {:>6} {:>9} {:>8}  open gaps",
            "cron run", "ok", "failed", "lines", "verified"
        ))?;

        let interrupt = AtomicBool::new(false);
        let mut runs = Vec::new();
        for half_hour in 0..48u32 {
            runs.push(
                self.day.and_time(
                    NaiveTime::from_hms_opt(half_hour / 2, 5 + 30 * (half_hour % 2), 0)
                        .unwrap_or(NaiveTime::MIN),
                ),
            );
        }
        // The runs of the next day: the one just after midnight fetches the day's last half
        // hour; the one after 03:00 verifies the closed day.
        for half_hour in 0..NEXT_DAY_RUNS {
            runs.push(
                (self.day + chrono::Days::new(1)).and_time(
                    NaiveTime::from_hms_opt(half_hour / 2, 5 + 30 * (half_hour % 2), 0)
                        .unwrap_or(NaiveTime::MIN),
                ),
            );
        }
        for at in runs {
            let hm = (
                at.time()
                    .format("%H")
                    .to_string()
                    .parse::<u32>()
                    .unwrap_or(0),
                at.time()
                    .format("%M")
                    .to_string()
                    .parse::<u32>()
                    .unwrap_or(0),
            );
            if at.date() == self.day && SKIPPED_RUNS.contains(&hm) {
                say(format!(
                    "{:<17} (cron did not run)",
                    at.format("%Y-%m-%d %H:%M")
                ))?;
                continue;
            }
            let utc = tz
                .from_local_datetime(&at)
                .single()
                .map(|t| t.with_timezone(&chrono::Utc))
                .ok_or_else(|| UsageError(format!("{at} does not exist in {tz}")))?;
            let clock = Clock::new(utc, tz);
            let outcome = run::run(&config, &clock, &demo_request(), &interrupt, &NoProgress)?;
            let ok = outcome
                .reports
                .iter()
                .filter(|r| r.estado == Estado::Exitoso)
                .count();
            let failed = outcome.reports.len() - ok;
            let lines: usize = outcome
                .reports
                .iter()
                .filter(|r| r.etl_tipo == EtlTipo::Ventas && r.modo != Modo::Verificacion)
                .map(|r| r.cargados)
                .sum();
            let verified: Vec<_> = outcome
                .reports
                .iter()
                .filter(|r| r.modo == Modo::Verificacion)
                .collect();
            let mut db = Database::open(&config, Access::Read, clock.now_utc())?;
            let open = gaps::list_in(
                &mut db.session(),
                &GapQuery {
                    now_local: clock.now_local(),
                    tracking: config.tracking,
                    horizon: config.tracking.horizon,
                    etl_tipo: None,
                    stores: Vec::new(),
                },
            )?;
            let described: Vec<String> = open
                .iter()
                .map(|g| match (g.hora_desde, g.hora_hasta) {
                    (Some(_), Some(_)) => format!(
                        "{} {} {}-{} {}",
                        g.ubicacion_nombre,
                        g.etl_tipo,
                        fmt::time(&g.hora_desde),
                        fmt::time(&g.hora_hasta),
                        g.error_tipo
                    ),
                    _ if g.etl_tipo == "ventas" => format!(
                        "{} ventas {} {} {}",
                        g.ubicacion_nombre, g.fecha_desde, g.causa, g.error_tipo
                    ),
                    _ => format!("{} {} - {}", g.ubicacion_nombre, g.etl_tipo, g.error_tipo),
                })
                .collect();
            let verified_ok = verified
                .iter()
                .filter(|r| r.estado == Estado::Exitoso)
                .count();
            say(format!(
                "{:<17} {:>4} {:>6} {:>9} {:>8}  {}",
                at.format("%Y-%m-%d %H:%M"),
                ok,
                failed,
                lines,
                if verified.is_empty() {
                    "-".to_string()
                } else {
                    format!("{verified_ok}/{}", verified.len())
                },
                if open.is_empty() {
                    "none".to_string()
                } else {
                    format!("{}: {}", open.len(), described.join("; "))
                }
            ))?;
            for report in &verified {
                let found = match (&report.verificacion, report.estado) {
                    (Some(diff), _) => format!(
                        "{} line(s) found late, {} changed, {} vanished",
                        diff.tardias, diff.cambiadas, diff.desaparecidas
                    ),
                    (None, _) => format!(
                        "re-pull failed ({})",
                        report.error_tipo.map(|t| t.to_string()).unwrap_or_default()
                    ),
                };
                say(format!(
                    "{:<17}   verified {} {} {}: {found}",
                    "", report.ubicacion_nombre, report.fecha, report.estado
                ))?;
            }
        }

        // The check that matters: every sale of the day, once.
        say(
            "\nA failed half hour is fetched again by the next run: each store's fetch starts \
             where its loaded data ends.\nOnce the day closed (03:00), each store's day was \
             re-pulled whole: the late sales were found and loaded, and the failed re-pull \
             was an open gap (sin_verificar) until the next run verified the day."
                .to_string(),
        )?;
        let mut db = Database::open(&config, Access::Read, ctx.now_utc())?;
        let mut session = db.session();
        say("\nventas in the database versus the simulator's own lines:".to_string())?;
        let day_end = (self.day + chrono::Days::new(1)).and_time(NaiveTime::MIN);
        let mut all_equal = true;
        let day = self.day;
        for store in &config.stores {
            let from = day.and_time(NaiveTime::MIN);
            let to = (day + chrono::Days::new(1)).and_time(NaiveTime::MIN);
            let expected = truth::totals(&truth::sales_lines_with(
                &data,
                &quirks,
                &store.sucursal,
                from,
                to,
            ));
            let row = session.query_one(
                "SELECT count(*), CAST(coalesce(sum(venta_total_usd), 0) AS DOUBLE PRECISION) \
                 FROM ventas WHERE ubicacion_id = $1 AND fecha = $2",
                &[(&store.id).into(), day.into()],
            )?;
            let (lines, usd): (i64, f64) = (row.get(0)?, row.get(1)?);
            let equal =
                lines as usize == expected.lines && (usd - expected.venta_total_usd).abs() < 0.005;
            all_equal &= equal;
            say(format!(
                "  {day} {:<10} {:<12} {:>6} lines {:>12.2} USD   simulator {:>6} lines {:>12.2} USD   {}",
                store.id,
                store.name,
                lines,
                usd,
                expected.lines,
                expected.venta_total_usd,
                if equal { "equal" } else { "DIFFERENT" }
            ))?;
        }
        let report = metrics::report_in(
            &mut session,
            &MetricsQuery {
                now_local: day_end + chrono::Duration::hours(4),
                days: 2,
                etl_tipo: None,
                stores: Vec::new(),
            },
        )?;
        say(format!(
            "\nreliability per store\n{}",
            output::table(&ctx.out, &report.por_tienda)
        ))?;
        say(format!(
            "\n{} in {:.1} s. Explore it: klk-etl --db {} gaps | executions | metrics --days 2",
            if all_equal {
                "every sale loaded exactly once"
            } else {
                "MISMATCH: see above"
            },
            started.elapsed().as_secs_f64(),
            config.database_display()
        ))?;
        sim.stop();
        Ok(if all_equal {
            Exit::Ok
        } else {
            Exit::SomeFailed
        })
    }
}

/// The table that says a database is a demo's (and may be replaced by the next demo).
const DEMO_MARKER: &str = "klk_demo";

/// Makes the demo's file afresh: an existing one is deleted, if an earlier demo made it
/// (or `force`).
fn start_in_file(
    config: &Config,
    path: &std::path::Path,
    force: bool,
    now_utc: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    if path.exists() && !force && !made_by_a_demo(path) {
        return Err(UsageError(format!(
            "refusing to replace {}: it is not a database an earlier `klk-etl demo` made (--force replaces it anyway)",
            path.display()
        ))
        .into());
    }
    for suffix in ["", ".wal"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(file));
    }
    mark_as_demo(config, now_utc)
}

/// Empties the demo's PostgreSQL database of klk-etl's data: one that holds klk-etl's tables
/// is emptied only if an earlier demo made it (or `force`); nothing else in it is touched.
fn start_on_server(
    config: &Config,
    target: &crate::config::database::PgTarget,
    force: bool,
    now_utc: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let mut server = crate::tracker::postgres::PgDb::connect(target)?;
    let found = server.session().query_one(
        &format!(
            "SELECT to_regclass('etl_ejecuciones') IS NOT NULL, to_regclass('{DEMO_MARKER}') IS NOT NULL"
        ),
        &[],
    )?;
    let (holds_klk_etl, made_by_demo): (bool, bool) = (found.get(0)?, found.get(1)?);
    drop(server);
    if holds_klk_etl && !made_by_demo && !force {
        return Err(UsageError(format!(
            "refusing to empty {}: it holds klk-etl's tables and an earlier `klk-etl demo` did not make them (--force empties them anyway)",
            target.display()
        ))
        .into());
    }
    if holds_klk_etl {
        let mut db = Database::open(config, Access::Write, now_utc)?;
        let mut session = db.session();
        crate::tracker::copy::empty(&mut session)?;
        session.execute(&format!("DROP TABLE IF EXISTS {DEMO_MARKER}"), &[])?;
    }
    mark_as_demo(config, now_utc)
}

/// Opens (and so creates and migrates) the demo's database, and marks it as a demo's.
fn mark_as_demo(config: &Config, now_utc: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()> {
    let mut db = Database::open(config, Access::Write, now_utc)?;
    let mut session = db.session();
    let now = match session.dialect() {
        Dialect::DuckDb => "make_timestamp(epoch_us(now()))",
        Dialect::Postgres => "now() AT TIME ZONE 'UTC'",
    };
    session.batch(&format!(
        "CREATE TABLE {DEMO_MARKER} AS SELECT CAST('klk-etl demo' AS VARCHAR) AS creado_por, {now} AS creado"
    ))?;
    Ok(())
}

/// Whether `path` is a DuckDB file with the demo's marker table (opened read-only; anything
/// that cannot be opened so is not a demo's).
fn made_by_a_demo(path: &std::path::Path) -> bool {
    let Ok(config) = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly) else {
        return false;
    };
    let Ok(conn) = duckdb::Connection::open_with_flags(path, config) else {
        return false;
    };
    conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ?",
        [DEMO_MARKER],
        |r| r.get::<_, bool>(0),
    )
    .unwrap_or(false)
}

fn example_config(
    ctx: &Ctx,
    database: &std::path::Path,
    base_url: String,
) -> anyhow::Result<Config> {
    let mut config = ctx.config.clone();
    config.source = Some(PathBuf::from("<demo>"));
    config
        .set_database(database, &crate::config::database::PgEnv::from_env())
        .map_err(UsageError)?;
    config.api.base_url = base_url;
    config.api.connect_timeout = Duration::from_secs(1);
    config.api.read_timeout = Duration::from_secs(2);
    config.api.max_attempts = 2;
    config.api.retry_max_elapsed = Duration::from_secs(3);
    config.api.token = None;
    config.api.headers.clear();
    config.api.ca_file = None;
    config.api.proxy = None;
    config.tracking = crate::config::TrackingSettings::default();
    // The demo's simulated data must never reach the user's integrations (an export hook, a
    // Slack channel, a cron monitor).
    config.hooks = crate::config::HookSettings::default();
    config.alerts = crate::config::AlertSettings::default();
    config.checkins.clear();
    Ok(config)
}

fn demo_request() -> RunRequest {
    RunRequest {
        plan: PlanOptions {
            tipos: vec![EtlTipo::Ventas, EtlTipo::Inventario],
            stores: Vec::new(),
            scope: Scope::Incremental,
            recover: true,
            max_gaps: 5,
            ignore_backoff: false,
            settle_lag: chrono::Duration::minutes(2),
            overlap: chrono::Duration::minutes(30),
            gaps_since: None,
            max_verifications: crate::config::VerificationSettings::default().max_per_run as usize,
        },
        jobs: 4,
        recovery_budget: Duration::from_secs(15 * 60),
        verification_budget: crate::config::VerificationSettings::default().budget,
        lock_wait: Duration::from_secs(10),
        dry_run: false,
        extra: Vec::new(),
        command: "run",
        requested_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_file_with_the_demo_marker_is_a_demo_s() {
        let dir = tempfile::tempdir().unwrap();
        let demo = dir.path().join("demo.duckdb");
        let other = dir.path().join("other.duckdb");
        let text = dir.path().join("text.duckdb");
        duckdb::Connection::open(&demo)
            .unwrap()
            .execute_batch(&format!("CREATE TABLE {DEMO_MARKER} AS SELECT 1 AS x"))
            .unwrap();
        duckdb::Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE ventas AS SELECT 1 AS x")
            .unwrap();
        std::fs::write(&text, "hello").unwrap();
        assert!(made_by_a_demo(&demo));
        assert!(!made_by_a_demo(&other));
        assert!(!made_by_a_demo(&text));
        assert!(!made_by_a_demo(&dir.path().join("missing.duckdb")));
    }
}
