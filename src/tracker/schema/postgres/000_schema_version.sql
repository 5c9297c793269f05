-- PostgreSQL dialect of klk-etl's schema (see src/tracker/schema.rs for DuckDB's).
--
-- How these files are applied, in one transaction (PostgreSQL's DDL is transactional, so a
-- refused or failed migration leaves the database exactly as it was):
--   1. this file (the version table);
--   2. every NNN_*.sql whose NNN is above max(etl_schema_version.version), in order, each
--      followed by INSERT INTO etl_schema_version VALUES (NNN, <description>, now UTC);
--   3. logic.sql, once, after the last pending migration (functions and views).
-- Several runners may start at the same second: take an advisory transaction lock first and
-- read the version after it (see the note in logic.sql's header).
-- Objects are created in the first schema of the search_path (usually public), unqualified,
-- as on DuckDB.

CREATE TABLE IF NOT EXISTS etl_schema_version (
    version INTEGER PRIMARY KEY,
    descripcion VARCHAR NOT NULL,
    aplicada TIMESTAMP NOT NULL
);
