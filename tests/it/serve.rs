//! `klk-etl serve` through the real binary, a real DuckDB file and the KLK simulator on
//! 127.0.0.1: the previous panels' API replayed field by field, klk-etl's own API against
//! the command line, /health and /metrics, recovering from the web (and living with cron's
//! run lock), and the security of all of it.

use std::time::Duration;

use crate::common::server::{Answer, Server, get, post, post_json, raw};
use crate::common::{Exec, NOW, TestEnv};
use klk_etl::sim::{FaultRule, SimData, SimHandle, SimOptions, SimStore, Simulator, truth};
use serde_json::{Value, json};

const TOKEN: &str = "ops-token-0123456789abcdef";
const TOKEN_NAME: &str = "operaciones";

fn sim(faults: &[&str]) -> SimHandle {
    Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 7,
            lines_per_hour: 120,
            articles_per_warehouse: 20,
            stores: SimStore::chain(),
        },
        faults: faults
            .iter()
            .map(|f| f.parse::<FaultRule>().expect("fault rule"))
            .collect(),
    })
    .expect("simulator")
}

fn config(base_url: &str, serve_extra: &str) -> String {
    format!(
        r#"database = "data/klk-etl.duckdb"
[api]
base_url = "{base_url}"
connect_timeout = "1s"
read_timeout = "5s"
max_attempts = 1
retry_max_elapsed = "1s"

[serve]
token = "{TOKEN}"
token_name = "{TOKEN_NAME}"
cache_ttl = "0s"
{serve_extra}

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
    )
}

/// tienda_01 loaded yesterday whole (verified) and today up to 15:30 except 10:00-10:30,
/// which failed: one open gap. Cron's last run was at 15:32.
fn history(env: &TestEnv) {
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
    ]);
    record_run(env, "2025-11-24 15:32:00");
}

fn record_run(env: &TestEnv, at: &str) {
    env.connect()
        .execute(
            "INSERT INTO etl_invocaciones (comando, tipos, inicio, fin, estado) \
             VALUES ('run', 'ventas', CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), 'exitoso')",
            [at, at],
        )
        .unwrap();
}

fn env_with(sim_url: &str, serve_extra: &str) -> TestEnv {
    let env = TestEnv::with_config(&config(sim_url, serve_extra));
    history(&env);
    env
}

fn start(env: &TestEnv) -> Server {
    Server::start(env, &["--now", NOW])
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

// ---------------------------------------------------------------------------------------
// Field by field: the previous panels' types (TypeScript interfaces of the panels and the
// pydantic models of the original router).

#[derive(Clone, Copy, Debug)]
enum Ty {
    Int,
    Float,
    Str,
    Bool,
    Date,
    DateTime,
    Time,
}

fn conforms(value: &Value, ty: Ty) -> bool {
    let text = value.as_str().unwrap_or("");
    match ty {
        Ty::Int => value.is_i64() || value.is_u64(),
        Ty::Float => value.is_number(),
        Ty::Str => value.is_string(),
        Ty::Bool => value.is_boolean(),
        Ty::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        Ty::DateTime => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok(),
        Ty::Time => chrono::NaiveTime::parse_from_str(text, "%H:%M:%S%.f").is_ok(),
    }
}

/// Every field present (a null where nullable, never absent), of its type, and no other.
fn check_shape(what: &str, object: &Value, fields: &[(&str, Ty, bool)]) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {object}"));
    for (name, ty, nullable) in fields {
        let value = map
            .get(*name)
            .unwrap_or_else(|| panic!("{what}: field {name} is absent: {object}"));
        if value.is_null() {
            assert!(
                *nullable,
                "{what}: {name} is null but must not be: {object}"
            );
        } else {
            assert!(
                conforms(value, *ty),
                "{what}: {name} is not {ty:?}: {value}"
            );
        }
    }
    for key in map.keys() {
        assert!(
            fields.iter().any(|(name, ..)| name == key),
            "{what}: unexpected field {key}: {object}"
        );
    }
}

