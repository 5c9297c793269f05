//! Benchmark (not a test) of verifying closed days: what a store-day's whole re-pull costs, and
//! whether a 19-store chain's verifications fit a run without delaying its half-hourly
//! windows. `bash bench/verify.sh` drives it.
//!
//! ```text
//! bench_verify --bin target/release/klk-etl --work DIR [--latency 300ms] [--big 40] [--runs 3]
//! ```
//!
//! An in-process simulator serves the chain's 19 stores (SUC001 `--big` times the others'
//! volume) with `latency` added to every `/ventas` request, and a few late lines the
//! half-hourly runs miss. A template database holds the day 2025-11-17 loaded by the
//! half-hourly runs (every 30 minutes, verification off). Then, on fresh copies of it, at
//! 03:05 the next morning:
//!
//! - `plain`: `klk-etl run --tipo ventas --no-verify` (the half-hourly windows only);
//! - `verify`: `klk-etl run --tipo ventas` with `max_per_run = 19` (the windows, then every
//!   store's day re-pulled whole and compared);
//! - `repull`: the same 19 whole-day loads without the comparison (`run --full --date` before
//!   the day closes, a `completo` re-pull), to isolate what the comparison costs.
//!
//! Each must exit 0 and leave every store's day equal to the simulator's lines. Reported (one
//! JSON line; medians over `--runs`): the runs' wall time, when the last half-hourly window
//! was committed (seconds after the run started), and per store-day: lines, the re-pull's
//! duration (request + parse + load + comparison) and the same load without the comparison.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use chrono::{NaiveDate, NaiveDateTime};
use klk_etl::sim::{SimData, SimOptions, SimStore, Simulator, parse_duration, truth};
use serde_json::json;

const DAY: &str = "2025-11-17";
/// The execution id the breakdown's loads write under (no execution of the runs has it).
const UNUSED_ID: i64 = 2_000_000_000;

