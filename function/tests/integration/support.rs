//! Test harness: the real handler and AWS adapters against the moto server on 127.0.0.1, with separate
//! state per region. Each test works under its own name prefix, so tests run in parallel on one emulator.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_ssm::config::Credentials;
use aws_sdk_ssm::types::{ParameterTier, ParameterType, ResourceTypeForTagging, Tag};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use ssm_replicator::aws::{self, ApiCalls, KmsKeys, SecretsStore, SsmStore, TagIndex};
use ssm_replicator::config::Config;
use ssm_replicator::domain::Owner;
use ssm_replicator::domain::Report;
use ssm_replicator::domain::Target;
use ssm_replicator::engine::{RecreateWait, Replicator, RetryPolicy};
use ssm_replicator::handler::{Handler, HandlerError};
use ssm_replicator::ports::Continuation;
use ssm_replicator::telemetry;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::EnvFilter;

use crate::aws_behaviour::AwsBehaviour;
use crate::faults::FaultProxy;

pub const ACCOUNT: &str = "123456789012";
pub const SOURCE: &str = "us-east-1";
pub const EAST: &str = "us-east-2";
pub const WEST: &str = "eu-west-1";
pub const OWNER: &str = "123456789012/us-east-1";
/// Two other accounts, for targets reached through a role there (moto gives each its own state, and
/// credentials from AssumeRole act in the role's account).
pub const DR_ACCOUNT: &str = "111111111111";
pub const WORKLOAD_ACCOUNT: &str = "222222222222";
pub const OWNER_TAG: &str = "ssm-replicator:source";

/// Operations that write.
pub const WRITES: &[&str] = &[
    "PutParameter",
    "AddTagsToResource",
    "RemoveTagsFromResource",
    "DeleteParameter",
    // Secrets Manager (SECRETS=true)
    "CreateSecret",
    "PutSecretValue",
    "UpdateSecret",
    "UpdateSecretVersionStage",
    "TagResource",
    "UntagResource",
    "RestoreSecret",
    "DeleteSecret",
    "ReplicateSecretToRegions",
];

pub fn endpoint() -> String {
    std::env::var("SSM_REPLICATOR_TEST_ENDPOINT").unwrap_or_else(|_| {
        panic!("SSM_REPLICATOR_TEST_ENDPOINT is not set: run the suite with `make test` (it starts the emulator)")
    })
}