const EJECUCION: &[(&str, Ty, bool)] = &[
    ("id", Ty::Int, false),
    ("etl_tipo", Ty::Str, false),
    ("ubicacion_id", Ty::Str, false),
    ("ubicacion_nombre", Ty::Str, false),
    ("fecha_inicio", Ty::DateTime, false),
    ("fecha_fin", Ty::DateTime, true),
    ("duracion_segundos", Ty::Float, true),
    ("fecha_desde", Ty::Date, false),
    ("fecha_hasta", Ty::Date, false),
    ("hora_desde", Ty::Time, true),
    ("hora_hasta", Ty::Time, true),
    ("estado", Ty::Str, false),
    ("registros_extraidos", Ty::Int, false),
    ("registros_cargados", Ty::Int, false),
    ("error_mensaje", Ty::Str, true),
    ("error_tipo", Ty::Str, true),
    ("modo", Ty::Str, true),
    ("version_etl", Ty::Str, true),
    ("host", Ty::Str, true),
];

const GAP: &[(&str, Ty, bool)] = &[
    ("etl_tipo", Ty::Str, false),
    ("ubicacion_id", Ty::Str, false),
    ("ubicacion_nombre", Ty::Str, false),
    ("fecha_desde", Ty::Date, false),
    ("fecha_hasta", Ty::Date, false),
    ("hora_desde", Ty::Time, true),
    ("hora_hasta", Ty::Time, true),
    ("fecha_fallo", Ty::DateTime, false),
    ("error_tipo", Ty::Str, true),
    ("error_mensaje", Ty::Str, true),
    ("horas_desde_fallo", Ty::Float, false),
];

const METRICA: &[(&str, Ty, bool)] = &[
    ("etl_tipo", Ty::Str, false),
    ("ubicacion_id", Ty::Str, false),
    ("ubicacion_nombre", Ty::Str, false),
    ("fecha", Ty::Date, false),
    ("total_ejecuciones", Ty::Int, false),
    ("ejecuciones_exitosas", Ty::Int, false),
    ("ejecuciones_fallidas", Ty::Int, false),
    ("tasa_exito_pct", Ty::Float, false),
    ("duracion_promedio_seg", Ty::Float, true),
    ("total_registros_cargados", Ty::Int, false),
];

const CRON: &[(&str, Ty, bool)] = &[
    ("cron_activo", Ty::Bool, false),
    ("frecuencia", Ty::Str, false),
    ("proxima_ejecucion_estimada", Ty::DateTime, true),
    ("ejecuciones_hoy", Ty::Int, false),
    ("exitosas_hoy", Ty::Int, false),
    ("fallidas_hoy", Ty::Int, false),
];

fn array(answer: &Answer, what: &str) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{what}: {}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    answer
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"))
        .clone()
}

fn sales_lines(env: &TestEnv, store: &str, from: &str, to: &str) -> i64 {
    env.connect()
        .query_row(
            "SELECT count(*) FROM ventas WHERE ubicacion_id = ? AND fecha_hora >= CAST(? AS TIMESTAMP) \
             AND fecha_hora < CAST(? AS TIMESTAMP)",
            [store, from, to],
            |r| r.get(0),
        )
        .unwrap()
}

fn truth_lines(sim: &SimHandle, sucursal: &str, from: &str, to: &str) -> i64 {
    let at = |t: &str| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").unwrap();
    truth::sales_lines(sim.data(), sucursal, at(from), at(to)).len() as i64
}

