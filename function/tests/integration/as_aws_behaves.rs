//! What went wrong when AWS behaved as it documents, and now does not: each test is a scenario the
//! AWS-behaviour layer (`aws_behaviour.rs`, on in every `World`) exposed, and each fails with the fix
//! taken out (README "Tests" lists which fix each one guards).

use std::time::Duration;

use aws_sdk_ssm::types::ParameterTier;
use futures::future::join_all;
use serde_json::json;
use ssm_replicator::domain::Outcome;
use ssm_replicator::handler::HandlerError;

use crate::aws_behaviour::AwsBehaviour;
use crate::faults::{FaultProxy, Rule};
use crate::support::*;

const PREFIX_ONLY: (&str, &str) = ("PATH_PREFIXES", "{prefix}/");

/// `n` user tags (`k00`…) plus `replicate=yes`.
fn tags_with(n: usize) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = (0..n - 1).map(|i| (format!("k{i:02}"), "v".to_string())).collect();
    tags.push(("replicate".into(), "yes".into()));
    tags
}

fn as_refs(tags: &[(String, String)]) -> Vec<(&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn error_of(report: &ssm_replicator::domain::Report, name: &str, region: &str) -> String {
    let p = report.parameters.iter().find(|p| p.name.as_str() == name).unwrap();
    p.targets.iter().find(|t| t.target.to_string() == region).unwrap().error.clone().unwrap_or_default()
}

async fn full_sync(w: &World) -> ssm_replicator::domain::Report {
    w.invoke(json!({"action": "full-sync"})).await.unwrap_or_else(|e| panic!("full sync: {e}"))
}

/// The data-loss bug: an empty first DescribeParameters page was taken for "the source is gone", and the
/// replicas of a live parameter were deleted.
#[tokio::test]
async fn an_update_handled_while_every_filtered_first_page_is_empty_reaches_both_replicas() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let name = w.name("live");
    w.put(SOURCE, Put::string(&name, "v1")).await;
    w.settle().await;
    assert_eq!(outcome(&w.change("Create", &name).await, &name, EAST), "created");

    w.put(SOURCE, Put::string(&name, "v2")).await;
    let report = w.change("Update", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated");
        assert_eq!(w.get(region, &name).await.unwrap().value(), Some("v2"), "{region}");
    }
    assert_eq!(w.calls.total(&["DeleteParameter"]), 0, "nothing deleted");
    // Existence and metadata of one parameter never come from a listing: the event path lists nothing.
    assert_eq!(w.calls.total(&["DescribeParameters"]), 0);
    // The full sync does list, and pages past the empty first pages to the same result.
    let sync = full_sync(&w).await;
    assert_eq!(sync.summary.get(&Outcome::Deleted), None, "{:?}", sync.summary);
    assert!(w.proxy().empty_pages_total() > 0, "the layer answered empty first pages");
    for region in [EAST, WEST] {
        assert_eq!(w.get(region, &name).await.unwrap().value(), Some("v2"), "{region}");
    }
}

/// A parameter created a moment ago (not listed yet) is replicated by the event handled at once, not
/// reported `replica-absent`.
#[tokio::test]
async fn a_just_created_parameter_is_replicated_once_the_listing_catches_up() {
    let w = World::new(&[]).await;
    let name = w.name("new");
    w.put(SOURCE, Put::string(&name, "v")).await;
    let report = w.change("Create", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "created");
    }
}

/// However long DescribeParameters takes to list a new parameter, its event replicates it: one
/// parameter's metadata comes from its own history (GetParameterHistory), never from a listing.
#[tokio::test]
async fn a_parameter_readable_but_not_listed_is_replicated_by_its_event() {
    let w = World::with_behaviour(&[], AwsBehaviour::default().with_lag(Duration::from_secs(600))).await;
    let name = w.name("lagging");
    w.put(SOURCE, Put::string(&name, "v")).await;
    let report = w.change("Create", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "created");
    }
    assert_eq!(w.calls.total(&["DescribeParameters"]), 0, "the event path lists nothing");
}

