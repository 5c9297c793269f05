//! Check-ins, the dead-man's switch: every `run` pings each `[[checkins]]` URL when it starts
//! and when it ends (with its exit code), in the shape the service expects, so the service
//! notices a run that failed, hung or never came. Pings run in the background within each
//! check-in's timeout; one that fails never fails the run (it is counted: `etl_checkins`,
//! `klk_etl_checkin_failures_total`).

use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::{CheckinService, CheckinSettings, Config};
use crate::net::http::{self, Body, Destination};
use crate::net::proxy::ProxyConfig;
use crate::secret::Secret;
use crate::tracker::integrations::Ping;

/// One ping: where and how.
#[derive(Debug, Clone, PartialEq)]
pub struct PingRequest {
    pub method: &'static str,
    /// Built from the check-in's URL: a secret too.
    pub url: Secret,
    pub body: Option<String>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// The process's exit code (0 success).
    pub exit_code: u8,
    /// One line: what the run did or why it failed.
    pub message: String,
    pub duration: Duration,
}

/// A random run id (UUID v4), so a service pairs each start with its end.
pub fn run_id() -> String {
    let mut bytes = [0u8; 16];
    for byte in &mut bytes {
        *byte = fastrand::u8(..);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The request for the start (`end: None`) or the end of a run; `None`: the service has no
/// start ping (Uptime Kuma).
pub fn request(
    checkin: &CheckinSettings,
    run_id: &str,
    host: &str,
    end: Option<&RunEnd>,
) -> Result<Option<PingRequest>, String> {
    let mut url = http::validate_url(checkin.url.expose())?;
    let ok = end.is_none_or(|e| e.exit_code == 0);
    let mut body = None;
    let method = match checkin.service {
        CheckinService::Healthchecks => {
            // <url>/start, then <url>/<exit code> (0 success), the same `rid` for both.
            let suffix = match end {
                None => "start".to_string(),
                Some(end) => end.exit_code.to_string(),
            };
            url.path_segments_mut()
                .map_err(|()| "the URL cannot take a path".to_string())?
                .pop_if_empty()
                .push(&suffix);
            set_query(&mut url, &[("rid", run_id.to_string())]);
            body = end.map(|e| e.message.clone());
            "POST"
        }
        CheckinService::Cronitor => {
            let mut pairs = vec![
                (
                    "state",
                    match end {
                        None => "run",
                        Some(_) if ok => "complete",
                        Some(_) => "fail",
                    }
                    .to_string(),
                ),
                ("series", run_id.to_string()),
                ("host", host.to_string()),
            ];
            if let Some(end) = end {
                pairs.push(("status_code", end.exit_code.to_string()));
                pairs.push(("message", truncate(&end.message, 2000)));
                pairs.push((
                    "metric",
                    format!("duration:{:.1}", end.duration.as_secs_f64()),
                ));
            }
            set_query(&mut url, &pairs);
            "GET"
        }
        CheckinService::Sentry => {
            let status = match end {
                None => "in_progress",
                Some(_) if ok => "ok",
                Some(_) => "error",
            };
            let mut pairs = vec![
                ("status", status.to_string()),
                ("check_in_id", run_id.to_string()),
            ];
            if let Some(end) = end {
                pairs.push(("duration", format!("{:.3}", end.duration.as_secs_f64())));
            }
            set_query(&mut url, &pairs);
            "GET"
        }
        CheckinService::UptimeKuma => {
            let Some(end) = end else {
                return Ok(None);
            };
            set_query(
                &mut url,
                &[
                    ("status", if ok { "up" } else { "down" }.to_string()),
                    ("msg", truncate(&end.message, 250)),
                    ("ping", end.duration.as_millis().to_string()),
                ],
            );
            "GET"
        }
    };
    Ok(Some(PingRequest {
        method,
        url: Secret::new(url.to_string()),
        body,
    }))
}

/// Replaces `pairs`' keys in the URL's query (a URL pasted with `?status=up&msg=OK` keeps
/// its other parameters).
fn set_query(url: &mut url::Url, pairs: &[(&str, String)]) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !pairs.iter().any(|(key, _)| key == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut query = url.query_pairs_mut();
    query.clear();
    for (k, v) in &kept {
        query.append_pair(k, v);
    }
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
}

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// Sends one ping; the error never quotes the URL.
fn send(
    checkin: &CheckinSettings,
    proxies: &ProxyConfig,
    request: &PingRequest,
) -> Result<(), String> {
    let body = match &request.body {
        Some(text) => Body::Text(text),
        None => Body::None,
    };
    http::send(
        &Destination {
            url: &request.url,
            ca_file: checkin.ca_file.as_deref(),
            proxies,
            timeout: checkin.timeout,
        },
        request.method,
        body,
        &[],
    )
    .map(|_| ())
}

/// The pings of one run: the start ones are in flight while the run works.
pub struct Checkins {
    run_id: String,
    host: String,
    /// The check-ins this run pings (those for its tipos).
    checkins: Vec<CheckinSettings>,
    started: Vec<JoinHandle<Ping>>,
}

/// The check-ins a run of `tipos` pings: those without a `tipo`, and those for one of them.
pub fn for_tipos<'a>(config: &'a Config, tipos: &[&str]) -> Vec<&'a CheckinSettings> {
    config
        .checkins
        .iter()
        .filter(|c| c.tipo.as_deref().is_none_or(|t| tipos.contains(&t)))
        .collect()
}

