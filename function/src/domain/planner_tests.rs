//! Unit tests and property tests of the planner against a simple reference model of a region.

use proptest::prelude::*;

use super::*;
use crate::domain::name::ParameterName;
use crate::domain::parameter::{Value, DEFAULT_KMS_ALIAS};

fn owner() -> Owner {
    Owner { account: "111122223333".into(), region: "us-east-1".into() }
}

const RULES: Rules = Rules { adopt_unmanaged: true, delete_replicas: true };

fn param(value: &str) -> Parameter {
    Parameter {
        name: ParameterName::parse("/app/x").unwrap(),
        value: Value::new(value),
        kind: ParameterType::String,
        key_id: None,
        description: Some("d".into()),
        allowed_pattern: None,
        data_type: "text".into(),
        tier: Tier::Standard,
        policies: Vec::new(),
    }
}

fn desired(value: &str) -> Desired {
    let tags: Tags = [("team".to_string(), "a".to_string())].into();
    Desired::new(&param(value), &tags, TargetKey::None, &owner())
}

/// The reference model: what SSM does with each action.
fn apply(mut state: Option<Stored>, actions: &[Action]) -> Option<Stored> {
    for action in actions {
        state = match (state, action) {
            (_, Action::Put { parameter, overwrite: false, tags }) => {
                Some(Stored { parameter: stored_form(parameter), tags: tags.clone() })
            }
            (Some(s), Action::Put { parameter, overwrite: true, .. }) => {
                Some(Stored { parameter: stored_form(parameter), tags: s.tags })
            }
            (Some(mut s), Action::AddTags(add)) => {
                s.tags.extend(add.clone());
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
    let Action::Put { overwrite, tags, .. } = &plan.actions[0] else { panic!("{plan:?}") };
    assert!(!overwrite);
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
        .prop_map(|(value, kind, description, allowed_pattern, data_type, tier, policies, key)| Parameter {
            name: ParameterName::parse("/app/x").unwrap(),
            value: Value::new(value),
            kind,
            key_id: if kind == ParameterType::SecureString { key } else { None },
            description,
            allowed_pattern,
            data_type,
            tier,
            policies,
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
    ) {
        let key = if source.kind == ParameterType::SecureString { key } else { TargetKey::None };
        let desired = Desired::new(&source, &source_tags, key, &owner());
        let rules = Rules { adopt_unmanaged: adopt, delete_replicas: true };
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
