//! Full sync: reads only when nothing changed, writes exactly the drift, deletes orphans safely, hands
//! off when its time budget is spent. Each test bounds the sync to its own prefix.

use std::time::Duration;

use aws_sdk_ssm::types::ParameterTier;
use futures::stream::{self, StreamExt};
use serde_json::json;
use ssm_replicator::domain::{Outcome, Report};
use ssm_replicator::handler::HandlerError;

use crate::aws_behaviour::AwsBehaviour;
use crate::faults::{FaultProxy, Rule};
use crate::support::*;

const PREFIX_ONLY: (&str, &str) = ("PATH_PREFIXES", "{prefix}/");

/// Seed `n` parameters and wait until they are listed (`World::settle`): a scheduled full sync sees
/// parameters a while after their creation.
async fn seed(w: &World, n: usize) -> Vec<String> {
    let names = seed_mix(w, n, None).await;
    w.settle().await;
    names
}

/// `n` parameters of the account's own in `region`, under the world's prefix (so under the sync's path
/// too): half untagged, half tagged otherwise. Real regions are not empty, and AWS's filtered listings
/// examine them all (behaviour 11).
async fn seed_foreign(w: &World, region: &str, n: usize) {
    stream::iter(0..n)
        .for_each_concurrent(16, |i| async move {
            let name = w.name(&format!("own/q{i:05}"));
            let tags: &[(&str, &str)] = if i % 2 == 0 { &[] } else { &[("team", "theirs")] };
            w.put(region, Put::string(&name, "not replicated").tags(tags)).await;
        })
        .await;
}

async fn full_sync(w: &World) -> Report {
    w.invoke(json!({"action": "full-sync"})).await.unwrap_or_else(|e| panic!("full sync: {e}"))
}

fn calls_in(report: &Report, region: &str, op: &str) -> u64 {
    report.api_calls.get(region).and_then(|ops| ops.get(op)).copied().unwrap_or(0)
}

fn total(report: &Report, ops: &[&str]) -> u64 {
    report.api_calls.values().flat_map(|o| o.iter()).filter(|(op, _)| ops.contains(&op.as_str())).map(|(_, n)| n).sum()
}

fn all_calls(report: &Report) -> u64 {
    report.api_calls.values().flat_map(|o| o.values()).sum()
}

#[tokio::test]
async fn a_no_change_full_sync_only_reads_and_stays_under_half_a_call_per_parameter_tags_included() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let n = 150;
    for region in [SOURCE, EAST, WEST] {
        seed_foreign(&w, region, n).await;
    }
    seed(&w, n).await;
    let first = full_sync(&w).await;
    assert_eq!(first.summary.get(&Outcome::Created), Some(&(2 * n as u64)), "{:?}", first.summary);

    // The next scheduled sync comes a while later: the replicas are listed by then.
    w.settle().await;
    let empty_before = w.proxy().empty_pages_total();
    let second = full_sync(&w).await;
    // Empty DescribeParameters pages are AWS's cost (behaviour 1), not ours: not counted in the budget.
    let empty_pages = w.proxy().empty_pages_total() - empty_before;
    assert_eq!(second.summary.get(&Outcome::Unchanged), Some(&(2 * n as u64)), "{:?}", second.summary);
    assert_eq!(total(&second, WRITES), 0, "{:?}", second.api_calls);
    // Tags included: the source's come in bulk (GetResources, one call per page of 50).
    let tag_reads = total(&second, &["ListTagsForResource", "GetResources"]);
    let others = all_calls(&second) - empty_pages;
    let per_parameter = others as f64 / n as f64;
    eprintln!("no-change full sync of {n} into 2 targets: {others} calls ({tag_reads} of them tag reads) and {empty_pages} injected empty pages = {per_parameter:.3}/parameter; {:?}", second.api_calls);
    assert!(per_parameter <= 0.5, "{per_parameter} calls per parameter: {:?}", second.api_calls);
    assert_eq!(calls_in(&second, SOURCE, "ListTagsForResource"), 0, "no tag read one by one: {:?}", second.api_calls);
    assert_eq!(calls_in(&second, EAST, "ListTagsForResource") + calls_in(&second, WEST, "ListTagsForResource"), 0);
    assert!(second.parameters.is_empty(), "nothing changed, nothing listed");
}

