//! The Lambda bootstrap: logs, configuration and clients once per cold start, then the runtime loop.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use ssm_replicator::aws::{self, ApiCalls};
use ssm_replicator::config::Config;
use ssm_replicator::handler::Handler;
use ssm_replicator::metrics::Metrics;
use ssm_replicator::telemetry;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "ssm-replicator".to_owned());
    let reserve = config.full_sync_reserve;
    let sdk = aws::load_sdk_config().await;
    let calls = ApiCalls::default();
    let continuation = aws::lambda_continuation(&sdk, &config, &calls, &function);
    let replicator = aws::connect(&sdk, config, &calls).await?;
    let handler = Handler::new(replicator, calls, continuation);
    let handler = &handler;
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = budget_end(event.context.deadline, reserve);
        tracing::debug!(
            deadline_ms = event.context.deadline,
            budget_ms = deadline.saturating_duration_since(Instant::now()).as_millis(),
            "time budget"
        );
        // CloudWatch metrics in the Embedded Metric Format: lines on stdout, failed invocations included.
        let mut metrics = Metrics::new(function.as_str());
        let result = handler.handle_metered(&event.payload, Some(deadline), &mut metrics).await;
        if let Err(e) = metrics.flush(&mut std::io::stdout().lock()) {
            tracing::warn!(error = %e, "could not write the metric lines");
        }
        result.map_err(Error::from)
    }))
    .await
}

/// Deadlines below this (September 2001 in epoch milliseconds) cannot be absolute.
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// The invocation deadline less the reserve, as an `Instant`. Lambda sends epoch milliseconds;
/// cargo-lambda's runtime emulator sends the timeout itself (e.g. 600000), which is taken as relative.
fn budget_end(deadline_ms: u64, reserve: Duration) -> Instant {
    let left = if deadline_ms < EPOCH_MS_FLOOR {
        Duration::from_millis(deadline_ms)
    } else {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Duration::from_millis(u64::try_from(u128::from(deadline_ms).saturating_sub(now_ms)).unwrap_or(0))
    };
    Instant::now() + left.saturating_sub(reserve)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_and_relative_deadlines_give_the_same_budget() {
        let now_ms = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
        let reserve = Duration::from_secs(90);
        let absolute = budget_end(now_ms + 600_000, reserve);
        let relative = budget_end(600_000, reserve);
        let gap = absolute.max(relative) - absolute.min(relative);
        assert!(gap < Duration::from_secs(5), "{gap:?}");
        let left = absolute - Instant::now();
        assert!(left > Duration::from_secs(500) && left <= Duration::from_secs(510), "{left:?}");
        assert!(budget_end(now_ms - 1, reserve) <= Instant::now(), "a passed deadline leaves no budget");
    }
}