#[test]
fn the_previous_panels_requests_get_the_same_shapes_and_recover_really_recovers() {
    let sim = sim(&[]);
    let env = env_with(&sim.base_url(), "");
    let server = start(&env);
    let api = |path: &str| server.url(&format!("/api/etl/tracking{path}"));

    // The gaps panel: GET gaps?etl_tipo=ventas&max_horas=168.
    let gaps = array(
        &get(&api("/gaps?etl_tipo=ventas&max_horas=168"), &[]),
        "gaps",
    );
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    for gap in &gaps {
        check_shape("gap", gap, GAP);
    }
    let gap = &gaps[0];
    assert_eq!(gap["ubicacion_id"], "tienda_01");
    assert_eq!(gap["hora_desde"], "10:00:00");
    assert_eq!(gap["hora_hasta"], "10:30:00");
    assert_eq!(gap["error_tipo"], "timeout");
    // Unknown parameters are ignored (as FastAPI did); wrong values are clear 400s.
    assert_eq!(get(&api("/gaps?_=123"), &[]).status, 200);
    for (path, field) in [
        ("/gaps?max_horas=721", "max_horas"),
        ("/gaps?max_horas=abc", "max_horas"),
        ("/ejecuciones?limite=0", "limite"),
        ("/ejecuciones?limite=101", "limite"),
        ("/metricas?dias=91", "dias"),
        ("/ejecuciones?estado=roto", "estado"),
        ("/gaps?etl_tipo=compras", "etl_tipo"),
    ] {
        let answer = get(&api(path), &[]);
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        let body = answer.json();
        assert!(
            body["error"].as_str().unwrap().contains(field),
            "{path}: {body}"
        );
        assert_eq!(body["detail"], body["error"], "FastAPI's key too");
    }

    // The executions panel.
    let rows = array(
        &get(&api("/ejecuciones?etl_tipo=ventas&limite=50"), &[]),
        "ejecuciones",
    );
    assert_eq!(rows.len(), 4);
    for row in &rows {
        check_shape("ejecucion", row, EJECUCION);
    }
    // Newest first; every filter of the panel applies.
    assert_eq!(rows[0]["fecha_inicio"], "2025-11-24T15:32:00");
    let failed = array(
        &get(
            &api(
                "/ejecuciones?etl_tipo=ventas&ubicacion_id=tienda_01&modo=incremental_30min&estado=fallido&limite=10",
            ),
            &[],
        ),
        "filtered",
    );
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error_mensaje"], "read timed out after 600s");
    assert_eq!(
        array(&get(&api("/ejecuciones?modo=completo"), &[]), "completo").len(),
        1
    );
    assert_eq!(
        array(&get(&api("/ejecuciones?limite=2"), &[]), "limit").len(),
        2
    );

    // Metrics: today and the 7 days before, one row per store and day with executions.
    let metricas = array(
        &get(&api("/metricas?etl_tipo=ventas&dias=7"), &[]),
        "metricas",
    );
    assert!(!metricas.is_empty());
    for row in &metricas {
        check_shape("metrica", row, METRICA);
    }
    assert_eq!(metricas[0]["fecha"], "2025-11-24");
    assert_eq!(metricas[0]["total_ejecuciones"], 4);
    assert_eq!(metricas[0]["ejecuciones_fallidas"], 1);
    assert_eq!(metricas[0]["tasa_exito_pct"], 75.0);

    // Cron: active only because a run was recorded 28 minutes ago.
    let cron = get(&api("/cron/status"), &[]);
    assert_eq!(cron.status, 200);
    let cron = cron.json();
    check_shape("cron", &cron, CRON);
    assert_eq!(cron["cron_activo"], true);
    assert_eq!(cron["frecuencia"], "Cada 30 minutos");
    assert_eq!(cron["proxima_ejecucion_estimada"], "2025-11-24T16:02:00");
    assert_eq!(cron["ejecuciones_hoy"], 4);
    assert_eq!(cron["fallidas_hoy"], 1);

    // Connectivity: the simulator answers.
    let probe = get(&api("/connectivity/klk"), &[]).json();
    assert_eq!(probe["status"], "disponible", "{probe}");
    assert_eq!(probe["http_status"], 200);
    assert!(probe["latencia_ms"].is_number());
    assert_eq!(probe["url"], format!("{}/ventas", sim.base_url()));
    assert!(conforms(&probe["timestamp"], Ty::DateTime));
    assert!(probe.get("error").is_none());

    // The Recover button: the panel posts the gap's own fields with its Bearer token.
    let asked = json!({
        "etl_tipo": gap["etl_tipo"], "ubicacion_id": gap["ubicacion_id"],
        "fecha_desde": gap["fecha_desde"], "fecha_hasta": gap["fecha_hasta"],
        "hora_desde": gap["hora_desde"], "hora_hasta": gap["hora_hasta"],
    });
    let answer = post_json(&api("/recuperar-gap"), Some(TOKEN), &asked);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let done = answer.json();
    assert_eq!(done["estado"], "exitoso", "{done}");
    assert_eq!(done["modo"], "recuperacion");
    assert_eq!(done["solicitado_por"], TOKEN_NAME);
    assert!(done["mensaje"].is_string() && done["message"].is_string());
    let executions = done["ejecuciones"].as_array().unwrap();
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0]["estado"], "exitoso");
    assert_eq!(executions[0]["hora_desde"], "10:00:00");
    assert_eq!(
        done["execution_id"],
        executions[0]["ejecucion_id"].to_string(),
        "the panel's execution_id is a string"
    );
    // Really loaded: the window's lines are the simulator's, and the gap is closed.
    let expected = truth_lines(&sim, "SUC001", "2025-11-24 10:00:00", "2025-11-24 10:30:00");
    assert!(expected > 0);
    assert_eq!(
        sales_lines(
            &env,
            "tienda_01",
            "2025-11-24 10:00:00",
            "2025-11-24 10:30:00"
        ),
        expected
    );
    assert_eq!(executions[0]["registros_cargados"], expected);
    assert!(
        array(
            &get(&api("/gaps?etl_tipo=ventas&max_horas=168"), &[]),
            "after"
        )
        .is_empty()
    );
    let latest = array(&get(&api("/ejecuciones?modo=recuperacion"), &[]), "latest");
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0]["estado"], "exitoso");
    // Recorded with who asked.
    let asked_by: String = env
        .connect()
        .query_row(
            "SELECT solicitado_por FROM etl_invocaciones WHERE comando = 'recover'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(asked_by, TOKEN_NAME);
    // Whole days (an unverified day has no hours) and HH:MM are accepted too.
    let whole = post_json(
        &api("/recuperar-gap"),
        Some(TOKEN),
        &json!({"etl_tipo": "ventas", "ubicacion_id": "tienda_08", "fecha_desde": "2025-11-23", "fecha_hasta": "2025-11-23"}),
    );
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(
        sales_lines(
            &env,
            "tienda_08",
            "2025-11-23 00:00:00",
            "2025-11-24 00:00:00"
        ),
        truth_lines(&sim, "SUC002", "2025-11-23 00:00:00", "2025-11-24 00:00:00")
    );
    assert!(!server.log().contains(TOKEN), "the token is never logged");
}

