//! The configuration file (`klk-etl.toml`), its defaults and validation.
//!
//! Precedence, resolved once in `cli::Ctx`: defaults < file < environment < flags.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::duration::HumanDuration;
use crate::net::proxy::{ProxyConfig, ProxyEnv};
use crate::secret::Secret;

pub mod database;
mod integrations;

pub use integrations::{
    CheckinService, CheckinSettings, EmailChannel, Hook, HookAction, HookSettings, JsonChannel,
    RunSummary, WebhookChannel,
};

pub const DEFAULT_CONFIG_FILE: &str = "klk-etl.toml";
pub const DEFAULT_DATABASE: &str = "data/klk-etl.duckdb";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The file as written by the user. Every field is optional; unknown keys are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database: Option<database::FileDatabase>,
    timezone: Option<String>,
    #[serde(default)]
    api: FileApi,
    #[serde(default)]
    tracking: FileTracking,
    #[serde(default)]
    verification: FileVerification,
    #[serde(default)]
    monitoring: FileMonitoring,
    #[serde(default)]
    alerts: FileAlerts,
    #[serde(default)]
    proxy: integrations::FileProxy,
    #[serde(default)]
    checkins: Vec<integrations::FileCheckin>,
    #[serde(default)]
    hooks: integrations::FileHooks,
    #[serde(default)]
    serve: FileServe,
    #[serde(default)]
    stores: Vec<FileStore>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServe {
    listen: Option<String>,
    token: Option<String>,
    token_name: Option<String>,
    token_file: Option<PathBuf>,
    read_requires_token: Option<bool>,
    allowed_hosts: Option<Vec<String>>,
    cors_origins: Option<Vec<String>>,
    secure_cookie: Option<bool>,
    session_ttl: Option<HumanDuration>,
    recover_per_minute: Option<u32>,
    cache_ttl: Option<HumanDuration>,
    lock_timeout: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMonitoring {
    run_interval: Option<HumanDuration>,
    last_run_warning: Option<HumanDuration>,
    last_run_critical: Option<HumanDuration>,
    gaps_warning: Option<u32>,
    gaps_critical: Option<u32>,
    gap_age_warning: Option<HumanDuration>,
    gap_age_critical: Option<HumanDuration>,
    success_window: Option<u32>,
    success_rate_warning: Option<f64>,
    success_rate_critical: Option<f64>,
    stuck_warning: Option<u32>,
    stuck_critical: Option<u32>,
    inventory_age_warning: Option<HumanDuration>,
    inventory_age_critical: Option<HumanDuration>,
    lag_warning: Option<HumanDuration>,
    lag_critical: Option<HumanDuration>,
    textfile: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAlerts {
    webhook_url: Option<Secret>,
    command: Option<String>,
    timeout: Option<HumanDuration>,
    realert_after: Option<HumanDuration>,
    max_attempts: Option<u32>,
    gap_age: Option<HumanDuration>,
    slack: Option<integrations::FileWebhook>,
    teams: Option<integrations::FileWebhook>,
    json: Option<integrations::FileJson>,
    email: Option<integrations::FileEmail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApi {
    base_url: Option<String>,
    connect_timeout: Option<HumanDuration>,
    read_timeout: Option<HumanDuration>,
    max_attempts: Option<u32>,
    retry_max_elapsed: Option<HumanDuration>,
    token: Option<Secret>,
    #[serde(default)]
    headers: BTreeMap<String, Secret>,
    ca_file: Option<PathBuf>,
    proxy: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTracking {
    slot_minutes: Option<u32>,
    horizon: Option<HumanDuration>,
    stuck_after: Option<HumanDuration>,
    retention: Option<HumanDuration>,
    gap_grace: Option<HumanDuration>,
    inventory_stale_after: Option<HumanDuration>,
    lock_timeout: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileVerification {
    enabled: Option<bool>,
    closes_after: Option<HumanDuration>,
    deadline: Option<HumanDuration>,
    max_per_run: Option<u32>,
    budget: Option<HumanDuration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStore {
    id: String,
    name: String,
    sucursal: String,
    #[serde(default)]
    warehouses: Vec<String>,
    #[serde(default = "default_true")]
    active: bool,
    opening_hours: Option<String>,
    since: Option<ConfigDate>,
}

/// A date written as a TOML date (`since = 2025-01-01`) or a string (`"2025-01-01"`).
#[derive(Debug)]
struct ConfigDate(NaiveDate);

impl<'de> Deserialize<'de> for ConfigDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Date(toml::value::Datetime),
            Text(String),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Date(date) => date.to_string(),
            Raw::Text(text) => text,
        };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map(ConfigDate)
            .map_err(|_| {
                serde::de::Error::custom(format!("expected a date like 2025-01-01, got '{text}'"))
            })
    }
}

fn default_true() -> bool {
    true
}

/// The resolved configuration every command works with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// The DuckDB file, unless `postgres` is set.
    pub database: PathBuf,
    /// The PostgreSQL server when `database` is a `postgres://` URL: the engine then.
    pub postgres: Option<database::PgTarget>,
    /// `[database]`'s password file, CA file and timeout (for a URL given on the command line too).
    pub server_settings: database::ServerSettings,
    pub timezone: Tz,
    pub api: ApiSettings,
    pub tracking: TrackingSettings,
    pub monitoring: MonitoringSettings,
    pub alerts: AlertSettings,
    /// The proxy for webhooks, check-ins and SMTP (`[proxy]`, else the environment).
    pub proxy: ProxyConfig,
    pub checkins: Vec<CheckinSettings>,
    pub hooks: HookSettings,
    pub serve: ServeSettings,
    pub stores: Vec<Store>,
}

/// A token that may use `klk-etl serve` (`[serve] token` / `token_file`): its name is what
/// the database records for a recovery it asks for; the secret is never printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeToken {
    pub name: String,
    pub secret: Secret,
}

/// The shortest token `serve` accepts: a guessable one would make the recover button public.
pub const SERVE_TOKEN_MIN_CHARS: usize = 16;

/// `[serve]`: the web status page and HTTP API (see docs/serve.md).
#[derive(Debug, Clone, PartialEq)]
pub struct ServeSettings {
    /// `host:port`; 127.0.0.1 unless told otherwise.
    pub listen: String,
    pub tokens: Vec<ServeToken>,
    /// Reading (pages and API) needs a token too; `/health` then answers its status only.
    pub read_requires_token: bool,
    /// `Host` names accepted besides IP literals and `localhost` (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// Origins whose pages may call `/api/` from a browser with a Bearer token (CORS).
    pub cors_origins: Vec<String>,
    /// Mark the session cookie `Secure` (behind a TLS proxy).
    pub secure_cookie: bool,
    pub session_ttl: Duration,
    /// Recoveries each token may start per minute.
    pub recover_per_minute: u32,
    /// How long a computed answer is reused for identical requests.
    pub cache_ttl: Duration,
    /// How long a request waits for a `run` writing the database before answering 503.
    pub lock_timeout: Duration,
}

pub const DEFAULT_SERVE_LISTEN: &str = "127.0.0.1:8080";

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            listen: DEFAULT_SERVE_LISTEN.to_string(),
            tokens: Vec::new(),
            read_requires_token: false,
            allowed_hosts: Vec::new(),
            cors_origins: Vec::new(),
            secure_cookie: false,
            session_ttl: Duration::from_secs(12 * 3600),
            recover_per_minute: 6,
            cache_ttl: Duration::from_secs(2),
            lock_timeout: Duration::from_secs(5),
        }
    }
}

