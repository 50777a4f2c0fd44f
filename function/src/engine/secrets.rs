//! Secrets (SECRETS=true): one secret at a time, from its description (DescribeSecret), to every target.
//!
//! - Targets in this account: the service's own replication. A selected region that is not a replica
//!   region yet is added with ReplicateSecretToRegions and the mapped key (a same-name secret already
//!   there is unmanaged: left alone, or overwritten with ForceOverwriteReplicaSecret when adoption is on);
//!   a replica region's status is reported (InSync unchanged, InProgress pending, Failed failed with
//!   `replica-failed` and the service's message). Replica regions that are not targets are left alone
//!   and noted once. A region no longer selected is reported `deselected` and kept.
//! - Targets in other accounts: copies, planned by `domain::secret::plan_copy` from the copy's own
//!   DescribeSecret, so that an unchanged copy costs that one call and no value is read.
//!
//! A no-change full sync costs, per selected secret, one DescribeSecret in the source (plus one ListSecrets
//! per 100) and one DescribeSecret per other-account target; nothing in this account's targets.

use std::collections::BTreeSet;

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use tracing::warn;

use super::{failed, log_result, skipped, Replicator, SecretStores, Sink, NAME_CONCURRENCY};
use crate::domain::keys::request_for;
use crate::domain::secret::{
    key_of, native_outcome, plan_native, NativeStep, ReplicaStatus, SecretId, SecretMeta, SecretName,
};
use crate::domain::{
    Decision, Kind, Outcome, ParameterName, ParameterResult, Reason, Report, Target, TargetKey, TargetResult,
};
use crate::ports::{KeyResolver, ParameterStore, SecretQuery, SecretStore, StoreError, StoreResult};

/// Copies in other accounts: written, deleted, and the full sync's pass over them.
mod copies;

/// Longest replication status message kept in a report.
const MAX_MESSAGE: usize = 300;

/// One secret's results, and what the report should say once about it.
struct Synced {
    result: ParameterResult,
    note: Option<String>,
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// The event path for secrets: bring every target in line for each of `ids`.
    pub async fn sync_secrets(&self, ids: &[SecretId], report: &mut Report) {
        let Some(stores) = &self.secrets else {
            report.ignored = Some(Reason::SecretsDisabled);
            return;
        };
        let done: Vec<Synced> =
            stream::iter(ids).map(|id| self.sync_secret(stores, id)).buffered(NAME_CONCURRENCY).collect().await;
        for s in done {
            log_result(&s.result, &self.owner.account);
            report.notes.extend(s.note);
            report.push(s.result);
        }
    }

    /// One page of the full sync's secrets phase: ListSecrets for the name prefix at `prefix` (and the tag
    /// key when selection is by tag), then each listed secret as on the event path. Returns the next token.
    /// One listing per prefix: AWS documents each filter value as a prefix match but not how several values
    /// of one filter combine, so none is relied on.
    pub(super) async fn secrets_page(
        &self,
        prefix: usize,
        token: Option<&str>,
        notes: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
        sink: &mut Sink<'_>,
    ) -> StoreResult<Option<String>> {
        let Some(stores) = &self.secrets else { return Ok(None) };
        let selection = &self.config.selection;
        let query = SecretQuery {
            prefix: self.config.secret_prefixes.get(prefix).cloned(),
            tag_key: (selection.mode == crate::domain::SelectionMode::Tagged).then(|| selection.tag_key.clone()),
        };
        let page = self.retry.run(|| stores.source.list(&query, token)).await?;
        seen.extend(page.items.iter().filter(|s| !s.deleted).map(|s| s.name.clone()));
        // Replicas of primaries elsewhere are listed too; they are not sources here.
        let ids: Vec<SecretId> =
            page.items.iter().filter(|s| !s.deleted && !s.is_replica()).map(|s| SecretId::Arn(s.arn.clone())).collect();
        let done: Vec<Synced> =
            stream::iter(&ids).map(|id| self.sync_secret(stores, id)).buffered(NAME_CONCURRENCY).collect().await;
        for s in done {
            log_result(&s.result, &self.owner.account);
            notes.extend(s.note);
            sink(s.result);
        }
        Ok(page.next)
    }

