//! Labels (REPLICATE_LABELS): mapped by content onto the newest replica version that stands for the
//! labelled source version, moved and removed with the source, `label-version-missing` where a version has
//! no counterpart, and `version-limit` where a labelled oldest replica version blocks PutParameter.
//!
//! The emulator implements LabelParameterVersion (moving a label held by another version, at most 10 per
//! version, InvalidLabels), UnlabelParameterVersion, Labels in GetParameterHistory and
//! ParameterMaxVersionLimitExceeded as the API reference documents them (moto/ssm/models.py), so the
//! AWS-behaviour layer forwards these calls unchanged.

use std::collections::BTreeMap;

use serde_json::json;
use ssm_replicator::domain::{Field, Report};

use crate::support::*;

const LABELS_ON: (&str, &str) = ("REPLICATE_LABELS", "true");

/// Label → the value of the version it is on, in `region` (values of test parameters, not secrets).
async fn labels_of(w: &World, region: &str, name: &str) -> BTreeMap<String, String> {
    let out =
        w.ssm(region).get_parameter_history().name(name).with_decryption(true).max_results(50).send().await.unwrap();
    assert!(out.next_token().is_none(), "test parameters have fewer than 50 versions");
    out.parameters()
        .iter()
        .flat_map(|h| h.labels().iter().map(|l| (l.clone(), h.value().unwrap_or_default().to_owned())))
        .collect()
}

async fn label(w: &World, name: &str, version: i64, labels: &[&str]) {
    let labels = labels.iter().map(|l| l.to_string()).collect();
    w.ssm(SOURCE)
        .label_parameter_version()
        .name(name)
        .parameter_version(version)
        .set_labels(Some(labels))
        .send()
        .await
        .unwrap();
}

fn changed(report: &Report, name: &str, region: &str) -> Vec<Field> {
    let p = report.parameters.iter().find(|p| p.name.as_str() == name).unwrap();
    p.targets.iter().find(|t| t.target.to_string() == region).unwrap().changed.clone()
}

fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(l, v)| (l.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn labels_on_the_latest_and_an_older_version_reach_both_targets() {
    let w = World::new(&[LABELS_ON]).await;
    let name = w.name("labelled");
    w.put(SOURCE, Put::string(&name, "one")).await;
    w.change("Create", &name).await;
    w.put(SOURCE, Put::string(&name, "two")).await;
    w.change("Update", &name).await;

    label(&w, &name, 1, &["previous"]).await;
    label(&w, &name, 2, &["prod", "stable"]).await;
    let report = w.change("LabelParameterVersion", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated", "{region}");
        assert_eq!(changed(&report, &name, region), vec![Field::Labels]);
        assert_eq!(
            labels_of(&w, region, &name).await,
            expected(&[("previous", "one"), ("prod", "two"), ("stable", "two")]),
            "{region}"
        );
    }
    // Applied: the same event again writes nothing.
    let writes = w.writes();
    let again = w.change("LabelParameterVersion", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&again, &name, region), "unchanged");
    }
    assert_eq!(w.writes(), writes);
    for op in ["LabelParameterVersion", "UnlabelParameterVersion"] {
        assert!(again.api_calls.values().all(|ops| !ops.contains_key(op)), "{op} on an unchanged replica");
    }
}

#[tokio::test]
async fn a_moved_label_follows_a_write_takes_its_labels_along_and_a_removed_label_goes() {
    let w = World::new(&[LABELS_ON]).await;
    let name = w.name("moving");
    w.put(SOURCE, Put::string(&name, "one")).await;
    w.change("Create", &name).await;
    w.put(SOURCE, Put::string(&name, "two")).await;
    w.change("Update", &name).await;
    label(&w, &name, 2, &["prod"]).await;
    w.change("LabelParameterVersion", &name).await;

    // Moved back to version 1 at the source.
    label(&w, &name, 1, &["prod"]).await;
    let report = w.change("LabelParameterVersion", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated");
        assert_eq!(labels_of(&w, region, &name).await, expected(&[("prod", "one")]), "{region}");
    }

    // A new value, and the label moved onto it; only the Update event arrives (the label event was lost):
    // the write creates the replica's new version and the label goes with it.
    w.put(SOURCE, Put::string(&name, "three")).await;
    label(&w, &name, 3, &["prod"]).await;
    let report = w.change("Update", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated");
        assert_eq!(changed(&report, &name, region), vec![Field::Value, Field::Labels]);
        assert_eq!(labels_of(&w, region, &name).await, expected(&[("prod", "three")]), "{region}");
    }

    // Removed at the source (CloudTrail's UnlabelParameterVersion; no native event exists for it).
    w.ssm(SOURCE).unlabel_parameter_version().name(&name).parameter_version(3).labels("prod").send().await.unwrap();
    let event =
        cloudtrail_event("UnlabelParameterVersion", json!({"name": name, "parameterVersion": 3, "labels": ["prod"]}));
    let report = w.invoke(event).await.unwrap();
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated");
        assert!(labels_of(&w, region, &name).await.is_empty(), "{region}");
    }
}

