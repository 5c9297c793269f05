//! Benchmark (not a test) of klk-etl's parse+load path; `bench/run.sh` drives it.
//!
//! ```text
//! bench_load gen  --lines N --body FILE --ndjson FILE   # a /ventas body from the simulator
//! bench_load load --body FILE --db FILE                  # parse + load + commit, one JSON line
//! bench_load load --body FILE --database URL             # the same into PostgreSQL
//! ```
//!
//! `gen` asks an in-process simulator for one whole day of one store sized to about N lines
//! and writes the response body exactly as served, plus the same elements as NDJSON (one
//! line each) for DuckDB's `read_json`. Deterministic: same N, same bytes.
//!
//! `load` does what the runner does with a fetched window, in one process whose peak RSS
//! (`VmHWM`) is therefore the path's cost: it streams the body from disk through
//! `klk::parse::parse_sales` (the client's 64 KiB buffer, as from a socket), then opens the
//! database, and in one transaction `etl::load::load_sales` into `ventas` and marks the
//! execution `exitoso`, commits and closes the file. It then checks the table holds exactly
//! the parsed lines and prints one JSON line of timings. With `BENCH_PARSE_ONLY=1` it stops
//! after the parse and prints its times only (for profiling the parser).
//!
//! `load --database postgres://USER:PASS@HOST:PORT/NAME` is the same path on PostgreSQL
//! (`bench/pg.sh` drives it): database NAME is dropped and created afresh on that server
//! (the role must be allowed to create databases) and migrated, the execution registered, and
//! the session kept open, as a runner's is, all before the clock; then, on the clock, the same
//! parse, `BEGIN`, `etl::load_pg::load_sales`, the `exitoso` mark and `COMMIT`. It checks the
//! table as `load` does, drops the database and prints one JSON line in `bench/pg_load.py`'s
//! shape (plus the parse's share). `key_lookup_s` is `load_pg`'s look-up of the window's keys
//! among those already in `ventas` (the first step of its `load_sales`), timed apart before
//! the clock with the same query on the same still-empty table: part of `load_s`, not added
//! to it. When the server runs on this machine, `server_cpu_s` is its session's backend CPU
//! time over the clock (from `/proc`), else null.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::NaiveDate;
use klk_etl::config::Config;
use klk_etl::config::database::{PgTarget, is_server_url};
use klk_etl::etl::{load, load_pg};
use klk_etl::klk::parse::parse_sales;
use klk_etl::klk::{SalesBatch, SalesLines};
use klk_etl::sim::{SimData, SimOptions, SimStore, Simulator};
use klk_etl::tracker::executions::{self, NewExecution, Outcome};
use klk_etl::tracker::postgres::PgDb;
use klk_etl::tracker::vocab::{EtlTipo, Modo};
use klk_etl::tracker::{Access, Db};
use serde_json::{Value, json};

const SUCURSAL: &str = "SUC001";
const STORE_ID: &str = "bench_01";
const DAY: &str = "2025-11-17";
/// The client's read buffer (src/klk/client.rs).
const BODY_BUFFER_BYTES: usize = 64 * 1024;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| -> Option<&str> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    let required = |name: &str| -> anyhow::Result<PathBuf> {
        flag(name)
            .map(PathBuf::from)
            .with_context(|| format!("missing {name} FILE"))
    };
    match args.first().map(String::as_str) {
        Some("gen") => {
            let lines: u32 = flag("--lines").unwrap_or("200000").parse()?;
            generate(lines, &required("--body")?, &required("--ndjson")?)
        }
        Some("load") => match flag("--database") {
            Some(url) => measure_load_pg(&required("--body")?, url),
            None => measure_load(&required("--body")?, &required("--db")?),
        },
        _ => bail!(
            "usage: bench_load gen --lines N --body FILE --ndjson FILE \
             | load --body FILE (--db FILE | --database postgres://...)"
        ),
    }
}

