//! `klk-etl demo`, the README's first command, through the real binary: every scripted
//! fault shows where the demo says it will, every gap closes, and every sale is loaded once.

mod common;

use common::TestEnv;

/// The row of the demo's table for the cron run at `at` ("HH:MM" of the demo's day).
fn row<'a>(screen: &'a str, at: &str) -> &'a str {
    let start = format!("2025-11-24 {at} ");
    screen
        .lines()
        .find(|line| line.starts_with(&start) && !line.contains("nightly"))
        .unwrap_or_else(|| panic!("no row for the {at} run in:\n{screen}"))
}

#[test]
fn the_demo_shows_each_scripted_fault_as_a_gap_then_loads_every_sale_once() {
    let env = TestEnv::new();
    let output = env
        .process()
        .args(["demo", "--database", "demo.duckdb"])
        .output()
        .expect("demo");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{screen}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // What the demo announces, and where it must show.
    for (announced, at, gap) in [
        (
            "BOSQUE answers HTTP 500 to both attempts of the 10:35 run",
            "10:35",
            "BOSQUE ventas 10:00:00-10:30:00 api_error",
        ),
        (
            "ARTIGAS refuses both connections of the 15:35 run",
            "15:35",
            "ARTIGAS ventas 15:00:00-15:30:00 conexion",
        ),
        (
            "PARAISO sends malformed JSON at 04:35",
            "04:35",
            "PARAISO ventas 04:00:00-04:30:00 api_error",
        ),
        (
            "PARAISO cuts a body short at 18:35",
            "18:35",
            "PARAISO ventas 18:00:00-18:30:00 api_error",
        ),
        (
            "PERIFERICO's inventory connection is reset twice at 02:05",
            "02:05",
            "PERIFERICO inventario - conexion",
        ),
    ] {
        assert!(
            screen.contains(&format!("scripted: {announced}")),
            "{announced:?} not announced in:\n{screen}"
        );
        let row = row(&screen, at);
        assert!(row.contains(&format!("1: {gap}")), "{row}");
    }
    for skipped in ["14:05", "14:35"] {
        assert!(row(&screen, skipped).ends_with("(cron did not run)"));
    }
    assert!(
        screen.contains("nightly re-pull of 2025-11-23: 3 ok, failed: ARTIGAS api_error"),
        "{screen}"
    );

    // Every gap closes by the next run, and the day ends with none.
    let table: Vec<&str> = screen
        .lines()
        .filter(|line| line.starts_with("2025-11-2") && !line.contains("nightly"))
        .collect();
    assert_eq!(table.len(), 49, "{screen}");
    for pair in table.windows(2) {
        if !pair[0].ends_with("none") && !pair[0].ends_with("(cron did not run)") {
            assert!(pair[1].ends_with("none"), "{}\n{}", pair[0], pair[1]);
        }
    }

    // Only the failed nightly re-pull is left to the recovery step; the rest close on their
    // own at the next run, as the demo explains under its table.
    let recovered: Vec<&str> = table
        .iter()
        .copied()
        .filter(|row| !row.ends_with("(cron did not run)"))
        .filter(|row| row.split_whitespace().nth(4) != Some("0"))
        .collect();
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert!(row(&screen, "03:05").split_whitespace().nth(4) == Some("1"));
    assert!(
        screen.contains(
            "counts the older gaps the recovery step fetched (the failed nightly re-pull)"
        )
    );

    // The check against the simulator: two days of four stores, all equal.
    let compared: Vec<&str> = screen
        .lines()
        .filter(|line| line.contains(" simulator "))
        .collect();
    assert_eq!(compared.len(), 8, "{screen}");
    assert!(
        compared.iter().all(|line| line.ends_with("equal")),
        "{screen}"
    );
    assert!(screen.contains("every sale loaded exactly once"));

    // And in the file itself: one row per key, nothing left running.
    let db = duckdb::Connection::open(env.path().join("demo.duckdb")).unwrap();
    let (rows, keys): (i64, i64) = db
        .query_row(
            "SELECT count(*), count(DISTINCT (ubicacion_id, numero_factura, linea)) FROM ventas",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, keys);
    let running: i64 = db
        .query_row(
            "SELECT count(*) FROM etl_ejecuciones WHERE estado = 'en_proceso'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(running, 0);
}
