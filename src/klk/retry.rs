use std::time::Duration;

use crate::backoff::Backoff;
use crate::klk::options::RetryPolicy;

/// The pause before retry number `retry` (1 for the first retry): the crate's backoff
/// ([`crate::backoff::Backoff`]) between the policy's delays, but never shorter than the
/// server's `Retry-After`.
pub(crate) fn backoff_delay(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
    rng: &mut fastrand::Rng,
) -> Duration {
    let backoff = Backoff {
        base: policy.base_delay,
        max: policy.max_delay,
    };
    backoff
        .delay(retry, rng)
        .max(retry_after.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(60),
        }
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut rng = fastrand::Rng::with_seed(7);
        let delay = backoff_delay(&policy(), 1, Some(Duration::from_secs(5)), &mut rng);
        assert_eq!(delay, Duration::from_secs(5));
    }
}
