//! Running the tasks: workers fetch over HTTP without touching the database; one
//! coordinator owns every database write, each in a short phase, the file closed in between
//! unless the next results follow within [`LINGER`], and commits each window's rows together
//! with its `exitoso` status.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::load::{self, LoadReport};
use super::load_pg;
use super::tasks::Task;
use crate::clock::Clock;
use crate::config::{Config, TrackingSettings};
use crate::klk::{
    ApiError, Client, SalesBatch, SalesLines, SalesRequest, StockBatch, StockItem, StockRequest,
};
use crate::tracker::engine::Session;
use crate::tracker::executions::{self, NewExecution, Outcome};
use crate::tracker::postgres::PgDb;
use crate::tracker::verification::{self, VerificationDiff};
use crate::tracker::vocab::{ErrorTipo, Estado, EtlTipo, Modo};
use crate::tracker::{Access, Db, TrackerError, gate};

/// What happened to one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    pub ejecucion_id: Option<i64>,
    pub etl_tipo: EtlTipo,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub fecha: chrono::NaiveDate,
    pub hora_desde: Option<chrono::NaiveTime>,
    pub hora_hasta: Option<chrono::NaiveTime>,
    pub modo: Modo,
    pub estado: Estado,
    pub error_tipo: Option<ErrorTipo>,
    pub error_mensaje: Option<String>,
    /// Lines (or articles) received, duplicates included.
    pub extraidos: usize,
    pub cargados: usize,
    pub nuevos: usize,
    pub duplicados: usize,
    pub facturas: usize,
    pub total_usd: f64,
    pub intentos_http: u32,
    pub duracion_segundos: f64,
    /// A whole-day re-pull of a closed day: what it found against what the table held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verificacion: Option<VerificationDiff>,
}

impl TaskReport {
    pub(crate) fn new(task: &Task) -> TaskReport {
        let hours = task.window.hours();
        TaskReport {
            ejecucion_id: None,
            etl_tipo: task.tipo,
            ubicacion_id: task.ubicacion_id.clone(),
            ubicacion_nombre: task.ubicacion_nombre.clone(),
            fecha: task.window.date(),
            hora_desde: if task.tipo == EtlTipo::Ventas {
                hours.map(|h| h.0)
            } else {
                None
            },
            hora_hasta: if task.tipo == EtlTipo::Ventas {
                hours.map(|h| h.1)
            } else {
                None
            },
            modo: task.modo,
            estado: Estado::EnProceso,
            error_tipo: None,
            error_mensaje: None,
            extraidos: 0,
            cargados: 0,
            nuevos: 0,
            duplicados: 0,
            facturas: 0,
            total_usd: 0.0,
            intentos_http: 0,
            duracion_segundos: 0.0,
            verificacion: None,
        }
    }

    pub fn window_text(&self) -> String {
        match (self.hora_desde, self.hora_hasta) {
            (Some(from), Some(to)) => format!(
                "{} {}-{}",
                self.fecha,
                from.format("%H:%M"),
                if to == super::plan::LAST_SECOND {
                    "24:00".to_string()
                } else {
                    to.format("%H:%M").to_string()
                }
            ),
            _ => self.fecha.to_string(),
        }
    }
}

/// Told about each task as it starts and ends (progress bars, cron lines).
pub trait Progress: Sync {
    fn planned(&self, _total: usize) {}
    /// `task` is now in flight as execution `ejecucion_id`, until `finished` reports it.
    fn started(&self, _task: &Task, _ejecucion_id: i64) {}
    fn finished(&self, _report: &TaskReport) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    pub jobs: usize,
    /// Recovery tasks are not started after this much time.
    pub recovery_budget: Duration,
    /// Verifications (whole-day re-pulls of closed days) are not started after this long.
    pub verification_budget: Duration,
}