/// Thresholds of `klk-etl health` (warning, critical).
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringSettings {
    /// How often cron runs `run`.
    pub run_interval: Duration,
    pub last_run: (Duration, Duration),
    pub gaps: (u32, u32),
    pub gap_age: (Duration, Duration),
    /// Success rate over each store's last this-many executions.
    pub success_window: u32,
    /// Percent; below is a problem.
    pub success_rate: (f64, f64),
    pub stuck: (u32, u32),
    pub inventory_age: (Duration, Duration),
    /// Sales frontier lag: how far behind now a store's loaded sales end.
    pub lag: (Duration, Duration),
    /// node_exporter textfile written after every run.
    pub textfile: Option<PathBuf>,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        MonitoringSettings {
            run_interval: minutes(30),
            last_run: (minutes(65), minutes(120)),
            gaps: (1, 10),
            gap_age: (minutes(120), minutes(24 * 60)),
            success_window: 10,
            success_rate: (90.0, 70.0),
            stuck: (1, 5),
            inventory_age: (minutes(120), minutes(360)),
            lag: (minutes(90), minutes(180)),
            textfile: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// Slack-compatible incoming webhook (`{"text": ...}`); a secret.
    pub webhook_url: Option<Secret>,
    /// A shell command receiving the message on stdin.
    pub command: Option<String>,
    pub slack: Option<WebhookChannel>,
    pub teams: Option<WebhookChannel>,
    pub json: Option<JsonChannel>,
    pub email: Option<EmailChannel>,
    /// Per delivery: a webhook request, an SMTP session, the command.
    pub timeout: Duration,
    pub realert_after: Duration,
    /// Delivery attempts per alert and channel, across invocations.
    pub max_attempts: u32,
    /// A gap older than this is an alert of its own.
    pub gap_age: Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            webhook_url: None,
            command: None,
            slack: None,
            teams: None,
            json: None,
            email: None,
            timeout: Duration::from_secs(15),
            realert_after: Duration::from_secs(6 * 3600),
            max_attempts: 10,
            gap_age: Duration::from_secs(2 * 3600),
        }
    }
}

