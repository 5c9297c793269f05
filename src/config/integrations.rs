//! The configuration of what klk-etl talks to besides the KLK API: alert channels
//! (`[alerts.slack]`, `[alerts.teams]`, `[alerts.json]`, `[alerts.email]`), check-ins
//! (`[[checkins]]`), post-load hooks (`[hooks]`) and the proxy (`[proxy]`).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::duration::HumanDuration;
use crate::net::http::validate_url;
use crate::net::proxy::ProxySpec;
use crate::net::smtp::Security;
use crate::secret::Secret;

/// `[proxy]`: overrides the environment's proxy variables for webhooks, check-ins and SMTP.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileProxy {
    pub url: Option<Secret>,
    pub no_proxy: Option<String>,
}

/// A Slack or Teams incoming webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileWebhook {
    webhook_url: Secret,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileJson {
    url: Secret,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    headers: BTreeMap<String, Secret>,
}

/// One address or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileEmail {
    host: String,
    port: Option<u16>,
    security: Option<Security>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    from: String,
    to: OneOrMany,
    ca_file: Option<PathBuf>,
    run_summary: Option<RunSummary>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileCheckin {
    service: CheckinService,
    url: Secret,
    name: Option<String>,
    tipo: Option<String>,
    ca_file: Option<PathBuf>,
    timeout: Option<HumanDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileHooks {
    timeout: Option<HumanDuration>,
    budget: Option<HumanDuration>,
    #[serde(default)]
    after_window: Vec<FileHook>,
    #[serde(default)]
    after_run: Vec<FileHook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileHook {
    name: Option<String>,
    command: Option<String>,
    sql: Option<String>,
    tipo: Option<String>,
    timeout: Option<HumanDuration>,
}

/// `[alerts.slack]` / `[alerts.teams]`: an incoming webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookChannel {
    /// A secret: its path is the key.
    pub url: Secret,
    pub ca_file: Option<PathBuf>,
}

/// `[alerts.json]`: a generic webhook receiving the versioned JSON document.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonChannel {
    pub url: Secret,
    pub ca_file: Option<PathBuf>,
    /// Extra request headers (e.g. `Authorization`); values are secrets.
    pub headers: Vec<(String, Secret)>,
}

/// When the per-run summary e-mail is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunSummary {
    #[default]
    Never,
    /// After every `run`.
    Always,
    /// After a `run` with a window that failed (or the API unreachable).
    Failures,
}

/// `[alerts.email]`: SMTP submission.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailChannel {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    /// The password is read from this file at each delivery (trailing newline dropped).
    pub password_file: Option<PathBuf>,
    /// `Name <address>` or `address`.
    pub from: String,
    pub to: Vec<String>,
    pub ca_file: Option<PathBuf>,
    pub run_summary: RunSummary,
}

/// A dead-man's switch service, pinged at the start and the end of every `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckinService {
    /// Healthchecks.io (or self-hosted): `<url>/start`, then `<url>/<exit code>`.
    Healthchecks,
    /// Cronitor telemetry: `<url>?state=run`, then `state=complete|fail`.
    Cronitor,
    /// Sentry cron monitors (HTTP check-ins): `status=in_progress`, then `ok|error`.
    Sentry,
    /// Uptime Kuma push monitor: `status=up|down&msg=...` at the end only.
    UptimeKuma,
}

impl CheckinService {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckinService::Healthchecks => "healthchecks",
            CheckinService::Cronitor => "cronitor",
            CheckinService::Sentry => "sentry",
            CheckinService::UptimeKuma => "uptime_kuma",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckinSettings {
    /// The label in metrics and messages (defaults to the service's name).
    pub name: String,
    pub service: CheckinService,
    /// A secret: it holds the check's key.
    pub url: Secret,
    /// Only runs of this tipo (`ventas` or `inventario`) ping it; `None`: every run.
    pub tipo: Option<String>,
    pub ca_file: Option<PathBuf>,
    /// Per ping: connect, send, answer.
    pub timeout: Duration,
}

/// What a hook does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAction {
    /// A shell command (`sh -c`), with `KLK_ETL_*` variables describing the load.
    Command(String),
    /// SQL statements run on the database in one transaction.
    Sql(String),
}

