//! Secrets Manager secrets (SECRETS=true): native replication in this account, copies in others.
//! The emulator keeps each account's and region's secrets apart, replicates natively (InSync at once),
//! and, with correction 8 of scripts/moto_server.py, honours a replica region's key as AWS does.

use std::time::Duration;

use aws_config::Region;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, ReplicaRegionType, Tag};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use ssm_replicator::domain::{Outcome, Reason, Report, TargetResult};
use ssm_replicator::events::EventError;
use ssm_replicator::handler::HandlerError;
use ssm_replicator::metrics::Metrics;

use crate::aws_behaviour::AwsBehaviour;
use crate::support::*;

const DR: &str = "111111111111/us-west-2";
const PREFIX_ONLY: (&str, &str) = ("PATH_PREFIXES", "{prefix}/");

/// Every Secrets Manager operation the replicator may call.
const SECRETS_OPS: &[&str] = &[
    "ListSecrets",
    "DescribeSecret",
    "GetSecretValue",
    "CreateSecret",
    "PutSecretValue",
    "UpdateSecret",
    "UpdateSecretVersionStage",
    "TagResource",
    "UntagResource",
    "RestoreSecret",
    "DeleteSecret",
    "ReplicateSecretToRegions",
    "RemoveRegionsFromReplication",
];

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

/// The result for `name` in `place`.
fn result<'a>(report: &'a Report, name: &str, place: &str) -> &'a TargetResult {
    let p =
        report.parameters.iter().find(|p| p.name.as_str() == name).unwrap_or_else(|| panic!("{name} not in report"));
    p.targets.iter().find(|t| t.target.to_string() == place).unwrap_or_else(|| panic!("{place} not in report"))
}

/// Calls of `ops` in the report, in every region and account.
fn total(report: &Report, ops: &[&str]) -> u64 {
    report.api_calls.values().flat_map(|o| o.iter()).filter(|(op, _)| ops.contains(&op.as_str())).map(|(_, n)| n).sum()
}

async fn full_sync(w: &World) -> Report {
    w.invoke(json!({"action": "full-sync"})).await.unwrap_or_else(|e| panic!("full sync: {e}"))
}

/// Add `regions` to the secret's replication directly (out of band), each with its key.
async fn replicate_out_of_band(w: &World, name: &str, regions: &[(&str, Option<&str>)]) {
    let add: Vec<ReplicaRegionType> = regions
        .iter()
        .map(|(r, key)| ReplicaRegionType::builder().region(*r).set_kms_key_id(key.map(str::to_owned)).build())
        .collect();
    w.secrets(SOURCE)
        .replicate_secret_to_regions()
        .secret_id(name)
        .set_add_replica_regions(Some(add))
        .send()
        .await
        .unwrap();
}

/// The AWSCURRENT value and version id in `place`. Asked for by stage: the emulator's GetSecretValue
/// without one answers the last version written, even after UpdateSecretVersionStage moved AWSCURRENT
/// (AWS: "If you don't specify either a VersionStage or VersionId, then Secrets Manager returns the
/// AWSCURRENT version", GetSecretValue's VersionId in the SDK's API model,
/// <https://docs.rs/crate/aws-sdk-secretsmanager/1.105.0/source/src/operation/get_secret_value/_get_secret_value_input.rs>).
async fn value_in(w: &World, place: &str, name: &str) -> (Option<String>, Option<String>) {
    let out = w.secrets(place).get_secret_value().secret_id(name).version_stage("AWSCURRENT").send().await.unwrap();
    (out.secret_string().map(str::to_owned), out.version_id().map(str::to_owned))
}

/// The rotation service event as CloudTrail records it and EventBridge delivers it: detail-type "AWS Service
/// Event via CloudTrail", no request parameters, the secret's ARN in `additionalEventData.SecretId` and
/// `resources` empty. Shape from the AWS example in "Multi-user secrets rotation for Amazon RDS"
/// (<https://aws.amazon.com/blogs/database/multi-user-secrets-rotation-for-amazon-rds/>); the event name
/// among Secrets Manager's non-API events:
/// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieve-ct-entries.html>.
fn rotation_succeeded(arn: &str) -> Value {
    json!({
        "version": "0",
        "id": "1f2d0c3e-0000-4000-8000-000000000004",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.secretsmanager",
        "account": ACCOUNT,
        "time": "2026-11-21T09:00:00Z",
        "region": SOURCE,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"accountId": ACCOUNT, "invokedBy": "secretsmanager.amazonaws.com"},
            "eventTime": "2026-11-21T09:00:00Z",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "RotationSucceeded",
            "awsRegion": SOURCE,
            "sourceIPAddress": "secretsmanager.amazonaws.com",
            "userAgent": "secretsmanager.amazonaws.com",
            "requestParameters": null,
            "responseElements": null,
            "additionalEventData": {"SecretId": arn},
            "requestID": format!("Rotation-{arn}-7ac47c8c-0000-4000-8000-000000000000"),
            "eventID": "8bb1c6c1-0000-4000-8000-000000000005",
            "readOnly": false,
            "eventType": "AwsServiceEvent",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management"
        }
    })
}

