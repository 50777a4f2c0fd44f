//! The AWS-behaviour layer of the test proxy: AWS as it really behaves where the moto server is kinder.
//!
//! The `FaultProxy` applies its fixed rules and random faults first; a request that gets through them
//! meets this layer, which forwards it to the emulator (perhaps altered), answers it itself, or alters
//! the emulator's answer. Each behaviour has its own switch (`AwsBehaviour::default()`: all on;
//! `AwsBehaviour::off()`: all off) and cites the AWS source it reproduces. Where AWS is vague, the layer
//! assumes the worst case a client must survive.
//!
//! The layer makes its own calls to the emulator (moto checks no signature): it copies the client's
//! request head and changes the X-Amz-Target and body (and for KMS the credential scope's service).
//! Those calls are not counted in the proxy's tallies: they are not the client's.
//!
//! 1. Empty pages (`empty_pages`): filtered DescribeParameters pages, and ListSecrets pages, may be empty
//!    with a NextToken.
//! 2. Listing lag (`listing_lag`): DescribeParameters does not list a parameter created a moment ago.
//! 3. 50 tags (`tag_limit`): TooManyTagsError past 50 tags on a parameter.
//! 4. Type change / tier downgrade in place (`in_place_changes`): rejected by PutParameter.
//! 5. Value size (`value_size`): 4096 characters (Standard), 8192 (Advanced).
//! 6. KMS key must exist in that region (`kms_keys`): InvalidKeyId otherwise.
//! 7. Undecryptable SecureStrings (`undecryptable`): reads with decryption fail with InvalidKeyId.
//! 8. Stale tag index (`stale_tag_index`): GetResources answers with tags as they were a while ago.
//! 9. Recreate window (`recreate_window`): a create of a name deleted a moment ago is refused.
//! 10. Unlabeled secret versions (`unlabeled_versions`): DescribeSecret lists only versions that carry a
//!     staging label.
//! 11. Scan then filter (`scan_filter`): a filtered DescribeParameters call examines MaxResults parameters
//!     of the region in listing order and answers those of them that match.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::faults::{aws_error, json_ok, send, unit, Request, Response};

/// The prefix of the NextToken of an injected empty page; the rest is the hex of the real token (empty
/// when the empty page was the first).
const SYNTHETIC: &str = "awsb-empty.";

/// The prefix of the NextToken of a filtered listing under behaviour 11; the rest is the emulator's token
/// of the unfiltered listing, where the scan goes on.
const SCAN: &str = "awsb-scan.";

/// DescribeParameters' MaxResults: 10 when absent, at most 50 (API reference).
const DEFAULT_MAX_RESULTS: u64 = 10;
const MAX_MAX_RESULTS: u64 = 50;

/// Tags per resource (AddTagsToResource API reference).
const MAX_TAGS: usize = 50;

/// Value limits in characters (PutParameter API reference: "Standard parameters have a value limit of
/// 4 KB. Advanced parameters have a value limit of 8 KB.").
const STANDARD_VALUE_LIMIT: usize = 4096;
const ADVANCED_VALUE_LIMIT: usize = 8192;

