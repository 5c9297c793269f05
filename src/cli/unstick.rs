use std::time::Duration;

use serde::Serialize;

use super::executions::window_text;
use super::{Ctx, parse_duration_arg};
use crate::exit::Exit;
use crate::output::{self, Format, Tabular, fmt};
use crate::tracker::Access;
use crate::tracker::process::host_name;
use crate::tracker::unstick::{self, StuckExecution, UnstickOptions};

#[derive(Debug, clap::Args)]
pub struct UnstickArgs {
    /// Also close executions of other hosts (or unknown processes) older than this [default: config stuck_after, 1h]
    #[arg(long, value_parser = parse_duration_arg, allow_hyphen_values = true, value_name = "DURATION")]
    pub older_than: Option<Duration>,
    /// Show what would be closed; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (required when stdin is not a terminal)
    #[arg(long, short)]
    pub yes: bool,
}

impl Tabular for StuckExecution {
    fn headers() -> Vec<&'static str> {
        vec![
            "id", "started", "tipo", "store", "window", "host", "pid", "age h", "reason",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let e = &self.execution;
        vec![
            e.id.to_string(),
            fmt::datetime(&e.fecha_inicio),
            e.etl_tipo.clone(),
            e.ubicacion_id.clone(),
            window_text(e),
            fmt::opt(&e.host),
            fmt::opt(&e.pid),
            fmt::float(self.age_hours, 1),
            self.reason.describe().to_string(),
        ]
    }
}

#[derive(Debug, Serialize)]
struct UnstickReport<'a> {
    dry_run: bool,
    closed: usize,
    executions: &'a [StuckExecution],
}

impl UnstickArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        let now_local = ctx.now_local();
        let options = UnstickOptions {
            now_local,
            older_than: self.older_than.unwrap_or(ctx.config.tracking.stuck_after),
            this_host: host_name(),
        };
        let stuck = {
            let mut db = ctx.open_database(Access::Read)?;
            unstick::find(&mut db.session(), &options)?
        };
        if stuck.is_empty() {
            ctx.out.note("no stuck executions");
            return report(ctx, self.dry_run, 0, &stuck);
        }
        if self.dry_run {
            ctx.out.note(&format!(
                "dry run: would mark {} execution(s) fallido/interrumpido; nothing changed",
                stuck.len()
            ));
            return report(ctx, true, 0, &stuck);
        }
        let question = format!("Mark {} execution(s) fallido/interrumpido?", stuck.len());
        if !ctx.confirm(&question, self.yes, "unstick")? {
            ctx.out.note("aborted; nothing changed");
            return Ok(Exit::Ok);
        }
        let mut db = ctx.open_database(Access::Write)?;
        let closed = unstick::apply(&mut db.session(), &stuck, now_local)?;
        ctx.out.note(&format!(
            "marked {closed} execution(s) fallido/interrumpido; their windows are now gaps"
        ));
        report(ctx, false, closed, &stuck)
    }
}

fn report(
    ctx: &Ctx,
    dry_run: bool,
    closed: usize,
    stuck: &[StuckExecution],
) -> anyhow::Result<Exit> {
    match ctx.out.format {
        Format::Json => output::emit_json(&UnstickReport {
            dry_run,
            closed,
            executions: stuck,
        })?,
        _ => output::emit(&ctx.out, stuck, "")?,
    }
    Ok(Exit::Ok)
}
