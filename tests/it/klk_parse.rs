//! Parsing of KLK response bodies: the vendor samples, the tolerated variations, the
//! rejected lines, and a property test that no input panics the parser.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use klk_etl::klk::parse::{parse_sales, parse_stock, parse_warehouses};
use klk_etl::klk::{ErrorKind, ResponseFormat};
use proptest::prelude::*;
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/klk/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sample_line() -> Value {
    let body: Value = serde_json::from_slice(&fixture("ventas_sample.json")).unwrap();
    body["ventas"][0].clone()
}

fn body_with(lines: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"meta": {"sucursal_codigo": "SUC001"}, "ventas": lines})).unwrap()
}

#[test]
fn vendor_sales_sample_parses_to_typed_fields() {
    let batch = parse_sales(fixture("ventas_sample.json").as_slice()).unwrap();
    assert_eq!(batch.format, ResponseFormat::Object);
    assert_eq!(batch.received, 1);
    assert_eq!(
        batch.meta.as_ref().unwrap().sucursal_codigo.as_deref(),
        Some("SUC001")
    );
    assert_eq!(batch.meta.as_ref().unwrap().total_registros, Some(2));
    let line = &batch.lines.get(0).unwrap();
    assert_eq!(line.numero_factura, "C10-01-00008064");
    assert_eq!(line.linea, 1);
    assert_eq!(line.fecha, NaiveDate::from_ymd_opt(2025, 11, 17).unwrap());
    assert_eq!(
        line.hora,
        NaiveTime::from_hms_micro_opt(12, 19, 56, 896_614).unwrap()
    );
    assert_eq!(
        line.fecha_hora,
        NaiveDateTime::parse_from_str("2025-11-17 12:19:56.896614", "%Y-%m-%d %H:%M:%S%.f")
            .unwrap()
    );
    assert_eq!(line.codigo_producto, "001853");
    assert_eq!(line.marca_producto.as_deref(), Some("NATULAC"));
    assert_eq!(line.modelo_producto.as_deref(), Some(""));
    assert_eq!(line.codigo_almacen, "APP-TPF");
    assert_eq!(line.cantidad_vendida, 1.0);
    assert_eq!(line.venta_total_bs, 230.35);
    assert_eq!(line.venta_total_usd, 0.974138);
    assert_eq!(line.impuesto_monto, Some(36.856));
    assert_eq!(line.utilidad_bruta_usd, Some(-0.03));
    assert_eq!(line.tasa_usd, Some(236.46));
    assert_eq!(line.total_factura, Some(1158.67));
    assert_eq!(line.es_no_fiscal, Some(false));
    assert_eq!(line.tiene_promocion.as_deref(), Some(""));
}

#[test]
fn vendor_stock_sample_parses_with_nulls_and_negative_stock() {
    let batch = parse_stock(fixture("articulos_sample.json").as_slice(), "APP-TPF").unwrap();
    assert_eq!(batch.total_articulos, Some(2));
    let [queso, romero] = batch.items.as_slice() else {
        panic!("two articles expected, got {:?}", batch.items)
    };
    assert_eq!(queso.codigo, "000002");
    assert_eq!(queso.codigo_almacen, "APP-TPF");
    assert_eq!(queso.descripcion, None, "N/A is null");
    assert_eq!(queso.marca, None, "N/A is null");
    assert_eq!(queso.stock, 23.0);
    assert_eq!(romero.codigo, "004512");
    assert_eq!(romero.marca, None, "missing Marca is null");
    assert_eq!(romero.barra.as_deref(), Some(""));
    assert_eq!(romero.stock, -5.5);
    assert_eq!(romero.iva, Some(0.0));
}

#[test]
fn bare_array_layout_is_accepted() {
    let body = serde_json::to_vec(&json!([sample_line()])).unwrap();
    let batch = parse_sales(body.as_slice()).unwrap();
    assert_eq!(batch.format, ResponseFormat::BareArray);
    assert_eq!(batch.lines.len(), 1);
    assert_eq!(batch.meta, None);
}

