//! `ParameterStore` over the SSM API for one region, keeping to that region's read and write rates.

use std::num::NonZeroU32;
use std::sync::Arc;

use aws_sdk_ssm::types::{
    ParameterInlinePolicy, ParameterMetadata, ParameterStringFilter, ParameterTier, ParameterType as SdkType,
    ResourceTypeForTagging, Tag,
};
use aws_sdk_ssm::Client;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::errors::{classify, code_of};
use crate::config::Rates;
use crate::domain::parameter::DEFAULT_DATA_TYPE;
use crate::domain::{Action, Metadata, Parameter, ParameterName, ParameterType, Reason, Tags, Tier, Value};
use crate::ports::{ErrorClass, Page, ParameterStore, Query, StoreError, StoreResult, VersionedValue};

/// How often a read is repeated when a concurrent write splits value and metadata.
const CONSISTENT_READ_ATTEMPTS: usize = 3;
/// GetParameters takes at most 10 names; DescribeParameters returns at most 50.
const VALUES_PER_CALL: usize = 10;
const PAGE_SIZE: i32 = 50;

/// Token buckets for one region: reads (Get*, Describe*, ListTags*) and writes.
struct Limits {
    read: DefaultDirectRateLimiter,
    write: DefaultDirectRateLimiter,
}

#[derive(Clone)]
pub struct SsmStore {
    client: Client,
    region: String,
    limits: Arc<Limits>,
}

impl SsmStore {
    pub fn new(client: Client, region: &str, rates: Rates) -> Self {
        let per_second = |n: u32| Quota::per_second(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        let limits = Limits {
            read: RateLimiter::direct(per_second(rates.read)),
            write: RateLimiter::direct(per_second(rates.write)),
        };
        Self { client, region: region.to_owned(), limits: Arc::new(limits) }
    }

    fn permanent(&self, operation: &'static str, code: &str, reason: Reason) -> StoreError {
        StoreError::permanent(operation, &self.region, code, reason)
    }

    async fn read_slot(&self) {
        self.limits.read.until_ready().await;
    }

    async fn write_slot(&self) {
        self.limits.write.until_ready().await;
    }

    async fn read_once(&self, name: &ParameterName) -> StoreResult<Option<Parameter>> {
        self.read_slot().await;
        let got = match self.client.get_parameter().name(name.as_str()).with_decryption(true).send().await {
            Ok(out) => out.parameter,
            Err(e) if code_of(&e) == Some("ParameterNotFound") => return Ok(None),
            Err(e) => return Err(classify("GetParameter", &self.region, &e)),
        };
        let Some(got) = got else { return Ok(None) };
        let query = Query { names: vec![name.clone()], ..Query::default() };
        let Some(meta) = self.list(&query, None).await?.items.into_iter().next() else {
            return Ok(None); // deleted between the two calls
        };
        if got.version() != meta.version {
            return Err(self.versions_differ());
        }
        Ok(Some(meta.with_value(Value::new(got.value().unwrap_or_default()))))
    }

    fn versions_differ(&self) -> StoreError {
        StoreError {
            operation: "DescribeParameters",
            region: self.region.clone(),
            code: "ConcurrentWrites".into(),
            class: ErrorClass::Transient,
        }
    }

    async fn put(&self, p: &Parameter, overwrite: bool, tags: &Tags) -> StoreResult<()> {
        // On overwrite, an omitted description or pattern would be kept: send "" to clear it.
        let clear = |v: &Option<String>| v.clone().or_else(|| overwrite.then(String::new));
        let policies = if !p.policies.is_empty() || (overwrite && p.tier == Tier::Advanced) {
            Some(p.policies_json())
        } else {
            None
        };
        let tags = (!overwrite && !tags.is_empty()).then(|| to_sdk_tags(tags)).transpose()?;
        self.write_slot().await;
        self.client
            .put_parameter()
            .name(p.name.as_str())
            .value(p.value.expose())
            .r#type(SdkType::from(p.kind.as_str()))
            .overwrite(overwrite)
            .set_description(clear(&p.description))
            .set_allowed_pattern(clear(&p.allowed_pattern))
            .data_type(&p.data_type)
            .tier(match p.tier {
                Tier::Standard => ParameterTier::Standard,
                Tier::Advanced => ParameterTier::Advanced,
            })
            .set_policies(policies)
            .set_key_id(p.key_id.clone().filter(|_| p.kind == ParameterType::SecureString))
            .set_tags(tags)
            .send()
            .await
            .map_err(|e| classify("PutParameter", &self.region, &e))?;
        Ok(())
    }

    fn filters(&self, query: &Query) -> StoreResult<Vec<ParameterStringFilter>> {
        let invalid = |_| self.permanent("DescribeParameters", "InvalidFilter", Reason::Validation);
        let mut filters = Vec::new();
        if !query.names.is_empty() {
            let names = query.names.iter().map(|n| n.as_str().to_owned()).collect();
            filters.push(
                ParameterStringFilter::builder()
                    .key("Name")
                    .option("Equals")
                    .set_values(Some(names))
                    .build()
                    .map_err(invalid)?,
            );
        }
        if let Some(path) = &query.path {
            filters.push(
                ParameterStringFilter::builder()
                    .key("Path")
                    .option("Recursive")
                    .values(path)
                    .build()
                    .map_err(invalid)?,
            );
        }
        for (key, values) in &query.tags {
            let values = (!values.is_empty()).then(|| values.clone());
            filters.push(
                ParameterStringFilter::builder()
                    .key(format!("tag:{key}"))
                    .set_values(values)
                    .build()
                    .map_err(invalid)?,
            );
        }
        Ok(filters)
    }
}

impl ParameterStore for SsmStore {
    fn region(&self) -> &str {
        &self.region
    }

