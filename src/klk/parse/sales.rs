use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use serde::de::{DeserializeSeed, SeqAccess};
use serde_json::Value;

use super::envelope::ElementSink;
use super::fields::{self, Object, Source};
use super::typed::{LineSeed, PartView, TypedLine};
use crate::klk::columns::SalesLines;
use crate::klk::error::LineError;
use crate::klk::model::SalesLine;

/// A sales line object, with its single-element arrays (`producto`, ...) as objects.
pub(crate) trait LineSource: Source {
    type Part<'a>: Source
    where
        Self: 'a;
    fn single_object(&self, key: &str) -> Result<Self::Part<'_>, String>;
}

impl LineSource for Object {
    type Part<'a> = &'a Object;

    fn single_object(&self, key: &str) -> Result<&Object, String> {
        fields::single_object(self, key)
    }
}

impl Source for TypedLine {
    fn field(&self, key: &str) -> Option<fields::FieldRef<'_>> {
        self.part(super::typed::Part::Line).get(key)
    }
}

impl LineSource for TypedLine {
    type Part<'a> = PartView<'a>;

    fn single_object(&self, key: &str) -> Result<PartView<'_>, String> {
        self.single(key)
    }
}

/// Converts one element of `ventas` to a [`SalesLine`], or says why it cannot be loaded.
pub fn sales_line_from_value(element: &Value) -> Result<SalesLine, LineError> {
    let rejection = |identity: Option<String>, reason: String| LineError {
        index: 0,
        identity,
        reason,
    };
    let Value::Object(line) = element else {
        return Err(rejection(
            None,
            "a sales line should be a JSON object".to_owned(),
        ));
    };
    sales_line_from_object(line).map_err(|reason| rejection(describe_identity(line), reason))
}

/// The same conversion for a line read straight from the stream.
pub(crate) fn sales_line_from_typed(line: &TypedLine) -> Result<SalesLine, LineError> {
    let mut out = SalesLine::default();
    fill_sales_line_from_typed(line, &mut out)?;
    Ok(out)
}

/// [`sales_line_from_typed`] into `out`, reusing its strings' room.
pub(crate) fn fill_sales_line_from_typed(
    line: &TypedLine,
    out: &mut SalesLine,
) -> Result<(), LineError> {
    let rejection = |identity: Option<String>, reason: String| LineError {
        index: 0,
        identity,
        reason,
    };
    if !line.is_object {
        return Err(rejection(
            None,
            "a sales line should be a JSON object".to_owned(),
        ));
    }
    fill_sales_line(line, out).map_err(|reason| rejection(describe_identity(line), reason))
}

fn describe_identity(line: &impl Source) -> Option<String> {
    let factura = fields::opt_text(line, "numero_factura").ok().flatten();
    let linea = fields::opt_i64(line, "linea").ok().flatten();
    match (factura, linea) {
        (Some(factura), Some(linea)) => Some(format!("invoice {factura} line {linea}")),
        (Some(factura), None) => Some(format!("invoice {factura}")),
        (None, Some(linea)) => Some(format!("line {linea}")),
        (None, None) => None,
    }
}

fn sales_line_from_object<L: LineSource>(line: &L) -> Result<SalesLine, String> {
    let mut out = SalesLine::default();
    fill_sales_line(line, &mut out)?;
    Ok(out)
}

