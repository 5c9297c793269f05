//! How the simulated `/ventas` reads `hora_desde`/`hora_hasta`: the vendor leaves it
//! undefined (spec/klk-api.md), so the simulator can play every plausible reading.
//!
//! Every reading is reduced to one half-open span of instants `[from, to)` at full
//! precision (nanoseconds; `hora` carries at most 7 fractional digits, so the 1 ns steps
//! below never fall between two possible `hora` values).

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDateTime, NaiveTime, TimeDelta, Timelike};
use serde::Deserialize;

use crate::klk::{SalesRequest, is_end_of_day};

/// One reading of the hour bounds of a `/ventas` request. A missing `hora_desde` always
/// means the start of the day and a missing `hora_hasta` its end; requests without hours
/// (one day or several) are whole days under every reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoundSemantics {
    /// `desde <= hora < hasta`, and `hora_hasta` `23:59:59` means the end of the day (what
    /// the simulator always did; the client's own reading).
    #[default]
    HalfOpen,
    /// SQL `BETWEEN` on full precision: `desde <= hora <= hasta`; `23:59:59` is just
    /// 23:59:59.0000000.
    Between,
    /// `desde < hora <= hasta` on full precision.
    ExclusiveLower,
    /// `desde < hora < hasta` on full precision.
    Exclusive,
    /// `hora` truncated to whole seconds, then `desde <= trunc(hora) <= hasta`.
    Truncated,
    /// The request's bounds read as `HH:MM` (seconds ignored), then half-open on full
    /// precision (no end-of-day rule: `23:59:59` is read as 23:59).
    Minutes,
}

impl BoundSemantics {
    pub const ALL: [Self; 6] = [
        Self::HalfOpen,
        Self::Between,
        Self::ExclusiveLower,
        Self::Exclusive,
        Self::Truncated,
        Self::Minutes,
    ];

    /// The name used by `--bounds` and the scenario key `bounds`.
    pub fn name(self) -> &'static str {
        match self {
            Self::HalfOpen => "half-open",
            Self::Between => "between",
            Self::ExclusiveLower => "exclusive-lower",
            Self::Exclusive => "exclusive",
            Self::Truncated => "truncated",
            Self::Minutes => "minutes",
        }
    }

    /// One line saying what the reading does, for `--help`.
    pub fn summary(self) -> &'static str {
        match self {
            Self::HalfOpen => "[desde, hasta), 23:59:59 = end of day (default)",
            Self::Between => "desde <= hora <= hasta on full precision (SQL BETWEEN)",
            Self::ExclusiveLower => "desde < hora <= hasta on full precision",
            Self::Exclusive => "desde < hora < hasta on full precision",
            Self::Truncated => "desde <= hora truncated to the second <= hasta",
            Self::Minutes => "bounds read as HH:MM (seconds ignored), then [desde, hasta)",
        }
    }

    /// The instants `[from, to)` (full precision) that `request` is answered with under
    /// this reading. Empty (`from == to`) when the reading leaves nothing.
    pub fn span(self, request: &SalesRequest) -> (NaiveDateTime, NaiveDateTime) {
        if self == Self::HalfOpen {
            return half_open_bounds(request);
        }
        let day_start = request.fecha_desde.and_time(NaiveTime::MIN);
        let day_end = day_after(request);
        let start_at = |time: NaiveTime| request.fecha_desde.and_time(time);
        let end_at = |time: NaiveTime| request.fecha_hasta.and_time(time);
        let just_after = |instant: NaiveDateTime| instant + TimeDelta::nanoseconds(1);
        let (from, to) = (request.hora_desde, request.hora_hasta);
        let from = match (self, from) {
            (_, None) => day_start,
            (Self::Between | Self::HalfOpen, Some(desde)) => start_at(desde),
            (Self::ExclusiveLower | Self::Exclusive, Some(desde)) => just_after(start_at(desde)),
            (Self::Truncated, Some(desde)) => ceil_to_second(start_at(desde)),
            (Self::Minutes, Some(desde)) => start_at(floor_to_minute(desde)),
        };
        let to = match (self, to) {
            (_, None) => day_end,
            (Self::Between | Self::ExclusiveLower, Some(hasta)) => just_after(end_at(hasta)),
            (Self::Exclusive | Self::HalfOpen, Some(hasta)) => end_at(hasta),
            (Self::Truncated, Some(hasta)) => {
                end_at(hasta.with_nanosecond(0).unwrap_or(hasta)) + TimeDelta::seconds(1)
            }
            (Self::Minutes, Some(hasta)) => end_at(floor_to_minute(hasta)),
        };
        let to = to.min(day_end);
        (from, to.max(from))
    }
}

