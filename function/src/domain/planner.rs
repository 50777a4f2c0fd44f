//! The planner: (source, replica, rules) → the writes that remove the drift, with a reason.
//!
//! Pure: no I/O. The engine reads, calls `plan_write`/`plan_delete`, and executes `Plan::actions`.

use super::keys::TargetKey;
use super::ownership::{is_bookkeeping, tags_digest, Owner, Ownership, OWNER_TAG, TAGS_DIGEST_TAG};
use super::parameter::{user_tags, Parameter, ParameterType, Tags, Tier, AMI_DATA_TYPE};
use super::report::{Field, Outcome, Reason};

/// What a replica in one target should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// The source parameter with `key_id` already mapped for the target (`None` = default key).
    pub parameter: Parameter,
    pub key: TargetKey,
    /// The source's user tags plus the ownership and tags-digest tags.
    pub tags: Tags,
}

/// Tags one parameter may carry ("Maximum number of tags per resource: 50"; `aws:` tags do not count):
/// <https://docs.aws.amazon.com/systems-manager/latest/userguide/tagging-resources.html>
pub const MAX_TAGS: usize = 50;

/// The source has too many tags for its replica to carry them and the ownership tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the source has {user_tags} tags; with the ownership tag its replica would need {}, over the limit of {MAX_TAGS} tags per parameter",
    user_tags + 1
)]
pub struct TagLimit {
    pub user_tags: usize,
}

impl Desired {
    /// The replica's tags are the source's user tags, the ownership tag and, while the limit leaves room,
    /// the tags digest (without it a full sync reads that replica's tags itself).
    pub fn new(source: &Parameter, source_tags: &Tags, key: TargetKey, owner: &Owner) -> Result<Self, TagLimit> {
        let mut parameter = source.clone();
        parameter.key_id = key.to_write().map(str::to_owned);
        let mut tags: Tags =
            user_tags(source_tags).filter(|(k, _)| !is_bookkeeping(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        let user_tags = tags.len();
        if user_tags + 1 > MAX_TAGS {
            return Err(TagLimit { user_tags });
        }
        let digest = tags_digest(&source.name, &tags);
        tags.insert(OWNER_TAG.to_owned(), owner.tag_value());
        if user_tags + 2 <= MAX_TAGS {
            tags.insert(TAGS_DIGEST_TAG.to_owned(), digest);
        }
        Ok(Self { parameter, key, tags })
    }
}

/// A parameter as stored in a region, with its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub parameter: Parameter,
    pub tags: Tags,
}

/// Operator switches that change what the planner may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub adopt_unmanaged: bool,
    pub delete_replicas: bool,
    /// Delete and create again an owned replica whose type (or Advanced → Standard tier) must change.
    pub recreate: bool,
    /// Delete owned replicas whose source exists but no longer selects their target.
    pub prune: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// PutParameter. `tags` are sent only on create (PutParameter rejects Tags with Overwrite).
    /// `send_policies`: send `Policies` (as a JSON list, `[{}]` for none). SSM keeps a parameter's
    /// policies when an overwrite omits them, so they are sent on create when there are any and on
    /// overwrite only when they differ; an empty list is how the user guide removes them.
    Put {
        parameter: Parameter,
        overwrite: bool,
        tags: Tags,
        send_policies: bool,
    },
    AddTags(Tags),
    RemoveTags(Vec<String>),
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub outcome: Outcome,
    pub reason: Option<Reason>,
    pub changed: Vec<Field>,
    pub actions: Vec<Action>,
}

impl Plan {
    fn nothing(outcome: Outcome, reason: Option<Reason>) -> Self {
        Self { outcome, reason, changed: Vec::new(), actions: Vec::new() }
    }

    pub fn skip(reason: Reason) -> Self {
        Self::nothing(Outcome::Skipped, Some(reason))
    }

    pub fn fail(reason: Reason) -> Self {
        Self::nothing(Outcome::Failed, Some(reason))
    }

    /// SSM validates an `aws:ec2:image` value after PutParameter has answered: a write of one is
    /// reported as pending that validation, not as a plain success.
    /// <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-ec2-aliases.html>
    fn noting_ami(mut self, parameter: &Parameter) -> Self {
        let writes_value = self.actions.iter().any(|a| matches!(a, Action::Put { .. }));
        if writes_value && parameter.data_type == AMI_DATA_TYPE {
            self.reason = Some(Reason::AmiValidationPending);
        }
        self
    }
}

