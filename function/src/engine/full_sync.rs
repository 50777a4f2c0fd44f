//! Full sync: compare the whole selection page by page, write only the drift, delete orphans, and stop
//! at a page boundary once the time budget is spent, returning the cursor to resume from.
//!
//! Per source page (up to 50 parameters) it costs: one DescribeParameters, one GetResources (the tagging
//! API: every listed parameter's tags at once) and GetParameters per 10 selected in the source (and for
//! parameters to write: their version before and after, GetParameters per 10, and their tags, one
//! ListTagsForResource each); per target
//! one GetParameters per 10 and one DescribeParameters filtered on the ownership and tags-digest tags, so
//! that an unchanged replica needs no tag read. Only replicas that filter does not return (missing,
//! unmanaged, tags drifted) are read singly. The orphan pass lists each target's owned replicas and asks
//! GetParameters which sources still exist; of those that do, the ones this sync did not list have their
//! tags looked up (one GetResources per page) to find replicas whose target they no longer select. Only
//! those, and the orphans, take the event path (which reads tags with ListTagsForResource and decides).
//!
//! Tags from the tagging API are a hint (aws/tagging.rs: eventually consistent, lists only parameters that
//! have or once had tags). They may skip a tag read, never decide alone: a parameter they would leave out
//! of any target is confirmed with ListTagsForResource, and so is every parameter about to be written
//! (nothing is written on a hint: a stale one could send a value to a target its tags no longer select, or
//! undo newer tags an event gave a replica). So a sync with nothing to write reads no tag singly, and one
//! that writes pays one ListTagsForResource per written parameter. Where GetResources is denied or fails,
//! this sync reads tags one parameter at a time and says so in a note.
//!
//! Known cost on AWS (not in the emulator): DescribeParameters pages through the region's parameters
//! before it filters (boto3 #1632, google/go-cloud #3135), so the per-target name-filtered query above can
//! take a call per 50 parameters in that region rather than one. It stays correct (pages are followed to
//! the end).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use tracing::warn;

use super::labels::ReplicaReads;
use super::{failed, log_result, skipped, Replicator};
use crate::domain::parameter::AMI_DATA_TYPE;
use crate::domain::{
    plan_write, Cursor, Decision, Desired, Kind, Metadata, Parameter, ParameterName, ParameterResult, Plan, Reason,
    Stored, Tags, Target, TargetResult, OWNER_TAG, TAGS_DIGEST_TAG,
};
use crate::ports::{KeyResolver, Page, ParameterStore, Query, SecretStore, StoreError, Values};

mod orphans;
mod tag_hints;

use orphans::Seen;
use tag_hints::{TagReads, Tagged};

