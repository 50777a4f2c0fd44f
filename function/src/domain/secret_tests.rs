use super::*;

fn owner() -> Owner {
    Owner { account: "123456789012".into(), region: "us-east-1".into() }
}

fn rules(adopt: bool, delete: bool) -> Rules {
    Rules { adopt_unmanaged: adopt, delete_replicas: delete, recreate: false, prune: false }
}

fn source() -> SecretMeta {
    SecretMeta {
        name: "prod/db".into(),
        arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf".into(),
        description: Some("db".into()),
        tags: [("replicate".to_owned(), "yes".to_owned()), ("team".to_owned(), "a".to_owned())].into(),
        current_version: Some("v2".into()),
        versions: vec!["v1".into(), "v2".into()],
        ..SecretMeta::default()
    }
}

/// The copy `plan_copy` would create, as DescribeSecret would then describe it.
fn in_sync_copy() -> SecretMeta {
    let s = source();
    SecretMeta {
        name: s.name.clone(),
        arn: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:prod/db-XyZxYz".into(),
        description: s.description.clone(),
        tags: copy_tags(&s, &owner()),
        current_version: s.current_version.clone(),
        versions: vec!["v2".into()],
        ..SecretMeta::default()
    }
}

#[test]
fn names_follow_the_service_rules_and_arns_give_their_name_back() {
    assert!(SecretName::parse("prod/db+x=y.z@w-1_2").is_ok());
    assert_eq!(SecretName::parse(""), Err(SecretNameError::Empty));
    assert_eq!(SecretName::parse("a b"), Err(SecretNameError::InvalidChar(' ')));
    assert_eq!(SecretName::parse(&"a".repeat(513)), Err(SecretNameError::TooLong(513)));
    let id = SecretId::parse("arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf").unwrap();
    assert_eq!(id.name().unwrap().as_str(), "prod/db");
    assert!(SecretId::parse("arn:aws:ssm:us-east-1:1:parameter/x").is_err());
    assert_eq!(SecretId::parse("prod/db").unwrap(), SecretId::Name(SecretName::parse("prod/db").unwrap()));
    let short = SecretId::Arn("arn:aws:secretsmanager:us-east-1:1:secret:ab".into());
    assert_eq!(short.name(), None, "an ARN without the random suffix gives no name guess");
}

#[test]
fn a_missing_copy_is_created_with_the_source_version_as_token_and_the_ownership_tag() {
    let plan = plan_copy(&source(), &TargetKey::Default, None, &owner(), &rules(false, true));
    assert_eq!(plan.outcome, Outcome::Created);
    let [CopyAction::Create { kms_key, tags, token, description }] = plan.actions.as_slice() else {
        panic!("{plan:?}")
    };
    assert_eq!((kms_key, token.as_str(), description.as_deref()), (&None, "v2", Some("db")));
    assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some("123456789012/us-east-1"));
    assert!(plan.actions[0].needs_value());
}

#[test]
fn a_copy_at_the_source_version_is_unchanged_and_a_new_version_is_put() {
    let r = rules(false, true);
    let same = plan_copy(&source(), &TargetKey::Default, Some(&in_sync_copy()), &owner(), &r);
    assert_eq!((same.outcome, same.actions.len()), (Outcome::Unchanged, 0));
    let mut newer = source();
    newer.current_version = Some("v3".into());
    let plan = plan_copy(&newer, &TargetKey::Default, Some(&in_sync_copy()), &owner(), &r);
    assert_eq!(plan.outcome, Outcome::Updated);
    assert_eq!(plan.actions, vec![CopyAction::PutValue { token: "v3".into() }]);
    assert_eq!(plan.changed, vec![Field::Value]);
}

