//! The runner under crashes, overlap and many failing stores: the real binary, real
//! DuckDB files and the simulator on 127.0.0.1.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use chrono::NaiveDateTime;
use klk_etl::sim::{FaultRule, SimData, SimHandle, SimOptions, SimStore, Simulator, truth};

fn caracas(day: u32, hh: u32, mm: u32) -> String {
    let local = chrono::NaiveDate::from_ymd_opt(2025, 11, day)
        .unwrap()
        .and_hms_opt(hh, mm, 0)
        .unwrap();
    (local + chrono::Duration::hours(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

/// `n` synthetic stores SUC001.. with one warehouse each, and the matching config.
fn setup(n: usize, faults: &[String], lines_per_hour: u32, volume: f64) -> (SimHandle, TestEnv) {
    let stores: Vec<SimStore> = (1..=n)
        .map(|i| {
            let mut store = SimStore::new(format!("SUC{i:03}"), vec![format!("W{i:03}")]);
            store.volume_multiplier = volume;
            store
        })
        .collect();
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 9,
            lines_per_hour,
            articles_per_warehouse: 30,
            stores,
        },
        faults: faults
            .iter()
            .map(|f| f.parse::<FaultRule>().expect("fault"))
            .collect(),
    })
    .unwrap();
    let mut config = format!(
        "database = \"data/klk-etl.duckdb\"\n[api]\nbase_url = \"{}\"\nconnect_timeout = \"1s\"\nread_timeout = \"5s\"\nmax_attempts = 2\nretry_max_elapsed = \"3s\"\n",
        sim.base_url()
    );
    for i in 1..=n {
        config.push_str(&format!(
            "[[stores]]\nid = \"t{i:03}\"\nname = \"STORE {i}\"\nsucursal = \"SUC{i:03}\"\nwarehouses = [\"W{i:03}\"]\n"
        ));
    }
    (sim, TestEnv::with_config(&config))
}

fn binary(env: &TestEnv) -> Command {
    env.process()
}

