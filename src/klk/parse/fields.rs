//! Reading typed fields out of one JSON object, tolerant where KLK is loose: `"N/A"` and
//! `null` are absent, numbers may come as numeric strings, codes may come as numbers.
//! Every failure is a short reason naming the field.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::{Map, Number, Value};

pub(crate) type Object = Map<String, Value>;

/// One JSON value as the conversions see it, whatever holds it (a `serde_json` map, or the
/// typed line of [`super::typed`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum FieldRef<'a> {
    Null,
    Bool(bool),
    Number(&'a Number),
    Str(&'a str),
    /// An array or an object.
    Compound(&'a Value),
}

impl<'a> FieldRef<'a> {
    pub fn of(value: &'a Value) -> Self {
        match value {
            Value::Null => FieldRef::Null,
            Value::Bool(flag) => FieldRef::Bool(*flag),
            Value::Number(number) => FieldRef::Number(number),
            Value::String(text) => FieldRef::Str(text),
            compound => FieldRef::Compound(compound),
        }
    }
}

/// A JSON object whose fields can be looked up by key.
pub(crate) trait Source {
    fn field(&self, key: &str) -> Option<FieldRef<'_>>;
}

impl Source for Object {
    fn field(&self, key: &str) -> Option<FieldRef<'_>> {
        self.get(key).map(FieldRef::of)
    }
}

impl<T: Source + ?Sized> Source for &T {
    fn field(&self, key: &str) -> Option<FieldRef<'_>> {
        (**self).field(key)
    }
}

fn present<'a>(object: &'a impl Source, key: &str) -> Option<FieldRef<'a>> {
    match object.field(key) {
        None | Some(FieldRef::Null) => None,
        Some(FieldRef::Str(text)) if text.trim() == "N/A" => None,
        Some(value) => Some(value),
    }
}

/// The value as JSON text, cut short: only for messages.
pub(crate) fn describe(value: FieldRef<'_>) -> String {
    let text = match value {
        FieldRef::Null => Value::Null.to_string(),
        FieldRef::Bool(flag) => Value::Bool(flag).to_string(),
        FieldRef::Number(number) => number.to_string(),
        FieldRef::Str(text) => Value::String(text.to_owned()).to_string(),
        FieldRef::Compound(value) => value.to_string(),
    };
    super::envelope::single_line_excerpt(&text, 40)
}

/// Optional text as the object holds it (a number as its JSON text), not copied.
fn opt_text_ref<'a>(object: &'a impl Source, key: &str) -> Result<Option<Cow<'a, str>>, String> {
    match present(object, key) {
        None => Ok(None),
        Some(FieldRef::Str(text)) => Ok(Some(Cow::Borrowed(text))),
        Some(FieldRef::Number(number)) => Ok(Some(Cow::Owned(number.to_string()))),
        Some(other) => Err(format!("`{key}` should be text, found {}", describe(other))),
    }
}

/// Required text that is not blank, not copied.
fn text_ref<'a>(object: &'a impl Source, key: &str) -> Result<Cow<'a, str>, String> {
    match opt_text_ref(object, key)? {
        Some(text) if !text.trim().is_empty() => Ok(text),
        Some(_) => Err(format!("`{key}` is empty")),
        None => Err(format!("`{key}` is missing")),
    }
}

pub(crate) fn opt_text(object: &impl Source, key: &str) -> Result<Option<String>, String> {
    Ok(opt_text_ref(object, key)?.map(Cow::into_owned))
}

/// Required text that is not blank.
pub(crate) fn text(object: &impl Source, key: &str) -> Result<String, String> {
    text_ref(object, key).map(Cow::into_owned)
}

/// [`text`] into `out`, reusing its allocation.
pub(crate) fn text_into(object: &impl Source, key: &str, out: &mut String) -> Result<(), String> {
    let text = text_ref(object, key)?;
    out.clear();
    out.push_str(&text);
    Ok(())
}

/// [`opt_text`] into `out`, reusing its allocation.
pub(crate) fn opt_text_into(
    object: &impl Source,
    key: &str,
    out: &mut Option<String>,
) -> Result<(), String> {
    match (opt_text_ref(object, key)?, out.as_mut()) {
        (Some(text), Some(kept)) => {
            kept.clear();
            kept.push_str(&text);
        }
        (text, _) => *out = text.map(Cow::into_owned),
    }
    Ok(())
}

pub(crate) fn opt_f64(object: &impl Source, key: &str) -> Result<Option<f64>, String> {
    let Some(value) = present(object, key) else {
        return Ok(None);
    };
    let number = match value {
        FieldRef::Number(number) => number.as_f64(),
        FieldRef::Str(text) if text.trim().is_empty() => return Ok(None),
        FieldRef::Str(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(number) if number.is_finite() => Ok(Some(number)),
        _ => Err(format!(
            "`{key}` should be a number, found {}",
            describe(value)
        )),
    }
}

pub(crate) fn f64_field(object: &impl Source, key: &str) -> Result<f64, String> {
    opt_f64(object, key)?.ok_or_else(|| format!("`{key}` is missing"))
}

pub(crate) fn opt_i64(object: &impl Source, key: &str) -> Result<Option<i64>, String> {
    let Some(value) = present(object, key) else {
        return Ok(None);
    };
    let integer = match value {
        FieldRef::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && float.abs() < 9.0e15)
                .map(|float| float as i64)
        }),
        FieldRef::Str(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    integer
        .map(Some)
        .ok_or_else(|| format!("`{key}` should be an integer, found {}", describe(value)))
}

