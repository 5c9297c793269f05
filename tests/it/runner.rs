//! The runner end to end: the real binary, a real DuckDB file and the KLK simulator on
//! 127.0.0.1, with "now" pinned. Sales in the database are compared with the simulator's
//! own lines for the same windows.

use std::time::{Duration, Instant};

use crate::common::TestEnv;
use chrono::NaiveDateTime;
use klk_etl::sim::{FaultRule, SimData, SimHandle, SimOptions, SimStore, Simulator, truth};

/// Stores of the example configuration: (id, name, sucursal, warehouse).
pub(crate) const STORES: &[(&str, &str, &str, &str)] = &[
    ("tienda_01", "PERIFERICO", "SUC001", "APP-TPF"),
    ("tienda_08", "BOSQUE", "SUC002", "APP-TBQ"),
    ("tienda_17", "ARTIGAS", "SUC003", "TANT"),
    ("tienda_18", "PARAISO", "SUC004", "TPAR"),
    ("tienda_20", "TAZAJAL", "SUC005", "TTZ"),
    ("tienda_15", "ISABELICA", "SUC006", "TTISBC"),
    ("tienda_02", "AV. BOLIVAR", "SUC007", "TAVBOL"),
    ("tienda_03", "MAÑONGO", "SUC008", "TTMAN"),
    ("tienda_10", "FERIAS", "SUC009", "TFER"),
    ("tienda_16", "TOCUYITO", "SUC010", "TTCYTO"),
    ("tienda_19", "GUIGUE", "SUC011", "TGGE"),
];

pub(crate) fn sim(faults: &[&str], lines_per_hour: u32) -> SimHandle {
    Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 42,
            lines_per_hour,
            articles_per_warehouse: 50,
            stores: SimStore::chain(),
        },
        faults: faults
            .iter()
            .map(|f| f.parse::<FaultRule>().expect("fault rule"))
            .collect(),
    })
    .expect("simulator")
}

fn env_for(sim: &SimHandle, stores: usize) -> TestEnv {
    env_with_read_timeout(sim, stores, "1s")
}

fn env_with_read_timeout(sim: &SimHandle, stores: usize, read_timeout: &str) -> TestEnv {
    TestEnv::with_config(&config_for(
        sim,
        stores,
        read_timeout,
        r#"database = "data/klk-etl.duckdb""#,
    ))
}

/// The configuration of `stores` of [`STORES`] on `sim`, with `database` (a TOML line or
/// table) first.
pub(crate) fn config_for(
    sim: &SimHandle,
    stores: usize,
    read_timeout: &str,
    database: &str,
) -> String {
    let mut config = format!(
        r#"{database}
[api]
base_url = "{}"
connect_timeout = "1s"
read_timeout = "{read_timeout}"
max_attempts = 2
retry_max_elapsed = "3s"
"#,
        sim.base_url()
    );
    for (id, name, sucursal, warehouse) in &STORES[..stores] {
        config.push_str(&format!(
            "[[stores]]\nid = \"{id}\"\nname = \"{name}\"\nsucursal = \"{sucursal}\"\nwarehouses = [\"{warehouse}\"]\n"
        ));
    }
    config
}

