//! The command line: clap types, one file per subcommand, and the one place where flags,
//! environment, config file and defaults are resolved into a `Ctx`.

mod alerts;
mod completions;
mod db;
mod demo;
mod executions;
mod gaps;
mod health;
mod metrics;
mod purge;
mod recover;
mod run;
mod serve;
mod sim;
mod status;
mod stores;
mod unstick;
mod verify;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use clap::{Parser, Subcommand};

use crate::clock::Clock;
use crate::config::{Config, Overrides};
use crate::exit::{Exit, UsageError, exit_code_for};
use crate::output::{ColorChoice, Format, Output};
use crate::tracker::{Access, Db};

#[derive(Debug, Parser)]
#[command(
    name = "klk-etl",
    version,
    about = "Runs, tracks and repairs the ETL that copies KLK POS sales and stock into DuckDB",
    long_about = None,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration file [default: ./klk-etl.toml if present]
    #[arg(long, global = true, env = "KLK_ETL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// DuckDB file or postgres:// URL, overriding the configuration's `database` (env also KLK_ETL_DATABASE)
    #[arg(
        long,
        visible_alias = "database",
        global = true,
        env = "KLK_ETL_DB",
        value_name = "FILE|URL"
    )]
    pub db: Option<PathBuf>,

    /// Output format for data on stdout
    #[arg(long, global = true, value_enum, default_value = "table")]
    pub format: Format,

    /// When to colour tables (NO_COLOR is honoured by `auto`)
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorChoice,

    /// Print only data and errors (no notes on stderr)
    #[arg(long, short, global = true)]
    pub quiet: bool,

    /// How long to wait for another process holding the database [default: config, 30s]
    #[arg(long, global = true, env = "KLK_ETL_LOCK_TIMEOUT", value_name = "DURATION",
          value_parser = parse_duration_arg, allow_hyphen_values = true)]
    pub lock_timeout: Option<Duration>,

    /// Pin "now" (RFC 3339, e.g. 2025-11-24T16:00:00Z): for tests and reproducible reports
    #[arg(long, global = true, env = "KLK_ETL_NOW", hide = true, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The cron entry point: unstick, recover gaps (bounded), fetch every store's new windows, verify closed days
    Run(run::RunArgs),
    /// Recover gaps now (all or filtered), or fetch one explicit window again
    Recover(recover::RecoverArgs),
    /// Re-pull closed days whole now: those not verified yet, or explicit days
    Verify(verify::VerifyArgs),
    /// Lines a re-pull no longer found (kept in ventas); --delete removes them
    Vanished(verify::VanishedArgs),
    /// List the gaps: windows that should hold data and are not covered by a success
    Gaps(gaps::GapsArgs),
    /// Reliability per store and day: runs, success rate, durations, rows loaded
    Metrics(metrics::MetricsArgs),
    /// The latest executions (newest first)
    Executions(executions::ExecutionsArgs),
    /// One screen: latest executions, open gaps and today's metrics
    Status(status::StatusArgs),
    /// Monitoring-plugins check (Nagios, Icinga): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
    Health(health::HealthArgs),
    /// Recent alerts; `alerts check` evaluates and sends the transitions now
    Alerts(alerts::AlertsArgs),
    /// Delete old executions (never those gap detection still needs)
    Purge(purge::PurgeArgs),
    /// Close executions left `en_proceso` by a process that is gone
    Unstick(unstick::UnstickArgs),
    /// List the configured stores
    Stores(stores::StoresArgs),
    /// Database schema: migrate, info
    Db(db::DbArgs),
    /// Run the main job end to end against a simulated KLK API with scripted faults
    Demo(demo::DemoArgs),
    /// Web status page, HTTP API, /health and /metrics (see docs/serve.md)
    Serve(serve::ServeArgs),
    /// Serve a simulated KLK POS API on 127.0.0.1 (for tests and demos)
    Sim(sim::SimArgs),
    /// Print a shell completion script (or the man page)
    Completions(completions::CompletionsArgs),
}

/// Everything a command needs, resolved once.
pub struct Ctx {
    pub config: Config,
    pub out: Output,
    pub clock: Clock,
}

impl Ctx {
    pub fn now_utc(&self) -> DateTime<Utc> {
        self.clock.start_utc()
    }

    /// When the invocation started, as store-local wall time (the configuration's zone).
    pub fn now_local(&self) -> NaiveDateTime {
        self.clock.start_local()
    }

    pub fn open_db(&self, access: Access) -> anyhow::Result<Db> {
        let db = Db::open(&self.config, access, self.now_utc())?;
        for warning in &db.warnings {
            self.out.warn(warning);
        }
        Ok(db)
    }

    /// The configured database of either engine (commands ported to both use this).
    pub fn open_database(&self, access: Access) -> anyhow::Result<crate::tracker::Database> {
        let db = crate::tracker::Database::open(&self.config, access, self.now_utc())?;
        for warning in db.warnings() {
            self.out.warn(warning);
        }
        Ok(db)
    }

    /// Checks `--store` values against the configuration.
    pub fn check_stores(&self, stores: &[String]) -> anyhow::Result<()> {
        if self.config.stores.is_empty() {
            // Without a store table (e.g. a file adopted from the original system and no
            // config yet), filters apply to whatever the database holds.
            return Ok(());
        }
        self.config.check_store_ids(stores)?;
        Ok(())
    }

