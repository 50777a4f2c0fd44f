//! Source tags in bulk (the Resource Groups Tagging API's GetResources, by ARN): the same tags SSM's
//! ListTagsForResource gives, a fallback when it is denied, and a stale index (behaviour 8) that never
//! unselects a parameter nor undoes a newer tag on a replica.

use aws_config::Region;
use serde_json::json;
use ssm_replicator::aws::{SsmStore, TagIndex};
use ssm_replicator::config::Rates;
use ssm_replicator::domain::{Outcome, ParameterName, Report, Target};
use ssm_replicator::ports::ParameterStore;

use crate::aws_behaviour::AwsBehaviour;
use crate::faults::{FaultProxy, Rule};
use crate::support::*;

const PREFIX_ONLY: (&str, &str) = ("PATH_PREFIXES", "{prefix}/");

async fn full_sync(w: &World) -> Report {
    w.invoke(json!({"action": "full-sync"})).await.unwrap_or_else(|e| panic!("full sync: {e}"))
}

fn calls_in(report: &Report, region: &str, op: &str) -> u64 {
    report.api_calls.get(region).and_then(|ops| ops.get(op)).copied().unwrap_or(0)
}

/// The source store of the production adapters, with its tag index, at `url`.
async fn source_store(url: &str) -> SsmStore {
    let sdk = sdk_config_at(url).await;
    let ssm = aws_sdk_ssm::config::Builder::from(&sdk).region(Region::new(SOURCE)).build();
    let tagging = aws_sdk_resourcegroupstagging::config::Builder::from(&sdk).region(Region::new(SOURCE)).build();
    let index = TagIndex::new(aws_sdk_resourcegroupstagging::Client::from_conf(tagging), SOURCE, ACCOUNT);
    SsmStore::new(aws_sdk_ssm::Client::from_conf(ssm), Target::own(SOURCE), Rates { read: 1000, write: 1000 })
        .with_tag_index(index)
}

#[tokio::test]
async fn tags_from_get_resources_equal_tags_from_list_tags_for_every_parameter_of_a_mixed_store() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let fifty: Vec<(String, String)> = (0..50).map(|i| (format!("k{i:02}"), format!("v{i}"))).collect();
    let fifty: Vec<(&str, &str)> = fifty.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (tagged, untagged, once, full) = (w.name("tagged"), w.name("untagged"), w.name("once"), w.name("fifty"));
    w.put(SOURCE, Put::string(&tagged, "a").tags(&[("replicate", "yes"), ("team", "core")])).await;
    w.put(SOURCE, Put::string(&untagged, "b").tags(&[])).await;
    w.put(SOURCE, Put::string(&once, "c").tags(&[("replicate", "yes")])).await;
    w.untag(SOURCE, &once, &["replicate"]).await;
    w.put(SOURCE, Put::string(&full, "d").tags(&fifty)).await;
    // More than one request's 100 ARNs, and pages the emulator splits (100 tags per page).
    let mut names: Vec<String> = vec![tagged, untagged, once, full];
    for i in 0..120 {
        let name = w.name(&format!("more{i:03}"));
        let team = format!("t{}", i % 7);
        let tags: Vec<(&str, &str)> = if i % 3 == 0 { vec![] } else { vec![("replicate", "yes"), ("team", &team)] };
        w.put(SOURCE, Put::string(&name, "x").tags(&tags)).await;
        names.push(name);
    }
    names.push(w.name("never-created"));

    // The emulator's own GetResources (its paging, always current), through the production adapter.
    let proxy = FaultProxy::aws(&endpoint(), AwsBehaviour::off());
    let store = source_store(&proxy.url).await;
    let names: Vec<ParameterName> = names.iter().map(|n| ParameterName::parse(n).unwrap()).collect();
    let bulk = store.bulk_tags(&names).await.unwrap();
    assert!(bulk.complete);
    for name in &names {
        let listed = store.read_tags(name).await.unwrap();
        let from_index = bulk.found.get(name).cloned().unwrap_or_default();
        assert_eq!(Some(from_index), listed.or(Some(Default::default())), "{name}");
    }
    let fifty_read = &bulk.found[&ParameterName::parse(&w.name("fifty")).unwrap()];
    assert_eq!(fifty_read.len(), 50);
    assert!(proxy.seen("GetResources") >= 2, "{} ARNs take two requests", names.len());
}

