//! The runner on a shared PostgreSQL server: any number of `run` processes, on any hosts, at
//! once. Each works on one connection, whose session is its identity:
//!
//! - a **runner slot** (`[database] max_runners`, an advisory lock among that many) is held
//!   for the whole run; past the cap a run waits `--wait`, then exits 3 naming the holders;
//! - a **claim** on a tipo and store (an advisory lock) is taken before planning that store's
//!   windows again (the plan made at the start may be stale: another runner may have loaded
//!   them since), and held until its last window is committed. A store another runner holds
//!   is that runner's; it is looked at again once this runner has nothing else to do;
//! - every execution records the session (`proceso_id = pg:<pid>:<start>`): the server ends
//!   a killed runner's session at once (or, for a host that vanished, after the keepalives
//!   set below, about a minute), which releases its locks, and the next runner to look sees
//!   the session gone and closes the executions as `interrumpido` (gaps, recovered).
//!
//! Fetches never hold anything on the server; each window's lines and its `exitoso` commit
//! in one transaction, as on DuckDB.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime};

use super::execute::{
    self, Done, ExecuteOptions, Execution, GATHER, Job, LINGER, Progress, TaskReport,
};
use super::run::{
    Loaded, RunError, RunOutcome, RunRequest, add_explicit, dry_run_outcome, finish,
    invocation_end, tipos_text,
};
use super::tasks::{self, Plan, PlanOptions, Task};
use crate::clock::Clock;
use crate::config::Config;
use crate::config::database::PgTarget;
use crate::klk::Client;
use crate::tracker::TrackerError;
use crate::tracker::engine::{Session, Value};
use crate::tracker::executions;
use crate::tracker::invocations;
use crate::tracker::postgres::PgDb;
use crate::tracker::process::{SessionIdentity, current_pid, host_name};
use crate::tracker::unstick::{self, StuckReason, UnstickOptions};
use crate::tracker::vocab::{EtlTipo, Modo};

/// The first key of the runner slots' advisory locks (the second is the slot's number).
const SLOT_LOCKS: &str = "hashtext('klk-etl:runner')";
/// The first key of the claims' advisory locks (the second is the hash of `tipo/store`).
const CLAIM_LOCKS: &str = "hashtext('klk-etl:claim')";
/// How often a run past `max_runners` looks for a free slot.
const SLOT_POLL: Duration = Duration::from_millis(250);
/// The server's keepalives on this session: a runner whose host vanishes is noticed within
/// about 30 + 3 x 10 seconds (by default the server waits two hours), and data it cannot
/// deliver for a minute ends the session too.
const SERVER_KEEPALIVES: &[&str] = &[
    "SET tcp_keepalives_idle = 30",
    "SET tcp_keepalives_interval = 10",
    "SET tcp_keepalives_count = 3",
    "SET tcp_user_timeout = 60000",
];

/// A tipo and a store: what a claim covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Unit {
    tipo: EtlTipo,
    store: String,
}

impl Unit {
    fn of(task: &Task) -> Unit {
        Unit {
            tipo: task.tipo,
            store: task.ubicacion_id.clone(),
        }
    }

    fn key(&self) -> String {
        format!("{}/{}", self.tipo.as_str(), self.store)
    }
}

/// What the plan made at the start gave a unit, so that planning it again when claimed takes
/// no more than its share of the run's caps (`--max-gaps`, verifications per run).
#[derive(Debug, Default)]
struct Share {
    recoveries: usize,
    verification_days: Vec<chrono::NaiveDate>,
    /// `recover --date`, `verify --date`: run as asked, once.
    explicit: Vec<Task>,
}

