//! Recreation (`RECREATE_REPLICAS`) and pruning (`PRUNE_DESELECTED`), with the AWS-behaviour layer on:
//! type changes and Advanced → Standard are refused in place (behaviour 4), and a name deleted a moment
//! ago cannot be created again yet (behaviour 9), so a recreation has to wait that out.

use std::time::Duration;

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use serde_json::json;
use ssm_replicator::domain::Report;

use crate::aws_behaviour::AwsBehaviour;
use crate::support::*;

const RECREATE: (&str, &str) = ("RECREATE_REPLICAS", "true");
const PRUNE: (&str, &str) = ("PRUNE_DESELECTED", "true");
const OWNER: &str = "ssm-replicator:source";

#[tokio::test]
async fn with_recreation_a_replica_of_a_source_now_securestring_is_recreated_as_one() {
    let w = World::new(&[RECREATE]).await;
    let name = w.name("retyped");
    w.put(SOURCE, Put::string(&name, "v").tags(&[("replicate", "yes"), ("team", "a")])).await;
    w.change("Create", &name).await;
    w.delete(SOURCE, &name).await;
    w.put(SOURCE, Put::secure(&name, "s", None).tags(&[("replicate", "yes"), ("team", "a")])).await;

    let report = w.change("Create", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated:recreated", "{region}");
        let replica = w.get(region, &name).await.unwrap();
        assert_eq!(replica.r#type(), Some(&ParameterType::SecureString), "{region}");
        assert_eq!(replica.value(), Some("s"), "{region}");
        let tags = w.tags_of(region, &name).await;
        assert_eq!(tags.get("team").map(String::as_str), Some("a"), "{region}");
        assert!(tags.contains_key(OWNER), "{region}: created again with the ownership tag");
    }
    assert!(w.proxy().recreates_refused() >= 2, "each create after its delete was refused at first, then waited out");
    let again = w.change("Update", &name).await;
    assert_eq!(outcome(&again, &name, EAST), "unchanged");
}

#[tokio::test]
async fn with_recreation_an_advanced_replica_of_a_source_now_standard_is_recreated_standard() {
    let w = World::new(&[RECREATE]).await;
    let name = w.name("downgraded");
    w.put(SOURCE, Put { tier: Some(ParameterTier::Advanced), ..Put::string(&name, "v") }).await;
    w.change("Create", &name).await;
    w.delete(SOURCE, &name).await;
    w.put(SOURCE, Put::string(&name, "v2")).await;

    let report = w.change("Create", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated:recreated", "{region}");
        assert_eq!(w.describe(region, &name).await.tier(), Some(&ParameterTier::Standard), "{region}");
        assert_eq!(w.get(region, &name).await.unwrap().value(), Some("v2"), "{region}");
    }
}

#[tokio::test]
async fn an_unmanaged_parameter_of_another_type_is_never_recreated() {
    let w = World::new(&[RECREATE]).await;
    let name = w.name("theirs");
    w.put(EAST, Put::string(&name, "theirs").tags(&[])).await;
    w.put(SOURCE, Put::secure(&name, "s", None)).await;

    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "failed:type-change-needs-recreate");
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("theirs"), "neither deleted nor overwritten");
    assert!(!w.tags_of(EAST, &name).await.contains_key(OWNER));
    assert_eq!(w.calls.get(EAST, "DeleteParameter"), 0);
    assert_eq!(outcome(&report, &name, WEST), "created");
}

/// A replicated parameter, then its selection changed by `deselect`, then the tag event.
async fn deselected(w: &World, leaf: &str, deselect: &[(&str, &str)], remove: bool) -> (String, Report) {
    let name = w.name(leaf);
    w.put(SOURCE, Put::string(&name, "v").tags(&[("replicate", "us-east-2:eu-west-1")])).await;
    w.change("Create", &name).await;
    assert!(w.get(WEST, &name).await.is_some());
    let (event, request) = if remove {
        w.untag(SOURCE, &name, &["replicate"]).await;
        ("RemoveTagsFromResource", json!({"resourceType": "Parameter", "resourceId": name, "tagKeys": ["replicate"]}))
    } else {
        w.tag(SOURCE, &name, deselect).await;
        ("AddTagsToResource", json!({"resourceType": "Parameter", "resourceId": name}))
    };
    let report = w.invoke(cloudtrail_event(event, request)).await.unwrap();
    (name, report)
}