/// `[api]`. Secrets (the token, header values, the proxy) are [`Secret`]s: `Debug` never
/// shows them.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub base_url: String,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub max_attempts: u32,
    pub retry_max_elapsed: Duration,
    /// Bearer token.
    pub token: Option<Secret>,
    pub headers: Vec<(String, Secret)>,
    /// A private CA trusted for an `https://` API, on top of the public roots.
    pub ca_file: Option<PathBuf>,
    /// An HTTP proxy for the API; without it the API is reached directly.
    pub proxy: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackingSettings {
    pub slot_minutes: u32,
    pub horizon: Duration,
    pub stuck_after: Duration,
    pub retention: Duration,
    /// How long after a slot closes before a never-attempted slot counts as a gap
    /// (cron runs a few minutes after the slot ends).
    pub gap_grace: Duration,
    pub inventory_stale_after: Duration,
    /// How long to retry when another process holds the database lock.
    pub lock_timeout: Duration,
    pub verification: VerificationSettings,
}

/// Verifying closed days (`[verification]`): once a day is closed, `run` re-pulls each
/// store's day whole, once; a day not verified by its deadline is a gap (`sin_verificar`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationSettings {
    /// Off: closed days are neither re-pulled nor reported unverified.
    pub enabled: bool,
    /// How long after midnight (store time) a day counts as closed and is re-pulled: late
    /// lines from the POS have had this long to arrive.
    pub closes_after: Duration,
    /// How long after midnight an unverified day becomes a gap.
    pub deadline: Duration,
    /// Store-days re-pulled at most per run (the rest wait for the next run).
    pub max_per_run: u32,
    /// Verifications are not started after the run has lasted this long.
    pub budget: Duration,
}

impl Default for VerificationSettings {
    fn default() -> Self {
        VerificationSettings {
            enabled: true,
            closes_after: Duration::from_secs(3 * 3600),
            deadline: Duration::from_secs(9 * 3600),
            max_per_run: 10,
            budget: Duration::from_secs(10 * 60),
        }
    }
}

impl Default for TrackingSettings {
    fn default() -> Self {
        TrackingSettings {
            slot_minutes: 30,
            horizon: Duration::from_secs(168 * 3600),
            stuck_after: Duration::from_secs(3600),
            retention: Duration::from_secs(90 * 86400),
            gap_grace: Duration::from_secs(30 * 60),
            inventory_stale_after: Duration::from_secs(2 * 3600),
            lock_timeout: Duration::from_secs(30),
            verification: VerificationSettings::default(),
        }
    }
}

/// Opening hours of a store, `[open, close)` in store-local time; `None` close = midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct OpeningHours {
    pub open: NaiveTime,
    pub close: Option<NaiveTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Store {
    pub id: String,
    pub name: String,
    pub sucursal: String,
    pub warehouses: Vec<String>,
    pub active: bool,
    pub opening_hours: Option<OpeningHours>,
    pub since: Option<NaiveDate>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            base_url: "http://127.0.0.1:7002".to_string(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(600),
            max_attempts: 4,
            retry_max_elapsed: Duration::from_secs(300),
            token: None,
            headers: Vec::new(),
            ca_file: None,
            proxy: None,
        }
    }
}