#[test]
fn a_failed_recovery_is_a_502_with_its_executions_and_connectivity_reports_the_api_down() {
    // Nothing listens on this port: the API is down.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", down.local_addr().unwrap());
    drop(down);
    let env = env_with(&url, "");
    let server = start(&env);
    let probe = get(&server.url("/api/etl/tracking/connectivity/klk"), &[]);
    assert_eq!(probe.status, 200);
    let probe = probe.json();
    assert_eq!(probe["status"], "error", "{probe}");
    assert!(probe["http_status"].is_null() && probe["latencia_ms"].is_null());
    assert!(
        probe["error"].as_str().unwrap().contains("refused"),
        "{probe}"
    );

    let answer = post_json(
        &server.url("/api/etl/tracking/recuperar-gap"),
        Some(TOKEN),
        &json!({"etl_tipo": "ventas", "ubicacion_id": "tienda_01", "fecha_desde": "2025-11-24",
                "fecha_hasta": "2025-11-24", "hora_desde": "10:00", "hora_hasta": "10:30"}),
    );
    assert_eq!(answer.status, 502, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["estado"], "fallido");
    assert_eq!(body["ejecuciones"][0]["error_tipo"], "conexion");
    // Still one gap (with one more attempt), not two.
    let gaps = get(&server.url("/api/v1/gaps"), &[]).json();
    let gaps = gaps.as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["intentos"], 2);
    assert_eq!(
        gaps[0]["fecha_fallo"], "2025-11-24T10:32:00",
        "keeps its age"
    );
}

