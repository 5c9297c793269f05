//! No sale lost whatever the API does with its hour bounds, and every closed day verified:
//! the real binary, a real DuckDB file and the simulator on 127.0.0.1 with each reading of
//! `hora_desde`/`hora_hasta`, lines at 00:00:00.0, on every boundary and at 23:59:59.8, and
//! data that changes after it was first served (late, vanished, changed lines, a re-pull
//! that fails).

use std::collections::BTreeMap;

use crate::common::TestEnv;
use chrono::{NaiveDate, NaiveDateTime};
use klk_etl::klk::SalesLine;
use klk_etl::sim::{
    BoundSemantics, FaultRule, SimData, SimHandle, SimOptions, SimQuirks, SimStore, Simulator,
    truth,
};

/// (id, name, sucursal, warehouse)
const STORES: &[(&str, &str, &str, &str)] = &[
    ("tienda_01", "PERIFERICO", "SUC001", "APP-TPF"),
    ("tienda_08", "BOSQUE", "SUC002", "APP-TBQ"),
    ("tienda_17", "ARTIGAS", "SUC003", "TANT"),
];

const DAY: u32 = 24;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 11, d).unwrap()
}

fn local(d: u32, hh: u32, mm: u32) -> NaiveDateTime {
    day(d).and_hms_opt(hh, mm, 0).unwrap()
}