/// Values from the environment and the command line that override the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub database: Option<PathBuf>,
    pub api_base_url: Option<String>,
    pub api_token: Option<Secret>,
    pub lock_timeout: Option<Duration>,
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`: used unless `[proxy]` says otherwise.
    pub proxy_env: ProxyEnv,
    /// `PGPASSWORD`, `PGPASSFILE`, `HOME`, `PGUSER`/`USER`: for a PostgreSQL database.
    pub pg_env: database::PgEnv,
}

impl Config {
    /// Loads `explicit` (must exist) or `klk-etl.toml` in the working directory (optional),
    /// then applies the overrides.
    pub fn load(explicit: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let (file, source) = match explicit {
            Some(path) => (read_file(path)?, Some(path.to_path_buf())),
            None => {
                let default = Path::new(DEFAULT_CONFIG_FILE);
                if default.exists() {
                    (read_file(default)?, Some(default.to_path_buf()))
                } else {
                    (FileConfig::default(), None)
                }
            }
        };
        let path_for_errors = source
            .clone()
            .unwrap_or_else(|| PathBuf::from("<defaults>"));
        let proxy_env = overrides.proxy_env.clone();
        let mut config =
            resolve(file, source, &proxy_env, &overrides.pg_env).map_err(|message| {
                ConfigError::Parse {
                    path: path_for_errors,
                    message,
                }
            })?;
        if let Some(db) = &overrides.database {
            config
                .set_database(db, &overrides.pg_env)
                .map_err(ConfigError::Invalid)?;
        }
        if let Some(url) = &overrides.api_base_url {
            config.api.base_url = crate::klk::validate_base_url(url)
                .map(|_| url.clone())
                .map_err(|e| ConfigError::Invalid(format!("KLK_ETL_API_URL: {}", e.reason())))?;
            check_ca_file_scheme(&config.api).map_err(ConfigError::Invalid)?;
        }
        if let Some(token) = &overrides.api_token {
            config.api.token = Some(token.clone());
        }
        if let Some(timeout) = overrides.lock_timeout {
            config.tracking.lock_timeout = timeout;
        }
        Ok(config)
    }

    /// Parses configuration text (as if it were a file named `source`).
    pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|err| ConfigError::Parse {
            path: source.to_path_buf(),
            message: describe_toml_error(text, &err),
        })?;
        let pg_env = database::PgEnv::default();
        resolve(
            file,
            Some(source.to_path_buf()),
            &ProxyEnv::default(),
            &pg_env,
        )
        .map_err(|message| ConfigError::Parse {
            path: source.to_path_buf(),
            message,
        })
    }

    /// Points the configuration at a DuckDB file or, for a `postgres://` URL, a server.
    pub fn set_database(
        &mut self,
        location: &Path,
        pg_env: &database::PgEnv,
    ) -> Result<(), String> {
        match location.to_str() {
            Some(url) if database::is_server_url(url) => {
                self.postgres = Some(database::parse_server_url(
                    url,
                    &self.server_settings,
                    pg_env,
                )?);
            }
            _ => {
                self.database = location.to_path_buf();
                self.postgres = None;
            }
        }
        Ok(())
    }

    /// What messages call the database: its path, or its URL without the password.
    pub fn database_display(&self) -> String {
        match &self.postgres {
            Some(target) => target.display(),
            None => self.database.display().to_string(),
        }
    }

    pub fn store(&self, id: &str) -> Option<&Store> {
        self.stores.iter().find(|s| s.id == id)
    }

    /// Checks that every id names a configured store; returns a clear error otherwise.
    pub fn check_store_ids<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), ConfigError> {
        for id in ids {
            if self.store(id).is_none() {
                let known: Vec<&str> = self.stores.iter().map(|s| s.id.as_str()).collect();
                let hint = if known.is_empty() {
                    "no stores are configured".to_string()
                } else {
                    format!("known stores: {}", known.join(", "))
                };
                return Err(ConfigError::Invalid(format!(
                    "unknown store '{id}' ({hint})"
                )));
            }
        }
        Ok(())
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|err| ConfigError::Parse {
        path: path.to_path_buf(),
        message: describe_toml_error(&text, &err),
    })
}

