//! Windows: what a run asks the API for. Pure functions of the slot grid and "now".
//!
//! A window is `[start, end)` in store-local time, inside one date (it never crosses
//! midnight) and aligned to the slot grid. It is recorded with `hora_hasta` 23:59:59 when it
//! runs to midnight (the seed's convention). It is *requested* so that no reading of the
//! bounds can leave a line out (see [`Window::request_hours`]): a bound at midnight is not
//! sent at all, and the others reach [`REQUEST_MARGIN`] beyond the window.

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

/// How far beyond an inner window bound a request reaches. The vendor does not say whether
/// `hora_desde`/`hora_hasta` are inclusive, whether fractions of a second are compared or
/// truncated, or whether the seconds of a bound are read at all: with a second on each side,
/// every line of the window is in the answer under any of those readings (a line at exactly
/// 12:00:00.0000000 with `hora_hasta` 12:00:01 and `hora_desde` 11:59:59; one at
/// 12:29:59.9999999 with `12:30:01` read as 12:30). The lines of the margins belong to the
/// neighbouring windows, which fetch them the same way: they are dropped (see
/// [`Window::in_margin`]).
pub const REQUEST_MARGIN: Duration = Duration::seconds(1);

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

    /// Whether a line at (`fecha`, `hora`) is one of the neighbouring windows' lines that a
    /// request for this window also gets (within a minute outside it: any reading of the
    /// margin's bounds). Lines further away are not the margin's: the API sent them for its
    /// own reasons, and they are kept.
    pub fn in_margin(&self, fecha: NaiveDate, hora: NaiveTime) -> bool {
        let at = fecha.and_time(hora);
        let near = Duration::minutes(1);
        !(self.start..self.end).contains(&at)
            && at >= self.start - near
            && at < self.end + near
            && fecha == self.date()
    }

    /// `(hora_desde, hora_hasta)` to send to the API. A bound at midnight is left out (the
    /// day's first and last lines, e.g. one at 23:59:59.8, must not depend on how the API
    /// compares a bound); an inner bound is moved [`REQUEST_MARGIN`] outwards. A whole day
    /// sends neither.
    pub fn request_hours(&self) -> (Option<NaiveTime>, Option<NaiveTime>) {
        let day_start = self.start.date().and_time(NaiveTime::MIN);
        let from = (self.start > day_start)
            .then(|| (self.start - REQUEST_MARGIN).max(day_start))
            .filter(|&from| from > day_start);
        let to = (self.end < next_midnight(self.start))
            .then(|| (self.end + REQUEST_MARGIN).min(next_midnight(self.start)))
            .filter(|&to| to < next_midnight(self.start));
        (from.map(|t| t.time()), to.map(|t| t.time()))
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
    fn requests_reach_past_inner_bounds_and_send_none_at_midnight() {
        let window = |from: &str, to: &str| Window {
            start: ts(from),
            end: ts(to),
        };
        let hms = |h, m, s| Some(NaiveTime::from_hms_opt(h, m, s).unwrap());
        assert_eq!(
            window("2025-11-24 12:00", "2025-11-24 12:30").request_hours(),
            (hms(11, 59, 59), hms(12, 30, 1))
        );
        // The day's first and last windows: no bound that could cut 00:00:00.0 or 23:59:59.8.
        assert_eq!(
            window("2025-11-24 00:00", "2025-11-24 00:30").request_hours(),
            (None, hms(0, 30, 1))
        );
        assert_eq!(
            window("2025-11-24 23:30", "2025-11-25 00:00").request_hours(),
            (hms(23, 29, 59), None)
        );
        assert_eq!(
            window("2025-11-24 00:00", "2025-11-25 00:00").request_hours(),
            (None, None)
        );
    }

    #[test]
    fn the_margins_hold_the_neighbours_lines_only() {
        let window = Window {
            start: ts("2025-11-24 12:00"),
            end: ts("2025-11-24 12:30"),
        };
        let day = window.date();
        let at = |h, m, s, nano| NaiveTime::from_hms_nano_opt(h, m, s, nano).unwrap();
        assert!(window.in_margin(day, at(11, 59, 59, 500_000_000)));
        assert!(window.in_margin(day, at(12, 30, 0, 0)));
        assert!(window.in_margin(day, at(12, 30, 1, 0)));
        assert!(
            !window.in_margin(day, at(12, 0, 0, 0)),
            "its own first line"
        );
        assert!(
            !window.in_margin(day, at(12, 29, 59, 999_999_900)),
            "its own last line"
        );
        assert!(
            !window.in_margin(day, at(13, 0, 0, 0)),
            "far away: the API's own doing"
        );
        assert!(!window.in_margin(day.succ_opt().unwrap(), at(12, 10, 0, 0)));
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
