//! [`SalesLines`]: a window's sales lines kept column by column, in chunks of at most
//! [`CHUNK_ROWS`] rows, in the layout of Arrow arrays, so that a chunk becomes an Arrow
//! `RecordBatch` without copying and is appended to DuckDB column by column.
//!
//! About 400 bytes per line (plus the text itself) instead of about 1 KB for a
//! `Vec<SalesLine>`. Lines are deduplicated on (`numero_factura`, `linea`) as they are
//! collected ([`crate::klk::parse`]): a later copy is appended and replaces the earlier one
//! (which stays in its chunk, marked dead), so the collection reads as "unique lines in the
//! order of their first appearance, each with its last copy's values".

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use duckdb::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, StringArray,
    Time64MicrosecondArray, TimestampMicrosecondArray,
};
use duckdb::arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::error::ArrowError;
use duckdb::arrow::record_batch::RecordBatch;
use serde::Serialize;

use crate::klk::model::SalesLine;

/// Rows per chunk. DuckDB 2.0 loses the rows of a single appender flush of a whole row group
/// (122,880 rows) or more into a table created in the same transaction; the loader flushes
/// once per chunk, so a chunk stays well below that.
pub const CHUNK_ROWS: usize = 24 * 2048;

/// Text bytes per chunk before a new chunk is started (Arrow's `i32` offsets).
const CHUNK_TEXT_BYTES: usize = 1 << 30;

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01 (Arrow's day 0).
const UNIX_EPOCH_FROM_CE: i32 = 719_163;

// ---------------------------------------------------------------------------------------
// Column storage

/// A bitmap in Arrow's layout (bit `i` of byte `i / 8`, least significant first).
#[derive(Clone, Default)]
struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    fn push(&mut self, bit: bool) {
        if self.len.is_multiple_of(64) {
            self.words.push(0);
        }
        if bit {
            self.words[self.len / 64] |= 1 << (self.len % 64);
        }
        self.len += 1;
    }

    fn get(&self, index: usize) -> bool {
        self.words[index / 64] >> (index % 64) & 1 == 1
    }

    fn into_boolean_buffer(self) -> BooleanBuffer {
        BooleanBuffer::new(Buffer::from_vec(self.words), 0, self.len)
    }

    fn bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// Optional text: Arrow's `Utf8` layout.
#[derive(Clone)]
struct Texts {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    valid: Bits,
}

impl Default for Texts {
    fn default() -> Self {
        Texts {
            offsets: vec![0],
            bytes: Vec::new(),
            valid: Bits::default(),
        }
    }
}

impl Texts {
    fn push(&mut self, text: Option<&str>) {
        let text = text.map(str::as_bytes);
        self.bytes.extend_from_slice(text.unwrap_or_default());
        // The chunk is closed long before its text reaches i32::MAX (CHUNK_TEXT_BYTES); a
        // single value that large could not have been read into memory in the first place.
        self.offsets
            .push(i32::try_from(self.bytes.len()).unwrap_or(i32::MAX));
        self.valid.push(text.is_some());
    }

    fn get(&self, index: usize) -> Option<&str> {
        if !self.valid.get(index) {
            return None;
        }
        let bytes = &self.bytes[self.offsets[index] as usize..self.offsets[index + 1] as usize];
        // Pushed from whole `&str`s.
        Some(std::str::from_utf8(bytes).unwrap_or_default())
    }

    fn into_array(self) -> ArrayRef {
        let nulls = NullBuffer::new(self.valid.into_boolean_buffer());
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        Arc::new(StringArray::new(
            OffsetBuffer::new(ScalarBuffer::from(self.offsets)),
            Buffer::from_vec(self.bytes),
            nulls,
        ))
    }

    fn bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.bytes.capacity() + self.valid.bytes()
    }
}

/// Optional numbers: Arrow's `Float64` layout.
#[derive(Clone, Default)]
struct Numbers {
    values: Vec<f64>,
    valid: Bits,
}

impl Numbers {
    fn push(&mut self, value: Option<f64>) {
        self.values.push(value.unwrap_or_default());
        self.valid.push(value.is_some());
    }

    fn get(&self, index: usize) -> Option<f64> {
        self.valid.get(index).then(|| self.values[index])
    }

    fn into_array(self) -> ArrayRef {
        let nulls = NullBuffer::new(self.valid.into_boolean_buffer());
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        Arc::new(Float64Array::new(ScalarBuffer::from(self.values), nulls))
    }

