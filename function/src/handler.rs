//! The invocation: event → command → engine → report. Knows nothing of the Lambda runtime itself.

use serde_json::Value;
use tracing::{error, info};

use crate::aws::ApiCalls;
use crate::domain::Report;
use crate::engine::Replicator;
use crate::events::{self, Command, EventError, Origin};
use crate::ports::{KeyResolver, ParameterStore};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("rejected event: {0}")]
    BadEvent(#[from] EventError),
    #[error(
        "full sync is not available yet; send {{\"action\":\"sync\",\"names\":[...]}} to replicate named parameters"
    )]
    FullSyncUnavailable,
    #[error("{count} replication(s) failed with transient errors after retries (first: {first}); failing the invocation so that Lambda retries it")]
    Transient { count: usize, first: String },
}

pub struct Handler<S, K> {
    replicator: Replicator<S, K>,
    calls: ApiCalls,
}

impl<S: ParameterStore, K: KeyResolver> Handler<S, K> {
    pub fn new(replicator: Replicator<S, K>, calls: ApiCalls) -> Self {
        Self { replicator, calls }
    }

    pub async fn handle(&self, event: &Value) -> Result<Report, HandlerError> {
        let before = self.calls.snapshot();
        let origin =
            Origin { region: &self.replicator.config().source_region, account: &self.replicator.owner().account };
        let parsed = events::parse(event, origin).inspect_err(|e| error!(error = %e, "rejected event"))?;
        let mut report = Report::new(parsed.trigger);
        match parsed.command {
            Command::Sync(names) => self.replicator.sync_names(&names, &mut report).await,
            Command::Ignore(reason) => report.ignored = Some(reason),
            Command::FullSync => {
                error!(trigger = %report.trigger, "full sync requested but not available yet");
                return Err(HandlerError::FullSyncUnavailable);
            }
        }
        report.api_calls = self.calls.since(&before);
        info!(
            trigger = %report.trigger,
            ignored = report.ignored.map(|r| r.as_str()),
            summary = ?report.summary,
            api_calls = ?report.api_calls,
            "invocation summary"
        );
        let transient: Vec<String> =
            report.transient_failures().map(|(name, t)| format!("{name} → {}", t.region)).collect();
        if let Some(first) = transient.first() {
            return Err(HandlerError::Transient { count: transient.len(), first: first.clone() });
        }
        Ok(report)
    }
}
