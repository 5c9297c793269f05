//! [`SalesLines`]: a window's sales lines kept column by column, in chunks of at most
//! [`CHUNK_ROWS`] rows, in Arrow builders (one per column of `ventas`, generated from the
//! list in [`crate::klk::ventas`]), so that a chunk becomes an Arrow `RecordBatch` without
//! copying and is appended to DuckDB column by column.
//!
//! About 400 bytes per line (plus the text itself) instead of about 1 KB for a
//! `Vec<SalesLine>`. Lines are deduplicated on (`numero_factura`, `linea`) as they are
//! collected ([`crate::klk::parse`]): a later copy is appended and replaces the earlier one
//! (which stays in its chunk, marked dead), so the collection reads as "unique lines in the
//! order of their first appearance, each with its last copy's values".

mod stored;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, LazyLock};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use duckdb::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int32Array, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};
use duckdb::arrow::datatypes::{Field, Schema, SchemaRef};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use serde::Serialize;

use self::stored::{ColumnBuilder, IntegerColumn, Stored, TimeColumn, arrow_type, is_nullable};
use crate::klk::model::SalesLine;
use crate::klk::ventas::{VENTAS, ventas_columns};

/// Rows per chunk. DuckDB 2.0 loses the rows of a single appender flush of a whole row group
/// (122,880 rows) or more into a table created in the same transaction; the loader flushes
/// once per chunk, so a chunk stays well below that.
pub const CHUNK_ROWS: usize = 24 * 2048;

/// Text bytes per chunk before a new chunk is started (Arrow's `i32` offsets).
const CHUNK_TEXT_BYTES: usize = 1 << 30;

// ---------------------------------------------------------------------------------------
// A chunk: the list of columns made into code