    /// Asks on a terminal; without one, only `--yes` proceeds.
    pub fn confirm(&self, question: &str, yes: bool, verb: &str) -> anyhow::Result<bool> {
        if yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            return Err(UsageError(format!(
                "refusing to {verb} without --yes when stdin is not a terminal (--dry-run shows the plan)"
            ))
            .into());
        }
        let mut stderr = std::io::stderr();
        write!(stderr, "{question} [y/N] ")?;
        stderr.flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
    }
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    crate::duration::parse_duration(text)
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("expected RFC 3339 such as 2025-11-24T16:00:00Z: {e}"))
}

/// A positive whole number (clap would otherwise read `-3` as an unknown flag).
pub(crate) fn parse_positive(text: &str) -> Result<u32, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n >= 1 && n <= i64::from(u32::MAX) => Ok(n as u32),
        Ok(n) => Err(format!("must be a positive whole number, got {n}")),
        Err(_) => Err(format!("must be a positive whole number, got '{text}'")),
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return print_clap_error(err),
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            if crate::exit::is_broken_pipe(&err) {
                return Exit::Ok.into();
            }
            let _ = writeln!(std::io::stderr(), "error: {}", crate::exit::one_line(&err));
            exit_code_for(&err).into()
        }
    }
}

/// Help and version go to stdout as usual; a usage error is one line on stderr, exit 2.
fn print_clap_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            Exit::Ok.into()
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            Exit::Usage.into()
        }
        _ => {
            // clap's message spans lines (the error, possible values, a tip, usage):
            // keep what explains the error, on one line.
            let rendered = err.render().to_string();
            let explanation: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|line| !line.starts_with("Usage:"))
                .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
                .collect();
            let message = explanation.join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            let _ = writeln!(std::io::stderr(), "error: {message} (see --help)");
            Exit::Usage.into()
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = cli.global;
    let out = Output::new(g.format, g.color, g.quiet);
    let command = match cli.command {
        Command::Completions(args) => return Ok(args.exec()?.into()),
        other => other,
    };
    let overrides = Overrides {
        database: g.db.or_else(|| {
            std::env::var_os("KLK_ETL_DATABASE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        }),
        api_base_url: std::env::var("KLK_ETL_API_URL")
            .ok()
            .filter(|v| !v.is_empty()),
        api_token: std::env::var("KLK_ETL_API_TOKEN")
            .ok()
            .filter(|v| !v.is_empty())
            .map(crate::secret::Secret::from),
        lock_timeout: g.lock_timeout,
        proxy_env: crate::net::proxy::ProxyEnv::from_env(),
        pg_env: crate::config::database::PgEnv::from_env(),
    };
    let config = Config::load(g.config.as_deref(), &overrides)?;
    if g.format == Format::Prometheus && !matches!(command, Command::Metrics(_)) {
        return Err(UsageError("--format prometheus is for `metrics`".to_string()).into());
    }
    // "Now" is read here, once; everything below gets it from the context.
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place that reads the clock"
    )]
    let now_utc = g.now.unwrap_or_else(Utc::now);
    if let (Some(target), Command::Demo(_)) = (&config.postgres, &command) {
        return Err(UsageError(format!(
            "`klk-etl demo` runs on its own --database, not on the configured {}: pass `klk-etl demo --database URL` to run it on PostgreSQL",
            target.display()
        ))
        .into());
    }
    let ctx = Ctx {
        clock: Clock::new(now_utc, config.timezone),
        config,
        out,
    };
    let exit = match command {
        Command::Run(args) => args.exec(&ctx)?,
        Command::Recover(args) => args.exec(&ctx)?,
        Command::Verify(args) => args.exec(&ctx)?,
        Command::Vanished(args) => args.exec(&ctx)?,
        Command::Sim(args) => return args.exec(&ctx),
        Command::Serve(args) => args.exec(&ctx)?,
        Command::Demo(args) => args.exec(&ctx)?,
        Command::Health(args) => return args.exec(&ctx),
        Command::Alerts(args) => args.exec(&ctx)?,
        Command::Gaps(args) => args.exec(&ctx)?,
        Command::Metrics(args) => args.exec(&ctx)?,
        Command::Executions(args) => args.exec(&ctx)?,
        Command::Status(args) => args.exec(&ctx)?,
        Command::Purge(args) => args.exec(&ctx)?,
        Command::Unstick(args) => args.exec(&ctx)?,
        Command::Stores(args) => args.exec(&ctx)?,
        Command::Db(args) => args.exec(&ctx)?,
        Command::Completions(_) => unreachable!("handled before the configuration is read"),
    };
    Ok(exit.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_shipped_is_in_the_help() {
        // Developer tools live in examples/ (e.g. examples/scale_history.rs), not hidden here.
        let cli = Cli::command();
        let hidden: Vec<&str> = cli
            .get_subcommands()
            .filter(|command| command.is_hide_set())
            .map(|command| command.get_name())
            .collect();
        assert!(hidden.is_empty(), "hidden commands: {hidden:?}");
        assert!(Cli::try_parse_from(["klk-etl", "dev", "seed-history"]).is_err());
    }

    #[test]
    fn positive_numbers_reject_negatives_and_zero() {
        assert_eq!(parse_positive("7"), Ok(7));
        assert!(parse_positive("-3").unwrap_err().contains("positive"));
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("x").is_err());
    }
}
