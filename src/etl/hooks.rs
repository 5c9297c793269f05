//! Post-load hooks (`[hooks]`): a command or SQL statements run after a successful load, e.g.
//! to refresh a summary table. They run once the run's windows are all loaded and recorded
//! (each window's rows and its `exitoso` committed together), with the database closed, so a
//! command can open it and SQL runs in its own short write transaction. A hook is bounded by
//! its timeout and the hooks together by a budget; a failure is recorded and alerted, and
//! never undoes or blocks a load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::execute::TaskReport;
use super::plan::LAST_SECOND;
use crate::clock::Clock;
use crate::command::{self, Bounded, Failure};
use crate::config::{Config, Hook, HookAction};
use crate::tracker::Database;
use crate::tracker::integrations::HookRun;
use crate::tracker::postgres::PgDb;
use crate::tracker::vocab::{Estado, EtlTipo};

pub const AFTER_WINDOW: &str = "after_window";
pub const AFTER_RUN: &str = "after_run";

/// A hook a run would run (`--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct PlannedHook {
    pub name: String,
    pub event: &'static str,
    pub action: &'static str,
    pub tipo: Option<String>,
    pub timeout_seconds: f64,
    /// How many times, given the windows the plan would fetch (if every one loads).
    pub times: usize,
}

/// The hooks configured, and how often each would run after `windows` loaded.
pub fn plan(config: &Config, windows: &[(EtlTipo, usize)]) -> Vec<PlannedHook> {
    let loaded = |tipo: &Option<String>| -> usize {
        windows
            .iter()
            .filter(|(t, _)| tipo.as_deref().is_none_or(|want| want == t.as_str()))
            .map(|(_, n)| n)
            .sum()
    };
    let planned = |hook: &Hook, event: &'static str, times: usize| PlannedHook {
        name: hook.name.clone(),
        event,
        action: hook.action.kind(),
        tipo: hook.tipo.clone(),
        timeout_seconds: hook.timeout.as_secs_f64(),
        times,
    };
    let hooks = &config.hooks;
    hooks
        .after_window
        .iter()
        .map(|h| planned(h, AFTER_WINDOW, loaded(&h.tipo)))
        .chain(
            hooks
                .after_run
                .iter()
                .map(|h| planned(h, AFTER_RUN, usize::from(loaded(&h.tipo) > 0))),
        )
        .collect()
}

/// What one run of the hooks needs to know about the invocation.
pub struct HookContext<'a> {
    pub config: &'a Config,
    pub clock: &'a Clock,
    pub invocation: Option<i64>,
    /// `run`, `recover` or `verify`.
    pub command: &'static str,
    pub interrupt: &'a AtomicBool,
}

/// A value handed to a hook: an environment variable for a command, a variable for SQL
/// (`getvariable('klk_...')`: typed on DuckDB, text on PostgreSQL).
enum Value {
    Text(String),
    Int(i64),
    Date(chrono::NaiveDate),
    Time(Option<chrono::NaiveTime>),
}

impl Value {
    fn env(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Int(n) => n.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Time(None) => String::new(),
            Value::Time(Some(t)) if *t == LAST_SECOND => "24:00".to_string(),
            Value::Time(Some(t)) => t.format("%H:%M").to_string(),
        }
    }

    fn sql(&self) -> String {
        match self {
            Value::Text(text) => format!("'{}'", text.replace('\'', "''")),
            Value::Int(n) => n.to_string(),
            Value::Date(d) => format!("DATE '{d}'"),
            Value::Time(None) => "NULL::TIME".to_string(),
            Value::Time(Some(t)) => format!("TIME '{}'", t.format("%H:%M:%S")),
        }
    }

    /// As PostgreSQL's `getvariable` returns it: text that casts to the DuckDB variable's
    /// type (`''`, read as NULL, for no time).
    fn setting(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Int(n) => n.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Time(None) => String::new(),
            Value::Time(Some(t)) => t.format("%H:%M:%S").to_string(),
        }
    }
}