/// Generates `Chunk` from the list of `ventas_columns!`: a builder for each column whose
/// values come from the line (`line.<field>`), and for the whole list, the binding to
/// [`SalesLine`] both ways and the Arrow batch in the columns of `ventas`. It also checks,
/// at compile time, that each such column is nullable exactly when its `SalesLine` field is
/// an `Option` (the field's type must also match the column's type, or `push` does not
/// compile).
macro_rules! chunk {
    ($(
        $column:ident: $ty:ident, $nulls:ident, $key:tt, $since:literal,
        $source:ident $(. $field:ident)? $(+ $time:ident)?
    );+ $(;)?) => {
        chunk!(@struct [] $($column: $ty, $source $(. $field)? $(+ $time)?;)+);

        const _: () = {
            $( chunk!(@check $column $nulls, $source $(. $field)? $(+ $time)?); )+
        };

        impl Chunk {
            fn push(&mut self, line: &SalesLine) {
                $( chunk!(@push self, line, $column, $source $(. $field)? $(+ $time)?); )+
                self.len += 1;
            }

            /// The line in `row`.
            fn line(&self, row: usize) -> SalesLine {
                let mut line = SalesLine::default();
                $( chunk!(@read self, line, row, $column, $source $(. $field)? $(+ $time)?); )+
                line
            }

            /// Heap bytes held (capacity).
            fn heap_bytes(&self) -> usize {
                0 $( + chunk!(@heap_bytes self, $column, $source $(. $field)? $(+ $time)?) )+
            }

            /// Text bytes held.
            fn text_bytes(&self) -> usize {
                0 $( + chunk!(@data_bytes self, $column, $source $(. $field)? $(+ $time)?) )+
            }

            fn shrink_to_fit(&mut self) {
                $( chunk!(@shrink self, $column, $source $(. $field)? $(+ $time)?); )+
            }

            /// Every row as a batch in the columns of `ventas` (see [`SCHEMA`]).
            fn into_batch(
                self,
                store: &str,
                execution: i32,
                loaded_at: i64,
            ) -> Result<RecordBatch, ArrowError> {
                let rows = self.len;
                $( chunk!(@derive self, $column, $source $(. $field)? $(+ $time)?); )+
                let columns: Vec<ArrayRef> = vec![$(
                    chunk!(@array self, rows, store, execution, loaded_at,
                           $column, $source $(. $field)? $(+ $time)?),
                )+];
                RecordBatch::try_new(SCHEMA.clone(), columns)
            }
        }

        impl Clone for Chunk {
            fn clone(&self) -> Chunk {
                let mut copy = Chunk { len: self.len, ..Chunk::default() };
                $( chunk!(@clone copy, self, $column, $source $(. $field)? $(+ $time)?); )+
                copy
            }
        }
    };

    // The struct: a builder for each column of the line, in the list's order.
    (@struct [$($fields:tt)*]) => {
        /// Up to [`CHUNK_ROWS`] lines, column by column.
        #[derive(Default)]
        struct Chunk {
            len: usize,
            $($fields)*
        }
    };
    (@struct [$($fields:tt)*] $column:ident: $ty:ident, line . $field:ident; $($rest:tt)*) => {
        chunk!(@struct [$($fields)* $column: chunk!(@builder $ty),] $($rest)*);
    };
    (@struct [$($fields:tt)*] $column:ident: $ty:ident, $source:ident $(+ $time:ident)?; $($rest:tt)*) => {
        chunk!(@struct [$($fields)*] $($rest)*);
    };

    // The builder of each type (see stored.rs). A type without one cannot come from the line.
    (@builder Text) => { StringBuilder };
    (@builder Double) => { Float64Builder };
    (@builder Integer) => { IntegerColumn };
    (@builder Date) => { Date32Builder };
    (@builder Time) => { TimeColumn };
    (@builder Boolean) => { BooleanBuilder };

    (@nullable null) => { true };
    (@nullable not_null) => { false };

    (@check $column:ident $nulls:ident, line . $field:ident) => {
        assert!(
            is_nullable(|line: &SalesLine| &line.$field) == chunk!(@nullable $nulls),
            concat!(
                "ventas.", stringify!($column), " is declared ", stringify!($nulls),
                " but SalesLine::", stringify!($field), " says otherwise"
            ),
        );
    };
    (@check $column:ident $nulls:ident, $source:ident $(+ $time:ident)?) => {};

    (@push $chunk:ident, $line:ident, $column:ident, line . $field:ident) => {
        Stored::append_to(&$line.$field, &mut $chunk.$column);
    };
    (@push $chunk:ident, $line:ident, $column:ident, $source:ident $(+ $time:ident)?) => {};

    (@read $chunk:ident, $line:ident, $row:ident, $column:ident, line . $field:ident) => {
        $line.$field = Stored::read(&$chunk.$column, $row);
    };
    (@read $chunk:ident, $line:ident, $row:ident, $column:ident, $date:ident + $time:ident) => {
        $line.$column = stored::date(&$chunk.$date, $row).and_time($chunk.$time.value($row));
    };
    (@read $chunk:ident, $line:ident, $row:ident, $column:ident, $source:ident) => {};

    (@heap_bytes $chunk:ident, $column:ident, line . $field:ident) => {
        ColumnBuilder::heap_bytes(&$chunk.$column)
    };
    (@heap_bytes $chunk:ident, $column:ident, $source:ident $(+ $time:ident)?) => { 0 };

    (@data_bytes $chunk:ident, $column:ident, line . $field:ident) => {
        ColumnBuilder::data_bytes(&$chunk.$column)
    };
    (@data_bytes $chunk:ident, $column:ident, $source:ident $(+ $time:ident)?) => { 0 };

    (@shrink $chunk:ident, $column:ident, line . $field:ident) => {
        ColumnBuilder::shrink_to_fit(&mut $chunk.$column);
    };
    (@shrink $chunk:ident, $column:ident, $source:ident $(+ $time:ident)?) => {};

    (@clone $copy:ident, $chunk:ident, $column:ident, line . $field:ident) => {
        $copy.$column = ColumnBuilder::duplicate(&$chunk.$column);
    };
    (@clone $copy:ident, $chunk:ident, $column:ident, $source:ident $(+ $time:ident)?) => {};

    // A timestamp made of a date and a time column, computed before those are handed over.
    (@derive $chunk:ident, $column:ident, $date:ident + $time:ident) => {
        let $column = TimestampMicrosecondArray::from_iter_values(
            $chunk.$date.values_slice().iter().zip($chunk.$time.micros()).map(
                |(&days, micros)| i64::from(days) * 86_400_000_000 + micros,
            ),
        );
    };
    (@derive $chunk:ident, $column:ident, $source:ident $(. $field:ident)?) => {};

    (@array $chunk:ident, $rows:ident, $store:ident, $execution:ident, $loaded_at:ident,
     $column:ident, store) => {
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n($store, $rows)))
    };
    (@array $chunk:ident, $rows:ident, $store:ident, $execution:ident, $loaded_at:ident,
     $column:ident, line . $field:ident) => {
        ColumnBuilder::finish_array($chunk.$column)?
    };
    (@array $chunk:ident, $rows:ident, $store:ident, $execution:ident, $loaded_at:ident,
     $column:ident, $date:ident + $time:ident) => {
        Arc::new($column)
    };
    (@array $chunk:ident, $rows:ident, $store:ident, $execution:ident, $loaded_at:ident,
     $column:ident, execution) => {
        Arc::new(Int32Array::from(vec![$execution; $rows]))
    };
    (@array $chunk:ident, $rows:ident, $store:ident, $execution:ident, $loaded_at:ident,
     $column:ident, loaded_at) => {
        Arc::new(TimestampMicrosecondArray::from(vec![$loaded_at; $rows]))
    };
}

