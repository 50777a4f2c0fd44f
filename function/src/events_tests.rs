use std::path::PathBuf;

use super::*;
use crate::domain::Target;
use serde_json::json;

const ORIGIN: Origin<'static> = Origin { region: "us-east-1", account: "123456789012" };

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(name)).unwrap()
}

fn parsed(name: &str) -> Parsed {
    parse_str(&fixture(name), ORIGIN).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn names(list: &[&str]) -> Command {
    Command::Sync(list.iter().map(|n| ParameterName::parse(n).unwrap()).collect())
}

#[test]
fn native_changes_become_a_sync_of_the_named_parameter() {
    for (file, trigger) in [
        ("native-create.json", "parameter-store-change:Create"),
        ("native-create-no-description.json", "parameter-store-change:Create"),
        ("native-update.json", "parameter-store-change:Update"),
        ("native-update-no-description.json", "parameter-store-change:Update"),
        ("native-delete.json", "parameter-store-change:Delete"),
        ("native-label.json", "parameter-store-change:LabelParameterVersion"),
    ] {
        let p = parsed(file);
        assert_eq!(p.trigger, trigger, "{file}");
        assert_eq!(p.command, names(&["/app/db/url"]), "{file}");
    }
}

#[test]
fn a_failed_source_write_means_nothing_to_replicate() {
    assert_eq!(parsed("native-create-exception.json").command, Command::Ignore(Reason::SourceWriteFailed));
    assert_eq!(parsed("cloudtrail-put-parameter-error.json").command, Command::Ignore(Reason::SourceWriteFailed));
}

#[test]
fn cloudtrail_calls_name_their_parameters_and_never_carry_the_value() {
    for file in [
        "cloudtrail-put-parameter.json",
        "cloudtrail-put-parameter-no-type.json",
        "cloudtrail-delete-parameter.json",
        "cloudtrail-add-tags.json",
        "cloudtrail-add-tags-arn.json",
        "cloudtrail-remove-tags.json",
        "cloudtrail-label.json",
    ] {
        assert_eq!(parsed(file).command, names(&["/app/db/url"]), "{file}");
    }
    let p = parsed("cloudtrail-delete-parameters.json");
    assert_eq!(p.trigger, "cloudtrail:DeleteParameters");
    assert_eq!(p.command, names(&["/app/db/url", "/app/db/user"]));
}

#[test]
fn a_tag_change_on_another_ssm_resource_type_is_ignored_not_rejected() {
    for (file, trigger) in [
        ("cloudtrail-add-tags-document.json", "cloudtrail:AddTagsToResource"),
        ("cloudtrail-remove-tags-maintenance-window.json", "cloudtrail:RemoveTagsFromResource"),
    ] {
        let p = parsed(file);
        assert_eq!(p.trigger, trigger, "{file}");
        assert_eq!(p.command, Command::Ignore(Reason::NotAParameter), "{file}");
    }
}

#[test]
fn events_for_names_outside_the_prefixes_still_parse_the_handler_decides() {
    // Parsing knows nothing of the configured prefixes; the handler reports these as ignored.
    assert_eq!(parsed("cloudtrail-add-tags-outside-prefixes.json").command, names(&["/other/db/url"]));
    assert_eq!(parsed("native-update-outside-prefixes.json").command, names(&["/other/db/url"]));
}

#[test]
fn schedule_and_manual_commands() {
    assert_eq!(parsed("scheduled.json").command, Command::FullSync(Cursor::start()));
    assert_eq!(parsed("manual-full-sync.json").command, Command::FullSync(Cursor::start()));
    let p = parsed("full-sync-continued.json");
    assert_eq!(p.trigger, "full-sync:continued");
    assert_eq!(
        p.command,
        Command::FullSync(Cursor::Orphans { target: Target::own("eu-west-1"), prefix: 0, token: Some("50".into()) })
    );
    assert_eq!(parsed("manual-sync.json").command, names(&["/app/db/url", "/app/db/user"]));
}

#[test]
fn flat_and_hierarchical_arns_map_to_names() {
    assert_eq!(name_from_resource_id("arn:aws:ssm:us-east-1:1:parameter/a/b"), "/a/b");
    assert_eq!(name_from_resource_id("arn:aws:ssm:us-east-1:1:parameter/flat"), "flat");
    assert_eq!(name_from_resource_id("/a/b"), "/a/b");
}

/// Every malformed fixture, with the words its error must contain.
const MALFORMED: &[(&str, &str)] = &[
    ("bad-time.json", "EventBridge envelope is malformed"),
    ("cloudtrail-missing-request.json", "missing field 'detail.requestParameters'"),
    ("cloudtrail-names-not-array.json", "'detail.requestParameters.names' must be an array"),
    ("cloudtrail-not-ssm.json", "eventSource 's3.amazonaws.com'"),
    ("cloudtrail-unsupported-event.json", "'GetParameter' is not an SSM parameter call"),
    ("detail-not-object.json", "missing field 'detail.operation'"),
    ("foreign-account.json", "account '999999999999'"),
    ("foreign-region.json", "region 'eu-west-3'"),
    ("invalid-name.json", "'detail.name' is not a valid parameter name: it contains ' '"),
    ("manual-empty-names.json", "'names' must list between 1 and 500"),
    ("manual-missing-names.json", "missing field `names`"),
    ("manual-name-not-string.json", "'names' must be an array of strings"),
    ("manual-names-not-array.json", "'names' must be an array of names"),
    ("manual-bad-cursor.json", "field 'cursor.phase': unknown variant `sideways`"),
    ("manual-bad-token.json", "field 'cursor.token' must be a pagination token"),
    ("manual-unknown-action.json", "action 'explode' is not a manual command"),
    ("manual-unknown-field.json", "unknown field `force`"),
    ("missing-name.json", "missing field 'detail.name'"),
    ("missing-region.json", "missing field 'region'"),
    ("name-wrong-type.json", "'detail.name' must be a string"),
    ("no-shape.json", "neither an EventBridge event"),
    ("not-an-object.json", "not a JSON object"),
    ("reserved-name.json", "reserved prefix"),
    ("truncated.json", "not valid JSON"),
    ("unsupported-detail-type.json", "'EC2 Instance State-change Notification' is not handled"),
    ("unsupported-operation.json", "operation 'Explode'"),
    ("wrong-source.json", "source 'aws.ec2'"),
];

#[test]
fn every_malformed_fixture_is_rejected_with_its_reason() {
    for (file, words) in MALFORMED {
        let err = parse_str(&fixture(&format!("malformed/{file}")), ORIGIN).unwrap_err().to_string();
        assert!(err.contains(words), "{file}: {err:?} lacks {words:?}");
    }
}

#[test]
fn the_malformed_table_covers_every_fixture() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture_dir().join("malformed"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = MALFORMED.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn serde_errors_do_not_echo_string_values() {
    let raw = r#"{"action": "sync", "names": ["/ok"], "secret-looking": "hunter2"}"#;
    let err = parse_str(raw, ORIGIN).unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
    let raw = r#"{"detail-type": "Scheduled Event", "source": "aws.events", "region": "us-east-1", "account": "123456789012", "time": "hunter2", "detail": {}}"#;
    let err = parse_str(raw, ORIGIN).unwrap_err().to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn change_events_carry_their_time_and_hand_offs_the_chain_start() {
    let p = parsed("native-create.json");
    let time = fixture("native-create.json");
    let value: Value = serde_json::from_str(&time).unwrap();
    let expected = aws_smithy_types::DateTime::from_str(
        value["time"].as_str().unwrap(),
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap();
    assert_eq!(p.since_ms, u64::try_from(expected.to_millis().unwrap()).ok());
    assert_eq!(parsed("scheduled.json").since_ms, None, "a full sync is measured from its own start");
    assert_eq!(parsed("full-sync-continued.json").since_ms, None, "a hand-off from before started_ms");
    let handed =
        json!({"action": "full-sync", "cursor": {"phase": "source", "prefix": 0}, "started_ms": 1_800_000_000_000_u64});
    let p = parse(&handed, ORIGIN).unwrap();
    assert_eq!((p.trigger.as_str(), p.since_ms), ("full-sync:continued", Some(1_800_000_000_000)));
}

// --- Secrets Manager (CloudTrail events from aws.secretsmanager) ---

use crate::domain::secret::{SecretId, SecretName};

const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

/// A CloudTrail event of a Secrets Manager call as EventBridge delivers it; `response` may be null.
fn secret_call(event_name: &str, request: Value, response: Value) -> Value {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.secretsmanager",
        "account": "123456789012",
        "time": "2026-11-21T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": event_name,
            "awsRegion": "us-east-1",
            "requestParameters": request,
            "responseElements": response,
            "eventType": "AwsApiCall"
        }
    })
}

/// The rotation service event, as in the AWS example (Database Blog, "multi-user secrets rotation for
/// Amazon RDS": <https://aws.amazon.com/blogs/database/multi-user-secrets-rotation-for-amazon-rds/>), with
/// `where_` holding the secret (`additionalEventData.SecretId` there).
fn rotation(outer: &str, key: &str) -> Value {
    let mut event = json!({
        "version": "0",
        "id": "0e6b1b11-2b2b-4c1a-9a55-000000000003",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.secretsmanager",
        "account": "123456789012",
        "time": "2026-11-21T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"accountId": "123456789012", "invokedBy": "secretsmanager.amazonaws.com"},
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "RotationSucceeded",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "secretsmanager.amazonaws.com",
            "requestParameters": null,
            "responseElements": null,
            "requestID": format!("Rotation-{SECRET_ARN}-7ac47c8c"),
            "eventType": "AwsServiceEvent",
            "managementEvent": true,
            "recipientAccountId": "123456789012",
            "eventCategory": "Management"
        }
    });
    event["detail"][outer] = json!({ key: SECRET_ARN });
    event
}

