//! `ParameterStore` over the SSM API for one region.

use aws_sdk_ssm::types::{
    ParameterInlinePolicy, ParameterStringFilter, ParameterTier, ParameterType as SdkType, ResourceTypeForTagging, Tag,
};
use aws_sdk_ssm::Client;

use super::errors::{classify, code_of};
use crate::domain::parameter::DEFAULT_DATA_TYPE;
use crate::domain::{Action, Parameter, ParameterName, ParameterType, Reason, Tags, Tier, Value};
use crate::ports::{ErrorClass, ParameterStore, StoreError, StoreResult};

/// How often a read is repeated when a concurrent write splits value and metadata.
const CONSISTENT_READ_ATTEMPTS: usize = 3;

enum Read {
    Consistent(Option<Parameter>),
    VersionsDiffer,
}

#[derive(Clone, Debug)]
pub struct SsmStore {
    client: Client,
    region: String,
}

impl SsmStore {
    pub fn new(client: Client, region: &str) -> Self {
        Self { client, region: region.to_owned() }
    }

    fn permanent(&self, operation: &'static str, code: &str, reason: Reason) -> StoreError {
        StoreError::permanent(operation, &self.region, code, reason)
    }

    async fn read_once(&self, name: &ParameterName) -> StoreResult<Read> {
        let got = self.client.get_parameter().name(name.as_str()).with_decryption(true).send().await;
        let got = match got {
            Ok(out) => out.parameter,
            Err(e) if code_of(&e) == Some("ParameterNotFound") => return Ok(Read::Consistent(None)),
            Err(e) => return Err(classify("GetParameter", &self.region, &e)),
        };
        let Some(got) = got else { return Ok(Read::Consistent(None)) };
        let described = self
            .client
            .describe_parameters()
            .parameter_filters(
                ParameterStringFilter::builder()
                    .key("Name")
                    .option("Equals")
                    .values(name.as_str())
                    .build()
                    .map_err(|_| self.permanent("DescribeParameters", "InvalidFilter", Reason::Validation))?,
            )
            .send()
            .await
            .map_err(|e| classify("DescribeParameters", &self.region, &e))?;
        let Some(meta) = described.parameters().iter().find(|m| m.name() == Some(name.as_str())) else {
            return Ok(Read::Consistent(None)); // deleted between the two calls
        };
        if got.version() != meta.version() {
            return Ok(Read::VersionsDiffer);
        }
        let kind = match got.r#type() {
            Some(SdkType::String) => ParameterType::String,
            Some(SdkType::StringList) => ParameterType::StringList,
            Some(SdkType::SecureString) => ParameterType::SecureString,
            _ => return Err(self.permanent("GetParameter", "UnsupportedParameterType", Reason::Validation)),
        };
        let policies = meta
            .policies()
            .iter()
            .map(parse_policy)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.permanent("DescribeParameters", "UnreadablePolicy", Reason::PolicyUnreadable))?;
        let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(Read::Consistent(Some(Parameter {
            name: name.clone(),
            value: Value::new(got.value().unwrap_or_default()),
            kind,
            key_id: non_empty(meta.key_id()).filter(|_| kind == ParameterType::SecureString),
            description: non_empty(meta.description()),
            allowed_pattern: non_empty(meta.allowed_pattern()),
            data_type: non_empty(got.data_type().or(meta.data_type())).unwrap_or_else(|| DEFAULT_DATA_TYPE.to_owned()),
            tier: match meta.tier() {
                Some(ParameterTier::Advanced) => Tier::Advanced,
                _ => Tier::Standard,
            },
            policies,
        })))
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
}

impl ParameterStore for SsmStore {
    fn region(&self) -> &str {
        &self.region
    }

    async fn read_tags(&self, name: &ParameterName) -> StoreResult<Option<Tags>> {
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
        for _ in 0..CONSISTENT_READ_ATTEMPTS {
            if let Read::Consistent(p) = self.read_once(name).await? {
                return Ok(p);
            }
        }
        Err(StoreError {
            operation: "DescribeParameters",
            region: self.region.clone(),
            code: "ConcurrentWrites".into(),
            class: ErrorClass::Transient,
        })
    }

    async fn apply(&self, name: &ParameterName, action: &Action) -> StoreResult<()> {
        match action {
            Action::Put { parameter, overwrite, tags } => self.put(parameter, *overwrite, tags).await,
            Action::AddTags(tags) => {
                self.client
                    .add_tags_to_resource()
                    .resource_type(ResourceTypeForTagging::Parameter)
                    .resource_id(name.as_str())
                    .set_tags(Some(to_sdk_tags(tags)?))
                    .send()
                    .await
                    .map_err(|e| classify("AddTagsToResource", &self.region, &e))?;
                Ok(())
            }
            Action::RemoveTags(keys) => {
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
            Action::Delete => match self.client.delete_parameter().name(name.as_str()).send().await {
                Ok(_) => Ok(()),
                Err(e) if code_of(&e) == Some("ParameterNotFound") => Ok(()),
                Err(e) => Err(classify("DeleteParameter", &self.region, &e)),
            },
        }
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
