//! What every route shares: errors as one-line JSON, the database on a blocking thread,
//! query strings, and the middleware that checks the Host, adds the security headers and
//! CORS, and logs one line per request.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use serde::Serialize;

use super::Shared;
use crate::tracker::engine::Session;
use crate::tracker::{Access, Database, TrackerError};

/// An error answer: `{"error": "..."}` (plus `detail`, FastAPI's key, on the previous
/// panels' API) with a status, and extra fields where they help (`holder` on a 409).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub extra: Option<serde_json::Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: crate::tracker::one_line(&message.into()),
            extra: None,
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn with(mut self, extra: serde_json::Value) -> ApiError {
        self.extra = Some(extra);
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    /// A database error: busy (503, retry), unusable (503), anything else (500).
    pub fn from_tracker(err: &TrackerError) -> ApiError {
        match err {
            TrackerError::Busy { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string()).retry_after(5)
            }
            TrackerError::Unusable { .. } | TrackerError::TooNew { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string())
            }
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(serde_json::Value::Object(extra)) = self.extra {
            for (key, value) in extra {
                body[key] = value;
            }
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A JSON answer (200).
pub fn json<T: Serialize + ?Sized>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(bytes),
        )
            .into_response(),
        Err(err) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response()
        }
    }
}

/// A JSON body serialized once, for a cached answer: at 100 stores a week of metrics is
/// 1,400 rows, and serializing them per request costs more than reading them from the cache.
pub fn json_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, ApiError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|err| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()))
}

/// A JSON answer (200) from [`json_bytes`] (cloning `Bytes` shares them).
pub fn json_body(bytes: &Bytes) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(bytes.clone()),
    )
        .into_response()
}

/// Runs `work` with the database open read-only on a blocking thread; the file is closed
/// when it returns. `now` is store-local "now" of this request. The future owns what it
/// needs (it may run behind a cached answer, see `cache`).
pub fn with_db<T, F>(
    state: &Shared,
    work: F,
) -> impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static
where
    T: Send + 'static,
    F: FnOnce(&mut Session, NaiveDateTime) -> Result<T, TrackerError> + Send + 'static,
{
    let state = state.clone();
    async move {
        let _permit = state
            .db_slots
            .acquire()
            .await
            .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
        let worker = state.clone();
        let result = tokio::task::spawn_blocking(move || {
            let now_utc = worker.clock.now_utc();
            let now_local = worker.clock.now_local();
            let mut db = Database::open(&worker.read_config, Access::Read, now_utc)?;
            work(&mut db.session(), now_local)
        })
        .await
        .map_err(|err| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("worker failed: {err}"),
            )
        })?;
        result.map_err(|err| ApiError::from_tracker(&err))
    }
}

/// `key=value` pairs of a query string, refusing keys not in `allowed` (a typo would
/// otherwise silently widen a listing) unless `lenient`.
pub fn query_pairs(
    raw: Option<&str>,
    allowed: &[&str],
    lenient: bool,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut pairs = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if !allowed.contains(&key.as_ref()) {
            if lenient {
                continue;
            }
            return Err(ApiError::bad_request(format!(
                "unknown query parameter '{}' (known: {})",
                key.chars().take(40).collect::<String>(),
                allowed.join(", ")
            )));
        }
        pairs.push((key.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}

/// The last value of `key`, if any (an empty value counts as absent).
pub fn last<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, v)| k == key && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// Every value of `key`, commas splitting too (`store=a&store=b`, `store=a,b`).
pub fn all(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// A whole number in `min..=max`.
pub fn number(
    pairs: &[(String, String)],
    key: &str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ApiError> {
    let Some(text) = last(pairs, key) else {
        return Ok(default);
    };
    match text.trim().parse::<i64>() {
        Ok(n) if n >= i64::from(min) && n <= i64::from(max) => Ok(n as u32),
        _ => Err(ApiError::bad_request(format!(
            "{key} must be a whole number from {min} to {max}, got '{}'",
            text.chars().take(40).collect::<String>()
        ))),
    }
}

/// A value of the seed's vocabulary (`etl_tipo`, `estado`, `modo`).
pub fn vocabulary<T: Copy>(
    pairs: &[(String, String)],
    key: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    as_str: fn(T) -> &'static str,
) -> Result<Option<T>, ApiError> {
    let Some(text) = last(pairs, key) else {
        return Ok(None);
    };
    parse(text).map(Some).ok_or_else(|| {
        let known: Vec<&str> = all.iter().map(|t| as_str(*t)).collect();
        ApiError::bad_request(format!(
            "{key} must be one of {}, got '{}'",
            known.join(", "),
            text.chars().take(40).collect::<String>()
        ))
    })
}

/// Unknown stores are an error, as on the command line (unless no store is configured).
pub fn check_stores(state: &Shared, stores: &[String]) -> Result<(), ApiError> {
    if state.config.stores.is_empty() {
        return Ok(());
    }
    for id in stores {
        if state.config.store(id).is_none() {
            return Err(ApiError::bad_request(format!(
                "unknown store '{}'",
                id.chars().take(40).collect::<String>()
            )));
        }
    }
    Ok(())
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such page or endpoint")
}

/// One line on stderr: `2025-11-24T20:00:01Z message`. Never ANSI.
pub fn log_line(message: &str) {
    #[expect(
        clippy::disallowed_methods,
        reason = "a log line's own time stamp, not a data timestamp"
    )]
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let _ = writeln!(std::io::stderr(), "{now} {message}");
}

/// The name a request authenticated with, if any (set by handlers for the log).
#[derive(Debug, Clone)]
pub struct LoggedAs(pub String);

/// A Host header names this server: an IP literal, `localhost`, or one of
/// `[serve] allowed_hosts` (a page of another site resolving its name to us is refused:
/// DNS rebinding).
fn host_allowed(state: &Shared, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        // HTTP/1.0 without Host: nothing for a browser to rebind.
        return true;
    };
    let host = host.trim().to_ascii_lowercase();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default().to_string()
    } else {
        host.rsplit_once(':')
            .map_or(host.as_str(), |(name, _)| name)
            .to_string()
    };
    name == "localhost"
        || name.parse::<std::net::IpAddr>().is_ok()
        || state.config.serve.allowed_hosts.contains(&name)
}

fn cors_origin(state: &Shared, headers: &HeaderMap, path: &str) -> Option<HeaderValue> {
    if !path.starts_with("/api/") {
        return None;
    }
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    state
        .config
        .serve
        .cors_origins
        .iter()
        .any(|o| o == origin)
        .then(|| HeaderValue::from_str(origin).ok())
        .flatten()
}

pub async fn guard_and_log(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let allow_origin = cors_origin(&state, request.headers(), &path);
    let mut response = if !host_allowed(&state, request.headers()) {
        ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "this Host is not served here; add it to [serve] allowed_hosts",
        )
        .into_response()
    } else if method == Method::OPTIONS && allow_origin.is_some() {
        // A CORS preflight from an allowed origin.
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        let h = preflight.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        preflight
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    if let Some(origin) = allow_origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    let who = response
        .extensions()
        .get::<LoggedAs>()
        .map(|w| format!(" as {}", w.0))
        .unwrap_or_default();
    log_line(&format!(
        "{} {method} {} {} {:.1}ms{who}",
        peer.ip(),
        loggable(&path),
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    ));
    response
}

/// The path as logged: printable and bounded (the query string is never logged).
fn loggable(path: &str) -> String {
    path.chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
