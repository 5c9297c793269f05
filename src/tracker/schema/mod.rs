//! Schema and migrations. The seed's `etl_ejecuciones` is kept column for column; migrations
//! only add (tables, columns, macros, views) and are recorded in `etl_schema_version`. The
//! SQL lives in files under `duckdb/` (`vN_*.sql`: what migration N adds; `logic/`: the
//! macros and views, installed in the order of their names).
//!
//! All gap and metric logic lives in DuckDB table macros (`klk_gaps`, `klk_metricas`) so that
//! `klk-etl` and every other client (the seed's SQL, Python's duckdb, the DuckDB CLI) read the
//! same answer. They use no time zone functions: "now" in store time is UTC from
//! `epoch_us(now())` plus the offset stored in `etl_configuracion`, because the bundled DuckDB
//! has no ICU and the user's tools have one that depends on the host's zone.

use duckdb::Connection;

pub mod postgres;

use crate::klk::ventas::{SqlType, Table, VENTAS};

const SEED_TABLE: &str = include_str!("duckdb/v1_seed_table.sql");

const TRACKING_TABLES: &str = include_str!("duckdb/v2_tracking_tables.sql");

const SUMMARY_TABLES: &str = include_str!("duckdb/v7_summary_tables.sql");

const REFRESH_SUMMARY: &str = include_str!("duckdb/summary_refresh.sql");

const INVENTARIO_TABLE: &str = include_str!("duckdb/v3_inventario.sql");

/// The macro that reads the summary (migration 7 needs it before the rest of the logic).
const SUMMARY_MACRO: &str = include_str!("duckdb/logic/2_summary.sql");

/// The macros and views, in the order they are installed (each may call the ones before).
const LOGIC: [&str; 7] = [
    include_str!("duckdb/logic/1_now.sql"),
    SUMMARY_MACRO,
    include_str!("duckdb/logic/3_stores.sql"),
    include_str!("duckdb/logic/4_verifications.sql"),
    include_str!("duckdb/logic/5_gaps.sql"),
    include_str!("duckdb/logic/6_metrics.sql"),
    include_str!("duckdb/logic/7_views.sql"),
];

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("{0}")]
    Sql(#[from] duckdb::Error),
    #[error("{0}")]
    Refused(String),
}

pub struct Migration {
    pub version: i32,
    pub description: &'static str,
    pub apply: fn(&Connection) -> Result<(), MigrationError>,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "seed table etl_ejecuciones (adopted in place when it exists)",
        apply: adopt_seed_table,
    },
    Migration {
        version: 2,
        description: "process columns, etl_configuracion, etl_tiendas, gap and metric macros, seed views",
        apply: tracking_core,
    },
    Migration {
        version: 3,
        description: "typed target tables ventas and inventario",
        apply: target_tables,
    },
    Migration {
        version: 4,
        description: "klk_gaps: time of the latest attempt (ultimo_intento)",
        apply: reinstall_logic,
    },
    Migration {
        version: 5,
        description: "invocations (etl_invocaciones) and the alert outbox (etl_alertas, etl_alertas_estado)",
        apply: monitoring_tables,
    },
    Migration {
        version: 6,
        description: "klk_gaps: attempts made while the store was otherwise healthy (intentos_tras_exito)",
        apply: reinstall_logic,
    },
    Migration {
        version: 7,
        description: "scale: summary of executions per store, tipo and estado (etl_resumen, klk_resumen); gaps and the latest executions read only the horizon",
        apply: summary_and_logic,
    },
    Migration {
        version: 8,
        description: "klk_gaps: covered slots by slot index, inventory in two passes (same rows, less work)",
        apply: reinstall_logic,
    },
    Migration {
        version: 9,
        description: "verification of closed days: what each re-pull found (lineas_tardias, lineas_cambiadas, lineas_desaparecidas), vanished lines (etl_lineas_desaparecidas), unverified days as gaps (klk_verificaciones)",
        apply: verification,
    },
    Migration {
        version: 10,
        description: "integrations: post-load hook runs (etl_hooks), check-in counters (etl_checkins)",
        apply: integration_tables,
    },
    Migration {
        version: 11,
        description: "who asked for an invocation from the web (etl_invocaciones.solicitado_por: the serve token's name)",
        apply: requested_by,
    },
    Migration {
        version: 12,
        description: "indexes on ventas (ubicacion_id, fecha), for the day a verification re-reads, and on the executions in progress (PostgreSQL; DuckDB does without)",
        apply: nothing_on_duckdb,
    },
    Migration {
        version: 13,
        description: "PostgreSQL: getvariable('klk_...') for SQL hooks (DuckDB has it built in), and klk_gaps making only the uncovered slots (same rows, less work at 100 stores x 365 days)",
        apply: nothing_on_duckdb,
    },
    Migration {
        version: 14,
        description: "PostgreSQL: the per-day metrics of past days kept (etl_metricas_dia, etl_metricas_dias), so that a month of metrics reads a few thousand rows; the verified days indexed (DuckDB does without)",
        apply: nothing_on_duckdb,
    },
    Migration {
        version: 15,
        description: "the mean duration in metrics is a sum of whole microseconds over the count, so that it does not depend on the order rows are added in (the same last digit on both engines)",
        apply: reinstall_logic,
    },
    Migration {
        version: 16,
        description: "PostgreSQL: the sales coverage of past days kept (etl_cobertura_dia, etl_cobertura_dias), so that gaps and every run's planning read about one range per store and day; the failed attempts and the successes indexed (DuckDB does without)",
        apply: nothing_on_duckdb,
    },
];

