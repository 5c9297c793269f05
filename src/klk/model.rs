use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use crate::klk::columns::SalesLines;

/// `POST /ventas`: the sales lines of one store (`sucursal`) in a window.
///
/// Hours are only allowed when `fecha_desde == fecha_hasta` and `hora_desde < hora_hasta`
/// (the vendor leaves the other combinations undefined); the client refuses to send anything
/// else. The window is read as `[hora_desde, hora_hasta)`; `23:59:59` as `hora_hasta` is the
/// end of the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesRequest {
    pub sucursal: String,
    pub fecha_desde: NaiveDate,
    pub fecha_hasta: NaiveDate,
    pub hora_desde: Option<NaiveTime>,
    pub hora_hasta: Option<NaiveTime>,
    /// Restricts the lines to one warehouse.
    pub almacen: Option<String>,
}

impl SalesRequest {
    /// Whole days from `fecha_desde` to `fecha_hasta`, both included.
    pub fn days(
        sucursal: impl Into<String>,
        fecha_desde: NaiveDate,
        fecha_hasta: NaiveDate,
    ) -> Self {
        Self {
            sucursal: sucursal.into(),
            fecha_desde,
            fecha_hasta,
            hora_desde: None,
            hora_hasta: None,
            almacen: None,
        }
    }

    /// `[hora_desde, hora_hasta)` of one date.
    pub fn hours(
        sucursal: impl Into<String>,
        fecha: NaiveDate,
        hora_desde: NaiveTime,
        hora_hasta: NaiveTime,
    ) -> Self {
        Self {
            hora_desde: Some(hora_desde),
            hora_hasta: Some(hora_hasta),
            ..Self::days(sucursal, fecha, fecha)
        }
    }

    /// One date with optional bounds: a missing `hora_desde` starts at the beginning of the
    /// day, a missing `hora_hasta` runs to its end (whatever the API does with bounds).
    pub fn within_day(
        sucursal: impl Into<String>,
        fecha: NaiveDate,
        hora_desde: Option<NaiveTime>,
        hora_hasta: Option<NaiveTime>,
    ) -> Self {
        Self {
            hora_desde,
            hora_hasta,
            ..Self::days(sucursal, fecha, fecha)
        }
    }

    /// Checks the rules the vendor's undefined semantics impose (see the type's doc).
    pub fn validate(&self) -> Result<(), String> {
        if self.sucursal.trim().is_empty() {
            return Err("sucursal is empty".to_owned());
        }
        if self.fecha_hasta < self.fecha_desde {
            return Err(format!(
                "fecha_hasta {} is before fecha_desde {}",
                self.fecha_hasta, self.fecha_desde
            ));
        }
        let has_hours = self.hora_desde.is_some() || self.hora_hasta.is_some();
        if has_hours && self.fecha_desde != self.fecha_hasta {
            return Err(format!(
                "hour filters need a single date, got {}..{}",
                self.fecha_desde, self.fecha_hasta
            ));
        }
        if let (Some(desde), Some(hasta)) = (self.hora_desde, self.hora_hasta)
            && desde >= hasta
        {
            return Err(format!(
                "hora_desde {} is not before hora_hasta {}",
                desde.format("%H:%M:%S"),
                hasta.format("%H:%M:%S")
            ));
        }
        Ok(())
    }

    pub(crate) fn wire_body(&self) -> SalesRequestBody {
        let format_hour = |hora: NaiveTime| hora.format("%H:%M:%S").to_string();
        SalesRequestBody {
            sucursal: self.sucursal.clone(),
            fecha_desde: self.fecha_desde.format("%Y-%m-%d").to_string(),
            fecha_hasta: self.fecha_hasta.format("%Y-%m-%d").to_string(),
            hora_desde: self.hora_desde.map(format_hour),
            hora_hasta: self.hora_hasta.map(format_hour),
            almacen: self.almacen.clone(),
        }
    }

