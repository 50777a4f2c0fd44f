//! Unit tests and property tests of the planner against a simple reference model of a region.

use proptest::prelude::*;

use super::*;
use crate::domain::name::ParameterName;
use crate::domain::parameter::{Metadata, Value, AMI_DATA_TYPE, DEFAULT_KMS_ALIAS};

fn owner() -> Owner {
    Owner { account: "111122223333".into(), region: "us-east-1".into() }
}

const RULES: Rules = Rules { adopt_unmanaged: true, delete_replicas: true, recreate: false, prune: false };

fn param(value: &str) -> Parameter {
    Metadata {
        name: ParameterName::parse("/app/x").unwrap(),
        kind: ParameterType::String,
        key_id: None,
        description: Some("d".into()),
        allowed_pattern: None,
        data_type: "text".into(),
        tier: Tier::Standard,
        policies: Vec::new(),
        version: 0,
    }
    .with_value(Value::new(value))
}

fn desired(value: &str) -> Desired {
    let tags: Tags = [("team".to_string(), "a".to_string())].into();
    Desired::new(&param(value), &tags, TargetKey::None, &owner()).unwrap()
}

/// `n` user tags `k00`..`kNN`.
fn many_tags(n: usize) -> Tags {
    (0..n).map(|i| (format!("k{i:02}"), "v".to_string())).collect()
}

/// The reference model: what SSM does with each action, including what AWS rejects (the 50-tag limit)
/// and keeps (policies on an overwrite that omits them).
fn apply(mut state: Option<Stored>, actions: &[Action]) -> Option<Stored> {
    for action in actions {
        state = match (state, action) {
            (_, Action::Put { parameter, overwrite: false, tags, send_policies }) => {
                assert!(tags.len() <= MAX_TAGS, "PutParameter with {} tags: TooManyTagsError", tags.len());
                let mut parameter = stored_form(parameter);
                if !send_policies {
                    parameter.policies.clear();
                }
                Some(Stored { parameter, tags: tags.clone() })
            }
            (Some(s), Action::Put { parameter, overwrite: true, send_policies, .. }) => {
                let mut parameter = stored_form(parameter);
                if !send_policies {
                    parameter.policies = s.parameter.policies.clone();
                }
                Some(Stored { parameter, tags: s.tags })
            }
            (Some(mut s), Action::AddTags(add)) => {
                s.tags.extend(add.clone());
                let count = s.tags.keys().filter(|k| !k.starts_with("aws:")).count();
                assert!(count <= MAX_TAGS, "AddTagsToResource to {count} tags: TooManyTagsError");
                Some(s)
            }
            (Some(mut s), Action::RemoveTags(keys)) => {
                keys.iter().for_each(|k| {
                    s.tags.remove(k);
                });
                Some(s)
            }
            (_, Action::Delete) => None,
            (None, other) => panic!("{other:?} on a missing parameter"),
        };
    }
    state
}

/// SSM records the default key as `alias/aws/ssm` when a SecureString is written without KeyId.
fn stored_form(p: &Parameter) -> Parameter {
    let mut p = p.clone();
    if p.kind == ParameterType::SecureString && p.key_id.is_none() {
        p.key_id = Some(DEFAULT_KMS_ALIAS.into());
    }
    p
}

#[test]
fn missing_replica_is_created_with_tags_and_ownership() {
    let plan = plan_write(&desired("v"), None, &owner(), &RULES);
    assert_eq!(plan.outcome, Outcome::Created);
    let Action::Put { overwrite, tags, send_policies, .. } = &plan.actions[0] else { panic!("{plan:?}") };
    assert!(!overwrite);
    assert!(!send_policies, "no policies: none sent");
    assert_eq!(tags.get(OWNER_TAG), Some(&"111122223333/us-east-1".to_string()));
    assert_eq!(tags.get("team"), Some(&"a".to_string()));
}