/// One line: "line 3, column 1: unknown field `colour`, expected one of ...".
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().replace('\n', " ");
    // "invalid type: integer `7412369850`, expected a string": the value may be a secret
    // (an all-digit token written without quotes); the line and column say where it is.
    let message = match (
        message.strip_prefix("invalid type: "),
        message.find(", expected"),
    ) {
        (Some(rest), Some(at)) => {
            let kind = rest.split(' ').next().unwrap_or_default();
            format!("invalid type: {kind}{}", &message[at..])
        }
        _ => message,
    };
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

fn resolve(
    file: FileConfig,
    source: Option<PathBuf>,
    proxy_env: &ProxyEnv,
    pg_env: &database::PgEnv,
) -> Result<Config, String> {
    let (location, server_settings) = match file.database {
        Some(database) => database.split()?,
        None => (None, database::ServerSettings::default()),
    };
    let timezone_name = file
        .timezone
        .unwrap_or_else(|| "America/Caracas".to_string());
    let timezone: Tz = timezone_name.parse().map_err(|_| {
        format!("unknown timezone '{timezone_name}' (use an IANA name such as America/Caracas)")
    })?;

    let defaults = ApiSettings::default();
    let api = ApiSettings {
        base_url: file.api.base_url.unwrap_or(defaults.base_url),
        connect_timeout: file
            .api
            .connect_timeout
            .map_or(defaults.connect_timeout, |d| d.0),
        read_timeout: file.api.read_timeout.map_or(defaults.read_timeout, |d| d.0),
        max_attempts: file.api.max_attempts.unwrap_or(defaults.max_attempts),
        retry_max_elapsed: file
            .api
            .retry_max_elapsed
            .map_or(defaults.retry_max_elapsed, |d| d.0),
        token: file.api.token,
        headers: file.api.headers.into_iter().collect(),
        ca_file: file.api.ca_file,
        proxy: file.api.proxy,
    };
    // The client's own check: what the configuration accepts, the client can use.
    crate::klk::validate_base_url(&api.base_url).map_err(|e| format!("api.{}", e.reason()))?;
    if let Some(proxy) = &api.proxy {
        integrations::validate_proxy_url("api.proxy", proxy)?;
    }
    check_ca_file_scheme(&api)?;
    if api.max_attempts == 0 {
        return Err("api.max_attempts must be at least 1".to_string());
    }

    let d = TrackingSettings::default();
    let t = file.tracking;
    let tracking = TrackingSettings {
        slot_minutes: t.slot_minutes.unwrap_or(d.slot_minutes),
        horizon: t.horizon.map_or(d.horizon, |x| x.0),
        stuck_after: t.stuck_after.map_or(d.stuck_after, |x| x.0),
        retention: t.retention.map_or(d.retention, |x| x.0),
        gap_grace: t.gap_grace.map_or(d.gap_grace, |x| x.0),
        inventory_stale_after: t
            .inventory_stale_after
            .map_or(d.inventory_stale_after, |x| x.0),
        lock_timeout: t.lock_timeout.map_or(d.lock_timeout, |x| x.0),
        verification: resolve_verification(file.verification)?,
    };
    let slot = tracking.slot_minutes;
    if slot == 0 || 1440 % slot != 0 {
        return Err(format!(
            "tracking.slot_minutes must divide a day evenly (e.g. 15, 30, 60); got {slot}"
        ));
    }
    if tracking.horizon.as_secs() < 3600 {
        return Err("tracking.horizon must be at least 1h".to_string());
    }

    let dm = MonitoringSettings::default();
    let m = file.monitoring;
    let pair = |w: Option<HumanDuration>, c: Option<HumanDuration>, d: (Duration, Duration)| {
        (w.map_or(d.0, |x| x.0), c.map_or(d.1, |x| x.0))
    };
    let monitoring = MonitoringSettings {
        run_interval: m.run_interval.map_or(dm.run_interval, |x| x.0),
        last_run: pair(m.last_run_warning, m.last_run_critical, dm.last_run),
        gaps: (
            m.gaps_warning.unwrap_or(dm.gaps.0),
            m.gaps_critical.unwrap_or(dm.gaps.1),
        ),
        gap_age: pair(m.gap_age_warning, m.gap_age_critical, dm.gap_age),
        success_window: m.success_window.unwrap_or(dm.success_window),
        success_rate: (
            m.success_rate_warning.unwrap_or(dm.success_rate.0),
            m.success_rate_critical.unwrap_or(dm.success_rate.1),
        ),
        stuck: (
            m.stuck_warning.unwrap_or(dm.stuck.0),
            m.stuck_critical.unwrap_or(dm.stuck.1),
        ),
        inventory_age: pair(
            m.inventory_age_warning,
            m.inventory_age_critical,
            dm.inventory_age,
        ),
        lag: pair(m.lag_warning, m.lag_critical, dm.lag),
        textfile: m.textfile,
    };
    if monitoring.success_rate.1 > monitoring.success_rate.0 {
        return Err(
            "monitoring.success_rate_critical must not be above success_rate_warning".to_string(),
        );
    }
    if monitoring.success_window == 0 {
        return Err("monitoring.success_window must be at least 1".to_string());
    }
    let da = AlertSettings::default();
    let a = file.alerts;
    let alerts = AlertSettings {
        webhook_url: a.webhook_url,
        command: a.command,
        slack: a
            .slack
            .map(|w| integrations::resolve_webhook("alerts.slack", w))
            .transpose()?,
        teams: a
            .teams
            .map(|w| integrations::resolve_webhook("alerts.teams", w))
            .transpose()?,
        json: a.json.map(integrations::resolve_json).transpose()?,
        email: a.email.map(integrations::resolve_email).transpose()?,
        timeout: a.timeout.map_or(da.timeout, |x| x.0),
        realert_after: a.realert_after.map_or(da.realert_after, |x| x.0),
        max_attempts: a.max_attempts.unwrap_or(da.max_attempts),
        gap_age: a.gap_age.map_or(da.gap_age, |x| x.0),
    };
    if let Some(url) = &alerts.webhook_url {
        crate::net::http::validate_url(url.expose())
            .map_err(|e| format!("alerts.webhook_url {e}"))?;
    }
    if alerts.timeout.is_zero() {
        return Err("alerts.timeout must be more than zero".to_string());
    }
    if let Some(url) = &file.proxy.url {
        integrations::validate_proxy_url("proxy.url", url)?;
    }
    let proxy = ProxyConfig::resolve(
        file.proxy.url.as_ref(),
        file.proxy.no_proxy.as_deref(),
        proxy_env,
    );
    let checkins = integrations::resolve_checkins(file.checkins)?;
    let hooks = integrations::resolve_hooks(file.hooks)?;

    let serve = resolve_serve(file.serve, source.as_deref())?;

    let mut seen = HashSet::new();
    let mut seen_sucursal = HashSet::new();
    let mut stores = Vec::with_capacity(file.stores.len());
    for s in file.stores {
        if s.id.trim().is_empty() {
            return Err("a store has an empty id".to_string());
        }
        if !seen.insert(s.id.clone()) {
            return Err(format!("store id '{}' appears twice", s.id));
        }
        if !seen_sucursal.insert(s.sucursal.clone()) {
            return Err(format!(
                "sucursal '{}' is used by two stores (store '{}')",
                s.sucursal, s.id
            ));
        }
        let opening_hours = s
            .opening_hours
            .as_deref()
            .map(parse_opening_hours)
            .transpose()
            .map_err(|e| format!("store '{}': {e}", s.id))?;
        stores.push(Store {
            id: s.id,
            name: s.name,
            sucursal: s.sucursal,
            warehouses: s.warehouses,
            active: s.active,
            opening_hours,
            since: s.since.map(|d| d.0),
        });
    }

    let mut config = Config {
        source,
        database: PathBuf::from(DEFAULT_DATABASE),
        postgres: None,
        server_settings,
        timezone,
        api,
        tracking,
        monitoring,
        alerts,
        proxy,
        checkins,
        hooks,
        serve,
        stores,
    };
    if let Some(location) = location {
        config.set_database(Path::new(&location), pg_env)?;
    }
    Ok(config)
}