#[tokio::test]
async fn a_replica_the_service_failed_is_reported_with_its_message_and_counted_as_a_permanent_failure() {
    let w = world("us-east-2,eu-west-1", &[]).await;
    let name = secret_name(&w, "failing");
    let arn = create(&w, SOURCE, &name, "v1", &[("replicate", "yes")], None).await;
    // Out of band, as a template would: eu-west-1 with a key alias that does not exist there. AWS accepts
    // the call and fails that replica (Status Failed, with a StatusMessage): "AWS::SecretsManager::Secret
    // silently fails Replica Secret when invalid KMS Key specified",
    // https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1459 (emulator correction 8).
    let missing = format!("alias/{}-nowhere", &w.prefix[1..]);
    replicate_out_of_band(&w, &name, &[(WEST, Some(&missing))]).await;

    let mut metrics = Metrics::new("ssm-replicator-test");
    let event = secret_event("PutSecretValue", json!({"secretId": arn}), json!({"arn": arn}));
    let report = w.handler.handle_metered(&event, None, &mut metrics).await.unwrap();
    assert_eq!(outcome(&report, &name, WEST), "failed:replica-failed");
    assert_eq!(outcome(&report, &name, EAST), "created", "the other region is switched on all the same");
    let error = result(&report, &name, WEST).error.clone().unwrap_or_default();
    assert!(error.contains(&format!("KMS key {missing} is not usable in eu-west-1")), "the service's message: {error}");

    let mut out = Vec::new();
    metrics.flush(&mut out).unwrap();
    let docs: Vec<Value> = String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let failed = docs.iter().find(|d| d["Reason"] == "replica-failed").unwrap_or_else(|| panic!("{docs:?}"));
    assert_eq!((failed["Target"].as_str(), failed["FailedPermanently"].as_u64()), (Some(WEST), Some(1)), "{failed}");

    // Reported again on the next event, without another attempt to add the region.
    let again = sync_secret(&w, &arn).await;
    assert_eq!(outcome(&again, &name, WEST), "failed:replica-failed");
    assert_eq!(w.calls.get(SOURCE, "ReplicateSecretToRegions"), 1, "only the first run's, for us-east-2");
}

#[tokio::test]
async fn a_mapped_key_missing_in_the_target_fails_that_region_before_any_write() {
    let w = world("us-east-2,eu-west-1", &[("KMS_KEY_MAP", "eu-west-1=alias{prefix}-missing")]).await;
    let (west_only, both) = (secret_name(&w, "west"), secret_name(&w, "both"));
    let west_arn = create(&w, SOURCE, &west_only, "v1", &[("replicate", WEST)], None).await;
    let both_arn = create(&w, SOURCE, &both, "v1", &[("replicate", "yes")], None).await;

    let report = sync_secret(&w, &west_arn).await;
    assert_eq!(outcome(&report, &west_only, WEST), "failed:kms-key-missing");
    assert_eq!(w.calls.get(SOURCE, "ReplicateSecretToRegions"), 0, "the key is checked before any write");
    assert!(replica_regions(&w, &west_only).await.is_empty());

    let report = sync_secret(&w, &both_arn).await;
    assert_eq!(outcome(&report, &both, WEST), "failed:kms-key-missing");
    assert_eq!(outcome(&report, &both, EAST), "created");
    let regions: Vec<String> = replica_regions(&w, &both).await.into_iter().map(|r| r.0).collect();
    assert_eq!(regions, vec![EAST.to_owned()], "one call, for the region whose key is there");
    assert_eq!(w.calls.get(SOURCE, "ReplicateSecretToRegions"), 1);
}

