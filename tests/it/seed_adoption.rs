//! A DuckDB file made by the original Python system (the seed's DDL, seed-era rows) is
//! adopted in place: every command works, nothing is lost, and the seed's own SQL and
//! monitoring script run unchanged against it (with Python's duckdb, when available).

#![expect(
    clippy::disallowed_methods,
    reason = "these tests build data relative to the real clock, as the views read it"
)]

use crate::common::TestEnv;
use chrono::{Duration, NaiveDateTime, NaiveTime, Timelike, Utc};

const SEED_DDL: &str = r#"
CREATE TABLE etl_ejecuciones (
    id INTEGER PRIMARY KEY,                  -- Auto-increment
    etl_tipo VARCHAR NOT NULL,               -- 'inventario' | 'ventas'
    ubicacion_id VARCHAR NOT NULL,           -- 'tienda_01', etc
    ubicacion_nombre VARCHAR NOT NULL,       -- 'PERIFERICO', etc

    -- Timestamps
    fecha_inicio TIMESTAMP NOT NULL,
    fecha_fin TIMESTAMP,
    duracion_segundos DOUBLE,

    -- Rango de datos procesados
    fecha_desde DATE NOT NULL,
    fecha_hasta DATE NOT NULL,
    hora_desde TIME,                         -- Para modo incremental
    hora_hasta TIME,                         -- Para modo incremental

    -- Resultado
    estado VARCHAR NOT NULL,                 -- 'en_proceso' | 'exitoso' | 'fallido' | 'parcial'
    registros_extraidos INTEGER DEFAULT 0,
    registros_cargados INTEGER DEFAULT 0,

    -- Errores
    error_mensaje TEXT,
    error_tipo VARCHAR,                      -- 'timeout' | 'conexion' | 'api_error' | 'db_error'

    -- Metadata
    modo VARCHAR,                            -- 'completo' | 'incremental_30min' | 'recuperacion'
    version_etl VARCHAR,
    host VARCHAR
);
"#;

const CONFIG: &str = r#"
database = "data/fluxion_production.db"

[[stores]]
id = "tienda_01"
name = "PERIFERICO"
sucursal = "SUC001"
warehouses = ["APP-TPF"]
opening_hours = "08:00-20:00"

[[stores]]
id = "tienda_08"
name = "BOSQUE"
sucursal = "SUC002"
warehouses = ["APP-TBQ"]
opening_hours = "08:00-20:00"

[[stores]]
id = "tienda_17"
name = "ARTIGAS"
sucursal = "SUC003"
warehouses = ["TANT"]
"#;

struct Row {
    tipo: &'static str,
    store: (&'static str, &'static str),
    start: NaiveDateTime,
    window: (chrono::NaiveDate, Option<NaiveTime>, Option<NaiveTime>),
    estado: &'static str,
    error: Option<(&'static str, &'static str)>,
}

fn t(h: u32, m: u32, s: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, s).unwrap()
}

