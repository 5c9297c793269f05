//! health, Prometheus metrics and alerts, through the real binary, real DuckDB files, the
//! simulator and a local webhook receiver on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Exec, TestEnv};
use klk_etl::sim::{FaultRule, SimData, SimHandle, SimOptions, SimStore, Simulator};

fn caracas(hh: u32, mm: u32) -> String {
    let local = chrono::NaiveDate::from_ymd_opt(2025, 11, 24)
        .unwrap()
        .and_hms_opt(hh, mm, 0)
        .unwrap();
    (local + chrono::Duration::hours(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn sim_on(port: u16, faults: &[&str]) -> SimHandle {
    let options = SimOptions {
        port,
        data: SimData {
            seed: 5,
            lines_per_hour: 60,
            articles_per_warehouse: 20,
            stores: SimStore::chain(),
        },
        faults: faults
            .iter()
            .map(|f| f.parse::<FaultRule>().unwrap())
            .collect(),
    };
    for _ in 0..50 {
        if let Ok(sim) = Simulator::start(options.clone()) {
            return sim;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("simulator could not bind port {port}");
}

/// A webhook receiver: records every POST body; can be down (not listening).
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn down(port: u16) -> Receiver {
        Receiver {
            port,
            bodies: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        }
    }

    fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let bodies = Arc::clone(&self.bodies);
        let stop = Arc::clone(&self.stop);
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut length = 0;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                                break;
                            }
                            if let Some(value) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        bodies
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&body).into_owned());
                        let mut stream = stream;
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
    }

    fn texts(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                serde_json::from_str::<serde_json::Value>(b).unwrap()["text"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn env_with(sim_port: u16, extra: &str) -> TestEnv {
    TestEnv::with_config(&format!(
        r#"database = "data/klk-etl.duckdb"
[api]
base_url = "http://127.0.0.1:{sim_port}"
connect_timeout = "1s"
read_timeout = "2s"
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
"#
    ))
}

#[test]
fn one_alert_per_transition_a_reminder_after_the_interval_and_delivery_after_an_outage() {
    let sim_port = Receiver::free_port();
    let mut sim = sim_on(sim_port, &["SUC001:ventas:500"]);
    let mut receiver = Receiver::down(Receiver::free_port());
    let env = env_with(
        sim_port,
        &format!(
            "[monitoring]\nsuccess_window = 3\n[alerts]\nwebhook_url = \"http://127.0.0.1:{}/hooks/T000/SECRET\"\nrealert_after = \"3h\"\ngap_age = \"2h\"\n",
            receiver.port
        ),
    );
    let run = |hh: u32, mm: u32| {
        let out = env
            .cmd()
            .args(["--now", &caracas(hh, mm), "run", "--tipo", "ventas"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !stderr.contains("SECRET"),
            "the webhook URL is a secret: {stderr}"
        );
        stderr
    };
    // Receiver down for the first three runs: the alerts wait in the outbox.
    for (hh, mm) in [(8, 5), (8, 35), (9, 5)] {
        let stderr = run(hh, mm);
        assert!(stderr.contains("not delivered yet"), "{stderr}");
    }
    assert!(receiver.texts().is_empty());
    receiver.up();
    // Ten runs in all with the same problem.
    for (hh, mm) in [
        (9, 35),
        (10, 5),
        (10, 35),
        (11, 5),
        (11, 35),
        (12, 5),
        (12, 35),
    ] {
        run(hh, mm);
    }
    // The problem stops.
    sim.stop();
    sim = sim_on(sim_port, &[]);
    for (hh, mm) in [(13, 5), (13, 35), (14, 5)] {
        run(hh, mm);
    }
    drop(sim);
    let texts = receiver.texts();
    let kinds: Vec<String> = texts
        .iter()
        .map(|t| {
            let head = t.split(':').next().unwrap().to_string();
            let what = if t.contains("success rate") {
                "rate"
            } else if t.contains("older than") {
                "old gap"
            } else if t.contains("gap") {
                "gap"
            } else {
                "other"
            };
            format!("{head} {what}")
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "KLK-ETL PROBLEM gap",
            "KLK-ETL PROBLEM rate",
            "KLK-ETL PROBLEM old gap",
            "KLK-ETL STILL (since 2025-11-24 08 gap",
            "KLK-ETL STILL (since 2025-11-24 08 rate",
            "KLK-ETL RECOVERED gap",
            "KLK-ETL RECOVERED old gap",
            "KLK-ETL RECOVERED rate",
        ],
        "{texts:#?}"
    );
    assert!(
        texts[0].contains("PERIFERICO") && texts[0].contains("api_error"),
        "{}",
        texts[0]
    );
    // The outbox lists them, without the secret.
    let listed = env
        .cmd()
        .args(["--now", &caracas(14, 6), "alerts", "--format", "json"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(!listed.contains("SECRET"));
    let rows: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 8);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| !r["entregada"].is_null())
    );
}

fn python() -> Option<String> {
    let candidate = std::env::var("KLK_ETL_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = std::process::Command::new(&candidate)
        .args(["-c", "import prometheus_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide Python's prometheus_client (KLK_ETL_PYTHON)"
    );
    eprintln!("note: prometheus_client not found; Prometheus format check skipped");
    None
}

#[test]
fn prometheus_output_parses_strictly_and_matches_gaps_and_metrics() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&[
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("10:00:00"),
            "2025-11-24 10:05:00",
        ),
        Exec::failed(
            "2025-11-24",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-24 10:35:00",
        ),
        Exec::ok(
            "2025-11-24",
            Some("10:30:00"),
            Some("15:30:00"),
            "2025-11-24 15:35:00",
        ),
        Exec::ok("2025-11-24", None, None, "2025-11-24 15:00:00").tipo("inventario"),
    ]);
    let out = env
        .at_now()
        .args(["metrics", "--format", "prometheus"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // The textfile is the same text, written atomically.
    env.at_now()
        .args(["metrics", "--textfile", "metrics.prom"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(env.path().join("metrics.prom")).unwrap(),
        text
    );

    let sample = |name: &str, store: &str, tipo: &str| -> f64 {
        let prefix = format!("{name}{{tipo=\"{tipo}\",store=\"{store}\",");
        text.lines()
            .find(|l| l.starts_with(&prefix))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .parse()
            .unwrap()
    };
    let gaps = env.json(&["gaps", "--store", "tienda_01", "--tipo", "ventas"]);
    assert_eq!(
        sample("klk_etl_open_gaps", "tienda_01", "ventas"),
        gaps.as_array().unwrap().len() as f64
    );
    assert_eq!(
        sample("klk_etl_oldest_gap_age_seconds", "tienda_01", "ventas"),
        gaps[0]["horas_desde_fallo"].as_f64().unwrap() * 3600.0
    );
    assert!((sample("klk_etl_success_ratio", "tienda_01", "ventas") - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        sample("klk_etl_rows_loaded_total", "tienda_01", "ventas"),
        200.0
    );
    assert_eq!(sample("klk_etl_lag_seconds", "tienda_01", "ventas"), 1800.0);
    assert_eq!(
        sample("klk_etl_inventory_age_seconds", "tienda_01", "inventario"),
        3600.0 - 2.5
    );

    let Some(python) = python() else { return };
    let parse = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, json\nfrom prometheus_client.parser import text_string_to_metric_families\n\
             fams = list(text_string_to_metric_families(sys.stdin.read()))\n\
             print(json.dumps({f.name: [f.type, len(f.samples)] for f in fams}))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = parse;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "strict parser rejected it: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let families: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The parser strips `_total` from counter family names.
    assert_eq!(families["klk_etl_executions"][0], "counter");
    assert_eq!(families["klk_etl_open_gaps"][0], "gauge");
    assert_eq!(families["klk_etl_health_status"][0], "gauge");
}

#[test]
fn health_follows_success_rate_thresholds_a_silent_cron_and_recovery() {
    // (Sales lag is not under test here: its thresholds are out of the way.)
    let thresholds = "[monitoring]\nsuccess_rate_warning = 90.0\nsuccess_rate_critical = 75.0\nlast_run_warning = \"1h\"\nlast_run_critical = \"2h\"\nlag_warning = \"12h\"\nlag_critical = \"24h\"\n";
    let env = TestEnv::with_config(&format!("{}{thresholds}", crate::common::TWO_STORES));
    env.migrate();
    // Ten runs of tienda_01 over the afternoon; 3 of them failed, all windows covered since.
    let mut rows = vec![Exec::ok("2025-11-24", None, None, "2025-11-24 15:50:00")];
    for i in 0..10u32 {
        let started = format!("2025-11-24 {:02}:05:00", 6 + i);
        let e = if [2, 5, 8].contains(&i) {
            Exec::failed("2025-11-24", Some("00:00:00"), Some("00:30:00"), &started)
        } else {
            Exec::ok("2025-11-24", Some("00:00:00"), Some("00:30:00"), &started)
        };
        rows.push(e);
    }
    env.insert(&rows);
    let record_run = |at: &str| {
        env.connect()
            .execute(
                "INSERT INTO etl_invocaciones (comando, tipos, inicio, fin, estado) VALUES ('run', 'ventas', CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), 'exitoso')",
                [at, at],
            )
            .unwrap();
    };
    record_run("2025-11-24 15:35:00");
    let health = |now: &str| {
        let out = env
            .cmd()
            .args(["--now", now, "health", "--format", "json"])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let check = |name: &str| {
            report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name)
                .map(|c| c["status"].as_str().unwrap().to_string())
                .unwrap()
        };
        (
            out.status.code(),
            report["status"].as_str().unwrap().to_string(),
            check("success_rate"),
            check("last_run"),
        )
    };
    // The last 10 executions of tienda_01 are the ten runs: 70 % is under 75 %: CRITICAL.
    let (code, status, rate, last_run) = health(crate::common::NOW);
    assert_eq!(
        (code, status.as_str(), rate.as_str(), last_run.as_str()),
        (Some(2), "CRITICAL", "CRITICAL", "OK")
    );
    let text = env.at_now().arg("health").output().unwrap();
    let first_line = String::from_utf8_lossy(&text.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        first_line.starts_with("KLK-ETL CRITICAL - "),
        "{first_line}"
    );
    assert!(
        first_line.contains("last run 25 min ago") && first_line.contains(" | "),
        "{first_line}"
    );

    // With a critical threshold at 70 %, the same history is a WARNING.
    let lenient = std::fs::read_to_string(env.path().join("klk-etl.toml"))
        .unwrap()
        .replace(
            "success_rate_critical = 75.0",
            "success_rate_critical = 70.0",
        );
    std::fs::write(env.path().join("klk-etl.toml"), lenient).unwrap();
    assert_eq!(health(crate::common::NOW).2, "WARNING");

    // Cron stops: 2 h 25 min after the last run, CRITICAL whatever else.
    assert_eq!(health(&caracas(18, 0)).3, "CRITICAL");

    // Runs resume and succeed: back to OK.
    let mut later = Vec::new();
    for i in 0..10u32 {
        later.push(Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("00:30:00"),
            &format!("2025-11-24 18:{:02}:00", i * 5),
        ));
    }
    env.insert(&later);
    record_run("2025-11-24 18:35:00");
    let (code, status, rate, last_run) = health(&caracas(18, 40));
    assert_eq!((rate.as_str(), last_run.as_str()), ("OK", "OK"));
    assert_eq!((code, status.as_str()), (Some(0), "OK"), "every check OK");
}

#[test]
fn health_of_an_unusable_database_is_unknown() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join("data")).unwrap();
    std::fs::write(env.db_path(), "not a database").unwrap();
    let out = env.cmd().arg("health").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("KLK-ETL UNKNOWN - "));
}

#[test]
fn a_silent_cron_is_an_alert_and_a_dry_run_sends_and_records_nothing() {
    let env = TestEnv::with_config(&format!(
        "{}\n[alerts]\nwebhook_url = \"http://127.0.0.1:9/hooks/SECRET\"\n",
        crate::common::TWO_STORES
    ));
    env.migrate();
    env.connect()
        .execute(
            "INSERT INTO etl_invocaciones (comando, tipos, inicio, fin, estado) VALUES ('run', 'ventas', TIMESTAMP '2025-11-24 13:00', TIMESTAMP '2025-11-24 13:01', 'exitoso')",
            [],
        )
        .unwrap();
    let out = env
        .at_now()
        .args(["alerts", "check", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("KLK-ETL PROBLEM: cron silent") && text.contains("3.0 h ago"),
        "{text}"
    );
    assert!(!text.contains("SECRET"));
    let queued: i64 = env
        .connect()
        .query_row("SELECT count(*) FROM etl_alertas", [], |r| r.get(0))
        .unwrap();
    assert_eq!(queued, 0, "a dry run records nothing");
    // For real: queued, the webhook is unreachable, the error says so without the URL.
    let out = env.at_now().args(["alerts", "check"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("failed 1") && text.contains("webhook unreachable"),
        "{text}"
    );
    assert!(!text.contains("SECRET") && !String::from_utf8_lossy(&out.stderr).contains("SECRET"));
}

#[test]
fn the_command_channel_gets_each_transition_on_stdin() {
    let sim_port = Receiver::free_port();
    let sim = sim_on(sim_port, &["SUC002:ventas:500"]);
    let env = env_with(sim_port, "[alerts]\ncommand = \"cat >> alerts.txt\"\n");
    for (hh, mm) in [(9, 5), (9, 35)] {
        env.cmd()
            .args(["--now", &caracas(hh, mm), "run", "--tipo", "ventas"])
            .output()
            .unwrap();
    }
    drop(sim);
    let received = std::fs::read_to_string(env.path().join("alerts.txt")).unwrap();
    let problems: Vec<&str> = received
        .lines()
        .filter(|l| l.starts_with("KLK-ETL PROBLEM"))
        .collect();
    assert_eq!(
        problems.len(),
        2,
        "a gap and a success rate, once each: {received}"
    );
    assert!(problems.iter().all(|l| l.contains("BOSQUE")), "{received}");
}
