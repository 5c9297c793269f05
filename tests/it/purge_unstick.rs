//! The verbs that change things: dry runs change nothing, no `--yes` without a terminal
//! refuses, and what they change is exactly what they say.

use crate::common::{Exec, TestEnv, text};
use klk_etl::tracker::process::{current_pid, host_name, process_identity};

fn snapshot(env: &TestEnv) -> Vec<(i64, String)> {
    let conn = env.connect();
    let mut stmt = conn
        .prepare("SELECT id, estado FROM etl_ejecuciones ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn purge_history() -> Vec<Exec> {
    vec![
        // The store's first execution: anchors when sales are expected from.
        Exec::ok("2025-07-01", None, None, "2025-07-02 01:00:00"),
        Exec::ok("2025-07-02", None, None, "2025-07-03 01:00:00"),
        Exec::failed("2025-07-03", None, None, "2025-07-04 01:00:00"),
        // Old, but still en_proceso: never deleted.
        Exec::ventas(
            "en_proceso",
            "2025-07-05",
            None,
            None,
            "2025-07-06 01:00:00",
        ),
        // Recent history.
        Exec::ok("2025-11-23", None, None, "2025-11-24 01:00:00"),
        Exec::failed(
            "2025-11-24",
            Some("10:00:00"),
            Some("10:30:00"),
            "2025-11-24 10:35:00",
        ),
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("10:00:00"),
            "2025-11-24 10:05:00",
        ),
        // Inventory: the latest success is old, and must stay to keep the store stale.
        Exec::ok("2025-07-01", None, None, "2025-07-01 06:00:00")
            .tipo("inventario")
            .store("tienda_08", "BOSQUE"),
    ]
}

#[test]
fn purge_dry_run_changes_nothing_and_shows_the_plan() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&purge_history());
    let before = snapshot(&env);
    let out = env
        .at_now()
        .args([
            "purge",
            "--older-than",
            "90d",
            "--dry-run",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["to_delete"], 2, "{plan}");
    assert_eq!(plan["kept_in_progress"], 1);
    assert_eq!(plan["kept_for_gaps"], 2);
    assert_eq!(plan["deleted"], 0);
    assert_eq!(snapshot(&env), before);
}

#[test]
fn purge_without_yes_and_without_a_terminal_refuses() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&purge_history());
    let before = snapshot(&env);
    let out = env
        .at_now()
        .args(["purge", "--older-than", "90d"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--yes"), "{stderr}");
    assert_eq!(snapshot(&env), before);
}

#[test]
fn purge_deletes_only_what_gap_detection_does_not_need() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&purge_history());
    let gaps_before = env.json(&["gaps"]);
    env.at_now()
        .args(["purge", "--older-than", "90d", "--yes"])
        .assert()
        .success();
    let after = snapshot(&env);
    assert_eq!(after.len(), 6, "{after:?}");
    assert!(after.iter().any(|(_, e)| e == "en_proceso"));
    let conn = env.connect();
    let first: String = conn
        .query_row(
            "SELECT CAST(min(fecha_desde) AS VARCHAR) FROM etl_ejecuciones WHERE etl_tipo = 'ventas'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        first, "2025-07-01",
        "the first execution anchors expectations"
    );
    drop(conn);
    assert_eq!(
        env.json(&["gaps"]),
        gaps_before,
        "purge never changes the gaps"
    );
}

#[test]
fn purging_within_the_horizon_never_hides_a_gap() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&purge_history());
    let gaps_before = env.json(&["gaps"]);
    assert!(!gaps_before.as_array().unwrap().is_empty());
    env.at_now()
        .args(["purge", "--older-than", "1h", "--yes"])
        .assert()
        .success();
    assert_eq!(env.json(&["gaps"]), gaps_before);
}

fn stuck_history() -> Vec<Exec> {
    let me = host_name();
    let my_identity = process_identity(current_pid());
    vec![
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("15:00:00"),
            "2025-11-24 15:05:00",
        ),
        // This host, dead pid, started a minute ago: stuck at once.
        Exec::ventas(
            "en_proceso",
            "2025-11-24",
            Some("15:00:00"),
            Some("15:30:00"),
            "2025-11-24 15:59:00",
        )
        .process(&me, 99_999_999, Some("x:1")),
        // This host, this (live) process: not stuck.
        Exec::ventas(
            "en_proceso",
            "2025-11-24",
            Some("15:30:00"),
            Some("16:00:00"),
            "2025-11-24 15:59:00",
        )
        .process(&me, i64::from(current_pid()), my_identity.as_deref()),
        // Another host, recent: cannot tell, not stuck yet.
        Exec::ventas(
            "en_proceso",
            "2025-11-24",
            None,
            None,
            "2025-11-24 15:30:00",
        )
        .store("tienda_08", "BOSQUE")
        .process("other-host", 7, None),
        // Another host, two hours old: stuck by age.
        Exec::ventas(
            "en_proceso",
            "2025-11-23",
            None,
            None,
            "2025-11-24 14:00:00",
        )
        .store("tienda_08", "BOSQUE")
        .process("other-host", 8, None),
    ]
}

#[test]
fn unstick_dry_run_lists_and_changes_nothing() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&stuck_history());
    let before = snapshot(&env);
    let report = env.json(&["unstick", "--dry-run"]);
    let ids: Vec<i64> = report["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![before[4].0, before[1].0],
        "age-stuck first (older), then the dead pid"
    );
    let reasons: Vec<String> = report["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| text(e, "reason"))
        .collect();
    assert_eq!(reasons, vec!["too_old", "process_gone"]);
    assert_eq!(snapshot(&env), before);
    env.at_now().args(["unstick"]).assert().code(2);
    assert_eq!(snapshot(&env), before);
}

#[test]
fn unstick_marks_interrupted_and_the_windows_become_gaps() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&stuck_history());
    env.at_now().args(["unstick", "--yes"]).assert().success();
    let conn = env.connect();
    let mut stmt = conn
        .prepare("SELECT estado, coalesce(error_tipo, ''), fecha_fin IS NOT NULL FROM etl_ejecuciones ORDER BY id")
        .unwrap();
    let rows: Vec<(String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(stmt);
    drop(conn);
    assert_eq!(rows[1], ("fallido".into(), "interrumpido".into(), true));
    assert_eq!(rows[2].0, "en_proceso");
    assert_eq!(rows[3].0, "en_proceso");
    assert_eq!(rows[4], ("fallido".into(), "interrumpido".into(), true));
    let gaps = env.gaps("ventas", "tienda_01");
    assert!(
        gaps.iter().any(|g| text(g, "hora_desde") == "15:00:00" && text(g, "error_tipo") == "interrumpido"),
        "{gaps:#?}"
    );
}
