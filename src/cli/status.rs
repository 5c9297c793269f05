use super::{Ctx, parse_positive};
use crate::exit::{Exit, UsageError};
use crate::monitor::views::{self, StatusReport};
use crate::output::{self, Format, fmt};
use crate::tracker::Access;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// How many latest executions to show
    #[arg(long, default_value = "10", value_parser = parse_positive, allow_negative_numbers = true)]
    pub limit: u32,
}

impl StatusArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        if ctx.out.format == Format::Csv {
            return Err(UsageError(
                "status prints a table or JSON; for CSV use `executions`, `gaps` or `metrics`"
                    .to_string(),
            )
            .into());
        }
        let mut db = ctx.open_database(Access::Read)?;
        let status = views::status_in(
            &mut db.session(),
            &ctx.config,
            &ctx.config.database_display(),
            ctx.now_local(),
            self.limit as usize,
        )?;
        drop(db);
        if ctx.out.format == Format::Json {
            output::emit_json(&status)?;
            return Ok(Exit::Ok);
        }
        output::emit_text(&render(ctx, &status))?;
        Ok(Exit::Ok)
    }
}

fn render(ctx: &Ctx, status: &StatusReport) -> String {
    let mut text = format!(
        "KLK ETL status at {} ({}), database {}\n\n",
        status.now.format("%Y-%m-%d %H:%M:%S"),
        status.timezone,
        status.database
    );
    text.push_str(&format!(
        "Latest executions ({})\n",
        status.latest_executions.len()
    ));
    if status.latest_executions.is_empty() {
        text.push_str("  none yet\n");
    } else {
        text.push_str(&format!(
            "{}\n",
            output::table(&ctx.out, &status.latest_executions)
        ));
    }
    let oldest = status
        .gaps
        .iter()
        .map(|g| g.horas_desde_fallo)
        .fold(None, |acc: Option<f64>, h| {
            Some(acc.map_or(h, |a| a.max(h)))
        });
    match oldest {
        None => text.push_str("\nOpen gaps: none\n"),
        Some(hours) => text.push_str(&format!(
            "\nOpen gaps: {} (oldest {:.1} h)\n{}\n",
            status.gaps.len(),
            hours,
            output::table(&ctx.out, &status.gaps)
        )),
    }
    text.push_str("\nToday's metrics\n");
    if status.today.is_empty() {
        text.push_str("  no executions today\n");
    } else {
        text.push_str(&format!("{}\n", output::table(&ctx.out, &status.today)));
    }
    let configured_hooks = ctx.config.hooks.after_window.len() + ctx.config.hooks.after_run.len();
    if configured_hooks > 0 {
        text.push_str(&format!("\nPost-load hooks ({configured_hooks})\n"));
        if status.hooks.is_empty() {
            text.push_str("  none has run yet\n");
        }
        for h in &status.hooks {
            let latest = &h.latest;
            let state = if latest.failed() {
                format!(
                    "FAILED {} of {}: {}",
                    latest.fallos + latest.omitidas,
                    latest.ejecuciones + latest.omitidas,
                    latest.error.as_deref().unwrap_or("no detail")
                )
            } else {
                format!("ok ({} time(s))", latest.ejecuciones)
            };
            text.push_str(&format!(
                "  {} ({} {}): last run {}: {state}; {} run(s), {} failure(s) in all\n",
                latest.nombre,
                latest.evento,
                latest.accion,
                fmt::datetime(&latest.inicio),
                h.total_runs,
                h.total_failures
            ));
        }
    }
    if !ctx.config.checkins.is_empty() {
        text.push_str(&format!("\nCheck-ins ({})\n", ctx.config.checkins.len()));
        for c in &ctx.config.checkins {
            match status.checkins.iter().find(|s| s.nombre == c.name) {
                None => text.push_str(&format!(
                    "  {} ({}): no ping sent yet\n",
                    c.name,
                    c.service.as_str()
                )),
                Some(s) => {
                    let failures = match (&s.ultimo_fallo, &s.ultimo_error) {
                        (Some(at), Some(error)) if s.fallidos > 0 => format!(
                            ", {} failed (last {}: {error})",
                            s.fallidos,
                            fmt::datetime(at)
                        ),
                        _ => ", none failed".to_string(),
                    };
                    text.push_str(&format!(
                        "  {} ({}): {} ping(s) sent, last {}{failures}\n",
                        s.nombre,
                        s.servicio,
                        s.enviados,
                        fmt::opt_datetime(&s.ultimo_envio)
                    ));
                }
            }
        }
    }
    text
}
