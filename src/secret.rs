//! One type for every value that must never be printed, logged or stored: the API token and
//! extra header values, webhook and check-in URLs (their paths hold keys), SMTP passwords,
//! proxy URLs (they may hold credentials).
//!
//! `Debug` and `Display` show `[redacted]`; the value is read only through
//! [`Secret::expose`], so every place that uses it is easy to find.

use std::fmt;

use serde::Deserialize;

/// What a secret looks like wherever it is shown.
pub const REDACTED: &str = "[redacted]";

#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself: only to send it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

/// Replaces every occurrence of any of `secrets` (and of the parts of a URL that carry keys:
/// its path segments and query values) in messages that may quote them back, e.g. a server's
/// error text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let mut redactor = Redactor::default();
        for secret in secrets {
            redactor.add(secret.expose());
        }
        redactor
    }

    /// Adds a value, and, when it is a URL, the parts of it that may be keys on their own.
    pub fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        self.values.push(value.to_owned());
        if let Ok(url) = url::Url::parse(value) {
            let path = url.path().trim_matches('/');
            if path.len() >= 6 {
                self.values.push(path.to_owned());
            }
            for segment in url.path_segments().into_iter().flatten() {
                // Short segments ("api", "push", "p") are words, not keys.
                if segment.len() >= 6 {
                    self.values.push(segment.to_owned());
                }
            }
            for (_, v) in url.query_pairs() {
                if v.len() >= 6 {
                    self.values.push(v.into_owned());
                }
            }
            // The password (a user name is not a secret, and a short one is a common word).
            if let Some(password) = url.password() {
                self.values.push(password.to_owned());
                if let Some(decoded) = percent_encoding::percent_decode_str(password)
                    .decode_utf8()
                    .ok()
                    .filter(|d| d != password)
                {
                    self.values.push(decoded.into_owned());
                }
            }
        }
        // Longest first, so a secret containing another one is replaced whole.
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        self.values.dedup();
    }

    pub fn redact(&self, text: &str) -> String {
        self.values.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret.as_str(), REDACTED)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let secret = Secret::new("tok-123456");
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(format!("{secret}"), REDACTED);
        assert_eq!(format!("{:?}", Some(&secret)), format!("Some({REDACTED})"));
        assert_eq!(secret.expose(), "tok-123456");
    }

    #[test]
    fn a_url_is_redacted_whole_and_by_its_key_parts() {
        let redactor = Redactor::new([&Secret::new(
            "https://hc.example/ping/0d338dcc-a054?sig=abcdef123",
        )]);
        let text = redactor
            .redact("GET /ping/0d338dcc-a054 failed; sig abcdef123; hc.example/ping/0d338dcc-a054");
        assert!(!text.contains("0d338dcc-a054"), "{text}");
        assert!(!text.contains("abcdef123"), "{text}");
        assert!(text.starts_with("GET /[redacted] failed"), "{text}");
    }
}