/// What the layer does; one switch per behaviour, plus the knobs of the tunable ones.
#[derive(Clone, Debug, PartialEq)]
pub struct AwsBehaviour {
    /// Behaviour 1, Empty pages. A DescribeParameters request with (non-empty) `ParameterFilters` and no NextToken is
    /// answered by the layer with `{"Parameters": [], "NextToken": <synthetic>}`; a request carrying a synthetic token
    /// is forwarded with the real token restored (or none). A filtered request with a real token is answered the same
    /// way (a synthetic token wrapping the real one) with probability `empty_page_rate`, decided by `seed` and the
    /// request (not timing). A request carrying a synthetic token is never answered empty, so every chain of pages
    /// ends.
    ///
    /// AWS: DescribeParameters API reference, "The number of items returned, however, can be between zero
    /// and the value of MaxResults. If the service reaches an internal limit while processing the results,
    /// it stops the operation and returns the matching values up to that point and a NextToken"
    /// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html>;
    /// seen in the field with a Name filter: boto3 #1632, aws-sdk-ruby #2012, aws-sdk-go #2446.
    ///
    /// ListSecrets (Secrets Manager) the same way, filtered or not (`{"SecretList": [], "NextToken": …}`).
    /// AWS: ListSecrets API reference, "Always check the NextToken response parameter when calling any of
    /// the List* operations. These operations can occasionally return an empty or shorter than expected
    /// list of results even when there are more results available."
    /// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html> (an earlier
    /// version of the page; the SDK docs keep "Secrets Manager might return fewer results than the maximum
    /// even when there are more results available").
    /// Not reproduced: its lag ("ListSecrets might not reflect changes from the last five minutes"), which
    /// the emulator's whole-second CreatedDate cannot time; the replicator never takes an unlisted secret
    /// as absent.
    pub empty_pages: bool,
    pub empty_page_rate: f64,
    pub seed: u64,
    /// Behaviour 2, Listing lag. Every DescribeParameters answer leaves out parameters at version 1 whose
    /// LastModifiedDate is less than `lag` ago: a parameter just created is readable (GetParameter, GetParameters) but
    /// not listed yet. `World::settle` waits it out.
    ///
    /// AWS: <https://github.com/aws/aws-sdk-js/issues/4349> (maintainer: "it takes the record time to be
    /// created and propagated"); DESIGN.md §3 Existence.
    pub listing_lag: bool,
    pub lag: Duration,
    /// Behaviour 3, 50 tags. AddTagsToResource (ResourceType Parameter) that would leave more than 50 tag keys (`aws:`
    /// keys not counted) on the parameter, and PutParameter with more than 50 Tags, fail with TooManyTagsError
    /// (PutParameter's documented errors do not list it: worst case assumed).
    ///
    /// AWS: AddTagsToResource API reference, "Most resources can have a maximum of 50 tags"
    /// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_AddTagsToResource.html>.
    pub tag_limit: bool,
    /// Behaviour 4, Type change / tier downgrade in place. PutParameter with Overwrite: a Type other than the current
    /// one fails with HierarchyTypeMismatchException; Tier Standard on an Advanced parameter fails with
    /// ValidationException. No Tier keeps the current tier.
    ///
    /// AWS: PutParameter API reference, "Parameter Store doesn't support changing a parameter type in a
    /// hierarchy. For example, you can't change a parameter from a String type to a SecureString type."
    /// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html>; user guide,
    /// "you can't revert an advanced parameter to a standard parameter"
    /// <https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html>.
    pub in_place_changes: bool,
    /// Behaviour 5, Value size. PutParameter with a Value over 4096 characters in the Standard tier (Tier Standard, or
    /// no Tier and the parameter not already Advanced), or over 8192 characters in the Advanced tier
    /// (Intelligent-Tiering counts as Advanced), fails with ValidationException.
    ///
    /// AWS: PutParameter API reference, "Standard parameters have a value limit of 4 KB. Advanced
    /// parameters have a value limit of 8 KB."; the message as reported in aws-sdk-net #3157.
    pub value_size: bool,
    /// Behaviour 6, KMS key must exist in that region. PutParameter of a SecureString with a KeyId (other than the AWS
    /// managed `alias/aws/ssm`) asks KMS DescribeKey in the same region; a key that is not found or not Enabled fails
    /// the write with InvalidKeyId.
    ///
    /// AWS: PutParameter API reference, "InvalidKeyId — The query key ID isn't valid."
    pub kms_keys: bool,
    /// Behaviour 7, Undecryptable SecureStrings. Names registered with `FaultProxy::undecryptable` stand for a
    /// SecureString whose key is disabled or whose key policy denies the caller: GetParameter, GetParameters and
    /// GetParametersByPath with WithDecryption that would return one fail as a whole with InvalidKeyId (worst case
    /// assumed for a batch).
    ///
    /// AWS: KMS developer guide, "The KMS key is not enabled. When this occurs, Parameter Store returns an
    /// InvalidKeyId exception" <https://docs.aws.amazon.com/kms/latest/developerguide/services-parameter-store.html>.
    pub undecryptable: bool,
    /// Behaviour 8, Stale tag index. GetResources with a ResourceARNList (the Resource Groups Tagging API) is
    /// answered by the layer: for each ARN, the tags the index last saw, refreshed from the parameter itself
    /// (ListTagsForResource) only once that view is older than `tag_index_lag`. A parameter that does not exist or
    /// has no tags is left out (an ARN "that doesn't exist ... simply isn't included in the response"; the index
    /// lists resources "that are currently tagged or ever had a tag"). One answer, no PaginationToken: an ARN list
    /// cannot be combined with the pagination parameters.
    ///
    /// AWS: GetResources API reference
    /// <https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html>; the index
    /// is eventually consistent (Tag Editor: tag changes "might take a few minutes" to appear), worst case assumed:
    /// a view this old for every resource, including a parameter tagged for the first time.
    pub stale_tag_index: bool,
    pub tag_index_lag: Duration,
    /// Behaviour 9, Recreate window. PutParameter without Overwrite of a name that a DeleteParameter or
    /// DeleteParameters (through this proxy, in that region) deleted less than `recreate_after` ago fails with
    /// TooManyUpdates, and creates nothing. AWS documents at least 30 s; the suite scales it down (as it does its
    /// recreation waits, `World`'s `RecreateWait`).
    ///
    /// AWS: DeleteParameter API reference, "After deleting a parameter, wait for at least 30 seconds to create a
    /// parameter with the same name." <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameter.html>;
    /// the refusal's code and message as reported in awslabs/aws-orbit-workbench#1170 (TooManyUpdates, "Failed to
    /// create the parameter since stale tags associated to the name detected. Please retry in a while or change a
    /// parameter name.").
    pub recreate_window: bool,
    pub recreate_after: Duration,
    /// Behaviour 10, Unlabeled secret versions. DescribeSecret's `VersionIdsToStages` leaves out versions
    /// without a staging label (moto lists them with an empty list). So a copy that still keeps a version
    /// whose labels moved on does not show it, and a PutSecretValue with that version's id and value is
    /// ignored by the service (moto ignores it too), moving no label.
    ///
    /// AWS: DescribeSecret API reference, VersionIdsToStages: "A list of the versions of the secret that have
    /// staging labels attached. Versions that don't have staging labels are considered deprecated and Secrets
    /// Manager can delete them." <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html>;
    /// PutSecretValue, ClientRequestToken: "If a version with this value already exists and the version
    /// SecretString and SecretBinary values are the same as those in the request, then the request is ignored."
    /// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html>
    pub unlabeled_versions: bool,
    /// Behaviour 11, Scan then filter. A DescribeParameters call with (non-empty) `ParameterFilters` examines
    /// the next `MaxResults` (10 when absent, at most 50) parameters of the region in the region's listing
    /// order (the unfiltered listing), answers those of them that match every filter, and a NextToken while
    /// the region has more. So one filtered listing costs a call per `MaxResults` parameters of the region,
    /// whatever it matches, and any page may be empty. Unfiltered calls are unchanged. "The region" is the
    /// parameters under the test world's prefix (`/t` and 16 hex digits) when the request names one or the
    /// proxy was given one (`scan_scope`): the suite's tests share one emulator, and each world stands for an
    /// account of its own; otherwise (the benchmark's proxy) the whole region.
    ///
    /// AWS: DescribeParameters API reference, "Request results are returned on a best-effort basis. If you
    /// specify MaxResults in the request, the response includes information up to the limit specified. The
    /// number of items returned, however, can be between zero and the value of MaxResults. If the service
    /// reaches an internal limit while processing the results, it stops the operation and returns the
    /// matching values up to that point and a NextToken."
    /// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html>; seen in
    /// the field: MaxResults applied before the filters (boto3 #1079: 20 of 25 matches and a NextToken with
    /// MaxResults 50), empty filtered pages with a NextToken (boto3 #1632, aws-sdk-ruby #2012), a filtered
    /// listing that pages through the whole account (google/go-cloud #3135). Worst case assumed: every
    /// filter, Path and Name included, is applied after the scan.
    pub scan_filter: bool,
    pub scan_scope: Option<String>,
}

