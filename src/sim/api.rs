//! What the simulated KLK API answers, before any fault: request interpretation and bodies.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;
use serde_json::{Value, json};

use super::data::GeneratedLine;
use super::http::HttpRequest;
use super::options::{SimData, SimQuirks};
use super::scenario::{Endpoint, TimeRange};
use super::{data, truth};
use crate::klk::SalesRequest;

/// The longest date range `/ventas` serves (the real API has no such limit; the simulator
/// keeps bodies bounded).
pub(crate) const MAX_SALES_DAYS: i64 = 92;
/// `fecha_generacion` is fixed so that the same request always gets the same bytes.
const GENERATED_AT: &str = "2025-01-01T00:00:00.000Z";

/// A request as far as fault rules care: which endpoint, store and window.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    pub endpoint: Option<Endpoint>,
    pub store: Option<String>,
    /// Sales: the requested window by the client's half-open reading.
    pub window: Option<(NaiveDateTime, NaiveDateTime)>,
    /// Sales: the instants the answer covers under the simulator's bound semantics (what
    /// rule windows are matched against).
    pub served: Option<(NaiveDateTime, NaiveDateTime)>,
    /// Sales without `hora_desde` and `hora_hasta` (what `ventas-dia` rules match).
    pub whole_day: bool,
}

/// What a request asks for, once read and checked.
pub(crate) enum Query {
    Sales(SalesQuery),
    Stock(Vec<String>),
    Replenishment(String),
    Warehouses {
        sucursal: Option<String>,
        sales_floor_only: bool,
    },
}

/// The `hide` and `change` rules that apply to one sales answer: their windows.
#[derive(Debug, Clone, Default)]
pub(crate) struct SalesEdits {
    pub hide: Vec<TimeRange>,
    pub change: Vec<TimeRange>,
}

/// How many lines of the normal answer the edits left out and changed (each generated
/// line once, even when the API sends it twice).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EditCounts {
    pub hidden: usize,
    pub changed: usize,
}

/// A client error the simulator answers with `{"error": ...}`.
#[derive(Debug, Clone)]
pub(crate) struct Rejection {
    pub status: u16,
    pub message: String,
}

fn reject(status: u16, message: impl Into<String>) -> Rejection {
    Rejection {
        status,
        message: message.into(),
    }
}

pub(crate) fn error_body(message: &str) -> Vec<u8> {
    json!({ "error": message }).to_string().into_bytes()
}

/// A list answer under construction: elements are serialized as they are added.
pub(crate) struct ListPayload {
    meta: Option<Value>,
    total_key: &'static str,
    list_key: &'static str,
    elements: Vec<u8>,
    count: usize,
    first_element: Option<Value>,
    /// The endpoint's own layout is a bare array (the `GET` lists).
    bare_by_default: bool,
    bad_element: Value,
}

impl ListPayload {
    fn new(
        list_key: &'static str,
        meta: Option<Value>,
        total_key: &'static str,
        bad_element: Value,
    ) -> Self {
        Self {
            meta,
            total_key,
            list_key,
            elements: Vec::new(),
            count: 0,
            first_element: None,
            bare_by_default: false,
            bad_element,
        }
    }

    fn push(&mut self, element: &impl Serialize) {
        if self.count > 0 {
            self.elements.push(b',');
        }
        if self.first_element.is_none() {
            self.first_element = serde_json::to_value(element).ok();
        }
        // Serializing plain data structs into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.elements, element);
        self.count += 1;
    }

    pub fn clear(&mut self) {
        self.elements.clear();
        self.count = 0;
    }

    /// Appends an element that the client must reject (e.g. two `producto` elements).
    pub fn push_bad_element(&mut self) {
        let bad = self.bad_element.clone();
        self.push(&bad);
    }

    /// Appends a second, different copy of the first element (same key).
    pub fn push_conflicting_copy(&mut self) {
        let Some(mut copy) = self.first_element.clone() else {
            return;
        };
        bump_number(&mut copy, &["financiero", "0", "venta_total_usd"]);
        bump_number(&mut copy, &["stock"]);
        self.push(&copy);
    }

    pub fn into_body(self, bare_array: bool) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.elements.len() + 512);
        if bare_array || self.bare_by_default {
            body.push(b'[');
            body.extend_from_slice(&self.elements);
            body.push(b']');
            return body;
        }
        let mut meta = self.meta.unwrap_or_else(|| json!({}));
        if let Some(object) = meta.as_object_mut() {
            object.insert(self.total_key.to_owned(), json!(self.count));
            object.insert("fecha_generacion".to_owned(), json!(GENERATED_AT));
        }
        body.extend_from_slice(b"{\"meta\":");
        body.extend_from_slice(meta.to_string().as_bytes());
        body.extend_from_slice(format!(",\"{}\":[", self.list_key).as_bytes());
        body.extend_from_slice(&self.elements);
        body.extend_from_slice(b"]}");
        body
    }
}

