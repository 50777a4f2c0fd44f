#!/usr/bin/env python3
"""Each fix of the AWS-behaviour issue taken out again, one at a time, with the tests that must then fail.

For every entry: replace the fix's code (which must occur exactly once) with the old behaviour, run the
named integration tests against the emulator with the AWS-behaviour layer on, print their results, and
restore the file. Every listed test should FAIL. `make revert-fixes` runs them all (about 4 minutes);
`make revert-fixes FIXES="M1-empty-pages M7-undecryptable"` runs some; LAYER_OFF=1 runs them with the
layer off (AWS_BEHAVIOUR_OFF=all), to see which failures only AWS's behaviour brings out.
Run from the repository root under scripts/with-emulator's PATH (the Makefile does both).
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
M = {
 "M1-empty-pages": ("function/src/engine/full_sync.rs",
   ["""            batch.items.extend(page.items);""", """            token = page.next;"""],
   ["""            let empty = page.items.is_empty() && page.rejected.is_empty();
            batch.items.extend(page.items);""", """            token = if empty { None } else { page.next };"""],
   ["as_aws_behaves::one_unreadable_listed_item_fails_alone_and_the_full_sync_goes_on"]),
 "M2-listing-lag": ("function/src/aws/ssm.rs",
   ["""            None => return Err(self.read_again("GetParameterHistory", VERSIONS_DIFFER)),""",
    """            None => Err(self.read_again("GetParameterHistory", NO_HISTORY_YET)),"""],
   ["""            None => return Ok(None),""",
    """            None => Ok(None),"""],
   ["as_aws_behaves::a_parameter_whose_history_disagrees_fails_the_invocation_and_writes_nothing"]),
 "M3a-tag-limit-digest": ("function/src/domain/planner.rs",
   "if user_tags + 2 <= MAX_TAGS {", "if user_tags + 2 <= MAX_TAGS + 1 {",
   ["as_aws_behaves::a_source_with_49_tags_is_replicated_and_one_with_50_fails_with_tag_limit"]),
 "M3b-tag-limit-order": ("function/src/domain/planner.rs",
   """    if !remove.is_empty() {
        actions.push(Action::RemoveTags(remove));
    }
    if !add.is_empty() {
        actions.push(Action::AddTags(add));
    }""",
   """    if !add.is_empty() {
        actions.push(Action::AddTags(add));
    }
    if !remove.is_empty() {
        actions.push(Action::RemoveTags(remove));
    }""",
   ["as_aws_behaves::a_replica_at_the_tag_limit_follows_a_renamed_source_tag"]),
 "M4-in-place": ("function/src/domain/planner.rs",
   "    if desired.kind != replica.kind {\n        Some(Field::Type)",
   "    if desired.kind != replica.kind && false {\n        Some(Field::Type)",
   ["as_aws_behaves::a_replica_of_a_source_whose_type_changed_is_reported_not_written"]),
 "M4b-tier-downgrade": ("function/src/domain/planner.rs",
   "} else if desired.tier == Tier::Standard && replica.tier == Tier::Advanced {",
   "} else if desired.tier == Tier::Standard && replica.tier == Tier::Advanced && false {",
   ["as_aws_behaves::an_advanced_replica_of_a_source_now_standard_is_reported_not_written"]),
 "M5-value-size": ("function/src/aws/ssm.rs",
   """            .tier(match p.tier {
                Tier::Standard => ParameterTier::Standard,
                Tier::Advanced => ParameterTier::Advanced,
            })""",
   """            .set_tier(overwrite.then(|| match p.tier {
                Tier::Standard => ParameterTier::Standard,
                Tier::Advanced => ParameterTier::Advanced,
            }))""",
   ["replication::an_advanced_value_over_4kb_and_policies_replicate"]),
 "M6-kms-keys": ("function/src/aws/kms.rs",
   """            KeyRequest::Mapped(k) | KeyRequest::Alias(k) => self.describe(target, k).await?,""",
   """            KeyRequest::Mapped(k) | KeyRequest::Alias(k) => TargetKey::Key { write: k.clone(), equivalents: vec![] },""",
   ["replication::a_missing_target_key_fails_that_target_only"]),
 "M6b-aws-ssm-by-id": ("function/src/aws/kms.rs",
   "KeyRequest::AliasOf(id) if self.is_source_default_key(id).await? => TargetKey::Default,",
   "KeyRequest::AliasOf(id) if self.is_source_default_key(id).await? => TargetKey::Key { write: id.clone(), equivalents: vec![] },",
   ["as_aws_behaves::a_securestring_on_the_aws_ssm_key_given_by_id_or_arn_goes_to_the_targets_default_key"]),
 "M7-undecryptable": ("function/src/aws/ssm.rs",
   """                Err(_) => {
                    for name in chunk {""",
   """                Err(e) if true => {
                    for name in chunk {
                        out.insert(name.clone(), Err(e.clone()));
                    }
                }
                Err(_) => {
                    for name in chunk {""",
   ["as_aws_behaves::one_undecryptable_securestring_fails_alone"]),
 "M8-full-sync-race": ("function/src/engine/full_sync.rs",
   "let moved_after = self.moved(&to_write).await;",
   "let moved_after: BTreeSet<ParameterName> = { let _ = self.moved(&[]).await; BTreeSet::new() };",
   ["as_aws_behaves::a_slow_full_sync_and_newer_events_leave_every_replica_at_the_newest_value"]),
 "M8b-full-sync-race-both": ("function/src/engine/full_sync.rs",
   ["self.moved(&writing), self.stale_hints(&writing)",
    "let moved_after = self.moved(&to_write).await;"],
   ["async { BTreeSet::<ParameterName>::new() }, self.stale_hints(&writing)",
    "let moved_after: BTreeSet<ParameterName> = BTreeSet::new();"],
   ["as_aws_behaves::a_slow_full_sync_and_newer_events_leave_every_replica_at_the_newest_value"]),
 "M9-policies": ("function/src/domain/planner.rs",
   "send_policies: changed.contains(&Field::Policies),",
   "send_policies: desired.parameter.tier == Tier::Advanced || changed.contains(&Field::Policies),",
   ["as_aws_behaves::policies_are_written_only_when_they_differ_and_removed_as_documented"]),
 "M10-one-bad-item": ("function/src/aws/ssm.rs",
   "                Err(rejected) => page.rejected.push(rejected),",
   "                Err(rejected) => return Err(rejected.error),",
   ["as_aws_behaves::one_unreadable_listed_item_fails_alone_and_the_full_sync_goes_on"]),
 "M11-name-limit": ("function/src/engine/mod.rs",
   "if let Err(len) = source.name.fits_in(&target.region, target.account_or(&self.owner.account)) {",
   "if let Err(len) = source.name.fits_in(&target.region, target.account_or(&self.owner.account)).and(Err::<(), usize>(0)).or(Ok::<(), usize>(())) {",
   ["as_aws_behaves::a_name_too_long_for_one_targets_arn_fails_that_target_before_any_write"]),
 "M12-stale-tags-unselect": ("function/src/engine/full_sync/sources.rs",
   "Tagged::Hint(tags) if self.selects_everywhere(&meta.name, &tags) =>",
   "Tagged::Hint(tags) if true || self.selects_everywhere(&meta.name, &tags) =>",
   ["tags_in_bulk::a_tag_changed_just_before_a_full_sync_neither_unselects_nor_is_undone_by_the_stale_index"]),
 "M13-no-write-on-a-hint": ("function/src/engine/full_sync.rs",
   "moved_before.into_iter().chain(stale).collect();",
   "moved_before.into_iter().chain(stale.into_iter().filter(|_| false)).collect();",
   ["tags_in_bulk::a_tag_changed_just_before_a_full_sync_neither_unselects_nor_is_undone_by_the_stale_index",
    "tags_in_bulk::a_value_changed_after_its_selection_was_narrowed_never_reaches_the_dropped_target_through_a_stale_index"]),
 # Issue 15 (Secrets Manager), from the review against the AWS documentation.
 "M14-primary-region": ("function/src/domain/secret.rs",
   "(Some(primary), Some(here)) => primary != here,",
   "(Some(_), Some(_)) => true,",
   ["secrets_manager::a_primary_that_names_its_own_region_as_primary_is_still_replicated"]),
 "M15-unlabeled-version": ("function/src/aws/secrets.rs",
   "if put.version_stages().iter().any(|s| s == CURRENT) {",
   "if true || put.version_stages().iter().any(|s| s == CURRENT) {",
   ["secrets_manager::a_source_moved_back_to_a_version_the_copy_keeps_unlabeled_moves_the_copy_there_too"]),
 "M16-name-decides": ("function/src/engine/secrets.rs",
   "(None, SecretId::Arn(_), Some(name)) => {",
   "(None, SecretId::Arn(_), Some(name)) if false => {",
   ["secrets_manager::an_event_naming_a_deleted_arn_whose_name_holds_a_new_secret_deletes_no_copy"]),
 "M17-never-force-another-sources": ("function/src/domain/secret.rs",
   "Some(there) if there.is_replica() || there.tags.contains_key(OWNER_TAG) => NativeStep::OwnedElsewhere,",
   "Some(there) if there.is_replica() && false => NativeStep::OwnedElsewhere,",
   ["secrets_manager::a_same_name_secret_another_source_owns_is_never_force_overwritten_even_with_adoption_on"]),
 "M18-copies-of-live-sources-kept": ("function/src/engine/secrets/copies.rs",
   "if source.is_some_and(|s| !s.deleted) {",
   "if source.is_some_and(|s| !s.deleted) && false {",
   ["secrets_manager::the_full_sync_schedules_copies_whose_source_is_gone_and_only_those"]),
 # The full sync's cost on AWS (scan then filter): what the replica index may and may not skip.
 "M19-orphan-pass-unless-all-seen": ("function/src/engine/full_sync/replicas.rs",
   ".filter(|f| !f.seen || f.deselected)",
   ".filter(|f| f.deselected)",
   ["full_sync::an_orphan_is_deleted_and_unmanaged_parameters_are_reported_and_left_alone"]),
 "M20-orphan-pass-for-deselected": ("function/src/engine/full_sync/replicas.rs",
   ".filter(|f| !f.seen || f.deselected)",
   ".filter(|f| !f.seen)",
   ["recreate_prune::with_pruning_a_listed_source_that_now_says_no_loses_its_replicas_to_the_full_sync"]),
 "M21-replica-tags-checked": ("function/src/engine/full_sync/targets.rs",
   "(Some(Ok(v)), Some(key_id), Some(tags)) if *tags == desired.tags => {",
   "(Some(Ok(v)), Some(key_id), Some(_)) => { let tags = &desired.tags;",
   ["full_sync::every_drift_behind_our_back_is_repaired_by_one_full_sync"]),
 "M22-index-vouches-for-metadata": ("function/src/engine/full_sync/replicas.rs",
   "if f.version != version || f.meta != meta_digest(&desired.parameter) {",
   "if f.version != version {",
   ["full_sync::every_drift_behind_our_back_is_repaired_by_one_full_sync"]),
}
def run(key, extra_env=None):
    path, old, new, tests = M[key]
    p = os.path.join(ROOT, path)
    src = open(p).read()
    mutated = src
    pairs = zip(old, new) if isinstance(old, list) else [(old, new)]
    for o, n in pairs:
        assert mutated.count(o) == 1, f"{key}: pattern found {mutated.count(o)} times"
        mutated = mutated.replace(o, n)
    open(p, "w").write(mutated)
    try:
        env = dict(os.environ, **(extra_env or {}))
        out = subprocess.run(["cargo", "test", "--locked", "--test", "integration", "--", "--exact", *tests],
                             cwd=ROOT, capture_output=True, text=True, env=env)
        lines = [l for l in out.stdout.splitlines() if l.startswith("test ") or l.startswith("test result")]
        if out.returncode != 0 and not lines:
            print(out.stderr[-3000:])
        return lines
    finally:
        open(p, "w").write(src)
if __name__ == "__main__":
    keys = sys.argv[1:] or list(M)
    unknown = [k for k in keys if k not in M]
    if unknown:
        sys.exit(f"unknown fix {unknown}; known: {' '.join(M)}")
    survivors = []
    env = {}
    if os.environ.get("LAYER_OFF"):
        env["AWS_BEHAVIOUR_OFF"] = "all"
    for k in keys:
        print(f"== {k} (layer {'off' if env else 'on'})", flush=True)
        lines = run(k, env)
        for l in lines:
            print("  ", l, flush=True)
        if any(l.endswith(" ok") for l in lines):
            survivors.append(k)
    if survivors:
        print(f"tests that still pass with the fix taken out: {' '.join(survivors)}")
        sys.exit(1)
    print("every listed test failed with its fix taken out")
