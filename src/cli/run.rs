use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::NaiveDate;

use super::{Ctx, parse_duration_arg, parse_positive};
use crate::etl::execute::TaskReport;
use crate::etl::run::{self, RunOutcome, RunRequest};
use crate::etl::tasks::{PlanOptions, Scope, Task};
use crate::exit::{Exit, UsageError, exit_code_for};
use crate::monitor::checkins::{Checkins, RunEnd};
use crate::output::progress::RunProgress;
use crate::output::{self, Format, Tabular, estado_color, fmt};
use crate::tracker::vocab::{Estado, EtlTipo};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Only this tipo [default: both]
    #[arg(long, value_enum)]
    pub tipo: Option<EtlTipo>,
    /// Only these stores (repeat or separate with commas)
    #[arg(long = "store", value_delimiter = ',', value_name = "ID")]
    pub stores: Vec<String>,
    /// Whole days instead of the incremental windows (modo completo); with --date or --from/--to
    #[arg(long)]
    pub full: bool,
    /// The day for --full: YYYY-MM-DD, `today` or `yesterday`
    #[arg(long, value_parser = parse_day, conflicts_with_all = ["from", "to"], requires = "full")]
    pub date: Option<DayArg>,
    /// First day for --full
    #[arg(long, value_parser = parse_day, requires_all = ["full", "to"])]
    pub from: Option<DayArg>,
    /// Last day for --full (included)
    #[arg(long, value_parser = parse_day, requires_all = ["full", "from"])]
    pub to: Option<DayArg>,
    #[command(flatten)]
    pub common: RunnerArgs,
    /// Do not recover gaps in this run
    #[arg(long)]
    pub no_recover: bool,
    /// Do not re-pull closed days in this run (see [verification] in the configuration)
    #[arg(long)]
    pub no_verify: bool,
    /// Gaps to recover at most in this run
    #[arg(long, default_value = "5", value_parser = parse_count, allow_negative_numbers = true)]
    pub max_gaps: usize,
    /// Stop starting recoveries after this long [default: half the slot]
    #[arg(long, value_parser = parse_duration_arg, allow_hyphen_values = true, value_name = "DURATION")]
    pub recovery_budget: Option<Duration>,
    /// Leave slots that closed less than this ago for the next run
    #[arg(long, default_value = "2m", value_parser = parse_duration_arg, allow_hyphen_values = true, value_name = "DURATION")]
    pub settle_lag: Duration,
    /// Fetch again this much before each store's watermark, for lines that arrive late
    #[arg(long, default_value = "30m", value_parser = parse_duration_arg, allow_hyphen_values = true, value_name = "DURATION")]
    pub overlap: Duration,
    /// After the run, write Prometheus metrics here atomically [default: monitoring.textfile]
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<std::path::PathBuf>,
}

/// Options shared by `run` and `recover`.
#[derive(Debug, clap::Args)]
pub struct RunnerArgs {
    /// Stores fetched in parallel
    #[arg(long, default_value = "4", value_parser = parse_positive, allow_negative_numbers = true)]
    pub jobs: u32,
    /// Print the plan (what would be unstuck, recovered and fetched); change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How long to wait for another run of the same tipo (DuckDB), or for a runner slot (PostgreSQL: database.max_runners), before giving up (exit 3)
    #[arg(long, default_value = "10s", value_parser = parse_duration_arg, allow_hyphen_values = true, value_name = "DURATION")]
    pub wait: Duration,
}

/// A day as given on the command line; relative days resolve against "now".
#[derive(Debug, Clone, Copy)]
pub enum DayArg {
    Date(NaiveDate),
    Today,
    Yesterday,
}

impl DayArg {
    pub fn resolve(self, today: NaiveDate) -> NaiveDate {
        match self {
            DayArg::Date(date) => date,
            DayArg::Today => today,
            DayArg::Yesterday => today - chrono::Days::new(1),
        }
    }
}