/// The schema version of the last migration: a new migration cannot be forgotten here.
pub const LATEST_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const VERIFICATION_TABLES: &str = include_str!("duckdb/v9_verification.sql");

const INTEGRATION_TABLES: &str = include_str!("duckdb/v10_integrations.sql");

/// A migration that only PostgreSQL needs: DuckDB records its version and changes nothing.
fn nothing_on_duckdb(_conn: &Connection) -> Result<(), MigrationError> {
    Ok(())
}

fn requested_by(conn: &Connection) -> Result<(), MigrationError> {
    Ok(conn.execute_batch(include_str!("duckdb/v11_requested_by.sql"))?)
}

fn integration_tables(conn: &Connection) -> Result<(), MigrationError> {
    Ok(conn.execute_batch(INTEGRATION_TABLES)?)
}

fn verification(conn: &Connection) -> Result<(), MigrationError> {
    Ok(conn.execute_batch(VERIFICATION_TABLES)?)
}

const MONITORING_TABLES: &str = include_str!("duckdb/v5_monitoring_tables.sql");

fn monitoring_tables(conn: &Connection) -> Result<(), MigrationError> {
    Ok(conn.execute_batch(MONITORING_TABLES)?)
}

/// For migrations that only change macros or views: the latest logic is installed once
/// after the last pending migration (see [`install_logic`]), with every table it reads.
fn reinstall_logic(_conn: &Connection) -> Result<(), MigrationError> {
    Ok(())
}

/// The summary is built once from the whole table, with the macro that reads it.
fn summary_and_logic(conn: &Connection) -> Result<(), MigrationError> {
    conn.execute_batch(SUMMARY_TABLES)?;
    conn.execute_batch(SUMMARY_MACRO)?;
    Ok(rebuild_summary(conn)?)
}

/// Brings `etl_resumen` up to date (see `klk_resumen`). Run it inside a transaction: it reads
/// and rewrites the summary in one snapshot. Cheap while the summary is valid (it reads only
/// the rows added since); a full pass over the table otherwise (after a delete).
pub fn refresh_summary(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch(REFRESH_SUMMARY)
}

/// Rebuilds the summary from the whole table (one pass), whatever its state: also picks up
/// hand edits of finished rows, which the summary cannot see (klk-etl never changes a
/// finished row). Run it inside a transaction.
pub fn rebuild_summary(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch("DELETE FROM etl_resumen_estado;")?;
    conn.execute_batch(REFRESH_SUMMARY)
}

/// The loaded data: one sales line per (store, invoice, line), the latest stock per
/// (store, warehouse, article). Numbers are numbers, timestamps are timestamps (store-local).
fn target_tables(conn: &Connection) -> Result<(), MigrationError> {
    // A table of the same name from another program is the user's: never alter or reuse it.
    for table in ["ventas", "inventario"] {
        refuse_foreign_target_table(conn, table)?;
    }
    conn.execute_batch(&create_table(&VENTAS, 3))?;
    Ok(conn.execute_batch(INVENTARIO_TABLE)?)
}

/// `CREATE TABLE IF NOT EXISTS` of `table` as of schema version `version` (its columns of
/// that version), in DuckDB's types.
pub fn create_table(table: &Table, version: i32) -> String {
    let mut lines: Vec<String> = table
        .columns_at(version)
        .map(|column| {
            let not_null = if column.nullable { "" } else { " NOT NULL" };
            format!("    {} {}{not_null}", column.name, duckdb_type(column.ty))
        })
        .collect();
    let key: Vec<&str> = table.key().map(|column| column.name).collect();
    if !key.is_empty() {
        lines.push(format!("    PRIMARY KEY ({})", key.join(", ")));
    }
    format!(
        "CREATE TABLE IF NOT EXISTS {} (\n{}\n);\n",
        table.name,
        lines.join(",\n")
    )
}