    fn bytes(&self) -> usize {
        self.values.capacity() * 8 + self.valid.bytes()
    }
}

// Text columns, in the order of `ventas`.
const NUMERO_FACTURA: usize = 0;
const CODIGO_ALMACEN: usize = 1;
const NOMBRE_ALMACEN: usize = 2;
const CODIGO_PRODUCTO: usize = 3;
const DESCRIPCION_PRODUCTO: usize = 4;
const MARCA_PRODUCTO: usize = 5;
const MODELO_PRODUCTO: usize = 6;
const CATEGORIA_PRODUCTO: usize = 7;
const GRUPO_ARTICULO: usize = 8;
const SUBGRUPO_PRODUCTO: usize = 9;
const CODIGO_BARRAS: usize = 10;
const UNIDAD_MEDIDA_VENTA: usize = 11;
const TIENE_PROMOCION: usize = 12;
const CODIGO_PROMOCION: usize = 13;
const TEXTS: usize = 14;

// Number columns (required ones always valid), in the order of `ventas`.
const CANTIDAD_VENDIDA: usize = 0;
const PESO_UNITARIO: usize = 1;
const FACTOR_UNIDAD_MEDIDA: usize = 2;
const COSTO_UNITARIO_BS: usize = 3;
const COSTO_UNITARIO_USD: usize = 4;
const PRECIO_UNITARIO_BS: usize = 5;
const PRECIO_UNITARIO_USD: usize = 6;
const IMPUESTO_PORCENTAJE: usize = 7;
const IMPUESTO_MONTO: usize = 8;
const PORCENTAJE_DESCUENTO: usize = 9;
const MONTO_DESCUENTO: usize = 10;
const VENTA_TOTAL_BS: usize = 11;
const VENTA_TOTAL_USD: usize = 12;
const COSTO_TOTAL_BS: usize = 13;
const COSTO_TOTAL_USD: usize = 14;
const UTILIDAD_BRUTA_BS: usize = 15;
const UTILIDAD_BRUTA_USD: usize = 16;
const TOTAL_FACTURA: usize = 17;
const TASA_USD: usize = 18;
const NUMBERS: usize = 19;

/// Up to [`CHUNK_ROWS`] lines, column by column.
#[derive(Clone, Default)]
struct Chunk {
    len: usize,
    text_bytes: usize,
    texts: [Texts; TEXTS],
    numbers: [Numbers; NUMBERS],
    /// As given (the parser refuses one outside `i32`; `into_batch` fails on one).
    linea: Vec<i64>,
    /// Days from 0001-01-01, chrono's `num_days_from_ce`.
    fecha: Vec<i32>,
    /// Seconds from midnight in the high half, nanoseconds in the low half: exact, leap
    /// seconds included.
    hora: Vec<u64>,
    es_no_fiscal: Bits,
    es_no_fiscal_valid: Bits,
}

impl Chunk {
    fn is_full(&self) -> bool {
        self.len >= CHUNK_ROWS || self.text_bytes >= CHUNK_TEXT_BYTES
    }

