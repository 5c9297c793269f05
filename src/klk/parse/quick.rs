//! A quick reader for sales lines shaped as KLK sends them, into the same [`TypedLine`]
//! serde_json would fill: an object of known keys whose values are strings without escapes,
//! plain numbers, booleans or null, with `producto`, `cantidad` and `financiero` each an
//! array of one such object. Anything else (an unknown or repeated nested key, an escape,
//! an exponent, a long number, a syntax error...) makes it give up, and the caller reads the
//! element with serde_json as before: the result is the same either way, only faster here.

use serde_json::Number;

use super::typed::{Nested, Part, Scalar, Text, TypedLine};

/// Reads `bytes`, one whole element of the list, into `line`; false (with `line` in any
/// state) when the element is not of the shape read here.
pub(super) fn read_line(bytes: &[u8], line: &mut TypedLine) -> bool {
    line.reset();
    let mut reader = Quick { bytes, at: 0 };
    reader.line(line).is_some() && reader.at_end()
}

/// 10^0 ..= 10^18, each exactly representable.
const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];
/// Digits of a number read here: its significand then always fits in a u64.
const MAX_DIGITS: usize = 18;

struct Quick<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// The slot of a key of `part`, trying first the key that followed the previous one in
/// the part's list (KLK sends them in that order); `next` then moves past it.
fn slot_of(part: Part, key: &str, next: &mut usize) -> Option<usize> {
    let keys = part.keys();
    let index = match keys.get(*next) {
        Some(&expected) if expected == key => *next,
        _ => part.slot(key)? - part.first_slot(),
    };
    *next = index + 1;
    Some(part.first_slot() + index)
}

impl<'a> Quick<'a> {
    fn peek(&mut self) -> Option<u8> {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// After a member: true at `,`, false at `}` (both eaten), `None` otherwise.
    fn more_members(&mut self) -> Option<bool> {
        let more = match self.peek()? {
            b',' => true,
            b'}' => false,
            _ => return None,
        };
        self.at += 1;
        Some(more)
    }

    fn line(&mut self, line: &mut TypedLine) -> Option<()> {
        self.eat(b'{')?;
        line.is_object = true;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        let mut nested_seen = [false; 3];
        let mut next = 0;
        loop {
            let key = self.key()?;
            if let Some(slot) = slot_of(Part::Line, key, &mut next) {
                line.slots[slot] = Some(self.scalar()?);
            } else {
                // A repeated nested key replaces the earlier one's slots: left to serde_json.
                let part = Part::nested(key)?;
                let seen = &mut nested_seen[part as usize - 1];
                if std::mem::replace(seen, true) {
                    return None;
                }
                self.eat(b'[')?;
                self.object(line, part)?;
                self.eat(b']')?;
                line.nested[part as usize - 1] = Nested::Single;
            }
            if !self.more_members()? {
                return Some(());
            }
        }
    }

    /// The object of a nested part, into its slots.
    fn object(&mut self, line: &mut TypedLine, part: Part) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        let mut next = 0;
        loop {
            let slot = slot_of(part, self.key()?, &mut next)?;
            line.slots[slot] = Some(self.scalar()?);
            if !self.more_members()? {
                return Some(());
            }
        }
    }