    async fn read_tags(&self, name: &ParameterName) -> StoreResult<Option<Tags>> {
        self.read_slot().await;
        let out = self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name.as_str())
            .send()
            .await;
        match out {
            Ok(out) => Ok(Some(out.tag_list().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())),
            Err(e) if code_of(&e) == Some("InvalidResourceId") => Ok(None),
            Err(e) => Err(classify("ListTagsForResource", &self.region, &e)),
        }
    }

    /// Value and metadata come from two calls; if a write lands between them their versions differ,
    /// and the pair is read again so that a replica never mixes two versions.
    async fn read(&self, name: &ParameterName) -> StoreResult<Option<Parameter>> {
        for _ in 1..CONSISTENT_READ_ATTEMPTS {
            match self.read_once(name).await {
                Err(e) if e.code == "ConcurrentWrites" => continue,
                other => return other,
            }
        }
        self.read_once(name).await
    }

    async fn list(&self, query: &Query, token: Option<&str>) -> StoreResult<Page> {
        let filters = self.filters(query)?;
        self.read_slot().await;
        let out = self
            .client
            .describe_parameters()
            .set_parameter_filters(Some(filters))
            .max_results(PAGE_SIZE)
            .set_next_token(token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| classify("DescribeParameters", &self.region, &e))?;
        let items = out.parameters().iter().filter_map(|m| self.metadata(m).transpose()).collect::<StoreResult<_>>()?;
        Ok(Page { items, next: out.next_token().filter(|t| !t.is_empty()).map(str::to_owned) })
    }