    /// Whether a line's date and time fall inside the requested window.
    pub fn contains(&self, fecha: NaiveDate, hora: NaiveTime) -> bool {
        if fecha < self.fecha_desde || fecha > self.fecha_hasta {
            return false;
        }
        let after_start = self.hora_desde.is_none_or(|desde| hora >= desde);
        let before_end = self
            .hora_hasta
            .is_none_or(|hasta| hora < hasta || is_end_of_day(hasta));
        after_start && before_end
    }
}

/// `23:59:59` as an upper bound means "to the end of the day" (spec: no second is left out).
pub fn is_end_of_day(hora: NaiveTime) -> bool {
    const LAST_SECOND: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
        Some(time) => time,
        None => panic!("23:59:59 is a valid time"),
    };
    hora >= LAST_SECOND
}

#[derive(Debug, Serialize)]
pub(crate) struct SalesRequestBody {
    sucursal: String,
    fecha_desde: String,
    fecha_hasta: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hora_desde: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hora_hasta: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    almacen: Option<String>,
}

/// `POST /maestra/articulos/almacen` for one warehouse.
///
/// The API also takes a list of codes, but its rows do not say which warehouse they belong
/// to, so the client asks one warehouse at a time: every row of the answer is that
/// warehouse's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRequest {
    pub almacen: String,
}

impl StockRequest {
    pub fn new(almacen: impl Into<String>) -> Self {
        Self {
            almacen: almacen.into(),
        }
    }
}

/// One sales line, flattened: the single `producto`, `cantidad` and `financiero` elements
/// of the wire format become fields. Text fields that were missing, `null` or `"N/A"` are
/// `None`; an empty string stays empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SalesLine {
    pub numero_factura: String,
    pub linea: i64,
    pub fecha: NaiveDate,
    /// Fractional seconds kept to the microsecond (the API sends up to 7 digits).
    pub hora: NaiveTime,
    /// `fecha` + `hora`, store-local time.
    pub fecha_hora: NaiveDateTime,

    pub codigo_producto: String,
    pub descripcion_producto: Option<String>,
    pub marca_producto: Option<String>,
    pub modelo_producto: Option<String>,
    pub categoria_producto: Option<String>,
    pub grupo_articulo: Option<String>,
    pub subgrupo_producto: Option<String>,
    pub codigo_barras: Option<String>,

    pub codigo_almacen: String,
    pub nombre_almacen: Option<String>,
    pub cantidad_vendida: f64,
    pub peso_unitario: Option<f64>,
    pub unidad_medida_venta: Option<String>,
    pub factor_unidad_medida: Option<f64>,

    pub costo_unitario_bs: Option<f64>,
    pub costo_unitario_usd: Option<f64>,
    pub precio_unitario_bs: Option<f64>,
    pub precio_unitario_usd: Option<f64>,
    pub impuesto_porcentaje: Option<f64>,
    /// Bolívares.
    pub impuesto_monto: Option<f64>,
    pub porcentaje_descuento: Option<f64>,
    pub monto_descuento: Option<f64>,
    /// Without tax.
    pub venta_total_bs: f64,
    /// Without tax.
    pub venta_total_usd: f64,
    pub costo_total_bs: Option<f64>,
    pub costo_total_usd: Option<f64>,
    pub utilidad_bruta_bs: Option<f64>,
    pub utilidad_bruta_usd: Option<f64>,

    pub total_factura: Option<f64>,
    /// Bolívares per US dollar.
    pub tasa_usd: Option<f64>,
    pub es_no_fiscal: Option<bool>,
    pub tiene_promocion: Option<String>,
    pub codigo_promocion: Option<String>,
}

/// The `meta` object of a sales response, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SalesMeta {
    pub sucursal_codigo: Option<String>,
    pub total_registros: Option<i64>,
    /// UTC, as sent.
    pub fecha_generacion: Option<String>,
}

/// Which of the two documented response layouts the server used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ResponseFormat {
    /// `{"meta": ..., "ventas": [...]}` (or `articulos`).
    Object,
    /// The older bare JSON array of lines.
    BareArray,
}