/// `api.ca_file` only means something for an `https://` API (the client refuses the pair too).
fn check_ca_file_scheme(api: &ApiSettings) -> Result<(), String> {
    match &api.ca_file {
        Some(path) if !api.base_url.trim().starts_with("https://") => Err(format!(
            "api.ca_file ({}) is set but api.base_url is not https://",
            path.display()
        )),
        _ => Ok(()),
    }
}

fn resolve_serve(s: FileServe, source: Option<&Path>) -> Result<ServeSettings, String> {
    let d = ServeSettings::default();
    let mut tokens = Vec::new();
    if let Some(secret) = s.token {
        let name = s.token_name.unwrap_or_else(|| "web".to_string());
        tokens.push(ServeToken {
            name,
            secret: Secret::new(secret),
        });
    } else if s.token_name.is_some() {
        return Err("serve.token_name is set but serve.token is not".to_string());
    }
    if let Some(path) = &s.token_file {
        // Relative to the configuration file's directory, like a path in a systemd unit.
        let path = match source.and_then(Path::parent) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.clone(),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("serve.token_file {}: {e}", path.display()))?;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // `name:secret`, or a bare secret (named "web").
            let (name, secret) = match line.split_once(':') {
                Some((name, secret)) if !name.trim().is_empty() && !name.contains(' ') => {
                    (name.trim().to_string(), secret.trim().to_string())
                }
                _ => ("web".to_string(), line.to_string()),
            };
            if secret.is_empty() {
                return Err(format!(
                    "serve.token_file {} line {}: the token is empty",
                    path.display(),
                    number + 1
                ));
            }
            tokens.push(ServeToken {
                name,
                secret: Secret::new(secret),
            });
        }
    }
    let mut names = HashSet::new();
    for token in &tokens {
        if token.secret.expose().chars().count() < SERVE_TOKEN_MIN_CHARS {
            return Err(format!(
                "serve token '{}' is shorter than {SERVE_TOKEN_MIN_CHARS} characters (e.g. `openssl rand -hex 24`)",
                token.name
            ));
        }
        if token.name.chars().any(|c| c.is_control()) || token.name.len() > 64 {
            return Err(format!(
                "serve token name '{}' must be at most 64 printable characters",
                token.name.escape_debug()
            ));
        }
        if !names.insert(token.name.clone()) {
            return Err(format!("serve token name '{}' is used twice", token.name));
        }
    }
    let listen = s.listen.unwrap_or(d.listen);
    check_listen(&listen).map_err(|e| format!("serve.listen: {e}"))?;
    let recover_per_minute = s.recover_per_minute.unwrap_or(d.recover_per_minute);
    if recover_per_minute == 0 {
        return Err("serve.recover_per_minute must be at least 1".to_string());
    }
    for origin in s.cors_origins.iter().flatten() {
        if !(origin.starts_with("http://") || origin.starts_with("https://"))
            || origin.ends_with('/')
        {
            return Err(format!(
                "serve.cors_origins: '{origin}' must look like http://host:port (scheme, host, optional port; no path)"
            ));
        }
    }
    Ok(ServeSettings {
        listen,
        tokens,
        read_requires_token: s.read_requires_token.unwrap_or(d.read_requires_token),
        allowed_hosts: s
            .allowed_hosts
            .unwrap_or_default()
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        cors_origins: s.cors_origins.unwrap_or_default(),
        secure_cookie: s.secure_cookie.unwrap_or(d.secure_cookie),
        session_ttl: s.session_ttl.map_or(d.session_ttl, |x| x.0),
        recover_per_minute,
        cache_ttl: s.cache_ttl.map_or(d.cache_ttl, |x| x.0),
        lock_timeout: s.lock_timeout.map_or(d.lock_timeout, |x| x.0),
    })
}

