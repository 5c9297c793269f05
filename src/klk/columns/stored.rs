//! How a window's lines are kept column by column: one Arrow builder per column of
//! `ventas` (chosen by its [`SqlType`]), and how each field type of [`SalesLine`] is written
//! to and read back from its builder ([`Stored`]).
//!
//! [`SalesLine`]: crate::klk::SalesLine

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use duckdb::arrow::array::{
    Array, ArrayBuilder, ArrayRef, ArrowPrimitiveType, BooleanBuilder, Date32Builder,
    Float64Builder, Int32Array, Int64Builder, PrimitiveBuilder, StringBuilder,
    Time64MicrosecondArray, UInt64Builder,
};
use duckdb::arrow::datatypes::{DataType, TimeUnit};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::util::bit_util;

use crate::klk::ventas::SqlType;

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01 (Arrow's day 0).
const UNIX_EPOCH_FROM_CE: i32 = 719_163;

/// The Arrow type of a column of each [`SqlType`], as the loader hands it to DuckDB.
pub(super) fn arrow_type(ty: SqlType) -> DataType {
    match ty {
        SqlType::Text => DataType::Utf8,
        SqlType::Double => DataType::Float64,
        SqlType::Integer => DataType::Int32,
        SqlType::Date => DataType::Date32,
        SqlType::Time => DataType::Time64(TimeUnit::Microsecond),
        SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        SqlType::Boolean => DataType::Boolean,
    }
}

/// The column of one [`SqlType`] while lines are collected: an Arrow builder, plus what the
/// collection needs besides appending.
pub(super) trait ColumnBuilder: Default {
    /// Heap bytes held (capacity).
    fn heap_bytes(&self) -> usize;

    /// Bytes of variable-length data (text), which Arrow's `i32` offsets bound.
    fn data_bytes(&self) -> usize {
        0
    }

    /// Gives back the capacity beyond the values (the column is copied once).
    fn shrink_to_fit(&mut self);

    /// A copy of the values (Arrow's builders are not `Clone`).
    fn duplicate(&self) -> Self;

    /// The values as the Arrow array of the column's type.
    fn finish_array(self) -> Result<ArrayRef, ArrowError>;
}

/// `Double` and `Date` columns: Arrow's builders as they are (also inside the two below).
impl<T: ArrowPrimitiveType> ColumnBuilder for PrimitiveBuilder<T> {
    fn heap_bytes(&self) -> usize {
        self.capacity() * size_of::<T::Native>() + self.validity_capacity()
    }

    fn shrink_to_fit(&mut self) {
        let values = self.finish();
        *self = Self::with_capacity(values.len());
        self.append_array(&values);
    }

    fn duplicate(&self) -> Self {
        let mut copy = Self::with_capacity(self.len());
        copy.append_array(&self.finish_cloned());
        copy
    }

    fn finish_array(mut self) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(self.finish()))
    }
}

impl ColumnBuilder for StringBuilder {
    fn heap_bytes(&self) -> usize {
        self.offsets_capacity() * size_of::<i32>()
            + self.values_capacity()
            + self.validity_capacity()
    }

    fn data_bytes(&self) -> usize {
        self.values_slice().len()
    }

    fn shrink_to_fit(&mut self) {
        let texts = self.finish();
        *self = Self::with_capacity(texts.len(), texts.value_data().len());
        self.extend(&texts);
    }

    fn duplicate(&self) -> Self {
        let mut copy = Self::with_capacity(self.len(), self.values_slice().len());
        copy.extend(&self.finish_cloned());
        copy
    }

    fn finish_array(mut self) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(self.finish()))
    }
}

impl ColumnBuilder for BooleanBuilder {
    fn heap_bytes(&self) -> usize {
        // (Arrow does not tell the validity bitmap's capacity here: its length.)
        self.capacity().div_ceil(8) + self.validity_slice().map_or(0, <[u8]>::len)
    }

    fn shrink_to_fit(&mut self) {
        let values = self.finish();
        *self = Self::with_capacity(values.len());
        self.append_array(&values);
    }

    fn duplicate(&self) -> Self {
        let mut copy = Self::with_capacity(self.len());
        copy.append_array(&self.finish_cloned());
        copy
    }

    fn finish_array(mut self) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(self.finish()))
    }
}

/// `Integer`: kept as given (`i64`, as in [`SalesLine`]), an `Int32` array when loaded; a
/// value outside `i32` fails the load (the parser refuses one).
///
/// [`SalesLine`]: crate::klk::SalesLine
#[derive(Default)]
pub(super) struct IntegerColumn(Int64Builder);

impl IntegerColumn {
    pub(super) fn value(&self, row: usize) -> i64 {
        self.0.values_slice()[row]
    }

    pub(super) fn to_int32(&self) -> Result<Int32Array, ArrowError> {
        self.0
            .values_slice()
            .iter()
            .map(|&value| {
                i32::try_from(value).map_err(|_| {
                    ArrowError::InvalidArgumentError(format!("{value} is out of INTEGER's range"))
                })
            })
            .collect()
    }
}

impl ColumnBuilder for IntegerColumn {
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }

    fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }

    fn duplicate(&self) -> Self {
        IntegerColumn(self.0.duplicate())
    }

    fn finish_array(self) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(self.to_int32()?))
    }
}

/// `Time`: seconds from midnight in the high half, nanoseconds in the low half, so that a
/// line reads back exactly (leap seconds included); microseconds when loaded.
#[derive(Default)]
pub(super) struct TimeColumn(UInt64Builder);

impl TimeColumn {
    fn pack(time: NaiveTime) -> u64 {
        u64::from(time.num_seconds_from_midnight()) << 32 | u64::from(time.nanosecond())
    }

