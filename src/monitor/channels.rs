//! Alert channels: how an alert reaches people. Each configured channel has a name (the
//! outbox's `canal`) and a shape:
//!
//! - `webhook` (`alerts.webhook_url`) and `slack`: Slack incoming webhook, `{"text": ...}`;
//! - `teams`: a Microsoft Teams workflow webhook, an Adaptive Card;
//! - `json`: the documented, versioned document [`JSON_SCHEMA`] for anything else;
//! - `email`: SMTP, the alerts of one delivery in one message;
//! - `command`: a shell command, the message on stdin.
//!
//! No message returned here quotes a webhook URL, a header value or a password.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeZone};
use serde::Serialize;

use crate::command::{self, Bounded};
use crate::config::{Config, EmailChannel, JsonChannel, WebhookChannel};
use crate::net::http::{self, Body, Destination};
use crate::net::proxy::ProxySpec;
use crate::net::smtp;
use crate::secret::{Redactor, Secret};

/// The `schema` field of the generic JSON webhook's document; bumped when a field changes
/// meaning or goes away (fields may be added within a version).
pub const JSON_SCHEMA: &str = "klk-etl.alert.v1";

/// Every configured channel's name, in a fixed order.
pub fn configured(config: &Config) -> Vec<&'static str> {
    let a = &config.alerts;
    [
        ("webhook", a.webhook_url.is_some()),
        ("slack", a.slack.is_some()),
        ("teams", a.teams.is_some()),
        ("json", a.json.is_some()),
        ("email", a.email.is_some()),
        ("command", a.command.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect()
}

/// One alert to deliver.
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    /// The outbox row (`etl_alertas.id`); 0 for a test message.
    pub id: i64,
    pub key: String,
    pub class: String,
    /// `problem`, `reminder`, `recovered`, `summary` or `test`.
    pub transition: String,
    pub message: String,
    /// Store-local time it was created.
    pub created: NaiveDateTime,
}

/// What every delivery needs besides the alert.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    pub now_utc: chrono::DateTime<chrono::Utc>,
    pub host: &'a str,
}

/// Delivers `alerts` (all for `channel`); one result per alert, in order.
pub fn deliver(
    ctx: &Context,
    channel: &str,
    alerts: &[Outgoing],
) -> Vec<(i64, Result<(), String>)> {
    let a = &ctx.config.alerts;
    let each = |send: &dyn Fn(&Outgoing) -> Result<(), String>| {
        alerts
            .iter()
            .map(|alert| (alert.id, send(alert)))
            .collect::<Vec<_>>()
    };
    let gone = |what: &str| {
        let why = format!("no {what} configured any more");
        alerts
            .iter()
            .map(|alert| (alert.id, Err(why.clone())))
            .collect()
    };
    match channel {
        "webhook" => match &a.webhook_url {
            Some(url) => each(&|alert| slack(ctx, url, None, alert)),
            None => gone("alerts.webhook_url"),
        },
        "slack" => match &a.slack {
            Some(WebhookChannel { url, ca_file }) => {
                each(&|alert| slack(ctx, url, ca_file.as_deref(), alert))
            }
            None => gone("[alerts.slack]"),
        },
        "teams" => match &a.teams {
            Some(channel) => each(&|alert| teams(ctx, channel, alert)),
            None => gone("[alerts.teams]"),
        },
        "json" => match &a.json {
            Some(channel) => each(&|alert| json(ctx, channel, alert)),
            None => gone("[alerts.json]"),
        },
        "email" => match &a.email {
            Some(channel) => email_batches(ctx, channel, alerts),
            None => gone("[alerts.email]"),
        },
        "command" => match &a.command {
            Some(command) => each(&|alert| run_command(ctx, command, alert)),
            None => gone("alerts.command"),
        },
        other => alerts
            .iter()
            .map(|alert| (alert.id, Err(format!("unknown channel {other}"))))
            .collect(),
    }
}

