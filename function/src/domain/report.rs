//! Outcomes and reason codes: what happened to one parameter in one target, and why.

use std::collections::BTreeMap;

use serde::Serialize;

use super::cursor::Cursor;
use super::name::ParameterName;
use super::target::Target;

/// Most results a full-sync report lists (all are counted; changes and failures are listed first come).
pub const MAX_LISTED: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Deleted,
    Skipped,
    /// A secret's replica region the service is still replicating to (InProgress), or a replica write a
    /// full sync left to the next one for lack of time (`time-budget`).
    Pending,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Deleted => "deleted",
            Self::Skipped => "skipped",
            Self::Pending => "pending",
            Self::Failed => "failed",
        }
    }
}

/// Reason codes. Stable strings (kebab-case) for reports, logs and alarms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    // skipped
    OutsidePrefixes,
    NotSelected,
    SourceIsReplica,
    AmiRegionSpecific,
    SourceWriteFailed,
    /// A well-formed event about another kind of SSM resource (e.g. tags on a document).
    NotAParameter,
    Unmanaged,
    OwnedByOtherSource,
    DeletesDisabled,
    ReplicaAbsent,
    /// A secret event, but secrets are not replicated (SECRETS is off).
    SecretsDisabled,
    /// A secret event about a secret of another account or region (e.g. a call this account made on
    /// another account's secret): not a source of this replicator.
    ForeignSecret,
    /// A secret without a current version (created without a value): nothing to copy yet.
    NoSecretValue,
    /// pending: the service is still replicating the secret to that region.
    ReplicaInProgress,
    /// pending: a full sync's time budget would not have let this write finish (a recreation waits 30 s
    /// and more); nothing was written, the next full sync does it.
    TimeBudget,
    /// failed: the service reports the secret's replica in that region as Failed (its message in `error`).
    ReplicaFailed,
    /// An owned replica whose source exists but no longer selects that target (kept: pruning is off;
    /// with pruning on, the replica is `deleted` with this reason).
    Deselected,
    // created or updated
    /// The replica was deleted and created again: SSM refuses a type change, or Advanced → Standard, in place.
    Recreated,
    Adopted,
    /// An `aws:ec2:image` value was written; SSM validates it afterwards (asynchronously).
    AmiValidationPending,
    // failed, permanent
    TypeChangeNeedsRecreate,
    KmsKeyMissing,
    KmsKeyUnmapped,
    /// PutParameter refused: the replica has 100 versions and the oldest carries a label.
    VersionLimit,
    /// A source label's version has no counterpart in the target (it predates replication, or the
    /// replica's history was trimmed): that label is not replicated.
    LabelVersionMissing,
    ParameterLimit,
    PolicyUnreadable,
    /// The source's tags and the ownership tag exceed 50 tags per parameter.
    TagLimit,
    /// The name with the target's ARN prefix exceeds SSM's 1011 characters.
    NameTooLong,
    Validation,
    AccessDenied,
    // failed, transient (retries exhausted: the invocation fails so Lambda retries)
    Transient,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OutsidePrefixes => "outside-prefixes",
            Self::NotSelected => "not-selected",
            Self::SourceIsReplica => "source-is-replica",
            Self::AmiRegionSpecific => "ami-region-specific",
            Self::SourceWriteFailed => "source-write-failed",
            Self::NotAParameter => "not-a-parameter",
            Self::Unmanaged => "unmanaged",
            Self::OwnedByOtherSource => "owned-by-other-source",
            Self::DeletesDisabled => "deletes-disabled",
            Self::ReplicaAbsent => "replica-absent",
            Self::SecretsDisabled => "secrets-disabled",
            Self::ForeignSecret => "foreign-secret",
            Self::NoSecretValue => "no-secret-value",
            Self::ReplicaInProgress => "replica-in-progress",
            Self::TimeBudget => "time-budget",
            Self::ReplicaFailed => "replica-failed",
            Self::Deselected => "deselected",
            Self::Recreated => "recreated",
            Self::Adopted => "adopted",
            Self::AmiValidationPending => "ami-validation-pending",
            Self::TypeChangeNeedsRecreate => "type-change-needs-recreate",
            Self::KmsKeyMissing => "kms-key-missing",
            Self::KmsKeyUnmapped => "kms-key-unmapped",
            Self::VersionLimit => "version-limit",
            Self::LabelVersionMissing => "label-version-missing",
            Self::ParameterLimit => "parameter-limit",
            Self::PolicyUnreadable => "policy-unreadable",
            Self::TagLimit => "tag-limit",
            Self::NameTooLong => "name-too-long",
            Self::Validation => "validation",
            Self::AccessDenied => "access-denied",
            Self::Transient => "transient",
        }
    }
}

