//! AWS adapters: SDK clients built once, the SSM store and KMS key resolver, and call counting.

mod calls;
mod continuation;
mod errors;
mod kms;
mod ssm;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use calls::{ApiCalls, CallCounts, CountCalls};
pub use continuation::LambdaContinuation;
pub use kms::KmsKeys;
pub use ssm::SsmStore;

use crate::config::Config;
use crate::domain::Owner;
use crate::engine::Replicator;

pub type AwsReplicator = Replicator<SsmStore, KmsKeys>;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot determine the AWS account (sts:GetCallerIdentity failed: {0})")]
    Identity(String),
}

/// Load the SDK configuration the standard way (environment, profile, `AWS_ENDPOINT_URL`), with timeouts.
pub async fn load_sdk_config() -> SdkConfig {
    sdk_loader(None, None).load().await
}

/// The standard loader with this tool's timeouts and adaptive retries; optionally a profile and endpoint.
pub fn sdk_loader(profile: Option<&str>, endpoint_url: Option<&str>) -> aws_config::ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(RetryConfig::adaptive().with_max_attempts(3));
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader
}

pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(30))
        .build()
}

/// One SSM and one KMS client per region, all from one `SdkConfig`, each counting its calls.
pub async fn connect(sdk: &SdkConfig, config: Config, calls: &ApiCalls) -> Result<AwsReplicator, ConnectError> {
    let ssm = |region: &str| {
        let conf = aws_sdk_ssm::config::Builder::from(sdk)
            .region(Region::new(region.to_owned()))
            .interceptor(calls.interceptor(region))
            .build();
        SsmStore::new(aws_sdk_ssm::Client::from_conf(conf), region, config.rates)
    };
    let kms = |region: &str| {
        let conf = aws_sdk_kms::config::Builder::from(sdk)
            .region(Region::new(region.to_owned()))
            .interceptor(calls.interceptor(region))
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    };
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk)
            .region(Region::new(config.source_region.clone()))
            .interceptor(calls.interceptor(&config.source_region))
            .build(),
    );
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        ConnectError::Identity(aws_sdk_sts::error::ProvideErrorMetadata::code(&e).unwrap_or("no response").to_owned())
    })?;
    let account = identity
        .account()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ConnectError::Identity("no account in the response".to_owned()))?
        .to_owned();
    let owner = Owner { account, region: config.source_region.clone() };

    let source = ssm(&config.source_region);
    let targets = config.target_regions.iter().map(|r| ssm(r)).collect();
    let target_kms: BTreeMap<String, aws_sdk_kms::Client> =
        config.target_regions.iter().map(|r| (r.clone(), kms(r))).collect();
    let keys = KmsKeys::new(&config.source_region, kms(&config.source_region), target_kms);
    Ok(Replicator::new(config, owner, source, targets, keys))
}

/// The Lambda client that hands a full sync on to the function itself.
pub fn lambda_continuation(sdk: &SdkConfig, config: &Config, calls: &ApiCalls, function: &str) -> LambdaContinuation {
    let conf = aws_sdk_lambda::config::Builder::from(sdk)
        .region(Region::new(config.source_region.clone()))
        .interceptor(calls.interceptor(&config.source_region))
        .build();
    LambdaContinuation::new(aws_sdk_lambda::Client::from_conf(conf), &config.source_region, function)
}
