//! What the engine needs from the outside world, per region. The AWS adapters implement these.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;

use crate::domain::labels::HistoryEntry;
use crate::domain::secret::{CopyAction, ReplicaStatus, SecretMeta, SecretName, SecretValue};
use crate::domain::{Action, KeyRequest, Metadata, Parameter, ParameterName, Reason, Tags, Target, TargetKey, Value};

/// Whether retrying can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Throttling, TooManyUpdates, 5xx, timeouts, connection failures: retry with backoff.
    Transient,
    /// Validation, missing keys, quotas: retrying will not help; recorded with this reason.
    Permanent(Reason),
}

/// A failed call. Carries the AWS error code only — never the service's message, which may echo input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct StoreError {
    pub operation: &'static str,
    /// Where: a region of this account (`us-east-2`) or of another (`111111111111/eu-west-1`).
    pub target: String,
    pub code: String,
    pub class: ErrorClass,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {} failed: {}", self.operation, self.target, self.code)
    }
}

impl StoreError {
    pub fn permanent(operation: &'static str, target: &str, code: impl Into<String>, reason: Reason) -> Self {
        Self { operation, target: target.to_owned(), code: code.into(), class: ErrorClass::Permanent(reason) }
    }

    pub fn is_transient(&self) -> bool {
        self.class == ErrorClass::Transient
    }

    pub fn reason(&self) -> Reason {
        match self.class {
            ErrorClass::Transient => Reason::Transient,
            ErrorClass::Permanent(r) => r,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which parameters to list (DescribeParameters filters; all given filters must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Exactly these names (at most 50).
    pub names: Vec<ParameterName>,
    /// At or below this path (`/app`), recursively.
    pub path: Option<String>,
    /// Tag key → accepted values (empty: any value, the key must be present).
    pub tags: Vec<(String, Vec<String>)>,
}

/// One page of a listing and the token for the next page. A page may be empty and still have a next
/// page: DescribeParameters returns "between zero and MaxResults" items per call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Metadata>,
    /// Listed items the adapter could not read (unknown type, unreadable policy, invalid name): each
    /// fails on its own, the rest of the page goes on.
    pub rejected: Vec<Rejected>,
    pub next: Option<String>,
}

/// A listed item that could not be turned into `Metadata`, under its name as SSM listed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub name: ParameterName,
    pub error: StoreError,
}

/// Per name, its value or why it could not be read. Names that do not exist are absent.
pub type Values = std::collections::BTreeMap<ParameterName, StoreResult<VersionedValue>>;

/// A value read with decryption, and the version it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionedValue {
    pub value: Value,
    pub version: i64,
}

/// Tags of many parameters from an eventually consistent index (the tagging API): a hint, never proof.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkTags {
    /// The parameters the index knows, with their tags (possibly a little out of date).
    pub found: std::collections::BTreeMap<ParameterName, Tags>,
    /// Whether the index answered for every name asked: then an absent name has no tags, or is not
    /// indexed yet. When false, an absent name was not answered for at all.
    pub complete: bool,
}

/// Most names one `Query` may carry (DescribeParameters accepts 50 filter values).
pub const QUERY_NAMES: usize = 50;

/// One region's Parameter Store, in this account or another.
pub trait ParameterStore: Send + Sync {
    /// Where this store is (the source store: its region of this account).
    fn target(&self) -> &Target;

    fn region(&self) -> &str {
        &self.target().region
    }

    /// The parameter's tags, or `None` when the parameter does not exist.
    fn read_tags(&self, name: &ParameterName) -> impl Future<Output = StoreResult<Option<Tags>>> + Send;

    /// Tags of `names` in bulk (the Resource Groups Tagging API, 100 names per call), for the full sync.
    /// Eventually consistent: use it to skip tag reads, never to decide that a parameter is unselected.
    fn bulk_tags(&self, names: &[ParameterName]) -> impl Future<Output = StoreResult<BulkTags>> + Send;

    /// Value (decrypted) and metadata, or `None` only when SSM says the name does not exist.
    fn read(&self, name: &ParameterName) -> impl Future<Output = StoreResult<Option<Parameter>>> + Send;

    /// One page (up to 50) of parameters matching `query`, metadata only.
    fn list(&self, query: &Query, token: Option<&str>) -> impl Future<Output = StoreResult<Page>> + Send;

    /// Values (decrypted) of the names that exist, in batches of 10; absent names are left out. A name
    /// that cannot be read on its own (e.g. a key it cannot be decrypted with) fails alone.
    fn values(&self, names: &[ParameterName]) -> impl Future<Output = StoreResult<Values>> + Send;

    /// Which of `names` exist (GetParameters, no decryption, 10 per call): a name is absent only when SSM
    /// lists it in InvalidParameters; anything SSM does not answer for counts as existing.
    fn existing(&self, names: &[ParameterName]) -> impl Future<Output = StoreResult<BTreeSet<ParameterName>>> + Send;

