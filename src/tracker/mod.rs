//! The tracking core: the database file, its schema, executions, coverage and gaps,
//! metrics, purge and unstick. No clap and no printing here: plain options in, data out.

pub mod copy;
pub mod coverage;
pub mod engine;
pub mod executions;
pub mod gaps;
pub mod gate;
pub mod integrations;
pub mod invocations;
pub mod metrics;
pub mod postgres;
pub mod process;
pub mod purge;
pub mod registry;
pub mod schema;
mod sql;
pub mod unstick;
pub mod verification;
pub mod vocab;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duckdb::{AccessMode, Connection};

use crate::backoff::Backoff;
use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error(
        "database {path} is locked by another process ({holder}); gave up after {waited_secs:.0}s (see --lock-timeout)"
    )]
    Busy {
        path: PathBuf,
        holder: String,
        waited_secs: f64,
    },
    #[error("cannot use database {path}: {detail}")]
    Unusable { path: PathBuf, detail: String },
    #[error(
        "database {path} has schema version {found}, newer than this klk-etl understands ({supported}); upgrade klk-etl"
    )]
    TooNew {
        path: PathBuf,
        found: i32,
        supported: i32,
    },
    #[error(
        "execution {id} is no longer en_proceso (it is '{estado}'): it was finished elsewhere (e.g. unstuck); not overwriting it"
    )]
    NotInProgress { id: i64, estado: String },
    #[error("execution {0} does not exist")]
    NoSuchExecution(i64),
    #[error("database error: {0}")]
    Sql(#[from] duckdb::Error),
    /// A PostgreSQL server that cannot be reached, signed in to or used (never quotes the password).
    #[error("cannot use database {target}: {detail}")]
    Server { target: String, detail: String },
    #[error("database error: {0}")]
    Postgres(String),
    /// `[database] max_runners` runners already work on the server.
    #[error(
        "{max} klk-etl runners already work on {target} (database.max_runners = {max}): {holders}; waited {waited_secs:.0}s, skipping this run"
    )]
    RunnersBusy {
        target: String,
        max: u32,
        holders: String,
        waited_secs: f64,
    },
    /// A row that does not have the shape the query promised: a defect.
    #[error("database answered unexpectedly: {0}")]
    Unexpected(String),
}

impl TrackerError {
    fn unusable(path: &Path, detail: impl std::fmt::Display) -> Self {
        TrackerError::Unusable {
            path: path.to_path_buf(),
            detail: one_line(&detail.to_string()),
        }
    }
}

/// DuckDB messages span several lines; errors here are printed on one.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The ceiling of the first wait after a lock conflict (the crate's backoff: it doubles up
/// to `MAX_RETRY`, each wait drawn below it). A short cap: a
/// writer waiting behind the gate looks often enough to get in soon after the last reader
/// in flight closes the file, and a reader soon after a write phase.
const FIRST_RETRY: Duration = Duration::from_millis(20);
const MAX_RETRY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read-only: several readers can share the file.
    Read,
    /// Read-write: one process at a time; keep it short.
    Write,
}

/// An open, migrated, synchronised tracker database of either engine.
#[derive(Debug)]
pub enum Database {
    DuckDb(Db),
    Postgres(Box<postgres::PgDb>),
}

impl Database {
    /// Opens the configured database (a DuckDB file or a PostgreSQL server), as
    /// [`Db::open`] does for a file.
    pub fn open(
        config: &Config,
        access: Access,
        now_utc: chrono::DateTime<chrono::Utc>,
    ) -> Result<Database, TrackerError> {
        match &config.postgres {
            Some(target) => Ok(Database::Postgres(Box::new(postgres::PgDb::open(
                target, config, now_utc,
            )?))),
            None => Ok(Database::DuckDb(Db::open(config, access, now_utc)?)),
        }
    }

    /// Connects for a short write to a database the caller has already opened (migrated)
    /// once: a DuckDB file waits for its lock as [`Db::connect`] does.
    pub fn connect(config: &Config) -> Result<Database, TrackerError> {
        match &config.postgres {
            Some(target) => Ok(Database::Postgres(Box::new(postgres::PgDb::connect(
                target,
            )?))),
            None => Ok(Database::DuckDb(Db::connect(
                &config.database,
                Access::Write,
                config.tracking.lock_timeout,
            )?)),
        }
    }

    /// The session the tracker core's functions take.
    pub fn session(&mut self) -> engine::Session<'_> {
        match self {
            Database::DuckDb(db) => engine::Session::DuckDb(&db.conn),
            Database::Postgres(db) => db.session(),
        }
    }

    /// Warnings from opening (a read-only DuckDB file).
    pub fn warnings(&self) -> &[String] {
        match self {
            Database::DuckDb(db) => &db.warnings,
            Database::Postgres(db) => &db.warnings,
        }
    }
}

