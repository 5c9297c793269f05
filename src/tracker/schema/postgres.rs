//! PostgreSQL's dialect of the schema: the same tables, columns, keys, views and migration
//! versions as DuckDB's (`MIGRATIONS` gives both their descriptions), in the files under
//! `postgres/`. How they are applied is in `postgres/000_schema_version.sql`; the gap, metric,
//! verification and summary logic is `postgres/logic.sql` (functions and views), installed
//! after the last pending migration. tests/pg/equality.py proves it answers what DuckDB's
//! macros answer.

/// The version table, created before anything else.
pub const VERSION_TABLE: &str = include_str!("postgres/000_schema_version.sql");

/// The functions and views, (re)installed after migrations.
pub const LOGIC: &str = include_str!("postgres/logic.sql");

/// What each version adds, in order; a version may add nothing here (only logic).
pub const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("postgres/001_seed_table.sql")),
    (2, include_str!("postgres/002_tracking_core.sql")),
    (3, include_str!("postgres/003_target_tables.sql")),
    (4, include_str!("postgres/004_gaps_ultimo_intento.sql")),
    (5, include_str!("postgres/005_monitoring_tables.sql")),
    (6, include_str!("postgres/006_gaps_intentos_tras_exito.sql")),
    (7, include_str!("postgres/007_summary.sql")),
    (8, include_str!("postgres/008_gaps_by_slot_index.sql")),
    (9, include_str!("postgres/009_verification.sql")),
    (10, include_str!("postgres/010_integrations.sql")),
    (11, include_str!("postgres/011_requested_by.sql")),
    (12, include_str!("postgres/012_ventas_by_day.sql")),
    (13, include_str!("postgres/013_hook_variables.sql")),
    (14, include_str!("postgres/014_metrics_by_day.sql")),
    (15, include_str!("postgres/015_exact_mean_duration.sql")),
    (16, include_str!("postgres/016_coverage_by_day.sql")),
];

/// True when the file holds a statement (not only comments).
pub fn has_statements(sql: &str) -> bool {
    sql.lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .any(|code| !code.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_have_the_same_versions() {
        let duckdb: Vec<i32> = super::super::MIGRATIONS.iter().map(|m| m.version).collect();
        let postgres: Vec<i32> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
        assert_eq!(duckdb, postgres);
    }

    #[test]
    fn comment_only_files_have_no_statements() {
        assert!(!has_statements("-- only a note\n\n-- another\n"));
        assert!(has_statements("-- note\nCREATE INDEX i ON t (c);\n"));
    }
}
