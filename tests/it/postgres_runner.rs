//! The runner on PostgreSQL: the real binary against a real server on 127.0.0.1 and the KLK
//! simulator. Exactly once as on DuckDB; several runners at once sharing the stores and
//! fetching every window once; a runner killed, or cut off by the server, seen gone from
//! any host and its windows recovered; `[database] max_runners` enforced in the database.

use std::collections::HashMap;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use crate::common::pg::TestDatabase;
use crate::runner::{STORES, assert_same, caracas, config_for, expected, local, sim};
use klk_etl::sim::{Endpoint, SimHandle};

fn env_on(sim: &SimHandle, stores: usize, database: &str) -> TestEnv {
    TestEnv::with_config(&config_for(sim, stores, "5s", database))
}

fn pg_env(sim: &SimHandle, stores: usize, db: &TestDatabase) -> TestEnv {
    env_on(sim, stores, &format!("database = \"{}\"", db.url))
}

fn run(env: &TestEnv, now: &str, args: &[&str]) -> Output {
    env.cmd()
        .args(["--now", now, "run"])
        .args(args)
        .output()
        .expect("run")
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn migrate(env: &TestEnv) {
    assert_ok(
        &env.cmd().args(["db", "migrate"]).output().unwrap(),
        "migrate",
    );
}

fn spawn_run(env: &TestEnv, now: &str, args: &[&str]) -> Child {
    env.process()
        .args(["--now", now, "run"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run")
}

/// (lines, USD) per store in `[from, to)`, on PostgreSQL.
fn loaded_pg(
    db: &TestDatabase,
    store: &str,
    from: chrono::NaiveDateTime,
    to: chrono::NaiveDateTime,
) -> (usize, f64) {
    let row = db
        .client()
        .query_one(
            "SELECT count(*), coalesce(sum(venta_total_usd), 0) FROM ventas \
             WHERE ubicacion_id = $1 AND fecha_hora >= $2 AND fecha_hora < $3",
            &[&store, &from, &to],
        )
        .unwrap();
    (row.get::<_, i64>(0) as usize, row.get(1))
}

fn scalar(db: &TestDatabase, sql: &str) -> i64 {
    db.client().query_one(sql, &[]).unwrap().get(0)
}

fn duplicated_keys(db: &TestDatabase) -> i64 {
    scalar(
        db,
        "SELECT count(*) FROM (SELECT 1 FROM ventas GROUP BY ubicacion_id, numero_factura, linea \
         HAVING count(*) > 1) d",
    )
}

/// Every whole day of `days` for the first `stores` stores equals the simulator's lines.
fn assert_days_complete(sim: &SimHandle, db: &TestDatabase, stores: usize, days: &[&str]) {
    for (id, _, sucursal, _) in &STORES[..stores] {
        for day in days {
            let from = local(&format!("{day} 00:00"));
            let to = from + chrono::Duration::days(1);
            assert_same(
                loaded_pg(db, id, from, to),
                expected(sim, sucursal, from, to),
                &format!("{id} {day}"),
            );
        }
    }
}

/// The sales windows the simulator was asked for, and how many times each.
fn sales_requests(sim: &SimHandle) -> HashMap<(String, String), usize> {
    let mut seen = HashMap::new();
    for request in sim.requests() {
        if request.endpoint != Some(Endpoint::Ventas) {
            continue;
        }
        let key = (
            request.store.clone().unwrap_or_default(),
            format!("{:?}", request.window),
        );
        *seen.entry(key).or_insert(0) += 1;
    }
    seen
}

const DAYS: [&str; 4] = ["2025-11-20", "2025-11-21", "2025-11-22", "2025-11-23"];

#[test]
fn runs_on_postgresql_load_exactly_what_the_same_runs_load_on_duckdb() {
    let sim = sim(&[], 600);
    let db = TestDatabase::new();
    let pg = pg_env(&sim, 3, &db);
    let duck = env_on(&sim, 3, r#"database = "data/klk-etl.duckdb""#);
    // Whole days, twice (the second an upsert of every line), then incremental windows that
    // overlap each other, then a recovery of an explicit window.
    let steps: [(String, Vec<&str>); 5] = [
        (
            caracas(24, 10, 5),
            vec!["--full", "--from", "2025-11-20", "--to", "2025-11-23"],
        ),
        (
            caracas(24, 10, 5),
            vec!["--full", "--from", "2025-11-22", "--to", "2025-11-23"],
        ),
        (caracas(24, 10, 35), vec![]),
        (caracas(24, 10, 36), vec![]),
        (caracas(24, 11, 5), vec![]),
    ];
    for (now, args) in &steps {
        for env in [&pg, &duck] {
            assert_ok(&run(env, now, args), &format!("run {args:?}"));
        }
    }
    assert_days_complete(&sim, &db, 3, &DAYS);
    for (id, _, sucursal, _) in &STORES[..3] {
        let (from, to) = (local("2025-11-24 00:00"), local("2025-11-24 11:00"));
        assert_same(
            loaded_pg(&db, id, from, to),
            expected(&sim, sucursal, from, to),
            id,
        );
    }
    assert_eq!(duplicated_keys(&db), 0, "a key loaded twice");
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'"
        ),
        0
    );
    // The same lines, value for value, on both engines.
    let pg_rows: Vec<(String, String, i32, f64, f64)> = db
        .client()
        .query(
            "SELECT ubicacion_id, numero_factura, linea, cantidad_vendida, venta_total_usd \
             FROM ventas ORDER BY 1, 2, 3",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let duck_conn = duck.connect();
    let mut stmt = duck_conn
        .prepare(
            "SELECT ubicacion_id, numero_factura, linea, cantidad_vendida, venta_total_usd \
             FROM ventas ORDER BY 1, 2, 3",
        )
        .unwrap();
    let duck_rows: Vec<(String, String, i32, f64, f64)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!pg_rows.is_empty());
    assert!(pg_rows == duck_rows, "ventas differ between the engines");
    // The same executions, window for window and count for count.
    let executions = "SELECT etl_tipo, ubicacion_id, CAST(fecha_desde AS VARCHAR), \
        coalesce(CAST(hora_desde AS VARCHAR), ''), coalesce(CAST(hora_hasta AS VARCHAR), ''), estado, modo, \
        CAST(registros_extraidos AS BIGINT), CAST(registros_cargados AS BIGINT), \
        CAST(coalesce(lineas_tardias, -1) AS BIGINT) FROM etl_ejecuciones ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10";
    type Execution = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        i64,
    );
    let pg_executions: Vec<Execution> = db
        .client()
        .query(executions, &[])
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
                r.get(8),
                r.get(9),
            )
        })
        .collect();
    let mut stmt = duck_conn.prepare(executions).unwrap();
    let duck_executions: Vec<Execution> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(stmt);
    drop(duck_conn);
    assert_eq!(pg_executions, duck_executions);
    // And the same gaps.
    let gaps = |env: &TestEnv| {
        let out = env
            .cmd()
            .args(["--now", &caracas(24, 11, 10), "gaps", "--format", "json"])
            .output()
            .unwrap();
        assert_ok(&out, "gaps");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(gaps(&pg), gaps(&duck));
}