#[tokio::test]
async fn a_same_name_secret_in_a_target_region_is_left_alone_unless_adoption_is_on() {
    for adopt in ["false", "true"] {
        let w = world("us-east-2", &[("ADOPT_UNMANAGED", adopt)]).await;
        let name = secret_name(&w, "taken");
        create(&w, EAST, &name, "theirs", &[], None).await;
        let arn = create(&w, SOURCE, &name, "ours", &[("replicate", "yes")], None).await;

        let report = sync_secret(&w, &arn).await;
        let there = w.secrets(EAST).describe_secret().secret_id(&name).send().await.unwrap();
        if adopt == "false" {
            assert_eq!(outcome(&report, &name, EAST), "skipped:unmanaged");
            assert_eq!(w.calls.get(SOURCE, "ReplicateSecretToRegions"), 0);
            assert_eq!(value_in(&w, EAST, &name).await.0.as_deref(), Some("theirs"), "untouched");
            assert_eq!(there.primary_region(), Some(EAST), "still a secret of its own (its own primary)");
            assert!(replica_regions(&w, &name).await.is_empty());
        } else {
            assert_eq!(outcome(&report, &name, EAST), "created:adopted");
            assert_eq!(w.calls.get(SOURCE, "ReplicateSecretToRegions"), 1);
            assert_eq!(there.primary_region(), Some(SOURCE), "now a replica of the source");
            assert_eq!(value_in(&w, EAST, &name).await.0.as_deref(), Some("ours"));
            assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, EAST), "unchanged");
        }
    }
}

#[tokio::test]
async fn replica_regions_that_are_not_targets_are_left_alone_and_noted_once() {
    let w = world("us-east-2,eu-west-1", &[PREFIX_ONLY]).await;
    let name = secret_name(&w, "wide");
    let arn = create(&w, SOURCE, &name, "v1", &[("replicate", "yes")], None).await;
    replicate_out_of_band(&w, &name, &[("ap-southeast-2", None), ("sa-east-1", None)]).await;

    let report = sync_secret(&w, &arn).await;
    assert_eq!((outcome(&report, &name, EAST), outcome(&report, &name, WEST)), ("created".into(), "created".into()));
    let notes: Vec<&String> = report.notes.iter().filter(|n| n.contains(&name)).collect();
    assert_eq!(notes.len(), 1, "{:?}", report.notes);
    assert!(notes[0].contains("ap-southeast-2") && notes[0].contains("sa-east-1"), "{}", notes[0]);
    assert!(!notes[0].contains(EAST) && !notes[0].contains(WEST), "targets are not in it: {}", notes[0]);

    let mut regions: Vec<String> = replica_regions(&w, &name).await.into_iter().map(|r| r.0).collect();
    regions.sort();
    assert_eq!(regions, ["ap-southeast-2", "eu-west-1", "sa-east-1", "us-east-2"], "nothing removed");
    assert_eq!(w.calls.get(SOURCE, "RemoveRegionsFromReplication"), 0);

    let report = full_sync(&w).await;
    assert_eq!(report.notes.iter().filter(|n| n.contains(&name)).count(), 1, "{:?}", report.notes);
    assert_eq!(total(&report, WRITES), 0, "{:?}", report.api_calls);
}

#[tokio::test]
async fn a_binary_secret_is_copied_byte_for_byte_and_a_source_moved_back_moves_the_copy_label_only() {
    let w = world(&format!("us-east-2,{DR}"), &[]).await;
    let name = secret_name(&w, "blob");
    // Not UTF-8: copied as bytes, never as text.
    let (v1, v2): (Vec<u8>, Vec<u8>) = ((0..=255u8).rev().collect(), vec![0xff, 0x00, 0xfe, 0x80]);
    let tag = Tag::builder().key("replicate").value(DR).build();
    let created = w.secrets(SOURCE).create_secret().name(&name).secret_binary(Blob::new(v1.clone())).tags(tag);
    let arn = created.send().await.unwrap().arn.unwrap();
    let binary_in = |place: &'static str| {
        let (w, name) = (&w, &name);
        async move {
            let current = w.secrets(place).get_secret_value().secret_id(name).version_stage("AWSCURRENT");
            let out = current.send().await.unwrap();
            assert_eq!(out.secret_string(), None, "binary stays binary in {place}");
            (out.secret_binary().map(|b| b.as_ref().to_vec()), out.version_id().map(str::to_owned))
        }
    };

    let report = sync_secret(&w, &arn).await;
    assert_eq!(outcome(&report, &name, DR), "created");
    let first = binary_in(SOURCE).await;
    assert_eq!(binary_in(DR).await, (Some(v1.clone()), first.1.clone()));

    w.secrets(SOURCE).put_secret_value().secret_id(&name).secret_binary(Blob::new(v2.clone())).send().await.unwrap();
    assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, DR), "updated");
    let second = binary_in(SOURCE).await;
    assert_eq!(binary_in(DR).await, (Some(v2.clone()), second.1.clone()));

    // Rolled back at the source: AWSCURRENT moved back to the first version.
    let (first_id, second_id) = (first.1.clone().unwrap(), second.1.clone().unwrap());
    w.secrets(SOURCE)
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&first_id)
        .remove_from_version_id(&second_id)
        .send()
        .await
        .unwrap();
    let (puts, moves, reads) = (
        w.calls.get(DR, "PutSecretValue"),
        w.calls.get(DR, "UpdateSecretVersionStage"),
        w.calls.get(SOURCE, "GetSecretValue"),
    );
    let report = sync_secret(&w, &arn).await;
    assert_eq!(outcome(&report, &name, DR), "updated");
    assert_eq!(w.calls.get(DR, "PutSecretValue"), puts, "no new value written");
    assert_eq!(w.calls.get(DR, "UpdateSecretVersionStage"), moves + 1, "the label moved");
    assert_eq!(w.calls.get(SOURCE, "GetSecretValue"), reads, "no value read");
    assert_eq!(binary_in(DR).await, (Some(v1), Some(first_id)));
    assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, DR), "unchanged");
}