impl HookAction {
    pub fn kind(&self) -> &'static str {
        match self {
            HookAction::Command(_) => "command",
            HookAction::Sql(_) => "sql",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub name: String,
    pub action: HookAction,
    /// Only after windows of this tipo (`after_window`), or runs that loaded it (`after_run`).
    pub tipo: Option<String>,
    pub timeout: Duration,
}

/// `[hooks]`: run after a successful load; never undo or block it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookSettings {
    pub timeout: Duration,
    /// No hook starts once the hooks of one run have taken this long.
    pub budget: Duration,
    pub after_window: Vec<Hook>,
    pub after_run: Vec<Hook>,
}

impl Default for HookSettings {
    fn default() -> Self {
        HookSettings {
            timeout: Duration::from_secs(120),
            budget: Duration::from_secs(600),
            after_window: Vec::new(),
            after_run: Vec::new(),
        }
    }
}

impl HookSettings {
    pub fn is_empty(&self) -> bool {
        self.after_window.is_empty() && self.after_run.is_empty()
    }
}

pub(super) fn validate_proxy_url(key: &str, url: &Secret) -> Result<(), String> {
    if url.expose().trim().eq_ignore_ascii_case("none") && key == "proxy.url" {
        return Ok(());
    }
    ProxySpec::parse(url)
        .map(|_| ())
        .map_err(|e| format!("{key}: {e}"))
}

fn check_url(key: &str, url: &Secret) -> Result<(), String> {
    validate_url(url.expose())
        .map(|_| ())
        .map_err(|e| format!("{key} {e}"))
}

fn check_headers(key: &str, headers: &BTreeMap<String, Secret>) -> Result<(), String> {
    for (name, value) in headers {
        let is_token = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        let is_value = value
            .expose()
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
        if !is_token || !is_value {
            return Err(format!(
                "{key}: header {name:?} has an invalid name or value"
            ));
        }
    }
    Ok(())
}

pub(super) fn resolve_webhook(key: &str, file: FileWebhook) -> Result<WebhookChannel, String> {
    check_url(&format!("{key}.webhook_url"), &file.webhook_url)?;
    Ok(WebhookChannel {
        url: file.webhook_url,
        ca_file: file.ca_file,
    })
}

pub(super) fn resolve_json(file: FileJson) -> Result<JsonChannel, String> {
    check_url("alerts.json.url", &file.url)?;
    check_headers("alerts.json.headers", &file.headers)?;
    Ok(JsonChannel {
        url: file.url,
        ca_file: file.ca_file,
        headers: file.headers.into_iter().collect(),
    })
}

pub(super) fn resolve_email(file: FileEmail) -> Result<EmailChannel, String> {
    use lettre::message::Mailbox;
    let security = file.security.unwrap_or(Security::Starttls);
    if file.host.trim().is_empty() {
        return Err("alerts.email.host is empty".to_string());
    }
    file.from.parse::<Mailbox>().map_err(|e| {
        format!(
            "alerts.email.from {:?} is not an e-mail address ({e})",
            file.from
        )
    })?;
    let to = match file.to {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    };
    if to.is_empty() {
        return Err("alerts.email.to lists no address".to_string());
    }
    for address in &to {
        address
            .parse::<Mailbox>()
            .map_err(|e| format!("alerts.email.to {address:?} is not an e-mail address ({e})"))?;
    }
    if file.username.is_some() != file.password_file.is_some() {
        return Err(
            "alerts.email: username and password_file go together (authentication needs both)"
                .to_string(),
        );
    }
    if security == Security::None && file.username.is_some() {
        return Err(
            "alerts.email: a password is never sent without TLS; use security = \"starttls\" or \"tls\""
                .to_string(),
        );
    }
    Ok(EmailChannel {
        host: file.host.trim().to_string(),
        port: file.port.unwrap_or(security.default_port()),
        security,
        username: file.username,
        password_file: file.password_file,
        from: file.from,
        to,
        ca_file: file.ca_file,
        run_summary: file.run_summary.unwrap_or_default(),
    })
}