fn post(
    ctx: &Context,
    url: &Secret,
    ca_file: Option<&std::path::Path>,
    body: &serde_json::Value,
    headers: &[(String, Secret)],
) -> Result<(), String> {
    http::send(
        &Destination {
            url,
            ca_file,
            proxies: &ctx.config.proxy,
            timeout: ctx.config.alerts.timeout,
        },
        "POST",
        Body::Json(body),
        headers,
    )
    .map(|_| ())
}

fn slack(
    ctx: &Context,
    url: &Secret,
    ca_file: Option<&std::path::Path>,
    alert: &Outgoing,
) -> Result<(), String> {
    post(ctx, url, ca_file, &slack_payload(alert), &[])
}

pub fn slack_payload(alert: &Outgoing) -> serde_json::Value {
    serde_json::json!({ "text": alert.message })
}

fn teams(ctx: &Context, channel: &WebhookChannel, alert: &Outgoing) -> Result<(), String> {
    post(
        ctx,
        &channel.url,
        channel.ca_file.as_deref(),
        &teams_payload(alert),
        &[],
    )
}

/// The message as an Adaptive Card, the format Teams workflows ("When a Teams webhook
/// request is received") post to a channel.
pub fn teams_payload(alert: &Outgoing) -> serde_json::Value {
    let (title, color) = match alert.transition.as_str() {
        "problem" => ("KLK-ETL problem", "Attention"),
        "reminder" => ("KLK-ETL problem (still open)", "Warning"),
        "recovered" => ("KLK-ETL recovered", "Good"),
        "summary" => ("KLK-ETL run summary", "Default"),
        _ => ("KLK-ETL", "Default"),
    };
    serde_json::json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    { "type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "color": color, "wrap": true },
                    { "type": "TextBlock", "text": alert.message, "wrap": true }
                ]
            }
        }]
    })
}

fn json(ctx: &Context, channel: &JsonChannel, alert: &Outgoing) -> Result<(), String> {
    post(
        ctx,
        &channel.url,
        channel.ca_file.as_deref(),
        &json_payload(ctx, alert),
        &channel.headers,
    )
}

/// The generic webhook's document (docs/monitoring.md describes every field).
pub fn json_payload(ctx: &Context, alert: &Outgoing) -> serde_json::Value {
    let tz = ctx.config.timezone;
    let created = tz
        .from_local_datetime(&alert.created)
        .earliest()
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| alert.created.format("%Y-%m-%dT%H:%M:%S").to_string());
    serde_json::json!({
        "schema": JSON_SCHEMA,
        "id": alert.id,
        "key": alert.key,
        "class": alert.class,
        "transition": alert.transition,
        "message": alert.message,
        "created": created,
        "timezone": tz.name(),
        "host": ctx.host,
    })
}

