//! Benchmark (not a test) of one incremental `run` cycle over the chain's 19 stores with a
//! slow API; `bench/run.sh` drives it.
//!
//! ```text
//! bench_cycle --bin target/release/klk-etl --work DIR [--latency 2s] [--singles all|N]
//! ```
//!
//! An in-process simulator serves the 19 stores with `latency` added to every `/ventas`
//! request. Each scenario runs the real binary, `klk-etl run --tipo ventas`, on a fresh copy
//! of a migrated database with "now" pinned, so every store has exactly one window (its
//! last settled half hour) to fetch: `--jobs 19`, `--jobs 1`, then each store alone
//! (`--store ID --jobs 1`; `--singles N` runs only the first N). Each run must exit 0, leave
//! every execution `exitoso` and load exactly the simulator's lines. Prints one JSON line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use klk_etl::sim::{SimData, SimOptions, SimStore, Simulator, parse_duration, truth};
use serde_json::json;

/// 12:05 in Caracas (UTC-4): the last settled slot is 11:30-12:00.
const NOW: &str = "2025-11-17T16:05:00Z";
const WINDOW: (&str, &str) = ("2025-11-17T11:30:00", "2025-11-17T12:00:00");

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
    let latency = parse_duration(&flag("--latency").unwrap_or_else(|| "2s".to_owned()))
        .map_err(anyhow::Error::msg)?;
    let stores = SimStore::chain();
    let singles = match flag("--singles").as_deref() {
        None | Some("all") => stores.len(),
        Some(n) => n.parse::<usize>()?.min(stores.len()),
    };
    std::fs::create_dir_all(&work)?;

    let data = SimData::default();
    let sim = Simulator::start(SimOptions {
        port: 0,
        data: data.clone(),
        faults: vec![
            format!("*:ventas:latency={}ms", latency.as_millis())
                .parse()
                .map_err(anyhow::Error::msg)?,
        ],
    })?;
    let config = work.join("klk-etl.toml");
    std::fs::write(&config, config_text(&stores, &sim.base_url()))?;
    let template = work.join("template.duckdb");
    remove_database(&template);
    let migrate = Command::new(&bin)
        .args(["--quiet", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&template)
        .args(["db", "migrate"])
        .stdout(Stdio::null())
        .status()?;
    ensure!(migrate.success(), "klk-etl db migrate failed");

    let run = |name: &str, jobs: usize, store: Option<&SimStore>| -> anyhow::Result<f64> {
        let db = work.join(format!("{name}.duckdb"));
        remove_database(&db);
        std::fs::copy(&template, &db)?;
        let mut command = Command::new(&bin);
        command
            .args(["--quiet", "--config"])
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .args(["--now", NOW, "run", "--tipo", "ventas", "--jobs"])
            .arg(jobs.to_string())
            .stdout(Stdio::null());
        if let Some(store) = store {
            command.args(["--store", &store_id(store)]);
        }
        let started = Instant::now();
        let output = command.stderr(Stdio::piped()).output()?;
        let seconds = started.elapsed().as_secs_f64();
        if !output.status.success() {
            bail!(
                "{name}: klk-etl run exited {:?}: {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let expected: Vec<&SimStore> = store.map_or_else(|| stores.iter().collect(), |s| vec![s]);
        check(&db, &data, &expected).with_context(|| name.to_owned())?;
        Ok(seconds)
    };

    let all_parallel = run("jobs19", stores.len(), None)?;
    let all_serial = run("jobs1", 1, None)?;
    let mut slowest: Option<(String, f64)> = None;
    for store in stores.iter().take(singles) {
        let seconds = run(&format!("single_{}", store.sucursal), 1, Some(store))?;
        if slowest.as_ref().is_none_or(|(_, s)| seconds > *s) {
            slowest = Some((store_id(store), seconds));
        }
    }
    sim.stop();
    let (slowest_store, slowest_seconds) = slowest.context("no single-store run")?;
    let round = |s: f64| (s * 1000.0).round() / 1000.0;
    println!(
        "{}",
        json!({
            "stores": stores.len(),
            "latency_s": latency.as_secs_f64(),
            "jobs19_s": round(all_parallel),
            "jobs1_s": round(all_serial),
            "single_runs": singles,
            "slowest_single_store": slowest_store,
            "slowest_single_s": round(slowest_seconds),
            "ratio_jobs19_to_slowest_single": round(all_parallel / slowest_seconds),
        })
    );
    Ok(())
}

fn store_id(store: &SimStore) -> String {
    format!("tienda_{}", &store.sucursal[3..])
}

fn config_text(stores: &[SimStore], base_url: &str) -> String {
    let mut text = format!(
        "database = \"unused.duckdb\"\n\n[api]\nbase_url = \"{base_url}\"\nmax_attempts = 1\n"
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

/// Every execution `exitoso`, one per store, and `ventas` holding exactly the simulator's
/// lines of the window.
fn check(db: &Path, data: &SimData, stores: &[&SimStore]) -> anyhow::Result<()> {
    let conn = duckdb::Connection::open_with_flags(
        db,
        duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?,
    )?;
    let (executions, ok): (i64, i64) = conn.query_row(
        "SELECT count(*), count(*) FILTER (estado = 'exitoso') FROM etl_ejecuciones",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    ensure!(
        executions == stores.len() as i64 && ok == executions,
        "{ok} of {executions} executions exitoso, {} stores",
        stores.len()
    );
    let at = |text: &str| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S");
    let (from, to) = (at(WINDOW.0)?, at(WINDOW.1)?);
    let expected: usize = stores
        .iter()
        .map(|store| truth::sales_lines(data, &store.sucursal, from, to).len())
        .sum();
    let rows: i64 = conn.query_row("SELECT count(*) FROM ventas", [], |r| r.get(0))?;
    ensure!(
        rows as usize == expected,
        "ventas has {rows} rows, the simulator {expected}"
    );
    Ok(())
}