/// A replica attribute that differed from the source (names only, never values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    Value,
    Type,
    KmsKey,
    Description,
    AllowedPattern,
    DataType,
    Tier,
    Policies,
    Tags,
    Ownership,
    /// Labels (REPLICATE_LABELS), mapped by content onto the replica's versions.
    Labels,
}

/// What happened in one target. Serialized as `"target": "us-east-2"` or `"111111111111/eu-west-1"`;
/// a target without an account is in the report's `account`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetResult {
    pub target: Target,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<Field>,
    /// The AWS error code and operation behind a failure (never a message that could echo a value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TargetResult {
    pub fn new(target: &Target, outcome: Outcome, reason: Option<Reason>) -> Self {
        Self { target: target.clone(), outcome, reason, changed: Vec::new(), error: None }
    }
}

/// What a result is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    #[default]
    Parameter,
    /// A Secrets Manager secret (SECRETS=true); its name is the secret's.
    Secret,
}

impl Kind {
    pub fn is_parameter(&self) -> bool {
        *self == Self::Parameter
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parameter => "parameter",
            Self::Secret => "secret",
        }
    }
}

/// What happened to one parameter (or secret), per target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParameterResult {
    /// Serialized only for secrets (`"kind": "secret"`): parameter reports keep their shape.
    #[serde(skip_serializing_if = "Kind::is_parameter")]
    pub kind: Kind,
    pub name: ParameterName,
    pub targets: Vec<TargetResult>,
}

/// The result of one invocation: per parameter, per target, plus counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub trigger: String,
    /// The replicator's own account: the account of every target given without one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// Set when the event needed no work at all (e.g. `source-write-failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Reason>,
    /// Event path: every parameter. Full sync: those that changed or failed, at most `MAX_LISTED`.
    pub parameters: Vec<ParameterResult>,
    /// Results counted but not listed (full sync).
    #[serde(skip_serializing_if = "is_zero")]
    pub unlisted: u64,
    /// Outcome → count, over all parameters and targets.
    pub summary: BTreeMap<Outcome, u64>,
    /// `outcome:reason` → count, for outcomes that carry a reason.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, u64>,
    /// Region → operation → API attempts made during this invocation.
    pub api_calls: BTreeMap<String, BTreeMap<String, u64>>,
    pub duration_ms: u64,
    /// What this invocation wants its reader to know once (e.g. a slower path it had to take, and why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A full sync that ran out of time hands on from here (and has asked for the next invocation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<Cursor>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Report {
    pub fn new(trigger: impl Into<String>) -> Self {
        Self { trigger: trigger.into(), ..Self::default() }
    }

    /// Count and list a result (event path).
    pub fn push(&mut self, result: ParameterResult) {
        self.count(&result);
        self.parameters.push(result);
    }

    /// Count a result; list it only if something changed or failed, up to `MAX_LISTED` (full sync).
    pub fn tally(&mut self, result: ParameterResult) {
        self.count(&result);
        let notable = result.targets.iter().any(|t| !matches!(t.outcome, Outcome::Unchanged | Outcome::Skipped));
        if notable && self.parameters.len() < MAX_LISTED {
            self.parameters.push(result);
        } else {
            self.unlisted += 1;
        }
    }

    fn count(&mut self, result: &ParameterResult) {
        for t in &result.targets {
            *self.summary.entry(t.outcome).or_default() += 1;
            if let Some(reason) = t.reason {
                *self.reasons.entry(format!("{}:{}", t.outcome.as_str(), reason.as_str())).or_default() += 1;
            }
        }
    }

    /// Targets whose failure was transient: the invocation must fail so that Lambda retries it.
    pub fn transient_failures(&self) -> impl Iterator<Item = (&ParameterName, &TargetResult)> {
        self.parameters
            .iter()
            .flat_map(|p| p.targets.iter().filter(|t| t.reason == Some(Reason::Transient)).map(move |t| (&p.name, t)))
    }
}
