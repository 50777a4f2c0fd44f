//! Copies of secrets in other accounts: planned by `domain::secret::plan_copy` from the copy's own
//! DescribeSecret (an unchanged copy costs that one call and no value is read), deleted when their source
//! is gone, and the full sync's pass that finds owned copies whose source is gone.

use std::collections::BTreeSet;

use futures::future::join_all;
use tracing::warn;

use super::super::{failed, log_result, skipped, Replicator, SecretStores, Sink};
use super::secret_result;
use crate::domain::secret::{plan_copy, plan_copy_delete, CopyPlan, SecretMeta, SecretName};
use crate::domain::{Cursor, Reason, Target, TargetResult, OWNER_TAG};
use crate::ports::{KeyResolver, ParameterStore, SecretQuery, SecretStore, StoreError, StoreResult};

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// A copy in another account: describe it, plan, and write only the drift.
    pub(super) async fn copy(
        &self,
        store: &Z,
        stores: &SecretStores<Z>,
        name: &SecretName,
        source: &SecretMeta,
    ) -> TargetResult {
        let target = store.target();
        let step = || async {
            let key = self.secret_key(source, target).await?;
            let copy = store.describe(name.as_str()).await?;
            let plan = plan_copy(source, &key, copy.as_ref(), &self.owner, &self.config.rules);
            self.execute_copy(store, stores, name, source, plan).await
        };
        self.retry.run(step).await.unwrap_or_else(|e| failed(target, &e))
    }

    async fn execute_copy(
        &self,
        store: &Z,
        stores: &SecretStores<Z>,
        name: &SecretName,
        source: &SecretMeta,
        plan: CopyPlan,
    ) -> StoreResult<TargetResult> {
        if !self.dry_run && !plan.actions.is_empty() {
            let value = match (plan.actions.iter().any(|a| a.needs_value()), &source.current_version) {
                // The value of exactly the version described, so the copy's version id names this value.
                (true, Some(version)) => match stores.source.value(&source.arn, version).await? {
                    Some(v) => Some(v),
                    None => {
                        return Err(StoreError {
                            operation: "GetSecretValue",
                            target: self.config.source_region.clone(),
                            code: "VersionGone".into(),
                            class: crate::ports::ErrorClass::Transient,
                        })
                    }
                },
                _ => None,
            };
            for action in &plan.actions {
                store.apply(name, action, value.as_ref()).await?;
            }
        }
        let mut result = TargetResult::new(store.target(), plan.outcome, plan.reason);
        result.changed = plan.changed;
        Ok(result)
    }

    /// After the secrets: the orphaned-copies pass of the first target in another account after `after`
    /// (`None`: the first one), when deletes are on.
    pub(in crate::engine) fn secret_copies_phase(&self, after: Option<&Target>) -> Option<Cursor> {
        if self.secrets.is_none() || !self.config.rules.delete_replicas {
            return None;
        }
        let others = self.config.targets.iter().filter(|t| t.is_other_account());
        let mut rest = others.skip_while(|t| after.is_some_and(|a| a != *t));
        if after.is_some() {
            rest.next();
        }
        rest.next().map(|t| Cursor::SecretCopies { target: t.clone(), token: None })
    }

    /// One page of owned copies in `target` (ListSecrets there, filtered on the ownership tag key): a copy
    /// whose source this sync did not list is looked up at the source by name, and scheduled for deletion
    /// only when DescribeSecret says that exact name does not exist or is scheduled for deletion. A target
    /// that cannot be listed at all (its role refused, or the listing denied) is skipped, deleting nothing.
    pub(in crate::engine) async fn secret_copies_page(
        &self,
        target: &Target,
        token: Option<&str>,
        seen: &BTreeSet<String>,
        sink: &mut Sink<'_>,
    ) -> Result<Option<Cursor>, StoreError> {
        let Some(stores) = &self.secrets else { return Ok(None) };
        let Some(store) = self.secret_store(stores, target) else { return Ok(self.secret_copies_phase(Some(target))) };
        let query = SecretQuery { prefix: None, tag_key: Some(OWNER_TAG.to_owned()) };
        let page = match self.retry.run(|| store.list(&query, token)).await {
            Ok(page) => page,
            Err(e) if !e.is_transient() => {
                warn!(target = %target, error = %e, "secret copies pass skipped for this target: it cannot be listed");
                return Ok(self.secret_copies_phase(Some(target)));
            }
            Err(e) => return Err(e),
        };
        let mine = self.owner.tag_value();
        let candidates: Vec<SecretName> = page
            .items
            .iter()
            .filter(|c| !c.deleted && c.tags.get(OWNER_TAG) == Some(&mine) && !seen.contains(&c.name))
            .filter_map(|c| SecretName::parse(&c.name).ok())
            .filter(|n| n.is_under_any(&self.config.secret_prefixes))
            .collect();
        for name in candidates {
            let source = match self.retry.run(|| stores.source.describe(name.as_str())).await {
                Ok(source) => source,
                Err(e) => {
                    sink(secret_result(name.as_str(), vec![failed(target, &e)]));
                    continue;
                }
            };
            if source.is_some_and(|s| !s.deleted) {
                continue;
            }
            let result = self.delete_copy(store, &name).await;
            let result = secret_result(name.as_str(), vec![result]);
            log_result(&result, &self.owner.account);
            sink(result);
        }
        Ok(match page.next {
            Some(t) => Some(Cursor::SecretCopies { target: target.clone(), token: Some(t) }),
            None => self.secret_copies_phase(Some(target)),
        })
    }

    /// The source is gone: schedule owned copies for deletion; native replicas go with their primary.
    pub(super) async fn delete_copies(&self, stores: &SecretStores<Z>, name: &SecretName) -> Vec<TargetResult> {
        join_all(stores.targets.iter().map(|store| async move {
            if !store.target().is_other_account() {
                return skipped(store.target(), Reason::ReplicaAbsent);
            }
            self.delete_copy(store, name).await
        }))
        .await
    }

    /// Schedule `name`'s copy in `store` for deletion if it is ours (and deletes are on).
    async fn delete_copy(&self, store: &Z, name: &SecretName) -> TargetResult {
        let target = store.target();
        let step = || async {
            let copy = store.describe(name.as_str()).await?;
            let plan = plan_copy_delete(copy.as_ref(), &self.owner, &self.config.rules);
            let mut result = TargetResult::new(target, plan.outcome, plan.reason);
            if !self.dry_run {
                for action in &plan.actions {
                    store.apply(name, action, None).await?;
                }
            }
            result.changed = plan.changed;
            Ok(result)
        };
        self.retry.run(step).await.unwrap_or_else(|e| failed(target, &e))
    }
}