fn scalar(env: &TestEnv, sql: &str) -> i64 {
    env.connect().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn assert_matches_truth(
    env: &TestEnv,
    sim: &SimHandle,
    store: &str,
    sucursal: &str,
    from: &str,
    to: &str,
) {
    let conn = env.connect();
    let (lines, usd): (i64, f64) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(venta_total_usd), 0) FROM ventas WHERE ubicacion_id = ? AND fecha_hora >= ? AND fecha_hora < ?",
            duckdb::params![store, local(from), local(to)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let expected = truth::totals(&truth::sales_lines(
        sim.data(),
        sucursal,
        local(from),
        local(to),
    ));
    assert_eq!(lines as usize, expected.lines, "{store} line count");
    assert!(
        (usd - expected.venta_total_usd).abs() < 0.01,
        "{store} USD {usd} vs {}",
        expected.venta_total_usd
    );
}

#[test]
fn kill_9_at_any_point_then_run_again_loses_and_duplicates_nothing() {
    // Whole days of two stores (about 23,000 lines each), so the kills land in every phase:
    // fetch, parse, load, commit.
    let (sim, env) = setup(2, &[], 240, 4.0);
    env.cmd().args(["db", "migrate"]).assert().success();
    let now = caracas(24, 12, 0);
    let mut killed_in_flight = 0;
    for (i, delay_ms) in [80u64, 200, 350, 500, 700, 1000].into_iter().enumerate() {
        let day = format!("2025-11-{}", 17 + i);
        let mut child = binary(&env)
            .args([
                "--now",
                &now,
                "run",
                "--tipo",
                "ventas",
                "--full",
                "--date",
                &day,
                "--no-recover",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        if !child.wait().unwrap().success() {
            killed_in_flight += 1;
        }
        // The database opens cleanly; the next run closes what the dead one left open and
        // loads the day again.
        let out = binary(&env)
            .args([
                "--now",
                &now,
                "run",
                "--tipo",
                "ventas",
                "--full",
                "--date",
                &day,
                "--no-recover",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "after kill at {delay_ms} ms: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            scalar(
                &env,
                "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'"
            ),
            0,
            "no execution left open (kill at {delay_ms} ms)"
        );
        assert_eq!(
            scalar(
                &env,
                "SELECT count(*) FROM (SELECT 1 FROM ventas GROUP BY ubicacion_id, numero_factura, linea HAVING count(*) > 1)"
            ),
            0
        );
        let next_day = format!("2025-11-{} 00:00", 18 + i);
        for (store, sucursal) in [("t001", "SUC001"), ("t002", "SUC002")] {
            assert_matches_truth(
                &env,
                &sim,
                store,
                sucursal,
                &format!("{day} 00:00"),
                &next_day,
            );
        }
    }
    assert!(
        killed_in_flight >= 4,
        "most kills must land while the run was working ({killed_in_flight})"
    );
}

#[test]
fn ventas_and_inventario_runs_at_once_with_readers_in_a_loop_all_complete() {
    let faults = vec!["*:*:latency=300ms".to_string()];
    let (sim, env) = setup(6, &faults, 240, 1.0);
    env.cmd().args(["db", "migrate"]).assert().success();
    let now = caracas(24, 10, 5);
    let start = |tipo: &str| {
        binary(&env)
            .args(["--now", &now, "run", "--tipo", tipo, "--jobs", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let ventas = start("ventas");
    let inventario = start("inventario");
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut reads = 0;
    while Instant::now() < deadline {
        for args in [vec!["gaps"], vec!["status"], vec!["metrics"]] {
            let out = binary(&env)
                .args(["--now", &now])
                .args(&args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            reads += 1;
        }
    }
    for child in [ventas, inventario] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(reads >= 6, "{reads}");
    assert_eq!(
        scalar(
            &env,
            "SELECT count(*) FROM etl_ejecuciones WHERE estado <> 'exitoso'"
        ),
        0
    );
    assert_eq!(
        scalar(
            &env,
            "SELECT count(*) FROM etl_ejecuciones WHERE etl_tipo = 'inventario'"
        ),
        6
    );
    assert_eq!(scalar(&env, "SELECT count(*) FROM inventario"), 6 * 30);
    for i in 1..=6 {
        assert_matches_truth(
            &env,
            &sim,
            &format!("t{i:03}"),
            &format!("SUC{i:03}"),
            "2025-11-24 09:30",
            "2025-11-24 10:00",
        );
    }
}

#[test]
fn twenty_five_stores_with_ten_failing_converge_within_a_few_runs_after_the_faults_stop() {
    // Ten stores fail their first six requests (three runs of two attempts each).
    let faults: Vec<String> = (1..=10)
        .map(|i| format!("SUC{:03}:ventas:503:1-6", i * 2))
        .collect();
    let (sim, env) = setup(25, &faults, 120, 1.0);
    let mut open_after = Vec::new();
    for (hh, mm) in [(8, 5), (8, 35), (9, 5), (9, 35), (10, 5), (10, 35), (11, 5)] {
        let started = Instant::now();
        let out = binary(&env)
            .args([
                "--now",
                &caracas(24, hh, mm),
                "run",
                "--tipo",
                "ventas",
                "--jobs",
                "8",
                "--recovery-budget",
                "20s",
            ])
            .output()
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a run took {:?}",
            started.elapsed()
        );
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let gaps = binary(&env)
            .args([
                "--now",
                &caracas(24, hh, mm + 1),
                "gaps",
                "--tipo",
                "ventas",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        let gaps: serde_json::Value = serde_json::from_slice(&gaps.stdout).unwrap();
        open_after.push(gaps.as_array().unwrap().len());
    }
    // Failing for three runs, then every gap closes within the following runs.
    assert_eq!(open_after[0], 10, "{open_after:?}");
    assert_eq!(*open_after.last().unwrap(), 0, "{open_after:?}");
    for i in 1..=25 {
        assert_matches_truth(
            &env,
            &sim,
            &format!("t{i:03}"),
            &format!("SUC{i:03}"),
            "2025-11-24 07:30",
            "2025-11-24 10:30",
        );
    }
}

#[test]
fn readers_get_in_during_a_long_run_that_commits_without_pause() {
    const STORES: usize = 32;
    // Thirty-two store-days recovered whole with fast answers: results arrive closer
    // together than the run's linger, so the run would keep the file for its whole length.
    let (sim, env) = setup(STORES, &[], 1200, 1.0);
    env.cmd().args(["db", "migrate"]).assert().success();
    let now = caracas(25, 10, 5);
    let stores: Vec<String> = (1..=STORES).map(|i| format!("t{i:03}")).collect();
    let started = Instant::now();
    let mut recover = binary(&env)
        .args([
            "--now",
            &now,
            "recover",
            "--tipo",
            "ventas",
            "--date",
            "2025-11-24",
        ])
        .args(["--store", &stores.join(","), "--jobs", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reads = Vec::new();
    // Readers give up after `[serve] lock_timeout`'s default: each must get in while the run
    // goes on (a phase commits up to --jobs whole days, so a reader may wait for one).
    while recover.try_wait().unwrap().is_none() {
        let asked = Instant::now();
        let out = binary(&env)
            .args(["--now", &now, "--lock-timeout", "5s", "gaps"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "a reader was kept out for {:.1} s, {:.1} s into the run: {}",
            asked.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&out.stderr)
        );
        reads.push(asked.elapsed());
    }
    let out = recover.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_secs = started.elapsed().as_secs_f64();
    println!(
        "run {run_secs:.1} s; {} reads, slowest {:.2} s",
        reads.len(),
        reads
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
    );
    assert!(
        run_secs > 8.0,
        "the run must be long enough to matter: {run_secs:.1} s"
    );
    assert!(reads.len() >= 3, "{reads:?}");
    for i in 1..=STORES {
        assert_matches_truth(
            &env,
            &sim,
            &format!("t{i:03}"),
            &format!("SUC{i:03}"),
            "2025-11-24 00:00",
            "2025-11-25 00:00",
        );
    }
}