#[test]
fn a_source_moved_back_to_a_version_the_copy_keeps_moves_the_copy_label_without_a_value() {
    let mut back = source();
    back.current_version = Some("v1".into());
    let mut copy = in_sync_copy();
    copy.versions = vec!["v1".into(), "v2".into()];
    let plan = plan_copy(&back, &TargetKey::Default, Some(&copy), &owner(), &rules(false, true));
    assert_eq!(plan.actions, vec![CopyAction::MoveCurrent { to: "v1".into(), from: Some("v2".into()) }]);
    assert!(!plan.actions[0].needs_value());
}

#[test]
fn description_key_and_tags_drift_is_repaired_without_touching_the_value() {
    let mut copy = in_sync_copy();
    copy.description = Some("old".into());
    copy.kms_key_id = Some("alias/other".into());
    copy.tags.insert("stale".into(), "x".into());
    copy.tags.insert("team".into(), "b".into());
    let key = TargetKey::Key { write: "alias/app".into(), equivalents: vec![] };
    let plan = plan_copy(&source(), &key, Some(&copy), &owner(), &rules(false, true));
    assert_eq!(plan.outcome, Outcome::Updated);
    assert_eq!(plan.changed, vec![Field::KmsKey, Field::Description, Field::Tags]);
    assert!(plan
        .actions
        .contains(&CopyAction::Update { description: Some("db".into()), kms_key: Some("alias/app".into()) }));
    assert!(plan.actions.contains(&CopyAction::Tag([("team".to_owned(), "a".to_owned())].into())));
    assert!(plan.actions.contains(&CopyAction::Untag(vec!["stale".into()])));
    assert!(plan.actions.iter().all(|a| !a.needs_value()));
}

#[test]
fn unmanaged_and_foreign_copies_are_left_alone_unless_adoption_is_on() {
    let mut theirs = in_sync_copy();
    theirs.tags.remove(OWNER_TAG);
    let off = plan_copy(&source(), &TargetKey::Default, Some(&theirs), &owner(), &rules(false, true));
    assert_eq!((off.outcome, off.reason, off.actions.len()), (Outcome::Skipped, Some(Reason::Unmanaged), 0));
    theirs.current_version = Some("x".into());
    let on = plan_copy(&source(), &TargetKey::Default, Some(&theirs), &owner(), &rules(true, true));
    assert_eq!((on.outcome, on.reason), (Outcome::Updated, Some(Reason::Adopted)));
    let mut other = in_sync_copy();
    other.tags.insert(OWNER_TAG.into(), "999999999999/us-east-1".into());
    let p = plan_copy(&source(), &TargetKey::Default, Some(&other), &owner(), &rules(true, true));
    assert_eq!((p.outcome, p.reason), (Outcome::Skipped, Some(Reason::OwnedByOtherSource)));
}

#[test]
fn deleting_schedules_only_owned_copies_and_only_when_deletes_are_on() {
    let ours = in_sync_copy();
    let on = plan_copy_delete(Some(&ours), &owner(), &rules(false, true));
    assert_eq!((on.outcome, on.actions.clone()), (Outcome::Deleted, vec![CopyAction::ScheduleDelete]));
    let off = plan_copy_delete(Some(&ours), &owner(), &rules(false, false));
    assert_eq!(off.reason, Some(Reason::DeletesDisabled));
    let mut scheduled = ours.clone();
    scheduled.deleted = true;
    assert_eq!(plan_copy_delete(Some(&scheduled), &owner(), &rules(false, true)).outcome, Outcome::Unchanged);
    let mut theirs = ours;
    theirs.tags.remove(OWNER_TAG);
    assert_eq!(plan_copy_delete(Some(&theirs), &owner(), &rules(true, true)).reason, Some(Reason::Unmanaged));
    assert_eq!(plan_copy_delete(None, &owner(), &rules(true, true)).reason, Some(Reason::ReplicaAbsent));
}

