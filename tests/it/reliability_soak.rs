//! Reliability: a concurrency soak. Cron-like overlap on one database file for a bounded
//! time: two `run --tipo ventas` loops (the second one a late cron duplicate with
//! `--wait 0s`), a `run --tipo inventario` loop, an operator's `recover` loop, and `gaps`,
//! `status` and `metrics` readers refreshing every second, against a simulator that fails
//! now and then. Then:
//! every invocation ended with a documented exit code, every give-up was exit 3 with one
//! clear line, every execution a run reported is in the database as reported (none lost),
//! nothing is left `en_proceso` after the next run, and once the gaps are recovered the
//! sales equal the simulator's truth.
//!
//! 15 s by default; `KLK_ETL_RELIABILITY=full` soaks for 120 s (`KLK_ETL_SOAK_SECS`
//! overrides both). `--nocapture` prints the figures.

use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use chrono::{NaiveDate, NaiveDateTime};
use klk_etl::sim::{FaultRule, SimData, SimHandle, SimOptions, SimStore, Simulator, truth};

const STORES: usize = 4;
/// Between two invocations of each reader loop.
const READER_PAUSE_MS: u64 = 1000;

fn soak_time() -> Duration {
    if let Some(secs) = std::env::var("KLK_ETL_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Duration::from_secs(secs);
    }
    if std::env::var("KLK_ETL_RELIABILITY").is_ok_and(|v| v == "full") {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(15)
    }
}