/// `(name without prefix, value)`: `KLK_ETL_<NAME>` for commands, `klk_<name>` for SQL.
type Values = Vec<(&'static str, Value)>;

fn window_values(report: &TaskReport) -> Values {
    let mut values = vec![
        ("tipo", Value::Text(report.etl_tipo.as_str().to_string())),
        ("store", Value::Text(report.ubicacion_id.clone())),
        ("store_name", Value::Text(report.ubicacion_nombre.clone())),
        ("date", Value::Date(report.fecha)),
        ("window_from", Value::Time(report.hora_desde)),
        ("window_to", Value::Time(report.hora_hasta)),
        ("window", Value::Text(report.window_text())),
        ("mode", Value::Text(report.modo.as_str().to_string())),
        ("lines", Value::Int(report.cargados as i64)),
        ("new_lines", Value::Int(report.nuevos as i64)),
    ];
    if let Some(id) = report.ejecucion_id {
        values.push(("execution_id", Value::Int(id)));
    }
    values
}

fn run_values(reports: &[TaskReport], command: &str) -> Values {
    let ok: Vec<&TaskReport> = reports
        .iter()
        .filter(|r| r.estado == Estado::Exitoso)
        .collect();
    let mut tipos: Vec<&str> = ok.iter().map(|r| r.etl_tipo.as_str()).collect();
    tipos.sort_unstable();
    tipos.dedup();
    let mut stores: Vec<&str> = ok.iter().map(|r| r.ubicacion_id.as_str()).collect();
    stores.sort_unstable();
    stores.dedup();
    vec![
        ("command", Value::Text(command.to_string())),
        ("tipos", Value::Text(tipos.join(","))),
        ("stores", Value::Text(stores.join(","))),
        ("windows", Value::Int(reports.len() as i64)),
        ("windows_ok", Value::Int(ok.len() as i64)),
        (
            "windows_failed",
            Value::Int((reports.len() - ok.len()) as i64),
        ),
        (
            "lines",
            Value::Int(
                ok.iter()
                    .filter(|r| r.etl_tipo == EtlTipo::Ventas)
                    .map(|r| r.cargados as i64)
                    .sum(),
            ),
        ),
    ]
}

fn wanted(hook: &Hook, tipo: EtlTipo) -> bool {
    hook.tipo
        .as_deref()
        .is_none_or(|want| want == tipo.as_str())
}

/// Runs the hooks for what `reports` loaded; returns one [`HookRun`] per hook that had
/// something to do. Never fails: every problem is in the runs' `fallos`/`error`.
pub fn run(ctx: &HookContext, reports: &[TaskReport]) -> Vec<HookRun> {
    let hooks = &ctx.config.hooks;
    let loaded: Vec<&TaskReport> = reports
        .iter()
        .filter(|r| r.estado == Estado::Exitoso)
        .collect();
    if hooks.is_empty() || loaded.is_empty() {
        return Vec::new();
    }
    let mut runner = Runner {
        ctx,
        started: Instant::now(),
        db: None,
        // PostgreSQL: the URL without its password (the hook gets PGPASSWORD, or its own).
        database: match &ctx.config.postgres {
            Some(target) => target.display(),
            None => std::path::absolute(&ctx.config.database)
                .unwrap_or_else(|_| ctx.config.database.clone())
                .display()
                .to_string(),
        },
    };
    let mut runs = Vec::new();
    for hook in &hooks.after_window {
        let windows: Vec<&&TaskReport> =
            loaded.iter().filter(|r| wanted(hook, r.etl_tipo)).collect();
        if windows.is_empty() {
            continue;
        }
        let mut run = runner.new_run(hook, AFTER_WINDOW);
        let started = Instant::now();
        for report in windows {
            let mut values = window_values(report);
            values.push(("command", Value::Text(ctx.command.to_string())));
            let what = format!(
                "{} {} {}",
                report.ubicacion_id,
                report.etl_tipo,
                report.window_text()
            );
            runner.once(hook, AFTER_WINDOW, values, &what, &mut run);
        }
        run.duracion_segundos = started.elapsed().as_secs_f64();
        runs.push(run);
    }
    for hook in &hooks.after_run {
        let relevant: Vec<TaskReport> = reports
            .iter()
            .filter(|r| wanted(hook, r.etl_tipo))
            .cloned()
            .collect();
        if !relevant.iter().any(|r| r.estado == Estado::Exitoso) {
            continue;
        }
        let mut run = runner.new_run(hook, AFTER_RUN);
        let started = Instant::now();
        runner.once(
            hook,
            AFTER_RUN,
            run_values(&relevant, ctx.command),
            "the run",
            &mut run,
        );
        run.duracion_segundos = started.elapsed().as_secs_f64();
        runs.push(run);
    }
    runs
}

struct Runner<'a> {
    ctx: &'a HookContext<'a>,
    started: Instant,
    /// A write connection kept across consecutive SQL hooks; closed before a command runs,
    /// so that the command can open the file.
    db: Option<Database>,
    database: String,
}

