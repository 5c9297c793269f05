//! What a run will do: recovery of gaps (bounded, oldest first, stores taking turns, poison
//! windows backed off) and the normal ETL (incremental from each store's watermark, or whole
//! days). Reads the database; writes nothing.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::plan::{self, IncrementalSettings, Window, floor_to_slot, split_at_midnight};
use crate::config::{Config, Store};
use crate::tracker::engine::Session;
use crate::tracker::gaps::{self, Gap, GapQuery};
use crate::tracker::verification::{self, PendingDay};
use crate::tracker::vocab::{EtlTipo, Modo};
use crate::tracker::{TrackerError, coverage};

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub tipo: EtlTipo,
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    #[serde(skip)]
    pub store: Store,
    /// The data asked for. For `inventario`, the snapshot's date as a whole day.
    pub window: Window,
    pub modo: Modo,
}

impl Task {
    fn new(tipo: EtlTipo, store: &Store, window: Window, modo: Modo) -> Task {
        Task {
            tipo,
            ubicacion_id: store.id.clone(),
            ubicacion_nombre: store.name.clone(),
            store: store.clone(),
            window,
            modo,
        }
    }
}

/// A gap left for a later run, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Deferred {
    #[serde(flatten)]
    pub gap: Gap,
    pub reason: String,
}

/// A closed day whose verification waits for a later run, and why.
#[derive(Debug, Clone, Serialize)]
pub struct DeferredVerification {
    #[serde(flatten)]
    pub day: PendingDay,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub recoveries: Vec<Task>,
    pub deferred: Vec<Deferred>,
    pub tasks: Vec<Task>,
    /// Whole-day re-pulls of closed days (`modo = verificacion`), after the normal windows.
    pub verifications: Vec<Task>,
    pub verifications_deferred: Vec<DeferredVerification>,
}

impl Plan {
    /// Every task in the order it runs: recoveries, the normal windows, verifications.
    pub fn queue(&self) -> Vec<Task> {
        self.recoveries
            .iter()
            .chain(&self.tasks)
            .chain(&self.verifications)
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone)]
pub enum Scope {
    /// From each store's watermark to now.
    Incremental,
    /// Whole days, both included (`modo = completo`).
    Days { from: NaiveDate, to: NaiveDate },
    /// Recovery only.
    None,
}

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub tipos: Vec<EtlTipo>,
    /// Empty: every active store.
    pub stores: Vec<String>,
    pub scope: Scope,
    pub recover: bool,
    pub max_gaps: usize,
    pub ignore_backoff: bool,
    pub settle_lag: Duration,
    pub overlap: Duration,
    /// Recover only gaps that failed at or after this (the seed's `--since`).
    pub gaps_since: Option<NaiveDateTime>,
    /// Re-pull closed days not verified yet, at most this many (0: none).
    pub max_verifications: usize,
}

/// After this many failed attempts a window is retried less and less often.
pub const BACKOFF_AFTER_ATTEMPTS: i64 = 3;
const BACKOFF_CAP: Duration = Duration::hours(6);

/// How long to leave a window that failed `attempts` times before trying again.
pub fn backoff(attempts: i64, slot_minutes: u32) -> Duration {
    if attempts < BACKOFF_AFTER_ATTEMPTS {
        return Duration::zero();
    }
    let doublings = (attempts - BACKOFF_AFTER_ATTEMPTS).min(16) as u32;
    (Duration::minutes(i64::from(slot_minutes)) * 2i32.pow(doublings)).min(BACKOFF_CAP)
}

pub fn stores_in_scope<'a>(config: &'a Config, ids: &[String]) -> Vec<&'a Store> {
    config
        .stores
        .iter()
        .filter(|s| s.active && (ids.is_empty() || ids.contains(&s.id)))
        .collect()
}