pub(crate) fn parse_day(text: &str) -> Result<DayArg, String> {
    match text {
        "today" => Ok(DayArg::Today),
        "yesterday" => Ok(DayArg::Yesterday),
        _ => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(DayArg::Date)
            .map_err(|_| format!("expected YYYY-MM-DD, `today` or `yesterday`, got '{text}'")),
    }
}

fn parse_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n as usize),
        _ => Err(format!(
            "must be zero or a positive whole number, got '{text}'"
        )),
    }
}

pub(crate) fn tipos(tipo: Option<EtlTipo>) -> Vec<EtlTipo> {
    tipo.map_or_else(|| vec![EtlTipo::Ventas, EtlTipo::Inventario], |t| vec![t])
}

impl RunArgs {
    pub fn exec(self, ctx: &Ctx) -> anyhow::Result<Exit> {
        ctx.check_stores(&self.stores)?;
        let today = ctx.now_local().date();
        let scope = match (self.full, self.date, self.from, self.to) {
            (false, ..) => Scope::Incremental,
            (true, Some(day), _, _) => {
                let day = day.resolve(today);
                Scope::Days { from: day, to: day }
            }
            (true, None, Some(from), Some(to)) => Scope::Days {
                from: from.resolve(today),
                to: to.resolve(today),
            },
            (true, ..) => {
                return Err(UsageError("--full needs --date D or --from D1 --to D2".into()).into());
            }
        };
        if let Scope::Days { from, to } = scope {
            check_days(from, to, today)?;
        }
        let slot = Duration::from_secs(u64::from(ctx.config.tracking.slot_minutes) * 60);
        let request = RunRequest {
            plan: PlanOptions {
                tipos: tipos(self.tipo),
                stores: self.stores,
                scope,
                recover: !self.no_recover && self.max_gaps > 0,
                max_gaps: self.max_gaps,
                ignore_backoff: false,
                settle_lag: chrono::Duration::from_std(self.settle_lag)?,
                overlap: chrono::Duration::from_std(self.overlap)?,
                gaps_since: None,
                max_verifications: if self.no_verify {
                    0
                } else {
                    ctx.config.tracking.verification.max_per_run as usize
                },
            },
            jobs: self.common.jobs as usize,
            recovery_budget: self.recovery_budget.unwrap_or(slot / 2),
            verification_budget: ctx.config.tracking.verification.budget,
            lock_wait: self.common.wait,
            dry_run: self.common.dry_run,
            extra: Vec::new(),
            command: "run",
            requested_by: None,
        };
        execute_and_report(ctx, &request, self.textfile.as_deref())
    }
}

pub(crate) fn check_days(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> anyhow::Result<()> {
    if to < from {
        return Err(UsageError(format!("--from {from} is after --to {to}")).into());
    }
    if to > today {
        return Err(UsageError(format!(
            "{to} is in the future (today is {today} in the stores' time zone)"
        ))
        .into());
    }
    Ok(())
}

/// Runs, prints the summary (stdout) and returns the exit code: 0 all ok; 1 some store
/// failed or the run was interrupted; 4 the API was unreachable for every store.
pub(crate) fn execute_and_report(
    ctx: &Ctx,
    request: &RunRequest,
    textfile: Option<&std::path::Path>,
) -> anyhow::Result<Exit> {
    let interrupt = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends the process at once.
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&interrupt))?;
        signal_hook::flag::register(signal, Arc::clone(&interrupt))?;
    }
    let started = std::time::Instant::now();
    let host = crate::tracker::process::host_name();
    // The dead-man's switch: the cron entry point says it started (in the background).
    let tipos: Vec<&str> = request.plan.tipos.iter().map(|t| t.as_str()).collect();
    let checkins = (request.command == "run" && !request.dry_run)
        .then(|| Checkins::start(&ctx.config, &tipos, &host, ctx.clock.now_local()))
        .filter(|c| !c.is_empty());
    let progress = RunProgress::new(
        ctx.out.stderr_is_terminal,
        ctx.out.quiet || ctx.out.format == Format::Json,
    );
    let outcome = run::run(&ctx.config, &ctx.clock, request, &interrupt, &progress);
    progress.finish();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(err) => {
            let err = anyhow::Error::from(err);
            if let Some(checkins) = checkins {
                let end = RunEnd {
                    exit_code: exit_code_for(&err) as u8,
                    message: crate::exit::one_line(&err),
                    duration: started.elapsed(),
                };
                finish_checkins(ctx, checkins, &end);
            }
            return Err(err);
        }
    };
    if outcome.dry_run {
        print_plan(ctx, &outcome, request)?;
        return Ok(Exit::Ok);
    }
    let summary = print_summary(ctx, &outcome, started.elapsed())?;
    let exit = if outcome.api_unreachable() {
        Exit::ApiUnreachable
    } else if outcome.interrupted || outcome.failed().next().is_some() {
        Exit::SomeFailed
    } else {
        Exit::Ok
    };
    let mail = summary_mail(ctx, request, &outcome, &summary, exit);
    after_run(ctx, textfile, mail.as_ref(), || {
        checkins.map(|checkins| {
            (
                checkins,
                RunEnd {
                    exit_code: exit as u8,
                    message: summary.clone(),
                    duration: started.elapsed(),
                },
            )
        })
    });
    Ok(exit)
}

