use std::fmt;
use std::time::Duration;

/// A failed KLK API call, after all the attempts the retry policy allowed.
///
/// The message names the request and the cause; it never contains the token or the values
/// of extra headers (server-provided text is redacted before it is stored here).
#[derive(Debug)]
pub struct ApiError {
    request: String,
    attempts: u32,
    elapsed: Duration,
    kind: ErrorKind,
}

impl ApiError {
    pub(crate) fn new(request: String, attempts: u32, elapsed: Duration, kind: ErrorKind) -> Self {
        Self {
            request,
            attempts,
            elapsed,
            kind,
        }
    }

    /// The tracker's `error_tipo` for this failure: `timeout`, `conexion`, `api_error` or
    /// `validacion`.
    pub fn error_tipo(&self) -> &'static str {
        self.kind.error_tipo()
    }

    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Requests sent, the first one included (0 when the request was refused before sending).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time from the first attempt to giving up, backoff included.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// e.g. `POST http://127.0.0.1:7002/ventas`.
    pub fn request(&self) -> &str {
        &self.request
    }

    /// The HTTP status of the last attempt, when it got one other than 200.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ErrorKind::Status { status, .. } => Some(status),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.attempts {
            0 => write!(f, "{} not sent: {}", self.request, self.kind),
            1 => write!(
                f,
                "{} failed after 1 attempt in {:.1?}: {}",
                self.request, self.elapsed, self.kind
            ),
            n => write!(
                f,
                "{} failed after {n} attempts in {:.1?}: {}",
                self.request, self.elapsed, self.kind
            ),
        }
    }
}

impl std::error::Error for ApiError {}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    /// Refused, reset or closed connection, DNS failure, connect timeout.
    #[error("connection failed: {detail}")]
    Connection { detail: String },
    /// The TLS handshake failed for good: a certificate not trusted, for another name or
    /// expired, or a server that does not speak TLS. `detail` starts with "TLS: ".
    #[error("connection failed: {detail}")]
    Tls { detail: String },
    #[error("{phase} timeout after {after:.1?}")]
    Timeout {
        phase: TimeoutPhase,
        after: Duration,
    },
    #[error("HTTP {status}{}", describe_status(.excerpt, .retry_after))]
    Status {
        status: u16,
        retry_after: Option<Duration>,
        excerpt: String,
    },
    /// A 200 whose JSON object has an `error` key.
    #[error("the API reported an error: {message}")]
    ErrorBody { message: String },
    /// Not JSON, truncated, or trailing garbage.
    #[error("malformed response body: {detail}")]
    MalformedBody { detail: String },
    /// Valid JSON that is not the documented shape.
    #[error("unexpected response shape: {detail}")]
    WrongShape { detail: String },
    /// A structurally valid body holding a line that cannot be loaded as is.
    #[error("{0}")]
    InvalidLine(LineError),
    /// The request itself breaks a rule of the spec (never sent).
    #[error("invalid request: {reason}")]
    InvalidRequest { reason: String },
}

fn describe_status(excerpt: &str, retry_after: &Option<Duration>) -> String {
    let mut text = String::new();
    if let Some(delay) = retry_after {
        text.push_str(&format!(" (Retry-After {}s)", delay.as_secs()));
    }
    if !excerpt.is_empty() {
        text.push_str(": ");
        text.push_str(excerpt);
    }
    text
}

impl ErrorKind {
    pub fn error_tipo(&self) -> &'static str {
        match self {
            Self::Connection { .. } | Self::Tls { .. } => "conexion",
            Self::Timeout { .. } => "timeout",
            Self::Status { .. }
            | Self::ErrorBody { .. }
            | Self::MalformedBody { .. }
            | Self::WrongShape { .. } => "api_error",
            Self::InvalidLine(_) | Self::InvalidRequest { .. } => "validacion",
        }
    }

    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connection { .. } | Self::Timeout { .. } => true,
            Self::Status { status, .. } => *status == 429 || (500..600).contains(status),
            _ => false,
        }
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn map_text(self, redact: impl Fn(&str) -> String) -> Self {
        match self {
            Self::Connection { detail } => Self::Connection {
                detail: redact(&detail),
            },
            Self::Tls { detail } => Self::Tls {
                detail: redact(&detail),
            },
            Self::Status {
                status,
                retry_after,
                excerpt,
            } => Self::Status {
                status,
                retry_after,
                excerpt: redact(&excerpt),
            },
            Self::ErrorBody { message } => Self::ErrorBody {
                message: redact(&message),
            },
            Self::MalformedBody { detail } => Self::MalformedBody {
                detail: redact(&detail),
            },
            Self::WrongShape { detail } => Self::WrongShape {
                detail: redact(&detail),
            },
            Self::InvalidLine(line) => Self::InvalidLine(LineError {
                index: line.index,
                identity: line.identity.as_deref().map(&redact),
                reason: redact(&line.reason),
            }),
            Self::InvalidRequest { reason } => Self::InvalidRequest {
                reason: redact(&reason),
            },
            timeout @ Self::Timeout { .. } => timeout,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// No byte arrived for `read_timeout` (waiting for the headers or inside the body).
    Read,
    /// The attempt as a whole exceeded `total_timeout`.
    Total,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Total => "total",
        })
    }
}

/// Why one element of a response list was rejected, and which one it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// Position of the element in the response list, from 0.
    pub index: usize,
    /// What the element says it is, as far as it could be read: `invoice C10-01-00008064
    /// line 2` for a sales line, `article 000002` for a stock row.
    pub identity: Option<String>,
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid element #{}", self.index)?;
        if let Some(identity) = &self.identity {
            write!(f, " ({identity})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for LineError {}
