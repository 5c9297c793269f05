use super::{Ctx, parse_positive};
use crate::exit::{Exit, UsageError};
use crate::monitor::alerts::{AlertRow, Transition};
use crate::monitor::{self, alerts};
use crate::output::{self, Format, Tabular, fmt};
use crate::tracker::Access;

#[derive(Debug, clap::Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: Option<AlertsCommand>,
    /// How many recent alerts to list
    #[arg(long, default_value = "20", value_parser = parse_positive, allow_negative_numbers = true)]
    pub limit: u32,
}

#[derive(Debug, clap::Subcommand)]
pub enum AlertsCommand {
    /// Evaluate problems now and send the transitions (every `run` does this too; schedule
    /// it separately to catch a cron that stopped)
    Check {
        /// Show what would be sent; record and send nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Send a test message on every configured channel now (or only --channel), and say
    /// which ones work: nothing is recorded (exit 5 when one fails)
    Test {
        /// Only this channel: webhook, slack, teams, json, email or command (repeatable)
        #[arg(long = "channel", value_name = "NAME", value_delimiter = ',')]
        channels: Vec<String>,
    },
}

#[derive(Debug, serde::Serialize)]
struct TestResult {
    channel: &'static str,
    delivered: bool,
    error: Option<String>,
}

impl Tabular for AlertRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "created",
            "class",
            "transition",
            "channel",
            "delivered",
            "attempts",
            "message",
            "last error",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let mut cells = self.csv_cells();
        cells[7] = fmt::short(&Some(self.mensaje.clone()), 70);
        cells
    }

    fn csv_cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            fmt::datetime(&self.creada),
            self.clase.clone(),
            self.transicion.clone(),
            self.canal.clone(),
            fmt::opt_datetime(&self.entregada),
            self.intentos.to_string(),
            self.mensaje.clone(),
            self.ultimo_error.clone().unwrap_or_default(),
        ]
    }
}

impl AlertsArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        match self.command {
            None => {
                let mut db = ctx.open_database(Access::Read)?;
                let rows = alerts::recent(&mut db.session(), self.limit as usize)?;
                output::emit(&ctx.out, &rows, "no alerts yet")?;
                Ok(Exit::Ok)
            }
            Some(AlertsCommand::Check { dry_run }) => {
                let outcome =
                    monitor::check_alerts(&ctx.config, ctx.now_utc(), ctx.now_local(), dry_run)?;
                if ctx.out.format == Format::Json {
                    output::emit_json(&outcome)?;
                    return Ok(Exit::Ok);
                }
                let mut text = String::new();
                if outcome.channels.is_empty() {
                    text.push_str("no alert channel configured ([alerts] webhook_url, command, [alerts.slack], [alerts.teams], [alerts.json] or [alerts.email]): nothing recorded or sent\n");
                }
                if dry_run {
                    text.push_str("dry run: nothing recorded or sent\n");
                }
                if outcome.transitions.is_empty() {
                    text.push_str("no transitions: nothing new to say\n");
                }
                for t in &outcome.transitions {
                    let what = match t.transition {
                        Transition::Problem => "problem",
                        Transition::Reminder => "reminder",
                        Transition::Recovered => "recovered",
                    };
                    text.push_str(&format!("{what:<9} {}\n", t.message));
                }
                if !dry_run && !outcome.channels.is_empty() {
                    text.push_str(&format!(
                        "delivered {}, failed {} (failed ones are retried by the next invocation)\n",
                        outcome.delivered,
                        outcome.failed.len()
                    ));
                    for (id, error) in &outcome.failed {
                        text.push_str(&format!("  alert #{id}: {error}\n"));
                    }
                }
                output::emit_text(&text)?;
                Ok(Exit::Ok)
            }
            Some(AlertsCommand::Test { channels }) => test(ctx, &channels),
        }
    }
}

fn test(ctx: &Ctx, only: &[String]) -> anyhow::Result<Exit> {
    let configured = monitor::channels::configured(&ctx.config);
    if configured.is_empty() {
        return Err(UsageError(
            "no alert channel configured: see [alerts] in docs/monitoring.md".to_string(),
        )
        .into());
    }
    if let Some(unknown) = only.iter().find(|c| !configured.contains(&c.as_str())) {
        return Err(UsageError(format!(
            "channel '{unknown}' is not configured (configured: {})",
            configured.join(", ")
        ))
        .into());
    }
    let host = crate::tracker::process::host_name();
    let now = ctx.now_local();
    let context = monitor::channels::Context {
        config: &ctx.config,
        now_utc: ctx.now_utc(),
        host: &host,
    };
    let mut results = Vec::new();
    for channel in configured
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| o == c))
    {
        let alert = monitor::channels::Outgoing {
            id: 0,
            key: "test".to_string(),
            class: "test".to_string(),
            transition: "test".to_string(),
            message: format!(
                "KLK-ETL TEST: a test message from klk-etl on {host} at {} ({}): the {channel} channel works",
                fmt::datetime(&now),
                ctx.config.timezone.name()
            ),
            created: now,
        };
        let result = monitor::channels::deliver(&context, channel, &[alert])
            .pop()
            .map_or_else(|| Err("nothing sent".to_string()), |(_, r)| r);
        results.push(TestResult {
            channel,
            delivered: result.is_ok(),
            error: result.err(),
        });
    }
    if ctx.out.format == Format::Json {
        output::emit_json(&results)?;
    } else {
        let mut text = String::new();
        for r in &results {
            match &r.error {
                None => text.push_str(&format!("{:<8} delivered\n", r.channel)),
                Some(error) => text.push_str(&format!("{:<8} FAILED: {error}\n", r.channel)),
            }
        }
        output::emit_text(&text)?;
    }
    Ok(if results.iter().all(|r| r.delivered) {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
