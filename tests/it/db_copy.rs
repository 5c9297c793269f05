//! `klk-etl db copy --from SRC --to DST`: a history made by real runs against the simulator,
//! copied from a DuckDB file into PostgreSQL and back into a new file: every command reads
//! the same from each copy, new ids continue after the copied ones, a non-empty destination
//! is refused unless `--replace`, and a copy can be run again.

use std::process::Output;

use crate::common::TestEnv;
use crate::common::pg::TestDatabase;
use crate::runner::{caracas, config_for, sim};

fn run(env: &TestEnv, args: &[&str]) -> Output {
    env.cmd()
        .args(["--now", &caracas(24, 11, 10)])
        .args(args)
        .output()
        .unwrap()
}

fn ok(env: &TestEnv, args: &[&str]) -> String {
    let out = run(env, args);
    assert!(
        out.status.success(),
        "{args:?}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a user reads from a database: gaps, metrics, executions (durations are recorded as
/// they were, so they are compared too).
fn readings(env: &TestEnv, database: &str) -> Vec<String> {
    [
        vec!["gaps", "--format", "json"],
        vec!["metrics", "--days", "7", "--format", "json"],
        vec!["metrics", "--summary", "--format", "csv"],
        vec!["executions", "--limit", "500", "--format", "json"],
    ]
    .iter()
    .map(|args| {
        let mut all = args.clone();
        all.extend(["--database", database]);
        ok(env, &all)
    })
    .collect()
}

#[test]
fn a_history_copied_to_postgresql_and_back_reads_the_same_and_goes_on() {
    let sim = sim(&["SUC002:ventas:500:1-2"], 300);
    let db = TestDatabase::new();
    let env = TestEnv::with_config(&config_for(
        &sim,
        3,
        "5s",
        r#"database = "data/klk-etl.duckdb""#,
    ));
    // A history: whole days, incremental windows, a failure and its recovery, stock.
    for (now, args) in [
        (
            caracas(24, 10, 5),
            vec!["--full", "--from", "2025-11-21", "--to", "2025-11-23"],
        ),
        (caracas(24, 10, 35), vec![]),
        (caracas(24, 11, 5), vec![]),
    ] {
        let out = env
            .cmd()
            .args(["--now", &now, "run"])
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1));
    }
    let duck = "data/klk-etl.duckdb";
    let before = readings(&env, duck);

    let copied = ok(
        &env,
        &[
            "db", "copy", "--from", duck, "--to", &db.url, "--format", "json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&copied).unwrap();
    let rows = |table: &str| {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == table)
            .map(|t| t["rows"].as_i64().unwrap())
            .unwrap()
    };
    assert!(rows("ventas") > 20_000, "{report}");
    assert!(rows("etl_ejecuciones") > 10, "{report}");
    assert_eq!(rows("inventario"), 3 * 50);
    assert!(rows("etl_invocaciones") >= 3);
    assert!(!copied.contains(&crate::common::pg::password(&db.url)));
    assert_eq!(
        readings(&env, &db.url),
        before,
        "PostgreSQL reads what the file held"
    );

    // Copying again into a database that holds history is refused unless asked.
    let again = run(&env, &["db", "copy", "--from", duck, "--to", &db.url]);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("already holds history") && err.contains("--replace"),
        "{err}"
    );
    ok(
        &env,
        &["db", "copy", "--from", duck, "--to", &db.url, "--replace"],
    );
    assert_eq!(readings(&env, &db.url), before, "a copy run again");

    // And back, into a new file.
    let back = "data/back.duckdb";
    ok(&env, &["db", "copy", "--from", &db.url, "--to", back]);
    ok(
        &env,
        &["db", "copy", "--from", &db.url, "--to", back, "--replace"],
    );
    assert_eq!(readings(&env, back), before, "the file copied back");
    // Value for value, in both directions, the tables of the history.
    {
        let conn = duckdb::Connection::open(env.path().join(back)).unwrap();
        conn.execute_batch(&format!(
            "ATTACH '{}' AS original (READ_ONLY)",
            env.path().join(duck).display()
        ))
        .unwrap();
        for table in [
            "ventas",
            "inventario",
            "etl_ejecuciones",
            "etl_invocaciones",
        ] {
            let differ: i64 = conn
                .query_row(
                    &format!(
                        "SELECT (SELECT count(*) FROM (SELECT * FROM {table} EXCEPT SELECT * FROM original.{table})) \
                              + (SELECT count(*) FROM (SELECT * FROM original.{table} EXCEPT SELECT * FROM {table}))"
                    ),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(differ, 0, "{table} differs after the round trip");
        }
    }

    // Every copy goes on: new executions get new ids, nothing collides.
    for database in [db.url.as_str(), back] {
        let out = env
            .cmd()
            .args(["--now", &caracas(24, 11, 35), "run", "--database", database])
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{database}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let executions: serde_json::Value = serde_json::from_str(&ok(
            &env,
            &[
                "executions",
                "--limit",
                "1000",
                "--format",
                "json",
                "--database",
                database,
            ],
        ))
        .unwrap();
        let ids: Vec<i64> = executions
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{database}: an id twice");
        assert!(ids.len() > rows("etl_ejecuciones") as usize, "{database}");
    }
}

#[test]
fn a_copy_from_nothing_or_onto_itself_is_refused_and_writes_nothing() {
    let env = TestEnv::with_config("");
    let out = run(
        &env,
        &[
            "db",
            "copy",
            "--from",
            "missing.duckdb",
            "--to",
            "out.duckdb",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
    assert!(!env.path().join("out.duckdb").exists());
    ok(&env, &["db", "migrate", "--database", "a.duckdb"]);
    let out = run(
        &env,
        &["db", "copy", "--from", "a.duckdb", "--to", "a.duckdb"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the same database"));
}