impl ExecuteOptions {
    /// How long into the run a task of this modo may still start; `None`: always.
    pub(crate) fn budget(&self, modo: Modo) -> Option<Duration> {
        match modo {
            Modo::Recuperacion => Some(self.recovery_budget),
            Modo::Verificacion => Some(self.verification_budget),
            Modo::Completo | Modo::Incremental => None,
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Execution {
    pub reports: Vec<TaskReport>,
    /// Recovery and verification tasks not started because their time budget ran out.
    pub over_budget: Vec<Task>,
    pub interrupted: bool,
}

pub(crate) enum Fetched {
    Sales(Box<SalesBatch>),
    Stock {
        batches: Vec<StockBatch>,
        failures: Vec<ApiError>,
    },
}

pub(crate) struct Done {
    pub(crate) index: usize,
    pub(crate) id: i64,
    fetched: Result<Fetched, ApiError>,
}

pub(crate) struct Job {
    pub(crate) index: usize,
    pub(crate) id: i64,
    pub(crate) task: Task,
}

fn fetch(client: &Client, task: &Task) -> Result<Fetched, ApiError> {
    match task.tipo {
        EtlTipo::Ventas => {
            let (from, to) = task.window.request_hours();
            let request =
                SalesRequest::within_day(&task.store.sucursal, task.window.date(), from, to);
            client.fetch_sales(&request).map(|mut batch| {
                batch
                    .lines
                    .drop_where(|fecha, hora| task.window.in_margin(fecha, hora));
                Fetched::Sales(Box::new(batch))
            })
        }
        EtlTipo::Inventario => {
            let mut batches = Vec::new();
            let mut failures = Vec::new();
            for almacen in &task.store.warehouses {
                match client.fetch_stock(&StockRequest::new(almacen.clone())) {
                    Ok(batch) => batches.push(batch),
                    Err(err) => failures.push(err),
                }
            }
            if batches.is_empty() && !failures.is_empty() {
                return Err(failures.swap_remove(0));
            }
            Ok(Fetched::Stock { batches, failures })
        }
    }
}

fn error_tipo(err: &ApiError) -> ErrorTipo {
    ErrorTipo::parse(err.error_tipo()).unwrap_or(ErrorTipo::Unknown)
}

/// Runs `tasks` in order, `jobs` at a time; a recovery or verification task is not started
/// once its budget (see [`ExecuteOptions`]) is spent: the caller queues recoveries first, then
/// the normal windows, then verifications, so neither kind delays the half-hourly windows.
/// `db`, if given, is the caller's open write connection, used for the first write phase;
/// the connection still open at the end (if any) is handed back with the result.
/// `interrupt` is set by SIGINT/SIGTERM: nothing new starts, what was fetched is committed,
/// and the executions still in flight are closed `fallido`/`interrumpido` at once (their
/// requests are abandoned; the caller exits).
#[allow(clippy::too_many_arguments)]
pub fn execute(
    config: &Config,
    clock: &Clock,
    client: Arc<Client>,
    all: Vec<Task>,
    options: &ExecuteOptions,
    interrupt: &AtomicBool,
    progress: &dyn Progress,
    db: Option<Db>,
) -> (Result<Execution, TrackerError>, Option<Db>) {
    progress.planned(all.len());
    let jobs = options.jobs.max(1);

    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    for _ in 0..jobs.min(all.len()) {
        let job_rx = Arc::clone(&job_rx);
        let done_tx = done_tx.clone();
        let client = Arc::clone(&client);
        // Detached: an interrupted run must not wait for a request in flight.
        std::thread::spawn(move || worker(&client, &job_rx, &done_tx));
    }
    drop(done_tx);

    let mut run = Coordinator {
        config,
        clock,
        progress,
        reports: all.iter().map(TaskReport::new).collect(),
        verifying: vec![false; all.len()],
        all,
        queue: VecDeque::new(),
        in_flight: HashMap::new(),
        ready: Vec::new(),
        outcome: Execution::default(),
        db,
        // (opened for planning a moment ago)
        held_since: Instant::now(),
    };
    run.queue = (0..run.all.len()).collect();
    let started = Instant::now();
    let result = run.drive(jobs, options, started, interrupt, &job_tx, &done_rx);
    drop(job_tx);
    let db = run.db.take();
    if let Err(err) = result {
        return (Err(err), db);
    }
    run.outcome.reports = run.reports;
    (Ok(run.outcome), db)
}

pub(crate) fn worker(client: &Client, jobs: &Mutex<Receiver<Job>>, done: &Sender<Done>) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let fetched = fetch(client, &job.task);
        let done_message = Done {
            index: job.index,
            id: job.id,
            fetched,
        };
        if done.send(done_message).is_err() {
            return;
        }
    }
}

/// How long to wait for more results before opening the database to commit them.
pub(crate) const GATHER: Duration = Duration::from_millis(25);
/// How long the connection stays open after a write phase while results may still arrive:
/// fast answers share one open (each open costs tens of ms), slow ones never hold the file.
pub(crate) const LINGER: Duration = Duration::from_millis(100);
/// A connection kept across write phases for this long is closed before the next one when a
/// reader waits for the file (`klk-etl gaps`, `serve`): a long run of fast answers would
/// otherwise keep every reader out until it ends.
const MAX_HOLD: Duration = Duration::from_secs(1);
/// How long a run that let the waiting readers in gives them to open the file (they retry
/// at most 200 ms apart, see `tracker::Db::connect`).
const READERS_IN: Duration = Duration::from_millis(500);

struct Coordinator<'a> {
    config: &'a Config,
    clock: &'a Clock,
    progress: &'a dyn Progress,
    all: Vec<Task>,
    reports: Vec<TaskReport>,
    /// Per task: a whole-day re-pull of a day that was closed when it started.
    verifying: Vec<bool>,
    queue: VecDeque<usize>,
    /// Task index to execution id.
    in_flight: HashMap<usize, i64>,
    ready: Vec<Done>,
    outcome: Execution,
    /// The write connection, kept only between phases that follow closely (see [`LINGER`]).
    db: Option<Db>,
    /// When that connection was opened (see [`MAX_HOLD`]).
    held_since: Instant,
}