ventas_columns!(chunk);

/// The Arrow schema of a chunk's batch: the columns of `ventas`, in order.
static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let fields = VENTAS
        .columns
        .iter()
        .map(|column| Field::new(column.name, arrow_type(column.ty), column.nullable));
    Arc::new(Schema::new(fields.collect::<Vec<_>>()))
});

impl Chunk {
    fn is_full(&self) -> bool {
        self.len >= CHUNK_ROWS || self.text_bytes() >= CHUNK_TEXT_BYTES
    }

    fn key(&self, row: usize) -> (&str, i64) {
        (
            stored::text(&self.numero_factura, row).unwrap_or_default(),
            self.linea.value(row),
        )
    }

    fn fecha(&self, row: usize) -> NaiveDate {
        stored::date(&self.fecha, row)
    }

    fn hora(&self, row: usize) -> NaiveTime {
        self.hora.value(row)
    }

    fn venta_total_usd(&self, row: usize) -> f64 {
        Stored::read(&self.venta_total_usd, row)
    }

    fn codigo_almacen(&self, row: usize) -> &str {
        stored::text(&self.codigo_almacen, row).unwrap_or_default()
    }

    /// The keys of every row (`numero_factura` VARCHAR, `linea` INTEGER).
    fn keys_batch(&self) -> Result<RecordBatch, ArrowError> {
        RecordBatch::try_from_iter([
            (
                "numero_factura",
                Arc::new(self.numero_factura.finish_cloned()) as ArrayRef,
            ),
            ("linea", Arc::new(self.linea.to_int32()?)),
        ])
    }
}

/// Returns the allocator's free memory to the system. A window's columns are large blocks
/// freed chunk by chunk while DuckDB's copy of the window grows; glibc keeps such freed
/// blocks in its heap (its mmap threshold rises as large blocks are freed), so without this
/// the peak would be the lines plus DuckDB's copy instead of about the larger of the two.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

// ---------------------------------------------------------------------------------------
// The collection