/// If the parameter's history keeps disagreeing with GetParameter, the invocation fails (Lambda retries
/// it): never `deleted`, never a successful `replica-absent` that nothing would retry.
#[tokio::test]
async fn a_parameter_whose_history_disagrees_fails_the_invocation_and_writes_nothing() {
    let faulty = FaultProxy::start(&endpoint(), vec![Rule::fail("GetParameterHistory", "ParameterNotFound")]);
    let w = World::proxied(&[], SOURCE, &faulty.url).await;
    let name = w.name("no-history");
    w.put(SOURCE, Put::string(&name, "v")).await;
    let err = w.invoke(change_event("Create", &name)).await.unwrap_err();
    assert!(matches!(err, HandlerError::Transient { .. }), "{err}");
    assert!(err.to_string().contains(&name), "{err}");
    assert_eq!(w.writes(), 0);
    assert!(w.get(EAST, &name).await.is_none());
}

/// A replica written a moment ago is not listed yet either: it is updated, not created a second time
/// (which failed with ParameterAlreadyExists on every retry).
#[tokio::test]
async fn a_replica_written_a_moment_ago_is_updated_not_created_again() {
    let w = World::new(&[]).await;
    let name = w.name("fresh");
    w.put(SOURCE, Put::string(&name, "v1")).await;
    w.change("Create", &name).await;
    w.put(SOURCE, Put::string(&name, "v2")).await;
    let report = w.change("Update", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated");
        assert_eq!(w.get(region, &name).await.unwrap().value(), Some("v2"));
    }
}

/// A full sync writes values it read seconds earlier; events handled meanwhile write newer ones. The
/// full sync confirms the source version around its writes, so the newest value is what remains.
#[tokio::test]
async fn a_slow_full_sync_and_newer_events_leave_every_replica_at_the_newest_value() {
    let w = World::new(&[PREFIX_ONLY, ("WRITE_TPS", "2")]).await;
    let names: Vec<String> = (0..4).map(|i| w.name(&format!("r{i}"))).collect();
    for n in &names {
        w.put(SOURCE, Put::string(n, "v0")).await;
    }
    w.settle().await;
    full_sync(&w).await;
    for n in &names {
        w.put(SOURCE, Put::string(n, "older")).await;
    }

    // The sync reads "older" everywhere, then writes 4 replicas per target at 2 per second; 300 ms in,
    // every parameter changes again and its event is handled at once by another Lambda instance (its
    // own rate limiter, as concurrent invocations have), which writes the newest values first.
    let other_instance = World::new(&[]).await;
    let sync = full_sync(&w);
    let events = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        for (i, n) in names.iter().enumerate() {
            w.put(SOURCE, Put::string(n, &format!("newest-{i}"))).await;
        }
        join_all(names.iter().map(|n| other_instance.invoke(change_event("Update", n)))).await
    };
    let (_, events) = tokio::join!(sync, events);
    for e in events {
        e.unwrap();
    }
    for (i, n) in names.iter().enumerate() {
        for region in [EAST, WEST] {
            let replica = w.get(region, n).await.unwrap();
            assert_eq!(replica.value(), Some(format!("newest-{i}").as_str()), "{n} in {region}");
        }
    }
}

/// 49 user tags + the ownership tag = 50: replicated, without the digest tag. 50 user tags leave no room.
#[tokio::test]
async fn a_source_with_49_tags_is_replicated_and_one_with_50_fails_with_tag_limit() {
    let w = World::new(&[]).await;
    let (fits, full) = (w.name("tags49"), w.name("tags50"));
    let (t49, t50) = (tags_with(49), tags_with(50));
    w.put(SOURCE, Put::string(&fits, "v").tags(&as_refs(&t49))).await;
    w.put(SOURCE, Put::string(&full, "v").tags(&as_refs(&t50))).await;

    let report = w.invoke(json!({"action": "sync", "names": [fits, full]})).await.unwrap();
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &fits, region), "created");
        let tags = w.tags_of(region, &fits).await;
        assert_eq!(tags.len(), 50, "49 user tags and the ownership tag");
        assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some(OWNER));
        assert!(!tags.contains_key("ssm-replicator:tags"), "no room for the digest tag");

        assert_eq!(outcome(&report, &full, region), "failed:tag-limit");
        assert!(error_of(&report, &full, region).contains("has 50 tags"), "{}", error_of(&report, &full, region));
        assert!(w.get(region, &full).await.is_none());
    }
    // Handled again, the digest-less replica is read whole and found in sync.
    let again = w.invoke(json!({"action": "sync", "names": [fits]})).await.unwrap();
    assert_eq!(outcome(&again, &fits, EAST), "unchanged");
}