#[test]
fn unchanged_value_is_not_rewritten() {
    let d = desired("v");
    let stored = apply(None, &plan_write(&d, None, &owner(), &RULES).actions);
    let plan = plan_write(&d, stored.as_ref(), &owner(), &RULES);
    assert_eq!(plan.outcome, Outcome::Unchanged);
    assert!(plan.actions.is_empty());
}

#[test]
fn only_drifted_fields_are_reported_and_tags_are_diffed() {
    let stored = apply(None, &plan_write(&desired("v"), None, &owner(), &RULES).actions).unwrap();
    let mut d = desired("v2");
    d.tags.remove("team");
    d.tags.insert("env".into(), "prod".into());
    let plan = plan_write(&d, Some(&stored), &owner(), &RULES);
    assert_eq!(plan.outcome, Outcome::Updated);
    assert_eq!(plan.changed, vec![Field::Value, Field::Tags]);
    assert!(plan.actions.contains(&Action::RemoveTags(vec!["team".into()])));
    assert!(plan.actions.contains(&Action::AddTags([("env".to_string(), "prod".to_string())].into())));
}

#[test]
fn unmanaged_replica_is_adopted_or_left_alone() {
    let unmanaged = Stored { parameter: param("theirs"), tags: Tags::new() };
    let adopt = plan_write(&desired("v"), Some(&unmanaged), &owner(), &RULES);
    assert_eq!((adopt.outcome, adopt.reason), (Outcome::Updated, Some(Reason::Adopted)));
    assert!(adopt.changed.contains(&Field::Ownership));
    let keep = Rules { adopt_unmanaged: false, ..RULES };
    let plan = plan_write(&desired("v"), Some(&unmanaged), &owner(), &keep);
    assert_eq!(plan, Plan::skip(Reason::Unmanaged));
}

#[test]
fn type_change_and_tier_downgrade_need_recreate() {
    let stored = apply(None, &plan_write(&desired("v"), None, &owner(), &RULES).actions).unwrap();
    let mut d = desired("v");
    d.parameter.kind = ParameterType::StringList;
    assert_eq!(plan_write(&d, Some(&stored), &owner(), &RULES).reason, Some(Reason::TypeChangeNeedsRecreate));
    let mut advanced = stored.clone();
    advanced.parameter.tier = Tier::Advanced;
    let plan = plan_write(&desired("v"), Some(&advanced), &owner(), &RULES);
    assert_eq!((plan.outcome, plan.changed), (Outcome::Failed, vec![Field::Tier]));
}

#[test]
fn tags_are_removed_before_they_are_added() {
    // A replica at the limit whose source renamed one tag: adding first would make 51.
    let source_tags = many_tags(48);
    let d = Desired::new(&param("v"), &source_tags, TargetKey::None, &owner()).unwrap();
    let stored = apply(None, &plan_write(&d, None, &owner(), &RULES).actions).unwrap();
    assert_eq!(stored.tags.len(), MAX_TAGS);
    let mut renamed = source_tags.clone();
    renamed.remove("k00");
    renamed.insert("renamed".into(), "v".into());
    let d = Desired::new(&param("v"), &renamed, TargetKey::None, &owner()).unwrap();
    let plan = plan_write(&d, Some(&stored), &owner(), &RULES);
    assert!(matches!(plan.actions.as_slice(), [Action::RemoveTags(_), Action::AddTags(_)]), "{plan:?}");
    assert_eq!(apply(Some(stored), &plan.actions).unwrap().tags, d.tags);
}

#[test]
fn near_the_tag_limit_the_digest_goes_first_and_past_it_the_target_fails() {
    let at = |n: usize| Desired::new(&param("v"), &many_tags(n), TargetKey::None, &owner());
    assert!(at(48).unwrap().tags.contains_key(TAGS_DIGEST_TAG), "48 user tags leave room for both");
    let d = at(49).unwrap();
    assert!(!d.tags.contains_key(TAGS_DIGEST_TAG) && d.tags.contains_key(OWNER_TAG));
    assert_eq!(d.tags.len(), MAX_TAGS);
    let err = at(50).unwrap_err();
    assert_eq!(err, TagLimit { user_tags: 50 });
    assert!(err.to_string().contains("has 50 tags"), "{err}");
}

