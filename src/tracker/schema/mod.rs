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

const SEED_TABLE: &str = include_str!("duckdb/v1_seed_table.sql");

const TRACKING_TABLES: &str = include_str!("duckdb/v2_tracking_tables.sql");

const SUMMARY_TABLES: &str = include_str!("duckdb/v7_summary_tables.sql");

const REFRESH_SUMMARY: &str = include_str!("duckdb/summary_refresh.sql");

const TARGET_TABLES: &str = include_str!("duckdb/v3_target_tables.sql");

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
];

/// The schema version of the last migration: a new migration cannot be forgotten here.
pub const LATEST_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const VERIFICATION_TABLES: &str = include_str!("duckdb/v9_verification.sql");

const INTEGRATION_TABLES: &str = include_str!("duckdb/v10_integrations.sql");

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

fn target_tables(conn: &Connection) -> Result<(), MigrationError> {
    // A table of the same name from another program is the user's: never alter or reuse it.
    for table in ["ventas", "inventario"] {
        refuse_foreign_target_table(conn, table)?;
    }
    Ok(conn.execute_batch(TARGET_TABLES)?)
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
}