/// Everything the tests log, at TRACE for every crate, through the production log layer.
pub fn captured_logs() -> String {
    let buf = log_buffer().lock().unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        // Worst case: an operator asked the SDK to log sensitive bodies (decrypted values) at TRACE.
        // Every test thread waits on this OnceLock before touching the SDK, so nothing reads the
        // environment concurrently.
        std::env::set_var("LOG_SENSITIVE_BODIES", "true");
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let subscriber =
            tracing_subscriber::registry().with(telemetry::json_layer(move || writer.clone(), EnvFilter::new("trace")));
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub async fn sdk_config() -> SdkConfig {
    sdk_config_at(&endpoint()).await
}

/// `sdk_config_at(url)` acting in `account`: credentials from assuming a role there (the emulator maps
/// them to the role's account; it checks no trust policy).
pub async fn sdk_config_for(url: &str, account: &str) -> SdkConfig {
    let base = sdk_config_at(url).await;
    if account == ACCOUNT {
        return base;
    }
    let role = format!("arn:aws:iam::{account}:role/test-operator");
    let provider = AssumeRoleProvider::builder(role).configure(&base).session_name("test").build().await;
    base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build()
}

/// The SDK configuration for every service at `url` (the emulator, or a proxy in front of it).
pub async fn sdk_config_at(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .region(Region::new(SOURCE))
        .timeout_config(aws::timeouts())
        .load()
        .await
}

/// How a world's replicator reaches AWS.
enum Wiring<'a> {
    /// `aws::connect`, every service at the world's proxy, or at this URL.
    Production(Option<&'a str>),
    /// These regions' SSM calls at this URL (a test's fault proxy), the rest at the world's proxy;
    /// one account only.
    Ssm(&'a [&'a str], &'a str),
}

/// One test's world: a unique path prefix, a replicator built from `Config`, and plain SDK clients.
///
/// The replicator reaches AWS through the world's own proxy, which shows AWS's behaviour where the
/// emulator is kinder (`AwsBehaviour`, all on unless built `with_behaviour`) and injects no faults. The
/// test's own clients (`ssm`, `kms`, and the helpers built on them: `put`, `get`, `describe`, ...) talk
/// to the emulator directly.
pub struct World {
    pub prefix: String,
    pub calls: ApiCalls,
    pub handler: Handler<SsmStore, KmsKeys, Collect, SecretsStore>,
    proxy: FaultProxy,
    /// Direct clients per place: `us-east-2` (the world's account) or `111111111111/us-west-2`.
    ssm: BTreeMap<String, aws_sdk_ssm::Client>,
    kms: BTreeMap<String, aws_sdk_kms::Client>,
    secrets: BTreeMap<String, aws_sdk_secretsmanager::Client>,
}

impl World {
    /// Every call of the replicator (SSM, KMS, STS) goes through the world's proxy, every AWS
    /// behaviour on (`AwsBehaviour::from_env`: unless `AWS_BEHAVIOUR_OFF` names it, for diagnosis).
    pub async fn new(env: &[(&str, &str)]) -> Self {
        Self::with_behaviour(env, AwsBehaviour::from_env()).await
    }

    /// Like `new`, with the world's proxy showing only the behaviours `behaviour` leaves on.
    pub async fn with_behaviour(env: &[(&str, &str)], behaviour: AwsBehaviour) -> Self {
        Self::build(env, behaviour, Wiring::Production(None), ACCOUNT).await
    }

    /// Like `new`, for a replicator that runs in `account` (its source is that account's).
    pub async fn in_account(account: &str, env: &[(&str, &str)]) -> Self {
        Self::build(env, AwsBehaviour::from_env(), Wiring::Production(None), account).await
    }

    /// Like `new`, but every call of the replicator (STS's AssumeRole included) goes through `proxy`.
    pub async fn through(env: &[(&str, &str)], proxy: &str) -> Self {
        Self::build(env, AwsBehaviour::from_env(), Wiring::Production(Some(proxy)), ACCOUNT).await
    }

    /// Like `new`, but `region`'s SSM calls go through `proxy` (a `FaultProxy` URL; its own behaviour
    /// layer applies), the other regions' through the world's proxy.
    pub async fn proxied(env: &[(&str, &str)], region: &str, proxy: &str) -> Self {
        Self::build(env, AwsBehaviour::from_env(), Wiring::Ssm(&[region], proxy), ACCOUNT).await
    }

    /// Like `new`, but the SSM calls of every region go through `proxy` (its own behaviour layer applies).
    pub async fn all_proxied(env: &[(&str, &str)], proxy: &str) -> Self {
        Self::build(env, AwsBehaviour::from_env(), Wiring::Ssm(&[SOURCE, EAST, WEST], proxy), ACCOUNT).await
    }

    /// The world's own proxy: the replicator's calls (those of regions not sent to a test's fault proxy),
    /// its tallies, injected empty pages, undecryptable names.
    pub fn proxy(&self) -> &FaultProxy {
        &self.proxy
    }

    /// Wait until what was just written is listed (DescribeParameters' lag, behaviour 2), as a scheduled
    /// full sync in production sees parameters a while after their creation.
    pub async fn settle(&self) {
        tokio::time::sleep(self.proxy.behaviour().settle_time()).await;
    }

    async fn build(env: &[(&str, &str)], behaviour: AwsBehaviour, wiring: Wiring<'_>, account: &str) -> Self {
        log_buffer();
        let prefix = format!("/t{:016x}", fastrand::u64(..));
        let mut vars: BTreeMap<String, String> = [
            ("SOURCE_REGION", SOURCE),
            ("TARGETS", "us-east-2,eu-west-1"),
            ("READ_TPS", "1000"),
            ("WRITE_TPS", "1000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in env {
            // `{secret_prefix}`: the same prefix as Secrets Manager names go (no leading slash).
            let v = v.replace("{secret_prefix}", &format!("{}/", &prefix[1..]));
            vars.insert(k.to_string(), v.replace("{prefix}", &prefix));
        }
        let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        let sdk = sdk_config().await;
        // Behaviour 11's region: the parameters of the world whose prefix the replicator works under (its
        // own, or another world's named in PATH_PREFIXES).
        let scope =
            vars.get("PATH_PREFIXES").and_then(|p| p.get(..18)).filter(|p| p.starts_with("/t")).unwrap_or(&prefix);
        let own = FaultProxy::aws(&endpoint(), behaviour.with_scan_scope(scope));
        let calls = ApiCalls::default();
        let replicator = match wiring {
            // The production wiring, every service at the world's proxy (or at `via`).
            Wiring::Production(via) => {
                let sdk = sdk_config_for(via.unwrap_or(&own.url), account).await;
                aws::connect(&sdk, config.clone(), &calls).await.unwrap()
            }
            Wiring::Ssm(proxied, url) => {
                let ssm = |region: &str| {
                    // The production retry mode (adaptive, 3 attempts), with shorter backoffs.
                    let retry = RetryConfig::standard()
                        .with_max_attempts(3)
                        .with_initial_backoff(Duration::from_millis(10))
                        .with_max_backoff(Duration::from_millis(200));
                    let conf = aws_sdk_ssm::config::Builder::from(&sdk)
                        .region(Region::new(region.to_owned()))
                        .retry_config(retry)
                        .interceptor(calls.interceptor(region))
                        .endpoint_url(if proxied.contains(&region) { url } else { &own.url });
                    SsmStore::new(aws_sdk_ssm::Client::from_conf(conf.build()), Target::own(region), config.rates)
                };
                let kms = |region: &str| {
                    aws_sdk_kms::Client::from_conf(
                        aws_sdk_kms::config::Builder::from(&sdk).region(Region::new(region.to_owned())).build(),
                    )
                };
                let keys = KmsKeys::new(
                    SOURCE,
                    kms(SOURCE),
                    [(Target::own(EAST), kms(EAST)), (Target::own(WEST), kms(WEST))].into(),
                );
                let owner = Owner { account: ACCOUNT.into(), region: SOURCE.into() };
                let index = |region: &str| {
                    let tagging = aws_sdk_resourcegroupstagging::config::Builder::from(&sdk)
                        .region(Region::new(region.to_owned()))
                        .interceptor(calls.interceptor(region))
                        .endpoint_url(if proxied.contains(&region) { url } else { &own.url });
                    let client = aws_sdk_resourcegroupstagging::Client::from_conf(tagging.build());
                    ssm(region).with_tag_index(TagIndex::new(client, region, ACCOUNT))
                };
                let (source, targets) = (index(SOURCE), vec![index(EAST), index(WEST)]);
                Replicator::new(config.clone(), owner, source, targets, keys).with_secrets::<SecretsStore>(None)
            }
        };
        let replicator = replicator
            .with_retry(RetryPolicy { attempts: 3, base: Duration::from_millis(20), cap: Duration::from_millis(100) })
            // SSM's delete-then-create window, scaled down as the AWS-behaviour layer scales it (behaviour 9).
            .with_recreate_wait(RecreateWait {
                // Shorter than the layer's window, so that refusals are still met and waited out.
                settle: Duration::from_millis(300),
                first: Duration::from_millis(100),
                cap: Duration::from_millis(400),
                total: Duration::from_secs(5),
            });
        // Direct clients: the world's own regions, and every target (its account's credentials).
        let mut places: Vec<Target> = [SOURCE, EAST, WEST].iter().map(|r| Target::own(r)).collect();
        places.extend(config.targets.iter().filter(|t| !places.contains(t)).cloned().collect::<Vec<_>>());
        let (mut ssm, mut kms, mut secrets) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        for place in places {
            let acting = sdk_config_for(&endpoint(), place.account.as_deref().unwrap_or(account)).await;
            let region = Region::new(place.region.clone());
            let ssm_conf = aws_sdk_ssm::config::Builder::from(&acting).region(region.clone()).build();
            let kms_conf = aws_sdk_kms::config::Builder::from(&acting).region(region.clone()).build();
            let sm_conf = aws_sdk_secretsmanager::config::Builder::from(&acting).region(region).build();
            secrets.insert(place.to_string(), aws_sdk_secretsmanager::Client::from_conf(sm_conf));
            ssm.insert(place.to_string(), aws_sdk_ssm::Client::from_conf(ssm_conf));
            kms.insert(place.to_string(), aws_sdk_kms::Client::from_conf(kms_conf));
        }
        Self {
            prefix,
            calls: calls.clone(),
            handler: Handler::new(replicator, calls, Collect::default()),
            proxy: own,
            ssm,
            kms,
            secrets,
        }
    }

    /// What the handler handed on (full sync continuations).
    pub fn handler_continuation(&self) -> &Collect {
        self.handler.continuation()
    }

    /// A name under this test's prefix.
    pub fn name(&self, leaf: &str) -> String {
        format!("{}/{leaf}", self.prefix)
    }

    /// The direct client of `place`: a region of the world's account, or `ACCOUNT/REGION`.
    pub fn ssm(&self, place: &str) -> &aws_sdk_ssm::Client {
        self.ssm.get(place).unwrap_or_else(|| panic!("no client for {place}"))
    }

    /// The direct Secrets Manager client of `place` (a region of the world's account, or `ACCOUNT/REGION`).
    pub fn secrets(&self, place: &str) -> &aws_sdk_secretsmanager::Client {
        self.secrets.get(place).unwrap_or_else(|| panic!("no client for {place}"))
    }

    pub fn kms(&self, place: &str) -> &aws_sdk_kms::Client {
        self.kms.get(place).unwrap_or_else(|| panic!("no client for {place}"))
    }

    pub fn writes(&self) -> u64 {
        self.calls.total(WRITES)
    }

    pub fn writes_in(&self, region: &str) -> u64 {
        WRITES.iter().map(|op| self.calls.get(region, op)).sum()
    }

    /// Create (or overwrite) a parameter directly in `region`, with tags on create.
    pub async fn put(&self, region: &str, p: Put<'_>) {
        let exists = self.get(region, p.name).await.is_some();
        self.ssm(region)
            .put_parameter()
            .name(p.name)
            .value(p.value)
            .r#type(p.kind.clone())
            .overwrite(exists)
            .set_description(p.description.map(str::to_owned))
            .set_allowed_pattern(p.allowed_pattern.map(str::to_owned))
            .set_key_id(p.key_id.map(str::to_owned))
            .set_data_type(p.data_type.map(str::to_owned))
            .set_tier(p.tier.clone())
            .set_policies(p.policies.map(str::to_owned))
            .set_tags((!exists && !p.tags.is_empty()).then(|| tags(p.tags)))
            .send()
            .await
            .unwrap();
    }

    pub async fn tag(&self, region: &str, name: &str, pairs: &[(&str, &str)]) {
        self.ssm(region)
            .add_tags_to_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tags(Some(tags(pairs)))
            .send()
            .await
            .unwrap();
    }

    pub async fn untag(&self, region: &str, name: &str, keys: &[&str]) {
        self.ssm(region)
            .remove_tags_from_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tag_keys(Some(keys.iter().map(|k| k.to_string()).collect()))
            .send()
            .await
            .unwrap();
    }

    pub async fn delete(&self, region: &str, name: &str) {
        self.ssm(region).delete_parameter().name(name).send().await.unwrap();
    }

    /// The parameter in `region` (decrypted), or `None`.
    pub async fn get(&self, region: &str, name: &str) -> Option<aws_sdk_ssm::types::Parameter> {
        match self.ssm(region).get_parameter().name(name).with_decryption(true).send().await {
            Ok(out) => out.parameter,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => None,
            Err(e) => panic!("GetParameter {name} in {region}: {e:?}"),
        }
    }

    pub async fn describe(&self, region: &str, name: &str) -> aws_sdk_ssm::types::ParameterMetadata {
        let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .unwrap();
        // Pages may be empty before the one that holds it (the emulator pages before it filters, as AWS does).
        let mut token: Option<String> = None;
        loop {
            let out = self
                .ssm(region)
                .describe_parameters()
                .parameter_filters(filter.clone())
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            if let Some(found) = out.parameters().first() {
                return found.clone();
            }
            token = out.next_token().map(str::to_owned);
            assert!(token.is_some(), "{name} not described in {region}");
        }
    }

    pub async fn tags_of(&self, region: &str, name: &str) -> BTreeMap<String, String> {
        let out = self
            .ssm(region)
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .unwrap();
        out.tag_list().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect()
    }

    /// Every parameter under this world's prefix in `region`: name → (type, decrypted value).
    pub async fn values_under(&self, region: &str) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        let mut pages = self
            .ssm(region)
            .get_parameters_by_path()
            .path(&self.prefix)
            .recursive(true)
            .with_decryption(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for p in page.unwrap().parameters() {
                let kind = p.r#type().map(|t| t.as_str().to_owned()).unwrap_or_default();
                out.insert(p.name().unwrap_or_default().to_owned(), (kind, p.value().unwrap_or_default().to_owned()));
            }
        }
        out
    }

    /// A customer key with `alias` in each of `regions`.
    pub async fn key_with_alias(&self, alias: &str, regions: &[&str]) {
        for r in regions {
            let key = self.kms(r).create_key().send().await.unwrap();
            let id = key.key_metadata().unwrap().key_id().to_owned();
            self.kms(r).create_alias().alias_name(alias).target_key_id(id).send().await.unwrap();
        }
    }

    pub async fn invoke(&self, event: Value) -> Result<Report, HandlerError> {
        self.handler.handle(&event, None).await
    }

    /// Invoke with a time budget (a full sync hands on once it is spent).
    pub async fn invoke_within(&self, event: Value, budget: Duration) -> Result<Report, HandlerError> {
        self.handler.handle(&event, Some(std::time::Instant::now() + budget)).await
    }

    /// Invoke with the native change event for `name` and expect a report.
    pub async fn change(&self, operation: &str, name: &str) -> Report {
        self.invoke(change_event(operation, name)).await.unwrap_or_else(|e| panic!("{operation} {name}: {e}"))
    }
}

#[derive(Clone)]
pub struct Put<'a> {
    pub name: &'a str,
    pub value: &'a str,
    pub kind: ParameterType,
    pub description: Option<&'a str>,
    pub allowed_pattern: Option<&'a str>,
    pub key_id: Option<&'a str>,
    pub data_type: Option<&'a str>,
    pub tier: Option<ParameterTier>,
    pub policies: Option<&'a str>,
    pub tags: &'a [(&'a str, &'a str)],
}