/// The conversion, into `out` (every field is written; its strings' room is reused). On an
/// error `out` holds part of the line and is only good for reuse.
fn fill_sales_line<L: LineSource>(line: &L, out: &mut SalesLine) -> Result<(), String> {
    // Bound field by field, with no `..`: a field added to SalesLine must be filled here.
    let SalesLine {
        numero_factura,
        linea,
        fecha,
        hora,
        fecha_hora,
        codigo_producto,
        descripcion_producto,
        marca_producto,
        modelo_producto,
        categoria_producto,
        grupo_articulo,
        subgrupo_producto,
        codigo_barras,
        codigo_almacen,
        nombre_almacen,
        cantidad_vendida,
        peso_unitario,
        unidad_medida_venta,
        factor_unidad_medida,
        costo_unitario_bs,
        costo_unitario_usd,
        precio_unitario_bs,
        precio_unitario_usd,
        impuesto_porcentaje,
        impuesto_monto,
        porcentaje_descuento,
        monto_descuento,
        venta_total_bs,
        venta_total_usd,
        costo_total_bs,
        costo_total_usd,
        utilidad_bruta_bs,
        utilidad_bruta_usd,
        total_factura,
        tasa_usd,
        es_no_fiscal,
        tiene_promocion,
        codigo_promocion,
    } = out;

    // Checked in this order, so that a line with several faults names the same one.
    let day = fields::date(line, "fecha")?;
    let time = match fields::opt_time(line, "hora")? {
        Some(time) => time,
        None => fields::opt_datetime(line, "fecha_hora_completa")?
            .map(|fecha_hora| fecha_hora.time())
            .ok_or("`hora` is missing")?,
    };
    let producto = line.single_object("producto")?;
    let cantidad = line.single_object("cantidad")?;
    let financiero = line.single_object("financiero")?;
    let in_producto = |reason: String| format!("producto: {reason}");
    let in_cantidad = |reason: String| format!("cantidad: {reason}");
    let in_financiero = |reason: String| format!("financiero: {reason}");
    let money = |key: &str| fields::opt_f64(&financiero, key).map_err(in_financiero);
    let producto_text = |key: &str, out: &mut Option<String>| {
        fields::opt_text_into(&producto, key, out).map_err(in_producto)
    };

    fields::text_into(line, "numero_factura", numero_factura)?;
    *linea = match fields::i64_field(line, "linea")? {
        // `ventas.linea` is an INTEGER: a larger number could never be loaded.
        value if i32::try_from(value).is_ok() => value,
        value => return Err(format!("`linea` is out of range: {value}")),
    };
    *fecha = day;
    *hora = time;
    *fecha_hora = day.and_time(time);

    fields::text_into(&producto, "codigo_producto", codigo_producto).map_err(in_producto)?;
    producto_text("descripcion_producto", descripcion_producto)?;
    producto_text("marca_producto", marca_producto)?;
    producto_text("modelo_producto", modelo_producto)?;
    producto_text("categoria_producto", categoria_producto)?;
    producto_text("grupo_articulo", grupo_articulo)?;
    producto_text("subgrupo_producto", subgrupo_producto)?;
    producto_text("codigo_barras", codigo_barras)?;

    fields::text_into(&cantidad, "codigo_almacen", codigo_almacen).map_err(in_cantidad)?;
    fields::opt_text_into(&cantidad, "nombre_almacen", nombre_almacen).map_err(in_cantidad)?;
    *cantidad_vendida = fields::f64_field(&cantidad, "cantidad_vendida").map_err(in_cantidad)?;
    *peso_unitario = fields::opt_f64(&cantidad, "peso_unitario").map_err(in_cantidad)?;
    fields::opt_text_into(&cantidad, "unidad_medida_venta", unidad_medida_venta)
        .map_err(in_cantidad)?;
    *factor_unidad_medida =
        fields::opt_f64(&cantidad, "factor_unidad_medida").map_err(in_cantidad)?;

    *costo_unitario_bs = money("costo_unitario_bs")?;
    *costo_unitario_usd = money("costo_unitario_usd")?;
    *precio_unitario_bs = money("precio_unitario_bs")?;
    *precio_unitario_usd = money("precio_unitario_usd")?;
    *impuesto_porcentaje = money("impuesto_porcentaje")?;
    *impuesto_monto = money("impuesto_monto")?;
    *porcentaje_descuento = money("porcentaje_descuento")?;
    *monto_descuento = money("monto_descuento")?;
    *venta_total_bs = fields::f64_field(&financiero, "venta_total_bs").map_err(in_financiero)?;
    *venta_total_usd = fields::f64_field(&financiero, "venta_total_usd").map_err(in_financiero)?;
    *costo_total_bs = money("costo_total_bs")?;
    *costo_total_usd = money("costo_total_usd")?;
    *utilidad_bruta_bs = money("utilidad_bruta_bs")?;
    *utilidad_bruta_usd = money("utilidad_bruta_usd")?;

    *total_factura = fields::opt_f64(line, "total_factura")?;
    *tasa_usd = fields::opt_f64(line, "tasa_usd")?;
    *es_no_fiscal = fields::opt_bool(line, "es_no_fiscal")?;
    fields::opt_text_into(line, "tiene_promocion", tiene_promocion)?;
    fields::opt_text_into(line, "codigo_promocion", codigo_promocion)?;
    Ok(())
}