#[test]
fn three_runners_started_together_fetch_every_window_once_and_share_the_stores() {
    // Slow answers, so that the runs overlap for real.
    let sim = sim(&["*:ventas:latency=300ms"], 300);
    let db = TestDatabase::new();
    let env = pg_env(&sim, STORES.len(), &db);
    let now = caracas(24, 10, 5);
    let args = [
        "--tipo",
        "ventas",
        "--full",
        "--from",
        "2025-11-20",
        "--to",
        "2025-11-23",
        "--no-recover",
        "--jobs",
        "2",
        "--format",
        "json",
    ];
    // Migrated once beforehand, so the three start on the same footing.
    migrate(&env);
    let alone_started = Instant::now();
    let single = TestDatabase::new();
    let single_env = pg_env(&sim, STORES.len(), &single);
    assert_ok(&run(&single_env, &now, &args), "one runner alone");
    let alone = alone_started.elapsed();
    let before = sales_requests(&sim);

    let together_started = Instant::now();
    let runners: Vec<Child> = (0..3).map(|_| spawn_run(&env, &now, &args)).collect();
    let outputs: Vec<Output> = runners
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let together = together_started.elapsed();
    for (i, out) in outputs.iter().enumerate() {
        assert_ok(out, &format!("runner {i}"));
    }
    assert_days_complete(&sim, &db, STORES.len(), &DAYS);
    assert_eq!(duplicated_keys(&db), 0);
    // Every window fetched by exactly one of them.
    let after = sales_requests(&sim);
    let mut fetched = 0;
    for (key, count) in &after {
        let by_three = count - before.get(key).copied().unwrap_or(0);
        assert!(
            by_three <= 1,
            "{key:?} fetched {by_three} times by the three"
        );
        fetched += by_three;
    }
    assert_eq!(fetched, STORES.len() * DAYS.len(), "windows fetched");
    let executions = scalar(&db, "SELECT count(*) FROM etl_ejecuciones");
    assert_eq!(executions as usize, STORES.len() * DAYS.len());
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM etl_ejecuciones WHERE estado <> 'exitoso'"
        ),
        0
    );
    // The stores spread over the runners: each ran some, none ran a store another ran.
    let per_runner: Vec<(String, i64)> = db
        .client()
        .query(
            "SELECT proceso_id, count(DISTINCT ubicacion_id) FROM etl_ejecuciones GROUP BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(per_runner.len(), 3, "every runner worked: {per_runner:?}");
    let stores_claimed: i64 = per_runner.iter().map(|(_, n)| n).sum();
    assert_eq!(stores_claimed as usize, STORES.len(), "{per_runner:?}");
    // About a third of one runner's time (latency-bound), with room for a loaded machine.
    assert!(
        together < alone.mul_f64(0.75),
        "three runners took {together:?}, one alone {alone:?}"
    );
    // Each says which stores were another's.
    let elsewhere: usize = outputs
        .iter()
        .map(|out| {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            json["claimed_elsewhere"]
                .as_array()
                .map_or(0, |stores| stores.len())
        })
        .sum();
    assert!(elsewhere > 0, "no runner met another's claim");
}