/// Seed-era history relative to the real clock (the views use the real "now").
fn history(now_local: NaiveDateTime) -> (Vec<Row>, NaiveDateTime) {
    let mut rows = Vec::new();
    let today = now_local.date();
    for (i, store) in [("tienda_01", "PERIFERICO"), ("tienda_08", "BOSQUE")]
        .into_iter()
        .enumerate()
    {
        for back in 0..10 {
            let day = today - Duration::days(back);
            for slot in 0..24u32 {
                let from = t(8 + slot / 2, (slot % 2) * 30, 0);
                let end = day.and_time(from) + Duration::minutes(30);
                let start = end + Duration::minutes(5);
                if start >= now_local {
                    continue;
                }
                let failed = (slot as usize + back as usize + i).is_multiple_of(9);
                rows.push(Row {
                    tipo: "ventas",
                    store,
                    start,
                    window: (day, Some(from), Some(end.time())),
                    estado: if failed { "fallido" } else { "exitoso" },
                    error: failed.then_some(("timeout", "Read timed out. (read timeout=120)")),
                });
            }
            let snapshot = day.and_time(t(6, 0, 0));
            if snapshot < now_local {
                rows.push(Row {
                    tipo: "inventario",
                    store,
                    start: snapshot,
                    window: (day, None, None),
                    estado: "exitoso",
                    error: None,
                });
            }
        }
        // Old rows, for the seed's purge.
        let old = today - Duration::days(100);
        rows.push(Row {
            tipo: "ventas",
            store,
            start: old.and_time(t(23, 0, 0)),
            window: (old, None, None),
            estado: "exitoso",
            error: None,
        });
    }
    // tienda_17: covered by successes except one slot that failed exactly 30 hours ago.
    let failed_at = now_local - Duration::hours(30);
    let slot_start = failed_at.date().and_time(t(
        failed_at.hour(),
        if failed_at.minute() >= 30 { 30 } else { 0 },
        0,
    ));
    let slot_end = slot_start + Duration::minutes(30);
    let artigas = ("tienda_17", "ARTIGAS");
    for back in 0..10 {
        let day = today - Duration::days(back);
        let ok = |from: NaiveTime, to: Option<NaiveTime>| Row {
            tipo: "ventas",
            store: artigas,
            start: day
                .and_time(t(23, 59, 0))
                .min(now_local - Duration::minutes(1)),
            window: (day, Some(from), to.or(Some(t(23, 59, 59)))),
            estado: "exitoso",
            error: None,
        };
        if day == slot_start.date() {
            if slot_start.time() > t(0, 0, 0) {
                rows.push(ok(t(0, 0, 0), Some(slot_start.time())));
            }
            if slot_end.date() == day {
                rows.push(ok(slot_end.time(), None));
            }
            rows.push(Row {
                tipo: "ventas",
                store: artigas,
                start: failed_at,
                window: (day, Some(slot_start.time()), Some(slot_end.time())),
                estado: "fallido",
                error: Some(("conexion", "HTTPConnectionPool: Max retries exceeded")),
            });
        } else if day == today {
            let current = now_local.date().and_time(t(
                now_local.hour(),
                if now_local.minute() >= 30 { 30 } else { 0 },
                0,
            ));
            if current.time() > t(0, 0, 0) {
                rows.push(ok(t(0, 0, 0), Some(current.time())));
            }
        } else {
            rows.push(Row {
                window: (day, None, None),
                ..ok(t(0, 0, 0), None)
            });
        }
    }
    // A run that died a day ago and never closed its row.
    rows.push(Row {
        tipo: "inventario",
        store: artigas,
        start: now_local - Duration::hours(26),
        window: (today, None, None),
        estado: "en_proceso",
        error: None,
    });
    (rows, failed_at)
}

fn write_seed_file(path: &std::path::Path, rows: &[Row]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = duckdb::Connection::open(path).unwrap();
    conn.execute_batch(SEED_DDL).unwrap();
    for (i, r) in rows.iter().enumerate() {
        let finished = r.estado != "en_proceso";
        conn.execute(
            "INSERT INTO etl_ejecuciones VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            duckdb::params![
                (i + 1) as i64,
                r.tipo,
                r.store.0,
                r.store.1,
                r.start,
                finished.then_some(r.start + Duration::seconds(3)),
                finished.then_some(3.0),
                r.window.0,
                r.window.0,
                r.window.1,
                r.window.2,
                r.estado,
                if r.estado == "exitoso" { 120 } else { 0 },
                if r.estado == "exitoso" { 120 } else { 0 },
                r.error.map(|e| e.1),
                r.error.map(|e| e.0),
                if r.window.1.is_some() { "incremental_30min" } else { "completo" },
                "2.0",
                "etl-server",
            ],
        )
        .unwrap();
    }
}

const ORIGINAL_COLUMNS_CHECKSUM: &str = "SELECT count(*), sum(hash(id, etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_fin, duracion_segundos, fecha_desde, fecha_hasta, hora_desde, hora_hasta, estado, registros_extraidos, registros_cargados, error_mensaje, error_tipo, modo, version_etl, host)) FROM etl_ejecuciones";