    async fn values(&self, names: &[ParameterName]) -> StoreResult<Vec<(ParameterName, VersionedValue)>> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(VALUES_PER_CALL) {
            self.read_slot().await;
            let got = self
                .client
                .get_parameters()
                .set_names(Some(chunk.iter().map(|n| n.as_str().to_owned()).collect()))
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| classify("GetParameters", &self.region, &e))?;
            for p in got.parameters() {
                let Some(name) = chunk.iter().find(|n| Some(n.as_str()) == p.name()) else { continue };
                let value = VersionedValue { value: Value::new(p.value().unwrap_or_default()), version: p.version() };
                out.push((name.clone(), value));
            }
        }
        Ok(out)
    }

    async fn apply(&self, name: &ParameterName, action: &Action) -> StoreResult<()> {
        match action {
            Action::Put { parameter, overwrite, tags } => self.put(parameter, *overwrite, tags).await,
            Action::AddTags(tags) => {
                let tags = to_sdk_tags(tags)?;
                self.write_slot().await;
                self.client
                    .add_tags_to_resource()
                    .resource_type(ResourceTypeForTagging::Parameter)
                    .resource_id(name.as_str())
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| classify("AddTagsToResource", &self.region, &e))?;
                Ok(())
            }
            Action::RemoveTags(keys) => {
                self.write_slot().await;
                self.client
                    .remove_tags_from_resource()
                    .resource_type(ResourceTypeForTagging::Parameter)
                    .resource_id(name.as_str())
                    .set_tag_keys(Some(keys.clone()))
                    .send()
                    .await
                    .map_err(|e| classify("RemoveTagsFromResource", &self.region, &e))?;
                Ok(())
            }
            Action::Delete => {
                self.write_slot().await;
                match self.client.delete_parameter().name(name.as_str()).send().await {
                    Ok(_) => Ok(()),
                    Err(e) if code_of(&e) == Some("ParameterNotFound") => Ok(()),
                    Err(e) => Err(classify("DeleteParameter", &self.region, &e)),
                }
            }
        }
    }
}

impl SsmStore {
    /// DescribeParameters' view → `Metadata`; `None` for a name SSM returned that is not a valid name.
    fn metadata(&self, m: &ParameterMetadata) -> StoreResult<Option<Metadata>> {
        let Some(name) = m.name().and_then(|n| ParameterName::parse(n).ok()) else { return Ok(None) };
        let kind = match m.r#type() {
            Some(SdkType::String) => ParameterType::String,
            Some(SdkType::StringList) => ParameterType::StringList,
            Some(SdkType::SecureString) => ParameterType::SecureString,
            _ => return Err(self.permanent("DescribeParameters", "UnsupportedParameterType", Reason::Validation)),
        };
        let policies = m
            .policies()
            .iter()
            .map(parse_policy)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.permanent("DescribeParameters", "UnreadablePolicy", Reason::PolicyUnreadable))?;
        let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(Some(Metadata {
            name,
            kind,
            key_id: non_empty(m.key_id()).filter(|_| kind == ParameterType::SecureString),
            description: non_empty(m.description()),
            allowed_pattern: non_empty(m.allowed_pattern()),
            data_type: non_empty(m.data_type()).unwrap_or_else(|| DEFAULT_DATA_TYPE.to_owned()),
            tier: match m.tier() {
                Some(ParameterTier::Advanced) => Tier::Advanced,
                _ => Tier::Standard,
            },
            policies,
            version: m.version(),
        }))
    }
}

fn to_sdk_tags(tags: &Tags) -> StoreResult<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|_| StoreError::permanent("Tag", "-", "InvalidTag", Reason::Validation))
        })
        .collect()
}

/// A policy's text as JSON. AWS returns JSON; the emulator returns a Python literal (single quotes),
/// which is accepted when it holds no double quotes of its own. Anything else is unreadable.
fn parse_policy(policy: &ParameterInlinePolicy) -> Option<serde_json::Value> {
    let text = policy.policy_text()?;
    serde_json::from_str(text)
        .ok()
        .or_else(|| (!text.contains('"')).then(|| serde_json::from_str(&text.replace('\'', "\"")).ok()).flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_from_json_and_from_the_emulators_literal() {
        let json = r#"{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}"#;
        let literal =
            "{'Type': 'Expiration', 'Version': '1.0', 'Attributes': {'Timestamp': '2030-12-02T21:34:33.000Z'}}";
        let a = parse_policy(&ParameterInlinePolicy::builder().policy_text(json).build());
        let b = parse_policy(&ParameterInlinePolicy::builder().policy_text(literal).build());
        assert!(a.is_some());
        assert_eq!(a, b);
        let broken = ParameterInlinePolicy::builder().policy_text("{'a': \"b'}").build();
        assert_eq!(parse_policy(&broken), None);
    }
}