    fn push(&mut self, l: &SalesLine) {
        let texts: [Option<&str>; TEXTS] = [
            Some(&l.numero_factura),
            Some(&l.codigo_almacen),
            l.nombre_almacen.as_deref(),
            Some(&l.codigo_producto),
            l.descripcion_producto.as_deref(),
            l.marca_producto.as_deref(),
            l.modelo_producto.as_deref(),
            l.categoria_producto.as_deref(),
            l.grupo_articulo.as_deref(),
            l.subgrupo_producto.as_deref(),
            l.codigo_barras.as_deref(),
            l.unidad_medida_venta.as_deref(),
            l.tiene_promocion.as_deref(),
            l.codigo_promocion.as_deref(),
        ];
        for (column, text) in self.texts.iter_mut().zip(texts) {
            self.text_bytes += text.map_or(0, str::len);
            column.push(text);
        }
        let numbers: [Option<f64>; NUMBERS] = [
            Some(l.cantidad_vendida),
            l.peso_unitario,
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
        for (column, number) in self.numbers.iter_mut().zip(numbers) {
            column.push(number);
        }
        self.linea.push(l.linea);
        self.fecha.push(l.fecha.num_days_from_ce_i32());
        self.hora.push(
            u64::from(l.hora.num_seconds_from_midnight()) << 32 | u64::from(l.hora.nanosecond()),
        );
        self.es_no_fiscal.push(l.es_no_fiscal == Some(true));
        self.es_no_fiscal_valid.push(l.es_no_fiscal.is_some());
        self.len += 1;
    }

    fn text(&self, column: usize, index: usize) -> Option<&str> {
        self.texts[column].get(index)
    }

    fn owned(&self, column: usize, index: usize) -> Option<String> {
        self.text(column, index).map(str::to_owned)
    }

    fn number(&self, column: usize, index: usize) -> Option<f64> {
        self.numbers[column].get(index)
    }

    fn required(&self, column: usize, index: usize) -> f64 {
        self.numbers[column].values[index]
    }

    fn fecha(&self, index: usize) -> NaiveDate {
        NaiveDate::from_num_days_from_ce_opt(self.fecha[index]).unwrap_or_default()
    }

    fn hora(&self, index: usize) -> NaiveTime {
        let packed = self.hora[index];
        NaiveTime::from_num_seconds_from_midnight_opt((packed >> 32) as u32, packed as u32)
            .unwrap_or_default()
    }

    fn key(&self, index: usize) -> (&str, i64) {
        (
            self.text(NUMERO_FACTURA, index).unwrap_or_default(),
            self.linea[index],
        )
    }

    fn line(&self, i: usize) -> SalesLine {
        let fecha = self.fecha(i);
        let hora = self.hora(i);
        SalesLine {
            numero_factura: self.owned(NUMERO_FACTURA, i).unwrap_or_default(),
            linea: self.linea[i],
            fecha,
            hora,
            fecha_hora: fecha.and_time(hora),
            codigo_producto: self.owned(CODIGO_PRODUCTO, i).unwrap_or_default(),
            descripcion_producto: self.owned(DESCRIPCION_PRODUCTO, i),
            marca_producto: self.owned(MARCA_PRODUCTO, i),
            modelo_producto: self.owned(MODELO_PRODUCTO, i),
            categoria_producto: self.owned(CATEGORIA_PRODUCTO, i),
            grupo_articulo: self.owned(GRUPO_ARTICULO, i),
            subgrupo_producto: self.owned(SUBGRUPO_PRODUCTO, i),
            codigo_barras: self.owned(CODIGO_BARRAS, i),
            codigo_almacen: self.owned(CODIGO_ALMACEN, i).unwrap_or_default(),
            nombre_almacen: self.owned(NOMBRE_ALMACEN, i),
            cantidad_vendida: self.required(CANTIDAD_VENDIDA, i),
            peso_unitario: self.number(PESO_UNITARIO, i),
            unidad_medida_venta: self.owned(UNIDAD_MEDIDA_VENTA, i),
            factor_unidad_medida: self.number(FACTOR_UNIDAD_MEDIDA, i),
            costo_unitario_bs: self.number(COSTO_UNITARIO_BS, i),
            costo_unitario_usd: self.number(COSTO_UNITARIO_USD, i),
            precio_unitario_bs: self.number(PRECIO_UNITARIO_BS, i),
            precio_unitario_usd: self.number(PRECIO_UNITARIO_USD, i),
            impuesto_porcentaje: self.number(IMPUESTO_PORCENTAJE, i),
            impuesto_monto: self.number(IMPUESTO_MONTO, i),
            porcentaje_descuento: self.number(PORCENTAJE_DESCUENTO, i),
            monto_descuento: self.number(MONTO_DESCUENTO, i),
            venta_total_bs: self.required(VENTA_TOTAL_BS, i),
            venta_total_usd: self.required(VENTA_TOTAL_USD, i),
            costo_total_bs: self.number(COSTO_TOTAL_BS, i),
            costo_total_usd: self.number(COSTO_TOTAL_USD, i),
            utilidad_bruta_bs: self.number(UTILIDAD_BRUTA_BS, i),
            utilidad_bruta_usd: self.number(UTILIDAD_BRUTA_USD, i),
            total_factura: self.number(TOTAL_FACTURA, i),
            tasa_usd: self.number(TASA_USD, i),
            es_no_fiscal: self
                .es_no_fiscal_valid
                .get(i)
                .then(|| self.es_no_fiscal.get(i)),
            tiene_promocion: self.owned(TIENE_PROMOCION, i),
            codigo_promocion: self.owned(CODIGO_PROMOCION, i),
        }
    }

    fn shrink_to_fit(&mut self) {
        for texts in &mut self.texts {
            texts.offsets.shrink_to_fit();
            texts.bytes.shrink_to_fit();
            texts.valid.words.shrink_to_fit();
        }
        for numbers in &mut self.numbers {
            numbers.values.shrink_to_fit();
            numbers.valid.words.shrink_to_fit();
        }
        self.linea.shrink_to_fit();
        self.fecha.shrink_to_fit();
        self.hora.shrink_to_fit();
        self.es_no_fiscal.words.shrink_to_fit();
        self.es_no_fiscal_valid.words.shrink_to_fit();
    }

    fn bytes(&self) -> usize {
        self.texts.iter().map(Texts::bytes).sum::<usize>()
            + self.numbers.iter().map(Numbers::bytes).sum::<usize>()
            + self.linea.capacity() * 8
            + self.fecha.capacity() * 4
            + self.hora.capacity() * 8
            + self.es_no_fiscal.bytes()
            + self.es_no_fiscal_valid.bytes()
    }
}

trait DaysFromCe {
    fn num_days_from_ce_i32(&self) -> i32;
}

impl DaysFromCe for NaiveDate {
    fn num_days_from_ce_i32(&self) -> i32 {
        chrono::Datelike::num_days_from_ce(self)
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
                chunk.required(VENTA_TOTAL_USD, index)
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
                    chunk.text(CODIGO_ALMACEN, index).unwrap_or_default(),
                )
            })
            .count()
    }

    /// Heap bytes held (capacity), for memory tests and benchmarks.
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(Chunk::bytes).sum::<usize>()
            + (self.latest.capacity()
                + self.later.capacity()
                + self.dead.capacity()
                + self.dropped.capacity())
                * 24
    }

    /// The keys of each chunk (see [`SalesChunk::keys_batch`]), without consuming it.
    pub fn key_batches(&self) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> + '_ {
        self.chunks.iter().map(keys_batch)
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
        keys_batch(&self.chunk)
    }

    /// Every row (dead ones included) as a batch in the columns of `ventas`.
    pub fn into_batch(
        self,
        ubicacion_id: &str,
        ejecucion_id: i32,
        loaded_at: NaiveDateTime,
    ) -> Result<RecordBatch, ArrowError> {
        let chunk = self.chunk;
        let rows = chunk.len;
        let [
            numero_factura,
            codigo_almacen,
            nombre_almacen,
            codigo_producto,
            descripcion_producto,
            marca_producto,
            modelo_producto,
            categoria_producto,
            grupo_articulo,
            subgrupo_producto,
            codigo_barras,
            unidad_medida_venta,
            tiene_promocion,
            codigo_promocion,
        ] = chunk.texts;
        let [
            cantidad_vendida,
            peso_unitario,
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
        ] = chunk.numbers;
        let fecha: Vec<i32> = chunk.fecha.iter().map(|d| d - UNIX_EPOCH_FROM_CE).collect();
        // As the row appender converted chrono times: microseconds, truncated. A leap second
        // (only possible through `fecha_hora_completa`) is kept inside its second, as its
        // last microsecond, so that the TIME is never past 24:00:00.
        let micros = |packed: u64| {
            let nanos = (packed as u32).min(999_999_999);
            (packed >> 32) as i64 * 1_000_000 + i64::from(nanos / 1_000)
        };
        let hora: Vec<i64> = chunk.hora.iter().map(|&packed| micros(packed)).collect();
        let fecha_hora: Vec<i64> = fecha
            .iter()
            .zip(&hora)
            .map(|(&days, &micros)| i64::from(days) * 86_400_000_000 + micros)
            .collect();
        let es_no_fiscal = BooleanArray::new(
            chunk.es_no_fiscal.into_boolean_buffer(),
            Some(NullBuffer::new(
                chunk.es_no_fiscal_valid.into_boolean_buffer(),
            ))
            .filter(|nulls| nulls.null_count() > 0),
        );
        let ubicacion = Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
            ubicacion_id,
            rows,
        )));
        let loaded_at = loaded_at.and_utc().timestamp_micros();

        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let double = |name: &str| Field::new(name, DataType::Float64, true);
        let timestamp = DataType::Timestamp(TimeUnit::Microsecond, None);
        let columns: Vec<(Field, ArrayRef)> = vec![
            (text("ubicacion_id"), ubicacion),
            (text("numero_factura"), numero_factura.into_array()),
            (
                Field::new("linea", DataType::Int32, true),
                Arc::new(linea_array(&chunk.linea)?),
            ),
            (
                Field::new("fecha", DataType::Date32, true),
                Arc::new(Date32Array::from(fecha)),
            ),
            (
                Field::new("hora", DataType::Time64(TimeUnit::Microsecond), true),
                Arc::new(Time64MicrosecondArray::from(hora)),
            ),
            (
                Field::new("fecha_hora", timestamp.clone(), true),
                Arc::new(TimestampMicrosecondArray::from(fecha_hora)),
            ),
            (text("codigo_almacen"), codigo_almacen.into_array()),
            (text("nombre_almacen"), nombre_almacen.into_array()),
            (text("codigo_producto"), codigo_producto.into_array()),
            (
                text("descripcion_producto"),
                descripcion_producto.into_array(),
            ),
            (text("marca_producto"), marca_producto.into_array()),
            (text("modelo_producto"), modelo_producto.into_array()),
            (text("categoria_producto"), categoria_producto.into_array()),
            (text("grupo_articulo"), grupo_articulo.into_array()),
            (text("subgrupo_producto"), subgrupo_producto.into_array()),
            (text("codigo_barras"), codigo_barras.into_array()),
            (double("cantidad_vendida"), cantidad_vendida.into_array()),
            (double("peso_unitario"), peso_unitario.into_array()),
            (
                text("unidad_medida_venta"),
                unidad_medida_venta.into_array(),
            ),
            (
                double("factor_unidad_medida"),
                factor_unidad_medida.into_array(),
            ),
            (double("costo_unitario_bs"), costo_unitario_bs.into_array()),
            (
                double("costo_unitario_usd"),
                costo_unitario_usd.into_array(),
            ),
            (
                double("precio_unitario_bs"),
                precio_unitario_bs.into_array(),
            ),
            (
                double("precio_unitario_usd"),
                precio_unitario_usd.into_array(),
            ),
            (
                double("impuesto_porcentaje"),
                impuesto_porcentaje.into_array(),
            ),
            (double("impuesto_monto_bs"), impuesto_monto.into_array()),
            (
                double("porcentaje_descuento"),
                porcentaje_descuento.into_array(),
            ),
            (double("monto_descuento"), monto_descuento.into_array()),
            (double("venta_total_bs"), venta_total_bs.into_array()),
            (double("venta_total_usd"), venta_total_usd.into_array()),
            (double("costo_total_bs"), costo_total_bs.into_array()),
            (double("costo_total_usd"), costo_total_usd.into_array()),
            (double("utilidad_bruta_bs"), utilidad_bruta_bs.into_array()),
            (
                double("utilidad_bruta_usd"),
                utilidad_bruta_usd.into_array(),
            ),
            (double("total_factura"), total_factura.into_array()),
            (double("tasa_usd"), tasa_usd.into_array()),
            (
                Field::new("es_no_fiscal", DataType::Boolean, true),
                Arc::new(es_no_fiscal),
            ),
            (text("tiene_promocion"), tiene_promocion.into_array()),
            (text("codigo_promocion"), codigo_promocion.into_array()),
            (
                Field::new("ejecucion_id", DataType::Int32, true),
                Arc::new(Int32Array::from(vec![ejecucion_id; rows])),
            ),
            (
                Field::new("cargado_en", timestamp, true),
                Arc::new(TimestampMicrosecondArray::from(vec![loaded_at; rows])),
            ),
        ];
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
    }
}

/// `ventas.linea` is an INTEGER: a larger number fails the load (the parser refuses it).
fn linea_array(linea: &[i64]) -> Result<Int32Array, ArrowError> {
    linea
        .iter()
        .map(|&linea| {
            i32::try_from(linea).map_err(|_| {
                ArrowError::InvalidArgumentError(format!("linea {linea} is out of range"))
            })
        })
        .collect::<Result<Vec<i32>, _>>()
        .map(Int32Array::from)
}

/// The keys of every row of `chunk` (`numero_factura` VARCHAR, `linea` INTEGER).
fn keys_batch(chunk: &Chunk) -> Result<RecordBatch, ArrowError> {
    let texts = &chunk.texts[NUMERO_FACTURA];
    let numeros = StringArray::new(
        OffsetBuffer::new(ScalarBuffer::from(texts.offsets.clone())),
        Buffer::from_vec(texts.bytes.clone()),
        None,
    );
    let schema = Schema::new(vec![
        Field::new("numero_factura", DataType::Utf8, true),
        Field::new("linea", DataType::Int32, true),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(numeros), Arc::new(linea_array(&chunk.linea)?)],
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use chrono::{NaiveDate, NaiveTime};

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
