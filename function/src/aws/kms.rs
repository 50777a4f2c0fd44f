//! `KeyResolver` over KMS: finds the target region's key for a SecureString, never copying key ids.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_kms::types::KeyState;
use aws_sdk_kms::Client;

use super::errors::{classify, code_of};
use crate::domain::parameter::DEFAULT_KMS_ALIAS;
use crate::domain::{KeyRequest, Reason, Target, TargetKey};
use crate::ports::{ErrorClass, KeyResolver, StoreError, StoreResult};

/// How long a resolved key is trusted before KMS is asked again.
const CACHE_TTL: Duration = Duration::from_secs(300);

type Cache = HashMap<(KeyRequest, Target), (Instant, TargetKey)>;

pub struct KmsKeys {
    source_region: String,
    source: Client,
    /// One client per target, with that target's region and account credentials.
    targets: BTreeMap<Target, Client>,
    cache: Mutex<Cache>,
}

impl KmsKeys {
    pub fn new(source_region: &str, source: Client, targets: BTreeMap<Target, Client>) -> Self {
        Self { source_region: source_region.to_owned(), source, targets, cache: Mutex::default() }
    }

    fn cached(&self, key: &(KeyRequest, Target)) -> Option<TargetKey> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(key).filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, k)| k.clone())
    }

    /// DescribeKey in the target: the key must exist there and be enabled.
    async fn describe(&self, target: &Target, key_id: &str) -> StoreResult<TargetKey> {
        let label = target.to_string();
        let client = self
            .targets
            .get(target)
            .ok_or_else(|| StoreError::permanent("DescribeKey", &label, "TargetNotConfigured", Reason::Validation))?;
        let out = client.describe_key().key_id(key_id).send().await.map_err(|e| {
            let mut err = classify("DescribeKey", &label, &e);
            if err.class != ErrorClass::Transient && err.reason() != Reason::AccessDenied {
                err.class = ErrorClass::Permanent(Reason::KmsKeyMissing);
            }
            err
        })?;
        let meta = out
            .key_metadata()
            .ok_or_else(|| StoreError::permanent("DescribeKey", &label, "NoKeyMetadata", Reason::KmsKeyMissing))?;
        if meta.key_state() != Some(&KeyState::Enabled) {
            let state = meta.key_state().map_or("Unknown", KeyState::as_str);
            return Err(StoreError::permanent(
                "DescribeKey",
                &label,
                format!("KeyState {state}"),
                Reason::KmsKeyMissing,
            ));
        }
        let mut equivalents = vec![meta.key_id().to_owned()];
        if let Some(arn) = meta.arn() {
            equivalents.push(arn.to_owned());
            if let (Some(alias), Some((prefix, _))) = (key_id.strip_prefix("alias/"), arn.split_once(":key/")) {
                equivalents.push(format!("{prefix}:alias/{alias}"));
            }
        }
        Ok(TargetKey::Key { write: key_id.to_owned(), equivalents })
    }

    /// True when `key_id` (an id, as `request_for` leaves it) is the source region's AWS managed key for
    /// SSM, `alias/aws/ssm`: a parameter written with that key's id or ARN is on the default key, and
    /// its replica goes on the target's default key. PutParameter accepts "any valid KMS key
    /// identifier" (https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html),
    /// so the id or ARN is what DescribeParameters reports then, not the alias.
    async fn is_source_default_key(&self, key_id: &str) -> StoreResult<bool> {
        let out = match self.source.describe_key().key_id(DEFAULT_KMS_ALIAS).send().await {
            Ok(out) => out,
            // No AWS managed key for SSM in the source yet: then it is not this one.
            Err(e) if code_of(&e) == Some("NotFoundException") => return Ok(false),
            Err(e) => {
                let err = classify("DescribeKey", &self.source_region, &e);
                // A role without DescribeKey in the source (an older stack, a narrow CLI profile) cannot
                // tell: not known to be the default key, so the key's alias decides (or kms-key-unmapped).
                if err.reason() == Reason::AccessDenied {
                    return Ok(false);
                }
                return Err(err);
            }
        };
        Ok(out.key_metadata().is_some_and(|m| m.key_id() == key_id || m.arn() == Some(key_id)))
    }

    /// A single-Region key has no counterpart elsewhere: find its customer alias in the source.
    async fn alias_of(&self, key_id: &str) -> StoreResult<String> {
        let out = self.source.list_aliases().key_id(key_id).send().await.map_err(|e| {
            let mut err = classify("ListAliases", &self.source_region, &e);
            // kms:ListAliases cannot be scoped to keys, so the deployed role does not have it: a key
            // given by id then needs an entry in KMS_KEY_MAP.
            if err.reason() == Reason::AccessDenied {
                err.class = ErrorClass::Permanent(Reason::KmsKeyUnmapped);
            }
            err
        })?;
        out.aliases()
            .iter()
            .filter_map(|a| a.alias_name())
            .find(|a| !a.starts_with("alias/aws/"))
            .map(str::to_owned)
            .ok_or_else(|| {
                StoreError::permanent("ListAliases", &self.source_region, "NoAliasForKey", Reason::KmsKeyUnmapped)
            })
    }
}

impl KeyResolver for KmsKeys {
    async fn resolve(&self, request: &KeyRequest, target: &Target) -> StoreResult<TargetKey> {
        let cache_key = (request.clone(), target.clone());
        if let Some(hit) = self.cached(&cache_key) {
            return Ok(hit);
        }
        let resolved = match request {
            KeyRequest::Default => TargetKey::Default,
            KeyRequest::Mapped(k) | KeyRequest::Alias(k) => self.describe(target, k).await?,
            KeyRequest::AliasOf(id) if self.is_source_default_key(id).await? => TargetKey::Default,
            // A multi-Region key's replicas are all in its own account, and a single-Region key given by
            // id or ARN is one key of the source account: neither stands for a key of another account.
            // https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
            // ("all related multi-Region keys … are in the same AWS account")
            KeyRequest::MultiRegion(_) | KeyRequest::AliasOf(_) if target.is_other_account() => {
                return Err(StoreError::permanent(
                    "KmsKeyMap",
                    &target.to_string(),
                    format!(
                        "NoKeyInOtherAccount: the source key is given by id or ARN, which names a key of the source \
                         account only; add KMS_KEY_MAP entry {target}=<key id, alias or ARN in that account>"
                    ),
                    Reason::KmsKeyUnmapped,
                ))
            }
            KeyRequest::MultiRegion(k) => self.describe(target, k).await?,
            KeyRequest::AliasOf(id) => {
                let alias = self.alias_of(id).await?;
                self.describe(target, &alias).await?
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(cache_key, (Instant::now(), resolved.clone()));
        Ok(resolved)
    }
}