#[test]
fn policies_are_sent_only_when_they_differ() {
    let expiring = serde_json::json!({"Type": "Expiration", "Version": "1.0"});
    let mut with_policy = param("v");
    with_policy.tier = Tier::Advanced;
    with_policy.policies = vec![expiring];
    let tags = Tags::new();
    let d = Desired::new(&with_policy, &tags, TargetKey::None, &owner()).unwrap();
    let created = plan_write(&d, None, &owner(), &RULES);
    assert!(matches!(created.actions[0], Action::Put { send_policies: true, .. }));
    let stored = apply(None, &created.actions).unwrap();

    // A value change on an Advanced replica with equal policies: Policies is not sent.
    let mut d2 = d.clone();
    d2.parameter.value = Value::new("v2");
    let plan = plan_write(&d2, Some(&stored), &owner(), &RULES);
    assert!(matches!(plan.actions[0], Action::Put { send_policies: false, .. }), "{plan:?}");
    // The source dropped its policy: sent (as the removal), and the model then has none.
    let mut d3 = d.clone();
    d3.parameter.policies.clear();
    let plan = plan_write(&d3, Some(&stored), &owner(), &RULES);
    assert!(matches!(plan.actions[0], Action::Put { send_policies: true, .. }), "{plan:?}");
    assert!(apply(Some(stored), &plan.actions).unwrap().parameter.policies.is_empty());
}

#[test]
fn an_ami_write_is_reported_as_pending_validation() {
    let mut ami = param("ami-0123456789abcdef0");
    ami.data_type = AMI_DATA_TYPE.into();
    let d = Desired::new(&ami, &Tags::new(), TargetKey::None, &owner()).unwrap();
    let plan = plan_write(&d, None, &owner(), &RULES);
    assert_eq!((plan.outcome, plan.reason), (Outcome::Created, Some(Reason::AmiValidationPending)));
    let stored = apply(None, &plan.actions);
    assert_eq!(plan_write(&d, stored.as_ref(), &owner(), &RULES).reason, None, "nothing written, nothing pending");
}

#[test]
fn deletes_only_owned_replicas_and_only_when_enabled() {
    let ours: Tags = [(OWNER_TAG.to_string(), owner().tag_value())].into();
    let theirs: Tags = [(OWNER_TAG.to_string(), "999999999999/us-east-1".to_string())].into();
    assert_eq!(plan_delete(Some(&ours), &owner(), &RULES).actions, vec![Action::Delete]);
    let off = Rules { delete_replicas: false, ..RULES };
    assert_eq!(plan_delete(Some(&ours), &owner(), &off), Plan::skip(Reason::DeletesDisabled));
    assert_eq!(plan_delete(Some(&Tags::new()), &owner(), &RULES), Plan::skip(Reason::Unmanaged));
    assert_eq!(plan_delete(Some(&theirs), &owner(), &RULES), Plan::skip(Reason::OwnedByOtherSource));
    assert_eq!(plan_delete(None, &owner(), &RULES).outcome, Outcome::Unchanged);
}

