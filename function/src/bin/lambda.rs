//! The Lambda bootstrap: logs, configuration and clients once per cold start, then the runtime loop.

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
    let sdk = aws::load_sdk_config().await;
    let calls = ApiCalls::default();
    let replicator = aws::connect(&sdk, config, &calls).await?;
    let handler = Handler::new(replicator, calls);
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler.handle(&event.payload).await.map_err(Error::from)
    }))
    .await
}