    pub(super) fn value(&self, row: usize) -> NaiveTime {
        let packed = self.0.values_slice()[row];
        NaiveTime::from_num_seconds_from_midnight_opt((packed >> 32) as u32, packed as u32)
            .unwrap_or_default()
    }

    /// Microseconds from midnight, truncated, as the row appender converted chrono times. A
    /// leap second (only possible through `fecha_hora_completa`) is kept inside its second,
    /// as its last microsecond, so that the TIME is never past 24:00:00.
    pub(super) fn micros(&self) -> impl Iterator<Item = i64> + '_ {
        self.0.values_slice().iter().map(|&packed| {
            let nanos = (packed as u32).min(999_999_999);
            (packed >> 32) as i64 * 1_000_000 + i64::from(nanos / 1_000)
        })
    }
}

impl ColumnBuilder for TimeColumn {
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }

    fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }

    fn duplicate(&self) -> Self {
        TimeColumn(self.0.duplicate())
    }

    fn finish_array(self) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(Time64MicrosecondArray::from_iter_values(
            self.micros(),
        )))
    }
}

/// Days from 1970-01-01 of the date in `row` of a `Date` column.
pub(super) fn date(column: &Date32Builder, row: usize) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(column.values_slice()[row] + UNIX_EPOCH_FROM_CE)
        .unwrap_or_default()
}

/// The text in `row` of a `Text` column (`None` when null).
pub(super) fn text(column: &StringBuilder, row: usize) -> Option<&str> {
    if !is_valid(column.validity_slice(), row) {
        return None;
    }
    let offsets = column.offsets_slice();
    let bytes = &column.values_slice()[offsets[row] as usize..offsets[row + 1] as usize];
    // Appended from whole `&str`s.
    Some(std::str::from_utf8(bytes).unwrap_or_default())
}

/// Whether `row` is valid, given a builder's validity bitmap (`None`: no null so far).
fn is_valid(validity: Option<&[u8]>, row: usize) -> bool {
    validity.is_none_or(|bits| bit_util::get_bit(bits, row))
}

/// A field type of [`SalesLine`] and the column builder that keeps it. The field's type
/// says its nullability (`Option` or not); `ventas_columns!` checks it against the list at
/// compile time.
///
/// [`SalesLine`]: crate::klk::SalesLine
pub(super) trait Stored: Sized {
    type Builder: ColumnBuilder;
    const NULLABLE: bool;

    fn append_to(&self, column: &mut Self::Builder);

    fn read(column: &Self::Builder, row: usize) -> Self;
}

impl Stored for String {
    type Builder = StringBuilder;
    const NULLABLE: bool = false;

    fn append_to(&self, column: &mut StringBuilder) {
        column.append_value(self);
    }

    fn read(column: &StringBuilder, row: usize) -> String {
        text(column, row).unwrap_or_default().to_owned()
    }
}

impl Stored for Option<String> {
    type Builder = StringBuilder;
    const NULLABLE: bool = true;

    fn append_to(&self, column: &mut StringBuilder) {
        column.append_option(self.as_deref());
    }

    fn read(column: &StringBuilder, row: usize) -> Option<String> {
        text(column, row).map(str::to_owned)
    }
}

impl Stored for f64 {
    type Builder = Float64Builder;
    const NULLABLE: bool = false;

    fn append_to(&self, column: &mut Float64Builder) {
        column.append_value(*self);
    }

    fn read(column: &Float64Builder, row: usize) -> f64 {
        column.values_slice()[row]
    }
}

impl Stored for Option<f64> {
    type Builder = Float64Builder;
    const NULLABLE: bool = true;

    fn append_to(&self, column: &mut Float64Builder) {
        column.append_option(*self);
    }

    fn read(column: &Float64Builder, row: usize) -> Option<f64> {
        is_valid(column.validity_slice(), row).then(|| column.values_slice()[row])
    }
}

impl Stored for i64 {
    type Builder = IntegerColumn;
    const NULLABLE: bool = false;

    fn append_to(&self, column: &mut IntegerColumn) {
        column.0.append_value(*self);
    }

    fn read(column: &IntegerColumn, row: usize) -> i64 {
        column.value(row)
    }
}

impl Stored for NaiveDate {
    type Builder = Date32Builder;
    const NULLABLE: bool = false;

    fn append_to(&self, column: &mut Date32Builder) {
        column.append_value(self.num_days_from_ce() - UNIX_EPOCH_FROM_CE);
    }

    fn read(column: &Date32Builder, row: usize) -> NaiveDate {
        date(column, row)
    }
}

impl Stored for NaiveTime {
    type Builder = TimeColumn;
    const NULLABLE: bool = false;

    fn append_to(&self, column: &mut TimeColumn) {
        column.0.append_value(TimeColumn::pack(*self));
    }

    fn read(column: &TimeColumn, row: usize) -> NaiveTime {
        column.value(row)
    }
}

impl Stored for Option<bool> {
    type Builder = BooleanBuilder;
    const NULLABLE: bool = true;

    fn append_to(&self, column: &mut BooleanBuilder) {
        column.append_option(*self);
    }

    fn read(column: &BooleanBuilder, row: usize) -> Option<bool> {
        is_valid(column.validity_slice(), row)
            .then(|| bit_util::get_bit(column.values_slice(), row))
    }
}

/// Whether the `SalesLine` field that `field` reads is nullable (for the compile-time check
/// of the list).
pub(super) const fn is_nullable<L, T: Stored>(_field: fn(&L) -> &T) -> bool {
    T::NULLABLE
}
