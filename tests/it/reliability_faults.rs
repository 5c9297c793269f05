//! Reliability: every API fault class of the simulator in one table. One store per class;
//! the fault hits every attempt of the first run, then stops. For each class: the estado
//! and `error_tipo` recorded, the HTTP attempts made (as the run reports them and as the
//! simulator saw them), whether a gap opened, and whether it closed (with the simulator's
//! exact lines) once the fault stopped. An empty 200 is a success with 0 lines; every
//! other fault is a gap. `--nocapture` prints the table (docs/reliability.md has a copy).

use std::collections::HashMap;

use crate::common::TestEnv;
use crate::common::pg::TestDatabase;
use chrono::NaiveDateTime;
use klk_etl::sim::{
    Endpoint, FaultRule, SimData, SimHandle, SimOptions, SimStore, Simulator, truth,
};

/// max_attempts in the configuration below: a retryable fault is tried this often.
const ATTEMPTS: u32 = 3;

struct Case {
    class: &'static str,
    /// The action, applied to the first `requests` requests of the store.
    action: &'static str,
    endpoint: &'static str,
    requests: &'static str,
    /// (estado, error_tipo) expected for the first run.
    expected: (&'static str, Option<&'static str>),
    attempts: u32,
    /// Two warehouses, the fault on the second one only.
    two_warehouses: bool,
}

const fn case(
    class: &'static str,
    action: &'static str,
    requests: &'static str,
    expected: (&'static str, Option<&'static str>),
    attempts: u32,
) -> Case {
    Case {
        class,
        action,
        endpoint: "ventas",
        requests,
        expected,
        attempts,
        two_warehouses: false,
    }
}

const FAILED: &str = "fallido";
const OK: &str = "exitoso";

fn cases() -> Vec<Case> {
    vec![
        case(
            "timeout (slow body)",
            "trickle=3s",
            "1-3",
            (FAILED, Some("timeout")),
            ATTEMPTS,
        ),
        case(
            "hang (no answer)",
            "hang",
            "1-3",
            (FAILED, Some("timeout")),
            ATTEMPTS,
        ),
        case(
            "closed without answer",
            "refuse",
            "1-3",
            (FAILED, Some("conexion")),
            ATTEMPTS,
        ),
        case(
            "connection reset",
            "reset",
            "1-3",
            (FAILED, Some("conexion")),
            ATTEMPTS,
        ),
        case(
            "HTTP 500",
            "500",
            "1-3",
            (FAILED, Some("api_error")),
            ATTEMPTS,
        ),
        case(
            "HTTP 503",
            "503",
            "1-3",
            (FAILED, Some("api_error")),
            ATTEMPTS,
        ),
        case(
            "HTTP 429 + Retry-After: 1",
            "429=1",
            "1-3",
            (FAILED, Some("api_error")),
            ATTEMPTS,
        ),
        case(
            "HTTP 429 without Retry-After",
            "429=none",
            "1-3",
            (FAILED, Some("api_error")),
            ATTEMPTS,
        ),
        case("HTTP 404", "404", "1", (FAILED, Some("api_error")), 1),
        case(
            "malformed body",
            "malformed",
            "1",
            (FAILED, Some("api_error")),
            1,
        ),
        case(
            "truncated body",
            "truncate",
            "1",
            (FAILED, Some("api_error")),
            1,
        ),
        case(
            "200 with an error key",
            "error=Sucursal bloqueada",
            "1",
            (FAILED, Some("api_error")),
            1,
        ),
        case(
            "200 with a wrong shape",
            "shape",
            "1",
            (FAILED, Some("api_error")),
            1,
        ),
        case(
            "a line that cannot load",
            "bad-line",
            "1",
            (FAILED, Some("validacion")),
            1,
        ),
        case("empty 200", "empty", "1", (OK, None), 1),
        case(
            "a conflicting copy of a line",
            "conflict",
            "1",
            (OK, None),
            1,
        ),
        case("older bare-array layout", "bare-array", "1", (OK, None), 1),
        case("slow but in time", "latency=300ms", "1", (OK, None), 1),
        Case {
            endpoint: "stock",
            ..case(
                "stock: HTTP 503",
                "503",
                "1-3",
                (FAILED, Some("api_error")),
                ATTEMPTS,
            )
        },
        Case {
            endpoint: "stock",
            ..case(
                "stock: malformed",
                "malformed",
                "1",
                (FAILED, Some("api_error")),
                1,
            )
        },
        Case {
            endpoint: "stock",
            ..case("stock: empty 200", "empty", "1", (OK, None), 1)
        },
        Case {
            endpoint: "stock",
            two_warehouses: true,
            ..case(
                "stock: one of two warehouses reset",
                "reset",
                "1-3",
                ("parcial", Some("conexion")),
                ATTEMPTS + 1,
            )
        },
    ]
}