#[tokio::test]
async fn with_deletes_off_a_copy_outlives_its_source_and_an_unmanaged_same_name_secret_is_left_alone() {
    let w = world(&format!("us-east-2,{DR}"), &[("DELETE_REPLICAS", "false"), ("ADOPT_UNMANAGED", "false")]).await;
    let (kept, theirs) = (secret_name(&w, "kept"), secret_name(&w, "theirs"));
    let kept_arn = create(&w, SOURCE, &kept, "v1", &[("replicate", DR)], None).await;
    assert_eq!(outcome(&sync_secret(&w, &kept_arn).await, &kept, DR), "created");

    w.secrets(SOURCE).delete_secret().secret_id(&kept).send().await.unwrap();
    let event = secret_event("DeleteSecret", json!({"secretId": kept}), json!({"arn": kept_arn}));
    let report = w.invoke(event).await.unwrap();
    assert_eq!(outcome(&report, &kept, DR), "skipped:deletes-disabled");
    assert_eq!(w.calls.get(DR, "DeleteSecret"), 0);
    let copy = w.secrets(DR).describe_secret().secret_id(&kept).send().await.unwrap();
    assert!(copy.deleted_date().is_none(), "the copy is kept");
    assert_eq!(value_in(&w, DR, &kept).await.0.as_deref(), Some("v1"));

    create(&w, DR, &theirs, "their value", &[("team", "dr")], None).await;
    let theirs_arn = create(&w, SOURCE, &theirs, "our value", &[("replicate", DR)], None).await;
    let writes = w.writes_in(DR);
    let report = sync_secret(&w, &theirs_arn).await;
    assert_eq!(outcome(&report, &theirs, DR), "skipped:unmanaged");
    assert_eq!(w.writes_in(DR), writes, "nothing written there");
    assert_eq!(value_in(&w, DR, &theirs).await.0.as_deref(), Some("their value"));
    let described = w.secrets(DR).describe_secret().secret_id(&theirs).send().await.unwrap();
    assert!(described.tags().iter().all(|t| t.key() != Some(OWNER_TAG)), "not claimed: {:?}", described.tags());
}

#[tokio::test]
async fn the_rotation_service_event_from_cloudtrail_brings_the_copy_up_to_date() {
    let w = world(&format!("us-east-2,{DR}"), &[]).await;
    let name = secret_name(&w, "rotated");
    let arn = create(&w, SOURCE, &name, "before-rotation", &[("replicate", DR)], None).await;
    assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, DR), "created");

    // What a rotation function's last step leaves: a new AWSCURRENT version (its own event is not awaited).
    w.secrets(SOURCE).put_secret_value().secret_id(&name).secret_string("after-rotation").send().await.unwrap();
    let report = w.invoke(rotation_succeeded(&arn)).await.unwrap();
    assert_eq!(report.trigger, "cloudtrail:RotationSucceeded");
    assert_eq!(outcome(&report, &name, DR), "updated");
    let source = value_in(&w, SOURCE, &name).await;
    assert_eq!(value_in(&w, DR, &name).await, (Some("after-rotation".into()), source.1));
}

