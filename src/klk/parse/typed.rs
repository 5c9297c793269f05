//! One sales line read straight from the stream into fixed slots, without building a
//! `serde_json::Value` tree: keys are matched without allocating, and only the values of the
//! keys a line uses are kept. Whatever the JSON holds is still represented (a number where
//! text is expected, an array where an object is expected, `null`, duplicate keys: the last
//! one wins), so that the conversion in [`super::sales`] sees exactly what it would see in a
//! `Value` and gives the same line or the same rejection.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::fields::{FieldRef, Source, describe};

/// A JSON value as kept in a slot: scalars as they are, arrays and objects as `Value`s (only
/// ever used to describe them in a rejection).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Scalar {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    Str(Text),
    Compound(Value),
}

impl Scalar {
    fn as_field(&self) -> FieldRef<'_> {
        match self {
            Scalar::Null => FieldRef::Null,
            Scalar::Bool(flag) => FieldRef::Bool(*flag),
            Scalar::Number(number) => FieldRef::Number(number),
            Scalar::Str(text) => FieldRef::Str(text.as_str()),
            Scalar::Compound(value) => FieldRef::Compound(value),
        }
    }
}

/// A string kept inline up to 30 bytes (most KLK values: dates, times, codes, names).
#[derive(Clone, PartialEq)]
pub(crate) struct Text(Repr);

/// Private, so that an `Inline` is only ever built by [`Text::new`] (see [`Text::as_str`]).
#[derive(Clone, PartialEq)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(String),
}

const INLINE: usize = 30;