#[test]
fn an_owned_replica_of_another_type_or_tier_is_recreated_when_allowed() {
    let on = Rules { recreate: true, ..RULES };
    let stored = apply(None, &plan_write(&desired("v"), None, &owner(), &RULES).actions).unwrap();
    let mut secure = desired("v2");
    secure.parameter.kind = ParameterType::SecureString;
    secure.key = TargetKey::Default;
    let plan = plan_write(&secure, Some(&stored), &owner(), &on);
    assert_eq!((plan.outcome, plan.reason), (Outcome::Updated, Some(Reason::Recreated)));
    assert_eq!(plan.changed, vec![Field::Type, Field::Value]);
    assert!(matches!(plan.actions.as_slice(), [Action::Delete, Action::Put { overwrite: false, .. }]), "{plan:?}");
    let after = apply(Some(stored.clone()), &plan.actions).unwrap();
    assert_eq!((after.parameter.kind, &after.tags), (ParameterType::SecureString, &secure.tags));
    assert!(plan_write(&secure, Some(&after), &owner(), &on).actions.is_empty());

    let mut advanced = stored;
    advanced.parameter.tier = Tier::Advanced;
    let plan = plan_write(&desired("v"), Some(&advanced), &owner(), &on);
    assert_eq!((plan.reason, plan.changed), (Some(Reason::Recreated), vec![Field::Tier]));
}

#[test]
fn an_unmanaged_replica_is_never_recreated() {
    let on = Rules { recreate: true, ..RULES };
    let mut unmanaged = Stored { parameter: param("v"), tags: Tags::new() };
    unmanaged.parameter.kind = ParameterType::StringList;
    let plan = plan_write(&desired("v"), Some(&unmanaged), &owner(), &on);
    assert_eq!((plan.outcome, plan.reason), (Outcome::Failed, Some(Reason::TypeChangeNeedsRecreate)));
    assert!(plan.actions.is_empty());
}

#[test]
fn a_deselected_replica_is_pruned_only_when_owned_and_allowed() {
    let ours: Tags = [(OWNER_TAG.to_string(), owner().tag_value())].into();
    let theirs: Tags = [(OWNER_TAG.to_string(), "999999999999/us-east-1".to_string())].into();
    let on = Rules { prune: true, ..RULES };
    let pruned = plan_prune(Some(&ours), &owner(), &on);
    assert_eq!(
        (pruned.outcome, pruned.reason, pruned.actions),
        (Outcome::Deleted, Some(Reason::Deselected), vec![Action::Delete])
    );
    assert_eq!(plan_prune(Some(&ours), &owner(), &RULES), Plan::skip(Reason::Deselected));
    for rules in [on, RULES] {
        assert_eq!(plan_prune(Some(&Tags::new()), &owner(), &rules), Plan::skip(Reason::NotSelected));
        assert_eq!(plan_prune(Some(&theirs), &owner(), &rules), Plan::skip(Reason::NotSelected));
        assert_eq!(plan_prune(None, &owner(), &rules), Plan::skip(Reason::NotSelected));
    }
}

fn arb_tags() -> impl Strategy<Value = Tags> {
    prop::collection::btree_map("[a-c]{1,2}", "[x-z]{0,2}", 0..4)
}

fn arb_parameter() -> impl Strategy<Value = Parameter> {
    (
        "[a-c]{0,3}",
        prop_oneof![Just(ParameterType::String), Just(ParameterType::StringList), Just(ParameterType::SecureString)],
        prop::option::of("[a-b]{1,2}"),
        prop::option::of(Just("^.*$".to_string())),
        prop_oneof![Just("text".to_string()), Just("aws:ssm:integration".to_string())],
        prop_oneof![Just(Tier::Standard), Just(Tier::Advanced)],
        prop::collection::vec(Just(serde_json::json!({"Type": "Expiration"})), 0..2),
        prop::option::of(prop_oneof![Just("alias/app".to_string()), Just(DEFAULT_KMS_ALIAS.to_string())]),
    )
        .prop_map(|(value, kind, description, allowed_pattern, data_type, tier, policies, key)| {
            Metadata {
                name: ParameterName::parse("/app/x").unwrap(),
                kind,
                key_id: if kind == ParameterType::SecureString { key } else { None },
                description,
                allowed_pattern,
                data_type,
                tier,
                policies,
                version: 0,
            }
            .with_value(Value::new(value))
        })
}

