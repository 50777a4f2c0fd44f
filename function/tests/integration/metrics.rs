//! CloudWatch EMF lines from real invocations: valid EMF, no value or name in them, latency measured
//! from the event's time, and only full-sync writes counted as drift repaired.

use std::time::Duration;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::{json, Value};
use ssm_replicator::metrics::{Metrics, MAX_VALUES};

use crate::support::*;

const PREFIX_ONLY: (&str, &str) = ("PATH_PREFIXES", "{prefix}/");

/// Invoke and return the EMF lines the Lambda would print after it, whatever the outcome.
async fn invoke_metered(w: &World, event: Value, budget: Option<Duration>) -> Vec<String> {
    let mut metrics = Metrics::new("ssm-replicator-test");
    let deadline = budget.map(|b| std::time::Instant::now() + b);
    let _ = w.handler.handle_metered(&event, deadline, &mut metrics).await;
    let mut out = Vec::new();
    metrics.flush(&mut out).unwrap();
    String::from_utf8(out).unwrap().lines().map(str::to_owned).collect()
}

/// Each line as EMF requires it: `_aws.Timestamp` a number; each directive with a namespace, dimension
/// sets whose keys are string members, and metrics whose names are members holding a number or up to
/// 100 numbers.
fn emf(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| {
            let doc: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(doc["_aws"]["Timestamp"].is_number(), "{line}");
            let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
            assert!(!directives.is_empty(), "{line}");
            for d in directives {
                assert_eq!(d["Namespace"], "SsmReplicator", "{line}");
                for set in d["Dimensions"].as_array().unwrap() {
                    let set = set.as_array().unwrap();
                    assert!(!set.is_empty() && set.len() <= 30, "{line}");
                    for key in set {
                        assert!(doc[key.as_str().unwrap()].is_string(), "dimension {key}: {line}");
                    }
                }
                for m in d["Metrics"].as_array().unwrap() {
                    match &doc[m["Name"].as_str().unwrap()] {
                        Value::Number(_) => {}
                        Value::Array(values) => {
                            assert!(!values.is_empty() && values.len() <= MAX_VALUES, "{line}");
                            assert!(values.iter().all(Value::is_number), "{line}");
                        }
                        other => panic!("metric {m} is {other}: {line}"),
                    }
                }
            }
            doc
        })
        .collect()
}

/// The native change event for `name`, stamped `ago` before now.
fn change_at(operation: &str, name: &str, ago: Duration) -> Value {
    let mut event = change_event(operation, name);
    let at = std::time::SystemTime::now() - ago;
    event["time"] = json!(DateTime::from(at).fmt(Format::DateTime).unwrap());
    event
}

fn outcome_line<'a>(docs: &'a [Value], target: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["Target"] == target && d.get("Replicated").is_some())
        .unwrap_or_else(|| panic!("no outcome line for {target}: {docs:?}"))
}

#[tokio::test]
async fn metric_lines_are_valid_emf_and_carry_no_value_or_name() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let canary = Canary::new();
    let names = seed_mix(&w, 8, Some(&canary)).await;
    // One SecureString on a key missing in eu-west-1: a permanent failure there.
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE, EAST]).await;
    let keyed = w.name("keyed");
    w.put(SOURCE, Put::secure(&keyed, &canary.value(99), Some(&alias))).await;

    let mut lines = invoke_metered(&w, change_at("Create", &names[2], Duration::ZERO), None).await;
    lines.extend(invoke_metered(&w, change_at("Create", &keyed, Duration::ZERO), None).await);
    w.settle().await;
    lines.extend(invoke_metered(&w, json!({"action": "full-sync"}), None).await);

    let docs = emf(&lines);
    canary.assert_hidden(&lines);
    for line in &lines {
        assert!(!line.contains(&w.prefix), "a parameter name in {line}");
    }
    let failed = docs.iter().find(|d| d["Reason"] == "kms-key-missing").expect("a failure line");
    assert_eq!((failed["Target"].as_str(), failed["FailedPermanently"].as_u64()), (Some(WEST), Some(1)));
    let full = docs.iter().filter(|d| d["Trigger"] == "full-sync" && d.get("Replicated").is_some());
    // The full sync wrote the 7 parameters no event announced, in both targets.
    assert_eq!(full.map(|d| d["DriftRepaired"].as_u64().unwrap()).sum::<u64>(), 14, "{docs:?}");
}

#[tokio::test]
async fn latency_runs_from_the_event_time_and_only_full_sync_writes_count_as_drift_repaired() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let name = w.name("timed");
    w.put(SOURCE, Put::string(&name, "v1")).await;

    let docs = emf(&invoke_metered(&w, change_at("Create", &name, Duration::from_secs(2)), None).await);
    for target in [EAST, WEST] {
        let d = outcome_line(&docs, target);
        assert_eq!((d["Replicated"].as_u64(), d["DriftRepaired"].as_u64()), (Some(1), Some(0)), "{d}");
        assert_eq!(d["Trigger"], "event");
        let latency = d["ReplicationLatency"].as_array().unwrap();
        assert_eq!(latency.len(), 1);
        assert!(latency[0].as_u64().unwrap() >= 2_000, "{d}");
    }

    // A change whose event never came: the full sync repairs it.
    w.put(SOURCE, Put::string(&name, "v2")).await;
    w.settle().await;
    let docs = emf(&invoke_metered(&w, json!({"action": "full-sync"}), None).await);
    for target in [EAST, WEST] {
        let d = outcome_line(&docs, target);
        assert_eq!((d["Replicated"].as_u64(), d["DriftRepaired"].as_u64()), (Some(1), Some(1)), "{d}");
        assert_eq!(d["Trigger"], "full-sync");
    }
}

#[tokio::test]
async fn a_handed_on_full_sync_measures_latency_from_the_chain_start() {
    let w = World::new(&[PREFIX_ONLY]).await;
    let name = w.name("chained");
    w.put(SOURCE, Put::string(&name, "v1")).await;
    w.settle().await;

    // No time budget: one page (perhaps an empty one, as AWS may answer) is processed, then the chain hands on.
    emf(&invoke_metered(&w, json!({"action": "full-sync"}), Some(Duration::ZERO)).await);
    let payloads = w.handler_continuation().take();
    let started = payloads[0]["started_ms"].as_u64().expect("the hand-off carries the chain's start");

    // An invocation of a chain that started a minute ago measures its writes from then (run to the end
    // here, from the first page, so that the write is in it).
    w.put(SOURCE, Put::string(&name, "v2")).await;
    w.settle().await;
    let mut next = json!({"action": "full-sync", "cursor": {"phase": "source", "prefix": 0}});
    next["started_ms"] = json!(started - 60_000);
    let docs = emf(&invoke_metered(&w, next, None).await);
    let d = outcome_line(&docs, EAST);
    assert!(d["ReplicationLatency"][0].as_u64().unwrap() >= 60_000, "{d}");
}
