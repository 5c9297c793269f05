//! The coverage heat-map of the dashboard: per store, every sales slot of a period and what
//! it is (covered, a gap, a gap waiting out its backoff, in flight, not due yet, closed), and
//! per day the same folded into one cell. Built from what `gaps` computes (the `klk_gaps`
//! logic) plus the live executions and each store's watermark; no SQL of its own.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use crate::config::OpeningHours;
use crate::etl::tasks::backing_off_until;
use crate::tracker::executions::ExecutionRow;
use crate::tracker::gaps::{CAUSA_SIN_VERIFICAR, Gap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CellState {
    /// Some `exitoso` execution's window contains it.
    Covered,
    /// A gap: failed, partial, stuck, or never attempted once due.
    Gap,
    /// A gap whose window failed repeatedly while the store worked: `run` retries it later.
    BackingOff,
    /// A live `en_proceso` execution is loading it.
    InFlight,
    /// Not due yet: in the future, or closed too recently for a missing run to count.
    NotDue,
    /// No sales expected: outside opening hours, or before the store's history starts.
    Closed,
    /// A closed day no whole-day re-pull verified by its deadline (day view).
    Unverified,
}

impl CellState {
    pub fn as_str(self) -> &'static str {
        match self {
            CellState::Covered => "covered",
            CellState::Gap => "gap",
            CellState::BackingOff => "backing_off",
            CellState::InFlight => "in_flight",
            CellState::NotDue => "not_due",
            CellState::Closed => "closed",
            CellState::Unverified => "unverified",
        }
    }

    /// The worse of two, for folding slots into a day: a gap shows over everything.
    fn rank(self) -> u8 {
        match self {
            CellState::Closed => 0,
            CellState::Covered => 1,
            CellState::NotDue => 2,
            CellState::Unverified => 3,
            CellState::InFlight => 4,
            CellState::BackingOff => 5,
            CellState::Gap => 6,
        }
    }
}

/// A store as the map draws it.
#[derive(Debug, Clone)]
pub struct MapStore {
    pub id: String,
    pub name: String,
    pub opening_hours: Option<OpeningHours>,
    /// When its sales are expected from (`None`: not yet).
    pub expected_since: Option<NaiveDateTime>,
}

/// Everything the map is computed from.
#[derive(Debug, Clone)]
pub struct MapInputs<'a> {
    pub now: NaiveDateTime,
    pub slot_minutes: u32,
    pub grace: Duration,
    /// An `en_proceso` execution started before this is stuck, not in flight.
    pub live_since: NaiveDateTime,
    pub stores: Vec<MapStore>,
    /// Gaps over at least the period drawn (both tipos; only `ventas` is drawn).
    pub gaps: &'a [Gap],
    /// `en_proceso` executions.
    pub in_progress: &'a [ExecutionRow],
    /// Per store, where its loaded sales end.
    pub watermarks: &'a HashMap<String, NaiveDateTime>,
}

