//! Reliability: the crash matrix. `klk-etl run` (and `recover`) is killed with SIGKILL at
//! deterministic points (a delay after spawn, the Nth request reaching the API, the
//! write-ahead log or the database file starting to grow), in every phase: start-up and
//! migration, unstick, extract, parse and load, commit, checkpoint, between stores,
//! recovery, inventory. After each kill the database must open, hold only lines whose
//! execution is `exitoso`, hold every line of every `exitoso` window (versus
//! `sim::truth`), and the next `run` must close what the dead one left `en_proceso`.
//! At the end of each chain every gap is recovered and the sales equal the truth.
//! SIGINT/SIGTERM end the executions in flight as `fallido`/`interrumpido` at once.
//!
//! `KLK_ETL_RELIABILITY=full` spreads the kill points about three times more densely.
//! `--nocapture` prints a line per category with the points that landed.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::TestEnv;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use klk_etl::sim::{
    Endpoint, FaultRule, SimData, SimHandle, SimOptions, SimStore, Simulator, truth,
};

fn full() -> bool {
    std::env::var("KLK_ETL_RELIABILITY").is_ok_and(|v| v == "full")
}

/// Delays from `from` to `to` (ms), `n` of them (three times more with the full setting).
fn spread(from: u64, to: u64, n: u64) -> Vec<u64> {
    let n = if full() { n * 3 } else { n }.max(2);
    (0..n).map(|i| from + (to - from) * i / (n - 1)).collect()
}

fn local(day: u32, hh: u32, mm: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 11, day)
        .unwrap()
        .and_hms_opt(hh, mm, 0)
        .unwrap()
}