fn generate(lines: u32, body_path: &Path, ndjson_path: &Path) -> anyhow::Result<()> {
    // lines_per_hour is a store's daily average, so a day holds about 24 times it.
    let data = SimData {
        seed: 20251117,
        lines_per_hour: lines.div_ceil(24),
        articles_per_warehouse: 4_000,
        stores: vec![SimStore::new(
            SUCURSAL,
            vec!["APP-TPF".to_owned(), "APP-TPF-DEP".to_owned()],
        )],
    };
    let sim = Simulator::start(SimOptions {
        port: 0,
        data,
        faults: Vec::new(),
    })?;
    let response = ureq::post(&format!("{}/ventas", sim.base_url()))
        .timeout(Duration::from_secs(600))
        .send_json(json!({"sucursal": SUCURSAL, "fecha_desde": DAY, "fecha_hasta": DAY}))
        .context("POST /ventas to the simulator")?;
    let mut body = Vec::new();
    std::io::copy(&mut response.into_reader(), &mut body)?;
    sim.stop();
    std::fs::write(body_path, &body)?;

    let parsed: Value = serde_json::from_slice(&body)?;
    let elements = parsed["ventas"]
        .as_array()
        .context("the body has no `ventas` list")?;
    let mut out = BufWriter::new(File::create(ndjson_path)?);
    for element in elements {
        serde_json::to_writer(&mut out, element)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    println!(
        "{}",
        json!({"elements": elements.len(), "body_bytes": body.len(),
               "ndjson_bytes": std::fs::metadata(ndjson_path)?.len()})
    );
    Ok(())
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// User plus system CPU time of this process, all threads.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn measure_load(body_path: &Path, db_path: &Path) -> anyhow::Result<()> {
    ensure!(
        !db_path.exists(),
        "{} exists: give a fresh path",
        db_path.display()
    );
    let body_bytes = std::fs::metadata(body_path)?.len();
    let config = Config::parse(
        &format!(
            "database = {:?}\n[[stores]]\nid = {STORE_ID:?}\nname = \"BENCH\"\n\
             sucursal = {SUCURSAL:?}\nwarehouses = [\"APP-TPF\"]\n",
            db_path.display().to_string()
        ),
        Path::new("bench_load.toml"),
    )?;
    let day = NaiveDate::parse_from_str(DAY, "%Y-%m-%d")?;
    let now = day.and_hms_opt(23, 59, 0).context("time")?;
    let now_utc = now.and_utc();

    // Before the clock starts, as in a run: migrate, register the execution, close.
    let id = {
        let db = Db::open(&config, Access::Write, now_utc)?;
        executions::start(
            &db,
            &NewExecution {
                etl_tipo: EtlTipo::Ventas,
                ubicacion_id: STORE_ID.to_owned(),
                ubicacion_nombre: "BENCH".to_owned(),
                fecha_desde: day,
                fecha_hasta: day,
                hora_desde: None,
                hora_hasta: None,
                modo: Modo::Completo,
                started_at: now,
            },
        )?
    };
    let rss_before = peak_rss_bytes();

    // The fetch side: stream the body through the client's parser.
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let batch = parse_body(body_path)?;
    let parsed = started.elapsed();
    let parse_cpu = cpu_seconds() - cpu_started;
    if std::env::var_os("BENCH_PARSE_ONLY").is_some() {
        println!(
            "{}",
            json!({"lines": batch.lines.len(), "parse_s": parsed.as_secs_f64(), "parse_cpu_s": parse_cpu})
        );
        return Ok(());
    }
    let rss_after_parse = peak_rss_bytes();
    // For the checks below (the loader consumes the lines); off the clock.
    let paused = Instant::now();
    let line_count = batch.lines.len();
    let expected_usd = batch.lines.total_usd();
    let lines_heap_bytes = batch.lines.heap_bytes();
    let paused = paused.elapsed();
    let started = started + paused;

    // The coordinator's write phase: open, load + mark exitoso in one transaction, close.
    let mut db = Db::connect(db_path, Access::Write, config.tracking.lock_timeout)?;
    if let Ok(threads) = std::env::var("BENCH_DUCKDB_THREADS") {
        db.conn()
            .execute_batch(&format!("SET threads = {}", threads.parse::<u32>()?))?;
    }
    let opened = started.elapsed();
    let tx = db.conn_mut().transaction()?;
    let report = load::load_sales(&tx, STORE_ID, id, now, batch.lines)?;
    let loaded = started.elapsed();
    let rss_after_load = peak_rss_bytes();
    executions::finish(
        &tx,
        id,
        &Outcome::Success {
            extracted: batch.received as i64,
            loaded: report.loaded as i64,
        },
        now,
    )?;
    tx.commit()?;
    let committed = started.elapsed();
    drop(db);
    let total = started.elapsed();
    let cpu = cpu_seconds() - cpu_started;
    let peak = peak_rss_bytes();

    // Correctness: the table holds exactly the parsed lines, the execution is exitoso.
    let db = Db::connect(db_path, Access::Read, config.tracking.lock_timeout)?;
    let (rows, usd, estado): (i64, Option<f64>, String) = db.conn().query_row(
        "SELECT (SELECT count(*) FROM ventas), (SELECT sum(venta_total_usd) FROM ventas), \
         (SELECT estado FROM etl_ejecuciones WHERE id = ?)",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    ensure!(
        rows as usize == line_count,
        "ventas has {rows} rows, parsed {line_count}"
    );
    ensure!(
        report.new == line_count && report.loaded == line_count,
        "{report:?}"
    );
    let usd = usd.unwrap_or_default();
    ensure!(
        (usd - expected_usd).abs() < 1e-6 * expected_usd.abs().max(1.0),
        "sum {usd} != {expected_usd}"
    );
    ensure!(estado == "exitoso", "execution is {estado}");

    let secs = |d: Duration| (d.as_secs_f64() * 1e4).round() / 1e4;
    println!(
        "{}",
        json!({
            "body_bytes": body_bytes,
            "received": batch.received,
            "lines": line_count,
            "lines_heap_bytes": lines_heap_bytes,
            "duplicates_removed": batch.duplicates_removed,
            "parse_s": secs(parsed),
            "open_s": secs(opened - parsed),
            "load_s": secs(loaded - opened),
            "commit_s": secs(committed - loaded),
            "close_s": secs(total - committed),
            "total_s": secs(total),
            "cpu_s": (cpu * 1e4).round() / 1e4,
            "parse_cpu_s": (parse_cpu * 1e4).round() / 1e4,
            "lines_per_s": (batch.received as f64 / total.as_secs_f64()).round(),
            "rss_before_bytes": rss_before,
            "rss_after_parse_bytes": rss_after_parse,
            "rss_after_load_bytes": rss_after_load,
            "peak_rss_bytes": peak,
        })
    );
    Ok(())
}

/// The fetch side of both engines' rows: the body streamed from disk through the client's
/// parser, in the client's read buffer (as from a socket).
fn parse_body(body_path: &Path) -> anyhow::Result<SalesBatch> {
    let reader = BufReader::with_capacity(BODY_BUFFER_BYTES, File::open(body_path)?);
    parse_sales(reader).map_err(|e| anyhow::anyhow!("parse: {e}"))
}

/// CPU time (user + system) of another process of this machine, from `/proc`; `None` when it
/// cannot be read (the server is elsewhere, or `/proc` hides it).
fn process_cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command's name, which is in parentheses and may hold spaces:
    // state is field 3, utime and stime fields 14 and 15.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| ticks as f64 / per_second as f64)
}

/// `etl::load_pg`'s look-up of a window's keys among those `ventas` already holds for the
/// store (its `existing_keys`, the same query on the same arrays): how many it found.
fn look_up_keys(db: &mut PgDb, lines: &SalesLines) -> anyhow::Result<usize> {
    use duckdb::arrow::array::{Array, Int32Array, StringArray};
    let mut facturas: Vec<String> = Vec::with_capacity(lines.len());
    let mut lineas: Vec<i32> = Vec::with_capacity(lines.len());
    for batch in lines.key_batches() {
        let batch = batch?;
        let (Some(factura), Some(linea)) = (
            batch.column(0).as_any().downcast_ref::<StringArray>(),
            batch.column(1).as_any().downcast_ref::<Int32Array>(),
        ) else {
            bail!("unexpected key columns");
        };
        for row in 0..batch.num_rows() {
            facturas.push(factura.value(row).to_owned());
            lineas.push(linea.value(row));
        }
    }
    let rows = db.client().query(
        "SELECT v.numero_factura, v.linea FROM unnest($2::varchar[], $3::int4[]) AS k(numero_factura, linea) \
         JOIN ventas v ON v.ubicacion_id = $1 AND v.numero_factura = k.numero_factura AND v.linea = k.linea",
        &[&STORE_ID, &facturas, &lineas],
    )?;
    Ok(rows.len())
}

/// `target`'s database dropped (and, with `create`, made again empty) from the server's
/// `postgres` database, as bench/pg_load.py does for the other rows: without FORCE, which a
/// role that is not a superuser cannot use against an autovacuum worker (PostgreSQL 15) when
/// one is analysing the table just loaded; a plain DROP stops such a worker itself, and waits
/// up to 5 s for this process's own closed sessions to end.
fn fresh_pg_database(target: &PgTarget, create: bool) -> anyhow::Result<()> {
    let mut admin_target = target.clone();
    admin_target.dbname = "postgres".to_owned();
    let mut admin = PgDb::connect(&admin_target)?;
    let name = target.dbname.replace('"', "\"\"");
    // One statement per call: neither may run inside a transaction block.
    admin
        .client()
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))?;
    if create {
        admin
            .client()
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
    }
    Ok(())
}

