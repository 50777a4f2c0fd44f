//! Targets in other accounts (`ACCOUNT/REGION`), reached through the target role there. The emulator
//! keeps every account's Parameter Store and KMS apart, and credentials from AssumeRole act in the role's
//! account; it checks no trust or key policy (those are tested on the templates in infra/test).

use serde_json::json;
use ssm_replicator::domain::{Outcome, Report};

use crate::faults::{FaultProxy, Rule};
use crate::support::*;

const PREFIX_ONLY: (&str, &str) = ("PATH_PREFIXES", "{prefix}/");
/// A region of this account, a region of a disaster-recovery account, and the source region itself in a
/// workload account.
const DR: &str = "111111111111/us-west-2";
const SAME_REGION: &str = "222222222222/us-east-1";
const THREE: (&str, &str) = ("TARGETS", "us-east-2,111111111111/us-west-2,222222222222/us-east-1");
const PLACES: [&str; 3] = [EAST, DR, SAME_REGION];

fn error_of(report: &Report, name: &str, place: &str) -> String {
    let p = report.parameters.iter().find(|p| p.name.as_str() == name).unwrap();
    p.targets.iter().find(|t| t.target.to_string() == place).unwrap().error.clone().unwrap_or_default()
}

async fn sync(w: &World, names: &[&String]) -> Report {
    w.invoke(json!({"action": "sync", "names": names})).await.unwrap_or_else(|e| panic!("sync: {e}"))
}

