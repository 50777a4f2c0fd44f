//! The full sync's orphan pass: owned replicas whose source is gone, or no longer selects their target,
//! go through the event path, which re-reads the source before it deletes anything.

use std::collections::{BTreeMap, BTreeSet};

use tracing::warn;

use super::super::Replicator;
use super::*;

/// Source names a full sync remembers having listed, for its orphan pass (about 100 bytes each).
const SEEN_CAP: usize = 20_000;

/// Source names this invocation's full sync has listed (at most `SEEN_CAP`; memory stays bounded), and
/// the targets each of them was found not selected for (tags confirmed with SSM).
#[derive(Default)]
pub(super) struct Seen {
    names: BTreeSet<ParameterName>,
    deselected: BTreeMap<ParameterName, Vec<Target>>,
    /// Names the orphan pass already sent through the event path (which handles every target at once).
    synced: BTreeSet<ParameterName>,
}

impl Seen {
    pub(super) fn note(&mut self, page: &Page) {
        for m in &page.items {
            if self.names.len() >= SEEN_CAP {
                return;
            }
            self.names.insert(m.name.clone());
        }
    }

    pub(super) fn contains(&self, name: &ParameterName) -> bool {
        self.names.contains(name)
    }

    /// `name` (listed) is not selected for `targets`: the orphan pass looks for owned replicas there.
    pub(super) fn deselect(&mut self, name: &ParameterName, targets: Vec<Target>) {
        if !targets.is_empty() && self.names.contains(name) {
            self.deselected.insert(name.clone(), targets);
        }
    }

    pub(super) fn is_deselected(&self, name: &ParameterName, target: &Target) -> bool {
        self.deselected.get(name).is_some_and(|t| t.contains(target))
    }

    /// Whether `name` still needs the event path in this orphan pass (true once per name).
    pub(super) fn first_sync(&mut self, name: &ParameterName) -> bool {
        self.synced.len() < SEEN_CAP && self.synced.insert(name.clone())
    }
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// Owned replicas listed in one target. Those whose source no longer exists, and those whose source
    /// exists but no longer selects this target, go through the event path, which re-reads the source
    /// (its tags with ListTagsForResource) and deletes only replicas we own: a failed check deletes
    /// nothing, and nothing is deleted on the tagging API's word.
    pub(super) async fn orphan_page(
        &self,
        target: &Target,
        items: Vec<Metadata>,
        seen: &mut Seen,
        tag_reads: &mut TagReads,
        budget: &Budget,
        sink: &mut Sink<'_>,
    ) -> Result<(), FullSyncError> {
        let items: Vec<Metadata> = items.into_iter().filter(|m| self.config.selection.covers(&m.name)).collect();
        // A source this sync listed a moment ago is not gone (and if it was deleted since, its Delete event
        // or the next sync removes the replica; nothing is ever deleted on a guess). Whether it selects this
        // target was decided then, on tags confirmed with SSM.
        let (listed, unlisted): (Vec<Metadata>, Vec<Metadata>) =
            items.into_iter().partition(|m| seen.contains(&m.name));
        let mut check: Vec<ParameterName> =
            listed.into_iter().map(|m| m.name).filter(|n| seen.is_deselected(n, target)).collect();
        if !unlisted.is_empty() {
            // Existence from GetParameters' InvalidParameters, which names each absent parameter; never from
            // a listing (DescribeParameters may not list a parameter yet, and pages before it filters).
            let names: Vec<ParameterName> = unlisted.iter().map(|m| m.name.clone()).collect();
            let existing = self.retry.run(|| self.source.existing(&names)).await?;
            let (present, absent): (Vec<Metadata>, Vec<Metadata>) =
                unlisted.into_iter().partition(|m| existing.contains(&m.name));
            let absent: Vec<ParameterName> = absent.into_iter().map(|m| m.name).collect();
            self.sync_each(&absent, budget, sink).await;
            // Not listed but present (its selection tag removed, or listed before a hand-off): its tags say
            // whether it still selects this target. A hint may only clear it; the event path decides.
            check.extend(self.not_selecting(target, present, tag_reads).await);
        }
        // Once per name: the event path has already handled every target of one synced for another.
        let check: Vec<ParameterName> = check.into_iter().filter(|n| seen.first_sync(n)).collect();
        self.sync_each(&check, budget, sink).await;
        Ok(())
    }

    /// Of these existing sources, those whose tags (a hint from the tagging API, or ListTagsForResource)
    /// do not select `target`. A source whose tags cannot be read now is left for the next sync.
    pub(super) async fn not_selecting(
        &self,
        target: &Target,
        present: Vec<Metadata>,
        tag_reads: &mut TagReads,
    ) -> Vec<ParameterName> {
        if present.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (meta, tagged) in self.page_tags(present, tag_reads).await {
            let tags = match tagged {
                Tagged::Hint(tags) | Tagged::Read(Ok(Some(tags))) => tags,
                // Gone meanwhile: the event path deletes the replica if we own it.
                Tagged::Read(Ok(None)) => {
                    out.push(meta.name);
                    continue;
                }
                Tagged::Read(Err(e)) => {
                    warn!(parameter = %meta.name, error = %e, "source tags unreadable: selection not checked");
                    continue;
                }
            };
            let decision = self.config.selection.decide(&meta.name, &tags, &self.config.targets, &self.owner.account);
            if self.left_out(&decision).contains(target) {
                out.push(meta.name);
            }
        }
        out
    }

    /// The configured targets a selection decision leaves out of an existing source: all of them when its
    /// tags select none (not another reason to skip it, such as being a replica itself).
    pub(super) fn left_out(&self, decision: &Decision) -> Vec<Target> {
        match decision {
            Decision::Skip(Reason::NotSelected) => self.config.targets.clone(),
            Decision::Skip(_) => Vec::new(),
            Decision::Replicate { targets, .. } => {
                self.config.targets.iter().filter(|t| !targets.contains(t)).cloned().collect()
            }
        }
    }
}