impl Runner<'_> {
    fn new_run(&self, hook: &Hook, event: &str) -> HookRun {
        HookRun {
            nombre: hook.name.clone(),
            evento: event.to_string(),
            accion: hook.action.kind().to_string(),
            inicio: self.ctx.clock.now_local(),
            duracion_segundos: 0.0,
            ejecuciones: 0,
            fallos: 0,
            omitidas: 0,
            error: None,
        }
    }

    fn once(&mut self, hook: &Hook, event: &str, values: Values, what: &str, run: &mut HookRun) {
        let budget = self.ctx.config.hooks.budget;
        if self.ctx.interrupt.load(Ordering::SeqCst) {
            run.omitidas += 1;
            run.error
                .get_or_insert_with(|| format!("{what}: not run: the run was interrupted"));
            return;
        }
        if self.started.elapsed() >= budget {
            run.omitidas += 1;
            run.error.get_or_insert_with(|| {
                format!(
                    "{what}: not run: the hooks' budget ({}) was spent",
                    crate::duration::format_duration(budget)
                )
            });
            return;
        }
        run.ejecuciones += 1;
        let result = match &hook.action {
            HookAction::Command(command) => {
                self.db = None;
                self.command(command, hook, event, &values)
            }
            HookAction::Sql(sql) => self.sql(sql, hook, event, &values),
        };
        if let Err(why) = result {
            run.fallos += 1;
            run.error.get_or_insert_with(|| format!("{what}: {why}"));
        }
    }

    fn command(
        &self,
        command: &str,
        hook: &Hook,
        event: &str,
        values: &Values,
    ) -> Result<(), String> {
        let mut env: Vec<(String, String)> = values
            .iter()
            .map(|(name, value)| {
                (
                    format!("KLK_ETL_{}", name.to_ascii_uppercase()),
                    value.env(),
                )
            })
            .collect();
        env.push(("KLK_ETL_EVENT".to_string(), event.to_string()));
        env.push(("KLK_ETL_HOOK".to_string(), hook.name.clone()));
        env.push(("KLK_ETL_DATABASE".to_string(), self.database.clone()));
        if let Some(id) = self.ctx.invocation {
            env.push(("KLK_ETL_INVOCATION_ID".to_string(), id.to_string()));
        }
        command::run(&Bounded {
            command,
            env: &env,
            stdin: None,
            timeout: hook.timeout,
            interrupt: Some(self.ctx.interrupt),
        })
        .map_err(|failure| failure.to_string())
    }

    fn sql(&mut self, sql: &str, hook: &Hook, event: &str, values: &Values) -> Result<(), String> {
        let mut db = match self.db.take() {
            Some(db) => db,
            None => Database::connect(self.ctx.config)
                .map_err(|e| crate::tracker::one_line(&e.to_string()))?,
        };
        let mut variables: Vec<(String, &Value)> = values
            .iter()
            .map(|(name, value)| (format!("klk_{name}"), value))
            .collect();
        let event = Value::Text(event.to_string());
        let name = Value::Text(hook.name.clone());
        let invocation = self.ctx.invocation.map(Value::Int);
        variables.push(("klk_event".to_string(), &event));
        variables.push(("klk_hook".to_string(), &name));
        if let Some(id) = &invocation {
            variables.push(("klk_invocation_id".to_string(), id));
        }
        let result = match &mut db {
            Database::DuckDb(file) => {
                let literals: Vec<(String, String)> = variables
                    .iter()
                    .map(|(name, value)| (name.clone(), value.sql()))
                    .collect();
                run_sql(
                    file.conn(),
                    sql,
                    &literals,
                    hook.timeout,
                    self.ctx.interrupt,
                )
            }
            Database::Postgres(server) => {
                let settings: Vec<(String, String)> = variables
                    .iter()
                    .map(|(name, value)| (name.clone(), value.setting()))
                    .collect();
                run_sql_on_server(server, sql, &settings, hook.timeout, self.ctx.interrupt)
            }
        };
        self.db = Some(db);
        result
    }
}