/// Plan a replica write: create, update only what drifted, or nothing.
pub fn plan_write(desired: &Desired, replica: Option<&Stored>, owner: &Owner, rules: &Rules) -> Plan {
    let Some(replica) = replica else {
        return Plan {
            outcome: Outcome::Created,
            reason: None,
            changed: Vec::new(),
            actions: vec![Action::Put {
                parameter: desired.parameter.clone(),
                overwrite: false,
                tags: desired.tags.clone(),
                send_policies: !desired.parameter.policies.is_empty(),
            }],
        }
        .noting_ami(&desired.parameter);
    };
    let adopting = match owner.of(&replica.tags) {
        Ownership::Ours => false,
        Ownership::Other => return Plan::skip(Reason::OwnedByOtherSource),
        Ownership::Unmanaged if !rules.adopt_unmanaged => return Plan::skip(Reason::Unmanaged),
        Ownership::Unmanaged => true,
    };
    if let Some(field) = needs_recreate(&desired.parameter, &replica.parameter) {
        // Only a replica we own is ever deleted, so an unmanaged one is never recreated, even to adopt it.
        if rules.recreate && !adopting {
            return plan_recreate(desired, replica, field);
        }
        let mut plan = Plan::fail(Reason::TypeChangeNeedsRecreate);
        plan.changed.push(field);
        return plan;
    }

    let mut changed = changed_fields(desired, &replica.parameter);
    let mut actions = Vec::new();
    if !changed.is_empty() {
        actions.push(Action::Put {
            parameter: desired.parameter.clone(),
            overwrite: true,
            tags: Tags::new(),
            send_policies: changed.contains(&Field::Policies),
        });
    }
    let (add, remove) = tag_drift(&desired.tags, &replica.tags);
    if add.contains_key(OWNER_TAG) {
        changed.push(Field::Ownership);
    }
    if add.keys().chain(&remove).any(|k| k != OWNER_TAG) {
        changed.push(Field::Tags);
    }
    // Removals first: a replica at the 50-tag limit whose source renamed a tag would otherwise fail
    // with TooManyTagsError on the addition, on every sync.
    if !remove.is_empty() {
        actions.push(Action::RemoveTags(remove));
    }
    if !add.is_empty() {
        actions.push(Action::AddTags(add));
    }

    let outcome = if actions.is_empty() { Outcome::Unchanged } else { Outcome::Updated };
    let reason = (adopting && outcome == Outcome::Updated).then_some(Reason::Adopted);
    Plan { outcome, reason, changed, actions }.noting_ami(&desired.parameter)
}

/// Plan the replica's fate when the source is gone: delete only what we own, only when allowed.
pub fn plan_delete(replica_tags: Option<&Tags>, owner: &Owner, rules: &Rules) -> Plan {
    let Some(tags) = replica_tags else {
        return Plan::nothing(Outcome::Unchanged, Some(Reason::ReplicaAbsent));
    };
    match owner.of(tags) {
        Ownership::Ours if rules.delete_replicas => {
            Plan { outcome: Outcome::Deleted, reason: None, changed: Vec::new(), actions: vec![Action::Delete] }
        }
        Ownership::Ours => Plan::skip(Reason::DeletesDisabled),
        Ownership::Other => Plan::skip(Reason::OwnedByOtherSource),
        Ownership::Unmanaged => Plan::skip(Reason::Unmanaged),
    }
}

/// Delete the owned replica and create it again as desired, whole (tags included). Reported `updated`
/// with reason `recreated`: the replica existed before and exists after, with every drifted field named.
/// SSM refuses the create for a while after the delete; the engine waits that out (`Action::Put` right
/// after `Action::Delete`).
fn plan_recreate(desired: &Desired, replica: &Stored, field: Field) -> Plan {
    let mut changed = vec![field];
    changed.extend(changed_fields(desired, &replica.parameter).into_iter().filter(|f| *f != field));
    let (add, remove) = tag_drift(&desired.tags, &replica.tags);
    if add.keys().chain(&remove).any(|k| k != OWNER_TAG) {
        changed.push(Field::Tags);
    }
    let create = Action::Put {
        parameter: desired.parameter.clone(),
        overwrite: false,
        tags: desired.tags.clone(),
        send_policies: !desired.parameter.policies.is_empty(),
    };
    Plan { outcome: Outcome::Updated, reason: Some(Reason::Recreated), changed, actions: vec![Action::Delete, create] }
}

/// Plan the replica in a target the source exists for but no longer selects (its selection tag was
/// removed or says `no`, or its list no longer names that target). Only a replica we own counts: it is
/// deleted when pruning is on and reported `deselected` otherwise; anything else is `not-selected`.
pub fn plan_prune(replica_tags: Option<&Tags>, owner: &Owner, rules: &Rules) -> Plan {
    match replica_tags.map(|tags| owner.of(tags)) {
        Some(Ownership::Ours) if rules.prune => Plan {
            outcome: Outcome::Deleted,
            reason: Some(Reason::Deselected),
            changed: Vec::new(),
            actions: vec![Action::Delete],
        },
        Some(Ownership::Ours) => Plan::skip(Reason::Deselected),
        _ => Plan::skip(Reason::NotSelected),
    }
}

/// SSM cannot change a parameter's type, or take Advanced back to Standard, in place.
fn needs_recreate(desired: &Parameter, replica: &Parameter) -> Option<Field> {
    if desired.kind != replica.kind {
        Some(Field::Type)
    } else if desired.tier == Tier::Standard && replica.tier == Tier::Advanced {
        Some(Field::Tier)
    } else {
        None
    }
}

fn changed_fields(desired: &Desired, replica: &Parameter) -> Vec<Field> {
    let d = &desired.parameter;
    let mut changed = Vec::new();
    let mut check = |differs: bool, field| {
        if differs {
            changed.push(field);
        }
    };
    check(d.value != replica.value, Field::Value);
    check(d.kind == ParameterType::SecureString && !desired.key.matches(replica.key_id.as_deref()), Field::KmsKey);
    check(d.description != replica.description, Field::Description);
    check(d.allowed_pattern != replica.allowed_pattern, Field::AllowedPattern);
    check(d.data_type != replica.data_type, Field::DataType);
    check(d.tier != replica.tier, Field::Tier);
    check(d.policies != replica.policies, Field::Policies);
    changed
}

/// Tags to add (missing or different) and keys to remove (gone from the source), never `aws:` tags.
fn tag_drift(desired: &Tags, replica: &Tags) -> (Tags, Vec<String>) {
    let add: Tags =
        desired.iter().filter(|(k, v)| replica.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let remove = user_tags(replica).filter(|(k, _)| !desired.contains_key(*k)).map(|(k, _)| k.clone()).collect();
    (add, remove)
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