#[tokio::test]
async fn parameters_replicate_into_two_other_accounts_with_every_attribute_and_the_ownership_tag() {
    let w = World::new(&[PREFIX_ONLY, THREE]).await;
    let (plain, list, secret) = (w.name("plain"), w.name("list"), w.name("secret"));
    let tags = [("replicate", "yes"), ("team", "core")];
    w.put(
        SOURCE,
        Put { description: Some("d"), allowed_pattern: Some("^v.*$"), ..Put::string(&plain, "v1").tags(&tags) },
    )
    .await;
    w.put(SOURCE, Put { kind: aws_sdk_ssm::types::ParameterType::StringList, ..Put::string(&list, "a,b") }).await;
    w.put(SOURCE, Put::secure(&secret, "s3cret", None)).await;

    let report = sync(&w, &[&plain, &list, &secret]).await;
    for place in PLACES {
        for name in [&plain, &list, &secret] {
            assert_eq!(outcome(&report, name, place), "created", "{name} in {place}");
            assert_eq!(w.tags_of(place, name).await.get(OWNER_TAG).map(String::as_str), Some(OWNER), "{place}");
        }
        assert_eq!(w.get(place, &plain).await.unwrap().value(), Some("v1"));
        let meta = w.describe(place, &plain).await;
        assert_eq!((meta.description(), meta.allowed_pattern()), (Some("d"), Some("^v.*$")), "{place}");
        assert_eq!(w.tags_of(place, &plain).await.get("team").map(String::as_str), Some("core"));
        assert_eq!(w.get(place, &list).await.unwrap().r#type(), Some(&aws_sdk_ssm::types::ParameterType::StringList));
        let s = w.get(place, &secret).await.unwrap();
        assert_eq!((s.r#type(), s.value()), (Some(&aws_sdk_ssm::types::ParameterType::SecureString), Some("s3cret")));
        assert_eq!(w.calls.get(place, "PutParameter"), 3, "{place}: one write per parameter");
    }
    // Nothing in this account's us-east-1 (the source) nor in the other accounts' other regions.
    assert_eq!(w.calls.get(SOURCE, "PutParameter"), 0);
    // The report names each target as configured, and the account of the plain regions.
    let text = serde_json::to_string(&report).unwrap();
    assert!(
        text.contains(r#""target":"111111111111/us-west-2""#) && text.contains(r#""account":"123456789012""#),
        "{text}"
    );

    // Handled again: reads only, in every account.
    let again = sync(&w, &[&plain, &list, &secret]).await;
    assert_eq!(again.summary.get(&Outcome::Unchanged), Some(&9), "{:?}", again.summary);
    assert_eq!(w.writes(), 9);
}

#[tokio::test]
async fn securestring_keys_map_per_account_and_a_source_key_id_is_never_used_in_another_account() {
    let w = World::new(&[PREFIX_ONLY, THREE, ("KMS_KEY_MAP", "222222222222/us-east-1=alias/workload")]).await;
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE, EAST, DR]).await;
    w.key_with_alias("alias/workload", &[SAME_REGION]).await;
    let key_id = w.kms(SOURCE).describe_key().key_id(&alias).send().await.unwrap().key_metadata.unwrap().key_id;
    let (by_alias, by_id, default) = (w.name("by-alias"), w.name("by-id"), w.name("default"));
    w.put(SOURCE, Put::secure(&by_alias, "s1", Some(&alias))).await;
    w.put(SOURCE, Put::secure(&by_id, "s2", Some(&key_id))).await;
    w.put(SOURCE, Put::secure(&default, "s3", None)).await;

    let report = sync(&w, &[&by_alias, &by_id, &default]).await;
    // The same alias in this account's region and in the other account's; the map entry where there is one.
    for place in [EAST, DR] {
        assert_eq!(outcome(&report, &by_alias, place), "created", "{place}");
        assert_eq!(w.describe(place, &by_alias).await.key_id(), Some(alias.as_str()), "{place}");
    }
    assert_eq!(outcome(&report, &by_alias, SAME_REGION), "created");
    assert_eq!(w.describe(SAME_REGION, &by_alias).await.key_id(), Some("alias/workload"));
    // A key given by id: through its alias in this account; never in another account without an entry.
    assert_eq!(outcome(&report, &by_id, EAST), "created");
    assert_eq!(outcome(&report, &by_id, DR), "failed:kms-key-unmapped");
    let error = error_of(&report, &by_id, DR);
    assert!(error.contains("add KMS_KEY_MAP entry 111111111111/us-west-2="), "{error}");
    assert!(w.get(DR, &by_id).await.is_none());
    assert_eq!(outcome(&report, &by_id, SAME_REGION), "created", "the map entry applies");
    // The default key: the target account's own default key.
    for place in PLACES {
        assert_eq!(outcome(&report, &default, place), "created", "{place}");
        assert_eq!(w.get(place, &default).await.unwrap().value(), Some("s3"));
    }
}

#[tokio::test]
async fn a_region_entry_selects_that_region_in_every_account_and_an_exact_entry_one_target() {
    let w = World::new(&[PREFIX_ONLY, THREE]).await;
    let cases = [
        ("dr-only", "111111111111/us-west-2", vec![DR]),
        ("region-everywhere", "us-east-1", vec![SAME_REGION]),
        ("two", "us-east-2:111111111111/us-west-2", vec![EAST, DR]),
        ("none", "333333333333/us-west-2", vec![]),
    ];
    let mut names = Vec::new();
    for (leaf, value, _) in &cases {
        let name = w.name(leaf);
        w.put(SOURCE, Put::string(&name, "v").tags(&[("replicate", value)])).await;
        names.push(name);
    }
    let report = sync(&w, &names.iter().collect::<Vec<_>>()).await;
    for ((_, value, chosen), name) in cases.iter().zip(&names) {
        for place in PLACES {
            let expected = if chosen.contains(&place) { "created" } else { "skipped:not-selected" };
            assert_eq!(outcome(&report, name, place), expected, "{value} → {place}");
        }
    }
}

#[tokio::test]
async fn orphans_are_deleted_in_every_account_and_an_unmanaged_parameter_there_is_left_alone() {
    let w = World::new(&[PREFIX_ONLY, THREE, ("ADOPT_UNMANAGED", "false")]).await;
    let names: Vec<String> = (0..3).map(|i| w.name(&format!("p{i}"))).collect();
    for n in &names {
        w.put(SOURCE, Put::string(n, "v")).await;
    }
    let clash = w.name("clash");
    w.put(SOURCE, Put::string(&clash, "ours")).await;
    w.put(DR, Put::string(&clash, "theirs").tags(&[])).await;
    w.settle().await;
    let first = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    assert_eq!(outcome(&first, &clash, DR), "skipped:unmanaged");
    assert_eq!(w.get(DR, &clash).await.unwrap().value(), Some("theirs"));

    w.delete(SOURCE, &names[0]).await;
    w.settle().await;
    let report = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    for place in PLACES {
        assert_eq!(outcome(&report, &names[0], place), "deleted", "{place}");
        assert!(w.get(place, &names[0]).await.is_none(), "{place}");
        for live in &names[1..] {
            assert!(w.get(place, live).await.is_some(), "{live} in {place}");
        }
        assert_eq!(w.calls.get(place, "DeleteParameter"), 1, "{place}");
    }
    assert_eq!(w.get(DR, &clash).await.unwrap().value(), Some("theirs"), "never adopted, never deleted");
}

#[tokio::test]
async fn two_replicators_in_two_accounts_pointed_at_each_other_write_once_and_never_back() {
    // A: 123456789012/us-east-1 → 111111111111/us-east-1; B: 111111111111/us-east-1 → 123456789012/us-east-1.
    let a = World::new(&[PREFIX_ONLY, ("TARGETS", "111111111111/us-east-1")]).await;
    let prefix = format!("{}/", a.prefix);
    let b = World::in_account(DR_ACCOUNT, &[("TARGETS", "123456789012/us-east-1"), ("PATH_PREFIXES", &prefix)]).await;
    let there = "111111111111/us-east-1";
    let name = a.name("both-ways");

    a.put(SOURCE, Put::string(&name, "v1")).await;
    assert_eq!(outcome(&a.change("Create", &name).await, &name, there), "created");
    // The replica's creation is a change event in B's account, which B receives.
    let echo = b.invoke(change_event_as(DR_ACCOUNT, SOURCE, "Create", &name)).await.unwrap();
    assert_eq!(outcome(&echo, &name, "123456789012/us-east-1"), "skipped:source-is-replica");
    a.settle().await;
    for world in [&b, &a] {
        world.invoke(json!({"action": "full-sync"})).await.unwrap();
    }
    a.put(SOURCE, Put::string(&name, "v2")).await;
    assert_eq!(outcome(&a.change("Update", &name).await, &name, there), "updated");
    b.invoke(change_event_as(DR_ACCOUNT, SOURCE, "Update", &name)).await.unwrap();

    assert_eq!(a.writes(), 2, "A wrote twice, both in B's account");
    assert_eq!(a.writes_in(there), 2);
    assert_eq!(b.writes(), 0, "B never wrote back");
    assert_eq!(b.get(SOURCE, &name).await.unwrap().value(), Some("v2"), "B's us-east-1 holds the replica");
    assert_eq!(a.get(SOURCE, &name).await.unwrap().version(), 2, "A's source untouched by B");
}

#[tokio::test]
async fn a_role_that_cannot_be_assumed_fails_only_that_accounts_targets_and_says_what_to_deploy() {
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![Rule::fail("AssumeRole", "AccessDenied").when_body_contains(WORKLOAD_ACCOUNT)],
    );
    let w = World::through(&[PREFIX_ONLY, THREE], &proxy.url).await;
    let name = w.name("denied");
    w.put(SOURCE, Put::string(&name, "v")).await;

    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "created");
    assert_eq!(outcome(&report, &name, DR), "created");
    assert_eq!(outcome(&report, &name, SAME_REGION), "failed:access-denied");
    let error = error_of(&report, &name, SAME_REGION);
    assert!(error.contains("cannot assume arn:aws:iam::222222222222:role/ssm-replicator-target"), "{error}");
    assert!(error.contains("deploy the target stack in account 222222222222 (make deploy-targets)"), "{error}");
    assert!(proxy.failed("AssumeRole") > 0, "the refusal was exercised");

    // An AccessDenied is asked again twice (IAM is eventually consistent), then remembered for a minute:
    // the next invocation does not ask STS again for that account.
    let asked = proxy.seen("AssumeRole");
    let again = w.change("Update", &name).await;
    assert_eq!(outcome(&again, &name, SAME_REGION), "failed:access-denied");
    assert_eq!(proxy.seen("AssumeRole"), asked);

    // A full sync completes: that account's targets fail per parameter, its orphan pass is skipped, and the
    // other targets' orphan passes go on (an orphan in the DR account is deleted).
    let orphan = w.name("orphan");
    w.put(SOURCE, Put::string(&orphan, "v")).await;
    w.change("Create", &orphan).await;
    w.delete(SOURCE, &orphan).await;
    w.settle().await;
    let sync = w.invoke(json!({"action": "full-sync"})).await.unwrap_or_else(|e| panic!("full sync: {e}"));
    assert_eq!(outcome(&sync, &name, SAME_REGION), "failed:access-denied");
    for place in [EAST, DR] {
        assert_eq!(outcome(&sync, &orphan, place), "deleted", "{place}");
        assert!(w.get(place, &orphan).await.is_none(), "{place}");
    }
}