impl Default for AwsBehaviour {
    /// Every behaviour on.
    fn default() -> Self {
        Self {
            empty_pages: true,
            empty_page_rate: 0.25,
            seed: 0xa75_bea7,
            listing_lag: true,
            lag: Duration::from_millis(500),
            tag_limit: true,
            in_place_changes: true,
            value_size: true,
            kms_keys: true,
            undecryptable: true,
            stale_tag_index: true,
            tag_index_lag: Duration::from_secs(30),
            recreate_window: true,
            recreate_after: Duration::from_millis(1000),
            unlabeled_versions: true,
            scan_filter: true,
            scan_scope: None,
        }
    }
}

impl AwsBehaviour {
    /// What the suite's worlds and fault proxies use: every behaviour on, except those named in
    /// `AWS_BEHAVIOUR_OFF` (comma-separated: `empty-pages`, `listing-lag`, `tag-limit`, `in-place`,
    /// `value-size`, `kms-keys`, `undecryptable`, `stale-tags`, `recreate-window`, `unlabeled-versions`,
    /// `scan-filter`; `all`). For diagnosis only: to see which failures one
    /// behaviour causes. The layer's own tests ignore it.
    pub fn from_env() -> Self {
        let off = std::env::var("AWS_BEHAVIOUR_OFF").unwrap_or_default();
        off.split(',').map(str::trim).filter(|s| !s.is_empty()).fold(Self::default(), |b, switch| match switch {
            "empty-pages" => b.without_empty_pages(),
            "listing-lag" => b.without_listing_lag(),
            "tag-limit" => b.without_tag_limit(),
            "in-place" => b.without_in_place_checks(),
            "value-size" => b.without_value_size_limit(),
            "kms-keys" => b.without_kms_key_check(),
            "undecryptable" => b.without_undecryptable(),
            "stale-tags" => b.without_stale_tag_index(),
            "recreate-window" => b.without_recreate_window(),
            "unlabeled-versions" => b.without_unlabeled_versions(),
            "scan-filter" => b.without_scan_filter(),
            "all" => Self { seed: b.seed, ..Self::off() },
            other => panic!("AWS_BEHAVIOUR_OFF: unknown behaviour '{other}'"),
        })
    }

    /// Every behaviour off: the proxy forwards as the emulator answers.
    pub fn off() -> Self {
        Self {
            empty_pages: false,
            listing_lag: false,
            tag_limit: false,
            in_place_changes: false,
            value_size: false,
            kms_keys: false,
            undecryptable: false,
            stale_tag_index: false,
            recreate_window: false,
            unlabeled_versions: false,
            scan_filter: false,
            ..Self::default()
        }
    }

    pub fn without_scan_filter(self) -> Self {
        Self { scan_filter: false, ..self }
    }

    /// Behaviour 11's region: the parameters whose names begin with `prefix` (a test world's), for requests
    /// that do not name a world's prefix themselves.
    pub fn with_scan_scope(self, prefix: &str) -> Self {
        Self { scan_scope: Some(prefix.to_owned()), ..self }
    }

    pub fn without_unlabeled_versions(self) -> Self {
        Self { unlabeled_versions: false, ..self }
    }

    pub fn without_empty_pages(self) -> Self {
        Self { empty_pages: false, ..self }
    }

    /// Empty pages on, with `rate` for pages after the first (the first filtered page is always empty).
    pub fn with_empty_page_rate(self, rate: f64) -> Self {
        Self { empty_pages: true, empty_page_rate: rate, ..self }
    }

