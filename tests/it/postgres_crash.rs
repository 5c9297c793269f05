//! Reliability on PostgreSQL: the crash matrix and the overlap soak with several runners.
//!
//! `klk-etl run` (and `recover`) is killed with SIGKILL at deterministic points (a delay
//! after spawn, the Nth sales request reaching the API plus a delay) in every phase: start-up
//! and migration of an empty database, unstick and planning, extract, load and commit,
//! between stores, recovery; some while a second runner works on the same server. After each
//! kill: `ventas` holds only lines of `exitoso` executions, every `exitoso` window holds all
//! of the simulator's lines, `unstick` sees every execution the dead runner left open as
//! gone (its session ended with it), and the next run closes them. At the end every day is
//! complete and no key is loaded twice.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use klk_etl::sim::{Endpoint, SimHandle, truth};

use crate::common::TestEnv;
use crate::common::pg::TestDatabase;
use crate::runner::{STORES, caracas, config_for, sim};

const STORE_COUNT: usize = 3;

/// The same data served fast and slow (each sales answer held), on one database.
struct Chain {
    fast: SimHandle,
    slow: SimHandle,
    db: TestDatabase,
    fast_env: TestEnv,
    slow_env: TestEnv,
    landed: usize,
}

impl Chain {
    fn new(latency_ms: u64) -> Chain {
        let fast = sim(&[], 300);
        let slow = sim(&[&format!("*:ventas:latency={latency_ms}ms")], 300);
        let db = TestDatabase::new();
        let database = format!("database = \"{}\"", db.url);
        Chain {
            fast_env: TestEnv::with_config(&config_for(&fast, STORE_COUNT, "5s", &database)),
            slow_env: TestEnv::with_config(&config_for(&slow, STORE_COUNT, "5s", &database)),
            fast,
            slow,
            db,
            landed: 0,
        }
    }

    fn spawn(&self, now: &str, command: &[&str]) -> Child {
        self.slow_env
            .process()
            .args(["--now", now])
            .args(command)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn")
    }

    fn sales_requests(&self) -> usize {
        self.slow
            .requests()
            .iter()
            .filter(|r| r.endpoint == Some(Endpoint::Ventas))
            .count()
    }

