//! `klk-etl sim`: serve a simulated KLK API on 127.0.0.1 until SIGINT/SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

use crate::exit::UsageError;
use crate::sim::{FaultRule, Scenario, SimOptions, SimStore, Simulator};

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Data settings: defaults < configured stores < --scenario file < flags.
Fault rules: STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW], e.g.
  --fault 'SUC003:ventas:503:1-3'     the first three sales requests of SUC003 get a 503
  --fault '*:stock:reset'             every stock request is reset
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

    /// Scenario file (.toml or .json): data settings and fault rules
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Fault rule STORE:ENDPOINT:ACTION[:REQUESTS][@WINDOW] (repeatable; after the
    /// scenario's rules)
    ///
    /// STORE: SUC003 or *. ENDPOINT: ventas, stock, almacenes, reposicion or *.
    /// ACTION: latency=250ms, hang[=30s], refuse, reset, a 4xx/5xx status, 429[=SECS|none],
    /// malformed, truncate, error[=TEXT], shape, empty, bad-line, conflict, bare-array,
    /// trickle=2s. REQUESTS: * (default), 3 (the 3rd), 1-3, 4- (the 4th on).
    /// WINDOW: 2025-11-17 or 2025-11-17T12:00/2025-11-17T13:00. Example:
    /// --fault 'SUC003:ventas:503:1-3'. Details: docs/simulator.md.
    #[arg(long = "fault", value_name = "RULE", value_parser = parse_fault)]
    pub faults: Vec<FaultRule>,
}

fn parse_fault(text: &str) -> Result<FaultRule, String> {
    text.parse()
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
        let options = self.options(ctx)?;
        install_stop_handlers().context("cannot install the SIGINT/SIGTERM handlers")?;
        let port = options.port;
        let handle = Simulator::start(options)
            .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
        writeln!(std::io::stderr(), "listening on {}", handle.base_url())?;
        while !STOP_REQUESTED.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        handle.stop();
        Ok(ExitCode::SUCCESS)
    }

    fn options(&self, ctx: &super::Ctx) -> anyhow::Result<SimOptions> {
        let mut options = SimOptions {
            port: self.port,
            ..SimOptions::default()
        };
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
        Ok(options)
    }
}

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

fn install_stop_handlers() -> std::io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `action` is zero-initialised (a valid `sigaction`), its mask is emptied
        // before use, and the handler only stores to an atomic (async-signal-safe).
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = request_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if installed != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
