//! Orchestration over the ports: re-read the source, decide, then per target (in parallel) read the
//! replica, plan, and write only the drift. Transient failures are retried here with jittered backoff.

use std::time::Instant;

use futures::future::{join, join_all};
use futures::stream::{self, StreamExt};
use tracing::{info, warn};

use crate::config::Config;
use crate::domain::keys::request_for;
use crate::domain::name::MAX_ARN_LEN;
use crate::domain::parameter::AMI_DATA_TYPE;
use crate::domain::{
    plan_delete, plan_write, Action, Decision, Desired, Kind, Outcome, Owner, Parameter, ParameterName,
    ParameterResult, ParameterType, Plan, Reason, Report, Stored, Tags, Target, TargetKey, TargetResult,
};
use crate::ports::{ErrorClass, KeyResolver, NoSecrets, ParameterStore, SecretStore, StoreError};

mod full_sync;
mod labels;
mod prune;
mod recreate;
mod retry;
mod secrets;

pub use full_sync::{FullSyncError, Progress, Sink};
use recreate::is_recreation;
pub use recreate::RecreateWait;
pub use retry::RetryPolicy;

/// How many parameters of one command are handled at once (writes are throttled to ~3 TPS per account).
const NAME_CONCURRENCY: usize = 4;

/// How many times one parameter is synced when its source keeps changing during the writes; beyond
/// that the targets are reported `failed:transient` (the event's invocation fails and is retried).
const SETTLE_ROUNDS: usize = 5;

pub struct Replicator<S, K, Z = NoSecrets> {
    config: Config,
    owner: Owner,
    source: S,
    targets: Vec<S>,
    keys: K,
    /// Secrets Manager of the source and of each target (SECRETS=true), in `config.targets`' order.
    secrets: Option<SecretStores<Z>>,
    retry: RetryPolicy,
    recreate_wait: RecreateWait,
    dry_run: bool,
}

/// One Secrets Manager store for the source and one per target.
pub struct SecretStores<Z> {
    pub source: Z,
    pub targets: Vec<Z>,
}

