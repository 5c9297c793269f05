//! Benchmark (not a test) of klk-etl's parse+load path; `bench/run.sh` drives it.
//!
//! ```text
//! bench_load gen  --lines N --body FILE --ndjson FILE   # a /ventas body from the simulator
//! bench_load load --body FILE --db FILE                  # parse + load + commit, one JSON line
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

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::NaiveDate;
use klk_etl::config::Config;
use klk_etl::etl::load;
use klk_etl::klk::parse::parse_sales;
use klk_etl::sim::{SimData, SimOptions, SimStore, Simulator};
use klk_etl::tracker::executions::{self, NewExecution, Outcome};
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
        Some("load") => measure_load(&required("--body")?, &required("--db")?),
        _ => bail!(
            "usage: bench_load gen --lines N --body FILE --ndjson FILE | load --body FILE --db FILE"
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
    let reader = BufReader::with_capacity(BODY_BUFFER_BYTES, File::open(body_path)?);
    let batch = parse_sales(reader).map_err(|e| anyhow::anyhow!("parse: {e}"))?;
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