/// The answer to one [`SalesRequest`].
///
/// Lines are unique on (`numero_factura`, `linea`), in the order of their first appearance.
/// When two copies of a line differ, the last copy wins and the line is also counted in
/// `conflicting_duplicates`: the caller decides whether that is acceptable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalesBatch {
    /// Kept column by column ([`SalesLines`]): about a third of the memory of a
    /// `Vec<SalesLine>`; each line is built on demand.
    pub lines: SalesLines,
    /// Elements in the response, duplicates included.
    pub received: usize,
    pub duplicates_removed: usize,
    pub conflicting_duplicates: usize,
    /// Lines whose date/time or warehouse lies outside what was asked for (kept in `lines`).
    pub outside_window: usize,
    pub format: ResponseFormat,
    pub meta: Option<SalesMeta>,
    /// Requests sent, the successful one included.
    pub attempts: u32,
}

/// One article of a warehouse's master with its stock. `"N/A"`, `null` and missing text
/// fields are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockItem {
    pub codigo_almacen: String,
    /// Zero-padded, kept as text.
    pub codigo: String,
    pub nombre_producto: Option<String>,
    pub barra: Option<String>,
    pub categoria: Option<String>,
    pub descripcion: Option<String>,
    pub subcategoria: Option<String>,
    pub descripcion_categoria: Option<String>,
    pub marca: Option<String>,
    pub precio: Option<f64>,
    pub iva: Option<f64>,
    /// May be zero, negative or fractional.
    pub stock: f64,
}

/// The answer to one [`StockRequest`]; items are unique on `codigo` (last copy wins).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StockBatch {
    pub almacen: String,
    pub items: Vec<StockItem>,
    pub received: usize,
    pub duplicates_removed: usize,
    pub conflicting_duplicates: usize,
    pub format: ResponseFormat,
    /// `meta.total_articulos` when present.
    pub total_articulos: Option<i64>,
    pub attempts: u32,
}

/// One row of `GET /maestra/almacenes/...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warehouse {
    pub codigo_sucursal: String,
    pub nombre_sucursal: Option<String>,
    pub codigo_almacen: String,
    pub nombre_almacen: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarehouseList {
    pub warehouses: Vec<Warehouse>,
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hms(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).unwrap()
    }

    #[test]
    fn end_of_day_bound_is_inclusive() {
        assert!(is_end_of_day(hms(23, 59, 59)));
        assert!(!is_end_of_day(hms(23, 59, 58)));
    }

    #[test]
    fn hours_need_one_date_and_an_ordered_range() {
        let day = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
        let next = day.succ_opt().unwrap();
        assert!(
            SalesRequest::hours("SUC001", day, hms(12, 0, 0), hms(12, 30, 0))
                .validate()
                .is_ok()
        );
        assert!(
            SalesRequest::hours("SUC001", day, hms(12, 30, 0), hms(12, 0, 0))
                .validate()
                .is_err()
        );
        assert!(SalesRequest::days("SUC001", next, day).validate().is_err());
        let mut multi_day_hours = SalesRequest::days("SUC001", day, next);
        multi_day_hours.hora_desde = Some(hms(1, 0, 0));
        assert!(multi_day_hours.validate().is_err());
    }

    #[test]
    fn window_is_half_open_except_at_the_end_of_the_day() {
        let day = NaiveDate::from_ymd_opt(2025, 11, 17).unwrap();
        let half_hour = SalesRequest::hours("SUC001", day, hms(12, 0, 0), hms(12, 30, 0));
        assert!(half_hour.contains(day, hms(12, 0, 0)));
        assert!(!half_hour.contains(day, hms(12, 30, 0)));
        let last = SalesRequest::hours("SUC001", day, hms(23, 30, 0), hms(23, 59, 59));
        let last_instant = NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap();
        assert!(last.contains(day, last_instant));
        assert!(!last.contains(day.succ_opt().unwrap(), hms(0, 0, 0)));
    }
}