fn now_arg(hh: u32, mm: u32) -> String {
    // 2025-11-24 HH:MM in Caracas (UTC-4).
    format!("2025-11-24T{:02}:{mm:02}:00Z", hh + 4)
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn setup(cases: &[Case], server: Option<&TestDatabase>) -> (SimHandle, TestEnv) {
    let stores: Vec<SimStore> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut warehouses = vec![format!("W{:03}", i + 1)];
            if c.two_warehouses {
                warehouses.push(format!("W{:03}-DEP", i + 1));
            }
            SimStore::new(format!("SUC{:03}", i + 1), warehouses)
        })
        .collect();
    let faults: Vec<FaultRule> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let store = format!("SUC{:03}", i + 1);
            // The warehouses are fetched in order: with two, the first request is the
            // first warehouse's, and the fault takes every attempt of the second one.
            let requests = if c.two_warehouses { "2-4" } else { c.requests };
            format!("{store}:{}:{}:{requests}", c.endpoint, c.action)
                .parse()
                .expect("fault rule")
        })
        .collect();
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 5,
            lines_per_hour: 120,
            articles_per_warehouse: 40,
            stores: stores.clone(),
        },
        faults,
    })
    .unwrap();
    let database = match server {
        Some(db) => db.url.clone(),
        None => "data/klk-etl.duckdb".to_string(),
    };
    let mut config = format!(
        "database = \"{database}\"\n[api]\nbase_url = \"{}\"\nconnect_timeout = \"1s\"\nread_timeout = \"1s\"\nmax_attempts = {ATTEMPTS}\nretry_max_elapsed = \"30s\"\n",
        sim.base_url()
    );
    for (i, store) in stores.iter().enumerate() {
        let warehouses: Vec<String> = store
            .warehouses
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect();
        config.push_str(&format!(
            "[[stores]]\nid = \"t{:03}\"\nname = \"{}\"\nsucursal = \"{}\"\nwarehouses = [{}]\n",
            i + 1,
            cases[i].class,
            store.sucursal,
            warehouses.join(", ")
        ));
    }
    (sim, TestEnv::with_config(&config))
}