/// Watches `work` on another thread: after `timeout`, or once the run is interrupted,
/// calls `stop` again and again until `work` returns; tells whether it had to.
fn bounded<T>(
    timeout: Duration,
    interrupt: &AtomicBool,
    stop: impl Fn() + Sync,
    work: impl FnOnce() -> T,
) -> (T, bool) {
    let done = AtomicBool::new(false);
    let stopped = AtomicBool::new(false);
    let started = Instant::now();
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if started.elapsed() >= timeout || interrupt.load(Ordering::SeqCst) {
                    stopped.store(true, Ordering::SeqCst);
                    // Again and again: an interrupt only stops the statement running.
                    stop();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let result = work();
        done.store(true, Ordering::SeqCst);
        result
    });
    (result, stopped.load(Ordering::SeqCst))
}

/// Why a hook's SQL failed: stopped by its timeout or the run's interruption, or its error.
fn sql_failure(stopped: bool, timeout: Duration, interrupt: &AtomicBool, error: String) -> String {
    if !stopped {
        format!("SQL failed: {error}")
    } else if interrupt.load(Ordering::SeqCst) {
        Failure::Interrupted.to_string()
    } else {
        Failure::TimedOut(timeout).to_string()
    }
}

/// [`run_sql`] on PostgreSQL: the values are transaction-local settings (`klk.store`...) that
/// `getvariable('klk_store')` reads; a statement running past `timeout` is cancelled.
fn run_sql_on_server(
    server: &mut PgDb,
    sql: &str,
    settings: &[(String, String)],
    timeout: Duration,
    interrupt: &AtomicBool,
) -> Result<(), String> {
    let canceller = server.canceller();
    let client = server.client();
    let (result, stopped) = bounded(
        timeout,
        interrupt,
        || canceller.cancel(),
        || {
            let mut tx = client.transaction()?;
            for (name, value) in settings {
                let setting = format!("klk.{}", name.trim_start_matches("klk_"));
                tx.execute("SELECT set_config($1, $2, true)", &[&setting, value])?;
            }
            tx.batch_execute(sql)?;
            tx.commit()
        },
    );
    result.map_err(|err| {
        sql_failure(
            stopped,
            timeout,
            interrupt,
            crate::tracker::postgres::describe(&err),
        )
    })
}

/// Runs `sql` in one transaction on `conn`, interrupted (and rolled back) after `timeout`.
fn run_sql(
    conn: &duckdb::Connection,
    sql: &str,
    variables: &[(String, String)],
    timeout: Duration,
    interrupt: &AtomicBool,
) -> Result<(), String> {
    let one_line = |e: duckdb::Error| crate::tracker::one_line(&e.to_string());
    for (name, literal) in variables {
        conn.execute_batch(&format!("SET VARIABLE {name} = {literal}"))
            .map_err(one_line)?;
    }
    let handle = conn.interrupt_handle();
    let (result, stopped) = bounded(
        timeout,
        interrupt,
        || handle.interrupt(),
        || {
            conn.execute_batch("BEGIN TRANSACTION")
                .and_then(|()| conn.execute_batch(sql))
                .and_then(|()| conn.execute_batch("COMMIT"))
        },
    );
    result.map_err(|err| {
        let _ = conn.execute_batch("ROLLBACK");
        sql_failure(stopped, timeout, interrupt, one_line(err))
    })
}
