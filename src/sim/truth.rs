//! What the simulator holds, computed without a server: tests compare what was loaded
//! against these pure functions of [`SimData`].

use chrono::{NaiveDateTime, NaiveTime};

use super::data::{self, GeneratedLine};
use super::options::SimData;
use crate::klk::parse::{sales_line_from_value, stock_item_from_value};
use crate::klk::{SalesLine, SalesRequest, StockItem, is_end_of_day};

/// The distinct sales lines of `sucursal` with `from <= fecha_hora < to`, in time order,
/// exactly as the client parses them. Empty for an unknown store.
pub fn sales_lines(
    data: &SimData,
    sucursal: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Vec<SalesLine> {
    let Some(store) = data.store(sucursal) else {
        return Vec::new();
    };
    to_sales_lines(&data::lines_between(data, store, from, to))
}

/// The distinct lines the simulator answers `request` with (a whole-day request, an hour
/// window with `23:59:59` meaning the end of the day, the `almacen` filter).
pub fn sales_for_request(data: &SimData, request: &SalesRequest) -> Vec<SalesLine> {
    to_sales_lines(&request_lines(data, request, None))
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

/// `[from, to)` of a sales request, by the simulator's reading of the vendor's rules.
pub(crate) fn request_bounds(request: &SalesRequest) -> (NaiveDateTime, NaiveDateTime) {
    let from = request
        .fecha_desde
        .and_time(request.hora_desde.unwrap_or(NaiveTime::MIN));
    let to = match request.hora_hasta {
        Some(hasta) if !is_end_of_day(hasta) => request.fecha_hasta.and_time(hasta),
        _ => request
            .fecha_hasta
            .succ_opt()
            .unwrap_or(request.fecha_hasta)
            .and_time(NaiveTime::MIN),
    };
    (from, to)
}

/// The generated lines (duplicates flagged) answering `request`, optionally restricted to
/// one article.
pub(crate) fn request_lines(
    data: &SimData,
    request: &SalesRequest,
    codigo_articulo: Option<&str>,
) -> Vec<GeneratedLine> {
    let Some(store) = data.store(&request.sucursal) else {
        return Vec::new();
    };
    let (from, to) = request_bounds(request);
    let mut lines = data::lines_between(data, store, from, to);
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
        let generated = request_lines(&data, &request, None);
        assert_eq!(sales_for_request(&data, &request).len(), generated.len());
        assert_eq!(stock_items(&data, "APP-TPF").len(), 4_000);
    }
}