#[test]
fn v1_answers_as_the_command_line_and_health_follows_the_load_balancer_convention() {
    let sim = sim(&[]);
    let env = env_with(&sim.base_url(), "");
    let server = start(&env);
    // Same JSON as `--format json` (horas_desde_fallo aside: the server's clock has moved on).
    let strip = |mut v: Value| {
        for item in v.as_array_mut().into_iter().flatten() {
            item.as_object_mut().unwrap().remove("horas_desde_fallo");
        }
        v
    };
    assert_eq!(
        strip(get(&server.url("/api/v1/gaps?tipo=ventas&store=tienda_01"), &[]).json()),
        strip(env.json(&["gaps", "--tipo", "ventas", "--store", "tienda_01"]))
    );
    assert_eq!(
        get(
            &server.url("/api/v1/executions?limit=3&store=tienda_01,tienda_08"),
            &[]
        )
        .json(),
        env.json(&[
            "executions",
            "--limit",
            "3",
            "--store",
            "tienda_01,tienda_08"
        ])
    );
    assert_eq!(
        get(&server.url("/api/v1/metrics?days=2&tipo=ventas"), &[]).json(),
        env.json(&["metrics", "--days", "2", "--tipo", "ventas"])
    );
    assert_eq!(
        get(&server.url("/api/v1/stores"), &[]).json(),
        env.json(&["stores"])
    );
    let status = get(&server.url("/api/v1/status?limit=2"), &[]).json();
    let cli = env.json(&["status", "--limit", "2"]);
    assert_eq!(status["latest_executions"], cli["latest_executions"]);
    assert_eq!(status["today"], cli["today"]);
    // Same filters, same errors as the command line.
    let unknown = get(&server.url("/api/v1/gaps?store=tienda_99"), &[]);
    assert_eq!(unknown.status, 400);
    assert!(
        unknown.json()["error"]
            .as_str()
            .unwrap()
            .contains("tienda_99")
    );
    assert_eq!(
        get(&server.url("/api/v1/gaps?stor=tienda_01"), &[]).status,
        400
    );
    assert_eq!(get(&server.url("/api/v1/metrics?days=0"), &[]).status, 400);
    assert_eq!(get(&server.url("/api/nothing"), &[]).status, 404);

    // One gap (WARNING) and a recent run: 200 with `health --format json` as the body.
    let health = get(&server.url("/health"), &[]);
    assert_eq!(health.status, 200, "{}", health.body);
    let cli_health = env
        .at_now()
        .args(["health", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(cli_health.status.code(), Some(1), "WARNING");
    let cli_health: Value = serde_json::from_slice(&cli_health.stdout).unwrap();
    assert_eq!(health.json()["status"], cli_health["status"]);
    assert_eq!(health.json()["status"], "WARNING");
    assert_eq!(
        health.json()["checks"].as_array().unwrap().len(),
        cli_health["checks"].as_array().unwrap().len()
    );
    // Prometheus: the same families as `metrics --format prometheus`.
    let metrics = get(&server.url("/metrics"), &[]);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let cli = env
        .at_now()
        .args(["metrics", "--format", "prometheus"])
        .output()
        .unwrap();
    let families = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("# "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        families(&metrics.body),
        families(&String::from_utf8_lossy(&cli.stdout))
    );
    drop(server);

    // Cron silent for hours and the gap old: CRITICAL, 503, for the load balancer.
    let late = TestEnv::with_config(&config(&sim.base_url(), ""));
    history(&late);
    let server = Server::start(&late, &["--now", "2025-11-25T12:00:00Z"]);
    let health = get(&server.url("/health"), &[]);
    assert_eq!(health.status, 503, "{}", health.body);
    assert_eq!(health.json()["status"], "CRITICAL");
    let cron = get(&server.url("/api/etl/tracking/cron/status"), &[]).json();
    assert_eq!(cron["cron_activo"], false);
    assert!(cron["proxima_ejecucion_estimada"].is_null());
}

#[test]
fn health_is_unknown_and_503_when_the_database_cannot_be_read() {
    let sim = sim(&[]);
    let env = env_with(&sim.base_url(), "lock_timeout = \"300ms\"");
    let server = start(&env);
    // Another process holds the file for writing (as `run` does during a load).
    let holder = env.connect();
    let health = get(&server.url("/health"), &[]);
    assert_eq!(health.status, 503, "{}", health.body);
    let body = health.json();
    assert_eq!(body["status"], "UNKNOWN");
    assert!(
        body["summary"].as_str().unwrap().contains("locked"),
        "{body}"
    );
    let api = get(&server.url("/api/v1/gaps"), &[]);
    assert_eq!(api.status, 503);
    assert!(api.header("retry-after").is_some());
    drop(holder);
    assert_eq!(get(&server.url("/api/v1/gaps"), &[]).status, 200);
}

// ---------------------------------------------------------------------------------------
// Living with cron

#[test]
fn a_recovery_while_a_run_holds_the_lock_is_a_409_naming_it_and_cron_skips_while_the_web_recovers()
{
    let sim = sim(&["SUC001:ventas:latency=2s"]);
    let env = env_with(&sim.base_url(), "");
    let server = start(&env);
    let url = server.url("/api/etl/tracking/recuperar-gap");
    let ask = json!({"etl_tipo": "ventas", "ubicacion_id": "tienda_01", "fecha_desde": "2025-11-24",
                     "fecha_hasta": "2025-11-24", "hora_desde": "10:00:00", "hora_hasta": "10:30:00"});

    // This test process holds ventas' run lock, as a cron `run` would.
    let lock = klk_etl::etl::runlock::RunLock::acquire(
        &env.db_path(),
        &[klk_etl::tracker::vocab::EtlTipo::Ventas],
        Duration::ZERO,
    )
    .unwrap();
    let busy = post_json(&url, Some(TOKEN), &ask);
    assert_eq!(busy.status, 409, "{}", busy.body);
    let body = busy.json();
    assert_eq!(body["holder"]["pid"], std::process::id());
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains(&format!("pid {}", std::process::id()))
    );
    assert!(busy.header("retry-after").is_some());
    drop(lock);

    // Now the web recovers (slowly) while cron's run comes: the run skips, naming serve.
    let recovering = std::thread::spawn(move || post_json(&url, Some(TOKEN), &ask));
    std::thread::sleep(Duration::from_millis(700));
    let cron = env
        .cmd()
        .args(["--now", NOW, "run", "--tipo", "ventas", "--wait", "0s"])
        .output()
        .unwrap();
    assert_eq!(
        cron.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&cron.stderr)
    );
    let stderr = String::from_utf8_lossy(&cron.stderr);
    assert!(
        stderr.contains("already running ventas")
            && stderr.contains(&server.child.id().to_string()),
        "{stderr}"
    );
    let done = recovering.join().unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    // Loaded once: the window holds exactly the simulator's lines.
    assert_eq!(
        sales_lines(
            &env,
            "tienda_01",
            "2025-11-24 10:00:00",
            "2025-11-24 10:30:00"
        ),
        truth_lines(&sim, "SUC001", "2025-11-24 10:00:00", "2025-11-24 10:30:00")
    );
}