/// `host:port` with a numeric IP (`127.0.0.1:8080`, `[::1]:8080`, `0.0.0.0:8080`) or
/// `localhost:port`.
pub fn check_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::{SocketAddr, ToSocketAddrs};
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("invalid port in '{text}'"))?;
        return ("127.0.0.1", port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| format!("cannot resolve '{text}'"));
    }
    Err(format!(
        "expected an address and port such as 127.0.0.1:8080 or 0.0.0.0:8080, got '{text}'"
    ))
}

fn resolve_verification(v: FileVerification) -> Result<VerificationSettings, String> {
    let d = VerificationSettings::default();
    let settings = VerificationSettings {
        enabled: v.enabled.unwrap_or(d.enabled),
        closes_after: v.closes_after.map_or(d.closes_after, |x| x.0),
        deadline: v.deadline.map_or(d.deadline, |x| x.0),
        max_per_run: v.max_per_run.unwrap_or(d.max_per_run),
        budget: v.budget.map_or(d.budget, |x| x.0),
    };
    let day = Duration::from_secs(86400);
    if settings.closes_after >= day {
        return Err(format!(
            "verification.closes_after must be less than 24h (a time after midnight); got {}",
            crate::duration::format_duration(settings.closes_after)
        ));
    }
    if settings.deadline <= settings.closes_after {
        return Err(format!(
            "verification.deadline ({}) must be later than verification.closes_after ({})",
            crate::duration::format_duration(settings.deadline),
            crate::duration::format_duration(settings.closes_after)
        ));
    }
    Ok(settings)
}