pub(super) fn resolve_checkins(file: Vec<FileCheckin>) -> Result<Vec<CheckinSettings>, String> {
    let mut names = HashSet::new();
    let mut checkins = Vec::with_capacity(file.len());
    for (i, c) in file.into_iter().enumerate() {
        let name = c.name.unwrap_or_else(|| c.service.as_str().to_string());
        if !names.insert(name.clone()) {
            return Err(format!(
                "checkins: two check-ins are named '{name}' (give each a distinct name)"
            ));
        }
        check_url(&format!("checkins[{}] ({name}): url", i + 1), &c.url)?;
        if let Some(tipo) = &c.tipo
            && !matches!(tipo.as_str(), "ventas" | "inventario")
        {
            return Err(format!(
                "checkins ({name}): tipo must be ventas or inventario, got '{tipo}'"
            ));
        }
        let timeout = c.timeout.map_or(Duration::from_secs(10), |d| d.0);
        if timeout.is_zero() {
            return Err(format!("checkins ({name}): timeout must be more than zero"));
        }
        checkins.push(CheckinSettings {
            name,
            service: c.service,
            url: c.url,
            tipo: c.tipo,
            ca_file: c.ca_file,
            timeout,
        });
    }
    Ok(checkins)
}

pub(super) fn resolve_hooks(file: FileHooks) -> Result<HookSettings, String> {
    let defaults = HookSettings::default();
    let timeout = file.timeout.map_or(defaults.timeout, |d| d.0);
    let budget = file.budget.map_or(defaults.budget, |d| d.0);
    if timeout.is_zero() || budget.is_zero() {
        return Err("hooks.timeout and hooks.budget must be more than zero".to_string());
    }
    let mut names = HashSet::new();
    let mut resolve = |event: &str, hooks: Vec<FileHook>| -> Result<Vec<Hook>, String> {
        hooks
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                let name = h.name.unwrap_or_else(|| format!("{event}.{}", i + 1));
                if !names.insert(name.clone()) {
                    return Err(format!("hooks: two hooks are named '{name}'"));
                }
                let action = match (h.command, h.sql) {
                    (Some(command), None) if !command.trim().is_empty() => {
                        HookAction::Command(command)
                    }
                    (None, Some(sql)) if !sql.trim().is_empty() => HookAction::Sql(sql),
                    (Some(_), Some(_)) => {
                        return Err(format!(
                            "hooks.{event} '{name}': give either command or sql, not both"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "hooks.{event} '{name}': needs a command or sql statements"
                        ));
                    }
                };
                if let Some(tipo) = &h.tipo
                    && !matches!(tipo.as_str(), "ventas" | "inventario")
                {
                    return Err(format!(
                        "hooks.{event} '{name}': tipo must be ventas or inventario, got '{tipo}'"
                    ));
                }
                let timeout = h.timeout.map_or(timeout, |d| d.0);
                if timeout.is_zero() {
                    return Err(format!(
                        "hooks.{event} '{name}': timeout must be more than zero"
                    ));
                }
                Ok(Hook {
                    name,
                    action,
                    tipo: h.tipo,
                    timeout,
                })
            })
            .collect()
    };
    let after_window = resolve("after_window", file.after_window)?;
    let after_run = resolve("after_run", file.after_run)?;
    Ok(HookSettings {
        timeout,
        budget,
        after_window,
        after_run,
    })
}