fn bump_number(value: &mut Value, path: &[&str]) {
    let mut cursor = value;
    for key in path {
        let next = match cursor {
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            Value::Object(map) => map.get_mut(*key),
            _ => None,
        };
        let Some(next) = next else { return };
        cursor = next;
    }
    if let Some(number) = cursor.as_f64() {
        *cursor = json!(number + 1.0);
    }
}

/// Reads `request`: its target (for fault rules) and what it asks for, or why it is
/// rejected.
pub(crate) fn parse(
    data: &SimData,
    quirks: &SimQuirks,
    request: &HttpRequest,
) -> (Target, Result<Query, Rejection>) {
    let path = request.path.trim_end_matches('/').to_ascii_lowercase();
    let method = request.method.as_str();
    let expected_method = match path.as_str() {
        "/ventas" | "/maestra/articulos/almacen" | "/maestra/articulos/reposicion" => "POST",
        "/maestra/almacenes/reposicion" | "/maestra/almacenes/pisoventa" => "GET",
        _ => {
            return (
                Target::default(),
                Err(reject(404, format!("no such endpoint {}", request.path))),
            );
        }
    };
    if method != expected_method {
        return (
            Target::default(),
            Err(reject(
                405,
                format!("{} expects {expected_method}", request.path),
            )),
        );
    }
    match path.as_str() {
        "/ventas" => sales(quirks, &request.body),
        "/maestra/articulos/almacen" => stock(data, &request.body),
        "/maestra/articulos/reposicion" => replenishment_articles(&request.body),
        "/maestra/almacenes/reposicion" => warehouses(request.query_value("sucursal"), false),
        _ => warehouses(None, true),
    }
}

/// The answer to `query`, with `edits` applied to sales lines.
pub(crate) fn build(
    data: &SimData,
    quirks: &SimQuirks,
    query: &Query,
    edits: &SalesEdits,
) -> (ListPayload, EditCounts) {
    match query {
        Query::Sales(query) => sales_payload(data, quirks, query, edits),
        Query::Stock(codes) => (stock_payload(data, codes), EditCounts::default()),
        Query::Replenishment(sucursal) => {
            (replenishment_payload(data, sucursal), EditCounts::default())
        }
        Query::Warehouses {
            sucursal,
            sales_floor_only,
        } => (
            warehouses_payload(data, sucursal.as_deref(), *sales_floor_only),
            EditCounts::default(),
        ),
    }
}

fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, Rejection> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(reject(400, "the request body must be a JSON object")),
        Err(error) => Err(reject(
            400,
            format!("the request body is not JSON: {error}"),
        )),
    }
}

fn text_field<'a>(
    object: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<Option<&'a str>, Rejection> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(reject(400, format!("{key} must be a string"))),
    }
}

fn sales(quirks: &SimQuirks, body: &[u8]) -> (Target, Result<Query, Rejection>) {
    let mut target = Target {
        endpoint: Some(Endpoint::Ventas),
        ..Target::default()
    };
    let object = match parse_object(body) {
        Ok(object) => object,
        Err(rejection) => return (target, Err(rejection)),
    };
    target.store = object
        .get("sucursal")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let has_hour = |key: &str| object.get(key).is_some_and(|value| !value.is_null());
    target.whole_day = !has_hour("hora_desde") && !has_hour("hora_hasta");
    let query = match sales_query(&object) {
        Ok(query) => query,
        Err(rejection) => return (target, Err(rejection)),
    };
    target.window = Some(truth::request_bounds(&query.request));
    target.served = Some(quirks.bounds.span(&query.request));
    (target, Ok(Query::Sales(query)))
}

fn sales_payload(
    data: &SimData,
    quirks: &SimQuirks,
    query: &SalesQuery,
    edits: &SalesEdits,
) -> (ListPayload, EditCounts) {
    let meta = json!({
        "sucursal_codigo": query.request.sucursal,
        "fecha_desde": query.request.fecha_desde.format("%Y-%m-%d").to_string(),
        "fecha_hasta": query.request.fecha_hasta.format("%Y-%m-%d").to_string(),
        "hora_desde": query.hora_desde_text,
        "hora_hasta": query.hora_hasta_text,
    });
    let mut payload = ListPayload::new("ventas", Some(meta), "total_registros", bad_sales_line());
    let lines = truth::request_lines(
        data,
        quirks,
        &query.request,
        query.codigo_articulo.as_deref(),
    );
    let (lines, counts) = edit_sales(data, quirks, &query.request.sucursal, lines, edits);
    for line in lines {
        payload.push(&line.wire);
        if line.duplicated {
            payload.push(&line.wire);
        }
    }
    (payload, counts)
}