    async fn sync_secret(&self, stores: &SecretStores<Z>, id: &SecretId) -> Synced {
        let guess = id.name();
        let prefixes = &self.config.secret_prefixes;
        let every = |name: &str, f: &dyn Fn(&Target) -> TargetResult| Synced {
            result: secret_result(name, self.every_target(f)),
            note: None,
        };
        if guess.as_ref().is_some_and(|n| !n.is_under_any(prefixes)) {
            return every(id.as_str(), &|t| skipped(t, Reason::OutsidePrefixes));
        }
        let shown = guess.as_ref().map_or(id.as_str(), SecretName::as_str).to_owned();
        let described = match self.retry.run(|| stores.source.describe(id.as_str())).await {
            Ok(d) => d,
            Err(e) => return every(&shown, &|t| failed(t, &e)),
        };
        // An ARN not found proves only that this ARN is gone: the name may already hold a new secret (deleted
        // and created again), and a guess from a partial ARN may be wrong. The name itself decides.
        let described = match (described, id, &guess) {
            (None, SecretId::Arn(_), Some(name)) => {
                match self.retry.run(|| stores.source.describe(name.as_str())).await {
                    Ok(d) => d,
                    Err(e) => return every(&shown, &|t| failed(t, &e)),
                }
            }
            (d, _, _) => d,
        };
        let source = match described {
            Some(m) if !m.deleted => m,
            // Deleted, or scheduled for deletion: owned copies in other accounts are scheduled too.
            gone => {
                let name = gone.as_ref().and_then(|m| SecretName::parse(&m.name).ok()).or(guess);
                let Some(name) = name else {
                    let e = StoreError::permanent(
                        "DescribeSecret",
                        &self.config.source_region,
                        "NameNotInArn",
                        Reason::Validation,
                    );
                    return every(&shown, &|t| failed(t, &e));
                };
                let targets = self.delete_copies(stores, &name).await;
                return Synced { result: secret_result(name.as_str(), targets), note: None };
            }
        };
        let name = match SecretName::parse(&source.name) {
            Ok(n) if n.is_under_any(prefixes) => n,
            Ok(_) => return every(&source.name, &|t| skipped(t, Reason::OutsidePrefixes)),
            Err(e) => {
                let e = StoreError::permanent(
                    "DescribeSecret",
                    &self.config.source_region,
                    format!("InvalidName: {e}"),
                    Reason::Validation,
                );
                return every(&source.name, &|t| failed(t, &e));
            }
        };
        if source.is_replica() {
            return every(name.as_str(), &|t| skipped(t, Reason::SourceIsReplica));
        }
        let chosen = match self.config.selection.decide_tags(&source.tags, &self.config.targets, &self.owner.account) {
            Decision::Replicate { targets, .. } => targets,
            Decision::Skip(_) => Vec::new(),
        };
        let note = self.unmanaged_regions_note(&source);
        let targets = self.secret_targets(stores, &name, &source, &chosen).await;
        Synced { result: secret_result(name.as_str(), targets), note }
    }

    /// Per configured target, in order: native replication in this account, copies in others.
    async fn secret_targets(
        &self,
        stores: &SecretStores<Z>,
        name: &SecretName,
        source: &SecretMeta,
        chosen: &[Target],
    ) -> Vec<TargetResult> {
        let native: Vec<&Target> = chosen.iter().filter(|t| !t.is_other_account()).collect();
        let mut native_results = self.native(stores, name, source, &native).await;
        let copies = stores.targets.iter().map(|store| async {
            let target = store.target();
            if !chosen.contains(target) {
                let deselected = !target.is_other_account() && source.replica_in(&target.region).is_some();
                return Some(skipped(target, if deselected { Reason::Deselected } else { Reason::NotSelected }));
            }
            if !target.is_other_account() {
                return None;
            }
            Some(self.copy(store, stores, name, source).await)
        });
        let copies = join_all(copies).await;
        copies
            .into_iter()
            .zip(&self.config.targets)
            .map(|(r, t)| {
                r.unwrap_or_else(|| native_results.remove(t).unwrap_or_else(|| skipped(t, Reason::NotSelected)))
            })
            .collect()
    }