pub fn run(
    config: &Config,
    target: &PgTarget,
    clock: &Clock,
    request: &RunRequest,
    interrupt: &AtomicBool,
    progress: &dyn Progress,
    client: Arc<Client>,
) -> Result<RunOutcome, RunError> {
    let mut db = PgDb::open(target, config, clock.now_utc())?;
    let unstick_options = UnstickOptions {
        now_local: clock.now_local(),
        older_than: config.tracking.stuck_after,
        this_host: host_name(),
    };
    if request.dry_run {
        let session = &mut db.session();
        let unstuck = unstick::find(session, &unstick_options)?;
        let mut plan = tasks::build(session, config, clock.now_local(), &request.plan)?;
        add_explicit(&mut plan, request);
        return Ok(dry_run_outcome(config, unstuck, plan));
    }
    let identity = enter(&mut db, target, request)?;

    let now_local = clock.now_local();
    let invocation = invocations::start(
        &mut db.session(),
        request.command,
        &tipos_text(request),
        now_local,
        request.requested_by.as_deref(),
    )?;
    let session = &mut db.session();
    let unstuck = unstick::find(session, &unstick_options)?;
    if !unstuck.is_empty() {
        unstick::apply(session, &unstuck, now_local)?;
    }
    let first_new_id = session
        .query_one(
            "SELECT coalesce((SELECT min(id) FROM etl_ejecuciones WHERE estado = 'en_proceso'), \
                             (SELECT coalesce(max(id), 0) + 1 FROM etl_ejecuciones))",
            &[],
        )?
        .get(0)?;
    let plan = tasks::build(session, config, now_local, &request.plan)?;

    let context = Context {
        config,
        clock,
        request,
        progress,
    };
    let mut runner = Runner::new(context, &mut db, identity, &plan, first_new_id);
    let executed = runner.execute(
        &client,
        &ExecuteOptions {
            jobs: request.jobs,
            recovery_budget: request.recovery_budget,
            verification_budget: request.verification_budget,
        },
        interrupt,
    );
    let claimed_elsewhere = runner.elsewhere.iter().map(Unit::key).collect();
    let (estado, counts) = invocation_end(executed.as_ref().ok());
    let end = clock.now_local();
    let recorded = invocations::finish(&mut db.session(), invocation, end, estado, &counts)
        .or_else(|_| {
            // The session may be what failed: a new one records the end.
            let mut fresh = PgDb::connect(target)?;
            invocations::finish(&mut fresh.session(), invocation, end, estado, &counts)
        });
    // Ends the session: its claims and its slot go with it.
    drop(db);
    let execution = executed?;
    recorded?;
    Ok(finish(
        config,
        clock,
        request,
        interrupt,
        Loaded {
            unstuck,
            plan,
            execution,
            invocation: Some(invocation),
            claimed_elsewhere,
        },
    ))
}

/// Names the session after this runner, asks the server to notice a vanished host, and takes
/// a runner slot. Returns the session's identity.
fn enter(db: &mut PgDb, target: &PgTarget, request: &RunRequest) -> Result<String, TrackerError> {
    let mut name = format!(
        "{} {} pid {} on {}",
        target.application_name,
        request.command,
        current_pid(),
        host_name()
    );
    // The server keeps 63 bytes of it.
    while name.len() > 63 {
        name.pop();
    }
    let session = &mut db.session();
    session.execute(
        "SELECT set_config('application_name', $1, false)",
        &[name.as_str().into()],
    )?;
    for setting in SERVER_KEEPALIVES {
        // A server too old for one of them still runs: its own defaults apply.
        let _ = session.batch(setting);
    }
    take_slot(session, target, request.lock_wait)?;
    let row = session.query_one(
        "SELECT pg_backend_pid(), klk_epoch_us(backend_start AT TIME ZONE 'UTC') \
         FROM pg_stat_activity WHERE pid = pg_backend_pid()",
        &[],
    )?;
    Ok(SessionIdentity {
        pid: row.get(0)?,
        started_us: row.get(1)?,
    }
    .to_string())
}

/// Holds one of the `max_runners` slots, waiting up to `wait` for one to free.
fn take_slot(session: &mut Session, target: &PgTarget, wait: Duration) -> Result<(), TrackerError> {
    let started = Instant::now();
    loop {
        for slot in 0..target.max_runners {
            let taken: bool = session
                .query_one(
                    &format!("SELECT pg_try_advisory_lock({SLOT_LOCKS}, $1)"),
                    &[Value::Int(i64::from(slot))],
                )?
                .get(0)?;
            if taken {
                return Ok(());
            }
        }
        if started.elapsed() >= wait {
            return Err(TrackerError::RunnersBusy {
                target: target.display(),
                max: target.max_runners,
                holders: slot_holders(session)?,
                waited_secs: started.elapsed().as_secs_f64(),
            });
        }
        std::thread::sleep(SLOT_POLL);
    }
}