    /// The seed of the random empty pages.
    pub fn with_seed(self, seed: u64) -> Self {
        Self { seed, ..self }
    }

    pub fn without_listing_lag(self) -> Self {
        Self { listing_lag: false, ..self }
    }

    /// Listing lag on, with `lag`.
    pub fn with_lag(self, lag: Duration) -> Self {
        Self { listing_lag: true, lag, ..self }
    }

    pub fn without_tag_limit(self) -> Self {
        Self { tag_limit: false, ..self }
    }

    pub fn without_in_place_checks(self) -> Self {
        Self { in_place_changes: false, ..self }
    }

    pub fn without_value_size_limit(self) -> Self {
        Self { value_size: false, ..self }
    }

    pub fn without_kms_key_check(self) -> Self {
        Self { kms_keys: false, ..self }
    }

    pub fn without_undecryptable(self) -> Self {
        Self { undecryptable: false, ..self }
    }

    /// Stale tag index on, with views refreshed after `lag`.
    pub fn with_tag_index_lag(self, lag: Duration) -> Self {
        Self { stale_tag_index: true, tag_index_lag: lag, ..self }
    }

    /// GetResources forwarded to the emulator as it is (its own paging, always current).
    pub fn without_stale_tag_index(self) -> Self {
        Self { stale_tag_index: false, ..self }
    }

    /// Recreate window on, refusing creates for `after` after a delete.
    pub fn with_recreate_window(self, after: Duration) -> Self {
        Self { recreate_window: true, recreate_after: after, ..self }
    }

    pub fn without_recreate_window(self) -> Self {
        Self { recreate_window: false, ..self }
    }

    /// How long a test waits for a just-written parameter to be listed (the lag and a margin).
    pub fn settle_time(&self) -> Duration {
        if self.listing_lag {
            self.lag + Duration::from_millis(200)
        } else {
            Duration::ZERO
        }
    }
}

/// What the layer of one proxy keeps between requests.
#[derive(Default)]
pub(crate) struct LayerState {
    /// Region → empty pages injected.
    empty_pages: Mutex<BTreeMap<String, u64>>,
    /// Names whose SecureString cannot be decrypted.
    undecryptable: Mutex<BTreeSet<String>>,
    /// Behaviour 8: ARN → when the index last looked, and the tags it saw (`None`: not listed).
    tag_index: Mutex<BTreeMap<String, (Instant, Option<Value>)>>,
    /// Behaviour 9: (region, name) → when it was deleted; and creates refused in that window.
    deleted: Mutex<BTreeMap<(String, String), Instant>>,
    recreates_refused: Mutex<u64>,
}

impl LayerState {
    pub fn empty_pages(&self, region: &str) -> u64 {
        self.empty_pages.lock().unwrap().get(region).copied().unwrap_or(0)
    }

    pub fn empty_pages_total(&self) -> u64 {
        self.empty_pages.lock().unwrap().values().sum()
    }

    pub fn undecryptable(&self, name: &str) {
        self.undecryptable.lock().unwrap().insert(name.to_owned());
    }

    /// Creates behaviour 9 refused.
    pub fn recreates_refused(&self) -> u64 {
        *self.recreates_refused.lock().unwrap()
    }

    fn count_empty_page(&self, region: &str) {
        *self.empty_pages.lock().unwrap().entry(region.to_owned()).or_default() += 1;
    }

    fn is_undecryptable(&self, name: &str) -> bool {
        self.undecryptable.lock().unwrap().contains(name)
    }
}

/// The layer's answer to one request.
pub(crate) struct Reply {
    pub response: Response,
    /// Answered by the layer itself (the request, or its write, did not take effect at the emulator).
    pub emulated: bool,
}

impl Reply {
    fn upstream(response: Response) -> Self {
        Self { response, emulated: false }
    }

    fn emulated(response: Response) -> Self {
        Self { response, emulated: true }
    }

    fn error(code: &str, message: &str) -> Self {
        Self::emulated(aws_error(400, code, message))
    }
}

/// The emulator, reached with the client's request head.
struct Upstream<'a> {
    addr: &'a str,
    request: &'a Request,
}

impl Upstream<'_> {
    /// The client's request as it is.
    fn forward(&self) -> Response {
        send(self.addr, &self.request.head, &self.request.body)
    }

    /// The client's request with `body` in place of its own.
    fn forward_with(&self, body: &Value) -> Response {
        send(self.addr, &self.request.head, &serde_json::to_vec(body).unwrap())
    }

    /// The layer's own call: `target` (`AmazonSSM.ListTagsForResource`) with `body`, in the client's
    /// region; `service` replaces the client's in the SigV4 credential scope (moto routes by it).
    fn call(&self, target: &str, service: &str, body: &Value) -> Response {
        let head: Vec<String> = self
            .request
            .head
            .iter()
            .map(|line| {
                let lower = line.to_ascii_lowercase();
                if lower.starts_with("x-amz-target:") {
                    format!("X-Amz-Target: {target}\r\n")
                } else if let (true, Some(end)) = (lower.starts_with("authorization:"), line.find("/aws4_request")) {
                    // The credential scope's service: `.../us-east-1/<service>/aws4_request`.
                    let start = line[..end].rfind('/').map_or(end, |i| i + 1);
                    format!("{}{service}{}", &line[..start], &line[end..])
                } else {
                    line.clone()
                }
            })
            .collect();
        send(self.addr, &head, &serde_json::to_vec(body).unwrap())
    }
}

