//! AWS adapters: SDK clients built once, the SSM store and KMS key resolver, and call counting.

mod accounts;
mod calls;
mod continuation;
mod described;
mod errors;
mod kms;
mod secrets;
mod ssm;
mod tagging;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

pub use accounts::{role_arn, RoleNotAssumable};
pub use calls::{ApiCalls, CallCounts, CountCalls};
pub use continuation::LambdaContinuation;
pub use kms::KmsKeys;
pub use secrets::SecretsStore;
pub use ssm::SsmStore;
pub use tagging::TagIndex;

use crate::config::Config;
use crate::domain::{Owner, Target};
use crate::engine::{Replicator, SecretStores};

pub type AwsReplicator = Replicator<SsmStore, KmsKeys, SecretsStore>;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot determine the AWS account (sts:GetCallerIdentity failed: {0})")]
    Identity(String),
    #[error("TARGETS: {0}")]
    Targets(String),
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

/// One SSM and one KMS client per target, all from one `SdkConfig`, each counting its calls. Targets in
/// other accounts get their account's credentials (the target role, assumed by the SDK's provider, one
/// per account and shared by that account's clients); the engine never sees credentials.
pub async fn connect(sdk: &SdkConfig, config: Config, calls: &ApiCalls) -> Result<AwsReplicator, ConnectError> {
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
    let config = own_account_targets(config, &owner)?;

    // One configuration per account: this one's, and the assumed role's for each other account.
    let mut accounts: BTreeMap<Option<String>, SdkConfig> = BTreeMap::from([(None, sdk.clone())]);
    let others: BTreeSet<&String> = config.targets.iter().filter_map(|t| t.account.as_ref()).collect();
    for account in others {
        let arn = role_arn(&config.source_region, account, &config.target_role_name);
        accounts.insert(Some(account.clone()), accounts::for_account(sdk, &owner, account, arn).await);
    }
    let sdk_for = |t: &Target| accounts.get(&t.account).unwrap_or(sdk);
    let label = |t: &Target| t.to_string();
    let ssm = |t: &Target| {
        let conf = aws_sdk_ssm::config::Builder::from(sdk_for(t))
            .region(Region::new(t.region.clone()))
            .interceptor(calls.interceptor(&label(t)))
            .build();
        SsmStore::new(aws_sdk_ssm::Client::from_conf(conf), t.clone(), config.rates)
    };
    let kms = |t: &Target| {
        let conf = aws_sdk_kms::config::Builder::from(sdk_for(t))
            .region(Region::new(t.region.clone()))
            .interceptor(calls.interceptor(&label(t)))
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    };

    // The tagging API of each store's region and account: the full sync reads tags in bulk there.
    let tag_index = |t: &Target| {
        let conf = aws_sdk_resourcegroupstagging::config::Builder::from(sdk_for(t))
            .region(Region::new(t.region.clone()))
            .interceptor(calls.interceptor(&label(t)))
            .build();
        let client = aws_sdk_resourcegroupstagging::Client::from_conf(conf);
        TagIndex::new(client, &t.region, t.account_or(&owner.account))
    };
    let source_target = Target::own(&config.source_region);
    let source = ssm(&source_target).with_tag_index(tag_index(&source_target));
    let targets = config.targets.iter().map(|t| ssm(t).with_tag_index(tag_index(t))).collect();
    let target_kms: BTreeMap<Target, aws_sdk_kms::Client> =
        config.targets.iter().map(|t| (t.clone(), kms(t))).collect();
    let keys = KmsKeys::new(&config.source_region, kms(&source_target), target_kms);
    let secrets = |t: &Target| {
        let conf = aws_sdk_secretsmanager::config::Builder::from(sdk_for(t))
            .region(Region::new(t.region.clone()))
            .interceptor(calls.interceptor(&label(t)))
            .build();
        SecretsStore::new(aws_sdk_secretsmanager::Client::from_conf(conf), t.clone(), config.rates)
    };
    // Built even when SECRETS is off (no call is made then): one replicator type for every configuration.
    let stores =
        SecretStores { source: secrets(&source_target), targets: config.targets.iter().map(&secrets).collect() };
    let replicates_secrets = config.secrets;
    let replicator = Replicator::new(config, owner, source, targets, keys);
    Ok(replicator.with_secrets(replicates_secrets.then_some(stores)))
}

/// `ACCOUNT/REGION` targets (and KMS map entries) naming this account become plain regions; a target
/// that is then the source itself, or listed twice, is refused.
fn own_account_targets(mut config: Config, owner: &Owner) -> Result<Config, ConnectError> {
    let mut targets: Vec<Target> = Vec::new();
    for t in std::mem::take(&mut config.targets) {
        let written = t.to_string();
        let t = t.normalized(&owner.account);
        if t == Target::own(&owner.region) {
            return Err(ConnectError::Targets(format!(
                "'{written}' is the source ({} is this account)",
                owner.account
            )));
        }
        if targets.contains(&t) {
            return Err(ConnectError::Targets(format!(
                "'{written}' is listed twice ({} is this account)",
                owner.account
            )));
        }
        targets.push(t);
    }
    config.targets = targets;
    config.kms_key_map =
        std::mem::take(&mut config.kms_key_map).into_iter().map(|(t, k)| (t.normalized(&owner.account), k)).collect();
    Ok(config)
}

/// The Lambda client that hands a full sync on to the function itself.
pub fn lambda_continuation(sdk: &SdkConfig, config: &Config, calls: &ApiCalls, function: &str) -> LambdaContinuation {
    let conf = aws_sdk_lambda::config::Builder::from(sdk)
        .region(Region::new(config.source_region.clone()))
        .interceptor(calls.interceptor(&config.source_region))
        .build();
    LambdaContinuation::new(aws_sdk_lambda::Client::from_conf(conf), &config.source_region, function)
}
