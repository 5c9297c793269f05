//! Windows: what a run asks the API for. Pure functions of the slot grid and "now".
//!
//! A window is `[start, end)` in store-local time, inside one date (it never crosses
//! midnight) and aligned to the slot grid. Sent to the API as one date with hours
//! (`hora_hasta` 23:59:59 when the window runs to midnight, so no second is left out), or as
//! a whole day without hours.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Window {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

pub const LAST_SECOND: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
    Some(t) => t,
    None => panic!("23:59:59 is a valid time"),
};

impl Window {
    pub fn date(&self) -> NaiveDate {
        self.start.date()
    }

    pub fn is_whole_day(&self) -> bool {
        self.start.time() == NaiveTime::MIN && self.end == next_midnight(self.start)
    }

    /// `(hora_desde, hora_hasta)` as recorded and requested; `None` for a whole day.
    pub fn hours(&self) -> Option<(NaiveTime, NaiveTime)> {
        if self.is_whole_day() {
            return None;
        }
        let to = if self.end == next_midnight(self.start) {
            LAST_SECOND
        } else {
            self.end.time()
        };
        Some((self.start.time(), to))
    }

    pub fn duration(&self) -> Duration {
        self.end - self.start
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.hours() {
            None => write!(f, "{}", self.date()),
            Some((from, to)) => write!(
                f,
                "{} {}-{}",
                self.date(),
                from.format("%H:%M"),
                if to == LAST_SECOND {
                    "24:00".to_string()
                } else {
                    to.format("%H:%M").to_string()
                }
            ),
        }
    }
}

pub fn next_midnight(ts: NaiveDateTime) -> NaiveDateTime {
    (ts.date() + Duration::days(1)).and_time(NaiveTime::MIN)
}

/// The start of the slot containing `ts`.
pub fn floor_to_slot(ts: NaiveDateTime, slot_minutes: u32) -> NaiveDateTime {
    let minutes_of_day = ts.hour() * 60 + ts.minute();
    let floored = minutes_of_day - minutes_of_day % slot_minutes;
    ts.date().and_time(NaiveTime::MIN) + Duration::minutes(i64::from(floored))
}

/// The end of the slot containing `ts`, or `ts` itself when it is a slot boundary.
pub fn ceil_to_slot(ts: NaiveDateTime, slot_minutes: u32) -> NaiveDateTime {
    let floor = floor_to_slot(ts, slot_minutes);
    if floor == ts {
        ts
    } else {
        floor + Duration::minutes(i64::from(slot_minutes))
    }
}

/// Cuts `[start, end)` at every midnight.
pub fn split_at_midnight(start: NaiveDateTime, end: NaiveDateTime) -> Vec<Window> {
    let mut windows = Vec::new();
    let mut from = start;
    while from < end {
        let to = next_midnight(from).min(end);
        windows.push(Window {
            start: from,
            end: to,
        });
        from = to;
    }
    windows
}

/// Settings of the incremental plan.
#[derive(Debug, Clone, Copy)]
pub struct IncrementalSettings {
    pub slot_minutes: u32,
    /// Slots closing less than this before now are left for the next run (the POS may
    /// still be sending their lines).
    pub settle_lag: Duration,
    /// How far before the watermark to start again, to catch lines that arrived late.
    pub overlap: Duration,
    /// Nothing before this is fetched incrementally (older holes are gaps).
    pub horizon_start: NaiveDateTime,
}

/// The windows of one store's incremental run: every closed, settled slot from its
/// watermark (minus the overlap) to now, cut at midnight. `watermark` is where the store's
/// covered data ends; without one (a store's first run) only the last settled slot is
/// fetched, or from `since` when the store has one.
pub fn incremental_windows(
    now_local: NaiveDateTime,
    watermark: Option<NaiveDateTime>,
    since: Option<NaiveDateTime>,
    settings: &IncrementalSettings,
) -> Vec<Window> {
    let slot = Duration::minutes(i64::from(settings.slot_minutes));
    let until = floor_to_slot(now_local - settings.settle_lag, settings.slot_minutes);
    let from = match (watermark, since) {
        (Some(mark), _) => floor_to_slot(mark - settings.overlap, settings.slot_minutes),
        (None, Some(since)) => ceil_to_slot(since, settings.slot_minutes),
        (None, None) => until - slot,
    };
    let from = from.max(ceil_to_slot(settings.horizon_start, settings.slot_minutes));
    split_at_midnight(from, until)
}