/// Store-local (Caracas, UTC-4) time as the `--now` the binary takes.
fn now_arg(at: NaiveDateTime) -> String {
    (at + chrono::Duration::hours(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Api {
    /// The simulator without faults.
    Fast,
    /// The same data, with the faults that hold a run where it is killed.
    Slow,
    /// A port nothing listens on: every request is refused.
    Down,
}

#[derive(Clone, Copy, Debug)]
enum Anchor {
    /// Kill this long after spawning.
    AfterSpawn(u64),
    /// Kill `then` ms after the `nth` request of this run reached the API's log.
    Request {
        endpoint: Endpoint,
        nth: usize,
        then: u64,
    },
    /// Kill `then` ms after the write-ahead log reached `bytes` (a commit being written).
    Wal { bytes: u64, then: u64 },
    /// Kill `then` ms after the database file started to grow (a checkpoint).
    DbGrows { then: u64 },
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Anchor::AfterSpawn(ms) => write!(f, "spawn+{ms}ms"),
            Anchor::Request {
                endpoint,
                nth,
                then,
            } => write!(f, "{}#{nth}+{then}ms", endpoint.name()),
            Anchor::Wal { bytes, then } => write!(f, "wal>={bytes}B+{then}ms"),
            Anchor::DbGrows { then } => write!(f, "db-grows+{then}ms"),
        }
    }
}

struct StoreDef {
    id: String,
    sucursal: String,
}

/// A store's sales window `[from, to)`.
type WindowKey = (String, NaiveDateTime, NaiveDateTime);

/// An `exitoso` sales execution's store and window, as stored.
type ExecutionWindow = (
    String,
    NaiveDate,
    NaiveDate,
    Option<NaiveTime>,
    Option<NaiveTime>,
);

/// What happened at one kill point.
struct Point {
    anchor: String,
    /// The process was still running when SIGKILL arrived.
    landed: bool,
    /// Executions the dead process left `en_proceso`.
    left_open: usize,
}

/// One database, the simulators it talks to, and the truth they hold.
struct Lab {
    env: TestEnv,
    fast: SimHandle,
    slow: SimHandle,
    down_url: String,
    stores: Vec<StoreDef>,
    truth: Mutex<HashMap<WindowKey, (usize, f64)>>,
    points: Mutex<Vec<Point>>,
    category: &'static str,
    started: Instant,
}

struct LabSpec {
    stores: usize,
    lines_per_hour: u32,
    volume: f64,
    articles: u32,
    warehouses_per_store: usize,
    slow_faults: Vec<String>,
    /// Appended to the configuration, before the stores.
    extra_config: String,
}

impl Default for LabSpec {
    fn default() -> Self {
        LabSpec {
            stores: 2,
            lines_per_hour: 60,
            volume: 1.0,
            articles: 30,
            warehouses_per_store: 1,
            slow_faults: Vec::new(),
            extra_config: String::new(),
        }
    }
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

impl Lab {
    fn new(category: &'static str, spec: LabSpec) -> Lab {
        let sim_stores: Vec<SimStore> = (1..=spec.stores)
            .map(|i| {
                let warehouses = (0..spec.warehouses_per_store)
                    .map(|w| format!("W{i:03}{}", if w == 0 { "" } else { "-DEP" }))
                    .collect();
                let mut store = SimStore::new(format!("SUC{i:03}"), warehouses);
                store.volume_multiplier = spec.volume;
                store
            })
            .collect();
        let data = SimData {
            seed: 11,
            lines_per_hour: spec.lines_per_hour,
            articles_per_warehouse: spec.articles,
            stores: sim_stores.clone(),
        };
        let start = |faults: &[String]| {
            Simulator::start(SimOptions {
                port: 0,
                data: data.clone(),
                faults: faults
                    .iter()
                    .map(|f| f.parse::<FaultRule>().expect("fault rule"))
                    .collect(),
            })
            .expect("simulator")
        };
        let fast = start(&[]);
        let slow = start(&spec.slow_faults);
        let mut config = format!(
            "database = \"data/klk-etl.duckdb\"\n[api]\nbase_url = \"{}\"\nconnect_timeout = \"1s\"\nread_timeout = \"5s\"\nmax_attempts = 2\nretry_max_elapsed = \"2s\"\n",
            fast.base_url()
        );
        config.push_str(&spec.extra_config);
        let mut stores = Vec::new();
        for (i, store) in sim_stores.iter().enumerate() {
            let id = format!("t{:03}", i + 1);
            let warehouses: Vec<String> = store
                .warehouses
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect();
            config.push_str(&format!(
                "[[stores]]\nid = \"{id}\"\nname = \"STORE {}\"\nsucursal = \"{}\"\nwarehouses = [{}]\n",
                i + 1,
                store.sucursal,
                warehouses.join(", ")
            ));
            stores.push(StoreDef {
                id,
                sucursal: store.sucursal.clone(),
            });
        }
        Lab {
            env: TestEnv::with_config(&config),
            fast,
            slow,
            down_url: closed_port_url(),
            stores,
            truth: Mutex::new(HashMap::new()),
            points: Mutex::new(Vec::new()),
            category,
            started: Instant::now(),
        }
    }

    fn db(&self) -> PathBuf {
        self.env.db_path()
    }

    fn read_only(&self) -> duckdb::Connection {
        duckdb::Connection::open_with_flags(
            self.db(),
            duckdb::Config::default()
                .access_mode(duckdb::AccessMode::ReadOnly)
                .unwrap(),
        )
        .unwrap()
    }

    fn wal(&self) -> PathBuf {
        let mut name = self.db().into_os_string();
        name.push(".wal");
        PathBuf::from(name)
    }

    fn bin(&self, api: Api) -> Command {
        let mut cmd = self.env.process();
        match api {
            Api::Fast => {}
            Api::Slow => {
                cmd.env("KLK_ETL_API_URL", self.slow.base_url());
            }
            Api::Down => {
                cmd.env("KLK_ETL_API_URL", &self.down_url);
            }
        }
        cmd
    }

    fn sim(&self, api: Api) -> &SimHandle {
        match api {
            Api::Slow => &self.slow,
            _ => &self.fast,
        }
    }

    /// Runs to the end; exit 0 or 1 (some window failed) or 4 (API down) is acceptable.
    fn run(&self, api: Api, args: &[&str]) -> Output {
        let out = self.bin(api).args(args).output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1 | 4)),
            "[{}] {args:?} exited {:?}: {}",
            self.category,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A run that must succeed (the API is up, nothing is left to fail).
    fn run_clean(&self, args: &[&str]) {
        let out = self.run(Api::Fast, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "[{}] {args:?}: {}",
            self.category,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Spawns `args` against `api`, kills it with SIGKILL at `anchor`, reaps it and checks
    /// the database; returns the ids of the executions it left `en_proceso`.
    fn kill(&self, api: Api, args: &[&str], anchor: Anchor) -> Vec<i64> {
        let sim = self.sim(api);
        let endpoint_base = |endpoint: Endpoint| sim.request_count(endpoint, None);
        let base = match anchor {
            Anchor::Request { endpoint, .. } => endpoint_base(endpoint),
            _ => 0,
        };
        let db_size = || std::fs::metadata(self.db()).map(|m| m.len()).ok();
        let wal_size = || std::fs::metadata(self.wal()).map(|m| m.len()).unwrap_or(0);
        let db_base = db_size();
        let mut child = self
            .bin(api)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let spawned = Instant::now();
        let deadline = spawned + Duration::from_secs(60);
        let mut armed = false;
        let status: ExitStatus = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            let fire_after = match anchor {
                Anchor::AfterSpawn(ms) => {
                    (spawned.elapsed() >= Duration::from_millis(ms)).then_some(0)
                }
                Anchor::Request {
                    endpoint,
                    nth,
                    then,
                } => (endpoint_base(endpoint) >= base + nth).then_some(then),
                Anchor::Wal { bytes, then } => {
                    let size = wal_size();
                    // A log left by an earlier process is replayed and removed first.
                    if size < bytes {
                        armed = true;
                    }
                    (armed && size >= bytes).then_some(then)
                }
                Anchor::DbGrows { then } => {
                    (db_size().zip(db_base).is_some_and(|(now, was)| now > was)).then_some(then)
                }
            };
            if let Some(then) = fire_after {
                std::thread::sleep(Duration::from_millis(then));
                // SIGKILL (a zombie that already exited ignores it).
                let _ = child.kill();
                break child.wait().unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "[{}] {anchor} never happened for {args:?}",
                self.category
            );
            std::thread::sleep(Duration::from_micros(500));
        };
        let landed = status.signal() == Some(libc::SIGKILL);
        if !landed {
            assert!(
                matches!(status.code(), Some(0 | 1 | 4)),
                "[{}] {args:?} ended by itself with {status:?} before {anchor}",
                self.category
            );
        }
        let open = self.check(&format!("after SIGKILL at {anchor} of {args:?}"));
        self.points.lock().unwrap().push(Point {
            anchor: anchor.to_string(),
            landed,
            left_open: open.len(),
        });
        open
    }

    /// The database opens cleanly; sales lines exist only with their `exitoso` execution;
    /// every `exitoso` window holds exactly the simulator's lines; no line twice; each
    /// warehouse's stock comes from one execution and equals the simulator's. Returns the
    /// executions still `en_proceso`.
    fn check(&self, what: &str) -> Vec<i64> {
        if !self.db().exists() {
            // Killed before the file was created: nothing was written.
            return Vec::new();
        }
        // Read-only: a log left by a killed process stays for the next klk-etl to replay.
        let conn = duckdb::Connection::open_with_flags(
            self.db(),
            duckdb::Config::default()
                .access_mode(duckdb::AccessMode::ReadOnly)
                .unwrap(),
        )
        .unwrap_or_else(|e| {
            panic!(
                "[{}] {what}: the database does not open: {e}",
                self.category
            )
        });
        let has = |table: &str| -> bool {
            conn.query_row(
                "SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ?",
                [table],
                |r| r.get(0),
            )
            .unwrap()
        };
        if !(has("etl_ejecuciones") && has("ventas") && has("inventario")) {
            // Killed while creating or migrating the file: each migration is one
            // transaction, so only whole steps are there, and the next run finishes them.
            return Vec::new();
        }
        let count = |sql: &str| -> i64 {
            conn.query_row(sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("[{}] {what}: {sql}: {e}", self.category))
        };
        assert_eq!(
            count(
                "SELECT count(*) FROM ventas v WHERE NOT EXISTS \
                 (SELECT 1 FROM etl_ejecuciones e WHERE e.id = v.ejecucion_id AND e.estado = 'exitoso')"
            ),
            0,
            "[{}] {what}: sales lines whose execution is not exitoso",
            self.category
        );
        assert_eq!(
            count(
                "SELECT count(*) FROM (SELECT 1 FROM ventas GROUP BY ubicacion_id, numero_factura, linea HAVING count(*) > 1)"
            ),
            0,
            "[{}] {what}: duplicated sales lines",
            self.category
        );
        // Every successful sales window holds exactly what the API holds for it, at every
        // point (so no line loaded before was lost since).
        let windows: Vec<(ExecutionWindow, i64, f64)> = {
            let mut stmt = conn
                .prepare(
                    "WITH w AS (SELECT DISTINCT ubicacion_id, fecha_desde, fecha_hasta, hora_desde, hora_hasta, \
                         fecha_desde + coalesce(hora_desde, TIME '00:00') AS t0, \
                         CASE WHEN hora_hasta IS NULL OR hora_hasta = TIME '23:59:59' \
                              THEN fecha_hasta + INTERVAL 1 DAY ELSE fecha_hasta + hora_hasta END AS t1 \
                       FROM etl_ejecuciones WHERE etl_tipo = 'ventas' AND estado = 'exitoso') \
                     SELECT w.ubicacion_id, w.fecha_desde, w.fecha_hasta, w.hora_desde, w.hora_hasta, \
                            count(v.linea), coalesce(sum(v.venta_total_usd), 0) \
                     FROM w LEFT JOIN ventas v ON v.ubicacion_id = w.ubicacion_id \
                          AND v.fecha_hora >= w.t0 AND v.fecha_hora < w.t1 \
                     GROUP BY ALL",
                )
                .unwrap();
            stmt.query_map([], |r| {
                Ok((
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        for ((store, desde, hasta, hora_desde, hora_hasta), lines, usd) in windows {
            let from = desde.and_time(hora_desde.unwrap_or(NaiveTime::MIN));
            let to = match hora_hasta {
                Some(t) if t != NaiveTime::from_hms_opt(23, 59, 59).unwrap() => hasta.and_time(t),
                _ => hasta.succ_opt().unwrap().and_time(NaiveTime::MIN),
            };
            let expected = self.truth_of(&store, from, to);
            assert_eq!(
                lines as usize, expected.0,
                "[{}] {what}: {store} {from}..{to} exitoso but holds {lines} lines, the API {}",
                self.category, expected.0
            );
            assert!(
                (usd - expected.1).abs() < 0.01,
                "[{}] {what}: {store} {from}..{to} USD {usd} vs {}",
                self.category,
                expected.1
            );
        }
        // Stock: one snapshot per warehouse, from one successful execution, complete.
        let snapshots: Vec<(String, String, i64, i64, Option<String>)> = {
            let mut stmt = conn
                .prepare(
                    "SELECT i.ubicacion_id, i.almacen, count(*), count(DISTINCT i.ejecucion_id), any_value(e.estado) \
                     FROM inventario i LEFT JOIN etl_ejecuciones e ON e.id = i.ejecucion_id \
                     GROUP BY ALL",
                )
                .unwrap();
            stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        for (store, almacen, rows, executions, estado) in snapshots {
            assert_eq!(
                executions, 1,
                "[{}] {what}: {store}/{almacen} mixes snapshots",
                self.category
            );
            assert!(
                matches!(estado.as_deref(), Some("exitoso" | "parcial")),
                "[{}] {what}: {store}/{almacen} stock from an execution that is {estado:?}",
                self.category
            );
            assert_eq!(
                rows as usize,
                truth::stock_items(self.fast.data(), &almacen).len(),
                "[{}] {what}: {store}/{almacen} stock rows",
                self.category
            );
        }
        let mut stmt = conn
            .prepare("SELECT id FROM etl_ejecuciones WHERE estado = 'en_proceso' ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn truth_of(&self, store: &str, from: NaiveDateTime, to: NaiveDateTime) -> (usize, f64) {
        let key = (store.to_string(), from, to);
        if let Some(hit) = self.truth.lock().unwrap().get(&key) {
            return *hit;
        }
        let sucursal = &self
            .stores
            .iter()
            .find(|s| s.id == store)
            .unwrap_or_else(|| panic!("unknown store {store}"))
            .sucursal;
        let totals = truth::totals(&truth::sales_lines(self.fast.data(), sucursal, from, to));
        let value = (totals.lines, totals.venta_total_usd);
        self.truth.lock().unwrap().insert(key, value);
        value
    }

    /// After the run that followed a kill: nothing `en_proceso`, and what the dead process
    /// left open is now `fallido`/`interrumpido`.
    fn assert_closed(&self, left_open: &[i64], what: &str) {
        let open = self.check(what);
        assert!(
            open.is_empty(),
            "[{}] {what}: still en_proceso: {open:?}",
            self.category
        );
        let conn = self.read_only();
        for id in left_open {
            let (estado, tipo): (String, Option<String>) = conn
                .query_row(
                    "SELECT estado, error_tipo FROM etl_ejecuciones WHERE id = ?",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(
                (estado.as_str(), tipo.as_deref()),
                ("fallido", Some("interrumpido")),
                "[{}] {what}: execution {id} left open by the dead process",
                self.category
            );
        }
    }

    /// Recovers every remaining gap and checks that each store's sales, from its first
    /// window to its last success, equal the simulator's.
    fn converge(&self, at: NaiveDateTime) {
        let now = now_arg(at);
        self.run_clean(&[
            "--now",
            &now,
            "recover",
            "--ignore-backoff",
            "--tipo",
            "ventas",
        ]);
        let out = self
            .bin(Api::Fast)
            .args(["--now", &now, "gaps", "--tipo", "ventas", "--check"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "[{}] gaps left after recovering: {}",
            self.category,
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(self.check("after convergence").is_empty());
        let conn = self.read_only();
        for store in &self.stores {
            let span: Option<(NaiveDateTime, NaiveDateTime)> = conn
                .query_row(
                    "SELECT min(fecha_desde + coalesce(hora_desde, TIME '00:00')), \
                     max(CASE WHEN hora_hasta IS NULL OR hora_hasta = TIME '23:59:59' \
                         THEN fecha_hasta + INTERVAL 1 DAY ELSE fecha_hasta + hora_hasta END) \
                     FROM etl_ejecuciones WHERE etl_tipo = 'ventas' AND ubicacion_id = ? AND estado = 'exitoso'",
                    [&store.id],
                    |r| Ok(r.get::<_, Option<NaiveDateTime>>(0)?.zip(r.get::<_, Option<NaiveDateTime>>(1)?)),
                )
                .unwrap();
            let Some((from, to)) = span else { continue };
            let (lines, usd): (i64, f64) = conn
                .query_row(
                    "SELECT count(*), coalesce(sum(venta_total_usd), 0) FROM ventas \
                     WHERE ubicacion_id = ? AND fecha_hora >= ? AND fecha_hora < ?",
                    duckdb::params![store.id, from, to],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            let expected = self.truth_of(&store.id, from, to);
            assert_eq!(
                lines as usize, expected.0,
                "[{}] {} {from}..{to}: lines after convergence",
                self.category, store.id
            );
            assert!((usd - expected.1).abs() < 0.01);
        }
    }

    /// Prints the category's figures and checks enough kills landed while working.
    fn report(&self, min_landed_share: f64) -> (usize, usize) {
        let points = self.points.lock().unwrap();
        let landed = points.iter().filter(|p| p.landed).count();
        let left_open: usize = points.iter().map(|p| p.left_open).sum();
        println!(
            "crash matrix {:<34} {:>3} kill points, {:>3} landed while running, {:>3} executions left en_proceso and closed by the next run ({:.0} s)",
            self.category,
            points.len(),
            landed,
            left_open,
            self.started.elapsed().as_secs_f64()
        );
        if std::env::var("KLK_ETL_RELIABILITY_VERBOSE").is_ok() {
            for p in points.iter() {
                println!(
                    "    {:<28} landed={} left_open={}",
                    p.anchor, p.landed, p.left_open
                );
            }
        }
        assert!(
            landed as f64 >= min_landed_share * points.len() as f64,
            "[{}] only {landed} of {} kills landed while the process was working",
            self.category,
            points.len()
        );
        (points.len(), landed)
    }
}

/// Start-up, migration, unstick and planning: a delay after spawn, on a new file and on a
/// file with history; and a second kill during the run that cleans up after the first.
#[test]
fn sigkill_during_startup_migration_and_unstick() {
    // A new database file each time: killed while creating and migrating it.
    let lab = Lab::new("start-up (new file, migration)", LabSpec::default());
    for ms in spread(0, 150, 10) {
        let _ = std::fs::remove_dir_all(lab.env.path().join("data"));
        let now = now_arg(local(24, 10, 5));
        let open = lab.kill(
            Api::Fast,
            &["--now", &now, "run", "--tipo", "ventas"],
            Anchor::AfterSpawn(ms),
        );
        lab.run_clean(&[
            "--now",
            &now_arg(local(24, 10, 6)),
            "run",
            "--tipo",
            "ventas",
        ]);
        lab.assert_closed(
            &open,
            &format!("run after kill at spawn+{ms}ms of a new file"),
        );
    }
    lab.report(0.5);

    // A file with history: each cron slot's run is killed, the next minute's run completes.
    let lab = Lab::new(
        "start-up, unstick, plan (history)",
        LabSpec {
            slow_faults: vec!["*:ventas:latency=400ms".to_string()],
            ..LabSpec::default()
        },
    );
    let mut at = local(24, 6, 5);
    lab.run_clean(&["--now", &now_arg(at), "run"]);
    for ms in spread(10, 400, 14) {
        at += chrono::Duration::minutes(30);
        let open = lab.kill(
            Api::Fast,
            &["--now", &now_arg(at), "run"],
            Anchor::AfterSpawn(ms),
        );
        lab.run_clean(&["--now", &now_arg(at + chrono::Duration::minutes(1)), "run"]);
        lab.assert_closed(&open, &format!("run after kill at spawn+{ms}ms"));
    }
    // Twice in a row: the run that would close what the first left open is killed too,
    // at a point of its own start-up (unstick, planning, its first registrations).
    for ms in spread(20, 260, 6) {
        at += chrono::Duration::minutes(30);
        let first = lab.kill(
            Api::Slow,
            &["--now", &now_arg(at), "run", "--tipo", "ventas"],
            Anchor::Request {
                endpoint: Endpoint::Ventas,
                nth: 1,
                then: 0,
            },
        );
        let second = lab.kill(
            Api::Slow,
            &[
                "--now",
                &now_arg(at + chrono::Duration::minutes(1)),
                "run",
                "--tipo",
                "ventas",
            ],
            Anchor::AfterSpawn(ms),
        );
        lab.run_clean(&["--now", &now_arg(at + chrono::Duration::minutes(2)), "run"]);
        let both: Vec<i64> = first.into_iter().chain(second).collect();
        lab.assert_closed(
            &both,
            &format!("run after two kills (second at spawn+{ms}ms)"),
        );
    }
    lab.converge(at + chrono::Duration::minutes(3));
    lab.report(0.6);
}

/// Extract (a response body arriving slowly) and between stores (one store committed, the
/// next not yet fetched).
#[test]
fn sigkill_during_extract_and_between_stores() {
    let lab = Lab::new(
        "extract (body in flight)",
        LabSpec {
            stores: 3,
            slow_faults: vec!["*:ventas:trickle=1200ms".to_string()],
            ..LabSpec::default()
        },
    );
    let mut at = local(23, 6, 5);
    lab.run_clean(&["--now", &now_arg(at), "run", "--tipo", "ventas"]);
    for (i, then) in spread(0, 1000, 10).into_iter().enumerate() {
        at += chrono::Duration::minutes(30);
        let nth = 1 + i % 3;
        let open = lab.kill(
            Api::Slow,
            &[
                "--now",
                &now_arg(at),
                "run",
                "--tipo",
                "ventas",
                "--jobs",
                "3",
            ],
            Anchor::Request {
                endpoint: Endpoint::Ventas,
                nth,
                then,
            },
        );
        lab.run_clean(&[
            "--now",
            &now_arg(at + chrono::Duration::minutes(1)),
            "run",
            "--tipo",
            "ventas",
        ]);
        lab.assert_closed(&open, "run after a kill during extract");
    }
    lab.converge(at + chrono::Duration::minutes(2));
    lab.report(0.9);

    // One store at a time; the response of store k arrives, then the process dies while
    // committing it, registering store k+1, closing the file, or waiting for k+1.
    let lab = Lab::new(
        "between stores (jobs 1)",
        LabSpec {
            stores: 3,
            lines_per_hour: 240,
            slow_faults: vec!["*:ventas:latency=300ms".to_string()],
            ..LabSpec::default()
        },
    );
    let mut at = local(23, 6, 5);
    lab.run_clean(&["--now", &now_arg(at), "run", "--tipo", "ventas"]);
    for (i, then) in spread(0, 280, 12).into_iter().enumerate() {
        at += chrono::Duration::minutes(30);
        let nth = 1 + i % 2;
        let open = lab.kill(
            Api::Slow,
            &[
                "--now",
                &now_arg(at),
                "run",
                "--tipo",
                "ventas",
                "--jobs",
                "1",
            ],
            Anchor::Request {
                endpoint: Endpoint::Ventas,
                nth,
                then,
            },
        );
        lab.run_clean(&[
            "--now",
            &now_arg(at + chrono::Duration::minutes(1)),
            "run",
            "--tipo",
            "ventas",
        ]);
        lab.assert_closed(&open, "run after a kill between stores");
    }
    lab.converge(at + chrono::Duration::minutes(2));
    lab.report(0.8);
}

/// Parse and load, the commit (write-ahead log being written) and the checkpoint (the
/// database file growing), on whole days of a busy store.
#[test]
fn sigkill_during_load_commit_and_checkpoint() {
    let lab = Lab::new(
        "parse, load, commit, checkpoint",
        LabSpec {
            stores: 1,
            lines_per_hour: 120,
            volume: 6.0,
            ..LabSpec::default()
        },
    );
    let now = now_arg(local(24, 12, 0));
    let mut anchors: Vec<Anchor> = spread(0, 500, 10)
        .into_iter()
        .map(|then| Anchor::Request {
            endpoint: Endpoint::Ventas,
            nth: 1,
            then,
        })
        .collect();
    for bytes in [1, 4096, 65_536, 262_144, 1_048_576] {
        anchors.push(Anchor::Wal { bytes, then: 0 });
    }
    for then in spread(1, 30, 3) {
        anchors.push(Anchor::Wal { bytes: 1, then });
    }
    for then in spread(0, 40, 5) {
        anchors.push(Anchor::DbGrows { then });
    }
    // One past day per point (the full setting has about seventy).
    let first_day = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
    for (i, anchor) in anchors.into_iter().enumerate() {
        let day = (first_day + chrono::Days::new(i as u64)).to_string();
        let args = [
            "--now",
            &now,
            "run",
            "--tipo",
            "ventas",
            "--full",
            "--date",
            &day,
            "--no-recover",
        ];
        let open = lab.kill(Api::Fast, &args, anchor);
        lab.run_clean(&args);
        lab.assert_closed(&open, &format!("re-run of {day} after a kill at {anchor}"));
        let from = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .unwrap()
            .and_time(NaiveTime::MIN);
        let to = from + chrono::Duration::days(1);
        let conn = lab.read_only();
        let lines: i64 = conn
            .query_row(
                "SELECT count(*) FROM ventas WHERE fecha_hora >= ? AND fecha_hora < ?",
                duckdb::params![from, to],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(lines as usize, lab.truth_of("t001", from, to).0, "{day}");
    }
    lab.report(0.6);
}

/// Recovery of gaps: by the cron `run` (recoveries go first) and by an operator's
/// `recover`, killed while fetching or loading the gap windows.
#[test]
fn sigkill_during_recovery() {
    let thens = spread(0, 300, 14);
    // Two stores, one gap per store and day; each step closes about three: enough days
    // that every step finds gaps left to recover.
    let days = (thens.len() * 3 / 2).max(14) as u64;
    let lab = Lab::new(
        "recovery (run and recover)",
        LabSpec {
            stores: 2,
            slow_faults: vec!["*:ventas:latency=150ms".to_string()],
            extra_config: "[tracking]\nhorizon = \"120d\"\n".to_string(),
            ..LabSpec::default()
        },
    );
    let base = local(24, 6, 5);
    lab.run_clean(&["--now", &now_arg(base), "run", "--tipo", "ventas"]);
    // The re-pull of the last weeks failed (the API was down): whole-day gaps.
    let last = local(22, 0, 0).date();
    let first = (last - chrono::Days::new(days - 1)).to_string();
    let last = last.to_string();
    let out = lab.run(
        Api::Down,
        &[
            "--now",
            &now_arg(base),
            "run",
            "--tipo",
            "ventas",
            "--full",
            "--from",
            &first,
            "--to",
            &last,
            "--no-recover",
            "--jobs",
            "8",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    // Each step: a run (or an operator's recover) fetching gaps, one at a time and oldest
    // first, is killed; the next run completes and recovers two more.
    let mut at = base;
    for (i, then) in thens.into_iter().enumerate() {
        at = base + chrono::Duration::minutes(30 * (i as i64 + 1));
        let operator = i % 2 == 1;
        let now = now_arg(at);
        let args: Vec<&str> = if operator {
            vec!["--now", &now, "recover", "--tipo", "ventas", "--jobs", "1"]
        } else {
            vec!["--now", &now, "run", "--tipo", "ventas", "--jobs", "1"]
        };
        let open = lab.kill(
            Api::Slow,
            &args,
            Anchor::Request {
                endpoint: Endpoint::Ventas,
                nth: 1 + i % 2,
                then,
            },
        );
        lab.run_clean(&[
            "--now",
            &now_arg(at + chrono::Duration::minutes(1)),
            "run",
            "--tipo",
            "ventas",
            "--max-gaps",
            "2",
        ]);
        lab.assert_closed(&open, "run after a kill during recovery");
    }
    let recovered: i64 = lab
        .read_only()
        .query_row(
            "SELECT count(*) FROM etl_ejecuciones WHERE modo = 'recuperacion' AND estado = 'exitoso'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        recovered >= 20,
        "gaps were recovered between the kills ({recovered})"
    );
    lab.converge(at + chrono::Duration::minutes(2));
    lab.report(0.8);
}

/// Stock snapshots: killed while fetching, replacing the snapshot, committing.
#[test]
fn sigkill_during_inventory() {
    let lab = Lab::new(
        "inventario (snapshot replace)",
        LabSpec {
            stores: 2,
            articles: 3000,
            warehouses_per_store: 2,
            ..LabSpec::default()
        },
    );
    let mut at = local(24, 6, 5);
    lab.run_clean(&["--now", &now_arg(at), "run", "--tipo", "inventario"]);
    let mut anchors: Vec<Anchor> = spread(0, 250, 6)
        .into_iter()
        .map(|then| Anchor::Request {
            endpoint: Endpoint::Stock,
            nth: 2,
            then,
        })
        .collect();
    anchors.push(Anchor::Wal { bytes: 1, then: 0 });
    anchors.push(Anchor::Wal {
        bytes: 65_536,
        then: 0,
    });
    anchors.push(Anchor::DbGrows { then: 0 });
    for anchor in anchors {
        at += chrono::Duration::minutes(30);
        let open = lab.kill(
            Api::Fast,
            &[
                "--now",
                &now_arg(at),
                "run",
                "--tipo",
                "inventario",
                "--jobs",
                "2",
            ],
            anchor,
        );
        lab.run_clean(&[
            "--now",
            &now_arg(at + chrono::Duration::minutes(1)),
            "run",
            "--tipo",
            "inventario",
        ]);
        lab.assert_closed(&open, &format!("inventory run after a kill at {anchor}"));
        let conn = lab.read_only();
        let warehouses: i64 = conn
            .query_row(
                "SELECT count(DISTINCT (ubicacion_id, almacen)) FROM inventario",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(warehouses, 4, "every warehouse has its snapshot");
    }
    lab.report(0.6);
}

/// SIGINT and SIGTERM: the executions in flight end `fallido`/`interrumpido` at once, what
/// was already committed stays, the exit code is 1, and the next run recovers the windows.
/// A second signal ends the process at once (exit 130); the next run cleans up after it.
#[test]
fn sigint_and_sigterm_close_every_execution_in_flight_at_once() {
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let lab = Lab::new(
            "signals",
            LabSpec {
                stores: 4,
                // Three stores hang; the first answers.
                slow_faults: vec![
                    "SUC002:ventas:hang".to_string(),
                    "SUC003:ventas:hang".to_string(),
                    "SUC004:ventas:hang".to_string(),
                ],
                ..LabSpec::default()
            },
        );
        std::fs::write(
            lab.env.path().join("klk-etl.toml"),
            std::fs::read_to_string(lab.env.path().join("klk-etl.toml"))
                .unwrap()
                .replace("read_timeout = \"5s\"", "read_timeout = \"60s\""),
        )
        .unwrap();
        let at = local(24, 10, 5);
        for command in ["run", "recover"] {
            let now = now_arg(at);
            let args: Vec<&str> = if command == "run" {
                vec!["--now", &now, "run", "--tipo", "ventas", "--jobs", "4"]
            } else {
                vec![
                    "--now",
                    &now,
                    "recover",
                    "--store",
                    "t001,t002,t003,t004",
                    "--date",
                    "2025-11-24",
                    "--from",
                    "08:00",
                    "--to",
                    "09:00",
                    "--jobs",
                    "4",
                ]
            };
            let before = lab.slow.request_count(Endpoint::Ventas, None);
            let child = lab
                .bin(Api::Slow)
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // All four requests sent, and the answered one committed.
            let waiting = Instant::now();
            while lab.slow.request_count(Endpoint::Ventas, None) < before + 4 {
                assert!(
                    waiting.elapsed() < Duration::from_secs(20),
                    "requests not sent"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            let committed = || -> bool {
                let flags = duckdb::Config::default()
                    .access_mode(duckdb::AccessMode::ReadOnly)
                    .unwrap();
                // The run may be in a write phase: then ask again.
                duckdb::Connection::open_with_flags(lab.db(), flags)
                    .and_then(|conn| {
                        conn.query_row(
                            "SELECT estado = 'exitoso' FROM etl_ejecuciones \
                             WHERE ubicacion_id = 't001' ORDER BY id DESC LIMIT 1",
                            [],
                            |r| r.get(0),
                        )
                    })
                    .unwrap_or(false)
            };
            while !committed() {
                assert!(
                    waiting.elapsed() < Duration::from_secs(20),
                    "the answered window was never committed"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let sent = Instant::now();
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(child.id() as i32, signal) };
            let out = child.wait_with_output().unwrap();
            let took = sent.elapsed();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                took < Duration::from_secs(5),
                "{name} {command}: took {took:?}"
            );
            assert_eq!(out.status.code(), Some(1), "{name} {command}: {stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            let conn = lab.read_only();
            let mut stmt = conn
                .prepare(
                    "SELECT ubicacion_id, estado, error_tipo FROM etl_ejecuciones ORDER BY id DESC LIMIT 4",
                )
                .unwrap();
            let mut rows: Vec<(String, String, Option<String>)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            assert_eq!(
                rows.iter()
                    .map(|(s, e, t)| (s.as_str(), e.as_str(), t.as_deref()))
                    .collect::<Vec<_>>(),
                vec![
                    ("t001", "exitoso", None),
                    ("t002", "fallido", Some("interrumpido")),
                    ("t003", "fallido", Some("interrumpido")),
                    ("t004", "fallido", Some("interrumpido")),
                ],
                "{name} {command}: {stderr}"
            );
            drop(stmt);
            drop(conn);
            assert!(lab.check(&format!("after {name} of {command}")).is_empty());
        }
        // A second signal ends the process at once, even while the first is being handled
        // (here the clean-up waits for the database, which this test holds).
        let before = lab.slow.request_count(Endpoint::Ventas, None);
        let mut child = lab
            .bin(Api::Slow)
            .args([
                "--now",
                &now_arg(at),
                "run",
                "--tipo",
                "ventas",
                "--jobs",
                "4",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let waiting = Instant::now();
        while lab.slow.request_count(Endpoint::Ventas, None) < before + 3 {
            assert!(
                waiting.elapsed() < Duration::from_secs(20),
                "requests not sent"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let holder = loop {
            match duckdb::Connection::open(lab.db()) {
                Ok(conn) => break conn,
                Err(_) => {
                    assert!(
                        waiting.elapsed() < Duration::from_secs(20),
                        "database never free"
                    );
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        };
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            child.try_wait().unwrap().is_none(),
            "{name}: the first signal's clean-up waits for the database"
        );
        let sent = Instant::now();
        // SAFETY: as above.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(2),
            "{name} twice: {:?}",
            sent.elapsed()
        );
        assert_eq!(status.code(), Some(130), "{name} twice");
        drop(holder);
        let open = lab.check(&format!("after {name} twice"));
        lab.run_clean(&[
            "--now",
            &now_arg(at + chrono::Duration::minutes(30)),
            "run",
            "--tipo",
            "ventas",
        ]);
        lab.assert_closed(&open, &format!("run after {name} twice"));
        lab.converge(at + chrono::Duration::minutes(31));
        println!(
            "signals: {name} closes the windows in flight of run and recover as fallido/interrumpido at once (exit 1); a second {name} during the clean-up exits {:?} at once; the next run closes what it left",
            status.code()
        );
    }
}