fn text<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

impl AwsBehaviour {
    /// Answer one request that passed the fault rules.
    pub(crate) fn serve(&self, addr: &str, request: &Request, state: &LayerState) -> Reply {
        let up = Upstream { addr, request };
        if self.stale_tag_index
            && request.service.starts_with("ResourceGroupsTaggingAPI")
            && request.operation == "GetResources"
        {
            return self.get_resources(&up, state);
        }
        if request.service == "secretsmanager" && request.operation == "DescribeSecret" && self.unlabeled_versions {
            return Reply::upstream(without_unlabeled_versions(up.forward()));
        }
        if request.service == "secretsmanager" && request.operation == "ListSecrets" && self.empty_pages {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            return self.list_secrets(&up, &body, state);
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(body) if request.service == "AmazonSSM" => body,
            _ => return Reply::upstream(up.forward()),
        };
        match request.operation.as_str() {
            "DescribeParameters" => self.describe_parameters(&up, &body, state),
            "AddTagsToResource" if self.tag_limit => self.add_tags(&up, &body),
            "PutParameter" if self.recreate_window && self.within_recreate_window(request, &body, state) => {
                *state.recreates_refused.lock().unwrap() += 1;
                Reply::error(
                    "TooManyUpdates",
                    "Failed to create the parameter since stale tags associated to the name detected. Please retry \
                     in a while or change a parameter name.",
                )
            }
            "PutParameter" => self.put_parameter(&up, &body),
            "DeleteParameter" | "DeleteParameters" if self.recreate_window => self.delete(&up, &body, state),
            "GetParameter" | "GetParameters" | "GetParametersByPath" if self.undecryptable => {
                self.read_values(&up, &body, state)
            }
            _ => Reply::upstream(up.forward()),
        }
    }

    /// Behaviour 9: a create (no Overwrite) of a name deleted less than `recreate_after` ago.
    fn within_recreate_window(&self, request: &Request, body: &Value, state: &LayerState) -> bool {
        let overwrite = body.get("Overwrite").and_then(Value::as_bool).unwrap_or(false);
        let name = text(body, "Name").unwrap_or_default();
        let deleted = state.deleted.lock().unwrap();
        !overwrite
            && deleted
                .get(&(request.region.clone(), name.to_owned()))
                .is_some_and(|at| at.elapsed() < self.recreate_after)
    }