#[tokio::test]
async fn a_label_whose_version_predates_the_replica_is_reported_label_version_missing() {
    let w = World::new(&[LABELS_ON]).await;
    let name = w.name("old-label");
    w.put(SOURCE, Put::string(&name, "before-replication")).await;
    w.put(SOURCE, Put::string(&name, "now")).await;
    label(&w, &name, 1, &["legacy"]).await;
    label(&w, &name, 2, &["prod"]).await;

    let report = w.change("LabelParameterVersion", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "created:label-version-missing", "{region}");
        assert_eq!(labels_of(&w, region, &name).await, expected(&[("prod", "now")]), "{region}");
    }
    assert!(captured_logs().contains("legacy@1"), "the missing label and its source version are logged");
}

#[tokio::test]
async fn labels_are_left_alone_unless_asked_for() {
    let w = World::new(&[]).await;
    let name = w.name("unlabelled");
    w.put(SOURCE, Put::string(&name, "one")).await;
    label(&w, &name, 1, &["prod"]).await;
    let report = w.change("LabelParameterVersion", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "created");
        assert!(labels_of(&w, region, &name).await.is_empty());
    }
    assert!(report.api_calls.values().all(|ops| !ops.contains_key("LabelParameterVersion")));
}

#[tokio::test]
async fn a_full_sync_replicates_labels_and_reads_replica_histories_only_where_the_source_has_labels() {
    let w = World::new(&[LABELS_ON, ("PATH_PREFIXES", "{prefix}/")]).await;
    let (labelled, plain) = (w.name("labelled"), w.name("plain"));
    w.put(SOURCE, Put::string(&labelled, "one")).await;
    w.put(SOURCE, Put::string(&labelled, "two")).await;
    label(&w, &labelled, 2, &["prod"]).await;
    w.put(SOURCE, Put::string(&plain, "x")).await;
    w.settle().await;

    let first = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    for region in [EAST, WEST] {
        assert_eq!(outcome(&first, &labelled, region), "created");
        assert_eq!(labels_of(&w, region, &labelled).await, expected(&[("prod", "two")]));
    }

    w.settle().await; // the replicas just written are listed (listing lag)
    let second = w.invoke(json!({"action": "full-sync"})).await.unwrap();
    let calls = |region: &str, op: &str| second.api_calls.get(region).and_then(|o| o.get(op)).copied().unwrap_or(0);
    assert_eq!(calls(SOURCE, "GetParameterHistory"), 2, "one history per selected source parameter");
    for region in [EAST, WEST] {
        assert_eq!(calls(region, "GetParameterHistory"), 1, "only the labelled parameter's replica");
        assert_eq!(calls(region, "LabelParameterVersion") + calls(region, "UnlabelParameterVersion"), 0);
    }
}

#[tokio::test]
async fn a_replica_whose_oldest_of_100_versions_carries_a_label_fails_with_version_limit() {
    let w = World::new(&[]).await;
    let name = w.name("full");
    w.put(SOURCE, Put::string(&name, "v")).await;
    w.change("Create", &name).await;
    // Someone labelled the replica's first version, and it has been written 99 times since.
    w.ssm(EAST).label_parameter_version().name(&name).parameter_version(1).labels("pinned").send().await.unwrap();
    for _ in 0..99 {
        w.ssm(EAST).put_parameter().name(&name).value("v").overwrite(true).send().await.unwrap();
    }

    w.put(SOURCE, Put::string(&name, "new")).await;
    let report = w.change("Update", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "failed:version-limit");
    assert_eq!(outcome(&report, &name, WEST), "updated");
    let east = report.parameters[0].targets.iter().find(|t| t.target.to_string() == EAST).unwrap();
    let error = east.error.as_deref().unwrap();
    assert!(error.starts_with("PutParameter: ParameterMaxVersionLimitExceeded"), "{error}");
    assert!(error.contains("oldest of them carries a label"), "{error}");
}
