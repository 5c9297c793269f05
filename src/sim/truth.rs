//! What the simulator holds, computed without a server: tests compare what was loaded
//! against these pure functions of [`SimData`] (and [`SimQuirks`]).
//!
//! The functions without `_with` are the default simulator (half-open bounds, no edge
//! lines); the `_with` ones take the [`SimQuirks`] the simulator was started with
//! ([`super::SimHandle::quirks`]).
//!
//! Which lines a `hide` or `change` rule with `@FROM/TO` affects in a request: the lines of
//! [`sales_for_request_with`] that are also in [`sales_lines_with`]`(.., FROM, TO)`;
//! [`changed_sales_lines`] gives the values `change` serves for them.

use chrono::NaiveDateTime;

use super::bounds::{BoundSemantics, half_open_bounds};
use super::data::{self, GeneratedLine};
use super::options::{SimData, SimQuirks};
use crate::klk::parse::{sales_line_from_value, stock_item_from_value};
use crate::klk::{SalesLine, SalesRequest, StockItem};

/// The distinct sales lines of `sucursal` with `from <= fecha_hora < to`, in time order,
/// exactly as the client parses them. Empty for an unknown store.
pub fn sales_lines(
    data: &SimData,
    sucursal: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<SalesLine> {
    sales_lines_with(data, &SimQuirks::default(), sucursal, from, to)
}

/// [`sales_lines`] of a simulator with `quirks` (the edge lines included when on).
/// `fecha_hora` is compared at full precision (all 7 digits of `hora`).
pub fn sales_lines_with(
    data: &SimData,
    quirks: &SimQuirks,
    sucursal: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<SalesLine> {
    let Some(store) = data.store(sucursal) else {
        return Vec::new();
    };
    to_sales_lines(&data::lines_between(
        data,
        store,
        quirks.edge_lines,
        from,
        to,
    ))
}

/// The distinct lines the default simulator answers `request` with (a whole-day request,
/// an hour window `[desde, hasta)` with `23:59:59` meaning the end of the day, the
/// `almacen` filter).
pub fn sales_for_request(data: &SimData, request: &SalesRequest) -> Vec<SalesLine> {
    sales_for_request_with(data, &SimQuirks::default(), request)
}

/// The distinct lines a simulator with `quirks` answers `request` with: the hours read by
/// `quirks.bounds` ([`request_span`]), the edge lines when on, the `almacen` filter. Before
/// any fault (`hide` and `change` included).
pub fn sales_for_request_with(
    data: &SimData,
    quirks: &SimQuirks,
    request: &SalesRequest,
) -> Vec<SalesLine> {
    to_sales_lines(&request_lines(data, quirks, request, None))
}

/// The instants `[from, to)`, at full precision, that `request` covers when the API reads
/// its hours as `bounds` (e.g. `Between` with `hora_hasta` `23:59:59` ends just after
/// 23:59:59.0000000).
pub fn request_span(
    bounds: BoundSemantics,
    request: &SalesRequest,
) -> (NaiveDateTime, NaiveDateTime) {
    bounds.span(request)
}

/// The lines of `sucursal` with `from <= fecha_hora < to` as a `change` rule with that
/// window serves them: same keys, `cantidad_vendida` + 1, sales, discount, tax, cost, profit
/// and `total_factura` recomputed (whole invoices change together).
pub fn changed_sales_lines(
    data: &SimData,
    quirks: &SimQuirks,
    sucursal: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<SalesLine> {
    let Some(store) = data.store(sucursal) else {
        return Vec::new();
    };
    to_sales_lines(&data::changed_lines(
        data,
        store,
        quirks.edge_lines,
        from,
        to,
    ))
}

/// Count and sums of a set of lines, for comparing with a database.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SalesTotals {
    pub lines: usize,
    pub venta_total_usd: f64,
    pub venta_total_bs: f64,
}

pub fn totals(lines: &[SalesLine]) -> SalesTotals {
    SalesTotals {
        lines: lines.len(),
        venta_total_usd: lines.iter().map(|line| line.venta_total_usd).sum(),
        venta_total_bs: lines.iter().map(|line| line.venta_total_bs).sum(),
    }
}

/// The article master of warehouse `almacen` with its stock, as the client parses it.
pub fn stock_items(data: &SimData, almacen: &str) -> Vec<StockItem> {
    data::warehouse_articles(data, almacen)
        .iter()
        .filter_map(|article| {
            let value = serde_json::to_value(article).ok()?;
            stock_item_from_value(almacen, &value).ok()
        })
        .collect()
}

/// `[from, to)` of a sales request by the client's half-open reading, whatever the
/// simulator's bound semantics: what [`super::RequestRecord::window`] shows.
pub(crate) fn request_bounds(request: &SalesRequest) -> (NaiveDateTime, NaiveDateTime) {
    half_open_bounds(request)
}

/// The generated lines (duplicates flagged) answering `request`, optionally restricted to
/// one article.
pub(crate) fn request_lines(
    data: &SimData,
    quirks: &SimQuirks,
    request: &SalesRequest,
    codigo_articulo: Option<&str>,
) -> Vec<GeneratedLine> {
    let Some(store) = data.store(&request.sucursal) else {
        return Vec::new();
    };
    let (from, to) = quirks.bounds.span(request);
    let mut lines = data::lines_between(data, store, quirks.edge_lines, from, to);
    if let Some(almacen) = &request.almacen {
        lines.retain(|line| line.codigo_almacen() == almacen);
    }
    if let Some(codigo) = codigo_articulo {
        lines.retain(|line| line.codigo_producto() == codigo);
    }
    lines
}

fn to_sales_lines(lines: &[GeneratedLine]) -> Vec<SalesLine> {
    // Generated lines always convert; a failure would be a simulator bug that the
    // round-trip test in tests/sim_* catches.
    lines
        .iter()
        .filter_map(|line| {
            let value = serde_json::to_value(&line.wire).ok()?;
            sales_line_from_value(&value).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn every_generated_line_converts() {
        let data = SimData::default();
        let day = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
        let request = SalesRequest::days("SUC001", day, day);
        let generated = request_lines(&data, &SimQuirks::default(), &request, None);
        assert_eq!(sales_for_request(&data, &request).len(), generated.len());
        assert_eq!(stock_items(&data, "APP-TPF").len(), 4_000);

        let edges = SimQuirks {
            edge_lines: true,
            ..SimQuirks::default()
        };
        let generated = request_lines(&data, &edges, &request, None);
        assert_eq!(
            generated.len(),
            request_lines(&data, &SimQuirks::default(), &request, None).len() + 98
        );
        assert_eq!(
            sales_for_request_with(&data, &edges, &request).len(),
            generated.len()
        );
        let (from, to) = request_bounds(&request);
        assert_eq!(
            changed_sales_lines(&data, &edges, "SUC001", from, to).len(),
            generated.len()
        );
    }
}