impl<'a> Put<'a> {
    /// A String tagged `replicate=yes`.
    pub fn string(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value,
            kind: ParameterType::String,
            description: None,
            allowed_pattern: None,
            key_id: None,
            data_type: None,
            tier: None,
            policies: None,
            tags: &[("replicate", "yes")],
        }
    }

    pub fn secure(name: &'a str, value: &'a str, key_id: Option<&'a str>) -> Self {
        Self { kind: ParameterType::SecureString, key_id, ..Self::string(name, value) }
    }

    pub fn tags(self, tags: &'a [(&'a str, &'a str)]) -> Self {
        Self { tags, ..self }
    }
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build().unwrap()).collect()
}

pub fn change_event(operation: &str, name: &str) -> Value {
    change_event_in(SOURCE, operation, name)
}

/// The native change event as EventBridge delivers it in `region`.
pub fn change_event_in(region: &str, operation: &str, name: &str) -> Value {
    change_event_as(ACCOUNT, region, operation, name)
}

/// The native change event as EventBridge delivers it in `region` of `account`.
pub fn change_event_as(account: &str, region: &str, operation: &str, name: &str) -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "detail-type": "Parameter Store Change",
        "source": "aws.ssm",
        "account": account,
        "time": "2026-11-21T09:00:00Z",
        "region": region,
        "resources": [format!("arn:aws:ssm:{region}:{account}:parameter{name}")],
        "detail": {"operation": operation, "name": name, "type": "String"}
    })
}