impl<S: ParameterStore, K: KeyResolver> Replicator<S, K, NoSecrets> {
    /// `targets`: one store per `config.targets`, in that order.
    pub fn new(config: Config, owner: Owner, source: S, targets: Vec<S>, keys: K) -> Self {
        Self {
            config,
            owner,
            source,
            targets,
            keys,
            secrets: None,
            retry: RetryPolicy::default(),
            recreate_wait: RecreateWait::default(),
            dry_run: false,
        }
    }
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// Replicate secrets too (`Some`), through these stores (one per `config.targets`, in that order).
    pub fn with_secrets<Y: SecretStore>(self, stores: Option<SecretStores<Y>>) -> Replicator<S, K, Y> {
        Replicator {
            config: self.config,
            owner: self.owner,
            source: self.source,
            targets: self.targets,
            keys: self.keys,
            secrets: stores,
            retry: self.retry,
            recreate_wait: self.recreate_wait,
            dry_run: self.dry_run,
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How long a recreation waits out SSM's refusal to create a name it has just deleted.
    pub fn with_recreate_wait(mut self, wait: RecreateWait) -> Self {
        self.recreate_wait = wait;
        self
    }

    /// Plan and report, but write nothing.
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
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
            stream::iter(names).map(|n| self.sync_one(n, None)).buffered(NAME_CONCURRENCY).collect().await;
        for r in results {
            log_result(&r, &self.owner.account);
            report.push(r);
        }
    }

    /// Sync one parameter, and again if the source changed while its replicas were being written: of
    /// two handlers racing on one parameter, the one that wrote an older value notices and corrects it.
    /// `until`: a recreation that could not finish by then is not begun (reported pending).
    async fn sync_one(&self, name: &ParameterName, until: Option<Instant>) -> ParameterResult {
        let mut targets: Vec<TargetResult> = Vec::new();
        for _ in 0..SETTLE_ROUNDS {
            let (round, seen) = match self.sync_targets(name, until).await {
                Ok(done) => done,
                Err(e) => (self.every_target(|region| failed(region, &e)), None),
            };
            targets = merge_rounds(targets, round);
            // A prune needs no second look: if the source is selected again, that change has its own event.
            let wrote = targets.iter().any(|t| {
                matches!(t.outcome, Outcome::Created | Outcome::Updated | Outcome::Deleted)
                    && t.reason != Some(Reason::Deselected)
            });
            if !wrote || self.dry_run || targets.iter().any(|t| t.outcome == Outcome::Failed) {
                return ParameterResult { kind: Kind::Parameter, name: name.clone(), targets };
            }
            let version_read = seen.as_ref().map(|p| p.version);
            match self.retry.run(|| self.source_version(name)).await {
                Ok(now) if now == version_read => {
                    return ParameterResult { kind: Kind::Parameter, name: name.clone(), targets }
                }
                Ok(_) => info!(parameter = %name, "the source changed while replicating; syncing again"),
                Err(e) => {
                    return ParameterResult {
                        kind: Kind::Parameter,
                        name: name.clone(),
                        targets: self.every_target(|r| failed(r, &e)),
                    }
                }
            }
        }
        let moving = StoreError {
            operation: "GetParameter",
            target: self.config.source_region.clone(),
            code: "SourceKeptChanging".into(),
            class: ErrorClass::Transient,
        };
        ParameterResult {
            kind: Kind::Parameter,
            name: name.clone(),
            targets: self.every_target(|region| failed(region, &moving)),
        }
    }

    /// The source's version now (GetParameters for this one name: one round trip), or `None` when SSM
    /// lists it as an invalid (absent) name. A change of value or metadata always makes a new version,
    /// so an equal version means the source is still what was read.
    async fn source_version(&self, name: &ParameterName) -> Result<Option<i64>, StoreError> {
        match self.source.values(std::slice::from_ref(name)).await?.remove(name) {
            Some(Ok(now)) => Ok(Some(now.version)),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        }
    }

    /// Read the source once, then handle every target in parallel. Also returns the source as read.
    async fn sync_targets(
        &self,
        name: &ParameterName,
        until: Option<Instant>,
    ) -> Result<(Vec<TargetResult>, Option<Parameter>), StoreError> {
        let selection = &self.config.selection;
        if !selection.covers(name) {
            return Ok((self.every_target(|r| skipped(r, Reason::OutsidePrefixes)), None));
        }
        let Some(tags) = self.retry.run(|| self.source.read_tags(name)).await? else {
            return Ok((self.delete_everywhere(name).await, None));
        };
        let clear = !selection.unclear(&tags);
        let chosen = match selection.decide(name, &tags, &self.config.targets, &self.owner.account) {
            // The source exists and its tags (from SSM) select no target: an owned replica is deselected.
            Decision::Skip(Reason::NotSelected) => {
                let results = join_all(self.targets.iter().map(|store| self.deselected(store, name, clear))).await;
                return Ok((results, None));
            }
            Decision::Skip(reason) => return Ok((self.every_target(|r| skipped(r, reason)), None)),
            Decision::Replicate { targets, ignored } => {
                if !ignored.is_empty() {
                    warn!(parameter = %name, ?ignored, "selection tag names regions that are not targets");
                }
                targets
            }
        };
        let Some(source) = self.retry.run(|| self.source.read(name)).await? else {
            // Deleted between the two reads: treat as a delete.
            return Ok((self.delete_everywhere(name).await, None));
        };
        if source.data_type == AMI_DATA_TYPE && !self.config.replicate_ami_parameters {
            return Ok((self.every_target(|r| skipped(r, Reason::AmiRegionSpecific)), Some(source)));
        }
        let work = self.targets.iter().map(|store| async {
            if chosen.iter().any(|c| c == store.target()) {
                self.write_target(store, &source, &tags, until).await
            } else {
                self.deselected(store, name, clear).await
            }
        });
        let results = join_all(work).await;
        let results = self.replicate_labels(&source, results, labels::ReplicaReads::Always).await;
        Ok((results, Some(source)))
    }

    /// Read the replica in `store`, plan and write. A recreation that could not finish before `until` is
    /// not begun: reported pending (`time-budget`) for the next full sync.
    async fn write_target(&self, store: &S, source: &Parameter, tags: &Tags, until: Option<Instant>) -> TargetResult {
        let target = store.target();
        let step = || async {
            let desired = self.desired_for(source, tags, target).await?;
            // Value with metadata, and tags, at once: one round trip deep. The tags count only when the
            // read found the replica (its answer alone decides existence).
            let (read, tags) = join(store.read(&source.name), store.read_tags(&source.name)).await;
            let replica = match read? {
                None => None,
                Some(parameter) => Some(Stored { parameter, tags: tags?.unwrap_or_default() }),
            };
            let plan = plan_write(&desired, replica.as_ref(), &self.owner, &self.config.rules);
            if is_recreation(&plan) && until.is_some_and(|u| Instant::now() + self.recreate_wait.longest() > u) {
                return Ok(pending(target));
            }
            self.execute(store, &source.name, plan).await
        };
        self.retry.run(step).await.unwrap_or_else(|e| failed(target, &e))
    }

    /// What the replica in `target` must be, or why this target cannot have one: a name too long for
    /// the target's ARN, too many tags, or no key to encrypt with there. Checked before any write.
    async fn desired_for(&self, source: &Parameter, tags: &Tags, target: &Target) -> Result<Desired, StoreError> {
        let label = target.to_string();
        if let Err(len) = source.name.fits_in(&target.region, target.account_or(&self.owner.account)) {
            let code = format!("NameTooLong: {len} characters with the ARN prefix in {label}, over {MAX_ARN_LEN}");
            return Err(StoreError::permanent("PutParameter", &label, code, Reason::NameTooLong));
        }
        let key = self.target_key(source, target).await?;
        Desired::new(source, tags, key, &self.owner)
            .map_err(|e| StoreError::permanent("PutParameter", &label, format!("TooManyTags: {e}"), Reason::TagLimit))
    }

    async fn target_key(&self, source: &Parameter, target: &Target) -> Result<TargetKey, StoreError> {
        if source.kind != ParameterType::SecureString {
            return Ok(TargetKey::None);
        }
        let mapped = self.config.kms_key_map.get(target).map(String::as_str);
        self.keys.resolve(&request_for(source.key_id.as_deref(), mapped), target).await
    }

    /// The source is gone: delete owned replicas (in parallel), leave everything else alone.
    async fn delete_everywhere(&self, name: &ParameterName) -> Vec<TargetResult> {
        join_all(self.targets.iter().map(|store| async move {
            let step = || async {
                let tags = store.read_tags(name).await?;
                self.execute(store, name, plan_delete(tags.as_ref(), &self.owner, &self.config.rules)).await
            };
            self.retry.run(step).await.unwrap_or_else(|e| failed(store.target(), &e))
        }))
        .await
    }

    /// Carry out a plan (unless this is a dry run) and report it.
    async fn execute(&self, store: &S, name: &ParameterName, plan: Plan) -> Result<TargetResult, StoreError> {
        if !self.dry_run {
            match plan.actions.as_slice() {
                // An update of the value and of the tags: the tag actions (removals before additions, for
                // the 50-tag limit) run beside the PutParameter, so the write is one round trip deep for
                // the value. Both run to the end; the first error is reported (the retry re-plans).
                [put @ Action::Put { overwrite: true, .. }, tagging @ ..]
                    if !tagging.is_empty()
                        && tagging.iter().all(|a| matches!(a, Action::AddTags(_) | Action::RemoveTags(_))) =>
                {
                    let (put, tagged) = join(store.apply(name, put), self.in_order(store, name, tagging)).await;
                    put.and(tagged)?
                }
                actions => self.in_order(store, name, actions).await?,
            }
        }
        let mut result = TargetResult::new(store.target(), plan.outcome, plan.reason);
        result.changed = plan.changed;
        Ok(result)
    }

    /// Apply `actions` one after the other.
    async fn in_order(&self, store: &S, name: &ParameterName, actions: &[Action]) -> Result<(), StoreError> {
        let mut deleted = false;
        for action in actions {
            match action {
                // A recreation's create, right after its delete: SSM refuses it for a while.
                Action::Put { overwrite: false, .. } if deleted => {
                    self.recreate_wait.create(name, || store.apply(name, action)).await?
                }
                _ => store.apply(name, action).await?,
            }
            deleted = matches!(action, Action::Delete);
        }
        Ok(())
    }

    fn every_target(&self, result: impl Fn(&Target) -> TargetResult) -> Vec<TargetResult> {
        self.targets.iter().map(|s| result(s.target())).collect()
    }
}

/// One log line per parameter per target: names, the target's account and region, outcomes and reason
/// codes, never values.
pub(crate) fn log_result(result: &ParameterResult, own_account: &str) {
    for t in &result.targets {
        info!(
            parameter = %result.name,
            target = %t.target,
            account = t.target.account_or(own_account),
            region = %t.target.region,
            outcome = t.outcome.as_str(),
            reason = t.reason.map(|r| r.as_str()),
            changed = ?t.changed,
            error = t.error.as_deref(),
            "replication result"
        );
    }
}

/// A later round's result per target, except that "nothing more to do" keeps what an earlier round did
/// (a target pruned in an earlier round is `not-selected` in a later one).
fn merge_rounds(earlier: Vec<TargetResult>, later: Vec<TargetResult>) -> Vec<TargetResult> {
    if earlier.is_empty() {
        return later;
    }
    earlier
        .into_iter()
        .zip(later)
        .map(|(before, after)| {
            let nothing_more = after.outcome == Outcome::Unchanged || after.reason == Some(Reason::NotSelected);
            if nothing_more {
                before
            } else {
                after
            }
        })
        .collect()
}

fn skipped(target: &Target, reason: Reason) -> TargetResult {
    TargetResult::new(target, Outcome::Skipped, Some(reason))
}

/// Left to the next full sync: the write would not finish within this invocation's time.
fn pending(target: &Target) -> TargetResult {
    TargetResult::new(target, Outcome::Pending, Some(Reason::TimeBudget))
}

fn failed(target: &Target, e: &StoreError) -> TargetResult {
    let mut r = TargetResult::new(target, Outcome::Failed, Some(e.reason()));
    r.error = Some(format!("{}: {}", e.operation, e.code));
    r
}
