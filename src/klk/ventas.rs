//! The columns of `ventas`, declared once.
//!
//! [`ventas_columns!`] is the list: one line per column, in the table's order. From it come
//! the table's description ([`VENTAS`]: what the DDL is generated from, see
//! `tracker::schema`), the column-by-column storage of a window's lines and its binding to
//! [`SalesLine`](crate::klk::SalesLine) (`columns.rs`), and the Arrow schema and arrays the
//! loader appends. Adding a column is one line here, its field in `SalesLine` and the parser
//! (which read JSON, not columns), and, for the files that already exist, a migration that
//! adds it (`tracker::schema::add_columns` of its `since`).

/// A column's type, whatever the engine (DuckDB today; the names each engine uses are the
/// engine's business, e.g. `tracker::schema::duckdb_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    Text,
    Double,
    /// 32-bit.
    Integer,
    Date,
    /// Time of day, microseconds.
    Time,
    /// Date and time without zone, microseconds (store-local, see docs/database.md).
    Timestamp,
    Boolean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: SqlType,
    pub nullable: bool,
    /// Part of the primary key (in the order of the list).
    pub key: bool,
    /// The schema version whose migration creates the column (3 created the table).
    pub since: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
}

impl Table {
    /// The primary key's columns, in order.
    pub fn key(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|column| column.key)
    }

    /// The columns as of schema version `version`, in order.
    pub fn columns_at(&self, version: i32) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(move |column| column.since <= version)
    }
}

/// The list. It hands its lines to `$generate!`, a macro that reads this grammar (one line
/// per column, in table order):
///
/// ```text
/// name: Type, null | not_null, key | -, since, source;
/// ```
///
/// - `Type`: a [`SqlType`] variant;
/// - `since`: the schema version that adds the column (3 created the table; a column added
///   later goes with a migration of its own and keeps the versions before it unchanged);
/// - `source`, where the values come from when a window is loaded: `line.<SalesLine field>`;
///   `<date column> + <time column>`, a timestamp made of two columns of the line; or the
///   same value for every row: `store` (the window's), `execution` (the one loading it),
///   `loaded_at` (when it loads it).
macro_rules! ventas_columns {
    ($generate:ident) => {
        $generate! {
            // column             type       nulls     key  since  source
            ubicacion_id:         Text,      not_null, key, 3,     store;
            numero_factura:       Text,      not_null, key, 3,     line.numero_factura;
            linea:                Integer,   not_null, key, 3,     line.linea;
            fecha:                Date,      not_null, -,   3,     line.fecha;
            hora:                 Time,      not_null, -,   3,     line.hora;
            fecha_hora:           Timestamp, not_null, -,   3,     fecha + hora;
            codigo_almacen:       Text,      not_null, -,   3,     line.codigo_almacen;
            nombre_almacen:       Text,      null,     -,   3,     line.nombre_almacen;
            codigo_producto:      Text,      not_null, -,   3,     line.codigo_producto;
            descripcion_producto: Text,      null,     -,   3,     line.descripcion_producto;
            marca_producto:       Text,      null,     -,   3,     line.marca_producto;
            modelo_producto:      Text,      null,     -,   3,     line.modelo_producto;
            categoria_producto:   Text,      null,     -,   3,     line.categoria_producto;
            grupo_articulo:       Text,      null,     -,   3,     line.grupo_articulo;
            subgrupo_producto:    Text,      null,     -,   3,     line.subgrupo_producto;
            codigo_barras:        Text,      null,     -,   3,     line.codigo_barras;
            cantidad_vendida:     Double,    not_null, -,   3,     line.cantidad_vendida;
            peso_unitario:        Double,    null,     -,   3,     line.peso_unitario;
            unidad_medida_venta:  Text,      null,     -,   3,     line.unidad_medida_venta;
            factor_unidad_medida: Double,    null,     -,   3,     line.factor_unidad_medida;
            costo_unitario_bs:    Double,    null,     -,   3,     line.costo_unitario_bs;
            costo_unitario_usd:   Double,    null,     -,   3,     line.costo_unitario_usd;
            precio_unitario_bs:   Double,    null,     -,   3,     line.precio_unitario_bs;
            precio_unitario_usd:  Double,    null,     -,   3,     line.precio_unitario_usd;
            impuesto_porcentaje:  Double,    null,     -,   3,     line.impuesto_porcentaje;
            impuesto_monto_bs:    Double,    null,     -,   3,     line.impuesto_monto;
            porcentaje_descuento: Double,    null,     -,   3,     line.porcentaje_descuento;
            monto_descuento:      Double,    null,     -,   3,     line.monto_descuento;
            venta_total_bs:       Double,    not_null, -,   3,     line.venta_total_bs;
            venta_total_usd:      Double,    not_null, -,   3,     line.venta_total_usd;
            costo_total_bs:       Double,    null,     -,   3,     line.costo_total_bs;
            costo_total_usd:      Double,    null,     -,   3,     line.costo_total_usd;
            utilidad_bruta_bs:    Double,    null,     -,   3,     line.utilidad_bruta_bs;
            utilidad_bruta_usd:   Double,    null,     -,   3,     line.utilidad_bruta_usd;
            total_factura:        Double,    null,     -,   3,     line.total_factura;
            tasa_usd:             Double,    null,     -,   3,     line.tasa_usd;
            es_no_fiscal:         Boolean,   null,     -,   3,     line.es_no_fiscal;
            tiene_promocion:      Text,      null,     -,   3,     line.tiene_promocion;
            codigo_promocion:     Text,      null,     -,   3,     line.codigo_promocion;
            ejecucion_id:         Integer,   not_null, -,   3,     execution;
            cargado_en:           Timestamp, not_null, -,   3,     loaded_at;
        }
    };
}
pub(crate) use ventas_columns;

/// Turns the list into a [`Table`].
macro_rules! table {
    ($(
        $column:ident: $ty:ident, $nulls:ident, $key:tt, $since:literal,
        $source:ident $(. $field:ident)? $(+ $time:ident)?
    );+ $(;)?) => {
        /// The sales lines: one per (store, invoice, line), with the warehouse kept.
        pub const VENTAS: Table = Table {
            name: "ventas",
            columns: &[$(
                Column {
                    name: stringify!($column),
                    ty: SqlType::$ty,
                    nullable: table!(@nullable $nulls),
                    key: table!(@key $key),
                    since: $since,
                },
            )+],
        };
    };
    (@nullable null) => { true };
    (@nullable not_null) => { false };
    (@key key) => { true };
    (@key -) => { false };
}

ventas_columns!(table);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_store_invoice_and_line() {
        let key: Vec<&str> = VENTAS.key().map(|column| column.name).collect();
        assert_eq!(key, ["ubicacion_id", "numero_factura", "linea"]);
        assert!(VENTAS.key().all(|column| !column.nullable));
    }

    #[test]
    fn names_are_unique_and_version_3_has_all_41() {
        let mut names: Vec<&str> = VENTAS.columns.iter().map(|c| c.name).collect();
        assert_eq!(VENTAS.columns_at(3).count(), 41);
        assert_eq!(VENTAS.columns_at(2).count(), 0);
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), VENTAS.columns.len());
    }

    #[test]
    fn a_column_added_after_the_table_is_nullable() {
        // Rows loaded before its migration have no value for it.
        let later: Vec<&Column> = VENTAS.columns.iter().filter(|c| c.since > 3).collect();
        assert!(later.iter().all(|column| column.nullable), "{later:?}");
    }
}