impl Text {
    pub(super) fn new(text: &str) -> Text {
        if text.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Text(Repr::Inline {
                len: text.len() as u8,
                bytes,
            })
        } else {
            Text(Repr::Heap(text.to_owned()))
        }
    }

    fn from_string(text: String) -> Text {
        if text.len() <= INLINE {
            Text::new(&text)
        } else {
            Text(Repr::Heap(text))
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let bytes = &bytes[..usize::from(*len)];
                // SAFETY: an `Inline` is only built by `Text::new`, from a whole `&str`, and
                // cut here at that string's length: the bytes are that string, valid UTF-8.
                // (Validating them again on every read cost about 4 % of the parse.)
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            Repr::Heap(text) => text,
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Deserializes any JSON value into a [`Scalar`], as `serde_json::Value` would read it.
struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Scalar, E> {
        Ok(Scalar::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Scalar, E> {
        Ok(Scalar::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Scalar, E> {
        // As `Value`: a float that is not finite becomes null.
        Ok(Number::from_f64(value).map_or(Scalar::Null, Scalar::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(Text::new(value)))
    }

    fn visit_string<E>(self, value: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(Text::from_string(value)))
    }

    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        array_value(seq).map(Scalar::Compound)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        object_value(map).map(Scalar::Compound)
    }
}

fn array_value<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Value, A::Error> {
    let mut elements = Vec::new();
    while let Some(element) = seq.next_element::<Value>()? {
        elements.push(element);
    }
    Ok(Value::Array(elements))
}

fn object_value<'de, A: MapAccess<'de>>(mut map: A) -> Result<Value, A::Error> {
    let mut object = Map::new();
    while let Some((key, value)) = map.next_entry::<String, Value>()? {
        object.insert(key, value);
    }
    Ok(Value::Object(object))
}

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

// ---------------------------------------------------------------------------------------
// Keys

/// The objects of a sales line: the line itself and its three single-element arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Line = 0,
    Producto = 1,
    Cantidad = 2,
    Financiero = 3,
}

const LINE_KEYS: [&str; 10] = [
    "numero_factura",
    "linea",
    "fecha",
    "hora",
    "fecha_hora_completa",
    "total_factura",
    "tasa_usd",
    "es_no_fiscal",
    "tiene_promocion",
    "codigo_promocion",
];
const PRODUCTO_KEYS: [&str; 8] = [
    "codigo_producto",
    "descripcion_producto",
    "marca_producto",
    "modelo_producto",
    "categoria_producto",
    "grupo_articulo",
    "subgrupo_producto",
    "codigo_barras",
];
const CANTIDAD_KEYS: [&str; 6] = [
    "codigo_almacen",
    "nombre_almacen",
    "cantidad_vendida",
    "peso_unitario",
    "unidad_medida_venta",
    "factor_unidad_medida",
];
const FINANCIERO_KEYS: [&str; 14] = [
    "costo_unitario_bs",
    "costo_unitario_usd",
    "precio_unitario_bs",
    "precio_unitario_usd",
    "impuesto_porcentaje",
    "impuesto_monto",
    "porcentaje_descuento",
    "monto_descuento",
    "venta_total_bs",
    "venta_total_usd",
    "costo_total_bs",
    "costo_total_usd",
    "utilidad_bruta_bs",
    "utilidad_bruta_usd",
];
const SLOTS: usize =
    LINE_KEYS.len() + PRODUCTO_KEYS.len() + CANTIDAD_KEYS.len() + FINANCIERO_KEYS.len();

impl Part {
    pub(super) fn keys(self) -> &'static [&'static str] {
        match self {
            Part::Line => &LINE_KEYS,
            Part::Producto => &PRODUCTO_KEYS,
            Part::Cantidad => &CANTIDAD_KEYS,
            Part::Financiero => &FINANCIERO_KEYS,
        }
    }

    pub(super) fn first_slot(self) -> usize {
        match self {
            Part::Line => 0,
            Part::Producto => LINE_KEYS.len(),
            Part::Cantidad => LINE_KEYS.len() + PRODUCTO_KEYS.len(),
            Part::Financiero => LINE_KEYS.len() + PRODUCTO_KEYS.len() + CANTIDAD_KEYS.len(),
        }
    }

    pub(super) fn slot(self, key: &str) -> Option<usize> {
        let index = match self {
            Part::Line => line_key(key),
            Part::Producto => producto_key(key),
            Part::Cantidad => cantidad_key(key),
            Part::Financiero => financiero_key(key),
        }?;
        debug_assert_eq!(self.keys()[index], key);
        Some(self.first_slot() + index)
    }

    pub(super) fn nested(key: &str) -> Option<Part> {
        match key {
            "producto" => Some(Part::Producto),
            "cantidad" => Some(Part::Cantidad),
            "financiero" => Some(Part::Financiero),
            _ => None,
        }
    }
}

// Matches on string literals compile to a switch on the length, then one comparison.
fn line_key(key: &str) -> Option<usize> {
    Some(match key {
        "numero_factura" => 0,
        "linea" => 1,
        "fecha" => 2,
        "hora" => 3,
        "fecha_hora_completa" => 4,
        "total_factura" => 5,
        "tasa_usd" => 6,
        "es_no_fiscal" => 7,
        "tiene_promocion" => 8,
        "codigo_promocion" => 9,
        _ => return None,
    })
}

fn producto_key(key: &str) -> Option<usize> {
    Some(match key {
        "codigo_producto" => 0,
        "descripcion_producto" => 1,
        "marca_producto" => 2,
        "modelo_producto" => 3,
        "categoria_producto" => 4,
        "grupo_articulo" => 5,
        "subgrupo_producto" => 6,
        "codigo_barras" => 7,
        _ => return None,
    })
}

fn cantidad_key(key: &str) -> Option<usize> {
    Some(match key {
        "codigo_almacen" => 0,
        "nombre_almacen" => 1,
        "cantidad_vendida" => 2,
        "peso_unitario" => 3,
        "unidad_medida_venta" => 4,
        "factor_unidad_medida" => 5,
        _ => return None,
    })
}

fn financiero_key(key: &str) -> Option<usize> {
    Some(match key {
        "costo_unitario_bs" => 0,
        "costo_unitario_usd" => 1,
        "precio_unitario_bs" => 2,
        "precio_unitario_usd" => 3,
        "impuesto_porcentaje" => 4,
        "impuesto_monto" => 5,
        "porcentaje_descuento" => 6,
        "monto_descuento" => 7,
        "venta_total_bs" => 8,
        "venta_total_usd" => 9,
        "costo_total_bs" => 10,
        "costo_total_usd" => 11,
        "utilidad_bruta_bs" => 12,
        "utilidad_bruta_usd" => 13,
        _ => return None,
    })
}

/// What a nested key (`producto`, `cantidad`, `financiero`) of the line held.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Nested {
    /// Missing or `null`.
    #[default]
    Missing,
    /// An array of exactly one object, or a bare object: its keys are in the part's slots.
    Single,
    /// An array of one element that is not an object.
    SingleNotObject(Value),
    /// An array of another length.
    Count(usize),
    /// Neither an array nor an object.
    NotArray(Value),
}

/// One element of the sales list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TypedLine {
    /// False when the element is not a JSON object.
    pub is_object: bool,
    pub(super) slots: [Option<Scalar>; SLOTS],
    pub(super) nested: [Nested; 3],
}