/// `ALTER TABLE ... ADD COLUMN` for the columns of `table` that schema version `version` adds
/// (those whose `since` it is): the migration of a column added to the list later. Such a
/// column is nullable (the rows already there have no value for it).
pub fn add_columns(table: &Table, version: i32) -> String {
    table
        .columns
        .iter()
        .filter(|column| column.since == version)
        .map(|column| {
            format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {};\n",
                table.name,
                column.name,
                duckdb_type(column.ty)
            )
        })
        .collect()
}

/// DuckDB's name of each column type.
pub fn duckdb_type(ty: SqlType) -> &'static str {
    match ty {
        SqlType::Text => "VARCHAR",
        SqlType::Double => "DOUBLE",
        SqlType::Integer => "INTEGER",
        SqlType::Date => "DATE",
        SqlType::Time => "TIME",
        SqlType::Timestamp => "TIMESTAMP",
        SqlType::Boolean => "BOOLEAN",
    }
}

/// `ventas` or `inventario` made by another program (it has no `ejecucion_id`).
fn refuse_foreign_target_table(conn: &Connection, table: &str) -> Result<(), MigrationError> {
    let foreign: bool = conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() t WHERE t.table_name = ? AND t.schema_name = 'main' \
         AND NOT EXISTS (SELECT 1 FROM duckdb_columns() c WHERE c.table_name = t.table_name \
                         AND c.schema_name = 'main' AND c.column_name = 'ejecucion_id')",
        [table],
        |r| r.get(0),
    )?;
    if foreign {
        return Err(MigrationError::Refused(format!(
            "the database already has a table '{table}' that klk-etl did not create; \
             rename it (ALTER TABLE {table} RENAME TO {table}_anterior) and run again"
        )));
    }
    Ok(())
}

/// The columns of the seed's `etl_ejecuciones`: a table of that name without all of them
/// belongs to another program.
const SEED_COLUMNS: [&str; 19] = [
    "id",
    "etl_tipo",
    "ubicacion_id",
    "ubicacion_nombre",
    "fecha_inicio",
    "fecha_fin",
    "duracion_segundos",
    "fecha_desde",
    "fecha_hasta",
    "hora_desde",
    "hora_hasta",
    "estado",
    "registros_extraidos",
    "registros_cargados",
    "error_mensaje",
    "error_tipo",
    "modo",
    "version_etl",
    "host",
];

