//! A fault-injecting proxy on 127.0.0.1 between the SDK and the emulator. Each request is forwarded to
//! the emulator unless a fixed rule (`Rule::fail`) or a random fault (`Fault` at a rate) applies:
//! AWS errors (`ThrottlingException`, `TooManyUpdates`: HTTP 400 awsJson), HTTP 500 and 503, a
//! connection reset before forwarding, a reset after forwarding (the write happened, the response is
//! lost), and added latency. Random faults are deterministic: whether a request fails depends only on
//! the seed, its operation, region and body (with the test's random name prefix masked), and how many
//! times that same request was seen before — not on timing. Which requests a run makes still depends
//! on timing (the SDK's retry quota, connection reuse), so totals vary a little from run to run.
//!
//! A request that gets through the fixed rules and random faults then meets the AWS-behaviour layer
//! (`aws_behaviour.rs`, on by default): it answers, alters or checks the request the way AWS would where
//! the emulator is kinder (empty listing pages, listing lag, tag and size limits, type changes, KMS keys).

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::aws_behaviour::{AwsBehaviour, LayerState};

/// Fail `operation` (the X-Amz-Target suffix) with `code`, when the body contains `body_contains`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub operation: &'static str,
    pub code: &'static str,
    pub body_contains: Option<&'static str>,
}

impl Rule {
    pub fn fail(operation: &'static str, code: &'static str) -> Self {
        Self { operation, code, body_contains: None }
    }

    pub fn when_body_contains(self, needle: &'static str) -> Self {
        Self { body_contains: Some(needle), ..self }
    }
}

/// What a random fault does to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    Throttling,
    TooManyUpdates,
    Http500,
    Http503,
    /// The connection is reset before the request reaches the emulator.
    Reset,
    /// The request reaches the emulator, then the connection is reset: the response is lost.
    LostResponse,
}

/// Random faults: each (operations, fault, rate) applies to the listed operations (empty: all).
/// Latency is added to a share of requests, independently of the faults.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub seed: u64,
    pub rates: Vec<(&'static [&'static str], Fault, f64)>,
    pub latency: Option<(Duration, f64)>,
    /// The regions the latency applies to (empty: every region), as a region far away would be slower.
    pub latency_regions: Vec<String>,
}

impl Faults {
    pub fn seeded(seed: u64) -> Self {
        Self { seed, ..Self::default() }
    }

    /// `fault` on `rate` of the requests for `operations` (empty: every operation).
    pub fn with(mut self, operations: &'static [&'static str], fault: Fault, rate: f64) -> Self {
        self.rates.push((operations, fault, rate));
        self
    }

    pub fn with_latency(mut self, delay: Duration, rate: f64) -> Self {
        self.latency = Some((delay, rate));
        self
    }

    /// The fault for the `nth` sighting of this exact request, if any.
    fn pick(&self, operation: &str, region: &str, body: &[u8], nth: u64) -> Option<Fault> {
        let mut draw = unit(self.seed, operation, region, body, nth, 0);
        for (ops, fault, rate) in &self.rates {
            if ops.is_empty() || ops.iter().any(|o| o.eq_ignore_ascii_case(operation)) {
                if draw < *rate {
                    return Some(*fault);
                }
                draw -= rate;
            }
        }
        None
    }

    /// The latency only for requests signed for one of `regions`.
    pub fn in_regions(mut self, regions: &[&str]) -> Self {
        self.latency_regions = regions.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    fn delay(&self, operation: &str, region: &str, body: &[u8], nth: u64) -> Option<Duration> {
        let (delay, rate) = self.latency?;
        if !self.latency_regions.is_empty() && !self.latency_regions.iter().any(|r| r == region) {
            return None;
        }
        (unit(self.seed, operation, region, body, nth, 1) < rate).then_some(delay)
    }
}

/// A number in [0, 1) from the request's identity (std's SipHash with fixed keys: stable across runs).
pub(crate) fn unit(seed: u64, operation: &str, region: &str, body: &[u8], nth: u64, salt: u8) -> f64 {
    let mut h = DefaultHasher::new();
    (seed, operation, region, masked(body), nth, salt).hash(&mut h);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The body with what is random per run masked: each test prefix (`/t` + 16 hex digits) and canary
/// (`canary-` + 16 hex digits) becomes `/t*` or `canary-*`.
fn masked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let lead = [&b"/t"[..], b"canary-"].into_iter().find(|lead| body[i..].starts_with(lead));
        let random = lead.filter(|lead| {
            body.get(i + lead.len()..i + lead.len() + 16).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        });
        match random {
            Some(lead) => {
                out.extend_from_slice(lead);
                out.push(b'*');
                i += lead.len() + 16;
            }
            None => {
                out.push(body[i]);
                i += 1;
            }
        }
    }
    out
}

