//! A change reaches every target, complete and correct, and only drift is written.

use aws_sdk_ssm::types::{ParameterTier, ParameterType};

use crate::support::*;

#[tokio::test]
async fn string_stringlist_and_securestring_replicate_with_every_attribute() {
    let w = World::new(&[]).await;
    let (s, l, x) = (w.name("plain"), w.name("list"), w.name("secret"));
    let tags = [("replicate", "yes"), ("team", "payments")];
    w.put(
        SOURCE,
        Put {
            description: Some("db url"),
            allowed_pattern: Some("^post.*$"),
            ..Put::string(&s, "postgres://db").tags(&tags)
        },
    )
    .await;
    w.put(SOURCE, Put { kind: ParameterType::StringList, ..Put::string(&l, "a,b,c") }).await;
    w.put(SOURCE, Put::secure(&x, "s3cr3t", None)).await;

    for name in [&s, &l, &x] {
        let report = w.change("Create", name).await;
        for region in [EAST, WEST] {
            assert_eq!(outcome(&report, name, region), "created", "{name} {region}");
        }
    }
    for region in [EAST, WEST] {
        let p = w.get(region, &s).await.unwrap();
        assert_eq!((p.value(), p.r#type()), (Some("postgres://db"), Some(&ParameterType::String)));
        assert_eq!(p.data_type(), Some("text"));
        let meta = w.describe(region, &s).await;
        assert_eq!(meta.description(), Some("db url"));
        assert_eq!(meta.allowed_pattern(), Some("^post.*$"));
        assert_eq!(meta.tier(), Some(&ParameterTier::Standard));
        let t = w.tags_of(region, &s).await;
        assert_eq!(t.get("team").map(String::as_str), Some("payments"));
        assert_eq!(t.get(OWNER_TAG).map(String::as_str), Some(OWNER));

        let p = w.get(region, &l).await.unwrap();
        assert_eq!((p.value(), p.r#type()), (Some("a,b,c"), Some(&ParameterType::StringList)));

        let p = w.get(region, &x).await.unwrap();
        assert_eq!((p.value(), p.r#type()), (Some("s3cr3t"), Some(&ParameterType::SecureString)));
        // Default key at the source → the target's own default key.
        assert_eq!(w.describe(region, &x).await.key_id(), Some("alias/aws/ssm"));
    }
}

#[tokio::test]
async fn securestring_on_a_customer_alias_lands_on_the_same_alias_in_the_target() {
    let w = World::new(&[]).await;
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE, EAST, WEST]).await;
    let name = w.name("aliased");
    w.put(SOURCE, Put::secure(&name, "v1", Some(&alias))).await;

    let report = w.change("Create", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "created");
        assert_eq!(w.describe(region, &name).await.key_id(), Some(alias.as_str()));
        assert_eq!(w.get(region, &name).await.unwrap().value(), Some("v1"));
    }
}

#[tokio::test]
async fn a_missing_target_key_fails_that_target_only() {
    let w = World::new(&[]).await;
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE, EAST]).await; // not in eu-west-1
    let name = w.name("half");
    w.put(SOURCE, Put::secure(&name, "v1", Some(&alias))).await;

    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "created");
    assert_eq!(outcome(&report, &name, WEST), "failed:kms-key-missing");
    let west = &report.parameters[0].targets.iter().find(|t| t.target.to_string() == WEST).unwrap();
    assert_eq!(west.error.as_deref(), Some("DescribeKey: NotFoundException"));
    assert!(w.get(WEST, &name).await.is_none(), "nothing written where the key is missing");
    assert_eq!(w.writes_in(WEST), 0);
}

#[tokio::test]
async fn a_single_region_key_id_maps_through_its_alias_and_the_explicit_map_wins() {
    let w = World::new(&[("KMS_KEY_MAP", "eu-west-1=alias{prefix}-eu")]).await;
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE, EAST]).await;
    w.key_with_alias(&format!("{alias}-eu"), &[WEST]).await;
    // The source parameter names its key by id, not alias.
    let key_id =
        w.kms(SOURCE).describe_key().key_id(&alias).send().await.unwrap().key_metadata().unwrap().key_id().to_owned();
    let name = w.name("by-id");
    w.put(SOURCE, Put::secure(&name, "v1", Some(&key_id))).await;

    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "created");
    assert_eq!(w.describe(EAST, &name).await.key_id(), Some(alias.as_str()));
    assert_eq!(outcome(&report, &name, WEST), "created");
    assert_eq!(w.describe(WEST, &name).await.key_id(), Some(format!("alias{}-eu", w.prefix).as_str()));
}

#[tokio::test]
async fn a_multi_region_key_maps_to_its_replica() {
    let w = World::new(&[]).await;
    let key = w.kms(SOURCE).create_key().multi_region(true).send().await.unwrap();
    let id = key.key_metadata().unwrap().key_id().to_owned();
    w.kms(SOURCE).replicate_key().key_id(&id).replica_region(EAST).send().await.unwrap();
    let name = w.name("mrk");
    w.put(SOURCE, Put::secure(&name, "v1", Some(&id))).await;

    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "created");
    assert_eq!(w.describe(EAST, &name).await.key_id(), Some(id.as_str()));
    assert_eq!(outcome(&report, &name, WEST), "failed:kms-key-missing", "no replica of the key in eu-west-1");
}