    /// Spawns `command` on the slow API (with `companion`s: more runners at the same time,
    /// not killed), kills the first at `anchor`, lets the others finish, checks.
    fn kill(&mut self, now: &str, command: &[&str], anchor: Anchor, companions: usize) {
        let requests_before = self.sales_requests();
        let started = Instant::now();
        let mut child = self.spawn(now, command);
        let others: Vec<Child> = (0..companions).map(|_| self.spawn(now, command)).collect();
        let deadline = started + Duration::from_secs(10);
        loop {
            let due = match anchor {
                Anchor::AfterSpawn(ms) => started.elapsed() >= Duration::from_millis(ms),
                Anchor::Request { nth, .. } => self.sales_requests() - requests_before >= nth,
            };
            if due || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Anchor::Request { then, .. } = anchor {
            std::thread::sleep(Duration::from_millis(then));
        }
        let running = child.try_wait().unwrap().is_none();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if running {
            self.landed += 1;
        }
        for mut other in others {
            let status = other.wait().unwrap();
            assert!(
                status.code().is_some_and(|c| c <= 1),
                "the runner beside the killed one at {anchor:?} ended {status:?}"
            );
        }
        self.check(&format!("{command:?} killed at {anchor:?} ({status:?})"));
        // Any host sees what the dead runner left open as gone, at once.
        if self.migrated() {
            let open =
                self.scalar("SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'");
            let out = self
                .fast_env
                .cmd()
                .args(["--now", now, "unstick", "--dry-run", "--format", "json"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let listed = listed["executions"].as_array().unwrap();
            assert_eq!(
                listed.len() as i64,
                open,
                "after the kill at {anchor:?}: {listed:?}"
            );
            assert!(listed.iter().all(|e| e["reason"] == "session_gone"));
        }
    }

    fn migrated(&self) -> bool {
        self.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'etl_ejecuciones'") > 0
    }

    fn scalar(&self, sql: &str) -> i64 {
        self.db.client().query_one(sql, &[]).unwrap().get(0)
    }

    /// A normal run on the fast API: it must close what the dead one left open.
    fn next_run(&self, now: &str, args: &[&str]) {
        let out = self
            .fast_env
            .cmd()
            .args(["--now", now, "run"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "next run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            self.scalar("SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'"),
            0,
            "the next run left executions open"
        );
        self.check("after the next run");
    }

    /// The invariants that hold whenever no runner is in the middle of a commit.
    fn check(&self, when: &str) {
        if !self.migrated() {
            return;
        }
        let orphans = self.scalar(
            "SELECT count(*) FROM ventas v LEFT JOIN etl_ejecuciones e ON e.id = v.ejecucion_id \
             WHERE e.estado IS DISTINCT FROM 'exitoso' AND e.estado IS DISTINCT FROM 'parcial'",
        );
        assert_eq!(
            orphans, 0,
            "{when}: lines of an execution that is not exitoso"
        );
        let windows: Vec<(String, NaiveDate, Option<NaiveTime>, Option<NaiveTime>)> = self
            .db
            .client()
            .query(
                "SELECT DISTINCT ubicacion_id, fecha_desde, hora_desde, hora_hasta FROM etl_ejecuciones \
                 WHERE etl_tipo = 'ventas' AND estado = 'exitoso'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        for (store, fecha, desde, hasta) in windows {
            let from = fecha.and_time(desde.unwrap_or(NaiveTime::MIN));
            let to = match hasta {
                Some(h) if h < NaiveTime::from_hms_opt(23, 59, 59).unwrap() => fecha.and_time(h),
                _ => (fecha + chrono::Duration::days(1)).and_time(NaiveTime::MIN),
            };
            let sucursal = STORES.iter().find(|s| s.0 == store).unwrap().2;
            let expected = truth::sales_lines(self.fast.data(), sucursal, from, to).len() as i64;
            let loaded: i64 = self
                .db
                .client()
                .query_one(
                    "SELECT count(*) FROM ventas WHERE ubicacion_id = $1 AND fecha_hora >= $2 AND fecha_hora < $3",
                    &[&store, &from, &to],
                )
                .unwrap()
                .get(0);
            assert_eq!(
                loaded, expected,
                "{when}: exitoso window {store} {from}..{to}"
            );
        }
    }

    /// Every day of `days` complete for every store, once each.
    fn assert_complete(&self, days: &[NaiveDate]) {
        for (id, _, sucursal, _) in &STORES[..STORE_COUNT] {
            for day in days {
                let from = day.and_time(NaiveTime::MIN);
                let to = from + chrono::Duration::days(1);
                let expected =
                    truth::sales_lines(self.fast.data(), sucursal, from, to).len() as i64;
                let loaded: i64 = self
                    .db
                    .client()
                    .query_one(
                        "SELECT count(*) FROM ventas WHERE ubicacion_id = $1 AND fecha_hora >= $2 AND fecha_hora < $3",
                        &[id, &from, &to],
                    )
                    .unwrap()
                    .get(0);
                assert_eq!(loaded, expected, "{id} {day}");
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Anchor {
    AfterSpawn(u64),
    /// `then` ms after the `nth` sales request of this spawn reached the API.
    Request {
        nth: usize,
        then: u64,
    },
}

fn full_days(d: &str) -> Vec<&str> {
    vec![
        "run", "--tipo", "ventas", "--full", "--date", d, "--jobs", "2",
    ]
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, d).unwrap()
}

fn local_now(at: NaiveDateTime) -> String {
    (at + chrono::Duration::hours(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn sigkill_at_thirty_four_points_on_postgresql_never_loses_or_doubles_a_line() {
    let mut total_landed = 0;

    // Start-up: connecting, migrating an empty database, unstick, planning. Each kill on a
    // database of its own, so that the migration itself is what is interrupted.
    for ms in [0, 15, 30, 45, 60, 80, 100, 130, 170, 220, 280, 350] {
        let mut chain = Chain::new(300);
        let now = caracas(24, 10, 5);
        chain.kill(&now, &full_days("2025-11-23"), Anchor::AfterSpawn(ms), 0);
        chain.next_run(
            &now,
            &["--tipo", "ventas", "--full", "--date", "2025-11-23"],
        );
        chain.assert_complete(&[day(23)]);
        total_landed += chain.landed;
    }
    println!("postgres crash matrix: start-up {total_landed} of 12 landed");

    // Extract, load and commit, between stores, on one chain of runs: each kill leaves what
    // it leaves, the next run closes it and the chain goes on.
    let mut chain = Chain::new(400);
    let mut at = NaiveDateTime::new(day(24), NaiveTime::from_hms_opt(0, 5, 0).unwrap());
    for (nth, then) in [
        (1, 0),
        (1, 200),
        (1, 390),
        (1, 420),
        (2, 380),
        (2, 450),
        (3, 100),
        (3, 410),
        (4, 395),
        (5, 0),
        (6, 405),
        (7, 200),
        (8, 430),
    ] {
        let now = local_now(at);
        let first = (at.date() - chrono::Duration::days(3))
            .format("%Y-%m-%d")
            .to_string();
        let last = (at.date() - chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        // Three days of three stores: nine sales requests, two at a time.
        let command = [
            "run", "--tipo", "ventas", "--full", "--from", &first, "--to", &last, "--jobs", "2",
        ];
        chain.kill(&now, &command, Anchor::Request { nth, then }, 0);
        chain.next_run(&now, &["--tipo", "ventas"]);
        at += chrono::Duration::minutes(30);
    }
    total_landed += chain.landed;
    println!(
        "postgres crash matrix: extract/load/commit {} of 13 landed",
        chain.landed
    );

    // With a second runner working beside the killed one on the same server.
    let mut pair = Chain::new(300);
    for (i, (nth, then)) in [(1, 100), (2, 320), (3, 10), (4, 290), (2, 150)]
        .into_iter()
        .enumerate()
    {
        let now = caracas(24, 10, 5 + i as u32);
        let command = [
            "run",
            "--tipo",
            "ventas",
            "--full",
            "--from",
            "2025-11-20",
            "--to",
            "2025-11-22",
        ];
        pair.kill(&now, &command, Anchor::Request { nth, then }, 1);
        pair.next_run(
            &now,
            &[
                "--tipo",
                "ventas",
                "--full",
                "--from",
                "2025-11-20",
                "--to",
                "2025-11-22",
            ],
        );
        pair.assert_complete(&[day(20), day(21), day(22)]);
    }
    total_landed += pair.landed;
    println!(
        "postgres crash matrix: beside a second runner {} of 5 landed",
        pair.landed
    );

    // Recovery (`recover --date`) killed mid-fetch and mid-load.
    let mut recovery = Chain::new(300);
    for (nth, then) in [(1, 50), (1, 310), (2, 290), (3, 0)] {
        let now = caracas(24, 11, 5);
        let command = [
            "recover",
            "--date",
            "2025-11-21",
            "--store",
            "tienda_01,tienda_08,tienda_17",
            "--tipo",
            "ventas",
        ];
        recovery.kill(&now, &command, Anchor::Request { nth, then }, 0);
        recovery.next_run(
            &now,
            &["--tipo", "ventas", "--full", "--date", "2025-11-21"],
        );
        recovery.assert_complete(&[day(21)]);
    }
    total_landed += recovery.landed;
    println!(
        "postgres crash matrix: recovery {} of 4 landed",
        recovery.landed
    );

    // The chain's end: every gap recovered; then the three days whole, no key twice.
    let end = local_now(NaiveDateTime::new(
        day(24),
        NaiveTime::from_hms_opt(8, 5, 0).unwrap(),
    ));
    for _ in 0..4 {
        chain.next_run(&end, &["--tipo", "ventas", "--max-gaps", "50"]);
    }
    let out = chain
        .fast_env
        .cmd()
        .args([
            "--now", &end, "gaps", "--tipo", "ventas", "--format", "json",
        ])
        .output()
        .unwrap();
    let gaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(gaps.as_array().map(Vec::len), Some(0), "gaps left: {gaps}");
    chain.next_run(
        &end,
        &[
            "--tipo",
            "ventas",
            "--full",
            "--from",
            "2025-11-21",
            "--to",
            "2025-11-23",
        ],
    );
    chain.assert_complete(&[day(21), day(22), day(23)]);
    assert_eq!(
        chain.scalar(
            "SELECT count(*) FROM (SELECT 1 FROM ventas GROUP BY ubicacion_id, numero_factura, linea \
             HAVING count(*) > 1) d"
        ),
        0
    );
    println!("postgres crash matrix: {total_landed} kill points landed while the runner ran");
    assert!(
        total_landed >= 30,
        "only {total_landed} kills landed while a runner ran"
    );
}

/// Cycles of three runners started together on incremental half hours, with faults on some
/// stores and one runner of each cycle killed: in the end every day is complete, every
/// window was fetched by one runner at a time, and nothing is left open.
#[test]
fn three_runners_every_half_hour_with_faults_and_kills_keep_every_line_once() {
    let faults = [
        "*:ventas:latency=150ms",
        "SUC002:ventas:500:1-3",
        "SUC005:ventas:reset:2-3",
    ];
    let sim = sim(&faults, 300);
    let clean = sim_clean();
    let db = TestDatabase::new();
    let env = TestEnv::with_config(&config_for(
        &sim,
        STORE_COUNT + 2,
        "5s",
        &format!("database = \"{}\"", db.url),
    ));
    let start = NaiveDateTime::new(day(24), NaiveTime::from_hms_opt(0, 5, 0).unwrap());
    let runs = |now: &str| -> Vec<Child> {
        (0..3)
            .map(|_| {
                env.process()
                    .args(["--now", now, "run", "--tipo", "ventas", "--jobs", "2"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect()
    };
    for cycle in 0..10 {
        let now = local_now(start + chrono::Duration::minutes(30 * cycle));
        let mut children = runs(&now);
        if cycle % 3 == 1 {
            std::thread::sleep(Duration::from_millis(250));
            children[0].kill().unwrap();
        }
        for mut child in children {
            child.wait().unwrap();
        }
    }
    // A last cycle after the faults, to recover what they left.
    let end = local_now(start + chrono::Duration::minutes(30 * 10));
    for mut child in runs(&end) {
        child.wait().unwrap();
    }
    let client = &mut db.client();
    let open: i64 = client
        .query_one(
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(open, 0);
    // The last cycle (05:05) loads up to its last settled slot.
    let from = day(24).and_time(NaiveTime::MIN);
    let to = day(24).and_time(NaiveTime::from_hms_opt(5, 0, 0).unwrap());
    for (id, _, sucursal, _) in &STORES[..STORE_COUNT + 2] {
        let expected = truth::sales_lines(clean.data(), sucursal, from, to).len() as i64;
        let loaded: i64 = client
            .query_one(
                "SELECT count(*) FROM ventas WHERE ubicacion_id = $1 AND fecha_hora >= $2 AND fecha_hora < $3",
                &[id, &from, &to],
            )
            .unwrap()
            .get(0);
        assert_eq!(loaded, expected, "{id} {from}..{to}");
    }
    let twice: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM ventas GROUP BY ubicacion_id, numero_factura, linea \
             HAVING count(*) > 1) d",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(twice, 0);
    // Within a cycle, each window was loaded by one runner only.
    let twice_in_a_cycle: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM etl_ejecuciones \
             WHERE etl_tipo = 'ventas' AND estado = 'exitoso' \
             GROUP BY ubicacion_id, fecha_desde, hora_desde, hora_hasta, \
                      floor(extract(epoch FROM fecha_inicio - $1) / 1800) \
             HAVING count(*) > 1) d",
            &[&start],
        )
        .unwrap()
        .get(0);
    assert_eq!(twice_in_a_cycle, 0, "a window loaded twice in one cycle");
}

/// The same data without faults: the truth the soak is compared with.
fn sim_clean() -> SimHandle {
    sim(&[], 300)
}