#[test]
fn random_prefixes_and_canaries_are_masked() {
    let body = br#"{"Name":"/t0123456789abcdef/p1","Value":"canary-fedcba9876543210-3","Path":"/tmp"}"#;
    assert_eq!(masked(body), br#"{"Name":"/t*/p1","Value":"canary-*-3","Path":"/tmp"}"#.to_vec());
}

/// Per operation: what the proxy saw and did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Requests received.
    pub seen: u64,
    /// Answered with an injected error or reset without reaching the emulator.
    pub failed: u64,
    /// Reached the emulator and got a 2xx answer (for write operations: writes that happened).
    pub succeeded: u64,
    /// Reached the emulator, then the response was dropped.
    pub lost: u64,
    /// Answered by the AWS-behaviour layer itself: an injected empty page, or an AWS error the emulator
    /// would not raise (the request's own write, if any, did not happen).
    pub emulated: u64,
}

#[derive(Default)]
struct State {
    tallies: BTreeMap<String, Tally>,
    /// How many times each exact request (operation, region, body hash) was seen.
    sightings: BTreeMap<(String, String, u64), u64>,
    injected: BTreeMap<Fault, u64>,
    /// Per operation, the top-level JSON field names of each request (names only, never values).
    fields: BTreeMap<String, Vec<Vec<String>>>,
    /// Per region, when each request arrived and when its answer (or reset) went out.
    spans: BTreeMap<String, Vec<(Instant, Instant)>>,
}

pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
    behaviour: Arc<AwsBehaviour>,
    layer: Arc<LayerState>,
}

/// One HTTP/1.1 request as the client sent it.
pub(crate) struct Request {
    /// The request line and header lines, each with its CRLF.
    pub head: Vec<String>,
    pub body: Vec<u8>,
    /// The X-Amz-Target prefix: `AmazonSSM`, `TrentService` (KMS); `query` for the query protocol (STS).
    pub service: String,
    /// The X-Amz-Target suffix (`PutParameter`), or the query protocol's `Action` (`AssumeRole`).
    pub operation: String,
    /// From the SigV4 credential scope.
    pub region: String,
}

/// One HTTP/1.1 response.
pub(crate) struct Response {
    pub status: u16,
    /// The status line and header lines, each with its CRLF.
    pub head: Vec<String>,
    pub body: Vec<u8>,
}

