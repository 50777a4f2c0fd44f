//! `SecretStore` over the Secrets Manager API for one region of one account.
//!
//! What the code relies on, from the Secrets Manager API reference
//! (<https://docs.aws.amazon.com/secretsmanager/latest/apireference/>):
//! - ListSecrets returns at most 100 per page and may return fewer than MaxResults with a NextToken, so
//!   every page is followed; its `name` filter matches names that begin with a value, values of one
//!   filter are OR'd and filters AND'd. It is eventually consistent ("ListSecrets is eventually
//!   consistent … it might not reflect changes from the last five minutes"): a secret it does not list is
//!   never taken as absent. It does not return ReplicationStatus, so each selected secret is described.
//! - DescribeSecret answers ResourceNotFoundException for a name or ARN that does not exist: the one
//!   answer taken as "absent". A secret scheduled for deletion is still described, with DeletedDate.
//! - ClientRequestToken (32–64 characters) becomes the new version's VersionId; a repeated token with the
//!   same value is ignored (idempotent). Source version ids are UUIDs (36 characters).
//! - DeleteSecret without RecoveryWindowInDays schedules deletion in 30 days; this adapter never sends
//!   ForceDeleteWithoutRecovery.

use std::num::NonZeroU32;
use std::sync::Arc;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, ReplicaRegionType, ReplicationStatusType, Tag};
use aws_sdk_secretsmanager::Client;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use secrecy::{SecretBox, SecretString};

use super::errors::{classify, code_of};
use crate::config::Rates;
use crate::domain::secret::{CopyAction, ReplicaState, ReplicaStatus, SecretMeta, SecretName, SecretValue, CURRENT};
use crate::domain::{Reason, Tags, Target};
use crate::ports::{SecretPage, SecretQuery, SecretStore, StoreError, StoreResult};

/// ListSecrets returns at most 100 secrets per call.
const PAGE_SIZE: i32 = 100;

#[derive(Clone)]
pub struct SecretsStore {
    client: Client,
    target: Target,
    label: String,
    read: Arc<DefaultDirectRateLimiter>,
    write: Arc<DefaultDirectRateLimiter>,
}

impl SecretsStore {
    /// The store of `target`; `client` must be configured for its region and account. Calls keep to the
    /// replicator's read and write rates (far below Secrets Manager's quotas).
    pub fn new(client: Client, target: Target, rates: Rates) -> Self {
        let per_second = |n: u32| Quota::per_second(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            client,
            label: target.to_string(),
            target,
            read: Arc::new(RateLimiter::direct(per_second(rates.read))),
            write: Arc::new(RateLimiter::direct(per_second(rates.write))),
        }
    }
}

fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
}

fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn statuses(list: &[ReplicationStatusType]) -> Vec<ReplicaStatus> {
    list.iter()
        .map(|r| ReplicaStatus {
            region: r.region().unwrap_or_default().to_owned(),
            kms_key_id: r.kms_key_id().map(str::to_owned),
            state: ReplicaState::parse(r.status().map_or("Unknown", |s| s.as_str())),
            message: r.status_message().map(str::to_owned),
        })
        .collect()
}

/// The version holding AWSCURRENT, and every version id, from a version → stages map.
fn versions<'a>(map: impl Iterator<Item = (&'a String, &'a Vec<String>)>) -> (Option<String>, Vec<String>) {
    let mut current = None;
    let mut all = Vec::new();
    for (id, stages) in map {
        if stages.iter().any(|s| s == CURRENT) {
            current = Some(id.clone());
        }
        all.push(id.clone());
    }
    all.sort();
    (current, all)
}

impl SecretStore for SecretsStore {
    fn target(&self) -> &Target {
        &self.target
    }

    async fn list(&self, query: &SecretQuery, token: Option<&str>) -> StoreResult<SecretPage> {
        self.read.until_ready().await;
        let mut filters = Vec::new();
        if let Some(prefix) = &query.prefix {
            filters.push(Filter::builder().key(FilterNameStringType::Name).values(prefix).build());
        }
        if let Some(key) = &query.tag_key {
            filters.push(Filter::builder().key(FilterNameStringType::TagKey).values(key).build());
        }
        let out = self
            .client
            .list_secrets()
            .set_filters(Some(filters))
            .max_results(PAGE_SIZE)
            .set_next_token(token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify("ListSecrets", &self.label, &e))?;
        let items = out
            .secret_list()
            .iter()
            .map(|s| {
                let (current_version, versions) =
                    s.secret_versions_to_stages().map_or((None, Vec::new()), |m| versions(m.iter()));
                SecretMeta {
                    name: s.name().unwrap_or_default().to_owned(),
                    arn: s.arn().unwrap_or_default().to_owned(),
                    description: s.description().filter(|d| !d.is_empty()).map(str::to_owned),
                    kms_key_id: s.kms_key_id().map(str::to_owned),
                    tags: tags_of(s.tags()),
                    current_version,
                    versions,
                    primary_region: s.primary_region().map(str::to_owned),
                    replicas: Vec::new(),
                    deleted: s.deleted_date().is_some(),
                }
            })
            .collect();
        Ok(SecretPage { items, next: out.next_token().filter(|t| !t.is_empty()).map(str::to_owned) })
    }

    async fn describe(&self, id: &str) -> StoreResult<Option<SecretMeta>> {
        self.read.until_ready().await;
        let out = match self.client.describe_secret().secret_id(id).send().await {
            Ok(out) => out,
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(classify("DescribeSecret", &self.label, &e)),
        };
        let (current_version, versions) =
            out.version_ids_to_stages().map_or((None, Vec::new()), |m| versions(m.iter()));
        Ok(Some(SecretMeta {
            name: out.name().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
            // An emptied description reads back as "": the same as none.
            description: out.description().filter(|d| !d.is_empty()).map(str::to_owned),
            kms_key_id: out.kms_key_id().map(str::to_owned),
            tags: tags_of(out.tags()),
            current_version,
            versions,
            primary_region: out.primary_region().map(str::to_owned),
            replicas: statuses(out.replication_status()),
            deleted: out.deleted_date().is_some(),
        }))
    }

