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