/// Who holds the runner slots: each session's name (the runner's command, pid and host) and
/// since when.
fn slot_holders(session: &mut Session) -> Result<String, TrackerError> {
    let rows = session.query(
        &format!(
            "SELECT coalesce(a.application_name, 'pid ' || a.pid), \
                    to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
               AND l.classid = ({SLOT_LOCKS})::oid \
             ORDER BY a.backend_start, a.pid"
        ),
        &[],
    )?;
    let holders = rows
        .iter()
        .map(|r| {
            let name: String = r.get(0)?;
            let since: Option<String> = r.get(1)?;
            Ok(match since {
                Some(since) => format!("{name} (since {since} UTC)"),
                None => name,
            })
        })
        .collect::<Result<Vec<_>, TrackerError>>()?;
    Ok(if holders.is_empty() {
        "none visible to this role".to_string()
    } else {
        holders.join(", ")
    })
}

/// A window as its execution records it: the day, and the hours (none for a whole day).
type WindowKey = (NaiveDate, Option<NaiveTime>, Option<NaiveTime>);

/// The windows of `unit` loaded by executions from `first_id` on.
fn loaded_since(
    session: &mut Session,
    unit: &Unit,
    first_id: i64,
) -> Result<Vec<WindowKey>, TrackerError> {
    session
        .query(
            "SELECT fecha_desde, hora_desde, hora_hasta FROM etl_ejecuciones \
             WHERE etl_tipo = $1 AND ubicacion_id = $2 AND estado IN ('exitoso', 'parcial') \
               AND id >= $3",
            &[
                unit.tipo.as_str().into(),
                unit.store.as_str().into(),
                Value::Int(first_id),
            ],
        )?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .collect()
}

/// What a run was asked and how it reports.
struct Context<'a> {
    config: &'a Config,
    clock: &'a Clock,
    request: &'a RunRequest,
    progress: &'a dyn Progress,
}

/// Runs the plan's windows, claiming each unit before planning it again.
struct Runner<'a> {
    config: &'a Config,
    clock: &'a Clock,
    request: &'a RunRequest,
    progress: &'a dyn Progress,
    db: &'a mut PgDb,
    identity: String,
    /// Units not looked at yet, in the plan's order (runners started together take turns).
    units: VecDeque<Unit>,
    shares: HashMap<Unit, Share>,
    /// Units another runner held when looked at.
    elsewhere: Vec<Unit>,
    /// Whether the units held elsewhere were looked at once more.
    looked_again: bool,
    all: Vec<Task>,
    reports: Vec<TaskReport>,
    verifying: Vec<bool>,
    queue: VecDeque<usize>,
    in_flight: HashMap<usize, i64>,
    ready: Vec<Done>,
    /// Per claimed unit, its windows not committed yet.
    claimed: HashMap<Unit, usize>,
    outcome: Execution,
    planned: usize,
    /// Executions from this id on were started, or still running, when the run's first plan
    /// was made: what they load, the plan did not know of.
    first_new_id: i64,
}

