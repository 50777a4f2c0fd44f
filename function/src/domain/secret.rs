//! Secrets Manager secrets (SECRETS=true): names, what a secret's description says, and the plans that
//! bring a target in line (DESIGN.md §12). Pure: no I/O.
//!
//! Targets of this account get the service's own replication (ReplicateSecretToRegions): the replicator
//! only switches it on for the selected regions, with the mapped key, and reports each replica's status.
//! Targets in other accounts get copies: created if missing, then PutSecretValue with the source's
//! version id as ClientRequestToken, so the copy's AWSCURRENT version id equals the source's and
//! "unchanged" is a comparison of version ids, without reading a value.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Serialize;

use super::keys::TargetKey;
use super::ownership::{Owner, Ownership, OWNER_TAG};
use super::parameter::Tags;
use super::planner::{Rules, MAX_TAGS};
use super::report::{Field, Outcome, Reason};

/// Longest secret name: "The name can contain … up to 512 characters".
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html#SecretsManager-CreateSecret-request-Name>
const MAX_NAME_LEN: usize = 512;
/// The default key of Secrets Manager; a source on it maps to the target's default (no KmsKeyId sent).
pub const DEFAULT_SECRETS_KEY: &str = "alias/aws/secretsmanager";
/// The staging label of the version a secret's readers get.
pub const CURRENT: &str = "AWSCURRENT";

/// A secret name Secrets Manager accepts: 1–512 of ASCII letters, digits and `/_+=.@-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SecretName(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretNameError {
    #[error("is empty")]
    Empty,
    #[error("is {0} characters long (at most {MAX_NAME_LEN})")]
    TooLong(usize),
    #[error("contains {0:?}, which is not allowed (only a-z A-Z 0-9 / _ + = . @ -)")]
    InvalidChar(char),
    #[error("is not the ARN of a secret (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf)")]
    NotASecretArn,
}

