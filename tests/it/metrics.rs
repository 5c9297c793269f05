//! `klk-etl metrics` numbers, and that they match the view `v_metricas_confiabilidad`.

#![expect(
    clippy::disallowed_methods,
    reason = "these tests build data relative to the real clock, as the views read it"
)]

use crate::common::pg::{TestDatabase, copy_file_into};
use crate::common::{Exec, TestEnv};
use chrono::{Duration, Utc};

fn with_duration(mut e: Exec, secs: f64) -> Exec {
    e.duracion = Some(secs);
    e
}

#[test]
fn per_day_and_per_store_numbers() {
    let env = TestEnv::new();
    env.migrate();
    let mut rows = Vec::new();
    for (i, secs) in [1.0, 2.0, 3.0, 4.0, 10.0].into_iter().enumerate() {
        let started = format!("2025-11-24 0{}:05:00", i + 1);
        let e = if i == 4 {
            Exec::failed("2025-11-24", Some("04:00:00"), Some("04:30:00"), &started)
        } else {
            Exec::ok("2025-11-24", Some("00:00:00"), Some("00:30:00"), &started)
        };
        rows.push(with_duration(e, secs));
    }
    rows.push(with_duration(
        Exec::ok("2025-11-23", None, None, "2025-11-23 23:00:00"),
        20.0,
    ));
    env.insert(&rows);
    let report = env.json(&["metrics", "--days", "2", "--tipo", "ventas"]);
    let days = report["por_dia"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    let today = &days[0];
    assert_eq!(today["fecha"], "2025-11-24");
    assert_eq!(today["total_ejecuciones"], 5);
    assert_eq!(today["ejecuciones_exitosas"], 4);
    assert_eq!(today["ejecuciones_fallidas"], 1);
    assert_eq!(today["tasa_exito_pct"], 80.0);
    assert_eq!(today["duracion_promedio_seg"], 4.0);
    // p95 of 1,2,3,4,10 with linear interpolation: 4 + 0.8 * 6 = 8.8
    assert_eq!(today["duracion_p95_seg"], 8.8);
    assert_eq!(today["total_registros_cargados"], 400);
    let store = &report["por_tienda"][0];
    assert_eq!(store["total_ejecuciones"], 6);
    assert_eq!(store["dias"], 2);
    assert_eq!(store["tasa_exito_pct"], 83.33);

    // --days 1 is today only.
    let today_only = env.json(&["metrics", "--days", "1"]);
    assert_eq!(today_only["por_dia"].as_array().unwrap().len(), 1);
}

#[test]
fn the_view_gives_the_same_numbers_as_the_command() {
    let env = TestEnv::new();
    env.migrate();
    let now = (Utc::now() - Duration::hours(4)).naive_utc();
    let today = now.date();
    let yesterday = today - Duration::days(1);
    let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%d %H:%M:%S").to_string();
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let d_today = leak(today.to_string());
    let d_yesterday = leak(yesterday.to_string());
    env.insert(&[
        Exec::ok(
            d_yesterday,
            None,
            None,
            &fmt(yesterday.and_hms_opt(12, 0, 0).unwrap()),
        ),
        Exec::failed(
            d_yesterday,
            None,
            None,
            &fmt(yesterday.and_hms_opt(13, 0, 0).unwrap()),
        ),
        Exec::ok(
            d_today,
            None,
            None,
            &fmt(today.and_hms_opt(0, 0, 1).unwrap()),
        ),
    ]);
    let out = env
        .cmd()
        .args(["metrics", "--days", "30", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conn = env.connect();
    let mut stmt = conn
        .prepare(
            "SELECT CAST(fecha AS VARCHAR), total_ejecuciones, ejecuciones_exitosas, ejecuciones_fallidas, \
             tasa_exito_pct, duracion_promedio_seg, total_registros_cargados \
             FROM v_metricas_confiabilidad ORDER BY fecha DESC, etl_tipo, ubicacion_id",
        )
        .unwrap();
    let view: Vec<(String, i64, i64, i64, f64, f64, i64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let cli: Vec<(String, i64, i64, i64, f64, f64, i64)> = report["por_dia"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["fecha"].as_str().unwrap().to_string(),
                d["total_ejecuciones"].as_i64().unwrap(),
                d["ejecuciones_exitosas"].as_i64().unwrap(),
                d["ejecuciones_fallidas"].as_i64().unwrap(),
                d["tasa_exito_pct"].as_f64().unwrap(),
                d["duracion_promedio_seg"].as_f64().unwrap(),
                d["total_registros_cargados"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(view.len(), 2);
    assert_eq!(view, cli);
}

/// One store-day's durations (whole milliseconds) from the 100-store scale history, in the
/// order they started. Their mean, 17.7325 s, lies on a half of the last digit kept: added up
/// as DOUBLEs in this order they make 17.732499999999998, which rounded to 17.732 (DuckDB's
/// avg did, and PostgreSQL's, in whatever order each read the rows: at 100 stores x 30 days,
/// 35 days differed between the engines). Whole microseconds added up and divided by the
/// count give 17.7325, rounded half away from zero: 17.733.
const MEAN_ON_A_HALF: [f64; 26] = [
    8.482, 16.291, 15.859, 23.057, 15.877, 26.719, 17.783, 25.114, 12.873, 21.842, 23.554, 9.137,
    22.294, 14.096, 13.256, 24.823, 10.256, 14.22, 20.528, 11.614, 26.241, 9.281, 19.888, 8.712,
    24.401, 24.847,
];

#[test]
fn a_mean_on_a_half_is_exact_and_the_same_on_both_engines() {
    let env = TestEnv::new();
    env.migrate();
    let mut rows = Vec::new();
    for date in ["2025-11-23", "2025-11-24"] {
        for (i, secs) in MEAN_ON_A_HALF.into_iter().enumerate() {
            let started = format!("{date} {:02}:{:02}:00", i / 2, 5 + 30 * (i % 2));
            rows.push(with_duration(Exec::ok(date, None, None, &started), secs));
        }
    }
    env.insert(&rows);
    let db = TestDatabase::new();
    copy_file_into(&env, &db);

    let means = |report: &serde_json::Value| {
        let days: Vec<f64> = report["por_dia"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["duracion_promedio_seg"].as_f64().unwrap())
            .collect();
        let store = report["por_tienda"][0]["duracion_promedio_seg"]
            .as_f64()
            .unwrap();
        (days, store)
    };
    let args = ["metrics", "--days", "2", "--tipo", "ventas"];
    let on_file = env.json(&args);
    let on_server_live = env.json(&[&["--database", db.url.as_str()][..], &args].concat());
    // The server keeps the past day's figures once filled (then it adds them up, not the rows).
    let mut client = db.client();
    client
        .execute("SELECT klk_llenar_metricas(3)", &[])
        .unwrap();
    let kept: i64 = client
        .query_one(
            "SELECT count(*) FROM etl_metricas_dias WHERE fecha = DATE '2025-11-23'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(kept, 1, "the day before the latest execution's is kept");
    let on_server_kept = env.json(&[&["--database", db.url.as_str()][..], &args].concat());

    for (engine, report) in [
        ("DuckDB", &on_file),
        ("PostgreSQL, every day added up live", &on_server_live),
        ("PostgreSQL, the past day kept", &on_server_kept),
    ] {
        assert_eq!(
            means(report),
            (vec![17.733, 17.733], 17.733),
            "{engine}: {report}"
        );
    }
    assert_eq!(on_file, on_server_live);
    assert_eq!(on_file, on_server_kept);
}
