//! What an operator sees, pinned: the `--help` of every command, and the table, JSON and CSV
//! of `gaps`, `metrics`, `executions` and `status` on one fixed history with "now" pinned. An
//! unintended change shows up in review as a changed `.snap` file
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test --release --test it snapshots::`
//! then `git diff`).

use crate::common::{Exec, NOW, TestEnv};

/// Every command and subcommand, as typed.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["run"],
    &["recover"],
    &["verify"],
    &["vanished"],
    &["gaps"],
    &["metrics"],
    &["executions"],
    &["status"],
    &["health"],
    &["alerts"],
    &["alerts", "check"],
    &["alerts", "test"],
    &["purge"],
    &["unstick"],
    &["stores"],
    &["db"],
    &["db", "migrate"],
    &["db", "info"],
    &["demo"],
    &["serve"],
    &["sim"],
    &["completions"],
];

#[test]
fn the_help_of_every_command() {
    let env = TestEnv::new();
    for command in COMMANDS {
        let output = env
            .cmd()
            .args(*command)
            .arg("--help")
            .env("COLUMNS", "100")
            .output()
            .unwrap();
        assert!(output.status.success(), "{command:?}");
        let name = if command.is_empty() {
            "help".to_string()
        } else {
            format!("help_{}", command.join("_"))
        };
        insta::assert_snapshot!(name, String::from_utf8_lossy(&output.stdout));
    }
}

/// A day of two stores: successes, a failed half hour retried and failing again, an hour
/// nobody fetched, stock snapshots (one failed), and the day before, whole.
fn history() -> TestEnv {
    let env = TestEnv::new();
    env.migrate();
    let mut rows = vec![
        Exec::ok("2025-11-23", None, None, "2025-11-24 03:10:00"),
        Exec::ok("2025-11-23", None, None, "2025-11-24 03:11:00").store("tienda_08", "BOSQUE"),
    ];
    for hour in 0..15 {
        let from = format!("{hour:02}:00:00").leak() as &'static str;
        let to = format!("{:02}:00:00", hour + 1).leak() as &'static str;
        let started = format!("2025-11-24 {:02}:05:00", hour + 1);
        if hour != 9 {
            rows.push(Exec::ok("2025-11-24", Some(from), Some(to), &started));
        }
        if !(12..14).contains(&hour) {
            rows.push(
                Exec::ok("2025-11-24", Some(from), Some(to), &started).store("tienda_08", "BOSQUE"),
            );
        }
    }
    rows.push(Exec::failed(
        "2025-11-24",
        Some("09:00:00"),
        Some("10:00:00"),
        "2025-11-24 10:05:00",
    ));
    rows.push(
        Exec::failed(
            "2025-11-24",
            Some("09:00:00"),
            Some("10:00:00"),
            "2025-11-24 10:35:00",
        )
        .error(
            "conexion",
            "POST http://10.0.0.5:7002/ventas: connection refused",
        ),
    );
    for (store, name, estado, started) in [
        ("tienda_01", "PERIFERICO", "exitoso", "2025-11-24 15:07:00"),
        ("tienda_08", "BOSQUE", "fallido", "2025-11-24 15:07:30"),
    ] {
        let mut stock = Exec::ventas(estado, "2025-11-24", None, None, started)
            .tipo("inventario")
            .store(store, name);
        stock.registros = if estado == "exitoso" { 3921 } else { 0 };
        rows.push(stock);
    }
    env.insert(&rows);
    env
}

fn stdout_of(env: &TestEnv, args: &[&str]) -> String {
    let output = env
        .cmd()
        .args(["--now", NOW, "--color", "never"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn gaps_metrics_executions_and_status_in_every_format() {
    let env = history();
    for (name, args) in [
        ("gaps", &["gaps"][..]),
        ("metrics", &["metrics", "--days", "2"]),
        ("metrics_summary", &["metrics", "--days", "2", "--summary"]),
        ("executions", &["executions", "--limit", "8"]),
        ("status", &["status", "--limit", "5"]),
    ] {
        for format in ["table", "json", "csv"] {
            if name == "status" && format == "csv" {
                continue; // status is a table or JSON only (CSV is a usage error)
            }
            let text = stdout_of(&env, &[args, &["--format", format]].concat());
            insta::assert_snapshot!(format!("{name}_{format}"), text);
        }
    }
}