#[tokio::test]
async fn with_pruning_the_event_that_deselects_a_parameter_deletes_its_owned_replicas() {
    let w = World::new(&[PRUNE]).await;
    let (removed, report) = deselected(&w, "removed", &[], true).await;
    let (no, report_no) = deselected(&w, "no", &[("replicate", "no")], false).await;
    for (name, report) in [(&removed, &report), (&no, &report_no)] {
        for region in [EAST, WEST] {
            assert_eq!(outcome(report, name, region), "deleted:deselected", "{name} {region}");
            assert!(w.get(region, name).await.is_none(), "{name} {region}");
        }
        assert!(w.get(SOURCE, name).await.is_some(), "the source stays");
    }
    let (dropped, report) = deselected(&w, "dropped", &[("replicate", "us-east-2")], false).await;
    assert_eq!(outcome(&report, &dropped, WEST), "deleted:deselected");
    assert!(w.get(WEST, &dropped).await.is_none());
    assert_eq!(outcome(&report, &dropped, EAST), "updated", "its replica follows the source's new tag value");
    assert!(w.get(EAST, &dropped).await.is_some());
}

#[tokio::test]
async fn with_pruning_a_selection_tag_value_not_understood_deletes_nothing() {
    let w = World::new(&[PRUNE]).await;
    // `enabled` and `eu_west_1` are typos of `yes` and `eu-west-1`: they select nothing, and prune nothing.
    for (leaf, value) in [("enabled", "enabled"), ("underscore", "us-east-2:eu_west_1")] {
        let (name, report) = deselected(&w, leaf, &[("replicate", value)], false).await;
        assert_eq!(outcome(&report, &name, WEST), "skipped:deselected", "{value}");
        assert!(w.get(WEST, &name).await.is_some(), "{value}: the replica stays");
    }
    assert_eq!(w.calls.total(&["DeleteParameter"]), 0);
}

#[tokio::test]
async fn without_pruning_a_deselected_replica_is_kept_and_reported_deselected() {
    let w = World::new(&[]).await;
    let (removed, report) = deselected(&w, "removed", &[], true).await;
    let (no, report_no) = deselected(&w, "no", &[("replicate", "no")], false).await;
    for (name, report) in [(&removed, &report), (&no, &report_no)] {
        for region in [EAST, WEST] {
            assert_eq!(outcome(report, name, region), "skipped:deselected", "{name} {region}");
            assert!(w.get(region, name).await.is_some(), "{name} {region}");
        }
    }
    let (dropped, report) = deselected(&w, "dropped", &[("replicate", "us-east-2")], false).await;
    assert_eq!(outcome(&report, &dropped, WEST), "skipped:deselected");
    assert!(w.get(WEST, &dropped).await.is_some());
    assert_eq!(w.calls.total(&["DeleteParameter"]), 0);

    // A parameter never replicated is simply not selected.
    let never = w.name("never");
    w.put(SOURCE, Put::string(&never, "v").tags(&[("replicate", "no")])).await;
    assert_eq!(outcome(&w.change("Create", &never).await, &never, EAST), "skipped:not-selected");
}

#[tokio::test]
async fn pruning_never_deletes_a_same_name_parameter_we_do_not_own() {
    let w = World::new(&[PRUNE]).await;
    let name = w.name("clash");
    w.put(EAST, Put::string(&name, "theirs").tags(&[])).await;
    w.put(SOURCE, Put::string(&name, "v").tags(&[("replicate", "no")])).await;
    let report = w.change("Update", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "skipped:not-selected");
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("theirs"));
}

/// Parameters replicated, then deselected three ways behind the function's back (no events); the tag
/// index is made current so the full sync sees the new tags.
async fn deselected_quietly(w: &World) -> [String; 4] {
    let names = ["removed", "no", "dropped", "kept"].map(|l| w.name(l));
    for name in &names {
        w.put(SOURCE, Put::string(name, "v").tags(&[("replicate", "us-east-2:eu-west-1")])).await;
        w.change("Create", name).await;
    }
    w.untag(SOURCE, &names[0], &["replicate"]).await;
    w.tag(SOURCE, &names[1], &[("replicate", "no")]).await;
    w.tag(SOURCE, &names[2], &[("replicate", "us-east-2")]).await;
    w.settle().await;
    names
}

/// The last result for `name` in `region` (a full sync may report a parameter in its source pass, then
/// again in its orphan pass).
fn last_outcome(report: &Report, name: &str, region: &str) -> String {
    let t = report
        .parameters
        .iter()
        .rev()
        .filter(|p| p.name.as_str() == name)
        .find_map(|p| p.targets.iter().find(|t| t.target.to_string() == region))
        .unwrap_or_else(|| panic!("{name} {region} not in report"));
    format!("{}{}", t.outcome.as_str(), t.reason.map(|r| format!(":{}", r.as_str())).unwrap_or_default())
}

fn behaviour() -> AwsBehaviour {
    AwsBehaviour::from_env().with_tag_index_lag(Duration::ZERO)
}