/// The per-run summary e-mail (`[alerts.email] run_summary`), if this run sends one.
fn summary_mail(
    ctx: &Ctx,
    request: &RunRequest,
    outcome: &RunOutcome,
    summary: &str,
    exit: Exit,
) -> Option<crate::monitor::SummaryMail> {
    use crate::config::RunSummary;
    let email = ctx.config.alerts.email.as_ref()?;
    let wanted = match email.run_summary {
        RunSummary::Never => false,
        RunSummary::Always => true,
        RunSummary::Failures => exit != Exit::Ok,
    };
    if !wanted || request.command != "run" {
        return None;
    }
    let now = ctx.clock.now_local();
    let state = match exit {
        Exit::Ok => "ok",
        Exit::ApiUnreachable => "API UNREACHABLE",
        _ => "FAILURES",
    };
    let mut text = format!(
        "KLK-ETL run {state} at {} ({}): {summary}\n\n",
        now.format("%Y-%m-%d %H:%M"),
        ctx.config.timezone.name()
    );
    let failed: Vec<&TaskReport> = outcome.failed().collect();
    if failed.is_empty() {
        text.push_str("Every window loaded.\n");
    } else {
        text.push_str(&format!("Windows that failed ({}):\n", failed.len()));
        for r in failed {
            text.push_str(&format!(
                "  {} {} {} {} {}: {}\n",
                r.ubicacion_id,
                r.ubicacion_nombre,
                r.etl_tipo,
                r.window_text(),
                r.estado,
                r.error_mensaje
                    .as_ref()
                    .map(|m| format!("{}: {m}", fmt::opt(&r.error_tipo)))
                    .unwrap_or_default()
            ));
        }
        text.push_str("\nA failed window is a gap: the next runs recover it (`klk-etl gaps`).\n");
    }
    let loaded: usize = outcome
        .reports
        .iter()
        .filter(|r| r.estado == Estado::Exitoso)
        .count();
    text.push_str(&format!(
        "\nWindows loaded: {loaded} of {}.\n",
        outcome.reports.len()
    ));
    for hook in outcome.hooks.iter().filter(|h| h.failed()) {
        text.push_str(&format!(
            "Hook '{}' failed: {}\n",
            hook.nombre,
            hook.error.as_deref().unwrap_or_default()
        ));
    }
    Some(crate::monitor::SummaryMail {
        key: format!("resumen:{}", now.format("%Y-%m-%dT%H:%M:%S%.3f")),
        text,
    })
}

