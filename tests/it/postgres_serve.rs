//! `klk-etl serve` on PostgreSQL: one history (made by real runs, then `db copy`'d) served
//! from a DuckDB file and from a server answers the same on every read endpoint, and the
//! dashboard renders from the server.

use std::time::Duration;

use crate::common::TestEnv;
use crate::common::pg::TestDatabase;
use crate::common::server::{Server, get};
use crate::runner::{caracas, config_for, sim};

#[test]
fn serve_on_postgresql_answers_what_it_answers_on_the_same_history_in_a_file() {
    let sim = sim(&["SUC002:ventas:500:1-2"], 120);
    let db = TestDatabase::new();
    let env = TestEnv::with_config(&config_for(
        &sim,
        3,
        "5s",
        r#"database = "data/klk-etl.duckdb""#,
    ));
    for (now, args) in [
        (caracas(24, 10, 5), vec!["--full", "--date", "2025-11-23"]),
        (caracas(24, 10, 35), vec![]),
    ] {
        let out = env
            .cmd()
            .args(["--now", &now, "run"])
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1));
    }
    crate::common::pg::copy_file_into(&env, &db);

    let now = caracas(24, 10, 40);
    let mut on_file = Server::start(&env, &["--now", &now]);
    let mut on_server = Server::start(&env, &["--now", &now, "--database", &db.url]);
    // The servers' clocks move from the pinned now: the hours since a failure are left out.
    let strip = |mut v: serde_json::Value| {
        for item in v.as_array_mut().into_iter().flatten() {
            if let Some(item) = item.as_object_mut() {
                item.remove("horas_desde_fallo");
            }
        }
        v
    };
    for path in [
        "/api/v1/gaps",
        "/api/v1/gaps?tipo=ventas&store=tienda_08",
        "/api/v1/executions?limit=50",
        "/api/v1/metrics?days=2",
        "/api/v1/stores",
    ] {
        let (file, server) = (get(&on_file.url(path), &[]), get(&on_server.url(path), &[]));
        assert_eq!(server.status, 200, "{path}: {}", server.body);
        assert_eq!(strip(server.json()), strip(file.json()), "{path}");
    }
    let (file, server) = (
        get(&on_file.url("/api/v1/status?limit=5"), &[]).json(),
        get(&on_server.url("/api/v1/status?limit=5"), &[]).json(),
    );
    for part in ["latest_executions", "today"] {
        assert_eq!(server[part], file[part], "status {part}");
    }
    let health = get(&on_server.url("/api/v1/health"), &[]);
    assert_eq!(
        health.status,
        get(&on_file.url("/api/v1/health"), &[]).status
    );
    // The dashboard, in both languages, from the server.
    for lang in ["es", "en"] {
        let page = get(&on_server.url(&format!("/?lang={lang}")), &[]);
        assert_eq!(page.status, 200, "{}", page.body);
        for store in ["tienda_01", "tienda_08", "tienda_17"] {
            assert!(page.body.contains(store), "{lang}: {store} missing");
        }
    }
    assert!(
        !on_server
            .log()
            .contains(&crate::common::pg::password(&db.url))
    );
    assert_eq!(on_server.stop(Duration::from_secs(10)), Some(0));
    assert_eq!(on_file.stop(Duration::from_secs(10)), Some(0));
}

#[test]
fn a_recovery_asked_from_the_web_runs_on_postgresql_and_is_recorded_there() {
    const TOKEN: &str = "ops-token-0123456789abcdef";
    let sim = sim(&[], 120);
    let db = TestDatabase::new();
    let mut config = config_for(&sim, 2, "5s", &format!("database = \"{}\"", db.url));
    config.push_str(&format!(
        "[serve]\ntoken = \"{TOKEN}\"\ntoken_name = \"operaciones\"\n"
    ));
    let env = TestEnv::with_config(&config);
    let mut server = Server::start(&env, &["--now", &caracas(24, 16, 0)]);
    let answer = crate::common::server::post_json(
        &server.url("/api/etl/tracking/recuperar-gap"),
        Some(TOKEN),
        &serde_json::json!({"etl_tipo": "ventas", "ubicacion_id": "tienda_01",
            "fecha_desde": "2025-11-24", "fecha_hasta": "2025-11-24",
            "hora_desde": "10:00", "hora_hasta": "10:30"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut client = db.client();
    let asked: Vec<(String, Option<String>, String)> = client
        .query(
            "SELECT comando, solicitado_por, estado FROM etl_invocaciones",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        asked,
        vec![(
            "recover".to_string(),
            Some("operaciones".to_string()),
            "exitoso".to_string()
        )]
    );
    let (from, to) = (
        crate::runner::local("2025-11-24 10:00"),
        crate::runner::local("2025-11-24 10:30"),
    );
    let loaded: i64 = client
        .query_one(
            "SELECT count(*) FROM ventas WHERE ubicacion_id = 'tienda_01' \
             AND fecha_hora >= $1 AND fecha_hora < $2",
            &[&from, &to],
        )
        .unwrap()
        .get(0);
    let expected = crate::runner::expected(&sim, "SUC001", from, to).0 as i64;
    assert!(expected > 0);
    assert_eq!(loaded, expected);
    assert!(!env.path().join("data").exists(), "no DuckDB file made");
    assert_eq!(server.stop(Duration::from_secs(10)), Some(0));
}
