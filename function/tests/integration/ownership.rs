//! Deletes touch only what we own; unmanaged parameters are respected; replicas are never re-replicated.

use crate::support::*;

#[tokio::test]
async fn delete_removes_an_owned_replica() {
    let w = World::new(&[]).await;
    let name = w.name("gone");
    w.put(SOURCE, Put::string(&name, "v")).await;
    w.change("Create", &name).await;
    w.delete(SOURCE, &name).await;

    let report = w.change("Delete", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "deleted");
        assert!(w.get(region, &name).await.is_none());
    }
    let replay = w.change("Delete", &name).await;
    assert_eq!(outcome(&replay, &name, EAST), "unchanged:replica-absent");
}

#[tokio::test]
async fn an_unmanaged_same_name_parameter_is_never_deleted() {
    let w = World::new(&[]).await;
    let name = w.name("theirs");
    w.put(EAST, Put::string(&name, "someone else's").tags(&[])).await;

    let report = w.change("Delete", &name).await; // the source never had it
    assert_eq!(outcome(&report, &name, EAST), "skipped:unmanaged");
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("someone else's"));
    assert_eq!(w.writes(), 0);
}

#[tokio::test]
async fn a_replica_of_another_source_is_neither_deleted_nor_overwritten() {
    let w = World::new(&[]).await;
    let name = w.name("other-source");
    w.put(EAST, Put::string(&name, "from eu").tags(&[(OWNER_TAG, "123456789012/eu-central-1")])).await;
    assert_eq!(outcome(&w.change("Delete", &name).await, &name, EAST), "skipped:owned-by-other-source");
    w.put(SOURCE, Put::string(&name, "from us")).await;
    assert_eq!(outcome(&w.change("Create", &name).await, &name, EAST), "skipped:owned-by-other-source");
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("from eu"));
    assert_eq!(w.writes_in(EAST), 0);
}

#[tokio::test]
async fn an_unmanaged_parameter_is_not_overwritten_when_adoption_is_off() {
    let w = World::new(&[("ADOPT_UNMANAGED", "false")]).await;
    let name = w.name("keep-mine");
    w.put(EAST, Put::string(&name, "mine").tags(&[])).await;
    w.put(SOURCE, Put::string(&name, "source")).await;

    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "skipped:unmanaged");
    assert_eq!(outcome(&report, &name, WEST), "created");
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("mine"));
    assert!(!w.tags_of(EAST, &name).await.contains_key(OWNER_TAG));
    assert_eq!(w.writes_in(EAST), 0);
}

#[tokio::test]
async fn an_unmanaged_parameter_is_adopted_by_default() {
    let w = World::new(&[]).await;
    let name = w.name("adopt");
    w.put(EAST, Put::string(&name, "old").tags(&[])).await;
    w.put(SOURCE, Put::string(&name, "new")).await;

    let report = w.change("Update", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "updated:adopted");
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("new"));
    assert_eq!(w.tags_of(EAST, &name).await.get(OWNER_TAG).map(String::as_str), Some(OWNER));
}

#[tokio::test]
async fn deletes_disabled_keeps_replicas() {
    let w = World::new(&[("DELETE_REPLICAS", "false")]).await;
    let name = w.name("kept");
    w.put(SOURCE, Put::string(&name, "v")).await;
    w.change("Create", &name).await;
    w.delete(SOURCE, &name).await;

    let report = w.change("Delete", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "skipped:deletes-disabled");
    assert!(w.get(EAST, &name).await.is_some());
    assert_eq!(w.calls.total(&["DeleteParameter"]), 0);
}

#[tokio::test]
async fn an_event_about_a_replica_writes_nothing() {
    let w = World::new(&[]).await;
    let name = w.name("ping-pong");
    // A parameter in the source region that is itself a replica of another region.
    w.put(SOURCE, Put::string(&name, "v").tags(&[("replicate", "yes"), (OWNER_TAG, "123456789012/eu-west-1")])).await;

    let report = w.change("Update", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "skipped:source-is-replica");
        assert!(w.get(region, &name).await.is_none());
    }
    assert_eq!(w.writes(), 0);
    assert_eq!(w.calls.total(&["GetParameter"]), 0, "its value is never even read");
}

#[tokio::test]
async fn a_type_change_is_reported_not_forced() {
    let w = World::new(&[]).await;
    let name = w.name("retyped");
    w.put(SOURCE, Put::string(&name, "v")).await;
    w.change("Create", &name).await;
    w.delete(SOURCE, &name).await;
    w.put(SOURCE, Put { kind: aws_sdk_ssm::types::ParameterType::StringList, ..Put::string(&name, "a,b") }).await;

    let before = w.writes();
    let report = w.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "failed:type-change-needs-recreate");
    assert_eq!(w.writes(), before);
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some("v"));
}
