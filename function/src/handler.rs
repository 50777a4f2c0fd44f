//! The invocation: event → command → engine → report. Knows nothing of the Lambda runtime itself.

use std::time::Instant;

use serde_json::{json, Value};
use tracing::{error, info};

use crate::aws::ApiCalls;
use crate::domain::{ParameterResult, Reason, Report};
use crate::engine::{FullSyncError, Replicator};
use crate::events::{self, Command, EventError, Origin};
use crate::metrics::{self, LatencyOrigin, Metrics, Trigger};
use crate::ports::{Continuation, KeyResolver, NoSecrets, ParameterStore, SecretStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("rejected event: {0}")]
    BadEvent(#[from] EventError),
    #[error("full sync stopped: {0}")]
    FullSync(#[from] FullSyncError),
    #[error("full sync could not hand on to the next invocation: {0}")]
    HandOff(StoreError),
    #[error("{count} replication(s) failed with transient errors after retries (first: {first}); failing the invocation so that Lambda retries it")]
    Transient { count: usize, first: String },
}

pub struct Handler<S, K, C, Z = NoSecrets> {
    replicator: Replicator<S, K, Z>,
    calls: ApiCalls,
    continuation: C,
}

impl<S: ParameterStore, K: KeyResolver, C: Continuation, Z: SecretStore> Handler<S, K, C, Z> {
    pub fn new(replicator: Replicator<S, K, Z>, calls: ApiCalls, continuation: C) -> Self {
        Self { replicator, calls, continuation }
    }

    pub fn continuation(&self) -> &C {
        &self.continuation
    }

    /// Handle one event. A full sync stops after the page during which `deadline` passes and hands on.
    pub async fn handle(&self, event: &Value, deadline: Option<Instant>) -> Result<Report, HandlerError> {
        self.handle_metered(event, deadline, &mut Metrics::new("")).await
    }

    /// `handle`, recording every result into `metrics` (with its latency) as it is produced, failed
    /// invocations included: the caller flushes them (the Lambda writes EMF lines to stdout).
    pub async fn handle_metered(
        &self,
        event: &Value,
        deadline: Option<Instant>,
        metrics: &mut Metrics,
    ) -> Result<Report, HandlerError> {
        let started = Instant::now();
        let started_ms = metrics::now_ms();
        let before = self.calls.snapshot();
        let origin =
            Origin { region: &self.replicator.config().source_region, account: &self.replicator.owner().account };
        let parsed = events::parse(event, origin).inspect_err(|e| error!(error = %e, "rejected event"))?;
        let mut report = Report::new(parsed.trigger);
        report.account = self.replicator.owner().account.clone();
        // A full sync repairs on its next run and may already have handed on: its per-parameter
        // transient failures are reported, not turned into a failed (and retried) invocation.
        let is_full_sync = matches!(parsed.command, Command::FullSync(_));
        match parsed.command {
            Command::Sync(names) => {
                // Every name outside the path prefixes: nothing is ours to replicate (each is also reported
                // skipped with outside-prefixes, without any AWS call). Not an error.
                let selection = &self.replicator.config().selection;
                if names.iter().all(|n| !selection.covers(n)) {
                    report.ignored = Some(Reason::OutsidePrefixes);
                }
                self.replicator.sync_names(&names, &mut report).await;
                let trigger = if report.trigger.starts_with("manual:") { Trigger::Manual } else { Trigger::Event };
                // From the source change (the event's time); a manual command from its arrival.
                let latency = LatencyOrigin { trigger, since_ms: parsed.since_ms.unwrap_or(started_ms) };
                for r in &report.parameters {
                    metrics.record(r, latency);
                }
            }
            Command::SyncSecrets(ids) => {
                self.replicator.sync_secrets(&ids, &mut report).await;
                let latency =
                    LatencyOrigin { trigger: Trigger::Event, since_ms: parsed.since_ms.unwrap_or(started_ms) };
                for r in &report.parameters {
                    metrics.record(r, latency);
                }
            }
            Command::Ignore(reason) => report.ignored = Some(reason),
            Command::FullSync(cursor) => {
                // A chain handed on carries its start; a new one starts now.
                let chain_start = parsed.since_ms.unwrap_or(started_ms);
                let latency = LatencyOrigin { trigger: Trigger::FullSync, since_ms: chain_start };
                let mut sink = |r: ParameterResult| {
                    metrics.record(&r, latency);
                    report.tally(r);
                };
                let progress = self
                    .replicator
                    .full_sync(cursor, deadline, &mut sink)
                    .await
                    .inspect_err(|e| error!(error = %e, "full sync stopped"))?;
                report.notes = progress.notes;
                match progress.next {
                    Some(next) => {
                        let payload = json!({"action": "full-sync", "cursor": next, "started_ms": chain_start});
                        self.continuation.hand_off(&payload).await.map_err(HandlerError::HandOff)?;
                        info!(cursor = ?next, "full sync handed on");
                        report.next = Some(next);
                    }
                    // The "full sync overdue" alarm counts these lines.
                    None => info!("full sync complete"),
                }
            }
        }
        report.api_calls = self.calls.since(&before);
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        info!(
            trigger = %report.trigger,
            ignored = report.ignored.map(|r| r.as_str()),
            summary = ?report.summary,
            reasons = ?report.reasons,
            api_calls = ?report.api_calls,
            duration_ms = report.duration_ms,
            "invocation summary"
        );
        if !is_full_sync {
            let transient: Vec<String> =
                report.transient_failures().map(|(name, t)| format!("{name} → {}", t.target)).collect();
            if let Some(first) = transient.first() {
                return Err(HandlerError::Transient { count: transient.len(), first: first.clone() });
            }
        }
        Ok(report)
    }
}