/// An open, migrated, synchronised tracker database.
pub struct Db {
    conn: Connection,
    path: PathBuf,
    access: Access,
    /// How to produce a new execution id: `None` uses the column default.
    id_sequence: Option<&'static str>,
    /// Set when the file could not be migrated or synchronised because it is read-only.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.path)
            .field("access", &self.access)
            .finish()
    }
}

impl Db {
    /// Opens the configured database for a command: creates it on first use, migrates it and
    /// brings the store registry in line with the configuration (a short write), then hands
    /// back a connection with the access asked for, after checking that the file holds every
    /// block it uses (a truncated file is refused by every command alike, never read in part).
    pub fn open(
        config: &Config,
        access: Access,
        now_utc: chrono::DateTime<chrono::Utc>,
    ) -> Result<Db, TrackerError> {
        let db = Db::open_unchecked(config, access, now_utc)?;
        db.check_intact(access == Access::Write)?;
        Ok(db)
    }

    fn open_unchecked(
        config: &Config,
        access: Access,
        now_utc: chrono::DateTime<chrono::Utc>,
    ) -> Result<Db, TrackerError> {
        let path = config.database.clone();
        let lock_timeout = config.tracking.lock_timeout;
        if path.is_dir() {
            return Err(TrackerError::unusable(
                &path,
                "it is a directory, not a DuckDB file",
            ));
        }
        if !path.exists()
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                TrackerError::unusable(
                    &path,
                    format!("cannot create directory {}: {e}", parent.display()),
                )
            })?;
        }
        if access == Access::Write || !path.exists() {
            let db = Db::connect(&path, Access::Write, lock_timeout)?;
            db.prepare(config, now_utc)?;
            if access == Access::Write {
                return Ok(db);
            }
            drop(db);
            return Db::connect(&path, Access::Read, lock_timeout);
        }

        let mut db = Db::connect(&path, Access::Read, lock_timeout)?;
        let needs_write = db.schema_version()? < schema::LATEST_VERSION
            || registry::needs_sync(&mut engine::Session::DuckDb(&db.conn), config, now_utc)?;
        if !needs_write {
            return Ok(db);
        }
        drop(db);
        match Db::connect(&path, Access::Write, lock_timeout) {
            Ok(rw) => {
                rw.prepare(config, now_utc)?;
                drop(rw);
                Db::connect(&path, Access::Read, lock_timeout)
            }
            Err(TrackerError::Unusable { detail, .. }) => {
                db = Db::connect(&path, Access::Read, lock_timeout)?;
                if db.schema_version()? < schema::LATEST_VERSION {
                    return Err(TrackerError::unusable(
                        &path,
                        format!(
                            "it needs a schema migration but cannot be opened for writing: {detail}"
                        ),
                    ));
                }
                db.warnings.push(format!(
                    "database {} is read-only: store registry not updated from the configuration",
                    path.display()
                ));
                Ok(db)
            }
            Err(other) => Err(other),
        }
    }

    /// Opens the file as it is (no migration), retrying while another process holds the lock.
    pub fn connect(
        path: &Path,
        access: Access,
        lock_timeout: Duration,
    ) -> Result<Db, TrackerError> {
        // DuckDB would block forever opening a FIFO.
        if path.exists() && !path.is_file() && !path.is_dir() {
            return Err(TrackerError::unusable(
                path,
                "it is not a regular file (a FIFO, socket or device), not a DuckDB file",
            ));
        }
        let started = Instant::now();
        let deadline = started + lock_timeout;
        let backoff = Backoff {
            base: FIRST_RETRY,
            max: MAX_RETRY,
        };
        let mut retries = 0;
        let mut rng = fastrand::Rng::new();
        // A writer that met a conflict holds the gate (see `gate`) until it gets in.
        let mut writer_gate = None;
        // A reader that met a conflict says it waits, until it gets in or gives up.
        let mut waiting_reader = None;
        loop {
            // A reader passes the gate for the moment of its open: it waits while a writer
            // waits, instead of keeping the writer out. At its deadline it tries the file
            // once more anyway: the gate never fails a reader the file would let in, and a
            // give-up names the process that holds the file.
            let reader_gate = match access {
                Access::Read => gate::enter_shared(path, deadline).unwrap_or(None),
                Access::Write => None,
            };
            let attempt = try_connect(path, access);
            drop(reader_gate);
            match attempt {
                Ok(conn) => {
                    drop(writer_gate);
                    drop(waiting_reader);
                    let mut db = Db {
                        conn,
                        path: path.to_path_buf(),
                        access,
                        id_sequence: None,
                        warnings: Vec::new(),
                    };
                    db.id_sequence = db.detect_id_sequence()?;
                    return Ok(db);
                }
                Err(err) => {
                    let message = err.to_string();
                    if !is_lock_conflict(&message) {
                        return Err(TrackerError::unusable(path, explain_open_error(&message)));
                    }
                    if started.elapsed() >= lock_timeout {
                        return Err(TrackerError::Busy {
                            path: path.to_path_buf(),
                            holder: lock_holder(&message),
                            waited_secs: started.elapsed().as_secs_f64(),
                        });
                    }
                    if access == Access::Read && waiting_reader.is_none() {
                        waiting_reader = gate::announce_waiting_reader(path);
                    }
                    if access == Access::Write && writer_gate.is_none() {
                        // Close the gate to new readers (`Some(None)`: no gate to be had, or
                        // another writer kept it until the deadline), then retry at once:
                        // the wait may have been long, and the readers in flight gone.
                        writer_gate = Some(gate::enter_exclusive(path, deadline).unwrap_or(None));
                        continue;
                    }
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    retries += 1;
                    std::thread::sleep(backoff.delay(retries, &mut rng).min(remaining));
                }
            }
        }
    }

    fn prepare(
        &self,
        config: &Config,
        now_utc: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), TrackerError> {
        self.migrate()?;
        registry::sync(&mut engine::Session::DuckDb(&self.conn), config, now_utc)?;
        Ok(())
    }

    /// Refuses a file shorter than the blocks it uses (cut by a full disk, a bad copy or a
    /// crash of the file system): DuckDB opens such a file and answers every query that only
    /// touches the blocks still there, so a reader would print partial data without a word.
    /// The file holds a 12 KiB header, then whole blocks. Always checked (under a ms): the
    /// count of used blocks and the metadata blocks fit in the file. `thorough` (writers, once
    /// per command, and `db info`) also checks every table's data blocks: a few ms per table,
    /// more on a large `ventas`.
    pub fn check_intact(&self, thorough: bool) -> Result<(), TrackerError> {
        const HEADER_BYTES: u64 = 3 * 4096;
        let file_bytes = match std::fs::metadata(&self.path) {
            Ok(meta) => meta.len(),
            Err(_) => return Ok(()),
        };
        let (block_size, used_blocks): (i64, i64) = self.conn.query_row(
            "SELECT block_size, used_blocks FROM pragma_database_size()",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if block_size <= 0 || file_bytes == 0 {
            return Ok(());
        }
        let blocks_in_file = file_bytes.saturating_sub(HEADER_BYTES) / block_size as u64;
        let check = |needed: i64| {
            if needed <= 0 || needed as u64 <= blocks_in_file {
                return Ok(());
            }
            Err(TrackerError::unusable(
                &self.path,
                format!(
                    "the file is truncated or damaged: it holds {blocks_in_file} blocks of {block_size} bytes but uses at least {needed}; restore it from a backup (see docs/runbook.md)"
                ),
            ))
        };
        check(used_blocks)?;
        let last_metadata: Option<i64> = self.conn.query_row(
            "SELECT max(block_id) FROM pragma_metadata_info() WHERE block_id >= 0",
            [],
            |r| r.get(0),
        )?;
        check(last_metadata.map_or(0, |last| last + 1))?;
        if !thorough {
            return Ok(());
        }
        let mut tables = self.conn.prepare(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary",
        )?;
        let tables: Vec<String> = tables
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for table in tables {
            let last_block: Option<i64> = self.conn.query_row(
                "SELECT max(block_id) FROM pragma_storage_info(?) WHERE persistent AND block_id >= 0",
                [&table],
                |r| r.get(0),
            )?;
            check(last_block.map_or(0, |last| last + 1))?;
        }
        Ok(())
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn access(&self) -> Access {
        self.access
    }

    pub(crate) fn id_sequence(&self) -> Option<&'static str> {
        self.id_sequence
    }

    /// Whether `main.<table>` exists. Called on every open, outside any transaction:
    /// `pragma_table_info` looks up one catalog entry (under 1 ms), where `duckdb_tables()`
    /// costs about 10 ms on each new connection. A missing table makes the pragma fail; the
    /// catalog listing then gives the answer.
    fn has_table(&self, table: &'static str) -> Result<bool, TrackerError> {
        let columns = self.conn.query_row(
            &format!("SELECT count(*) FROM pragma_table_info('main.{table}')"),
            [],
            |r| r.get::<_, i64>(0),
        );
        if let Ok(columns) = columns {
            return Ok(columns > 0);
        }
        Ok(schema::table_exists(&self.conn, table)?)
    }

    fn detect_id_sequence(&self) -> Result<Option<&'static str>, TrackerError> {
        let has_table = self.has_table("etl_ejecuciones")?;
        if !has_table || schema::id_default(&self.conn)?.is_some() {
            return Ok(None);
        }
        Ok(Some("klk_seq_etl_ejecuciones"))
    }

    /// 0 for a file klk-etl never migrated (empty, or made by the original system).
    pub fn schema_version(&self) -> Result<i32, TrackerError> {
        if !self.has_table("etl_schema_version")? {
            return Ok(0);
        }
        let version: Option<i32> =
            self.conn
                .query_row("SELECT max(version) FROM etl_schema_version", [], |r| {
                    r.get(0)
                })?;
        let version = version.unwrap_or(0);
        if version > schema::LATEST_VERSION {
            return Err(TrackerError::TooNew {
                path: self.path.clone(),
                found: version,
                supported: schema::LATEST_VERSION,
            });
        }
        Ok(version)
    }

    /// Applies the pending migrations, all in one transaction, after checking that none of
    /// them would refuse the file: a file klk-etl will not adopt (another program's table of
    /// the same name) is left exactly as it was, and a migration that fails half-way leaves
    /// nothing behind. Returns those applied.
    pub fn migrate(&self) -> Result<Vec<(i32, &'static str)>, TrackerError> {
        let current = self.schema_version()?;
        let mut applied = Vec::new();
        if current >= schema::LATEST_VERSION {
            return Ok(applied);
        }
        schema::check_adoptable(&self.conn, current)
            .map_err(|err| TrackerError::unusable(&self.path, err))?;
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let result = (|| {
            self.conn.execute_batch(schema::VERSION_TABLE)?;
            for migration in schema::MIGRATIONS.iter().filter(|m| m.version > current) {
                (migration.apply)(&self.conn)
                    .and_then(|_| {
                        self.conn
                            .execute(
                                "INSERT INTO etl_schema_version VALUES (?, ?, make_timestamp(epoch_us(now())))",
                                duckdb::params![migration.version, migration.description],
                            )
                            .map_err(schema::MigrationError::from)
                    })
                    .map_err(|err| {
                        TrackerError::unusable(
                            &self.path,
                            format!("migration {} failed: {err}", migration.version),
                        )
                    })?;
                applied.push((migration.version, migration.description));
            }
            schema::install_logic(&self.conn).map_err(|err| {
                TrackerError::unusable(
                    &self.path,
                    format!("installing the gap and metric logic failed: {err}"),
                )
            })?;
            Ok::<_, TrackerError>(())
        })();
        match result {
            Ok(()) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(applied)
            }
            Err(err) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(err)
            }
        }
    }
}

