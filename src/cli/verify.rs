//! `klk-etl verify`: re-pull closed days whole now (the ones `run` would verify, or explicit
//! days), and `klk-etl vanished`: the lines re-pulls no longer found, and deleting them.

use chrono::{NaiveDate, NaiveTime};

use super::Ctx;
use super::parse_positive;
use super::run::{DayArg, RunnerArgs, execute_and_report, parse_day};
use crate::etl::plan::{Window, next_midnight};
use crate::etl::run::RunRequest;
use crate::etl::tasks::{PlanOptions, Scope, Task, stores_in_scope};
use crate::exit::{Exit, UsageError};
use crate::output::{self, Format, Tabular, fmt};
use crate::tracker::Access;
use crate::tracker::verification::{self, VanishedLine, VanishedQuery};
use crate::tracker::vocab::{EtlTipo, Modo};

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Only these stores (repeat or separate with commas)
    #[arg(long = "store", value_delimiter = ',', value_name = "ID")]
    pub stores: Vec<String>,
    /// Re-pull this closed day whole, verified or not (YYYY-MM-DD or `yesterday`)
    #[arg(long, value_parser = parse_day, conflicts_with_all = ["from", "to"])]
    pub date: Option<DayArg>,
    /// First closed day to re-pull (with --to)
    #[arg(long, value_parser = parse_day, requires = "to")]
    pub from: Option<DayArg>,
    /// Last closed day to re-pull (with --from, included)
    #[arg(long, value_parser = parse_day, requires = "from")]
    pub to: Option<DayArg>,
    /// Without dates: verify at most this many pending days [default: all]
    #[arg(long, value_parser = parse_positive, allow_negative_numbers = true, conflicts_with_all = ["date", "from"])]
    pub limit: Option<u32>,
    /// Also retry days still in their backoff after repeated failed re-pulls
    #[arg(long)]
    pub ignore_backoff: bool,
    #[command(flatten)]
    pub common: RunnerArgs,
}

impl VerifyArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        ctx.check_stores(&self.stores)?;
        let settings = ctx.config.tracking.verification;
        if !settings.enabled {
            return Err(UsageError(
                "verification is off in the configuration ([verification] enabled = false)"
                    .to_string(),
            )
            .into());
        }
        let now_local = ctx.now_local();
        let today = now_local.date();
        let days = match (self.date, self.from, self.to) {
            (Some(day), ..) => Some((day.resolve(today), day.resolve(today))),
            (None, Some(from), Some(to)) => Some((from.resolve(today), to.resolve(today))),
            _ => None,
        };
        let mut extra = Vec::new();
        if let Some((from, to)) = days {
            if to < from {
                return Err(UsageError(format!("--from {from} is after --to {to}")).into());
            }
            let closes_after = chrono::Duration::from_std(settings.closes_after)?;
            let last_closed = (now_local - closes_after).date() - chrono::Days::new(1);
            if to > last_closed {
                return Err(UsageError(format!(
                    "{to} is not closed yet: a day closes {} after its midnight (verification.closes_after); the latest closed day is {last_closed}",
                    crate::duration::format_duration(settings.closes_after)
                ))
                .into());
            }
            for store in stores_in_scope(&ctx.config, &self.stores) {
                for date in from.iter_days().take_while(|d| *d <= to) {
                    extra.push(whole_day_task(store, date));
                }
            }
        }
        let request = RunRequest {
            plan: PlanOptions {
                tipos: vec![EtlTipo::Ventas],
                stores: self.stores,
                scope: Scope::None,
                recover: false,
                max_gaps: 0,
                ignore_backoff: self.ignore_backoff,
                settle_lag: chrono::Duration::zero(),
                overlap: chrono::Duration::zero(),
                gaps_since: None,
                max_verifications: if days.is_some() {
                    0
                } else {
                    self.limit.map_or(usize::MAX, |n| n as usize)
                },
            },
            jobs: self.common.jobs as usize,
            // An operator asked: no time budget.
            recovery_budget: std::time::Duration::MAX,
            verification_budget: std::time::Duration::MAX,
            lock_wait: self.common.wait,
            dry_run: self.common.dry_run,
            extra,
            command: "verify",
            requested_by: None,
        };
        execute_and_report(ctx, &request, None)
    }
}

