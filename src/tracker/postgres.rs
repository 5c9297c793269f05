//! The PostgreSQL engine: connecting (TLS as `sslmode` asks, the password a secret) and the
//! schema's migrations. See docs/database.md.

use std::path::PathBuf;
use std::time::Duration;

use postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::TrackerError;
use super::engine::Session;
use super::{registry, schema};
use crate::config::Config;
use crate::config::database::{PgTarget, SslMode};
use crate::net::tls;

/// Two numbers that name klk-etl's advisory lock for migrations (`hashtext('klk-etl')`, 0):
/// runners started at the same second migrate once, one after the other.
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('klk-etl'), 0)";

/// A session on the server, with the target it came from.
pub struct PgDb {
    client: Client,
    target: PgTarget,
    /// Set when the store registry could not be updated because the session may not write.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for PgDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDb")
            .field("target", &self.target.display())
            .finish()
    }
}

/// One migration applied: its version and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i32,
    pub description: &'static str,
}

impl PgDb {
    /// Connects without touching the schema.
    pub fn connect(target: &PgTarget) -> Result<PgDb, TrackerError> {
        let mut config = postgres::Config::new();
        config
            .host(&target.host)
            .port(target.port)
            .dbname(&target.dbname)
            .user(&target.user)
            .application_name(&target.application_name)
            .connect_timeout(target.connect_timeout)
            // A runner whose host vanishes is noticed by the server's own keepalives; these
            // make this side notice a server that vanished (about a minute).
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
        if let Some(password) = &target.password {
            config.password(password.expose());
        }
        let unusable = |detail: String| TrackerError::Server {
            target: target.display(),
            detail,
        };
        let tls = match target.sslmode {
            SslMode::Disable => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
            mode => {
                config.ssl_mode(if mode == SslMode::Prefer {
                    postgres::config::SslMode::Prefer
                } else {
                    postgres::config::SslMode::Require
                });
                Some(MakeRustlsConnect::new(
                    tls_config(target).map_err(unusable)?,
                ))
            }
        };
        // The client's connect_timeout bounds reaching the socket only: a listener that
        // accepts and never answers (a black-holing proxy, a hung server) would hold the
        // handshake forever. The whole connection gets the deadline here; a handshake still
        // stuck past it is left to its thread, which the process outlives or abandons.
        let (sender, receiver) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("klk-etl pg connect".to_string())
            .spawn(move || {
                let _ = sender.send(match tls {
                    None => config.connect(NoTls),
                    Some(tls) => config.connect(tls),
                });
            });
        if let Err(e) = spawned {
            return Err(unusable(format!("cannot start connecting: {e}")));
        }
        let deadline = target.connect_timeout + Duration::from_millis(500);
        let connected = receiver.recv_timeout(deadline).map_err(|_| {
            unusable(format!(
                "timed out: the server accepted the connection but did not answer within {} s",
                target.connect_timeout.as_secs()
            ))
        })?;
        let mut client = connected.map_err(|e| unusable(describe(&e)))?;
        // klk-etl's reads are many short queries whose row estimates (a generate_series, a
        // probe per store) can look huge to the planner: compiling one with JIT took longer
        // than running it (0.6 s for health's 5 ms of work at 100 stores).
        client
            .batch_execute("SET jit = off")
            .map_err(|e| unusable(describe(&e)))?;
        Ok(PgDb {
            client,
            target: target.clone(),
            warnings: Vec::new(),
        })
    }

    /// Connects, brings the schema up to date and the store registry in line with the
    /// configuration (as every command does on first use, on either engine).
    pub fn open(
        target: &PgTarget,
        config: &Config,
        now_utc: chrono::DateTime<chrono::Utc>,
    ) -> Result<PgDb, TrackerError> {
        Ok(PgDb::open_migrating(target, config, now_utc)?.0)
    }

    /// [`PgDb::open`], also telling the version found (read under the migration lock, so
    /// of runners started together only one finds the old one) and what was applied.
    pub fn open_migrating(
        target: &PgTarget,
        config: &Config,
        now_utc: chrono::DateTime<chrono::Utc>,
    ) -> Result<(PgDb, i32, Vec<Applied>), TrackerError> {
        let mut db = PgDb::connect(target)?;
        let (found, applied) = db.migrate()?;
        match registry::sync(&mut db.session(), config, now_utc) {
            Ok(()) => {}
            // A reader's role or a read-only session (a standby): read what is there, as a
            // read-only DuckDB file is read.
            Err(TrackerError::Postgres(message))
                if message.contains("SQLSTATE 25006") || message.contains("SQLSTATE 42501") =>
            {
                db.warnings.push(format!(
                    "database {} may not be written by this session: store registry not updated from the configuration",
                    target.display()
                ));
            }
            Err(other) => return Err(other),
        }
        Ok((db, found, applied))
    }