fn run_command(ctx: &Context, command: &str, alert: &Outgoing) -> Result<(), String> {
    let env = [
        ("KLK_ETL_ALERT_KEY", alert.key.clone()),
        ("KLK_ETL_ALERT_CLASS", alert.class.clone()),
        ("KLK_ETL_ALERT_TRANSITION", alert.transition.clone()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let input = format!("{}\n", alert.message);
    command::run(&Bounded {
        command,
        env: &env,
        stdin: Some(input.as_bytes()),
        timeout: ctx.config.alerts.timeout,
        interrupt: None,
    })
    .map_err(|failure| format!("alert command {failure}"))
}

/// Summaries go one per message; the alerts of one delivery share a message.
fn email_batches(
    ctx: &Context,
    channel: &EmailChannel,
    alerts: &[Outgoing],
) -> Vec<(i64, Result<(), String>)> {
    let mut results = Vec::new();
    let (summaries, transitions): (Vec<&Outgoing>, Vec<&Outgoing>) =
        alerts.iter().partition(|a| a.transition == "summary");
    for summary in summaries {
        let subject = summary
            .message
            .lines()
            .next()
            .unwrap_or("KLK-ETL run summary")
            .to_string();
        let result = send_email(ctx, channel, &subject, &summary.message);
        results.push((summary.id, result));
    }
    if !transitions.is_empty() {
        let subject = email_subject(&transitions);
        let mut body = String::new();
        for alert in &transitions {
            body.push_str(&format!(
                "{}  {}\n\n",
                alert.created.format("%Y-%m-%d %H:%M"),
                alert.message
            ));
        }
        body.push_str(&format!(
            "-- \nklk-etl on {} ({}). `klk-etl status` and `klk-etl gaps` show the details.\n",
            ctx.host,
            ctx.config.timezone.name()
        ));
        let result = send_email(ctx, channel, &subject, &body);
        results.extend(transitions.iter().map(|a| (a.id, result.clone())));
    }
    results
}

fn email_subject(alerts: &[&Outgoing]) -> String {
    if let [only] = alerts {
        let line = only.message.lines().next().unwrap_or_default();
        return if line.chars().count() > 140 {
            format!("{}...", line.chars().take(137).collect::<String>())
        } else {
            line.to_string()
        };
    }
    let count = |transition: &str| alerts.iter().filter(|a| a.transition == transition).count();
    let mut parts = Vec::new();
    for (transition, word) in [
        ("problem", "new problem(s)"),
        ("reminder", "still open"),
        ("recovered", "recovered"),
        ("test", "test(s)"),
    ] {
        let n = count(transition);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    format!("KLK-ETL: {}", parts.join(", "))
}

/// Builds and submits one message.
pub fn send_email(
    ctx: &Context,
    channel: &EmailChannel,
    subject: &str,
    body: &str,
) -> Result<(), String> {
    use lettre::message::{Mailbox, Message, header::ContentType};
    let password = match &channel.password_file {
        Some(path) => Some(read_password(path)?),
        None => None,
    };
    let from: Mailbox = channel
        .from
        .parse()
        .map_err(|e| format!("alerts.email.from: {e}"))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject)
        .date(std::time::SystemTime::from(ctx.now_utc))
        .message_id(Some(format!(
            "<{}.{}@{}>",
            ctx.now_utc.timestamp_micros(),
            fastrand::u64(..),
            ctx.host
        )))
        .user_agent(concat!("klk-etl/", env!("CARGO_PKG_VERSION")).to_string())
        .header(ContentType::TEXT_PLAIN);
    let mut recipients = Vec::new();
    for to in &channel.to {
        let mailbox: Mailbox = to.parse().map_err(|e| format!("alerts.email.to: {e}"))?;
        recipients.push(mailbox.email.to_string());
        builder = builder.to(mailbox);
    }
    let message = builder
        .body(body.to_string())
        .map_err(|e| format!("the message cannot be built: {e}"))?;
    let proxy = ctx
        .config
        .proxy
        .for_destination(true, &channel.host, channel.port)
        .map(ProxySpec::parse)
        .transpose()?;
    let mut redactor = Redactor::default();
    if let Some(password) = &password {
        redactor.add(password.expose());
    }
    smtp::send(
        &smtp::Server {
            host: &channel.host,
            port: channel.port,
            security: channel.security,
            username: channel.username.as_deref(),
            password: password.as_ref(),
            ca_file: channel.ca_file.as_deref(),
            proxy,
            timeout: ctx.config.alerts.timeout.max(Duration::from_secs(1)),
            hello_name: ctx.host,
        },
        &smtp::Mail {
            from: from.email.as_ref(),
            to: &recipients,
            message: &message.formatted(),
        },
    )
    .map_err(|e| {
        format!(
            "SMTP {}:{}: {}",
            channel.host,
            channel.port,
            redactor.redact(&e)
        )
    })
}

fn read_password(path: &std::path::Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read alerts.email.password_file {}: {e}",
            path.display()
        )
    })?;
    Ok(Secret::new(text.trim_end_matches(['\r', '\n'])))
}
