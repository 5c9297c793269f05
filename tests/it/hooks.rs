//! Post-load hooks (`[hooks]`) through the real binary, the simulator and a real DuckDB file:
//! what they are told, when they run (after the loads are committed, the file closed), and
//! that a hook that fails, hangs or runs too long is stopped, recorded, shown and alerted
//! without ever undoing or blocking a load.

use crate::common::net;

use std::time::{Duration, Instant};

use crate::common::TestEnv;
use klk_etl::sim::{SimData, SimHandle, SimOptions, SimStore, Simulator};

fn at(hh: u32, mm: u32) -> String {
    format!("2025-11-24T{:02}:{mm:02}:00Z", hh + 4)
}

fn sim() -> SimHandle {
    Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 7,
            lines_per_hour: 60,
            articles_per_warehouse: 20,
            stores: vec![
                SimStore::new("SUC001", vec!["APP-TPF".to_string()]),
                SimStore::new("SUC002", vec!["APP-TBQ".to_string()]),
            ],
        },
        faults: Vec::new(),
    })
    .unwrap()
}

fn env_with(sim: &SimHandle, extra: &str) -> TestEnv {
    TestEnv::with_config(&format!(
        r#"database = "data/klk-etl.duckdb"
[api]
base_url = "{}"
connect_timeout = "1s"
read_timeout = "5s"
max_attempts = 1
{extra}
[[stores]]
id = "tienda_01"
name = "PERIFERICO"
sucursal = "SUC001"
warehouses = ["APP-TPF"]
[[stores]]
id = "tienda_08"
name = "BOSQUE"
sucursal = "SUC002"
warehouses = ["APP-TBQ"]
"#,
        sim.base_url()
    ))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn python() -> String {
    let candidate = std::env::var("KLK_ETL_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = std::process::Command::new(&candidate)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this test's hook reads the database with Python's duckdb: run `bash .ci/run` or set KLK_ETL_PYTHON (tried {candidate})"
    );
    candidate
}

#[test]
fn hooks_run_after_the_loads_are_committed_with_the_windows_they_describe() {
    let sim = sim();
    let env = env_with(
        &sim,
        r#"
[hooks]
timeout = "20s"
[[hooks.after_window]]
name = "log"
command = "sh log.sh"
[[hooks.after_window]]
name = "count"
tipo = "ventas"
command = "$PYTHON count.py"
[[hooks.after_window]]
name = "summary"
tipo = "ventas"
sql = """
CREATE TABLE IF NOT EXISTS resumen_ventas (ubicacion_id VARCHAR, fecha DATE, desde TIME, hasta TIME, lineas BIGINT, declaradas BIGINT);
INSERT INTO resumen_ventas
SELECT getvariable('klk_store'), getvariable('klk_date'), getvariable('klk_window_from'),
       getvariable('klk_window_to'), count(*), getvariable('klk_lines')
FROM ventas WHERE ejecucion_id = getvariable('klk_execution_id');
"""
[[hooks.after_run]]
name = "done"
command = "echo \"$KLK_ETL_EVENT $KLK_ETL_HOOK $KLK_ETL_COMMAND $KLK_ETL_WINDOWS $KLK_ETL_WINDOWS_OK $KLK_ETL_WINDOWS_FAILED $KLK_ETL_LINES $KLK_ETL_STORES $KLK_ETL_TIPOS\" >> run.txt"
"#,
    );
    std::fs::write(
        env.path().join("log.sh"),
        "echo \"$KLK_ETL_EVENT|$KLK_ETL_HOOK|$KLK_ETL_TIPO|$KLK_ETL_STORE|$KLK_ETL_STORE_NAME|$KLK_ETL_DATE|$KLK_ETL_WINDOW_FROM|$KLK_ETL_WINDOW_TO|$KLK_ETL_MODE|$KLK_ETL_LINES|$KLK_ETL_EXECUTION_ID|$KLK_ETL_INVOCATION_ID\" >> windows.txt\n",
    )
    .unwrap();
    // Reads the database itself: the window's rows are committed and klk-etl holds no lock.
    std::fs::write(
        env.path().join("count.py"),
        "import duckdb, os\n\
         c = duckdb.connect(os.environ['KLK_ETL_DATABASE'], read_only=True)\n\
         n = c.execute('SELECT count(*) FROM ventas WHERE ejecucion_id = ' + os.environ['KLK_ETL_EXECUTION_ID']).fetchone()[0]\n\
         open('counted.txt', 'a').write(f\"{os.environ['KLK_ETL_STORE']} {n} {os.environ['KLK_ETL_LINES']}\\n\")\n",
    )
    .unwrap();
    let python = python();

    // A dry run lists them.
    let out = env
        .cmd()
        .args(["--now", &at(10, 5), "run", "--dry-run"])
        .output()
        .unwrap();
    let plan = text(&out.stdout);
    assert!(
        plan.contains("Would run 4 hook(s) after the loads succeed:"),
        "{plan}"
    );
    assert!(
        plan.contains("log (after_window, command): after each loaded window (4 if every window loads), each within 20s"),
        "{plan}"
    );
    assert!(
        plan.contains(
            "summary (after_window, sql): after each loaded ventas window (2 if every window loads)"
        ),
        "{plan}"
    );
    assert!(
        plan.contains("done (after_run, command): after the run (1 if a window loads)"),
        "{plan}"
    );
    assert!(
        !env.path().join("windows.txt").exists(),
        "a dry run runs nothing"
    );

    let out = env
        .cmd()
        .env("PYTHON", &python)
        .args(["--now", &at(10, 5), "--format", "json", "run"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hooks = json["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 4, "{json}");
    assert!(hooks.iter().all(|h| h["fallos"] == 0), "{json}");
    assert_eq!(hooks[0]["nombre"], "log");
    assert_eq!(hooks[0]["ejecuciones"], 4);

    let conn = env.connect();
    let executions: Vec<(i64, String, String, i64)> = {
        let mut stmt = conn
            .prepare("SELECT id, etl_tipo, ubicacion_id, registros_cargados FROM etl_ejecuciones ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(executions.len(), 4);
    let windows = std::fs::read_to_string(env.path().join("windows.txt")).unwrap();
    let lines: Vec<&str> = windows.lines().collect();
    assert_eq!(lines.len(), 4, "{windows}");
    for (id, tipo, store, loaded) in &executions {
        let line = lines
            .iter()
            .find(|l| l.contains(&format!("|{id}|")))
            .unwrap_or_else(|| panic!("no window line for execution {id}: {windows}"));
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(
            &fields[..4],
            &["after_window", "log", tipo.as_str(), store.as_str()]
        );
        assert_eq!(fields[5], "2025-11-24");
        if tipo == "ventas" {
            assert_eq!((fields[6], fields[7]), ("09:30", "10:00"), "{line}");
            assert_eq!(fields[8], "incremental_30min");
        } else {
            assert_eq!((fields[6], fields[7]), ("", ""), "{line}");
        }
        assert_eq!(fields[9], loaded.to_string(), "{line}");
        assert!(fields[11].parse::<i64>().is_ok(), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains("|tienda_08|BOSQUE|")));

    let counted = std::fs::read_to_string(env.path().join("counted.txt")).unwrap();
    let mut total = 0;
    for line in counted.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(
            parts[1], parts[2],
            "the hook saw every line committed: {line}"
        );
        assert!(parts[1].parse::<i64>().unwrap() > 0);
        total += parts[1].parse::<i64>().unwrap();
    }
    assert_eq!(counted.lines().count(), 2, "ventas windows only: {counted}");

    let summary: Vec<(String, i64, i64, String)> = {
        let mut stmt = conn
            .prepare("SELECT ubicacion_id, lineas, declaradas, CAST(desde AS VARCHAR) FROM resumen_ventas ORDER BY ubicacion_id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(summary.len(), 2);
    assert_eq!(summary[0].0, "tienda_01");
    assert!(
        summary
            .iter()
            .all(|(_, n, declared, from)| n == declared && from == "09:30:00")
    );
    assert_eq!(summary.iter().map(|s| s.1).sum::<i64>(), total);
    drop(conn);

    let run = std::fs::read_to_string(env.path().join("run.txt")).unwrap();
    assert_eq!(
        run.trim(),
        format!("after_run done run 4 4 0 {total} tienda_01,tienda_08 inventario,ventas")
    );

    // status and health show them.
    let out = env
        .cmd()
        .args(["--now", &at(10, 10), "status"])
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(shown.contains("Post-load hooks (4)"), "{shown}");
    assert!(
        shown.lines().any(|l| l
            .trim_start()
            .starts_with("summary (after_window sql): last run 2025-11-24 10:05")
            && l.contains(": ok (2 time(s)); 2 run(s), 0 failure(s) in all")),
        "{shown}"
    );
    let out = env
        .cmd()
        .args(["--now", &at(10, 10), "health"])
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("OK hooks: 4 hook(s) succeeded in their latest run"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_hook_that_fails_or_hangs_never_undoes_or_blocks_the_load_and_is_recorded_shown_and_alerted() {
    let sim = sim();
    let env = env_with(
        &sim,
        r#"
[alerts]
command = "cat >> alerts.txt"
[hooks]
timeout = "1s"
[[hooks.after_window]]
name = "flaky"
tipo = "ventas"
command = "test -f fixed || { echo 'first line' >&2; echo 'refresh failed: table locked' >&2; exit 3; }"
[[hooks.after_window]]
name = "slow"
tipo = "inventario"
command = "sleep 31.4159; echo done > slow.txt"
[[hooks.after_run]]
name = "bad-sql"
sql = "CREATE TABLE half_done AS SELECT 1 AS x; SELECT * FROM no_such_table;"
"#,
    );
    let started = Instant::now();
    let out = env
        .cmd()
        .args(["--now", &at(10, 5), "run"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "hooks never fail the run: {}",
        text(&out.stderr)
    );
    assert!(
        took < Duration::from_secs(12),
        "two 1 s timeouts cannot keep the run waiting long: {took:?}"
    );
    println!(
        "hooks: a run of 4 windows whose hooks fail twice, hang twice (1 s timeout) and fail in SQL took {:.2} s",
        took.as_secs_f64()
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: hook 'flaky' (after_window) failed 2 of 2 time(s): tienda_01 ventas 2025-11-24 09:30-10:00: exit status 3: refresh failed: table locked"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: hook 'slow' (after_window) failed 2 of 2 time(s): tienda_01 inventario 2025-11-24: timed out after 1s (stopped)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: hook 'bad-sql' (after_run) failed 1 of 1 time(s): the run: SQL failed:"
        ) && stderr.contains("no_such_table"),
        "{stderr}"
    );
    // The loads stand; the failed SQL left nothing; the hung command and its child are gone.
    let conn = env.connect();
    let ok: i64 = conn
        .query_row(
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'exitoso'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ok, 4);
    let lines: i64 = conn
        .query_row("SELECT count(*) FROM ventas", [], |r| r.get(0))
        .unwrap();
    assert!(lines > 0);
    let half_done: i64 = conn
        .query_row(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half_done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(half_done, 0, "a failed SQL hook is rolled back");
    let recorded: Vec<(String, i64, i64, String)> = {
        let mut stmt = conn
            .prepare("SELECT nombre, ejecuciones, fallos, estado FROM etl_hooks ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    drop(conn);
    assert_eq!(
        recorded,
        vec![
            ("flaky".to_string(), 2, 2, "fallido".to_string()),
            ("slow".to_string(), 2, 2, "fallido".to_string()),
            ("bad-sql".to_string(), 1, 1, "fallido".to_string()),
        ]
    );
    let leftovers = std::process::Command::new("pgrep")
        .args(["-f", "sleep 31.4159"])
        .output()
        .unwrap();
    assert!(
        leftovers.stdout.is_empty(),
        "the timed-out hook's process group was stopped: {}",
        text(&leftovers.stdout)
    );
    assert!(!env.path().join("slow.txt").exists());

    // Shown by status and health, alerted.
    let out = env
        .cmd()
        .args(["--now", &at(10, 10), "status"])
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    let flaky = shown
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("flaky (after_window command): last run 2025-11-24 10:05")
        })
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        flaky.contains(": FAILED 2 of 2: tienda_01 ventas 2025-11-24 09:30-10:00: exit status 3: refresh failed: table locked; 2 run(s), 2 failure(s) in all"),
        "{flaky}"
    );
    let out = env
        .cmd()
        .args(["--now", &at(10, 10), "health"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "WARNING: {}", text(&out.stdout));
    let health = text(&out.stdout);
    assert!(
        health.lines().any(|l| l.starts_with("WARNING hooks: ")
            && l.contains(
                "hook 'flaky' failed 2 of 2 time(s) in the run of 2025-11-24 10:05: tienda_01 ventas"
            )),
        "{health}"
    );
    let alerts = std::fs::read_to_string(env.path().join("alerts.txt")).unwrap();
    assert!(
        alerts
            .contains("KLK-ETL PROBLEM: hook 'flaky' (after_window command) failed 2 of 2 time(s)"),
        "{alerts}"
    );

    // Fixed: the next run's success recovers it.
    std::fs::write(env.path().join("fixed"), "").unwrap();
    let out = env
        .cmd()
        .args(["--now", &at(10, 35), "run", "--tipo", "ventas"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("hook 'flaky'"),
        "{}",
        text(&out.stderr)
    );
    let alerts = std::fs::read_to_string(env.path().join("alerts.txt")).unwrap();
    assert!(
        alerts.contains("KLK-ETL RECOVERED: hook 'flaky'"),
        "{alerts}"
    );
}

#[test]
fn a_sql_hook_that_runs_too_long_is_interrupted_and_the_budget_bounds_them_all() {
    let sim = sim();
    let env = env_with(
        &sim,
        r#"
[hooks]
budget = "1s"
[[hooks.after_window]]
name = "heavy"
tipo = "ventas"
timeout = "1s"
sql = "CREATE TABLE heavy AS SELECT sum(a.range * b.range) AS s FROM range(300000) a, range(300000) b;"
"#,
    );
    let started = Instant::now();
    let out = env
        .cmd()
        .args(["--now", &at(10, 5), "run", "--tipo", "ventas"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(took < Duration::from_secs(10), "{took:?}");
    println!(
        "hooks: a run whose SQL hook is interrupted at 1 s, then out of budget, took {:.2} s",
        took.as_secs_f64()
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: hook 'heavy' (after_window) failed 2 of 2 time(s): tienda_01 ventas 2025-11-24 09:30-10:00: timed out after 1s (stopped)"),
        "{stderr}"
    );
    let conn = env.connect();
    let (runs, failed, skipped): (i64, i64, i64) = conn
        .query_row(
            "SELECT ejecuciones, fallos, omitidas FROM etl_hooks WHERE nombre = 'heavy'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (runs, failed, skipped),
        (1, 1, 1),
        "the second window's hook was past the budget"
    );
    let heavy: i64 = conn
        .query_row(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'heavy'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(heavy, 0);
    drop(conn);
    let out = env
        .cmd()
        .args(["--now", &at(10, 6), "metrics", "--format", "prometheus"])
        .output()
        .unwrap();
    let metrics = text(&out.stdout);
    for line in [
        "klk_etl_hook_runs_total{hook=\"heavy\",event=\"after_window\"} 1",
        "klk_etl_hook_failures_total{hook=\"heavy\",event=\"after_window\"} 2",
        "klk_etl_hook_last_run_failed{hook=\"heavy\",event=\"after_window\"} 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}\n{metrics}");
    }
    let families = net::strict_prometheus(&metrics);
    assert_eq!(
        families["klk_etl_hook_runs"],
        serde_json::json!(["counter", 1])
    );
    assert_eq!(
        families["klk_etl_hook_failures"],
        serde_json::json!(["counter", 1])
    );
    assert_eq!(
        families["klk_etl_hook_last_run_failed"],
        serde_json::json!(["gauge", 1])
    );
}