#[test]
fn hora_accepts_zero_to_seven_fractional_digits() {
    for (hora, micros) in [
        ("12:19:56", 0),
        ("12:19:56.8", 800_000),
        ("12:19:56.89", 890_000),
        ("12:19:56.896", 896_000),
        ("12:19:56.8966", 896_600),
        ("12:19:56.89661", 896_610),
        ("12:19:56.896614", 896_614),
        ("12:19:56.8966141", 896_614),
    ] {
        let mut line = sample_line();
        line["hora"] = json!(hora);
        let batch = parse_sales(body_with(vec![line]).as_slice()).unwrap();
        assert_eq!(
            batch.lines.get(0).unwrap().hora,
            NaiveTime::from_hms_micro_opt(12, 19, 56, micros).unwrap(),
            "{hora}"
        );
    }
}

#[test]
fn duplicates_are_removed_and_conflicting_copies_counted() {
    let original = sample_line();
    let mut second = original.clone();
    second["linea"] = json!(2);
    let mut changed = original.clone();
    changed["financiero"][0]["venta_total_usd"] = json!(9.5);
    let body = body_with(vec![original.clone(), second, original, changed]);
    let batch = parse_sales(body.as_slice()).unwrap();
    assert_eq!(batch.received, 4);
    assert_eq!(batch.lines.len(), 2);
    assert_eq!(batch.duplicates_removed, 2);
    assert_eq!(batch.conflicting_duplicates, 1);
    assert_eq!(
        batch.lines.get(0).unwrap().linea,
        1,
        "first position is kept"
    );
    assert_eq!(
        batch.lines.get(0).unwrap().venta_total_usd,
        9.5,
        "the last copy wins"
    );
}

fn rejection(line: Value) -> (String, String) {
    let body = body_with(vec![sample_line_with_linea(7), line]);
    match parse_sales(body.as_slice()) {
        Err(kind @ ErrorKind::InvalidLine(_)) => (kind.error_tipo().to_owned(), kind.to_string()),
        other => panic!("expected an invalid line, got {other:?}"),
    }
}

fn sample_line_with_linea(linea: i64) -> Value {
    let mut line = sample_line();
    line["linea"] = json!(linea);
    line
}

#[test]
fn a_line_with_two_products_fails_the_body_naming_the_line() {
    let mut line = sample_line();
    let producto = line["producto"][0].clone();
    line["producto"] = json!([producto.clone(), producto]);
    let (tipo, message) = rejection(line);
    assert_eq!(tipo, "validacion");
    assert!(message.contains("#1"), "{message}");
    assert!(
        message.contains("invoice C10-01-00008064 line 1"),
        "{message}"
    );
    assert!(
        message.contains("`producto` should hold exactly one element, found 2"),
        "{message}"
    );
}

#[test]
fn structurally_incomplete_lines_are_rejected_with_a_reason() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "`numero_factura` is missing",
            Box::new(|l| drop(l.as_object_mut().unwrap().remove("numero_factura"))),
        ),
        (
            "`numero_factura` is empty",
            Box::new(|l| l["numero_factura"] = json!(" ")),
        ),
        (
            "`linea` is missing",
            Box::new(|l| drop(l.as_object_mut().unwrap().remove("linea"))),
        ),
        (
            "`linea` should be an integer",
            Box::new(|l| l["linea"] = json!("uno")),
        ),
        (
            "`fecha` is missing",
            Box::new(|l| drop(l.as_object_mut().unwrap().remove("fecha"))),
        ),
        (
            "`fecha` is not a YYYY-MM-DD date",
            Box::new(|l| l["fecha"] = json!("17/11/2025")),
        ),
        (
            "`hora` is not a time of day",
            Box::new(|l| l["hora"] = json!("25:00:00")),
        ),
        (
            "`cantidad` should hold exactly one element, found 0",
            Box::new(|l| l["cantidad"] = json!([])),
        ),
        (
            "`financiero` is missing",
            Box::new(|l| drop(l.as_object_mut().unwrap().remove("financiero"))),
        ),
        (
            "financiero: `venta_total_usd` should be a number",
            Box::new(|l| l["financiero"][0]["venta_total_usd"] = json!("mucho")),
        ),
        (
            "producto: `codigo_producto` is missing",
            Box::new(|l| {
                drop(
                    l["producto"][0]
                        .as_object_mut()
                        .unwrap()
                        .remove("codigo_producto"),
                )
            }),
        ),
        (
            "a sales line should be a JSON object",
            Box::new(|l| *l = json!(42)),
        ),
    ];
    for (expected, mutate) in cases {
        let mut line = sample_line();
        mutate(&mut line);
        let (tipo, message) = rejection(line);
        assert_eq!(tipo, "validacion", "{message}");
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message:?}"
        );
    }
}