impl SecretName {
    pub fn parse(raw: &str) -> Result<Self, SecretNameError> {
        if raw.is_empty() {
            return Err(SecretNameError::Empty);
        }
        let len = raw.chars().count();
        if len > MAX_NAME_LEN {
            return Err(SecretNameError::TooLong(len));
        }
        if let Some(bad) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c))) {
            return Err(SecretNameError::InvalidChar(bad));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the name starts with one of `prefixes` (names are matched as written, like the
    /// ListSecrets `name` filter and the IAM resource `secret:PREFIX*`).
    pub fn is_under_any(&self, prefixes: &[String]) -> bool {
        prefixes.iter().any(|p| self.0.starts_with(p.as_str()))
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How an event names a secret: by name, or by ARN (whose name part carries Secrets Manager's random
/// six-character suffix, so the name is only a guess until the secret is described).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretId {
    Name(SecretName),
    Arn(String),
}

impl SecretId {
    /// `arn:aws:secretsmanager:…:secret:NAME-AbCdEf` or a name.
    pub fn parse(raw: &str) -> Result<Self, SecretNameError> {
        if raw.starts_with("arn:") {
            let ok = raw.split(':').nth(2) == Some("secretsmanager") && raw.contains(":secret:");
            if !ok {
                return Err(SecretNameError::NotASecretArn);
            }
            return Ok(Self::Arn(raw.to_owned()));
        }
        SecretName::parse(raw).map(Self::Name)
    }

    /// What to ask DescribeSecret for: the ARN (exact) or the name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Name(n) => n.as_str(),
            Self::Arn(a) => a,
        }
    }

    /// The name, from an ARN by removing the `-` and six random characters Secrets Manager appends.
    /// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html#iam-resources>
    pub fn name(&self) -> Option<SecretName> {
        match self {
            Self::Name(n) => Some(n.clone()),
            Self::Arn(a) => {
                let resource = a.split_once(":secret:")?.1;
                let cut = resource.len().checked_sub(7).filter(|&i| resource.as_bytes().get(i) == Some(&b'-'))?;
                SecretName::parse(&resource[..cut]).ok()
            }
        }
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A replica region's state, as DescribeSecret's `ReplicationStatus` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    InSync,
    InProgress,
    Failed,
    Other(String),
}

impl ReplicaState {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "InSync" => Self::InSync,
            "InProgress" => Self::InProgress,
            "Failed" => Self::Failed,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One replica region of a secret replicated by the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaStatus {
    pub region: String,
    pub kms_key_id: Option<String>,
    pub state: ReplicaState,
    /// The service's status message (about replication, never the value).
    pub message: Option<String>,
}

/// What DescribeSecret (or ListSecrets, without `replicas`) says of a secret. No value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretMeta {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    /// `None`: the default key (`aws/secretsmanager`).
    pub kms_key_id: Option<String>,
    pub tags: Tags,
    /// The version that carries AWSCURRENT (none for a secret created without a value).
    pub current_version: Option<String>,
    /// Every version id the secret keeps (with any staging label).
    pub versions: Vec<String>,
    /// The region of the primary. AWS sets it on primaries too (their own region), so a replica is a
    /// secret whose primary region is not the region of its ARN: "PrimaryRegion": "us-west-2" on the
    /// us-west-2 primary in the describe-secret example,
    /// <https://docs.aws.amazon.com/cli/latest/reference/secretsmanager/describe-secret.html>.
    pub primary_region: Option<String>,
    pub replicas: Vec<ReplicaStatus>,
    /// Scheduled for deletion (DeletedDate set).
    pub deleted: bool,
}

impl SecretMeta {
    pub fn replica_in(&self, region: &str) -> Option<&ReplicaStatus> {
        self.replicas.iter().find(|r| r.region == region)
    }

    /// A replica made by the service from a primary in another region.
    pub fn is_replica(&self) -> bool {
        let region = self.arn.split(':').nth(3).filter(|r| !r.is_empty());
        match (&self.primary_region, region) {
            (Some(primary), Some(here)) => primary != here,
            // No ARN to compare with (never so from AWS): a primary region at all means a replica.
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// A secret's value: text or binary. Never printed (Debug is redacted by `secrecy`).
pub enum SecretValue {
    Text(SecretString),
    Binary(SecretBox<[u8]>),
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text(_) => "SecretValue::Text([REDACTED])",
            Self::Binary(_) => "SecretValue::Binary([REDACTED])",
        })
    }
}

impl SecretValue {
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s.expose_secret()),
            Self::Binary(_) => None,
        }
    }

    pub fn binary(&self) -> Option<&[u8]> {
        match self {
            Self::Binary(b) => Some(b.expose_secret()),
            Self::Text(_) => None,
        }
    }
}

/// The key to ask for in a target: the source's key as the mapping sees it, with Secrets Manager's default
/// key in place of Parameter Store's.
pub fn key_of(source: &SecretMeta) -> Option<&str> {
    source.kms_key_id.as_deref().filter(|k| !is_default_key(k))
}

pub fn is_default_key(key: &str) -> bool {
    key == DEFAULT_SECRETS_KEY || key.ends_with(":alias/aws/secretsmanager")
}

/// Whether a stored key (`None`: the default) is the key the target should use.
pub fn key_matches(wanted: &TargetKey, stored: Option<&str>) -> bool {
    match wanted {
        TargetKey::None | TargetKey::Default => stored.is_none_or(is_default_key),
        TargetKey::Key { .. } => wanted.matches(stored),
    }
}

/// One change to a copy in another account. Values travel beside the action, read only when needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyAction {
    /// CreateSecret with the source's value at `token` (its version id), key, description and tags.
    Create {
        kms_key: Option<String>,
        description: Option<String>,
        tags: Tags,
        token: String,
    },
    /// The copy is scheduled for deletion but its source exists: cancel that first (RestoreSecret).
    Restore,
    /// PutSecretValue of the source's value at `token`: the new version becomes AWSCURRENT.
    PutValue {
        token: String,
    },
    /// The copy already keeps version `to` (the source moved AWSCURRENT back): move the label there.
    MoveCurrent {
        to: String,
        from: Option<String>,
    },
    /// UpdateSecret: description and key (a new key applies to versions written from now on).
    Update {
        description: Option<String>,
        kms_key: Option<String>,
    },
    Tag(Tags),
    Untag(Vec<String>),
    /// DeleteSecret with the default recovery window (never ForceDeleteWithoutRecovery).
    ScheduleDelete,
}

