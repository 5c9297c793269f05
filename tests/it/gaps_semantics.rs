//! Gap semantics on crafted histories, through the real binary, on both engines: each history
//! is written into a real DuckDB file and copied (`db copy`) into a PostgreSQL database, and
//! every question is asked of both, which must answer the same.
//! "Now" is pinned to 2025-11-24 16:00 Caracas; tienda_01's history starts 2025-11-23.

use crate::common::pg::{TestDatabase, copy_file_into};
use crate::common::{Exec, TestEnv, text};

/// One history in a DuckDB file and in a PostgreSQL database.
struct Both {
    env: TestEnv,
    db: TestDatabase,
}

impl std::ops::Deref for Both {
    type Target = TestEnv;
    fn deref(&self) -> &TestEnv {
        &self.env
    }
}

impl Both {
    /// `env`'s migrated file, copied into a new PostgreSQL database.
    fn from(env: TestEnv) -> Both {
        let db = TestDatabase::new();
        copy_file_into(&env, &db);
        Both { env, db }
    }

    /// The gaps of `tipo` and `store` (the file's), after checking the server's are the same:
    /// with every day covered from the executions, and with the past days' sales coverage kept
    /// (`klk_llenar_cobertura`, what a refresh does; migration 16).
    fn gaps(&self, tipo: &str, store: &str) -> Vec<serde_json::Value> {
        let on_file = serde_json::Value::Array(self.env.gaps(tipo, store));
        let on_server = || {
            let out = self
                .env
                .at_now()
                .args([
                    "--database",
                    &self.db.url,
                    "gaps",
                    "--tipo",
                    tipo,
                    "--store",
                    store,
                ])
                .args(["--format", "json"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
        };
        let mut client = self.db.client();
        client
            .batch_execute("DELETE FROM etl_cobertura_dias")
            .unwrap();
        assert_eq!(on_file, on_server(), "the same gaps on both engines");
        let kept: i32 = client
            .query_one("SELECT klk_llenar_cobertura(62)", &[])
            .unwrap()
            .get(0);
        assert_eq!(
            on_file,
            on_server(),
            "the same gaps on both engines, with the coverage of {kept} past days kept"
        );
        on_file.as_array().unwrap().clone()
    }

    /// `klk-etl ARGS` at the pinned now, on the file and then on the server: (stdout, exit
    /// code) of each.
    fn both(&self, args: &[&str], tz: &str) -> [(Vec<u8>, Option<i32>); 2] {
        let run = |database: Option<&str>| {
            let mut cmd = self.env.at_now();
            cmd.env("TZ", tz);
            if let Some(url) = database {
                cmd.args(["--database", url]);
            }
            let out = cmd.args(args).output().unwrap();
            (out.stdout, out.status.code())
        };
        [run(None), run(Some(&self.db.url))]
    }
}

/// Covers tienda_01 from 2025-11-24 00:00 to now, so only 2025-11-23 is under test.
fn today_covered() -> Exec {
    Exec::ok(
        "2025-11-24",
        Some("00:00:00"),
        Some("16:00:00"),
        "2025-11-24 16:01:00",
    )
}

fn env_with(rows: &[Exec]) -> Both {
    let env = TestEnv::new();
    env.migrate();
    env.insert(rows);
    Both::from(env)
}

fn window(gap: &serde_json::Value) -> (String, String, String) {
    (
        text(gap, "fecha_desde"),
        text(gap, "hora_desde"),
        text(gap, "hora_hasta"),
    )
}

#[test]
fn a_failed_half_hour_later_covered_by_a_full_day_success_is_not_a_gap() {
    let env = env_with(&[
        Exec::failed(
            "2025-11-23",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-23 10:35:00",
        ),
        Exec::ok("2025-11-23", None, None, "2025-11-24 01:00:00"),
        today_covered(),
    ]);
    assert_eq!(
        env.gaps("ventas", "tienda_01"),
        Vec::<serde_json::Value>::new()
    );
}

#[test]
fn a_failed_full_day_is_not_cleared_by_one_half_hour_success() {
    let env = env_with(&[
        Exec::failed("2025-11-23", None, None, "2025-11-24 01:00:00"),
        Exec::ok(
            "2025-11-23",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-23 10:35:00",
        ),
        today_covered(),
    ]);
    let gaps = env.gaps("ventas", "tienda_01");
    let windows: Vec<_> = gaps.iter().map(window).collect();
    assert_eq!(
        windows,
        vec![
            ("2025-11-23".into(), "00:00:00".into(), "10:00:00".into()),
            ("2025-11-23".into(), "10:30:00".into(), "23:59:59".into()),
        ]
    );
    for gap in &gaps {
        assert_eq!(text(gap, "causa"), "fallido");
        assert_eq!(text(gap, "error_tipo"), "timeout");
        assert_eq!(gap["intentos"], 1);
    }
    assert_eq!(gaps[0]["slots"], 20);
    assert_eq!(gaps[1]["slots"], 27);
}

#[test]
fn three_failed_attempts_at_one_window_are_one_gap_with_the_first_failures_age() {
    let env = env_with(&[
        Exec::ok(
            "2025-11-23",
            Some("00:00:00"),
            Some("10:00:00"),
            "2025-11-23 10:05:00",
        ),
        Exec::failed(
            "2025-11-23",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-23 10:35:00",
        ),
        Exec::failed(
            "2025-11-23",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-23 11:05:00",
        ),
        Exec::failed(
            "2025-11-23",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-23 11:35:00",
        )
        .error("conexion", "connection refused"),
        Exec::ok(
            "2025-11-23",
            Some("10:30:00"),
            Some("23:59:59"),
            "2025-11-24 00:05:00",
        ),
        today_covered(),
    ]);
    let gaps = env.gaps("ventas", "tienda_01");
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    let gap = &gaps[0];
    assert_eq!(
        window(gap),
        ("2025-11-23".into(), "10:00:00".into(), "10:30:00".into())
    );
    assert_eq!(gap["intentos"], 3);
    assert_eq!(text(gap, "fecha_fallo"), "2025-11-23T10:35:00");
    // The latest attempt's error describes the gap.
    assert_eq!(text(gap, "error_tipo"), "conexion");
    let hours = gap["horas_desde_fallo"].as_f64().unwrap();
    assert!((hours - (29.0 + 25.0 / 60.0)).abs() < 1e-6, "{hours}");
}

#[test]
fn a_two_hour_hole_with_no_executions_is_one_gap_of_four_slots() {
    let env = env_with(&[
        Exec::ok("2025-11-23", None, None, "2025-11-24 01:00:00"),
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("12:00:00"),
            "2025-11-24 12:05:00",
        ),
        Exec::ok(
            "2025-11-24",
            Some("14:00:00"),
            Some("16:00:00"),
            "2025-11-24 16:01:00",
        ),
    ]);
    let gaps = env.gaps("ventas", "tienda_01");
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    let gap = &gaps[0];
    assert_eq!(
        window(gap),
        ("2025-11-24".into(), "12:00:00".into(), "14:00:00".into())
    );
    assert_eq!(gap["slots"], 4);
    assert_eq!(text(gap, "causa"), "sin_ejecucion");
    assert_eq!(text(gap, "error_tipo"), "sin_ejecucion");
    assert_eq!(gap["intentos"], 0);
    // Due since its first slot closed (12:30): 3.5 hours before now.
    assert!((gap["horas_desde_fallo"].as_f64().unwrap() - 3.5).abs() < 1e-6);
}

#[test]
fn a_failed_window_across_midnight_is_two_gaps() {
    let env = env_with(&[
        Exec::ok(
            "2025-11-23",
            Some("00:00:00"),
            Some("23:30:00"),
            "2025-11-23 23:35:00",
        ),
        Exec::failed(
            "2025-11-23",
            Some("23:30:00"),
            Some("00:30:00"),
            "2025-11-24 00:35:00",
        )
        .until("2025-11-24"),
        Exec::ok(
            "2025-11-24",
            Some("00:30:00"),
            Some("16:00:00"),
            "2025-11-24 16:01:00",
        ),
    ]);
    let gaps = env.gaps("ventas", "tienda_01");
    let windows: Vec<_> = gaps.iter().map(window).collect();
    assert_eq!(
        windows,
        vec![
            ("2025-11-23".into(), "23:30:00".into(), "23:59:59".into()),
            ("2025-11-24".into(), "00:00:00".into(), "00:30:00".into()),
        ]
    );
    assert!(
        gaps.iter()
            .all(|g| text(g, "causa") == "fallido" && g["intentos"] == 1)
    );
}

#[test]
fn hours_since_failure_are_total_hours_not_the_hour_component() {
    // 30 hours before 2025-11-24 16:00 is 2025-11-23 10:00.
    let env = env_with(&[
        Exec::ok(
            "2025-11-23",
            Some("00:00:00"),
            Some("10:00:00"),
            "2025-11-23 10:00:00",
        ),
        Exec::failed(
            "2025-11-23",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-23 10:00:00",
        ),
        Exec::ok(
            "2025-11-23",
            Some("10:30:00"),
            Some("23:59:59"),
            "2025-11-24 00:05:00",
        ),
        today_covered(),
    ]);
    let gaps = env.gaps("ventas", "tienda_01");
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0]["horas_desde_fallo"].as_f64().unwrap(), 30.0);
}