    /// Behaviour 9: remember when each name was deleted (only what the emulator did delete).
    fn delete(&self, up: &Upstream, body: &Value, state: &LayerState) -> Reply {
        let response = up.forward();
        if response.status == 200 {
            let names: Vec<String> = match text(body, "Name") {
                Some(name) => vec![name.to_owned()],
                None => response
                    .json()
                    .get("DeletedParameters")
                    .and_then(Value::as_array)
                    .map(|n| n.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default(),
            };
            let mut deleted = state.deleted.lock().unwrap();
            for name in names {
                deleted.insert((up.request.region.clone(), name), Instant::now());
            }
        }
        Reply::upstream(response)
    }

    /// Behaviours 1 (empty pages), 2 (listing lag) and 11 (scan then filter).
    fn describe_parameters(&self, up: &Upstream, body: &Value, state: &LayerState) -> Reply {
        let request = up.request;
        let filtered = body.get("ParameterFilters").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
        let token = text(body, "NextToken").filter(|t| !t.is_empty());
        // Behaviour 1's token wraps the real one (none when the empty page was the first).
        let body = match token.and_then(|t| t.strip_prefix(SYNTHETIC)).map(hex::decode) {
            Some(Ok(real)) => restored(body, real),
            // Not hex after our prefix: the emulator answers InvalidNextToken, as AWS would.
            Some(Err(_)) => return Reply::upstream(up.forward()),
            None if self.empty_pages && filtered && self.empty_here(request, token) => {
                state.count_empty_page(&request.region);
                let next = format!("{SYNTHETIC}{}", hex::encode(token.unwrap_or_default()));
                return Reply::emulated(json_ok(&json!({"Parameters": [], "NextToken": next})));
            }
            None => body.clone(),
        };
        let response = if self.scan_filter && filtered { self.scan(up, &body) } else { up.forward_with(&body) };
        Reply::upstream(if self.listing_lag { self.hide_recent(response) } else { response })
    }

    /// Behaviour 11: examine the next MaxResults parameters of the region (the unfiltered listing), answer
    /// those that match the request's filters, and where the scan goes on.
    fn scan(&self, up: &Upstream, body: &Value) -> Response {
        let max = body.get("MaxResults").and_then(Value::as_u64).unwrap_or(DEFAULT_MAX_RESULTS);
        let max = max.clamp(1, MAX_MAX_RESULTS);
        let position = match text(body, "NextToken").filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match t.strip_prefix(SCAN) {
                Some(inner) => Some(inner.to_owned()),
                None => return aws_error(400, "InvalidNextToken", "The specified token isn't valid."),
            },
        };
        let filters: Vec<Value> = body.get("ParameterFilters").and_then(Value::as_array).cloned().unwrap_or_default();
        // The region: the world's parameters (a Name filter that the layer adds to its own call), else all.
        let scope =
            world_prefix(&serde_json::to_string(&filters).unwrap_or_default()).or_else(|| self.scan_scope.clone());
        let mut listing = json!({"MaxResults": max});
        if let Some(scope) = &scope {
            listing["ParameterFilters"] = json!([{"Key": "Name", "Option": "BeginsWith", "Values": [scope]}]);
        }
        if let Some(position) = position {
            listing["NextToken"] = position.into();
        }
        let examined = up.call("AmazonSSM.DescribeParameters", "ssm", &listing);
        if examined.status != 200 {
            return examined;
        }
        let examined = examined.json();
        let next = text(&examined, "NextToken").filter(|t| !t.is_empty()).map(|t| format!("{SCAN}{t}"));
        let names: Vec<&str> = examined
            .get("Parameters")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(|p| text(p, "Name")).collect())
            .unwrap_or_default();
        let matched = match self.matching(up, &filters, &names) {
            Ok(matched) => matched,
            Err(failed) => return failed,
        };
        let mut answer = json!({"Parameters": matched});
        if let Some(next) = next {
            answer["NextToken"] = next.into();
        }
        json_ok(&answer)
    }

    /// Of the examined `names` (at most 50), the parameters that match every filter, as the emulator
    /// describes them, in the examined order: the request's filters with its Name filter (if any) narrowed
    /// to the examined names that pass it. The emulator's failure is the client's answer.
    fn matching(&self, up: &Upstream, filters: &[Value], names: &[&str]) -> Result<Vec<Value>, Response> {
        let mut candidates: Vec<&str> = names.to_vec();
        let mut rest = Vec::new();
        for filter in filters {
            if text(filter, "Key") != Some("Name") {
                rest.push(filter.clone());
                continue;
            }
            let values: Vec<&str> = filter
                .get("Values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let option = text(filter, "Option").unwrap_or("Equals");
            candidates.retain(|n| match option {
                "BeginsWith" => values.iter().any(|v| n.starts_with(v)),
                "Contains" => values.iter().any(|v| n.contains(v)),
                _ => values.contains(n),
            });
        }
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        // First: moto stops at a tag filter without values (it answers "matches" there, skipping the
        // filters after it), so the narrowing must come before it.
        rest.insert(0, json!({"Key": "Name", "Option": "Equals", "Values": candidates}));
        let answer =
            up.call("AmazonSSM.DescribeParameters", "ssm", &json!({"ParameterFilters": rest, "MaxResults": 50}));
        if answer.status != 200 {
            return Err(answer);
        }
        let mut found: BTreeMap<String, Value> = answer
            .json()
            .get("Parameters")
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(|p| Some((text(p, "Name")?.to_owned(), p.clone()))).collect())
            .unwrap_or_default();
        Ok(names.iter().filter_map(|n| found.remove(*n)).collect())
    }

    /// Behaviour 1 for ListSecrets: the first page is empty with a synthetic token, later ones may be.
    fn list_secrets(&self, up: &Upstream, body: &Value, state: &LayerState) -> Reply {
        let request = up.request;
        let token = text(body, "NextToken").filter(|t| !t.is_empty());
        match token.and_then(|t| t.strip_prefix(SYNTHETIC)).map(hex::decode) {
            Some(Ok(real)) => Reply::upstream(forward_restored(up, body, real)),
            // Not hex after our prefix: a token AWS never issued (the emulator would fail with a 500).
            Some(Err(_)) => Reply::error("InvalidNextTokenException", "The NextToken value is invalid."),
            None if self.empty_here(request, token) => {
                state.count_empty_page(&request.region);
                let next = format!("{SYNTHETIC}{}", hex::encode(token.unwrap_or_default()));
                Reply::emulated(json_ok(&json!({"SecretList": [], "NextToken": next})))
            }
            None => Reply::upstream(up.forward()),
        }
    }

    /// Whether this (filtered, not synthetic) page is answered empty: always the first page; a later one
    /// with `empty_page_rate`, from the seed and the request itself.
    fn empty_here(&self, request: &Request, token: Option<&str>) -> bool {
        token.is_none()
            || unit(self.seed, &request.operation, &request.region, &request.body, 0, 2) < self.empty_page_rate
    }

    /// Behaviour 2: leave out what was created less than `lag` ago.
    fn hide_recent(&self, response: Response) -> Response {
        if response.status != 200 {
            return response;
        }
        let mut body = response.json();
        let Some(items) = body.get_mut("Parameters").and_then(Value::as_array_mut) else { return response };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        let before = items.len();
        items.retain(|p| {
            let created = p.get("Version").and_then(Value::as_i64) == Some(1);
            let modified = p.get("LastModifiedDate").and_then(Value::as_f64).unwrap_or(0.0);
            !(created && now - modified < self.lag.as_secs_f64())
        });
        if items.len() == before {
            return response;
        }
        response.with_json(&body)
    }

    /// Behaviour 8: the index's view of each ARN asked for, refreshed when older than `tag_index_lag`.
    fn get_resources(&self, up: &Upstream, state: &LayerState) -> Reply {
        let body: Value = serde_json::from_slice(&up.request.body).unwrap_or_default();
        let Some(arns) = body.get("ResourceARNList").and_then(Value::as_array) else {
            return Reply::upstream(up.forward());
        };
        if arns.is_empty()
            || arns.len() > 100
            || ["TagFilters", "ResourceTypeFilters", "PaginationToken"].iter().any(|k| body.get(*k).is_some())
        {
            return Reply::error(
                "InvalidParameterException",
                "ResourceARNList: 1 to 100 ARNs, and no filters or paging",
            );
        }
        let mut mappings = Vec::new();
        for arn in arns.iter().filter_map(Value::as_str) {
            let mut index = state.tag_index.lock().unwrap();
            let fresh = index.get(arn).is_some_and(|(seen, _)| seen.elapsed() < self.tag_index_lag);
            if !fresh {
                let view = self.tags_now(up, arn);
                index.insert(arn.to_owned(), (Instant::now(), view));
            }
            if let Some((_, Some(tags))) = index.get(arn) {
                mappings.push(json!({"ResourceARN": arn, "Tags": tags}));
            }
        }
        Reply::emulated(json_ok(&json!({"ResourceTagMappingList": mappings, "PaginationToken": ""})))
    }

    /// A parameter's tags as SSM has them now (`None`: no such parameter, or no tags).
    fn tags_now(&self, up: &Upstream, arn: &str) -> Option<Value> {
        let rest = arn.split_once(":parameter/")?.1;
        // A name with a slash in it begins with one; `/x` and `x` share the ARN `parameter/x`.
        let candidates =
            if rest.contains('/') { vec![format!("/{rest}")] } else { vec![rest.to_owned(), format!("/{rest}")] };
        for id in candidates {
            let body = json!({"ResourceType": "Parameter", "ResourceId": id});
            let answer = up.call("AmazonSSM.ListTagsForResource", "ssm", &body);
            if answer.status == 200 {
                let tags = answer.json().get("TagList").cloned().unwrap_or_else(|| json!([]));
                return tags.as_array().is_some_and(|t| !t.is_empty()).then_some(tags);
            }
        }
        None
    }

    /// Behaviour 3 for AddTagsToResource: the parameter's tags after the call, counted.
    fn add_tags(&self, up: &Upstream, body: &Value) -> Reply {
        if text(body, "ResourceType") != Some("Parameter") {
            return Reply::upstream(up.forward());
        }
        let keys = |tags: Option<&Value>| -> BTreeSet<String> {
            let tags = tags.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            tags.iter().filter_map(|t| text(t, "Key")).filter(|k| !k.starts_with("aws:")).map(str::to_owned).collect()
        };
        let id = text(body, "ResourceId").unwrap_or_default();
        let current =
            up.call("AmazonSSM.ListTagsForResource", "ssm", &json!({"ResourceType": "Parameter", "ResourceId": id}));
        // A parameter that does not exist: the emulator answers for it.
        if current.status == 200 {
            let mut all = keys(current.json().get("TagList"));
            all.extend(keys(body.get("Tags")));
            if all.len() > MAX_TAGS {
                return Reply::error(
                    "TooManyTagsError",
                    &format!(
                        "The Systems Manager resource {id} would have {} tags; the limit is {MAX_TAGS}.",
                        all.len()
                    ),
                );
            }
        }
        Reply::upstream(up.forward())
    }

    /// Behaviours 3 (Tags on create), 4 (type and tier in place), 5 (value size) and 6 (KMS key).
    fn put_parameter(&self, up: &Upstream, body: &Value) -> Reply {
        let name = text(body, "Name").unwrap_or_default();
        let kind = text(body, "Type");
        let tier = text(body, "Tier");
        let overwrite = body.get("Overwrite").and_then(Value::as_bool).unwrap_or(false);
        let length = text(body, "Value").map_or(0, |v| v.chars().count());
        let key = text(body, "KeyId").filter(|k| *k != "alias/aws/ssm" && !k.ends_with(":alias/aws/ssm"));

        let tags = body.get("Tags").and_then(Value::as_array).map_or(0, Vec::len);
        if self.tag_limit && tags > MAX_TAGS {
            return Reply::error(
                "TooManyTagsError",
                &format!("The Systems Manager resource {name} would have {tags} tags; the limit is {MAX_TAGS}."),
            );
        }

        // The parameter as it is now, read only when a check needs it (an overwrite can keep its tier and type).
        let needs_current = overwrite
            && (self.in_place_changes
                || (self.value_size && tier.is_none() && length > STANDARD_VALUE_LIMIT)
                || (self.kms_keys && kind.is_none() && key.is_some()));
        let current = if needs_current { current_parameter(up, name) } else { None };
        let current_tier = current.as_ref().and_then(|c| text(c, "Tier"));
        let current_kind = current.as_ref().and_then(|c| text(c, "Type"));

        if self.in_place_changes {
            if let (Some(kind), Some(now)) = (kind, current_kind) {
                if kind != now {
                    return Reply::error(
                        "HierarchyTypeMismatchException",
                        "Parameter Store doesn't support changing a parameter type in a hierarchy. For example, \
                         you can't change a parameter from a String type to a SecureString type.",
                    );
                }
            }
            if current_tier == Some("Advanced") && tier == Some("Standard") {
                return Reply::error(
                    "ValidationException",
                    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the \
                     advanced-parameter tier to the standard-parameter tier.",
                );
            }
        }

        if self.value_size {
            let effective = tier.or(current_tier).unwrap_or("Standard");
            let standard = effective == "Standard";
            if standard && length > STANDARD_VALUE_LIMIT {
                return Reply::error(
                    "ValidationException",
                    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a \
                     larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more \
                     information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html",
                );
            }
            if !standard && length > ADVANCED_VALUE_LIMIT {
                return Reply::error(
                    "ValidationException",
                    "Advanced tier parameters support a maximum parameter value of 8192 characters.",
                );
            }
        }

        if self.kms_keys && (kind == Some("SecureString") || (kind.is_none() && current_kind == Some("SecureString"))) {
            if let Some(key) = key {
                let described = up.call("TrentService.DescribeKey", "kms", &json!({"KeyId": key}));
                let state =
                    described.json().pointer("/KeyMetadata/KeyState").and_then(Value::as_str).map(str::to_owned);
                if described.status != 200 || state.as_deref() != Some("Enabled") {
                    return Reply::error("InvalidKeyId", "The query key ID isn't valid.");
                }
            }
        }
        Reply::upstream(up.forward())
    }

    /// Behaviour 7: a read with decryption that would return an undecryptable SecureString fails whole.
    fn read_values(&self, up: &Upstream, body: &Value, state: &LayerState) -> Reply {
        let response = up.forward();
        if body.get("WithDecryption").and_then(Value::as_bool) != Some(true) || response.status != 200 {
            return Reply::upstream(response);
        }
        let answer = response.json();
        let one = answer.get("Parameter").into_iter();
        let many = answer.get("Parameters").and_then(Value::as_array).into_iter().flatten();
        let blocked = one.chain(many).find(|p| {
            text(p, "Type") == Some("SecureString") && text(p, "Name").is_some_and(|n| state.is_undecryptable(n))
        });
        match blocked.and_then(|p| text(p, "Name")) {
            Some(name) => Reply::error(
                "InvalidKeyId",
                &format!("The query key ID isn't valid: the KMS key of {name} is not enabled or denies the caller."),
            ),
            None => Reply::upstream(response),
        }
    }
}