fn secrets(ids: &[SecretId]) -> Command {
    Command::SyncSecrets(ids.to_vec())
}

fn by_name(name: &str) -> SecretId {
    SecretId::Name(SecretName::parse(name).unwrap())
}

fn by_arn() -> SecretId {
    SecretId::Arn(SECRET_ARN.to_owned())
}

const SECRET_ID_CALLS: &[&str] = &[
    "PutSecretValue",
    "UpdateSecret",
    "UpdateSecretVersionStage",
    "TagResource",
    "UntagResource",
    "DeleteSecret",
    "RestoreSecret",
    "ReplicateSecretToRegions",
    "RemoveRegionsFromReplication",
];

#[test]
fn each_secret_call_names_its_secret_by_request_secret_id_as_name_or_arn() {
    for call in SECRET_ID_CALLS {
        for (raw, id) in [("prod/db", by_name("prod/db")), (SECRET_ARN, by_arn())] {
            let event = secret_call(call, json!({"secretId": raw}), Value::Null);
            let p = parse(&event, ORIGIN).unwrap_or_else(|e| panic!("{call} {raw}: {e}"));
            assert_eq!(p.trigger, format!("cloudtrail:{call}"));
            assert_eq!(p.command, secrets(&[id]), "{call} {raw}");
        }
    }
    let create = secret_call("CreateSecret", json!({"name": "prod/db", "description": "d"}), Value::Null);
    assert_eq!(parse(&create, ORIGIN).unwrap().command, secrets(&[by_name("prod/db")]));
}