#[tokio::test]
async fn an_advanced_value_over_4kb_and_policies_replicate() {
    let w = World::new(&[]).await;
    let (big, pol) = (w.name("big"), w.name("policy"));
    let value = "x".repeat(6000);
    let policy = r#"[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}]"#;
    w.put(SOURCE, Put { tier: Some(ParameterTier::Advanced), ..Put::string(&big, &value) }).await;
    w.put(SOURCE, Put { tier: Some(ParameterTier::Advanced), policies: Some(policy), ..Put::string(&pol, "v") }).await;

    for name in [&big, &pol] {
        let report = w.change("Create", name).await;
        assert_eq!(outcome(&report, name, EAST), "created");
    }
    for region in [EAST, WEST] {
        assert_eq!(w.get(region, &big).await.unwrap().value().map(str::len), Some(6000));
        assert_eq!(w.describe(region, &big).await.tier(), Some(&ParameterTier::Advanced));
        let meta = w.describe(region, &pol).await;
        assert_eq!(meta.tier(), Some(&ParameterTier::Advanced));
        assert_eq!(meta.policies().len(), 1);
        assert!(meta.policies()[0].policy_text().unwrap().contains("2030-12-02T21:34:33.000Z"));
    }
    // And replaying finds the policies equal: nothing is rewritten.
    let before = w.writes();
    let report = w.change("Update", &pol).await;
    assert_eq!(outcome(&report, &pol, EAST), "unchanged");
    assert_eq!(w.writes(), before);
}

#[tokio::test]
async fn tags_added_and_removed_at_the_source_follow_at_the_replica() {
    let w = World::new(&[]).await;
    let name = w.name("tagged");
    w.put(SOURCE, Put::string(&name, "v").tags(&[("replicate", "yes"), ("old", "1")])).await;
    w.change("Create", &name).await;
    assert!(w.tags_of(EAST, &name).await.contains_key("old"));

    w.tag(SOURCE, &name, &[("new", "2")]).await;
    w.untag(SOURCE, &name, &["old"]).await;
    let report = w
        .invoke(cloudtrail_event(
            "AddTagsToResource",
            serde_json::json!({"resourceType": "Parameter", "resourceId": name}),
        ))
        .await
        .unwrap();
    assert_eq!(outcome(&report, &name, EAST), "updated");
    assert_eq!(report.parameters[0].targets[0].changed, vec![ssm_replicator::domain::Field::Tags]);
    for region in [EAST, WEST] {
        let t = w.tags_of(region, &name).await;
        assert_eq!(t.get("new").map(String::as_str), Some("2"));
        assert!(!t.contains_key("old"));
        assert_eq!(t.get(OWNER_TAG).map(String::as_str), Some(OWNER));
    }
    assert_eq!(w.calls.total(&["PutParameter"]), 2, "a tag change rewrites no value");
}

#[tokio::test]
async fn replaying_the_same_event_writes_nothing() {
    let w = World::new(&[]).await;
    let name = w.name("replayed");
    w.put(SOURCE, Put { description: Some("d"), ..Put::string(&name, "v").tags(&[("replicate", "yes"), ("k", "v")]) })
        .await;
    let first = w.change("Create", &name).await;
    assert_eq!(first.summary.get(&ssm_replicator::domain::Outcome::Created), Some(&2));
    let after_first = w.writes();
    assert_eq!(after_first, 2, "one PutParameter (tags included) per target");

    // A replay comes later (Lambda's retry, a duplicate delivery): by then DescribeParameters lists
    // the replicas just created. Replayed at once, each replica read waits out the listing lag.
    w.settle().await;
    let replay = w.change("Create", &name).await;
    assert_eq!(w.writes(), after_first, "a replay writes nothing");
    assert_eq!(outcome(&replay, &name, EAST), "unchanged");
    assert_eq!(outcome(&replay, &name, WEST), "unchanged");
    // The report counts the replay's own calls: reads only.
    let calls = &replay.api_calls;
    assert!(calls.values().all(|ops| WRITES.iter().all(|w| !ops.contains_key(*w))), "{calls:?}");
    assert_eq!(calls[EAST].get("GetParameter"), Some(&1), "one replica read per target: {calls:?}");
    assert_eq!(w.get(EAST, &name).await.unwrap().version(), 1, "no new version");
}

#[tokio::test]
async fn only_the_drift_is_written_and_a_cleared_description_is_cleared() {
    let w = World::new(&[]).await;
    let name = w.name("drift");
    w.put(SOURCE, Put { description: Some("d"), ..Put::string(&name, "v1") }).await;
    w.change("Create", &name).await;
    w.put(SOURCE, Put { description: Some(""), ..Put::string(&name, "v2") }).await;

    let report = w.change("Update", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "updated");
    use ssm_replicator::domain::Field;
    assert_eq!(report.parameters[0].targets[0].changed, vec![Field::Value, Field::Description]);
    for region in [EAST, WEST] {
        assert_eq!(w.get(region, &name).await.unwrap().value(), Some("v2"));
        assert_eq!(w.describe(region, &name).await.description(), None);
    }
    assert_eq!(w.calls.total(&["PutParameter"]), 4, "create + update per target, no tag writes");
    assert_eq!(w.calls.total(&["AddTagsToResource", "RemoveTagsFromResource"]), 0);
}
