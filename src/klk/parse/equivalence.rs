//! The parallel parser, the typed streaming parser and the original `Value`-based parser
//! agree on every body: the same batch, or the same error with the same message (positions
//! included). Bodies are built from the vendor sample with many variations, then damaged.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::envelope::{ElementSink, read_envelope};
use super::sales::{SalesCollector, sales_line_from_value};
use super::{parse_sales, parse_sales_streaming, sales_batch};
use crate::klk::error::{ErrorKind, LineError};
use crate::klk::model::{SalesBatch, SalesLine};

/// The parser as it was: each element read as a `serde_json::Value`, then converted, and
/// collected into a plain `Vec<SalesLine>` (a later copy replaces the earlier one in place),
/// so the columnar [`crate::klk::SalesLines`] of the other two is checked against it too.
fn parse_sales_by_value(body: &[u8]) -> Result<SalesBatch, ErrorKind> {
    #[derive(Default)]
    struct ByValue {
        lines: Vec<SalesLine>,
        duplicates_removed: usize,
        conflicting_duplicates: usize,
    }
    impl ElementSink for ByValue {
        fn accept(&mut self, index: usize, element: Value) -> Result<(), LineError> {
            let line =
                sales_line_from_value(&element).map_err(|error| LineError { index, ..error })?;
            let same_key = |other: &SalesLine| {
                other.numero_factura == line.numero_factura && other.linea == line.linea
            };
            match self.lines.iter().position(same_key) {
                Some(position) => {
                    self.duplicates_removed += 1;
                    if self.lines[position] != line {
                        self.conflicting_duplicates += 1;
                    }
                    self.lines[position] = line;
                }
                None => self.lines.push(line),
            }
            Ok(())
        }
    }
    let mut sink = ByValue::default();
    let envelope = read_envelope(body, "ventas", &mut sink)?;
    let mut collector = SalesCollector::default();
    collector.lines = sink.lines.into();
    collector.duplicates_removed = sink.duplicates_removed;
    collector.conflicting_duplicates = sink.conflicting_duplicates;
    sales_batch(envelope, collector)
}

fn outcome(result: Result<SalesBatch, ErrorKind>) -> Result<SalesBatch, (String, String)> {
    result.map_err(|kind| (kind.error_tipo().to_owned(), kind.to_string()))
}

fn assert_same(body: &[u8]) -> Result<(), TestCaseError> {
    let reference = outcome(parse_sales_by_value(body));
    let streaming = outcome(parse_sales_streaming(body));
    let parallel = outcome(parse_sales(body));
    let text = String::from_utf8_lossy(body);
    prop_assert_eq!(&streaming, &reference, "streaming vs by value on {}", text);
    prop_assert_eq!(&parallel, &reference, "parallel vs by value on {}", text);
    Ok(())
}