fn run_json(env: &TestEnv, now: &str, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = env
        .cmd()
        .args(["--now", now, "--format", "json", "run"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {stderr}"));
    (out.status.code(), json)
}

fn gaps_of(env: &TestEnv, now: &str) -> HashMap<(String, String), usize> {
    let out = env
        .cmd()
        .args(["--now", now, "gaps", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gaps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut by_store = HashMap::new();
    for gap in gaps.as_array().unwrap() {
        let key = (
            gap["ubicacion_id"].as_str().unwrap().to_string(),
            gap["etl_tipo"].as_str().unwrap().to_string(),
        );
        *by_store.entry(key).or_insert(0) += 1;
    }
    by_store
}

/// Rows of `table` for `store` (and `fecha_hora` in `[from, to)` when given), in the
/// configured database: the DuckDB file, or the server's.
fn stored(
    env: &TestEnv,
    server: Option<&TestDatabase>,
    table: &str,
    store: &str,
    between: Option<(NaiveDateTime, NaiveDateTime)>,
) -> usize {
    let (from, to) = between.unwrap_or((local("1970-01-01 00:00"), local("9999-12-31 00:00")));
    let sql = format!(
        "SELECT count(*) FROM {table} WHERE ubicacion_id = $1{}",
        if between.is_some() {
            " AND fecha_hora >= $2 AND fecha_hora < $3"
        } else {
            ""
        }
    );
    let count: i64 = match server {
        Some(db) => {
            let mut client = db.client();
            if between.is_some() {
                client.query_one(&sql, &[&store, &from, &to])
            } else {
                client.query_one(&sql, &[&store])
            }
            .unwrap()
            .get(0)
        }
        None => {
            let conn = env.connect();
            if between.is_some() {
                conn.query_row(&sql, duckdb::params![store, from, to], |r| r.get(0))
            } else {
                conn.query_row(&sql, [store], |r| r.get(0))
            }
            .unwrap()
        }
    };
    count as usize
}

#[test]
fn every_fault_class_in_one_table() {
    fault_table(None);
}

#[test]
fn every_fault_class_in_one_table_on_postgresql() {
    fault_table(Some(&TestDatabase::new()));
}

/// Every fault class against one store each, one run with the faults active and one after:
/// what was recorded, the gap opened and closed, the data equal to the API's.
fn fault_table(server: Option<&TestDatabase>) {
    let cases = cases();
    let (sim, env) = setup(&cases, server);
    let jobs = cases.len().to_string();

    // First run: every fault active.
    let (code, first) = run_json(&env, &now_arg(10, 5), &["--jobs", &jobs]);
    assert_eq!(code, Some(1), "some stores failed: {first:#}");
    let reports = first["reports"].as_array().unwrap();
    let gaps_during = gaps_of(&env, &now_arg(10, 6));

    // The faults have stopped (their request ranges are spent): one run recovers every gap.
    let (code, second) = run_json(
        &env,
        &now_arg(10, 35),
        &["--jobs", &jobs, "--max-gaps", "50"],
    );
    assert_eq!(code, Some(0), "{second:#}");
    let gaps_after = gaps_of(&env, &now_arg(10, 36));

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let id = format!("t{:03}", i + 1);
        let sucursal = format!("SUC{:03}", i + 1);
        let tipo = if c.endpoint == "stock" {
            "inventario"
        } else {
            "ventas"
        };
        let report = reports
            .iter()
            .find(|r| r["ubicacion_id"] == id.as_str() && r["etl_tipo"] == tipo)
            .unwrap_or_else(|| panic!("no report for {id} {tipo}"));
        let estado = report["estado"].as_str().unwrap().to_string();
        let error_tipo = report["error_tipo"].as_str().map(str::to_string);
        let attempts = report["intentos_http"].as_u64().unwrap() as u32;
        let loaded = report["cargados"].as_u64().unwrap();
        let endpoint = if c.endpoint == "stock" {
            Endpoint::Stock
        } else {
            Endpoint::Ventas
        };
        // What the simulator saw of the first run (the second run's requests come after).
        let seen_first = sim
            .requests()
            .iter()
            .filter(|r| {
                r.endpoint == Some(endpoint) && r.store.as_deref() == Some(sucursal.as_str())
            })
            .filter(|r| r.fault.is_some() || r.latency > std::time::Duration::ZERO)
            .count();
        let gap_opened = gaps_during.contains_key(&(id.clone(), tipo.to_string()));
        let gap_left = gaps_after.contains_key(&(id.clone(), tipo.to_string()));
        // The data once the fault stopped.
        let matches_truth = if tipo == "ventas" {
            let (from, to) = (local("2025-11-24 09:30"), local("2025-11-24 10:30"));
            stored(&env, server, "ventas", &id, Some((from, to)))
                == truth::sales_lines(sim.data(), &sucursal, from, to).len()
        } else {
            let rows = stored(&env, server, "inventario", &id, None);
            let expected: usize = sim
                .data()
                .store(&sucursal)
                .unwrap()
                .warehouses
                .iter()
                .map(|w| truth::stock_items(sim.data(), w).len())
                .sum();
            rows == expected
        };
        let retry_spacing = if c.action.starts_with("429=1") {
            let times: Vec<std::time::Instant> = sim
                .requests()
                .iter()
                .filter(|r| r.store.as_deref() == Some(sucursal.as_str()) && r.fault.is_some())
                .map(|r| r.received_at)
                .collect();
            times
                .windows(2)
                .map(|w| w[1].duration_since(w[0]).as_secs_f64())
                .fold(f64::INFINITY, f64::min)
        } else {
            f64::NAN
        };
        let expected_gap = c.expected.0 != OK;
        let mut wrong = Vec::new();
        if (estado.as_str(), error_tipo.as_deref()) != c.expected {
            wrong.push(format!(
                "recorded {estado}/{error_tipo:?}, expected {:?}",
                c.expected
            ));
        }
        if attempts != c.attempts {
            wrong.push(format!("{attempts} attempts, expected {}", c.attempts));
        }
        if c.expected.0 != OK && c.endpoint == "ventas" && seen_first as u32 != attempts {
            wrong.push(format!(
                "the run reports {attempts} attempts, the simulator saw {seen_first} faulty requests"
            ));
        }
        if gap_opened != expected_gap {
            wrong.push(format!("gap opened: {gap_opened}, expected {expected_gap}"));
        }
        if gap_left {
            wrong.push("the gap is still open after the fault stopped".to_string());
        }
        if !matches_truth {
            wrong.push("the data differs from the API's after the fault stopped".to_string());
        }
        if retry_spacing.is_finite() && retry_spacing < 0.95 {
            wrong.push(format!(
                "Retry-After not honoured: retried after {retry_spacing:.2}s"
            ));
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}", c.class, wrong.join("; ")));
        }
        rows.push(format!(
            "| {} | `{}:{}` | {} | {} | {} | {} | {} | {} | {} |",
            c.class,
            c.endpoint,
            c.action,
            estado,
            error_tipo.as_deref().unwrap_or("—"),
            if retry_spacing.is_finite() {
                format!("{attempts} (≥ {retry_spacing:.1} s apart)")
            } else {
                attempts.to_string()
            },
            loaded,
            if gap_opened { "yes" } else { "no" },
            if gap_opened {
                if gap_left { "no" } else { "yes" }
            } else {
                "—"
            },
            if matches_truth { "yes" } else { "no" },
        ));
    }
    if server.is_some() {
        assert!(!env.path().join("data").exists(), "a DuckDB file was made");
        println!("On PostgreSQL:");
    }
    println!(
        "| fault class | simulator rule | estado | error_tipo | HTTP attempts | rows loaded | gap | gap closed after the fault stopped | data = API after |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// No listener at all (ECONNREFUSED) for every store: each window is `conexion` after
/// every attempt, the run exits 4, and the gaps close once the API is back.
#[test]
fn connection_refused_everywhere_is_exit_4_then_recovered() {
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 5,
            lines_per_hour: 120,
            articles_per_warehouse: 40,
            stores: vec![
                SimStore::new("SUC001", vec!["W001".to_string()]),
                SimStore::new("SUC002", vec!["W002".to_string()]),
            ],
        },
        faults: Vec::new(),
    })
    .unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = format!(
        "database = \"data/klk-etl.duckdb\"\n[api]\nbase_url = \"{}\"\nconnect_timeout = \"1s\"\nread_timeout = \"1s\"\nmax_attempts = {ATTEMPTS}\nretry_max_elapsed = \"30s\"\n\
         [[stores]]\nid = \"t001\"\nname = \"A\"\nsucursal = \"SUC001\"\nwarehouses = [\"W001\"]\n\
         [[stores]]\nid = \"t002\"\nname = \"B\"\nsucursal = \"SUC002\"\nwarehouses = [\"W002\"]\n",
        sim.base_url()
    );
    let env = TestEnv::with_config(&config);
    let out = env
        .cmd()
        .env("KLK_ETL_API_URL", &down)
        .args(["--now", &now_arg(10, 5), "--format", "json", "run"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = outcome["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 4, "two stores, ventas and inventario");
    for r in reports {
        assert_eq!(r["estado"], "fallido", "{r}");
        assert_eq!(r["error_tipo"], "conexion", "{r}");
        assert_eq!(r["intentos_http"], ATTEMPTS, "{r}");
    }
    assert_eq!(gaps_of(&env, &now_arg(10, 6)).len(), 4);
    let (code, _) = run_json(&env, &now_arg(10, 35), &[]);
    assert_eq!(code, Some(0));
    assert!(gaps_of(&env, &now_arg(10, 36)).is_empty());
    println!(
        "| no listener (ECONNREFUSED), every store | base_url on a closed port | fallido | conexion | {ATTEMPTS} | 0 | yes | yes (the run exits 4) | yes |"
    );
}
