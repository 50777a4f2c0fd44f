//! The full sync's target side of a batch: read the replicas in batches, check them against the
//! target's replica index, plan, and write the drift within the time budget.

use super::super::Replicator;
use super::*;

/// What one target needs for one item, decided from the batched reads.
pub(super) enum Step {
    /// Nothing to write: unchanged, skipped, or failed before any write.
    Done(TargetResult),
    /// Writes planned from the batched reads. `confirm`: the replica's tags the plan was made on came from
    /// the tagging API (a hint), so they are read from SSM first; a replica whose tags are not these is
    /// read whole instead (its ownership may have changed: tags make no new version).
    Write { plan: Plan, confirm: Option<Tags> },
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
            Self::Write { plan, confirm: None }
        }
    }

    /// Like `planned`, for a plan made on hinted replica tags.
    fn planned_on(target: &Target, plan: Plan, hinted: &Tags) -> Self {
        match Self::planned(target, plan) {
            Self::Write { plan, .. } => Self::Write { plan, confirm: Some(hinted.clone()) },
            done => done,
        }
    }
}

/// A parameter's tags without the `aws:` ones (which no caller writes or removes).
fn user_tags(tags: &Tags) -> Tags {
    tags.iter().filter(|(k, _)| !k.starts_with(AWS_TAG_PREFIX)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// One target, one batch: read the replicas' values and tags in batches, check them against the
    /// target's replica index, and plan. Writes nothing. Also returns why its tags could not be read in
    /// bulk, if they could not.
    pub(super) async fn plan_batch(
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
                    let plan = plan_write(&desired, Some(&stored), &self.owner, &self.config.rules);
                    Step::planned_on(target, plan, tags)
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
                // Every replica asked for is ours and tagged: none known is an index far behind, or one
                // of another account or region (the wrong credentials).
                Ok(bulk) if bulk.found.is_empty() && names.len() >= 10 => {
                    warn!(target = %store.target(), asked = names.len(), "GetResources knows none of these replicas: their tags are read one at a time");
                }
                Ok(bulk) => found = bulk.found,
                Err(e) => failure = Some(e),
            }
        }
        let rest: Vec<&ParameterName> = names.iter().filter(|n| !found.contains_key(*n)).collect();
        let read: Vec<(ParameterName, Tags)> = stream::iter(rest)
            .map(|name| async move {
                match self.retry.run(|| store.read_tags(name)).await {
                    Ok(Some(tags)) => Some((name.clone(), tags)),
                    Ok(None) => None,
                    Err(e) => {
                        warn!(parameter = %name, error = %e, "replica tags unreadable: the replica is read whole");
                        None
                    }
                }
            })
            .buffered(TAG_READ_CONCURRENCY)
            .filter_map(|read| async move { read })
            .collect()
            .await;
        found.extend(read);
        (found.into_iter().map(|(n, t)| (n, user_tags(&t))).collect(), failure)
    }

    /// One target: carry out the planned writes of the items still current at the source; a write that
    /// the budget would not let finish is reported pending.
    pub(super) async fn write_batch(
        &self,
        store: &S,
        items: &[&SourceItem],
        steps: &BTreeMap<ParameterName, Step>,
        budget: &Budget,
    ) -> BTreeMap<ParameterName, TargetResult> {
        stream::iter(items.iter().filter_map(|item| match steps.get(&item.parameter.name) {
            Some(step @ (Step::Write { .. } | Step::ReadWhole)) => Some((*item, step)),
            _ => None,
        }))
        .map(|(item, step)| async move { (item.parameter.name.clone(), self.write_step(store, item, step, budget).await) })
        .buffered(WRITE_CONCURRENCY)
        .collect()
        .await
    }

    /// One item's step in one target, if the budget leaves time for it.
    async fn write_step(&self, store: &S, item: &SourceItem, step: &Step, budget: &Budget) -> TargetResult {
        let (target, name, until) = (store.target(), &item.parameter.name, budget.until);
        let whole = || self.write_target(store, &item.parameter, &item.tags, until);
        let Step::Write { plan, confirm } = step else {
            return match budget.allows(Duration::ZERO) {
                true => whole().await,
                false => pending(target),
            };
        };
        if !budget.allows(Duration::ZERO) || (is_recreation(plan) && !budget.allows(self.recreate_wait.longest())) {
            return pending(target);
        }
        if let Some(hinted) = confirm {
            let confirmed = self.retry.run(|| store.read_tags(name)).await;
            if !matches!(&confirmed, Ok(Some(tags)) if user_tags(tags) == *hinted) {
                return whole().await;
            }
        }
        match self.execute(store, name, plan.clone()).await {
            Ok(r) => r,
            // Retry the whole step on fresh reads.
            Err(e) if e.is_transient() => whole().await,
            Err(e) => failed(target, &e),
        }
    }
}