#[tokio::test]
async fn a_full_sync_switches_replication_on_for_the_selected_secrets_and_a_rerun_costs_about_one_call_each() {
    let w = world("us-east-2,eu-west-1", &[PREFIX_ONLY]).await;
    let n = 20;
    let selected: Vec<String> = (0..n).map(|i| secret_name(&w, &format!("s{i:02}"))).collect();
    let untagged: Vec<String> = (0..5).map(|i| secret_name(&w, &format!("untagged{i}"))).collect();
    // Tagged, but outside SECRET_PREFIXES (`t…/`): `t…-outside/…`.
    let outside: Vec<String> = (0..5).map(|i| format!("{}-outside/o{i}", &w.prefix[1..])).collect();
    let seeds = selected
        .iter()
        .map(|n| (n, true))
        .chain(untagged.iter().map(|n| (n, false)))
        .chain(outside.iter().map(|n| (n, true)));
    stream::iter(seeds)
        .for_each_concurrent(8, |(name, tagged)| {
            let w = &w;
            async move {
                let tags: &[(&str, &str)] = if tagged { &[("replicate", "yes")] } else { &[("team", "core")] };
                create(w, SOURCE, name, "v1", tags, None).await;
            }
        })
        .await;

    let listed_empty = w.proxy().tally("ListSecrets").emulated;
    let first = full_sync(&w).await;
    assert_eq!(first.summary.get(&Outcome::Created), Some(&(2 * n as u64)), "{:?}", first.summary);
    assert_eq!(first.api_calls[SOURCE]["ReplicateSecretToRegions"], n as u64, "one call per secret, both regions");
    for name in &selected {
        let mut regions: Vec<String> = replica_regions(&w, name).await.into_iter().map(|r| r.0).collect();
        regions.sort();
        assert_eq!(regions, [WEST, EAST], "{name}");
    }
    for name in untagged.iter().chain(&outside) {
        assert!(replica_regions(&w, name).await.is_empty(), "{name}");
    }
    // The AWS-behaviour layer answered the first ListSecrets page empty, with a token: followed all the same.
    assert!(w.proxy().tally("ListSecrets").emulated > listed_empty, "an empty page was met");

    let injected_before = w.proxy().tally("ListSecrets").emulated;
    let second = full_sync(&w).await;
    // Empty ListSecrets pages are AWS's cost (behaviour 1), not ours: not counted in the budget.
    let injected = w.proxy().tally("ListSecrets").emulated - injected_before;
    assert_eq!(second.summary.get(&Outcome::Unchanged), Some(&(2 * n as u64)), "{:?}", second.summary);
    assert_eq!(total(&second, WRITES), 0, "{:?}", second.api_calls);
    let calls = total(&second, SECRETS_OPS) - injected;
    let per_secret = calls as f64 / n as f64;
    eprintln!(
        "no-change full sync of {n} secrets into 2 own-account regions: {calls} Secrets Manager calls (+{injected} injected empty pages) = {per_secret:.3}/secret; {:?}",
        second.api_calls
    );
    assert!(per_secret <= 1.1, "{per_secret} calls per secret: {:?}", second.api_calls);
    // Untagged secrets and those outside the prefixes are filtered out by ListSecrets, never described.
    assert_eq!(second.api_calls[SOURCE]["DescribeSecret"], n as u64, "{:?}", second.api_calls);
    assert_eq!(first.api_calls[SOURCE]["DescribeSecret"], n as u64, "{:?}", first.api_calls);
}