#[test]
fn the_response_arn_is_preferred_to_the_request_and_the_legacy_a_r_n_key_is_read() {
    for call in SECRET_ID_CALLS.iter().chain(&["CreateSecret"]) {
        for key in ["arn", "aRN"] {
            // A partial name in the request, the full ARN in the response: the ARN is exact.
            let event = secret_call(call, json!({"secretId": "prod/db", "name": "prod/db"}), json!({key: SECRET_ARN}));
            assert_eq!(parse(&event, ORIGIN).unwrap().command, secrets(&[by_arn()]), "{call} {key}");
        }
    }
}

#[test]
fn the_rotation_service_event_names_its_secret_by_arn() {
    for (outer, key) in [("additionalEventData", "SecretId"), ("serviceEventDetails", "secretId")] {
        let p = parse(&rotation(outer, key), ORIGIN).unwrap_or_else(|e| panic!("{outer}.{key}: {e}"));
        assert_eq!(p.trigger, "cloudtrail:RotationSucceeded");
        assert_eq!(p.command, secrets(&[by_arn()]), "{outer}.{key}");
    }
    let err = parse(&rotation("somewhereElse", "SecretId"), ORIGIN).unwrap_err().to_string();
    assert!(err.contains("missing field 'detail.additionalEventData.SecretId'"), "{err}");
}

