//! Reliability: bad input. A corpus of broken configuration files
//! (`tests/fixtures/bad/config/`), command lines (`tests/fixtures/bad/cli/args.txt`),
//! unusable database files (made here: empty, text, random, truncated, corrupted, another
//! program's, a newer klk-etl's, read-only, a directory, a FIFO...) and API bodies (a
//! property test of structured mutations of a real answer, through the parser and the
//! loader, and a set of hostile bodies served to the real binary). For each: no panic, one
//! `error: ` line on stderr with the documented exit code, and nothing written.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::pg::TestDatabase;
use crate::common::{NOW, TWO_STORES, TestEnv};
use klk_etl::config::Config;
use klk_etl::etl::load;
use klk_etl::klk::parse::parse_sales;
use klk_etl::sim::{SimData, SimOptions, SimStore, Simulator};
use klk_etl::tracker::{Access, Db};
use proptest::prelude::*;
use serde_json::{Value, json};

fn corpus(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad")
        .join(dir)
}

fn bin() -> Command {
    let mut cmd = crate::common::process();
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs with a watchdog: a command that hangs is killed and reported.
fn output(mut cmd: Command, limit: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Ok(child.wait_with_output().unwrap());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("hung for more than {limit:?} (killed)"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The checks every rejected invocation must pass; returns a description of what is wrong.
fn judge(out: &Output, code: i32, needle: &str) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut wrong = Vec::new();
    if out.status.code() != Some(code) {
        wrong.push(format!("exit {:?}, expected {code}", out.status.code()));
    }
    if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        wrong.push("panicked".to_string());
    }
    let lines: Vec<&str> = stderr.lines().collect();
    if lines.len() != 1 || !lines[0].starts_with("error: ") {
        wrong.push("not exactly one `error: ` line on stderr".to_string());
    }
    if !stderr.contains(needle) {
        wrong.push(format!("message lacks {needle:?}"));
    }
    if !out.stdout.is_empty() {
        wrong.push(format!(
            "stdout is not empty: {}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    (!wrong.is_empty()).then(|| format!("{} [stderr: {}]", wrong.join("; "), stderr.trim()))
}

/// Every file under `dir` with its bytes (a snapshot to compare).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path.clone());
                files.insert(path, b"<dir>".to_vec());
            } else if kind.is_file() {
                files.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            } else {
                files.insert(path, b"<special>".to_vec());
            }
        }
    }
    files
}

fn changes(before: &BTreeMap<PathBuf, Vec<u8>>, after: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in after {
        match before.get(path) {
            None => out.push(format!("created {}", path.display())),
            Some(old) if old != bytes => out.push(format!("changed {}", path.display())),
            _ => {}
        }
    }
    for path in before.keys() {
        if !after.contains_key(path) {
            out.push(format!("removed {}", path.display()));
        }
    }
    out
}

/// A migrated database file (with one execution) to copy into test directories.
fn migrated_db(dir: &Path) -> PathBuf {
    let env = TestEnv::with_config(TWO_STORES);
    env.migrate();
    env.insert(&[crate::common::Exec::ok(
        "2025-11-24",
        Some("10:00:00"),
        Some("10:30:00"),
        "2025-11-24 10:35:00",
    )]);
    let path = dir.join("template.duckdb");
    std::fs::copy(env.db_path(), &path).unwrap();
    path
}

/// A migrated database holding a history and sales over many blocks (a file that is cut
/// somewhere loses some of its data blocks, not only its header).
fn migrated_db_with_data(dir: &Path) -> PathBuf {
    let path = migrated_db(dir).with_file_name("template-data.duckdb");
    std::fs::copy(dir.join("template.duckdb"), &path).unwrap();
    duckdb_with(
        &path,
        "INSERT INTO etl_ejecuciones (etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, fecha_fin, \
             duracion_segundos, fecha_desde, fecha_hasta, hora_desde, hora_hasta, estado, \
             registros_extraidos, registros_cargados, modo, version_etl, host) \
         SELECT 'ventas', 'tienda_01', 'PERIFERICO', TIMESTAMP '2025-11-20 00:05' + to_minutes(30 * i), \
             TIMESTAMP '2025-11-20 00:06' + to_minutes(30 * i), 60, \
             CAST(TIMESTAMP '2025-11-20 00:00' + to_minutes(30 * i) AS DATE), \
             CAST(TIMESTAMP '2025-11-20 00:00' + to_minutes(30 * i) AS DATE), \
             CAST(TIMESTAMP '2025-11-20 00:00' + to_minutes(30 * i) AS TIME), \
             CAST(TIMESTAMP '2025-11-20 00:30' + to_minutes(30 * i) AS TIME), 'exitoso', 10, 10, \
             'incremental_30min', 'test', 'seed-host' FROM range(1, 200) t(i); \
         INSERT INTO ventas SELECT 'tienda_01', 'F-' || i, 1, DATE '2025-11-20', TIME '10:00:00', \
             TIMESTAMP '2025-11-20 10:00', 'APP-TPF', 'PISO', 'P' || (i % 977), \
             'PRODUCTO NUMERO ' || i || ' DE UNA DESCRIPCION LARGA ' || md5(CAST(i AS VARCHAR)), \
             'MARCA', '', 'CATEGORIA', 'GRUPO', 'SUB', md5(CAST(i AS VARCHAR)), 1, 0, 'UNIDAD', 1, \
             i * 1.1, i * 0.01, i * 1.2, i * 0.011, 16, i * 0.19, 0, 0, i * 1.2, i * 0.011, i * 1.1, \
             i * 0.01, 0.1, 0.001, i * 5.5, 236.46, false, '', '', 1, TIMESTAMP '2025-11-20 10:05' \
         FROM range(400000) t(i); CHECKPOINT;",
    );
    path
}

// ---------------------------------------------------------------------------------------
// Configuration files

struct ConfigCase {
    file: PathBuf,
    expect: String,
    only_run: bool,
}

