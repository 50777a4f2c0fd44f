//! Secrets Manager secrets (SECRETS=true): native replication in this account, copies in others.
//! The emulator keeps each account's and region's secrets apart, replicates natively (InSync at once),
//! and, with correction 8 of scripts/moto_server.py, honours a replica region's key as AWS does.

use aws_sdk_secretsmanager::types::Tag;
use serde_json::{json, Value};
use ssm_replicator::domain::Report;

use crate::support::*;

const DR: &str = "111111111111/us-west-2";

/// SECRETS on, under this test's prefix (its names are `t…/leaf`), with `targets`.
async fn world(targets: &str, extra: &[(&str, &str)]) -> World {
    let mut env = vec![("TARGETS", targets), ("SECRETS", "true"), ("SECRET_PREFIXES", "{secret_prefix}")];
    env.extend_from_slice(extra);
    World::new(&env).await
}

/// A secret name under the world's prefix, as Secrets Manager names go (no leading slash).
fn secret_name(w: &World, leaf: &str) -> String {
    format!("{}/{leaf}", &w.prefix[1..])
}

async fn create(w: &World, place: &str, name: &str, value: &str, tags: &[(&str, &str)], key: Option<&str>) -> String {
    let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build()).collect();
    let out = w
        .secrets(place)
        .create_secret()
        .name(name)
        .secret_string(value)
        .description("the database")
        .set_kms_key_id(key.map(str::to_owned))
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
    out.arn.unwrap()
}

/// A CloudTrail event of a Secrets Manager call, as EventBridge delivers it.
fn secret_event(event_name: &str, request: Value, response: Value) -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000002",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.secretsmanager",
        "account": ACCOUNT,
        "time": "2026-11-21T09:00:00Z",
        "region": SOURCE,
        "resources": [],
        "detail": {
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": event_name,
            "awsRegion": SOURCE,
            "requestParameters": request,
            "responseElements": response
        }
    })
}

async fn sync_secret(w: &World, arn: &str) -> Report {
    let event = secret_event("PutSecretValue", json!({"secretId": arn}), json!({"arn": arn}));
    w.invoke(event).await.unwrap_or_else(|e| panic!("sync: {e}"))
}

async fn replica_regions(w: &World, name: &str) -> Vec<(String, String, String)> {
    let out = w.secrets(SOURCE).describe_secret().secret_id(name).send().await.unwrap();
    out.replication_status()
        .iter()
        .map(|r| {
            (
                r.region().unwrap_or_default().to_owned(),
                r.kms_key_id().unwrap_or_default().to_owned(),
                r.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_tag_switches_native_replication_on_for_the_selected_regions_with_the_mapped_key() {
    let w = world("us-east-2,eu-west-1", &[]).await;
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE, EAST, WEST]).await;
    let (both, east_only, untagged) = (secret_name(&w, "both"), secret_name(&w, "east"), secret_name(&w, "none"));
    let both_arn = create(&w, SOURCE, &both, "v1", &[("replicate", "yes")], Some(&alias)).await;
    let east_arn = create(&w, SOURCE, &east_only, "v1", &[("replicate", "us-east-2")], None).await;
    let none_arn = create(&w, SOURCE, &untagged, "v1", &[], None).await;

    let report = sync_secret(&w, &both_arn).await;
    assert_eq!(outcome(&report, &both, EAST), "created");
    assert_eq!(outcome(&report, &both, WEST), "created");
    let mut regions = replica_regions(&w, &both).await;
    regions.sort();
    assert_eq!(
        regions,
        vec![
            ("eu-west-1".to_owned(), alias.clone(), "InSync".to_owned()),
            ("us-east-2".to_owned(), alias.clone(), "InSync".to_owned())
        ]
    );
    let text = serde_json::to_string(&report).unwrap();
    assert!(text.contains(r#""kind":"secret""#), "{text}");

    let report = sync_secret(&w, &east_arn).await;
    assert_eq!(outcome(&report, &east_only, EAST), "created");
    assert_eq!(outcome(&report, &east_only, WEST), "skipped:not-selected");
    assert_eq!(replica_regions(&w, &east_only).await.len(), 1);

    let before = w.calls.get(SOURCE, "ReplicateSecretToRegions");
    let report = sync_secret(&w, &none_arn).await;
    assert_eq!(outcome(&report, &untagged, EAST), "skipped:not-selected");
    assert_eq!(w.calls.get(SOURCE, "ReplicateSecretToRegions"), before, "nothing switched on untagged");

    // Again: the status is read from the source's description alone, and is InSync.
    let again = sync_secret(&w, &both_arn).await;
    assert_eq!(outcome(&again, &both, EAST), "unchanged");
    assert_eq!(w.calls.get(EAST, "DescribeSecret") + w.calls.get(WEST, "DescribeSecret"), 3, "only before adding");
}

#[tokio::test]
async fn copies_in_another_account_carry_the_source_version_id_and_are_not_rewritten_on_a_rerun() {
    let w = world(&format!("us-east-2,{DR}"), &[]).await;
    let name = secret_name(&w, "copied");
    let arn = create(&w, SOURCE, &name, "s3cret-1", &[("replicate", DR), ("team", "core")], None).await;

    let report = sync_secret(&w, &arn).await;
    assert_eq!(outcome(&report, &name, DR), "created");
    assert_eq!(outcome(&report, &name, EAST), "skipped:not-selected");
    let source = w.secrets(SOURCE).get_secret_value().secret_id(&name).send().await.unwrap();
    let copy = w.secrets(DR).get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!(copy.secret_string(), Some("s3cret-1"));
    assert_eq!(copy.version_id(), source.version_id(), "the copy's AWSCURRENT is the source's version id");
    let described = w.secrets(DR).describe_secret().secret_id(&name).send().await.unwrap();
    let tags: Vec<(&str, &str)> =
        described.tags().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())).collect();
    assert!(tags.contains(&(OWNER_TAG, OWNER)) && tags.contains(&("team", "core")), "{tags:?}");
    assert_eq!(described.description(), Some("the database"));

    let writes = w.writes_in(DR);
    let again = sync_secret(&w, &arn).await;
    assert_eq!(outcome(&again, &name, DR), "unchanged");
    assert_eq!(w.writes_in(DR), writes, "no write on a re-run");
    assert_eq!(w.calls.get(SOURCE, "GetSecretValue"), 1, "no value read when the version ids agree");

    w.secrets(SOURCE).put_secret_value().secret_id(&name).secret_string("s3cret-2").send().await.unwrap();
    let report = sync_secret(&w, &arn).await;
    assert_eq!(outcome(&report, &name, DR), "updated");
    let source = w.secrets(SOURCE).get_secret_value().secret_id(&name).send().await.unwrap();
    let copy = w.secrets(DR).get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!((copy.secret_string(), copy.version_id()), (Some("s3cret-2"), source.version_id()));

    w.secrets(SOURCE).delete_secret().secret_id(&name).send().await.unwrap();
    let event = secret_event("DeleteSecret", json!({"secretId": name}), json!({"arn": arn}));
    let report = w.invoke(event).await.unwrap();
    assert_eq!(outcome(&report, &name, DR), "deleted");
    let gone = w.secrets(DR).describe_secret().secret_id(&name).send().await.unwrap();
    assert!(gone.deleted_date().is_some(), "scheduled for deletion, within its recovery window");
}
