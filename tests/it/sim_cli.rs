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

/// The distinct (numero_factura, linea) of a 200 `/ventas` answer.
fn sales_keys(
    base_url: &str,
    body: &serde_json::Value,
) -> std::collections::BTreeSet<(String, i64)> {
    let (status, text) = post(base_url, "/ventas", &body.to_string());
    assert_eq!(status, 200, "{body}: {text}");
    let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
    answer["ventas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["numero_factura"].as_str().unwrap().to_owned(),
                line["linea"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn last_hour(hasta: Option<&str>) -> serde_json::Value {
    let mut body = serde_json::json!({"sucursal": "SUC001", "fecha_desde": "2025-11-17",
                                      "fecha_hasta": "2025-11-17", "hora_desde": "23:00"});
    if let Some(hasta) = hasta {
        body["hora_hasta"] = serde_json::json!(hasta);
    }
    body
}

const LATE_EDGE_LINE: &str = "EDGE-251117-235959.8";

#[test]
fn bounds_and_edge_lines_come_from_the_scenario_and_flags_override_it() {
    use klk_etl::sim::{BoundSemantics, SimData, SimQuirks, SimStore, truth};
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("unkind.toml");
    std::fs::write(
        &scenario,
        "seed = 3\nlines_per_hour = 40\nbounds = \"between\"\nedge_lines = true\n\n\
         [[stores]]\nsucursal = \"SUC001\"\nwarehouses = [\"APP-TPF\"]\n",
    )
    .unwrap();
    let late = (LATE_EDGE_LINE.to_owned(), 1);

    let sim = RunningSim::start(&["--scenario", scenario.to_str().unwrap()]);
    let ending = sales_keys(&sim.base_url, &last_hour(Some("23:59:59")));
    let open = sales_keys(&sim.base_url, &last_hour(None));
    assert!(
        !ending.contains(&late),
        "between: a request ending 23:59:59 misses 23:59:59.8"
    );
    assert!(
        open.contains(&late),
        "no hora_hasta reaches the end of the day"
    );
    // The same as the truth of that scenario.
    let data = SimData {
        seed: 3,
        lines_per_hour: 40,
        stores: vec![SimStore::new("SUC001", vec!["APP-TPF".to_owned()])],
        ..SimData::default()
    };
    let quirks = SimQuirks {
        bounds: BoundSemantics::Between,
        edge_lines: true,
    };
    let day = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
    let request = SalesRequest::hours(
        "SUC001",
        day,
        NaiveTime::from_hms_opt(23, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(23, 59, 59).unwrap(),
    );
    let expected: std::collections::BTreeSet<(String, i64)> =
        truth::sales_for_request_with(&data, &quirks, &request)
            .into_iter()
            .map(|line| (line.numero_factura, line.linea))
            .collect();
    assert_eq!(ending, expected);
    let (status, _) = sim.terminate();
    assert!(status.success());

    let sim = RunningSim::start(&[
        "--scenario",
        scenario.to_str().unwrap(),
        "--bounds",
        "half-open",
    ]);
    let ending = sales_keys(&sim.base_url, &last_hour(Some("23:59:59")));
    assert!(ending.contains(&late), "--bounds overrides the scenario");
    assert_eq!(ending, sales_keys(&sim.base_url, &last_hour(None)));
    sim.terminate();

    let sim = RunningSim::start(&["--seed", "3", "--bounds", "exclusive"]);
    assert!(
        !sales_keys(&sim.base_url, &last_hour(None))
            .iter()
            .any(|(invoice, _)| invoice.starts_with("EDGE-")),
        "no edge lines without --edge-lines"
    );
    sim.terminate();
    let sim = RunningSim::start(&["--seed", "3", "--edge-lines"]);
    assert!(sales_keys(&sim.base_url, &last_hour(None)).contains(&late));
    sim.terminate();
}

#[test]
fn hide_and_ventas_dia_rules_from_the_command_line() {
    let sim = RunningSim::start(&[
        "--edge-lines",
        "--fault",
        "SUC001:ventas:hide:1@2025-11-17T23:59/2025-11-18T00:00",
        "--fault",
        "SUC001:ventas-dia:503",
    ]);
    let late = (LATE_EDGE_LINE.to_owned(), 1);
    assert!(
        !sales_keys(&sim.base_url, &last_hour(None)).contains(&late),
        "hidden at first"
    );
    assert!(
        sales_keys(&sim.base_url, &last_hour(None)).contains(&late),
        "then it arrives"
    );
    let whole_day =
        r#"{"sucursal": "SUC001", "fecha_desde": "2025-11-17", "fecha_hasta": "2025-11-17"}"#;
    assert_eq!(post(&sim.base_url, "/ventas", whole_day).0, 503);
    let (status, _) = sim.terminate();
    assert!(status.success());
}

#[test]
fn bad_bounds_and_windowless_data_rules_are_usage_errors() {
    AssertCommand::new(BINARY)
        .args(["sim", "--port", "0", "--bounds", "inclusive"])
        .assert()
        .code(2)
        .stderr(
            contains("inclusive")
                .and(contains("half-open"))
                .and(contains("exclusive-lower")),
        );
    AssertCommand::new(BINARY)
        .args(["sim", "--port", "0", "--fault", "SUC001:ventas:hide:1-2"])
        .assert()
        .code(2)
        .stderr(contains("hide needs @WINDOW"));
    AssertCommand::new(BINARY)
        .args([
            "sim",
            "--port",
            "0",
            "--fault",
            "SUC001:stock:change@2025-11-17",
        ])
        .assert()
        .code(2)
        .stderr(contains("endpoint stock"));
    let dir = tempfile::tempdir().unwrap();
    for (name, text, reason) in [
        ("bounds.toml", "bounds = \"inclusive\"\n", "inclusive"),
        ("edges.toml", "edge_lines = \"yes\"\n", "edge_lines"),
        (
            "hide.toml",
            "[[fault]]\naction = \"hide\"\n",
            "hide needs @WINDOW",
        ),
        (
            "change.json",
            r#"{"faults": ["*:ventas:change"]}"#,
            "change needs @WINDOW",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        AssertCommand::new(BINARY)
            .args(["sim", "--port", "0", "--scenario"])
            .arg(&path)
            .assert()
            .code(2)
            .stderr(contains(name).and(contains(reason)));
    }
}

#[test]
fn help_lists_the_bound_semantics_and_the_data_actions() {
    let output = AssertCommand::new(BINARY)
        .args(["sim", "--help"])
        .assert()
        .success();
    let help = String::from_utf8(output.get_output().stdout.clone()).unwrap();
    for needle in [
        "--bounds",
        "half-open",
        "between",
        "exclusive-lower",
        "exclusive",
        "truncated",
        "minutes",
        "--edge-lines",
        "hide",
        "change",
        "ventas-dia",
    ] {
        assert!(help.contains(needle), "sim --help lacks {needle}: {help}");
    }
}
