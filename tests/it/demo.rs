//! `klk-etl demo`, the README's first command, through the real binary: every scripted
//! fault shows where the demo says it will, every gap closes, and every sale is loaded once.

use crate::common::TestEnv;

/// The row of the demo's table for the cron run at `at` ("HH:MM" of the demo's day).
fn row<'a>(screen: &'a str, at: &str) -> &'a str {
    row_of(screen, &format!("2025-11-24 {at} "))
}

/// The row of the run at `at` of the day after.
fn next_day_row<'a>(screen: &'a str, at: &str) -> &'a str {
    row_of(screen, &format!("2025-11-25 {at} "))
}

fn row_of<'a>(screen: &'a str, start: &str) -> &'a str {
    screen
        .lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no row for the {start} run in:\n{screen}"))
}

#[test]
fn the_demo_shows_each_scripted_fault_as_a_gap_then_loads_every_sale_once() {
    let env = TestEnv::new();
    // A file of the user's in the way: replaced only because --force says so.
    std::fs::write(env.path().join("demo.duckdb"), "not a demo's").unwrap();
    let output = env
        .process()
        .args(["demo", "--database", "demo.duckdb", "--force"])
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
    for announced in [
        "PERIFERICO's sales of 13:10 reach the API late: the half-hourly runs miss them",
        "ARTIGAS's whole-day re-pull fails at 03:05 (HTTP 503)",
    ] {
        assert!(
            screen.contains(&format!("scripted: {announced}")),
            "{announced:?} not announced in:\n{screen}"
        );
    }
    for skipped in ["14:05", "14:35"] {
        assert!(row(&screen, skipped).ends_with("(cron did not run)"));
    }
    assert!(screen.contains(
        "the API reads hour bounds as SQL BETWEEN and has sales at 00:00:00.0, on every boundary and at 23:59:59.8"
    ));

    // Every slot gap closes by the next run; the day and the next night's runs end with none.
    let table: Vec<&str> = screen
        .lines()
        .filter(|line| line.starts_with("2025-11-2"))
        .collect();
    assert_eq!(table.len(), 56, "{screen}");
    for pair in table.windows(2) {
        if !pair[0].ends_with("none") && !pair[0].ends_with("(cron did not run)") {
            assert!(pair[1].ends_with("none"), "{}\n{}", pair[0], pair[1]);
        }
    }
    assert!(table.last().unwrap().ends_with("none"));

    // The closed day is verified once the day closes (03:00), not before: the late sales are
    // found, ARTIGAS's failed re-pull is a gap until the next run verifies the day.
    for line in &table {
        let verified = line.split_whitespace().nth(5).unwrap_or("-");
        let at = &line[11..16];
        match (line.starts_with("2025-11-25"), at) {
            (true, "03:05") => assert_eq!(verified, "3/4", "{line}"),
            (true, "03:35") => assert_eq!(verified, "1/1", "{line}"),
            _ => assert!(
                verified == "-" || line.ends_with("(cron did not run)"),
                "{line}"
            ),
        }
    }
    assert!(
        next_day_row(&screen, "03:05")
            .ends_with("1: ARTIGAS ventas 2025-11-24 sin_verificar api_error"),
        "{screen}"
    );
    let late = screen
        .lines()
        .find(|line| line.contains("verified PERIFERICO 2025-11-24 exitoso:"))
        .unwrap_or_else(|| panic!("{screen}"));
    let found: u32 = late
        .split(": ")
        .nth(1)
        .and_then(|text| text.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(found > 0, "the late sales are found: {late}");
    assert!(screen.contains("verified ARTIGAS 2025-11-24 fallido: re-pull failed (api_error)"));
    assert!(screen.contains("verified ARTIGAS 2025-11-24 exitoso:"));

    // The check against the simulator: the day of four stores, all equal.
    let compared: Vec<&str> = screen
        .lines()
        .filter(|line| line.contains(" simulator "))
        .collect();
    assert_eq!(compared.len(), 4, "{screen}");
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

#[test]
fn the_demo_refuses_to_replace_a_file_it_did_not_make() {
    let env = TestEnv::new();
    let path = env.path().join("mine.duckdb");
    std::fs::write(&path, "my own data").unwrap();
    let output = env
        .process()
        .args(["demo", "--database", "mine.duckdb"])
        .output()
        .expect("demo");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "error: refusing to replace mine.duckdb: it is not a database an earlier `klk-etl demo` made (--force replaces it anyway)"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "my own data");
    let entries: Vec<_> = std::fs::read_dir(env.path()).unwrap().collect();
    assert_eq!(entries.len(), 2, "only klk-etl.toml and the user's file");
}