/// The client's request body with the real token behind a synthetic one restored (none when the empty
/// page was the first).
fn restored(body: &Value, real: Vec<u8>) -> Value {
    let mut body = body.clone();
    match String::from_utf8(real).unwrap_or_default() {
        real if real.is_empty() => body.as_object_mut().unwrap().remove("NextToken"),
        real => body.as_object_mut().unwrap().insert("NextToken".into(), real.into()),
    };
    body
}

/// The client's request forwarded with the real token behind a synthetic one restored.
fn forward_restored(up: &Upstream, body: &Value, real: Vec<u8>) -> Response {
    up.forward_with(&restored(body, real))
}

/// The first test world prefix (`/t` and 16 hex digits) in `text`, if any.
fn world_prefix(text: &str) -> Option<String> {
    text.match_indices("/t").find_map(|(i, _)| {
        let hex = text.get(i + 2..i + 18)?;
        hex.bytes().all(|b| b.is_ascii_hexdigit()).then(|| format!("/t{hex}"))
    })
}

/// The parameter's metadata as DescribeParameters has it, straight from the emulator (behaviours 1 and
/// 2 do not apply to the layer's own calls).
fn current_parameter(up: &Upstream, name: &str) -> Option<Value> {
    let filter = json!({"ParameterFilters": [{"Key": "Name", "Option": "Equals", "Values": [name]}], "MaxResults": 50});
    let response = up.call("AmazonSSM.DescribeParameters", "ssm", &filter);
    if response.status != 200 {
        return None;
    }
    response.json().get("Parameters").and_then(Value::as_array).and_then(|items| items.first().cloned())
}