/// Collects lines unique on (`numero_factura`, `linea`): a later copy replaces the earlier
/// one in place and is counted; a copy that differs is also counted as a conflict.
#[derive(Default)]
pub(crate) struct SalesCollector {
    pub lines: SalesLines,
    pub duplicates_removed: usize,
    pub conflicting_duplicates: usize,
    keys: KeyIndex,
    /// Reused for every element read from the stream.
    scratch: TypedLine,
}

impl SalesCollector {
    /// Reads one element of the list from `deserializer` into the scratch line.
    pub(crate) fn read_scratch<'de, D: serde::Deserializer<'de>>(
        &mut self,
        deserializer: D,
    ) -> Result<(), D::Error> {
        LineSeed {
            line: &mut self.scratch,
        }
        .deserialize(deserializer)
    }

    /// Converts and collects the scratch line, element `index` of the list.
    pub(crate) fn take_scratch(&mut self, index: usize) -> Result<(), LineError> {
        match sales_line_from_typed(&self.scratch) {
            Ok(line) => {
                self.collect(&line);
                Ok(())
            }
            Err(error) => Err(LineError { index, ..error }),
        }
    }

    pub(crate) fn collect(&mut self, line: &SalesLine) {
        match self.keys.find_or_insert(&self.lines, line) {
            Some(first) => {
                self.duplicates_removed += 1;
                if self.lines.row(self.lines.latest_row(first)) != *line {
                    self.conflicting_duplicates += 1;
                }
                self.lines.replace(first, line);
            }
            None => {
                self.lines.push(line);
            }
        }
    }
}

impl ElementSink for SalesCollector {
    fn accept(&mut self, index: usize, element: Value) -> Result<(), LineError> {
        let line = sales_line_from_value(&element).map_err(|error| LineError { index, ..error })?;
        self.collect(&line);
        Ok(())
    }

    fn read_next<'de, A: SeqAccess<'de>>(
        &mut self,
        seq: &mut A,
        index: usize,
    ) -> Result<Option<Result<(), LineError>>, A::Error> {
        let seed = LineSeed {
            line: &mut self.scratch,
        };
        if seq.next_element_seed(seed)?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.take_scratch(index)))
    }
}

/// Rows of the lines' first copies by (`numero_factura`, `linea`), without copying the
/// invoice numbers: a hash of the key points to the row, whose key is then compared. Keys whose
/// hash is already taken by another key (a 64-bit collision) go to `collided`.
#[derive(Default)]
struct KeyIndex {
    hasher: RandomState,
    by_hash: HashMap<u64, usize>,
    collided: HashMap<(String, i64), usize>,
}

impl KeyIndex {
    /// The row of the first copy of `line`'s key, or `None` after recording that it will be
    /// pushed at the end of `lines`.
    fn find_or_insert(&mut self, lines: &SalesLines, line: &SalesLine) -> Option<usize> {
        let hash = self
            .hasher
            .hash_one((line.numero_factura.as_str(), line.linea));
        let same_key = |row: usize| lines.key_at(row) == (line.numero_factura.as_str(), line.linea);
        let next_row = lines.rows();
        match self.by_hash.get(&hash) {
            None => {
                self.by_hash.insert(hash, next_row);
                None
            }
            Some(&position) if same_key(position) => Some(position),
            Some(_) => {
                let key = (line.numero_factura.clone(), line.linea);
                match self.collided.get(&key) {
                    Some(&position) => Some(position),
                    None => {
                        self.collided.insert(key, next_row);
                        None
                    }
                }
            }
        }
    }
}
