//! Jittered exponential backoff around a whole read–plan–write step (on top of the SDK's own retries,
//! which do not cover TooManyUpdates).

use std::time::Duration;

use tracing::warn;

use crate::ports::StoreError;

/// Jittered exponential backoff for transient errors (on top of the SDK's own retries).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 4, base: Duration::from_millis(200), cap: Duration::from_secs(3) }
    }
}

impl RetryPolicy {
    /// Full jitter: a random delay in [0, min(cap, base·2^attempt)].
    fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.base.saturating_mul(1 << attempt.min(16)).min(self.cap);
        ceiling.mul_f64(fastrand::f64())
    }

    pub(crate) async fn run<T, F, Fut>(&self, mut step: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut attempt = 0;
        loop {
            match step().await {
                Err(e) if e.is_transient() && attempt + 1 < self.attempts => {
                    warn!(operation = e.operation, target = %e.target, code = %e.code, attempt, "transient error, retrying");
                    tokio::time::sleep(self.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_the_cap() {
        let policy = RetryPolicy { attempts: 5, base: Duration::from_millis(100), cap: Duration::from_millis(250) };
        for attempt in 0..20 {
            let d = policy.delay(attempt);
            assert!(d <= Duration::from_millis(250), "{attempt}: {d:?}");
            assert!(d <= Duration::from_millis(100) * 2u32.pow(attempt.min(16)), "{attempt}: {d:?}");
        }
    }
}