impl Response {
    /// The wire bytes, with the Content-Length of the (possibly rewritten) body and no Connection header.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for line in &self.head {
            let lower = line.to_ascii_lowercase();
            if !lower.starts_with("connection:") && !lower.starts_with("content-length:") {
                out.extend_from_slice(line.as_bytes());
            }
        }
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", self.body.len()).as_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }

    /// The same response with `body` in place of its own.
    pub fn with_json(self, body: &serde_json::Value) -> Self {
        Self { body: serde_json::to_vec(body).unwrap(), ..self }
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        head.push(line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

pub(crate) fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().find_map(|l| {
        let (n, value) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

impl Request {
    fn parse(head: Vec<String>, body: Vec<u8>) -> Self {
        let target = header(&head, "x-amz-target").unwrap_or_default();
        let (service, operation) = match target.rsplit_once('.') {
            Some((service, operation)) => (service.to_owned(), operation.to_owned()),
            // The query protocol (STS): `Action=AssumeRole&Version=...` in a form body.
            None => match query_action(&body) {
                Some(action) => ("query".to_owned(), action),
                None => (String::new(), target.to_owned()),
            },
        };
        // SigV4: `Credential=AKID/20261121/us-east-1/ssm/aws4_request`.
        let region = header(&head, "authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(2))
            .unwrap_or_default()
            .to_owned();
        Self { head, body, service, operation, region }
    }
}

impl FaultProxy {
    /// Only fixed rules, then AWS's behaviour (all on; `AwsBehaviour::from_env`).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> Self {
        Self::with_faults(upstream, rules, Faults::default())
    }

    /// Fixed rules first, then random faults, then AWS's behaviour (all on; `AwsBehaviour::from_env`).
    pub fn with_faults(upstream: &str, rules: Vec<Rule>, faults: Faults) -> Self {
        Self::with_behaviour(upstream, rules, faults, AwsBehaviour::from_env())
    }

    /// No faults: only AWS's behaviour as `behaviour` switches it.
    pub fn aws(upstream: &str, behaviour: AwsBehaviour) -> Self {
        Self::with_behaviour(upstream, vec![], Faults::default(), behaviour)
    }

    /// Fixed rules first, then random faults, then the AWS-behaviour layer.
    pub fn with_behaviour(upstream: &str, rules: Vec<Rule>, faults: Faults, behaviour: AwsBehaviour) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let behaviour = Arc::new(behaviour);
        let layer = Arc::new(LayerState::default());
        let shared = state.clone();
        let config = Arc::new((rules, faults, behaviour.clone(), layer.clone()));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let (upstream, config, shared) = (upstream.clone(), config.clone(), shared.clone());
                std::thread::spawn(move || {
                    let (rules, faults, behaviour, layer) = &*config;
                    serve(client, &upstream, rules, faults, (behaviour, layer), &shared)
                });
            }
        });
        Self { url, state, behaviour, layer }
    }

    /// What the AWS-behaviour layer of this proxy does.
    pub fn behaviour(&self) -> &AwsBehaviour {
        &self.behaviour
    }

    /// Empty DescribeParameters pages the layer injected in `region` (AWS's cost, not the caller's).
    pub fn empty_pages(&self, region: &str) -> u64 {
        self.layer.empty_pages(region)
    }

    /// Empty DescribeParameters pages the layer injected, all regions.
    pub fn empty_pages_total(&self) -> u64 {
        self.layer.empty_pages_total()
    }

    /// Creates refused because the name was deleted a moment ago (behaviour 9).
    pub fn recreates_refused(&self) -> u64 {
        self.layer.recreates_refused()
    }

    /// From now on, reading `name` with decryption fails as on AWS when its KMS key is disabled or its
    /// key policy denies the caller (behaviour 7).
    pub fn undecryptable(&self, name: &str) {
        self.layer.undecryptable(name);
    }

    pub fn tally(&self, operation: &str) -> Tally {
        self.state.lock().unwrap().tallies.get(operation).copied().unwrap_or_default()
    }

    pub fn seen(&self, operation: &str) -> u64 {
        self.tally(operation).seen
    }

    pub fn failed(&self, operation: &str) -> u64 {
        self.tally(operation).failed
    }

    /// Sum of a field over operations.
    pub fn sum(&self, operations: &[&str], field: impl Fn(&Tally) -> u64) -> u64 {
        operations.iter().map(|op| field(&self.tally(op))).sum()
    }

    /// How many of each random fault were injected.
    pub fn injected(&self) -> BTreeMap<Fault, u64> {
        self.state.lock().unwrap().injected.clone()
    }

    /// How many `operation` requests carried the top-level field `field` (e.g. PutParameter's `Policies`).
    pub fn requests_with_field(&self, operation: &str, field: &str) -> usize {
        let s = self.state.lock().unwrap();
        s.fields.get(operation).map_or(0, |all| all.iter().filter(|keys| keys.iter().any(|k| k == field)).count())
    }

    pub fn requests(&self) -> u64 {
        self.state.lock().unwrap().tallies.values().map(|t| t.seen).sum()
    }

    /// The requests seen in `region` as (arrived, answered) instants, in the order they were answered.
    pub fn spans(&self, region: &str) -> Vec<(Instant, Instant)> {
        self.state.lock().unwrap().spans.get(region).cloned().unwrap_or_default()
    }

    /// How many round trips deep `region`'s requests went: the longest chain of requests each of which
    /// arrived after the one before it was answered. Greedy by end time finds it (interval scheduling):
    /// requests that overlap count once, requests made one after the other each count.
    pub fn depth(&self, region: &str) -> usize {
        depth_of(self.spans(region))
    }

    /// Forget the spans recorded so far (to measure one step of a test).
    pub fn clear_spans(&self) {
        self.state.lock().unwrap().spans.clear();
    }
}