/// Source tag reads in flight at once (reads are rate-limited per region as well).
const TAG_READ_CONCURRENCY: usize = 8;
/// Replica writes in flight at once per target (writes are rate-limited per region as well).
const WRITE_CONCURRENCY: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum FullSyncError {
    #[error("the cursor does not fit this configuration ({0}); start a new full sync without a cursor")]
    BadCursor(String),
    #[error("a listing failed, so the sync stopped and deleted nothing on its strength: {0}")]
    Listing(#[from] StoreError),
}

/// Where results go as they are produced (the Lambda report, the CLI's table or JSON lines).
pub type Sink<'a> = dyn FnMut(ParameterResult) + Send + 'a;

/// Where a full sync (one invocation's share of it) ended.
#[derive(Debug, Default)]
pub struct Progress {
    /// `Some`: the time budget ran out; go on from here.
    pub next: Option<Cursor>,
    /// What the report should say once (e.g. tags were read one by one because GetResources failed).
    pub notes: Vec<String>,
}

/// A selected source parameter, read whole at `version`, and the targets it goes to.
struct SourceItem {
    parameter: Parameter,
    version: i64,
    tags: Tags,
    /// False when `tags` came from the tagging API (a hint): confirmed with SSM before any write.
    tags_confirmed: bool,
    targets: Vec<Target>,
}

/// What one target needs for one item, decided from the batched reads.
enum Step {
    /// Nothing to write: unchanged, skipped, or failed before any write.
    Done(TargetResult),
    /// Writes planned from the batched reads.
    Write(Plan),
    /// The replica must be read whole (tags included) before planning.
    ReadWhole,
}

impl Step {
    fn planned(target: &Target, plan: Plan) -> Self {
        if plan.actions.is_empty() {
            let mut result = TargetResult::new(target, plan.outcome, plan.reason);
            result.changed = plan.changed;
            Self::Done(result)
        } else {
            Self::Write(plan)
        }
    }
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// Run from `start` until done (`Ok(None)`) or until `deadline` passes after a page (`Ok(Some(next))`).
    /// At least one page is processed per call, so a chain of calls always makes progress.
    pub async fn full_sync(
        &self,
        start: Cursor,
        deadline: Option<Instant>,
        sink: &mut Sink<'_>,
    ) -> Result<Progress, FullSyncError> {
        let paths = self.paths();
        self.check_cursor(&start, paths.len())?;
        let mut cursor = start;
        let mut seen = Seen::default();
        // Secrets this sync listed at the source (alive): their copies need no check for a gone source.
        let mut seen_secrets = BTreeSet::new();
        let mut tag_reads = TagReads::default();
        let done = |next: Option<Cursor>, tag_reads: TagReads| Ok(Progress { next, notes: tag_reads.notes });
        loop {
            let next = match &cursor {
                Cursor::Source { prefix, token } => {
                    let query = self.source_query(paths[*prefix].clone());
                    let page = self.list_page(&self.source, &query, token.as_deref()).await?;
                    let next = page.next.clone();
                    seen.note(&page);
                    self.sync_page(page, &mut tag_reads, &mut seen, sink).await;
                    match next {
                        Some(t) => Some(Cursor::Source { prefix: *prefix, token: Some(t) }),
                        None if prefix + 1 < paths.len() => Some(Cursor::Source { prefix: prefix + 1, token: None }),
                        None => self.targets.first().map(|t| Cursor::Orphans {
                            target: t.target().clone(),
                            prefix: 0,
                            token: None,
                        }),
                    }
                }
                Cursor::Orphans { target, prefix, token } => {
                    let index = self.target_index(target)?;
                    let store = &self.targets[index];
                    let query = Query {
                        path: paths[*prefix].clone(),
                        tags: vec![(OWNER_TAG.to_owned(), vec![self.owner.tag_value()])],
                        ..Query::default()
                    };
                    let next_target = || {
                        self.targets
                            .get(index + 1)
                            .map(|next| Cursor::Orphans { target: next.target().clone(), prefix: 0, token: None })
                            .or_else(|| self.secrets_phase())
                    };
                    let page = match self.list_page(store, &query, token.as_deref()).await {
                        Ok(page) => page,
                        // A target this replicator cannot reach at all (its account's role cannot be assumed,
                        // or the listing is denied): nothing is deleted there, and the other targets' orphan
                        // passes go on. Its parameters were reported failed, with the reason, above.
                        Err(e) if !e.is_transient() => {
                            warn!(target = %target, error = %e, "orphan pass skipped for this target: it cannot be listed");
                            cursor = match next_target() {
                                Some(next) => next,
                                None => return done(None, tag_reads),
                            };
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    };
                    self.orphan_page(store.target(), page.items, &mut seen, &mut tag_reads, sink).await?;
                    match page.next {
                        Some(t) => Some(Cursor::Orphans { target: target.clone(), prefix: *prefix, token: Some(t) }),
                        None if prefix + 1 < paths.len() => {
                            Some(Cursor::Orphans { target: target.clone(), prefix: prefix + 1, token: None })
                        }
                        None => next_target(),
                    }
                }
                Cursor::Secrets { prefix, token } => {
                    let next =
                        self.secrets_page(*prefix, token.as_deref(), &mut tag_reads.notes, &mut seen_secrets, sink);
                    match next.await? {
                        Some(t) => Some(Cursor::Secrets { prefix: *prefix, token: Some(t) }),
                        None if prefix + 1 < self.config.secret_prefixes.len() => {
                            Some(Cursor::Secrets { prefix: prefix + 1, token: None })
                        }
                        None => self.secret_copies_phase(None),
                    }
                }
                Cursor::SecretCopies { target, token } => {
                    self.secret_copies_page(target, token.as_deref(), &seen_secrets, sink).await?
                }
            };
            let Some(next) = next else { return done(None, tag_reads) };
            cursor = next;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return done(Some(cursor), tag_reads);
            }
        }
    }

    /// The configured path prefixes as listing paths; `None` lists everything.
    fn paths(&self) -> Vec<Option<String>> {
        let prefixes = &self.config.selection.prefixes;
        if prefixes.is_empty() {
            return vec![None];
        }
        prefixes.iter().map(|p| Some(p.trim_end_matches('/').to_owned()).filter(|p| !p.is_empty())).collect()
    }

    fn check_cursor(&self, cursor: &Cursor, paths: usize) -> Result<(), FullSyncError> {
        let out_of_range = || FullSyncError::BadCursor("prefix out of range".to_owned());
        match cursor {
            Cursor::Source { prefix, .. } if *prefix >= paths => Err(out_of_range()),
            Cursor::Orphans { prefix, .. } if *prefix >= paths => Err(out_of_range()),
            Cursor::Orphans { target, .. } => self.target_index(target).map(|_| ()),
            Cursor::Source { .. } => Ok(()),
            Cursor::Secrets { .. } if self.secrets.is_none() => {
                Err(FullSyncError::BadCursor("a secrets phase, but SECRETS is off".to_owned()))
            }
            Cursor::Secrets { prefix, .. } if *prefix >= self.config.secret_prefixes.len() => Err(out_of_range()),
            Cursor::Secrets { .. } => Ok(()),
            Cursor::SecretCopies { .. } if self.secrets.is_none() => {
                Err(FullSyncError::BadCursor("a secret copies phase, but SECRETS is off".to_owned()))
            }
            Cursor::SecretCopies { target, .. } if !target.is_other_account() => {
                Err(FullSyncError::BadCursor(format!("{target} is not a target in another account")))
            }
            Cursor::SecretCopies { target, .. } => self.target_index(target).map(|_| ()),
        }
    }

    /// After the parameters' orphan passes: the secrets, when they are replicated.
    fn secrets_phase(&self) -> Option<Cursor> {
        self.secrets.as_ref().map(|_| Cursor::Secrets { prefix: 0, token: None })
    }

    /// Where `target` is among the configured targets.
    fn target_index(&self, target: &Target) -> Result<usize, FullSyncError> {
        self.targets
            .iter()
            .position(|s| s.target() == target)
            .ok_or_else(|| FullSyncError::BadCursor(format!("{target} is not a configured target")))
    }

    /// In tagged mode only parameters carrying the selection tag key are listed.
    fn source_query(&self, path: Option<String>) -> Query {
        let tags = match self.config.selection.mode {
            crate::domain::SelectionMode::Tagged => vec![(self.config.selection.tag_key.clone(), Vec::new())],
            crate::domain::SelectionMode::All => Vec::new(),
        };
        Query { path, tags, ..Query::default() }
    }

    async fn list_page(&self, store: &S, query: &Query, token: Option<&str>) -> Result<Page, StoreError> {
        self.retry.run(|| store.list(query, token)).await
    }

    /// Every page of `query` (used for name-bounded queries, which fit one or two pages).
    async fn list_all(&self, store: &S, query: &Query) -> Result<BTreeMap<ParameterName, Metadata>, StoreError> {
        let mut out = BTreeMap::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.list_page(store, query, token.as_deref()).await?;
            out.extend(page.items.into_iter().map(|m| (m.name.clone(), m)));
            match page.next {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    fn emit(&self, result: ParameterResult, sink: &mut Sink<'_>) {
        log_result(&result, &self.owner.account);
        sink(result);
    }

    async fn sync_page(&self, page: Page, tag_reads: &mut TagReads, seen: &mut Seen, sink: &mut Sink<'_>) {
        // One item SSM listed but we cannot read fails alone, under its own name.
        for r in page.rejected {
            warn!(parameter = %r.name, error = %r.error, "listed parameter cannot be read; it fails alone");
            self.emit(
                ParameterResult {
                    kind: Kind::Parameter,
                    name: r.name,
                    targets: self.every_target(|t| failed(t, &r.error)),
                },
                sink,
            );
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

        let mut selected = Vec::new();
        for (meta, tags, tags_confirmed) in tagged {
            let every = |f: &dyn Fn(&Target) -> TargetResult| ParameterResult {
                kind: Kind::Parameter,
                name: meta.name.clone(),
                targets: self.every_target(f),
            };
            match tags {
                Err(e) => self.emit(every(&|r| failed(r, &e)), sink),
                Ok(None) => {} // deleted since it was listed: its event (or the orphan pass) handles it
                Ok(Some(tags)) => {
                    let decision =
                        self.config.selection.decide(&meta.name, &tags, &self.config.targets, &self.owner.account);
                    // Tags that leave a target out were confirmed with SSM above (a hint never unselects).
                    seen.deselect(&meta.name, self.left_out(&decision));
                    match decision {
                        Decision::Skip(reason) => self.emit(every(&|r| skipped(r, reason)), sink),
                        Decision::Replicate { .. }
                            if meta.data_type == AMI_DATA_TYPE && !self.config.replicate_ami_parameters =>
                        {
                            self.emit(every(&|r| skipped(r, Reason::AmiRegionSpecific)), sink)
                        }
                        Decision::Replicate { targets, .. } => selected.push((meta, tags, tags_confirmed, targets)),
                    }
                }
            }
        }
        if selected.is_empty() {
            return;
        }

        let names: Vec<ParameterName> = selected.iter().map(|(m, _, _, _)| m.name.clone()).collect();
        let values = match self.retry.run(|| self.source.values(&names)).await {
            Ok(v) => v,
            Err(e) => {
                for name in names {
                    self.emit(
                        ParameterResult { kind: Kind::Parameter, name, targets: self.every_target(|r| failed(r, &e)) },
                        sink,
                    );
                }
                return;
            }
        };
        let mut items = Vec::new();
        let mut singly = Vec::new();
        for (meta, tags, tags_confirmed, targets) in selected {
            match values.get(&meta.name) {
                Some(Ok(v)) if v.version == meta.version => {
                    let version = meta.version;
                    let parameter = meta.with_value(v.value.clone());
                    items.push(SourceItem { parameter, version, tags, tags_confirmed, targets })
                }
                Some(Err(e)) => {
                    let result = ParameterResult {
                        kind: Kind::Parameter,
                        name: meta.name.clone(),
                        targets: self.every_target(|r| failed(r, e)),
                    };
                    self.emit(result, sink);
                }
                // Changed or deleted since it was listed: take the event path, which reads it afresh.
                _ => singly.push(meta.name),
            }
        }

        // Plan every target from batched reads; nothing is written yet.
        let steps: Vec<BTreeMap<ParameterName, Step>> =
            join_all(self.targets.iter().map(|store| self.plan_batch(store, &items))).await;
        let writing: Vec<&SourceItem> = items
            .iter()
            .filter(|i| {
                steps.iter().any(|s| matches!(s.get(&i.parameter.name), Some(Step::Write(_) | Step::ReadWhole)))
            })
            .collect();
        // The values were read a while ago and writes are slow (a few per second): write only what is
        // still the source's current version, and look again afterwards. A parameter whose source moved
        // on, before or during the writes, is synced again on the event path, so an event handled in
        // between can never be overwritten with an older value.
        // Nothing is written on a hint: the tags of each parameter about to be written are read from SSM
        // (one ListTagsForResource per parameter, not per target). One whose tags are not what the index
        // said takes the event path, which plans from fresh reads: a stale index never sends a value to a
        // target its tags no longer select, nor gives a replica tags older than its own.
        let (moved_before, stale) = futures::join!(self.moved(&writing), self.stale_hints(&writing));
        let moved_before: BTreeSet<ParameterName> = moved_before.into_iter().chain(stale).collect();
        let to_write: Vec<&SourceItem> =
            writing.into_iter().filter(|i| !moved_before.contains(&i.parameter.name)).collect();
        let mut written: Vec<BTreeMap<ParameterName, TargetResult>> =
            join_all(self.targets.iter().zip(&steps).map(|(store, steps)| self.write_batch(store, &to_write, steps)))
                .await;
        let moved_after = self.moved(&to_write).await;

        for (item, mut results) in items.iter().map(|i| (i, Vec::new())) {
            let name = &item.parameter.name;
            if moved_before.contains(name) || moved_after.contains(name) {
                singly.push(name.clone());
                continue;
            }
            for ((store, steps), written) in self.targets.iter().zip(&steps).zip(&mut written) {
                let result = match (written.remove(name), steps.get(name)) {
                    (Some(done), _) => done,
                    (None, Some(Step::Done(done))) => done.clone(),
                    _ => skipped(store.target(), Reason::NotSelected),
                };
                results.push(result);
            }
            let results = self.replicate_labels(&item.parameter, results, ReplicaReads::WhenSourceHasLabels).await;
            self.emit(ParameterResult { kind: Kind::Parameter, name: name.clone(), targets: results }, sink);
        }
        for name in singly {
            let result = self.sync_one(&name).await;
            self.emit(result, sink);
        }
    }

    /// Of `items`, those whose source is no longer at the version that was read (or cannot be read
    /// now): one GetParameters per 10 names, and nothing at all when there is nothing to write.
    async fn moved(&self, items: &[&SourceItem]) -> BTreeSet<ParameterName> {
        if items.is_empty() {
            return BTreeSet::new();
        }
        let names: Vec<ParameterName> = items.iter().map(|i| i.parameter.name.clone()).collect();
        match self.retry.run(|| self.source.values(&names)).await {
            Ok(now) => items
                .iter()
                .filter(|i| !matches!(now.get(&i.parameter.name), Some(Ok(v)) if v.version == i.version))
                .map(|i| i.parameter.name.clone())
                .collect(),
            // Unknown: let the event path read each one afresh.
            Err(_) => names.into_iter().collect(),
        }
    }

    /// One target, one page: read replicas in batches and plan. Writes nothing.
    async fn plan_batch(&self, store: &S, items: &[SourceItem]) -> BTreeMap<ParameterName, Step> {
        let target = store.target();
        let mut steps = BTreeMap::new();
        let mut wanted = Vec::new();
        for item in items.iter().filter(|i| i.targets.iter().any(|t| t == target)) {
            let name = item.parameter.name.clone();
            match self.retry.run(|| self.desired_for(&item.parameter, &item.tags, target)).await {
                Ok(desired) => wanted.push((item, desired)),
                Err(e) => {
                    steps.insert(name, Step::Done(failed(target, &e)));
                }
            }
        }
        if wanted.is_empty() {
            return steps;
        }

        let names: Vec<ParameterName> = wanted.iter().map(|(i, _)| i.parameter.name.clone()).collect();
        let (values, verified) = match self.read_replicas(store, &names, &wanted).await {
            Ok(r) => r,
            Err(e) => {
                steps.extend(names.into_iter().map(|n| (n, Step::Done(failed(target, &e)))));
                return steps;
            }
        };
        for (item, desired) in wanted {
            let name = item.parameter.name.clone();
            let step = match (values.get(&name), verified.get(&name)) {
                (None, _) => Step::planned(target, plan_write(&desired, None, &self.owner, &self.config.rules)),
                (Some(Err(e)), _) => Step::Done(failed(target, e)),
                (Some(Ok(v)), Some(meta)) if v.version == meta.version => {
                    let parameter = meta.clone().with_value(v.value.clone());
                    let stored = Stored { parameter, tags: desired.tags.clone() };
                    Step::planned(target, plan_write(&desired, Some(&stored), &self.owner, &self.config.rules))
                }
                // Present but not verified by the tag filter (unmanaged, other owner, tags drifted, no
                // digest tag, written since, or not listed yet): read it whole, tags included.
                _ => Step::ReadWhole,
            };
            steps.insert(name, step);
        }
        steps
    }

    /// One target: carry out the planned writes of the items still current at the source.
    async fn write_batch(
        &self,
        store: &S,
        items: &[&SourceItem],
        steps: &BTreeMap<ParameterName, Step>,
    ) -> BTreeMap<ParameterName, TargetResult> {
        let target = store.target();
        stream::iter(items.iter().filter_map(|item| match steps.get(&item.parameter.name) {
            Some(step @ (Step::Write(_) | Step::ReadWhole)) => Some((*item, step)),
            _ => None,
        }))
        .map(|(item, step)| async move {
            let name = item.parameter.name.clone();
            let result = match step {
                Step::Write(plan) => match self.execute(store, &name, plan.clone()).await {
                    Ok(r) => r,
                    // Retry the whole step on fresh reads.
                    Err(e) if e.is_transient() => self.write_target(store, &item.parameter, &item.tags).await,
                    Err(e) => failed(target, &e),
                },
                _ => self.write_target(store, &item.parameter, &item.tags).await,
            };
            (name, result)
        })
        .buffered(WRITE_CONCURRENCY)
        .collect()
        .await
    }

    /// Replica values (GetParameters) and the metadata of those that are ours with unchanged tags
    /// (DescribeParameters on the names, filtered by the ownership tag and the expected tags digests).
    async fn read_replicas(
        &self,
        store: &S,
        names: &[ParameterName],
        wanted: &[(&SourceItem, Desired)],
    ) -> Result<(Values, BTreeMap<ParameterName, Metadata>), StoreError> {
        let values = self.retry.run(|| store.values(names)).await?;
        let readable = |n: &ParameterName| matches!(values.get(n), Some(Ok(_)));
        let present: Vec<ParameterName> = names.iter().filter(|n| readable(n)).cloned().collect();
        if present.is_empty() {
            return Ok((values, BTreeMap::new()));
        }
        let digests: BTreeSet<String> = wanted
            .iter()
            .filter(|(i, _)| readable(&i.parameter.name))
            .filter_map(|(_, d)| d.tags.get(TAGS_DIGEST_TAG).cloned())
            .collect();
        if digests.is_empty() {
            // No replica here can carry a digest (every source is at the tag limit): none is verified.
            return Ok((values, BTreeMap::new()));
        }
        let query = Query {
            names: present,
            tags: vec![
                (OWNER_TAG.to_owned(), vec![self.owner.tag_value()]),
                (TAGS_DIGEST_TAG.to_owned(), digests.into_iter().collect()),
            ],
            ..Query::default()
        };
        let verified = self.list_all(store, &query).await?;
        Ok((values, verified))
    }
}