fn sample_line() -> Value {
    let path = format!(
        "{}/tests/fixtures/klk/ventas_sample.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let body: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    body["ventas"][0].clone()
}

/// One element of the list, most often a valid line, sometimes an odd one.
fn element() -> impl Strategy<Value = Value> {
    let tweak = prop_oneof![
        8 => Just(None),
        1 => Just(Some(("linea", json!("3")))),
        1 => Just(Some(("linea", json!(2.0)))),
        1 => Just(Some(("linea", json!(null)))),
        1 => Just(Some(("numero_factura", json!(12345)))),
        1 => Just(Some(("numero_factura", json!("N/A")))),
        1 => Just(Some(("numero_factura", json!(["x"])))),
        1 => Just(Some(("hora", json!("N/A")))),
        1 => Just(Some(("hora", json!("7:05")))),
        1 => Just(Some(("hora", json!("23:59:60")))),
        1 => Just(Some(("hora", json!("12:00:00.1234567891")))),
        1 => Just(Some(("fecha", json!("2025-11-17T10:00:00")))),
        1 => Just(Some(("fecha", json!("2025-1-7")))),
        1 => Just(Some(("fecha", json!(20251117)))),
        1 => Just(Some(("es_no_fiscal", json!(1)))),
        1 => Just(Some(("es_no_fiscal", json!("TRUE")))),
        1 => Just(Some(("tasa_usd", json!("36.5")))),
        1 => Just(Some(("tasa_usd", json!({"a": 1})))),
        1 => Just(Some(("producto", json!([])))),
        1 => Just(Some(("producto", json!([1])))),
        1 => Just(Some(("producto", json!("x")))),
        1 => Just(Some(("producto", json!(null)))),
        1 => Just(Some(("producto", json!({"codigo_producto": "7"})))),
        1 => Just(Some(("cantidad", json!([{"codigo_almacen": 5, "cantidad_vendida": "2"}])))),
        1 => Just(Some(("financiero", json!([{"venta_total_bs": "N/A", "venta_total_usd": 1}])))),
        1 => Just(Some(("extra", json!({"deep": [[[[1]]]], "s": "caf\u{e9} \\ \" "})))),
        1 => Just(Some(("descripcion", json!(format!("{}{}", "ñ".repeat(30), "x".repeat(40)))))),
    ];
    (tweak, 1..40i64, 0..6u32, prop::bool::weighted(0.05)).prop_map(
        |(tweak, linea, factura, not_an_object)| {
            if not_an_object {
                return json!(linea);
            }
            let mut line = sample_line();
            line["linea"] = json!(linea % 7 + 1);
            line["numero_factura"] = json!(format!("C01-{factura}"));
            if linea % 5 == 0 {
                line.as_object_mut().unwrap().remove("hora");
            }
            if let Some((key, value)) = tweak {
                line[key] = value;
            }
            line
        },
    )
}

/// A whole body: layout, keys around the list, formatting.
fn body() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(element(), 0..12),
        0..7u8,
        prop::bool::ANY,
    )
        .prop_map(|(elements, layout, pretty)| {
            let list = Value::Array(elements);
            let document = match layout {
                0 => list,
                1 => json!({"meta": {"total_registros": 3}, "ventas": list}),
                2 => json!({"ventas": list, "meta": {"sucursal_codigo": "SUC001"}}),
                3 => json!({"error": "no", "ventas": list}),
                4 => json!({"ventas": list, "extra": [1, {"x": "]"}], "error": {"code": 7}}),
                5 => {
                    json!({"ventas": list, "nota": format!("{}{}", "é".repeat(40), "y".repeat(40))})
                }
                _ => json!({"datos": list}),
            };
            if pretty {
                serde_json::to_vec_pretty(&document).unwrap()
            } else {
                serde_json::to_vec(&document).unwrap()
            }
        })
}