/// Three runners recovering a past day whose coverage the server keeps (migration 16): the
/// gaps are read from the kept ranges, each store's lost day is fetched by exactly one runner,
/// the day's kept coverage is forgotten as their windows change it, and no gap is left.
#[test]
fn three_runners_recover_a_kept_day_each_lost_window_once() {
    let sim = sim(&["*:ventas:latency=300ms"], 300);
    let db = TestDatabase::new();
    let env = pg_env(&sim, STORES.len(), &db);
    let now = caracas(24, 10, 5);
    let full = [
        "--tipo",
        "ventas",
        "--full",
        "--from",
        "2025-11-20",
        "--to",
        "2025-11-23",
        "--no-recover",
    ];
    assert_ok(&run(&env, &now, &full), "the days loaded");
    // Every store's 2025-11-22 lost, as a load that failed the next morning leaves it (long
    // enough ago for a retry to be due), then the past days' coverage kept, that hole included.
    db.client()
        .batch_execute(
            "UPDATE etl_ejecuciones SET estado = 'fallido', error_tipo = 'timeout', \
             fecha_inicio = TIMESTAMP '2025-11-23 00:05:00', fecha_fin = TIMESTAMP '2025-11-23 00:06:00' \
             WHERE fecha_desde = DATE '2025-11-22'",
        )
        .unwrap();
    assert!(scalar(&db, "SELECT klk_llenar_cobertura(62)::bigint") > 0);
    let kept_day = "SELECT count(*) FROM etl_cobertura_dias WHERE fecha = DATE '2025-11-22'";
    assert_eq!(scalar(&db, kept_day), 1, "the lost day's coverage is kept");
    let lost_days = |env: &TestEnv| {
        let out = env
            .cmd()
            .args([
                "--now", &now, "gaps", "--tipo", "ventas", "--format", "json",
            ])
            .output()
            .unwrap();
        assert_ok(&out, "gaps");
        let gaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        gaps.as_array()
            .unwrap()
            .iter()
            .filter(|gap| gap["fecha_desde"] == "2025-11-22")
            .count()
    };
    assert_eq!(
        lost_days(&env),
        STORES.len(),
        "one gap per store, read from the kept day"
    );

    let before = sales_requests(&sim);
    let runners: Vec<Child> = (0..3)
        // (room for every store's gap in one plan: the default is 5 per run)
        .map(|_| spawn_run(&env, &now, &["--tipo", "ventas", "--max-gaps", "20"]))
        .collect();
    for (i, child) in runners.into_iter().enumerate() {
        assert_ok(&child.wait_with_output().unwrap(), &format!("runner {i}"));
    }
    let mut fetched = sales_requests(&sim);
    fetched.retain(|key, count| {
        *count -= before.get(key).copied().unwrap_or(0);
        *count > 0
    });
    for (key, count) in &fetched {
        assert_eq!(*count, 1, "{key:?} fetched {count} times by the three");
    }
    for (id, _, sucursal, _) in STORES {
        assert!(
            fetched
                .keys()
                .any(|(store, window)| store == sucursal && window.contains("2025-11-22")),
            "{id}'s lost day was not fetched: {fetched:?}"
        );
    }
    assert_eq!(
        scalar(&db, kept_day),
        0,
        "the recoveries forgot the kept day"
    );
    assert_days_complete(&sim, &db, STORES.len(), &["2025-11-22"]);
    assert_eq!(duplicated_keys(&db), 0);
    assert_eq!(lost_days(&env), 0, "no gap left");
    // Kept again, the day reads as recovered.
    assert!(scalar(&db, "SELECT klk_llenar_cobertura(62)::bigint") > 0);
    assert_eq!(scalar(&db, kept_day), 1);
    assert_eq!(lost_days(&env), 0, "no gap left, read from the kept day");
}