    fn key(&mut self) -> Option<&'a str> {
        let key = self.string()?;
        self.eat(b':')?;
        Some(key)
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let rest = &self.bytes[self.at..];
        let (length, ascii) = match ascii_run(rest) {
            length if rest.get(length) == Some(&b'"') => (length, true),
            _ => {
                let length = rest
                    .iter()
                    .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)?;
                (length, false)
            }
        };
        if rest[length] != b'"' {
            return None;
        }
        self.at += length + 1;
        let text = &rest[..length];
        if ascii {
            // SAFETY: every byte of `text` is below 0x80 (`ascii_run`): ASCII is UTF-8.
            Some(unsafe { std::str::from_utf8_unchecked(text) })
        } else {
            std::str::from_utf8(text).ok()
        }
    }

    fn scalar(&mut self) -> Option<Scalar> {
        match self.peek()? {
            b'"' => Some(Scalar::Str(Text::new(self.string()?))),
            b't' => self.literal(b"true", Scalar::Bool(true)),
            b'f' => self.literal(b"false", Scalar::Bool(false)),
            b'n' => self.literal(b"null", Scalar::Null),
            b'-' | b'0'..=b'9' => self.number().map(Scalar::Number),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], value: Scalar) -> Option<Scalar> {
        self.bytes[self.at..].starts_with(word).then(|| {
            self.at += word.len();
            value
        })
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?` of at most 18 digits, as serde_json reads it: an
    /// integer as a u64 (negative: an i64), a decimal as its significand divided by 10 to
    /// the number of decimals (both exact, so one correctly rounded division), negated.
    fn number(&mut self) -> Option<Number> {
        let bytes = self.bytes;
        let negative = bytes[self.at] == b'-';
        let mut i = self.at + usize::from(negative);
        let mut significand = 0u64;
        // Digits into the significand, at most `budget` of them (so it cannot overflow).
        let digits = |i: &mut usize, significand: &mut u64, budget: usize| {
            let start = *i;
            while let Some(&digit @ b'0'..=b'9') = bytes.get(*i) {
                if *i - start == budget {
                    return None;
                }
                *significand = *significand * 10 + u64::from(digit - b'0');
                *i += 1;
            }
            Some(*i - start)
        };
        let integer_start = i;
        let integer_digits = digits(&mut i, &mut significand, MAX_DIGITS)?;
        if integer_digits == 0 || (integer_digits > 1 && bytes[integer_start] == b'0') {
            return None;
        }
        let mut decimals = 0;
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            decimals = digits(&mut i, &mut significand, MAX_DIGITS - integer_digits)?;
            if decimals == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = bytes.get(i) {
            return None;
        }
        self.at = i;
        if decimals == 0 {
            return match (negative, i64::try_from(significand)) {
                (false, _) => Some(Number::from(significand)),
                // serde_json reads `-0` as a float.
                (true, Ok(magnitude)) if magnitude > 0 => Some(Number::from(-magnitude)),
                (true, _) => None,
            };
        }
        let magnitude = significand as f64 / POW10[decimals];
        Number::from_f64(if negative { -magnitude } else { magnitude })
    }
}

/// Length of the run of ASCII bytes from 0x20 up, other than `"` and `\`, that starts
/// `bytes`, eight bytes at a time.
fn ascii_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Flags bytes below `n` (n <= 0x80); the lowest flag is always a true one.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let mut words = bytes.chunks_exact(8);
    let mut length = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let stops = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20)
            | (word & HIGHS);
        if stops != 0 {
            return length + (stops.trailing_zeros() / 8) as usize;
        }
        length += 8;
    }
    length
        + words
            .remainder()
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || !(0x20..0x80).contains(&byte))
            .unwrap_or(words.remainder().len())
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeSeed;

    use super::{ascii_run, read_line};

    #[test]
    fn an_ascii_run_stops_at_the_first_quote_backslash_control_or_non_ascii_byte() {
        for length in 0..40 {
            for stop in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xc3, 0xff] {
                for at in 0..length {
                    let mut bytes: Vec<u8> = (0..length)
                        .map(|i| [b'!', b'#', b'[', b']', b' ', b'~', 0x7f, b'a'][i % 8])
                        .collect();
                    bytes[at] = stop;
                    if at + 2 < length {
                        bytes[at + 2] = b'"';
                    }
                    assert_eq!(ascii_run(&bytes), at, "{bytes:?}");
                }
            }
            let plain = vec![b'z'; length];
            assert_eq!(ascii_run(&plain), length);
        }
    }
    use crate::klk::parse::typed::{LineSeed, TypedLine};

    fn by_serde(bytes: &[u8]) -> TypedLine {
        let mut line = TypedLine::default();
        let mut de = serde_json::Deserializer::from_slice(bytes);
        LineSeed { line: &mut line }.deserialize(&mut de).unwrap();
        line
    }

    #[test]
    fn numbers_are_the_numbers_serde_json_reads() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut quick = TypedLine::default();
        for _ in 0..200_000 {
            // Up to 9 + 9 digits: all within what is read here.
            let integer = next() % 10u64.pow((next() % 9) as u32 + 1);
            let decimals = (next() % 10) as usize;
            let fraction = next() % 10u64.pow(decimals as u32);
            let sign = if next() % 3 == 0 { "-" } else { "" };
            let number = if decimals == 0 {
                format!("{sign}{integer}")
            } else {
                format!("{sign}{integer}.{fraction:0decimals$}")
            };
            let body = format!(r#"{{"tasa_usd":{number},"linea":{number}}}"#);
            let serde = by_serde(body.as_bytes());
            if read_line(body.as_bytes(), &mut quick) {
                assert_eq!(quick, serde, "{number}");
            } else {
                assert_eq!(number, "-0", "gave up on {number}");
            }
        }
    }

    #[test]
    fn a_klk_line_reads_as_serde_json_reads_it_and_odd_ones_are_left_to_it() {
        let sample = std::fs::read_to_string(format!(
            "{}/tests/fixtures/klk/ventas_sample.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let body: serde_json::Value = serde_json::from_str(&sample).unwrap();
        let line = serde_json::to_string(&body["ventas"][0]).unwrap();
        let mut quick = TypedLine::default();
        assert!(read_line(line.as_bytes(), &mut quick));
        assert_eq!(quick, by_serde(line.as_bytes()));
        let pretty = serde_json::to_string_pretty(&body["ventas"][0]).unwrap();
        assert!(read_line(pretty.as_bytes(), &mut quick));
        assert_eq!(quick, by_serde(pretty.as_bytes()));

        for odd in [
            r#"{"numero_factura":"A\"B"}"#,
            r#"{"tasa_usd":1e3}"#,
            r#"{"tasa_usd":1234567890123456789}"#,
            r#"{"tasa_usd":123456789.1234567890123456789012345}"#,
            r#"{"tasa_usd":0.00000000000000000000000000000000000001}"#,
            r#"{"tasa_usd":-0}"#,
            r#"{"tasa_usd":01}"#,
            r#"{"tasa_usd":1.}"#,
            r#"{"tasa_usd":[1]}"#,
            r#"{"otra":1}"#,
            r#"{"producto":[{}],"producto":[{}]}"#,
            r#"{"producto":[]}"#,
            r#"{"producto":[{},{}]}"#,
            r#"{"producto":{"codigo_producto":"1"}}"#,
            r#"{"producto":[{"linea":1}]}"#,
            r#"{"numero_factura":"a"#,
            r#"{"linea":1,}"#,
            r#"{"es_no_fiscal":truex}"#,
            "{\"numero_factura\":\"a\tb\"}",
            r#"[1]"#,
            r#"{"linea":1} x"#,
        ] {
            assert!(!read_line(odd.as_bytes(), &mut quick), "{odd}");
        }
    }
}
