//! Where the tracker lives: a DuckDB file (the default, a path) or a PostgreSQL server (a
//! `postgres://` or `postgresql://` URL), and how to reach and sign in to that server.
//!
//! The password is a [`Secret`]. It comes from, in this order: the URL, `PGPASSWORD`, the
//! `[database] password_file`, then the password file libpq reads (`PGPASSFILE`, else
//! `~/.pgpass`), whose line for this host, port, database and user applies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::duration::HumanDuration;
use crate::secret::Secret;

/// How long connecting to the server may take before the command gives up.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The name a server's `pg_stat_activity` shows for klk-etl's sessions unless the URL says.
pub const DEFAULT_APPLICATION_NAME: &str = "klk-etl";

/// `database` in the file: a path or URL, or a table with the URL and its settings.
#[derive(Debug)]
pub(super) enum FileDatabase {
    Location(String),
    Table(FileDatabaseTable),
}

impl<'de> Deserialize<'de> for FileDatabase {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = FileDatabase;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a DuckDB file's path, a postgres:// URL or a [database] table")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FileDatabase, E> {
                Ok(FileDatabase::Location(v.to_string()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<FileDatabase, A::Error> {
                FileDatabaseTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(FileDatabase::Table)
            }
        }
        deserializer.deserialize_any(Either)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileDatabaseTable {
    /// A path (DuckDB) or a `postgres://` URL.
    url: Option<String>,
    password_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    connect_timeout: Option<HumanDuration>,
    max_runners: Option<i64>,
}

/// What `[database]` sets besides the location (PostgreSQL only).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerSettings {
    pub password_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
    pub max_runners: Option<u32>,
}

impl FileDatabase {
    /// The location and the server settings; `None` when the file leaves the location out.
    pub(super) fn split(self) -> Result<(Option<String>, ServerSettings), String> {
        match self {
            FileDatabase::Location(location) => Ok((Some(location), ServerSettings::default())),
            FileDatabase::Table(table) => {
                let settings = ServerSettings {
                    password_file: table.password_file,
                    ca_file: table.ca_file,
                    connect_timeout: table.connect_timeout.map(|d| d.0),
                    max_runners: match table.max_runners {
                        None => None,
                        Some(n) if (1..=MAX_RUNNERS_LIMIT).contains(&n) => Some(n as u32),
                        Some(n) => {
                            return Err(format!(
                                "database.max_runners must be between 1 and {MAX_RUNNERS_LIMIT}, got {n}"
                            ));
                        }
                    },
                };
                if settings.connect_timeout.is_some_and(|d| d.is_zero()) {
                    return Err("database.connect_timeout must be more than zero".to_string());
                }
                Ok((table.url, settings))
            }
        }
    }
}

/// True when `location` names a PostgreSQL server rather than a DuckDB file.
pub fn is_server_url(location: &str) -> bool {
    let lower = location.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `sslmode`, as libpq reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, not verified; plain otherwise (libpq's default).
    Prefer,
    /// TLS, not verified (with a CA file: verified as `verify-ca`, as libpq does).
    Require,
    /// TLS, the certificate chain verified, not the host name.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Result<SslMode, String> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode '{other}' is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where the password came from (shown by `db info`; the password never is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    Url,
    Environment,
    PasswordFile,
    PgPass,
    None,
}

impl PasswordSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordSource::Url => "url",
            PasswordSource::Environment => "PGPASSWORD",
            PasswordSource::PasswordFile => "password_file",
            PasswordSource::PgPass => "pgpass",
            PasswordSource::None => "none",
        }
    }
}

/// A PostgreSQL server and database, resolved: everything needed to connect.
#[derive(Debug, Clone, PartialEq)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub password: Option<Secret>,
    pub password_source: PasswordSource,
    pub sslmode: SslMode,
    /// Trusted on top of the public roots (`sslrootcert` in the URL, or `[database] ca_file`).
    pub ca_file: Option<PathBuf>,
    pub application_name: String,
    pub connect_timeout: Duration,
    /// How many `run`/`recover` processes may work on this server at once, all hosts
    /// together (`[database] max_runners`).
    pub max_runners: u32,
}

/// Runners at once when `[database] max_runners` is not set.
pub const DEFAULT_MAX_RUNNERS: u32 = 8;
/// The highest `max_runners` accepted (each runner holds one connection).
const MAX_RUNNERS_LIMIT: i64 = 256;

impl PgTarget {
    /// `postgres://user@host:port/dbname`: what messages and `db info` show (no password).
    pub fn display(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!(
            "postgres://{}@{host}:{}/{}",
            self.user, self.port, self.dbname
        )
    }
}

/// What the process environment says about PostgreSQL (read once by the caller).
#[derive(Debug, Clone, Default)]
pub struct PgEnv {
    /// `PGPASSWORD`.
    pub password: Option<Secret>,
    /// `PGPASSFILE`.
    pub passfile: Option<PathBuf>,
    /// `HOME`, for `~/.pgpass`.
    pub home: Option<PathBuf>,
    /// `PGUSER`, else `USER`: the user when the URL names none.
    pub user: Option<String>,
}

