//! `ParameterStore` over the SSM API for one region, keeping to that region's read and write rates.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ssm::operation::get_parameters::GetParametersOutput;
use aws_sdk_ssm::types::{
    ParameterHistory, ParameterStringFilter, ParameterTier, ParameterType as SdkType, ResourceTypeForTagging, Tag,
};
use aws_sdk_ssm::Client;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::described::{parse_policy, Described};
use super::errors::{classify, code_of};
use super::tagging::TagIndex;
use crate::config::clip;
use crate::config::Rates;
use crate::domain::labels::HistoryEntry;
use crate::domain::parameter::DEFAULT_DATA_TYPE;
use crate::domain::{Action, Metadata, Parameter, ParameterName, ParameterType, Reason, Tags, Target, Tier, Value};
use crate::ports::{
    BulkTags, ErrorClass, Page, ParameterStore, Query, Rejected, StoreError, StoreResult, Values, VersionedValue,
};

/// GetParameterHistory with labels, LabelParameterVersion and UnlabelParameterVersion.
#[path = "ssm_labels.rs"]
mod labels;

/// Waits before reading again when value and metadata disagree: a concurrent write landed between the
/// two calls, or the parameter's history does not show the version GetParameter returned yet. After the
/// last wait the read fails as transient, so the engine retries it and, if it persists, the invocation
/// fails and Lambda retries.
const READ_WAITS: [Duration; 5] = [
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_millis(1000),
    Duration::from_millis(2000),
];
/// The `Policies` value that removes every policy of a parameter, as the user guide documents it.
const REMOVE_POLICIES: &str = "[{}]";
const NO_HISTORY_YET: &str = "NoHistoryYet";
const VERSIONS_DIFFER: &str = "ConcurrentWrites";
/// GetParameters takes at most 10 names; DescribeParameters and GetParameterHistory return at most 50.
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
    target: Target,
    /// The target as reports name it (`us-east-2`, `111111111111/eu-west-1`).
    label: String,
    limits: Arc<Limits>,
    /// The tagging API of this region and account (the full sync reads tags in bulk there).
    tag_index: Option<TagIndex>,
}

impl SsmStore {
    /// The store of `target`; `client` must be configured for its region and account. The rates are
    /// per store: SSM's throughput quotas are per account and region.
    pub fn new(client: Client, target: Target, rates: Rates) -> Self {
        let per_second = |n: u32| Quota::per_second(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        let limits = Limits {
            read: RateLimiter::direct(per_second(rates.read)),
            write: RateLimiter::direct(per_second(rates.write)),
        };
        Self { client, label: target.to_string(), target, limits: Arc::new(limits), tag_index: None }
    }

    /// Lets the full sync read this store's tags in bulk (GetResources) instead of one call each.
    pub fn with_tag_index(mut self, index: TagIndex) -> Self {
        self.tag_index = Some(index);
        self
    }

    fn permanent(&self, operation: &'static str, code: &str, reason: Reason) -> StoreError {
        StoreError::permanent(operation, &self.label, code, reason)
    }

    async fn read_slot(&self) {
        self.limits.read.until_ready().await;
    }

    async fn write_slot(&self) {
        self.limits.write.until_ready().await;
    }

    /// GetParameter and GetParameterHistory at once (one round trip deep, not two). Their answers may
    /// straddle a write: the metadata used is the history entry of exactly the version GetParameter
    /// returned, and a history that does not hold that version yet is read again (`read`'s waits).
    async fn read_once(&self, name: &ParameterName) -> StoreResult<Option<Parameter>> {
        let (got, history) = tokio::join!(self.get_parameter(name), self.history_pages(name, false));
        // Existence is decided here and only here: GetParameter's ParameterNotFound names this exact
        // parameter. A listing that does not show it proves nothing.
        let Some(got) = got? else { return Ok(None) };
        let meta = match self.history_at(history?, got.version())? {
            Some(Ok(meta)) => meta,
            Some(Err(rejected)) => return Err(rejected.error),
            None => return Err(self.read_again("GetParameterHistory", VERSIONS_DIFFER)),
        };
        Ok(Some(meta.with_value(Value::new(got.value().unwrap_or_default()))))
    }

    /// GetParameter with decryption. `None`: ParameterNotFound for this name.
    async fn get_parameter(&self, name: &ParameterName) -> StoreResult<Option<aws_sdk_ssm::types::Parameter>> {
        self.read_slot().await;
        match self.client.get_parameter().name(name.as_str()).with_decryption(true).send().await {
            Ok(out) => match out.parameter {
                Some(got) => Ok(Some(got)),
                None => Err(self.read_again("GetParameter", "NoParameterInResponse")),
            },
            Err(e) if code_of(&e) == Some("ParameterNotFound") => Ok(None),
            Err(e) => Err(classify("GetParameter", &self.label, &e)),
        }
    }

    /// The metadata at `version`, from the parameter's own history (`history_pages`, read with the
    /// value): GetParameterHistory answers for exactly this name in a bounded number of calls (at most
    /// 100 versions are kept, 50 per page).
    /// A name-filtered DescribeParameters would not: it pages through the account's parameters before
    /// filtering ("between zero and MaxResults" items per call, boto3 #1632, google/go-cloud #3135), so
    /// one lookup can take a call per 50 parameters in the region, and it may not list a parameter
    /// created a moment ago (aws-sdk-js #4349). `None`: the history does not hold `version` (written
    /// since, or not there yet): read again.
    /// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameterHistory.html>
    fn history_at(
        &self,
        history: Option<Vec<ParameterHistory>>,
        version: i64,
    ) -> StoreResult<Option<Result<Metadata, Rejected>>> {
        match history {
            Some(history) => Ok(history.iter().find(|h| h.version() == version).map(|entry| self.metadata(entry))),
            // Found by GetParameter: deleted since, or the history is behind. Read again.
            None => Err(self.read_again("GetParameterHistory", NO_HISTORY_YET)),
        }
    }

    /// Every page of `name`'s history (GetParameterHistory, 50 versions per page; SSM keeps at most 100).
    /// `None`: ParameterNotFound for this name.
    pub(super) async fn history_pages(
        &self,
        name: &ParameterName,
        decrypt: bool,
    ) -> StoreResult<Option<Vec<ParameterHistory>>> {
        let mut token: Option<String> = None;
        let mut entries = Vec::new();
        loop {
            self.read_slot().await;
            let out = self
                .client
                .get_parameter_history()
                .name(name.as_str())
                .with_decryption(decrypt)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await;
            let mut out = match out {
                Ok(out) => out,
                Err(e) if code_of(&e) == Some("ParameterNotFound") => return Ok(None),
                Err(e) => return Err(classify("GetParameterHistory", &self.label, &e)),
            };
            entries.append(&mut out.parameters.take().unwrap_or_default());
            token = out.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(Some(entries));
            }
        }
    }