/// Sends the end pings, records every ping's outcome (for `status` and the Prometheus
/// output) and warns about the ones that failed. Never fails the run.
fn finish_checkins(ctx: &Ctx, checkins: Checkins, end: &RunEnd) {
    let pings = checkins.finish(&ctx.config, end, ctx.clock.now_local());
    for ping in &pings {
        if let Some(error) = &ping.error {
            ctx.out.warn(&format!(
                "check-in '{}' ({}) failed: {error}",
                ping.nombre, ping.servicio
            ));
        }
    }
    let recorded = crate::tracker::Database::connect(&ctx.config)
        .and_then(|mut db| crate::tracker::integrations::record_pings(&mut db.session(), &pings));
    if let Err(err) = recorded {
        ctx.out.warn(&format!(
            "check-in results not recorded: {}",
            crate::tracker::one_line(&err.to_string())
        ));
    }
}

impl Tabular for TaskReport {
    fn headers() -> Vec<&'static str> {
        vec![
            "store", "name", "tipo", "window", "mode", "state", "rows", "new", "invoices", "usd",
            "secs", "error",
        ]
    }

    fn cells(&self) -> Vec<String> {
        let mut cells = self.csv_cells();
        let last = cells.len() - 1;
        cells[last] = fmt::short(
            &self
                .error_mensaje
                .as_ref()
                .map(|m| format!("{}: {m}", fmt::opt(&self.error_tipo))),
            60,
        );
        cells
    }

    fn csv_cells(&self) -> Vec<String> {
        vec![
            self.ubicacion_id.clone(),
            self.ubicacion_nombre.clone(),
            self.etl_tipo.to_string(),
            self.window_text(),
            self.modo.to_string(),
            self.estado.to_string(),
            self.cargados.to_string(),
            self.nuevos.to_string(),
            self.facturas.to_string(),
            fmt::float(self.total_usd, 2),
            fmt::float(self.duracion_segundos, 1),
            self.error_mensaje
                .as_ref()
                .map(|m| format!("{}: {m}", fmt::opt(&self.error_tipo)))
                .unwrap_or_default(),
        ]
    }

    fn color(&self, column: usize) -> Option<comfy_table::Color> {
        (column == 5)
            .then(|| estado_color(self.estado.as_str()))
            .flatten()
    }
}

impl Tabular for Task {
    fn headers() -> Vec<&'static str> {
        vec!["store", "name", "tipo", "window", "mode"]
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.ubicacion_id.clone(),
            self.ubicacion_nombre.clone(),
            self.tipo.to_string(),
            self.window.to_string(),
            self.modo.to_string(),
        ]
    }
}