fn config_cases() -> Vec<ConfigCase> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(corpus("config")).unwrap() {
        let file = entry.unwrap().path();
        if file.extension().is_some_and(|e| e == "expect") {
            continue;
        }
        let sidecar = PathBuf::from(format!("{}.expect", file.display()));
        let header = match std::fs::read_to_string(&sidecar) {
            Ok(text) => format!("# expect: {text}"),
            Err(_) => std::fs::read_to_string(&file).expect("a UTF-8 file or a .expect sidecar"),
        };
        let expect = header
            .lines()
            .find_map(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", file.display()))
            .trim()
            .to_string();
        let only_run = header.lines().any(|l| l.trim() == "# only: run");
        cases.push(ConfigCase {
            file,
            expect,
            only_run,
        });
    }
    cases.sort_by(|a, b| a.file.cmp(&b.file));
    cases
}

#[test]
fn every_broken_configuration_is_exit_2_on_one_line_and_writes_nothing() {
    let cases = config_cases();
    assert!(cases.len() >= 40, "{} config cases", cases.len());
    let scratch = tempfile::tempdir().unwrap();
    let template = migrated_db(scratch.path());
    let mut failures = Vec::new();
    let mut invocations = 0;
    for case in &cases {
        let name = case.file.file_name().unwrap().to_string_lossy().to_string();
        let commands: Vec<Vec<&str>> = if case.only_run {
            vec![vec!["run", "--tipo", "ventas"]]
        } else {
            vec![
                vec!["gaps"],
                vec!["run", "--tipo", "ventas"],
                vec!["db", "migrate"],
                vec!["stores"],
            ]
        };
        // In an empty directory (the configured database would be created there)...
        for args in &commands {
            let dir = tempfile::tempdir().unwrap();
            let mut cmd = bin();
            cmd.current_dir(dir.path())
                .args(["--now", NOW, "--config"])
                .arg(&case.file)
                .args(args);
            invocations += 1;
            match output(cmd, Duration::from_secs(30)) {
                Err(hung) => failures.push(format!("{name} {args:?}: {hung}")),
                Ok(out) => {
                    // A client option error names no file; every other one names it.
                    let needle = if case.only_run { &case.expect } else { &name };
                    if let Some(wrong) = judge(&out, 2, needle) {
                        failures.push(format!("{name} {args:?}: {wrong}"));
                    } else if !String::from_utf8_lossy(&out.stderr).contains(&case.expect) {
                        failures.push(format!(
                            "{name} {args:?}: message lacks {:?}: {}",
                            case.expect,
                            String::from_utf8_lossy(&out.stderr).trim()
                        ));
                    }
                    let left = snapshot(dir.path());
                    if !left.is_empty() {
                        failures.push(format!("{name} {args:?}: wrote {:?}", left.keys()));
                    }
                }
            }
        }
        // ...and with an existing database named on the command line: unchanged.
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&template, dir.path().join("klk.duckdb")).unwrap();
        let before = snapshot(dir.path());
        let mut cmd = bin();
        cmd.current_dir(dir.path())
            .args(["--now", NOW, "--db", "klk.duckdb", "--config"])
            .arg(&case.file)
            .args(["run", "--tipo", "ventas"]);
        invocations += 1;
        match output(cmd, Duration::from_secs(30)) {
            Err(hung) => failures.push(format!("{name} (existing db): {hung}")),
            Ok(out) => {
                if let Some(wrong) = judge(&out, 2, &case.expect) {
                    failures.push(format!("{name} (existing db): {wrong}"));
                }
                let changed = changes(&before, &snapshot(dir.path()));
                if !changed.is_empty() {
                    failures.push(format!("{name} (existing db): {changed:?}"));
                }
            }
        }
    }
    println!(
        "bad input: {} configuration files, {invocations} invocations, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Command lines

fn args_cases(file: &str) -> Vec<(i32, String, Vec<String>)> {
    let text = std::fs::read_to_string(corpus("cli").join(file)).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let parts: Vec<&str> = line.splitn(3, " | ").collect();
            assert_eq!(parts.len(), 3, "bad corpus line: {line}");
            (
                parts[0].parse().expect("exit code"),
                parts[1].to_string(),
                parts[2].split_whitespace().map(str::to_string).collect(),
            )
        })
        .collect()
}

