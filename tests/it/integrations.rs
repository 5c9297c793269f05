//! The outside world, through the real binary and real local servers on 127.0.0.1: TLS with a
//! private CA (trusted through `ca_file`, refused without it, a wrong name, an expired
//! certificate), the KLK simulator behind TLS, an HTTP CONNECT proxy, Slack-, Teams- and
//! JSON-shaped webhook receivers, an SMTP server (aiosmtpd: STARTTLS, implicit TLS, AUTH) and
//! check-in services (one down, one that never answers).

use crate::common::net;

use std::time::{Duration, Instant};

use crate::common::TestEnv;
use klk_etl::sim::{FaultRule, SimData, SimHandle, SimOptions, SimStore, Simulator};
use net::{Behaviour, Proxy, Receiver, Smtp, TestCa, closed_port, tls_forwarder};

/// `hh:mm` on 2025-11-24 in Caracas, as the UTC `--now`.
fn at(hh: u32, mm: u32) -> String {
    format!("2025-11-24T{:02}:{mm:02}:00Z", hh + 4)
}

fn sim(faults: &[&str]) -> SimHandle {
    Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 14,
            lines_per_hour: 60,
            articles_per_warehouse: 20,
            stores: vec![
                SimStore::new("SUC001", vec!["APP-TPF".to_string()]),
                SimStore::new("SUC002", vec!["APP-TBQ".to_string()]),
            ],
        },
        faults: faults
            .iter()
            .map(|f| f.parse::<FaultRule>().unwrap())
            .collect(),
    })
    .unwrap()
}

const STORES: &str = r#"
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
"#;

/// A test directory whose `klk-etl.toml` is `[api]` for `api` plus `extra`.
fn env_with(api: &str, extra: &str) -> TestEnv {
    TestEnv::with_config(&config_text(api, extra))
}

fn config_text(api: &str, extra: &str) -> String {
    format!(
        "database = \"data/klk-etl.duckdb\"\n[api]\nbase_url = \"{api}\"\nconnect_timeout = \"1s\"\nread_timeout = \"5s\"\nmax_attempts = 2\nretry_max_elapsed = \"3s\"\n{extra}\n{STORES}"
    )
}

