/// Values that must never appear in a message: the token and the extra header values.
pub(crate) struct Secrets {
    values: Vec<String>,
}

const REDACTED: &str = "[redacted]";

impl Secrets {
    pub fn new<'a>(values: impl IntoIterator<Item = &'a String>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect();
        // Longest first, so a secret containing another one is replaced whole.
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        Self { values }
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
    fn every_secret_is_replaced() {
        let token = "s3cr3t-token".to_owned();
        let key = "key-123".to_owned();
        let secrets = Secrets::new([&token, &key]);
        assert_eq!(
            secrets.redact("got s3cr3t-token and key-123, s3cr3t-token"),
            "got [redacted] and [redacted], [redacted]"
        );
    }
}
