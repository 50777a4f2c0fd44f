//! Full sync: compare the whole selection batch by batch, write only the drift, delete orphans, and stop
//! between batches once the time budget is spent, returning the cursor to resume from.
//!
//! Cost on AWS, where a filtered DescribeParameters examines the region's parameters in listing order and
//! filters afterwards (MaxResults applied before the filters, pages between zero and MaxResults: boto3
//! #1079, #1632, google/go-cloud #3135; the AWS-behaviour layer's behaviour 11 reproduces it):
//! - once per invocation and target: one listing of its owned replicas (`replicas.rs`, on the ownership tag
//!   alone: the prefixes are checked in the code), a call per 50 parameters of that region, kept as
//!   fingerprints;
//! - the source listing: a call per 50 parameters of the source region, its matches gathered into batches
//!   of at least 100 (the most GetResources takes);
//! - per batch: one GetResources (the tagging API: every listed parameter's tags at once) and GetParameters
//!   per 10 selected in the source; per target, GetParameters per 10 (values and versions) and one
//!   GetResources for the replicas' tags. A replica whose version and metadata its fingerprint vouches for,
//!   and whose tags are as desired, needs nothing more; any other is read whole (GetParameter,
//!   GetParameterHistory, ListTagsForResource). Parameters to write cost their version before and after
//!   (GetParameters per 10), their source tags (one ListTagsForResource each) and, for a write planned on
//!   a replica's hinted tags, that replica's tags (one ListTagsForResource);
//! - the orphan pass: a target whose listed owned replicas were all matched by source names in this
//!   invocation, none of whose sources was found deselected there, needs none; any other lists its owned replicas again and asks
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
mod sources;
mod tag_hints;
mod targets;

use orphans::Seen;
use replicas::{ReplicaIndex, ReplicaIndexes};
use sources::SourceItem;
use tag_hints::{TagReads, Tagged};
use targets::Step;

/// Source tag reads in flight at once (reads are rate-limited per region as well).
const TAG_READ_CONCURRENCY: usize = 8;
/// Replica writes in flight at once per target (writes are rate-limited per region as well).
const WRITE_CONCURRENCY: usize = 4;
/// Source listing pages are gathered until a batch holds this many parameters (GetResources takes 100
/// ARNs): under scan-then-filter a page may hold anything from none to 50.
const BATCH: usize = 100;
/// Parameters taking the event path from a full sync at once (each handles its targets in parallel).
const SYNC_ONE_CONCURRENCY: usize = 4;

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
                        let targets = self.index_replicas(budget.half_left()).await;
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
                        None => self.orphans_from(0, indexes.as_ref()),
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
                    let next_target = || self.orphans_from(index + 1, indexes.as_ref());
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
                    self.orphan_page(store.target(), page.items, &mut seen, &mut tag_reads, &budget, sink).await?;
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

    /// The orphan pass of the first target from `first` on that may hold orphans or deselected replicas
    /// (every target, unless this invocation's replica listings show it has none), then the secrets.
    fn orphans_from(&self, first: usize, indexes: Option<&ReplicaIndexes>) -> Option<Cursor> {
        let needs = |i: usize| indexes.is_none_or(|x| x.needs_orphan_pass(i));
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
        indexes: &mut [ReplicaIndex],
        budget: &Budget,
        tag_reads: &mut TagReads,
        seen: &mut Seen,
        sink: &mut Sink<'_>,
    ) {
        let (selected, gone) = self.select(page, indexes, tag_reads, seen, sink).await;
        let (items, mut singly) = self.read_sources(selected, sink).await;
        singly.extend(gone);
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
        self.sync_each(&singly, budget, sink).await;
    }

    /// The event path for `names`, a few at once, within the budget: a name it leaves no time for is
    /// reported pending (`time-budget`), and the next full sync does it.
    async fn sync_each(&self, names: &[ParameterName], budget: &Budget, sink: &mut Sink<'_>) {
        let results: Vec<ParameterResult> = stream::iter(names)
            .map(|name| async move {
                match budget.allows(Duration::ZERO) {
                    true => self.sync_one(name, budget.until).await,
                    false => self.for_every_target(name.clone(), pending),
                }
            })
            .buffered(SYNC_ONE_CONCURRENCY)
            .collect()
            .await;
        for result in results {
            self.emit(result, sink);
        }
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
                steps.iter().any(|s| matches!(s.get(&i.parameter.name), Some(Step::Write { .. } | Step::ReadWhole)))
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