#[tokio::test]
async fn with_pruning_the_full_sync_deletes_replicas_no_longer_selected() {
    let w = World::with_behaviour(&[PRUNE, ("PATH_PREFIXES", "{prefix}/")], behaviour()).await;
    let [removed, no, dropped, kept] = deselected_quietly(&w).await;
    let report = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    for region in [EAST, WEST] {
        for name in [&removed, &no] {
            assert_eq!(last_outcome(&report, name, region), "deleted:deselected", "{name} {region}");
            assert!(w.get(region, name).await.is_none(), "{name} {region}");
        }
        assert!(w.get(region, &kept).await.is_some());
    }
    assert_eq!(last_outcome(&report, &dropped, WEST), "deleted:deselected");
    assert!(w.get(WEST, &dropped).await.is_none());
    assert!(w.get(EAST, &dropped).await.is_some());
    assert_eq!(w.calls.total(&["DeleteParameter"]), 5, "exactly the deselected replicas");
    let again = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    assert_eq!(again.summary.get(&ssm_replicator::domain::Outcome::Deleted), None, "{again:?}");
}

#[tokio::test]
async fn with_pruning_a_listed_source_that_now_says_no_loses_its_replicas_to_the_full_sync() {
    // Every owned replica's name is listed at the source, so the replica index finds no orphan; the
    // deselected source alone must still send the targets through the orphan pass.
    let w = World::with_behaviour(&[PRUNE, ("PATH_PREFIXES", "{prefix}/")], behaviour()).await;
    let (no, kept) = (w.name("no"), w.name("kept"));
    for name in [&no, &kept] {
        w.put(SOURCE, Put::string(name, "v")).await;
        w.change("Create", name).await;
    }
    w.tag(SOURCE, &no, &[("replicate", "no")]).await;
    w.settle().await;
    let report = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    for region in [EAST, WEST] {
        assert_eq!(last_outcome(&report, &no, region), "deleted:deselected", "{region}");
        assert!(w.get(region, &no).await.is_none(), "{region}");
        assert!(w.get(region, &kept).await.is_some(), "{region}");
    }
}

#[tokio::test]
async fn without_pruning_the_full_sync_reports_deselected_replicas_and_keeps_them() {
    let w = World::with_behaviour(&[("PATH_PREFIXES", "{prefix}/")], behaviour()).await;
    let names = deselected_quietly(&w).await;
    let report = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    assert_eq!(report.reasons.get("skipped:deselected"), Some(&5), "{:?}", report.reasons);
    assert_eq!(w.calls.total(&["DeleteParameter"]), 0);
    for name in &names {
        assert!(w.get(EAST, name).await.is_some(), "{name}");
        assert!(w.get(WEST, name).await.is_some(), "{name}");
    }
}

#[tokio::test]
async fn a_recreation_that_would_outlast_the_full_syncs_time_is_left_pending_and_done_by_the_next_sync() {
    // Inside a batch, no write starts that could not finish before the deadline plus half the reserve: a
    // recreation waits SSM's window out (here 5.7 s at the most), which a 1 s reserve cannot hold.
    let w = World::new(&[RECREATE, ("PATH_PREFIXES", "{prefix}/"), ("FULL_SYNC_RESERVE_SECONDS", "1")]).await;
    let name = w.name("retyped");
    w.put(SOURCE, Put::string(&name, "v")).await;
    w.change("Create", &name).await;
    w.delete(SOURCE, &name).await;
    w.put(SOURCE, Put::secure(&name, "s", None)).await;
    w.settle().await;

    // A chain of invocations with no time to spare, each handing on to the next (as the Lambda does).
    let writes = || w.calls.total(&["DeleteParameter", "PutParameter"]);
    let before = writes();
    let mut event = json!({"action": "full-sync"});
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        let report = w.invoke_within(event.clone(), Duration::ZERO).await.unwrap();
        if report.parameters.iter().any(|p| p.name.as_str() == name) {
            outcomes = [EAST, WEST].map(|region| outcome(&report, &name, region)).to_vec();
        }
        match w.handler_continuation().take().as_slice() {
            [next] => event = next.clone(),
            _ => break,
        }
    }
    assert_eq!(outcomes, ["pending:time-budget", "pending:time-budget"]);
    for region in [EAST, WEST] {
        let replica = w.get(region, &name).await.expect("not deleted: the recreation was not begun");
        assert_eq!(replica.r#type(), Some(&ParameterType::String), "{region}");
    }
    assert_eq!(writes() - before, 0, "nothing written");

    let next = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    for region in [EAST, WEST] {
        assert_eq!(outcome(&next, &name, region), "updated:recreated", "{region}");
        assert_eq!(w.get(region, &name).await.unwrap().r#type(), Some(&ParameterType::SecureString), "{region}");
    }
}