#[test]
fn a_failure_stamped_just_after_now_is_zero_hours_old_in_the_table() {
    // Runs with a pinned "now" stamp their executions a moment after it (the clock moves on
    // from the pin), and an NTP step back can do the same in production.
    let env = env_with(&[
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("15:30:00"),
            "2025-11-24 15:31:00",
        ),
        Exec::failed(
            "2025-11-24",
            Some("15:30:00"),
            Some("16:00:00"),
            "2025-11-24 16:00:00.4",
        ),
    ]);
    let gaps = env.gaps("ventas", "tienda_01");
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0]["horas_desde_fallo"].as_f64().unwrap() < 0.0);
    let table = env
        .at_now()
        .args(["gaps", "--tipo", "ventas"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    let row = table
        .lines()
        .find(|line| line.contains("tienda_01"))
        .unwrap_or_else(|| panic!("no tienda_01 row in:\n{table}"));
    let cells: Vec<&str> = row.split('│').map(str::trim).collect();
    assert!(cells.contains(&"0.0"), "{row}");
    assert!(!row.contains("-0.0"), "{row}");
}

#[test]
fn a_window_ending_235959_covers_the_last_slot_of_the_day() {
    let env = env_with(&[
        Exec::ok(
            "2025-11-23",
            Some("00:00:00"),
            Some("23:30:00"),
            "2025-11-23 23:35:00",
        ),
        Exec::ok(
            "2025-11-23",
            Some("23:30:00"),
            Some("23:59:59"),
            "2025-11-24 00:05:00",
        ),
        today_covered(),
    ]);
    assert!(env.gaps("ventas", "tienda_01").is_empty());
}

#[test]
fn a_stuck_execution_is_a_gap_and_a_live_one_is_not() {
    let env = env_with(&[
        Exec::ok("2025-11-23", None, None, "2025-11-24 01:00:00"),
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("14:00:00"),
            "2025-11-24 14:05:00",
        ),
        // Stuck: started 2 h ago on another host.
        Exec::ventas(
            "en_proceso",
            "2025-11-24",
            Some("14:00:00"),
            Some("15:00:00"),
            "2025-11-24 14:00:00",
        )
        .process("other-host", 42, None),
        // Live: started 5 minutes ago.
        Exec::ventas(
            "en_proceso",
            "2025-11-24",
            Some("15:00:00"),
            Some("16:00:00"),
            "2025-11-24 15:55:00",
        )
        .process("other-host", 43, None),
    ]);
    let gaps = env.gaps("ventas", "tienda_01");
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert_eq!(
        window(&gaps[0]),
        ("2025-11-24".into(), "14:00:00".into(), "15:00:00".into())
    );
    assert_eq!(text(&gaps[0], "causa"), "atascado");
    assert_eq!(text(&gaps[0], "error_tipo"), "interrumpido");
}