    /// The session the tracker core's functions take.
    pub fn session(&mut self) -> Session<'_> {
        Session::Postgres(&mut self.client)
    }

    pub fn target(&self) -> &PgTarget {
        &self.target
    }

    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// What cancels, from another thread, the statement this connection is running.
    pub fn canceller(&self) -> Canceller {
        Canceller {
            token: self.client.cancel_token(),
            target: self.target.clone(),
        }
    }

    /// The schema version recorded, 0 for a database klk-etl never touched.
    pub fn schema_version(&mut self) -> Result<i32, TrackerError> {
        let exists: bool = self
            .client
            .query_one("SELECT to_regclass('etl_schema_version') IS NOT NULL", &[])
            .map_err(sql_error)?
            .get(0);
        if !exists {
            return Ok(0);
        }
        let row = self
            .client
            .query_one(
                "SELECT coalesce(max(version), 0) FROM etl_schema_version",
                &[],
            )
            .map_err(sql_error)?;
        Ok(row.get(0))
    }

    /// Applies the pending migrations and then the logic, in one transaction (PostgreSQL's
    /// DDL is transactional: a failed migration leaves the database as it was). Refuses a
    /// database migrated by a newer klk-etl.
    pub fn migrate(&mut self) -> Result<(i32, Vec<Applied>), TrackerError> {
        let display = self.target.display();
        // Up to date (every command's case): nothing to take or write, so a role that may
        // only read, or a read-only session, can use the database.
        let found = self.schema_version()?;
        if found > schema::LATEST_VERSION {
            return Err(TrackerError::TooNew {
                path: PathBuf::from(display),
                found,
                supported: schema::LATEST_VERSION,
            });
        }
        if found == schema::LATEST_VERSION {
            return Ok((found, Vec::new()));
        }
        let mut tx = self.client.transaction().map_err(sql_error)?;
        tx.batch_execute(MIGRATION_LOCK).map_err(sql_error)?;
        tx.batch_execute(schema::postgres::VERSION_TABLE)
            .map_err(sql_error)?;
        let current: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM etl_schema_version",
                &[],
            )
            .map_err(sql_error)?
            .get(0);
        if current > schema::LATEST_VERSION {
            return Err(TrackerError::TooNew {
                path: PathBuf::from(display),
                found: current,
                supported: schema::LATEST_VERSION,
            });
        }
        let mut applied = Vec::new();
        for (version, sql) in schema::postgres::MIGRATIONS {
            if *version <= current {
                continue;
            }
            let description = schema::MIGRATIONS
                .iter()
                .find(|m| m.version == *version)
                .map_or("", |m| m.description);
            if schema::postgres::has_statements(sql) {
                tx.batch_execute(sql).map_err(|e| {
                    TrackerError::Postgres(format!("migration {version} failed: {}", describe(&e)))
                })?;
            }
            tx.execute(
                "INSERT INTO etl_schema_version VALUES ($1, $2, now() AT TIME ZONE 'UTC')",
                &[version, &description],
            )
            .map_err(sql_error)?;
            applied.push(Applied {
                version: *version,
                description,
            });
        }
        if !applied.is_empty() {
            tx.batch_execute(schema::postgres::LOGIC).map_err(|e| {
                TrackerError::Postgres(format!("installing the logic failed: {}", describe(&e)))
            })?;
        }
        tx.commit().map_err(sql_error)?;
        if !applied.is_empty() {
            // What the migrations made derived (the kept metrics and coverage, versions 14 to
            // 16) is kept again at once rather than by the next runs' refreshes. An
            // optimisation only: readers are right without, and it gives up while anyone writes.
            let _ = self
                .client
                .batch_execute("SELECT klk_refrescar_resumen(false)");
        }
        Ok((current, applied))
    }
}

/// `text` as PostgreSQL can store it: its text types cannot hold NUL, so each NUL becomes
/// U+FFFD (the replacement character). DuckDB keeps the NUL; nothing else differs. A line
/// whose invoice number holds one is so kept, not refused, and stays one distinct key.
pub fn storable_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Cancels the statement a connection is running (a new connection to the server asks it to,
/// over TLS as the connection's `sslmode` says).
pub struct Canceller {
    token: postgres::CancelToken,
    target: PgTarget,
}

impl Canceller {
    /// Best effort: a statement that ends meanwhile, or a server out of reach, is not an error.
    pub fn cancel(&self) {
        let _ = match self.target.sslmode {
            SslMode::Disable => self.token.cancel_query(NoTls),
            _ => match tls_config(&self.target) {
                Ok(tls) => self.token.cancel_query(MakeRustlsConnect::new(tls)),
                Err(_) => return,
            },
        };
    }
}

/// The TLS set-up `sslmode` asks for (libpq's meanings; see docs/database.md).
fn tls_config(target: &PgTarget) -> Result<rustls::ClientConfig, String> {
    let ca_error = |e: tls::CaFileError| e.to_string();
    match (target.sslmode, target.ca_file.as_deref()) {
        (SslMode::VerifyFull, ca_file) => Ok((*tls::client_config(ca_file).map_err(ca_error)?).clone()),
        (SslMode::VerifyCa | SslMode::Require | SslMode::Prefer, Some(ca_file)) => {
            tls::client_config_chain_only(ca_file).map_err(ca_error)
        }
        (SslMode::VerifyCa, None) => Err(
            "sslmode=verify-ca needs the server's CA: give it as sslrootcert in the URL or database.ca_file"
                .to_string(),
        ),
        (SslMode::Require | SslMode::Prefer, None) | (SslMode::Disable, _) => {
            tls::client_config_unverified().map_err(ca_error)
        }
    }
}

/// A server error as one line: the server's message and SQLSTATE, or what failed on the way
/// (refused, timed out, TLS), without the password (the server never echoes it, nor do we).
pub fn describe(err: &postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        return format!("{} (SQLSTATE {})", db.message(), db.code().code());
    }
    if let Some(tls) = tls::describe_chain(err) {
        return tls;
    }
    // The client's own message names the step ("error connecting to server"); its causes
    // say why (refused, timed out, "password missing").
    let mut text = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = inner.source();
    }
    super::one_line(&text)
}

pub(crate) fn sql_error(err: postgres::Error) -> TrackerError {
    let io = std::error::Error::source(&err).is_some_and(|cause| cause.is::<std::io::Error>());
    if err.is_closed() || io {
        return TrackerError::Postgres(format!("the server connection failed: {}", describe(&err)));
    }
    TrackerError::Postgres(describe(&err))
}