#[test]
fn failures_of_the_body_are_api_errors() {
    let cases: [(&[u8], &str); 9] = [
        (
            br#"{"error": "Sucursal no existe"}"#,
            "the API reported an error: Sucursal no existe",
        ),
        (
            br#"{"meta": {}, "ventas": [], "error": {"code": 7}}"#,
            "the API reported an error: {\"code\":7}",
        ),
        (br#"{"data": 1}"#, "without a `ventas` list"),
        (br#"{"ventas": {"a": 1}}"#, "unexpected response shape"),
        (br#""ventas""#, "unexpected response shape"),
        (b"", "truncated"),
        (
            br#"{"meta": {}, "ventas": [{"numero_factura": "#,
            "truncated",
        ),
        (b"<html>Internal error</html>", "malformed response body"),
        (br#"{"ventas": []} trailing"#, "malformed response body"),
    ];
    for (body, expected) in cases {
        let kind = parse_sales(body).unwrap_err();
        assert_eq!(kind.error_tipo(), "api_error", "{kind}");
        assert!(
            kind.to_string().contains(expected),
            "expected {expected:?} in {kind}"
        );
    }
}

#[test]
fn an_empty_list_is_the_only_no_data_answer() {
    let batch =
        parse_sales(br#"{"meta": {"total_registros": 0}, "ventas": []}"#.as_slice()).unwrap();
    assert!(batch.lines.is_empty());
    assert_eq!(parse_sales(b"[]".as_slice()).unwrap().lines.len(), 0);
}

#[test]
fn warehouse_lists_parse() {
    let body = br#"[{"NombreSucursal": "PERIFERICO", "CodigoSucursal": "SUC001",
                     "CodigoAlmacen": "APP-TPF", "NombreAlmacen": "PISO DE VENTA"}]"#;
    let warehouses = parse_warehouses(body.as_slice()).unwrap();
    assert_eq!(warehouses[0].codigo_almacen, "APP-TPF");
    assert_eq!(warehouses[0].codigo_sucursal, "SUC001");
    assert!(parse_warehouses(br#"[{"CodigoSucursal": "SUC001"}]"#.as_slice()).is_err());
}

/// Valid bodies, then damaged: cut short, a byte replaced, a chunk inserted.
fn mutated_body() -> impl Strategy<Value = Vec<u8>> {
    let valid = prop_oneof![
        Just(fixture("ventas_sample.json")),
        Just(fixture("articulos_sample.json")),
        Just(serde_json::to_vec(&json!([sample_line(), sample_line_with_linea(2)])).unwrap()),
    ];
    (
        valid,
        any::<usize>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..8),
        0..3u8,
    )
        .prop_map(|(mut body, position, byte, chunk, mutation)| {
            let at = position % (body.len() + 1);
            match mutation {
                0 => body.truncate(at),
                1 if at < body.len() => body[at] = byte,
                _ => {
                    body.splice(at..at, chunk);
                }
            }
            body
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_sales(body.as_slice());
        let _ = parse_stock(body.as_slice(), "X");
        let _ = parse_warehouses(body.as_slice());
    }

    #[test]
    fn damaged_bodies_never_panic_and_fail_with_a_vocabulary_error(body in mutated_body()) {
        for result in [
            parse_sales(body.as_slice()).map(|_| ()),
            parse_stock(body.as_slice(), "X").map(|_| ()),
        ] {
            if let Err(kind) = result {
                prop_assert!(["api_error", "validacion"].contains(&kind.error_tipo()), "{kind}");
            }
        }
    }
}
