//! The tracker API the runner builds on, against a real DuckDB file: executions finish
//! exactly once, inside the caller's transaction, and ids continue the user's sequence.

#![expect(
    clippy::disallowed_methods,
    reason = "these tests build data relative to the real clock, as the views read it"
)]

use crate::common::TestEnv;
use chrono::{NaiveDate, NaiveTime, Utc};
use klk_etl::config::{Config, Overrides};
use klk_etl::tracker::executions::{self, NewExecution, Outcome};
use klk_etl::tracker::vocab::{ErrorTipo, EtlTipo, Modo};
use klk_etl::tracker::{Access, Db, TrackerError};

fn config(env: &TestEnv) -> Config {
    Config::load(
        Some(&env.path().join("klk-etl.toml")),
        &Overrides {
            database: Some(env.db_path()),
            ..Default::default()
        },
    )
    .unwrap()
}

fn new_execution() -> NewExecution {
    NewExecution {
        etl_tipo: EtlTipo::Ventas,
        ubicacion_id: "tienda_01".into(),
        ubicacion_nombre: "PERIFERICO".into(),
        fecha_desde: NaiveDate::from_ymd_opt(2025, 11, 24).unwrap(),
        fecha_hasta: NaiveDate::from_ymd_opt(2025, 11, 24).unwrap(),
        hora_desde: NaiveTime::from_hms_opt(10, 0, 0),
        hora_hasta: NaiveTime::from_hms_opt(10, 30, 0),
        modo: Modo::Incremental,
        started_at: NaiveDate::from_ymd_opt(2025, 11, 24)
            .unwrap()
            .and_hms_opt(10, 35, 0)
            .unwrap(),
    }
}

fn estado(db: &Db, id: i64) -> String {
    executions::get(db.conn(), id).unwrap().unwrap().estado
}

#[test]
fn an_execution_starts_en_proceso_with_host_and_pid_and_finishes_once() {
    let env = TestEnv::new();
    let mut db = Db::open(&config(&env), Access::Write, Utc::now()).unwrap();
    let id = executions::start(&db, &new_execution()).unwrap();
    let row = executions::get(db.conn(), id).unwrap().unwrap();
    assert_eq!(row.estado, "en_proceso");
    assert_eq!(row.pid, Some(i64::from(std::process::id())));
    assert!(row.host.is_some());

    let finished_at = new_execution().started_at + chrono::Duration::seconds(90);
    let success = Outcome::Success {
        extracted: 12,
        loaded: 10,
    };
    executions::finish(db.conn(), id, &success, finished_at).unwrap();
    let row = executions::get(db.conn(), id).unwrap().unwrap();
    assert_eq!(row.estado, "exitoso");
    assert_eq!(row.registros_cargados, Some(10));
    assert_eq!(row.duracion_segundos, Some(90.0));

    // A second finish is refused and changes nothing.
    let failure = Outcome::Failure {
        extracted: 0,
        error_tipo: ErrorTipo::Timeout,
        message: "late".into(),
    };
    let err = executions::finish(db.conn(), id, &failure, finished_at).unwrap_err();
    assert!(matches!(err, TrackerError::NotInProgress { ref estado, .. } if estado == "exitoso"));
    assert_eq!(estado(&db, id), "exitoso");
    let missing = executions::finish(db.conn_mut(), 999_999, &failure, finished_at).unwrap_err();
    assert!(matches!(missing, TrackerError::NoSuchExecution(999_999)));
}