/// A replica at 50 tags whose source renames one tag: the old one goes before the new one comes.
#[tokio::test]
async fn a_replica_at_the_tag_limit_follows_a_renamed_source_tag() {
    let w = World::new(&[]).await;
    let name = w.name("renamed");
    let t48 = tags_with(48);
    w.put(SOURCE, Put::string(&name, "v").tags(&as_refs(&t48))).await;
    w.change("Create", &name).await;
    assert_eq!(w.tags_of(EAST, &name).await.len(), 50, "48 user tags, ownership and digest");

    w.untag(SOURCE, &name, &["k00"]).await;
    w.tag(SOURCE, &name, &[("renamed", "v")]).await;
    let report = w.change("Update", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated");
        let tags = w.tags_of(region, &name).await;
        assert!(tags.contains_key("renamed") && !tags.contains_key("k00"), "{region}: {tags:?}");
    }
}

/// Policies are sent only when they differ, and a removed source policy is removed from the replica in
/// the documented way.
#[tokio::test]
async fn policies_are_written_only_when_they_differ_and_removed_as_documented() {
    let w = World::new(&[]).await;
    let name = w.name("expiring");
    let policy = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}]"#;
    let advanced = |value| Put { tier: Some(ParameterTier::Advanced), ..Put::string(&name, value) };
    w.put(SOURCE, Put { policies: Some(policy), ..advanced("v1") }).await;
    w.change("Create", &name).await;
    assert_eq!(w.proxy().requests_with_field("PutParameter", "Policies"), 2, "sent on create");

    // A value change: the replica's policy is equal, so Policies is not sent (it would be kept anyway).
    w.put(SOURCE, advanced("v2")).await;
    let report = w.change("Update", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "updated");
    assert_eq!(w.proxy().requests_with_field("PutParameter", "Policies"), 2, "not sent when equal");
    assert_eq!(w.describe(EAST, &name).await.policies().len(), 1, "kept");

    // The source drops its policy: the replica's is removed.
    w.put(SOURCE, Put { policies: Some("[{}]"), ..advanced("v2") }).await;
    assert!(w.describe(SOURCE, &name).await.policies().is_empty());
    let report = w.change("Update", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "updated");
    for region in [EAST, WEST] {
        assert!(w.describe(region, &name).await.policies().is_empty(), "{region}");
    }
    assert_eq!(outcome(&w.change("Update", &name).await, &name, EAST), "unchanged");
}

/// One listed item the adapter cannot read fails alone; the rest of the page, and the sync, go on.
#[tokio::test]
async fn one_unreadable_listed_item_fails_alone_and_the_full_sync_goes_on() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let names = seed_mix(&w, 6, None).await;
    // Policy text the parser cannot read (a double quote inside a value of the emulator's literal form).
    let odd = w.name("odd-policy");
    let policy = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"},"Note":"say \"hi\""}]"#;
    w.put(SOURCE, Put { tier: Some(ParameterTier::Advanced), policies: Some(policy), ..Put::string(&odd, "v") }).await;
    w.settle().await;

    let report = full_sync(&w).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &odd, region), "failed:policy-unreadable");
        for n in &names {
            assert!(w.get(region, n).await.is_some(), "{n} replicated in {region}");
        }
    }
    assert_eq!(report.summary.get(&Outcome::Created), Some(&12));
}

/// A SecureString that cannot be decrypted fails the whole GetParameters batch on AWS: asked again name
/// by name, it fails alone and the other nine of its batch are replicated.
#[tokio::test]
async fn one_undecryptable_securestring_fails_alone() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let names: Vec<String> = (0..10).map(|i| w.name(&format!("s{i}"))).collect();
    for n in &names {
        w.put(SOURCE, Put::secure(n, "secret", None)).await;
    }
    w.settle().await;
    w.proxy().undecryptable(&names[3]);

    let report = full_sync(&w).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &names[3], region), "failed:kms-key-missing");
        assert_eq!(error_of(&report, &names[3], region), "GetParameters: InvalidKeyId");
    }
    assert_eq!(report.summary.get(&Outcome::Created), Some(&18), "{:?}", report.summary);
}