fn now_arg(at: NaiveDateTime) -> String {
    (at + chrono::Duration::hours(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// One finished invocation.
#[derive(Debug)]
struct Invocation {
    kind: &'static str,
    code: Option<i32>,
    took: Duration,
    stderr: String,
    /// (execution id, estado) of each window a run or recover reported.
    executions: Vec<(i64, String)>,
}

fn sim_data() -> SimData {
    SimData {
        seed: 23,
        lines_per_hour: 90,
        articles_per_warehouse: 200,
        stores: (1..=STORES)
            .map(|i| SimStore::new(format!("SUC{i:03}"), vec![format!("W{i:03}")]))
            .collect(),
    }
}

/// Failures now and then, by request count (so they stop once the soak's counts pass
/// them): a window of SUC002 fails with 503 on both attempts every 12 sales requests of
/// that store, SUC003's connection is reset, SUC004 answers garbage once in a while, and
/// SUC001's stock fails now and then. Everything is a little slow, so runs overlap.
fn faults() -> Vec<FaultRule> {
    let mut rules = vec!["*:*:latency=60ms".to_string()];
    for k in 0..200u64 {
        let first = 3 + 12 * k;
        rules.push(format!("SUC002:ventas:503:{first}-{}", first + 1));
        let first = 7 + 16 * k;
        rules.push(format!("SUC003:ventas:reset:{first}-{}", first + 1));
        rules.push(format!("SUC004:ventas:malformed:{}", 5 + 9 * k));
        rules.push(format!("SUC001:stock:503:{}-{}", 4 + 10 * k, 5 + 10 * k));
    }
    rules
        .iter()
        .map(|r| r.parse().expect("fault rule"))
        .collect()
}

fn config(sim: &SimHandle) -> String {
    let mut config = format!(
        "database = \"data/klk-etl.duckdb\"\n[api]\nbase_url = \"{}\"\nconnect_timeout = \"1s\"\nread_timeout = \"5s\"\nmax_attempts = 2\nretry_max_elapsed = \"2s\"\n",
        sim.base_url()
    );
    for i in 1..=STORES {
        config.push_str(&format!(
            "[[stores]]\nid = \"t{i:03}\"\nname = \"STORE {i}\"\nsucursal = \"SUC{i:03}\"\nwarehouses = [\"W{i:03}\"]\n"
        ));
    }
    config
}

struct Soak<'a> {
    env: &'a TestEnv,
    /// Minutes after `base` of the latest cron slot handed out.
    clock: AtomicI64,
    base: NaiveDateTime,
    log: Mutex<Vec<Invocation>>,
}

impl Soak<'_> {
    fn cmd(&self) -> Command {
        self.env.process()
    }

    /// The next cron slot (five past), for a run that advances time.
    fn next_slot(&self) -> NaiveDateTime {
        let minutes = self.clock.fetch_add(30, Ordering::SeqCst) + 30;
        self.base + chrono::Duration::minutes(minutes + 5)
    }

    /// The current time, for invocations that do not advance it.
    fn current(&self) -> NaiveDateTime {
        self.base + chrono::Duration::minutes(self.clock.load(Ordering::SeqCst) + 6)
    }

    fn invoke(&self, kind: &'static str, at: NaiveDateTime, args: &[&str]) {
        let started = Instant::now();
        let out = self
            .cmd()
            .args(["--now", &now_arg(at)])
            .args(args)
            .output()
            .unwrap();
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut executions = Vec::new();
        if matches!(
            kind,
            "run ventas" | "run ventas (late, --wait 0s)" | "run inventario" | "recover"
        ) && matches!(out.status.code(), Some(0 | 1 | 4))
        {
            let outcome: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{kind}: JSON on stdout: {e}: {stderr}"));
            for report in outcome["reports"].as_array().expect("reports") {
                executions.push((
                    report["ejecucion_id"].as_i64().expect("ejecucion_id"),
                    report["estado"].as_str().expect("estado").to_string(),
                ));
            }
        }
        self.log.lock().unwrap().push(Invocation {
            kind,
            code: out.status.code(),
            took,
            stderr,
            executions,
        });
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn cron_overlap_soak_loses_no_execution_and_every_give_up_is_exit_3() {
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: sim_data(),
        faults: faults(),
    })
    .unwrap();
    let clean = Simulator::start(SimOptions {
        port: 0,
        data: sim_data(),
        faults: Vec::new(),
    })
    .unwrap();
    let env = TestEnv::with_config(&config(&sim));
    env.migrate();
    let soak = Soak {
        env: &env,
        clock: AtomicI64::new(0),
        base: NaiveDate::from_ymd_opt(2025, 11, 20)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
        log: Mutex::new(Vec::new()),
    };
    let length = soak_time();
    let deadline = Instant::now() + length;
    let json = ["--format", "json"];
    std::thread::scope(|scope| {
        let soak = &soak;
        let pause = |ms: u64| std::thread::sleep(Duration::from_millis(ms));
        // Cron: ventas every slot.
        scope.spawn(move || {
            while Instant::now() < deadline {
                let at = soak.next_slot();
                // Cron is not back to back: leave the run lock free a moment.
                pause(300);
                soak.invoke(
                    "run ventas",
                    at,
                    &[&json[..], &["run", "--tipo", "ventas"]].concat(),
                );
            }
        });
        // A late duplicate of the cron entry: never overlaps, gives up at once.
        scope.spawn(move || {
            while Instant::now() < deadline {
                pause(150);
                soak.invoke(
                    "run ventas (late, --wait 0s)",
                    soak.current(),
                    &[&json[..], &["run", "--tipo", "ventas", "--wait", "0s"]].concat(),
                );
            }
        });
        scope.spawn(move || {
            while Instant::now() < deadline {
                soak.invoke(
                    "run inventario",
                    soak.current(),
                    &[&json[..], &["run", "--tipo", "inventario"]].concat(),
                );
                pause(200);
            }
        });
        // An operator recovering by hand now and then.
        scope.spawn(move || {
            while Instant::now() < deadline {
                pause(700);
                soak.invoke(
                    "recover",
                    soak.current(),
                    &[&json[..], &["recover", "--tipo", "ventas", "--wait", "20s"]].concat(),
                );
            }
        });
        for (kind, args) in [
            ("gaps", vec!["gaps"]),
            ("status", vec!["status"]),
            ("metrics", vec!["metrics", "--days", "7"]),
        ] {
            // Dashboards and checks refreshing every second (readers with no pause at all
            // starve the writers: see the test below).
            scope.spawn(move || {
                while Instant::now() < deadline {
                    soak.invoke(kind, soak.current(), &args);
                    pause(READER_PAUSE_MS);
                }
            });
        }
        // A probe that never waits: each exit 3 is a moment the file was held.
        scope.spawn(move || {
            while Instant::now() < deadline {
                pause(400);
                soak.invoke(
                    "probe (--lock-timeout 0s)",
                    soak.current(),
                    &["--lock-timeout", "0s", "executions", "--limit", "1"],
                );
            }
        });
    });
    let log = std::mem::take(&mut *soak.log.lock().unwrap());

    // Every invocation ended as documented; every give-up is exit 3 on one clear line.
    let mut problems = Vec::new();
    for inv in &log {
        let allowed: &[i32] = match inv.kind {
            "run ventas" | "run ventas (late, --wait 0s)" | "run inventario" => &[0, 1, 3, 4],
            "recover" => &[0, 1, 3],
            _ => &[0, 3],
        };
        if inv.stderr.contains("panicked") || !inv.code.is_some_and(|c| allowed.contains(&c)) {
            problems.push(format!(
                "{} exited {:?}: {}",
                inv.kind, inv.code, inv.stderr
            ));
            continue;
        }
        if inv.code == Some(3) {
            let lines: Vec<&str> = inv
                .stderr
                .lines()
                .filter(|l| l.starts_with("error: "))
                .collect();
            let clear = lines.len() == 1
                && (lines[0].contains("is locked by another process")
                    || lines[0].contains("already running"))
                && (lines[0].contains("PID") || lines[0].contains("pid"));
            if !clear {
                problems.push(format!("{} gave up unclearly: {}", inv.kind, inv.stderr));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // The late duplicate never ran alongside the cron run: when it ran, nothing overlapped
    // (checked by the run lock); when it did not, it said so.
    // Executions: every one a run reported is in the database, as reported.
    let reported: Vec<(i64, String)> = log.iter().flat_map(|i| i.executions.clone()).collect();
    let conn = duckdb::Connection::open_with_flags(
        env.db_path(),
        duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap(),
    )
    .unwrap();
    let in_db: HashMap<i64, String> = {
        let mut stmt = conn
            .prepare("SELECT id, estado FROM etl_ejecuciones")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    drop(conn);
    let lost: Vec<&(i64, String)> = reported
        .iter()
        .filter(|(id, estado)| in_db.get(id) != Some(estado))
        .collect();

    // The faults stop (a clean API); the next run closes what was left open, and recovery
    // closes every gap; then the sales equal the truth.
    let final_at = soak.current() + chrono::Duration::minutes(30);
    let ok = |args: &[&str]| {
        let out = soak
            .cmd()
            .env("KLK_ETL_API_URL", clean.base_url())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["--now", &now_arg(final_at), "run"]);
    let open_after_next_run: i64 = env
        .connect()
        .query_row(
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    ok(&["--now", &now_arg(final_at), "recover", "--ignore-backoff"]);
    let gaps = soak
        .cmd()
        .args([
            "--now",
            &now_arg(final_at),
            "gaps",
            "--tipo",
            "ventas",
            "--check",
        ])
        .output()
        .unwrap();
    let conn = env.connect();
    let mut mismatched = Vec::new();
    for i in 1..=STORES {
        let store = format!("t{i:03}");
        let (from, to): (NaiveDateTime, NaiveDateTime) = conn
            .query_row(
                "SELECT min(fecha_desde + coalesce(hora_desde, TIME '00:00')), \
                 max(CASE WHEN hora_hasta IS NULL OR hora_hasta = TIME '23:59:59' \
                     THEN fecha_hasta + INTERVAL 1 DAY ELSE fecha_hasta + hora_hasta END) \
                 FROM etl_ejecuciones WHERE etl_tipo = 'ventas' AND ubicacion_id = ? AND estado = 'exitoso'",
                [&store],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let lines: i64 = conn
            .query_row(
                "SELECT count(*) FROM ventas WHERE ubicacion_id = ? AND fecha_hora >= ? AND fecha_hora < ?",
                duckdb::params![store, from, to],
                |r| r.get(0),
            )
            .unwrap();
        let expected = truth::sales_lines(clean.data(), &format!("SUC{i:03}"), from, to).len();
        if lines as usize != expected {
            mismatched.push(format!(
                "{store} {from}..{to}: {lines} lines, API {expected}"
            ));
        }
    }
    let duplicated: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT 1 FROM ventas GROUP BY ubicacion_id, numero_factura, linea HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let stock_rows: i64 = conn
        .query_row("SELECT count(*) FROM inventario", [], |r| r.get(0))
        .unwrap();
    let total_executions: i64 = conn
        .query_row("SELECT count(*) FROM etl_ejecuciones", [], |r| r.get(0))
        .unwrap();

    // Figures.
    let mut by_kind: BTreeMap<&str, Vec<&Invocation>> = BTreeMap::new();
    for inv in &log {
        by_kind.entry(inv.kind).or_default().push(inv);
    }
    println!(
        "soak: {:.0} s, {} invocations completed, {} executions in the database ({} simulated hours of cron)",
        length.as_secs_f64(),
        log.len(),
        total_executions,
        soak.clock.load(Ordering::SeqCst) / 60
    );
    println!(
        "  {:<30} {:>5} {:>5} {:>5} {:>5} {:>5} {:>8} {:>8}",
        "invocation", "count", "exit0", "exit1", "exit3", "exit4", "p50", "max"
    );
    for (kind, invs) in &by_kind {
        let code = |c: i32| invs.iter().filter(|i| i.code == Some(c)).count();
        let mut took: Vec<Duration> = invs.iter().map(|i| i.took).collect();
        took.sort();
        println!(
            "  {:<30} {:>5} {:>5} {:>5} {:>5} {:>5} {:>7.2}s {:>7.2}s",
            kind,
            invs.len(),
            code(0),
            code(1),
            code(3),
            code(4),
            percentile(&took, 0.5).as_secs_f64(),
            percentile(&took, 1.0).as_secs_f64()
        );
    }
    let give_ups = |kind: &str| {
        by_kind
            .get(kind)
            .map_or(0, |v| v.iter().filter(|i| i.code == Some(3)).count())
    };
    let patient: usize = by_kind
        .iter()
        .filter(|(k, _)| !k.contains("0s"))
        .map(|(_, v)| v.iter().filter(|i| i.code == Some(3)).count())
        .sum();
    println!(
        "  lock conflicts met by the probe that never waits: {} of {}; late duplicate runs that gave up at once (run lock): {} of {}",
        give_ups("probe (--lock-timeout 0s)"),
        by_kind.get("probe (--lock-timeout 0s)").map_or(0, Vec::len),
        give_ups("run ventas (late, --wait 0s)"),
        by_kind
            .get("run ventas (late, --wait 0s)")
            .map_or(0, Vec::len),
    );
    println!(
        "  give-ups of invocations that wait (--lock-timeout 30s; --wait 10s, recover 20s): {patient}; executions reported {}, lost {}; en_proceso after the next run {}; duplicated lines {}; stores differing from the API {}; stock rows {}",
        reported.len(),
        lost.len(),
        open_after_next_run,
        duplicated,
        mismatched.len(),
        stock_rows
    );
    if let Some(first) = log
        .iter()
        .find(|i| i.code == Some(3) && i.kind.contains("0s"))
    {
        println!("  e.g.: {}", first.stderr.trim());
    }
    for inv in log
        .iter()
        .filter(|i| i.code == Some(3) && !i.kind.contains("0s"))
    {
        let line = inv.stderr.lines().find(|l| l.starts_with("error: "));
        println!("  {} gave up: {}", inv.kind, line.unwrap_or_default());
    }

    assert!(lost.is_empty(), "executions lost: {lost:?}");
    assert_eq!(open_after_next_run, 0, "en_proceso after the next run");
    assert_eq!(
        gaps.status.code(),
        Some(0),
        "gaps after recovery: {}",
        String::from_utf8_lossy(&gaps.stdout)
    );
    assert!(mismatched.is_empty(), "{mismatched:?}");
    assert_eq!(duplicated, 0);
    assert_eq!(stock_rows, (STORES * 200) as i64);
    // Each loop got through at least once (how often is in the figures above; that a run
    // is not starved by readers is the test below).
    for kind in [
        "run ventas",
        "run inventario",
        "recover",
        "gaps",
        "status",
        "metrics",
    ] {
        assert!(
            by_kind
                .get(kind)
                .is_some_and(|v| v.iter().any(|i| i.code != Some(3))),
            "{kind} never completed"
        );
    }
}

/// Invariant 8 says write phases are short and lock conflicts are retried for a bounded
/// time; that must hold while readers poll. Three `gaps` readers in a loop (dashboards and
/// monitoring checks) keep the file open read-only; a `run` has a few short write phases.
/// The run must get through long before its lock timeout, and the readers must still be
/// answered (they wait at most a write phase).
#[test]
fn a_run_is_not_starved_by_readers_in_a_loop() {
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: sim_data(),
        faults: Vec::new(),
    })
    .unwrap();
    let env = TestEnv::with_config(&config(&sim));
    env.migrate();
    let base = NaiveDate::from_ymd_opt(2025, 11, 20)
        .unwrap()
        .and_hms_opt(10, 5, 0)
        .unwrap();
    let soak = Soak {
        env: &env,
        clock: AtomicI64::new(0),
        base,
        log: Mutex::new(Vec::new()),
    };
    let done = std::sync::atomic::AtomicBool::new(false);
    let mut run = None;
    std::thread::scope(|scope| {
        let soak = &soak;
        let done = &done;
        for _ in 0..3 {
            scope.spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    soak.invoke("gaps", base, &["gaps"]);
                }
            });
        }
        // Let the readers get going, then run once, as cron would.
        std::thread::sleep(Duration::from_millis(1500));
        let started = Instant::now();
        let out = soak
            .cmd()
            .args([
                "--now",
                &now_arg(base),
                "--lock-timeout",
                "10s",
                "run",
                "--tipo",
                "ventas",
            ])
            .output()
            .unwrap();
        run = Some((out, started.elapsed()));
        done.store(true, Ordering::SeqCst);
    });
    let (out, took) = run.unwrap();
    let readers = soak.log.lock().unwrap();
    println!(
        "a run among three looping readers: exit {:?} after {:.1} s; {} reader invocations, {} gave up",
        out.status.code(),
        took.as_secs_f64(),
        readers.len(),
        readers.iter().filter(|i| i.code != Some(0)).count()
    );
    assert!(
        out.status.success(),
        "the run was starved by the readers (exit {:?} after {took:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        readers.iter().all(|i| i.code == Some(0)),
        "readers: {:?}",
        readers
            .iter()
            .map(|i| (&i.code, &i.stderr))
            .collect::<Vec<_>>()
    );
}
