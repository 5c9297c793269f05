//! Outbound HTTP for the integrations (alert webhooks, check-ins): TLS with the destination's
//! `ca_file`, the proxy that applies to it, a bounded time, no redirects, and errors in words
//! that never quote the URL (its path and query hold keys).

use std::path::Path;
use std::time::Duration;

use super::proxy::{ProxyConfig, ProxySpec};
use super::tls;
use crate::secret::{Redactor, Secret};

const EXCERPT_CHARS: usize = 160;

/// Where a request goes and how.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    /// The whole URL is a secret.
    pub url: &'a Secret,
    pub ca_file: Option<&'a Path>,
    pub proxies: &'a ProxyConfig,
    /// For the whole request: connect, send, answer.
    pub timeout: Duration,
}

/// One request's body.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    None,
    Json(&'a serde_json::Value),
    Text(&'a str),
}

/// Checks that `url` is an `http://` or `https://` URL with a host and without credentials,
/// as every outbound request needs; the message never quotes the URL.
pub fn validate_url(url: &str) -> Result<url::Url, String> {
    if !url.contains("://") {
        return Err("must start with http:// or https://".to_string());
    }
    let parsed = url::Url::parse(url.trim()).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "must start with http:// or https:// (got {}://)",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_string());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not hold credentials (user:password@)".to_string());
    }
    Ok(parsed)
}

/// Sends one request; `Ok(status)` for a 2xx answer, otherwise the reason in words:
/// `unreachable: ...` (DNS, refused, TLS, proxy, timeout) or `answered HTTP 404: ...`.
pub fn send(
    destination: &Destination,
    method: &str,
    body: Body,
    headers: &[(String, Secret)],
) -> Result<u16, String> {
    let url = validate_url(destination.url.expose())?;
    let https = url.scheme() == "https";
    let mut redactor = Redactor::new([destination.url]);
    for (_, value) in headers {
        redactor.add(value.expose());
    }
    let mut builder = ureq::AgentBuilder::new()
        .timeout_connect(destination.timeout.min(Duration::from_secs(10)))
        .timeout(destination.timeout)
        .redirects(0)
        .try_proxy_from_env(false)
        .user_agent(concat!("klk-etl/", env!("CARGO_PKG_VERSION")));
    if https {
        builder =
            builder.tls_config(tls::client_config(destination.ca_file).map_err(|e| e.to_string())?);
    }
    let host = url.host_str().unwrap_or_default();
    let port = url
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let mut proxy_authorization = None;
    if let Some(proxy) = destination.proxies.for_destination(https, host, port) {
        redactor.add(proxy.expose());
        let spec = ProxySpec::parse(proxy)?;
        builder = builder.proxy(spec.to_ureq()?);
        // Through a tunnel (https) the proxy's credentials go in the CONNECT only; a plain
        // http:// request is read by the proxy itself, so it carries them.
        if !https {
            proxy_authorization = spec.authorization();
        }
    }
    let agent = builder.build();
    let mut request = agent.request(method, url.as_str());
    for (name, value) in headers {
        request = request.set(name, value.expose());
    }
    if let Some(auth) = &proxy_authorization {
        request = request.set("Proxy-Authorization", auth.expose());
    }
    let result = match body {
        Body::None => request.call(),
        Body::Json(json) => request.send_json(json),
        Body::Text(text) => request
            .set("Content-Type", "text/plain; charset=utf-8")
            .send_string(text),
    };
    match result {
        Ok(response) if (200..300).contains(&response.status()) => Ok(response.status()),
        Ok(response) => Err(describe_status(response, &redactor)),
        Err(ureq::Error::Status(_, response)) => Err(describe_status(response, &redactor)),
        Err(ureq::Error::Transport(transport)) => Err(format!(
            "unreachable: {}",
            redactor.redact(&describe_transport(&transport, destination.timeout))
        )),
    }
}

fn describe_status(response: ureq::Response, redactor: &Redactor) -> String {
    let status = response.status();
    let redirect = if (300..400).contains(&status) {
        " (redirects are not followed: configure the final URL)"
    } else {
        ""
    };
    let body = response.into_string().unwrap_or_default();
    let excerpt: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let excerpt: String = excerpt.chars().take(EXCERPT_CHARS).collect();
    let excerpt = redactor.redact(&excerpt);
    if excerpt.is_empty() {
        format!("answered HTTP {status}{redirect}")
    } else {
        format!("answered HTTP {status}{redirect}: {excerpt}")
    }
}

/// A transport failure in words, without the URL (ureq's own text names it).
pub fn describe_transport(transport: &ureq::Transport, timeout: Duration) -> String {
    if let Some(tls) = tls::describe_chain(transport) {
        return tls;
    }
    let io = std::error::Error::source(transport)
        .and_then(|source| source.downcast_ref::<std::io::Error>());
    let io_kind = io.map(std::io::Error::kind);
    let timed_out = matches!(
        io_kind,
        Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
    );
    match transport.kind() {
        _ if timed_out => format!(
            "no answer within {}",
            crate::duration::format_duration(timeout)
        ),
        ureq::ErrorKind::Dns => "DNS lookup failed (unknown host?)".to_string(),
        ureq::ErrorKind::ConnectionFailed => match io_kind {
            Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_string(),
            Some(
                std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted,
            ) if transport.url().is_some_and(|u| u.scheme() == "https") => {
                "TLS: the server closed the connection during the handshake (is it TLS on this \
                 port?)"
                    .to_string()
            }
            _ => match io {
                Some(io) => format!("cannot connect: {io}"),
                None => "cannot connect".to_string(),
            },
        },
        ureq::ErrorKind::ProxyConnect => "the proxy refused the tunnel (CONNECT)".to_string(),
        ureq::ErrorKind::ProxyUnauthorized => {
            "the proxy refused the credentials (HTTP 407)".to_string()
        }
        ureq::ErrorKind::InvalidProxyUrl => "the proxy URL cannot be used".to_string(),
        ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => {
            "the answer is not HTTP (a TLS port spoken to in plain http://?)".to_string()
        }
        ureq::ErrorKind::Io => match io_kind {
            Some(
                std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::UnexpectedEof,
            ) => "the server closed the connection without an answer".to_string(),
            _ => match io {
                Some(io) => format!("connection failed: {io}"),
                None => "connection failed".to_string(),
            },
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(validate_url("https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(validate_url("http://127.0.0.1:8080/hook?sig=1").is_ok());
        for bad in [
            "ftp://x/y",
            "hooks.slack.com/x",
            "https://",
            "https://u:p@h/x",
        ] {
            let err = validate_url(bad).unwrap_err();
            assert!(!err.contains("u:p"), "{err}");
        }
    }
}
