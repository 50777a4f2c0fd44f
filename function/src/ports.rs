//! What the engine needs from the outside world, per region. The AWS adapters implement these.

use std::fmt;
use std::future::Future;

use crate::domain::{Action, KeyRequest, Parameter, ParameterName, Reason, Tags, TargetKey};

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
    pub region: String,
    pub code: String,
    pub class: ErrorClass,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {} failed: {}", self.operation, self.region, self.code)
    }
}

impl StoreError {
    pub fn permanent(operation: &'static str, region: &str, code: impl Into<String>, reason: Reason) -> Self {
        Self { operation, region: region.to_owned(), code: code.into(), class: ErrorClass::Permanent(reason) }
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

/// One region's Parameter Store.
pub trait ParameterStore: Send + Sync {
    fn region(&self) -> &str;

    /// The parameter's tags, or `None` when the parameter does not exist.
    fn read_tags(&self, name: &ParameterName) -> impl Future<Output = StoreResult<Option<Tags>>> + Send;

    /// Value (decrypted) and metadata, or `None` when the parameter does not exist.
    fn read(&self, name: &ParameterName) -> impl Future<Output = StoreResult<Option<Parameter>>> + Send;

    /// Carry out one planned action on `name`.
    fn apply(&self, name: &ParameterName, action: &Action) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Finds the key a SecureString must use in a target region (asking KMS there; never copying ids).
pub trait KeyResolver: Send + Sync {
    fn resolve(&self, request: &KeyRequest, target_region: &str)
        -> impl Future<Output = StoreResult<TargetKey>> + Send;
}
