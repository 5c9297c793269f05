//! One invocation of the runner, as cron calls it: lock the tipos, close what dead
//! processes left open, plan (recovery, then the normal windows), fetch and load.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Serialize;

use super::execute::{self, ExecuteOptions, Execution, Progress, TaskReport};
use super::hooks::{self, HookContext, PlannedHook};
use super::runlock::{RunLock, RunLockError};
use super::tasks::{self, Deferred, Plan, PlanOptions, Task};
use crate::clock::Clock;
use crate::config::Config;
use crate::klk::{Client, ClientOptions, InvalidOptions, RetryPolicy};
use crate::tracker::engine::Session;
use crate::tracker::integrations::{self, HookRun};
use crate::tracker::invocations::{self, InvocationCounts};
use crate::tracker::process::host_name;
use crate::tracker::unstick::{self, StuckExecution, UnstickOptions};
use crate::tracker::vocab::{ErrorTipo, Estado, Modo};
use crate::tracker::{Access, Database, Db, TrackerError};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Lock(#[from] RunLockError),
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    #[error(transparent)]
    Client(#[from] InvalidOptions),
}

#[derive(Debug, Clone)]
pub struct RunRequest {
    pub plan: PlanOptions,
    pub jobs: usize,
    pub recovery_budget: Duration,
    pub verification_budget: Duration,
    /// How long to wait for another run of the same tipo before giving up.
    pub lock_wait: Duration,
    pub dry_run: bool,
    /// Explicit tasks (an operator's `recover --date`), run before the plan's.
    pub extra: Vec<Task>,
    /// Recorded in `etl_invocaciones`: `run` or `recover`.
    pub command: &'static str,
    /// Recorded in `etl_invocaciones.solicitado_por`: the `serve` token that asked.
    pub requested_by: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RunOutcome {
    pub dry_run: bool,
    pub unstuck: Vec<StuckExecution>,
    pub plan: Plan,
    pub reports: Vec<TaskReport>,
    /// Gaps not attempted this time (limit, backoff, time budget), for the next run.
    pub deferred: Vec<Deferred>,
    pub over_budget: Vec<Task>,
    pub interrupted: bool,
    /// What the post-load hooks did (`[hooks]`).
    pub hooks: Vec<HookRun>,
    /// A dry run: the hooks a run would run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub planned_hooks: Vec<PlannedHook>,
    /// What went wrong after the loads without changing them (e.g. recording the hooks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// PostgreSQL: the stores (`tipo/store`) another runner held while this one looked at
    /// them; their windows are that runner's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claimed_elsewhere: Vec<String>,
}

impl RunOutcome {
    pub fn failed(&self) -> impl Iterator<Item = &TaskReport> {
        self.reports.iter().filter(|r| r.estado != Estado::Exitoso)
    }

    /// Every task failed, each for lack of the API (refused, reset, timed out).
    pub fn api_unreachable(&self) -> bool {
        !self.reports.is_empty()
            && self.reports.iter().all(|r| {
                matches!(
                    r.error_tipo,
                    Some(ErrorTipo::Conexion) | Some(ErrorTipo::Timeout)
                ) && r.estado == Estado::Fallido
            })
    }
}

pub fn client_options(config: &Config) -> ClientOptions {
    let api = &config.api;
    ClientOptions {
        base_url: api.base_url.clone(),
        connect_timeout: api.connect_timeout,
        read_timeout: api.read_timeout,
        total_timeout: api.read_timeout + api.connect_timeout,
        token: api.token.clone(),
        headers: api.headers.clone(),
        ca_file: api.ca_file.clone(),
        proxy: api.proxy.clone(),
        retry: RetryPolicy {
            max_attempts: api.max_attempts,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: api.retry_max_elapsed,
        },
    }
}

/// How an invocation ended: `exitoso`, `parcial` (some window failed), `interrumpido`, or
/// `fallido` when the run itself failed (e.g. the database refused a write); its counts.
pub(crate) fn invocation_end(executed: Option<&Execution>) -> (&'static str, InvocationCounts) {
    let Some(done) = executed else {
        return ("fallido", InvocationCounts::default());
    };
    let failed = done
        .reports
        .iter()
        .filter(|r| r.estado != Estado::Exitoso)
        .count();
    let estado = if done.interrupted {
        "interrumpido"
    } else if failed > 0 {
        "parcial"
    } else {
        "exitoso"
    };
    let counts = InvocationCounts {
        ventanas: done.reports.len() as i64,
        ventanas_fallidas: failed as i64,
        gaps_recuperados: done
            .reports
            .iter()
            .filter(|r| r.modo == Modo::Recuperacion && r.estado == Estado::Exitoso)
            .count() as i64,
        lineas: done
            .reports
            .iter()
            .filter(|r| r.etl_tipo == crate::tracker::vocab::EtlTipo::Ventas)
            .map(|r| r.cargados as i64)
            .sum(),
    };
    (estado, counts)
}

/// Closes the invocation's row (see [`invocation_end`]).
fn record_end(
    config: &Config,
    clock: &Clock,
    db: Option<Db>,
    id: i64,
    executed: Option<&Execution>,
) -> Result<(), TrackerError> {
    let (estado, counts) = invocation_end(executed);
    let db = match db {
        Some(db) => db,
        None => Db::connect(
            &config.database,
            Access::Write,
            config.tracking.lock_timeout,
        )?,
    };
    invocations::finish(
        &mut Session::DuckDb(db.conn()),
        id,
        clock.now_local(),
        estado,
        &counts,
    )
}

pub fn run(
    config: &Config,
    clock: &Clock,
    request: &RunRequest,
    interrupt: &AtomicBool,
    progress: &dyn Progress,
) -> Result<RunOutcome, RunError> {
    let client = Arc::new(Client::new(client_options(config))?);
    if let Some(target) = &config.postgres {
        return super::shared::run(config, target, clock, request, interrupt, progress, client);
    }
    let lock = if request.dry_run {
        None
    } else {
        Some(RunLock::acquire(
            &config.database,
            &request.plan.tipos,
            request.lock_wait,
        )?)
    };
    let access = if request.dry_run {
        Access::Read
    } else {
        Access::Write
    };
    let db = match Db::open(config, access, clock.now_utc()) {
        Ok(db) => db,
        Err(err) => {
            // A path that is not a usable database keeps nothing of ours beside it (a busy
            // one is in use: its lock files are another run's too).
            if let Some(lock) = lock
                && !matches!(err, TrackerError::Busy { .. })
            {
                lock.release_and_remove_created();
            }
            return Err(err.into());
        }
    };
    run_locked(config, clock, request, interrupt, progress, client, db)
}

fn run_locked(
    config: &Config,
    clock: &Clock,
    request: &RunRequest,
    interrupt: &AtomicBool,
    progress: &dyn Progress,
    client: Arc<Client>,
    db: Db,
) -> Result<RunOutcome, RunError> {
    let now_local = clock.now_local();

    // 1. Executions left open by a process that is gone, or older than the threshold.
    let unstick_options = UnstickOptions {
        now_local,
        older_than: config.tracking.stuck_after,
        this_host: host_name(),
    };
    let tipos = tipos_text(request);
    // One open for unstick and planning: each open of a large file costs tens of ms.
    let (unstuck, invocation, mut plan) = if request.dry_run {
        let session = &mut Session::DuckDb(db.conn());
        let unstuck = unstick::find(session, &unstick_options)?;
        let plan = tasks::build(session, config, clock.now_local(), &request.plan)?;
        (unstuck, None, plan)
    } else {
        // Recorded first, so even a run with nothing to do (or one that dies) shows.
        let session = &mut Session::DuckDb(db.conn());
        let invocation = invocations::start(
            session,
            request.command,
            &tipos,
            now_local,
            request.requested_by.as_deref(),
        )?;
        let stuck = unstick::find(session, &unstick_options)?;
        if !stuck.is_empty() {
            unstick::apply(session, &stuck, now_local)?;
        }
        // 2 and 3. Recovery and the normal windows.
        let plan = tasks::build(session, config, clock.now_local(), &request.plan)?;
        (stuck, Some((invocation, db)), plan)
    };
    add_explicit(&mut plan, request);
    if request.dry_run {
        return Ok(dry_run_outcome(config, unstuck, plan));
    }
    let (invocation, db) = invocation.unzip();
    let (executed, db) = execute::execute(
        config,
        clock,
        client,
        plan.queue(),
        &ExecuteOptions {
            jobs: request.jobs,
            recovery_budget: request.recovery_budget,
            verification_budget: request.verification_budget,
        },
        interrupt,
        progress,
        db,
    );
    if let Some(id) = invocation {
        record_end(config, clock, db, id, executed.as_ref().ok())?;
    }
    Ok(finish(
        config,
        clock,
        request,
        interrupt,
        Loaded {
            unstuck,
            plan,
            execution: executed?,
            invocation,
            claimed_elsewhere: Vec::new(),
        },
    ))
}

/// The tipos a request runs, as recorded in `etl_invocaciones.tipos`.
pub(crate) fn tipos_text(request: &RunRequest) -> String {
    request
        .plan
        .tipos
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Explicit windows (`recover --date`, `verify --date`) go first, ahead of the gaps and the
/// pending days, in the plan a dry run shows as in the one executed.
pub(crate) fn add_explicit(plan: &mut Plan, request: &RunRequest) {
    let (verify_first, recover_first): (Vec<Task>, Vec<Task>) = request
        .extra
        .iter()
        .cloned()
        .partition(|task| task.modo == Modo::Verificacion);
    plan.recoveries.splice(0..0, recover_first);
    plan.verifications.splice(0..0, verify_first);
}

/// What a dry run shows: the plan, and the hooks a run would run.
pub(crate) fn dry_run_outcome(
    config: &Config,
    unstuck: Vec<StuckExecution>,
    plan: Plan,
) -> RunOutcome {
    let mut windows: Vec<(crate::tracker::vocab::EtlTipo, usize)> = Vec::new();
    for task in plan.queue() {
        match windows.iter_mut().find(|(tipo, _)| *tipo == task.tipo) {
            Some((_, n)) => *n += 1,
            None => windows.push((task.tipo, 1)),
        }
    }
    RunOutcome {
        dry_run: true,
        unstuck,
        deferred: plan.deferred.clone(),
        planned_hooks: hooks::plan(config, &windows),
        plan,
        reports: Vec::new(),
        over_budget: Vec::new(),
        interrupted: false,
        hooks: Vec::new(),
        warnings: Vec::new(),
        claimed_elsewhere: Vec::new(),
    }
}

/// A run whose loads are committed and recorded, for [`finish`].
pub(crate) struct Loaded {
    pub unstuck: Vec<StuckExecution>,
    pub plan: Plan,
    pub execution: Execution,
    pub invocation: Option<i64>,
    pub claimed_elsewhere: Vec<String>,
}

/// The hooks come after the loads, and whatever they do, the run's outcome stays what it
/// is; a failure to record them is a warning.
pub(crate) fn finish(
    config: &Config,
    clock: &Clock,
    request: &RunRequest,
    interrupt: &AtomicBool,
    loaded: Loaded,
) -> RunOutcome {
    let Loaded {
        unstuck,
        plan,
        execution:
            Execution {
                reports,
                over_budget,
                interrupted,
            },
        invocation,
        claimed_elsewhere,
    } = loaded;
    let hooks = if interrupted {
        Vec::new()
    } else {
        hooks::run(
            &HookContext {
                config,
                clock,
                invocation,
                command: request.command,
                interrupt,
            },
            &reports,
        )
    };
    let mut warnings = Vec::new();
    if !hooks.is_empty() {
        let recorded = Database::connect(config)
            .and_then(|mut db| integrations::record_hooks(&mut db.session(), invocation, &hooks));
        if let Err(err) = recorded {
            warnings.push(format!(
                "the hooks' results were not recorded: {}",
                crate::tracker::one_line(&err.to_string())
            ));
        }
    }
    RunOutcome {
        dry_run: false,
        unstuck,
        deferred: plan.deferred.clone(),
        plan,
        reports,
        over_budget,
        interrupted,
        hooks,
        planned_hooks: Vec::new(),
        warnings,
        claimed_elsewhere,
    }
}