/// The longest chain of intervals each starting after the previous one ended.
fn depth_of(mut spans: Vec<(Instant, Instant)>) -> usize {
    spans.sort_by_key(|&(_, end)| end);
    let mut last_end: Option<Instant> = None;
    let mut depth = 0;
    for (start, end) in spans {
        if last_end.is_none_or(|last| start > last) {
            depth += 1;
            last_end = Some(end);
        }
    }
    depth
}

#[test]
fn depth_counts_chained_requests_once_each_and_overlapping_ones_once() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    assert_eq!(depth_of(vec![]), 0);
    // Three at once, then one after them: two deep.
    assert_eq!(depth_of(vec![(at(0), at(100)), (at(1), at(101)), (at(2), at(102)), (at(103), at(203))]), 2);
    // Three one after the other: three deep.
    assert_eq!(depth_of(vec![(at(0), at(100)), (at(101), at(201)), (at(202), at(302))]), 3);
    // A long request beside two chained short ones: two deep.
    assert_eq!(depth_of(vec![(at(0), at(300)), (at(1), at(100)), (at(101), at(200))]), 2);
}

enum Decision {
    Error(u16, String),
    Reset,
    Forward { lose_response: bool },
}

fn serve(
    client: TcpStream,
    upstream: &str,
    rules: &[Rule],
    faults: &Faults,
    (behaviour, layer): (&AwsBehaviour, &LayerState),
    state: &Mutex<State>,
) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut client = client;
    while let Some((head, body)) = read_message(&mut reader) {
        // The proxy's own question, not an AWS request: how deep each region's requests went since the last
        // time it was asked (then forgotten). For `make bench`, which runs the proxy as a program.
        if head.first().is_some_and(|line| line.starts_with("GET /__proxy/depths ")) {
            let depths: BTreeMap<String, usize> = {
                let mut s = state.lock().unwrap();
                let spans = std::mem::take(&mut s.spans);
                spans.into_iter().map(|(region, spans)| (region, depth_of(spans))).collect()
            };
            if client.write_all(&json_ok(&serde_json::json!(depths)).to_bytes()).is_err() {
                return;
            }
            continue;
        }
        let arrived = Instant::now();
        let request = Request::parse(head, body);
        let region = request.region.clone();
        let answered = |state: &Mutex<State>| {
            state.lock().unwrap().spans.entry(region.clone()).or_default().push((arrived, Instant::now()));
        };
        let (decision, delay) = decide(&request, rules, faults, state);
        if let Some(delay) = delay {
            std::thread::sleep(delay);
        }
        let op = request.operation.clone();
        let response = match decision {
            Decision::Error(status, code) if request.service == "query" => query_error(status, &code).to_bytes(),
            Decision::Error(status, code) => aws_error(status, &code, "injected").to_bytes(),
            Decision::Reset => {
                answered(state);
                return reset(client);
            }
            Decision::Forward { lose_response } => {
                // The AWS-behaviour layer forwards (perhaps altered), answers itself, or alters the answer.
                let reply = behaviour.serve(upstream, &request, layer);
                let mut s = state.lock().unwrap();
                let tally = s.tallies.entry(op).or_default();
                if lose_response {
                    tally.lost += 1;
                    drop(s);
                    answered(state);
                    return reset(client);
                }
                if reply.emulated {
                    tally.emulated += 1;
                } else {
                    tally.succeeded += u64::from((200..300).contains(&reply.response.status));
                }
                reply.response.to_bytes()
            }
        };
        // Answered once the answer is ready: the client can send its next request only after this.
        answered(state);
        if client.write_all(&response).is_err() {
            return;
        }
    }
}