#[test]
fn every_bad_command_line_is_rejected_before_touching_anything() {
    let cases = args_cases("args.txt");
    assert!(cases.len() >= 45, "{} command-line cases", cases.len());
    let failures = check_command_lines(&cases);
    println!(
        "bad input: {} command lines, each without and with a database, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A negative duration is a usage error whose message names the option.
#[test]
fn negative_durations_are_rejected_naming_the_option() {
    let failures = check_command_lines(&args_cases("negative_durations.txt"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Where the configured database is while a bad command line runs.
enum Target<'a> {
    /// The configured file does not exist.
    NoFile,
    /// A migrated file with one execution.
    File,
    /// A migrated PostgreSQL database with one execution.
    Server(&'a TestDatabase),
}

/// What a PostgreSQL database holds, in short: equal before and after means nothing written.
fn server_fingerprint(db: &TestDatabase) -> String {
    db.client()
        .query_one(
            "SELECT concat_ws(' ', (SELECT count(*) FROM etl_ejecuciones), \
             (SELECT max(id) FROM etl_ejecuciones), (SELECT count(*) FROM etl_invocaciones), \
             (SELECT count(*) FROM ventas), (SELECT count(*) FROM inventario), \
             (SELECT count(*) FROM etl_alertas), (SELECT count(*) FROM etl_hooks), \
             (SELECT max(version) FROM etl_schema_version), \
             (SELECT actualizado::text FROM etl_configuracion), \
             (SELECT string_agg(ubicacion_id || ':' || activa::text, ',' ORDER BY ubicacion_id) FROM etl_tiendas), \
             (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'))",
            &[],
        )
        .unwrap()
        .get(0)
}

/// Runs each case without and with a database file; returns what went wrong.
fn check_command_lines(cases: &[(i32, String, Vec<String>)]) -> Vec<String> {
    let mut failures = check_command_lines_on(cases, Target::NoFile);
    failures.extend(check_command_lines_on(cases, Target::File));
    failures
}

/// Runs each case against `target`; returns what went wrong.
fn check_command_lines_on(cases: &[(i32, String, Vec<String>)], target: Target) -> Vec<String> {
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: SimData::default(),
        faults: Vec::new(),
    })
    .unwrap();
    let database = match &target {
        Target::Server(db) => format!("database = \"{}\"\n", db.url),
        _ => "database = \"data/klk-etl.duckdb\"\n".to_string(),
    };
    let config = TWO_STORES.replace(
        "database = \"data/klk-etl.duckdb\"\n",
        &format!("{database}[api]\nbase_url = \"{}\"\n", sim.base_url()),
    );
    let scratch = tempfile::tempdir().unwrap();
    let env = TestEnv::with_config(&config);
    match &target {
        Target::NoFile => {}
        Target::File => {
            let template = migrated_db(scratch.path());
            std::fs::create_dir_all(env.path().join("data")).unwrap();
            std::fs::copy(&template, env.db_path()).unwrap();
        }
        Target::Server(db) => {
            let out = env.at_now().args(["db", "migrate"]).output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            db.client()
                .batch_execute(
                    "INSERT INTO etl_ejecuciones (etl_tipo, ubicacion_id, ubicacion_nombre, fecha_inicio, \
                     fecha_desde, fecha_hasta, estado) VALUES ('ventas', 'tienda_01', 'PERIFERICO', \
                     TIMESTAMP '2025-11-24 08:05', DATE '2025-11-24', DATE '2025-11-24', 'exitoso')",
                )
                .unwrap();
        }
    }
    let server_state = || match &target {
        Target::Server(db) => server_fingerprint(db),
        _ => String::new(),
    };
    let mut failures = Vec::new();
    for (code, needle, args) in cases {
        let before = snapshot(env.path());
        let held = server_state();
        let mut cmd = bin();
        cmd.current_dir(env.path());
        if !args.iter().any(|a| a == "--now") {
            cmd.args(["--now", NOW]);
        }
        cmd.args(args);
        match output(cmd, Duration::from_secs(30)) {
            Err(hung) => failures.push(format!("{args:?}: {hung}")),
            Ok(out) => {
                if let Some(wrong) = judge(&out, *code, needle) {
                    failures.push(format!("{args:?}: {wrong}"));
                }
            }
        }
        let changed = changes(&before, &snapshot(env.path()));
        let where_ = match &target {
            Target::NoFile => "no database",
            Target::File => "existing database",
            Target::Server(_) => "PostgreSQL database",
        };
        if !changed.is_empty() {
            failures.push(format!("{args:?} ({where_}): {changed:?}"));
        }
        let now_held = server_state();
        if now_held != held {
            failures.push(format!(
                "{args:?} ({where_}): the server's database changed: {held} -> {now_held}"
            ));
        }
    }
    assert!(
        sim.requests().is_empty(),
        "a rejected command sent a request"
    );
    failures
}

#[test]
fn every_bad_command_line_on_a_postgresql_database_is_rejected_before_touching_it() {
    let db = TestDatabase::new();
    let mut cases = args_cases("args.txt");
    cases.extend(args_cases("negative_durations.txt"));
    let failures = check_command_lines_on(&cases, Target::Server(&db));
    println!(
        "bad input: {} command lines on a PostgreSQL database, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Database files

/// Builds one unusable database at `path` (in `dir`).
type Maker = Box<dyn Fn(&Path, &Path)>;

fn duckdb_with(path: &Path, sql: &str) {
    let conn = duckdb::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn database_cases(
    template: PathBuf,
    with_data: PathBuf,
) -> Vec<(&'static str, &'static str, Maker)> {
    let t1 = template.clone();
    let t2 = template.clone();
    let t3 = template.clone();
    let d1 = with_data;
    vec![
        (
            // Every reader refuses it as `run` does, naming the file (they used to print the
            // part of the data still there and exit 0).
            "a DuckDB file with data cut in half",
            "klk.duckdb: the file is truncated or damaged",
            Box::new(move |_, p| {
                let bytes = std::fs::read(&d1).unwrap();
                std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
            }),
        ),
        (
            "an empty file",
            "not a DuckDB database file",
            Box::new(|_, p| std::fs::write(p, b"").unwrap()),
        ),
        (
            "a text file",
            "not a DuckDB database file",
            Box::new(|_, p| std::fs::write(p, "ventas de noviembre\n1;2;3\n").unwrap()),
        ),
        (
            "random bytes",
            "not a DuckDB database file",
            Box::new(|_, p| {
                let mut rng = fastrand::Rng::with_seed(3);
                let bytes: Vec<u8> = (0..65_536).map(|_| rng.u8(..)).collect();
                std::fs::write(p, bytes).unwrap();
            }),
        ),
        (
            "a DuckDB file cut after its first block",
            "klk.duckdb",
            Box::new(move |_, p| {
                let bytes = std::fs::read(&t1).unwrap();
                std::fs::write(p, &bytes[..4096]).unwrap();
            }),
        ),
        (
            "a DuckDB file cut in half",
            "klk.duckdb",
            Box::new(move |_, p| {
                let bytes = std::fs::read(&t2).unwrap();
                std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap();
            }),
        ),
        (
            "a DuckDB file with garbage over its headers",
            "klk.duckdb",
            Box::new(move |_, p| {
                let mut bytes = std::fs::read(&t3).unwrap();
                let mut rng = fastrand::Rng::with_seed(5);
                for b in &mut bytes[4096..12_288] {
                    *b = rng.u8(..);
                }
                std::fs::write(p, bytes).unwrap();
            }),
        ),
        (
            "a file from a newer klk-etl",
            "newer than this klk-etl",
            Box::new(|_, p| {
                duckdb_with(
                    p,
                    "CREATE TABLE etl_schema_version (version INTEGER, descripcion VARCHAR, aplicada TIMESTAMP);
                     INSERT INTO etl_schema_version VALUES (99, 'from the future', TIMESTAMP '2030-01-01');",
                )
            }),
        ),
        (
            "a directory",
            "directory",
            Box::new(|_, p| std::fs::create_dir_all(p).unwrap()),
        ),
        (
            "a FIFO",
            "klk.duckdb",
            Box::new(|_, p| {
                let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
                // SAFETY: a valid C string and mode.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            }),
        ),
        (
            "a symbolic link to itself",
            "klk.duckdb",
            Box::new(|_, p| std::os::unix::fs::symlink(p, p).unwrap()),
        ),
        (
            "a path below a regular file",
            "notadir",
            Box::new(|dir, _| std::fs::write(dir.join("notadir"), "x").unwrap()),
        ),
    ]
}

/// Another program's DuckDB files whose tables clash with klk-etl's.
fn clashing_cases() -> Vec<(&'static str, &'static str, Maker)> {
    vec![
        (
            "another program's DuckDB file with its own etl_ejecuciones",
            "etl_ejecuciones",
            Box::new(|_, p| {
                duckdb_with(
                    p,
                    "CREATE TABLE etl_ejecuciones (job VARCHAR, started TIMESTAMP, ok BOOLEAN);
                     INSERT INTO etl_ejecuciones VALUES ('nightly', TIMESTAMP '2025-11-01 02:00', true);",
                )
            }),
        ),
        (
            "another program's DuckDB file with its own ventas",
            "'ventas'",
            Box::new(|_, p| {
                duckdb_with(
                    p,
                    "CREATE TABLE ventas (fecha DATE, total DECIMAL(12,2));
                     INSERT INTO ventas VALUES (DATE '2025-11-01', 10.5);",
                )
            }),
        ),
    ]
}

#[test]
fn every_unusable_database_is_exit_3_on_one_line_and_left_as_it_was() {
    let scratch = tempfile::tempdir().unwrap();
    let template = migrated_db(scratch.path());
    let with_data = migrated_db_with_data(scratch.path());
    let cases = database_cases(template, with_data);
    let failures = check_databases(&cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A file cut where `ventas`' last column block begins: `db info` and the writers (which also
/// check every table's blocks, once per command) refuse it naming the file, and leave nothing
/// beside it.
#[test]
fn a_database_cut_at_its_last_column_block_is_refused_by_writers_and_db_info() {
    let scratch = tempfile::tempdir().unwrap();
    let with_data = migrated_db_with_data(scratch.path());
    let bytes = std::fs::read(&with_data).unwrap();
    // Cut where the last block holding table data begins (the file may end in free blocks).
    let last_block: i64 = duckdb::Connection::open(&with_data)
        .unwrap()
        .query_row(
            "SELECT max(block_id) FROM pragma_storage_info('ventas') WHERE persistent",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let cut = 3 * 4096 + last_block as usize * 262_144;
    assert!(cut < bytes.len());
    for args in [
        &["db", "info"][..],
        &["run", "--tipo", "ventas", "--no-recover"],
        &["db", "migrate"],
        &["purge", "--older-than", "30d", "--yes"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("klk-etl.toml"), TWO_STORES).unwrap();
        std::fs::write(dir.path().join("klk.duckdb"), &bytes[..cut]).unwrap();
        let before = snapshot(dir.path());
        let mut cmd = bin();
        cmd.current_dir(dir.path())
            .args(["--now", NOW, "--lock-timeout", "2s", "--db", "klk.duckdb"])
            .args(args);
        let out = output(cmd, Duration::from_secs(20)).unwrap();
        assert_eq!(
            judge(&out, 3, "klk.duckdb: the file is truncated or damaged"),
            None,
            "{args:?}"
        );
        assert_eq!(
            changes(&before, &snapshot(dir.path())),
            Vec::<String>::new(),
            "{args:?}"
        );
    }
}

/// A file of another program with its own `etl_ejecuciones` or `ventas` is refused with a
/// message that names the file and the table, and is left exactly as it was (no migration
/// committed before the refusal).
#[test]
fn another_programs_file_with_clashing_tables_is_refused_and_left_untouched() {
    let failures = check_databases(&clashing_cases());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs four commands on each database; returns what went wrong.
fn check_databases(cases: &[(&'static str, &'static str, Maker)]) -> Vec<String> {
    let commands: [&[&str]; 4] = [
        &["gaps"],
        &["status"],
        &["run", "--tipo", "ventas", "--no-recover"],
        &["db", "migrate"],
    ];
    let mut failures = Vec::new();
    for (what, needle, make) in cases {
        for args in commands {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("klk-etl.toml"), TWO_STORES).unwrap();
            let db = if *what == "a path below a regular file" {
                dir.path().join("notadir/klk.duckdb")
            } else {
                dir.path().join("klk.duckdb")
            };
            make(dir.path(), &db);
            let before = snapshot(dir.path());
            let mut cmd = bin();
            cmd.current_dir(dir.path())
                .args(["--now", NOW, "--lock-timeout", "2s", "--db"])
                .arg(db.strip_prefix(dir.path()).unwrap())
                .args(args);
            match output(cmd, Duration::from_secs(20)) {
                Err(hung) => failures.push(format!("{what} {args:?}: {hung}")),
                Ok(out) => {
                    if let Some(wrong) = judge(&out, 3, needle) {
                        failures.push(format!("{what} {args:?}: {wrong}"));
                    }
                }
            }
            // Nothing is added either: no run lock is left beside a path that is not a usable
            // database.
            let changed = changes(&before, &snapshot(dir.path()));
            if !changed.is_empty() {
                failures.push(format!("{what} {args:?}: {changed:?}"));
            }
        }
    }
    println!(
        "bad input: {} database files x {} commands, {} failures",
        cases.len(),
        commands.len(),
        failures.len()
    );
    failures
}

/// A database file its user may read but not write: reading commands work (and say
/// they cannot update the store registry if they would need to); writing commands exit 3
/// on one line; the file is unchanged. A file that still needs migrating is exit 3 for
/// every command. Run as `nobody` when the tests run as root (root ignores permissions).
#[test]
fn a_read_only_database_is_read_and_never_written() {
    let scratch = tempfile::tempdir().unwrap();
    let template = migrated_db(scratch.path());
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let binary = if as_root {
        // `nobody` cannot reach the build directory under /root: use a copy.
        let copy = root.join("klk-etl");
        std::fs::copy(assert_cmd::cargo::cargo_bin("klk-etl"), &copy).unwrap();
        copy
    } else {
        assert_cmd::cargo::cargo_bin("klk-etl")
    };
    let set_mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap()
    };
    set_mode(root, 0o755);
    std::fs::write(root.join("klk-etl.toml"), TWO_STORES).unwrap();
    std::fs::create_dir(root.join("data")).unwrap();
    std::fs::copy(&template, root.join("data/klk-etl.duckdb")).unwrap();
    duckdb_with(&root.join("data/old.duckdb"), "CREATE TABLE x (a INTEGER);");
    for file in ["data/klk-etl.duckdb", "data/old.duckdb", "klk-etl.toml"] {
        set_mode(&root.join(file), 0o444);
    }
    set_mode(&root.join("data"), 0o555);
    let before = snapshot(root);
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&binary);
        cmd.current_dir(root)
            .env("TZ", "UTC")
            .env_remove("KLK_ETL_DB")
            .env_remove("KLK_ETL_CONFIG")
            .args(["--now", NOW, "--lock-timeout", "2s"])
            .args(args);
        if as_root {
            std::os::unix::process::CommandExt::uid(&mut cmd, 65534);
            std::os::unix::process::CommandExt::gid(&mut cmd, 65534);
        }
        output(cmd, Duration::from_secs(20)).unwrap()
    };
    let mut failures = Vec::new();
    // unstick and purge with nothing to do need no write.
    for args in [
        &["gaps"][..],
        &["status"],
        &["executions"],
        &["db", "info"],
        &["unstick", "--yes"],
        &["purge", "--yes"],
    ] {
        let out = run(args);
        if out.status.code() != Some(0) || String::from_utf8_lossy(&out.stderr).contains("panicked")
        {
            failures.push(format!(
                "{args:?} on a read-only file: exit {:?}: {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    for args in [
        &["run", "--tipo", "ventas"][..],
        &["recover", "--tipo", "ventas"],
    ] {
        if let Some(wrong) = judge(&run(args), 3, "klk-etl.duckdb") {
            failures.push(format!("{args:?} on a read-only file: {wrong}"));
        }
    }
    for (args, needle) in [
        (&["gaps"][..], "cannot be opened for writing"),
        (&["db", "migrate"], "old.duckdb"),
        (&["run", "--tipo", "ventas"], "old.duckdb"),
    ] {
        let mut with_old = vec!["--db", "data/old.duckdb"];
        with_old.extend_from_slice(args);
        if let Some(wrong) = judge(&run(&with_old), 3, needle) {
            failures.push(format!("{args:?} on a read-only file to migrate: {wrong}"));
        }
    }
    let changed = changes(&before, &snapshot(root));
    set_mode(&root.join("data"), 0o755);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(changed.is_empty(), "{changed:?}");
}

// ---------------------------------------------------------------------------------------
// API bodies

/// A real answer of the simulator (meta and ~60 lines) for one half hour.
fn real_body() -> Vec<u8> {
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: SimData {
            seed: 2,
            lines_per_hour: 120,
            articles_per_warehouse: 10,
            stores: vec![SimStore::new("SUC001", vec!["APP-TPF".to_string()])],
        },
        faults: Vec::new(),
    })
    .unwrap();
    let body = r#"{"sucursal":"SUC001","fecha_desde":"2025-11-24","fecha_hasta":"2025-11-24","hora_desde":"12:00","hora_hasta":"12:30"}"#;
    let mut stream = std::net::TcpStream::connect(sim.addr()).unwrap();
    write!(
        stream,
        "POST /ventas HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let at = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    response[at..].to_vec()
}

/// Values a field may be replaced with: wrong types, extremes, the almost-valid.
fn hostile_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(2_147_483_648i64),
        json!(-2_147_483_649i64),
        json!(1e308),
        json!(-1e-308),
        json!(0.5),
        json!(""),
        json!(" "),
        json!("N/A"),
        json!("NaN"),
        json!("inf"),
        json!("1e999"),
        json!("-0"),
        json!("2025-02-30"),
        json!("9999-12-31"),
        json!("0001-01-01"),
        json!("23:59:60"),
        json!("24:00:00"),
        json!("12:00:00.9999999999"),
        json!("\u{0}"),
        json!("nul\u{0}inside"),
        json!("ñandú 🧀 \u{202e}"),
        json!("x".repeat(20_000)),
        json!([]),
        json!({}),
        json!([null]),
        json!([{}]),
        json!([{"a": [1, {"b": []}]}]),
    ]
}

/// Every path (object keys and array positions) to a value inside `value`.
fn paths(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(key.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate().take(3) {
                prefix.push(i.to_string());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'a>(value: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(value, |v, key| match v {
        Value::Object(map) => map.get_mut(key).unwrap(),
        Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
        _ => unreachable!(),
    })
}

/// Replaces, removes or duplicates what is at one path.
fn mutate(base: &Value, path: &[String], action: usize, replacement: &Value) -> Value {
    let mut body = base.clone();
    match (action % 4, path.split_last()) {
        (1, Some((last, parent))) => match at_path(&mut body, parent) {
            Value::Object(map) => {
                map.remove(last);
            }
            Value::Array(items) => {
                items.remove(last.parse::<usize>().unwrap());
            }
            _ => {}
        },
        (2, Some((last, parent))) => {
            if let Value::Array(items) = at_path(&mut body, parent) {
                let i = last.parse::<usize>().unwrap();
                let copy = items[i].clone();
                items.insert(i, copy);
            } else {
                *at_path(&mut body, path) = replacement.clone();
            }
        }
        _ => *at_path(&mut body, path) = replacement.clone(),
    }
    body
}

struct LoadTarget {
    _dir: tempfile::TempDir,
    db: Mutex<Db>,
}

fn load_target() -> LoadTarget {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klk-etl.toml");
    let text = TWO_STORES.replace(
        "data/klk-etl.duckdb",
        &dir.path().join("fuzz.duckdb").display().to_string(),
    );
    std::fs::write(&path, &text).unwrap();
    let config = Config::parse(&text, &path).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339(NOW).unwrap().to_utc();
    let db = Db::open(&config, Access::Write, now).unwrap();
    LoadTarget {
        _dir: dir,
        db: Mutex::new(db),
    }
}

/// Parses `bytes`; when the parser accepts them, loads the lines (then rolls back).
/// Returns what is wrong: a parser error outside the vocabulary, or a body the parser
/// accepts and the database refuses (it would be recorded as a database error and retried
/// forever instead of being reported as a bad body).
fn parse_then_load(bytes: &[u8], target: &LoadTarget) -> Option<String> {
    match parse_sales(bytes) {
        Err(kind) => (!["api_error", "validacion"].contains(&kind.error_tipo()))
            .then(|| format!("error outside the vocabulary: {kind}")),
        Ok(batch) => {
            let mut db = target.db.lock().unwrap();
            let tx = db.conn_mut().transaction().unwrap();
            let loaded = load::load_sales(
                &tx,
                "tienda_01",
                1,
                chrono::NaiveDate::from_ymd_opt(2025, 11, 24)
                    .unwrap()
                    .and_hms_opt(12, 35, 0)
                    .unwrap(),
                batch.lines,
            );
            drop(tx);
            loaded.err().map(|e| {
                format!(
                    "parsed but not loadable: {}",
                    e.to_string().chars().take(160).collect::<String>()
                )
            })
        }
    }
}

/// Every field of a sales line and of `meta`, with every hostile value, removed, or
/// duplicated: rejected by the parser (`api_error`/`validacion`) or loaded.
#[test]
fn every_field_with_every_hostile_value_is_rejected_or_loaded() {
    let base: Value = serde_json::from_slice(&real_body()).unwrap();
    let target = load_target();
    let mut all = Vec::new();
    paths(&base, &mut Vec::new(), &mut all);
    let fields: Vec<Vec<String>> = all
        .into_iter()
        .filter(|p| {
            (p.first().is_some_and(|k| k == "meta") && p.len() == 2)
                || (p.len() >= 3 && p[0] == "ventas" && p[1] == "0")
        })
        .collect();
    let values = hostile_values();
    let mut cases = 0;
    let mut failures = BTreeMap::new();
    for path in &fields {
        for action in 0..3 {
            let replacements: &[Value] = if action == 0 { &values } else { &values[..1] };
            for replacement in replacements {
                cases += 1;
                let body = mutate(&base, path, action, replacement);
                if let Some(wrong) = parse_then_load(&serde_json::to_vec(&body).unwrap(), &target) {
                    let what = match action {
                        0 => format!("{} = {}", path.join("."), short(replacement)),
                        1 => format!("{} removed", path.join(".")),
                        _ => format!("{} duplicated", path.join(".")),
                    };
                    failures.entry(wrong).or_insert_with(Vec::new).push(what);
                }
            }
        }
    }
    println!(
        "bad input: {} fields x {} hostile values (or removed, duplicated): {cases} bodies, {} kinds of failure",
        fields.len(),
        values.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .map(|(wrong, cases)| format!("{wrong}\n    for {}", cases.join(", ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn short(value: &Value) -> String {
    value.to_string().chars().take(30).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Damage anywhere in a real answer (replaced, removed or duplicated, up to three
    /// times) never panics and is rejected with a vocabulary error or loaded.
    #[test]
    fn a_damaged_real_answer_is_rejected_by_the_parser_or_loaded(
        damage in prop::collection::vec(
            (any::<prop::sample::Index>(), 0usize..3, any::<prop::sample::Index>()),
            1..4,
        ),
    ) {
        thread_local! {
            static BASE: (Value, LoadTarget) =
                (serde_json::from_slice(&real_body()).unwrap(), load_target());
        }
        BASE.with(|(base, target)| {
            let values = hostile_values();
            let mut body = base.clone();
            for (choice, action, replacement) in &damage {
                let mut all = Vec::new();
                paths(&body, &mut Vec::new(), &mut all);
                let path: &Vec<String> = choice.get(&all);
                body = mutate(&body, path, *action, replacement.get(&values));
            }
            let wrong = parse_then_load(&serde_json::to_vec(&body).unwrap(), target);
            prop_assert!(wrong.is_none(), "{}", wrong.unwrap_or_default());
            Ok(())
        })?;
    }
}

/// DuckDB discards a write-ahead log that is not one (as after a torn write): the file is
/// used as it was at its last checkpoint.
#[test]
fn a_garbage_write_ahead_log_is_discarded_and_the_data_kept() {
    let scratch = tempfile::tempdir().unwrap();
    let template = migrated_db(scratch.path());
    let env = TestEnv::with_config(TWO_STORES);
    std::fs::create_dir_all(env.path().join("data")).unwrap();
    std::fs::copy(&template, env.db_path()).unwrap();
    let mut rng = fastrand::Rng::with_seed(9);
    let bytes: Vec<u8> = (0..20_000).map(|_| rng.u8(..)).collect();
    std::fs::write(format!("{}.wal", env.db_path().display()), bytes).unwrap();
    let out = env
        .at_now()
        .args(["executions", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let executions: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(executions.as_array().unwrap().len(), 1);
}

/// Serves `body` to every POST, as a KLK API would.
fn serve(body: Arc<Mutex<Vec<u8>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = body.lock().unwrap().clone();
            std::thread::spawn(move || {
                crate::common::read_request(&mut stream);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            });
        }
    });
    url
}

#[test]
fn hostile_bodies_through_the_real_binary_are_recorded_never_crash() {
    hostile_bodies_into(false);
}

#[test]
fn hostile_bodies_through_the_real_binary_into_postgresql_are_recorded_never_crash() {
    hostile_bodies_into(true);
}

/// What the one execution of a run recorded, and the sales lines stored.
struct Recorded {
    estado: String,
    error_tipo: Option<String>,
    message: Option<String>,
    loaded: i64,
    rows: i64,
}

fn recorded(env: &TestEnv, server: Option<&TestDatabase>) -> Recorded {
    const EXECUTION: &str =
        "SELECT estado, error_tipo, error_mensaje, registros_cargados FROM etl_ejecuciones";
    const ROWS: &str = "SELECT count(*) FROM ventas";
    match server {
        Some(db) => {
            let mut client = db.client();
            let row = client.query_one(EXECUTION, &[]).unwrap();
            Recorded {
                estado: row.get(0),
                error_tipo: row.get(1),
                message: row.get(2),
                loaded: i64::from(row.get::<_, i32>(3)),
                rows: client.query_one(ROWS, &[]).unwrap().get(0),
            }
        }
        None => {
            let conn = env.connect();
            let mut recorded = conn
                .query_row(EXECUTION, [], |r| {
                    Ok(Recorded {
                        estado: r.get(0)?,
                        error_tipo: r.get(1)?,
                        message: r.get(2)?,
                        loaded: r.get(3)?,
                        rows: 0,
                    })
                })
                .unwrap();
            recorded.rows = conn.query_row(ROWS, [], |r| r.get(0)).unwrap();
            recorded
        }
    }
}

/// Each hostile body served to `run`, into a new DuckDB file or a new PostgreSQL database.
fn hostile_bodies_into(on_server: bool) {
    let base: Value = serde_json::from_slice(&real_body()).unwrap();
    let line = base["ventas"][0].clone();
    let with_line = |edit: &dyn Fn(&mut Value)| {
        let mut body = base.clone();
        edit(&mut body["ventas"][0]);
        serde_json::to_vec(&body).unwrap()
    };
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("the real answer", serde_json::to_vec(&base).unwrap()),
        (
            "linea beyond 32 bits",
            with_line(&|l| l["linea"] = json!(3_000_000_000i64)),
        ),
        ("negative linea", with_line(&|l| l["linea"] = json!(-7))),
        (
            "hora 23:59:60",
            with_line(&|l| l["hora"] = json!("23:59:60")),
        ),
        (
            "fecha 9999-12-31",
            with_line(&|l| l["fecha"] = json!("9999-12-31")),
        ),
        (
            "fecha 0001-01-01",
            with_line(&|l| l["fecha"] = json!("0001-01-01")),
        ),
        (
            "NUL inside an invoice number",
            with_line(&|l| l["numero_factura"] = json!("C01\u{0}X")),
        ),
        (
            "a 1 MB product description",
            with_line(&|l| l["producto"][0]["descripcion_producto"] = json!("x".repeat(1 << 20))),
        ),
        (
            "quantity as a huge number",
            with_line(&|l| l["cantidad"][0]["cantidad_vendida"] = json!(1e308)),
        ),
        (
            "total as a numeric string",
            with_line(&|l| l["financiero"][0]["venta_total_usd"] = json!("12.5")),
        ),
        ("5000 nested arrays", nested.into_bytes()),
        (
            "a byte-order mark before the JSON",
            [
                b"\xef\xbb\xbf".as_slice(),
                &serde_json::to_vec(&base).unwrap(),
            ]
            .concat(),
        ),
        (
            "ventas is null",
            serde_json::to_vec(&json!({"meta": base["meta"], "ventas": null})).unwrap(),
        ),
        (
            "the same line 3000 times",
            serde_json::to_vec(&json!({"meta": base["meta"], "ventas": vec![line.clone(); 3000]}))
                .unwrap(),
        ),
        (
            "JSON followed by HTML",
            [serde_json::to_vec(&base).unwrap().as_slice(), b"<html>"].concat(),
        ),
        (
            "UTF-16",
            "{\"ventas\": []}"
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect(),
        ),
    ];
    let body = Arc::new(Mutex::new(Vec::new()));
    let url = serve(Arc::clone(&body));
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for (i, (what, bytes)) in cases.iter().enumerate() {
        *body.lock().unwrap() = bytes.clone();
        let server = on_server.then(TestDatabase::new);
        let database = match &server {
            Some(db) => format!("database = \"{}\"", db.url),
            None => "database = \"data/klk-etl.duckdb\"".to_string(),
        };
        let env = TestEnv::with_config(&TWO_STORES.replace(
            "database = \"data/klk-etl.duckdb\"\n",
            &format!(
                "{database}\n[api]\nbase_url = \"{url}\"\nmax_attempts = 1\nread_timeout = \"5s\"\n"
            ),
        ));
        let mut cmd = bin();
        cmd.current_dir(env.path()).args([
            "--now",
            "2025-11-24T16:35:00Z",
            "--format",
            "json",
            "run",
            "--tipo",
            "ventas",
            "--store",
            "tienda_01",
        ]);
        let out = match output(cmd, Duration::from_secs(60)) {
            Ok(out) => out,
            Err(hung) => {
                failures.push(format!("{what}: {hung}"));
                continue;
            }
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("panicked") || !matches!(out.status.code(), Some(0 | 1)) {
            failures.push(format!("{what}: exit {:?}: {stderr}", out.status.code()));
            continue;
        }
        let Recorded {
            estado,
            error_tipo,
            message,
            loaded,
            rows,
        } = recorded(&env, server.as_ref());
        if let Some(db) = server.as_ref().filter(|_| what.starts_with("NUL")) {
            // PostgreSQL cannot store a NUL: U+FFFD in its place, the line kept.
            let kept: i64 = db
                .client()
                .query_one(
                    "SELECT count(*) FROM ventas WHERE numero_factura = 'C01' || chr(65533) || 'X'",
                    &[],
                )
                .unwrap()
                .get(0);
            if kept != 1 {
                failures.push(format!("{what}: {kept} lines with U+FFFD in its place"));
            }
            // Fetched again, it is the same key: replaced, not added.
            let mut again = bin();
            again.current_dir(env.path()).args([
                "--now",
                "2025-11-24T16:35:00Z",
                "recover",
                "--tipo",
                "ventas",
                "--store",
                "tienda_01",
                "--date",
                "2025-11-24",
                "--from",
                "12:00",
                "--to",
                "12:30",
            ]);
            let out = output(again, Duration::from_secs(60)).unwrap();
            let after: i64 = db
                .client()
                .query_one("SELECT count(*) FROM ventas", &[])
                .unwrap()
                .get(0);
            if !out.status.success() || after != rows {
                failures.push(format!(
                    "{what}: fetched again, exit {:?}, {after} lines (was {rows}): {}",
                    out.status.code(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        if server.is_some() && env.path().join("data").exists() {
            failures.push(format!("{what}: a DuckDB file was made"));
        }
        let expected_ok = matches!(out.status.code(), Some(0));
        if expected_ok != (estado == "exitoso") || (estado == "exitoso" && rows != loaded) {
            failures.push(format!(
                "{what}: exit {:?} but {estado}, {rows} rows vs {loaded}",
                out.status.code()
            ));
        }
        if estado != "exitoso" && !matches!(error_tipo.as_deref(), Some("api_error" | "validacion"))
        {
            failures.push(format!(
                "{what}: a bad body recorded as {error_tipo:?}: {}",
                message.clone().unwrap_or_default()
            ));
        }
        if estado != "exitoso" && rows != 0 {
            failures.push(format!("{what}: failed but {rows} rows were written"));
        }
        table.push(format!(
            "{i:>2} {what:<36} {estado:<8} {:<10} {}",
            error_tipo.unwrap_or_default(),
            message
                .unwrap_or_default()
                .chars()
                .take(90)
                .collect::<String>()
        ));
    }
    println!(
        "hostile bodies through `run` into {}:\n{}",
        if on_server { "PostgreSQL" } else { "DuckDB" },
        table.join("\n")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Another program's DuckDB file whose tables do not clash with klk-etl's is adopted like
/// the original system's (klk-etl adds its tables and views); the program's own tables and
/// rows are left exactly as they were.
#[test]
fn another_programs_duckdb_file_keeps_its_tables_and_rows() {
    let env = TestEnv::with_config(TWO_STORES);
    std::fs::create_dir_all(env.path().join("data")).unwrap();
    duckdb_with(
        &env.db_path(),
        "CREATE TABLE clientes (id INTEGER PRIMARY KEY, nombre VARCHAR);
         INSERT INTO clientes VALUES (1, 'Ana'), (2, 'Luis');
         CREATE VIEW v_clientes AS SELECT nombre FROM clientes;",
    );
    for args in [&["gaps"][..], &["status"], &["db", "migrate"]] {
        let out = env.at_now().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let conn = env.connect();
    let names: String = conn
        .query_row(
            "SELECT string_agg(nombre, ',' ORDER BY nombre) FROM v_clientes",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(names, "Ana,Luis");
    let columns: i64 = conn
        .query_row(
            "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'clientes'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(columns, 2);
}

// ---------------------------------------------------------------------------------------
// PostgreSQL servers that cannot be used

/// A listener on 127.0.0.1 that is not a PostgreSQL server: it answers every connection with
/// `reply` (or, given none, accepts and says nothing).
fn not_a_server(reply: Option<&'static [u8]>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            match reply {
                Some(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                None => held.push(stream),
            }
        }
    });
    port
}

#[test]
fn every_unusable_server_is_exit_3_on_one_line_and_left_as_it_was() {
    let good = TestDatabase::new();
    let secret = crate::common::pg::password(&good.url);
    let url = url::Url::parse(&good.url).unwrap();
    let at = |port: u16, query: &str| {
        format!(
            "postgres://{}:{secret}@127.0.0.1:{port}/{}{query}",
            url.username(),
            good.name
        )
    };
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let http = not_a_server(Some(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
    ));
    let silent = not_a_server(None);
    let port = url.port().unwrap();

    // Another program's database: its own table named ventas, without klk-etl's columns.
    let clashing = TestDatabase::new();
    clashing
        .client()
        .batch_execute("CREATE TABLE ventas (id integer PRIMARY KEY, total numeric); INSERT INTO ventas VALUES (1, 9.5)")
        .unwrap();
    // An empty database whose sessions may not write (a standby, a read-only role).
    let locked = TestDatabase::new();
    locked
        .client()
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            locked.name
        ))
        .unwrap();
    let locked_url = locked.url.clone();

    let wrong_password = good.url.replace(&secret, "not-the-password");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "nothing listening",
            at(closed, "?connect_timeout=3"),
            "Connection refused",
        ),
        (
            "a wrong password",
            wrong_password,
            "password authentication failed",
        ),
        (
            "a database that does not exist",
            format!(
                "postgres://{}:{secret}@127.0.0.1:{port}/no_existe",
                url.username()
            ),
            "does not exist",
        ),
        (
            "an HTTP server on the port",
            at(http, "?connect_timeout=3"),
            "127.0.0.1",
        ),
        (
            "a listener that never answers",
            at(silent, "?connect_timeout=2"),
            "timed out",
        ),
        (
            "TLS required of a server without it",
            at(port, "?sslmode=require&connect_timeout=3"),
            "TLS",
        ),
        (
            "another program's ventas table",
            clashing.url.clone(),
            "ventas",
        ),
        (
            "an empty database that may not be written",
            locked_url,
            "read-only",
        ),
    ];
    let commands: [&[&str]; 6] = [
        &["db", "info"],
        &["db", "migrate"],
        &["gaps"],
        &["status"],
        &["run", "--dry-run"],
        &["run", "--tipo", "ventas"],
    ];
    let env = TestEnv::with_config(TWO_STORES);
    let files = snapshot(env.path());
    let fingerprint = |db: &TestDatabase| -> String {
        db.client()
            .query_one(
                "SELECT concat_ws(' ', (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables \
                 WHERE schemaname = 'public'), (SELECT string_agg(id || '=' || total, ',') FROM ventas))",
                &[],
            )
            .map(|r| r.get(0))
            .unwrap_or_else(|e| format!("({e})"))
    };
    let before = (fingerprint(&clashing), fingerprint(&locked));
    let mut failures = Vec::new();
    for (what, database, needle) in &cases {
        for args in commands {
            let mut cmd = bin();
            cmd.current_dir(env.path())
                .args(["--now", NOW, "--database", database])
                .args(args);
            let started = Instant::now();
            match output(cmd, Duration::from_secs(20)) {
                Err(hung) => failures.push(format!("{what}, {args:?}: {hung}")),
                Ok(out) => {
                    if let Some(wrong) = judge(&out, 3, needle) {
                        failures.push(format!("{what}, {args:?}: {wrong}"));
                    }
                    if String::from_utf8_lossy(&out.stderr).contains(&secret) {
                        failures.push(format!("{what}, {args:?}: the password was shown"));
                    }
                    if started.elapsed() > Duration::from_secs(10) {
                        failures.push(format!("{what}, {args:?}: took {:?}", started.elapsed()));
                    }
                }
            }
        }
    }
    let changed = changes(&files, &snapshot(env.path()));
    if !changed.is_empty() {
        failures.push(format!("files made: {changed:?}"));
    }
    let after = (fingerprint(&clashing), fingerprint(&locked));
    if after != before {
        failures.push(format!("a database changed: {before:?} -> {after:?}"));
    }
    println!(
        "bad input: {} unusable servers x {} commands, {} failures",
        cases.len(),
        commands.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