#[test]
fn each_switch_turns_one_behaviour_off_and_all_of_them_make_off() {
    let every = AwsBehaviour::default()
        .without_empty_pages()
        .without_listing_lag()
        .without_tag_limit()
        .without_in_place_checks()
        .without_value_size_limit()
        .without_kms_key_check()
        .without_undecryptable()
        .without_stale_tag_index()
        .without_recreate_window()
        .without_unlabeled_versions()
        .without_scan_filter();
    assert_eq!(every, AwsBehaviour::off());
    assert_eq!(AwsBehaviour::off().settle_time(), Duration::ZERO);
    let tuned = AwsBehaviour::off().with_empty_page_rate(0.5).with_seed(7).with_lag(Duration::from_secs(1));
    assert!(tuned.empty_pages && tuned.listing_lag);
    assert_eq!((tuned.empty_page_rate, tuned.seed, tuned.settle_time()), (0.5, 7, Duration::from_millis(1200)));
}

/// Behaviour 10: a DescribeSecret answer without the versions that carry no staging label.
fn without_unlabeled_versions(response: Response) -> Response {
    let mut body = response.json();
    let Some(versions) = body.get_mut("VersionIdsToStages").and_then(Value::as_object_mut) else { return response };
    versions.retain(|_, stages| stages.as_array().is_some_and(|s| !s.is_empty()));
    response.with_json(&body)
}