fn checksum(path: &std::path::Path) -> (i64, i128) {
    let conn = duckdb::Connection::open(path).unwrap();
    conn.query_row(ORIGINAL_COLUMNS_CHECKSUM, [], |r| {
        Ok((r.get(0)?, r.get::<_, i128>(1)?))
    })
    .unwrap()
}

/// Store-local now, away from a slot boundary so the CLI and the view see the same slots.
fn caracas_now_away_from_boundaries() -> NaiveDateTime {
    loop {
        let now = (Utc::now() - Duration::hours(4)).naive_utc();
        let into_slot = (now.minute() % 30) * 60 + now.second();
        if (20..=30 * 60 - 40).contains(&into_slot) {
            return now;
        }
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
}

#[test]
fn a_seed_database_is_adopted_and_every_command_works() {
    let env = TestEnv::with_config(CONFIG);
    let db = env.path().join("data/fluxion_production.db");
    let now_local = caracas_now_away_from_boundaries();
    let (rows, _) = history(now_local);
    assert!(rows.len() > 300, "a few hundred seed rows");
    write_seed_file(&db, &rows);
    let before = checksum(&db);

    for args in [
        vec!["db", "migrate"],
        vec!["db", "info"],
        vec!["gaps"],
        vec!["gaps", "--format", "json"],
        vec!["metrics", "--days", "30"],
        vec!["executions", "--limit", "50"],
        vec!["status"],
        vec!["purge", "--dry-run"],
        vec!["unstick", "--dry-run"],
        vec!["stores"],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(checksum(&db), before, "no seed row changed or lost");

    // New executions continue the seed's ids.
    let conn = duckdb::Connection::open(&db).unwrap();
    let versions: i64 = conn
        .query_row("SELECT count(*) FROM etl_schema_version", [], |r| r.get(0))
        .unwrap();
    assert!(versions >= 2);
    drop(conn);
    let config = klk_etl::config::Config::load(
        Some(&env.path().join("klk-etl.toml")),
        &klk_etl::config::Overrides {
            database: Some(db.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let tracker =
        klk_etl::tracker::Db::open(&config, klk_etl::tracker::Access::Write, Utc::now()).unwrap();
    let id = klk_etl::tracker::executions::start(
        &tracker,
        &klk_etl::tracker::executions::NewExecution {
            etl_tipo: klk_etl::tracker::vocab::EtlTipo::Ventas,
            ubicacion_id: "tienda_01".into(),
            ubicacion_nombre: "PERIFERICO".into(),
            fecha_desde: now_local.date(),
            fecha_hasta: now_local.date(),
            hora_desde: Some(t(0, 0, 0)),
            hora_hasta: Some(t(0, 30, 0)),
            modo: klk_etl::tracker::vocab::Modo::Recuperacion,
            started_at: now_local,
        },
    )
    .unwrap();
    assert_eq!(id, rows.len() as i64 + 1);
}

/// The seed's SQL runs in the user's tools (Python's duckdb, with ICU). CI installs it and
/// sets KLK_ETL_PYTHON; a developer without it gets a note instead.
fn python() -> Option<String> {
    let candidate = std::env::var("KLK_ETL_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = std::process::Command::new(&candidate)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide Python's duckdb (KLK_ETL_PYTHON): the seed SQL check cannot be skipped there"
    );
    eprintln!("note: Python's duckdb not found; seed SQL check skipped (set KLK_ETL_PYTHON)");
    None
}

fn run_seed_sql(python: &str, db: &std::path::Path, tz: &str, write: bool) -> serde_json::Value {
    let mut cmd = std::process::Command::new(python);
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/seed_sql.py"
    ))
    .arg(db)
    .env("TZ", tz);
    if write {
        cmd.arg("--write");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_seed_sql_and_monitoring_script_run_unchanged_with_correct_results() {
    let Some(python) = python() else { return };
    let env = TestEnv::with_config(CONFIG);
    let db = env.path().join("data/fluxion_production.db");
    let now_local = caracas_now_away_from_boundaries();
    let (rows, failed_at) = history(now_local);
    write_seed_file(&db, &rows);
    env.cmd().args(["db", "migrate"]).assert().success();

    let cli_gaps = env
        .cmd()
        .args(["gaps", "--format", "json"])
        .output()
        .unwrap();
    assert!(cli_gaps.status.success());
    let cli_gaps: Vec<serde_json::Value> = serde_json::from_slice(&cli_gaps.stdout).unwrap();

    let utc = run_seed_sql(&python, &db, "UTC", false);
    let caracas = run_seed_sql(&python, &db, "America/Caracas", false);
    for (name, result) in utc.as_object().unwrap() {
        assert!(result.get("error").is_none(), "{name}: {result}");
    }
    assert_eq!(
        utc["monitoreo"]["exit"], 0,
        "{}",
        utc["monitoreo"]["stderr"]
    );

    // Same gaps on every host, and the same as klk-etl's.
    let view_rows = utc["gaps_campos"]["rows"].as_array().unwrap();
    // The seed orders by fecha_fallo only: compare as sets.
    let without_hours = |rows: &serde_json::Value| -> Vec<String> {
        let mut rows: Vec<String> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| serde_json::Value::from(r.as_array().unwrap()[..9].to_vec()).to_string())
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(
        without_hours(&utc["gaps_campos"]["rows"]),
        without_hours(&caracas["gaps_campos"]["rows"])
    );
    let key =
        |tipo: &serde_json::Value,
         store: &serde_json::Value,
         date: &serde_json::Value,
         from: &serde_json::Value,
         error: &serde_json::Value| { format!("{tipo}|{store}|{date}|{from}|{error}") };
    let mut from_view: Vec<String> = view_rows
        .iter()
        .map(|r| key(&r[0], &r[1], &r[3], &r[5], &r[8]))
        .collect();
    let mut from_cli: Vec<String> = cli_gaps
        .iter()
        .map(|g| {
            key(
                &g["etl_tipo"],
                &g["ubicacion_id"],
                &g["fecha_desde"],
                &g["hora_desde"],
                &g["error_tipo"],
            )
        })
        .collect();
    from_view.sort();
    from_cli.sort();
    assert_eq!(from_view, from_cli);

    // horas_desde_fallo of the failure 30 hours ago is 30, not 6. (Its half hours are the
    // store's one slot gap; after 09:00 Caracas yesterday is also a whole day not verified,
    // a gap of its own without hours, which the view and the CLI list alike, above.)
    let artigas: Vec<_> = view_rows
        .iter()
        .filter(|r| r[0] == "ventas" && r[1] == "tienda_17" && !r[5].is_null())
        .collect();
    assert_eq!(artigas.len(), 1, "{artigas:?}");
    let hours: f64 = artigas[0][10].as_str().unwrap().parse().unwrap();
    assert!((hours - 30.0).abs() < 0.1, "{hours}");
    assert!(
        artigas[0][7]
            .as_str()
            .unwrap()
            .starts_with(&failed_at.format("%Y-%m-%d %H:%M:%S").to_string())
    );

    // The stuck inventory run is a gap; so are the failed half hours.
    assert!(
        view_rows
            .iter()
            .any(|r| r[0] == "inventario" && r[8] == "interrumpido")
    );
    assert!(
        view_rows
            .iter()
            .any(|r| r[0] == "ventas" && r[8] == "timeout")
    );

    // The seed's maintenance statements still work on our file.
    let written = run_seed_sql(&python, &db, "America/Caracas", true);
    for name in ["unstick_manual", "purge_90_dias"] {
        assert!(
            written[name].get("error").is_none(),
            "{name}: {}",
            written[name]
        );
    }
    env.cmd().args(["gaps"]).assert().success();
}