impl CopyAction {
    /// Whether carrying it out needs the source's value.
    pub fn needs_value(&self) -> bool {
        matches!(self, Self::Create { .. } | Self::PutValue { .. })
    }
}

/// What to do about one copy, and how it will be reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyPlan {
    pub outcome: Outcome,
    pub reason: Option<Reason>,
    pub actions: Vec<CopyAction>,
    pub changed: Vec<Field>,
}

impl CopyPlan {
    fn done(outcome: Outcome, reason: Option<Reason>) -> Self {
        Self { outcome, reason, actions: Vec::new(), changed: Vec::new() }
    }
}

/// The tags a copy carries: the source's own (not `aws:`) plus the ownership tag.
pub fn copy_tags(source: &SecretMeta, owner: &Owner) -> Tags {
    let mut tags: Tags =
        source.tags.iter().filter(|(k, _)| !k.starts_with("aws:")).map(|(k, v)| (k.clone(), v.clone())).collect();
    tags.insert(OWNER_TAG.to_owned(), owner.tag_value());
    tags
}

/// Bring the copy in another account in line with `source` (a selected, existing secret with a value).
/// `key`: the resolved key in the copy's region. `copy`: what DescribeSecret says there, `None` when the
/// service says no secret has that name.
pub fn plan_copy(
    source: &SecretMeta,
    key: &TargetKey,
    copy: Option<&SecretMeta>,
    owner: &Owner,
    rules: &Rules,
) -> CopyPlan {
    let Some(token) = source.current_version.clone() else {
        // Nothing to copy yet (created without a value): its first PutSecretValue has its own event.
        return CopyPlan::done(Outcome::Skipped, Some(Reason::NoSecretValue));
    };
    let tags = copy_tags(source, owner);
    if tags.len() > MAX_TAGS {
        // "Maximum number of tags per secret: 50" (Secrets Manager quotas); the ownership tag is one of them.
        return CopyPlan::done(Outcome::Failed, Some(Reason::TagLimit));
    }
    let Some(copy) = copy else {
        return CopyPlan {
            outcome: Outcome::Created,
            reason: None,
            actions: vec![CopyAction::Create {
                kms_key: key.to_write().map(str::to_owned),
                description: source.description.clone(),
                tags,
                token,
            }],
            changed: Vec::new(),
        };
    };
    let adopted = match owner.of(&copy.tags) {
        Ownership::Ours => false,
        Ownership::Other => return CopyPlan::done(Outcome::Skipped, Some(Reason::OwnedByOtherSource)),
        Ownership::Unmanaged if rules.adopt_unmanaged && !copy.is_replica() => true,
        Ownership::Unmanaged => return CopyPlan::done(Outcome::Skipped, Some(Reason::Unmanaged)),
    };
    let mut actions = Vec::new();
    let mut changed = Vec::new();
    if copy.deleted {
        actions.push(CopyAction::Restore);
    }
    if !key_matches(key, copy.kms_key_id.as_deref()) || copy.description != source.description {
        if !key_matches(key, copy.kms_key_id.as_deref()) {
            changed.push(Field::KmsKey);
        }
        if copy.description != source.description {
            changed.push(Field::Description);
        }
        // An UpdateSecret without KmsKeyId keeps the key; the default key is asked for by its alias (the
        // copy's own account's default: the target role's call is in that account). A new key re-encrypts
        // the AWSCURRENT, AWSPENDING and AWSPREVIOUS versions (UpdateSecret, KmsKeyId).
        let kms_key = match key {
            TargetKey::Key { write, .. } => Some(write.clone()),
            _ => Some(DEFAULT_SECRETS_KEY.to_owned()),
        }
        .filter(|_| !key_matches(key, copy.kms_key_id.as_deref()));
        actions.push(CopyAction::Update { description: source.description.clone(), kms_key });
    }
    if copy.current_version.as_deref() != Some(token.as_str()) {
        changed.push(Field::Value);
        if copy.versions.contains(&token) {
            actions.push(CopyAction::MoveCurrent { to: token, from: copy.current_version.clone() });
        } else {
            actions.push(CopyAction::PutValue { token });
        }
    }
    let stale: Vec<String> =
        copy.tags.keys().filter(|k| !k.starts_with("aws:") && !tags.contains_key(*k)).cloned().collect();
    let to_set: Tags = tags.into_iter().filter(|(k, v)| copy.tags.get(k) != Some(v)).collect();
    if !to_set.is_empty() || !stale.is_empty() {
        changed.push(if adopted && to_set.len() == 1 && stale.is_empty() { Field::Ownership } else { Field::Tags });
    }
    // Removals first: a copy at the 50-tag limit whose source renamed a tag key has room for the new key.
    if !stale.is_empty() {
        actions.push(CopyAction::Untag(stale));
    }
    if !to_set.is_empty() {
        actions.push(CopyAction::Tag(to_set));
    }
    let outcome = if actions.is_empty() { Outcome::Unchanged } else { Outcome::Updated };
    let reason = (adopted && !actions.is_empty()).then_some(Reason::Adopted);
    changed.sort();
    changed.dedup();
    CopyPlan { outcome, reason, actions, changed }
}

