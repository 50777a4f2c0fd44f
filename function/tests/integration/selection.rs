//! Which parameters are replicated where: tags, prefixes, AMI ids, failed source writes.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn an_untagged_parameter_is_not_replicated_until_tagged() {
    let w = World::new(&[]).await;
    let name = w.name("later");
    w.put(SOURCE, Put::string(&name, "v").tags(&[])).await;

    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "skipped:not-selected");
    assert_eq!(w.calls.total(&["GetParameter"]), 0, "an unselected value is never read");

    w.tag(SOURCE, &name, &[("replicate", "true")]).await;
    let event = cloudtrail_event("AddTagsToResource", json!({"resourceType": "Parameter", "resourceId": name}));
    let report = w.invoke(event).await.unwrap();
    assert_eq!(report.trigger, "cloudtrail:AddTagsToResource");
    assert_eq!(outcome(&report, &name, EAST), "created");
    assert_eq!(w.get(WEST, &name).await.unwrap().value(), Some("v"));
}

#[tokio::test]
async fn a_region_list_tag_replicates_to_those_targets_only() {
    let w = World::new(&[]).await;
    let name = w.name("west-only");
    w.put(SOURCE, Put::string(&name, "v").tags(&[("replicate", "eu-west-1:ap-south-1")])).await;

    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, WEST), "created");
    assert_eq!(outcome(&report, &name, EAST), "skipped:not-selected");
    assert!(w.get(EAST, &name).await.is_none());
}

#[tokio::test]
async fn all_mode_with_prefixes_replicates_untagged_parameters_under_them_only() {
    let w =
        World::new(&[("SELECTION_MODE", "all"), ("PATH_PREFIXES", "{prefix}/app/"), ("SELECTION_TAG", "copy")]).await;
    let (inside, outside, opted_out) = (w.name("app/a"), w.name("other/b"), w.name("app/c"));
    w.put(SOURCE, Put::string(&inside, "v").tags(&[])).await;
    w.put(SOURCE, Put::string(&outside, "v").tags(&[])).await;
    w.put(SOURCE, Put::string(&opted_out, "v").tags(&[("copy", "no")])).await;

    let report = w.invoke(json!({"action": "sync", "names": [inside, outside, opted_out]})).await.unwrap();
    assert_eq!(report.trigger, "manual:sync");
    assert_eq!(outcome(&report, &inside, EAST), "created");
    assert_eq!(outcome(&report, &outside, EAST), "skipped:outside-prefixes");
    assert_eq!(outcome(&report, &opted_out, EAST), "skipped:not-selected");
    assert_eq!(w.calls.get(SOURCE, "ListTagsForResource"), 2, "a name outside the prefixes is not even read");
}

#[tokio::test]
async fn ami_parameters_are_skipped_unless_enabled() {
    let w = World::new(&[]).await;
    let name = w.name("ami");
    w.put(SOURCE, Put { data_type: Some("aws:ec2:image"), ..Put::string(&name, "ami-0123456789abcdef0") }).await;
    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "skipped:ami-region-specific");
    assert_eq!(w.writes(), 0);

    let w = World::new(&[("REPLICATE_AMI_PARAMETERS", "true")]).await;
    let name = w.name("ami");
    w.put(SOURCE, Put { data_type: Some("aws:ec2:image"), ..Put::string(&name, "ami-0123456789abcdef0") }).await;
    let report = w.change("Create", &name).await;
    // SSM validates an AMI id after PutParameter has answered: the report says the write is pending it.
    assert_eq!(outcome(&report, &name, EAST), "created:ami-validation-pending");
    assert_eq!(w.get(EAST, &name).await.unwrap().data_type(), Some("aws:ec2:image"));
    // Nothing written the second time, so nothing pending either.
    assert_eq!(outcome(&w.change("Update", &name).await, &name, EAST), "unchanged");
}

#[tokio::test]
async fn a_failed_source_write_replicates_nothing() {
    let w = World::new(&[]).await;
    let name = w.name("failed");
    w.put(SOURCE, Put::string(&name, "v")).await;
    let mut event = change_event("Update", &name);
    event["detail"]["exception"] = json!("ParameterMaxVersionLimitExceeded");
    let report = w.invoke(event).await.unwrap();
    assert_eq!(report.ignored, Some(ssm_replicator::domain::Reason::SourceWriteFailed));
    assert!(report.parameters.is_empty());
    assert!(report.api_calls.is_empty(), "no call at all: {:?}", report.api_calls);
    assert!(w.get(EAST, &name).await.is_none());
}