pub fn build(
    session: &mut Session,
    config: &Config,
    now_local: NaiveDateTime,
    options: &PlanOptions,
) -> Result<Plan, TrackerError> {
    let stores = stores_in_scope(config, &options.stores);
    let slot = config.tracking.slot_minutes;
    let horizon_start =
        now_local - Duration::from_std(config.tracking.horizon).unwrap_or(Duration::days(7));
    let settled = floor_to_slot(now_local - options.settle_lag, slot);

    let mut tasks = Vec::new();
    for &tipo in &options.tipos {
        match (tipo, &options.scope) {
            (_, Scope::None) => {}
            (EtlTipo::Inventario, _) => {
                for store in &stores {
                    tasks.push(Task::new(tipo, store, day_of(now_local), Modo::Completo));
                }
            }
            (EtlTipo::Ventas, Scope::Incremental) => {
                let marks = coverage::sales_watermarks(session, horizon_start)?;
                let failing = coverage::stores_whose_last_sales_failed(session)?;
                let settings = IncrementalSettings {
                    slot_minutes: slot,
                    settle_lag: options.settle_lag,
                    overlap: options.overlap,
                    horizon_start,
                };
                for store in &stores {
                    let since = store.since.map(|d| d.and_time(chrono::NaiveTime::MIN));
                    let mark = marks.get(&store.id).copied();
                    let mut windows = plan::incremental_windows(now_local, mark, since, &settings);
                    if failing.contains(&store.id) {
                        // One window the API cannot serve must not hold back the others.
                        windows = plan::slot_by_slot(windows, slot);
                    }
                    for window in windows {
                        tasks.push(Task::new(tipo, store, window, Modo::Incremental));
                    }
                }
            }
            (EtlTipo::Ventas, Scope::Days { from, to }) => {
                let start = from.and_time(chrono::NaiveTime::MIN);
                // Never claim a day's future: today stops at the last settled slot.
                let end = ((*to + Duration::days(1)).and_time(chrono::NaiveTime::MIN)).min(settled);
                for store in &stores {
                    for window in split_at_midnight(start, end) {
                        tasks.push(Task::new(tipo, store, window, Modo::Completo));
                    }
                }
            }
        }
    }

    let mut plan = Plan {
        tasks,
        ..Plan::default()
    };
    if options.max_verifications > 0 && options.tipos.contains(&EtlTipo::Ventas) {
        let store_ids: Vec<String> = stores.iter().map(|s| s.id.clone()).collect();
        let pending = verification::pending(session, now_local, &config.tracking, &store_ids)?
            .into_iter()
            // A day this run re-pulls whole anyway (`run --full --date yesterday`) is verified
            // by that re-pull.
            .filter(|day| {
                !plan.tasks.iter().any(|t| {
                    t.tipo == EtlTipo::Ventas
                        && t.ubicacion_id == day.ubicacion_id
                        && t.window.is_whole_day()
                        && t.window.date() == day.fecha
                })
            })
            .collect();
        let (chosen, deferred) = select_verifications(
            pending,
            &stores,
            now_local,
            options.max_verifications,
            slot,
            options.ignore_backoff,
        );
        plan.verifications = chosen;
        plan.verifications_deferred = deferred;
    }
    if options.recover {
        let found = gaps::list_in(
            session,
            &GapQuery {
                now_local,
                tracking: config.tracking,
                horizon: config.tracking.horizon,
                etl_tipo: None,
                stores: stores.iter().map(|s| s.id.clone()).collect(),
            },
        )?;
        let candidates = found
            .into_iter()
            .filter(|g| EtlTipo::parse(&g.etl_tipo).is_some_and(|t| options.tipos.contains(&t)))
            .filter(|g| {
                options
                    .gaps_since
                    .is_none_or(|since| g.fecha_fallo >= since)
            })
            .collect();
        // A day verified in this run needs no recovery of its slots: the re-pull covers them.
        let covering: Vec<Task> = plan
            .tasks
            .iter()
            .chain(&plan.verifications)
            .cloned()
            .collect();
        let (recoveries, deferred) =
            select_recoveries(candidates, &stores, &covering, now_local, slot, options);
        plan.recoveries = recoveries;
        plan.deferred = deferred;
    }
    Ok(plan)
}

fn day_of(ts: NaiveDateTime) -> Window {
    let start = ts.date().and_time(chrono::NaiveTime::MIN);
    Window {
        start,
        end: plan::next_midnight(start),
    }
}

/// Oldest day first, at most `max`; a day whose re-pull failed repeatedly waits out its
/// backoff (unless `ignore_backoff`).
fn select_verifications(
    pending: Vec<PendingDay>,
    stores: &[&Store],
    now_local: NaiveDateTime,
    max: usize,
    slot_minutes: u32,
    ignore_backoff: bool,
) -> (Vec<Task>, Vec<DeferredVerification>) {
    let by_id: HashMap<&str, &Store> = stores.iter().map(|s| (s.id.as_str(), *s)).collect();
    let mut chosen = Vec::new();
    let mut deferred = Vec::new();
    for day in pending {
        let Some(store) = by_id.get(day.ubicacion_id.as_str()) else {
            continue;
        };
        if !ignore_backoff && let Some(last) = day.ultimo_intento {
            let wait = backoff(day.intentos, slot_minutes);
            if last + wait > now_local {
                let reason = format!(
                    "backoff: {} failed re-pulls, next try after {}",
                    day.intentos,
                    (last + wait).format("%Y-%m-%d %H:%M")
                );
                deferred.push(DeferredVerification { day, reason });
                continue;
            }
        }
        if chosen.len() >= max {
            let reason = format!("limit: at most {max} verifications per run");
            deferred.push(DeferredVerification { day, reason });
            continue;
        }
        let window = day_of(day.fecha.and_time(chrono::NaiveTime::MIN));
        chosen.push(Task::new(
            EtlTipo::Ventas,
            store,
            window,
            Modo::Verificacion,
        ));
    }
    (chosen, deferred)
}

