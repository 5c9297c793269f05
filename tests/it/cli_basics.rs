//! The command line as a user meets it: help, errors, exit codes, formats, pipes.

use std::io::Read;
use std::process::Stdio;

use crate::common::{Exec, TestEnv};
use predicates::prelude::*;

fn single_error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr).to_string();
    assert_eq!(
        text.lines().count(),
        1,
        "expected one line on stderr, got: {text}"
    );
    assert!(text.starts_with("error: "), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    text
}

#[test]
fn help_lists_every_command() {
    let env = TestEnv::new();
    let out = env.cmd().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for command in [
        "gaps",
        "metrics",
        "executions",
        "status",
        "purge",
        "unstick",
        "stores",
        "db",
        "completions",
    ] {
        assert!(help.contains(command), "help lacks {command}: {help}");
    }
}

#[test]
fn the_example_config_works_as_is_in_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/klk-etl.example.toml"),
        dir.path().join("klk-etl.toml"),
    )
    .unwrap();
    let env = TestEnv { dir };
    let out = env
        .cmd()
        .args(["stores", "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 20, "header + 19 stores: {csv}");
    assert!(csv.contains("tienda_02,AV. BOLIVAR,SUC007,TAVBOL,yes"));
    env.cmd().args(["gaps"]).assert().success();
    assert!(env.path().join("data/klk-etl.duckdb").exists());
}

#[test]
fn negative_days_is_a_usage_error_on_one_line() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args(["metrics", "--days", "-3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = single_error_line(&out.stderr);
    assert!(line.contains("positive"), "{line}");
}

#[test]
fn unknown_config_key_names_the_key_and_line() {
    let env = TestEnv::with_config("database = \"x.duckdb\"\n[tracking]\nslot_minuts = 30\n");
    let out = env.cmd().arg("gaps").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = single_error_line(&out.stderr);
    assert!(
        line.contains("slot_minuts") && line.contains("line 3"),
        "{line}"
    );
    assert!(
        !env.path().join("x.duckdb").exists(),
        "nothing written on a config error"
    );
}

#[test]
fn a_missing_explicit_config_file_is_a_usage_error() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args(["--config", "nope.toml", "gaps"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(single_error_line(&out.stderr).contains("nope.toml"));
}

#[test]
fn unknown_store_is_a_usage_error_listing_the_known_ones() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args(["gaps", "--store", "tienda_99"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line = single_error_line(&out.stderr);
    assert!(
        line.contains("tienda_99") && line.contains("tienda_01"),
        "{line}"
    );
}

#[test]
fn a_text_file_as_database_is_exit_3_and_left_untouched() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.path().join("data")).unwrap();
    std::fs::write(env.db_path(), "these are my notes, not a database\n").unwrap();
    let out = env.cmd().arg("gaps").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let line = single_error_line(&out.stderr);
    assert!(line.contains("klk-etl.duckdb"), "{line}");
    assert_eq!(
        std::fs::read_to_string(env.db_path()).unwrap(),
        "these are my notes, not a database\n"
    );
}

#[test]
fn a_directory_as_database_is_exit_3() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.db_path()).unwrap();
    let out = env.cmd().arg("gaps").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(single_error_line(&out.stderr).contains("directory"));
}

#[test]
fn a_database_in_a_read_only_directory_is_a_clear_error() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // root ignores directory permissions (CI runs as root): use a directory nobody can
        // create files in instead.
        let env = TestEnv::new();
        let out = env
            .cmd()
            .args(["--db", "/proc/klk-etl.duckdb", "gaps"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        single_error_line(&out.stderr);
        return;
    }
    let env = TestEnv::new();
    let ro = env.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&ro, perms).unwrap();
    let out = env
        .cmd()
        .args(["--db", "ro/klk.duckdb", "gaps"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    single_error_line(&out.stderr);
}

#[test]
fn json_and_csv_are_machine_readable() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&[Exec::failed(
        "2025-11-24",
        Some("10:00:00"),
        Some("10:30:00"),
        "2025-11-24 10:35:00",
    )]);
    let gaps = env.json(&["gaps"]);
    assert!(gaps.as_array().is_some_and(|a| !a.is_empty()));
    let out = env
        .at_now()
        .args(["metrics", "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.starts_with("date,tipo,store,name,runs,ok,failed"),
        "{csv}"
    );
    assert!(
        csv.contains("2025-11-24,ventas,tienda_01,PERIFERICO,1,0,1"),
        "{csv}"
    );
}