#[test]
fn an_idle_server_holds_no_file_and_sigterm_lets_a_recovery_in_flight_finish() {
    let sim = sim(&["SUC001:ventas:latency=1500ms"]);
    let env = env_with(&sim.base_url(), "");
    let mut server = start(&env);
    assert_eq!(get(&server.url("/"), &[]).status, 200);
    // Idle: a writer opens the file at once.
    drop(env.connect());
    let url = server.url("/api/etl/tracking/recuperar-gap");
    let recovering = std::thread::spawn(move || {
        post_json(
            &url,
            Some(TOKEN),
            &json!({"etl_tipo": "ventas", "ubicacion_id": "tienda_01", "fecha_desde": "2025-11-24",
                    "fecha_hasta": "2025-11-24", "hora_desde": "10:00", "hora_hasta": "10:30"}),
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        server.stop(Duration::from_secs(30)),
        Some(0),
        "{}",
        server.log()
    );
    let done = recovering.join().unwrap();
    assert_eq!(
        done.status, 200,
        "the request in flight finished: {}",
        done.body
    );
    let log = server.log();
    assert!(
        log.contains("POST /api/etl/tracking/recuperar-gap 200"),
        "{log}"
    );
    assert!(log.contains(&format!("as {TOKEN_NAME}")), "{log}");
    assert!(!log.contains('\u{1b}'), "no ANSI in the log");
    assert!(log.contains("klk-etl serve: stopped"));
}

// ---------------------------------------------------------------------------------------
// Security

#[test]
fn tokens_cookies_csrf_limits_and_bad_bodies() {
    let sim = sim(&[]);
    let env = env_with(&sim.base_url(), "recover_per_minute = 1");
    let server = start(&env);
    let url = server.url("/api/etl/tracking/recuperar-gap");
    let ask = json!({"etl_tipo": "ventas", "ubicacion_id": "tienda_01", "fecha_desde": "2025-11-24",
                     "fecha_hasta": "2025-11-24", "hora_desde": "10:00", "hora_hasta": "10:30"});
    // Missing and wrong tokens.
    let missing = post_json(&url, None, &ask);
    assert_eq!(missing.status, 401, "{}", missing.body);
    assert!(missing.json()["error"].is_string());
    assert_eq!(
        post_json(&url, Some("ops-token-0123456789abcdeX"), &ask).status,
        401
    );
    let basic = post(
        &url,
        &[
            ("Authorization", "Basic b3BzOnB3"),
            ("Content-Type", "application/json"),
        ],
        &ask.to_string(),
    );
    assert_eq!(basic.status, 401);

    // Bad bodies, with the right token: clear 400/413/415 JSON errors, nothing recovered.
    let auth = bearer();
    let bad = |body: &str, content_type: &str| {
        post(
            &url,
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", content_type),
            ],
            body,
        )
    };
    let cases: Vec<(String, &str, u16, &str)> = vec![
        ("{\"etl_tipo\": ".to_string(), "application/json", 400, "invalid JSON"),
        (ask.to_string(), "text/plain", 415, "Content-Type"),
        ("x".repeat(20_000), "application/json", 413, "larger than"),
        (json!({"etl_tipo": "ventas"}).to_string(), "application/json", 400, "missing field"),
        (json!({"etl_tipo": "ventas", "ubicacion_id": "tienda_01", "fecha_desde": "2025-11-24", "fecha_hasta": "2025-11-24", "sql": "DROP TABLE ventas"}).to_string(), "application/json", 400, "unknown field"),
    ];
    for (body, content_type, status, says) in &cases {
        let answer = bad(body, content_type);
        assert_eq!(answer.status, *status, "{says}: {}", answer.body);
        assert!(
            answer.json()["error"].as_str().unwrap().contains(says),
            "{says}: {}",
            answer.body
        );
    }
    // Validated values (refused before they count toward the rate limit).
    for (change, says) in [
        (json!({"fecha_desde": "2025-13-01"}), "fecha_desde"),
        (
            json!({"fecha_hasta": "2025-11-30", "fecha_desde": "2025-11-30"}),
            "future",
        ),
        (
            json!({"ubicacion_id": "tienda_01'; DROP TABLE ventas; --"}),
            "unknown store",
        ),
        (json!({"hora_desde": "25:00"}), "hora_desde"),
    ] {
        let mut body = ask.clone();
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let answer = post_json(&url, Some(TOKEN), &body);
        assert_eq!(answer.status, 400, "{says}: {}", answer.body);
        assert!(
            answer.json()["error"].as_str().unwrap().contains(says),
            "{says}: {}",
            answer.body
        );
    }
    // One recovery a minute ([serve] recover_per_minute = 1): the second waits.
    assert_eq!(post_json(&url, Some(TOKEN), &ask).status, 200);
    let limited = post_json(&url, Some(TOKEN), &ask);
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.header("retry-after"), Some("60"));
    // Malformed HTTP never reaches a handler.
    assert!(raw(&server.addr, b"GARBAGE\r\n\r\n").starts_with("HTTP/1.1 400"));
    // Another site's name for this address (DNS rebinding): refused.
    assert_eq!(
        get(&server.url("/api/v1/gaps"), &[("Host", "evil.example")]).status,
        421
    );

    // The login form: a wrong token is refused; the right one sets an HttpOnly,
    // SameSite=Strict session cookie (not the token).
    let form = |token: &str| format!("token={}&next=%2F", token);
    let wrong = post(
        &server.url("/login"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form("nope"),
    );
    assert_eq!(wrong.status, 401);
    let signed = post(
        &server.url("/login"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form(TOKEN),
    );
    assert_eq!(signed.status, 303, "{}", signed.body);
    let set_cookie = signed.headers_named("set-cookie").join("\n");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    assert!(!set_cookie.contains(TOKEN));
    let cookie = signed.cookie("klk_session").unwrap();
    let page = get(&server.url("/"), &[("Cookie", &cookie)]);
    assert!(
        page.body
            .contains(&format!("<strong>{TOKEN_NAME}</strong>")),
        "signed in"
    );
    let csrf = page
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the page's forms")
        .to_string();
    // The cookie alone (a cross-site form, a stolen cookie without the page) cannot recover.
    let form_body = "etl_tipo=ventas&ubicacion_id=tienda_01&fecha_desde=2025-11-24&fecha_hasta=2025-11-24&hora_desde=10%3A00%3A00&hora_hasta=10%3A30%3A00&next=%2F";
    let urlencoded = ("Content-Type", "application/x-www-form-urlencoded");
    let no_csrf = post(
        &server.url("/recover"),
        &[("Cookie", &cookie), urlencoded],
        form_body,
    );
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
    let with_csrf = format!("{form_body}&csrf={csrf}");
    let cross_site = post(
        &server.url("/recover"),
        &[
            ("Cookie", &cookie),
            urlencoded,
            ("Origin", "http://evil.example"),
        ],
        &with_csrf,
    );
    assert_eq!(cross_site.status, 403);
    // Nor can the cookie on the JSON API without the CSRF header.
    let cookie_json = post(
        &url,
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        &ask.to_string(),
    );
    assert_eq!(cookie_json.status, 403);
    // A forged session id is nobody.
    let forged = post(
        &server.url("/recover"),
        &[("Cookie", "klk_session=00ff"), urlencoded],
        &with_csrf,
    );
    assert_eq!(forged.status, 303);
    assert!(forged.header("location").unwrap().starts_with("/login"));
    // After sign-out the copied cookie is worth nothing.
    let out = post(
        &server.url("/logout"),
        &[("Cookie", &cookie), urlencoded],
        &format!("csrf={csrf}"),
    );
    assert_eq!(out.status, 303);
    let after = get(&server.url("/"), &[("Cookie", &cookie)]);
    assert!(!after.body.contains("name=\"csrf\"") && after.body.contains("href=\"/login?next="));
    assert_eq!(post_json(&url, None, &ask).status, 401);

    // Security headers on every answer; the token in no answer and no log line.
    let page = get(&server.url("/"), &[]);
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(!server.log().contains(TOKEN));
    assert!(!page.body.contains(TOKEN));
}

#[test]
fn reading_can_require_the_token_and_without_tokens_nothing_can_be_recovered() {
    let sim = sim(&[]);
    let env = env_with(&sim.base_url(), "read_requires_token = true");
    let server = start(&env);
    let auth = bearer();
    assert_eq!(get(&server.url("/api/v1/gaps"), &[]).status, 401);
    assert_eq!(get(&server.url("/api/etl/tracking/gaps"), &[]).status, 401);
    assert_eq!(get(&server.url("/metrics"), &[]).status, 401);
    assert_eq!(
        get(&server.url("/api/v1/gaps"), &[("Authorization", &auth)]).status,
        200
    );
    let page = get(&server.url("/"), &[]);
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), Some("/login?next=%2F"));
    // A load balancer without the token still gets the status (and only the status).
    let health = get(&server.url("/health"), &[]);
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "WARNING"}));
    assert!(get(&server.url("/health"), &[("Authorization", &auth)]).json()["checks"].is_array());
    drop(server);

    // No token configured: reading works, recovering is refused whatever is sent.
    let open = TestEnv::with_config(&config(&sim.base_url(), "").replace(
        &format!("token = \"{TOKEN}\"\ntoken_name = \"{TOKEN_NAME}\"\n"),
        "",
    ));
    history(&open);
    let server = start(&open);
    assert_eq!(get(&server.url("/api/v1/gaps"), &[]).status, 200);
    let refused = post_json(
        &server.url("/api/etl/tracking/recuperar-gap"),
        Some(TOKEN),
        &json!({"etl_tipo": "ventas", "ubicacion_id": "tienda_01", "fecha_desde": "2025-11-24", "fecha_hasta": "2025-11-24"}),
    );
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert!(server.log().contains("no [serve] token configured"));
}