/// Leaves out the lines inside a `hide` window, then swaps the lines inside a `change`
/// window for their changed values.
fn edit_sales(
    data: &SimData,
    quirks: &SimQuirks,
    sucursal: &str,
    mut lines: Vec<GeneratedLine>,
    edits: &SalesEdits,
) -> (Vec<GeneratedLine>, EditCounts) {
    let mut counts = EditCounts::default();
    let inside = |line: &GeneratedLine, windows: &[TimeRange]| {
        windows
            .iter()
            .any(|window| window.from <= line.exact && line.exact < window.to)
    };
    if !edits.hide.is_empty() {
        let before = lines.len();
        lines.retain(|line| !inside(line, &edits.hide));
        counts.hidden = before - lines.len();
    }
    let Some(store) = data.store(sucursal) else {
        return (lines, counts);
    };
    for window in &edits.change {
        if !lines
            .iter()
            .any(|line| inside(line, std::slice::from_ref(window)))
        {
            continue;
        }
        let changed: std::collections::HashMap<(String, i64), GeneratedLine> =
            data::changed_lines(data, store, quirks.edge_lines, window.from, window.to)
                .into_iter()
                .map(|line| ((line.wire.numero_factura.clone(), line.wire.linea), line))
                .collect();
        for line in &mut lines {
            let key = (line.wire.numero_factura.clone(), line.wire.linea);
            if let Some(new) = changed.get(&key) {
                line.wire = new.wire.clone();
                counts.changed += 1;
            }
        }
    }
    (lines, counts)
}

pub(crate) struct SalesQuery {
    request: SalesRequest,
    hora_desde_text: Option<String>,
    hora_hasta_text: Option<String>,
    codigo_articulo: Option<String>,
}

fn sales_query(object: &serde_json::Map<String, Value>) -> Result<SalesQuery, Rejection> {
    let required = |key: &str| {
        text_field(object, key)?.ok_or_else(|| reject(400, format!("{key} is required")))
    };
    let date = |key: &str| {
        let text = required(key)?;
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 10)
            .ok_or_else(|| reject(400, format!("{key} must be YYYY-MM-DD, got {text:?}")))
    };
    let hour = |key: &str| -> Result<Option<NaiveTime>, Rejection> {
        let Some(text) = text_field(object, key)? else {
            return Ok(None);
        };
        let parsed = match text.len() {
            5 => NaiveTime::parse_from_str(text, "%H:%M").ok(),
            8 => NaiveTime::parse_from_str(text, "%H:%M:%S").ok(),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            reject(
                400,
                format!("{key} must be HH:MM or HH:MM:SS, got {text:?}"),
            )
        })
    };
    let request = SalesRequest {
        sucursal: required("sucursal")?.to_owned(),
        fecha_desde: date("fecha_desde")?,
        fecha_hasta: date("fecha_hasta")?,
        hora_desde: hour("hora_desde")?,
        hora_hasta: hour("hora_hasta")?,
        almacen: text_field(object, "almacen")?.map(str::to_owned),
    };
    request.validate().map_err(|reason| reject(400, reason))?;
    let days = (request.fecha_hasta - request.fecha_desde).num_days() + 1;
    if days > MAX_SALES_DAYS {
        return Err(reject(
            400,
            format!("the simulator serves at most {MAX_SALES_DAYS} days per request, got {days}"),
        ));
    }
    Ok(SalesQuery {
        hora_desde_text: text_field(object, "hora_desde")?.map(str::to_owned),
        hora_hasta_text: text_field(object, "hora_hasta")?.map(str::to_owned),
        codigo_articulo: text_field(object, "CodArticulo")?.map(str::to_owned),
        request,
    })
}

fn bad_sales_line() -> Value {
    let producto = json!({"codigo_producto": "000001", "descripcion_producto": "DOBLE"});
    json!({
        "numero_factura": "C99-000000-0000999", "linea": 1,
        "fecha": "2025-01-01", "hora": "00:00:00", "fecha_hora_completa": "2025-01-01T00:00:00",
        "producto": [producto.clone(), producto],
        "cantidad": [{"codigo_almacen": "X", "cantidad_vendida": 1}],
        "financiero": [{"venta_total_bs": 1.0, "venta_total_usd": 1.0}],
        "total_factura": 1.0, "tasa_usd": 1.0, "es_no_fiscal": false,
        "tiene_promocion": "", "codigo_promocion": ""
    })
}

