//! Pruning on the event path: a target the source exists for but no longer selects (its selection tag
//! removed or `no`, or its list no longer naming that target). Only a replica carrying our ownership tag
//! counts: deleted when `PRUNE_DESELECTED` is on, reported `deselected` otherwise; the rest is
//! `not-selected`. Decided from the source's tags as ListTagsForResource gave them (never from the
//! tagging API's index, which may be stale).

use tracing::warn;

use super::{failed, Replicator};
use crate::domain::{plan_prune, ParameterName, Rules, TargetResult};
use crate::ports::{KeyResolver, ParameterStore, SecretStore};

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// One target that `name` (whose source exists, tags read from SSM) is not selected for: one
    /// ListTagsForResource there, and a DeleteParameter when an owned replica is to be pruned.
    /// `clear`: the source's selection tag reads as intended (`Selection::unclear` is false); otherwise an
    /// owned replica is only reported `deselected`, never pruned.
    pub(super) async fn deselected(&self, store: &S, name: &ParameterName, clear: bool) -> TargetResult {
        let rules = Rules { prune: self.config.rules.prune && clear, ..self.config.rules };
        if self.config.rules.prune && !clear {
            warn!(parameter = %name, target = %store.target(), "selection tag value not understood: nothing is pruned on it");
        }
        let step = || async {
            let tags = store.read_tags(name).await?;
            self.execute(store, name, plan_prune(tags.as_ref(), &self.owner, &rules)).await
        };
        self.retry.run(step).await.unwrap_or_else(|e| failed(store.target(), &e))
    }
}