/// Caracas wall time as the UTC instant `--now` takes.
fn caracas(day: NaiveDate, hh: u32, mm: u32) -> String {
    (day.and_hms_opt(hh, mm, 0).unwrap_or_default() + chrono::Duration::hours(4))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let bin = PathBuf::from(flag("--bin").context("missing --bin PATH")?);
    let work = PathBuf::from(flag("--work").context("missing --work DIR")?);
    let latency = parse_duration(&flag("--latency").unwrap_or_else(|| "300ms".to_owned()))
        .map_err(anyhow::Error::msg)?;
    let big: f64 = flag("--big").map_or(Ok(40.0), |b| b.parse())?;
    let runs: usize = flag("--runs").map_or(Ok(3), |r| r.parse())?;
    std::fs::create_dir_all(&work)?;
    let day = NaiveDate::parse_from_str(DAY, "%Y-%m-%d")?;
    let next = day.succ_opt().context("a next day")?;

    let mut stores = SimStore::chain();
    stores[0].volume_multiplier = big;
    let data = SimData {
        stores: stores.clone(),
        ..SimData::default()
    };
    let mut faults = vec![format!("*:ventas:latency={}ms", latency.as_millis())];
    for store in &stores[1..4] {
        faults.push(format!(
            "{}:ventas:hide:1-2@{DAY}T14:10/{DAY}T14:11",
            store.sucursal
        ));
    }
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: data.clone(),
        faults: faults
            .iter()
            .map(|f| f.parse().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?,
    })?;
    let config = work.join("klk-etl.toml");
    std::fs::write(&config, config_text(&stores, &sim.base_url()))?;

    let klk = |db: &Path, now: &str, args: &[&str]| -> anyhow::Result<f64> {
        let started = Instant::now();
        let output = Command::new(&bin)
            .args(["--quiet", "--config"])
            .arg(&config)
            .arg("--db")
            .arg(db)
            .args(["--now", now])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        let seconds = started.elapsed().as_secs_f64();
        if !output.status.success() {
            bail!(
                "klk-etl {args:?} at {now} exited {:?}: {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(seconds)
    };

    eprintln!("loading {DAY} with the half-hourly runs (19 stores, {latency:?} per request)...");
    let template = work.join("template.duckdb");
    remove_database(&template);
    for half_hour in 0..=48u32 {
        let (d, hh, mm) = if half_hour == 48 {
            (next, 0, 5)
        } else {
            (day, half_hour / 2, 5 + 30 * (half_hour % 2))
        };
        klk(
            &template,
            &caracas(d, hh, mm),
            &["run", "--tipo", "ventas", "--no-verify", "--jobs", "19"],
        )?;
    }

    let mut plain = Vec::new();
    let mut verify = Vec::new();
    let mut repull = Vec::new();
    let mut per_store_verify: Vec<Vec<f64>> = vec![Vec::new(); stores.len()];
    let mut per_store_repull: Vec<Vec<f64>> = vec![Vec::new(); stores.len()];
    let mut windows_done_plain = Vec::new();
    let mut windows_done_verify = Vec::new();
    for run in 1..=runs {
        eprintln!("run {run} of {runs}: plain, verify, repull...");
        let db = copy_of(&template, &work.join("plain.duckdb"))?;
        plain.push(klk(
            &db,
            &caracas(next, 3, 5),
            &["run", "--tipo", "ventas", "--no-verify"],
        )?);
        windows_done_plain.push(windows_done(&db)?);

        let db = copy_of(&template, &work.join("verify.duckdb"))?;
        verify.push(klk(
            &db,
            &caracas(next, 3, 5),
            &["run", "--tipo", "ventas"],
        )?);
        windows_done_verify.push(windows_done(&db)?);
        check_day(&db, &data, day)?;
        for (i, seconds) in durations(&db, "verificacion", &stores)?
            .into_iter()
            .enumerate()
        {
            per_store_verify[i].push(seconds);
        }

        let db = copy_of(&template, &work.join("repull.duckdb"))?;
        let day_text = day.to_string();
        repull.push(klk(
            &db,
            &caracas(next, 0, 20),
            &[
                "run",
                "--tipo",
                "ventas",
                "--no-verify",
                "--no-recover",
                "--full",
                "--date",
                &day_text,
            ],
        )?);
        check_day(&db, &data, day)?;
        for (i, seconds) in durations(&db, "completo", &stores)?.into_iter().enumerate() {
            per_store_repull[i].push(seconds);
        }
    }
    // Where a store-day's verification time goes: the request (latency + transfer), the
    // parse, and the load into the day already loaded, with and without the comparison.
    let mut breakdown = Vec::new();
    for store in [&stores[0], &stores[1]] {
        breakdown.push(measure_parts(
            &sim.base_url(),
            &store.sucursal,
            &store_id(store),
            day,
            &template,
            &work,
            runs,
        )?);
    }
    sim.stop();

    let lines: Vec<usize> = stores
        .iter()
        .map(|s| {
            truth::sales_lines(
                &data,
                &s.sucursal,
                day.and_hms_opt(0, 0, 0).unwrap_or_default(),
                next.and_hms_opt(0, 0, 0).unwrap_or_default(),
            )
            .len()
        })
        .collect();
    let round = |s: f64| (s * 1000.0).round() / 1000.0;
    let per_store: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(i, store)| {
            json!({
                "store": store_id(store),
                "lines": lines[i],
                "verify_s": round(median(&per_store_verify[i])),
                "repull_s": round(median(&per_store_repull[i])),
            })
        })
        .collect();
    println!(
        "{}",
        json!({
            "stores": stores.len(),
            "big_multiplier": big,
            "latency_s": latency.as_secs_f64(),
            "runs": runs,
            "plain_run_s": round(median(&plain)),
            "verify_run_s": round(median(&verify)),
            "repull_run_s": round(median(&repull)),
            "windows_done_plain_s": round(median(&windows_done_plain)),
            "windows_done_verify_s": round(median(&windows_done_verify)),
            "per_store": per_store,
            "breakdown": breakdown,
        })
    );
    Ok(())
}