    async fn value(&self, id: &str, version: &str) -> StoreResult<Option<SecretValue>> {
        self.read.until_ready().await;
        let out = match self.client.get_secret_value().secret_id(id).version_id(version).send().await {
            Ok(out) => out,
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(classify("GetSecretValue", &self.label, &e)),
        };
        Ok(Some(match (out.secret_string(), out.secret_binary()) {
            (_, Some(b)) => SecretValue::Binary(SecretBox::from(b.as_ref().to_vec().into_boxed_slice())),
            (s, None) => SecretValue::Text(SecretString::from(s.unwrap_or_default().to_owned())),
        }))
    }

    async fn replicate(
        &self,
        id: &str,
        regions: &[(String, Option<String>)],
        force_overwrite: bool,
    ) -> StoreResult<Vec<ReplicaStatus>> {
        self.write.until_ready().await;
        let add = regions
            .iter()
            .map(|(region, key)| ReplicaRegionType::builder().region(region).set_kms_key_id(key.clone()).build())
            .collect();
        let out = self
            .client
            .replicate_secret_to_regions()
            .secret_id(id)
            .set_add_replica_regions(Some(add))
            .force_overwrite_replica_secret(force_overwrite)
            .send()
            .await
            .map_err(|e| classify("ReplicateSecretToRegions", &self.label, &e))?;
        Ok(statuses(out.replication_status()))
    }

    async fn apply(&self, name: &SecretName, action: &CopyAction, value: Option<&SecretValue>) -> StoreResult<()> {
        self.write.until_ready().await;
        let (id, c, label) = (name.as_str(), &self.client, self.label.as_str());
        let text = value.and_then(SecretValue::text).map(str::to_owned);
        let binary = value.and_then(SecretValue::binary).map(Blob::new);
        match action {
            CopyAction::Create { kms_key, description, tags, token } => c
                .create_secret()
                .name(id)
                .client_request_token(token)
                .set_kms_key_id(kms_key.clone())
                .set_description(description.clone())
                .set_tags(Some(sdk_tags(tags)))
                .set_secret_string(text)
                .set_secret_binary(binary)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("CreateSecret", label, &e)),
            CopyAction::PutValue { token } => {
                let put = c
                    .put_secret_value()
                    .secret_id(id)
                    .client_request_token(token)
                    .set_secret_string(text)
                    .set_secret_binary(binary)
                    .send()
                    .await
                    .map_err(|e| put_error(&e, label))?;
                // "If a version with this value already exists and the version SecretString and SecretBinary
                // values are the same as those in the request, then the request is ignored" (PutSecretValue,
                // ClientRequestToken): a version the copy keeps without labels (DescribeSecret does not list
                // those) stays without AWSCURRENT. The answer's VersionStages tells; then the label is moved.
                if put.version_stages().iter().any(|s| s == CURRENT) {
                    return Ok(());
                }
                let from = self.describe(id).await?.and_then(|copy| copy.current_version);
                self.write.until_ready().await;
                c.update_secret_version_stage()
                    .secret_id(id)
                    .version_stage(CURRENT)
                    .move_to_version_id(token)
                    .set_remove_from_version_id(from.filter(|f| f != token))
                    .send()
                    .await
                    .map(drop)
                    .map_err(|e| classify("UpdateSecretVersionStage", label, &e))
            }
            CopyAction::MoveCurrent { to, from } => c
                .update_secret_version_stage()
                .secret_id(id)
                .version_stage(CURRENT)
                .move_to_version_id(to)
                .set_remove_from_version_id(from.clone())
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("UpdateSecretVersionStage", label, &e)),
            CopyAction::Update { description, kms_key } => c
                .update_secret()
                .secret_id(id)
                .description(description.clone().unwrap_or_default())
                .set_kms_key_id(kms_key.clone())
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("UpdateSecret", label, &e)),
            CopyAction::Tag(tags) => c
                .tag_resource()
                .secret_id(id)
                .set_tags(Some(sdk_tags(tags)))
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("TagResource", label, &e)),
            CopyAction::Untag(keys) => c
                .untag_resource()
                .secret_id(id)
                .set_tag_keys(Some(keys.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("UntagResource", label, &e)),
            CopyAction::Restore => c
                .restore_secret()
                .secret_id(id)
                .send()
                .await
                .map(drop)
                .map_err(|e| classify("RestoreSecret", label, &e)),
            // No RecoveryWindowInDays: the default window (30 days), so a mistake can be undone.
            CopyAction::ScheduleDelete => {
                c.delete_secret().secret_id(id).send().await.map(drop).map_err(|e| classify("DeleteSecret", label, &e))
            }
        }
    }
}

/// PutSecretValue's errors: a version id the copy keeps with another value ("you can't modify an existing
/// version", PutSecretValue, ClientRequestToken) is permanent, no retry changes it; the rest as usual.
fn put_error<E, R>(err: &aws_smithy_runtime_api::client::result::SdkError<E, R>, label: &str) -> StoreError
where
    E: aws_sdk_secretsmanager::error::ProvideErrorMetadata,
    R: super::errors::HasStatus,
{
    match classify("PutSecretValue", label, err) {
        e if e.code == "ResourceExistsException" => StoreError::permanent(
            "PutSecretValue",
            label,
            "ResourceExistsException: the copy has this version id with another value",
            Reason::Validation,
        ),
        e => e,
    }
}