#[tokio::test]
async fn a_no_change_full_sync_lists_each_region_once_however_many_foreign_parameters_a_target_holds() {
    // Behaviour 11: a filtered listing examines 50 parameters of the region per call, whatever it matches.
    // A replica check per page and target would scan the target region for every page (quadratic); the
    // sync must cost no more DescribeParameters calls than one pass over each region.
    let w = World::new(&[PREFIX_ONLY]).await;
    assert!(w.proxy().behaviour().scan_filter);
    let n = 100;
    seed_foreign(&w, SOURCE, n).await;
    seed_foreign(&w, EAST, 1000).await;
    seed(&w, n).await;
    full_sync(&w).await;
    w.settle().await;

    let empty_before = w.proxy().empty_pages_total();
    let report = full_sync(&w).await;
    let empty_pages = w.proxy().empty_pages_total() - empty_before;
    assert_eq!(report.summary.get(&Outcome::Unchanged), Some(&(2 * n as u64)), "{:?}", report.summary);
    assert_eq!(total(&report, WRITES), 0);
    // One pass over each region: its parameters / 50 calls (rounded up). Empty pages AWS answers on top of
    // its scan (behaviour 1) are AWS's cost, not the sync's.
    let pass = |parameters: usize| parameters.div_ceil(50) as u64;
    let one_pass_each = pass(2 * n) + pass(1000 + n) + pass(n);
    let describes = total(&report, &["DescribeParameters"]) - empty_pages;
    eprintln!(
        "no-change full sync of {n} with 1000 foreign parameters in {EAST}: {describes} DescribeParameters \
         (+{empty_pages} empty pages), one pass over each region {one_pass_each}; {:?}",
        report.api_calls
    );
    assert!(describes <= one_pass_each, "{describes} DescribeParameters, one pass each is {one_pass_each}");
}

#[tokio::test]
async fn every_drift_behind_our_back_is_repaired_by_one_full_sync() {
    // Replicas changed in the target by someone else, each in one way, while scan-then-filter (behaviour 11)
    // and every other behaviour is on: one full sync repairs every one of them, and the next finds nothing.
    // Recreation on: a replica made Advanced can only go back to Standard through delete and create.
    let w = World::new(&[PREFIX_ONLY, ("RECREATE_REPLICAS", "true")]).await;
    w.key_with_alias("alias/drift", &[SOURCE, EAST, WEST]).await;
    w.key_with_alias("alias/other", &[EAST]).await;
    seed_foreign(&w, EAST, 60).await;
    let name = |what: &str| w.name(&format!("drift/{what}"));
    let policies = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00.000Z"}}]"#;
    let kinds = ["value", "description", "pattern", "tier", "policies", "key", "tag-added", "tag-changed", "deleted"];
    for kind in kinds {
        let n = name(kind);
        let plain = Put::string(&n, "v");
        let put = match kind {
            "description" => Put { description: Some("the source's"), ..plain },
            "pattern" => Put { allowed_pattern: Some("^[a-z]+$"), value: "abc", ..plain },
            "policies" => Put { tier: Some(ParameterTier::Advanced), policies: Some(policies), ..plain },
            "key" => Put::secure(&n, "s", Some("alias/drift")),
            "tag-changed" => plain.tags(&[("replicate", "yes"), ("team", "core")]),
            _ => plain,
        };
        w.put(SOURCE, put).await;
    }
    w.settle().await;
    full_sync(&w).await;
    w.settle().await;

    // Behind our back, in one target.
    w.put(EAST, Put::string(&name("value"), "tampered")).await;
    w.put(EAST, Put { description: Some("tampered"), ..Put::string(&name("description"), "v") }).await;
    w.put(EAST, Put { allowed_pattern: Some(".*"), ..Put::string(&name("pattern"), "abc") }).await;
    w.put(EAST, Put { tier: Some(ParameterTier::Advanced), ..Put::string(&name("tier"), "v") }).await;
    w.put(
        EAST,
        Put { tier: Some(ParameterTier::Advanced), policies: Some("[{}]"), ..Put::string(&name("policies"), "v") },
    )
    .await;
    w.put(EAST, Put::secure(&name("key"), "s", Some("alias/other"))).await;
    w.tag(EAST, &name("tag-added"), &[("stray", "x")]).await;
    w.tag(EAST, &name("tag-changed"), &[("team", "tampered")]).await;
    w.delete(EAST, &name("deleted")).await;
    w.settle().await;

    let report = full_sync(&w).await;
    for what in kinds {
        let expected = match what {
            "deleted" => "created",
            "tier" => "updated:recreated",
            _ => "updated",
        };
        assert_eq!(outcome(&report, &name(what), EAST), expected, "{what}: {:?}", report.parameters);
        assert_eq!(outcome(&report, &name(what), WEST), "unchanged", "{what}: {:?}", report.parameters);
    }
    let w = &w;
    let east = |n: String| async move {
        (w.get(EAST, &n).await.unwrap(), w.describe(EAST, &n).await, w.tags_of(EAST, &n).await)
    };
    let (value, _, _) = east(name("value")).await;
    assert_eq!(value.value(), Some("v"));
    assert_eq!(east(name("description")).await.1.description(), Some("the source's"));
    assert_eq!(east(name("pattern")).await.1.allowed_pattern(), Some("^[a-z]+$"));
    assert_eq!(east(name("policies")).await.1.policies().len(), 1);
    assert_eq!(east(name("key")).await.1.key_id(), Some("alias/drift"));
    assert!(!east(name("tag-added")).await.2.contains_key("stray"));
    assert_eq!(east(name("tag-changed")).await.2.get("team").map(String::as_str), Some("core"));
    assert_eq!(east(name("deleted")).await.0.value(), Some("v"));
    assert_eq!(east(name("tier")).await.1.tier(), Some(&ParameterTier::Standard));
    w.settle().await;
    let again = full_sync(w).await;
    assert_eq!(total(&again, WRITES), 0, "{:?}", again.parameters);
}

