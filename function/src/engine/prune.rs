//! Pruning on the event path: a target the source exists for but no longer selects (its selection tag
//! removed or `no`, or its list no longer naming that target). Only a replica carrying our ownership tag
//! counts: deleted when `PRUNE_DESELECTED` is on, reported `deselected` otherwise; the rest is
//! `not-selected`. Decided from the source's tags as ListTagsForResource gave them (never from the
//! tagging API's index, which may be stale).

use super::{failed, Replicator};
use crate::domain::{plan_prune, ParameterName, TargetResult};
use crate::ports::{KeyResolver, ParameterStore};

impl<S: ParameterStore, K: KeyResolver> Replicator<S, K> {
    /// One target that `name` (whose source exists, tags read from SSM) is not selected for: one
    /// ListTagsForResource there, and a DeleteParameter when an owned replica is to be pruned.
    pub(super) async fn deselected(&self, store: &S, name: &ParameterName) -> TargetResult {
        let step = || async {
            let tags = store.read_tags(name).await?;
            self.execute(store, name, plan_prune(tags.as_ref(), &self.owner, &self.config.rules)).await
        };
        self.retry.run(step).await.unwrap_or_else(|e| failed(store.target(), &e))
    }
}