    /// A read whose two halves disagree (a write landed between them): retried after a wait.
    fn read_again(&self, operation: &'static str, code: &str) -> StoreError {
        StoreError { operation, target: self.label.clone(), code: code.into(), class: ErrorClass::Transient }
    }

    async fn put(&self, p: &Parameter, overwrite: bool, tags: &Tags, send_policies: bool) -> StoreResult<()> {
        // On overwrite, an omitted description or pattern would be kept: send "" to clear it.
        let clear = |v: &Option<String>| v.clone().or_else(|| overwrite.then(String::new));
        // Policies are sent only when the planner says they differ: "All existing policies are
        // preserved until you send new policies or an empty policy" (API reference, Policies), and
        // "To remove all policies from an existing parameter, … apply an empty policy …: [{}]"
        // (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html).
        let policies =
            send_policies.then(|| if p.policies.is_empty() { REMOVE_POLICIES.to_owned() } else { p.policies_json() });
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
            .map_err(|e| classify("PutParameter", &self.label, &e))?;
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
    fn target(&self) -> &Target {
        &self.target
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
            Err(e) => Err(classify("ListTagsForResource", &self.label, &e)),
        }
    }

    async fn bulk_tags(&self, names: &[ParameterName]) -> StoreResult<BulkTags> {
        match &self.tag_index {
            // Not SSM's read quota: the tagging API has its own.
            Some(index) => index.tags(names, &self.label).await,
            None => Err(self.permanent("GetResources", "NoTagIndex", Reason::Validation)),
        }
    }

