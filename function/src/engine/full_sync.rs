//! Full sync: compare the whole selection batch by batch, write only the drift, delete orphans, and stop
//! between batches once the time budget is spent, returning the cursor to resume from.
//!
//! Cost on AWS, where a filtered DescribeParameters examines the region's parameters in listing order and
//! filters afterwards (MaxResults applied before the filters, pages between zero and MaxResults: boto3
//! #1079, #1632, google/go-cloud #3135; the AWS-behaviour layer's behaviour 11 reproduces it):
//! - once per invocation and target: one listing of its owned replicas (`replicas.rs`), a call per 50
//!   parameters of that region, kept as fingerprints;
//! - the source listing: a call per 50 parameters of the source region, its matches gathered into batches
//!   of at least 100 (the most GetResources takes);
//! - per batch: one GetResources (the tagging API: every listed parameter's tags at once) and GetParameters
//!   per 10 selected in the source; per target, GetParameters per 10 (values and versions) and one
//!   GetResources for the replicas' tags. A replica whose version and metadata its fingerprint vouches for,
//!   and whose tags are as desired, needs nothing more; any other is read whole (GetParameter,
//!   GetParameterHistory, ListTagsForResource). Parameters to write cost their version before and after
//!   (GetParameters per 10) and their source tags (one ListTagsForResource each);
//! - the orphan pass: a target whose listed owned replicas were all matched by source names in this
//!   invocation, none of them deselected, needs none; any other lists its owned replicas again and asks
//!   GetParameters which sources still exist; of those that do, the ones this sync did not list have their
//!   tags looked up to find replicas whose target they no longer select. Only those, and the orphans, take
//!   the event path (which reads tags with ListTagsForResource and decides).
//!
//! So a sync with nothing to write costs about 0.45 calls per replicated parameter with two targets,
//! whatever the store's size (README "Performance").
//!
//! Tags from the tagging API are a hint (aws/tagging.rs: eventually consistent, lists only parameters that
//! have or once had tags). They may skip a tag read, never decide alone: a source parameter they would leave
//! out of any target is confirmed with ListTagsForResource, and so is every source parameter about to be
//! written (nothing is written on a hint: a stale one could send a value to a target its tags no longer
//! select, or undo newer tags an event gave a replica); a replica whose hinted tags are not the desired ones
//! is read whole. Where GetResources is denied or fails, this sync reads tags one parameter at a time and
//! says so in a note.
//!
//! Time: between batches the sync stops once `deadline` has passed; inside a batch no write starts that
//! could not finish before the deadline plus half the reserve (`FULL_SYNC_RESERVE_SECONDS`), so Lambda's
//! timeout never cuts a batch: such a write is reported `pending` (`time-budget`) and the next sync does it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use tracing::warn;

use super::labels::ReplicaReads;
use super::recreate::is_recreation;
use super::{failed, log_result, pending, skipped, Replicator};
use crate::domain::parameter::{AMI_DATA_TYPE, AWS_TAG_PREFIX};
use crate::domain::{
    plan_write, Cursor, Decision, Desired, Kind, Metadata, Parameter, ParameterName, ParameterResult, ParameterType,
    Plan, Reason, Stored, Tags, Target, TargetResult, Tier, OWNER_TAG,
};
use crate::ports::{KeyResolver, Page, ParameterStore, Query, SecretStore, StoreError};

mod orphans;
mod replicas;
mod tag_hints;

use orphans::Seen;
use replicas::{ReplicaIndex, ReplicaIndexes};
use tag_hints::{TagReads, Tagged};

