//! The source's tags in a full sync: hints from the tagging API (GetResources, a page at a time), confirmed
//! with SSM's ListTagsForResource before they unselect a parameter or before anything is written on them.

use futures::stream::{self, StreamExt};
use tracing::warn;

use super::super::Replicator;
use super::*;

/// A listed parameter's tags: read from SSM (authoritative; `None`: it no longer exists), or a hint
/// from the tagging API.
pub(super) enum Tagged {
    Read(Result<Option<Tags>, StoreError>),
    Hint(Tags),
}

/// How this sync reads source tags: in bulk until GetResources is refused, then one by one.
#[derive(Default)]
pub(super) struct TagReads {
    pub(super) singly: bool,
    pub(super) notes: Vec<String>,
    /// Targets (by index) whose replicas' tags this sync reads one by one: GetResources was refused there.
    pub(super) replicas_singly: std::collections::BTreeSet<usize>,
}

impl TagReads {
    /// GetResources failed for the replicas of target `i`: refused, the rest of this sync reads them one
    /// by one there; throttled or failing after retries, that batch did. Said once in the notes.
    pub(super) fn replica_tags_failed(&mut self, i: usize, target: &Target, e: &StoreError) {
        warn!(target = %target, error = %e, "GetResources failed: replica tags are read one at a time");
        if !e.is_transient() {
            self.replicas_singly.insert(i);
        }
        let why = match e.reason() {
            Reason::AccessDenied => "; allow tag:GetResources in that region to read them in bulk",
            _ => "",
        };
        self.note(format!("tags of the replicas in {target} were read one at a time (ListTagsForResource): {e}{why}"));
    }

    fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// Tags of a page's parameters: from the tagging API in one call while it answers, else (or for the
    /// names it did not answer for) one ListTagsForResource each.
    pub(super) async fn page_tags(&self, items: Vec<Metadata>, tag_reads: &mut TagReads) -> Vec<(Metadata, Tagged)> {
        let mut hints = None;
        if !tag_reads.singly && !items.is_empty() {
            let names: Vec<ParameterName> = items.iter().map(|m| m.name.clone()).collect();
            match self.retry.run(|| self.source.bulk_tags(&names)).await {
                Ok(bulk) => hints = Some(bulk),
                // Denied (a role from before tag:GetResources) or refused: the rest of this sync reads tags
                // one by one. Throttled or failing after retries: this page does; the next asks again.
                Err(e) => {
                    let rest = !e.is_transient();
                    warn!(error = %e, rest_of_sync = rest, "GetResources failed: tags are read one parameter at a time");
                    tag_reads.singly = rest;
                    let why = match e.reason() {
                        Reason::AccessDenied => "; allow tag:GetResources to the function's role to read them in bulk",
                        _ => "",
                    };
                    tag_reads.note(format!("tags were read one parameter at a time (ListTagsForResource): {e}{why}"));
                }
            }
        }
        stream::iter(items)
            .map(|meta| {
                let hint = hints.as_ref().and_then(|bulk| match bulk.found.get(&meta.name) {
                    Some(tags) => Some(tags.clone()),
                    // Absent from a complete answer: no tags as far as the index knows.
                    None if bulk.complete => Some(Tags::new()),
                    None => None,
                });
                async move {
                    let tagged = match hint {
                        Some(tags) => Tagged::Hint(tags),
                        None => Tagged::Read(self.retry.run(|| self.source.read_tags(&meta.name)).await),
                    };
                    (meta, tagged)
                }
            })
            .buffered(TAG_READ_CONCURRENCY)
            .collect()
            .await
    }

    /// Whether these tags select the parameter for every target (nothing to confirm: a stale hint can
    /// then at worst delay a tag change, which its own event carries).
    pub(super) fn selects_everywhere(&self, name: &ParameterName, tags: &Tags) -> bool {
        match self.config.selection.decide(name, tags, &self.config.targets, &self.owner.account) {
            Decision::Replicate { targets, .. } => targets.len() == self.targets.len(),
            Decision::Skip(_) => false,
        }
    }

    /// Of `items`, those whose tags were a hint that SSM does not confirm (tags differ, the parameter is
    /// gone, or its tags cannot be read now). Confirmed items are safe to write with the tags they carry.
    pub(super) async fn stale_hints(&self, items: &[&SourceItem]) -> Vec<ParameterName> {
        stream::iter(items.iter().filter(|i| !i.tags_confirmed))
            .map(|item| async move {
                let name = &item.parameter.name;
                match self.retry.run(|| self.source.read_tags(name)).await {
                    Ok(Some(tags)) if tags == item.tags => None,
                    _ => Some(name.clone()),
                }
            })
            .buffered(TAG_READ_CONCURRENCY)
            .filter_map(|stale| async move { stale })
            .collect()
            .await
    }
}
