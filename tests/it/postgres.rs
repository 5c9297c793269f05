//! PostgreSQL as the engine: `database` as a `postgres://` URL, the password from each of its
//! sources and never shown, TLS as `sslmode` asks, and the schema migrated once however many
//! runners start together. Against real servers on 127.0.0.1 (see common/pg.rs).

use std::process::Output;

use crate::common::TestEnv;
use crate::common::pg::{self, TestDatabase};
use klk_etl::tracker::schema::LATEST_VERSION as LATEST;

/// A directory whose config has no database (the URL comes from the command line).
fn env() -> TestEnv {
    TestEnv::with_config("")
}

fn run(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = env.process();
    cmd.args(args);
    for (key, value) in vars {
        cmd.env(key, value);
    }
    cmd.output().expect("run klk-etl")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit `code` and one line on stderr containing `expected`, the password nowhere.
fn assert_fails(out: &Output, code: i32, expected: &str, secret: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(expected), "expected '{expected}' in: {err}");
    assert!(
        !err.contains(secret) && !stdout(out).contains(secret),
        "password shown: {err}"
    );
}

fn info(env: &TestEnv, url: &str, vars: &[(&str, &str)]) -> serde_json::Value {
    let out = run(
        env,
        &["db", "info", "--database", url, "--format", "json"],
        vars,
    );
    assert!(out.status.success(), "db info: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn db_migrate_creates_the_schema_once_and_db_info_names_the_engine() {
    let db = TestDatabase::new();
    let env = env();
    let secret = pg::password(&db.url);

    let first = run(&env, &["db", "migrate", "--database", &db.url], &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let shown = format!(
        "postgres://klk@127.0.0.1:{}/{}",
        url::Url::parse(&db.url).unwrap().port().unwrap(),
        db.name
    );
    assert_eq!(
        stdout(&first).trim(),
        format!("{shown}: migrated schema from version 0 to {LATEST}")
    );
    let again = run(&env, &["db", "migrate", "--database", &db.url], &[]);
    assert_eq!(
        stdout(&again).trim(),
        format!("{shown}: schema is up to date (version {LATEST})")
    );

    let on_postgres = info(&env, &db.url, &[]);
    assert_eq!(on_postgres["engine"], "postgresql");
    assert_eq!(on_postgres["path"], shown.as_str());
    assert_eq!(on_postgres["schema_version"], LATEST);
    assert!(on_postgres["duckdb_version"].is_null());
    assert!(
        on_postgres["engine_version"]
            .as_str()
            .unwrap()
            .starts_with("15"),
        "{on_postgres}"
    );
    assert_eq!(on_postgres["executions"], 0);

    // The same versions and descriptions as a DuckDB file's.
    let on_duckdb = info(&env, "x.duckdb", &[]);
    assert_eq!(on_duckdb["engine"], "duckdb");
    let described = |info: &serde_json::Value| -> Vec<(i64, String)> {
        info["migrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["version"].as_i64().unwrap(),
                    m["description"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(described(&on_postgres), described(&on_duckdb));

    // The seed's table, views and sequence are there, with the seed's names.
    let mut client = db.client();
    for object in [
        "etl_ejecuciones",
        "v_gaps_por_recuperar",
        "v_metricas_confiabilidad",
        "v_ultimas_ejecuciones",
        "seq_etl_ejecuciones",
        "ventas",
        "inventario",
    ] {
        let found: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&object])
            .unwrap()
            .get(0);
        assert!(found, "{object} missing");
    }

    let text = run(&env, &["db", "info", "--database", &db.url], &[]);
    assert!(
        stdout(&text).contains("PostgreSQL      15"),
        "{}",
        stdout(&text)
    );
    assert!(!stdout(&text).contains(&secret) && !stderr(&text).contains(&secret));
}

#[test]
fn runners_started_at_the_same_second_migrate_once() {
    let db = TestDatabase::new();
    let env = env();
    let children: Vec<_> = (0..6)
        .map(|_| {
            let mut cmd = env.process();
            cmd.args(["db", "migrate", "--database", &db.url, "--format", "json"]);
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    let mut from_zero = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["to_version"], LATEST);
        if json["from_version"] == 0 {
            from_zero += 1;
        }
    }
    assert_eq!(from_zero, 1, "exactly one runner migrated");
    let rows: i64 = db
        .client()
        .query_one("SELECT count(*) FROM etl_schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, i64::from(LATEST));
}

#[test]
fn the_password_comes_from_the_url_pgpassword_a_password_file_or_pgpass_and_is_never_shown() {
    let db = TestDatabase::new();
    let secret = pg::password(&db.url);
    let bare = pg::without_password(&db.url);
    let env = env();
    let source = |info: &serde_json::Value| info["schema_version"].as_i64();

    // PGPASSWORD.
    assert_eq!(
        source(&info(&env, &bare, &[("PGPASSWORD", &secret)])),
        Some(i64::from(LATEST))
    );

    // [database] password_file (the URL in the file, the password beside it).
    std::fs::write(env.path().join("pg-password"), format!("{secret}\n")).unwrap();
    std::fs::write(
        env.path().join("klk-etl.toml"),
        format!("[database]\nurl = \"{bare}\"\npassword_file = \"pg-password\"\n"),
    )
    .unwrap();
    let out = run(&env, &["db", "info", "--format", "json"], &[]);
    assert!(out.status.success(), "password_file: {}", stderr(&out));
    std::fs::write(env.path().join("klk-etl.toml"), "").unwrap();

    // ~/.pgpass (only when others cannot read it, as libpq).
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join(".pgpass");
    let port = url::Url::parse(&db.url).unwrap().port().unwrap();
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{port}:{}:klk:{secret}\n", db.name),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let home_var = home.path().to_str().unwrap();
    assert_eq!(
        source(&info(&env, &bare, &[("HOME", home_var)])),
        Some(i64::from(LATEST))
    );
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ignored = run(
        &env,
        &["db", "info", "--database", &bare],
        &[("HOME", home_var)],
    );
    assert_fails(&ignored, 3, "password", &secret);

    // A wrong password: one line, exit 3, neither password shown.
    let wrong = db.url.replace(&secret, "not-the-password-7f3a");
    let out = run(&env, &["db", "info", "--database", &wrong], &[]);
    assert_fails(
        &out,
        3,
        "password authentication failed for user \"klk\"",
        "not-the-password-7f3a",
    );
    assert!(
        stderr(&out).contains(&format!("postgres://klk@127.0.0.1:{port}/{}", db.name)),
        "{}",
        stderr(&out)
    );

    // KLK_ETL_DATABASE names the database too.
    let out = run(
        &env,
        &["db", "info", "--format", "json"],
        &[("KLK_ETL_DATABASE", &db.url)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains(&secret));
}

#[test]
fn an_unreachable_server_or_a_bad_url_is_one_line_with_its_exit_code() {
    let env = env();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://klk:hunter2-secret@127.0.0.1:{port}/klk?connect_timeout=3");
    let out = run(&env, &["db", "info", "--database", &url], &[]);
    assert_fails(&out, 3, "Connection refused", "hunter2-secret");

    let bad = "postgres://klk:hunter2-secret@127.0.0.1/klk?sslmode=sometimes";
    let out = run(&env, &["db", "migrate", "--database", bad], &[]);
    assert_fails(&out, 2, "sslmode 'sometimes'", "hunter2-secret");
}

#[test]
fn tls_to_the_server_as_sslmode_asks() {
    let env = env();
    let url = pg::tls_server_url();
    let secret = pg::password(url);
    let ca = pg::tls_ca();
    let base = url.split('?').next().unwrap();

    // require: encrypted, not verified (libpq's meaning).
    assert_eq!(info(&env, url, &[])["schema_version"], LATEST);
    // verify-full with the server's CA.
    let full = format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display());
    assert_eq!(info(&env, &full, &[])["schema_version"], LATEST);
    // verify-ca with the CA, and the CA given as [database] ca_file.
    let chain = format!("{base}?sslmode=verify-ca&sslrootcert={}", ca.display());
    assert_eq!(info(&env, &chain, &[])["schema_version"], LATEST);
    std::fs::write(
        env.path().join("klk-etl.toml"),
        format!(
            "[database]\nurl = \"{base}?sslmode=verify-full\"\nca_file = \"{}\"\n",
            ca.display()
        ),
    )
    .unwrap();
    let out = run(&env, &["db", "info", "--format", "json"], &[]);
    assert!(out.status.success(), "ca_file: {}", stderr(&out));
    std::fs::write(env.path().join("klk-etl.toml"), "").unwrap();

    // verify-full without the private CA: refused, saying why.
    let out = run(
        &env,
        &[
            "db",
            "info",
            "--database",
            &format!("{base}?sslmode=verify-full"),
        ],
        &[],
    );
    assert_fails(&out, 3, "certificate not trusted", &secret);
    // verify-ca needs a CA.
    let out = run(
        &env,
        &[
            "db",
            "info",
            "--database",
            &format!("{base}?sslmode=verify-ca"),
        ],
        &[],
    );
    assert_fails(&out, 3, "sslmode=verify-ca needs the server's CA", &secret);
    // Another CA than the one that signed the server's certificate: the chain is checked
    // (verify-ca, and require with a CA file, as libpq).
    let other_ca = crate::common::net::TestCa::new("not the server's CA").write_pem(env.path());
    for mode in ["verify-ca", "require", "verify-full"] {
        let url = format!("{base}?sslmode={mode}&sslrootcert={}", other_ca.display());
        let out = run(&env, &["db", "info", "--database", &url], &[]);
        assert_fails(&out, 3, "certificate not trusted", &secret);
    }
    // The server refuses a plain connection.
    let out = run(
        &env,
        &[
            "db",
            "info",
            "--database",
            &format!("{base}?sslmode=disable"),
        ],
        &[],
    );
    assert_fails(&out, 3, "SQLSTATE 28000", &secret);
}

#[test]
fn a_database_migrated_by_a_newer_klk_etl_is_refused() {
    let db = TestDatabase::new();
    let env = env();
    assert!(
        run(&env, &["db", "migrate", "--database", &db.url], &[])
            .status
            .success()
    );
    db.client()
        .execute(
            "INSERT INTO etl_schema_version VALUES (99, 'from the future', now())",
            &[],
        )
        .unwrap();
    let out = run(&env, &["db", "migrate", "--database", &db.url], &[]);
    assert_fails(
        &out,
        3,
        "schema version 99, newer than this klk-etl understands",
        &pg::password(&db.url),
    );
}

/// The demo's screen up to its reliability table (whose durations are measured), without
/// what names the database and the simulator's port.
fn demo_story(screen: &str) -> String {
    screen
        .lines()
        .take_while(|line| !line.starts_with("reliability per store"))
        .filter(|line| !line.starts_with("klk-etl demo: "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn files_in(env: &TestEnv) -> Vec<std::ffi::OsString> {
    let mut files: Vec<_> = std::fs::read_dir(env.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    files.sort();
    files
}

#[test]
fn demo_runs_on_a_server_tells_the_same_story_as_on_a_file_and_replaces_only_its_own_data() {
    let db = TestDatabase::new();
    let env = env();
    let secret = pg::password(&db.url);

    let file = run(&env, &["demo", "--database", "demo.duckdb"], &[]);
    assert!(file.status.success(), "{}", stderr(&file));
    for file in files_in(&env) {
        if file.to_string_lossy().starts_with("demo.duckdb") {
            std::fs::remove_file(env.path().join(file)).unwrap();
        }
    }

    let server = run(&env, &["demo", "--database", &db.url], &[]);
    let screen = stdout(&server);
    assert!(server.status.success(), "{screen}\n{}", stderr(&server));
    assert!(!screen.contains(&secret) && !stderr(&server).contains(&secret));
    assert!(
        screen.contains(&format!("database {}", pg::without_password(&db.url))),
        "{screen}"
    );
    assert!(
        screen.contains("every sale loaded exactly once"),
        "{screen}"
    );
    // Every cron run's row, every verification and the final check, as on a file.
    assert_eq!(demo_story(&screen), demo_story(&stdout(&file)));
    assert_eq!(
        files_in(&env),
        vec![std::ffi::OsString::from("klk-etl.toml")],
        "no file made"
    );

    let count = |client: &mut postgres::Client, sql: &str| -> i64 {
        client.query_one(sql, &[]).unwrap().get(0)
    };
    let mut client = db.client();
    let executions = count(&mut client, "SELECT count(*) FROM etl_ejecuciones");
    let lines = count(&mut client, "SELECT count(*) FROM ventas");
    assert!(
        executions > 400 && lines > 10_000,
        "{executions} executions, {lines} lines"
    );

    // Its own data again: emptied and made afresh, nothing counted twice.
    let again = run(&env, &["demo", "--database", &db.url], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(demo_story(&stdout(&again)), demo_story(&screen));
    assert_eq!(
        count(&mut client, "SELECT count(*) FROM etl_ejecuciones"),
        executions
    );
    assert_eq!(count(&mut client, "SELECT count(*) FROM ventas"), lines);
}

#[test]
fn demo_refuses_a_server_whose_klk_etl_tables_it_did_not_make_unless_forced() {
    let db = TestDatabase::new();
    let env = env();
    let secret = pg::password(&db.url);
    let migrated = run(&env, &["db", "migrate", "--database", &db.url], &[]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let mut client = db.client();
    client
        .batch_execute(
            "INSERT INTO etl_ejecuciones (etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_desde, fecha_hasta, estado) \
             VALUES ('ventas', 'S1', 'Uno', TIMESTAMP '2025-01-01 10:00', DATE '2025-01-01', DATE '2025-01-01', 'exitoso'); \
             CREATE TABLE la_tabla_del_usuario (x integer); INSERT INTO la_tabla_del_usuario VALUES (1)",
        )
        .unwrap();

    let refused = run(&env, &["demo", "--database", &db.url], &[]);
    assert_fails(&refused, 2, "refusing to empty postgres://", &secret);
    let held: i64 = client
        .query_one("SELECT count(*) FROM etl_ejecuciones", &[])
        .unwrap()
        .get(0);
    assert_eq!(held, 1, "the user's history untouched");

    // The configured database is not the demo's: the demo says how to choose a server.
    let global = run(&env, &["--database", &db.url, "demo"], &[]);
    assert_fails(
        &global,
        2,
        "pass `klk-etl demo --database URL` to run it on PostgreSQL",
        &secret,
    );
    assert_eq!(
        files_in(&env),
        vec![std::ffi::OsString::from("klk-etl.toml")],
        "nothing made"
    );

    let forced = run(&env, &["demo", "--database", &db.url, "--force"], &[]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    let user: i64 = client
        .query_one(
            "SELECT count(*) FROM etl_ejecuciones WHERE ubicacion_id = 'S1'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(user, 0, "klk-etl's tables emptied");
    let theirs: i64 = client
        .query_one("SELECT count(*) FROM la_tabla_del_usuario", &[])
        .unwrap()
        .get(0);
    assert_eq!(theirs, 1, "nothing else in the database touched");
}

/// `klk-etl ARGS --format FORMAT` at the pinned now, on the config's DuckDB file or on
/// `database`; its stdout (it must succeed).
fn output_at_now(env: &TestEnv, args: &[&str], format: &str, database: Option<&str>) -> String {
    let mut cmd = env.at_now();
    cmd.args(args)
        .args(["--format", format, "--color", "never"]);
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Copies `etl_ejecuciones` row for row (ids included) from a DuckDB file into PostgreSQL,
/// each value through its text form and cast to the PostgreSQL column's type.
fn copy_executions(duck: &duckdb::Connection, pg: &mut postgres::Client) -> usize {
    let columns: Vec<(String, String)> = pg
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'etl_ejecuciones'::regclass AND attnum > 0 AND NOT attisdropped \
             ORDER BY attnum",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let select = columns
        .iter()
        .map(|(name, _)| format!("CAST({name} AS VARCHAR)"))
        .collect::<Vec<_>>()
        .join(", ");
    let insert = format!(
        "INSERT INTO etl_ejecuciones ({}) VALUES ({})",
        columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        columns
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| format!("${}::text::{ty}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut stmt = duck
        .prepare(&format!("SELECT {select} FROM etl_ejecuciones ORDER BY id"))
        .unwrap();
    let rows: Vec<Vec<Option<String>>> = stmt
        .query_map([], |r| (0..columns.len()).map(|i| r.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for row in &rows {
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = row
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        pg.execute(&insert, &params).unwrap();
    }
    rows.len()
}

#[test]
fn one_history_gives_the_same_gaps_metrics_executions_and_status_on_both_engines() {
    use crate::common::{Exec, NOW, TWO_STORES};
    let env = TestEnv::with_config(TWO_STORES);
    let db = TestDatabase::new();
    // Both registries synchronised at the same pinned "now" (it decides since when closed
    // days are verified).
    env.at_now().args(["db", "migrate"]).assert().success();
    env.at_now()
        .args(["db", "migrate", "--database", &db.url])
        .assert()
        .success();
    env.insert(&[
        Exec::ok("2025-11-22", None, None, "2025-11-23 01:00:00"),
        Exec::ok("2025-11-23", None, None, "2025-11-24 01:00:00"),
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("09:29:59"),
            "2025-11-24 09:31:00",
        ),
        Exec::failed(
            "2025-11-24",
            Some("09:30:00"),
            Some("09:59:59"),
            "2025-11-24 10:01:00",
        ),
        Exec::failed(
            "2025-11-24",
            Some("09:30:00"),
            Some("09:59:59"),
            "2025-11-24 10:31:00",
        )
        .error("http_5xx", "HTTP 503"),
        Exec::ok(
            "2025-11-24",
            Some("10:00:00"),
            Some("13:59:59"),
            "2025-11-24 14:01:00",
        ),
        Exec::ventas(
            "en_proceso",
            "2025-11-24",
            Some("14:00:00"),
            Some("14:29:59"),
            "2025-11-24 14:31:00",
        )
        .process("another-host", 4242, None),
        Exec::ok("2025-11-24", None, None, "2025-11-24 06:00:00").tipo("inventario"),
        Exec::ok("2025-11-23", None, None, "2025-11-24 02:00:00").store("tienda_08", "BOSQUE"),
        Exec::failed(
            "2025-11-24",
            Some("00:00:00"),
            Some("11:59:59"),
            "2025-11-24 12:05:00",
        )
        .store("tienda_08", "BOSQUE"),
    ]);
    let copied = copy_executions(&env.connect(), &mut db.client());
    assert_eq!(copied, 10);

    // Every listing, in every format, with and without filters: byte for byte the same.
    let listings: [&[&str]; 9] = [
        &["gaps"],
        &["gaps", "--tipo", "ventas", "--store", "tienda_08"],
        &["gaps", "--max-hours", "12"],
        &["metrics", "--days", "3"],
        &["metrics", "--days", "2", "--summary"],
        &[
            "metrics",
            "--days",
            "1",
            "--tipo",
            "ventas",
            "--store",
            "tienda_01",
        ],
        &["executions", "--limit", "20"],
        &["executions", "--limit", "3", "--store", "tienda_08"],
        &["executions", "--estado", "fallido"],
    ];
    for format in ["json", "csv", "table"] {
        for args in listings {
            let on_duckdb = output_at_now(&env, args, format, None);
            assert!(on_duckdb.contains("tienda_"), "{args:?}: {on_duckdb}");
            assert_eq!(
                output_at_now(&env, args, format, Some(&db.url)),
                on_duckdb,
                "{args:?} --format {format} at {NOW}"
            );
        }
    }
    // status: the same but for the database's name (a path, or the URL without password).
    let port = url::Url::parse(&db.url).unwrap().port().unwrap();
    let shown = format!("postgres://klk@127.0.0.1:{port}/{}", db.name);
    for format in ["json", "table"] {
        let on_postgres = output_at_now(&env, &["status"], format, Some(&db.url));
        assert!(on_postgres.contains(&shown), "{on_postgres}");
        assert_eq!(
            on_postgres.replace(&shown, "DATABASE"),
            output_at_now(&env, &["status"], format, None)
                .replace("data/klk-etl.duckdb", "DATABASE"),
            "status --format {format}"
        );
    }
    // The monitoring reads: health (its exit code too), Prometheus, the alerts a check
    // would raise, what unstick would close.
    let with_code = |args: &[&str], database: Option<&str>| {
        let mut cmd = env.at_now();
        cmd.args(args).args(["--color", "never"]);
        if let Some(url) = database {
            cmd.args(["--database", url]);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    for args in [
        &["health", "--format", "json"][..],
        &["health"][..],
        &["metrics", "--format", "prometheus"][..],
        &["alerts", "check", "--dry-run", "--format", "json"][..],
        &["unstick", "--dry-run", "--format", "json"][..],
    ] {
        let on_duckdb = with_code(args, None);
        assert!(on_duckdb.1.contains("tienda_"), "{args:?}: {on_duckdb:?}");
        assert_eq!(with_code(args, Some(&db.url)), on_duckdb, "{args:?}");
    }
    // stores reads the configuration only.
    assert_eq!(
        output_at_now(&env, &["stores"], "json", Some(&db.url)),
        output_at_now(&env, &["stores"], "json", None)
    );
    // The history has gaps of several kinds: failed, stuck, stale inventory, unverified days.
    let json: serde_json::Value =
        serde_json::from_str(&output_at_now(&env, &["gaps"], "json", Some(&db.url))).unwrap();
    let causes: std::collections::BTreeSet<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["causa"].as_str().unwrap())
        .collect();
    for cause in ["fallido", "atascado", "desactualizado", "sin_verificar"] {
        assert!(causes.contains(cause), "{cause} missing from {causes:?}");
    }
}

/// Reading needs no write: a migrated database opened by a session that may not write (a
/// reader's role, a hot standby) answers every ported command.
#[test]
fn a_migrated_database_is_read_by_a_session_that_may_not_write() {
    let env = TestEnv::with_config(crate::common::TWO_STORES);
    let db = TestDatabase::new();
    env.at_now()
        .args(["db", "migrate", "--database", &db.url])
        .assert()
        .success();
    db.client()
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            db.name
        ))
        .unwrap();
    let writes: Result<u64, _> = db.client().execute(
        "INSERT INTO etl_schema_version VALUES (100, 'x', now())",
        &[],
    );
    assert!(writes.is_err(), "the session must be read-only");
    for args in [
        &["gaps"][..],
        &["metrics", "--days", "7"],
        &["executions"],
        &["status"],
        &["db", "info"],
        &["db", "migrate"],
    ] {
        let out = env
            .at_now()
            .args(args)
            .args(["--database", &db.url, "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?} in a read-only session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A configuration that changed since (a store added): the registry cannot be updated;
    // the command reads what is there and says so.
    let mut config = crate::common::TWO_STORES.to_string();
    config.push_str(
        "\n[[stores]]\nid = \"tienda_09\"\nname = \"NUEVA\"\nsucursal = \"SUC009\"\nwarehouses = [\"APP-N\"]\n",
    );
    std::fs::write(env.path().join("klk-etl.toml"), config).unwrap();
    let out = env
        .at_now()
        .args(["gaps", "--database", &db.url, "--format", "json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("store registry not updated"), "{err}");
}

/// A database upgraded to version 16 keeps its past days' sales coverage as `db migrate`
/// ends (the next runs' refreshes would, hours later at 100 stores), and reads the same gaps.
#[test]
fn upgrading_to_the_kept_coverage_keeps_the_past_days_at_once() {
    use crate::common::Exec;
    let env = TestEnv::new();
    env.migrate();
    env.insert(&[
        Exec::ok(
            "2025-11-23",
            Some("00:00:00"),
            Some("09:00:00"),
            "2025-11-23 09:01:00",
        ),
        Exec::failed(
            "2025-11-23",
            Some("09:00:00"),
            Some("09:30:00"),
            "2025-11-23 09:31:00",
        ),
        Exec::ok(
            "2025-11-23",
            Some("09:30:00"),
            Some("23:59:59"),
            "2025-11-24 00:01:00",
        ),
        Exec::ok(
            "2025-11-24",
            Some("00:00:00"),
            Some("15:30:00"),
            "2025-11-24 15:31:00",
        ),
    ]);
    let db = TestDatabase::new();
    pg::copy_file_into(&env, &db);
    let mut client = db.client();
    // The database as version 15 left it: no coverage kept.
    client
        .batch_execute(
            "DELETE FROM etl_schema_version WHERE version = 16; \
             DELETE FROM etl_cobertura_dias; DELETE FROM etl_cobertura_dia;",
        )
        .unwrap();
    let out = env
        .cmd()
        .args(["db", "migrate", "--database", &db.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("from version 15 to 16"),
        "{}",
        stdout(&out)
    );
    let kept: Vec<chrono::NaiveDate> = client
        .query(
            "SELECT d.fecha FROM etl_cobertura_dias d \
             WHERE EXISTS (SELECT 1 FROM etl_cobertura_dia c WHERE c.fecha = d.fecha) ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        kept,
        vec![chrono::NaiveDate::from_ymd_opt(2025, 11, 23).unwrap()],
        "the past day with sales is kept"
    );
    let gaps = |database: Option<&str>| {
        let mut cmd = env.at_now();
        if let Some(url) = database {
            cmd.args(["--database", url]);
        }
        let out = cmd
            .args(["gaps", "--tipo", "ventas", "--format", "json"])
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let on_server = gaps(Some(&db.url));
    assert_eq!(gaps(None), on_server);
    assert!(
        on_server
            .as_array()
            .unwrap()
            .iter()
            .any(|gap| gap["fecha_desde"] == "2025-11-23"
                && gap["hora_desde"] == "09:00:00"
                && gap["hora_hasta"] == "09:30:00"),
        "the failed half hour of the kept day is a gap: {on_server}"
    );
}