    /// Value and metadata come from two calls (issued together); if a write lands between their answers
    /// their versions differ. The pair is then read again after a wait, so that a replica never mixes
    /// two versions.
    async fn read(&self, name: &ParameterName) -> StoreResult<Option<Parameter>> {
        let mut waits = READ_WAITS.iter();
        loop {
            match self.read_once(name).await {
                Err(e) if e.code == NO_HISTORY_YET || e.code == VERSIONS_DIFFER => match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => return Err(e),
                },
                other => return other,
            }
        }
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
            .map_err(|e| classify("DescribeParameters", &self.label, &e))?;
        let mut page = Page { next: out.next_token().filter(|t| !t.is_empty()).map(str::to_owned), ..Page::default() };
        for m in out.parameters() {
            match self.metadata(m) {
                Ok(meta) => page.items.push(meta),
                Err(rejected) => page.rejected.push(rejected),
            }
        }
        Ok(page)
    }

    async fn values(&self, names: &[ParameterName]) -> StoreResult<Values> {
        let mut out = Values::new();
        for chunk in names.chunks(VALUES_PER_CALL) {
            match self.get_values(chunk).await {
                Ok(got) => out.extend(got.into_iter().map(|(n, v)| (n, Ok(v)))),
                Err(e) if e.is_transient() => return Err(e),
                // One parameter that cannot be read (say, its key is disabled or its key policy denies
                // us) fails the whole GetParameters call: ask for each name alone, so it fails alone.
                Err(e) if chunk.len() == 1 => {
                    out.insert(chunk[0].clone(), Err(e));
                }
                Err(_) => {
                    for name in chunk {
                        match self.get_values(std::slice::from_ref(name)).await {
                            Ok(got) => out.extend(got.into_iter().map(|(n, v)| (n, Ok(v)))),
                            Err(e) if e.is_transient() => return Err(e),
                            Err(e) => {
                                out.insert(name.clone(), Err(e));
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    async fn existing(&self, names: &[ParameterName]) -> StoreResult<BTreeSet<ParameterName>> {
        let mut out = BTreeSet::new();
        for chunk in names.chunks(VALUES_PER_CALL) {
            let got = self.get_parameters(chunk, false).await?;
            // "InvalidParameters: A list of parameters that aren't formatted correctly or don't run
            // during an execution" — for a well-formed name, one that does not exist.
            // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html
            let invalid = got.invalid_parameters();
            out.extend(chunk.iter().filter(|n| !invalid.iter().any(|i| i == n.as_str())).cloned());
        }
        Ok(out)
    }

    async fn apply(&self, name: &ParameterName, action: &Action) -> StoreResult<()> {
        match action {
            Action::Put { parameter, overwrite, tags, send_policies } => {
                self.put(parameter, *overwrite, tags, *send_policies).await
            }
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
                    .map_err(|e| classify("AddTagsToResource", &self.label, &e))?;
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
                    .map_err(|e| classify("RemoveTagsFromResource", &self.label, &e))?;
                Ok(())
            }
            Action::Delete => {
                self.write_slot().await;
                match self.client.delete_parameter().name(name.as_str()).send().await {
                    Ok(_) => Ok(()),
                    Err(e) if code_of(&e) == Some("ParameterNotFound") => Ok(()),
                    Err(e) => Err(classify("DeleteParameter", &self.label, &e)),
                }
            }
        }
    }

    async fn history(&self, name: &ParameterName) -> StoreResult<Option<Vec<HistoryEntry>>> {
        self.labelled_history(name).await
    }

    async fn label(&self, name: &ParameterName, version: i64, labels: &[String]) -> StoreResult<()> {
        self.label_version(name, version, labels).await
    }

    async fn unlabel(&self, name: &ParameterName, version: i64, labels: &[String]) -> StoreResult<()> {
        self.unlabel_version(name, version, labels).await
    }
}

impl SsmStore {
    /// One GetParameters call (at most 10 names). Names SSM lists as InvalidParameters do not exist and
    /// are left out: "GetParameters … returns the parameters that exist and InvalidParameters".
    async fn get_values(&self, names: &[ParameterName]) -> StoreResult<Vec<(ParameterName, VersionedValue)>> {
        let got = self.get_parameters(names, true).await?;
        Ok(got
            .parameters()
            .iter()
            .filter_map(|p| {
                let name = names.iter().find(|n| Some(n.as_str()) == p.name())?;
                let value = VersionedValue { value: Value::new(p.value().unwrap_or_default()), version: p.version() };
                Some((name.clone(), value))
            })
            .collect())
    }

    /// One GetParameters call (at most 10 names), at the read rate.
    async fn get_parameters(&self, names: &[ParameterName], decrypt: bool) -> StoreResult<GetParametersOutput> {
        self.read_slot().await;
        self.client
            .get_parameters()
            .set_names(Some(names.iter().map(|n| n.as_str().to_owned()).collect()))
            .with_decryption(decrypt)
            .send()
            .await
            .map_err(|e| classify("GetParameters", &self.label, &e))
    }

    /// DescribeParameters' or GetParameterHistory's view → `Metadata`, or why this one item cannot be
    /// used (it fails alone).
    fn metadata(&self, m: &impl Described) -> Result<Metadata, Rejected> {
        let raw = m.name().unwrap_or_default();
        let reject = |code: String, reason: Reason| Rejected {
            name: ParameterName::listed(raw),
            error: self.permanent("DescribeParameters", &code, reason),
        };
        let name =
            ParameterName::parse(raw).map_err(|e| reject(format!("InvalidName: the name {e}"), Reason::Validation))?;
        let Some(kind) = kind_of(m.kind()) else {
            let seen = m.kind().map_or("none", SdkType::as_str);
            return Err(reject(format!("UnsupportedParameterType: {}", clip(seen)), Reason::Validation));
        };
        let policies = m
            .policies()
            .iter()
            .map(parse_policy)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| reject("UnreadablePolicy".to_owned(), Reason::PolicyUnreadable))?;
        let non_empty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(Metadata {
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
        })
    }
}

/// The parameter types this replicator knows; `None` for any other (a newer SDK's, or none given).
pub(super) fn kind_of(kind: Option<&SdkType>) -> Option<ParameterType> {
    match kind {
        Some(SdkType::String) => Some(ParameterType::String),
        Some(SdkType::StringList) => Some(ParameterType::StringList),
        Some(SdkType::SecureString) => Some(ParameterType::SecureString),
        _ => None,
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