/// A window's sales lines, unique on (`numero_factura`, `linea`), in the order of their
/// first appearance; see the module's documentation.
#[derive(Clone, Default)]
pub struct SalesLines {
    chunks: VecDeque<Chunk>,
    /// Rows in `chunks`, dead ones included.
    rows: usize,
    /// The first row of each chunk.
    starts: Vec<usize>,
    /// Row of a line's first copy to the row of its latest copy, for replaced lines.
    latest: HashMap<usize, usize>,
    /// Rows holding a later copy of a line (they have no position of their own).
    later: HashSet<usize>,
    /// Rows whose copy was replaced by a later one, or whose line was dropped (not loaded).
    dead: HashSet<usize>,
    /// First rows of lines dropped after parsing (see [`SalesLines::drop_where`]).
    dropped: HashSet<usize>,
}

impl SalesLines {
    pub fn new() -> SalesLines {
        SalesLines::default()
    }

    /// Lines (distinct keys).
    pub fn len(&self) -> usize {
        self.rows - self.later.len() - self.dropped.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows stored, replaced copies included (the row the next push gets).
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Appends a line whose key is not in the collection yet; returns its row.
    ///
    /// Nothing checks the key here: the parser's collector deduplicates.
    pub fn push(&mut self, line: &SalesLine) -> usize {
        if self.chunks.back().is_none_or(Chunk::is_full) {
            self.shrink_to_fit();
            self.chunks.push_back(Chunk::default());
            self.starts.push(self.rows);
        }
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.push(line);
        }
        self.rows += 1;
        self.rows - 1
    }

    /// Gives back the room the last chunk's columns grew into beyond its rows.
    pub fn shrink_to_fit(&mut self) {
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.shrink_to_fit();
        }
    }

    /// Replaces the line whose first copy is at `first` by `line` (a later copy of it).
    pub(crate) fn replace(&mut self, first: usize, line: &SalesLine) {
        let previous = self.latest_row(first);
        let row = self.push(line);
        self.dead.insert(previous);
        self.later.insert(row);
        self.latest.insert(first, row);
    }

    /// The row holding the current copy of the line first seen at `first`.
    pub(crate) fn latest_row(&self, first: usize) -> usize {
        self.latest.get(&first).copied().unwrap_or(first)
    }

    fn locate(&self, row: usize) -> (&Chunk, usize) {
        let index = self.starts.partition_point(|&start| start <= row) - 1;
        (&self.chunks[index], row - self.starts[index])
    }

    /// The key stored at `row`.
    pub(crate) fn key_at(&self, row: usize) -> (&str, i64) {
        let (chunk, index) = self.locate(row);
        chunk.key(index)
    }

    /// The line stored at `row`.
    pub(crate) fn row(&self, row: usize) -> SalesLine {
        let (chunk, index) = self.locate(row);
        chunk.line(index)
    }

    /// The rows of the lines in order: each line's latest copy at its first position.
    fn logical_rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.first_rows().map(|row| self.latest_row(row))
    }

    /// The row where each line was first seen, in order.
    fn first_rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows).filter(|row| !self.later.contains(row) && !self.dropped.contains(row))
    }

    /// Drops the lines for which `drop` says true, given (fecha, hora): they are no longer
    /// counted, listed or loaded. Returns how many.
    pub fn drop_where(&mut self, drop: impl Fn(NaiveDate, NaiveTime) -> bool) -> usize {
        let doomed: Vec<usize> = self
            .first_rows()
            .filter(|&first| {
                let (chunk, index) = self.locate(self.latest_row(first));
                drop(chunk.fecha(index), chunk.hora(index))
            })
            .collect();
        for &first in &doomed {
            let latest = self.latest_row(first);
            self.dead.insert(latest);
            self.dropped.insert(first);
        }
        doomed.len()
    }

    /// The lines, in order (each one built on the fly).
    pub fn iter(&self) -> impl Iterator<Item = SalesLine> + '_ {
        self.logical_rows().map(|row| self.row(row))
    }

    /// Line `index` (in order), built on the fly.
    pub fn get(&self, index: usize) -> Option<SalesLine> {
        if self.later.is_empty() && self.dropped.is_empty() {
            return (index < self.rows).then(|| self.row(index));
        }
        self.iter().nth(index)
    }

    pub fn to_vec(&self) -> Vec<SalesLine> {
        self.iter().collect()
    }

    /// Sum of `venta_total_usd`, in the lines' order.
    pub fn total_usd(&self) -> f64 {
        self.logical_rows()
            .map(|row| {
                let (chunk, index) = self.locate(row);
                chunk.venta_total_usd(index)
            })
            .sum()
    }

    /// Distinct invoice numbers.
    pub fn distinct_invoices(&self) -> usize {
        let mut invoices: Vec<&str> = self.logical_rows().map(|row| self.key_at(row).0).collect();
        invoices.sort_unstable();
        invoices.dedup();
        invoices.len()
    }

    /// Lines for which `outside` says true, given (fecha, hora, codigo_almacen).
    pub fn count_where(&self, outside: impl Fn(NaiveDate, NaiveTime, &str) -> bool) -> usize {
        self.logical_rows()
            .filter(|&row| {
                let (chunk, index) = self.locate(row);
                outside(
                    chunk.fecha(index),
                    chunk.hora(index),
                    chunk.codigo_almacen(index),
                )
            })
            .count()
    }

    /// Heap bytes held (capacity), for memory tests and benchmarks.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(Chunk::heap_bytes).sum::<usize>()
            + (self.latest.capacity()
                + self.later.capacity()
                + self.dead.capacity()
                + self.dropped.capacity())
                * 24
    }

    /// The keys of each chunk (see [`SalesChunk::keys_batch`]), without consuming it.
    pub fn key_batches(&self) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + '_ {
        self.chunks.iter().map(Chunk::keys_batch)
    }

    /// Hands the chunks over one at a time, each with its live rows (the latest copy of
    /// each line); a chunk's memory is freed when the caller drops it.
    pub fn into_chunks(self) -> impl Iterator<Item = SalesChunk> {
        let SalesLines { chunks, dead, .. } = self;
        let mut first_row = 0;
        chunks.into_iter().map(move |chunk| {
            let rows = first_row..first_row + chunk.len;
            first_row += chunk.len;
            let mut live = vec![true; chunk.len];
            let mut dead_rows = 0;
            for row in rows.clone() {
                if dead.contains(&row) {
                    live[row - rows.start] = false;
                    dead_rows += 1;
                }
            }
            SalesChunk {
                chunk,
                live: (dead_rows > 0).then_some(live),
            }
        })
    }
}