fn print_plan(ctx: &Ctx, outcome: &RunOutcome, request: &RunRequest) -> anyhow::Result<()> {
    if ctx.out.format == Format::Json {
        output::emit_json(outcome)?;
        return Ok(());
    }
    let plan = &outcome.plan;
    let tasks: Vec<Task> = plan.queue();
    if ctx.out.format == Format::Csv {
        output::emit(&ctx.out, &tasks, "")?;
        return Ok(());
    }
    let mut text = String::from("dry run: nothing fetched, nothing written\n");
    text.push_str(&format!(
        "\nWould unstick {} execution(s){}\n",
        outcome.unstuck.len(),
        if outcome.unstuck.is_empty() { "" } else { ":" }
    ));
    for stuck in &outcome.unstuck {
        text.push_str(&format!(
            "  {} {} {} ({})\n",
            stuck.execution.id,
            stuck.execution.ubicacion_id,
            stuck.execution.etl_tipo,
            stuck.reason.describe()
        ));
    }
    text.push_str(&format!(
        "\nWould recover {} gap(s)\n",
        plan.recoveries.len()
    ));
    if !plan.recoveries.is_empty() {
        text.push_str(&format!("{}\n", output::table(&ctx.out, &plan.recoveries)));
    }
    if !plan.deferred.is_empty() {
        text.push_str(&format!(
            "\nLeft for later: {} gap(s)\n",
            plan.deferred.len()
        ));
        for d in &plan.deferred {
            text.push_str(&format!(
                "  {} {} {} {}-{}: {}\n",
                d.gap.ubicacion_id,
                d.gap.etl_tipo,
                d.gap.fecha_desde,
                fmt::time(&d.gap.hora_desde),
                fmt::time(&d.gap.hora_hasta),
                d.reason
            ));
        }
    }
    text.push_str(&format!("\nWould fetch {} window(s)\n", plan.tasks.len()));
    if !plan.tasks.is_empty() {
        text.push_str(&format!("{}\n", output::table(&ctx.out, &plan.tasks)));
    }
    if !plan.verifications.is_empty() || !plan.verifications_deferred.is_empty() {
        text.push_str(&format!(
            "\nWould verify {} closed day(s) (whole-day re-pull)\n",
            plan.verifications.len()
        ));
        if !plan.verifications.is_empty() {
            text.push_str(&format!(
                "{}\n",
                output::table(&ctx.out, &plan.verifications)
            ));
        }
        if !plan.verifications_deferred.is_empty() {
            text.push_str(&format!(
                "\nLeft for later: {} day(s) to verify\n",
                plan.verifications_deferred.len()
            ));
            for d in &plan.verifications_deferred {
                text.push_str(&format!(
                    "  {} ventas {}: {}\n",
                    d.day.ubicacion_id, d.day.fecha, d.reason
                ));
            }
        }
    }
    if !outcome.planned_hooks.is_empty() {
        text.push_str(&format!(
            "\nWould run {} hook(s) after the loads succeed:\n",
            outcome.planned_hooks.len()
        ));
        for hook in &outcome.planned_hooks {
            let when = match hook.event {
                crate::etl::hooks::AFTER_WINDOW => format!(
                    "after each loaded {}window ({} if every window loads)",
                    hook.tipo
                        .as_ref()
                        .map(|t| format!("{t} "))
                        .unwrap_or_default(),
                    hook.times
                ),
                _ => format!(
                    "after the run{} ({} if a window loads)",
                    hook.tipo
                        .as_ref()
                        .map(|t| format!(", when {t} loaded"))
                        .unwrap_or_default(),
                    hook.times
                ),
            };
            text.push_str(&format!(
                "  {} ({}, {}): {when}, each within {}\n",
                hook.name,
                hook.event,
                hook.action,
                crate::duration::format_duration(Duration::from_secs_f64(hook.timeout_seconds))
            ));
        }
    }
    let tipos: Vec<&str> = request.plan.tipos.iter().map(|t| t.as_str()).collect();
    let checkins = crate::monitor::checkins::for_tipos(&ctx.config, &tipos);
    if request.command == "run" && !checkins.is_empty() {
        text.push_str(&format!(
            "\nWould ping {} check-in(s) at the start and end of a run: {}\n",
            checkins.len(),
            checkins
                .iter()
                .map(|c| format!("{} ({})", c.name, c.service.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    output::emit_text(&text)?;
    Ok(())
}

/// Alerts (and the summary e-mail), the end check-ins and the Prometheus textfile follow
/// every run, in that order. Their failures are warnings: the data is loaded and recorded
/// whatever happens to the monitoring.
fn after_run(
    ctx: &Ctx,
    textfile: Option<&std::path::Path>,
    summary: Option<&crate::monitor::SummaryMail>,
    checkins: impl FnOnce() -> Option<(Checkins, RunEnd)>,
) {
    let now_utc = ctx.clock.now_utc();
    let now_local = ctx.clock.now_local();
    let path = textfile.or(ctx.config.monitoring.textfile.as_deref());
    match crate::monitor::check_alerts_with_summary(&ctx.config, now_utc, now_local, false, summary)
    {
        Ok(outcome) => {
            for (id, error) in &outcome.failed {
                ctx.out
                    .warn(&format!("alert #{id} not delivered yet: {error}"));
            }
        }
        Err(err) => ctx.out.warn(&format!(
            "alerts not evaluated: {}",
            crate::tracker::one_line(&err.to_string())
        )),
    }
    if let Some((checkins, end)) = checkins() {
        finish_checkins(ctx, checkins, &end);
    }
    if let Some(path) = path {
        let written = crate::monitor::prometheus_text(&ctx.config, now_utc, now_local)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                crate::monitor::prometheus::write_textfile(path, &text).map_err(|e| e.to_string())
            });
        if let Err(err) = written {
            ctx.out.warn(&format!(
                "metrics textfile {} not written: {err}",
                path.display()
            ));
        }
    }
}

/// Prints the windows (stdout) and the summary line (stderr); returns the line.
fn print_summary(ctx: &Ctx, outcome: &RunOutcome, took: Duration) -> anyhow::Result<String> {
    match ctx.out.format {
        Format::Json => output::emit_json(outcome)?,
        Format::Csv | Format::Prometheus => output::emit(&ctx.out, &outcome.reports, "")?,
        Format::Table => {
            if !outcome.reports.is_empty() {
                output::emit_text(&output::table(&ctx.out, &outcome.reports).to_string())?;
            }
        }
    }
    let ok = outcome
        .reports
        .iter()
        .filter(|r| r.estado == Estado::Exitoso)
        .count();
    let failed = outcome.reports.len() - ok;
    let recovered = outcome
        .reports
        .iter()
        .filter(|r| {
            r.modo == crate::tracker::vocab::Modo::Recuperacion && r.estado == Estado::Exitoso
        })
        .count();
    let lines: usize = outcome
        .reports
        .iter()
        .filter(|r| r.etl_tipo == EtlTipo::Ventas)
        .map(|r| r.cargados)
        .sum();
    let invoices: usize = outcome.reports.iter().map(|r| r.facturas).sum();
    let usd: f64 = outcome.reports.iter().map(|r| r.total_usd).sum();
    let mut loaded = format!("{lines} lines, {invoices} invoices, {usd:.2} USD");
    let stock: Vec<&TaskReport> = outcome
        .reports
        .iter()
        .filter(|r| r.etl_tipo == EtlTipo::Inventario)
        .collect();
    if !stock.is_empty() {
        let articles: usize = stock.iter().map(|r| r.cargados).sum();
        loaded.push_str(&format!(", {articles} articles"));
    }
    let later = outcome.deferred.len()
        + outcome.plan.verifications_deferred.len()
        + outcome.over_budget.len();
    let verified: Vec<_> = outcome
        .reports
        .iter()
        .filter_map(|r| r.verificacion)
        .collect();
    let verification = if verified.is_empty() {
        String::new()
    } else {
        format!(
            "; {} day(s) verified: {} line(s) found late, {} changed, {} vanished",
            verified.len(),
            verified.iter().map(|d| d.tardias).sum::<i64>(),
            verified.iter().map(|d| d.cambiadas).sum::<i64>(),
            verified.iter().map(|d| d.desaparecidas).sum::<i64>()
        )
    };
    let hooks = if outcome.hooks.is_empty() {
        String::new()
    } else {
        let failed_hooks = outcome.hooks.iter().filter(|h| h.failed()).count();
        format!(
            "; {} hook(s) ran {} time(s), {failed_hooks} failed",
            outcome.hooks.len(),
            outcome.hooks.iter().map(|h| h.ejecuciones).sum::<i64>()
        )
    };
    let line = format!(
        "{}{} window(s) ok, {} failed; {} gap(s) recovered, {} left for later{}; unstuck {}; {}{hooks}; {:.1} s",
        if outcome.interrupted {
            "interrupted: "
        } else {
            ""
        },
        ok,
        failed,
        recovered,
        later,
        verification,
        outcome.unstuck.len(),
        loaded,
        took.as_secs_f64()
    );
    ctx.out.note(&line);
    for hook in outcome.hooks.iter().filter(|h| h.failed()) {
        ctx.out.warn(&format!(
            "hook '{}' ({}) failed {} of {} time(s): {}",
            hook.nombre,
            hook.evento,
            hook.fallos + hook.omitidas,
            hook.ejecuciones + hook.omitidas,
            hook.error.as_deref().unwrap_or_default()
        ));
    }
    for warning in &outcome.warnings {
        ctx.out.warn(warning);
    }
    Ok(line)
}