#[tokio::test]
async fn list_secrets_through_the_aws_behaviour_layer_may_be_empty_with_a_token_and_still_lists_every_secret() {
    // Every page empty first (rate 1: the layer then hands the real token on): deterministic, whatever
    // the random prefix in the request does to the seeded draw.
    let w = World::with_behaviour(&[], AwsBehaviour::default().with_empty_page_rate(1.0)).await;
    let sdk = sdk_config_at(&w.proxy().url).await;
    let conf = aws_sdk_secretsmanager::config::Builder::from(&sdk).region(Region::new(SOURCE)).build();
    let client = aws_sdk_secretsmanager::Client::from_conf(conf);
    let mut names: Vec<String> = (0..7).map(|i| secret_name(&w, &format!("l{i}"))).collect();
    for name in &names {
        create(&w, SOURCE, name, "v", &[], None).await;
    }
    let filter = Filter::builder().key(FilterNameStringType::Name).values(secret_name(&w, "")).build();

    let (mut listed, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let out = client
            .list_secrets()
            .filters(filter.clone())
            .max_results(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        if pages == 0 {
            assert!(out.secret_list().is_empty(), "the first page is empty: {out:?}");
            assert!(out.next_token().is_some_and(|t| t.starts_with("awsb-empty.")), "{out:?}");
        }
        pages += 1;
        listed.extend(out.secret_list().iter().filter_map(|s| s.name().map(str::to_owned)));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    listed.sort();
    names.sort();
    assert_eq!(listed, names, "every secret once: the real tokens were handed on");
    let injected = w.proxy().tally("ListSecrets").emulated;
    eprintln!("ListSecrets: {injected} empty of {pages} pages for 7 secrets in pages of 2");
    assert_eq!(injected, 4, "an empty page before each of the 4 real ones, after the first too");
    assert_eq!(pages as u64, 4 + injected, "every injected empty page is one more call");

    let bad = client.list_secrets().next_token("awsb-empty.not-hex").send().await.unwrap_err();
    assert_eq!(bad.as_service_error().and_then(ProvideErrorMetadata::code), Some("InvalidNextTokenException"));
}

#[tokio::test]
async fn with_secrets_off_a_secret_event_is_ignored_without_a_call_and_foreign_events_are_rejected() {
    let off = World::new(&[]).await;
    let name = secret_name(&off, "off");
    let arn = create(&off, SOURCE, &name, "v1", &[("replicate", "yes")], None).await;
    let report = sync_secret(&off, &arn).await;
    assert_eq!(report.ignored, Some(Reason::SecretsDisabled));
    assert!(report.parameters.is_empty());
    assert_eq!(total(&report, SECRETS_OPS), 0, "{:?}", report.api_calls);
    assert_eq!(off.calls.total(SECRETS_OPS), 0);

    let on = world("us-east-2", &[]).await;
    let mut foreign = secret_event("PutSecretValue", json!({"secretId": arn}), json!({"arn": arn}));
    foreign["account"] = json!("999999999999");
    match on.invoke(foreign).await {
        Err(HandlerError::BadEvent(EventError::ForeignAccount { got, .. })) => assert_eq!(got, "999999999999"),
        other => panic!("{other:?}"),
    }
    let mut elsewhere = rotation_succeeded(&arn);
    elsewhere["region"] = json!("eu-west-3");
    assert!(matches!(on.invoke(elsewhere).await, Err(HandlerError::BadEvent(EventError::ForeignRegion { .. }))));
    assert_eq!(on.calls.total(SECRETS_OPS), 0, "rejected before any call");
}

#[tokio::test]
async fn a_canary_secret_value_never_appears_in_logs_reports_or_errors() {
    let w = world(&format!("us-east-2,eu-west-1,{DR}"), &[PREFIX_ONLY]).await;
    let canary = Canary::new();
    // A key in the source and us-east-2 only: the keyed secret fails in eu-west-1 and in the other account.
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE, EAST]).await;
    let (plain, keyed) = (secret_name(&w, "canary"), secret_name(&w, "keyed"));
    let plain_arn = create(&w, SOURCE, &plain, &canary.value(1), &[("replicate", "yes")], None).await;
    let keyed_arn = create(&w, SOURCE, &keyed, &canary.value(2), &[("replicate", "yes")], Some(&alias)).await;

    let mut outputs = Vec::new();
    let keep = |report: &Report, outputs: &mut Vec<String>| {
        outputs.push(serde_json::to_string(report).unwrap());
        outputs.push(format!("{report:?}"));
    };
    let report = sync_secret(&w, &plain_arn).await;
    assert_eq!((outcome(&report, &plain, EAST), outcome(&report, &plain, DR)), ("created".into(), "created".into()));
    keep(&report, &mut outputs);
    let report = sync_secret(&w, &keyed_arn).await;
    assert_eq!(outcome(&report, &keyed, WEST), "failed:kms-key-missing");
    keep(&report, &mut outputs);

    w.secrets(SOURCE).put_secret_value().secret_id(&plain).secret_string(canary.value(3)).send().await.unwrap();
    let report = w.invoke(rotation_succeeded(&plain_arn)).await.unwrap();
    assert_eq!(outcome(&report, &plain, DR), "updated");
    assert_eq!(value_in(&w, DR, &plain).await.0, Some(canary.value(3)), "the canary did travel");
    assert_eq!(value_in(&w, EAST, &plain).await.0, Some(canary.value(3)), "natively too");
    keep(&report, &mut outputs);

    w.secrets(SOURCE).put_secret_value().secret_id(&plain).secret_string(canary.value(4)).send().await.unwrap();
    let report = full_sync(&w).await;
    assert_eq!(value_in(&w, DR, &plain).await.0, Some(canary.value(4)), "the full sync copied it");
    keep(&report, &mut outputs);
    // Every result of every kind, including failures with their errors, through Debug.
    outputs.push(format!("{:?}", w.invoke(rotation_succeeded(&keyed_arn)).await));

    assert!(captured_logs().contains(&plain), "the capture works: our log lines name the secret");
    canary.assert_hidden(&outputs);
}

#[tokio::test]
async fn a_same_name_secret_another_source_owns_is_never_force_overwritten_even_with_adoption_on() {
    let w = world("us-east-2,eu-west-1", &[("ADOPT_UNMANAGED", "true")]).await;
    let name = secret_name(&w, "theirs");
    create(&w, EAST, &name, "theirs", &[(OWNER_TAG, "999999999999/us-east-1")], None).await;
    let arn = create(&w, SOURCE, &name, "ours", &[("replicate", "us-east-2")], None).await;

    let report = sync_secret(&w, &arn).await;
    assert_eq!(outcome(&report, &name, EAST), "skipped:owned-by-other-source");
    assert_eq!(w.calls.get(SOURCE, "ReplicateSecretToRegions"), 0);
    let there = w.secrets(EAST).get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!(there.secret_string(), Some("theirs"));
}