/// `"07:00-22:00"`, `"06:30-24:00"` or `"24h"`.
pub fn parse_opening_hours(text: &str) -> Result<OpeningHours, String> {
    let text = text.trim();
    if text == "24h" {
        return Ok(OpeningHours {
            open: NaiveTime::MIN,
            close: None,
        });
    }
    let (open, close) = text
        .split_once('-')
        .ok_or_else(|| format!("opening_hours must look like \"07:00-22:00\", got \"{text}\""))?;
    let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M");
    let open =
        parse(open).map_err(|_| format!("opening_hours: invalid opening time in \"{text}\""))?;
    let close = if close.trim() == "24:00" {
        None
    } else {
        Some(
            parse(close)
                .map_err(|_| format!("opening_hours: invalid closing time in \"{text}\""))?,
        )
    };
    if let Some(c) = close
        && c <= open
    {
        return Err(format!(
            "opening_hours \"{text}\": closing must be after opening (hours crossing midnight are not supported)"
        ));
    }
    Ok(OpeningHours { open, close })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        let file: FileConfig = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
        resolve(
            file,
            None,
            &ProxyEnv::default(),
            &database::PgEnv::default(),
        )
    }

    #[test]
    fn defaults_apply_when_the_file_is_empty() {
        let c = parse("").unwrap();
        assert_eq!(c.database, PathBuf::from("data/klk-etl.duckdb"));
        assert_eq!(c.timezone, chrono_tz::America::Caracas);
        assert_eq!(c.tracking.slot_minutes, 30);
        assert_eq!(c.tracking.horizon, Duration::from_secs(168 * 3600));
        assert!(c.stores.is_empty());
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let err = parse("database = \"x\"\ncolour = 1\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn duplicate_store_ids_are_rejected() {
        let text = r#"
            [[stores]]
            id = "tienda_01"
            name = "A"
            sucursal = "SUC001"
            [[stores]]
            id = "tienda_01"
            name = "B"
            sucursal = "SUC002"
        "#;
        assert!(parse(text).unwrap_err().contains("appears twice"));
    }

    #[test]
    fn bad_timezone_and_slot_are_rejected() {
        assert!(
            parse("timezone = \"Mars/Olympus\"")
                .unwrap_err()
                .contains("Mars/Olympus")
        );
        assert!(
            parse("[tracking]\nslot_minutes = 7")
                .unwrap_err()
                .contains("slot_minutes")
        );
    }

    #[test]
    fn since_accepts_a_toml_date_or_a_string() {
        let store = |since: &str| {
            format!("[[stores]]\nid = \"a\"\nname = \"A\"\nsucursal = \"S\"\nsince = {since}\n")
        };
        let expected = NaiveDate::from_ymd_opt(2025, 1, 2);
        assert_eq!(
            parse(&store("2025-01-02")).unwrap().stores[0].since,
            expected
        );
        assert_eq!(
            parse(&store("\"2025-01-02\"")).unwrap().stores[0].since,
            expected
        );
        assert!(
            parse(&store("\"yesterday\""))
                .unwrap_err()
                .contains("yesterday")
        );
    }

    #[test]
    fn opening_hours_forms() {
        assert_eq!(
            parse_opening_hours("07:00-22:00").unwrap(),
            OpeningHours {
                open: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
                close: Some(NaiveTime::from_hms_opt(22, 0, 0).unwrap())
            }
        );
        assert_eq!(parse_opening_hours("06:00-24:00").unwrap().close, None);
        assert!(parse_opening_hours("22:00-02:00").is_err());
        assert!(parse_opening_hours("nonsense").is_err());
    }

    #[test]
    fn the_example_file_parses_with_19_stores() {
        let text = include_str!("../klk-etl.example.toml");
        let c = parse(text).unwrap();
        assert_eq!(c.stores.len(), 19);
        assert_eq!(c.store("tienda_02").unwrap().sucursal, "SUC007");
        assert_eq!(c.store("tienda_01").unwrap().warehouses, vec!["APP-TPF"]);
    }
}