/// Waits until the database shows `en_proceso` executions, up to `limit`.
fn wait_for_in_progress(db: &TestDatabase, limit: Duration) -> i64 {
    let until = Instant::now() + limit;
    loop {
        let open = scalar(
            db,
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'",
        );
        if open > 0 || Instant::now() > until {
            return open;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unstick_dry_run(env: &TestEnv, now: &str) -> serde_json::Value {
    let out = env
        .cmd()
        .args(["--now", now, "unstick", "--dry-run", "--format", "json"])
        .output()
        .unwrap();
    assert_ok(&out, "unstick --dry-run");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_runner_killed_mid_run_is_seen_gone_at_once_and_the_next_run_recovers_its_windows() {
    let sim = sim(&["*:ventas:latency=1500ms"], 300);
    let db = TestDatabase::new();
    let env = pg_env(&sim, 3, &db);
    let now = caracas(24, 10, 5);
    let args = ["--tipo", "ventas", "--full", "--date", "2025-11-23"];
    migrate(&env);
    let mut child = spawn_run(&env, &now, &args);
    assert!(
        wait_for_in_progress(&db, Duration::from_secs(20)) > 0,
        "the run never started a window"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The server ends the session with the process: any host sees it gone, at once, not after
    // the stuck threshold (hours). "At once" is as soon as the server has noticed the closed
    // connection, which on a loaded machine can take a moment after the kill.
    let noticed_by = Instant::now() + Duration::from_secs(10);
    let stuck = loop {
        let stuck = unstick_dry_run(&env, &now);
        if !stuck["executions"].as_array().unwrap().is_empty() || Instant::now() > noticed_by {
            break stuck;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let executions = stuck["executions"].as_array().unwrap();
    assert!(!executions.is_empty(), "{stuck}");
    for execution in executions {
        assert_eq!(execution["reason"], "session_gone", "{execution}");
    }
    assert_ok(&run(&env, &caracas(24, 10, 6), &args), "the next run");
    assert_days_complete(&sim, &db, 3, &["2025-11-23"]);
    assert_eq!(duplicated_keys(&db), 0);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'"
        ),
        0
    );
    assert!(
        scalar(
            &db,
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'fallido' AND error_tipo = 'interrumpido' \
             AND error_mensaje LIKE '%database session is gone%'"
        ) > 0
    );
}

#[test]
fn a_server_that_drops_the_connection_mid_run_is_one_line_exit_3_and_the_next_run_recovers() {
    let sim = sim(&["*:ventas:latency=1500ms"], 300);
    let db = TestDatabase::new();
    let env = pg_env(&sim, 2, &db);
    let now = caracas(24, 10, 5);
    let args = ["--tipo", "ventas", "--full", "--date", "2025-11-23"];
    migrate(&env);
    let child = spawn_run(&env, &now, &args);
    assert!(wait_for_in_progress(&db, Duration::from_secs(20)) > 0);
    // What a server restart or a failover does to the runner's session.
    let ended = scalar(
        &db,
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name LIKE 'klk-etl run%' AND datname = current_database() \
         AND pid <> pg_backend_pid()) t",
    );
    assert_eq!(ended, 1, "one runner session");
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    assert!(err.contains("connection"), "{err}");
    assert!(!err.contains(&crate::common::pg::password(&db.url)));
    assert_ok(&run(&env, &caracas(24, 10, 6), &args), "the next run");
    assert_days_complete(&sim, &db, 2, &["2025-11-23"]);
    assert_eq!(duplicated_keys(&db), 0);
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'"
        ),
        0
    );
}

#[test]
fn past_max_runners_a_run_waits_then_exits_3_naming_the_holders() {
    let sim = sim(&[], 60);
    let db = TestDatabase::new();
    let env = env_on(
        &sim,
        1,
        &format!("[database]\nurl = \"{}\"\nmax_runners = 1", db.url),
    );
    migrate(&env);
    // A runner on another host holding the only slot.
    let mut holder = db.client();
    holder
        .batch_execute(
            "SET application_name = 'klk-etl run pid 4242 on other-host'; \
             SELECT pg_advisory_lock(hashtext('klk-etl:runner'), 0)",
        )
        .unwrap();
    let started = Instant::now();
    let out = run(&env, &caracas(24, 10, 5), &["--wait", "1s"]);
    let waited = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("database.max_runners = 1"), "{err}");
    assert!(
        err.contains("klk-etl run pid 4242 on other-host"),
        "holder not named: {err}"
    );
    assert!(waited >= Duration::from_secs(1), "did not wait: {waited:?}");
    assert_eq!(scalar(&db, "SELECT count(*) FROM etl_invocaciones"), 0);
    // The slot freed, the next run goes.
    drop(holder);
    assert_ok(&run(&env, &caracas(24, 10, 5), &["--wait", "5s"]), "run");
}

#[test]
fn executions_of_a_live_session_elsewhere_are_left_alone_and_of_a_gone_one_unstuck() {
    let sim = sim(&[], 60);
    let db = TestDatabase::new();
    let env = pg_env(&sim, 1, &db);
    migrate(&env);
    // A session that stays open (a runner on another host, mid-run) and one that ended.
    let mut live = db.client();
    let identity: String = live
        .query_one(
            "SELECT 'pg:' || pid || ':' || klk_epoch_us(backend_start AT TIME ZONE 'UTC') \
             FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    let gone = "pg:999999:1764000000000000";
    let now = caracas(24, 10, 5);
    let at = |minute| chrono::NaiveTime::from_hms_opt(9, minute, 0).unwrap();
    for (hora, proceso) in [(at(0), identity.as_str()), (at(30), gone)] {
        db.client()
            .execute(
                "INSERT INTO etl_ejecuciones (etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, \
                 fecha_desde, fecha_hasta, hora_desde, hora_hasta, estado, registros_extraidos, \
                 registros_cargados, modo, host, pid, proceso_id) \
                 VALUES ('ventas', 'tienda_01', 'PERIFERICO', '2025-11-24 10:04', '2025-11-24', \
                 '2025-11-24', $1::time, $1::time + interval '30 minutes', 'en_proceso', 0, 0, \
                 'incremental_30min', 'other-host', 77, $2)",
                &[&hora, &proceso],
            )
            .unwrap();
    }
    let stuck = unstick_dry_run(&env, &now);
    let executions = stuck["executions"].as_array().unwrap();
    assert_eq!(executions.len(), 1, "{stuck}");
    assert_eq!(executions[0]["reason"], "session_gone");
    assert_eq!(executions[0]["hora_desde"], "09:30:00");
    let out = env
        .cmd()
        .args(["--now", &now, "unstick", "--yes"])
        .output()
        .unwrap();
    assert_ok(&out, "unstick");
    let left: Vec<String> = db
        .client()
        .query(
            "SELECT proceso_id FROM etl_ejecuciones WHERE estado = 'en_proceso'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, vec![identity]);
    // (The live session stays open until here.)
    live.batch_execute("SELECT 1").unwrap();
}

/// SQL hooks written once for both engines: `getvariable('klk_...')`, cast to its type.
const PORTABLE_HOOKS: &str = r#"
[[hooks.after_window]]
name = "resumen"
tipo = "ventas"
sql = """
CREATE TABLE IF NOT EXISTS resumen_ventas (ubicacion_id VARCHAR, fecha DATE, desde TIME, hasta TIME,
    lineas BIGINT, declaradas BIGINT, evento VARCHAR, modo VARCHAR);
INSERT INTO resumen_ventas
SELECT getvariable('klk_store'), CAST(getvariable('klk_date') AS DATE),
       CAST(getvariable('klk_window_from') AS TIME), CAST(getvariable('klk_window_to') AS TIME),
       count(*), CAST(getvariable('klk_lines') AS BIGINT), getvariable('klk_event'), getvariable('klk_mode')
FROM ventas WHERE ejecucion_id = CAST(getvariable('klk_execution_id') AS BIGINT);
"""
[[hooks.after_run]]
name = "eco"
command = "true"
"#;

#[test]
fn sql_hooks_run_on_postgresql_with_the_window_s_values_as_on_duckdb() {
    let sim = sim(&[], 60);
    let db = TestDatabase::new();
    let mut resumen: Vec<Vec<Vec<String>>> = Vec::new();
    for database in [
        format!("database = \"{}\"", db.url),
        r#"database = "data/klk-etl.duckdb""#.to_string(),
    ] {
        let mut config = config_for(&sim, 2, "5s", &database);
        config.push_str(PORTABLE_HOOKS);
        let env = TestEnv::with_config(&config);
        for now in [caracas(24, 10, 5), caracas(24, 10, 35)] {
            let out = run(&env, &now, &["--tipo", "ventas", "--format", "json"]);
            assert_ok(&out, "run");
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            for hook in json["hooks"].as_array().unwrap() {
                assert!(hook["error"].is_null(), "{hook}");
            }
        }
        let out = env
            .cmd()
            .args([
                "--now",
                &caracas(24, 10, 36),
                "executions",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert_ok(&out, "executions");
        let executions: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let loaded: Vec<Vec<String>> = executions
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["estado"] == "exitoso")
            .map(|e| {
                [
                    &e["ubicacion_id"],
                    &e["fecha_desde"],
                    &e["registros_cargados"],
                ]
                .iter()
                .map(|v| v.to_string().trim_matches('"').to_string())
                .collect()
            })
            .collect();
        assert!(loaded.len() >= 4, "{executions}");
        let rows = if database.contains("duckdb") {
            assert!(env.path().join("data/klk-etl.duckdb").exists());
            let conn = env.connect();
            let mut stmt = conn
                .prepare(
                    "SELECT ubicacion_id, CAST(fecha AS VARCHAR), CAST(desde AS VARCHAR), CAST(hasta AS VARCHAR), \
                     CAST(lineas AS VARCHAR), CAST(declaradas AS VARCHAR), evento, modo FROM resumen_ventas ORDER BY ALL",
                )
                .unwrap();
            stmt.query_map([], |r| (0..8).map(|i| r.get::<_, String>(i)).collect())
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<Vec<String>>>()
        } else {
            assert!(!env.path().join("data").exists(), "a DuckDB file was made");
            db.client()
                .query(
                    "SELECT ubicacion_id, fecha::text, desde::text, hasta::text, lineas::text, declaradas::text, \
                     evento, modo FROM resumen_ventas ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| (0..8).map(|i| r.get::<_, String>(i)).collect())
                .collect()
        };
        // One row per sales window loaded, its lines counted by the hook as klk-etl declared.
        assert_eq!(rows.len(), loaded.len(), "{rows:?}");
        for row in &rows {
            assert_eq!(row[4], row[5], "{row:?}");
            assert_eq!(row[6], "after_window");
            assert!(
                loaded
                    .iter()
                    .any(|l| l[0] == row[0] && l[1] == row[1] && l[2] == row[4]),
                "{row:?} not in {loaded:?}"
            );
        }
        resumen.push(rows);
    }
    assert_eq!(resumen[0], resumen[1], "the same rows on both engines");
}

#[test]
fn an_sql_hook_on_postgresql_past_its_timeout_is_cancelled_and_rolled_back() {
    let sim = sim(&[], 60);
    let db = TestDatabase::new();
    let mut config = config_for(&sim, 1, "5s", &format!("database = \"{}\"", db.url));
    config.push_str(
        "[[hooks.after_run]]\nname = \"lento\"\ntimeout = \"1s\"\n\
         sql = \"CREATE TABLE lento AS SELECT 1 AS x; SELECT pg_sleep(60)\"\n\
         [[hooks.after_run]]\nname = \"roto\"\nsql = \"SELECT * FROM no_existe\"\n",
    );
    let env = TestEnv::with_config(&config);
    let started = Instant::now();
    let out = run(
        &env,
        &caracas(24, 10, 5),
        &["--tipo", "ventas", "--format", "json"],
    );
    let took = started.elapsed();
    assert_ok(&out, "run");
    assert!(took < Duration::from_secs(15), "{took:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hooks = json["hooks"].as_array().unwrap();
    let error = |name: &str| {
        hooks.iter().find(|h| h["nombre"] == name).unwrap()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        error("lento").contains("timed out after 1s (stopped)"),
        "{hooks:?}"
    );
    assert!(
        error("roto").contains("SQL failed:") && error("roto").contains("no_existe"),
        "{hooks:?}"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'lento'"
        ),
        0,
        "rolled back"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()"
        ),
        0,
        "the statement was cancelled on the server"
    );
    // Recorded in the server's database; the loads untouched.
    assert_eq!(scalar(&db, "SELECT sum(fallos) FROM etl_hooks"), 2);
    assert!(
        scalar(
            &db,
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'exitoso'"
        ) > 0
    );
}
