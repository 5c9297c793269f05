use std::io::{self, BufReader, Read};
use std::time::{Duration, Instant};

use crate::klk::error::{ApiError, ErrorKind, TimeoutPhase};
use crate::klk::model::{SalesBatch, SalesRequest, StockBatch, StockRequest, WarehouseList};
use crate::klk::options::ClientOptions;
use crate::klk::parse;
use crate::klk::retry::backoff_delay;
use crate::net::proxy::ProxySpec;
use crate::net::tls;
use crate::secret::{Redactor, Secret};

const BODY_BUFFER_BYTES: usize = 64 * 1024;
const ERROR_EXCERPT_BYTES: u64 = 2048;
const ERROR_EXCERPT_CHARS: usize = 200;

/// Blocking KLK API client. Cheap to share by reference across threads.
pub struct Client {
    agent: ureq::Agent,
    options: ClientOptions,
    base_url: String,
    secrets: Redactor,
    /// Sent with every request to an `http://` API through a proxy with credentials.
    proxy_authorization: Option<Secret>,
}

/// `ClientOptions` that cannot work.
#[derive(Debug, thiserror::Error)]
#[error("invalid KLK client options: {0}")]
pub struct InvalidOptions(String);

impl InvalidOptions {
    /// Why, without the "invalid KLK client options" prefix.
    pub fn reason(&self) -> &str {
        &self.0
    }
}