impl PgEnv {
    pub fn from_env() -> PgEnv {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        PgEnv {
            password: var("PGPASSWORD").map(Secret::from),
            passfile: var("PGPASSFILE").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            user: var("PGUSER").or_else(|| var("USER")),
        }
    }
}

/// Reads a `postgres://` URL. Errors name the part that is wrong and never quote the URL
/// (it may hold the password).
pub fn parse_server_url(
    location: &str,
    settings: &ServerSettings,
    env: &PgEnv,
) -> Result<PgTarget, String> {
    let url = url::Url::parse(location.trim())
        .map_err(|e| format!("database URL cannot be read: {e}"))?;
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| "database URL: a percent-encoded part is not UTF-8".to_string())
    };
    let host = match url.host_str() {
        Some(host) if !host.is_empty() => host.trim_start_matches('[').trim_end_matches(']'),
        _ => "localhost",
    };
    if host.contains(',') {
        return Err("database URL: several hosts are not supported; name one".to_string());
    }
    let user = match decode(url.username())? {
        user if !user.is_empty() => user,
        _ => env
            .user
            .clone()
            .ok_or("database URL names no user, and neither PGUSER nor USER is set")?,
    };
    let dbname = match url.path().trim_start_matches('/') {
        "" => user.clone(),
        path => decode(path)?,
    };
    let mut target = PgTarget {
        host: host.to_string(),
        port: url.port().unwrap_or(5432),
        dbname,
        user,
        password: None,
        password_source: PasswordSource::None,
        sslmode: SslMode::Prefer,
        ca_file: settings.ca_file.clone(),
        application_name: DEFAULT_APPLICATION_NAME.to_string(),
        connect_timeout: settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        max_runners: settings.max_runners.unwrap_or(DEFAULT_MAX_RUNNERS),
    };
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "sslmode" => target.sslmode = SslMode::parse(&value)?,
            "sslrootcert" => target.ca_file = Some(PathBuf::from(value.as_ref())),
            "application_name" => target.application_name = value.into_owned(),
            "connect_timeout" => {
                let seconds: u64 = value.parse().ok().filter(|s| *s > 0).ok_or(
                    "database URL: connect_timeout must be a whole number of seconds above 0",
                )?;
                target.connect_timeout = Duration::from_secs(seconds);
            }
            other => {
                return Err(format!(
                    "database URL: parameter '{other}' is not supported (sslmode, sslrootcert, application_name, connect_timeout are)"
                ));
            }
        }
    }
    if target.ca_file.is_some() && target.sslmode == SslMode::Disable {
        return Err("database: a CA file is set but sslmode=disable turns TLS off".to_string());
    }
    if let Some(password) = url.password() {
        target.password = Some(Secret::new(decode(password)?));
        target.password_source = PasswordSource::Url;
    } else if let Some(password) = &env.password {
        target.password = Some(password.clone());
        target.password_source = PasswordSource::Environment;
    } else if let Some(file) = &settings.password_file {
        target.password = Some(read_password_file(file)?);
        target.password_source = PasswordSource::PasswordFile;
    } else if let Some(password) = pgpass_password(&target, env)? {
        target.password = Some(password);
        target.password_source = PasswordSource::PgPass;
    }
    Ok(target)
}

/// The whole file is the password, without its final line break.
fn read_password_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "database.password_file {} cannot be read: {e}",
            path.display()
        )
    })?;
    let password = text.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(format!(
            "database.password_file {} is empty",
            path.display()
        ));
    }
    Ok(Secret::new(password))
}

/// The password of the first line of the libpq password file that matches the target, if
/// the file exists. As libpq does, a file others can read is ignored.
fn pgpass_password(target: &PgTarget, env: &PgEnv) -> Result<Option<Secret>, String> {
    let path = match (&env.passfile, &env.home) {
        (Some(path), _) => path.clone(),
        (None, Some(home)) => home.join(".pgpass"),
        (None, None) => return Ok(None),
    };
    let Ok(metadata) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if !metadata.is_file() || metadata.permissions().mode() & 0o077 != 0 {
            return Ok(None);
        }
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("password file {} cannot be read: {e}", path.display()))?;
    let port = target.port.to_string();
    let wanted = [
        target.host.as_str(),
        port.as_str(),
        target.dbname.as_str(),
        target.user.as_str(),
    ];
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let fields = pgpass_fields(line);
        if fields.len() != 5 {
            continue;
        }
        let host_matches = fields[0] == "*"
            || fields[0] == wanted[0]
            || (fields[0] == "localhost" && matches!(wanted[0], "127.0.0.1" | "::1"));
        if host_matches
            && (1..4).all(|i| fields[i] == "*" || fields[i] == wanted[i])
            && !fields[4].is_empty()
        {
            return Ok(Some(Secret::new(fields[4].clone())));
        }
    }
    Ok(None)
}