/// Source tag reads in flight at once (reads are rate-limited per region as well).
const TAG_READ_CONCURRENCY: usize = 8;
/// Replica writes in flight at once per target (writes are rate-limited per region as well).
const WRITE_CONCURRENCY: usize = 4;
/// Source listing pages are gathered until a batch holds this many parameters (GetResources takes 100
/// ARNs): under scan-then-filter a page may hold anything from none to 50.
const BATCH: usize = 100;

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
    /// Run from `start` until done (`Ok(None)`) or until `deadline` passes after a batch (`Ok(Some(next))`).
    /// At least one batch is processed per call, so a chain of calls always makes progress.
    pub async fn full_sync(
        &self,
        start: Cursor,
        deadline: Option<Instant>,
        sink: &mut Sink<'_>,
    ) -> Result<Progress, FullSyncError> {
        let paths = self.paths();
        self.check_cursor(&start, paths.len())?;
        let budget = Budget { deadline, until: deadline.map(|d| d + self.config.full_sync_reserve / 2) };
        let mut cursor = start;
        let mut seen = Seen::default();
        // Built on the first source batch of this invocation (a resumed one builds its own).
        let mut indexes: Option<ReplicaIndexes> = None;
        // Secrets this sync listed at the source (alive): their copies need no check for a gone source.
        let mut seen_secrets = BTreeSet::new();
        let mut tag_reads = TagReads::default();
        let done = |next: Option<Cursor>, tag_reads: TagReads| Ok(Progress { next, notes: tag_reads.notes });
        loop {
            let next = match &cursor {
                Cursor::Source { prefix, token } => {
                    if indexes.is_none() {
                        let from_start = *prefix == 0 && token.is_none();
                        let targets = self.index_replicas(&paths, budget.half_left()).await;
                        indexes = Some(ReplicaIndexes { targets, from_start });
                    }
                    let index = indexes.as_mut().map(|i| &mut i.targets[..]).unwrap_or_default();
                    let query = self.source_query(paths[*prefix].clone());
                    let (page, next) = self.source_batch(&query, token.clone(), deadline).await?;
                    seen.note(&page);
                    index.iter_mut().for_each(|i| page.items.iter().for_each(|m| i.mark_seen(&m.name)));
                    self.sync_page(page, index, &budget, &mut tag_reads, &mut seen, sink).await;
                    match next {
                        Some(t) => Some(Cursor::Source { prefix: *prefix, token: Some(t) }),
                        None if prefix + 1 < paths.len() => Some(Cursor::Source { prefix: prefix + 1, token: None }),
                        None => self.orphans_from(0, indexes.as_ref(), &seen),
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
                    let next_target = |seen: &Seen| self.orphans_from(index + 1, indexes.as_ref(), seen);
                    let page = match self.list_page(store, &query, token.as_deref()).await {
                        Ok(page) => page,
                        // A target this replicator cannot reach at all (its account's role cannot be assumed,
                        // or the listing is denied): nothing is deleted there, and the other targets' orphan
                        // passes go on. Its parameters were reported failed, with the reason, above.
                        Err(e) if !e.is_transient() => {
                            warn!(target = %target, error = %e, "orphan pass skipped for this target: it cannot be listed");
                            cursor = match next_target(&seen) {
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
                        None => next_target(&seen),
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

    /// The orphan pass of the first target from `first` on that may hold orphans or deselected replicas
    /// (every target, unless this invocation's replica listings show it has none), then the secrets.
    fn orphans_from(&self, first: usize, indexes: Option<&ReplicaIndexes>, seen: &Seen) -> Option<Cursor> {
        let needs = |i: usize| {
            let target = self.targets[i].target();
            indexes.is_none_or(|x| x.needs_orphan_pass(i, seen.any_deselected(target)))
        };
        (first..self.targets.len())
            .find(|i| needs(*i))
            .map(|i| Cursor::Orphans { target: self.targets[i].target().clone(), prefix: 0, token: None })
            .or_else(|| self.secrets_phase())
    }

    /// Source listing pages from `token` on, gathered until they hold `BATCH` parameters, the listing
    /// ends, or the deadline passes; and the token to go on from.
    async fn source_batch(
        &self,
        query: &Query,
        mut token: Option<String>,
        deadline: Option<Instant>,
    ) -> Result<(Page, Option<String>), StoreError> {
        let mut batch = Page::default();
        loop {
            let page = self.list_page(&self.source, query, token.as_deref()).await?;
            batch.items.extend(page.items);
            batch.rejected.extend(page.rejected);
            token = page.next;
            let full = batch.items.len() + batch.rejected.len() >= BATCH;
            if token.is_none() || full || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok((batch, token));
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

    fn emit(&self, result: ParameterResult, sink: &mut Sink<'_>) {
        log_result(&result, &self.owner.account);
        sink(result);
    }

    /// One batch: select, read the sources, plan every target from batched reads, write what drifted.
    async fn sync_page(
        &self,
        page: Page,
        indexes: &[ReplicaIndex],
        budget: &Budget,
        tag_reads: &mut TagReads,
        seen: &mut Seen,
        sink: &mut Sink<'_>,
    ) {
        let selected = self.select(page, tag_reads, seen, sink).await;
        if selected.is_empty() {
            return;
        }
        let (items, mut singly) = self.read_sources(selected, sink).await;
        let planned =
            join_all(self.targets.iter().enumerate().map(|(i, store)| {
                self.plan_batch(store, indexes.get(i), &items, tag_reads.replicas_singly.contains(&i))
            }))
            .await;
        let mut steps = Vec::new();
        for (i, (target_steps, tags_failed)) in planned.into_iter().enumerate() {
            if let Some(e) = tags_failed {
                tag_reads.replica_tags_failed(i, self.targets[i].target(), &e);
            }
            steps.push(target_steps);
        }
        singly.extend(self.write_and_report(&items, &steps, budget, sink).await);
        for name in singly {
            let result = self.sync_one(&name).await;
            self.emit(result, sink);
        }
    }

    /// The batch's parameters that go anywhere, with their tags; every other one is reported here.
    async fn select(
        &self,
        page: Page,
        tag_reads: &mut TagReads,
        seen: &mut Seen,
        sink: &mut Sink<'_>,
    ) -> Vec<Selected> {
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
        let mut selected = Vec::new();
        for (meta, tags, tags_confirmed) in tagged {
            let tags = match tags {
                Err(e) => {
                    self.emit(self.for_every_target(meta.name, |r| failed(r, &e)), sink);
                    continue;
                }
                Ok(None) => continue, // deleted since it was listed: its event (or the orphan pass) handles it
                Ok(Some(tags)) => tags,
            };
            let decision = self.config.selection.decide(&meta.name, &tags, &self.config.targets, &self.owner.account);
            // Tags that leave a target out were confirmed with SSM above (a hint never unselects).
            seen.deselect(&meta.name, self.left_out(&decision));
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
        selected
    }

    /// The selected parameters' values (GetParameters per 10), kept where they belong to the listed version;
    /// the names that changed or went since they were listed, for the event path.
    async fn read_sources(
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

    /// Write what the plans need, for the items still current at the source, and report every item. Returns
    /// the names whose source moved on, for the event path.
    async fn write_and_report(
        &self,
        items: &[SourceItem],
        steps: &[BTreeMap<ParameterName, Step>],
        budget: &Budget,
        sink: &mut Sink<'_>,
    ) -> Vec<ParameterName> {
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
        let mut written: Vec<BTreeMap<ParameterName, TargetResult>> = join_all(
            self.targets.iter().zip(steps).map(|(store, steps)| self.write_batch(store, &to_write, steps, budget)),
        )
        .await;
        let moved_after = self.moved(&to_write).await;

        let mut singly = Vec::new();
        for item in items {
            let name = &item.parameter.name;
            if moved_before.contains(name) || moved_after.contains(name) {
                singly.push(name.clone());
                continue;
            }
            let mut results = Vec::new();
            for ((store, steps), written) in self.targets.iter().zip(steps).zip(&mut written) {
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
        singly
    }

    fn for_every_target(&self, name: ParameterName, f: impl Fn(&Target) -> TargetResult) -> ParameterResult {
        ParameterResult { kind: Kind::Parameter, name, targets: self.every_target(f) }
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
            Err(e) => {
                warn!(error = %e, "source versions not confirmed after the writes: these take the event path");
                names.into_iter().collect()
            }
        }
    }

    /// One target, one batch: read the replicas' values and tags in batches, check them against the
    /// target's replica index, and plan. Writes nothing. Also returns why its tags could not be read in
    /// bulk, if they could not.
    async fn plan_batch(
        &self,
        store: &S,
        index: Option<&ReplicaIndex>,
        items: &[SourceItem],
        tags_singly: bool,
    ) -> (BTreeMap<ParameterName, Step>, Option<StoreError>) {
        let target = store.target();
        let mut steps = BTreeMap::new();
        let mut wanted = Vec::new();
        for item in items.iter().filter(|i| i.targets.iter().any(|t| t == target)) {
            match self.retry.run(|| self.desired_for(&item.parameter, &item.tags, target)).await {
                Ok(desired) => wanted.push(desired),
                Err(e) => {
                    steps.insert(item.parameter.name.clone(), Step::Done(failed(target, &e)));
                }
            }
        }
        if wanted.is_empty() {
            return (steps, None);
        }
        let names: Vec<ParameterName> = wanted.iter().map(|d| d.parameter.name.clone()).collect();
        let values = match self.retry.run(|| store.values(&names)).await {
            Ok(values) => values,
            Err(e) => {
                steps.extend(names.into_iter().map(|n| (n, Step::Done(failed(target, &e)))));
                return (steps, None);
            }
        };
        // Present replicas the index vouches for (version and metadata as listed), with the listed key id.
        let vouched: BTreeMap<ParameterName, Option<String>> = wanted
            .iter()
            .filter_map(|d| match (values.get(&d.parameter.name), index) {
                (Some(Ok(v)), Some(index)) => Some((d.parameter.name.clone(), index.vouch(d, v.version)?)),
                _ => None,
            })
            .collect();
        let checked: Vec<ParameterName> = vouched.keys().cloned().collect();
        let (tags, tags_failed) = self.replica_tags(store, &checked, tags_singly).await;
        for desired in wanted {
            let name = desired.parameter.name.clone();
            let step = match (values.get(&name), vouched.get(&name), tags.get(&name)) {
                (None, _, _) => Step::planned(target, plan_write(&desired, None, &self.owner, &self.config.rules)),
                (Some(Err(e)), _, _) => Step::Done(failed(target, e)),
                (Some(Ok(v)), Some(key_id), Some(tags)) if *tags == desired.tags => {
                    let mut parameter = desired.parameter.clone();
                    parameter.value = v.value.clone();
                    parameter.key_id = key_id.clone();
                    let stored = Stored { parameter, tags: tags.clone() };
                    Step::planned(target, plan_write(&desired, Some(&stored), &self.owner, &self.config.rules))
                }
                // Present but not vouched for (unmanaged, another owner's, written since the listing, not
                // listed yet, metadata or key drifted) or its tags not as desired: read it whole.
                _ => Step::ReadWhole,
            };
            steps.insert(name, step);
        }
        (steps, tags_failed)
    }

    /// The tags of replicas `names` in `store`: from the tagging API (a hint, 100 per call) while it
    /// answers, else (and for the names it does not know) one ListTagsForResource each. A name left out
    /// could not be read, or is gone: its replica is read whole. `aws:` tags are left out.
    async fn replica_tags(
        &self,
        store: &S,
        names: &[ParameterName],
        singly: bool,
    ) -> (BTreeMap<ParameterName, Tags>, Option<StoreError>) {
        let mut found = BTreeMap::new();
        let mut failure = None;
        if !singly && !names.is_empty() {
            match self.retry.run(|| store.bulk_tags(names)).await {
                Ok(bulk) => found = bulk.found,
                Err(e) => failure = Some(e),
            }
        }
        let rest: Vec<&ParameterName> = names.iter().filter(|n| !found.contains_key(*n)).collect();
        let read: Vec<(ParameterName, Tags)> = stream::iter(rest)
            .map(|name| async move {
                match self.retry.run(|| store.read_tags(name)).await {
                    Ok(Some(tags)) => Some((name.clone(), tags)),
                    _ => None,
                }
            })
            .buffered(TAG_READ_CONCURRENCY)
            .filter_map(|read| async move { read })
            .collect()
            .await;
        found.extend(read);
        let user = |tags: Tags| tags.into_iter().filter(|(k, _)| !k.starts_with(AWS_TAG_PREFIX)).collect();
        (found.into_iter().map(|(n, t)| (n, user(t))).collect(), failure)
    }

    /// One target: carry out the planned writes of the items still current at the source; a write that
    /// the budget would not let finish is reported pending.
    async fn write_batch(
        &self,
        store: &S,
        items: &[&SourceItem],
        steps: &BTreeMap<ParameterName, Step>,
        budget: &Budget,
    ) -> BTreeMap<ParameterName, TargetResult> {
        let target = store.target();
        stream::iter(items.iter().filter_map(|item| match steps.get(&item.parameter.name) {
            Some(step @ (Step::Write(_) | Step::ReadWhole)) => Some((*item, step)),
            _ => None,
        }))
        .map(|(item, step)| async move {
            let name = item.parameter.name.clone();
            let until = budget.until;
            let result = if !budget.allows(Duration::ZERO) {
                pending(target)
            } else {
                match step {
                    Step::Write(plan) if is_recreation(plan) && !budget.allows(self.recreate_wait.longest()) => {
                        pending(target)
                    }
                    Step::Write(plan) => match self.execute(store, &name, plan.clone()).await {
                        Ok(r) => r,
                        // Retry the whole step on fresh reads.
                        Err(e) if e.is_transient() => {
                            self.write_target(store, &item.parameter, &item.tags, until).await
                        }
                        Err(e) => failed(target, &e),
                    },
                    _ => self.write_target(store, &item.parameter, &item.tags, until).await,
                }
            };
            (name, result)
        })
        .buffered(WRITE_CONCURRENCY)
        .collect()
        .await
    }
}

/// What a full sync may still start: pages until `deadline`, writes that finish before `until` (the
/// deadline plus half the reserve Lambda's timeout leaves after it).
struct Budget {
    deadline: Option<Instant>,
    until: Option<Instant>,
}

impl Budget {
    /// Halfway from now to the deadline: the replica listings stop there, leaving the rest to the batches.
    fn half_left(&self) -> Option<Instant> {
        let now = Instant::now();
        self.deadline.map(|d| now + d.saturating_duration_since(now) / 2)
    }

    /// Whether work that takes up to `needs` may start now.
    fn allows(&self, needs: Duration) -> bool {
        self.until.is_none_or(|u| Instant::now() + needs <= u)
    }
}

/// A selected source parameter from the listing, with its tags and the targets they select.
struct Selected {
    meta: Metadata,
    tags: Tags,
    tags_confirmed: bool,
    targets: Vec<Target>,
}