impl<'a> Runner<'a> {
    fn new(
        run: Context<'a>,
        db: &'a mut PgDb,
        identity: String,
        plan: &Plan,
        first_new_id: i64,
    ) -> Runner<'a> {
        let Context {
            config,
            clock,
            request,
            progress,
        } = run;
        let mut units: Vec<Unit> = Vec::new();
        let mut shares: HashMap<Unit, Share> = HashMap::new();
        for task in request.extra.iter().chain(plan.queue().iter()) {
            let unit = Unit::of(task);
            if !units.contains(&unit) {
                units.push(unit.clone());
            }
            let _ = shares.entry(unit).or_default();
        }
        for task in &request.extra {
            shares
                .entry(Unit::of(task))
                .or_default()
                .explicit
                .push(task.clone());
        }
        for task in &plan.recoveries {
            shares.entry(Unit::of(task)).or_default().recoveries += 1;
        }
        for task in &plan.verifications {
            shares
                .entry(Unit::of(task))
                .or_default()
                .verification_days
                .push(task.window.date());
        }
        Runner {
            config,
            clock,
            request,
            progress,
            db,
            identity,
            units: units.into(),
            shares,
            elsewhere: Vec::new(),
            looked_again: false,
            all: Vec::new(),
            reports: Vec::new(),
            verifying: Vec::new(),
            queue: VecDeque::new(),
            in_flight: HashMap::new(),
            ready: Vec::new(),
            claimed: HashMap::new(),
            outcome: Execution::default(),
            planned: request.extra.len() + plan.queue().len(),
            first_new_id,
        }
    }

    fn execute(
        &mut self,
        client: &Arc<Client>,
        options: &ExecuteOptions,
        interrupt: &AtomicBool,
    ) -> Result<Execution, TrackerError> {
        let jobs = options.jobs.max(1);
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..jobs {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            let client = Arc::clone(client);
            // Detached: an interrupted run must not wait for a request in flight.
            std::thread::spawn(move || execute::worker(&client, &job_rx, &done_tx));
        }
        drop(done_tx);
        // As planned at the start: other runners may take some of them.
        self.progress.planned(self.planned);
        let started = Instant::now();
        loop {
            if interrupt.load(Ordering::SeqCst) {
                self.outcome.interrupted = true;
                self.commit_ready();
                execute::close_as_interrupted(
                    &mut self.db.session(),
                    &self.in_flight,
                    &mut self.reports,
                    self.clock.now_local(),
                )?;
                for &index in self.in_flight.keys() {
                    self.progress.finished(&self.reports[index]);
                }
                break;
            }
            self.commit_ready();
            if self.db.client().is_closed() {
                // Nothing can be recorded: the windows left open are the next run's (their
                // session is gone, so it closes and recovers them at once).
                return Err(TrackerError::Postgres(
                    "the server connection failed mid-run (connection closed); the windows in flight are left to the next run"
                        .to_string(),
                ));
            }
            let mut free = jobs.saturating_sub(self.in_flight.len());
            while free > 0 {
                self.drop_over_budget(options, started);
                let Some(index) = self.queue.pop_front() else {
                    if self.claim_next()? {
                        continue;
                    }
                    break;
                };
                let id = self.register(index)?;
                let job = Job {
                    index,
                    id,
                    task: self.all[index].clone(),
                };
                if job_tx.send(job).is_err() {
                    break;
                }
                free -= 1;
            }
            if self.in_flight.is_empty() && self.queue.is_empty() {
                break;
            }
            match done_rx.recv_timeout(LINGER) {
                Ok(done) => {
                    self.ready.push(done);
                    let gather_until = Instant::now() + GATHER;
                    while let Some(left) = gather_until.checked_duration_since(Instant::now()) {
                        match done_rx.recv_timeout(left) {
                            Ok(more) => self.ready.push(more),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        drop(job_tx);
        let mut outcome = std::mem::take(&mut self.outcome);
        outcome.reports = std::mem::take(&mut self.reports);
        Ok(outcome)
    }

    /// Recovery and verification windows still waiting when their budget is spent are left
    /// for the next run.
    fn drop_over_budget(&mut self, options: &ExecuteOptions, started: Instant) {
        while let Some(&next) = self.queue.front() {
            let budget = options.budget(self.all[next].modo);
            if budget.is_none_or(|budget| started.elapsed() < budget) {
                break;
            }
            self.queue.pop_front();
            self.outcome.over_budget.push(self.all[next].clone());
            self.window_done(next);
        }
    }

    /// Claims the next unit another runner does not hold and queues its windows, planned
    /// again now; false when no unit is left.
    fn claim_next(&mut self) -> Result<bool, TrackerError> {
        loop {
            let Some(unit) = self.units.pop_front() else {
                if self.looked_again || self.elsewhere.is_empty() {
                    return Ok(false);
                }
                // Their holders may have finished, or died, meanwhile.
                self.looked_again = true;
                self.units = std::mem::take(&mut self.elsewhere).into();
                continue;
            };
            if !self.lock(&unit)? {
                self.elsewhere.push(unit);
                continue;
            }
            let tasks = self.plan_claimed(&unit)?;
            if tasks.is_empty() {
                self.unlock(&unit)?;
                continue;
            }
            self.claimed.insert(unit, tasks.len());
            for task in tasks {
                let index = self.all.len();
                self.reports.push(TaskReport::new(&task));
                self.verifying.push(false);
                self.all.push(task);
                self.queue.push_back(index);
            }
            return Ok(true);
        }
    }

    /// The windows of a unit just claimed: closes what a runner that is gone left open on it,
    /// then plans it again, within the share the first plan gave it.
    fn plan_claimed(&mut self, unit: &Unit) -> Result<Vec<Task>, TrackerError> {
        let now_local = self.clock.now_local();
        let session = &mut self.db.session();
        let options = UnstickOptions {
            now_local,
            older_than: self.config.tracking.stuck_after,
            this_host: host_name(),
        };
        let left_open: Vec<_> = unstick::find(session, &options)?
            .into_iter()
            .filter(|stuck| {
                stuck.execution.etl_tipo == unit.tipo.as_str()
                    && stuck.execution.ubicacion_id == unit.store
                    && matches!(
                        stuck.reason,
                        StuckReason::SessionGone | StuckReason::ProcessGone
                    )
            })
            .collect();
        let closed = if left_open.is_empty() {
            0
        } else {
            unstick::apply(session, &left_open, now_local)?
        };
        let plan = tasks::build(
            session,
            self.config,
            now_local,
            &PlanOptions {
                tipos: vec![unit.tipo],
                stores: vec![unit.store.clone()],
                ..self.request.plan.clone()
            },
        )?;
        let share = self.shares.entry(unit.clone()).or_default();
        let (verify_first, recover_first): (Vec<Task>, Vec<Task>) =
            std::mem::take(&mut share.explicit)
                .into_iter()
                .partition(|task| task.modo == Modo::Verificacion);
        let mut tasks = recover_first;
        tasks.extend(plan.recoveries.into_iter().take(share.recoveries + closed));
        tasks.extend(plan.tasks);
        tasks.extend(verify_first);
        tasks.extend(
            plan.verifications
                .into_iter()
                .filter(|task| share.verification_days.contains(&task.window.date())),
        );
        // Planned once: looking at the unit again later must not take its share twice.
        share.recoveries = 0;
        share.verification_days.clear();
        // Whole days (`--full`) and explicit windows are planned whatever the table holds: one
        // another runner loaded since this one planned is not fetched again.
        let loaded = loaded_since(&mut self.db.session(), unit, self.first_new_id)?;
        tasks.retain(|task| {
            let report = TaskReport::new(task);
            !loaded.contains(&(report.fecha, report.hora_desde, report.hora_hasta))
        });
        Ok(tasks)
    }

    fn lock(&mut self, unit: &Unit) -> Result<bool, TrackerError> {
        self.db
            .session()
            .query_one(
                &format!("SELECT pg_try_advisory_lock({CLAIM_LOCKS}, hashtext($1))"),
                &[unit.key().into()],
            )?
            .get(0)
    }

    fn unlock(&mut self, unit: &Unit) -> Result<(), TrackerError> {
        self.db.session().query_one(
            &format!("SELECT pg_advisory_unlock({CLAIM_LOCKS}, hashtext($1))"),
            &[unit.key().into()],
        )?;
        Ok(())
    }

    fn register(&mut self, index: usize) -> Result<i64, TrackerError> {
        let task = &self.all[index];
        let started_at = self.clock.now_local();
        self.verifying[index] = execute::verifies(task, started_at, &self.config.tracking);
        let id = executions::start_in(
            &mut self.db.session(),
            None,
            Some(self.identity.clone()),
            &execute::new_execution(task, &self.reports[index], started_at),
        )?;
        self.reports[index].ejecucion_id = Some(id);
        self.in_flight.insert(index, id);
        self.progress.started(task, id);
        Ok(id)
    }

    fn commit_ready(&mut self) {
        for done in std::mem::take(&mut self.ready) {
            self.in_flight.remove(&done.index);
            let index = done.index;
            execute::commit(
                &mut *self.db,
                self.clock,
                &self.all[index],
                self.verifying[index],
                &mut self.reports[index],
                done,
            );
            self.progress.finished(&self.reports[index]);
            self.window_done(index);
        }
    }

    /// A window of a claimed unit is committed (or left for later): the unit's claim goes
    /// with its last one.
    fn window_done(&mut self, index: usize) {
        let unit = Unit::of(&self.all[index]);
        let Some(left) = self.claimed.get_mut(&unit) else {
            return;
        };
        *left -= 1;
        if *left == 0 {
            self.claimed.remove(&unit);
            // If the session cannot release it now, the session's end will.
            let _ = self.unlock(&unit);
        }
    }
}
