//! Exponential backoff with "full jitter", the one retry pause of klk-etl: the API client's
//! retries and the database's lock-conflict retries both wait with it.

use std::time::Duration;

/// The pause before retry number `retry` (1 for the first) is drawn uniformly up to
/// `min(max, base * 2^(retry-1))`: spread out, so that processes retrying together do not
/// meet again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    pub fn delay(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let doubling = 2u32.saturating_pow(retry.saturating_sub(1));
        let ceiling = self
            .base
            .checked_mul(doubling)
            .unwrap_or(self.max)
            .min(self.max);
        ceiling.mul_f64(rng.f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_stays_under_the_doubling_ceiling_and_spreads() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let mut rng = fastrand::Rng::with_seed(7);
        for retry in 1..40u32 {
            let ceiling = Duration::from_millis(100 * 2u64.pow(retry.min(20) - 1))
                .min(Duration::from_secs(1));
            let delays: Vec<Duration> = (0..50).map(|_| backoff.delay(retry, &mut rng)).collect();
            assert!(delays.iter().all(|d| *d <= ceiling));
            assert!(delays.iter().any(|d| *d < ceiling / 2), "jittered");
        }
    }
}