/// Consecutive slots of one state (and, for a gap, of one gap).
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub state: CellState,
    pub slots: u32,
    /// The gap's cause and error, for a gap segment.
    pub causa: Option<String>,
    pub error_tipo: Option<String>,
    /// When a backing-off window is retried.
    pub next_try: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlotRow {
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub segments: Vec<Segment>,
    /// Days of the period with a `sin_verificar` gap.
    pub unverified_days: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayCell {
    pub fecha: NaiveDate,
    pub state: CellState,
    pub gap_slots: u32,
    pub covered_slots: u32,
    pub expected_slots: u32,
    pub unverified: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayRow {
    pub ubicacion_id: String,
    pub ubicacion_nombre: String,
    pub days: Vec<DayCell>,
}

struct StoreGaps<'a> {
    windows: Vec<(NaiveDateTime, NaiveDateTime, &'a Gap)>,
    unverified: Vec<NaiveDate>,
    in_flight: Vec<(NaiveDateTime, NaiveDateTime)>,
}

fn window_of(
    fecha_desde: NaiveDate,
    fecha_hasta: NaiveDate,
    hora_desde: Option<NaiveTime>,
    hora_hasta: Option<NaiveTime>,
) -> (NaiveDateTime, NaiveDateTime) {
    let start = fecha_desde.and_time(hora_desde.unwrap_or(NaiveTime::MIN));
    let end = match hora_hasta {
        // `23:59:59` ends the day (the gap's and the runner's convention).
        Some(t) if t >= NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN) => {
            (fecha_hasta + Duration::days(1)).and_time(NaiveTime::MIN)
        }
        Some(t) => fecha_hasta.and_time(t),
        None => (fecha_hasta + Duration::days(1)).and_time(NaiveTime::MIN),
    };
    (start, end)
}

impl<'a> MapInputs<'a> {
    fn per_store(&self) -> HashMap<&str, StoreGaps<'a>> {
        let mut map: HashMap<&str, StoreGaps<'a>> = HashMap::new();
        for store in &self.stores {
            map.insert(
                store.id.as_str(),
                StoreGaps {
                    windows: Vec::new(),
                    unverified: Vec::new(),
                    in_flight: Vec::new(),
                },
            );
        }
        for gap in self.gaps.iter().filter(|g| g.etl_tipo == "ventas") {
            let Some(entry) = map.get_mut(gap.ubicacion_id.as_str()) else {
                continue;
            };
            if gap.causa == CAUSA_SIN_VERIFICAR {
                entry.unverified.push(gap.fecha_desde);
                continue;
            }
            let (start, end) = window_of(
                gap.fecha_desde,
                gap.fecha_hasta,
                gap.hora_desde,
                gap.hora_hasta,
            );
            entry.windows.push((start, end, gap));
        }
        for row in self.in_progress.iter().filter(|e| {
            e.etl_tipo == "ventas" && e.estado == "en_proceso" && e.fecha_inicio >= self.live_since
        }) {
            if let Some(entry) = map.get_mut(row.ubicacion_id.as_str()) {
                entry.in_flight.push(window_of(
                    row.fecha_desde,
                    row.fecha_hasta,
                    row.hora_desde,
                    row.hora_hasta,
                ));
            }
        }
        map
    }

    fn slot_state<'g>(
        &self,
        store: &MapStore,
        gaps: &StoreGaps<'g>,
        start: NaiveDateTime,
        end: NaiveDateTime,
    ) -> (CellState, Option<&'g Gap>) {
        let expected = store.expected_since.is_some_and(|since| start >= since)
            && store.opening_hours.is_none_or(|hours| {
                start.time() >= hours.open
                    && hours
                        .close
                        .is_none_or(|close| end <= start.date().and_time(close))
            });
        if !expected {
            return (CellState::Closed, None);
        }
        if let Some((_, _, gap)) = gaps
            .windows
            .iter()
            .find(|(from, to, _)| *from <= start && end <= *to)
        {
            let state = if backing_off_until(gap, self.now, self.slot_minutes).is_some() {
                CellState::BackingOff
            } else {
                CellState::Gap
            };
            return (state, Some(gap));
        }
        if gaps
            .in_flight
            .iter()
            .any(|(from, to)| *from < end && start < *to)
        {
            return (CellState::InFlight, None);
        }
        let watermark = self.watermarks.get(&store.id).copied();
        if end > self.now || (end > self.now - self.grace && watermark.is_none_or(|w| end > w)) {
            return (CellState::NotDue, None);
        }
        (CellState::Covered, None)
    }

    /// Every slot of `[from, to)` per store, merged into segments.
    pub fn slot_rows(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<SlotRow> {
        let per_store = self.per_store();
        let step = Duration::minutes(i64::from(self.slot_minutes));
        self.stores
            .iter()
            .map(|store| {
                let gaps = &per_store[store.id.as_str()];
                let mut segments: Vec<Segment> = Vec::new();
                let mut start = from;
                while start < to {
                    let end = start + step;
                    let (state, gap) = self.slot_state(store, gaps, start, end);
                    let same = segments.last().is_some_and(|last| {
                        last.state == state
                            && last.end == start
                            && last.causa.as_deref() == gap.map(|g| g.causa.as_str())
                            && last.error_tipo.as_deref() == gap.map(|g| g.error_tipo.as_str())
                    });
                    if same {
                        let last = segments.last_mut().expect("checked");
                        last.end = end;
                        last.slots += 1;
                    } else {
                        segments.push(Segment {
                            start,
                            end,
                            state,
                            slots: 1,
                            causa: gap.map(|g| g.causa.clone()),
                            error_tipo: gap.map(|g| g.error_tipo.clone()),
                            next_try: gap
                                .and_then(|g| backing_off_until(g, self.now, self.slot_minutes)),
                        });
                    }
                    start = end;
                }
                let mut unverified: Vec<NaiveDate> = gaps
                    .unverified
                    .iter()
                    .copied()
                    .filter(|d| d.and_time(NaiveTime::MIN) >= from.date().and_time(NaiveTime::MIN))
                    .filter(|d| d.and_time(NaiveTime::MIN) < to)
                    .collect();
                unverified.sort();
                unverified.dedup();
                SlotRow {
                    ubicacion_id: store.id.clone(),
                    ubicacion_nombre: store.name.clone(),
                    segments,
                    unverified_days: unverified,
                }
            })
            .collect()
    }

    /// One cell per store and day, `first..=last`.
    pub fn day_rows(&self, first: NaiveDate, last: NaiveDate) -> Vec<DayRow> {
        let per_store = self.per_store();
        let step = Duration::minutes(i64::from(self.slot_minutes));
        self.stores
            .iter()
            .map(|store| {
                let gaps = &per_store[store.id.as_str()];
                let mut days = Vec::new();
                let mut day = first;
                while day <= last {
                    let mut start = day.and_time(NaiveTime::MIN);
                    let midnight = start + Duration::days(1);
                    let (mut gap_slots, mut covered, mut expected, mut not_due) = (0, 0, 0, 0);
                    let mut worst = CellState::Closed;
                    while start < midnight {
                        let end = start + step;
                        let (state, _) = self.slot_state(store, gaps, start, end);
                        match state {
                            CellState::Closed => {}
                            CellState::Covered => covered += 1,
                            CellState::Gap | CellState::BackingOff => gap_slots += 1,
                            CellState::NotDue => not_due += 1,
                            _ => {}
                        }
                        if state != CellState::Closed {
                            expected += 1;
                        }
                        if state.rank() > worst.rank() && state != CellState::NotDue {
                            worst = state;
                        }
                        start = end;
                    }
                    let unverified = gaps.unverified.contains(&day);
                    if unverified && worst.rank() < CellState::Unverified.rank() {
                        worst = CellState::Unverified;
                    }
                    if worst == CellState::Closed && not_due > 0 {
                        worst = CellState::NotDue;
                    }
                    days.push(DayCell {
                        fecha: day,
                        state: worst,
                        gap_slots,
                        covered_slots: covered,
                        expected_slots: expected,
                        unverified,
                    });
                    day += Duration::days(1);
                }
                DayRow {
                    ubicacion_id: store.id.clone(),
                    ubicacion_nombre: store.name.clone(),
                    days,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn gap(from: &str, to: &str, causa: &str, attempts_after_success: i64) -> Gap {
        let start = at(from);
        let end = at(to);
        Gap {
            etl_tipo: "ventas".into(),
            ubicacion_id: "a".into(),
            ubicacion_nombre: "A".into(),
            fecha_desde: start.date(),
            fecha_hasta: start.date(),
            hora_desde: Some(start.time()),
            hora_hasta: Some(end.time()),
            fecha_fallo: start,
            error_tipo: "timeout".into(),
            error_mensaje: None,
            horas_desde_fallo: 1.0,
            causa: causa.into(),
            intentos: attempts_after_success.max(1),
            slots: Some(1),
            ultima_ejecucion_id: Some(1),
            ultimo_intento: Some(at("2025-11-24 15:50")),
            intentos_tras_exito: attempts_after_success,
        }
    }

    fn inputs<'a>(
        gaps: &'a [Gap],
        running: &'a [ExecutionRow],
        marks: &'a HashMap<String, NaiveDateTime>,
    ) -> MapInputs<'a> {
        MapInputs {
            now: at("2025-11-24 16:10"),
            slot_minutes: 30,
            grace: Duration::minutes(30),
            live_since: at("2025-11-24 15:10"),
            stores: vec![MapStore {
                id: "a".into(),
                name: "A".into(),
                opening_hours: Some(OpeningHours {
                    open: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
                    close: None,
                }),
                expected_since: Some(at("2025-11-20 00:00")),
            }],
            gaps,
            in_progress: running,
            watermarks: marks,
        }
    }

    #[test]
    fn slots_take_the_state_of_gaps_hours_and_now() {
        let gaps = [gap("2025-11-24 10:00", "2025-11-24 11:00", "fallido", 0)];
        let marks = HashMap::from([("a".to_string(), at("2025-11-24 15:30"))]);
        let map = inputs(&gaps, &[], &marks);
        let rows = map.slot_rows(at("2025-11-24 00:00"), at("2025-11-25 00:00"));
        let states: Vec<(String, &str, u32)> = rows[0]
            .segments
            .iter()
            .map(|s| {
                (
                    s.start.format("%H:%M").to_string(),
                    s.state.as_str(),
                    s.slots,
                )
            })
            .collect();
        assert_eq!(
            states,
            vec![
                ("00:00".into(), "closed", 14),
                ("07:00".into(), "covered", 6),
                ("10:00".into(), "gap", 2),
                ("11:00".into(), "covered", 9),
                // 15:30-16:00 closed 10 minutes ago, past the watermark: not due yet
                ("15:30".into(), "not_due", 17),
            ]
        );
    }

    #[test]
    fn a_poison_window_backs_off_and_a_day_folds_to_its_worst_slot() {
        let gaps = [gap("2025-11-23 12:00", "2025-11-23 12:30", "fallido", 4)];
        let marks = HashMap::from([("a".to_string(), at("2025-11-24 16:00"))]);
        let map = inputs(&gaps, &[], &marks);
        let rows = map.slot_rows(at("2025-11-23 12:00"), at("2025-11-23 13:00"));
        assert_eq!(rows[0].segments[0].state, CellState::BackingOff);
        assert!(rows[0].segments[0].next_try.is_some());
        let days = map.day_rows(
            NaiveDate::from_ymd_opt(2025, 11, 19).unwrap(),
            NaiveDate::from_ymd_opt(2025, 11, 24).unwrap(),
        );
        let states: Vec<&str> = days[0].days.iter().map(|d| d.state.as_str()).collect();
        assert_eq!(
            states,
            vec![
                "closed",
                "covered",
                "covered",
                "covered",
                "backing_off",
                "covered"
            ]
        );
        assert_eq!(days[0].days[4].gap_slots, 1);
        assert_eq!(days[0].days[4].expected_slots, 34);
    }
}