impl fmt::Debug for SalesLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for SalesLines {
    fn eq(&self, other: &SalesLines) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl PartialEq<Vec<SalesLine>> for SalesLines {
    fn eq(&self, other: &Vec<SalesLine>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().cloned())
    }
}

impl PartialEq<SalesLines> for Vec<SalesLine> {
    fn eq(&self, other: &SalesLines) -> bool {
        other == self
    }
}

/// Appends lines whose keys are not in the collection yet (nothing is deduplicated here).
impl Extend<SalesLine> for SalesLines {
    fn extend<I: IntoIterator<Item = SalesLine>>(&mut self, iter: I) {
        for line in iter {
            self.push(&line);
        }
    }
}

impl IntoIterator for SalesLines {
    type Item = SalesLine;
    type IntoIter = std::vec::IntoIter<SalesLine>;

    fn into_iter(self) -> Self::IntoIter {
        self.to_vec().into_iter()
    }
}

impl Serialize for SalesLines {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// Lines whose keys are unique (as the loader requires).
impl From<Vec<SalesLine>> for SalesLines {
    fn from(lines: Vec<SalesLine>) -> SalesLines {
        let mut collection = SalesLines::new();
        for line in &lines {
            collection.push(line);
        }
        collection
    }
}

impl FromIterator<SalesLine> for SalesLines {
    fn from_iter<I: IntoIterator<Item = SalesLine>>(iter: I) -> SalesLines {
        let mut collection = SalesLines::new();
        for line in iter {
            collection.push(&line);
        }
        collection
    }
}

// ---------------------------------------------------------------------------------------
// Loading

/// One chunk of [`SalesLines`], on its way to the database.
pub struct SalesChunk {
    chunk: Chunk,
    /// `None` when every row is live.
    live: Option<Vec<bool>>,
}

impl SalesChunk {
    /// Rows in the chunk, dead ones included.
    pub fn rows(&self) -> usize {
        self.chunk.len
    }