/// An existing `etl_ejecuciones` must be the seed's (every seed column, by name) to be
/// adopted; another program's table of that name is refused, never altered.
fn refuse_foreign_seed_table(conn: &Connection) -> Result<(), MigrationError> {
    let mut stmt = conn.prepare(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'etl_ejecuciones' AND schema_name = 'main'",
    )?;
    let present = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<std::collections::HashSet<String>, _>>()?;
    if present.is_empty() {
        return Ok(());
    }
    let missing: Vec<&str> = SEED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !present.contains(*c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let lacks = if missing.len() > 4 {
        format!(
            "{} of the {} seed columns, e.g. {}",
            missing.len(),
            SEED_COLUMNS.len(),
            missing[..3].join(", ")
        )
    } else {
        missing.join(", ")
    };
    Err(MigrationError::Refused(format!(
        "the database already has a table 'etl_ejecuciones' that is not the original system's \
         (it lacks {lacks}); klk-etl will not adopt or alter it: rename it \
         (ALTER TABLE etl_ejecuciones RENAME TO etl_ejecuciones_anterior) or use another --db"
    )))
}

/// Every refusal the pending migrations could meet, checked before anything is written, so
/// that a refused file is left exactly as it was. (`Db::migrate` also runs the migrations in
/// one transaction, so an unexpected failure leaves nothing behind either.)
pub fn check_adoptable(conn: &Connection, current_version: i32) -> Result<(), MigrationError> {
    if current_version < 1 {
        refuse_foreign_seed_table(conn)?;
    }
    if current_version < 3 {
        for table in ["ventas", "inventario"] {
            refuse_foreign_target_table(conn, table)?;
        }
    }
    Ok(())
}

/// Whether the table `main.<table>` exists (from the catalog listing: safe inside a
/// transaction, about 10 ms on a new connection).
pub fn table_exists(conn: &Connection, table: &str) -> duckdb::Result<bool> {
    conn.query_row(
        "SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'",
        [table],
        |r| r.get(0),
    )
}

fn adopt_seed_table(conn: &Connection) -> Result<(), MigrationError> {
    if !table_exists(conn, "etl_ejecuciones")? {
        return Ok(conn.execute_batch(SEED_TABLE)?);
    }
    refuse_foreign_seed_table(conn)?;
    // A file from the original system: keep its rows and its id default. When the id has no
    // default, give it a sequence that starts after the existing ids.
    if id_default(conn)?.is_none() {
        let next: i64 = conn.query_row(
            "SELECT coalesce(max(id), 0) + 1 FROM etl_ejecuciones",
            [],
            |r| r.get(0),
        )?;
        conn.execute_batch(&format!(
            "CREATE SEQUENCE IF NOT EXISTS klk_seq_etl_ejecuciones START {next};"
        ))?;
    }
    Ok(())
}

fn tracking_core(conn: &Connection) -> Result<(), MigrationError> {
    for (column, ty) in [("pid", "INTEGER"), ("proceso_id", "VARCHAR")] {
        let present: bool = conn.query_row(
            "SELECT count(*) > 0 FROM duckdb_columns() WHERE table_name = 'etl_ejecuciones' AND schema_name = 'main' AND column_name = ?",
            [column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!(
                "ALTER TABLE etl_ejecuciones ADD COLUMN {column} {ty};"
            ))?;
        }
    }
    Ok(conn.execute_batch(TRACKING_TABLES)?)
}

/// Macros and views are logic, not data: (re)created by the latest code after the last
/// pending migration, when every table and column they read exists (DuckDB binds a view when
/// it is created). The summary tables come with them, created empty if missing: an empty
/// summary only makes `klk_resumen` read the whole table until it is built.
pub fn install_logic(conn: &Connection) -> duckdb::Result<()> {
    conn.execute_batch(SUMMARY_TABLES)?;
    for logic in LOGIC {
        conn.execute_batch(logic)?;
    }
    Ok(())
}

/// The id column's default expression, if any (`nextval('...')`); `None` also when the
/// table has no `id` column (another program's table, refused by the migrations). Read with
/// `pragma_table_info`, which looks at this one table (`duckdb_columns()` lists the whole
/// catalog: some 15-40 ms on every command's open).
pub fn id_default(conn: &Connection) -> duckdb::Result<Option<String>> {
    use duckdb::OptionalExt;
    Ok(conn
        .query_row(
            "SELECT dflt_value FROM pragma_table_info('main.etl_ejecuciones') WHERE name = 'id'",
            [],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten())
}

pub const VERSION_TABLE: &str = include_str!("duckdb/version_table.sql");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_by_one_and_the_latest_is_the_last() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                migration.version,
                index as i32 + 1,
                "{}",
                migration.description
            );
        }
        assert_eq!(LATEST_VERSION, MIGRATIONS.len() as i32);
    }

    /// `ventas` as migration 3 created it when its DDL was still written out by hand: files
    /// made then exist, so migration 3 must keep creating exactly this table.
    const VENTAS_AS_WRITTEN_FOR_VERSION_3: &str = r#"