impl Client {
    pub fn new(options: ClientOptions) -> Result<Self, InvalidOptions> {
        let base_url = validate_base_url(&options.base_url)?;
        if options.retry.max_attempts == 0 {
            return Err(InvalidOptions(
                "retry.max_attempts must be at least 1".to_owned(),
            ));
        }
        let zero_timeout = [
            ("connect_timeout", options.connect_timeout),
            ("read_timeout", options.read_timeout),
            ("total_timeout", options.total_timeout),
        ]
        .into_iter()
        .find(|(_, timeout)| timeout.is_zero());
        if let Some((name, _)) = zero_timeout {
            return Err(InvalidOptions(format!("{name} must be more than zero")));
        }
        let is_header_value = |value: &str| {
            value
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        };
        for (name, value) in &options.headers {
            let is_token = |text: &str| {
                !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic() && b != b':')
            };
            if !is_token(name) || !is_header_value(value.expose()) {
                return Err(InvalidOptions(format!(
                    "header {name:?} has an invalid name or value"
                )));
            }
        }
        if options
            .token
            .as_ref()
            .is_some_and(|t| !is_header_value(t.expose()))
        {
            return Err(InvalidOptions(
                "the API token has a character a header cannot carry (a line break?)".to_owned(),
            ));
        }
        let mut agent = ureq::AgentBuilder::new()
            .timeout_connect(options.connect_timeout)
            .timeout_read(options.read_timeout)
            .timeout_write(options.read_timeout)
            .redirects(0)
            // KLK is on the local network; a proxy from the environment must not apply.
            .try_proxy_from_env(false)
            .user_agent(concat!("klk-etl/", env!("CARGO_PKG_VERSION")));
        let mut secrets = Redactor::new(
            options
                .token
                .iter()
                .chain(options.headers.iter().map(|(_, value)| value)),
        );
        let proxy = match &options.proxy {
            Some(proxy) => {
                secrets.add(proxy.expose());
                Some(
                    ProxySpec::parse(proxy)
                        .map_err(|e| InvalidOptions(format!("api.proxy: {e}")))?,
                )
            }
            None => None,
        };
        let mut proxy_authorization = None;
        if base_url.starts_with("https://") {
            let config = tls::client_config(options.ca_file.as_deref())
                .map_err(|e| InvalidOptions(format!("api.{e}")))?;
            let port = url::Url::parse(&base_url)
                .ok()
                .and_then(|u| u.port_or_known_default())
                .unwrap_or(443);
            agent = match &proxy {
                // A CONNECT tunnel; the credentials stay with the proxy.
                Some(spec) => spec.https_through(agent, port, config),
                None => agent.tls_config(config),
            };
        } else {
            if let Some(path) = &options.ca_file {
                return Err(InvalidOptions(format!(
                    "ca_file {} is set but base_url is not https://",
                    path.display()
                )));
            }
            if let Some(spec) = &proxy {
                agent = agent.proxy(
                    spec.to_ureq()
                        .map_err(|e| InvalidOptions(format!("api.proxy: {e}")))?,
                );
                // The proxy reads a plain http:// request itself: it carries the credentials.
                proxy_authorization = spec.authorization();
            }
        }
        Ok(Self {
            agent: agent.build(),
            options,
            base_url,
            secrets,
            proxy_authorization,
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// `POST /ventas`. Lines outside the requested window are kept and counted in
    /// `outside_window`; a `meta.sucursal_codigo` naming another store fails the call.
    pub fn fetch_sales(&self, request: &SalesRequest) -> Result<SalesBatch, ApiError> {
        let path = "/ventas";
        if let Err(reason) = request.validate() {
            return Err(self.refused("POST", path, reason));
        }
        let body = serialize_body(&request.wire_body());
        let (mut batch, attempts) = self.call("POST", path, Some(&body), |reader| {
            let batch = parse::parse_sales(reader)?;
            let answered_store = batch
                .meta
                .as_ref()
                .and_then(|m| m.sucursal_codigo.as_deref());
            match answered_store {
                Some(store) if store != request.sucursal => Err(ErrorKind::WrongShape {
                    detail: format!(
                        "meta.sucursal_codigo is {store:?} but {:?} was requested",
                        request.sucursal
                    ),
                }),
                _ => Ok(batch),
            }
        })?;
        batch.attempts = attempts;
        batch.outside_window = batch.lines.count_where(|fecha, hora, codigo_almacen| {
            let wrong_warehouse = request
                .almacen
                .as_ref()
                .is_some_and(|almacen| almacen != codigo_almacen);
            wrong_warehouse || !request.contains(fecha, hora)
        });
        Ok(batch)
    }

    /// `POST /maestra/articulos/almacen` for one warehouse.
    pub fn fetch_stock(&self, request: &StockRequest) -> Result<StockBatch, ApiError> {
        let path = "/maestra/articulos/almacen";
        if request.almacen.trim().is_empty() {
            return Err(self.refused("POST", path, "almacen is empty".to_owned()));
        }
        let body = serialize_body(&serde_json::json!({ "Codigoalmacen": request.almacen }));
        let (mut batch, attempts) = self.call("POST", path, Some(&body), |reader| {
            parse::parse_stock(reader, &request.almacen)
        })?;
        batch.attempts = attempts;
        Ok(batch)
    }

    /// `GET /maestra/almacenes/Reposicion[?sucursal=...]`.
    pub fn list_replenishment_warehouses(
        &self,
        sucursal: Option<&str>,
    ) -> Result<WarehouseList, ApiError> {
        let path = match sucursal {
            Some(sucursal) => format!(
                "/maestra/almacenes/Reposicion?sucursal={}",
                encode_query(sucursal)
            ),
            None => "/maestra/almacenes/Reposicion".to_owned(),
        };
        let (warehouses, attempts) =
            self.call("GET", &path, None, |reader| parse::parse_warehouses(reader))?;
        Ok(WarehouseList {
            warehouses,
            attempts,
        })
    }

    /// `GET /maestra/almacenes/pisoventa`.
    pub fn list_sales_floor_warehouses(&self) -> Result<WarehouseList, ApiError> {
        let (warehouses, attempts) =
            self.call("GET", "/maestra/almacenes/pisoventa", None, |reader| {
                parse::parse_warehouses(reader)
            })?;
        Ok(WarehouseList {
            warehouses,
            attempts,
        })
    }

    fn describe_request(&self, method: &str, path: &str) -> String {
        format!("{method} {}{path}", self.base_url)
    }

    fn refused(&self, method: &str, path: &str, reason: String) -> ApiError {
        let kind = ErrorKind::InvalidRequest { reason }.map_text(|text| self.secrets.redact(text));
        ApiError::new(self.describe_request(method, path), 0, Duration::ZERO, kind)
    }

    /// Sends the request until it succeeds, fails for good, or the retry policy is spent.
    fn call<T>(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        parse: impl Fn(&mut dyn Read) -> Result<T, ErrorKind>,
    ) -> Result<(T, u32), ApiError> {
        let policy = &self.options.retry;
        let started = Instant::now();
        let mut rng = fastrand::Rng::new();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let failure = match self.attempt(method, path, body, &parse) {
                Ok(value) => return Ok((value, attempts)),
                Err(kind) => kind.map_text(|text| self.secrets.redact(text)),
            };
            let give_up = |kind| {
                ApiError::new(
                    self.describe_request(method, path),
                    attempts,
                    started.elapsed(),
                    kind,
                )
            };
            if !failure.is_retryable() || attempts >= policy.max_attempts {
                return Err(give_up(failure));
            }
            let delay = backoff_delay(policy, attempts, failure.retry_after(), &mut rng);
            if started.elapsed() + delay > policy.max_elapsed {
                return Err(give_up(failure));
            }
            std::thread::sleep(delay);
        }
    }

    fn attempt<T>(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        parse: &impl Fn(&mut dyn Read) -> Result<T, ErrorKind>,
    ) -> Result<T, ErrorKind> {
        let started = Instant::now();
        let total = self.options.total_timeout;
        let timeout_kind = |kind: ErrorKind| with_timeout_phase(kind, started.elapsed(), total);

        let mut request = self
            .agent
            .request(method, &format!("{}{path}", self.base_url))
            .set("Accept", "application/json");
        // ureq's per-request deadline overrides its read timeout, so it is only used when
        // it is the tighter bound; otherwise the body reader checks the deadline itself.
        if total <= self.options.read_timeout {
            request = request.timeout(total);
        }
        for (name, value) in &self.options.headers {
            request = request.set(name, value.expose());
        }
        if let Some(token) = &self.options.token {
            request = request.set("Authorization", &format!("Bearer {}", token.expose()));
        }
        if let Some(auth) = &self.proxy_authorization {
            request = request.set("Proxy-Authorization", auth.expose());
        }
        let result = match body {
            Some(bytes) => request
                .set("Content-Type", "application/json")
                .send_bytes(bytes),
            None => request.call(),
        };
        let response = match result {
            Ok(response) if response.status() == 200 => response,
            Ok(response) => return Err(status_error(response)),
            Err(ureq::Error::Status(_, response)) => return Err(status_error(response)),
            Err(ureq::Error::Transport(transport)) => {
                return Err(timeout_kind(classify_transport(&transport)));
            }
        };
        let deadline_reader = DeadlineReader {
            inner: response.into_reader(),
            deadline: started + total,
        };
        let mut reader = BufReader::with_capacity(BODY_BUFFER_BYTES, deadline_reader);
        parse(&mut reader).map_err(timeout_kind)
    }
}

fn serialize_body(body: &impl serde::Serialize) -> Vec<u8> {
    // Serializing these plain structs of strings cannot fail.
    serde_json::to_vec(body).unwrap_or_default()
}

/// The base URL as requests use it (without a trailing `/`), or why it cannot work: the
/// configuration checks it with this same function, so both accept the same URLs.
pub fn validate_base_url(raw: &str) -> Result<String, InvalidOptions> {
    let trimmed = raw.trim().trim_end_matches('/');
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((scheme, rest)) => (scheme, rest),
        None => ("", trimmed),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // The URL is quoted in messages unless it holds credentials.
    let shown = if authority.contains('@') {
        format!("{scheme}://[redacted]@...")
    } else {
        raw.to_owned()
    };
    let invalid = |why: &str| Err(InvalidOptions(format!("base_url {why} (got {shown:?})")));
    if !matches!(scheme, "http" | "https") {
        return invalid("must start with http:// or https://");
    }
    if authority.is_empty() {
        return invalid("has no host");
    }
    if authority.contains('@') {
        return invalid("must not hold credentials (use the token or [api.headers])");
    }
    if rest.contains(['?', '#']) || rest.chars().any(char::is_whitespace) {
        return invalid("must be scheme://host[:port][/path] without query or spaces");
    }
    // What ureq will make of it (the same parser): a host it can connect to.
    match url::Url::parse(trimmed) {
        Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => {}
        Ok(_) => return invalid("has no host"),
        Err(e) => return invalid(&format!("is not a valid URL ({e})")),
    }
    Ok(trimmed.to_owned())
}

fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn status_error(response: ureq::Response) -> ErrorKind {
    let status = response.status();
    // Only a proxy answers 407 (api.proxy with an http:// API): the API was not reached.
    if status == 407 {
        return ErrorKind::Connection {
            detail: "the proxy refused the credentials (HTTP 407)".to_owned(),
        };
    }
    let retry_after = response
        .header("Retry-After")
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut excerpt_bytes = Vec::new();
    // The excerpt is only decoration: a failure to read it changes nothing.
    let _ = response
        .into_reader()
        .take(ERROR_EXCERPT_BYTES)
        .read_to_end(&mut excerpt_bytes);
    let excerpt_text = String::from_utf8_lossy(&excerpt_bytes);
    let excerpt = serde_json::from_str::<serde_json::Value>(&excerpt_text)
        .ok()
        .and_then(|json| {
            json.get("error").map(|error| match error.as_str() {
                Some(text) => text.to_owned(),
                None => error.to_string(),
            })
        })
        .unwrap_or_else(|| excerpt_text.into_owned());
    ErrorKind::Status {
        status,
        retry_after,
        excerpt: parse::single_line_excerpt(&excerpt, ERROR_EXCERPT_CHARS),
    }
}

fn classify_transport(transport: &ureq::Transport) -> ErrorKind {
    // A certificate refused or a handshake that cannot succeed: retrying will not help.
    if let Some(detail) = tls::describe_chain(transport) {
        return ErrorKind::Tls { detail };
    }
    let io_kind = std::error::Error::source(transport)
        .and_then(|source| source.downcast_ref::<io::Error>())
        .map(io::Error::kind);
    let detail = describe_transport(transport, io_kind);
    let is_timeout = matches!(
        io_kind,
        Some(io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
    );
    match transport.kind() {
        ureq::ErrorKind::ConnectionFailed if is_timeout => ErrorKind::Connection {
            detail: format!("connect timeout: {detail}"),
        },
        ureq::ErrorKind::Io if is_timeout => timeout_placeholder(),
        ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => ErrorKind::MalformedBody {
            detail: format!("invalid HTTP response: {detail}"),
        },
        _ => ErrorKind::Connection { detail },
    }
}

/// What went wrong, in words, without the URL (the caller names the request).
fn describe_transport(transport: &ureq::Transport, io_kind: Option<io::ErrorKind>) -> String {
    let mut innermost: Option<&dyn std::error::Error> = std::error::Error::source(transport);
    while let Some(next) = innermost.and_then(std::error::Error::source) {
        innermost = Some(next);
    }
    let cause = innermost
        .map(ToString::to_string)
        .or_else(|| transport.message().map(str::to_owned))
        .unwrap_or_else(|| transport.kind().to_string());
    match (transport.kind(), io_kind) {
        (ureq::ErrorKind::Dns, _) => format!("DNS lookup failed: {cause}"),
        (_, Some(io::ErrorKind::ConnectionAborted | io::ErrorKind::UnexpectedEof)) => {
            "the server closed the connection without a response".to_owned()
        }
        _ => cause,
    }
}

/// Classifies an I/O failure met while reading a response body.
pub(crate) fn classify_body_io(kind: io::ErrorKind, message: &str) -> ErrorKind {
    match kind {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timeout_placeholder(),
        io::ErrorKind::UnexpectedEof => ErrorKind::MalformedBody {
            detail: format!("body truncated: {message}"),
        },
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::Other => {
            ErrorKind::MalformedBody {
                detail: message.to_owned(),
            }
        }
        _ => ErrorKind::Connection {
            detail: format!("connection lost while reading the body: {message}"),
        },
    }
}

fn timeout_placeholder() -> ErrorKind {
    ErrorKind::Timeout {
        phase: TimeoutPhase::Read,
        after: Duration::ZERO,
    }
}

/// Fills in which timeout fired, from how long the attempt ran.
fn with_timeout_phase(kind: ErrorKind, elapsed: Duration, total: Duration) -> ErrorKind {
    const TOLERANCE: Duration = Duration::from_millis(5);
    match kind {
        ErrorKind::Timeout { .. } => ErrorKind::Timeout {
            phase: if elapsed + TOLERANCE >= total {
                TimeoutPhase::Total
            } else {
                TimeoutPhase::Read
            },
            after: elapsed,
        },
        other => other,
    }
}

/// Fails reads once the attempt's total deadline has passed.
struct DeadlineReader<R> {
    inner: R,
    deadline: Instant,
}

impl<R: Read> Read for DeadlineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if Instant::now() >= self.deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "total timeout"));
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_must_be_http_or_https_without_credentials() {
        assert_eq!(
            validate_base_url("http://h:7002/").unwrap(),
            "http://h:7002"
        );
        assert_eq!(
            validate_base_url("http://h:7002/api").unwrap(),
            "http://h:7002/api"
        );
        assert_eq!(
            validate_base_url("https://klk.lan:7443/").unwrap(),
            "https://klk.lan:7443"
        );
        let err = validate_base_url("https://user:SECRET@h").unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        for bad in [
            "ftp://h",
            "h:7002",
            "http://",
            "http://u:p@h",
            "http://h/?q=1",
            "http://h /",
        ] {
            assert!(validate_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query("SUC 01&x"), "SUC%2001%26x");
    }
}
