use std::process::ExitCode;

use super::Ctx;
use crate::monitor::health::{self, Status};
use crate::monitor::snapshot;
use crate::output::{self, Format};
use crate::tracker::Access;

#[derive(Debug, clap::Args)]
pub struct HealthArgs {}

impl HealthArgs {
    /// Monitoring-plugins convention: the status line first, then details; exit 0 OK,
    /// 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also when the check itself cannot run).
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<ExitCode> {
        let evaluated = (|| -> anyhow::Result<health::Health> {
            let mut db = ctx.open_database(Access::Read)?;
            let snap = snapshot(&mut db.session(), &ctx.config, ctx.now_local())?;
            Ok(health::evaluate(&snap, &ctx.config.monitoring))
        })();
        let report = match evaluated {
            Ok(report) => report,
            Err(err) => {
                let reason = crate::exit::one_line(&err);
                let unknown = health::Health::unknown(&reason);
                if ctx.out.format == Format::Json {
                    output::emit_json(&unknown)?;
                } else {
                    output::emit_text(&unknown.summary)?;
                }
                return Ok(ExitCode::from(Status::Unknown as u8));
            }
        };
        if ctx.out.format == Format::Json {
            output::emit_json(&report)?;
        } else {
            let mut text = format!("{} | {}\n", report.summary, health::perfdata(&report));
            for check in &report.checks {
                text.push_str(&format!(
                    "{} {}: {}\n",
                    check.status.label(),
                    check.name,
                    check.message
                ));
            }
            output::emit_text(&text)?;
        }
        Ok(ExitCode::from(report.status as u8))
    }
}
