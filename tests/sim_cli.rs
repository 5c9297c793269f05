//! `klk-etl sim` as an operator runs it: the real binary on an ephemeral port.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use assert_cmd::Command as AssertCommand;
use chrono::{NaiveDate, NaiveTime};
use klk_etl::klk::{Client, ClientOptions, RetryPolicy, SalesRequest, StockRequest};
use predicates::prelude::*;
use predicates::str::contains;

const BINARY: &str = env!("CARGO_BIN_EXE_klk-etl");

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/klk/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A running `klk-etl sim`, stopped with SIGTERM on drop.
struct RunningSim {
    child: Child,
    base_url: String,
}

impl RunningSim {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BINARY)
            .arg("sim")
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let base_url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base_url }
    }

    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        signal(&self.child, libc::SIGTERM);
        let status = self.child.wait().unwrap();
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        (status, stdout)
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            signal(&self.child, libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
}

fn post(base_url: &str, path: &str, body: &str) -> (u16, String) {
    let response = ureq::post(&format!("{base_url}{path}"))
        .set("Content-Type", "application/json")
        .send_string(body);
    match response {
        Ok(response) => (response.status(), response.into_string().unwrap()),
        Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap()),
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn serves_the_same_body_twice_and_stops_on_sigterm() {
    let sim = RunningSim::start(&["--seed", "5", "--lines-per-hour", "30"]);
    assert!(
        sim.base_url.starts_with("http://127.0.0.1:"),
        "{}",
        sim.base_url
    );
    let request = r#"{"sucursal": "SUC001", "fecha_desde": "2025-11-17", "fecha_hasta": "2025-11-17",
                      "hora_desde": "12:00", "hora_hasta": "12:30"}"#;
    let first = post(&sim.base_url, "/ventas", request);
    assert_eq!(first.0, 200);
    assert!(first.1.contains("\"ventas\":["));
    assert_eq!(post(&sim.base_url, "/ventas", request), first);
    let (status, stdout) = sim.terminate();
    assert!(status.success(), "{status:?}");
    assert_eq!(stdout, "", "nothing on stdout");
}

#[test]
fn a_scenario_file_scripts_faults_the_client_recovers_from() {
    let scenario = fixture("scenario.toml");
    let sim = RunningSim::start(&[
        "--scenario",
        &scenario,
        "--fault",
        "SUC001:ventas:error=closed:1",
    ]);
    let client = Client::new(ClientOptions {
        read_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_elapsed: Duration::from_secs(5),
        },
        ..ClientOptions::new(sim.base_url.clone())
    })
    .unwrap();
    let day = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
    let noon = SalesRequest::hours(
        "SUC003",
        day,
        NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
    );
    assert_eq!(
        client.fetch_sales(&noon).unwrap().attempts,
        3,
        "two 503s, then data"
    );
    assert_eq!(
        client
            .fetch_stock(&StockRequest::new("APP-TPF"))
            .unwrap()
            .attempts,
        2,
        "one reset"
    );
    let flagged = client
        .fetch_sales(&SalesRequest::days("SUC001", day, day))
        .unwrap_err();
    assert_eq!(flagged.error_tipo(), "api_error");
    assert_eq!(
        client
            .fetch_sales(&SalesRequest::days("SUC001", day, day))
            .unwrap()
            .attempts,
        1
    );
    assert_eq!(
        client
            .fetch_stock(&StockRequest::new("APP-TPF"))
            .unwrap()
            .items
            .len(),
        300,
        "articles_per_warehouse from the scenario"
    );
    let (status, _) = sim.terminate();
    assert!(status.success());
}

#[test]
fn bad_fault_rules_and_scenarios_are_usage_errors() {
    AssertCommand::new(BINARY)
        .args(["sim", "--port", "0", "--fault", "SUC001:ventas:teapot"])
        .assert()
        .code(2)
        .stderr(contains("unknown fault"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "faults = [\"SUC001:nowhere:500\"]\n").unwrap();
    AssertCommand::new(BINARY)
        .args(["sim", "--port", "0", "--scenario"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(contains("bad.toml").and(contains("unknown endpoint")));
    AssertCommand::new(BINARY)
        .args(["sim", "--port", "0", "--store-volume", "SUC999=10"])
        .assert()
        .code(2)
        .stderr(contains("unknown store SUC999"));
}