/// SSM's name limit counts the ARN prefix: a name that fits us-east-2 is too long for ap-southeast-2.
#[tokio::test]
async fn a_name_too_long_for_one_targets_arn_fails_that_target_before_any_write() {
    let w = World::new(&[("TARGETS", "us-east-2,ap-southeast-2")]).await;
    // "arn:aws:ssm:us-east-1:123456789012:parameter" is 44 characters (the user guide's example:
    // "arn:aws:ssm:us-east-2:111122223333:parameter/ExampleParameterName" counts 65): this name makes
    // exactly 1011 in us-east-1 and us-east-2, and 1016 in ap-southeast-2.
    let name = format!("{}/{}", w.prefix, "a".repeat(1011 - 44 - w.prefix.len() - 1));
    w.put(SOURCE, Put::string(&name, "v")).await;
    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "created");
    assert_eq!(outcome(&report, &name, "ap-southeast-2"), "failed:name-too-long");
    let error = error_of(&report, &name, "ap-southeast-2");
    assert!(error.contains("1016 characters"), "{error}");
    assert_eq!(w.calls.get("ap-southeast-2", "PutParameter"), 0);
}

/// A SecureString written with the id or ARN of the AWS managed `aws/ssm` key is on the default key.
#[tokio::test]
async fn a_securestring_on_the_aws_ssm_key_given_by_id_or_arn_goes_to_the_targets_default_key() {
    let w = World::new(&[]).await;
    let meta = w.kms(SOURCE).describe_key().key_id("alias/aws/ssm").send().await.unwrap().key_metadata.unwrap();
    let (by_id, by_arn) = (w.name("by-id"), w.name("by-arn"));
    w.put(SOURCE, Put::secure(&by_id, "s1", Some(meta.key_id()))).await;
    w.put(SOURCE, Put::secure(&by_arn, "s2", meta.arn())).await;
    let report = w.invoke(json!({"action": "sync", "names": [by_id, by_arn]})).await.unwrap();
    for name in [&by_id, &by_arn] {
        for region in [EAST, WEST] {
            assert_eq!(outcome(&report, name, region), "created", "{name} in {region}");
            assert_eq!(w.describe(region, name).await.key_id(), Some("alias/aws/ssm"));
        }
    }
}

/// In `all` mode a same-name parameter already in a target is somebody's regional value: left alone.
#[tokio::test]
async fn in_all_mode_a_same_name_target_parameter_is_left_alone_by_default() {
    let w = World::new(&[PREFIX_ONLY, ("SELECTION_MODE", "all")]).await;
    let name = w.name("regional");
    w.put(SOURCE, Put::string(&name, "global").tags(&[])).await;
    w.put(EAST, Put::string(&name, "regional").tags(&[])).await;
    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "skipped:unmanaged");
    assert_eq!(outcome(&report, &name, WEST), "created");
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("regional"));
}

/// Advanced cannot go back to Standard in place: reported before any write.
#[tokio::test]
async fn an_advanced_replica_of_a_source_now_standard_is_reported_not_written() {
    let w = World::new(&[]).await;
    let name = w.name("downgraded");
    w.put(SOURCE, Put { tier: Some(ParameterTier::Advanced), ..Put::string(&name, "v") }).await;
    w.change("Create", &name).await;
    // The source was deleted and created again as Standard.
    w.delete(SOURCE, &name).await;
    w.put(SOURCE, Put::string(&name, "v2")).await;
    let before = w.calls.total(&["PutParameter"]);
    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "failed:type-change-needs-recreate");
    assert_eq!(w.calls.total(&["PutParameter"]), before, "not even attempted");
}

/// A type change cannot be made in place either: reported before any write, the replica left as it is.
#[tokio::test]
async fn a_replica_of_a_source_whose_type_changed_is_reported_not_written() {
    let w = World::new(&[]).await;
    let name = w.name("retyped");
    w.put(SOURCE, Put::string(&name, "v")).await;
    w.change("Create", &name).await;
    // The source was deleted and created again as a SecureString.
    w.delete(SOURCE, &name).await;
    w.put(SOURCE, Put::secure(&name, "s", None)).await;
    let before = w.calls.total(&["PutParameter"]);
    let report = w.change("Create", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "failed:type-change-needs-recreate");
        assert_eq!(w.get(region, &name).await.unwrap().value(), Some("v"), "{region}");
    }
    assert_eq!(w.calls.total(&["PutParameter"]), before, "not even attempted");
}