#[test]
fn tables_written_to_a_file_or_with_no_color_have_no_ansi_codes() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&[Exec::failed(
        "2025-11-24",
        Some("10:00:00"),
        Some("10:30:00"),
        "2025-11-24 10:35:00",
    )]);
    for extra in [vec![], vec!["--color", "auto"]] {
        let out = env
            .at_now()
            .arg("executions")
            .args(&extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(!out.stdout.contains(&0x1b), "ANSI escape in piped output");
        assert!(String::from_utf8_lossy(&out.stdout).contains("fallido"));
    }
    let forced = env
        .at_now()
        .args(["executions", "--color", "always"])
        .output()
        .unwrap();
    assert!(forced.stdout.contains(&0x1b), "--color always colours");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&[Exec::failed(
        "2025-11-24",
        Some("10:00:00"),
        Some("10:30:00"),
        "2025-11-24 10:35:00",
    )]);
    for format in ["table", "json", "csv"] {
        let mut cmd = env.process();
        cmd.args([
            "--now",
            crate::common::NOW,
            "executions",
            "--format",
            format,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        drop(child.stdout.take()); // like `| head -0`: the reader is gone before anything is written
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "{format}: exit {status:?}, stderr: {stderr}"
        );
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}

#[test]
fn version_is_printed() {
    TestEnv::new()
        .cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("klk-etl "));
}

#[test]
fn status_shows_the_three_sections() {
    let env = TestEnv::new();
    env.migrate();
    env.insert(&[Exec::failed(
        "2025-11-24",
        Some("10:00:00"),
        Some("10:30:00"),
        "2025-11-24 10:35:00",
    )]);
    let out = env.at_now().arg("status").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Latest executions (1)"), "{text}");
    assert!(text.contains("Open gaps: 1"), "{text}");
    assert!(text.contains("Today's metrics"), "{text}");
    let json = env.json(&["status"]);
    assert_eq!(json["gaps"].as_array().unwrap().len(), 1);
    env.at_now()
        .args(["status", "--format", "csv"])
        .assert()
        .code(2);
}

#[test]
fn completions_under_completions_dir_are_fresh() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/completions");
    let env = TestEnv::new();
    for (target, file) in [
        ("bash", "klk-etl.bash"),
        ("zsh", "_klk-etl"),
        ("fish", "klk-etl.fish"),
        ("powershell", "_klk-etl.ps1"),
        ("elvish", "klk-etl.elv"),
        ("man", "klk-etl.1"),
    ] {
        let out = env.cmd().args(["completions", target]).output().unwrap();
        assert!(out.status.success());
        let committed = std::fs::read(format!("{dir}/{file}")).unwrap_or_else(|_| {
            panic!(
                "completions/{file} missing: run `klk-etl completions {target} --dir completions`"
            )
        });
        assert!(
            committed == out.stdout,
            "completions/{file} is stale: regenerate with `cargo run --release -- completions {target} --dir completions`"
        );
    }
}

#[test]
fn a_database_held_by_another_process_is_retried_then_reported() {
    let env = TestEnv::new();
    env.migrate();
    let holder = env.connect(); // this test process now holds the write lock
    let started = std::time::Instant::now();
    let out = env
        .cmd()
        .args(["--lock-timeout", "1s", "gaps"])
        .output()
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(out.status.code(), Some(3));
    let line = single_error_line(&out.stderr);
    assert!(
        line.contains("locked") && line.contains(&format!("PID {}", std::process::id())),
        "{line}"
    );
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "retried for the timeout: {waited:?}"
    );

    // Released while the command waits: it gets through.
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(700));
        drop(holder);
    });
    let out = env
        .cmd()
        .args(["--lock-timeout", "20s", "gaps"])
        .output()
        .unwrap();
    release.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn flags_beat_environment_beat_the_file() {
    let env = TestEnv::with_config("database = \"from-file.duckdb\"\n");
    let info = |cmd: &mut assert_cmd::Command| -> String {
        let out = cmd
            .args(["db", "info", "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        info["path"].as_str().unwrap().to_string()
    };
    assert_eq!(info(&mut env.cmd()), "from-file.duckdb");
    assert_eq!(
        info(env.cmd().env("KLK_ETL_DB", "from-env.duckdb")),
        "from-env.duckdb"
    );
    assert_eq!(
        info(
            env.cmd()
                .env("KLK_ETL_DB", "from-env.duckdb")
                .args(["--db", "from-flag.duckdb"])
        ),
        "from-flag.duckdb"
    );
    // And a config file named by the environment.
    std::fs::write(
        env.path().join("other.toml"),
        "database = \"other.duckdb\"\n",
    )
    .unwrap();
    assert_eq!(
        info(env.cmd().env("KLK_ETL_CONFIG", "other.toml")),
        "other.duckdb"
    );
}

#[test]
fn a_negative_duration_is_refused_naming_the_option() {
    let env = TestEnv::new();
    for (args, option) in [
        (
            vec!["purge", "--older-than", "-5d", "--dry-run"],
            "--older-than",
        ),
        (
            vec!["run", "--settle-lag", "-2m", "--dry-run"],
            "--settle-lag",
        ),
        (vec!["--lock-timeout", "-3s", "gaps"], "--lock-timeout"),
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let line = single_error_line(&out.stderr);
        assert!(line.contains(option) && line.contains("negative"), "{line}");
    }
}
