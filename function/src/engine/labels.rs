//! Labels (REPLICATE_LABELS): after a parameter's replicas are written, map the source's labels onto each
//! replica this source owns, by content (domain/labels.rs). Runs after the writes, so a write that created a
//! new replica version takes along the labels that now belong on it.
//!
//! Cost, only with labels on: the source's GetParameterHistory (decrypted; one call per 50 versions, so one or
//! two), then, per target where the replica is ours, its history too — on the event path always (so that a
//! removed last label is removed from the replicas), on a full sync only when the source has labels.
//! DescribeParameters does not return labels: GetParameterHistory is the only read that shows them.

use futures::future::join_all;
use tracing::warn;

use super::{failed, Replicator};
use crate::domain::keys::request_for;
use crate::domain::labels::{has_labels, plan_labels, HistoryEntry, LabelPlan};
use crate::domain::{Field, Outcome, Parameter, ParameterType, Reason, TargetKey, TargetResult};
use crate::ports::{KeyResolver, ParameterStore, SecretStore, StoreError, StoreResult};

/// When the replicas' histories are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReplicaReads {
    /// Always (the event path: one parameter, and its event may be an unlabel).
    Always,
    /// Only when the source has labels (the full sync: its budget is per parameter).
    WhenSourceHasLabels,
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// Bring the labels of `source`'s replicas in line, for the targets whose result says the replica is
    /// ours and there (created, updated, unchanged). A failure here fails that target with its reason.
    pub(super) async fn replicate_labels(
        &self,
        source: &Parameter,
        results: Vec<TargetResult>,
        reads: ReplicaReads,
    ) -> Vec<TargetResult> {
        if !self.config.replicate_labels || !results.iter().any(|r| self.labels_apply(r)) {
            return results;
        }
        let history = match self.retry.run(|| self.source.history(&source.name)).await {
            Ok(Some(history)) => history,
            // Deleted since it was read: its event (or the next sync) handles it.
            Ok(None) => return results,
            Err(e) => {
                return results.into_iter().map(|r| if self.labels_apply(&r) { fail(r, &e) } else { r }).collect()
            }
        };
        if reads == ReplicaReads::WhenSourceHasLabels && !has_labels(&history) {
            return results;
        }
        join_all(results.into_iter().map(|result| async {
            let store = self.targets.iter().find(|s| *s.target() == result.target);
            match store {
                Some(store) if self.labels_apply(&result) => self.labels_in(store, source, &history, result).await,
                _ => result,
            }
        }))
        .await
    }

    /// The replica exists (or a dry run would have created it) and is ours: its labels are ours to set.
    fn labels_apply(&self, result: &TargetResult) -> bool {
        match result.outcome {
            Outcome::Updated | Outcome::Unchanged => true,
            Outcome::Created => !self.dry_run,
            Outcome::Deleted | Outcome::Skipped | Outcome::Pending | Outcome::Failed => false,
        }
    }

    async fn labels_in(
        &self,
        store: &S,
        source: &Parameter,
        history: &[HistoryEntry],
        mut result: TargetResult,
    ) -> TargetResult {
        let step = || async {
            let Some(replica) = store.history(&source.name).await? else { return Ok(None) };
            let keys = self.version_keys(history, store).await?;
            let plan = plan_labels(history, &replica, |v, r| {
                r.value == v.value
                    && r.kind == v.kind
                    && keys.iter().any(|(key, target)| *key == key_of(v) && target.matches(r.key_id.as_deref()))
            });
            if !self.dry_run {
                apply(store, source, &plan).await?;
            }
            Ok::<_, StoreError>(Some(plan))
        };
        match self.retry.run(step).await {
            // Gone since it was written: the next event or sync sees it.
            Ok(None) => result,
            Ok(Some(plan)) => {
                if !plan.writes_nothing() {
                    if result.outcome == Outcome::Unchanged {
                        result.outcome = Outcome::Updated;
                    }
                    result.changed.push(Field::Labels);
                }
                if !plan.missing.is_empty() {
                    // Label names and version numbers only, never a value.
                    let missing: Vec<String> =
                        plan.missing.iter().map(|m| format!("{}@{}", m.label, m.source_version)).collect();
                    warn!(parameter = %source.name, target = %result.target, ?missing,
                        "source labels whose version has no counterpart in the target (label-version-missing)");
                    // One reason per result: a write's own reason (adopted, ami-validation-pending) stays.
                    result.reason = result.reason.or(Some(Reason::LabelVersionMissing));
                }
                result
            }
            Err(e) => fail(result, &e),
        }
    }

    /// For each distinct key among the labelled source versions, the key it maps to in `store`'s target
    /// (the same mapping as the replica's own key). A key with no counterpart there leaves its versions
    /// without one (`label-version-missing`); only a transient failure is an error.
    async fn version_keys(&self, history: &[HistoryEntry], store: &S) -> StoreResult<Vec<(VersionKey, TargetKey)>> {
        let target = store.target();
        let mut keys: Vec<(VersionKey, TargetKey)> = Vec::new();
        for v in history.iter().filter(|v| !v.labels.is_empty()) {
            if keys.iter().any(|(k, _)| *k == key_of(v)) {
                continue;
            }
            let key = if v.kind == ParameterType::SecureString {
                let mapped = self.config.kms_key_map.get(target).map(String::as_str);
                match self.keys.resolve(&request_for(v.key_id.as_deref(), mapped), target).await {
                    Ok(key) => key,
                    Err(e) if e.is_transient() => return Err(e),
                    Err(_) => continue,
                }
            } else {
                TargetKey::None
            };
            keys.push((key_of(v), key));
        }
        Ok(keys)
    }
}

/// A source version's encryption as far as mapping goes: SecureString or not, and the key SSM names.
type VersionKey = (bool, Option<String>);

fn key_of(v: &HistoryEntry) -> VersionKey {
    (v.kind == ParameterType::SecureString, v.key_id.clone())
}

/// Detach, then attach (a version holds at most 10 labels; LabelParameterVersion moves a label).
async fn apply<S: ParameterStore>(store: &S, source: &Parameter, plan: &LabelPlan) -> StoreResult<()> {
    let (detach, attach) = plan.calls();
    for (version, labels) in &detach {
        store.unlabel(&source.name, *version, labels).await?;
    }
    for (version, labels) in &attach {
        store.label(&source.name, *version, labels).await?;
    }
    Ok(())
}

/// The target fails with the label step's error; what its write changed stays listed.
/// The label step failed for this target. Transient: the target fails, so the invocation is retried and
/// the labels follow. Permanent (e.g. an old version's key disabled, so its history cannot be decrypted):
/// the write's own outcome stands, with the error noted; a value is worth more than its labels.
fn fail(result: TargetResult, e: &StoreError) -> TargetResult {
    if e.is_transient() {
        let mut failed = failed(&result.target, e);
        failed.changed = result.changed;
        return failed;
    }
    warn!(target = %result.target, error = %e, "labels not replicated; the replica's value is");
    let mut kept = result;
    kept.reason = kept.reason.or(Some(e.reason()));
    kept.error = Some(format!("labels not replicated: {}: {}", e.operation, e.code));
    kept
}