/// A body, then damaged: cut short, a byte replaced, bytes inserted, or as it is.
fn damaged_body() -> impl Strategy<Value = Vec<u8>> {
    let insert = prop::collection::vec(
        prop_oneof![
            Just(b'{'),
            Just(b'}'),
            Just(b'['),
            Just(b']'),
            Just(b'"'),
            Just(b','),
            Just(b':'),
            Just(b'\\'),
            Just(b'\n'),
            Just(b' '),
            Just(0xff),
            any::<u8>()
        ],
        1..4,
    );
    (body(), any::<usize>(), insert, 0..4u8).prop_map(|(mut body, position, bytes, how)| {
        let at = position % (body.len() + 1);
        match how {
            0 => body.truncate(at),
            1 if at < body.len() => body[at] = bytes[0],
            2 => {
                body.splice(at..at, bytes);
            }
            _ => {}
        }
        body
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn the_three_parsers_agree_on_valid_bodies(body in body()) {
        assert_same(&body)?;
    }

    #[test]
    fn the_three_parsers_agree_on_damaged_bodies(body in damaged_body()) {
        assert_same(&body)?;
    }

    #[test]
    fn the_three_parsers_agree_on_arbitrary_bytes(body in prop::collection::vec(any::<u8>(), 0..64)) {
        assert_same(&body)?;
    }
}

#[test]
fn large_bodies_cross_every_batch_and_block_boundary() {
    let mut lines = Vec::new();
    for i in 0..3_000 {
        let mut line = sample_line();
        line["numero_factura"] = json!(format!("C{:02}-{}", i % 12, i / 3));
        line["linea"] = json!(i % 3 + 1);
        lines.push(line);
    }
    // Some duplicates, one conflicting.
    lines.push(lines[10].clone());
    let mut conflicting = lines[20].clone();
    conflicting["financiero"][0]["venta_total_usd"] = json!(99.5);
    lines.push(conflicting);
    let compact = serde_json::to_vec(&json!({"meta": {}, "ventas": lines})).unwrap();
    let pretty = serde_json::to_vec_pretty(&json!({"meta": {}, "ventas": lines})).unwrap();
    for body in [&compact, &pretty] {
        assert_same(body).unwrap();
        let batch = parse_sales(body.as_slice()).unwrap();
        assert_eq!(batch.lines.len(), 3_000);
        assert_eq!(batch.duplicates_removed, 2);
        assert_eq!(batch.conflicting_duplicates, 1);
        // Cut anywhere: the same message as the streaming parser, position included.
        for cut in [1, 100, body.len() / 3, body.len() / 2 + 7, body.len() - 1] {
            assert_same(&body[..cut]).unwrap();
        }
        // A syntax error deep in the list.
        let mut broken = body.clone();
        let at = broken.len() * 2 / 3;
        broken[at] = b'#';
        assert_same(&broken).unwrap();
    }
}

#[test]
fn an_element_larger_than_the_cut_limit_is_streamed() {
    let mut line = sample_line();
    line["extra"] = json!("x".repeat(super::fast::MAX_ELEMENT + 10));
    let body = serde_json::to_vec(&json!([line.clone(), sample_line(), line])).unwrap();
    assert_same(&body).unwrap();
    assert_same(&body[..body.len() - 5]).unwrap();
}

#[test]
fn deeply_nested_elements_hit_the_same_recursion_limit() {
    let element = serde_json::to_string(&sample_line()).unwrap();
    for depth in [60, 70, 126, 127, 128, 200] {
        // Spliced in as text: serde_json refuses to build such a value past 128 levels.
        let nested = "[".repeat(depth) + &"]".repeat(depth);
        let deep = format!("{},\"extra\":{nested}}}", &element[..element.len() - 1]);
        let body = format!("{{\"ventas\": [{deep}, {element}]}}");
        assert_same(body.as_bytes()).unwrap();
    }
}

#[test]
fn read_errors_are_reported_as_the_streaming_parser_reports_them() {
    struct Failing<'a> {
        body: &'a [u8],
        fail_at: usize,
        kind: std::io::ErrorKind,
    }
    impl std::io::Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.fail_at == 0 {
                return Err(std::io::Error::new(self.kind, "simulated"));
            }
            let n = buf.len().min(self.fail_at).min(self.body.len()).min(7_000);
            buf[..n].copy_from_slice(&self.body[..n]);
            self.body = &self.body[n..];
            self.fail_at -= n;
            Ok(n)
        }
    }
    let lines: Vec<Value> = (0..200)
        .map(|i| {
            let mut line = sample_line();
            line["linea"] = json!(i + 1);
            line
        })
        .collect();
    let body = serde_json::to_vec(&json!({"ventas": lines})).unwrap();
    for kind in [
        std::io::ErrorKind::TimedOut,
        std::io::ErrorKind::ConnectionReset,
    ] {
        for fail_at in [0, 10, 5_000, body.len() / 2] {
            let reader = || Failing {
                body: &body,
                fail_at,
                kind,
            };
            let streaming = outcome(parse_sales_streaming(reader()));
            let parallel = outcome(parse_sales(reader()));
            assert_eq!(parallel, streaming, "{kind:?} at {fail_at}");
            assert!(parallel.is_err());
        }
    }
}

#[test]
fn errors_reported_back_at_the_start_of_a_long_token_keep_their_body_position() {
    // serde_json reports invalid UTF-8 where the bad bytes start, well before where it
    // stopped reading; after cut elements (whose lines the skeleton does not have).
    let pretty = serde_json::to_vec_pretty(&json!([sample_line(), sample_line()])).unwrap();
    let elements = &pretty[1..pretty.len() - 1];
    let long = "x".repeat(100);
    for tail in [
        format!(r#", "{long}"#).into_bytes(),
        format!(r#", ["{long}"#).into_bytes(),
        format!(r#"], "extra": "{long}"#).into_bytes(),
    ] {
        for (open, close) in [("[", "\"]"), ("{\"ventas\": [", "\"]}")] {
            let mut body = open.as_bytes().to_vec();
            body.extend_from_slice(elements);
            body.extend_from_slice(&tail);
            body.extend_from_slice(&[0xff, 0xfe]);
            body.extend_from_slice(format!("{long}{close}").as_bytes());
            assert_same(&body).unwrap();
        }
    }
}
