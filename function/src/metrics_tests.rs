#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value};

use super::*;
use crate::domain::{Kind, ParameterName, Target, TargetResult};

const NOW: u64 = 1_800_000_000_000;

fn result(name: &str, targets: &[(Target, Outcome, Option<Reason>)]) -> ParameterResult {
    ParameterResult {
        kind: Kind::Parameter,
        name: ParameterName::parse(name).unwrap(),
        targets: targets.iter().map(|(t, o, r)| TargetResult::new(t, *o, *r)).collect(),
    }
}

fn event(since_ms: u64) -> LatencyOrigin {
    LatencyOrigin { trigger: Trigger::Event, since_ms }
}

fn parsed(lines: &[String]) -> Vec<Value> {
    lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The structure EMF requires: every dimension key a string member, every metric a number or ≤100 numbers.
fn assert_emf(doc: &Value) {
    assert!(doc["_aws"]["Timestamp"].is_u64(), "{doc}");
    let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert!(!directives.is_empty());
    for d in directives {
        assert_eq!(d["Namespace"], NAMESPACE);
        for set in d["Dimensions"].as_array().unwrap() {
            let set = set.as_array().unwrap();
            assert!(!set.is_empty() && set.len() <= 30);
            for key in set {
                assert!(doc[key.as_str().unwrap()].is_string(), "dimension {key} in {doc}");
            }
        }
        for m in d["Metrics"].as_array().unwrap() {
            let value = &doc[m["Name"].as_str().unwrap()];
            match value {
                Value::Number(_) => {}
                Value::Array(values) => {
                    assert!(!values.is_empty() && values.len() <= MAX_VALUES, "{doc}");
                    assert!(values.iter().all(Value::is_number));
                }
                other => panic!("metric {m} is {other}"),
            }
        }
    }
}

#[test]
fn an_event_write_and_an_unchanged_target_make_one_outcome_line_each() {
    let mut m = Metrics::new("fn");
    let east = Target::own("us-east-2");
    let west = Target::in_account("111111111111", "eu-west-1");
    let r = result("/app/x", &[(east, Outcome::Created, None), (west, Outcome::Unchanged, None)]);
    m.record_at(&r, event(NOW - 2_500), NOW);
    let docs = parsed(&m.lines(NOW + 10));
    assert_eq!(docs.len(), 2);
    docs.iter().for_each(assert_emf);
    assert_eq!(
        docs[0],
        json!({
            "_aws": {"Timestamp": NOW + 10, "CloudWatchMetrics": [{
                "Namespace": "SsmReplicator",
                "Dimensions": [["FunctionName"], ["FunctionName", "Target"], ["FunctionName", "Trigger"]],
                "Metrics": [
                    {"Name": "Replicated", "Unit": "Count"},
                    {"Name": "Unchanged", "Unit": "Count"},
                    {"Name": "DriftRepaired", "Unit": "Count"}
                ]
            }]},
            "FunctionName": "fn", "Target": "111111111111/eu-west-1", "Trigger": "event",
            "Replicated": 0, "Unchanged": 1, "DriftRepaired": 0
        }),
        "no latency values for this target: ReplicationLatency is in neither the directive nor the object"
    );
    assert_eq!(docs[1]["Target"], "us-east-2");
    assert_eq!((docs[1]["Replicated"].as_u64(), docs[1]["DriftRepaired"].as_u64()), (Some(1), Some(0)));
    assert_eq!(docs[1]["ReplicationLatency"], json!([2_500]));
    assert!(m.lines(NOW).is_empty(), "a flush restarts the counts");
}

#[test]
fn full_sync_writes_are_drift_repaired_and_measured_from_its_start() {
    let mut m = Metrics::new("fn");
    let east = Target::own("us-east-2");
    let origin = LatencyOrigin { trigger: Trigger::FullSync, since_ms: NOW - 60_000 };
    m.record_at(&result("/a", &[(east.clone(), Outcome::Updated, None)]), origin, NOW);
    m.record_at(&result("/b", &[(east.clone(), Outcome::Deleted, None)]), origin, NOW + 5);
    m.record_at(&result("/c", &[(east, Outcome::Unchanged, None)]), origin, NOW + 6);
    let docs = parsed(&m.lines(NOW + 10));
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(
        (d["Replicated"].as_u64(), d["DriftRepaired"].as_u64(), d["Unchanged"].as_u64()),
        (Some(2), Some(2), Some(1))
    );
    assert_eq!(d["Trigger"], "full-sync");
    assert_eq!(d["ReplicationLatency"], json!([60_000, 60_005]));
}

#[test]
fn latencies_are_split_at_100_values_per_line_and_skew_is_clamped() {
    let mut m = Metrics::new("fn");
    let east = Target::own("us-east-2");
    for i in 0..250 {
        let r = result(&format!("/p{i}"), &[(east.clone(), Outcome::Created, None)]);
        m.record_at(&r, event(NOW + 1_000), NOW); // the event's clock is ahead
    }
    let docs = parsed(&m.lines(NOW));
    assert_eq!(docs.len(), 3);
    docs.iter().for_each(assert_emf);
    let sizes: Vec<usize> = docs.iter().map(|d| d["ReplicationLatency"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert!(docs.iter().flat_map(|d| d["ReplicationLatency"].as_array().unwrap()).all(|v| v == 0));
    assert_eq!(docs[0]["Replicated"], 250);
    assert!(docs[1].get("Replicated").is_none(), "counts once, on the first line only");
    assert_eq!(docs[1]["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), 1);
}

#[test]
fn failures_make_one_line_per_target_and_reason_and_transient_ones_are_not_permanent() {
    let mut m = Metrics::new("fn");
    let (east, west) = (Target::own("us-east-2"), Target::own("eu-west-1"));
    for _ in 0..3 {
        let r = result(
            "/x",
            &[
                (east.clone(), Outcome::Failed, Some(Reason::KmsKeyMissing)),
                (west.clone(), Outcome::Failed, Some(Reason::Transient)),
            ],
        );
        m.record_at(&r, event(NOW), NOW);
    }
    m.record_at(&result("/y", &[(east, Outcome::Skipped, Some(Reason::NotSelected))]), event(NOW), NOW);
    let docs = parsed(&m.lines(NOW));
    assert_eq!(docs.len(), 2, "skipped results say nothing");
    docs.iter().for_each(assert_emf);
    let by_reason = |r: &str| docs.iter().find(|d| d["Reason"] == r).unwrap();
    let permanent = by_reason("kms-key-missing");
    assert_eq!((permanent["Target"].as_str(), permanent["Failed"].as_u64()), (Some("us-east-2"), Some(3)));
    assert_eq!(permanent["FailedPermanently"], 3);
    let transient = by_reason("transient");
    assert_eq!((transient["Failed"].as_u64(), transient["FailedPermanently"].as_u64()), (Some(3), Some(0)));
    let directives = permanent["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert_eq!(directives[0]["Dimensions"], json!([["FunctionName"], ["FunctionName", "Reason"]]));
    assert_eq!(directives[1]["Dimensions"], json!([["FunctionName"]]));
}

#[test]
fn no_line_names_a_parameter() {
    let mut m = Metrics::new("fn");
    let r = result(
        "/secret-name-xyz",
        &[
            (Target::own("us-east-2"), Outcome::Created, None),
            (Target::own("eu-west-1"), Outcome::Failed, Some(Reason::Validation)),
        ],
    );
    m.record_at(&r, event(NOW), NOW);
    let mut out = Vec::new();
    m.flush(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(!text.contains("secret-name-xyz"));
}
