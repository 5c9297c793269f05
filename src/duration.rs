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
    let mut total: u64 = 0;
    let mut digits = String::new();
    for ch in trimmed.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit_seconds = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => {
                return Err(format!(
                    "invalid duration '{trimmed}': use a number and a unit s, m, h, d or w (e.g. 90d, 1h, 30m)"
                ));
            }
        };
        let value: u64 = digits.parse().map_err(|_| {
            format!("invalid duration '{trimmed}': a unit must follow a number (e.g. 90d)")
        })?;
        digits.clear();
        total = value
            .checked_mul(unit_seconds)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration '{trimmed}' is too large"))?;
    }
    if !digits.is_empty() {
        return Err(format!(
            "invalid duration '{trimmed}': missing unit after {digits} (s, m, h, d or w)"
        ));
    }
    Ok(Duration::from_secs(total))
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