#[test]
fn native_regions_are_added_reported_or_left_alone_by_status_and_adoption() {
    let mut s = source();
    let status = |state| ReplicaStatus { region: "us-east-2".into(), kms_key_id: None, state, message: None };
    s.replicas = vec![status(ReplicaState::Failed)];
    assert_eq!(
        plan_native(&s, "us-east-2", None, &rules(false, true)),
        NativeStep::Status(status(ReplicaState::Failed))
    );
    let there = SecretMeta::default();
    assert_eq!(plan_native(&s, "eu-west-1", None, &rules(false, true)), NativeStep::Add { force: false });
    assert_eq!(plan_native(&s, "eu-west-1", Some(&there), &rules(false, true)), NativeStep::Unmanaged);
    assert_eq!(plan_native(&s, "eu-west-1", Some(&there), &rules(true, true)), NativeStep::Add { force: true });
    assert_eq!(native_outcome(&status(ReplicaState::InSync), false, false), (Outcome::Unchanged, None));
    assert_eq!(native_outcome(&status(ReplicaState::InSync), true, true), (Outcome::Created, Some(Reason::Adopted)));
    assert_eq!(
        native_outcome(&status(ReplicaState::InProgress), true, false),
        (Outcome::Pending, Some(Reason::ReplicaInProgress))
    );
    assert_eq!(
        native_outcome(&status(ReplicaState::Failed), false, false),
        (Outcome::Failed, Some(Reason::ReplicaFailed))
    );
}

#[test]
fn the_default_key_is_secrets_managers_own_and_maps_to_the_target_default() {
    let mut s = source();
    assert_eq!(key_of(&s), None);
    s.kms_key_id = Some("arn:aws:kms:us-east-1:1:alias/aws/secretsmanager".into());
    assert_eq!(key_of(&s), None);
    s.kms_key_id = Some("alias/app".into());
    assert_eq!(key_of(&s), Some("alias/app"));
    assert!(key_matches(&TargetKey::Default, None));
    assert!(key_matches(&TargetKey::Default, Some(DEFAULT_SECRETS_KEY)));
    assert!(!key_matches(&TargetKey::Default, Some("alias/aws/ssm")));
}

#[test]
fn a_source_with_50_tags_cannot_have_a_copy_with_the_ownership_tag_too() {
    let mut s = source();
    s.tags = (0..49).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    let fits = plan_copy(&s, &TargetKey::Default, None, &owner(), &rules(false, true));
    assert_eq!(fits.outcome, Outcome::Created);
    s.tags.insert("k49".into(), "v".into());
    let over = plan_copy(&s, &TargetKey::Default, None, &owner(), &rules(false, true));
    assert_eq!((over.outcome, over.reason, over.actions.len()), (Outcome::Failed, Some(Reason::TagLimit), 0));
}

#[test]
fn a_primary_names_its_own_region_as_primary_and_is_not_a_replica() {
    let mut s = source();
    s.primary_region = Some("us-east-1".into());
    assert!(!s.is_replica(), "AWS sets PrimaryRegion on primaries too");
    s.primary_region = Some("eu-west-1".into());
    assert!(s.is_replica());
}

#[test]
fn a_same_name_secret_another_source_owns_or_a_foreign_replica_is_never_force_overwritten() {
    let s = source();
    let mut owned =
        SecretMeta { arn: "arn:aws:secretsmanager:us-east-2:1:secret:x-AbCdEf".into(), ..SecretMeta::default() };
    owned.tags.insert(OWNER_TAG.into(), "999999999999/us-east-1".into());
    assert_eq!(plan_native(&s, "us-east-2", Some(&owned), &rules(true, true)), NativeStep::OwnedElsewhere);
    let foreign_replica = SecretMeta {
        arn: "arn:aws:secretsmanager:us-east-2:1:secret:x-AbCdEf".into(),
        primary_region: Some("ap-south-1".into()),
        ..SecretMeta::default()
    };
    assert_eq!(plan_native(&s, "us-east-2", Some(&foreign_replica), &rules(true, true)), NativeStep::OwnedElsewhere);
}
