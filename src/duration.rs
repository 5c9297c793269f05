//! Human durations: `90d`, `1h`, `30m`, `45s`, `2w`, or combinations such as `1h30m`.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration".to_string());
    }
    if trimmed.starts_with('-') {
        return Err(format!("duration must not be negative: '{trimmed}'"));
    }
    let usage = || {
        format!(
            "invalid duration '{trimmed}': use a number and a unit ms, s, m, h, d or w (e.g. 90d, 1h30m, 250ms)"
        )
    };
    let mut total = 0.0f64;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        if number.is_empty() {
            return Err(usage());
        }
        if unit.is_empty() {
            return Err(format!(
                "invalid duration '{trimmed}': missing unit after {number} (ms, s, m, h, d or w)"
            ));
        }
        let value: f64 = number.parse().map_err(|_| usage())?;
        let unit_seconds = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 7.0 * 86_400.0,
            _ => return Err(usage()),
        };
        total += value * unit_seconds;
        rest = after;
    }
    Duration::try_from_secs_f64(total).map_err(|_| format!("duration '{trimmed}' is too large"))
}

/// Formats whole seconds back into the largest exact unit (`90d`, `36h`, `90m`).
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    for (unit, size) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs >= size && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// A duration in a config file: a string such as `"1h"` or an integer number of seconds.
#[derive(Debug, Clone, Copy)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Seconds(u64),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) => parse_duration(&text)
                .map(HumanDuration)
                .map_err(serde::de::Error::custom),
            Raw::Seconds(secs) => Ok(HumanDuration(Duration::from_secs(secs))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(
            parse_duration("90d").unwrap(),
            Duration::from_secs(90 * 86_400)
        );
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("45s").unwrap(), Duration::from_secs(45));
        assert_eq!(
            parse_duration("2w").unwrap(),
            Duration::from_secs(14 * 86_400)
        );
    }

    #[test]
    fn parses_milliseconds_and_fractions() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
    }

    #[test]
    fn rejects_negative_unitless_and_unknown_units() {
        assert!(parse_duration("-3d").unwrap_err().contains("negative"));
        assert!(parse_duration("90").unwrap_err().contains("missing unit"));
        assert!(parse_duration("3y").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn formats_in_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(90 * 86_400)), "90d");
        assert_eq!(format_duration(Duration::from_secs(5400)), "90m");
        assert_eq!(format_duration(Duration::from_secs(61)), "61s");
    }
}
