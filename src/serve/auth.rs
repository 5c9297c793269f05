//! Who asks: a `[serve]` token as a Bearer header, or a session from the login form (an
//! opaque random id in an HttpOnly, SameSite=Strict cookie, kept in memory: a restart or a
//! logout ends it). Forms that change data carry the session's CSRF token, and their
//! Origin (when sent) must be this server. Failed sign-ins and recoveries are rate-limited.
//! Secrets are compared in constant time and never logged.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};

use super::http::ApiError;
use crate::config::{ServeSettings, ServeToken};

pub const SESSION_COOKIE: &str = "klk_session";
pub const LANG_COOKIE: &str = "klk_lang";

/// Failed sign-ins (wrong token) per client address in a minute before it must wait.
const MAX_FAILURES_PER_MINUTE: usize = 10;

#[derive(Debug, Clone)]
pub struct Session {
    pub name: String,
    pub csrf: String,
    expires: Instant,
    /// A one-time message for the next page (a recovery's outcome).
    pub flash: Option<String>,
}

/// Who a request is, if anyone.
#[derive(Debug, Clone)]
pub enum Identity {
    Bearer { name: String },
    Session { id: String, session: Session },
}

impl Identity {
    pub fn name(&self) -> &str {
        match self {
            Identity::Bearer { name } => name,
            Identity::Session { session, .. } => &session.name,
        }
    }
}

pub struct Auth {
    tokens: Vec<ServeToken>,
    read_requires_token: bool,
    secure_cookie: bool,
    session_ttl: Duration,
    recover_per_minute: usize,
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    recoveries: Mutex<HashMap<String, Vec<Instant>>>,
}

/// Equal without stopping at the first difference (the length may leak; the content not).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes as hex, from the operating system.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` in the request's Cookie headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

fn recent(times: &mut Vec<Instant>, within: Duration) {
    times.retain(|t| t.elapsed() < within);
}

impl Auth {
    pub fn new(settings: &ServeSettings) -> Auth {
        Auth {
            tokens: settings.tokens.clone(),
            read_requires_token: settings.read_requires_token,
            secure_cookie: settings.secure_cookie,
            session_ttl: settings.session_ttl,
            recover_per_minute: settings.recover_per_minute as usize,
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            recoveries: Mutex::new(HashMap::new()),
        }
    }

    pub fn has_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }

    pub fn read_requires_token(&self) -> bool {
        self.read_requires_token
    }

    /// The token's name, if `secret` is one of the configured tokens. Every token is
    /// compared, whichever matches.
    pub fn token_name(&self, secret: &str) -> Option<String> {
        let mut found = None;
        for token in &self.tokens {
            if constant_time_eq(token.secret.expose().as_bytes(), secret.as_bytes()) {
                found = Some(token.name.clone());
            }
        }
        found
    }

    fn check_not_blocked(&self, peer: IpAddr) -> Result<(), ApiError> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let times = failures.entry(peer).or_default();
        recent(times, Duration::from_secs(60));
        if times.len() >= MAX_FAILURES_PER_MINUTE {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed sign-ins from this address; wait a minute",
            )
            .retry_after(60));
        }
        Ok(())
    }

    pub fn record_failure(&self, peer: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.entry(peer).or_default().push(Instant::now());
        if failures.len() > 10_000 {
            failures.retain(|_, times| {
                recent(times, Duration::from_secs(60));
                !times.is_empty()
            });
        }
    }

    /// Who the request is: a Bearer token (a wrong one is an error, never "anonymous"), or a
    /// live session cookie, or nobody.
    pub fn identify(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Result<Option<Identity>, ApiError> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            self.check_not_blocked(peer)?;
            let secret = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            return match secret.and_then(|s| self.token_name(s)) {
                Some(name) => Ok(Some(Identity::Bearer { name })),
                None => {
                    self.record_failure(peer);
                    Err(unauthorized(
                        "the Bearer token is not one of [serve] tokens",
                    ))
                }
            };
        }
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Ok(None);
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let Some(session) = sessions.get(&id) else {
            return Ok(None);
        };
        if session.expires <= Instant::now() {
            sessions.remove(&id);
            return Ok(None);
        }
        let session = session.clone();
        Ok(Some(Identity::Session { id, session }))
    }

    /// Reading: anyone, unless `read_requires_token`.
    pub fn reader(&self, headers: &HeaderMap, peer: IpAddr) -> Result<Option<Identity>, ApiError> {
        let who = self.identify(headers, peer)?;
        if who.is_none() && self.read_requires_token {
            return Err(unauthorized(
                "reading needs a token ([serve] read_requires_token): send Authorization: Bearer TOKEN or sign in at /login",
            ));
        }
        Ok(who)
    }

    /// A sign-in with the login form: a new session, or why not.
    pub fn sign_in(&self, secret: &str, peer: IpAddr) -> Result<(String, Session), ApiError> {
        self.check_not_blocked(peer)?;
        let Some(name) = self.token_name(secret.trim()) else {
            self.record_failure(peer);
            return Err(unauthorized("wrong token"));
        };
        let id = random_id();
        let session = Session {
            name,
            csrf: random_id(),
            expires: Instant::now() + self.session_ttl,
            flash: None,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, s| s.expires > Instant::now());
        sessions.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    pub fn sign_out(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    pub fn set_flash(&self, id: &str, message: String) {
        if let Some(session) = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            session.flash = Some(message);
        }
    }

    pub fn take_flash(&self, id: &str) -> Option<String> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
            .and_then(|s| s.flash.take())
    }

    pub fn session_cookie(&self, id: &str) -> String {
        format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            self.session_ttl.as_secs(),
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    pub fn expired_cookie(&self) -> String {
        format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            if self.secure_cookie { "; Secure" } else { "" }
        )
    }

    /// A recovery by `name` now, or 429 when it asked for too many in the last minute.
    pub fn allow_recovery(&self, name: &str) -> Result<(), ApiError> {
        let mut recoveries = self.recoveries.lock().unwrap_or_else(|e| e.into_inner());
        let times = recoveries.entry(name.to_string()).or_default();
        recent(times, Duration::from_secs(60));
        if times.len() >= self.recover_per_minute {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "at most {} recoveries a minute per token ([serve] recover_per_minute); wait a minute",
                    self.recover_per_minute
                ),
            )
            .retry_after(60));
        }
        times.push(Instant::now());
        Ok(())
    }
}