/// `2025-11-24 HH:MM` Caracas as the UTC instant the binary takes in `--now`.
pub(crate) fn caracas(day: u32, hh: u32, mm: u32) -> String {
    let local = chrono::NaiveDate::from_ymd_opt(2025, 11, day)
        .unwrap()
        .and_hms_opt(hh, mm, 0)
        .unwrap();
    (local + chrono::Duration::hours(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub(crate) fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn run(env: &TestEnv, now: &str, args: &[&str]) -> std::process::Output {
    env.cmd()
        .args(["--now", now, "run"])
        .args(args)
        .output()
        .expect("run")
}

/// (lines, sum of venta_total_usd) in the database for a store and `[from, to)`.
fn loaded(env: &TestEnv, store: &str, from: NaiveDateTime, to: NaiveDateTime) -> (usize, f64) {
    let conn = env.connect();
    conn.query_row(
        "SELECT count(*), coalesce(sum(venta_total_usd), 0) FROM ventas \
         WHERE ubicacion_id = ? AND fecha_hora >= ? AND fecha_hora < ?",
        duckdb::params![store, from, to],
        |r| Ok((r.get::<_, i64>(0)? as usize, r.get(1)?)),
    )
    .unwrap()
}

pub(crate) fn expected(
    sim: &SimHandle,
    sucursal: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> (usize, f64) {
    let totals = truth::totals(&truth::sales_lines(sim.data(), sucursal, from, to));
    (totals.lines, totals.venta_total_usd)
}

pub(crate) fn assert_same(actual: (usize, f64), expected: (usize, f64), what: &str) {
    assert_eq!(actual.0, expected.0, "{what}: line count");
    assert!(
        (actual.1 - expected.1).abs() < 0.005,
        "{what}: USD {} vs {}",
        actual.1,
        expected.1
    );
}

fn executions_of(env: &TestEnv, store: &str) -> Vec<(String, Option<String>, String)> {
    let conn = env.connect();
    let mut stmt = conn
        .prepare(
            "SELECT estado, error_tipo, modo FROM etl_ejecuciones \
             WHERE ubicacion_id = ? AND etl_tipo = 'ventas' ORDER BY id",
        )
        .unwrap();
    stmt.query_map([store], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn every_fault_class_is_a_gap_with_its_error_tipo_and_the_next_run_recovers_it() {
    // One store per fault; each fault hits every request of the first run (two attempts
    // for the retryable ones, one for the others), then stops.
    let cases: &[(&str, &str)] = &[
        ("SUC001:ventas:500:1-2", "api_error"),
        ("SUC002:ventas:503:1-2", "api_error"),
        ("SUC003:ventas:refuse:1-2", "conexion"),
        ("SUC004:ventas:reset:1-2", "conexion"),
        ("SUC005:ventas:hang:1-2", "timeout"),
        ("SUC006:ventas:malformed:1", "api_error"),
        ("SUC007:ventas:truncate:1", "api_error"),
        ("SUC008:ventas:error:1", "api_error"),
        ("SUC009:ventas:shape:1", "api_error"),
        ("SUC010:ventas:429=0:1-2", "api_error"),
    ];
    let faults: Vec<&str> = cases.iter().map(|(f, _)| *f).collect();
    let sim = sim(&faults, 240);
    let env = env_for(&sim, 11);

    let first = run(
        &env,
        &caracas(24, 10, 5),
        &["--tipo", "ventas", "--jobs", "11"],
    );
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    for ((id, ..), (_, error_tipo)) in STORES.iter().zip(cases) {
        let runs = executions_of(&env, id);
        assert_eq!(runs.len(), 1, "{id}");
        assert_eq!(
            (runs[0].0.as_str(), runs[0].1.as_deref()),
            ("fallido", Some(*error_tipo)),
            "{id}"
        );
    }
    let gaps = env
        .cmd()
        .args([
            "--now",
            &caracas(24, 10, 6),
            "gaps",
            "--tipo",
            "ventas",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let gaps: serde_json::Value = serde_json::from_slice(&gaps.stdout).unwrap();
    assert_eq!(
        gaps.as_array().unwrap().len(),
        10,
        "one gap per faulty store: {gaps:#}"
    );
    // The store without faults loaded its window.
    assert_eq!(executions_of(&env, "tienda_19")[0].0, "exitoso");

    // The faults have stopped. A run recovers at most 5 gaps (the default bound)...
    let gap_count = |now: &str| {
        let out = env
            .cmd()
            .args(["--now", now, "gaps", "--tipo", "ventas", "--format", "json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    let second = run(
        &env,
        &caracas(24, 10, 35),
        &["--tipo", "ventas", "--jobs", "11"],
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(gap_count(&caracas(24, 10, 36)), 5);
    // ...and the next one the rest.
    let third = run(
        &env,
        &caracas(24, 11, 5),
        &["--tipo", "ventas", "--jobs", "11"],
    );
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    assert_eq!(gap_count(&caracas(24, 11, 6)), 0);
    for (id, _, sucursal, _) in STORES {
        assert_same(
            loaded(
                &env,
                id,
                local("2025-11-24 09:30"),
                local("2025-11-24 11:00"),
            ),
            expected(
                &sim,
                sucursal,
                local("2025-11-24 09:30"),
                local("2025-11-24 11:00"),
            ),
            id,
        );
    }
}

#[test]
fn an_empty_answer_is_a_success_with_zero_lines() {
    let sim = sim(&["SUC001:ventas:empty"], 240);
    let env = env_for(&sim, 1);
    let out = run(&env, &caracas(24, 3, 5), &["--tipo", "ventas"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(executions_of(&env, "tienda_01")[0].0, "exitoso");
    assert_eq!(
        loaded(
            &env,
            "tienda_01",
            local("2025-11-24 00:00"),
            local("2025-11-25 00:00")
        )
        .0,
        0
    );
}

#[test]
fn rerunning_and_overlapping_windows_never_duplicate_or_lose_a_line() {
    let sim = sim(&[], 600);
    let env = env_for(&sim, 2);
    for (hh, mm) in [(10, 5), (10, 35), (10, 36), (11, 5)] {
        let out = run(&env, &caracas(24, hh, mm), &["--tipo", "ventas"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And the whole day again, twice, over the incremental windows.
    for _ in 0..2 {
        let out = run(
            &env,
            &caracas(24, 11, 10),
            &["--tipo", "ventas", "--full", "--date", "2025-11-24"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (id, _, sucursal, _) in &STORES[..2] {
        assert_same(
            loaded(
                &env,
                id,
                local("2025-11-24 00:00"),
                local("2025-11-24 11:00"),
            ),
            expected(
                &sim,
                sucursal,
                local("2025-11-24 00:00"),
                local("2025-11-24 11:00"),
            ),
            id,
        );
    }
    let conn = env.connect();
    let duplicated: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT 1 FROM ventas GROUP BY ubicacion_id, numero_factura, linea HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(duplicated, 0);
}

#[test]
fn the_last_half_hour_of_the_day_is_fetched_after_midnight() {
    let sim = sim(&[], 240);
    let env = env_for(&sim, 1);
    for (day, hh, mm) in [(24, 23, 5), (24, 23, 35), (25, 0, 5)] {
        let out = run(&env, &caracas(day, hh, mm), &["--tipo", "ventas"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_same(
        loaded(
            &env,
            "tienda_01",
            local("2025-11-24 23:30"),
            local("2025-11-25 00:00"),
        ),
        expected(
            &sim,
            "SUC001",
            local("2025-11-24 23:30"),
            local("2025-11-25 00:00"),
        ),
        "23:30-24:00",
    );
    let conn = env.connect();
    let last: (String, String) = conn
        .query_row(
            "SELECT CAST(fecha_desde AS VARCHAR), CAST(hora_hasta AS VARCHAR) FROM etl_ejecuciones \
             WHERE etl_tipo = 'ventas' ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(last, ("2025-11-24".to_string(), "23:59:59".to_string()));
}

/// (store, date, from, to, estado, modo, start date) of an execution.
type ExecutionRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    chrono::NaiveDate,
);

#[test]
fn a_day_across_midnight_gives_the_same_rows_on_utc_and_caracas_hosts() {
    let sim = sim(&["SUC001:ventas:500:2"], 240);
    let rows = |tz: &str| {
        let env = env_for(&sim, 2);
        for (day, hh, mm) in [(24, 23, 5), (24, 23, 35), (25, 0, 5), (25, 0, 35)] {
            env.cmd()
                .env("TZ", tz)
                .args([
                    "--now",
                    &caracas(day, hh, mm),
                    "run",
                    "--tipo",
                    "ventas",
                    "--jobs",
                    "1",
                ])
                .output()
                .unwrap();
        }
        let conn = env.connect();
        let mut stmt = conn
            .prepare(
                "SELECT ubicacion_id, numero_factura, linea, CAST(fecha_hora AS VARCHAR), venta_total_usd \
                 FROM ventas ORDER BY ALL",
            )
            .unwrap();
        let sales: Vec<(String, String, i64, String, f64)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT ubicacion_id, CAST(fecha_desde AS VARCHAR), CAST(hora_desde AS VARCHAR), \
                 CAST(hora_hasta AS VARCHAR), estado, modo, CAST(fecha_inicio AS DATE) \
                 FROM etl_ejecuciones ORDER BY ALL",
            )
            .unwrap();
        let executions: Vec<ExecutionRow> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (sales, executions)
    };
    let utc = rows("UTC");
    assert!(!utc.0.is_empty());
    let caracas_host = rows("America/Caracas");
    assert_eq!(utc.0, caracas_host.0, "sales rows");
    assert_eq!(utc.1, caracas_host.1, "executions");
}

#[test]
fn dry_run_prints_the_plan_and_touches_nothing() {
    let sim = sim(&[], 240);
    let env = env_for(&sim, 2);
    env.migrate();
    let out = env
        .cmd()
        .args(["--now", &caracas(24, 10, 5), "run", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Would fetch 4 window(s)"), "{text}");
    assert!(text.contains("2025-11-24 09:30-10:00"), "{text}");
    assert_eq!(sim.requests().len(), 0, "no request was sent");
    let conn = env.connect();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM etl_ejecuciones", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0);
}

#[test]
fn recover_dry_run_shows_the_explicit_window_it_would_fetch_and_touches_nothing() {
    let sim = sim(&[], 240);
    let env = env_for(&sim, 2);
    env.migrate();
    let recover = |extra: &[&str]| {
        env.cmd()
            .args([
                "--now",
                &caracas(24, 16, 5),
                "recover",
                "--store",
                "tienda_08",
            ])
            .args(["--date", "2025-11-24", "--from", "10:00", "--to", "12:00"])
            .args(extra)
            .output()
            .unwrap()
    };
    let dry = recover(&["--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(text.contains("Would recover 1 gap(s)"), "{text}");
    let planned = text
        .lines()
        .find(|line| line.contains("tienda_08"))
        .unwrap_or_else(|| panic!("the window is not in the plan:\n{text}"));
    assert!(
        planned.contains("2025-11-24 10:00-12:00") && planned.contains("recuperacion"),
        "{planned}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&recover(&["--dry-run", "--format", "json"]).stdout).unwrap();
    let recoveries = json["plan"]["recoveries"].as_array().unwrap();
    assert_eq!(recoveries.len(), 1, "{json:#}");
    assert_eq!(recoveries[0]["ubicacion_id"], "tienda_08");
    assert_eq!(sim.requests().len(), 0, "no request was sent");
    let executions: i64 = env
        .connect()
        .query_row("SELECT count(*) FROM etl_ejecuciones", [], |r| r.get(0))
        .unwrap();
    assert_eq!(executions, 0);

    // And the window the dry run showed is the one fetched.
    let real = recover(&[]);
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert_same(
        loaded(
            &env,
            "tienda_08",
            local("2025-11-24 10:00"),
            local("2025-11-24 12:00"),
        ),
        expected(
            &sim,
            "SUC002",
            local("2025-11-24 10:00"),
            local("2025-11-24 12:00"),
        ),
        "tienda_08",
    );
}

#[test]
fn the_summary_counts_windows_lines_invoices_usd_and_articles() {
    let sim = sim(&["SUC002:ventas:500"], 240);
    let env = env_for(&sim, 2);
    let out = run(&env, &caracas(24, 10, 5), &[]);
    assert_eq!(out.status.code(), Some(1), "tienda_08's sales fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary = stderr.lines().last().unwrap_or_default();

    let lines = truth::sales_lines(
        sim.data(),
        "SUC001",
        local("2025-11-24 09:30"),
        local("2025-11-24 10:00"),
    );
    let totals = truth::totals(&lines);
    let invoices: std::collections::HashSet<&str> = lines
        .iter()
        .map(|line| line.numero_factura.as_str())
        .collect();
    let articles = 2 * sim.data().articles_per_warehouse;
    let expected = format!(
        "3 window(s) ok, 1 failed; 0 gap(s) recovered, 0 left for later; unstuck 0; \
         {} lines, {} invoices, {:.2} USD, {articles} articles; ",
        totals.lines,
        invoices.len(),
        totals.venta_total_usd
    );
    assert!(
        summary.starts_with(&expected) && summary.ends_with(" s"),
        "{summary}\nexpected it to start with\n{expected}"
    );
}

#[test]
fn two_runs_of_the_same_tipo_never_overlap() {
    let sim = sim(&["SUC001:ventas:latency=2s"], 240);
    let env = env_for(&sim, 1);
    let config = std::fs::read_to_string(env.path().join("klk-etl.toml"))
        .unwrap()
        .replace("read_timeout = \"1s\"", "read_timeout = \"10s\"");
    std::fs::write(env.path().join("klk-etl.toml"), config).unwrap();
    env.migrate();
    let mut slow = env.process();
    slow.args(["--now", &caracas(24, 10, 5), "run", "--tipo", "ventas"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut slow = slow.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let second = run(
        &env,
        &caracas(24, 10, 5),
        &["--tipo", "ventas", "--wait", "0s"],
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("already running ventas") && stderr.contains(&slow.id().to_string()),
        "{stderr}"
    );
    // Another tipo is not blocked.
    let inventory = run(
        &env,
        &caracas(24, 10, 5),
        &["--tipo", "inventario", "--wait", "0s"],
    );
    assert!(
        inventory.status.success(),
        "{}",
        String::from_utf8_lossy(&inventory.stderr)
    );
    assert!(slow.wait().unwrap().success());
}

#[test]
fn sigterm_closes_the_execution_in_flight_as_interrupted_at_once() {
    let sim = sim(&["SUC001:ventas:hang=30s"], 240);
    let env = env_for(&sim, 1);
    env.migrate();
    // A read timeout longer than the test: the signal, not the timeout, ends it.
    let config = std::fs::read_to_string(env.path().join("klk-etl.toml"))
        .unwrap()
        .replace("read_timeout = \"1s\"", "read_timeout = \"60s\"");
    std::fs::write(env.path().join("klk-etl.toml"), config).unwrap();
    let mut child = env
        .process()
        .args(["--now", &caracas(24, 10, 5), "run", "--tipo", "ventas"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let sent = Instant::now();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "ended at once: {:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(1));
    let runs = executions_of(&env, "tienda_01");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].0.as_str(), runs[0].1.as_deref()),
        ("fallido", Some("interrumpido"))
    );
    assert_eq!(
        loaded(
            &env,
            "tienda_01",
            local("2025-11-24 00:00"),
            local("2025-11-25 00:00")
        )
        .0,
        0
    );
}

#[test]
fn an_api_unreachable_for_every_store_is_exit_4_and_gaps() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let sim = sim(&[], 240);
    let env = env_for(&sim, 2);
    let config = std::fs::read_to_string(env.path().join("klk-etl.toml"))
        .unwrap()
        .replace(&sim.base_url(), &format!("http://127.0.0.1:{port}"));
    std::fs::write(env.path().join("klk-etl.toml"), config).unwrap();
    let out = run(&env, &caracas(24, 10, 5), &["--tipo", "ventas"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (id, ..) in &STORES[..2] {
        let runs = executions_of(&env, id);
        assert_eq!(
            (runs[0].0.as_str(), runs[0].1.as_deref()),
            ("fallido", Some("conexion"))
        );
    }
}

#[test]
fn a_window_the_api_cannot_serve_does_not_hold_back_the_store_and_is_backed_off() {
    // A line with two `producto` elements at 10:15: every request reaching 10:10-10:20
    // gets it. (Requests reach a second past their window, so a rule on 10:00-10:30 would
    // also poison the neighbours' requests.)
    let sim = sim(
        &["SUC001:ventas:bad-line@2025-11-24T10:10/2025-11-24T10:20"],
        240,
    );
    let env = env_for(&sim, 1);
    for (hh, mm) in [
        (9, 5),
        (9, 35),
        (10, 35),
        (11, 5),
        (11, 35),
        (12, 5),
        (12, 35),
    ] {
        let out = run(&env, &caracas(24, hh, mm), &["--tipo", "ventas"]);
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Everything around the poison window is loaded...
    assert_same(
        loaded(
            &env,
            "tienda_01",
            local("2025-11-24 10:30"),
            local("2025-11-24 12:00"),
        ),
        expected(
            &sim,
            "SUC001",
            local("2025-11-24 10:30"),
            local("2025-11-24 12:00"),
        ),
        "after the poison window",
    );
    // ...and the poison window alone is a gap, with the reason.
    let gaps = env
        .cmd()
        .args(["--now", &caracas(24, 12, 50), "gaps", "--format", "json"])
        .output()
        .unwrap();
    let gaps: serde_json::Value = serde_json::from_slice(&gaps.stdout).unwrap();
    let ventas: Vec<&serde_json::Value> = gaps
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["etl_tipo"] == "ventas")
        .collect();
    assert_eq!(ventas.len(), 1, "{gaps:#}");
    assert_eq!(
        (
            ventas[0]["hora_desde"].as_str(),
            ventas[0]["hora_hasta"].as_str()
        ),
        (Some("10:00:00"), Some("10:30:00"))
    );
    assert_eq!(ventas[0]["error_tipo"], "validacion");
    assert!(
        ventas[0]["intentos_tras_exito"].as_i64().unwrap() >= 3,
        "{:#}",
        ventas[0]
    );
    // It failed repeatedly while the store worked (at 11:05, 11:35 and 12:05): until 12:35
    // a run leaves it for later.
    let plan = env
        .cmd()
        .args([
            "--now",
            &caracas(24, 12, 30),
            "run",
            "--tipo",
            "ventas",
            "--dry-run",
        ])
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout);
    let json = env
        .cmd()
        .args([
            "--now",
            &caracas(24, 12, 30),
            "run",
            "--tipo",
            "ventas",
            "--dry-run",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        plan.contains("Left for later: 1 gap(s)") && plan.contains("backoff"),
        "{plan}\n{gaps:#}\n{}",
        String::from_utf8_lossy(&json.stdout)
    );
}

#[test]
fn on_a_terminal_the_bar_names_the_window_a_slow_run_is_waiting_for() {
    let sim = sim(&["SUC001:ventas:latency=2s"], 240);
    let env = env_with_read_timeout(&sim, 3, "10s");
    let mut run = env.process();
    run.args([
        "--now",
        &caracas(24, 10, 5),
        "run",
        "--tipo",
        "ventas",
        "--jobs",
        "3",
    ]);
    let output = crate::common::on_terminal(&run)
        .output()
        .expect("script(1) from util-linux");
    assert!(output.status.success(), "{output:?}");
    let screen = String::from_utf8_lossy(&output.stdout);
    let slow_done = screen
        .find("ok   tienda_01 ")
        .unwrap_or_else(|| panic!("no line for tienda_01 in:\n{screen}"));
    let fast_done = ["ok   tienda_08 ", "ok   tienda_17 "].map(|line| {
        screen
            .find(line)
            .unwrap_or_else(|| panic!("no {line:?} in:\n{screen}"))
    });
    let waiting = &screen[fast_done.into_iter().max().unwrap()..slow_done];
    assert!(
        waiting.contains("tienda_01 ventas 2025-11-24 09:30-10:00"),
        "while only tienda_01 is in flight, the bar should name it:\n{waiting}"
    );
}