impl Default for TypedLine {
    fn default() -> Self {
        TypedLine {
            is_object: false,
            slots: std::array::from_fn(|_| None),
            nested: Default::default(),
        }
    }
}

impl TypedLine {
    /// Empty, as before reading an element.
    pub(super) fn reset(&mut self) {
        self.is_object = false;
        self.slots.iter_mut().for_each(|slot| *slot = None);
        self.nested = Default::default();
    }

    fn clear_part(&mut self, part: Part) {
        let first = part.first_slot();
        for slot in &mut self.slots[first..first + part.keys().len()] {
            *slot = None;
        }
    }

    /// A view of one of the line's objects.
    pub fn part(&self, part: Part) -> PartView<'_> {
        PartView { line: self, part }
    }

    /// The object of a nested key, or why it cannot be read (as `fields::single_object`).
    pub fn single(&self, key: &str) -> Result<PartView<'_>, String> {
        let part = Part::nested(key).ok_or_else(|| format!("`{key}` is missing"))?;
        match &self.nested[part as usize - 1] {
            Nested::Missing => Err(format!("`{key}` is missing")),
            Nested::Single => Ok(self.part(part)),
            Nested::SingleNotObject(other) => Err(format!(
                "`{key}[0]` should be an object, found {}",
                describe(FieldRef::of(other))
            )),
            Nested::Count(count) => Err(format!(
                "`{key}` should hold exactly one element, found {count}"
            )),
            Nested::NotArray(other) => Err(format!(
                "`{key}` should be an array, found {}",
                describe(FieldRef::of(other))
            )),
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct PartView<'a> {
    line: &'a TypedLine,
    part: Part,
}

impl<'a> PartView<'a> {
    pub fn get(self, key: &str) -> Option<FieldRef<'a>> {
        let slot = self.part.slot(key)?;
        self.line.slots[slot].as_ref().map(Scalar::as_field)
    }
}

impl Source for PartView<'_> {
    fn field(&self, key: &str) -> Option<FieldRef<'_>> {
        self.get(key)
    }
}

// ---------------------------------------------------------------------------------------
// Deserialization

/// Reads one element of the list into `line` (cleared first).
pub(crate) struct LineSeed<'a> {
    pub line: &'a mut TypedLine,
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let line = self.line;
        line.reset();
        deserializer.deserialize_any(ElementVisitor { line })
    }
}

struct ElementVisitor<'a> {
    line: &'a mut TypedLine,
}

impl<'de> Visitor<'de> for ElementVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sales line")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.line.is_object = true;
        read_object(map, self.line, Part::Line)
    }

    // Anything else is read whole (as `Value` would, so syntax errors are the same) and
    // then rejected by the conversion.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        array_value(seq).map(drop)
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A key of the object being read: its slot, a nested part, or unknown.
enum KeyKind {
    Slot(usize),
    Nested(Part),
    Unknown,
}

struct KeySeed {
    part: Part,
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = KeyKind;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<KeyKind, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = KeyKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, key: &str) -> Result<KeyKind, E> {
        if let Some(slot) = self.part.slot(key) {
            return Ok(KeyKind::Slot(slot));
        }
        if self.part == Part::Line
            && let Some(nested) = Part::nested(key)
        {
            return Ok(KeyKind::Nested(nested));
        }
        Ok(KeyKind::Unknown)
    }
}