#[tokio::test]
async fn a_primary_that_names_its_own_region_as_primary_is_still_replicated() {
    // AWS names PrimaryRegion on primaries too (emulator correction 9): a replicated source must not
    // look like a replica of something else on the next run.
    let w = world("us-east-2,eu-west-1", &[]).await;
    let name = secret_name(&w, "primary");
    let arn = create(&w, SOURCE, &name, "v1", &[("replicate", "yes")], None).await;
    let described = w.secrets(SOURCE).describe_secret().secret_id(&name).send().await.unwrap();
    assert_eq!(described.primary_region(), Some(SOURCE), "the emulator answers as AWS does");
    assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, EAST), "created");
    assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, EAST), "unchanged");
}

#[tokio::test]
async fn an_event_naming_a_deleted_arn_whose_name_holds_a_new_secret_deletes_no_copy() {
    let w = world(&format!("us-east-2,{DR}"), &[]).await;
    let name = secret_name(&w, "reborn");
    let old_arn = create(&w, SOURCE, &name, "v1", &[("replicate", DR)], None).await;
    assert_eq!(outcome(&sync_secret(&w, &old_arn).await, &name, DR), "created");
    w.secrets(SOURCE).delete_secret().secret_id(&name).force_delete_without_recovery(true).send().await.unwrap();
    create(&w, SOURCE, &name, "v2", &[("replicate", DR)], None).await;

    // The late DeleteSecret event names the old ARN: the name now holds a live secret, which decides.
    let event = secret_event("DeleteSecret", json!({"secretId": old_arn}), json!({"arn": old_arn}));
    let report = w.invoke(event).await.unwrap();
    assert_eq!(outcome(&report, &name, DR), "updated");
    assert_eq!(w.calls.get(DR, "DeleteSecret"), 0);
    let copy = w.secrets(DR).get_secret_value().secret_id(&name).version_stage("AWSCURRENT").send().await.unwrap();
    assert_eq!(copy.secret_string(), Some("v2"));
}

#[tokio::test]
async fn a_source_moved_back_to_a_version_the_copy_keeps_unlabeled_moves_the_copy_there_too() {
    // Behaviour 10: DescribeSecret does not list a version without staging labels, and a PutSecretValue with
    // that version's id and value is ignored by the service: the copy's AWSCURRENT must be moved explicitly.
    let w = world(&format!("us-east-2,{DR}"), &[]).await;
    let name = secret_name(&w, "rolled-back");
    let arn = create(&w, SOURCE, &name, "v1", &[("replicate", DR)], None).await;
    let source = w.secrets(SOURCE);
    let first = source.describe_secret().secret_id(&name).send().await.unwrap();
    let v1 = first.version_ids_to_stages().unwrap().keys().next().unwrap().clone();
    assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, DR), "created");
    for value in ["v2", "v3"] {
        source.put_secret_value().secret_id(&name).secret_string(value).send().await.unwrap();
        assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, DR), "updated");
    }
    let current = |w: &World, place: &'static str| {
        let name = name.clone();
        let client = w.secrets(place).clone();
        async move {
            let d = client.describe_secret().secret_id(&name).send().await.unwrap();
            let stages = d.version_ids_to_stages().cloned().unwrap_or_default();
            stages.into_iter().find(|(_, s)| s.iter().any(|l| l == "AWSCURRENT")).map(|(v, _)| v).unwrap()
        }
    };
    let v3 = current(&w, SOURCE).await;
    source
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&v1)
        .remove_from_version_id(&v3)
        .send()
        .await
        .unwrap();

    let report = sync_secret(&w, &arn).await;
    assert_eq!(outcome(&report, &name, DR), "updated");
    assert_eq!(current(&w, DR).await, v1, "the copy serves the version the source serves");
    let copy = w.secrets(DR).get_secret_value().secret_id(&name).version_stage("AWSCURRENT").send().await.unwrap();
    assert_eq!(copy.secret_string(), Some("v1"));
    assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, DR), "unchanged", "and stays so");
}

