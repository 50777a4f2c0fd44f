//! The full sync's source side of a batch: which listed parameters go anywhere (their tags from the
//! tagging API, confirmed with SSM where a hint would leave a target out), and their values.

use super::super::Replicator;
use super::*;

/// A selected source parameter, read whole at `version`, and the targets it goes to.
pub(super) struct SourceItem {
    pub(super) parameter: Parameter,
    pub(super) version: i64,
    pub(super) tags: Tags,
    /// False when `tags` came from the tagging API (a hint): confirmed with SSM before any write.
    pub(super) tags_confirmed: bool,
    pub(super) targets: Vec<Target>,
}

/// A selected source parameter from the listing, with its tags and the targets they select.
pub(super) struct Selected {
    meta: Metadata,
    tags: Tags,
    tags_confirmed: bool,
    targets: Vec<Target>,
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// The batch's parameters that go anywhere, with their tags; every other one is reported here, and
    /// each target's index learns which listed sources leave it out. Also the names gone since they were
    /// listed, for the event path (which deletes their owned replicas).
    pub(super) async fn select(
        &self,
        page: Page,
        indexes: &mut [ReplicaIndex],
        tag_reads: &mut TagReads,
        seen: &mut Seen,
        sink: &mut Sink<'_>,
    ) -> (Vec<Selected>, Vec<ParameterName>) {
        // One item SSM listed but we cannot read fails alone, under its own name.
        for r in page.rejected {
            warn!(parameter = %r.name, error = %r.error, "listed parameter cannot be read; it fails alone");
            self.emit(self.for_every_target(r.name, |t| failed(t, &r.error)), sink);
        }
        let tagged = self.page_tags(page.items, tag_reads).await;
        // A hint that would leave a parameter out of any target is confirmed with SSM before it counts.
        let tagged: Vec<(Metadata, Result<Option<Tags>, StoreError>, bool)> = stream::iter(tagged)
            .map(|(meta, tagged)| async move {
                match tagged {
                    Tagged::Hint(tags) if self.selects_everywhere(&meta.name, &tags) => (meta, Ok(Some(tags)), false),
                    Tagged::Hint(_) => {
                        let tags = self.retry.run(|| self.source.read_tags(&meta.name)).await;
                        (meta, tags, true)
                    }
                    Tagged::Read(tags) => (meta, tags, true),
                }
            })
            .buffered(TAG_READ_CONCURRENCY)
            .collect()
            .await;
        let (mut selected, mut gone) = (Vec::new(), Vec::new());
        for (meta, tags, tags_confirmed) in tagged {
            let tags = match tags {
                Err(e) => {
                    self.emit(self.for_every_target(meta.name, |r| failed(r, &e)), sink);
                    continue;
                }
                // Deleted since it was listed (SSM says so for this name): the event path deletes what we own.
                Ok(None) => {
                    gone.push(meta.name);
                    continue;
                }
                Ok(Some(tags)) => tags,
            };
            let decision = self.config.selection.decide(&meta.name, &tags, &self.config.targets, &self.owner.account);
            // Tags that leave a target out were confirmed with SSM above (a hint never unselects).
            let left_out = self.left_out(&decision);
            for (store, index) in self.targets.iter().zip(indexes.iter_mut()) {
                if left_out.contains(store.target()) {
                    index.mark_deselected(&meta.name);
                }
            }
            seen.deselect(&meta.name, left_out);
            match decision {
                Decision::Skip(reason) => self.emit(self.for_every_target(meta.name, |r| skipped(r, reason)), sink),
                Decision::Replicate { .. }
                    if meta.data_type == AMI_DATA_TYPE && !self.config.replicate_ami_parameters =>
                {
                    self.emit(self.for_every_target(meta.name, |r| skipped(r, Reason::AmiRegionSpecific)), sink)
                }
                Decision::Replicate { targets, .. } => selected.push(Selected { meta, tags, tags_confirmed, targets }),
            }
        }
        (selected, gone)
    }

    /// The selected parameters' values (GetParameters per 10), kept where they belong to the listed version;
    /// the names that changed or went since they were listed, for the event path.
    pub(super) async fn read_sources(
        &self,
        selected: Vec<Selected>,
        sink: &mut Sink<'_>,
    ) -> (Vec<SourceItem>, Vec<ParameterName>) {
        let names: Vec<ParameterName> = selected.iter().map(|s| s.meta.name.clone()).collect();
        let values = match self.retry.run(|| self.source.values(&names)).await {
            Ok(v) => v,
            Err(e) => {
                for name in names {
                    self.emit(self.for_every_target(name, |r| failed(r, &e)), sink);
                }
                return (Vec::new(), Vec::new());
            }
        };
        let (mut items, mut singly) = (Vec::new(), Vec::new());
        for Selected { meta, tags, tags_confirmed, targets } in selected {
            match values.get(&meta.name) {
                Some(Ok(v)) if v.version == meta.version => {
                    let version = meta.version;
                    let parameter = meta.with_value(v.value.clone());
                    items.push(SourceItem { parameter, version, tags, tags_confirmed, targets })
                }
                Some(Err(e)) => self.emit(self.for_every_target(meta.name, |r| failed(r, e)), sink),
                // Changed or deleted since it was listed: take the event path, which reads it afresh.
                _ => singly.push(meta.name),
            }
        }
        (items, singly)
    }
}