fn try_connect(path: &Path, access: Access) -> duckdb::Result<Connection> {
    let mode = match access {
        Access::Read => AccessMode::ReadOnly,
        Access::Write => AccessMode::ReadWrite,
    };
    // Never download an extension at run time: a missing one must be a clear error.
    let config = duckdb::Config::default()
        .access_mode(mode)?
        .enable_autoload_extension(false)?
        .with("autoinstall_known_extensions", "false")?;
    Connection::open_with_flags(path, config)
}

fn is_lock_conflict(message: &str) -> bool {
    message.contains("Could not set lock") || message.contains("Conflicting lock")
}

/// "Conflicting lock is held in /usr/bin/klk-etl (PID 1234)" → "held by /usr/bin/klk-etl (PID 1234)".
fn lock_holder(message: &str) -> String {
    match message.find("Conflicting lock is held in") {
        Some(at) => {
            let rest = &message[at + "Conflicting lock is held in".len()..];
            let end = rest.find(". ").unwrap_or(rest.len());
            format!("held by {}", one_line(&rest[..end]).trim_end_matches('.'))
        }
        None => "lock held elsewhere".to_string(),
    }
}

fn explain_open_error(message: &str) -> String {
    let line = one_line(message);
    if line.contains("not a valid DuckDB database file") || line.contains("The file is not a valid")
    {
        return format!("not a DuckDB database file ({line})");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_holder_names_the_program_and_pid() {
        let message = "IO Error: Could not set lock on file \"/tmp/x.duckdb\": Conflicting lock is held in /usr/bin/klk-etl (PID 4242) by user root. See also https://duckdb.org/docs/connect/concurrency";
        let holder = lock_holder(message);
        assert!(holder.contains("/usr/bin/klk-etl (PID 4242)"), "{holder}");
        assert!(is_lock_conflict(message));
    }
}