#[test]
fn finishing_inside_a_rolled_back_transaction_leaves_it_en_proceso() {
    let env = TestEnv::new();
    let mut db = Db::open(&config(&env), Access::Write, Utc::now()).unwrap();
    let id = executions::start(&db, &new_execution()).unwrap();
    let at = new_execution().started_at;
    {
        let tx = db.conn_mut().transaction().unwrap();
        executions::finish(
            &tx,
            id,
            &Outcome::Success {
                extracted: 1,
                loaded: 1,
            },
            at,
        )
        .unwrap();
        tx.rollback().unwrap();
    }
    assert_eq!(estado(&db, id), "en_proceso");
    {
        let tx = db.conn_mut().transaction().unwrap();
        executions::finish(
            &tx,
            id,
            &Outcome::Success {
                extracted: 1,
                loaded: 1,
            },
            at,
        )
        .unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(estado(&db, id), "exitoso");
}

#[test]
fn a_finish_after_unstick_does_not_overwrite_the_interruption() {
    let env = TestEnv::new();
    env.migrate();
    // A run on another host, 4 hours old at the pinned now: an operator unsticks it.
    env.insert(&[crate::common::Exec::ventas(
        "en_proceso",
        "2025-11-24",
        Some("11:30:00"),
        Some("12:00:00"),
        "2025-11-24 12:00:00",
    )
    .process("other-host", 4242, None)]);
    env.at_now().args(["unstick", "--yes"]).assert().success();
    let db = Db::open(&config(&env), Access::Write, Utc::now()).unwrap();
    let id: i64 = db
        .conn()
        .query_row("SELECT max(id) FROM etl_ejecuciones", [], |r| r.get(0))
        .unwrap();
    assert_eq!(estado(&db, id), "fallido");
    // The original process comes back and reports success: refused, nothing overwritten.
    let late = executions::finish(
        db.conn(),
        id,
        &Outcome::Success {
            extracted: 5,
            loaded: 5,
        },
        new_execution().started_at,
    )
    .unwrap_err();
    assert!(matches!(late, TrackerError::NotInProgress { ref estado, .. } if estado == "fallido"));
    let row = executions::get(db.conn(), id).unwrap().unwrap();
    assert_eq!(row.error_tipo.as_deref(), Some("interrumpido"));
    assert_eq!(row.registros_cargados, Some(0));
}

#[test]
fn a_seed_file_with_its_own_sequence_and_indexes_keeps_using_them() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.db_path().parent().unwrap()).unwrap();
    {
        let conn = env.connect();
        conn.execute_batch(
            "CREATE SEQUENCE seq_python START 1;
             CREATE TABLE etl_ejecuciones (id INTEGER PRIMARY KEY DEFAULT nextval('seq_python'),
               etl_tipo VARCHAR NOT NULL, ubicacion_id VARCHAR NOT NULL, ubicacion_nombre VARCHAR NOT NULL,
               fecha_inicio TIMESTAMP NOT NULL, fecha_fin TIMESTAMP, duracion_segundos DOUBLE,
               fecha_desde DATE NOT NULL, fecha_hasta DATE NOT NULL, hora_desde TIME, hora_hasta TIME,
               estado VARCHAR NOT NULL, registros_extraidos INTEGER DEFAULT 0, registros_cargados INTEGER DEFAULT 0,
               error_mensaje TEXT, error_tipo VARCHAR, modo VARCHAR, version_etl VARCHAR, host VARCHAR);
             CREATE INDEX idx_fecha ON etl_ejecuciones (fecha_inicio);
             INSERT INTO etl_ejecuciones (etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_desde, fecha_hasta, estado)
               VALUES ('ventas', 'tienda_01', 'PERIFERICO', TIMESTAMP '2025-11-20 10:00', DATE '2025-11-20', DATE '2025-11-20', 'exitoso'),
                      ('ventas', 'tienda_01', 'PERIFERICO', TIMESTAMP '2025-11-21 10:00', DATE '2025-11-21', DATE '2025-11-21', 'fallido');",
        )
        .unwrap();
    }
    let db = Db::open(&config(&env), Access::Write, Utc::now()).unwrap();
    assert_eq!(
        db.schema_version().unwrap(),
        klk_etl::tracker::schema::LATEST_VERSION
    );
    let id = executions::start(&db, &new_execution()).unwrap();
    assert_eq!(id, 3, "the seed's own sequence continues");
    let next: i64 = db
        .conn()
        .query_row("SELECT nextval('seq_python')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(next, 4);
}

#[test]
fn a_foreign_ventas_table_is_never_reused_or_altered() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.db_path().parent().unwrap()).unwrap();
    {
        let conn = env.connect();
        conn.execute_batch(
            "CREATE TABLE ventas (numero_factura VARCHAR, cantidad VARCHAR, total VARCHAR);
             INSERT INTO ventas VALUES ('C10-01-1', '1', '230.35');",
        )
        .unwrap();
    }
    let out = env.cmd().arg("gaps").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'ventas'") && stderr.contains("RENAME"),
        "{stderr}"
    );
    let conn = env.connect();
    let (rows, total): (i64, String) = conn
        .query_row("SELECT count(*), any_value(total) FROM ventas", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((rows, total.as_str()), (1, "230.35"));
}
