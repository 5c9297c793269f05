//! `klk-etl sim`: serve a simulated KLK API on 127.0.0.1 until SIGINT/SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

use crate::exit::UsageError;
use crate::sim::{BoundSemantics, FaultRule, Scenario, SimOptions, SimQuirks, SimStore, Simulator};

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Data settings: defaults < configured stores < --scenario file < flags.
Fault rules: STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW], e.g.
  --fault 'SUC003:ventas:503:1-3'     the first three sales requests of SUC003 get a 503
  --fault '*:stock:reset'             every stock request is reset
  --fault 'SUC001:ventas:hide:1-2@2025-11-24T14:10/2025-11-24T14:11'
                                      a late line: missing from the first two requests
  --fault 'SUC001:ventas-dia:500'     nightly whole-day re-pulls fail, hourly requests do not
See docs/simulator.md for every action and the scenario file format.")]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 7002)]
    pub port: u16,

    /// Seed of the synthetic data [default: 1]
    #[arg(long)]
    pub seed: Option<u64>,

    /// Average sales lines per store per hour [default: 120]
    #[arg(long, value_name = "N")]
    pub lines_per_hour: Option<u32>,

    /// Articles in every warehouse's master [default: 4000]
    #[arg(long, value_name = "N")]
    pub articles: Option<u32>,

    /// Sales volume multiplier of one store, e.g. SUC001=10 (repeatable)
    #[arg(long = "store-volume", value_name = "SUCURSAL=FACTOR", value_parser = parse_store_volume)]
    pub store_volumes: Vec<(String, f64)>,

    /// How /ventas reads hora_desde/hora_hasta [default: half-open]
    ///
    /// A missing bound is the start or the end of the day under every reading.
    #[arg(long, value_name = "NAME", value_parser = bounds_parser())]
    pub bounds: Option<BoundSemantics>,

    /// Every store-day also has sales lines at exactly 00:00:00.0000000, on every 15-minute
    /// boundary, at 23:59:59.8 and at 23:59:59.9999999 (invoices EDGE-…)
    #[arg(long)]
    pub edge_lines: bool,

    /// Scenario file (.toml or .json): data settings and fault rules
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Fault rule STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW] (repeatable; after the
    /// scenario's rules)
    ///
    /// STORE: SUC003 or *. ENDPOINT: ventas (every sales request), ventas-dia (sales
    /// requests without hours: whole days), stock, almacenes, reposicion or *.
    /// ACTION: latency=250ms, hang[=30s], refuse, reset, a 4xx/5xx status, 429[=SECS|none],
    /// malformed, truncate, error[=TEXT], shape, empty, bad-line, conflict, bare-array,
    /// trickle=2s; and, on sales with a WINDOW, hide (its lines are left out) and change
    /// (its lines come back with other values). REQUESTS: * (default), 3 (the 3rd), 1-3,
    /// 4- (the 4th on). WINDOW: 2025-11-17 or 2025-11-17T12:00/2025-11-17T13:00. Latency,
    /// hide and change add up; the first other rule decides. Example:
    /// --fault 'SUC003:ventas:503:1-3'. Details: docs/simulator.md.
    #[arg(long = "fault", value_name = "RULE", value_parser = parse_fault)]
    pub faults: Vec<FaultRule>,
}

fn parse_fault(text: &str) -> Result<FaultRule, String> {
    text.parse()
}

/// The names of the bound semantics, each with its one-line summary (shown by `--help` and
/// the completions).
fn bounds_parser() -> impl clap::builder::TypedValueParser<Value = BoundSemantics> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        BoundSemantics::ALL
            .map(|semantics| PossibleValue::new(semantics.name()).help(semantics.summary())),
    )
    .try_map(|name| name.parse::<BoundSemantics>())
}

fn parse_store_volume(text: &str) -> Result<(String, f64), String> {
    let (sucursal, factor) = text
        .split_once('=')
        .ok_or_else(|| format!("expected SUCURSAL=FACTOR, got {text:?}"))?;
    let factor: f64 = factor
        .trim()
        .parse()
        .ok()
        .filter(|factor: &f64| factor.is_finite() && *factor >= 0.0)
        .ok_or_else(|| format!("{factor:?} is not a non-negative number"))?;
    Ok((sucursal.trim().to_owned(), factor))
}

impl SimArgs {
    pub fn exec(self, ctx: &super::Ctx) -> anyhow::Result<ExitCode> {
        let (options, quirks) = self.options(ctx)?;
        let stop = install_stop_handlers().context("cannot install the SIGINT/SIGTERM handlers")?;
        let port = options.port;
        let handle = Simulator::start_with(options, quirks)
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        writeln!(std::io::stderr(), "listening on {}", handle.base_url())?;
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        handle.stop();
        Ok(ExitCode::SUCCESS)
    }

    fn options(&self, ctx: &super::Ctx) -> anyhow::Result<(SimOptions, SimQuirks)> {
        let mut options = SimOptions {
            port: self.port,
            ..SimOptions::default()
        };
        let mut quirks = SimQuirks::default();
        if !ctx.config.stores.is_empty() {
            options.data.stores = ctx
                .config
                .stores
                .iter()
                .map(|store| SimStore {
                    sucursal: store.sucursal.clone(),
                    name: store.name.clone(),
                    warehouses: store.warehouses.clone(),
                    volume_multiplier: 1.0,
                })
                .collect();
        }
        if let Some(path) = &self.scenario {
            let scenario = Scenario::from_path(path).map_err(|e| UsageError(e.to_string()))?;
            scenario
                .apply(&mut options)
                .map_err(|reason| UsageError(format!("scenario {}: {reason}", path.display())))?;
            scenario.apply_quirks(&mut quirks);
        }
        if let Some(bounds) = self.bounds {
            quirks.bounds = bounds;
        }
        if self.edge_lines {
            quirks.edge_lines = true;
        }
        if let Some(seed) = self.seed {
            options.data.seed = seed;
        }
        if let Some(lines_per_hour) = self.lines_per_hour {
            options.data.lines_per_hour = lines_per_hour;
        }
        if let Some(articles) = self.articles {
            options.data.articles_per_warehouse = articles;
        }
        for (sucursal, factor) in &self.store_volumes {
            let store = options
                .data
                .stores
                .iter_mut()
                .find(|store| store.sucursal == *sucursal)
                .ok_or_else(|| UsageError(format!("--store-volume: unknown store {sucursal}")))?;
            store.volume_multiplier = *factor;
        }
        options.faults.extend(self.faults.iter().cloned());
        Ok((options, quirks))
    }
}

/// Sets the returned flag on SIGINT or SIGTERM (as `run` does).
fn install_stop_handlers() -> std::io::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}
