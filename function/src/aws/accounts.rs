//! Credentials for targets in other accounts: the SDK's assume-role provider for
//! `arn:<partition>:iam::<ACCOUNT>:role/<TARGET_ROLE_NAME>`, one per account and shared by every client
//! of that account (its regions, SSM and KMS), cached and refreshed by the SDK's identity cache.
//!
//! A role that cannot be assumed fails that account's targets alone, with `access-denied` and what to do
//! about it; the SDK reports it as a dispatch failure whose source chain holds `RoleNotAssumable`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, future, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::domain::name::partition_of;
use crate::domain::Owner;

/// After STS refused the role, how long every credential request for that account fails at once
/// instead of asking STS again (a full sync would otherwise ask once per API call).
const REFUSAL_MEMORY: Duration = Duration::from_secs(60);

/// STS answers that no retry cures: the role's trust or the caller's permission (AccessDenied), an STS
/// endpoint disabled in one of the two accounts, a malformed request. Anything else (throttling, 5xx, no
/// answer) is transient.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html#API_AssumeRole_Errors>
const PERMANENT_STS: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "RegionDisabledException",
    "MalformedPolicyDocument",
    "PackedPolicyTooLarge",
    "ExpiredTokenException",
    "InvalidClientTokenId",
];

/// Waits before asking STS again after an AccessDenied: IAM is eventually consistent, and a role or
/// policy deployed a moment ago (the target stack, or the source role replaced by a deploy) can be refused
/// for a few seconds ("changes … can take time to become visible",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
const DENIED_WAITS: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(5)];

/// The role of a target account could not be assumed. Carries the role ARN and what to deploy, never
/// credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: cannot assume {role_arn}; {}", advice(code, account, region))]
pub struct RoleNotAssumable {
    pub role_arn: String,
    pub account: String,
    /// The region whose STS endpoint was asked (the source region).
    pub region: String,
    /// STS's error code (`AccessDenied`, `RegionDisabledException`, …).
    pub code: String,
    /// False when STS itself failed (throttling, 5xx, no answer): worth retrying.
    pub permanent: bool,
}

/// What an operator can do about a refusal.
fn advice(code: &str, account: &str, region: &str) -> String {
    match code {
        "RegionDisabledException" => format!(
            "the STS endpoint of {region} is not active in this account or in {account} (IAM account settings, \
             Security Token Service)"
        ),
        _ => format!(
            "deploy the target stack in account {account} (make deploy-targets), or set TARGET_ROLE_NAME to the \
             role it created"
        ),
    }
}

/// The role ARN this replicator assumes in `account`.
pub fn role_arn(source_region: &str, account: &str, role_name: &str) -> String {
    format!("arn:{}:iam::{account}:role/{role_name}", partition_of(source_region))
}

/// `sdk` with credentials from assuming the target role in `account`, for that account's clients. The
/// session name names the source account, so the target account's CloudTrail shows who wrote. STS is asked
/// in the source region (its regional endpoint), whatever region the base configuration names.
pub async fn for_account(sdk: &SdkConfig, source: &Owner, account: &str, role_arn: String) -> SdkConfig {
    // Session names: 2-64 characters of [\w+=,.@-] (STS AssumeRole API reference, RoleSessionName).
    let session = format!("ssm-replicator-{}", source.account);
    let inner = AssumeRoleProvider::builder(role_arn.clone())
        .configure(sdk)
        .region(Region::new(source.region.clone()))
        .session_name(session)
        .build()
        .await;
    let provider = TargetRole {
        inner,
        role_arn,
        account: account.to_owned(),
        region: source.region.clone(),
        refused: Mutex::new(None),
    };
    sdk.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build()
}

#[derive(Debug)]
struct TargetRole {
    inner: AssumeRoleProvider,
    role_arn: String,
    account: String,
    region: String,
    refused: Mutex<Option<(Instant, RoleNotAssumable)>>,
}

impl TargetRole {
    async fn credentials(&self) -> provider::Result {
        if let Some(refusal) = self.recent_refusal() {
            return Err(CredentialsError::provider_error(refusal));
        }
        let mut waits = DENIED_WAITS.iter();
        let (code, permanent) = loop {
            let err = match self.inner.provide_credentials().await {
                Ok(credentials) => return Ok(credentials),
                Err(err) => err,
            };
            let code = sts_code(&err);
            let permanent = code.as_deref().is_some_and(|c| PERMANENT_STS.contains(&c));
            let denied = code.as_deref().is_some_and(|c| c.starts_with("AccessDenied"));
            match waits.next() {
                Some(wait) if denied => tokio::time::sleep(*wait).await,
                _ => break (code, permanent),
            }
        };
        let refusal = RoleNotAssumable {
            role_arn: self.role_arn.clone(),
            account: self.account.clone(),
            region: self.region.clone(),
            code: code.unwrap_or_else(|| "NoAnswer".to_owned()),
            permanent,
        };
        if permanent {
            let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
            *refused = Some((Instant::now(), refusal.clone()));
        }
        Err(CredentialsError::provider_error(refusal))
    }

    fn recent_refusal(&self) -> Option<RoleNotAssumable> {
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused.as_ref().filter(|(at, _)| at.elapsed() < REFUSAL_MEMORY).map(|(_, r)| r.clone())
    }
}

impl ProvideCredentials for TargetRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

/// The STS error code inside a credentials error from the assume-role provider, if STS answered.
fn sts_code(err: &CredentialsError) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(sdk) = e.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            return sdk.as_service_error().and_then(ProvideErrorMetadata::code).map(str::to_owned);
        }
        source = e.source();
    }
    None
}

/// The `RoleNotAssumable` behind an SDK error of a call in another account, if that is what failed.
pub(crate) fn role_not_assumable<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a RoleNotAssumable> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<RoleNotAssumable>() {
            return Some(refusal);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_arn_is_in_the_source_partition() {
        assert_eq!(role_arn("us-east-1", "111111111111", "r"), "arn:aws:iam::111111111111:role/r");
        assert_eq!(role_arn("cn-north-1", "111111111111", "r"), "arn:aws-cn:iam::111111111111:role/r");
        assert_eq!(role_arn("us-gov-west-1", "111111111111", "r"), "arn:aws-us-gov:iam::111111111111:role/r");
    }

    #[test]
    fn a_refusal_is_found_through_the_error_chain_and_says_what_to_deploy() {
        let refusal = RoleNotAssumable {
            role_arn: "arn:aws:iam::111111111111:role/ssm-replicator-target".into(),
            account: "111111111111".into(),
            region: "us-east-1".into(),
            code: "AccessDenied".into(),
            permanent: true,
        };
        let wrapped = CredentialsError::provider_error(refusal.clone());
        assert_eq!(role_not_assumable(&wrapped), Some(&refusal));
        let text = refusal.to_string();
        assert!(text.contains("arn:aws:iam::111111111111:role/ssm-replicator-target"), "{text}");
        assert!(text.contains("make deploy-targets"), "{text}");
        assert_eq!(role_not_assumable(&std::io::Error::other("x")), None);
        let disabled = RoleNotAssumable { code: "RegionDisabledException".into(), ..refusal };
        assert!(disabled.to_string().contains("STS endpoint of us-east-1 is not active"), "{disabled}");
    }
}