/// A `.pgpass` line split on `:`, with `\:` and `\\` unescaped.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' => fields.push(String::new()),
            other => {
                if let Some(field) = fields.last_mut() {
                    field.push(other);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> PgEnv {
        PgEnv {
            user: Some("osuser".into()),
            ..PgEnv::default()
        }
    }

    fn parse(url: &str) -> Result<PgTarget, String> {
        parse_server_url(url, &ServerSettings::default(), &env())
    }

    #[test]
    fn a_full_url_is_read_and_shown_without_its_password() {
        let t = parse("postgresql://klk:s%40cret@db.example:6543/tiendas?sslmode=verify-full&application_name=runner-3&connect_timeout=4&sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(t.host, "db.example");
        assert_eq!(t.port, 6543);
        assert_eq!(t.dbname, "tiendas");
        assert_eq!(t.user, "klk");
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("s@cret"));
        assert_eq!(t.password_source, PasswordSource::Url);
        assert_eq!(t.sslmode, SslMode::VerifyFull);
        assert_eq!(t.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(t.application_name, "runner-3");
        assert_eq!(t.connect_timeout, Duration::from_secs(4));
        assert_eq!(t.display(), "postgres://klk@db.example:6543/tiendas");
        assert!(!format!("{t:?}").contains("cret"));
    }

    #[test]
    fn defaults_follow_libpq() {
        let t = parse("postgres://").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str(), t.dbname.as_str()),
            ("localhost", 5432, "osuser", "osuser")
        );
        assert_eq!(t.sslmode, SslMode::Prefer);
        assert_eq!(t.application_name, "klk-etl");
        assert_eq!(t.password_source, PasswordSource::None);
        assert_eq!(
            parse("postgres://u@[::1]:5/d").unwrap().display(),
            "postgres://u@[::1]:5/d"
        );
    }

    #[test]
    fn unknown_or_bad_parameters_are_refused_without_quoting_the_url() {
        for (url, part) in [
            (
                "postgres://u:pw1@h/d?sslmode=sometimes",
                "sslmode 'sometimes'",
            ),
            (
                "postgres://u:pw1@h/d?target_session_attrs=any",
                "'target_session_attrs'",
            ),
            ("postgres://u:pw1@h/d?connect_timeout=0", "connect_timeout"),
            ("postgres://u:pw1@h1,h2/d", "several hosts"),
            (
                "postgres://u:pw1@h/d?sslmode=disable&sslrootcert=/x",
                "sslmode=disable",
            ),
        ] {
            let err = parse(url).unwrap_err();
            assert!(err.contains(part), "{url}: {err}");
            assert!(!err.contains("pw1"), "{url}: {err}");
        }
    }

    #[test]
    fn the_password_comes_from_the_url_then_pgpassword_then_the_file_then_pgpass() {
        let dir = std::env::temp_dir().join(format!("klk-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let pgpass = dir.join("pgpass");
        std::fs::write(
            &pgpass,
            "# comment\nother:5432:*:*:wrong\ndb.example:5432:tiendas:klk:from\\:pgpass\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let settings = ServerSettings {
            password_file: Some(file.clone()),
            ..ServerSettings::default()
        };
        let mut env = PgEnv {
            password: Some(Secret::from("from-env")),
            passfile: Some(pgpass.clone()),
            ..env()
        };
        let url = "postgres://klk@db.example/tiendas";
        let with = |settings: &ServerSettings, env: &PgEnv| {
            let t = parse_server_url(url, settings, env).unwrap();
            (
                t.password.map(|p| p.expose().to_string()),
                t.password_source,
            )
        };
        assert_eq!(
            parse_server_url(
                "postgres://klk:from-url@db.example/tiendas",
                &settings,
                &env
            )
            .unwrap()
            .password_source,
            PasswordSource::Url
        );
        assert_eq!(
            with(&settings, &env),
            (Some("from-env".into()), PasswordSource::Environment)
        );
        env.password = None;
        assert_eq!(
            with(&settings, &env),
            (Some("from-file".into()), PasswordSource::PasswordFile)
        );
        let no_file = ServerSettings::default();
        assert_eq!(
            with(&no_file, &env),
            (Some("from:pgpass".into()), PasswordSource::PgPass)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(
                with(&no_file, &env),
                (None, PasswordSource::None),
                "a world-readable pgpass is ignored"
            );
        }
        let missing = ServerSettings {
            password_file: Some(dir.join("missing")),
            ..ServerSettings::default()
        };
        assert!(
            parse_server_url(url, &missing, &env)
                .unwrap_err()
                .contains("password_file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn server_urls_are_told_from_paths() {
        assert!(is_server_url("postgres://h/d"));
        assert!(is_server_url("PostgreSQL://h/d"));
        assert!(!is_server_url("data/klk.duckdb"));
        assert!(!is_server_url("postgres.duckdb"));
    }
}