fn measure_load_pg(body_path: &Path, url: &str) -> anyhow::Result<()> {
    ensure!(
        is_server_url(url),
        "--database takes a postgres:// URL (a DuckDB file goes with --db)"
    );
    let body_bytes = std::fs::metadata(body_path)?.len();
    let config = Config::parse(
        &format!(
            "database = {url:?}\n[[stores]]\nid = {STORE_ID:?}\nname = \"BENCH\"\n\
             sucursal = {SUCURSAL:?}\nwarehouses = [\"APP-TPF\"]\n"
        ),
        Path::new("bench_load.toml"),
    )?;
    let target = config
        .postgres
        .clone()
        .context("the configuration has no PostgreSQL target")?;
    let day = NaiveDate::parse_from_str(DAY, "%Y-%m-%d")?;
    let now = day.and_hms_opt(23, 59, 0).context("time")?;
    let now_utc = now.and_utc();

    // Before the clock, as in a run: a fresh database, migrated, the store registered, the
    // execution started; the session stays open (a runner keeps its one session all along).
    fresh_pg_database(&target, true)?;
    let mut db = PgDb::open(&target, &config, now_utc)?;
    let id = executions::start_in(
        &mut db.session(),
        None,
        None,
        &NewExecution {
            etl_tipo: EtlTipo::Ventas,
            ubicacion_id: STORE_ID.to_owned(),
            ubicacion_nombre: "BENCH".to_owned(),
            fecha_desde: day,
            fecha_hasta: day,
            hora_desde: None,
            hora_hasta: None,
            modo: Modo::Completo,
            started_at: now,
        },
    )?;
    let backend: i32 = db
        .client()
        .query_one("SELECT pg_backend_pid()", &[])?
        .get(0);

    // Also before the clock: the key look-up load_sales starts with, timed apart (a parse of
    // its own gives the keys; the clock's parse below starts from a cold reader again).
    let key_lookup = {
        let batch = parse_body(body_path)?;
        let started = Instant::now();
        let found = look_up_keys(&mut db, &batch.lines)?;
        ensure!(
            found == 0,
            "the fresh table already holds {found} of the keys"
        );
        started.elapsed()
    };
    klk_etl::klk::release_freed_memory();
    let rss_before = peak_rss_bytes();

    let server_cpu_started = process_cpu_seconds(backend);
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let batch = parse_body(body_path)?;
    let parsed = started.elapsed();
    let parse_cpu = cpu_seconds() - cpu_started;
    let rss_after_parse = peak_rss_bytes();
    // For the checks below (the loader consumes the lines); off the clock.
    let paused = Instant::now();
    let line_count = batch.lines.len();
    let expected_usd = batch.lines.total_usd();
    let paused = paused.elapsed();
    let started = started + paused;

    // The coordinator's write phase (etl::execute's load_in_transaction): BEGIN, load, mark
    // exitoso, COMMIT, on the open session.
    db.session().batch("BEGIN TRANSACTION")?;
    let report = load_pg::load_sales(db.client(), STORE_ID, id, now, batch.lines)?;
    let loaded = started.elapsed();
    let rss_after_load = peak_rss_bytes();
    executions::finish_in(
        &mut db.session(),
        id,
        &Outcome::Success {
            extracted: batch.received as i64,
            loaded: report.loaded as i64,
        },
        now,
    )?;
    db.session().batch("COMMIT")?;
    let total = started.elapsed();
    let cpu = cpu_seconds() - cpu_started;
    let server_cpu = server_cpu_started
        .zip(process_cpu_seconds(backend))
        .map(|(before, after)| after - before);
    let peak = peak_rss_bytes();

    // Correctness: the table holds exactly the parsed lines, the execution is exitoso.
    let row = db.client().query_one(
        "SELECT (SELECT count(*) FROM ventas), \
                (SELECT count(DISTINCT (numero_factura, linea)) FROM ventas), \
                (SELECT sum(venta_total_usd) FROM ventas), \
                (SELECT estado FROM etl_ejecuciones WHERE id = $1::int8), \
                pg_total_relation_size('ventas'), current_setting('server_version'), \
                current_setting('fsync'), current_setting('synchronous_commit')",
        &[&id],
    )?;
    let (rows, distinct, usd, estado): (i64, i64, Option<f64>, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let (table_bytes, server, fsync, synchronous_commit): (i64, String, String, String) =
        (row.get(4), row.get(5), row.get(6), row.get(7));
    drop(db);
    fresh_pg_database(&target, false)?;
    ensure!(
        rows as usize == line_count && distinct == rows,
        "ventas has {rows} rows ({distinct} distinct keys), parsed {line_count}"
    );
    ensure!(
        report.new == line_count && report.loaded == line_count,
        "{report:?}"
    );
    let usd = usd.unwrap_or_default();
    ensure!(
        (usd - expected_usd).abs() < 1e-6 * expected_usd.abs().max(1.0),
        "sum {usd} != {expected_usd}"
    );
    ensure!(estado == "exitoso", "execution is {estado}");

    let secs = |d: Duration| (d.as_secs_f64() * 1e4).round() / 1e4;
    let round4 = |x: f64| (x * 1e4).round() / 1e4;
    println!(
        "{}",
        json!({
            "case": "a",
            "body_bytes": body_bytes,
            "received": batch.received,
            "rows": rows,
            "sum_usd": (usd * 100.0).round() / 100.0,
            "duplicates_removed": batch.duplicates_removed,
            "parse_s": secs(parsed),
            "load_s": secs(loaded - parsed),
            "key_lookup_s": secs(key_lookup),
            "commit_s": secs(total - loaded),
            "total_s": secs(total),
            "client_cpu_s": round4(cpu),
            "parse_cpu_s": round4(parse_cpu),
            "server_cpu_s": server_cpu.map(round4),
            "lines_per_s": (batch.received as f64 / total.as_secs_f64()).round() as u64,
            "table_bytes": table_bytes,
            "rss_before_bytes": rss_before,
            "rss_after_parse_bytes": rss_after_parse,
            "rss_after_load_bytes": rss_after_load,
            "peak_rss_bytes": peak,
            "server": server,
            "fsync": fsync,
            "synchronous_commit": synchronous_commit,
        })
    );
    Ok(())
}
