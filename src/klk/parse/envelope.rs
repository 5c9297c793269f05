//! Streams the two response layouts of KLK list endpoints, handing each element of the list
//! to a sink as soon as it is read, so a body is never held whole in memory.
//!
//! - `{"meta": {...}, "<list_key>": [ ... ], ...}` (other keys ignored)
//! - `[ ... ]` (the older bare-array layout)
//! - `{"error": ...}` anywhere at the top level marks the whole answer as an error.

use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::klk::error::{ErrorKind, LineError};
use crate::klk::model::ResponseFormat;

/// Receives the list elements one by one.
pub(crate) trait ElementSink {
    fn accept(&mut self, index: usize, element: Value) -> Result<(), LineError>;

    /// A failure of the body found while reading an element, which ends the parse (used
    /// when elements are parsed apart from the stream).
    fn body_error(&mut self) -> Option<ErrorKind> {
        None
    }

    /// Reads the next element from `seq` and takes it: `None` at the end of the list, else
    /// whether the element could be loaded. By default as a `Value`, for [`Self::accept`].
    fn read_next<'de, A: SeqAccess<'de>>(
        &mut self,
        seq: &mut A,
        index: usize,
    ) -> Result<Option<Result<(), LineError>>, A::Error> {
        Ok(seq
            .next_element::<Value>()?
            .map(|element| self.accept(index, element)))
    }
}

/// What the top level of the body held besides the list.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub format: ResponseFormat,
    pub meta: Option<Value>,
    pub received: usize,
}

/// Parses `reader` to its end, feeding `sink`.
pub(crate) fn read_envelope<R: Read, S: ElementSink>(
    reader: R,
    list_key: &'static str,
    sink: &mut S,
) -> Result<Envelope, ErrorKind> {
    read_envelope_at(reader, list_key, sink, |_, _| None)
}

/// [`read_envelope`] of a stream that stands for a body (see `fast.rs`): `body_position`
/// maps a position in the stream, as serde_json reports it in a message, to the body's.
pub(crate) fn read_envelope_at<R: Read, S: ElementSink>(
    reader: R,
    list_key: &'static str,
    sink: &mut S,
    body_position: impl FnOnce(usize, usize) -> Option<(usize, usize)>,
) -> Result<Envelope, ErrorKind> {
    let mut rejection = None;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let seed = EnvelopeSeed {
        list_key,
        sink,
        rejection: &mut rejection,
    };
    let parsed = seed.deserialize(&mut de).and_then(|outcome| {
        de.end()?;
        Ok(outcome)
    });
    if let Some(kind) = sink.body_error() {
        return Err(kind);
    }
    if let Some(line_error) = rejection {
        return Err(ErrorKind::InvalidLine(line_error));
    }
    match parsed {
        Ok(Outcome::Error(message)) => Err(ErrorKind::ErrorBody { message }),
        Ok(Outcome::MissingList) => Err(ErrorKind::WrongShape {
            detail: format!("a JSON object without a `{list_key}` list"),
        }),
        Ok(Outcome::List(envelope)) => Ok(envelope),
        Err(error) => Err(classify_json_error_at(&error, body_position)),
    }
}

/// Maps a serde_json failure to an [`ErrorKind`], with the position in its message mapped
/// by `position` (`None`: as reported).
pub(crate) fn classify_json_error_at(
    error: &serde_json::Error,
    position: impl FnOnce(usize, usize) -> Option<(usize, usize)>,
) -> ErrorKind {
    let text = error.to_string();
    if error.line() == 0 {
        return classify_json_error_text(error, text);
    }
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let text = match (
        text.strip_suffix(&suffix),
        position(error.line(), error.column()),
    ) {
        (Some(message), Some((line, column))) => {
            format!("{message} at line {line} column {column}")
        }
        _ => text,
    };
    classify_json_error_text(error, text)
}

/// Maps a serde_json failure, whose message is `text`, to an [`ErrorKind`]; I/O failures
/// come from the socket.
fn classify_json_error_text(error: &serde_json::Error, text: String) -> ErrorKind {
    use serde_json::error::Category;
    match error.classify() {
        Category::Io => {
            let kind = error.io_error_kind().unwrap_or(std::io::ErrorKind::Other);
            crate::klk::client::classify_body_io(kind, &text)
        }
        Category::Eof => ErrorKind::MalformedBody {
            detail: format!("body ends before the JSON does (truncated?): {text}"),
        },
        Category::Syntax => ErrorKind::MalformedBody { detail: text },
        Category::Data => ErrorKind::WrongShape { detail: text },
    }
}

enum Outcome {
    List(Envelope),
    Error(String),
    MissingList,
}

struct EnvelopeSeed<'a, S> {
    list_key: &'static str,
    sink: &'a mut S,
    rejection: &'a mut Option<LineError>,
}

impl<'de, S: ElementSink> DeserializeSeed<'de> for EnvelopeSeed<'_, S> {
    type Value = Outcome;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Outcome, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: ElementSink> Visitor<'de> for EnvelopeSeed<'_, S> {
    type Value = Outcome;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a JSON object with a `{}` list, or a JSON array",
            self.list_key
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Outcome, A::Error> {
        let received = feed_elements(seq, self.sink, self.rejection)?;
        Ok(Outcome::List(Envelope {
            format: ResponseFormat::BareArray,
            meta: None,
            received,
        }))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outcome, A::Error> {
        let mut meta = None;
        let mut error_message = None;
        let mut received = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "error" {
                error_message = Some(describe_error_value(&map.next_value::<Value>()?));
            } else if key == self.list_key && error_message.is_none() && received.is_none() {
                let elements = ElementsSeed {
                    sink: &mut *self.sink,
                    rejection: &mut *self.rejection,
                };
                received = Some(map.next_value_seed(elements)?);
            } else if key == "meta" {
                meta = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(match (error_message, received) {
            (Some(message), _) => Outcome::Error(message),
            (None, Some(received)) => Outcome::List(Envelope {
                format: ResponseFormat::Object,
                meta,
                received,
            }),
            (None, None) => Outcome::MissingList,
        })
    }
}

struct ElementsSeed<'a, S> {
    sink: &'a mut S,
    rejection: &'a mut Option<LineError>,
}

impl<'de, S: ElementSink> DeserializeSeed<'de> for ElementsSeed<'_, S> {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, S: ElementSink> Visitor<'de> for ElementsSeed<'_, S> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<usize, A::Error> {
        feed_elements(seq, self.sink, self.rejection)
    }
}

fn feed_elements<'de, A: SeqAccess<'de>, S: ElementSink>(
    mut seq: A,
    sink: &mut S,
    rejection: &mut Option<LineError>,
) -> Result<usize, A::Error> {
    let mut index = 0;
    while let Some(accepted) = sink.read_next(&mut seq, index)? {
        if let Err(line_error) = accepted {
            let message = line_error.to_string();
            *rejection = Some(line_error);
            return Err(de::Error::custom(message));
        }
        index += 1;
    }
    Ok(index)
}

fn describe_error_value(value: &Value) -> String {
    const MAX_CHARS: usize = 300;
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    single_line_excerpt(&text, MAX_CHARS)
}

/// `text` on one line, at most `max_chars` characters.
pub(crate) fn single_line_excerpt(text: &str, max_chars: usize) -> String {
    let mut excerpt: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max_chars)
        .collect();
    if text.chars().nth(max_chars).is_some() {
        excerpt.push('…');
    }
    excerpt.trim().to_owned()
}
