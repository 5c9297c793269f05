use chrono::{NaiveDateTime, NaiveTime};

use super::run::{DayArg, RunnerArgs, check_days, execute_and_report, parse_day, tipos};
use super::{Ctx, parse_positive};
use crate::etl::plan::{Window, next_midnight};
use crate::etl::run::RunRequest;
use crate::etl::tasks::{PlanOptions, Scope, Task};
use crate::exit::{Exit, UsageError};
use crate::tracker::vocab::{EtlTipo, Modo};

#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// Only this tipo [default: both]
    #[arg(long, value_enum)]
    pub tipo: Option<EtlTipo>,
    /// Only these stores (repeat or separate with commas)
    #[arg(long = "store", value_delimiter = ',', value_name = "ID")]
    pub stores: Vec<String>,
    /// Only gaps that first failed at or after this: YYYY-MM-DD or a duration back from now (24h)
    #[arg(long, value_name = "WHEN", conflicts_with = "date")]
    pub since: Option<String>,
    /// Recover at most this many gaps [default: all]
    #[arg(long, value_parser = parse_positive, allow_negative_numbers = true)]
    pub limit: Option<u32>,
    /// Also retry windows still in their backoff after repeated failures
    #[arg(long)]
    pub ignore_backoff: bool,
    /// Fetch one explicit day for --store, whether or not it is a gap (YYYY-MM-DD, today, yesterday)
    #[arg(long, value_parser = parse_day, requires = "stores")]
    pub date: Option<DayArg>,
    /// With --date: start of the window (HH:MM)
    #[arg(long, value_parser = parse_hhmm, requires_all = ["date", "to"])]
    pub from: Option<NaiveTime>,
    /// With --date: end of the window (HH:MM, 24:00 for midnight)
    #[arg(long, value_parser = parse_end_hhmm, requires_all = ["date", "from"])]
    pub to: Option<EndOfWindow>,
    #[command(flatten)]
    pub common: RunnerArgs,
}

#[derive(Debug, Clone, Copy)]
pub enum EndOfWindow {
    At(NaiveTime),
    Midnight,
}

fn parse_hhmm(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| format!("expected HH:MM, got '{text}'"))
}

fn parse_end_hhmm(text: &str) -> Result<EndOfWindow, String> {
    if text == "24:00" {
        return Ok(EndOfWindow::Midnight);
    }
    parse_hhmm(text).map(EndOfWindow::At)
}

impl RecoverArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        ctx.check_stores(&self.stores)?;
        let now_local = ctx.now_local();
        let mut extra = Vec::new();
        let mut recover_gaps = true;
        if let Some(day) = self.date {
            recover_gaps = false;
            let date = day.resolve(now_local.date());
            check_days(date, date, now_local.date())?;
            let start = date.and_time(self.from.unwrap_or(NaiveTime::MIN));
            let end = match self.to {
                None | Some(EndOfWindow::Midnight) => next_midnight(start),
                Some(EndOfWindow::At(t)) => date.and_time(t),
            };
            if end <= start {
                return Err(UsageError(format!(
                    "--from {} is not before --to {}",
                    start.time().format("%H:%M"),
                    end.time().format("%H:%M")
                ))
                .into());
            }
            let end = end.min(now_local);
            let slot = ctx.config.tracking.slot_minutes;
            if start
                .time()
                .format("%M")
                .to_string()
                .parse::<u32>()
                .unwrap_or(0)
                % slot
                != 0
            {
                ctx.out.warn("the window does not start on a slot boundary; only whole slots inside it count as covered");
            }
            for id in &self.stores {
                let Some(store) = ctx.config.store(id) else {
                    continue;
                };
                extra.push(Task {
                    tipo: EtlTipo::Ventas,
                    ubicacion_id: store.id.clone(),
                    ubicacion_nombre: store.name.clone(),
                    store: store.clone(),
                    window: Window { start, end },
                    modo: Modo::Recuperacion,
                });
            }
        }
        let gaps_since = self
            .since
            .as_deref()
            .map(|s| parse_since(s, now_local))
            .transpose()?;
        let request = RunRequest {
            plan: PlanOptions {
                tipos: tipos(self.tipo),
                stores: self.stores,
                scope: Scope::None,
                recover: recover_gaps,
                max_gaps: self.limit.map_or(usize::MAX, |n| n as usize),
                ignore_backoff: self.ignore_backoff,
                settle_lag: chrono::Duration::zero(),
                overlap: chrono::Duration::zero(),
                gaps_since,
                // Unverified days are gaps too: re-pulled here as in `run`.
                max_verifications: if recover_gaps {
                    ctx.config.tracking.verification.max_per_run as usize
                } else {
                    0
                },
            },
            jobs: self.common.jobs as usize,
            // An operator asked: no time budget.
            recovery_budget: std::time::Duration::MAX,
            verification_budget: std::time::Duration::MAX,
            lock_wait: self.common.wait,
            dry_run: self.common.dry_run,
            extra,
            command: "recover",
            requested_by: None,
        };
        execute_and_report(ctx, &request, None)
    }
}

fn parse_since(text: &str, now_local: NaiveDateTime) -> anyhow::Result<NaiveDateTime> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(NaiveTime::MIN));
    }
    let back = crate::duration::parse_duration(text).map_err(|e| {
        UsageError(format!(
            "--since: expected YYYY-MM-DD or a duration such as 24h ({e})"
        ))
    })?;
    Ok(now_local - chrono::Duration::from_std(back)?)
}
