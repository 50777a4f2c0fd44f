//! SDK errors → `StoreError`: transient or permanent with a reason code. Codes only, never messages.

use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

use super::accounts::role_not_assumable;
use crate::domain::Reason;
use crate::ports::{ErrorClass, StoreError};

/// Error codes that a retry can cure. TooManyUpdates is not retried by the Rust SDK itself.
const TRANSIENT: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "TooManyUpdates",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "KMSInternalException",
    "DependencyTimeoutException",
    // The Resource Groups Tagging API's throttling code (HTTP 400, not 429).
    "ThrottledException",
    // A concurrent writer created the parameter between our read and our create: re-plan.
    "ParameterAlreadyExists",
    // Secrets Manager: its 5xx code, and a secret created between our DescribeSecret and CreateSecret.
    "InternalServiceError",
    "ResourceExistsException",
];

/// `region`: where the call went, as reports name it (`us-east-2`, `111111111111/eu-west-1`).
pub(crate) fn classify<E, R>(operation: &'static str, region: &str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata,
    R: HasStatus,
{
    let (code, class) = match err {
        SdkError::TimeoutError(_) => ("Timeout".to_owned(), ErrorClass::Transient),
        // The credentials of another account's target: its role could not be assumed.
        SdkError::DispatchFailure(failure) => match failure.as_connector_error().and_then(|c| role_not_assumable(c)) {
            Some(refusal) if refusal.permanent => {
                return StoreError {
                    operation: "AssumeRole",
                    target: region.to_owned(),
                    code: refusal.to_string(),
                    class: ErrorClass::Permanent(Reason::AccessDenied),
                }
            }
            Some(refusal) => (format!("AssumeRole {}", refusal.code), ErrorClass::Transient),
            None => ("DispatchFailure".to_owned(), ErrorClass::Transient),
        },
        SdkError::ResponseError(_) => ("ResponseError".to_owned(), ErrorClass::Transient),
        SdkError::ConstructionFailure(_) => {
            ("ConstructionFailure".to_owned(), ErrorClass::Permanent(Reason::Validation))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_owned();
            let status = service.raw().status_code();
            let class = if TRANSIENT.contains(&code.as_str()) || status == 429 || status >= 500 {
                ErrorClass::Transient
            } else {
                ErrorClass::Permanent(permanent_reason(&code))
            };
            let code = explained(code);
            (code, class)
        }
        _ => ("Unknown".to_owned(), ErrorClass::Transient),
    };
    StoreError { operation, target: region.to_owned(), code, class }
}

pub(crate) fn code_of<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// What an operator must know beside the code. ParameterMaxVersionLimitExceeded: "Parameter Store retains
/// the 100 most recently created versions of a parameter. … if the oldest version has a label attached to
/// it, Parameter Store won't delete the version and instead presents this error" (SSM API reference,
/// Errors; the same text in every SDK's ParameterMaxVersionLimitExceeded). Labels are no value: safe here.
fn explained(code: String) -> String {
    match code.as_str() {
        "ParameterMaxVersionLimitExceeded" => format!(
            "{code} (the replica has 100 versions and the oldest of them carries a label, so SSM keeps it and \
             refuses a new version: move or remove that label in the target)"
        ),
        _ => code,
    }
}

fn permanent_reason(code: &str) -> Reason {
    match code {
        "InvalidKeyId"
        | "NotFoundException"
        | "DisabledException"
        | "KMSInvalidStateException"
        | "KeyUnavailableException"
        // Secrets Manager could not use the key (it does not exist there, is disabled, or is not allowed).
        | "EncryptionFailure"
        | "DecryptionFailure" => Reason::KmsKeyMissing,
        "ParameterMaxVersionLimitExceeded" => Reason::VersionLimit,
        "ParameterLimitExceeded" => Reason::ParameterLimit,
        "AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation" | "UnrecognizedClientException" => {
            Reason::AccessDenied
        }
        "HierarchyTypeMismatchException" | "UnsupportedParameterType" => Reason::TypeChangeNeedsRecreate,
        _ => Reason::Validation,
    }
}

/// The HTTP status of a raw response, whatever the response type.
pub(crate) trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}