#[test]
fn a_store_without_since_or_executions_has_no_expected_data() {
    let env = env_with(&[
        Exec::ok("2025-11-23", None, None, "2025-11-24 01:00:00"),
        today_covered(),
    ]);
    assert!(env.gaps("ventas", "tienda_08").is_empty());
}

#[test]
fn since_and_opening_hours_shape_what_is_expected() {
    let config = crate::common::TWO_STORES.replace(
        "warehouses = [\"APP-TBQ\"]",
        "warehouses = [\"APP-TBQ\"]\nsince = 2025-11-24\nopening_hours = \"08:00-12:00\"",
    );
    let env = TestEnv::with_config(&config);
    env.migrate();
    let env = Both::from(env);
    // Nothing ever ran for tienda_08: 08:00-12:00 today is one gap of 8 slots.
    let gaps = env.gaps("ventas", "tienda_08");
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert_eq!(
        window(&gaps[0]),
        ("2025-11-24".into(), "08:00:00".into(), "12:00:00".into())
    );
    assert_eq!(gaps[0]["slots"], 8);
}

#[test]
fn inventory_gaps_follow_the_latest_snapshot() {
    let env = env_with(&[
        Exec::ok("2025-11-24", None, None, "2025-11-24 15:00:00").tipo("inventario"),
        Exec::ok("2025-11-24", None, None, "2025-11-24 10:00:00")
            .tipo("inventario")
            .store("tienda_08", "BOSQUE"),
        Exec::failed("2025-11-24", None, None, "2025-11-24 15:30:00")
            .tipo("inventario")
            .store("tienda_08", "BOSQUE")
            .error("api_error", "HTTP 500"),
    ]);
    assert!(env.gaps("inventario", "tienda_01").is_empty());
    let gaps = env.gaps("inventario", "tienda_08");
    assert_eq!(gaps.len(), 1);
    assert_eq!(text(&gaps[0], "causa"), "fallido");
    assert_eq!(text(&gaps[0], "error_tipo"), "api_error");
    assert_eq!(text(&gaps[0], "fecha_fallo"), "2025-11-24T15:30:00");
}