/// Caracas wall time as the UTC instant `--now` takes.
fn caracas(d: u32, hh: u32, mm: u32) -> String {
    (local(d, hh, mm) + chrono::Duration::hours(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn start_sim(bounds: BoundSemantics, stores: usize, faults: &[String]) -> SimHandle {
    Simulator::start_with(
        SimOptions {
            port: 0,
            data: SimData {
                seed: 11,
                lines_per_hour: 40,
                articles_per_warehouse: 20,
                stores: SimStore::chain().into_iter().take(stores).collect(),
            },
            faults: faults
                .iter()
                .map(|f| f.parse::<FaultRule>().expect("fault rule"))
                .collect(),
        },
        SimQuirks {
            bounds,
            edge_lines: true,
        },
    )
    .expect("simulator")
}

fn env_for(sim: &SimHandle, stores: usize, extra: &str) -> TestEnv {
    let mut config = format!(
        "database = \"data/klk-etl.duckdb\"\n{extra}\n[api]\nbase_url = \"{}\"\n\
         connect_timeout = \"1s\"\nread_timeout = \"2s\"\nmax_attempts = 2\nretry_max_elapsed = \"3s\"\n",
        sim.base_url()
    );
    for (id, name, sucursal, warehouse) in &STORES[..stores] {
        config.push_str(&format!(
            "[[stores]]\nid = \"{id}\"\nname = \"{name}\"\nsucursal = \"{sucursal}\"\nwarehouses = [\"{warehouse}\"]\n"
        ));
    }
    TestEnv::with_config(&config)
}

fn run(env: &TestEnv, now: &str, args: &[&str]) -> std::process::Output {
    env.cmd()
        .args(["--now", now, "run", "--tipo", "ventas"])
        .args(args)
        .output()
        .expect("run")
}

/// Cron every 30 minutes from `d` 00:05 to the next day's 00:05.
fn half_hourly_day(env: &TestEnv, d: u32, args: &[&str]) {
    for half_hour in 0..=48u32 {
        let (dd, hh, mm) = if half_hour == 48 {
            (d + 1, 0, 5)
        } else {
            (d, half_hour / 2, 5 + 30 * (half_hour % 2))
        };
        let out = run(env, &caracas(dd, hh, mm), args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "run at {dd} {hh:02}:{mm:02}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

type Line = (String, i64, String, f64);

/// Every sales line of a store and date in the database: key, `hora` and venta_total_usd.
fn loaded(env: &TestEnv, store: &str, date: NaiveDate) -> BTreeMap<(String, i64), (String, f64)> {
    let conn = env.connect();
    let mut stmt = conn
        .prepare(
            "SELECT numero_factura, linea, CAST(hora AS VARCHAR), venta_total_usd FROM ventas \
             WHERE ubicacion_id = ? AND fecha = ?",
        )
        .unwrap();
    stmt.query_map(duckdb::params![store, date], |r| {
        Ok::<Line, _>((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })
    .unwrap()
    .map(|row| {
        let (factura, linea, hora, usd) = row.unwrap();
        ((factura, linea), (hora, usd))
    })
    .collect()
}

fn keyed(lines: &[SalesLine]) -> BTreeMap<(String, i64), f64> {
    lines
        .iter()
        .map(|l| ((l.numero_factura.clone(), l.linea), l.venta_total_usd))
        .collect()
}

/// The API's own lines of a store for a whole day.
fn api_day(sim: &SimHandle, sucursal: &str, d: u32) -> Vec<SalesLine> {
    truth::sales_lines_with(
        sim.data(),
        &sim.quirks(),
        sucursal,
        local(d, 0, 0),
        local(d + 1, 0, 0),
    )
}

fn assert_day_equal(env: &TestEnv, sim: &SimHandle, store: usize, d: u32, what: &str) {
    let (id, _, sucursal, _) = STORES[store];
    let expected = keyed(&api_day(sim, sucursal, d));
    let actual = loaded(env, id, day(d));
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {id} {}: {} missing (e.g. {:?}), {} extra (e.g. {:?})",
        day(d),
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>()
    );
    for (key, usd) in &expected {
        let (_, loaded_usd) = &actual[key];
        assert!((usd - loaded_usd).abs() < 1e-9, "{what}: {key:?} USD");
    }
}

/// The half-hourly day under one reading of the bounds, verification off: the incremental
/// windows alone must bring every line of the day, the edge lines included, once.
fn a_half_hourly_day_loses_nothing(bounds: BoundSemantics) {
    let sim = start_sim(bounds, 2, &[]);
    let env = env_for(&sim, 2, "");
    half_hourly_day(&env, DAY, &["--no-verify"]);
    for (store, (id, ..)) in STORES.iter().enumerate().take(2) {
        assert_day_equal(&env, &sim, store, DAY, bounds.name());
        let edges = loaded(&env, id, day(DAY));
        for hora in [
            "00:00:00",
            "12:00:00",
            "12:30:00",
            "23:59:59.8",
            "23:59:59.999999",
        ] {
            assert!(
                edges.values().any(|(h, _)| h == hora),
                "{}: no line at {hora} for {}",
                bounds.name(),
                id
            );
        }
    }
    // Every slot of the day is covered, and nothing was asked with a bound that cuts the
    // day's first or last line.
    let gaps = env.json(&["gaps", "--tipo", "ventas"]);
    assert_eq!(gaps.as_array().unwrap().len(), 0, "{gaps:#}");
    for record in sim.requests() {
        let body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
        assert_ne!(body["hora_hasta"], "23:59:59", "{}", record.body);
        assert_ne!(body["hora_desde"], "00:00:00", "{}", record.body);
    }
}

#[test]
fn half_open_bounds_lose_no_line() {
    a_half_hourly_day_loses_nothing(BoundSemantics::HalfOpen);
}

#[test]
fn between_bounds_on_full_precision_lose_no_line() {
    a_half_hourly_day_loses_nothing(BoundSemantics::Between);
}

#[test]
fn an_exclusive_lower_bound_loses_no_line() {
    a_half_hourly_day_loses_nothing(BoundSemantics::ExclusiveLower);
}

#[test]
fn bounds_exclusive_at_both_ends_lose_no_line() {
    a_half_hourly_day_loses_nothing(BoundSemantics::Exclusive);
}

#[test]
fn bounds_compared_on_truncated_seconds_lose_no_line() {
    a_half_hourly_day_loses_nothing(BoundSemantics::Truncated);
}

#[test]
fn bounds_read_as_minutes_lose_no_line() {
    a_half_hourly_day_loses_nothing(BoundSemantics::Minutes);
}

fn json_of(env: &TestEnv, now: &str, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = env
        .cmd()
        .args(["--now", now])
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{args:?}: no JSON: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), value)
}

/// (store, estado, lineas_tardias, lineas_cambiadas, lineas_desaparecidas)
type Verification = (String, String, Option<i64>, Option<i64>, Option<i64>);

fn verifications(env: &TestEnv) -> Vec<Verification> {
    let conn = env.connect();
    let mut stmt = conn
        .prepare(
            "SELECT ubicacion_id, estado, lineas_tardias, lineas_cambiadas, lineas_desaparecidas \
             FROM etl_ejecuciones WHERE modo = 'verificacion' ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn lines_between(
    sim: &SimHandle,
    sucursal: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<SalesLine> {
    truth::sales_lines_with(sim.data(), &sim.quirks(), sucursal, from, to)
}

#[test]
fn run_verifies_each_closed_day_once_and_records_late_changed_and_vanished_lines() {
    let d = day(DAY);
    let next = day(DAY + 1);
    let faults = vec![
        // A late line: the half-hourly requests reaching 14:10 do not have it yet.
        format!("SUC001:ventas:hide:1-2@{d}T14:10/{d}T14:11"),
        // A line that vanishes, and one whose values change, after the day was loaded.
        format!("SUC002:ventas:hide:3-@{d}T16:20/{d}T16:21"),
        format!("SUC002:ventas:change:3-@{d}T18:40/{d}T18:41"),
        // The nightly re-pull of ARTIGAS fails twice (two attempts each time).
        "SUC003:ventas-dia:500:1-4".to_string(),
    ];
    let sim = start_sim(BoundSemantics::Between, 3, &faults);
    let env = env_for(&sim, 3, "");
    half_hourly_day(&env, DAY, &[]);

    // Before the day closes (03:00) nothing is re-pulled and nothing is a gap.
    let out = run(&env, &caracas(DAY + 1, 2, 35), &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(verifications(&env).is_empty());
    assert_eq!(
        sim.request_count(klk_etl::sim::Endpoint::VentasDia, None),
        0
    );
    let late = lines_between(&sim, "SUC001", local(DAY, 14, 10), local(DAY, 14, 11));
    assert!(!late.is_empty(), "the simulator has lines at 14:10");
    for line in &late {
        assert!(
            !loaded(&env, "tienda_01", d).contains_key(&(line.numero_factura.clone(), line.linea)),
            "the late line is not loaded before the day is verified"
        );
    }

    // 03:05: every closed day re-pulled whole, once; ARTIGAS's re-pull fails.
    let out = run(&env, &caracas(DAY + 1, 3, 5), &[]);
    assert_eq!(out.status.code(), Some(1), "ARTIGAS's re-pull failed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 day(s) verified"), "{stderr}");
    let vanished = lines_between(&sim, "SUC002", local(DAY, 16, 20), local(DAY, 16, 21));
    let changed = lines_between(&sim, "SUC002", local(DAY, 18, 40), local(DAY, 18, 41));
    assert!(!vanished.is_empty() && !changed.is_empty());
    let found = verifications(&env);
    assert_eq!(
        found,
        vec![
            (
                "tienda_01".into(),
                "exitoso".into(),
                Some(late.len() as i64),
                Some(0),
                Some(0)
            ),
            (
                "tienda_08".into(),
                "exitoso".into(),
                Some(0),
                Some(changed.len() as i64),
                Some(vanished.len() as i64)
            ),
            ("tienda_17".into(), "fallido".into(), None, None, None),
        ]
    );
    // The late line is in; the vanished ones are kept; the changed ones hold the new values.
    assert_day_equal(&env, &sim, 0, DAY, "after verification");
    let bosque = loaded(&env, "tienda_08", d);
    for line in &vanished {
        assert!(bosque.contains_key(&(line.numero_factura.clone(), line.linea)));
    }
    let new_values = keyed(&truth::changed_sales_lines(
        sim.data(),
        &sim.quirks(),
        "SUC002",
        local(DAY, 18, 40),
        local(DAY, 18, 41),
    ));
    for (key, usd) in &new_values {
        assert!((bosque[key].1 - usd).abs() < 1e-9, "{key:?} was updated");
    }

    // The failed re-pull is a gap of its own at once, in health, alerts' source and Prometheus.
    let (code, gaps) = json_of(&env, &caracas(DAY + 1, 3, 10), &["gaps"]);
    assert_eq!(code, Some(0));
    let gaps = gaps.as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert_eq!(gaps[0]["causa"], "sin_verificar");
    assert_eq!(gaps[0]["ubicacion_id"], "tienda_17");
    assert_eq!(gaps[0]["fecha_desde"], d.to_string());
    assert_eq!(gaps[0]["hora_desde"], serde_json::Value::Null);
    assert_eq!(gaps[0]["error_tipo"], "api_error");
    assert_eq!(gaps[0]["intentos"], 1);
    let check = env
        .cmd()
        .args(["--now", &caracas(DAY + 1, 3, 10), "gaps", "--check"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(5));
    let health = env
        .cmd()
        .args(["--now", &caracas(DAY + 1, 3, 10), "health"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&health.stdout);
    assert_ne!(health.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "closed day(s) not verified: tienda_17 2025-11-24 (re-pull failed 1x: api_error)"
        ),
        "{text}"
    );
    let prometheus = env
        .cmd()
        .args([
            "--now",
            &caracas(DAY + 1, 3, 10),
            "metrics",
            "--format",
            "prometheus",
        ])
        .output()
        .unwrap();
    let prometheus = String::from_utf8_lossy(&prometheus.stdout);
    assert!(
        prometheus.contains(
            "klk_etl_unverified_days{tipo=\"ventas\",store=\"tienda_17\",name=\"ARTIGAS\"} 1"
        ),
        "{prometheus}"
    );
    assert!(
        prometheus.contains(&format!(
            "klk_etl_verification_late_lines{{tipo=\"ventas\",store=\"tienda_01\",name=\"PERIFERICO\"}} {}",
            late.len()
        )),
        "{prometheus}"
    );

    // The next run tries again (fails), the one after succeeds and closes the gap.
    assert_eq!(
        run(&env, &caracas(DAY + 1, 3, 35), &[]).status.code(),
        Some(1)
    );
    assert_eq!(
        run(&env, &caracas(DAY + 1, 4, 5), &[]).status.code(),
        Some(0)
    );
    let (_, gaps) = json_of(&env, &caracas(DAY + 1, 4, 10), &["gaps"]);
    assert_eq!(gaps.as_array().unwrap().len(), 0, "{gaps:#}");
    // The verification and gaps checks are OK again (the two failed re-pulls still weigh
    // on the store's success rate, a check of its own).
    let health = env
        .cmd()
        .args(["--now", &caracas(DAY + 1, 4, 10), "health"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&health.stdout);
    assert!(
        text.contains("OK verification: every closed day verified")
            && text.contains("OK gaps: no gaps"),
        "{text}"
    );
    assert_day_equal(&env, &sim, 2, DAY, "ARTIGAS after its re-pull");
    // Each day is verified once: later runs re-pull nothing more.
    let before = sim.request_count(klk_etl::sim::Endpoint::VentasDia, None);
    assert_eq!(
        run(&env, &caracas(DAY + 1, 4, 35), &[]).status.code(),
        Some(0)
    );
    assert_eq!(
        sim.request_count(klk_etl::sim::Endpoint::VentasDia, None),
        before
    );

    // metrics: per store and day, what verification found, and per store at a glance.
    let (_, metrics) = json_of(
        &env,
        &caracas(DAY + 1, 4, 40),
        &["metrics", "--days", "2", "--tipo", "ventas"],
    );
    let row = metrics["por_dia"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ubicacion_id"] == "tienda_01" && r["fecha"] == d.to_string())
        .expect("tienda_01's day");
    assert_eq!(row["lineas_tardias"], late.len());
    assert!(
        row["verificado_en"]
            .as_str()
            .unwrap()
            .starts_with(&next.to_string())
    );
    let summary = metrics["por_tienda"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ubicacion_id"] == "tienda_01")
        .unwrap();
    assert_eq!(summary["lineas_tardias"], late.len());
    assert_eq!(summary["dias_con_tardias"], 1);
    assert_eq!(summary["dias_verificados"], 1);

    // Vanished lines are listed, kept, and deleted only on an explicit command.
    let (_, listed) = json_of(&env, &caracas(DAY + 1, 5, 0), &["vanished"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), vanished.len(), "{listed:#?}");
    assert!(listed.iter().all(|l| l["ubicacion_id"] == "tienda_08"));
    let delete = env
        .cmd()
        .args(["--now", &caracas(DAY + 1, 5, 0), "vanished", "--delete"])
        .output()
        .unwrap();
    assert_eq!(
        delete.status.code(),
        Some(2),
        "refused without --yes off a terminal"
    );
    let delete = env
        .cmd()
        .args([
            "--now",
            &caracas(DAY + 1, 5, 0),
            "vanished",
            "--delete",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(delete.status.code(), Some(0));
    // BOSQUE's day is now exactly what the API answers: without the vanished lines, with
    // the changed values.
    let mut expected = keyed(&api_day(&sim, "SUC002", DAY));
    for line in &vanished {
        expected.remove(&(line.numero_factura.clone(), line.linea));
    }
    expected.extend(new_values);
    let bosque: BTreeMap<(String, i64), f64> = loaded(&env, "tienda_08", d)
        .into_iter()
        .map(|(key, (_, usd))| (key, usd))
        .collect();
    assert_eq!(bosque.len(), expected.len());
    for (key, usd) in &expected {
        assert!((bosque[key] - usd).abs() < 1e-9, "{key:?}");
    }
}

#[test]
fn a_closed_day_never_re_pulled_becomes_a_gap_at_its_deadline_and_closes_when_verified() {
    let sim = start_sim(BoundSemantics::HalfOpen, 1, &[]);
    let env = env_for(&sim, 1, "");
    half_hourly_day(&env, DAY, &["--no-verify"]);
    for (hh, mm) in [(3, 5), (8, 55)] {
        assert_eq!(
            run(&env, &caracas(DAY + 1, hh, mm), &["--no-verify"])
                .status
                .code(),
            Some(0)
        );
        let (_, gaps) = json_of(&env, &caracas(DAY + 1, hh, mm + 1), &["gaps"]);
        assert_eq!(
            gaps.as_array().unwrap().len(),
            0,
            "before the deadline: {gaps:#}"
        );
    }
    // 09:00 is the default deadline.
    let (_, gaps) = json_of(&env, &caracas(DAY + 1, 9, 1), &["gaps"]);
    let gaps = gaps.as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert_eq!(gaps[0]["causa"], "sin_verificar");
    assert_eq!(gaps[0]["error_tipo"], "sin_ejecucion");
    assert_eq!(gaps[0]["fecha_fallo"], "2025-11-25T09:00:00");
    assert_eq!(gaps[0]["intentos"], 0);
    // `verify --dry-run` shows the day it would re-pull; `verify` re-pulls it.
    let dry = env
        .cmd()
        .args(["--now", &caracas(DAY + 1, 9, 5), "verify", "--dry-run"])
        .output()
        .unwrap();
    let dry = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.contains("Would verify 1 closed day(s)"), "{dry}");
    assert!(
        dry.contains("tienda_01") && dry.contains("2025-11-24"),
        "{dry}"
    );
    let out = env
        .cmd()
        .args(["--now", &caracas(DAY + 1, 9, 5), "verify"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, gaps) = json_of(&env, &caracas(DAY + 1, 9, 6), &["gaps"]);
    assert_eq!(gaps.as_array().unwrap().len(), 0);
    assert_eq!(verifications(&env).len(), 1);
}

#[test]
fn verifications_are_spread_over_runs_and_wait_for_the_normal_windows() {
    let sim = start_sim(BoundSemantics::HalfOpen, 3, &[]);
    let env = env_for(&sim, 3, "[verification]\nmax_per_run = 2\n");
    half_hourly_day(&env, DAY, &["--no-verify"]);
    let out = run(&env, &caracas(DAY + 1, 3, 5), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(verifications(&env).len(), 2, "at most 2 per run");
    // The normal window of the run was started before its verifications.
    let order: Vec<String> = env
        .connect()
        .prepare(
            "SELECT modo FROM etl_ejecuciones WHERE fecha_inicio >= TIMESTAMP '2025-11-25 03:05' ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let first_verification = order.iter().position(|m| m == "verificacion").unwrap();
    assert!(
        first_verification >= 3
            && order[..first_verification]
                .iter()
                .all(|m| m == "incremental_30min")
            && order[first_verification..]
                .iter()
                .all(|m| m == "verificacion"),
        "{order:?}"
    );
    let out = run(&env, &caracas(DAY + 1, 3, 35), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = verifications(&env);
    assert_eq!(found.len(), 3);
    let stores: std::collections::BTreeSet<&str> = found.iter().map(|v| v.0.as_str()).collect();
    assert_eq!(stores.len(), 3, "each store-day once: {found:?}");
    for store in 0..3 {
        assert_day_equal(&env, &sim, store, DAY, "verified");
    }
}

#[test]
fn a_nightly_full_re_pull_that_fails_is_never_silent() {
    // The documented nightly line, `run --full --date yesterday`, failing with HTTP 500.
    let sim = start_sim(
        BoundSemantics::Between,
        1,
        &["SUC001:ventas-dia:500".to_string()],
    );
    let env = env_for(&sim, 1, "");
    half_hourly_day(&env, DAY, &["--no-verify"]);
    let out = env
        .cmd()
        .args([
            "--now",
            &caracas(DAY + 1, 3, 15),
            "run",
            "--tipo",
            "ventas",
            "--full",
            "--date",
            "yesterday",
            "--no-recover",
            "--no-verify",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (_, gaps) = json_of(&env, &caracas(DAY + 1, 3, 20), &["gaps"]);
    let unverified: Vec<_> = gaps
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["causa"] == "sin_verificar")
        .collect();
    assert_eq!(unverified.len(), 1, "{gaps:#}");
    assert_eq!(unverified[0]["fecha_desde"], day(DAY).to_string());
    assert_eq!(unverified[0]["error_tipo"], "api_error");
    let health = env
        .cmd()
        .args(["--now", &caracas(DAY + 1, 3, 20), "health"])
        .output()
        .unwrap();
    assert_ne!(health.status.code(), Some(0));
}
