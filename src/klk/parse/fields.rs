//! Reading typed fields out of one JSON object, tolerant where KLK is loose: `"N/A"` and
//! `null` are absent, numbers may come as numeric strings, codes may come as numbers.
//! Every failure is a short reason naming the field.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::{Map, Value};

pub(crate) type Object = Map<String, Value>;

fn present<'a>(object: &'a Object, key: &str) -> Option<&'a Value> {
    match object.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim() == "N/A" => None,
        Some(value) => Some(value),
    }
}

fn describe(value: &Value) -> String {
    let text = value.to_string();
    super::envelope::single_line_excerpt(&text, 40)
}

pub(crate) fn opt_text(object: &Object, key: &str) -> Result<Option<String>, String> {
    match present(object, key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(other) => Err(format!("`{key}` should be text, found {}", describe(other))),
    }
}

/// Required text that is not blank.
pub(crate) fn text(object: &Object, key: &str) -> Result<String, String> {
    match opt_text(object, key)? {
        Some(text) if !text.trim().is_empty() => Ok(text),
        Some(_) => Err(format!("`{key}` is empty")),
        None => Err(format!("`{key}` is missing")),
    }
}

pub(crate) fn opt_f64(object: &Object, key: &str) -> Result<Option<f64>, String> {
    let number = match present(object, key) {
        None => return Ok(None),
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(None),
        Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match number {
        Some(number) if number.is_finite() => Ok(Some(number)),
        _ => Err(format!(
            "`{key}` should be a number, found {}",
            object.get(key).map(describe).unwrap_or_default()
        )),
    }
}

pub(crate) fn f64_field(object: &Object, key: &str) -> Result<f64, String> {
    opt_f64(object, key)?.ok_or_else(|| format!("`{key}` is missing"))
}

pub(crate) fn opt_i64(object: &Object, key: &str) -> Result<Option<i64>, String> {
    let Some(value) = present(object, key) else {
        return Ok(None);
    };
    let integer = match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15)
                .map(|float| float as i64)
        }),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    integer
        .map(Some)
        .ok_or_else(|| format!("`{key}` should be an integer, found {}", describe(value)))
}

pub(crate) fn i64_field(object: &Object, key: &str) -> Result<i64, String> {
    opt_i64(object, key)?.ok_or_else(|| format!("`{key}` is missing"))
}

pub(crate) fn opt_bool(object: &Object, key: &str) -> Result<Option<bool>, String> {
    match present(object, key) {
        None => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(Value::Number(number)) if number.as_u64() == Some(0) => Ok(Some(false)),
        Some(Value::Number(number)) if number.as_u64() == Some(1) => Ok(Some(true)),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(format!(
            "`{key}` should be true or false, found {}",
            describe(other)
        )),
    }
}

/// `YYYY-MM-DD`, also accepting a trailing time part (`2025-11-17T00:00:00`).
pub(crate) fn date(object: &Object, key: &str) -> Result<NaiveDate, String> {
    let raw = text(object, key)?;
    let date_part = raw
        .get(..10)
        .filter(|_| raw.len() == 10 || matches!(raw.as_bytes().get(10), Some(b'T' | b' ')));
    date_part
        .and_then(|part| NaiveDate::parse_from_str(part, "%Y-%m-%d").ok())
        .ok_or_else(|| format!("`{key}` is not a YYYY-MM-DD date: {raw:?}"))
}

/// `HH:MM:SS` with 0 to 9 fractional digits, or `HH:MM`; kept to the microsecond.
pub fn parse_time_of_day(raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    let time = NaiveTime::parse_from_str(raw, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M"))
        .ok()?;
    let is_leap_second = time.nanosecond() >= 1_000_000_000;
    if is_leap_second {
        return None;
    }
    time.with_nanosecond(time.nanosecond() / 1_000 * 1_000)
}

pub(crate) fn opt_time(object: &Object, key: &str) -> Result<Option<NaiveTime>, String> {
    match opt_text(object, key)? {
        None => Ok(None),
        Some(raw) => parse_time_of_day(&raw)
            .map(Some)
            .ok_or_else(|| format!("`{key}` is not a time of day: {raw:?}")),
    }
}

pub(crate) fn opt_datetime(object: &Object, key: &str) -> Result<Option<NaiveDateTime>, String> {
    let Some(raw) = opt_text(object, key)? else {
        return Ok(None);
    };
    let parsed = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw.trim(), format).ok());
    parsed
        .map(Some)
        .ok_or_else(|| format!("`{key}` is not a date and time: {raw:?}"))
}

/// The one object of an array field that must hold exactly one element.
pub(crate) fn single_object<'a>(object: &'a Object, key: &str) -> Result<&'a Object, String> {
    match object.get(key) {
        None | Some(Value::Null) => Err(format!("`{key}` is missing")),
        Some(Value::Array(elements)) => match elements.as_slice() {
            [Value::Object(inner)] => Ok(inner),
            [other] => Err(format!(
                "`{key}[0]` should be an object, found {}",
                describe(other)
            )),
            elements => Err(format!(
                "`{key}` should hold exactly one element, found {}",
                elements.len()
            )),
        },
        // Tolerated: the single element sent without its array.
        Some(Value::Object(inner)) => Ok(inner),
        Some(other) => Err(format!(
            "`{key}` should be an array, found {}",
            describe(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keeps_microseconds_of_up_to_seven_digits() {
        let cases = [
            ("12:19:56", "12:19:56"),
            ("12:19:56.8", "12:19:56.800"),
            ("12:19:56.8966141", "12:19:56.896614"),
            ("12:19:56.123456789", "12:19:56.123456"),
            ("12:19", "12:19:00"),
        ];
        for (raw, expected) in cases {
            let parsed = parse_time_of_day(raw).unwrap_or_else(|| panic!("{raw} should parse"));
            let expected = NaiveTime::parse_from_str(expected, "%H:%M:%S%.f").unwrap();
            assert_eq!(parsed, expected, "{raw}");
        }
    }

    #[test]
    fn time_rejects_garbage_and_leap_seconds() {
        for raw in ["", "25:00:00", "12:60:00", "23:59:60", "noon", "12:00:00.x"] {
            assert_eq!(parse_time_of_day(raw), None, "{raw}");
        }
    }

    #[test]
    fn not_available_and_null_are_absent() {
        let object: Object =
            serde_json::from_str(r#"{"a": "N/A", "b": null, "c": "", "d": "7", "e": 7.5}"#)
                .unwrap();
        assert_eq!(opt_text(&object, "a"), Ok(None));
        assert_eq!(opt_text(&object, "b"), Ok(None));
        assert_eq!(opt_text(&object, "c"), Ok(Some(String::new())));
        assert_eq!(opt_text(&object, "missing"), Ok(None));
        assert_eq!(opt_f64(&object, "d"), Ok(Some(7.0)));
        assert_eq!(opt_f64(&object, "e"), Ok(Some(7.5)));
        assert!(text(&object, "c").is_err());
        assert!(i64_field(&object, "e").is_err());
    }
}
