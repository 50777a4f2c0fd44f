//! The full sync's target side of a batch: read the replicas in batches, check them against the
//! target's replica index, plan, and write the drift within the time budget.

use super::super::Replicator;
use super::*;

/// What one target needs for one item, decided from the batched reads.
pub(super) enum Step {
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
    pub(super) async fn write_batch(
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