impl Coordinator<'_> {
    fn drive(
        &mut self,
        jobs: usize,
        options: &ExecuteOptions,
        started: Instant,
        interrupt: &AtomicBool,
        job_tx: &Sender<Job>,
        done_rx: &Receiver<Done>,
    ) -> Result<(), TrackerError> {
        loop {
            if interrupt.load(Ordering::SeqCst) {
                self.outcome.interrupted = true;
                let mut db = self.open()?;
                self.commit_ready(&mut db);
                self.close_in_flight_as_interrupted(&mut db)?;
                self.db = Some(db);
                return Ok(());
            }
            // Recovery and verification tasks still waiting when their budget is spent are
            // left for the next run.
            while let Some(&next) = self.queue.front() {
                let budget = options.budget(self.all[next].modo);
                if budget.is_some_and(|budget| started.elapsed() >= budget) {
                    self.queue.pop_front();
                    self.outcome.over_budget.push(self.all[next].clone());
                } else {
                    break;
                }
            }
            // What arrived is committed in this phase, so its slots are free again.
            let busy = self.in_flight.len().saturating_sub(self.ready.len());
            let free = jobs.saturating_sub(busy);
            let to_start: Vec<usize> = (0..free.min(self.queue.len()))
                .filter_map(|_| self.queue.pop_front())
                .collect();
            if !self.ready.is_empty() || !to_start.is_empty() {
                // One short write phase: commit what arrived, register what starts.
                let mut db = self.open()?;
                self.commit_ready(&mut db);
                for index in to_start {
                    let id = self.register(&db, index)?;
                    let job = Job {
                        index,
                        id,
                        task: self.all[index].clone(),
                    };
                    if job_tx.send(job).is_err() {
                        return Ok(());
                    }
                }
                self.db = Some(db);
            }
            if self.in_flight.is_empty() && self.queue.is_empty() {
                return Ok(());
            }
            // Also how often the interrupt flag is looked at while requests are in flight.
            match done_rx.recv_timeout(LINGER) {
                Ok(done) => {
                    self.ready.push(done);
                    // Results arriving close together share one open of the file (with
                    // the file still open, there is nothing to share: commit at once).
                    let gather = if self.db.is_some() {
                        Duration::ZERO
                    } else {
                        GATHER
                    };
                    let gather_until = Instant::now() + gather;
                    while let Some(left) = gather_until.checked_duration_since(Instant::now()) {
                        match done_rx.recv_timeout(left) {
                            Ok(more) => self.ready.push(more),
                            Err(_) => break,
                        }
                    }
                }
                // Nothing came soon: close, so the file is not held while requests take long.
                Err(RecvTimeoutError::Timeout) => self.db = None,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }

    /// The connection kept from the last phase, or a new one. The run migrated and
    /// synchronised the file before planning: here it is only opened.
    fn open(&mut self) -> Result<Db, TrackerError> {
        if let Some(db) = self.db.take() {
            if self.held_since.elapsed() < MAX_HOLD || !gate::readers_waiting(&self.config.database)
            {
                return Ok(db);
            }
            drop(db);
            self.let_readers_in();
        }
        let db = Db::connect(
            &self.config.database,
            Access::Write,
            self.config.tracking.lock_timeout,
        )?;
        self.held_since = Instant::now();
        Ok(db)
    }

    /// With the file closed, waits until the readers that waited for it have opened it (or
    /// [`READERS_IN`] passed). Opening it again then waits for them to finish, and keeps new
    /// readers out meanwhile (the gate).
    fn let_readers_in(&self) {
        let until = Instant::now() + READERS_IN;
        while Instant::now() < until && gate::readers_waiting(&self.config.database) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn register(&mut self, db: &Db, index: usize) -> Result<i64, TrackerError> {
        let task = &self.all[index];
        let report = &mut self.reports[index];
        let started_at = self.clock.now_local();
        self.verifying[index] = verifies(task, started_at, &self.config.tracking);
        let id = executions::start(db, &new_execution(task, report, started_at))?;
        report.ejecucion_id = Some(id);
        self.in_flight.insert(index, id);
        self.progress.started(task, id);
        Ok(id)
    }

    fn commit_ready(&mut self, db: &mut Db) {
        for done in std::mem::take(&mut self.ready) {
            self.in_flight.remove(&done.index);
            let index = done.index;
            commit(
                db,
                self.clock,
                &self.all[index],
                self.verifying[index],
                &mut self.reports[index],
                done,
            );
            self.progress.finished(&self.reports[index]);
        }
    }

    fn close_in_flight_as_interrupted(&mut self, db: &mut Db) -> Result<(), TrackerError> {
        close_as_interrupted(
            &mut Session::DuckDb(db.conn()),
            &self.in_flight,
            &mut self.reports,
            self.clock.now_local(),
        )?;
        for &index in self.in_flight.keys() {
            self.progress.finished(&self.reports[index]);
        }
        self.in_flight.clear();
        self.queue.clear();
        Ok(())
    }
}

/// Closes the executions still in flight (task index to execution id) `fallido` /
/// `interrumpido`, in one transaction, and says so in their reports.
pub(crate) fn close_as_interrupted(
    session: &mut Session,
    in_flight: &HashMap<usize, i64>,
    reports: &mut [TaskReport],
    now: NaiveDateTime,
) -> Result<(), TrackerError> {
    let outcome = Outcome::Failure {
        extracted: 0,
        error_tipo: ErrorTipo::Interrumpido,
        message: "interrupted by a signal (SIGINT/SIGTERM) before the window was loaded"
            .to_string(),
    };
    session.transaction(|tx| {
        for &id in in_flight.values() {
            match executions::finish_in(tx, id, &outcome, now) {
                Ok(()) | Err(TrackerError::NotInProgress { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(())
    })?;
    for &index in in_flight.keys() {
        let report = &mut reports[index];
        report.estado = Estado::Fallido;
        report.error_tipo = Some(ErrorTipo::Interrumpido);
        report.error_mensaje = Some("interrupted".to_string());
    }
    Ok(())
}

/// Loads one fetched window and marks its execution in one transaction; a failure to fetch
/// or to load marks it `fallido` with the reason. Never leaves the execution open unless the
/// database itself refuses every write (then `unstick` closes it later).
pub(crate) fn commit(
    db: &mut dyn WindowSink,
    clock: &Clock,
    task: &Task,
    verifying: bool,
    report: &mut TaskReport,
    done: Done,
) {
    let now = clock.now_local();
    let id = done.id;
    let result = match done.fetched {
        Err(err) => {
            report.intentos_http = err.attempts();
            Err((error_tipo(&err), err.to_string(), 0))
        }
        Ok(Fetched::Sales(batch)) => {
            report.intentos_http = batch.attempts;
            report.extraidos = batch.received;
            report.duplicados = batch.duplicates_removed;
            let extracted = batch.received as i64;
            let received = batch.received;
            let facturas = batch.lines.distinct_invoices();
            let total_usd = batch.lines.total_usd();
            // The lines are handed to the loader, which frees each chunk once appended.
            let lines = batch.lines;
            let mut found = None;
            load_in_transaction(
                db,
                id,
                now,
                |db| {
                    if !verifying {
                        return db.load_sales(&task.ubicacion_id, id, now, lines);
                    }
                    let (load, diff) = db.load_sales_verifying(
                        &task.ubicacion_id,
                        id,
                        now,
                        lines,
                        task.window.date(),
                    )?;
                    verification::record_diff(&mut db.session(), id, &diff)?;
                    found = Some(diff);
                    Ok(load)
                },
                |load| Outcome::Success {
                    extracted,
                    loaded: load.loaded as i64,
                },
            )
            .map(|load| {
                report.facturas = facturas;
                report.total_usd = total_usd;
                report.verificacion = found;
                (load, None)
            })
            .map_err(|message| (ErrorTipo::DbError, message, received))
        }
        Ok(Fetched::Stock { batches, failures }) => {
            report.intentos_http = batches.iter().map(|b| b.attempts).sum::<u32>()
                + failures.iter().map(ApiError::attempts).sum::<u32>();
            report.extraidos = batches.iter().map(|b| b.received).sum();
            report.duplicados = batches.iter().map(|b| b.duplicates_removed).sum();
            let partial = failures.first().map(|err| {
                (
                    error_tipo(err),
                    format!(
                        "{} of {} warehouses failed: {err}",
                        failures.len(),
                        failures.len() + batches.len()
                    ),
                )
            });
            let extracted = report.extraidos as i64;
            let partial_for_outcome = partial.clone();
            load_in_transaction(
                db,
                id,
                now,
                |db| {
                    let mut total = LoadReport::default();
                    for batch in &batches {
                        let one = db.load_stock(
                            &task.ubicacion_id,
                            &batch.almacen,
                            id,
                            now,
                            &batch.items,
                        )?;
                        total.loaded += one.loaded;
                        total.new += one.new;
                    }
                    Ok(total)
                },
                |load| match partial_for_outcome {
                    Some((error_tipo, message)) => Outcome::Partial {
                        extracted,
                        loaded: load.loaded as i64,
                        error_tipo,
                        message,
                    },
                    None => Outcome::Success {
                        extracted,
                        loaded: load.loaded as i64,
                    },
                },
            )
            .map(|load| (load, partial))
            .map_err(|message| (ErrorTipo::DbError, message, report.extraidos))
        }
    };
    match result {
        Ok((load, partial)) => {
            report.cargados = load.loaded;
            report.nuevos = load.new;
            report.estado = if partial.is_some() {
                Estado::Parcial
            } else {
                Estado::Exitoso
            };
            if let Some((tipo, message)) = partial {
                report.error_tipo = Some(tipo);
                report.error_mensaje = Some(message);
            }
        }
        Err((tipo, message, extracted)) => {
            report.estado = Estado::Fallido;
            report.error_tipo = Some(tipo);
            report.error_mensaje = Some(message.clone());
            let failure = Outcome::Failure {
                extracted: extracted as i64,
                error_tipo: tipo,
                message,
            };
            if let Err(err) = executions::finish_in(&mut db.session(), id, &failure, now) {
                report.error_mensaje = Some(format!(
                    "{}; and it could not be recorded: {}",
                    report.error_mensaje.clone().unwrap_or_default(),
                    crate::tracker::one_line(&err.to_string())
                ));
            }
        }
    }
    report.duracion_segundos = executions::get_in(&mut db.session(), id)
        .ok()
        .flatten()
        .and_then(|row| row.duracion_segundos)
        .unwrap_or_default();
}

/// The execution row `task` starts as.
pub(crate) fn new_execution(
    task: &Task,
    report: &TaskReport,
    started_at: NaiveDateTime,
) -> NewExecution {
    NewExecution {
        etl_tipo: task.tipo,
        ubicacion_id: task.ubicacion_id.clone(),
        ubicacion_nombre: task.ubicacion_nombre.clone(),
        fecha_desde: task.window.date(),
        fecha_hasta: task.window.date(),
        hora_desde: report.hora_desde,
        hora_hasta: report.hora_hasta,
        modo: task.modo,
        started_at,
    }
}

/// Whether `task`, started at `started_at`, re-pulls a whole sales day that was closed then:
/// such a load is a verification of the day, and records what it found.
pub fn verifies(task: &Task, started_at: NaiveDateTime, tracking: &TrackingSettings) -> bool {
    let settings = tracking.verification;
    settings.enabled
        && task.tipo == EtlTipo::Ventas
        && task.window.is_whole_day()
        && chrono::Duration::from_std(settings.closes_after)
            .is_ok_and(|closes_after| started_at >= task.window.end + closes_after)
}

/// Where a fetched window is loaded: one engine's connection. The loads run inside the
/// transaction [`load_in_transaction`] opens on it.
pub(crate) trait WindowSink {
    fn session(&mut self) -> Session<'_>;

    /// Upserts a window's sales lines.
    fn load_sales(
        &mut self,
        ubicacion_id: &str,
        ejecucion_id: i64,
        loaded_at: NaiveDateTime,
        lines: SalesLines,
    ) -> Result<LoadReport, TrackerError>;

    /// A whole-day re-pull of the closed day `fecha`: loads it as [`WindowSink::load_sales`]
    /// does and says what it found.
    fn load_sales_verifying(
        &mut self,
        ubicacion_id: &str,
        ejecucion_id: i64,
        loaded_at: NaiveDateTime,
        lines: SalesLines,
        fecha: NaiveDate,
    ) -> Result<(LoadReport, VerificationDiff), TrackerError>;

    /// Replaces one warehouse's stock snapshot.
    fn load_stock(
        &mut self,
        ubicacion_id: &str,
        almacen: &str,
        ejecucion_id: i64,
        snapshot_at: NaiveDateTime,
        items: &[StockItem],
    ) -> Result<LoadReport, TrackerError>;
}

impl WindowSink for Db {
    fn session(&mut self) -> Session<'_> {
        Session::DuckDb(self.conn())
    }

    fn load_sales(
        &mut self,
        ubicacion_id: &str,
        ejecucion_id: i64,
        loaded_at: NaiveDateTime,
        lines: SalesLines,
    ) -> Result<LoadReport, TrackerError> {
        Ok(load::load_sales(
            self.conn(),
            ubicacion_id,
            ejecucion_id,
            loaded_at,
            lines,
        )?)
    }

    fn load_sales_verifying(
        &mut self,
        ubicacion_id: &str,
        ejecucion_id: i64,
        loaded_at: NaiveDateTime,
        lines: SalesLines,
        fecha: NaiveDate,
    ) -> Result<(LoadReport, VerificationDiff), TrackerError> {
        Ok(load::load_sales_verifying(
            self.conn(),
            ubicacion_id,
            ejecucion_id,
            loaded_at,
            lines,
            fecha,
        )?)
    }

    fn load_stock(
        &mut self,
        ubicacion_id: &str,
        almacen: &str,
        ejecucion_id: i64,
        snapshot_at: NaiveDateTime,
        items: &[StockItem],
    ) -> Result<LoadReport, TrackerError> {
        Ok(load::load_stock(
            self.conn(),
            ubicacion_id,
            almacen,
            ejecucion_id,
            snapshot_at,
            items,
        )?)
    }
}

impl WindowSink for PgDb {
    fn session(&mut self) -> Session<'_> {
        PgDb::session(self)
    }

    fn load_sales(
        &mut self,
        ubicacion_id: &str,
        ejecucion_id: i64,
        loaded_at: NaiveDateTime,
        lines: SalesLines,
    ) -> Result<LoadReport, TrackerError> {
        load_pg::load_sales(self.client(), ubicacion_id, ejecucion_id, loaded_at, lines)
    }

    fn load_sales_verifying(
        &mut self,
        ubicacion_id: &str,
        ejecucion_id: i64,
        loaded_at: NaiveDateTime,
        lines: SalesLines,
        fecha: NaiveDate,
    ) -> Result<(LoadReport, VerificationDiff), TrackerError> {
        load_pg::load_sales_verifying(
            self.client(),
            ubicacion_id,
            ejecucion_id,
            loaded_at,
            lines,
            fecha,
        )
    }

    fn load_stock(
        &mut self,
        ubicacion_id: &str,
        almacen: &str,
        ejecucion_id: i64,
        snapshot_at: NaiveDateTime,
        items: &[StockItem],
    ) -> Result<LoadReport, TrackerError> {
        load_pg::load_stock(
            self.client(),
            ubicacion_id,
            almacen,
            ejecucion_id,
            snapshot_at,
            items,
        )
    }
}

/// `load` and the `exitoso`/`parcial` mark commit together or not at all.
fn load_in_transaction(
    db: &mut dyn WindowSink,
    id: i64,
    now: NaiveDateTime,
    load: impl FnOnce(&mut dyn WindowSink) -> Result<LoadReport, TrackerError>,
    outcome: impl FnOnce(&LoadReport) -> Outcome,
) -> Result<LoadReport, String> {
    let one_line = |e: &dyn std::fmt::Display| crate::tracker::one_line(&e.to_string());
    db.session()
        .batch("BEGIN TRANSACTION")
        .map_err(|e| one_line(&e))?;
    let loaded = || {
        let report = load(db).map_err(|e| format!("loading failed: {}", one_line(&e)))?;
        executions::finish_in(&mut db.session(), id, &outcome(&report), now)
            .map_err(|e| one_line(&e))?;
        db.session().batch("COMMIT").map_err(|e| one_line(&e))?;
        Ok(report)
    };
    let result = loaded();
    if result.is_err() {
        let _ = db.session().batch("ROLLBACK");
    }
    result
}