/// The window a gap asks to fetch again.
pub fn gap_window(gap: &Gap) -> Window {
    match (gap.hora_desde, gap.hora_hasta) {
        (Some(from), Some(to)) => {
            let start = gap.fecha_desde.and_time(from);
            let end = if to == plan::LAST_SECOND {
                plan::next_midnight(start)
            } else {
                gap.fecha_desde.and_time(to)
            };
            Window { start, end }
        }
        _ => day_of(gap.fecha_desde.and_time(chrono::NaiveTime::MIN)),
    }
}

/// When a gap's window may be retried, if it is still waiting out its backoff now.
/// Failures during an outage of the whole store do not count: once it answers again its
/// gaps are recovered at once. A window failing while the store works is retried less and
/// less often.
pub fn backing_off_until(
    gap: &Gap,
    now_local: NaiveDateTime,
    slot_minutes: u32,
) -> Option<NaiveDateTime> {
    let last = gap.ultimo_intento?;
    let next_try = last + backoff(gap.intentos_tras_exito, slot_minutes);
    (next_try > now_local).then_some(next_try)
}

/// Oldest first, stores taking turns, at most `max_gaps`; windows that failed repeatedly
/// wait out their backoff; a gap this run's normal windows already cover is left to them.
fn select_recoveries(
    gaps: Vec<Gap>,
    stores: &[&Store],
    normal: &[Task],
    now_local: NaiveDateTime,
    slot_minutes: u32,
    options: &PlanOptions,
) -> (Vec<Task>, Vec<Deferred>) {
    let by_id: HashMap<&str, &Store> = stores.iter().map(|s| (s.id.as_str(), *s)).collect();
    let mut deferred = Vec::new();
    // Per store, in the order the gaps come (oldest failure first); stores ordered by
    // their oldest gap.
    let mut queues: BTreeMap<usize, (String, VecDeque<Gap>)> = BTreeMap::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for gap in gaps {
        if gap.causa == gaps::CAUSA_SIN_VERIFICAR {
            // Verifying the day (the plan's verifications) is what closes it.
            continue;
        }
        let tipo = EtlTipo::parse(&gap.etl_tipo).unwrap_or(EtlTipo::Ventas);
        let window = gap_window(&gap);
        let already_covered = normal.iter().any(|t| {
            t.tipo == tipo
                && t.ubicacion_id == gap.ubicacion_id
                && (tipo == EtlTipo::Inventario
                    || (t.window.start <= window.start && t.window.end >= window.end))
        });
        if already_covered {
            continue;
        }
        if !options.ignore_backoff
            && let Some(next_try) = backing_off_until(&gap, now_local, slot_minutes)
        {
            let reason = format!(
                "backoff: {} failed attempts while the store otherwise worked, next try after {}",
                gap.intentos_tras_exito,
                next_try.format("%Y-%m-%d %H:%M")
            );
            deferred.push(Deferred { gap, reason });
            continue;
        }
        let next = position.len();
        let index = *position.entry(gap.ubicacion_id.clone()).or_insert(next);
        queues
            .entry(index)
            .or_insert_with(|| (gap.ubicacion_id.clone(), VecDeque::new()))
            .1
            .push_back(gap);
    }
    let mut chosen = Vec::new();
    loop {
        let mut took_any = false;
        for (_, (_, queue)) in queues.iter_mut() {
            let Some(gap) = queue.pop_front() else {
                continue;
            };
            took_any = true;
            if chosen.len() >= options.max_gaps {
                deferred.push(Deferred {
                    gap,
                    reason: format!("limit: at most {} gaps per run", options.max_gaps),
                });
                continue;
            }
            let Some(store) = by_id.get(gap.ubicacion_id.as_str()) else {
                deferred.push(Deferred {
                    gap,
                    reason: "store is not in the configuration".to_string(),
                });
                continue;
            };
            let tipo = EtlTipo::parse(&gap.etl_tipo).unwrap_or(EtlTipo::Ventas);
            let window = match tipo {
                EtlTipo::Ventas => gap_window(&gap),
                EtlTipo::Inventario => day_of(now_local),
            };
            chosen.push(Task::new(tipo, store, window, Modo::Recuperacion));
        }
        if !took_any {
            break;
        }
    }
    (chosen, deferred)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_after_three_attempts_and_is_capped() {
        assert_eq!(backoff(2, 30), Duration::zero());
        assert_eq!(backoff(3, 30), Duration::minutes(30));
        assert_eq!(backoff(4, 30), Duration::minutes(60));
        assert_eq!(backoff(6, 30), Duration::minutes(240));
        assert_eq!(backoff(40, 30), Duration::hours(6));
    }
}