pub fn cloudtrail_event(event_name: &str, request: Value) -> Value {
    json!({
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000001",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.ssm",
        "account": ACCOUNT,
        "time": "2026-11-21T09:00:00Z",
        "region": SOURCE,
        "resources": [],
        "detail": {
            "eventSource": "ssm.amazonaws.com",
            "eventName": event_name,
            "awsRegion": SOURCE,
            "requestParameters": request
        }
    })
}

/// The outcome and reason for `name` in `region`, as `"created"` or `"failed:kms-key-missing"`.
pub fn outcome(report: &Report, name: &str, region: &str) -> String {
    let p =
        report.parameters.iter().find(|p| p.name.as_str() == name).unwrap_or_else(|| panic!("{name} not in report"));
    let t =
        p.targets.iter().find(|t| t.target.to_string() == region).unwrap_or_else(|| panic!("{region} not in report"));
    let outcome = t.outcome.as_str();
    match t.reason {
        Some(r) => format!("{outcome}:{}", r.as_str()),
        None => outcome.to_owned(),
    }
}

/// A continuation that keeps what it was handed, for the test to deliver.
#[derive(Default)]
pub struct Collect(pub Mutex<Vec<Value>>);

impl Collect {
    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Continuation for Collect {
    async fn hand_off(&self, payload: &Value) -> ssm_replicator::ports::StoreResult<()> {
        self.0.lock().unwrap().push(payload.clone());
        Ok(())
    }
}

/// `n` tagged parameters under the world's prefix: a mix of String, StringList, SecureString (default
/// key; the canary's values when given) and Advanced tier.
pub async fn seed_mix(w: &World, n: usize, canary: Option<&Canary>) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| w.name(&format!("p{i:05}"))).collect();
    stream::iter(names.iter().enumerate())
        .for_each_concurrent(16, |(i, name)| async move {
            let value = match (i % 4, canary) {
                (2, Some(c)) => c.value(i),
                _ => format!("value-{i}"),
            };
            let base = Put::string(name, &value).tags(&[("replicate", "yes"), ("team", "core")]);
            let put = match i % 4 {
                0 => base,
                1 => Put { kind: ParameterType::StringList, ..base },
                2 => Put { kind: ParameterType::SecureString, ..base },
                _ => Put { tier: Some(ParameterTier::Advanced), description: Some("advanced"), ..base },
            };
            w.put(SOURCE, put).await;
        })
        .await;
    names
}

/// A SecureString value that must never be seen outside SSM: not in logs (captured at TRACE with the
/// SDK's sensitive-body logging on), reports, errors, continuation payloads or CLI output.
pub struct Canary(String);

impl Canary {
    pub fn new() -> Self {
        Self(format!("canary-{:016x}", fastrand::u64(..)))
    }

    /// A distinct value carrying the canary.
    pub fn value(&self, n: usize) -> String {
        format!("{}-{n}", self.0)
    }

    /// Fails if the canary is in the captured logs or in any of `exposed` (reports, errors, payloads).
    pub fn assert_hidden(&self, exposed: &[String]) {
        assert!(!captured_logs().contains(&self.0), "the canary leaked into logs");
        for (i, text) in exposed.iter().enumerate() {
            assert!(!text.contains(&self.0), "the canary leaked into output #{i}");
        }
    }
}