#[tokio::test]
async fn one_percent_changed_writes_exactly_the_changed_parameters_times_the_targets() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let names = seed(&w, 200).await;
    full_sync(&w).await;
    // Two plain Strings (every fourth seeded parameter is one): 1% of 200.
    for name in [&names[8], &names[12]] {
        w.put(SOURCE, Put::string(name, "changed")).await;
    }
    w.settle().await;
    let report = full_sync(&w).await;
    assert_eq!(total(&report, WRITES), 4, "{:?}", report.api_calls);
    assert_eq!(total(&report, &["PutParameter"]), 4);
    assert_eq!(report.summary.get(&Outcome::Updated), Some(&4));
    assert_eq!(report.parameters.len(), 2, "the two changed parameters are listed");
    for region in [EAST, WEST] {
        assert_eq!(w.get(region, &names[8]).await.unwrap().value(), Some("changed"));
    }
}

#[tokio::test]
async fn tag_drift_in_the_source_is_found_by_every_full_sync_once_the_tag_index_caught_up() {
    // Source tags come from the tagging API, which lags (behaviour 8): tag drift whose event was lost is
    // repaired by the first full sync after the index shows it (an event, when it comes, repairs at once).
    let lag = Duration::from_secs(2);
    let w = World::with_behaviour(&[PREFIX_ONLY], AwsBehaviour::from_env().with_tag_index_lag(lag)).await;
    let names = seed(&w, 20).await;
    full_sync(&w).await;
    w.tag(SOURCE, &names[0], &[("owner", "alice")]).await;
    w.untag(SOURCE, &names[4], &["team"]).await;

    tokio::time::sleep(lag).await;
    w.settle().await;
    let report = full_sync(&w).await;
    assert_eq!(total(&report, &["PutParameter"]), 0, "a tag change rewrites no value");
    // names[0]: one AddTags per target (new tag + digest); names[4]: RemoveTags + AddTags (digest) per target.
    assert_eq!(total(&report, &["AddTagsToResource"]), 4, "{:?}", report.api_calls);
    assert_eq!(total(&report, &["RemoveTagsFromResource"]), 2, "{:?}", report.api_calls);
    for region in [EAST, WEST] {
        assert_eq!(w.tags_of(region, &names[0]).await.get("owner").map(String::as_str), Some("alice"));
        assert!(!w.tags_of(region, &names[4]).await.contains_key("team"));
    }
    let again = full_sync(&w).await;
    assert_eq!(total(&again, WRITES), 0);
}