#[test]
fn the_dashboard_shows_the_gap_on_the_heat_map_in_either_language() {
    let sim = sim(&[]);
    let env = env_with(&sim.base_url(), "");
    let server = start(&env);
    let es = get(&server.url("/"), &[("Accept-Language", "es-VE,es;q=0.9")]);
    assert_eq!(es.status, 200);
    assert!(
        es.body.contains("Huecos abiertos (1)"),
        "Spanish by Accept-Language"
    );
    // The heat-map: tienda_01's failed half hour is a gap cell linking to its executions.
    assert!(
        es.body.contains(
            "href=\"/executions?store=tienda_01&amp;from=2025-11-24T10:00&amp;to=2025-11-24T10:30\""
        ),
        "the gap cell links to its executions"
    );
    assert!(
        es.body
            .contains("data-state=\"gap\" data-from=\"2025-11-24T10:00\"")
    );
    assert!(es.body.contains("class=\"health st-warning\""));
    let en = get(&server.url("/?lang=en"), &[("Accept-Language", "es")]);
    assert!(en.body.contains("Open gaps (1)"), "the switch wins");
    assert!(en.cookie("klk_lang").is_some_and(|c| c == "klk_lang=en"));
    // The cell's link: the failed execution of that half hour.
    let cell = get(
        &server.url("/executions?store=tienda_01&from=2025-11-24T10:00&to=2025-11-24T10:30"),
        &[("Accept-Language", "en")],
    );
    assert_eq!(cell.status, 200);
    assert_eq!(
        cell.body.matches("data-estado=").count(),
        1,
        "{}",
        cell.body
    );
    assert!(cell.body.contains("data-estado=\"fallido\""));
    // The 30-day map, the live fragment and the assets.
    let days = get(&server.url("/days"), &[]);
    assert!(
        days.body
            .contains("<td class=\"day c-gap\" data-state=\"gap\" data-fecha=\"2025-11-24\">"),
        "{}",
        days.body.len()
    );
    assert!(
        get(&server.url("/fragments/live"), &[])
            .body
            .contains("data-estado=\"exitoso\"")
    );
    assert!(
        get(&server.url("/assets/dashboard.js"), &[])
            .body
            .contains("fetch")
    );
}
