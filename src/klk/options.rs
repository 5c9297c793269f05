use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;

/// How the client talks to one KLK API server.
///
/// `Debug` never shows the token, the values of `headers` nor the proxy (all [`Secret`]s).
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `http://host:port` or `https://host:port`, optionally with a path prefix (a trailing
    /// `/` is tolerated).
    pub base_url: String,
    /// Time allowed to establish the TCP connection.
    pub connect_timeout: Duration,
    /// Longest silence allowed while waiting for the response or reading its body.
    pub read_timeout: Duration,
    /// Wall-clock limit of one attempt, from connect to the last body byte.
    pub total_timeout: Duration,
    /// Sent as `Authorization: Bearer <token>` when set.
    pub token: Option<Secret>,
    /// Extra request headers (name, value), e.g. an API key.
    pub headers: Vec<(String, Secret)>,
    /// For `https://`: a private CA's certificate(s) (PEM) trusted on top of the public roots.
    pub ca_file: Option<PathBuf>,
    /// An HTTP proxy (`http://[user:password@]host:port`); the API is reached directly
    /// without one (the environment's proxy variables do not apply to it).
    pub proxy: Option<Secret>,
    pub retry: RetryPolicy,
}

impl ClientOptions {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            ..Self::default()
        }
    }
}

impl Default for ClientOptions {
    /// Fits KLK's observed latency: a multi-day sales query of a big store can take minutes,
    /// so the read timeout is the 600 s the original system ended up with.
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:7002".to_owned(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(600),
            total_timeout: Duration::from_secs(900),
            token: None,
            headers: Vec::new(),
            ca_file: None,
            proxy: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// Bounds on retrying a retryable failure (timeouts, connection errors, 5xx, 429).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included; 1 disables retries.
    pub max_attempts: u32,
    /// Ceiling of the first backoff; doubles at each retry up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts if it would begin later than this after the first attempt began.
    pub max_elapsed: Duration,
}

impl RetryPolicy {
    pub const NONE: Self = Self {
        max_attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        max_elapsed: Duration::ZERO,
    };
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            max_elapsed: Duration::from_secs(20 * 60),
        }
    }
}
