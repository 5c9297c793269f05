use std::time::Duration;

use super::{Ctx, parse_duration_arg};
use crate::duration::format_duration;
use crate::exit::Exit;
use crate::output::{self, Format, Tabular, fmt};
use crate::tracker::Access;
use crate::tracker::purge::{self, PurgeOptions, PurgePlan};

#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// Delete executions started longer ago than this (e.g. 90d) [default: config retention]
    #[arg(long, value_parser = parse_duration_arg, allow_hyphen_values = true, value_name = "DURATION")]
    pub older_than: Option<Duration>,
    /// Show what would be deleted; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask (required when stdin is not a terminal)
    #[arg(long, short)]
    pub yes: bool,
}

impl Tabular for PurgePlan {
    fn headers() -> Vec<&'static str> {
        vec![
            "cutoff",
            "to delete",
            "deleted",
            "oldest",
            "newest",
            "kept (en_proceso)",
            "kept (needed for gaps)",
        ]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            fmt::datetime(&self.cutoff),
            self.to_delete.to_string(),
            self.deleted.to_string(),
            fmt::opt_datetime(&self.oldest_deleted),
            fmt::opt_datetime(&self.newest_deleted),
            self.kept_in_progress.to_string(),
            self.kept_for_gaps.to_string(),
        ]
    }
}

impl PurgeArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        let older_than = self.older_than.unwrap_or(ctx.config.tracking.retention);
        let options = PurgeOptions {
            now_local: ctx.now_local(),
            older_than,
            horizon: ctx.config.tracking.horizon,
        };
        let plan = {
            let mut db = ctx.open_database(Access::Read)?;
            purge::plan(&mut db.session(), &options)?
        };
        if self.dry_run {
            ctx.out.note(&format!(
                "dry run: would delete {} execution(s) started before {} (older than {}); nothing changed",
                plan.to_delete,
                fmt::datetime(&plan.cutoff),
                format_duration(older_than)
            ));
            emit_plan(ctx, &plan)?;
            return Ok(Exit::Ok);
        }
        if plan.to_delete == 0 {
            ctx.out.note("nothing to purge");
            emit_plan(ctx, &plan)?;
            return Ok(Exit::Ok);
        }
        let question = format!(
            "Delete {} execution(s) started before {}?",
            plan.to_delete,
            fmt::datetime(&plan.cutoff)
        );
        if !ctx.confirm(&question, self.yes, "purge")? {
            ctx.out.note("aborted; nothing changed");
            return Ok(Exit::Ok);
        }
        let mut db = ctx.open_database(Access::Write)?;
        let done = purge::execute(&mut db.session(), &options)?;
        ctx.out.note(&format!(
            "deleted {} execution(s); kept {} en_proceso and {} needed for gap detection",
            done.deleted, done.kept_in_progress, done.kept_for_gaps
        ));
        emit_plan(ctx, &done)?;
        Ok(Exit::Ok)
    }
}

fn emit_plan(ctx: &Ctx, plan: &PurgePlan) -> std::io::Result<()> {
    match ctx.out.format {
        Format::Json => output::emit_json(plan),
        _ => output::emit(&ctx.out, std::slice::from_ref(plan), ""),
    }
}