    /// Whether row `index` holds the latest copy of its line (it is to be loaded).
    pub fn is_live(&self, index: usize) -> bool {
        self.live.as_ref().is_none_or(|live| live[index])
    }

    pub fn key(&self, index: usize) -> (&str, i64) {
        self.chunk.key(index)
    }

    /// The keys of every row (`numero_factura` VARCHAR, `linea` INTEGER), dead rows included.
    pub fn keys_batch(&self) -> Result<RecordBatch, ArrowError> {
        self.chunk.keys_batch()
    }

    /// Every row (dead ones included) as a batch in the columns of `ventas`, with their
    /// names (the list in [`crate::klk::ventas`]).
    pub fn into_batch(
        self,
        ubicacion_id: &str,
        ejecucion_id: i32,
        loaded_at: NaiveDateTime,
    ) -> Result<RecordBatch, ArrowError> {
        self.chunk.into_batch(
            ubicacion_id,
            ejecucion_id,
            loaded_at.and_utc().timestamp_micros(),
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use chrono::{NaiveDate, NaiveTime, Timelike};

    use super::*;

    /// A line whose every field depends on `(seed, version)`, optional ones sometimes absent.
    pub(crate) fn varied_line(seed: usize, version: usize) -> SalesLine {
        let v = seed * 7 + version;
        let text = |salt: usize| (!v.is_multiple_of(salt + 2)).then(|| format!("t{salt}-{v}-ñ"));
        let number = |salt: usize| (v % (salt + 2) != 1).then(|| (v * salt) as f64 / 8.0);
        let fecha = NaiveDate::from_ymd_opt(2025, 11, 1 + (seed % 28) as u32).unwrap();
        let hora = NaiveTime::from_num_seconds_from_midnight_opt(
            (seed % 86_400) as u32,
            ((v * 1_000) % 1_000_000_000) as u32,
        )
        .unwrap();
        SalesLine {
            numero_factura: format!("C{:02}-{:08}", seed % 12, seed / 3),
            linea: (seed % 3) as i64 + 1,
            fecha,
            hora,
            fecha_hora: fecha.and_time(hora),
            codigo_producto: format!("{:06}", v % 5_000),
            descripcion_producto: text(1),
            marca_producto: text(2),
            modelo_producto: if v.is_multiple_of(11) {
                Some(String::new())
            } else {
                text(3)
            },
            categoria_producto: text(4),
            grupo_articulo: text(5),
            subgrupo_producto: text(6),
            codigo_barras: text(7),
            codigo_almacen: if v.is_multiple_of(2) {
                "APP-TPF"
            } else {
                "APP-TPF-DEP"
            }
            .to_owned(),
            nombre_almacen: text(8),
            cantidad_vendida: (v % 9) as f64 + 0.5,
            peso_unitario: number(1),
            unidad_medida_venta: text(9),
            factor_unidad_medida: number(2),
            costo_unitario_bs: number(3),
            costo_unitario_usd: number(4),
            precio_unitario_bs: number(5),
            precio_unitario_usd: number(6),
            impuesto_porcentaje: number(7),
            impuesto_monto: number(8),
            porcentaje_descuento: number(9),
            monto_descuento: number(10),
            venta_total_bs: v as f64 * 36.5,
            venta_total_usd: v as f64 / 4.0,
            costo_total_bs: number(11),
            costo_total_usd: number(12),
            utilidad_bruta_bs: number(13),
            utilidad_bruta_usd: number(14),
            total_factura: number(15),
            tasa_usd: number(16),
            es_no_fiscal: match v % 3 {
                0 => None,
                1 => Some(true),
                _ => Some(false),
            },
            tiene_promocion: text(10),
            codigo_promocion: text(11),
        }
    }

    #[test]
    fn lines_read_back_as_pushed_across_chunks_with_replacements() {
        let distinct = 2 * CHUNK_ROWS + 100;
        let mut lines = SalesLines::new();
        let mut reference: Vec<SalesLine> = Vec::new();
        let mut first_rows: HashMap<usize, usize> = HashMap::new();
        for seed in 0..distinct {
            first_rows.insert(seed, lines.push(&varied_line(seed, 0)));
            reference.push(varied_line(seed, 0));
        }
        // Later copies, some of them replaced again, from every chunk, landing in the last.
        for (round, seed) in (0..distinct)
            .step_by(997)
            .chain((0..distinct).step_by(1_994))
            .enumerate()
        {
            let line = varied_line(seed, round + 1);
            lines.replace(first_rows[&seed], &line);
            reference[seed] = line;
        }
        assert_eq!(lines.len(), distinct);
        assert!(lines == reference, "the lines differ from the reference");
        assert_eq!(
            lines.get(CHUNK_ROWS + 3),
            Some(reference[CHUNK_ROWS + 3].clone())
        );
        assert_eq!(lines.get(distinct), None);
        let usd: f64 = reference.iter().map(|l| l.venta_total_usd).sum();
        assert_eq!(lines.total_usd(), usd);

        // The chunks hand over each line's latest copy exactly once.
        let mut loaded = Vec::new();
        for chunk in lines.clone().into_chunks() {
            assert!(chunk.rows() <= CHUNK_ROWS);
            for row in 0..chunk.rows() {
                if chunk.is_live(row) {
                    loaded.push(chunk.chunk.line(row));
                }
            }
        }
        assert_eq!(loaded.len(), distinct);
        let key = |l: &SalesLine| (l.numero_factura.clone(), l.linea);
        loaded.sort_by_key(key);
        let mut expected = reference.clone();
        expected.sort_by_key(key);
        assert!(
            loaded == expected,
            "the live rows differ from the reference"
        );
    }

    #[test]
    fn a_chunk_becomes_a_record_batch_of_the_same_values() {
        use duckdb::arrow::array::{Array, AsArray};
        use duckdb::arrow::datatypes::{
            Date32Type, Float64Type, Int32Type, Time64MicrosecondType, TimestampMicrosecondType,
        };

        let reference: Vec<SalesLine> = (0..500).map(|seed| varied_line(seed, 1)).collect();
        let lines = SalesLines::from(reference.clone());
        let loaded_at = NaiveDate::from_ymd_opt(2025, 11, 17)
            .unwrap()
            .and_hms_opt(13, 0, 0)
            .unwrap();
        let chunk = lines.into_chunks().next().unwrap();
        let batch = chunk.into_batch("tienda_01", 7, loaded_at).unwrap();
        assert_eq!(batch.num_rows(), 500);
        assert_eq!(batch.num_columns(), 41);
        let text = |column: usize, row: usize| {
            let array = batch.column(column).as_string::<i32>();
            array.is_valid(row).then(|| array.value(row).to_owned())
        };
        let number = |column: usize, row: usize| {
            let array = batch.column(column).as_primitive::<Float64Type>();
            array.is_valid(row).then(|| array.value(row))
        };
        for (row, l) in reference.iter().enumerate() {
            let micros = |time: NaiveTime| {
                i64::from(time.num_seconds_from_midnight()) * 1_000_000
                    + i64::from(time.nanosecond() / 1_000)
            };
            assert_eq!(text(0, row).as_deref(), Some("tienda_01"));
            assert_eq!(text(1, row).as_ref(), Some(&l.numero_factura));
            assert_eq!(
                i64::from(batch.column(2).as_primitive::<Int32Type>().value(row)),
                l.linea
            );
            assert_eq!(
                batch.column(3).as_primitive::<Date32Type>().value(row),
                (l.fecha - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
            );
            assert_eq!(
                batch
                    .column(4)
                    .as_primitive::<Time64MicrosecondType>()
                    .value(row),
                micros(l.hora)
            );
            assert_eq!(
                batch
                    .column(5)
                    .as_primitive::<TimestampMicrosecondType>()
                    .value(row),
                l.fecha_hora.and_utc().timestamp_micros()
            );
            assert_eq!(text(6, row).as_ref(), Some(&l.codigo_almacen));
            assert_eq!(text(7, row), l.nombre_almacen);
            assert_eq!(text(8, row).as_ref(), Some(&l.codigo_producto));
            let texts = [
                &l.descripcion_producto,
                &l.marca_producto,
                &l.modelo_producto,
                &l.categoria_producto,
                &l.grupo_articulo,
                &l.subgrupo_producto,
                &l.codigo_barras,
            ];
            for (offset, expected) in texts.into_iter().enumerate() {
                assert_eq!(&text(9 + offset, row), expected, "column {}", 9 + offset);
            }
            assert_eq!(number(16, row), Some(l.cantidad_vendida));
            assert_eq!(number(17, row), l.peso_unitario);
            assert_eq!(text(18, row), l.unidad_medida_venta);
            let numbers = [
                l.factor_unidad_medida,
                l.costo_unitario_bs,
                l.costo_unitario_usd,
                l.precio_unitario_bs,
                l.precio_unitario_usd,
                l.impuesto_porcentaje,
                l.impuesto_monto,
                l.porcentaje_descuento,
                l.monto_descuento,
                Some(l.venta_total_bs),
                Some(l.venta_total_usd),
                l.costo_total_bs,
                l.costo_total_usd,
                l.utilidad_bruta_bs,
                l.utilidad_bruta_usd,
                l.total_factura,
                l.tasa_usd,
            ];
            for (offset, expected) in numbers.into_iter().enumerate() {
                assert_eq!(number(19 + offset, row), expected, "column {}", 19 + offset);
            }
            let fiscal = batch.column(36).as_boolean();
            assert_eq!(
                fiscal.is_valid(row).then(|| fiscal.value(row)),
                l.es_no_fiscal
            );
            assert_eq!(text(37, row), l.tiene_promocion);
            assert_eq!(text(38, row), l.codigo_promocion);
            assert_eq!(batch.column(39).as_primitive::<Int32Type>().value(row), 7);
            assert_eq!(
                batch
                    .column(40)
                    .as_primitive::<TimestampMicrosecondType>()
                    .value(row),
                loaded_at.and_utc().timestamp_micros()
            );
        }
    }

    #[test]
    fn a_leap_second_stays_inside_its_second() {
        use duckdb::arrow::array::AsArray;
        use duckdb::arrow::datatypes::Time64MicrosecondType;

        let mut line = varied_line(1, 0);
        line.hora = NaiveTime::from_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap();
        line.fecha_hora = line.fecha.and_time(line.hora);
        let lines = SalesLines::from(vec![line.clone()]);
        assert_eq!(lines.get(0), Some(line), "kept exactly in the collection");
        let at = NaiveDate::from_ymd_opt(2025, 11, 17)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let batch = lines
            .into_chunks()
            .next()
            .unwrap()
            .into_batch("t", 1, at)
            .unwrap();
        let hora = batch
            .column(4)
            .as_primitive::<Time64MicrosecondType>()
            .value(0);
        assert_eq!(hora, 86_400_000_000 - 1);
    }

    #[test]
    fn a_line_takes_a_fraction_of_a_sales_line() {
        let mut lines: SalesLines = (0..CHUNK_ROWS).map(|seed| varied_line(seed, 0)).collect();
        lines.shrink_to_fit();
        let per_line = lines.heap_bytes() / CHUNK_ROWS;
        // A `SalesLine` is about 690 bytes before its dozen heap strings (here about 130
        // bytes of text).
        assert!(per_line < 400, "{per_line} bytes per line");
    }
}