    /// Own-account targets: report replica regions, add the missing ones (one call per force setting).
    async fn native(
        &self,
        stores: &SecretStores<Z>,
        name: &SecretName,
        source: &SecretMeta,
        regions: &[&Target],
    ) -> std::collections::BTreeMap<Target, TargetResult> {
        let mut results = std::collections::BTreeMap::new();
        let mut add: Vec<(&Target, bool, Option<String>)> = Vec::new();
        for &target in regions {
            let step = if source.replica_in(&target.region).is_some() {
                plan_native(source, &target.region, None, &self.config.rules)
            } else {
                // Only a region not replicated yet is looked at: is the name taken there?
                let Some(store) = self.secret_store(stores, target) else { continue };
                match self.retry.run(|| store.describe(name.as_str())).await {
                    Ok(existing) => plan_native(source, &target.region, existing.as_ref(), &self.config.rules),
                    Err(e) => {
                        results.insert(target.clone(), failed(target, &e));
                        continue;
                    }
                }
            };
            match step {
                NativeStep::Status(status) => {
                    results.insert(target.clone(), status_result(target, &status, false, false));
                }
                NativeStep::Unmanaged => {
                    results.insert(target.clone(), skipped(target, Reason::Unmanaged));
                }
                NativeStep::OwnedElsewhere => {
                    results.insert(target.clone(), skipped(target, Reason::OwnedByOtherSource));
                }
                NativeStep::Add { force } => match self.secret_key(source, target).await {
                    Ok(key) => add.push((target, force, key.to_write().map(str::to_owned))),
                    Err(e) => {
                        results.insert(target.clone(), failed(target, &e));
                    }
                },
            }
        }
        for force in [false, true] {
            let batch: Vec<&(&Target, bool, Option<String>)> = add.iter().filter(|a| a.1 == force).collect();
            if batch.is_empty() {
                continue;
            }
            if self.dry_run {
                for (t, _, _) in &batch {
                    let mut r = TargetResult::new(t, Outcome::Created, force.then_some(Reason::Adopted));
                    r.changed = Vec::new();
                    results.insert((*t).clone(), r);
                }
                continue;
            }
            let regions: Vec<(String, Option<String>)> =
                batch.iter().map(|(t, _, k)| (t.region.clone(), k.clone())).collect();
            match self.retry.run(|| stores.source.replicate(&source.arn, &regions, force)).await {
                Ok(statuses) => {
                    for (t, _, _) in &batch {
                        let result = match statuses.iter().find(|s| s.region == t.region) {
                            Some(status) => status_result(t, status, true, force),
                            None => TargetResult::new(t, Outcome::Pending, Some(Reason::ReplicaInProgress)),
                        };
                        results.insert((*t).clone(), result);
                    }
                }
                Err(e) => {
                    for (t, _, _) in &batch {
                        results.insert((*t).clone(), failed(t, &e));
                    }
                }
            }
        }
        results
    }

    /// The key a secret uses in `target`: the default maps to the default, an alias to the same alias,
    /// KMS_KEY_MAP wins (the same mapping as parameters, with Secrets Manager's default key).
    pub(super) async fn secret_key(&self, source: &SecretMeta, target: &Target) -> StoreResult<TargetKey> {
        let mapped = self.config.kms_key_map.get(target).map(String::as_str);
        self.keys.resolve(&request_for(key_of(source), mapped), target).await
    }

    pub(super) fn secret_store<'a>(&self, stores: &'a SecretStores<Z>, target: &Target) -> Option<&'a Z> {
        stores.targets.iter().find(|s| s.target() == target)
    }

    /// Replica regions the service keeps that are not targets: left alone, said once.
    fn unmanaged_regions_note(&self, source: &SecretMeta) -> Option<String> {
        let others: Vec<&str> = source
            .replicas
            .iter()
            .map(|r| r.region.as_str())
            .filter(|r| !self.config.targets.contains(&Target::own(r)))
            .collect();
        if others.is_empty() {
            return None;
        }
        warn!(secret = %source.name, regions = ?others, "secret has replica regions that are not targets; left alone");
        Some(format!("secret {} is also replicated to {} (not targets; left alone)", source.name, others.join(", ")))
    }
}

pub(super) fn secret_result(name: &str, targets: Vec<TargetResult>) -> ParameterResult {
    ParameterResult { kind: Kind::Secret, name: ParameterName::listed(name), targets }
}

/// A replica region's status as a result; a failure carries the service's message (about replication).
fn status_result(target: &Target, status: &ReplicaStatus, added: bool, adopted: bool) -> TargetResult {
    let (outcome, reason) = native_outcome(status, added, adopted);
    let mut result = TargetResult::new(target, outcome, reason);
    if outcome == Outcome::Failed {
        let message: String = status.message.as_deref().unwrap_or("no message").chars().take(MAX_MESSAGE).collect();
        result.error = Some(format!("ReplicateSecretToRegions: {message}"));
    }
    result
}
