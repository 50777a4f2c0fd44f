//! Orchestration over the ports: re-read the source, decide, then per target (in parallel) read the
//! replica, plan, and write only the drift. Transient failures are retried here with jittered backoff.

use std::time::Duration;

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::config::Config;
use crate::domain::keys::request_for;
use crate::domain::parameter::AMI_DATA_TYPE;
use crate::domain::{
    plan_delete, plan_write, Decision, Desired, Outcome, Owner, Parameter, ParameterName, ParameterResult,
    ParameterType, Plan, Reason, Report, Stored, Tags, TargetKey, TargetResult,
};
use crate::ports::{KeyResolver, ParameterStore, StoreError};

/// How many parameters of one command are handled at once (writes are throttled to ~3 TPS per account).
const NAME_CONCURRENCY: usize = 4;

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

    async fn run<T, F, Fut>(&self, mut step: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut attempt = 0;
        loop {
            match step().await {
                Err(e) if e.is_transient() && attempt + 1 < self.attempts => {
                    warn!(operation = e.operation, region = %e.region, code = %e.code, attempt, "transient error, retrying");
                    tokio::time::sleep(self.delay(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

pub struct Replicator<S, K> {
    config: Config,
    owner: Owner,
    source: S,
    targets: Vec<S>,
    keys: K,
    retry: RetryPolicy,
}

impl<S: ParameterStore, K: KeyResolver> Replicator<S, K> {
    /// `targets` must be in the order of `config.target_regions` (checked by region name).
    pub fn new(config: Config, owner: Owner, source: S, targets: Vec<S>, keys: K) -> Self {
        Self { config, owner, source, targets, keys, retry: RetryPolicy::default() }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// Bring every target in line with the source for these names.
    pub async fn sync_names(&self, names: &[ParameterName], report: &mut Report) {
        let results: Vec<ParameterResult> =
            stream::iter(names).map(|n| self.sync_one(n)).buffered(NAME_CONCURRENCY).collect().await;
        for r in results {
            report.push(r);
        }
    }

    async fn sync_one(&self, name: &ParameterName) -> ParameterResult {
        let targets = match self.sync_targets(name).await {
            Ok(targets) => targets,
            Err(e) => self.every_target(|region| failed(region, &e)),
        };
        for t in &targets {
            info!(
                parameter = %name,
                target = %t.region,
                outcome = t.outcome.as_str(),
                reason = t.reason.map(|r| r.as_str()),
                changed = ?t.changed,
                error = t.error.as_deref(),
                "replication result"
            );
        }
        ParameterResult { name: name.clone(), targets }
    }

    /// Read the source once, then handle every target in parallel.
    async fn sync_targets(&self, name: &ParameterName) -> Result<Vec<TargetResult>, StoreError> {
        let selection = &self.config.selection;
        if !selection.covers(name) {
            return Ok(self.every_target(|r| skipped(r, Reason::OutsidePrefixes)));
        }
        let Some(tags) = self.retry.run(|| self.source.read_tags(name)).await? else {
            return Ok(self.delete_everywhere(name).await);
        };
        let chosen = match selection.decide(name, &tags, &self.config.target_regions) {
            Decision::Skip(reason) => return Ok(self.every_target(|r| skipped(r, reason))),
            Decision::Replicate { targets, ignored } => {
                if !ignored.is_empty() {
                    warn!(parameter = %name, ?ignored, "selection tag names regions that are not targets");
                }
                targets
            }
        };
        let Some(source) = self.retry.run(|| self.source.read(name)).await? else {
            // Deleted between the two reads: treat as a delete.
            return Ok(self.delete_everywhere(name).await);
        };
        if source.data_type == AMI_DATA_TYPE && !self.config.replicate_ami_parameters {
            return Ok(self.every_target(|r| skipped(r, Reason::AmiRegionSpecific)));
        }
        let work = self.targets.iter().map(|store| async {
            if chosen.iter().any(|c| c == store.region()) {
                self.write_target(store, &source, &tags).await
            } else {
                skipped(store.region(), Reason::NotSelected)
            }
        });
        Ok(join_all(work).await)
    }

    async fn write_target(&self, store: &S, source: &Parameter, tags: &Tags) -> TargetResult {
        let region = store.region();
        let step = || async {
            let key = self.target_key(source, region).await?;
            let desired = Desired::new(source, tags, key, &self.owner);
            let replica = match store.read(&source.name).await? {
                None => None,
                Some(parameter) => {
                    let tags = store.read_tags(&source.name).await?.unwrap_or_default();
                    Some(Stored { parameter, tags })
                }
            };
            let plan = plan_write(&desired, replica.as_ref(), &self.owner, &self.config.rules);
            execute(store, &source.name, plan).await
        };
        self.retry.run(step).await.unwrap_or_else(|e| failed(region, &e))
    }

    async fn target_key(&self, source: &Parameter, region: &str) -> Result<TargetKey, StoreError> {
        if source.kind != ParameterType::SecureString {
            return Ok(TargetKey::None);
        }
        let mapped = self.config.kms_key_map.get(region).map(String::as_str);
        self.keys.resolve(&request_for(source.key_id.as_deref(), mapped), region).await
    }

    /// The source is gone: delete owned replicas (in parallel), leave everything else alone.
    async fn delete_everywhere(&self, name: &ParameterName) -> Vec<TargetResult> {
        join_all(self.targets.iter().map(|store| async move {
            let step = || async {
                let tags = store.read_tags(name).await?;
                execute(store, name, plan_delete(tags.as_ref(), &self.owner, &self.config.rules)).await
            };
            self.retry.run(step).await.unwrap_or_else(|e| failed(store.region(), &e))
        }))
        .await
    }

    fn every_target(&self, result: impl Fn(&str) -> TargetResult) -> Vec<TargetResult> {
        self.targets.iter().map(|s| result(s.region())).collect()
    }
}

async fn execute<S: ParameterStore>(store: &S, name: &ParameterName, plan: Plan) -> Result<TargetResult, StoreError> {
    for action in &plan.actions {
        store.apply(name, action).await?;
    }
    let mut result = TargetResult::new(store.region(), plan.outcome, plan.reason);
    result.changed = plan.changed;
    Ok(result)
}

fn skipped(region: &str, reason: Reason) -> TargetResult {
    TargetResult::new(region, Outcome::Skipped, Some(reason))
}

fn failed(region: &str, e: &StoreError) -> TargetResult {
    let mut r = TargetResult::new(region, Outcome::Failed, Some(e.reason()));
    r.error = Some(format!("{}: {}", e.operation, e.code));
    r
}