#[test]
fn stale_inventory_is_a_gap() {
    let env =
        env_with(&[Exec::ok("2025-11-24", None, None, "2025-11-24 11:00:00").tipo("inventario")]);
    let gaps = env.gaps("inventario", "tienda_01");
    assert_eq!(gaps.len(), 1);
    assert_eq!(text(&gaps[0], "causa"), "desactualizado");
    // Stale since the snapshot finished (11:00 + 2.5 s) plus the 2 h threshold.
    assert_eq!(text(&gaps[0], "fecha_fallo"), "2025-11-24T13:00:02.500");
}

#[test]
fn check_exits_5_when_gaps_exist_and_0_otherwise() {
    let env = env_with(&[Exec::failed(
        "2025-11-24",
        Some("10:00:00"),
        Some("10:30:00"),
        "2025-11-24 10:35:00",
    )]);
    for (_, code) in env.both(&["gaps", "--check", "--tipo", "ventas"], "UTC") {
        assert_eq!(code, Some(5));
    }
    for (_, code) in env.both(&["gaps", "--check", "--store", "tienda_08"], "UTC") {
        assert_eq!(code, Some(0));
    }
}

#[test]
fn the_host_time_zone_does_not_change_the_answer() {
    let env = env_with(&[
        Exec::failed(
            "2025-11-23",
            Some("23:30:00"),
            Some("23:59:59"),
            "2025-11-24 00:05:00",
        ),
        Exec::ok(
            "2025-11-23",
            Some("00:00:00"),
            Some("23:30:00"),
            "2025-11-23 23:35:00",
        ),
    ]);
    let [(utc, _), (utc_on_server, _)] = env.both(&["gaps", "--format", "json"], "UTC");
    assert!(!utc.is_empty());
    assert_eq!(utc, utc_on_server);
    for tz in ["America/Caracas", "Asia/Tokyo"] {
        for (out, _) in env.both(&["gaps", "--format", "json"], tz) {
            assert_eq!(out, utc, "{tz}");
        }
    }
}