#[tokio::test]
async fn a_denied_get_resources_falls_back_to_one_tag_read_per_parameter_and_says_so_once() {
    let denied = FaultProxy::start(&endpoint(), vec![Rule::fail("GetResources", "AccessDeniedException")]);
    let w = World::through(&[PREFIX_ONLY], &denied.url).await;
    let n = 60; // two source pages
    seed_mix(&w, n, None).await;
    w.settle().await;
    let report = full_sync(&w).await;
    assert_eq!(report.summary.get(&Outcome::Created), Some(&(2 * n as u64)), "{:?}", report.summary);
    assert_eq!(calls_in(&report, SOURCE, "GetResources"), 1, "asked once, then not again this sync");
    assert!(calls_in(&report, SOURCE, "ListTagsForResource") >= n as u64, "{:?}", report.api_calls);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(report.notes[0].contains("tag:GetResources") && report.notes[0].contains("AccessDenied"));
}

#[tokio::test]
async fn a_tag_changed_just_before_a_full_sync_neither_unselects_nor_is_undone_by_the_stale_index() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let (opted_in, retagged) = (w.name("opted-in"), w.name("retagged"));
    w.put(SOURCE, Put::string(&opted_in, "v").tags(&[("replicate", "no")])).await;
    w.put(SOURCE, Put::string(&retagged, "v").tags(&[("replicate", "yes"), ("team", "a")])).await;
    w.settle().await;
    let first = full_sync(&w).await;
    // A full sync's report lists what changed or failed.
    let listed = |r: &Report, n: &str| r.parameters.iter().any(|p| p.name.as_str() == n);
    assert!(!listed(&first, &opted_in), "skipped: not selected");
    assert_eq!(outcome(&first, &retagged, EAST), "created");

    // Tags change; the retagged parameter's event is handled at once, so its replicas carry team=b.
    w.tag(SOURCE, &opted_in, &[("replicate", "yes")]).await;
    w.tag(SOURCE, &retagged, &[("team", "b")]).await;
    w.change("Update", &retagged).await;
    assert_eq!(w.tags_of(EAST, &retagged).await.get("team").map(String::as_str), Some("b"));
    // The index still shows the old tags (behaviour 8): the full sync below gets them as hints.
    let hints = source_store(&w.proxy().url)
        .await
        .bulk_tags(&[ParameterName::parse(&opted_in).unwrap(), ParameterName::parse(&retagged).unwrap()])
        .await
        .unwrap();
    let old = |n: &str, k: &str| hints.found[&ParameterName::parse(n).unwrap()].get(k).cloned();
    assert_eq!((old(&opted_in, "replicate"), old(&retagged, "team")), (Some("no".into()), Some("a".into())));

    w.settle().await;
    let writes = w.writes();
    let second = full_sync(&w).await;
    assert!(!listed(&second, &retagged), "unchanged: the replica's newer tags stay");
    for region in [EAST, WEST] {
        assert_eq!(outcome(&second, &opted_in, region), "created", "confirmed with ListTagsForResource");
        assert_eq!(w.tags_of(region, &retagged).await.get("team").map(String::as_str), Some("b"));
    }
    assert_eq!(w.writes() - writes, 2, "only the opted-in parameter's two replicas are written");
    assert!(calls_in(&second, SOURCE, "ListTagsForResource") >= 2, "{:?}", second.api_calls);
    assert_eq!(w.proxy().seen("DeleteParameter"), 0);
}

#[tokio::test]
async fn a_value_changed_after_its_selection_was_narrowed_never_reaches_the_dropped_target_through_a_stale_index() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let name = w.name("narrowed");
    w.put(SOURCE, Put::string(&name, "v1").tags(&[("replicate", "yes")])).await;
    w.settle().await;
    full_sync(&w).await;
    assert_eq!(w.get(WEST, &name).await.unwrap().value(), Some("v1"));

    // Narrowed to us-east-2, then a new value; its event goes to us-east-2 only.
    w.tag(SOURCE, &name, &[("replicate", EAST)]).await;
    w.put(SOURCE, Put::string(&name, "v2").tags(&[])).await;
    let event = w.change("Update", &name).await;
    assert_eq!(outcome(&event, &name, WEST), "skipped:deselected");
    // The index still says `yes` (behaviour 8); the full sync must not send v2 to eu-west-1 on its word.
    w.settle().await;
    let sync = full_sync(&w).await;
    assert_eq!(w.get(WEST, &name).await.unwrap().value(), Some("v1"), "{:?}", sync.parameters);
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("v2"));
    assert!(calls_in(&sync, SOURCE, "ListTagsForResource") >= 1, "the hint was checked: {:?}", sync.api_calls);
}