fn rewrite(env: &TestEnv, text: String) {
    std::fs::write(env.path().join("klk-etl.toml"), text).unwrap();
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn slack_teams_and_json_webhooks_over_tls_with_a_private_ca_and_refused_without_it() {
    let ca = TestCa::new("klk-etl test CA");
    let cert = ca.server(&["127.0.0.1"], false);
    let (slack, teams, json) = (
        Receiver::https(&cert),
        Receiver::https(&cert),
        Receiver::https(&cert),
    );
    let channels = |ca_file: &str| {
        format!(
            "[alerts.slack]\nwebhook_url = \"{}/services/T000/B000/XXXX\"\n{ca_file}\n\
             [alerts.teams]\nwebhook_url = \"{}/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIG123\"\n{ca_file}\n\
             [alerts.json]\nurl = \"{}/klk-etl\"\n{ca_file}\n[alerts.json.headers]\nAuthorization = \"Bearer tok-123\"\n",
            slack.base_url, teams.base_url, json.base_url
        )
    };
    let env = env_with("http://127.0.0.1:9", &channels("ca_file = \"test-ca.pem\""));
    ca.write_pem(env.path());
    env.migrate();

    // No run ever recorded: one problem, on every channel, over TLS.
    let out = env.at_now().args(["alerts", "check"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("delivered 3, failed 0"),
        "{}",
        stdout(&out)
    );
    let expected = "KLK-ETL PROBLEM: no `klk-etl run` has ever been recorded";

    let sent = slack.wait_for(1);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].target, "/services/T000/B000/XXXX");
    assert!(
        sent[0]
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(sent[0].json()["text"], expected);

    let sent = teams.wait_for(1);
    assert_eq!(
        sent[0].path(),
        "/workflows/abc/triggers/manual/paths/invoke"
    );
    assert_eq!(sent[0].query("sig").as_deref(), Some("SIG123"));
    let card = sent[0].json();
    assert_eq!(card["type"], "message");
    let attachment = &card["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(attachment["content"]["type"], "AdaptiveCard");
    assert_eq!(attachment["content"]["body"][0]["text"], "KLK-ETL problem");
    assert_eq!(attachment["content"]["body"][1]["text"], expected);

    let sent = json.wait_for(1);
    assert_eq!(sent[0].header("authorization"), Some("Bearer tok-123"));
    let document = sent[0].json();
    assert_eq!(document["schema"], "klk-etl.alert.v1");
    assert_eq!(document["key"], "cron");
    assert_eq!(document["class"], "cron");
    assert_eq!(document["transition"], "problem");
    assert_eq!(document["message"], expected);
    assert_eq!(document["created"], "2025-11-24T16:00:00-04:00");
    assert_eq!(document["timezone"], "America/Caracas");
    assert!(document["id"].as_i64().unwrap() > 0);

    // The same receivers without the private CA: refused, each saying why; nothing arrives.
    rewrite(&env, config_text("http://127.0.0.1:9", &channels("")));
    let out = env.at_now().args(["alerts", "test"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let text = stdout(&out);
    for channel in ["slack", "teams", "json"] {
        assert!(
            text.lines().any(|l| l.starts_with(channel)
                && l.contains("FAILED: unreachable: TLS: certificate not trusted")),
            "{text}"
        );
    }
    assert!(!text.contains("XXXX") && !text.contains("SIG123"), "{text}");
    assert_eq!(slack.requests().len(), 1);
    assert_eq!(teams.requests().len(), 1);
    // An undelivered alert is kept, with its reason, and retried by the next invocation.
    let env2 = env_with("http://127.0.0.1:9", &channels(""));
    env2.migrate();
    env2.at_now().args(["alerts", "check"]).output().unwrap();
    let reason: String = env2
        .connect()
        .query_row(
            "SELECT ultimo_error FROM etl_alertas WHERE canal = 'slack'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        reason.starts_with("unreachable: TLS: certificate not trusted"),
        "{reason}"
    );
}

#[test]
fn a_certificate_for_another_name_an_expired_one_or_no_tls_is_refused_naming_why() {
    let ca = TestCa::new("klk-etl test CA");
    let other_name = Receiver::https(&ca.server(&["klk.example"], false));
    let expired = Receiver::https(&ca.server(&["127.0.0.1"], true));
    let plain = Receiver::http();
    let env = env_with(
        "http://127.0.0.1:9",
        &format!(
            "[alerts.slack]\nwebhook_url = \"{}/hook\"\nca_file = \"test-ca.pem\"\n\
             [alerts.teams]\nwebhook_url = \"{}/hook\"\nca_file = \"test-ca.pem\"\n\
             [alerts.json]\nurl = \"https://127.0.0.1:{}/hook\"\nca_file = \"test-ca.pem\"\n",
            other_name.base_url, expired.base_url, plain.port
        ),
    );
    ca.write_pem(env.path());
    let out = env.at_now().args(["alerts", "test"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let text = stdout(&out);
    let line = |channel: &str| {
        text.lines()
            .find(|l| l.starts_with(channel))
            .unwrap_or_else(|| panic!("no {channel} line: {text}"))
            .to_string()
    };
    assert!(
        line("slack").contains("TLS: certificate name mismatch")
            && line("slack").contains("klk.example")
            && line("slack").contains("127.0.0.1"),
        "{text}"
    );
    assert!(
        line("teams").contains("TLS: certificate expired on 2021-01-01"),
        "{text}"
    );
    assert!(
        line("json").contains("TLS: the server did not answer in TLS"),
        "{text}"
    );
    assert!(other_name.requests().is_empty() && expired.requests().is_empty());
}

#[test]
fn the_klk_api_behind_tls_with_its_private_ca_directly_and_through_a_proxy() {
    let ca = TestCa::new("KLK on-premises CA");
    let sim = sim(&[]);
    let https = tls_forwarder(&ca.server(&["127.0.0.1"], false), sim.addr());
    let with_ca = "ca_file = \"klk-ca.pem\"\n".to_string();
    let env = TestEnv::with_config(&config_text(&https, "").replace(
        "retry_max_elapsed = \"3s\"\n",
        &format!("retry_max_elapsed = \"3s\"\n{with_ca}"),
    ));
    std::fs::write(env.path().join("klk-ca.pem"), &ca.pem).unwrap();

    let out = env
        .cmd()
        .args(["--now", &at(10, 5), "run", "--tipo", "ventas"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let loaded: i64 = env
        .connect()
        .query_row("SELECT count(*) FROM ventas", [], |r| r.get(0))
        .unwrap();
    assert!(loaded > 0, "sales loaded over TLS");
    assert!(!sim.requests().is_empty());

    // Without the CA: every store fails as `conexion`, the reason is named, and a
    // certificate error is not retried (one attempt, though max_attempts = 2).
    rewrite(&env, config_text(&https, ""));
    let out = env
        .cmd()
        .args([
            "--now",
            &at(10, 35),
            "--format",
            "json",
            "run",
            "--tipo",
            "ventas",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = json["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    for report in reports {
        assert_eq!(report["error_tipo"], "conexion", "{report}");
        assert_eq!(report["intentos_http"], 1, "{report}");
        let message = report["error_mensaje"].as_str().unwrap();
        assert!(
            message.contains("TLS: certificate not trusted"),
            "{message}"
        );
    }
    let recorded: String = env
        .connect()
        .query_row(
            "SELECT error_mensaje FROM etl_ejecuciones WHERE estado = 'fallido' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        recorded.contains("TLS: certificate not trusted"),
        "{recorded}"
    );

    // Through a proxy with credentials, when [api] proxy says so; the environment's proxy
    // variables never apply to the API (it usually sits on the LAN).
    let proxy = Proxy::start(Some(("etl", "pr0xy-pw")));
    rewrite(
        &env,
        config_text(
            &https,
            &format!(
                "{with_ca}proxy = \"http://etl:pr0xy-pw@127.0.0.1:{}\"\n",
                proxy.port
            ),
        ),
    );
    let out = env
        .cmd()
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", closed_port()))
        .args(["--now", &at(11, 5), "run", "--tipo", "ventas"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let port = https.rsplit(':').next().unwrap();
    let seen = proxy.seen();
    assert!(
        seen.iter().any(
            |(line, auth)| line == &format!("CONNECT 127.0.0.1:{port} HTTP/1.1")
                && auth
                    .as_deref()
                    .is_some_and(|a| net::same_credentials(a, "Basic ZXRsOnByMHh5LXB3"))
        ),
        "{seen:?}"
    );
    rewrite(&env, config_text(&https, &with_ca));
    let out = env
        .cmd()
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", closed_port()))
        .args(["--now", &at(11, 35), "run", "--tipo", "ventas"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "HTTPS_PROXY ignored: {}",
        stderr(&out)
    );
}

#[test]
fn email_alerts_and_the_run_summary_over_starttls_and_implicit_tls_with_auth() {
    let ca = TestCa::new("klk-etl test CA");
    let cert = ca.server(&["127.0.0.1"], false);
    let scratch = tempfile::tempdir().unwrap();
    let password = "smtp-Pa55-word";
    let starttls = Smtp::start(
        "starttls",
        &cert,
        "klk-etl@example.com",
        password,
        scratch.path(),
    );
    let implicit = Smtp::start(
        "tls",
        &cert,
        "klk-etl@example.com",
        password,
        scratch.path(),
    );
    let sim = sim(&["SUC002:ventas:500"]);
    let email = |port: u16, security: &str, ca: bool, summary: &str| {
        format!(
            "[alerts.email]\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"{security}\"\n\
             username = \"klk-etl@example.com\"\npassword_file = \"smtp-password\"\n\
             from = \"KLK ETL <klk-etl@example.com>\"\nto = [\"ops@example.com\", \"Gerencia <gerencia@example.com>\"]\n\
             run_summary = \"{summary}\"\n{}",
            if ca {
                "ca_file = \"test-ca.pem\"\n"
            } else {
                ""
            }
        )
    };
    let env = env_with(
        &sim.base_url(),
        &email(starttls.port, "starttls", true, "always"),
    );
    ca.write_pem(env.path());
    std::fs::write(env.path().join("smtp-password"), format!("{password}\n")).unwrap();

    // A run where BOSQUE fails: the summary, then the alerts (one message).
    let out = env
        .cmd()
        .args(["--now", &at(10, 5), "run", "--tipo", "ventas"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let messages = starttls.messages(2);
    assert_eq!(messages.len(), 2, "{messages:?}");
    let summary = &messages[0];
    assert_eq!(summary["tls"], true, "STARTTLS before anything else");
    assert_eq!(summary["authenticated"], true);
    assert_eq!(summary["login"], "klk-etl@example.com");
    assert_eq!(summary["mail_from"], "klk-etl@example.com");
    assert_eq!(
        summary["rcpt_tos"],
        serde_json::json!(["ops@example.com", "gerencia@example.com"])
    );
    let headers = &summary["headers"];
    assert_eq!(headers["From"], "KLK ETL <klk-etl@example.com>");
    assert!(
        headers["To"]
            .as_str()
            .unwrap()
            .contains("Gerencia <gerencia@example.com>"),
        "{headers}"
    );
    let subject = headers["Subject"].as_str().unwrap();
    assert!(
        subject.starts_with(
            "KLK-ETL run FAILURES at 2025-11-24 10:05 (America/Caracas): 1 window(s) ok, 1 failed"
        ),
        "{subject}"
    );
    assert!(
        headers["Date"]
            .as_str()
            .unwrap()
            .contains("24 Nov 2025 14:05"),
        "{headers}"
    );
    assert!(headers["Message-ID"].as_str().unwrap().starts_with('<'));
    assert!(
        headers["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let body = summary["body"].as_str().unwrap();
    assert!(body.contains("Windows that failed (1):"), "{body}");
    assert!(
        body.contains("tienda_08 BOSQUE ventas 2025-11-24 09:30-10:00 fallido: api_error: "),
        "{body}"
    );
    assert!(body.contains("HTTP 500"), "{body}");
    let alerts = &messages[1];
    let subject = alerts["headers"]["Subject"].as_str().unwrap();
    assert_eq!(subject, "KLK-ETL: 2 new problem(s)", "{alerts}");
    let body = alerts["body"].as_str().unwrap();
    assert!(
        body.contains(
            "KLK-ETL PROBLEM: gap: ventas BOSQUE (tienda_08) 2025-11-24 09:30:00-10:00:00"
        ),
        "{body}"
    );
    assert!(
        body.contains("KLK-ETL PROBLEM: ventas BOSQUE (tienda_08) success rate 0%"),
        "{body}"
    );
    assert!(!alerts["raw"].as_str().unwrap().contains(password));

    // Implicit TLS (port 465 style).
    rewrite(
        &env,
        config_text(&sim.base_url(), &email(implicit.port, "tls", true, "never")),
    );
    let out = env
        .at_now()
        .args(["alerts", "test", "--channel", "email"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let received = implicit.messages(1);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["tls"], true);
    assert!(
        received[0]["headers"]["Subject"]
            .as_str()
            .unwrap()
            .starts_with("KLK-ETL TEST: a test message from klk-etl"),
        "{}",
        received[0]
    );

    // A wrong password, a server certificate not trusted, STARTTLS asked of a TLS port:
    // refused, each saying why, never quoting the password.
    std::fs::write(env.path().join("smtp-password"), "Wr0ng-Secret-pw\n").unwrap();
    let out = env
        .at_now()
        .args(["alerts", "test", "--channel", "email"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    assert!(
        stdout(&out).contains("the SMTP server refused the credentials (AUTH PLAIN): 535"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("Wr0ng") && !stderr(&out).contains("Wr0ng"));
    std::fs::write(env.path().join("smtp-password"), password).unwrap();
    rewrite(
        &env,
        config_text(
            &sim.base_url(),
            &email(implicit.port, "tls", false, "never"),
        ),
    );
    let out = env.at_now().args(["alerts", "test"]).output().unwrap();
    assert!(
        stdout(&out).contains("FAILED: SMTP 127.0.0.1:")
            && stdout(&out).contains("TLS: certificate not trusted"),
        "{}",
        stdout(&out)
    );
    assert_eq!(implicit.messages(1).len(), 1, "nothing more arrived");
}

#[test]
fn webhooks_and_email_go_through_the_proxy_the_environment_or_the_configuration_names() {
    let ca = TestCa::new("klk-etl test CA");
    let cert = ca.server(&["127.0.0.1"], false);
    let slack = Receiver::https(&cert);
    let plain = Receiver::http();
    let proxy = Proxy::start(Some(("etl", "pr0xy-pw")));
    let scratch = tempfile::tempdir().unwrap();
    let smtp = Smtp::start("starttls", &cert, "etl@example.com", "pw", scratch.path());
    let channels = format!(
        "[alerts.slack]\nwebhook_url = \"{}/services/T/B/X\"\nca_file = \"test-ca.pem\"\n\
         [alerts.json]\nurl = \"{}/plain-hook\"\n\
         [alerts.email]\nhost = \"127.0.0.1\"\nport = {}\nusername = \"etl@example.com\"\npassword_file = \"pw\"\nfrom = \"etl@example.com\"\nto = \"ops@example.com\"\nca_file = \"test-ca.pem\"\n",
        slack.base_url, plain.base_url, smtp.port
    );
    let env = env_with("http://127.0.0.1:9", &channels);
    ca.write_pem(env.path());
    std::fs::write(env.path().join("pw"), "pw").unwrap();
    let with_proxy = format!("http://etl:pr0xy-pw@127.0.0.1:{}", proxy.port);
    let test = |vars: &[(&str, &str)]| {
        let mut cmd = env.at_now();
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.args(["alerts", "test"]).output().unwrap()
    };

    // HTTPS_PROXY: a CONNECT tunnel with the credentials, for the webhook and for SMTP;
    // HTTP_PROXY: the plain http:// webhook is sent to the proxy, with the credentials.
    let out = test(&[("HTTPS_PROXY", &with_proxy), ("HTTP_PROXY", &with_proxy)]);
    assert!(out.status.success(), "{}", stdout(&out));
    let seen = proxy.seen();
    for expected in [
        format!("CONNECT 127.0.0.1:{} HTTP/1.1", slack.port),
        format!("CONNECT 127.0.0.1:{} HTTP/1.1", smtp.port),
        format!("POST http://127.0.0.1:{}/plain-hook HTTP/1.1", plain.port),
    ] {
        assert!(
            seen.iter().any(|(line, auth)| *line == expected
                && auth
                    .as_deref()
                    .is_some_and(|a| net::same_credentials(a, "Basic ZXRsOnByMHh5LXB3"))),
            "{expected}: {seen:?}"
        );
    }
    assert_eq!(slack.requests().len(), 1);
    assert_eq!(plain.requests().len(), 1);
    assert_eq!(smtp.messages(1).len(), 1);
    assert!(
        plain.requests()[0].header("proxy-authorization").is_none(),
        "the proxy keeps its credentials"
    );

    // NO_PROXY: straight there.
    let out = test(&[
        ("HTTPS_PROXY", &with_proxy),
        ("HTTP_PROXY", &with_proxy),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(proxy.seen().len(), seen.len(), "the proxy saw nothing more");
    assert_eq!(slack.requests().len(), 2);

    // Wrong credentials: refused by the proxy, said so, never quoted.
    let wrong = format!("http://etl:Wr0ng-pr0xy@127.0.0.1:{}", proxy.port);
    let out = test(&[("HTTPS_PROXY", &wrong), ("HTTP_PROXY", &wrong)]);
    assert_eq!(out.status.code(), Some(5));
    let text = stdout(&out);
    assert!(
        text.lines().any(|l| l.starts_with("slack")
            && l.contains("the proxy refused the credentials (HTTP 407)")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("email")
            && l.contains("the proxy refused the credentials (HTTP 407)")),
        "{text}"
    );
    assert!(
        !text.contains("Wr0ng") && !stderr(&out).contains("Wr0ng"),
        "{text}"
    );

    // [proxy] in the configuration wins over the environment; `url = "none"` ignores it.
    let dead = format!("http://127.0.0.1:{}", closed_port());
    rewrite(
        &env,
        config_text(
            "http://127.0.0.1:9",
            &format!("[proxy]\nurl = \"{with_proxy}\"\n{channels}"),
        ),
    );
    let before = proxy.seen().len();
    let out = test(&[("HTTPS_PROXY", &dead), ("HTTP_PROXY", &dead)]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(proxy.seen().len(), before + 3);
    rewrite(
        &env,
        config_text(
            "http://127.0.0.1:9",
            &format!("[proxy]\nurl = \"none\"\n{channels}"),
        ),
    );
    let out = test(&[("HTTPS_PROXY", &dead), ("HTTP_PROXY", &dead)]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(proxy.seen().len(), before + 3);
    assert_eq!(slack.requests().len(), 4);
}

#[test]
fn checkins_ping_each_service_at_start_and_end_and_a_dead_one_never_fails_the_run() {
    let ca = TestCa::new("klk-etl test CA");
    let hc = Receiver::https(&ca.server(&["127.0.0.1"], false));
    let (cronitor, sentry, kuma, hung, stock_only) = (
        Receiver::http(),
        Receiver::http(),
        Receiver::http(),
        Receiver::http(),
        Receiver::http(),
    );
    hung.set(Behaviour::Hang);
    let sim = sim(&[]);
    let env = env_with(
        &sim.base_url(),
        &format!(
            "[[checkins]]\nname = \"hc\"\nservice = \"healthchecks\"\nurl = \"{}/ping/0d338dcc-a054\"\nca_file = \"test-ca.pem\"\n\
             [[checkins]]\nservice = \"cronitor\"\nurl = \"{}/p/API-KEY/klk-run\"\n\
             [[checkins]]\nservice = \"sentry\"\nurl = \"{}/api/2/cron/klk-run/PUBKEY/\"\n\
             [[checkins]]\nservice = \"uptime_kuma\"\nurl = \"{}/api/push/PUSHTOKEN?status=up&msg=OK&ping=\"\n\
             [[checkins]]\nname = \"down\"\nservice = \"healthchecks\"\nurl = \"http://127.0.0.1:{}/ping/x\"\ntimeout = \"1s\"\n\
             [[checkins]]\nname = \"hung\"\nservice = \"cronitor\"\nurl = \"{}/p/K/hung\"\ntimeout = \"1s\"\n\
             [[checkins]]\nname = \"stock\"\nservice = \"healthchecks\"\ntipo = \"inventario\"\nurl = \"{}/ping/stock\"\n",
            hc.base_url,
            cronitor.base_url,
            sentry.base_url,
            kuma.base_url,
            closed_port(),
            hung.base_url,
            stock_only.base_url
        ),
    );
    ca.write_pem(env.path());

    let out = env
        .cmd()
        .args(["--now", &at(10, 5), "run", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("Would ping 7 check-in(s) at the start and end of a run: hc (healthchecks), cronitor (cronitor)"),
        "{}",
        stdout(&out)
    );
    assert!(hc.requests().is_empty(), "a dry run pings nothing");
    let out = env
        .cmd()
        .args(["--now", &at(10, 5), "run", "--dry-run", "--tipo", "ventas"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("Would ping 6 check-in(s)"),
        "the inventario-only one is not for a ventas run: {}",
        stdout(&out)
    );

    let started = Instant::now();
    let out = env
        .cmd()
        .args(["--now", &at(10, 5), "run", "--tipo", "ventas"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "a dead check-in never fails the run: {}",
        stderr(&out)
    );
    assert!(took < Duration::from_secs(8), "bounded: {took:?}");
    println!(
        "check-ins: a run with 6 services, one down and one that never answers (timeout 1s), took {:.2} s",
        took.as_secs_f64()
    );
    let warnings = stderr(&out);
    assert!(
        warnings.contains(
            "warning: check-in 'down' (healthchecks) failed: unreachable: connection refused"
        ),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "warning: check-in 'hung' (cronitor) failed: unreachable: no answer within 1s"
        ),
        "{warnings}"
    );
    assert!(
        !warnings.contains("API-KEY") && !warnings.contains("/ping/"),
        "{warnings}"
    );

    // Healthchecks: /start, then /<exit code>, one run id; the summary as the body.
    let pings = hc.wait_for(2);
    assert_eq!(pings.len(), 2);
    assert_eq!(
        (pings[0].method.as_str(), pings[0].path()),
        ("POST", "/ping/0d338dcc-a054/start")
    );
    assert_eq!(pings[1].path(), "/ping/0d338dcc-a054/0");
    let rid = pings[0].query("rid").unwrap();
    assert_eq!(rid.len(), 36);
    assert_eq!(pings[1].query("rid").as_deref(), Some(rid.as_str()));
    assert!(
        pings[1].body.contains("2 window(s) ok, 0 failed"),
        "{}",
        pings[1].body
    );
    // Cronitor: state=run, then complete with the exit code, one series.
    let pings = cronitor.wait_for(2);
    assert_eq!(pings[0].path(), "/p/API-KEY/klk-run");
    assert_eq!(pings[0].query("state").as_deref(), Some("run"));
    assert_eq!(pings[1].query("state").as_deref(), Some("complete"));
    assert_eq!(pings[1].query("status_code").as_deref(), Some("0"));
    assert_eq!(pings[0].query("series"), pings[1].query("series"));
    // Sentry: in_progress, then ok, one check_in_id.
    let pings = sentry.wait_for(2);
    assert_eq!(pings[0].path(), "/api/2/cron/klk-run/PUBKEY/");
    assert_eq!(pings[0].query("status").as_deref(), Some("in_progress"));
    assert_eq!(pings[1].query("status").as_deref(), Some("ok"));
    assert_eq!(pings[0].query("check_in_id"), pings[1].query("check_in_id"));
    // Uptime Kuma: one push at the end.
    let pings = kuma.wait_for(1);
    assert_eq!(pings.len(), 1);
    assert_eq!(pings[0].path(), "/api/push/PUSHTOKEN");
    assert_eq!(pings[0].query("status").as_deref(), Some("up"));
    assert!(pings[0].query("msg").unwrap().contains("window(s) ok"));
    assert!(pings[0].query("ping").unwrap().parse::<u64>().is_ok());

    assert!(
        stock_only.requests().is_empty(),
        "tipo = inventario: not for a ventas run"
    );

    // The API unreachable (exit 4): every service hears of the failure.
    let out = env
        .cmd()
        .env(
            "KLK_ETL_API_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        )
        .args(["--now", &at(10, 35), "run", "--tipo", "ventas"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(hc.wait_for(4)[3].path(), "/ping/0d338dcc-a054/4");
    let last = &cronitor.wait_for(4)[3];
    assert_eq!(last.query("state").as_deref(), Some("fail"));
    assert_eq!(last.query("status_code").as_deref(), Some("4"));
    assert_eq!(
        sentry.wait_for(4)[3].query("status").as_deref(),
        Some("error")
    );
    assert_eq!(kuma.wait_for(2)[1].query("status").as_deref(), Some("down"));

    // Counted, for Prometheus and status.
    let out = env
        .cmd()
        .args(["--now", &at(10, 40), "metrics", "--format", "prometheus"])
        .output()
        .unwrap();
    let text = stdout(&out);
    for line in [
        "klk_etl_checkins_total{checkin=\"hc\",service=\"healthchecks\"} 4",
        "klk_etl_checkin_failures_total{checkin=\"hc\",service=\"healthchecks\"} 0",
        "klk_etl_checkin_failures_total{checkin=\"down\",service=\"healthchecks\"} 4",
        "klk_etl_checkin_failures_total{checkin=\"hung\",service=\"cronitor\"} 4",
        "klk_etl_checkins_total{checkin=\"uptime_kuma\",service=\"uptime_kuma\"} 2",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}\n{text}");
    }
    let families = net::strict_prometheus(&text);
    assert_eq!(
        families["klk_etl_checkins"],
        serde_json::json!(["counter", 6])
    );
    assert_eq!(
        families["klk_etl_checkin_failures"],
        serde_json::json!(["counter", 6])
    );
    let out = env
        .cmd()
        .args(["--now", &at(10, 40), "status"])
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains("down (healthchecks): 4 ping(s) sent, last 2025-11-24 10:35"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("4 failed (last 2025-11-24 10:35"),
        "{}",
        stdout(&out)
    );
}
