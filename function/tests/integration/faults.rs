//! A minimal SSM endpoint on 127.0.0.1 that answers with chosen errors, standing in for one region.
//! (The full fault-injection proxy comes with the reliability issue.)

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// Answers `X-Amz-Target: AmazonSSM.<Operation>` with the error code mapped for that operation
/// (HTTP 400, awsJson 1.1), and counts requests per operation.
pub struct FaultyEndpoint {
    pub url: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl FaultyEndpoint {
    pub fn start(errors: &[(&str, &str)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let errors: BTreeMap<String, String> = errors.iter().map(|(o, e)| (o.to_string(), e.to_string())).collect();
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let seen = counts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut operation, mut length) = (String::new(), 0usize);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("x-amz-target:") {
                        operation = v.trim().trim_start_matches("amazonssm.").to_owned();
                    } else if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let op = errors.keys().find(|k| k.to_ascii_lowercase() == operation).cloned().unwrap_or(operation);
                *seen.lock().unwrap().entry(op.clone()).or_insert(0) += 1;
                let code = errors.get(&op).map_or("InternalServerError", String::as_str);
                let payload = format!(r#"{{"__type":"{code}","message":"injected"}}"#);
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-errortype: {code}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{payload}",
                    payload.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Self { url, counts }
    }

    pub fn count(&self, operation: &str) -> u64 {
        self.counts.lock().unwrap().get(operation).copied().unwrap_or(0)
    }
}