CREATE TABLE IF NOT EXISTS ventas (
    ubicacion_id VARCHAR NOT NULL,
    numero_factura VARCHAR NOT NULL,
    linea INTEGER NOT NULL,
    fecha DATE NOT NULL,
    hora TIME NOT NULL,
    fecha_hora TIMESTAMP NOT NULL,
    codigo_almacen VARCHAR NOT NULL,
    nombre_almacen VARCHAR,
    codigo_producto VARCHAR NOT NULL,
    descripcion_producto VARCHAR,
    marca_producto VARCHAR,
    modelo_producto VARCHAR,
    categoria_producto VARCHAR,
    grupo_articulo VARCHAR,
    subgrupo_producto VARCHAR,
    codigo_barras VARCHAR,
    cantidad_vendida DOUBLE NOT NULL,
    peso_unitario DOUBLE,
    unidad_medida_venta VARCHAR,
    factor_unidad_medida DOUBLE,
    costo_unitario_bs DOUBLE,
    costo_unitario_usd DOUBLE,
    precio_unitario_bs DOUBLE,
    precio_unitario_usd DOUBLE,
    impuesto_porcentaje DOUBLE,
    impuesto_monto_bs DOUBLE,
    porcentaje_descuento DOUBLE,
    monto_descuento DOUBLE,
    venta_total_bs DOUBLE NOT NULL,
    venta_total_usd DOUBLE NOT NULL,
    costo_total_bs DOUBLE,
    costo_total_usd DOUBLE,
    utilidad_bruta_bs DOUBLE,
    utilidad_bruta_usd DOUBLE,
    total_factura DOUBLE,
    tasa_usd DOUBLE,
    es_no_fiscal BOOLEAN,
    tiene_promocion VARCHAR,
    codigo_promocion VARCHAR,
    ejecucion_id INTEGER NOT NULL,
    cargado_en TIMESTAMP NOT NULL,
    PRIMARY KEY (ubicacion_id, numero_factura, linea)
);
"#;

    /// What DuckDB's catalog says of `ventas`: each column, each constraint, and the table
    /// (with its SQL as DuckDB writes it back), one text per row, object ids left out.
    fn ventas_in_catalog(conn: &Connection) -> Vec<String> {
        let queries = [
            "SELECT CAST(c AS VARCHAR) FROM (
                 SELECT * EXCLUDE (database_oid, schema_oid, table_oid) FROM duckdb_columns()
                 WHERE table_name = 'ventas' ORDER BY column_index) c",
            // (constraint_index counts the whole catalog's constraints: its order is kept)
            "SELECT CAST(c AS VARCHAR) FROM (
                 SELECT * EXCLUDE (database_oid, schema_oid, table_oid, constraint_index)
                 FROM duckdb_constraints()
                 WHERE table_name = 'ventas' ORDER BY constraint_index) c",
            "SELECT CAST(t AS VARCHAR) FROM (
                 SELECT * EXCLUDE (database_oid, schema_oid, table_oid) FROM duckdb_tables()
                 WHERE table_name = 'ventas') t",
        ];
        let mut rows = Vec::new();
        for query in queries {
            let mut statement = conn.prepare(query).unwrap();
            let found = statement
                .query_map([], |row| row.get::<_, String>(0))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            assert!(!found.is_empty(), "nothing in the catalog for {query}");
            rows.extend(found);
        }
        rows
    }

    #[test]
    fn migration_3_creates_ventas_exactly_as_it_always_did() {
        let written = Connection::open_in_memory().unwrap();
        written
            .execute_batch(VENTAS_AS_WRITTEN_FOR_VERSION_3)
            .unwrap();
        let migrated = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS.iter().filter(|m| m.version <= 3) {
            (migration.apply)(&migrated).unwrap();
        }

        let expected = ventas_in_catalog(&written);
        // 41 columns; 14 constraints (13 NOT NULL and the key); the table.
        assert_eq!(expected.len(), 41 + 14 + 1, "{expected:#?}");
        assert!(
            expected.iter().any(|row| row.contains("PRIMARY KEY")
                && row.contains("[ubicacion_id, numero_factura, linea]")),
            "{expected:#?}"
        );
        assert_eq!(ventas_in_catalog(&migrated), expected);
        // And the text itself, so that a difference reads plainly.
        assert_eq!(
            create_table(&VENTAS, 3),
            VENTAS_AS_WRITTEN_FOR_VERSION_3.trim_start()
        );
    }

    #[test]
    fn a_column_added_later_makes_the_table_a_new_file_gets() {
        use crate::klk::ventas::Column;

        let column = |name, ty, nullable, key, since| Column {
            name,
            ty,
            nullable,
            key,
            since,
        };
        let table = Table {
            name: "ventas",
            columns: Vec::leak(vec![
                column("ubicacion_id", SqlType::Text, false, true, 3),
                column("linea", SqlType::Integer, false, true, 3),
                column("cantidad_vendida", SqlType::Double, false, false, 3),
                column("descuento_usd", SqlType::Double, true, false, 10),
                column("es_devolucion", SqlType::Boolean, true, false, 10),
            ]),
        };
        let upgraded = Connection::open_in_memory().unwrap();
        upgraded.execute_batch(&create_table(&table, 3)).unwrap();
        upgraded
            .execute_batch("INSERT INTO ventas VALUES ('t1', 1, 2.0)")
            .unwrap();
        upgraded.execute_batch(&add_columns(&table, 10)).unwrap();
        let fresh = Connection::open_in_memory().unwrap();
        fresh.execute_batch(&create_table(&table, 10)).unwrap();

        let columns = |conn: &Connection| {
            let mut statement = conn
                .prepare(
                    "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM duckdb_columns() \
                     WHERE table_name = 'ventas' ORDER BY column_index",
                )
                .unwrap();
            statement
                .query_map([], |row| row.get::<_, String>(0))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        };
        assert_eq!(columns(&upgraded).len(), 5);
        assert_eq!(columns(&upgraded), columns(&fresh));
        assert_eq!(add_columns(&table, 10).lines().count(), 2);
        let kept: (String, Option<f64>) = upgraded
            .query_row("SELECT ubicacion_id, descuento_usd FROM ventas", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(kept, ("t1".to_owned(), None));
    }
}