pub(crate) fn i64_field(object: &impl Source, key: &str) -> Result<i64, String> {
    opt_i64(object, key)?.ok_or_else(|| format!("`{key}` is missing"))
}

pub(crate) fn opt_bool(object: &impl Source, key: &str) -> Result<Option<bool>, String> {
    match present(object, key) {
        None => Ok(None),
        Some(FieldRef::Bool(flag)) => Ok(Some(flag)),
        Some(FieldRef::Number(number)) if number.as_u64() == Some(0) => Ok(Some(false)),
        Some(FieldRef::Number(number)) if number.as_u64() == Some(1) => Ok(Some(true)),
        Some(FieldRef::Str(text)) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(FieldRef::Str(text)) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(format!(
            "`{key}` should be true or false, found {}",
            describe(other)
        )),
    }
}

/// The text of a present string or number field, borrowed when it is a string (dates and
/// times are parsed from it without an allocation).
fn with_text<T>(
    object: &impl Source,
    key: &str,
    parse: impl FnOnce(&str) -> T,
) -> Result<Option<T>, String> {
    match present(object, key) {
        Some(FieldRef::Str(text)) => Ok(Some(parse(text))),
        _ => Ok(opt_text(object, key)?.map(|owned| parse(&owned))),
    }
}

/// `YYYY-MM-DD`, also accepting a trailing time part (`2025-11-17T00:00:00`).
pub(crate) fn date(object: &impl Source, key: &str) -> Result<NaiveDate, String> {
    let parsed = with_text(object, key, |raw| {
        if raw.trim().is_empty() {
            return Err(format!("`{key}` is empty"));
        }
        parse_date_prefix(raw).ok_or_else(|| format!("`{key}` is not a YYYY-MM-DD date: {raw:?}"))
    })?;
    parsed.unwrap_or_else(|| Err(format!("`{key}` is missing")))
}

fn parse_date_prefix(raw: &str) -> Option<NaiveDate> {
    let date_part = raw
        .get(..10)
        .filter(|_| raw.len() == 10 || matches!(raw.as_bytes().get(10), Some(b'T' | b' ')))?;
    fast_date(date_part.as_bytes())
        .or_else(|| NaiveDate::parse_from_str(date_part, "%Y-%m-%d").ok())
}

fn digits<const N: usize>(bytes: &[u8]) -> Option<u32> {
    let digits = bytes.get(..N)?;
    digits.iter().try_fold(0u32, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

/// `DDDD-DD-DD` exactly, as `%Y-%m-%d` reads it; anything else is left to chrono.
fn fast_date(bytes: &[u8]) -> Option<NaiveDate> {
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = digits::<4>(bytes)?;
    let month = digits::<2>(&bytes[5..])?;
    let day = digits::<2>(&bytes[8..])?;
    NaiveDate::from_ymd_opt(year as i32, month, day)
}

/// `DD:DD:DD` with an optional dot and 1 to 9 digits, exactly; anything else (and second
/// 60) is left to chrono. Nanoseconds as `%H:%M:%S%.f` reads them.
fn fast_time(bytes: &[u8]) -> Option<NaiveTime> {
    if bytes.len() < 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let hour = digits::<2>(bytes)?;
    let minute = digits::<2>(&bytes[3..])?;
    let second = digits::<2>(&bytes[6..])?;
    if second >= 60 {
        return None;
    }
    let nanos = match &bytes[8..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            let value = fraction.iter().try_fold(0u32, |value, &byte| {
                byte.is_ascii_digit()
                    .then(|| value * 10 + u32::from(byte - b'0'))
            })?;
            value * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
}

/// `HH:MM:SS` with 0 to 9 fractional digits, or `HH:MM`; kept to the microsecond.
pub fn parse_time_of_day(raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    let time = match fast_time(raw.as_bytes()) {
        Some(time) => time,
        None => NaiveTime::parse_from_str(raw, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M"))
            .ok()?,
    };
    let is_leap_second = time.nanosecond() >= 1_000_000_000;
    if is_leap_second {
        return None;
    }
    time.with_nanosecond(time.nanosecond() / 1_000 * 1_000)
}

pub(crate) fn opt_time(object: &impl Source, key: &str) -> Result<Option<NaiveTime>, String> {
    let parsed = with_text(object, key, |raw| {
        parse_time_of_day(raw).ok_or_else(|| format!("`{key}` is not a time of day: {raw:?}"))
    })?;
    parsed.transpose()
}

pub(crate) fn opt_datetime(
    object: &impl Source,
    key: &str,
) -> Result<Option<NaiveDateTime>, String> {
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
                describe(FieldRef::of(other))
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
            describe(FieldRef::of(other))
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