fn whole_day_task(store: &crate::config::Store, date: NaiveDate) -> Task {
    let start = date.and_time(NaiveTime::MIN);
    Task {
        tipo: EtlTipo::Ventas,
        ubicacion_id: store.id.clone(),
        ubicacion_nombre: store.name.clone(),
        store: store.clone(),
        window: Window {
            start,
            end: next_midnight(start),
        },
        modo: Modo::Verificacion,
    }
}

#[derive(Debug, clap::Args)]
pub struct VanishedArgs {
    /// Only these stores (repeat or separate with commas)
    #[arg(long = "store", value_delimiter = ',', value_name = "ID")]
    pub stores: Vec<String>,
    /// Only lines of days from this one (YYYY-MM-DD, today, yesterday)
    #[arg(long, value_parser = parse_day)]
    pub from: Option<DayArg>,
    /// Only lines of days up to this one, included
    #[arg(long, value_parser = parse_day)]
    pub to: Option<DayArg>,
    /// Also list lines already deleted from ventas
    #[arg(long, conflicts_with = "delete")]
    pub all: bool,
    /// Delete the listed lines from ventas (the API no longer returns them)
    #[arg(long)]
    pub delete: bool,
    /// With --delete: show what would be deleted; change nothing
    #[arg(long, requires = "delete")]
    pub dry_run: bool,
    /// With --delete: do not ask (required when stdin is not a terminal)
    #[arg(long, short, requires = "delete")]
    pub yes: bool,
}

impl Tabular for VanishedLine {
    fn headers() -> Vec<&'static str> {
        vec![
            "store",
            "date",
            "time",
            "invoice",
            "line",
            "usd",
            "loaded by",
            "found by",
            "found at",
            "deleted",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.ubicacion_id.clone(),
            self.fecha.to_string(),
            self.hora
                .map(|h| h.format("%H:%M:%S%.f").to_string())
                .unwrap_or_default(),
            self.numero_factura.clone(),
            self.linea.to_string(),
            fmt::opt_float(&self.venta_total_usd, 2),
            self.cargada_por.to_string(),
            self.detectada_por.to_string(),
            fmt::datetime(&self.detectada_en),
            fmt::opt_datetime(&self.eliminada_en),
        ]
    }
}

#[derive(Debug, serde::Serialize)]
struct DeleteReport<'a> {
    dry_run: bool,
    deleted: usize,
    lines: &'a [VanishedLine],
}

impl VanishedArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        ctx.check_stores(&self.stores)?;
        let today = ctx.now_local().date();
        let query = VanishedQuery {
            stores: self.stores.clone(),
            from: self.from.map(|d| d.resolve(today)),
            to: self.to.map(|d| d.resolve(today)),
            include_deleted: self.all,
        };
        let lines = {
            let mut db = ctx.open_database(Access::Read)?;
            verification::vanished(&mut db.session(), &query)?
        };
        if !self.delete {
            output::emit(&ctx.out, &lines, "no vanished lines")?;
            return Ok(Exit::Ok);
        }
        if lines.is_empty() {
            ctx.out.note("no vanished lines; nothing to delete");
            return delete_report(ctx, self.dry_run, 0, &lines);
        }
        if self.dry_run {
            ctx.out.note(&format!(
                "dry run: would delete {} line(s) from ventas; nothing changed",
                lines.len()
            ));
            return delete_report(ctx, true, 0, &lines);
        }
        let question = format!(
            "Delete {} line(s) the API no longer returns from ventas?",
            lines.len()
        );
        if !ctx.confirm(&question, self.yes, "delete vanished lines")? {
            ctx.out.note("aborted; nothing changed");
            return Ok(Exit::Ok);
        }
        let mut db = ctx.open_database(Access::Write)?;
        let deleted = verification::delete_vanished(&mut db.session(), &lines, ctx.now_local())?;
        ctx.out
            .note(&format!("deleted {deleted} line(s) from ventas"));
        delete_report(ctx, false, deleted, &lines)
    }
}

fn delete_report(
    ctx: &Ctx,
    dry_run: bool,
    deleted: usize,
    lines: &[VanishedLine],
) -> anyhow::Result<Exit> {
    match ctx.out.format {
        Format::Json => output::emit_json(&DeleteReport {
            dry_run,
            deleted,
            lines,
        })?,
        _ => output::emit(&ctx.out, lines, "")?,
    }
    Ok(Exit::Ok)
}