fn spawn(
    checkin: &CheckinSettings,
    proxies: &ProxyConfig,
    request: Result<Option<PingRequest>, String>,
    at: chrono::NaiveDateTime,
) -> Option<JoinHandle<Ping>> {
    let request = match request {
        Ok(None) => return None,
        Ok(Some(request)) => Ok(request),
        Err(e) => Err(e),
    };
    let checkin = checkin.clone();
    let proxies = proxies.clone();
    Some(std::thread::spawn(move || {
        let error = request
            .and_then(|request| send(&checkin, &proxies, &request))
            .err();
        Ping {
            nombre: checkin.name.clone(),
            servicio: checkin.service.as_str().to_string(),
            at,
            error,
        }
    }))
}

impl Checkins {
    /// Sends the start pings of a run of `tipos` in the background.
    pub fn start(
        config: &Config,
        tipos: &[&str],
        host: &str,
        at: chrono::NaiveDateTime,
    ) -> Checkins {
        let run_id = run_id();
        let checkins: Vec<CheckinSettings> =
            for_tipos(config, tipos).into_iter().cloned().collect();
        let started = checkins
            .iter()
            .filter_map(|c| spawn(c, &config.proxy, request(c, &run_id, host, None), at))
            .collect();
        Checkins {
            run_id,
            host: host.to_string(),
            checkins,
            started,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.checkins.is_empty()
    }

    /// Waits for the start pings (each bounded by its timeout), then sends the end pings and
    /// waits for them: every ping's outcome, in configuration order, starts first.
    pub fn finish(self, config: &Config, end: &RunEnd, at: chrono::NaiveDateTime) -> Vec<Ping> {
        let mut pings: Vec<Ping> = self
            .started
            .into_iter()
            .filter_map(|h| h.join().ok())
            .collect();
        let ending: Vec<JoinHandle<Ping>> = self
            .checkins
            .iter()
            .filter_map(|c| {
                spawn(
                    c,
                    &config.proxy,
                    request(c, &self.run_id, &self.host, Some(end)),
                    at,
                )
            })
            .collect();
        pings.extend(ending.into_iter().filter_map(|h| h.join().ok()));
        pings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkin(service: CheckinService, url: &str) -> CheckinSettings {
        CheckinSettings {
            name: service.as_str().to_string(),
            service,
            url: Secret::new(url),
            tipo: None,
            ca_file: None,
            timeout: Duration::from_secs(5),
        }
    }

    fn end(code: u8) -> RunEnd {
        RunEnd {
            exit_code: code,
            message: "38 window(s) ok, 0 failed".to_string(),
            duration: Duration::from_millis(12_345),
        }
    }

    fn url_of(r: Option<PingRequest>) -> String {
        r.unwrap().url.expose().to_string()
    }

    #[test]
    fn healthchecks_start_and_exit_code_with_one_run_id() {
        let c = checkin(CheckinService::Healthchecks, "https://hc-ping.com/abc-123/");
        let start = url_of(request(&c, "RID", "h", None).unwrap());
        assert_eq!(start, "https://hc-ping.com/abc-123/start?rid=RID");
        let ok = request(&c, "RID", "h", Some(&end(0))).unwrap().unwrap();
        assert_eq!(ok.url.expose(), "https://hc-ping.com/abc-123/0?rid=RID");
        assert_eq!(ok.method, "POST");
        assert!(ok.body.unwrap().contains("window(s) ok"));
        let failed = url_of(request(&c, "RID", "h", Some(&end(4))).unwrap());
        assert_eq!(failed, "https://hc-ping.com/abc-123/4?rid=RID");
    }

    #[test]
    fn cronitor_sentry_and_uptime_kuma_shapes() {
        let c = checkin(
            CheckinService::Cronitor,
            "https://cronitor.link/p/KEY/klk-run",
        );
        let start = url_of(request(&c, "RID", "etl1", None).unwrap());
        assert!(start.starts_with("https://cronitor.link/p/KEY/klk-run?state=run&series=RID"));
        let fail = url_of(request(&c, "RID", "etl1", Some(&end(1))).unwrap());
        assert!(
            fail.contains("state=fail") && fail.contains("status_code=1"),
            "{fail}"
        );

        let c = checkin(
            CheckinService::Sentry,
            "https://o1.ingest.sentry.io/api/2/cron/klk-run/PUBKEY/",
        );
        let start = url_of(request(&c, "RID", "h", None).unwrap());
        assert_eq!(
            start,
            "https://o1.ingest.sentry.io/api/2/cron/klk-run/PUBKEY/?status=in_progress&check_in_id=RID"
        );
        let ok = url_of(request(&c, "RID", "h", Some(&end(0))).unwrap());
        assert!(ok.contains("status=ok&check_in_id=RID"), "{ok}");
        let error = url_of(request(&c, "RID", "h", Some(&end(3))).unwrap());
        assert!(error.contains("status=error"), "{error}");

        let c = checkin(
            CheckinService::UptimeKuma,
            "https://kuma.example/api/push/TOKEN?status=up&msg=OK&ping=",
        );
        assert_eq!(request(&c, "RID", "h", None).unwrap(), None);
        let up = url_of(request(&c, "RID", "h", Some(&end(0))).unwrap());
        assert!(
            up.starts_with("https://kuma.example/api/push/TOKEN?status=up&msg="),
            "{up}"
        );
        assert!(up.ends_with("&ping=12345"), "{up}");
        assert_eq!(up.matches("status=").count(), 1, "{up}");
        let down = url_of(request(&c, "RID", "h", Some(&end(1))).unwrap());
        assert!(down.contains("status=down"), "{down}");
    }

    #[test]
    fn run_ids_are_uuid_v4() {
        let id = run_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
}
