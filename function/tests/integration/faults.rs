//! A fault-injecting proxy on 127.0.0.1 between the SDK and the emulator: requests are forwarded to the
//! emulator unless a rule matches, in which case the rule's AWS error is returned (HTTP 400, awsJson).
//! (The reliability issue grows this into rates, 5xx, resets and latency.)

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

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

pub struct FaultProxy {
    pub url: String,
    /// Operation → (requests seen, requests failed).
    counts: Arc<Mutex<BTreeMap<String, (u64, u64)>>>,
}

struct Request {
    head: Vec<String>,
    body: Vec<u8>,
    operation: String,
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

impl FaultProxy {
    pub fn start(upstream: &str, rules: Vec<Rule>) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let seen = counts.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let (upstream, rules, seen) = (upstream.clone(), rules.clone(), seen.clone());
                std::thread::spawn(move || serve(client, &upstream, &rules, &seen));
            }
        });
        Self { url, counts }
    }

    pub fn seen(&self, operation: &str) -> u64 {
        self.counts.lock().unwrap().get(operation).map_or(0, |c| c.0)
    }

    pub fn failed(&self, operation: &str) -> u64 {
        self.counts.lock().unwrap().get(operation).map_or(0, |c| c.1)
    }
}

fn serve(client: TcpStream, upstream: &str, rules: &[Rule], seen: &Mutex<BTreeMap<String, (u64, u64)>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut client = client;
    while let Some((head, body)) = read_message(&mut reader) {
        let operation = head
            .iter()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("x-amz-target").then(|| value.trim().to_owned())
            })
            .map(|t| t.rsplit('.').next().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let request = Request { head, body, operation };
        let text = String::from_utf8_lossy(&request.body);
        let rule = rules.iter().find(|r| {
            r.operation.eq_ignore_ascii_case(&request.operation) && r.body_contains.is_none_or(|n| text.contains(n))
        });
        let op = request.operation.clone();
        {
            let mut counts = seen.lock().unwrap();
            let entry = counts.entry(op).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += u64::from(rule.is_some());
        }
        let response = match rule {
            Some(rule) => {
                let payload = format!(r#"{{"__type":"{}","message":"injected"}}"#, rule.code);
                format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-errortype: {}\r\ncontent-length: {}\r\n\r\n{payload}",
                    rule.code,
                    payload.len()
                )
                .into_bytes()
            }
            None => forward(upstream, &request),
        };
        if client.write_all(&response).is_err() {
            return;
        }
    }
}

fn forward(upstream: &str, request: &Request) -> Vec<u8> {
    let mut up = TcpStream::connect(upstream).unwrap();
    let mut out = Vec::new();
    for line in &request.head {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&request.body);
    up.write_all(&out).unwrap();
    let mut reader = BufReader::new(up);
    let (head, body) = read_message(&mut reader).unwrap();
    let mut response = Vec::new();
    for line in head.iter().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")) {
        response.extend_from_slice(line.as_bytes());
    }
    response.extend_from_slice(b"\r\n");
    response.extend_from_slice(&body);
    response
}