/// Medians over `runs` of one store-day's parts: request, parse, load (replace every line
/// of a day already loaded) and load with the comparison (`load_sales_verifying`), each
/// load in its own transaction on a fresh copy of `template`.
fn measure_parts(
    base_url: &str,
    sucursal: &str,
    store: &str,
    day: NaiveDate,
    template: &Path,
    work: &Path,
    runs: usize,
) -> anyhow::Result<serde_json::Value> {
    use klk_etl::etl::load;
    use klk_etl::klk::parse::parse_sales;
    let (mut request, mut parse, mut plain, mut compared) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut lines = 0;
    let mut body_bytes = 0;
    let loaded_at = day
        .succ_opt()
        .unwrap_or(day)
        .and_hms_opt(3, 5, 0)
        .unwrap_or_default();
    for _ in 0..runs {
        let started = Instant::now();
        let body = ureq::post(&format!("{base_url}/ventas"))
            .send_json(json!({"sucursal": sucursal, "fecha_desde": day.to_string(), "fecha_hasta": day.to_string()}))?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut body.into_reader(), &mut bytes)?;
        request.push(started.elapsed().as_secs_f64());
        body_bytes = bytes.len();

        for (times, verifying) in [(&mut plain, false), (&mut compared, true)] {
            let started = Instant::now();
            let batch = parse_sales(bytes.as_slice()).map_err(|e| anyhow::anyhow!("parse: {e}"))?;
            if !verifying {
                parse.push(started.elapsed().as_secs_f64());
            }
            lines = batch.lines.len();
            let db = copy_of(template, &work.join("parts.duckdb"))?;
            let mut conn = duckdb::Connection::open(&db)?;
            let started = Instant::now();
            let tx = conn.transaction()?;
            if verifying {
                load::load_sales_verifying(&tx, store, UNUSED_ID, loaded_at, batch.lines, day)?;
            } else {
                load::load_sales(&tx, store, UNUSED_ID, loaded_at, batch.lines)?;
            }
            tx.commit()?;
            times.push(started.elapsed().as_secs_f64());
        }
    }
    let round = |s: f64| (s * 1000.0).round() / 1000.0;
    Ok(json!({
        "store": store,
        "lines": lines,
        "body_bytes": body_bytes,
        "request_s": round(median(&request)),
        "parse_s": round(median(&parse)),
        "load_s": round(median(&plain)),
        "load_and_compare_s": round(median(&compared)),
    }))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn store_id(store: &SimStore) -> String {
    format!("tienda_{}", &store.sucursal[3..])
}

fn config_text(stores: &[SimStore], base_url: &str) -> String {
    let mut text = format!(
        "database = \"unused.duckdb\"\n\n[api]\nbase_url = \"{base_url}\"\nmax_attempts = 1\n\n\
         [verification]\nmax_per_run = {}\n",
        stores.len()
    );
    for store in stores {
        text.push_str(&format!(
            "\n[[stores]]\nid = \"{}\"\nname = \"{}\"\nsucursal = \"{}\"\nwarehouses = [\"{}\"]\n",
            store_id(store),
            store.name,
            store.sucursal,
            store.warehouses[0]
        ));
    }
    text
}

fn remove_database(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("duckdb.wal"));
}

fn copy_of(template: &Path, db: &Path) -> anyhow::Result<PathBuf> {
    remove_database(db);
    std::fs::copy(template, db)?;
    Ok(db.to_path_buf())
}

fn open(db: &Path) -> anyhow::Result<duckdb::Connection> {
    Ok(duckdb::Connection::open_with_flags(
        db,
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?,
    )?)
}

/// Seconds from the run's start to the end of its last half-hourly window.
fn windows_done(db: &Path) -> anyhow::Result<f64> {
    let conn = open(db)?;
    let (start, end): (NaiveDateTime, NaiveDateTime) = conn.query_row(
        "SELECT min(fecha_inicio), max(fecha_fin) FROM etl_ejecuciones \
         WHERE modo = 'incremental_30min' AND fecha_inicio >= TIMESTAMP '2025-11-18 03:00'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((end - start).num_milliseconds() as f64 / 1000.0)
}

/// The duration of each store's whole-day execution of `modo`, in store order.
fn durations(db: &Path, modo: &str, stores: &[SimStore]) -> anyhow::Result<Vec<f64>> {
    let conn = open(db)?;
    stores
        .iter()
        .map(|store| {
            let seconds: f64 = conn.query_row(
                "SELECT duracion_segundos FROM etl_ejecuciones \
                 WHERE modo = ? AND ubicacion_id = ? AND estado = 'exitoso' AND hora_desde IS NULL",
                duckdb::params![modo, store_id(store)],
                |r| r.get(0),
            )?;
            Ok(seconds)
        })
        .collect()
}

/// Every store's day holds exactly the simulator's lines (the late ones included).
fn check_day(db: &Path, data: &SimData, day: NaiveDate) -> anyhow::Result<()> {
    let conn = open(db)?;
    for store in &data.stores {
        let expected = truth::sales_lines(
            data,
            &store.sucursal,
            day.and_hms_opt(0, 0, 0).unwrap_or_default(),
            day.succ_opt()
                .unwrap_or(day)
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        )
        .len();
        let rows: i64 = conn.query_row(
            "SELECT count(*) FROM ventas WHERE ubicacion_id = ? AND fecha = ?",
            duckdb::params![store_id(store), day],
            |r| r.get(0),
        )?;
        ensure!(
            rows as usize == expected,
            "{}: {rows} lines, the simulator {expected}",
            store_id(store)
        );
    }
    Ok(())
}
