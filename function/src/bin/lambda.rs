//! The Lambda bootstrap: logs, configuration and clients once per cold start, then the runtime loop.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use ssm_replicator::aws::{self, ApiCalls};
use ssm_replicator::config::Config;
use ssm_replicator::handler::Handler;
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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = budget_end(event.context.deadline, reserve);
        handler.handle(&event.payload, Some(deadline)).await.map_err(Error::from)
    }))
    .await
}

/// The invocation deadline (milliseconds since the epoch) less the reserve, as an `Instant`.
fn budget_end(deadline_ms: u64, reserve: Duration) -> Instant {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let left = Duration::from_millis(u64::try_from(u128::from(deadline_ms).saturating_sub(now_ms)).unwrap_or(0));
    Instant::now() + left.saturating_sub(reserve)
}