/// The source is gone (or scheduled for deletion): schedule the copy's deletion if it is ours.
pub fn plan_copy_delete(copy: Option<&SecretMeta>, owner: &Owner, rules: &Rules) -> CopyPlan {
    let Some(copy) = copy else { return CopyPlan::done(Outcome::Skipped, Some(Reason::ReplicaAbsent)) };
    match owner.of(&copy.tags) {
        Ownership::Ours if copy.deleted => CopyPlan::done(Outcome::Unchanged, None),
        Ownership::Ours if rules.delete_replicas => CopyPlan {
            outcome: Outcome::Deleted,
            reason: None,
            actions: vec![CopyAction::ScheduleDelete],
            changed: Vec::new(),
        },
        Ownership::Ours => CopyPlan::done(Outcome::Skipped, Some(Reason::DeletesDisabled)),
        Ownership::Other => CopyPlan::done(Outcome::Skipped, Some(Reason::OwnedByOtherSource)),
        Ownership::Unmanaged => CopyPlan::done(Outcome::Skipped, Some(Reason::Unmanaged)),
    }
}

/// How a region of this account stands for a selected secret, before any write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NativeStep {
    /// The region is a replica region already: report its status.
    Status(ReplicaStatus),
    /// Add the region (ReplicateSecretToRegions); `force`: overwrite a same-name secret there (adoption).
    Add { force: bool },
    /// A same-name secret there that is not a replica of this source, and adoption is off.
    Unmanaged,
    /// A same-name secret there that another replicator's source owns, or a replica of another primary:
    /// never overwritten (ForceOverwriteReplicaSecret cannot be undone).
    OwnedElsewhere,
}

/// The step for `region`. `existing`: DescribeSecret of the name in that region when it is not a replica
/// region yet (`None`: the service says there is none).
pub fn plan_native(source: &SecretMeta, region: &str, existing: Option<&SecretMeta>, rules: &Rules) -> NativeStep {
    if let Some(status) = source.replica_in(region) {
        return NativeStep::Status(status.clone());
    }
    match existing {
        None => NativeStep::Add { force: false },
        Some(there) if there.is_replica() || there.tags.contains_key(OWNER_TAG) => NativeStep::OwnedElsewhere,
        Some(_) if rules.adopt_unmanaged => NativeStep::Add { force: true },
        Some(_) => NativeStep::Unmanaged,
    }
}

/// The outcome a replica status is reported as. `added`: this run switched the region on.
pub fn native_outcome(status: &ReplicaStatus, added: bool, adopted: bool) -> (Outcome, Option<Reason>) {
    match (&status.state, added) {
        (ReplicaState::InSync, false) => (Outcome::Unchanged, None),
        (ReplicaState::InSync, true) => (Outcome::Created, adopted.then_some(Reason::Adopted)),
        (ReplicaState::InProgress, _) => (Outcome::Pending, Some(Reason::ReplicaInProgress)),
        (ReplicaState::Failed | ReplicaState::Other(_), _) => (Outcome::Failed, Some(Reason::ReplicaFailed)),
    }
}

#[cfg(test)]
#[path = "secret_tests.rs"]
mod tests;