    /// Carry out one planned action on `name`.
    fn apply(&self, name: &ParameterName, action: &Action) -> impl Future<Output = StoreResult<()>> + Send;

    /// Every version kept (GetParameterHistory, values decrypted) with its labels, oldest first, or `None`
    /// when SSM says the parameter does not exist. Only read when labels are replicated.
    fn history(&self, name: &ParameterName) -> impl Future<Output = StoreResult<Option<Vec<HistoryEntry>>>> + Send;

    /// Put `labels` (1–10) on `version`, moving any of them held by another version (LabelParameterVersion).
    fn label(
        &self,
        name: &ParameterName,
        version: i64,
        labels: &[String],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Remove `labels` (1–10) from `version` (UnlabelParameterVersion).
    fn unlabel(
        &self,
        name: &ParameterName,
        version: i64,
        labels: &[String],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Which secrets a full sync lists (ListSecrets filters: names starting with `prefix`, and,
/// when `tag_key` is set, carrying that tag key).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretQuery {
    pub prefix: Option<String>,
    pub tag_key: Option<String>,
}

/// One page of ListSecrets: descriptions without replication status (ListSecrets does not return it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretPage {
    pub items: Vec<SecretMeta>,
    pub next: Option<String>,
}

/// One region's Secrets Manager, in this account or another (SECRETS=true).
pub trait SecretStore: Send + Sync {
    fn target(&self) -> &Target;

    /// One page (up to 100) of secrets matching `query`; a page may be empty and still have a next one.
    fn list(&self, query: &SecretQuery, token: Option<&str>) -> impl Future<Output = StoreResult<SecretPage>> + Send;

    /// DescribeSecret (by name or ARN), or `None` only when the service says that exact secret does not
    /// exist (ResourceNotFoundException). A secret scheduled for deletion is described, `deleted` set.
    fn describe(&self, id: &str) -> impl Future<Output = StoreResult<Option<SecretMeta>>> + Send;

    /// The value of `version` (GetSecretValue by VersionId), or `None` when the secret or version is gone.
    fn value(&self, id: &str, version: &str) -> impl Future<Output = StoreResult<Option<SecretValue>>> + Send;

    /// Add replica regions (ReplicateSecretToRegions), each with its key (`None`: the region's default).
    /// Returns the replication status of every replica region, as the service answers it.
    fn replicate(
        &self,
        id: &str,
        regions: &[(String, Option<String>)],
        force_overwrite: bool,
    ) -> impl Future<Output = StoreResult<Vec<ReplicaStatus>>> + Send;

    /// Carry out one change to a copy; `value` is given for the actions that need it.
    fn apply(
        &self,
        name: &SecretName,
        action: &CopyAction,
        value: Option<&SecretValue>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A replicator without secrets (SECRETS is off, and in tests of parameters alone): never called.
#[derive(Clone, Debug)]
pub struct NoSecrets(pub Target);

impl SecretStore for NoSecrets {
    fn target(&self) -> &Target {
        &self.0
    }

    async fn list(&self, _query: &SecretQuery, _token: Option<&str>) -> StoreResult<SecretPage> {
        Ok(SecretPage::default())
    }

    async fn describe(&self, _id: &str) -> StoreResult<Option<SecretMeta>> {
        Err(self.off())
    }

    async fn value(&self, _id: &str, _version: &str) -> StoreResult<Option<SecretValue>> {
        Err(self.off())
    }

    async fn replicate(
        &self,
        _id: &str,
        _regions: &[(String, Option<String>)],
        _force: bool,
    ) -> StoreResult<Vec<ReplicaStatus>> {
        Err(self.off())
    }

    async fn apply(&self, _name: &SecretName, _action: &CopyAction, _value: Option<&SecretValue>) -> StoreResult<()> {
        Err(self.off())
    }
}

impl NoSecrets {
    fn off(&self) -> StoreError {
        StoreError::permanent("SecretsManager", &self.0.to_string(), "SecretsDisabled", Reason::SecretsDisabled)
    }
}

/// Finds the key a SecureString must use in a target (asking KMS there; never copying ids).
pub trait KeyResolver: Send + Sync {
    fn resolve(&self, request: &KeyRequest, target: &Target) -> impl Future<Output = StoreResult<TargetKey>> + Send;
}

/// Hands a full sync that ran out of time on to a following invocation.
pub trait Continuation: Send + Sync {
    fn hand_off(&self, payload: &serde_json::Value) -> impl Future<Output = StoreResult<()>> + Send;
}

/// For callers that never stop early (no deadline): handing off is an error.
pub struct NoContinuation;

impl Continuation for NoContinuation {
    async fn hand_off(&self, _payload: &serde_json::Value) -> StoreResult<()> {
        Err(StoreError::permanent("HandOff", "-", "NoContinuation", Reason::Validation))
    }
}