/// `[from, to)` by the client's (and the default simulator's) reading: half-open, with
/// `23:59:59` as `hora_hasta` meaning the end of the day.
pub(crate) fn half_open_bounds(request: &SalesRequest) -> (NaiveDateTime, NaiveDateTime) {
    let from = request
        .fecha_desde
        .and_time(request.hora_desde.unwrap_or(NaiveTime::MIN));
    let to = match request.hora_hasta {
        Some(hasta) if !is_end_of_day(hasta) => request.fecha_hasta.and_time(hasta),
        _ => day_after(request),
    };
    (from, to)
}

fn day_after(request: &SalesRequest) -> NaiveDateTime {
    request
        .fecha_hasta
        .succ_opt()
        .unwrap_or(request.fecha_hasta)
        .and_time(NaiveTime::MIN)
}

fn ceil_to_second(instant: NaiveDateTime) -> NaiveDateTime {
    match instant.with_nanosecond(0) {
        Some(whole) if whole != instant => whole + TimeDelta::seconds(1),
        _ => instant,
    }
}

fn floor_to_minute(time: NaiveTime) -> NaiveTime {
    NaiveTime::from_hms_opt(time.hour(), time.minute(), 0).unwrap_or(time)
}

impl fmt::Display for BoundSemantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BoundSemantics {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let wanted = text.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|semantics| semantics.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|s| s.name()).collect();
                format!(
                    "unknown bound semantics {text:?} (expected {})",
                    names.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn hms(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M:%S%.f").unwrap()
    }

    fn at(text: &str) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 11, 17)
            .unwrap()
            .and_time(hms(text))
    }

    fn request(desde: Option<&str>, hasta: Option<&str>) -> SalesRequest {
        let day = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
        SalesRequest {
            hora_desde: desde.map(hms),
            hora_hasta: hasta.map(hms),
            ..SalesRequest::days("SUC001", day, day)
        }
    }

    fn contains(semantics: BoundSemantics, request: &SalesRequest, instant: &str) -> bool {
        let (from, to) = semantics.span(request);
        let instant = at(instant);
        from <= instant && instant < to
    }

    #[test]
    fn each_reading_of_a_window_ending_235959() {
        use BoundSemantics::*;
        let window = request(Some("23:00:00"), Some("23:59:59"));
        for (semantics, last_second, late) in [
            (HalfOpen, true, true),
            (Between, true, false),
            (ExclusiveLower, true, false),
            (Exclusive, false, false),
            (Truncated, true, true),
            (Minutes, false, false),
        ] {
            assert_eq!(
                contains(semantics, &window, "23:59:59"),
                last_second,
                "{semantics} 23:59:59.0"
            );
            assert_eq!(
                contains(semantics, &window, "23:59:59.8"),
                late,
                "{semantics} 23:59:59.8"
            );
            assert_eq!(
                contains(semantics, &window, "23:00:00"),
                !matches!(semantics, ExclusiveLower | Exclusive),
                "{semantics} 23:00:00.0"
            );
            assert!(contains(semantics, &window, "23:30:00.0000001"));
        }
    }

    #[test]
    fn missing_bounds_are_the_day_under_every_reading() {
        for semantics in BoundSemantics::ALL {
            let day = request(None, None);
            let (from, to) = semantics.span(&day);
            assert_eq!(
                (from, to),
                (at("00:00:00"), at("00:00:00") + TimeDelta::days(1))
            );
            let tail = request(Some("23:59:59"), None);
            assert!(
                contains(semantics, &tail, "23:59:59.9999999"),
                "{semantics}"
            );
            let head = request(None, Some("00:30:00"));
            assert!(contains(semantics, &head, "00:00:00"), "{semantics}");
        }
    }

    #[test]
    fn truncation_and_minutes() {
        let window = request(Some("12:00:00"), Some("12:30:00"));
        assert!(contains(
            BoundSemantics::Truncated,
            &window,
            "12:30:00.9999999"
        ));
        assert!(!contains(BoundSemantics::Truncated, &window, "12:30:01"));
        let seconds = request(Some("12:00:40"), Some("12:30:20"));
        assert!(contains(BoundSemantics::Minutes, &seconds, "12:00:00"));
        assert!(!contains(BoundSemantics::Minutes, &seconds, "12:30:00"));
        assert!(!contains(BoundSemantics::HalfOpen, &seconds, "12:00:00"));
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_explained() {
        for semantics in BoundSemantics::ALL {
            assert_eq!(semantics.name().parse::<BoundSemantics>(), Ok(semantics));
        }
        let error = "inclusive".parse::<BoundSemantics>().unwrap_err();
        assert!(
            error.contains("\"inclusive\"") && error.contains("half-open"),
            "{error}"
        );
    }
}