fn decide(request: &Request, rules: &[Rule], faults: &Faults, state: &Mutex<State>) -> (Decision, Option<Duration>) {
    let text = String::from_utf8_lossy(&request.body);
    let rule = rules.iter().find(|r| {
        r.operation.eq_ignore_ascii_case(&request.operation) && r.body_contains.is_none_or(|n| text.contains(n))
    });
    let mut s = state.lock().unwrap();
    if let Ok(serde_json::Value::Object(body)) = serde_json::from_slice::<serde_json::Value>(&request.body) {
        s.fields.entry(request.operation.clone()).or_default().push(body.keys().cloned().collect());
    }
    let mut h = DefaultHasher::new();
    masked(&request.body).hash(&mut h);
    let nth = s.sightings.entry((request.operation.clone(), request.region.clone(), h.finish())).or_insert(0);
    let sighting = *nth;
    *nth += 1;
    let random = faults.pick(&request.operation, &request.region, &request.body, sighting);
    let delay = faults.delay(&request.operation, &request.region, &request.body, sighting);
    let decision = match (rule, random) {
        (Some(rule), _) => Decision::Error(400, rule.code.to_owned()),
        (None, Some(Fault::Throttling)) => Decision::Error(400, "ThrottlingException".into()),
        (None, Some(Fault::TooManyUpdates)) => Decision::Error(400, "TooManyUpdates".into()),
        (None, Some(Fault::Http500)) => Decision::Error(500, "InternalServerError".into()),
        (None, Some(Fault::Http503)) => Decision::Error(503, "ServiceUnavailable".into()),
        (None, Some(Fault::Reset)) => Decision::Reset,
        (None, Some(Fault::LostResponse)) => Decision::Forward { lose_response: true },
        (None, None) => Decision::Forward { lose_response: false },
    };
    if let (None, Some(fault)) = (rule, random) {
        *s.injected.entry(fault).or_default() += 1;
    }
    let tally = s.tallies.entry(request.operation.clone()).or_default();
    tally.seen += 1;
    tally.failed += u64::from(matches!(decision, Decision::Error(..) | Decision::Reset));
    (decision, delay)
}

/// An AWS error as awsJson 1.1 sends it: `{"__type": code, "message": message}`.
pub(crate) fn aws_error(status: u16, code: &str, message: &str) -> Response {
    let reason = match status {
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    let head = vec![
        format!("HTTP/1.1 {status} {reason}\r\n"),
        "content-type: application/x-amz-json-1.1\r\n".to_owned(),
        format!("x-amzn-errortype: {code}\r\n"),
    ];
    let body = serde_json::to_vec(&serde_json::json!({"__type": code, "message": message})).unwrap();
    Response { status, head, body }
}

/// An AWS error as the query protocol (STS) sends it: an XML `ErrorResponse`. AccessDenied is a 403.
pub(crate) fn query_error(status: u16, code: &str) -> Response {
    let status = if code.starts_with("AccessDenied") { 403 } else { status };
    let reason = match status {
        403 => "Forbidden",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    let head = vec![format!("HTTP/1.1 {status} {reason}\r\n"), "content-type: text/xml\r\n".to_owned()];
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>injected</Message></Error><RequestId>injected</RequestId></ErrorResponse>"
    );
    Response { status, head, body: body.into_bytes() }
}

/// The `Action` of a query-protocol form body, if it is one.
fn query_action(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| pair.strip_prefix("Action=")).map(str::to_owned)
}

/// A 200 awsJson answer with `body`.
pub(crate) fn json_ok(body: &serde_json::Value) -> Response {
    let head = vec!["HTTP/1.1 200 OK\r\n".to_owned(), "content-type: application/x-amz-json-1.1\r\n".to_owned()];
    Response { status: 200, head, body: serde_json::to_vec(body).unwrap() }
}

/// Close with RST (SO_LINGER 0), as a dropped connection looks to the client.
fn reset(client: TcpStream) {
    let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
    drop(client);
}

/// Send one request (`head` as the client sent it, its Content-Length replaced by `body`'s) to the
/// emulator on a fresh connection, and read its answer.
pub(crate) fn send(upstream: &str, head: &[String], body: &[u8]) -> Response {
    let mut up = TcpStream::connect(upstream).unwrap();
    let mut out = Vec::new();
    for line in head {
        let lower = line.to_ascii_lowercase();
        if !lower.starts_with("connection:") && !lower.starts_with("content-length:") {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out.extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    up.write_all(&out).unwrap();
    let mut reader = BufReader::new(up);
    let (head, body) = read_message(&mut reader).unwrap();
    let status = head.first().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    Response { status, head, body }
}

#[test]
fn latency_in_regions_holds_only_requests_signed_for_those_regions() {
    let faults = Faults::default().with_latency(Duration::from_millis(75), 1.0).in_regions(&["us-east-2"]);
    assert_eq!(faults.delay("GetParameter", "us-east-2", b"{}", 0), Some(Duration::from_millis(75)));
    assert_eq!(faults.delay("GetParameter", "us-east-1", b"{}", 0), None);
    let everywhere = Faults::default().with_latency(Duration::from_millis(75), 1.0);
    assert_eq!(everywhere.delay("GetParameter", "us-east-1", b"{}", 0), Some(Duration::from_millis(75)));
}