pub fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}

/// A request that changes data with a session cookie: its CSRF token must match, and its
/// Origin (or Referer), when sent, must be this server.
pub fn check_csrf(
    headers: &HeaderMap,
    session: &Session,
    presented: Option<&str>,
) -> Result<(), ApiError> {
    check_same_origin(headers)?;
    let ok = presented.is_some_and(|p| constant_time_eq(p.as_bytes(), session.csrf.as_bytes()));
    if !ok {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: reload the page and try again",
        ));
    }
    Ok(())
}

/// Origin or Referer, when present, must name the Host this request was sent to.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(claimed) = claimed else {
        return Ok(());
    };
    let authority = claimed
        .strip_prefix("http://")
        .or_else(|| claimed.strip_prefix("https://"))
        .map(|rest| rest.split('/').next().unwrap_or_default());
    if authority.is_some_and(|a| a.eq_ignore_ascii_case(host)) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-site request refused (Origin is not this server)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ServeSettings {
        ServeSettings {
            tokens: vec![ServeToken {
                name: "ops".into(),
                secret: "s3cret-s3cret-s3cret".into(),
            }],
            recover_per_minute: 2,
            ..ServeSettings::default()
        }
    }

    #[test]
    fn tokens_sessions_and_limits() {
        let auth = Auth::new(&settings());
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            auth.token_name("s3cret-s3cret-s3cret").as_deref(),
            Some("ops")
        );
        assert_eq!(auth.token_name("s3cret-s3cret-s3creT"), None);
        let (id, session) = auth.sign_in("s3cret-s3cret-s3cret", peer).unwrap();
        assert_eq!(session.name, "ops");
        assert_ne!(id, session.csrf);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("a=b; {SESSION_COOKIE}={id}").parse().unwrap(),
        );
        assert!(matches!(
            auth.identify(&headers, peer),
            Ok(Some(Identity::Session { .. }))
        ));
        auth.sign_out(&id);
        assert!(matches!(auth.identify(&headers, peer), Ok(None)));
        // Wrong tokens: refused, then the address waits.
        for _ in 0..MAX_FAILURES_PER_MINUTE {
            assert_eq!(
                auth.sign_in("nope", peer).unwrap_err().status,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            auth.sign_in("s3cret-s3cret-s3cret", peer)
                .unwrap_err()
                .status,
            StatusCode::TOO_MANY_REQUESTS
        );
        auth.allow_recovery("ops").unwrap();
        auth.allow_recovery("ops").unwrap();
        assert_eq!(
            auth.allow_recovery("ops").unwrap_err().status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn csrf_needs_the_token_and_the_same_origin() {
        let session = Session {
            name: "ops".into(),
            csrf: "abc".into(),
            expires: Instant::now() + Duration::from_secs(60),
            flash: None,
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(check_csrf(&headers, &session, Some("abc")).is_ok());
        assert!(check_csrf(&headers, &session, Some("abd")).is_err());
        assert!(check_csrf(&headers, &session, None).is_err());
        headers.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(check_csrf(&headers, &session, Some("abc")).is_err());
        headers.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(check_csrf(&headers, &session, Some("abc")).is_ok());
    }
}
