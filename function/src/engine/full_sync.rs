//! Full sync: compare the whole selection page by page, write only the drift, delete orphans, and stop
//! at a page boundary once the time budget is spent, returning the cursor to resume from.
//!
//! Per source page (up to 50 parameters) it costs: one DescribeParameters and one ListTagsForResource per
//! parameter in the source, GetParameters per 10 selected; per target one GetParameters per 10 and one
//! DescribeParameters filtered on the ownership and tags-digest tags, so that an unchanged replica needs no
//! tag read. Only replicas that filter does not return (missing, unmanaged, tags drifted) are read singly.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures::future::join_all;
use futures::stream::{self, StreamExt};

use super::{failed, log_result, skipped, Replicator};
use crate::domain::parameter::AMI_DATA_TYPE;
use crate::domain::{
    plan_write, Cursor, Decision, Desired, Metadata, Parameter, ParameterName, ParameterResult, Reason, Stored, Tags,
    TargetResult, OWNER_TAG, TAGS_DIGEST_TAG,
};
use crate::ports::{KeyResolver, Page, ParameterStore, Query, StoreError, VersionedValue};

/// Source tag reads in flight at once (reads are rate-limited per region as well).
const TAG_READ_CONCURRENCY: usize = 8;
/// Replica writes in flight at once per target (writes are rate-limited per region as well).
const WRITE_CONCURRENCY: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum FullSyncError {
    #[error("the cursor does not fit this configuration ({0}); start a new full sync without a cursor")]
    BadCursor(&'static str),
    #[error("a listing failed, so the sync stopped and deleted nothing on its strength: {0}")]
    Listing(#[from] StoreError),
}

/// Where results go as they are produced (the Lambda report, the CLI's table or JSON lines).
pub type Sink<'a> = dyn FnMut(ParameterResult) + Send + 'a;

/// A selected source parameter, read whole, and the targets it goes to.
struct SourceItem {
    parameter: Parameter,
    tags: Tags,
    targets: Vec<String>,
}

impl<S: ParameterStore, K: KeyResolver> Replicator<S, K> {
    /// Run from `start` until done (`Ok(None)`) or until `deadline` passes after a page (`Ok(Some(next))`).
    /// At least one page is processed per call, so a chain of calls always makes progress.
    pub async fn full_sync(
        &self,
        start: Cursor,
        deadline: Option<Instant>,
        sink: &mut Sink<'_>,
    ) -> Result<Option<Cursor>, FullSyncError> {
        let paths = self.paths();
        self.check_cursor(&start, paths.len())?;
        let mut cursor = start;
        loop {
            let next = match &cursor {
                Cursor::Source { prefix, token } => {
                    let query = self.source_query(paths[*prefix].clone());
                    let page = self.list_page(&self.source, &query, token.as_deref()).await?;
                    self.sync_page(page.items, sink).await;
                    match page.next {
                        Some(t) => Some(Cursor::Source { prefix: *prefix, token: Some(t) }),
                        None if prefix + 1 < paths.len() => Some(Cursor::Source { prefix: prefix + 1, token: None }),
                        None => Some(Cursor::Orphans { target: 0, prefix: 0, token: None }),
                    }
                }
                Cursor::Orphans { target, prefix, token } => {
                    let store = &self.targets[*target];
                    let query = Query {
                        path: paths[*prefix].clone(),
                        tags: vec![(OWNER_TAG.to_owned(), vec![self.owner.tag_value()])],
                        ..Query::default()
                    };
                    let page = self.list_page(store, &query, token.as_deref()).await?;
                    self.orphan_page(page.items, sink).await?;
                    match page.next {
                        Some(t) => Some(Cursor::Orphans { target: *target, prefix: *prefix, token: Some(t) }),
                        None if prefix + 1 < paths.len() => {
                            Some(Cursor::Orphans { target: *target, prefix: prefix + 1, token: None })
                        }
                        None if target + 1 < self.targets.len() => {
                            Some(Cursor::Orphans { target: target + 1, prefix: 0, token: None })
                        }
                        None => None,
                    }
                }
            };
            let Some(next) = next else { return Ok(None) };
            cursor = next;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(Some(cursor));
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
        match cursor {
            Cursor::Source { prefix, .. } if *prefix >= paths => Err(FullSyncError::BadCursor("prefix out of range")),
            Cursor::Orphans { prefix, .. } if *prefix >= paths => Err(FullSyncError::BadCursor("prefix out of range")),
            Cursor::Orphans { target, .. } if *target >= self.targets.len() => {
                Err(FullSyncError::BadCursor("target out of range"))
            }
            _ => Ok(()),
        }
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
        log_result(&result);
        sink(result);
    }

    async fn sync_page(&self, items: Vec<Metadata>, sink: &mut Sink<'_>) {
        let tagged: Vec<(Metadata, Result<Option<Tags>, StoreError>)> = stream::iter(items)
            .map(|meta| async move {
                let tags = self.retry.run(|| self.source.read_tags(&meta.name)).await;
                (meta, tags)
            })
            .buffered(TAG_READ_CONCURRENCY)
            .collect()
            .await;

        let mut selected = Vec::new();
        for (meta, tags) in tagged {
            let every = |f: &dyn Fn(&str) -> TargetResult| ParameterResult {
                name: meta.name.clone(),
                targets: self.every_target(f),
            };
            match tags {
                Err(e) => self.emit(every(&|r| failed(r, &e)), sink),
                Ok(None) => {} // deleted since it was listed: its event (or the orphan pass) handles it
                Ok(Some(tags)) => match self.config.selection.decide(&meta.name, &tags, &self.config.target_regions) {
                    Decision::Skip(reason) => self.emit(every(&|r| skipped(r, reason)), sink),
                    Decision::Replicate { .. }
                        if meta.data_type == AMI_DATA_TYPE && !self.config.replicate_ami_parameters =>
                    {
                        self.emit(every(&|r| skipped(r, Reason::AmiRegionSpecific)), sink)
                    }
                    Decision::Replicate { targets, .. } => selected.push((meta, tags, targets)),
                },
            }
        }
        if selected.is_empty() {
            return;
        }

        let names: Vec<ParameterName> = selected.iter().map(|(m, _, _)| m.name.clone()).collect();
        let values = match self.retry.run(|| self.source.values(&names)).await {
            Ok(v) => v.into_iter().collect::<BTreeMap<_, _>>(),
            Err(e) => {
                for name in names {
                    self.emit(ParameterResult { name, targets: self.every_target(|r| failed(r, &e)) }, sink);
                }
                return;
            }
        };
        let mut items = Vec::new();
        let mut singly = Vec::new();
        for (meta, tags, targets) in selected {
            match values.get(&meta.name) {
                Some(v) if v.version == meta.version => {
                    items.push(SourceItem { parameter: meta.with_value(v.value.clone()), tags, targets })
                }
                // Changed or deleted since it was listed: take the event path, which reads it afresh.
                _ => singly.push(meta.name),
            }
        }

        let per_target: Vec<BTreeMap<ParameterName, TargetResult>> =
            join_all(self.targets.iter().map(|store| self.sync_batch(store, &items))).await;
        for item in &items {
            let targets = self
                .targets
                .iter()
                .zip(&per_target)
                .map(|(store, results)| {
                    results
                        .get(&item.parameter.name)
                        .cloned()
                        .unwrap_or_else(|| skipped(store.region(), Reason::NotSelected))
                })
                .collect();
            self.emit(ParameterResult { name: item.parameter.name.clone(), targets }, sink);
        }
        for name in singly {
            let result = self.sync_one(&name).await;
            self.emit(result, sink);
        }
    }

    /// One target, one page: read replicas in batches, plan, write the drift.
    async fn sync_batch(&self, store: &S, items: &[SourceItem]) -> BTreeMap<ParameterName, TargetResult> {
        let region = store.region();
        let mut results = BTreeMap::new();
        let mut wanted = Vec::new();
        for item in items.iter().filter(|i| i.targets.iter().any(|t| t == region)) {
            let name = item.parameter.name.clone();
            match self.retry.run(|| self.target_key(&item.parameter, region)).await {
                Ok(key) => wanted.push((item, Desired::new(&item.parameter, &item.tags, key, &self.owner))),
                Err(e) => {
                    results.insert(name, failed(region, &e));
                }
            }
        }
        if wanted.is_empty() {
            return results;
        }

        let names: Vec<ParameterName> = wanted.iter().map(|(i, _)| i.parameter.name.clone()).collect();
        let replicas = match self.read_replicas(store, &names, &wanted).await {
            Ok(r) => r,
            Err(e) => {
                results.extend(names.into_iter().map(|n| (n, failed(region, &e))));
                return results;
            }
        };
        let (values, verified) = replicas;

        let done: Vec<(ParameterName, TargetResult)> = stream::iter(wanted)
            .map(|(item, desired)| {
                let name = item.parameter.name.clone();
                let stored = match (values.get(&name), verified.get(&name)) {
                    (None, _) => Some(None),
                    (Some(v), Some(meta)) if v.version == meta.version => {
                        let parameter = meta.clone().with_value(v.value.clone());
                        Some(Some(Stored { parameter, tags: desired.tags.clone() }))
                    }
                    // Present but not verified by the tag filter (unmanaged, other owner, tags drifted,
                    // or written since): read it whole, tags included.
                    _ => None,
                };
                async move {
                    let result = match stored {
                        None => self.write_target(store, &item.parameter, &item.tags).await,
                        Some(stored) => {
                            let plan = plan_write(&desired, stored.as_ref(), &self.owner, &self.config.rules);
                            match self.execute(store, &name, plan).await {
                                Ok(r) => r,
                                // Retry the whole step on fresh reads.
                                Err(e) if e.is_transient() => {
                                    self.write_target(store, &item.parameter, &item.tags).await
                                }
                                Err(e) => failed(region, &e),
                            }
                        }
                    };
                    (name, result)
                }
            })
            .buffered(WRITE_CONCURRENCY)
            .collect()
            .await;
        results.extend(done);
        results
    }

    /// Replica values (GetParameters) and the metadata of those that are ours with unchanged tags
    /// (DescribeParameters on the names, filtered by the ownership tag and the expected tags digests).
    async fn read_replicas(
        &self,
        store: &S,
        names: &[ParameterName],
        wanted: &[(&SourceItem, Desired)],
    ) -> Result<(BTreeMap<ParameterName, VersionedValue>, BTreeMap<ParameterName, Metadata>), StoreError> {
        let values: BTreeMap<_, _> = self.retry.run(|| store.values(names)).await?.into_iter().collect();
        let present: Vec<ParameterName> = names.iter().filter(|n| values.contains_key(*n)).cloned().collect();
        if present.is_empty() {
            return Ok((values, BTreeMap::new()));
        }
        let digests: BTreeSet<String> = wanted
            .iter()
            .filter(|(i, _)| values.contains_key(&i.parameter.name))
            .filter_map(|(_, d)| d.tags.get(TAGS_DIGEST_TAG).cloned())
            .collect();
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

    /// Owned replicas listed in one target: those whose source no longer exists go through the event
    /// path, which re-reads the source and deletes only replicas we own. A failed check deletes nothing.
    async fn orphan_page(&self, items: Vec<Metadata>, sink: &mut Sink<'_>) -> Result<(), FullSyncError> {
        let names: Vec<ParameterName> =
            items.into_iter().map(|m| m.name).filter(|n| self.config.selection.covers(n)).collect();
        if names.is_empty() {
            return Ok(());
        }
        let query = Query { names: names.clone(), ..Query::default() };
        let existing = self.list_all(&self.source, &query).await?;
        for name in names.into_iter().filter(|n| !existing.contains_key(n)) {
            let result = self.sync_one(&name).await;
            self.emit(result, sink);
        }
        Ok(())
    }
}
