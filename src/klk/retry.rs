use std::time::Duration;

use crate::klk::options::RetryPolicy;

/// The pause before retry number `retry` (1 for the first retry): a uniformly random
/// duration up to `min(max_delay, base_delay * 2^(retry-1))` ("full jitter"), but never
/// shorter than the server's `Retry-After`.
pub(crate) fn backoff_delay(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
    rng: &mut fastrand::Rng,
) -> Duration {
    let doubling = 2u32.saturating_pow(retry.saturating_sub(1));
    let ceiling = policy
        .base_delay
        .checked_mul(doubling)
        .unwrap_or(policy.max_delay)
        .min(policy.max_delay);
    let jittered = ceiling.mul_f64(rng.f64());
    jittered.max(retry_after.unwrap_or_default())
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
    fn delay_stays_under_the_doubling_ceiling() {
        let mut rng = fastrand::Rng::with_seed(7);
        for retry in 1..40 {
            let ceiling = Duration::from_millis(100 * 2u64.pow(retry.min(20) - 1))
                .min(Duration::from_secs(1));
            for _ in 0..50 {
                assert!(backoff_delay(&policy(), retry, None, &mut rng) <= ceiling);
            }
        }
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut rng = fastrand::Rng::with_seed(7);
        let delay = backoff_delay(&policy(), 1, Some(Duration::from_secs(5)), &mut rng);
        assert_eq!(delay, Duration::from_secs(5));
    }
}
