//! The dashboard in a real browser: Debian's headless Chromium driven through chromedriver
//! (the W3C WebDriver protocol over HTTP on 127.0.0.1). It opens the dashboard, sees the gap
//! on the heat-map, signs in, presses Recover, and sees the gap close and the recovery's
//! execution appear. `.ci/run` installs `chromium` and `chromium-driver`; without them this
//! test fails and says so.
//!
//! Screenshots of each step go to `$KLK_ETL_SCREENSHOTS` when set (docs/images was made so).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::pg::TestDatabase;
use crate::common::server::Server;
use crate::common::{Exec, NOW, TestEnv};
use klk_etl::sim::{SimData, SimOptions, SimStore, Simulator};
use serde_json::{Value, json};

const TOKEN: &str = "browser-token-0123456789";
const ELEMENT: &str = "element-6066-11e4-a52f-4a4c7e9b5a4d";

struct Driver {
    child: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let request = agent.request(method, url);
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("WebDriver {method} {url}: {e}"),
    };
    response.into_json().expect("WebDriver answers JSON")
}

impl Driver {
    fn start() -> Driver {
        for program in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                std::path::Path::new(program).exists(),
                "{program} is missing: install Debian's chromium and chromium-driver \
                 (apt-get install chromium chromium-driver; .ci/run does it)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/bin/chromedriver")
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = ureq::get(&format!("{base}/status"))
                .call()
                .ok()
                .and_then(|r| r.into_json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1400,1000".into(),
            "--lang=en-US".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let created = call(
            "POST",
            &format!("{base}/session"),
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}
            }}})),
        );
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start: {created}"))
            .to_string();
        Driver {
            child,
            base,
            session,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    fn go(&self, url: &str) {
        call("POST", &self.url("/url"), Some(json!({ "url": url })));
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let found = call(
            "POST",
            &self.url("/elements"),
            Some(json!({"using": "css selector", "value": css})),
        );
        found["value"]
            .as_array()
            .unwrap_or_else(|| panic!("find {css}: {found}"))
            .iter()
            .map(|e| {
                e.get(ELEMENT)
                    .or_else(|| e.as_object().and_then(|o| o.values().next()))
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("find {css}: unexpected element {e}"))
                    .to_string()
            })
            .collect()
    }

    fn find(&self, css: &str) -> String {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {css} in {}", self.title()))
    }

    fn click(&self, element: &str) {
        call(
            "POST",
            &self.url(&format!("/element/{element}/click")),
            Some(json!({})),
        );
    }

    fn type_into(&self, element: &str, text: &str) {
        call(
            "POST",
            &self.url(&format!("/element/{element}/value")),
            Some(json!({ "text": text })),
        );
    }

    fn text(&self, element: &str) -> String {
        call("GET", &self.url(&format!("/element/{element}/text")), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The text of the first `css` element once `ok` holds for it (a click that submits a
    /// form returns before the next page is there when the machine is busy).
    fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self
                .find_all(css)
                .first()
                .map(|e| self.text(e))
                .unwrap_or_default();
            if ok(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never satisfied the check; last text: {text}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn title(&self) -> String {
        call("GET", &self.url("/title"), None)["value"].to_string()
    }

    fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("KLK_ETL_SCREENSHOTS") else {
            return;
        };
        use base64_decode::decode;
        let shot = call("GET", &self.url("/screenshot"), None);
        let png = decode(shot["value"].as_str().unwrap());
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = ureq::delete(&self.url("")).call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tiny base64 decoder (screenshots only; no crate needed).
mod base64_decode {
    pub fn decode(text: &str) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        let clean: Vec<u8> = text
            .bytes()
            .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
            .collect();
        let mut out = Vec::with_capacity(clean.len() * 3 / 4);
        for chunk in clean.chunks(4) {
            let mut n = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                n |= u32::from(value(*c)) << (18 - 6 * i);
            }
            let bytes = n.to_be_bytes();
            out.extend_from_slice(&bytes[1..chunk.len()]);
        }
        out
    }
}

#[test]
fn in_chromium_the_gap_shows_on_the_heat_map_and_recover_closes_it() {
    gap_shown_then_recovered_in_chromium(false);
}

/// The same page and recovery with the history on PostgreSQL (copied there from the file,
/// which is then removed: every read and the recovery go to the server).
#[test]
fn in_chromium_on_postgresql_the_gap_shows_on_the_heat_map_and_recover_closes_it() {
    gap_shown_then_recovered_in_chromium(true);
}

fn gap_shown_then_recovered_in_chromium(on_server: bool) {
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 3,
            lines_per_hour: 120,
            articles_per_warehouse: 20,
            stores: SimStore::chain(),
        },
        faults: Vec::new(),
    })
    .expect("simulator");
    let env = TestEnv::with_config(&format!(
        r#"database = "data/klk-etl.duckdb"
[api]
base_url = "{}"
max_attempts = 1
[serve]
token = "{TOKEN}"
token_name = "supervisora"
cache_ttl = "0s"
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
    ));
    env.migrate();
    env.insert(&[
        Exec::ok("2025-11-23", None, None, "2025-11-24 03:30:00"),
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("10:00:00"),
            "2025-11-24 10:02:00",
        ),
        Exec::failed(
            "2025-11-24",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-24 10:32:00",
        ),
        Exec::ok(
            "2025-11-24",
            Some("10:30:00"),
            Some("15:30:00"),
            "2025-11-24 15:32:00",
        ),
        Exec::ok("2025-11-23", None, None, "2025-11-24 03:30:00").store("tienda_08", "BOSQUE"),
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("15:30:00"),
            "2025-11-24 15:32:00",
        )
        .store("tienda_08", "BOSQUE"),
    ]);
    let db = on_server.then(TestDatabase::new);
    if let Some(db) = &db {
        crate::common::pg::copy_file_into(&env, db);
        std::fs::remove_dir_all(env.path().join("data")).unwrap();
    }
    let mut args = vec!["--now", NOW];
    if let Some(db) = &db {
        args.extend(["--database", db.url.as_str()]);
    }
    let server = Server::start(&env, &args);
    let browser = Driver::start();

    browser.go(&server.url("/?lang=en"));
    let gap_cells = browser.find_all("svg.strip rect[data-state='gap']");
    assert_eq!(gap_cells.len(), 1, "one gap on the heat-map");
    assert_eq!(
        browser
            .find_all("tr[data-store='tienda_01'] rect[data-state='gap']")
            .len(),
        1
    );
    assert!(
        browser
            .text(&browser.find("#gaps h2"))
            .contains("Open gaps (1)")
    );
    browser.screenshot("dashboard-gap.png");

    // Not signed in: the gap's action is a sign-in link.
    browser.click(&browser.find("tr.gap[data-store='tienda_01'] a"));
    browser.wait_text("form.login", |t| !t.is_empty());
    browser.type_into(&browser.find("#token"), TOKEN);
    browser.click(&browser.find("#sign-in"));
    browser.wait_text("header.top", |t| t.contains("supervisora"));

    // Recover: the recovery runs, the page comes back with its outcome.
    browser.click(&browser.find("tr.gap[data-store='tienda_01'] form.recover button"));
    let flash = browser.wait_text("#flash", |t| !t.is_empty());
    assert!(flash.contains("exitoso"), "{flash}");
    assert!(
        browser
            .find_all("svg.strip rect[data-state='gap']")
            .is_empty(),
        "the gap closed"
    );
    assert_eq!(browser.find_all("#no-gaps").len(), 1);
    let live = browser.text(&browser.find("#live"));
    assert!(
        live.lines()
            .any(|l| l.contains("recuperacion") && l.contains("exitoso")),
        "the recovery's execution appears: {live}"
    );
    browser.screenshot("dashboard-recovered.png");
    assert!(server.log().contains("POST /recover 303"));
    assert!(server.log().contains("as supervisora"));
    if let Some(db) = &db {
        assert!(!env.path().join("data").exists(), "a DuckDB file was made");
        let recovered: i64 = db
            .client()
            .query_one(
                "SELECT count(*) FROM etl_ejecuciones WHERE modo = 'recuperacion' AND estado = 'exitoso'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(recovered, 1, "the recovery recorded on the server");
        assert!(!server.log().contains(&crate::common::pg::password(&db.url)));
    }
}