#[tokio::test]
async fn the_full_sync_schedules_copies_whose_source_is_gone_and_only_those() {
    let targets = format!("us-east-2,{DR}");
    let w = world(&targets, &[("PATH_PREFIXES", "{prefix}/")]).await;
    let (gone, deselected, theirs) =
        (secret_name(&w, "gone"), secret_name(&w, "deselected"), secret_name(&w, "theirs"));
    let gone_arn = create(&w, SOURCE, &gone, "v1", &[("replicate", DR)], None).await;
    let deselected_arn = create(&w, SOURCE, &deselected, "v1", &[("replicate", DR)], None).await;
    for (name, arn) in [(&gone, &gone_arn), (&deselected, &deselected_arn)] {
        assert_eq!(outcome(&sync_secret(&w, arn).await, name, DR), "created");
    }
    // Not ours: another replicator's copy, under the prefix, in the same account and region.
    create(&w, DR, &theirs, "x", &[(OWNER_TAG, "999999999999/us-east-1")], None).await;
    // The source deleted without its event reaching the replicator; the other one no longer tagged.
    w.secrets(SOURCE).delete_secret().secret_id(&gone).send().await.unwrap();
    w.secrets(SOURCE).untag_resource().secret_id(&deselected).tag_keys("replicate").send().await.unwrap();

    let report = full_sync(&w).await;
    assert_eq!(outcome(&report, &gone, DR), "deleted", "{:?}", report.parameters);
    let copy = w.secrets(DR).describe_secret().secret_id(&gone).send().await.unwrap();
    assert!(copy.deleted_date().is_some(), "scheduled for deletion, with its recovery window");
    assert_eq!(w.calls.get(DR, "DeleteSecret"), 1, "only the copy whose source is gone");
    for name in [&deselected, &theirs] {
        let kept = w.secrets(DR).describe_secret().secret_id(name).send().await.unwrap();
        assert!(kept.deleted_date().is_none(), "{name} is kept");
    }

    // Again: the scheduled copy is not listed (ListSecrets leaves out what is scheduled for deletion).
    let deletes = w.calls.get(DR, "DeleteSecret");
    full_sync(&w).await;
    assert_eq!(w.calls.get(DR, "DeleteSecret"), deletes);
}

#[tokio::test]
async fn with_deletes_off_the_full_sync_does_not_even_list_the_copies() {
    let w = world(&format!("us-east-2,{DR}"), &[("PATH_PREFIXES", "{prefix}/"), ("DELETE_REPLICAS", "false")]).await;
    let name = secret_name(&w, "kept");
    let arn = create(&w, SOURCE, &name, "v1", &[("replicate", DR)], None).await;
    assert_eq!(outcome(&sync_secret(&w, &arn).await, &name, DR), "created");
    w.secrets(SOURCE).delete_secret().secret_id(&name).send().await.unwrap();
    full_sync(&w).await;
    assert_eq!(w.calls.get(DR, "ListSecrets"), 0);
    assert_eq!(w.calls.get(DR, "DeleteSecret"), 0);
}

#[tokio::test]
async fn a_full_sync_out_of_time_hands_the_secret_phases_on_and_the_chain_finishes_them() {
    let targets = format!("us-east-2,{DR}");
    let prefixes = "{secret_prefix}a/,{secret_prefix}b/";
    let w = world(&targets, &[("PATH_PREFIXES", "{prefix}/"), ("SECRET_PREFIXES", prefixes)]).await;
    let (a, b, gone) = (secret_name(&w, "a/one"), secret_name(&w, "b/two"), secret_name(&w, "b/gone"));
    for name in [&a, &b, &gone] {
        create(&w, SOURCE, name, "v1", &[("replicate", "yes")], None).await;
    }
    let gone_arn = w.secrets(SOURCE).describe_secret().secret_id(&gone).send().await.unwrap().arn.unwrap();
    assert_eq!(outcome(&sync_secret(&w, &gone_arn).await, &gone, DR), "created");
    w.secrets(SOURCE)
        .remove_regions_from_replication()
        .secret_id(&gone)
        .remove_replica_regions(EAST)
        .send()
        .await
        .unwrap();
    w.secrets(SOURCE).delete_secret().secret_id(&gone).send().await.unwrap();

    let mut event = json!({"action": "full-sync"});
    let mut phases = Vec::new();
    for invocation in 0.. {
        assert!(invocation < 30, "the chain does not end");
        let report = w.invoke_within(event, Duration::ZERO).await.unwrap();
        match (report.next, w.handler_continuation().take().as_slice()) {
            (None, []) => break,
            (Some(next), [payload]) => {
                let phase = serde_json::to_value(&next).unwrap()["phase"].as_str().unwrap().to_owned();
                if phases.last() != Some(&phase) {
                    phases.push(phase);
                }
                event = payload.clone();
            }
            other => panic!("report and hand-off disagree: {other:?}"),
        }
    }
    assert!(phases.ends_with(&["secrets".to_owned(), "secret-copies".to_owned()]), "{phases:?}");
    for name in [&a, &b] {
        assert_eq!(replica_regions(&w, name).await.len(), 1, "{name}: replicated natively to us-east-2");
        assert!(w.secrets(DR).describe_secret().secret_id(name).send().await.is_ok(), "{name}: copied");
    }
    let copy = w.secrets(DR).describe_secret().secret_id(&gone).send().await.unwrap();
    assert!(copy.deleted_date().is_some(), "the copy of the deleted source is scheduled for deletion");
}