fn arb_target_key() -> impl Strategy<Value = TargetKey> {
    prop_oneof![
        Just(TargetKey::Default),
        Just(TargetKey::Key { write: "alias/app".into(), equivalents: vec!["arn:aws:kms:k".into()] }),
    ]
}

fn arb_replica() -> impl Strategy<Value = Option<Stored>> {
    let owners =
        prop_oneof![Just(None), Just(Some(owner().tag_value())), Just(Some("999999999999/eu-west-1".to_string()))];
    prop::option::of((arb_parameter(), arb_tags(), owners).prop_map(|(parameter, mut tags, o)| {
        if let Some(o) = o {
            tags.insert(OWNER_TAG.into(), o);
        }
        Stored { parameter, tags }
    }))
}

proptest! {
    #[test]
    fn applying_a_plan_then_planning_again_yields_no_actions(
        source in arb_parameter(),
        source_tags in arb_tags(),
        key in arb_target_key(),
        replica in arb_replica(),
        adopt in any::<bool>(),
        recreate in any::<bool>(),
    ) {
        let key = if source.kind == ParameterType::SecureString { key } else { TargetKey::None };
        let desired = Desired::new(&source, &source_tags, key, &owner()).unwrap();
        let rules = Rules { adopt_unmanaged: adopt, recreate, ..RULES };
        let first = plan_write(&desired, replica.as_ref(), &owner(), &rules);
        let after = apply(replica.clone(), &first.actions);
        let second = plan_write(&desired, after.as_ref(), &owner(), &rules);
        prop_assert!(second.actions.is_empty(), "second plan {:?}", second);
        // Convergence: whenever the planner wrote or kept the replica, it now equals the source.
        if matches!(first.outcome, Outcome::Created | Outcome::Updated | Outcome::Unchanged) {
            let after = after.expect("a written replica exists");
            prop_assert_eq!(second.outcome, Outcome::Unchanged);
            prop_assert_eq!(&after.tags, &desired.tags);
            prop_assert_eq!(&after.parameter.value, &desired.parameter.value);
            prop_assert!(desired.key.matches(after.parameter.key_id.as_deref()));
        } else {
            prop_assert_eq!(after, replica);
        }
    }

    /// Near the 50-tag limit, whatever the replica carried, one plan reaches the source's tags without
    /// the model ever exceeding the limit (it panics on TooManyTagsError), and a second plan is empty.
    #[test]
    fn tag_plans_near_the_limit_never_exceed_it(
        source_n in 40usize..50,
        replica_keys in prop::collection::btree_set("k[0-5][0-9]|x[0-9]", 0..49),
    ) {
        let desired = Desired::new(&param("v"), &many_tags(source_n), TargetKey::None, &owner()).unwrap();
        let mut tags: Tags = replica_keys.into_iter().map(|k| (k, "old".to_string())).collect();
        tags.insert(OWNER_TAG.into(), owner().tag_value());
        let replica = Stored { parameter: param("v"), tags };
        let first = plan_write(&desired, Some(&replica), &owner(), &RULES);
        let after = apply(Some(replica), &first.actions).unwrap();
        prop_assert_eq!(&after.tags, &desired.tags);
        prop_assert!(plan_write(&desired, Some(&after), &owner(), &RULES).actions.is_empty());
    }

    #[test]
    fn deleting_is_idempotent(tags in prop::option::of(arb_tags()), own in any::<bool>()) {
        let tags = tags.map(|mut t| { if own { t.insert(OWNER_TAG.into(), owner().tag_value()); } t });
        let first = plan_delete(tags.as_ref(), &owner(), &RULES);
        let state = tags.map(|t| Stored { parameter: param("v"), tags: t });
        let after = apply(state, &first.actions);
        let second = plan_delete(after.as_ref().map(|s| &s.tags), &owner(), &RULES);
        prop_assert!(second.actions.is_empty());
    }
}