fn read_object<'de, A: MapAccess<'de>>(
    mut map: A,
    line: &mut TypedLine,
    part: Part,
) -> Result<(), A::Error> {
    while let Some(key) = map.next_key_seed(KeySeed { part })? {
        match key {
            KeyKind::Slot(slot) => line.slots[slot] = Some(map.next_value::<Scalar>()?),
            KeyKind::Nested(nested) => {
                // A repeated key replaces what the earlier one held.
                line.clear_part(nested);
                let held = map.next_value_seed(NestedSeed { line, part: nested })?;
                line.nested[nested as usize - 1] = held;
            }
            // Read whole, as `Value` would (same syntax errors), then dropped.
            KeyKind::Unknown => drop(map.next_value::<Value>()?),
        }
    }
    Ok(())
}

struct NestedSeed<'a> {
    line: &'a mut TypedLine,
    part: Part,
}

impl<'de> DeserializeSeed<'de> for NestedSeed<'_> {
    type Value = Nested;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Nested, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NestedSeed<'_> {
    type Value = Nested;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of one object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Nested, A::Error> {
        let first = seq.next_element_seed(FirstElementSeed {
            line: &mut *self.line,
            part: self.part,
        })?;
        let Some(first) = first else {
            return Ok(Nested::Count(0));
        };
        let mut count = 1;
        while seq.next_element::<IgnoredValue>()?.is_some() {
            count += 1;
        }
        Ok(match (count, first) {
            (1, None) => Nested::Single,
            (1, Some(other)) => Nested::SingleNotObject(other),
            (count, _) => Nested::Count(count),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Nested, A::Error> {
        read_object(map, self.line, self.part)?;
        Ok(Nested::Single)
    }

    fn visit_unit<E>(self) -> Result<Nested, E> {
        Ok(Nested::Missing)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Nested, E> {
        Ok(Nested::NotArray(Value::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Nested, E> {
        Ok(Nested::NotArray(Value::Number(value.into())))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Nested, E> {
        Ok(Nested::NotArray(Value::Number(value.into())))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Nested, E> {
        Ok(Number::from_f64(value).map_or(Nested::Missing, |number| {
            Nested::NotArray(Value::Number(number))
        }))
    }

    fn visit_str<E>(self, value: &str) -> Result<Nested, E> {
        Ok(Nested::NotArray(Value::String(value.to_owned())))
    }
}

/// The first element of a nested array: an object goes into the part's slots (`None`),
/// anything else is kept to be described.
struct FirstElementSeed<'a> {
    line: &'a mut TypedLine,
    part: Part,
}

impl<'de> DeserializeSeed<'de> for FirstElementSeed<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Value>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstElementSeed<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        read_object(map, self.line, self.part)?;
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<Value>, A::Error> {
        array_value(seq).map(Some)
    }

    fn visit_unit<E>(self) -> Result<Option<Value>, E> {
        Ok(Some(Value::Null))
    }

    fn visit_bool<E>(self, value: bool) -> Result<Option<Value>, E> {
        Ok(Some(Value::Bool(value)))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Option<Value>, E> {
        Ok(Some(Value::Number(value.into())))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Option<Value>, E> {
        Ok(Some(Value::Number(value.into())))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Option<Value>, E> {
        Ok(Some(
            Number::from_f64(value).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, value: &str) -> Result<Option<Value>, E> {
        Ok(Some(Value::String(value.to_owned())))
    }
}

/// Further elements of a nested array: only counted, but read as `Value` would read them
/// (`IgnoredAny` skips some of the checks `Value` makes, such as UTF-8 in strings).
struct IgnoredValue;

impl<'de> serde::Deserialize<'de> for IgnoredValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<IgnoredValue, D::Error> {
        Value::deserialize(deserializer).map(|_| IgnoredValue)
    }
}

#[cfg(test)]
mod tests {
    use super::Part;

    #[test]
    fn every_key_has_its_own_slot_in_its_part_only() {
        let parts = [Part::Line, Part::Producto, Part::Cantidad, Part::Financiero];
        let mut seen = std::collections::HashSet::new();
        for part in parts {
            for key in part.keys() {
                let slot = part.slot(key).unwrap();
                assert!(seen.insert(slot), "{key}");
                for other in parts.iter().filter(|other| **other != part) {
                    assert_eq!(other.slot(key), None, "{key} in {other:?}");
                }
            }
        }
        assert_eq!(seen.len(), super::SLOTS);
    }
}