#[test]
fn a_failed_secret_call_means_nothing_to_replicate() {
    let mut event = secret_call("PutSecretValue", json!({"secretId": "prod/db"}), Value::Null);
    event["detail"]["errorCode"] = json!("AccessDenied");
    event["detail"]["errorMessage"] = json!("User: arn:aws:sts::123456789012:assumed-role/x is not authorized");
    let p = parse(&event, ORIGIN).unwrap();
    assert_eq!(
        (p.trigger.as_str(), p.command),
        ("cloudtrail:PutSecretValue", Command::Ignore(Reason::SourceWriteFailed))
    );
}

#[test]
fn malformed_secret_events_are_rejected_with_what_is_wrong() {
    let unknown = secret_call("GetSecretValue", json!({"secretId": "prod/db"}), Value::Null);
    let err = parse(&unknown, ORIGIN).unwrap_err();
    assert_eq!(err, EventError::UnsupportedSecretEvent("GetSecretValue".into()));
    assert!(err.to_string().contains("'GetSecretValue' is not a Secrets Manager call"), "{err}");

    let no_name = secret_call("CreateSecret", json!({"description": "d"}), Value::Null);
    assert_eq!(parse(&no_name, ORIGIN).unwrap_err(), EventError::Missing("detail.requestParameters.name"));
    let no_id = secret_call("TagResource", json!({"tags": []}), Value::Null);
    assert_eq!(parse(&no_id, ORIGIN).unwrap_err(), EventError::Missing("detail.requestParameters.secretId"));
    let no_request = secret_call("DeleteSecret", Value::Null, Value::Null);
    assert_eq!(parse(&no_request, ORIGIN).unwrap_err(), EventError::Missing("detail.requestParameters"));
    let not_sm = {
        let mut e = secret_call("PutSecretValue", json!({"secretId": "prod/db"}), Value::Null);
        e["detail"]["eventSource"] = json!("ssm.amazonaws.com");
        e
    };
    assert!(matches!(parse(&not_sm, ORIGIN), Err(EventError::NotSsm(_))));
}

#[test]
fn a_bad_secret_id_is_named_in_the_error_clipped() {
    let event = secret_call("PutSecretValue", json!({"secretId": "bad name"}), Value::Null);
    let err = parse(&event, ORIGIN).unwrap_err().to_string();
    assert!(err.contains("'bad name' contains ' '"), "{err}");

    let long = format!("prod/{}", "x".repeat(3000));
    let event = secret_call("PutSecretValue", json!({"secretId": long}), Value::Null);
    let err = parse(&event, ORIGIN).unwrap_err().to_string();
    assert!(err.contains("'prod/xxx") && err.contains("is 3005 characters long (at most 512)"), "{err}");
    assert!(err.chars().count() < 200, "clipped: {err}");

    let other_service =
        secret_call("PutSecretValue", json!({"secretId": "arn:aws:ssm:us-east-1:1:parameter/x"}), Value::Null);
    let err = parse(&other_service, ORIGIN).unwrap_err().to_string();
    assert!(err.contains("'arn:aws:ssm:us-east-1:1:parameter/x' is not the ARN of a secret"), "{err}");
}

#[test]
fn secret_events_from_another_account_or_region_are_rejected() {
    let mut event = secret_call("PutSecretValue", json!({"secretId": "prod/db"}), Value::Null);
    event["account"] = json!("999999999999");
    assert_eq!(
        parse(&event, ORIGIN).unwrap_err(),
        EventError::ForeignAccount { expected: "123456789012".into(), got: "999999999999".into() }
    );
    let mut event = rotation("additionalEventData", "SecretId");
    event["region"] = json!("eu-west-3");
    assert!(matches!(parse(&event, ORIGIN), Err(EventError::ForeignRegion { .. })));
    // The service event's detail-type belongs to Secrets Manager alone.
    let mut event = rotation("additionalEventData", "SecretId");
    event["source"] = json!("aws.ssm");
    assert!(matches!(parse(&event, ORIGIN), Err(EventError::WrongSource { .. })));
}

#[test]
fn a_call_on_a_secret_of_another_account_or_region_is_ignored_not_replicated() {
    for foreign in [
        "arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db-AbCdEf",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf",
    ] {
        let event = secret_call("PutSecretValue", json!({"secretId": foreign}), json!({"arn": foreign}));
        let p = parse(&event, ORIGIN).unwrap_or_else(|e| panic!("{foreign}: {e}"));
        assert_eq!(p.command, Command::Ignore(Reason::ForeignSecret), "{foreign}");
    }
}