#[tokio::test]
async fn a_spent_time_budget_hands_off_and_the_chain_finishes_with_each_parameter_written_once() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let n = 120; // three source pages
    let names = seed(&w, n).await;

    let mut event = json!({"action": "full-sync"});
    let mut invocations = 0;
    let mut puts = 0;
    loop {
        invocations += 1;
        assert!(invocations < 20, "the chain does not end");
        let report = w.invoke_within(event, Duration::ZERO).await.unwrap();
        puts += total(&report, &["PutParameter"]);
        let handed = w.handler_continuation().take();
        match (report.next.is_some(), handed.as_slice()) {
            (false, []) => break,
            (true, [payload]) => event = payload.clone(),
            other => panic!("report and hand-off disagree: {other:?}"),
        }
    }
    // 3 source pages, then the orphan listing of each target (120 owned replicas: 3 pages each). An
    // empty page that AWS answers (behaviour 1) can cost one more hand-off: AWS's cost, not ours.
    let empty_pages = w.proxy().empty_pages_total();
    assert!((9..=9 + empty_pages).contains(&invocations), "{invocations} invocations, {empty_pages} empty pages");
    assert_eq!(puts, 2 * n as u64, "every parameter written exactly once per target");
    for name in names.iter().step_by(7) {
        let source = w.get(SOURCE, name).await.unwrap();
        for region in [EAST, WEST] {
            assert_eq!(w.get(region, name).await.unwrap().value(), source.value(), "{name} {region}");
        }
    }
}

#[tokio::test]
async fn an_orphan_is_deleted_and_unmanaged_parameters_are_reported_and_left_alone() {
    let w = World::new(&[PREFIX_ONLY, ("ADOPT_UNMANAGED", "false")]).await;
    let names = seed(&w, 6).await;
    let (stray, clash) = (w.name("stray"), names[1].clone());
    w.put(EAST, Put::string(&stray, "not ours").tags(&[])).await;
    w.put(EAST, Put::string(&clash, "theirs").tags(&[])).await; // same name as a source parameter
    w.settle().await;
    full_sync(&w).await;
    w.delete(SOURCE, &names[0]).await;
    w.settle().await;

    let report = full_sync(&w).await;
    assert_eq!(report.reasons.get("skipped:unmanaged"), Some(&1), "{:?}", report.reasons);
    let orphan = report.parameters.iter().find(|p| p.name.as_str() == names[0]).unwrap();
    assert!(orphan.targets.iter().all(|t| t.outcome == Outcome::Deleted), "{orphan:?}");
    assert_eq!(total(&report, &["DeleteParameter"]), 2);
    for region in [EAST, WEST] {
        assert!(w.get(region, &names[0]).await.is_none());
    }
    assert_eq!(w.get(EAST, &stray).await.unwrap().value(), Some("not ours"));
    assert_eq!(w.get(EAST, &clash).await.unwrap().value(), Some("theirs"));
}

#[tokio::test]
async fn a_failing_listing_deletes_nothing() {
    // The source answers every existence check (GetParameters without decryption) with throttling: the
    // sync cannot confirm that any source is gone, so it must not delete anything.
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![Rule::fail("GetParameters", "ThrottlingException").when_body_contains("\"WithDecryption\":false")],
    );
    let healthy = World::new(&[PREFIX_ONLY]).await;
    let names = seed(&healthy, 60).await;
    full_sync(&healthy).await;
    healthy.delete(SOURCE, &names[0]).await;
    healthy.settle().await;

    let w = World::proxied(&[("PATH_PREFIXES", &format!("{}/", healthy.prefix))], SOURCE, &proxy.url).await;
    let err = w.invoke(json!({"action": "full-sync"})).await.unwrap_err();
    assert!(matches!(err, HandlerError::FullSync(_)), "{err}");
    assert!(err.to_string().contains("deleted nothing"), "{err}");
    assert!(proxy.failed("GetParameters") > 0, "the fault was exercised");
    assert_eq!(w.calls.total(&["DeleteParameter"]), 0);
    for region in [EAST, WEST] {
        assert!(w.get(region, &names[0]).await.is_some(), "the orphan survives a failed check");
    }
}