fn stock(data: &SimData, body: &[u8]) -> (Target, Result<Query, Rejection>) {
    let mut target = Target {
        endpoint: Some(Endpoint::Stock),
        ..Target::default()
    };
    let object = match parse_object(body) {
        Ok(object) => object,
        Err(rejection) => return (target, Err(rejection)),
    };
    let codes: Vec<String> = match object.get("Codigoalmacen") {
        Some(Value::String(code)) => vec![code.clone()],
        Some(Value::Array(codes)) if codes.iter().all(Value::is_string) => codes
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => {
            let message = "Codigoalmacen (a warehouse code or a list of codes) is required";
            return (target, Err(reject(400, message)));
        }
    };
    target.store = codes
        .first()
        .and_then(|code| data.store_of_warehouse(code))
        .map(|store| store.sucursal.clone());
    (target, Ok(Query::Stock(codes)))
}

fn stock_payload(data: &SimData, codes: &[String]) -> ListPayload {
    let meta = json!({ "almacences_filtrados": Value::from(codes.to_vec()).to_string() });
    let bad = json!({"NombreProducto": "SIN CODIGO", "stock": "mucho"});
    let mut payload = ListPayload::new("articulos", Some(meta), "total_articulos", bad);
    for code in codes
        .iter()
        .filter(|code| data.store_of_warehouse(code).is_some())
    {
        for article in data::warehouse_articles(data, code) {
            payload.push(&article);
        }
    }
    payload
}

fn replenishment_articles(body: &[u8]) -> (Target, Result<Query, Rejection>) {
    let mut target = Target {
        endpoint: Some(Endpoint::Reposicion),
        ..Target::default()
    };
    let object = match parse_object(body) {
        Ok(object) => object,
        Err(rejection) => return (target, Err(rejection)),
    };
    let sucursal = match text_field(&object, "CodigoSucursal") {
        Ok(Some(sucursal)) => sucursal.to_owned(),
        Ok(None) => return (target, Err(reject(400, "CodigoSucursal is required"))),
        Err(rejection) => return (target, Err(rejection)),
    };
    target.store = Some(sucursal.clone());
    (target, Ok(Query::Replenishment(sucursal)))
}

fn replenishment_payload(data: &SimData, sucursal: &str) -> ListPayload {
    let bad = json!({"NombreProducto": "SIN CODIGO", "stock": "mucho"});
    let mut payload = ListPayload::new("articulos", Some(json!({})), "total_articulos", bad);
    let floor = data
        .store(sucursal)
        .and_then(|store| store.warehouses.first());
    if let Some(floor) = floor {
        for article in data::warehouse_articles(data, floor) {
            if article.stock <= 0.0 {
                payload.push(&article);
            }
        }
    }
    payload
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WireWarehouse<'a> {
    nombre_sucursal: &'a str,
    codigo_sucursal: &'a str,
    codigo_almacen: &'a str,
    nombre_almacen: String,
}

fn warehouses(
    sucursal: Option<&str>,
    sales_floor_only: bool,
) -> (Target, Result<Query, Rejection>) {
    let target = Target {
        endpoint: Some(Endpoint::Almacenes),
        store: sucursal.map(str::to_owned),
        ..Target::default()
    };
    let query = Query::Warehouses {
        sucursal: sucursal.map(str::to_owned),
        sales_floor_only,
    };
    (target, Ok(query))
}

fn warehouses_payload(
    data: &SimData,
    sucursal: Option<&str>,
    sales_floor_only: bool,
) -> ListPayload {
    let bad = json!({"NombreSucursal": "SIN CODIGO"});
    let mut payload = ListPayload::new("almacenes", None, "total", bad);
    payload.bare_by_default = true;
    let stores = data
        .stores
        .iter()
        .filter(|store| sucursal.is_none_or(|wanted| store.sucursal == wanted));
    for store in stores {
        let count = if sales_floor_only {
            1
        } else {
            store.warehouses.len()
        };
        for (index, code) in store.warehouses.iter().take(count).enumerate() {
            payload.push(&WireWarehouse {
                nombre_sucursal: &store.name,
                codigo_sucursal: &store.sucursal,
                codigo_almacen: code,
                nombre_almacen: if index == 0 {
                    "PISO DE VENTA".to_owned()
                } else {
                    format!("DEPOSITO {code}")
                },
            });
        }
    }
    payload
}