/// Cuts windows that are not whole days into single slots (whole days stay whole).
pub fn slot_by_slot(windows: Vec<Window>, slot_minutes: u32) -> Vec<Window> {
    let slot = Duration::minutes(i64::from(slot_minutes));
    windows
        .into_iter()
        .flat_map(|w| {
            if w.is_whole_day() {
                return vec![w];
            }
            let mut pieces = Vec::new();
            let mut start = w.start;
            while start < w.end {
                let end = (start + slot).min(w.end);
                pieces.push(Window { start, end });
                start = end;
            }
            pieces
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn settings() -> IncrementalSettings {
        IncrementalSettings {
            slot_minutes: 30,
            settle_lag: Duration::minutes(2),
            overlap: Duration::minutes(30),
            horizon_start: ts("2025-11-17 16:00"),
        }
    }

    #[test]
    fn at_five_past_midnight_yesterdays_last_half_hour_is_fetched() {
        // The original asked for today 23:35-00:05 and lost yesterday's last half hour.
        let windows = incremental_windows(
            ts("2025-11-25 00:05"),
            Some(ts("2025-11-24 23:30")),
            None,
            &IncrementalSettings {
                overlap: Duration::zero(),
                ..settings()
            },
        );
        assert_eq!(
            windows,
            vec![Window {
                start: ts("2025-11-24 23:30"),
                end: ts("2025-11-25 00:00")
            }]
        );
        let hours = windows[0].hours().unwrap();
        assert_eq!(hours.1, LAST_SECOND);
        assert_eq!(windows[0].to_string(), "2025-11-24 23:30-24:00");
    }

    #[test]
    fn a_late_run_catches_up_every_slot_and_splits_at_midnight() {
        let windows = incremental_windows(
            ts("2025-11-25 01:07"),
            Some(ts("2025-11-24 22:00")),
            None,
            &settings(),
        );
        assert_eq!(
            windows,
            vec![
                Window {
                    start: ts("2025-11-24 21:30"),
                    end: ts("2025-11-25 00:00")
                },
                Window {
                    start: ts("2025-11-25 00:00"),
                    end: ts("2025-11-25 01:00")
                },
            ]
        );
    }

    #[test]
    fn the_settle_lag_keeps_a_slot_that_just_closed_for_the_next_run() {
        let windows = incremental_windows(
            ts("2025-11-24 10:31"),
            Some(ts("2025-11-24 10:00")),
            None,
            &IncrementalSettings {
                overlap: Duration::zero(),
                ..settings()
            },
        );
        assert!(windows.is_empty(), "{windows:?}");
    }

    #[test]
    fn a_first_run_takes_the_last_settled_slot_or_starts_at_since() {
        let first = incremental_windows(ts("2025-11-24 10:35"), None, None, &settings());
        assert_eq!(
            first,
            vec![Window {
                start: ts("2025-11-24 10:00"),
                end: ts("2025-11-24 10:30")
            }]
        );
        let since = incremental_windows(
            ts("2025-11-24 10:35"),
            None,
            Some(ts("2025-11-24 00:00")),
            &settings(),
        );
        assert_eq!(since.len(), 1);
        assert_eq!(since[0].start, ts("2025-11-24 00:00"));
    }

    #[test]
    fn nothing_older_than_the_horizon_is_fetched_incrementally() {
        let windows = incremental_windows(
            ts("2025-11-24 16:05"),
            Some(ts("2025-10-01 00:00")),
            None,
            &settings(),
        );
        assert_eq!(windows.first().unwrap().start, ts("2025-11-17 16:00"));
        assert_eq!(windows.len(), 8);
        assert!(
            windows
                .iter()
                .all(|w| w.start.date() == w.end.date() || w.end == next_midnight(w.start))
        );
        assert!(windows[1].is_whole_day() && windows[1].hours().is_none());
    }

    #[test]
    fn slot_by_slot_keeps_whole_days() {
        let day = Window {
            start: ts("2025-11-23 00:00"),
            end: ts("2025-11-24 00:00"),
        };
        let part = Window {
            start: ts("2025-11-24 00:00"),
            end: ts("2025-11-24 01:30"),
        };
        let cut = slot_by_slot(vec![day, part], 30);
        assert_eq!(cut.len(), 4);
        assert_eq!(cut[0], day);
        assert_eq!(cut[3].start, ts("2025-11-24 01:00"));
    }

    #[test]
    fn slot_rounding() {
        assert_eq!(
            floor_to_slot(ts("2025-11-24 10:47"), 30),
            ts("2025-11-24 10:30")
        );
        assert_eq!(
            ceil_to_slot(ts("2025-11-24 10:47"), 30),
            ts("2025-11-24 11:00")
        );
        assert_eq!(
            ceil_to_slot(ts("2025-11-24 10:30"), 30),
            ts("2025-11-24 10:30")
        );
        assert_eq!(
            floor_to_slot(ts("2025-11-24 23:59"), 15),
            ts("2025-11-24 23:45")
        );
    }
}
