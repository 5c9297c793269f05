//! Reliability: secrets. An API token, an extra header value (`[api.headers]`) and an
//! alert webhook URL set in the configuration (or the environment) never appear in stdout,
//! stderr, any `--format`, the database (its bytes and every text value of every table),
//! the write-ahead log, the lock files or the monitoring textfile: not when requests
//! succeed, not when the API fails or echoes the request back (headers included), not when
//! the webhook is down or refuses, not in `--dry-run`, not in configuration errors. The same
//! for the integrations' secrets: the SMTP password, proxy credentials (environment and
//! configuration), check-in URLs with keys, Slack/Teams/JSON webhook URLs and header values.

use crate::common::net;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use crate::common::TestEnv;
use klk_etl::sim::{FaultRule, SimData, SimOptions, SimStore, Simulator};

const TOKEN: &str = "tok-SECRET-7f3a9c2e51";
const API_KEY: &str = "key-SECRET-b41d99";
const HOOK_PATH: &str = "/services/T0001/B0001/hook-SECRET-c0ffee77";
/// Every secret contains this; nothing else does.
const MARK: &str = "SECRET";

fn now(hh: u32, mm: u32) -> String {
    format!("2025-11-24T{:02}:{mm:02}:00Z", hh + 4)
}

/// Fails the test if `text` holds any part of a secret.
fn assert_clean(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for secret in [TOKEN, API_KEY, HOOK_PATH, "hook-SECRET", MARK] {
        assert!(
            !text.contains(secret),
            "{what} shows a secret ({secret}):\n{}",
            text.lines()
                .filter(|l| l.contains(MARK))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A tiny HTTP server on 127.0.0.1 answering every request with `respond(request head)`.
fn serve(
    respond: impl Fn(&str) -> (u16, String) + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let respond = Arc::new(respond);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let respond = Arc::clone(&respond);
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let request = crate::common::read_request(&mut stream);
                let text = String::from_utf8_lossy(&request).into_owned();
                log.lock().unwrap().push(text.clone());
                let (status, body) = respond(&text);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (url, seen)
}

struct Secrets {
    env: TestEnv,
    outputs: usize,
}

impl Secrets {
    fn invoke(&mut self, extra_env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.env.cmd();
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        self.outputs += 1;
        let what = format!("{args:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(&format!("stdout of {what}"), &out.stdout);
        assert_clean(&format!("stderr of {what}"), &out.stderr);
        out
    }

    /// Every listing in every format.
    fn read_everything(&mut self, at: &str) {
        for format in ["table", "json", "csv"] {
            for args in [
                &["gaps"][..],
                &["status"],
                &["metrics", "--days", "3"],
                &["executions", "--limit", "50"],
                &["stores"],
                &["db", "info"],
                &["alerts", "--limit", "50"],
                &["run", "--dry-run"],
                &["recover", "--dry-run"],
                &["alerts", "check", "--dry-run"],
                &["unstick", "--dry-run"],
                &["purge", "--dry-run"],
            ] {
                let mut full = vec!["--now", at, "--format", format];
                full.extend_from_slice(args);
                self.invoke(&[], &full);
            }
        }
        self.invoke(&[], &["--now", at, "health"]);
    }

    /// The database's bytes, its write-ahead log, lock files and the textfile; and every
    /// value of every table, read through SQL (values may be compressed on disk).
    fn assert_files_clean(&self) {
        let mut stack = vec![self.env.path().to_path_buf()];
        let mut files = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.file_name().is_some_and(|n| n != "klk-etl.toml") {
                    files += 1;
                    assert_clean(&path.display().to_string(), &std::fs::read(&path).unwrap());
                }
            }
        }
        assert!(files >= 2, "the database and a lock file at least");
        let conn = self.env.connect();
        let tables: Vec<String> = {
            let mut stmt = conn
                .prepare("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert!(tables.len() >= 5, "{tables:?}");
        for table in tables {
            let hits: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM \"{table}\" t WHERE CAST(t AS VARCHAR) LIKE '%{MARK}%'"),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(hits, 0, "table {table} holds a secret");
        }
    }
}

fn config(api: &str, webhook: &str, textfile: &Path) -> String {
    format!(
        r#"database = "data/klk-etl.duckdb"
[api]
base_url = "{api}"
token = "{TOKEN}"
connect_timeout = "1s"
read_timeout = "2s"
max_attempts = 2
retry_max_elapsed = "3s"
[api.headers]
X-Api-Key = "{API_KEY}"
[monitoring]
textfile = "{}"
[alerts]
webhook_url = "{webhook}{HOOK_PATH}"
max_attempts = 5
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
        textfile.display()
    )
}

#[test]
fn token_header_and_webhook_never_show_anywhere() {
    // The API: SUC001 answers with an error that quotes the credentials back; SUC002 works.
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 4,
            lines_per_hour: 60,
            articles_per_warehouse: 20,
            stores: vec![
                SimStore::new("SUC001", vec!["APP-TPF".to_string()]),
                SimStore::new("SUC002", vec!["APP-TBQ".to_string()]),
            ],
        },
        faults: vec![
            format!("SUC001:ventas:error=denied for Bearer {TOKEN} with X-Api-Key {API_KEY}")
                .parse::<FaultRule>()
                .unwrap(),
        ],
    })
    .unwrap();
    // A server that answers 500 with the whole request (headers included) as the body, and
    // one that answers 200 with the request inside something that is not JSON.
    let (echo_500, _) = serve(|request| (500, request.to_string()));
    let (echo_garbage, _) = serve(|request| (200, format!("<html>{request}</html>")));
    let (echo_error_key, _) =
        serve(|request| (200, serde_json::json!({ "error": request }).to_string()));
    // The webhook: first it works, then it fails, then nothing listens.
    let hook_status = Arc::new(Mutex::new(200u16));
    let status = Arc::clone(&hook_status);
    let (hook, delivered) = serve(move |_| (*status.lock().unwrap(), "{}".to_string()));
    let scratch = tempfile::tempdir().unwrap();
    let textfile = scratch.path().join("klk_etl.prom");
    let mut s = Secrets {
        env: TestEnv::with_config(&config(&sim.base_url(), &hook, &textfile)),
        outputs: 0,
    };

    // Runs: a success and an echoed error; then every format and dry run.
    for (hh, mm) in [(10, 5), (10, 35)] {
        let out = s.invoke(&[], &["--now", &now(hh, mm), "run"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = s.invoke(&[], &["--now", &now(11, 5), "--format", "json", "run"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json.to_string().contains("[redacted]"),
        "the echoed error is kept, redacted: {json}"
    );
    s.invoke(&[], &["--now", &now(11, 6), "--format", "csv", "recover"]);
    s.read_everything(&now(11, 10));
    // The credentials were sent.
    let sent = sim.requests();
    assert!(sent.iter().any(|r| {
        r.headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == &format!("Bearer {TOKEN}"))
    }));
    assert!(sent.iter().any(|r| {
        r.headers
            .iter()
            .any(|(k, v)| k == "x-api-key" && v == API_KEY)
    }));

    // The API echoes the whole request back, as an HTTP 500, as garbage, as an error key.
    for (i, url) in [&echo_500, &echo_garbage, &echo_error_key]
        .into_iter()
        .enumerate()
    {
        let at = now(12 + i as u32, 5);
        let out = s.invoke(
            &[("KLK_ETL_API_URL", url)],
            &["--now", &at, "--format", "json", "run"],
        );
        assert!(
            matches!(out.status.code(), Some(1 | 4)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        s.invoke(
            &[("KLK_ETL_API_URL", url)],
            &[
                "--now",
                &at,
                "recover",
                "--store",
                "tienda_01",
                "--date",
                "2025-11-23",
            ],
        );
    }
    // The token from the environment instead of the file.
    let at = now(15, 5);
    s.invoke(
        &[("KLK_ETL_API_URL", &echo_500), ("KLK_ETL_API_TOKEN", TOKEN)],
        &["--now", &at, "run"],
    );

    // Alerts: delivered, then the webhook refuses, then it is gone.
    assert!(
        !delivered.lock().unwrap().is_empty(),
        "the webhook received the alerts"
    );
    assert!(
        delivered
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.contains("hook-SECRET")),
        "at the secret URL"
    );
    *hook_status.lock().unwrap() = 500;
    s.invoke(&[], &["--now", &now(16, 5), "run"]);
    s.invoke(&[], &["--now", &now(16, 6), "alerts", "check"]);
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let text = std::fs::read_to_string(s.env.path().join("klk-etl.toml"))
        .unwrap()
        .replace(&hook, &gone);
    std::fs::write(s.env.path().join("klk-etl.toml"), text).unwrap();
    s.invoke(&[], &["--now", &now(17, 5), "run"]);
    s.invoke(&[], &["--now", &now(17, 6), "alerts", "check"]);
    s.read_everything(&now(17, 10));
    let errors: i64 = s
        .env
        .connect()
        .query_row(
            "SELECT count(*) FROM etl_alertas WHERE ultimo_error IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(errors > 0, "undelivered alerts recorded their error");
    s.assert_files_clean();
    assert!(textfile.exists(), "the monitoring textfile was written");
    assert_clean(
        "the monitoring textfile",
        &std::fs::read(&textfile).unwrap(),
    );
    println!(
        "secrets: {} invocations' stdout and stderr, every format, the database (bytes and every table), its lock files and the textfile hold no part of the token, the header value or the webhook URL",
        s.outputs
    );
}

/// Configuration errors on the lines that hold secrets do not quote them.
#[test]
fn configuration_errors_do_not_quote_secrets() {
    let mut cases: Vec<(String, &str)> = [
        format!("[api]\ntoken = \"{TOKEN}\"\nbase_url = \"ftp://x\"\n"),
        format!("[api]\ntoken = \"{TOKEN}\"\ncolour = 1\n"),
        format!("[api]\ntoken = \"{TOKEN}\n"),
        format!("[api]\ntoken = [\"{TOKEN}\"]\n"),
        format!("[api.headers]\nX-Api-Key = \"{API_KEY}\"\nX-Bad = 1\n"),
        format!("[api.headers]\nX-Api-Key = \"{API_KEY}\u{7}\"\n"),
        // Valid TOML, but values a header cannot carry: refused before any request.
        format!("[api.headers]\nX-Api-Key = \"{API_KEY}\\nInjected: 1\"\n"),
        format!("[api]\ntoken = \"{TOKEN}\\r\\nX-Injected: 1\"\n"),
        format!("[alerts]\nwebhook_url = \"htps://hooks.example{HOOK_PATH}\"\n"),
        format!("[alerts]\nwebhook_url = {{ url = \"http://x{HOOK_PATH}\" }}\n"),
        format!("[alerts]\nwebhook_url = \"http://x{HOOK_PATH}\"\nrealert_after = \"often\"\n"),
        // The integrations' secrets.
        "[proxy]\nurl = \"https://etl:proxy-SECRET@proxy.example:3128\"\n".to_string(),
        "[proxy]\nurl = \"http://etl:proxy-SECRET@\"\n".to_string(),
        "[api]\nproxy = \"socks5://etl:proxy-SECRET@proxy.example:1080\"\n".to_string(),
        "[alerts.slack]\nwebhook_url = \"hooks.slack.com/services/T/B/slack-SECRET\"\n".to_string(),
        "[alerts.teams]\nwebhook_url = \"https://u:teams-SECRET@x.example/w\"\n".to_string(),
        "[alerts.json]\nurl = \"https://x.example/json-SECRET\"\n[alerts.json.headers]\nAuthorization = [\"Bearer json-SECRET\"]\n".to_string(),
        "[alerts.json]\nurl = \"https://x.example/json-SECRET\"\n[alerts.json.headers]\nAuthorization = \"Bearer json-SECRET\\nX: 1\"\n".to_string(),
        "[[checkins]]\nservice = \"healthchecks\"\nurl = \"hc-ping.com/hc-SECRET\"\n".to_string(),
        "[[checkins]]\nservice = \"pingdom\"\nurl = \"https://hc-ping.com/hc-SECRET\"\n".to_string(),
        "[[checkins]]\nservice = \"healthchecks\"\nurl = \"https://hc-ping.com/hc-SECRET\"\ntimeout = \"soon\"\n".to_string(),
    ]
    .into_iter()
    .map(|text| (text, MARK))
    .collect();
    // An all-digit secret written without quotes.
    cases.push(("[api]\ntoken = 7412369850\n".to_string(), "7412369850"));
    cases.push((
        "[api.headers]\nX-Api-Key = 88123456789\n".to_string(),
        "88123456789",
    ));
    let mut failures = Vec::new();
    for (text, secret) in &cases {
        let env = TestEnv::with_config(text);
        // A reader works when the bad value only matters to the API client; a run never
        // starts with a value it could not send.
        for args in [
            &["gaps"][..],
            &["run", "--dry-run"],
            &["run", "--tipo", "ventas"],
        ] {
            let out = env.at_now().args(args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("panicked"), "{stderr}");
            if args[0] == "run" && out.status.code() != Some(2) {
                failures.push(format!(
                    "{text:?} {args:?}: exit {:?}: {stderr}",
                    out.status.code()
                ));
            }
            for shown in [&out.stdout, &out.stderr] {
                let shown = String::from_utf8_lossy(shown);
                if shown.contains(secret) || (*secret == MARK && shown.contains("hook-")) {
                    failures.push(format!(
                        "{text:?} {args:?} shows the secret: {}",
                        shown.trim()
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The integrations' secrets, each with [`MARK`] in it.
const SMTP_PASSWORD: &str = "smtp-SECRET-pw9";
const PROXY_PASSWORD: &str = "proxy-SECRET-pw";
const HC_KEY: &str = "hc-SECRET-0d338dcc";
const CRONITOR_KEY: &str = "cron-SECRET-apikey";
const JSON_TOKEN: &str = "json-SECRET-token";

#[test]
fn smtp_password_proxy_credentials_checkin_keys_and_webhook_urls_never_show() {
    use net::{Behaviour, Proxy, Receiver, Smtp, TestCa};
    let ca = TestCa::new("klk-etl test CA");
    let cert = ca.server(&["127.0.0.1"], false);
    // Outside the test directory, whose files are all searched for the secrets.
    let outside = tempfile::tempdir().unwrap();
    let ca_file = ca.write_pem(outside.path());
    let password_file = outside.path().join("smtp-password");
    std::fs::write(&password_file, format!("{SMTP_PASSWORD}\n")).unwrap();
    let smtp = Smtp::start(
        "starttls",
        &cert,
        "etl@example.com",
        SMTP_PASSWORD,
        outside.path(),
    );
    let proxy = Proxy::start(Some(("etl", PROXY_PASSWORD)));
    let hc = Receiver::https(&cert);
    // A service that answers 500 with the whole request (URL, headers, body) quoted back.
    let echo = Receiver::https(&cert);
    echo.set(Behaviour::Echo);
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 9,
            lines_per_hour: 60,
            articles_per_warehouse: 20,
            stores: vec![SimStore::new("SUC001", vec!["APP-TPF".to_string()])],
        },
        faults: Vec::new(),
    })
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let textfile = scratch.path().join("klk_etl.prom");
    let ca = ca_file.display();
    let config = |password_file: &Path| {
        format!(
            r#"database = "data/klk-etl.duckdb"
[api]
base_url = "{}"
connect_timeout = "1s"
read_timeout = "2s"
max_attempts = 1
[monitoring]
textfile = "{}"
[alerts]
timeout = "5s"
[alerts.slack]
webhook_url = "{echo}/services/T0/B0/slack-SECRET-9f8e"
ca_file = "{ca}"
[alerts.teams]
webhook_url = "{echo}/workflows/w1/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teams-SECRET-sig7"
ca_file = "{ca}"
[alerts.json]
url = "{echo}/hooks/json-SECRET-path"
ca_file = "{ca}"
[alerts.json.headers]
Authorization = "Bearer {JSON_TOKEN}"
[alerts.email]
host = "127.0.0.1"
port = {}
username = "etl@example.com"
password_file = "{}"
from = "etl@example.com"
to = "ops@example.com"
ca_file = "{ca}"
run_summary = "always"
[[checkins]]
service = "healthchecks"
url = "{}/ping/{HC_KEY}"
ca_file = "{ca}"
[[checkins]]
service = "cronitor"
url = "{echo}/p/{CRONITOR_KEY}/klk-run"
ca_file = "{ca}"
[[stores]]
id = "tienda_01"
name = "PERIFERICO"
sucursal = "SUC001"
warehouses = ["APP-TPF"]
"#,
            sim.base_url(),
            textfile.display(),
            smtp.port,
            password_file.display(),
            hc.base_url,
            echo = echo.base_url,
        )
    };
    let mut s = Secrets {
        env: TestEnv::with_config(&config(&password_file)),
        outputs: 0,
    };
    let via_proxy = format!("http://etl:{PROXY_PASSWORD}@127.0.0.1:{}", proxy.port);
    let wrong_proxy = format!("http://etl:wrong-SECRET-px@127.0.0.1:{}", proxy.port);
    let proxied = [("HTTPS_PROXY", via_proxy.as_str())];

    // Runs through the proxy: the e-mail and Healthchecks work, the echoing services refuse
    // with the request (URL, headers) in their answer.
    for (hh, mm) in [(10, 5), (10, 35)] {
        let out = s.invoke(
            &proxied,
            &["--now", &now(hh, mm), "run", "--tipo", "ventas"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(smtp.messages(2).len() >= 2, "the summaries arrived");
    assert!(hc.requests().len() >= 4, "the check-ins arrived");
    assert!(
        !echo.requests().is_empty(),
        "the echoing services were asked"
    );
    assert!(
        proxy
            .seen()
            .iter()
            .any(|(line, _)| line.starts_with("CONNECT")),
        "through the proxy"
    );
    s.invoke(&proxied, &["--now", &now(10, 40), "alerts", "test"]);
    s.invoke(
        &proxied,
        &["--now", &now(10, 40), "--format", "json", "alerts", "test"],
    );
    // The proxy refuses wrong credentials; then it is gone; then no proxy at all.
    let wrong = [("HTTPS_PROXY", wrong_proxy.as_str())];
    s.invoke(&wrong, &["--now", &now(11, 5), "run", "--tipo", "ventas"]);
    s.invoke(&wrong, &["--now", &now(11, 6), "alerts", "test"]);
    let gone = format!(
        "http://etl:{PROXY_PASSWORD}@127.0.0.1:{}",
        net::closed_port()
    );
    s.invoke(
        &[("HTTPS_PROXY", gone.as_str())],
        &["--now", &now(11, 35), "run"],
    );
    // The proxy from the configuration, and for the API too.
    let text = std::fs::read_to_string(s.env.path().join("klk-etl.toml"))
        .unwrap()
        .replace(
            "[alerts]\n",
            &format!("[proxy]\nurl = \"{via_proxy}\"\n[alerts]\n"),
        )
        .replace(
            "max_attempts = 1\n",
            &format!("max_attempts = 1\nproxy = \"{wrong_proxy}\"\n"),
        );
    std::fs::write(s.env.path().join("klk-etl.toml"), text).unwrap();
    let out = s.invoke(
        &[],
        &[
            "--now",
            &now(12, 5),
            "--format",
            "json",
            "run",
            "--tipo",
            "ventas",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "the API proxy refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong SMTP password.
    std::fs::write(&password_file, "bad-SECRET-smtp\n").unwrap();
    s.invoke(&[], &["--now", &now(12, 35), "alerts", "test"]);
    s.invoke(&[], &["--now", &now(12, 36), "run", "--tipo", "ventas"]);
    s.read_everything(&now(12, 40));
    s.invoke(
        &[],
        &["--now", &now(12, 41), "metrics", "--format", "prometheus"],
    );
    let errors: i64 = s
        .env
        .connect()
        .query_row(
            "SELECT count(*) FROM etl_alertas WHERE ultimo_error IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(errors > 0, "undelivered alerts recorded their error");
    let failed_pings: i64 = s
        .env
        .connect()
        .query_row("SELECT sum(fallidos) FROM etl_checkins", [], |r| r.get(0))
        .unwrap();
    assert!(failed_pings > 0, "failed check-ins recorded their error");
    s.assert_files_clean();
    assert_clean(
        "the monitoring textfile",
        &std::fs::read(&textfile).unwrap(),
    );
    println!(
        "integration secrets: {} invocations' stdout and stderr, the database and the textfile hold no part of the SMTP password, proxy credentials, check-in keys, webhook URLs or header values",
        s.outputs
    );
}

/// PostgreSQL: the password in the URL, `PGPASSWORD` or a password file never shows, whether
/// it is refused, the URL is wrong or everything works; nor is it stored in any table.
#[test]
fn a_postgresql_password_never_shows_and_is_never_stored() {
    use crate::common::pg::{self, TestDatabase};
    let db = TestDatabase::new();
    let env = TestEnv::with_config("");
    let wrong = "pw-SECRET-5ad1e0";
    let with_wrong = db.url.replace(&pg::password(&db.url), wrong);
    let bare = pg::without_password(&db.url);
    std::fs::write(env.path().join("pw"), wrong).unwrap();
    std::fs::write(
        env.path().join("file.toml"),
        format!("[database]\nurl = \"{bare}\"\npassword_file = \"pw\"\n"),
    )
    .unwrap();
    let bad_url = format!("{with_wrong}?sslmode=sometimes");
    // (arguments, environment, exit code)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, i32);
    let cases: Vec<Case> = vec![
        (vec!["db", "info", "--database", &with_wrong], vec![], 3),
        (
            vec![
                "db",
                "migrate",
                "--database",
                &with_wrong,
                "--format",
                "json",
            ],
            vec![],
            3,
        ),
        (
            vec!["gaps", "--database", &with_wrong, "--format", "csv"],
            vec![],
            3,
        ),
        (
            vec!["db", "info", "--database", &bare],
            vec![("PGPASSWORD", wrong)],
            3,
        ),
        (vec!["db", "info", "--config", "file.toml"], vec![], 3),
        (vec!["db", "info", "--database", &bad_url], vec![], 2),
        (vec!["run", "--database", &with_wrong], vec![], 3),
    ];
    for (args, vars, code) in cases {
        let mut cmd = env.process();
        cmd.args(&args);
        for (key, value) in &vars {
            cmd.env(key, value);
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(&format!("{args:?} stdout"), &out.stdout);
        assert_clean(&format!("{args:?} stderr"), &out.stderr);
    }

    // It works, and the real password shows nowhere either.
    let real = pg::password(&db.url);
    for format in ["table", "json", "csv"] {
        for command in [
            &["db", "info"][..],
            &["db", "migrate"][..],
            &["gaps"][..],
            &["run"][..],
            &["alerts"][..],
            &["unstick", "--dry-run"][..],
        ] {
            let out = env
                .process()
                .args(command)
                .args(["--database", &db.url, "--format", format])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{command:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            for stream in [&out.stdout, &out.stderr] {
                assert!(
                    !String::from_utf8_lossy(stream).contains(&real),
                    "{command:?} --format {format}"
                );
            }
        }
    }
    let mut client = db.client();
    let columns: Vec<(String, String)> = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'ARRAY')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(columns.len() > 20, "{columns:?}");
    for (table, column) in columns {
        let found: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM \"{table}\" WHERE strpos(\"{column}\"::text, $1) > 0"
                ),
                &[&real],
            )
            .unwrap()
            .get(0);
        assert_eq!(found, 0, "{table}.{column} holds the password");
    }
}
