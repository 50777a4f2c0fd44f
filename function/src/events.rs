//! Events and manual commands → what to do. EventBridge envelopes use `aws_lambda_events`.
//!
//! Accepted (DESIGN.md §4): native "Parameter Store Change", CloudTrail "AWS API Call via CloudTrail" for
//! SSM parameter calls, Secrets Manager's CloudTrail calls and its `RotationSucceeded` service event
//! (SECRETS=true), "Scheduled Event", and the manual commands `{"action":"full-sync"}` and
//! `{"action":"sync","names":[...]}`. A well-formed event that is not about a parameter (a tag change on
//! another SSM resource type) or that reports a failed write is `Command::Ignore` with its reason; anything
//! malformed or foreign is an `EventError` naming what is wrong.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::config::clip;
use crate::domain::secret::SecretId;
use crate::domain::{Cursor, NameError, ParameterName, Reason};

/// Most names one manual `sync` command may carry.
pub const MAX_NAMES: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Re-read these parameters at the source and bring every target in line.
    Sync(Vec<ParameterName>),
    /// Compare the whole selection, from the start or from where a previous invocation handed on.
    FullSync(Cursor),
    /// Re-describe these secrets at the source and bring every target in line (SECRETS=true).
    SyncSecrets(Vec<SecretId>),
    /// Nothing to replicate (e.g. the source write itself failed).
    Ignore(Reason),
}

/// A command and what caused it (for reports and logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub trigger: String,
    pub command: Command,
    /// Epoch milliseconds: when the source changed (an EventBridge event's `time`), or when the full-sync
    /// chain started (`started_ms` in a hand-off payload). Latency metrics are measured from it.
    pub since_ms: Option<u64>,
}

/// Where events must come from: the source region and this account.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub region: &'a str,
    pub account: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not valid JSON: {0}")]
    Json(String),
    #[error("event is not a JSON object")]
    NotAnObject,
    #[error("event is neither an EventBridge event (no 'detail-type') nor a manual command (no 'action')")]
    UnknownShape,
    #[error("EventBridge envelope is malformed: {0}")]
    Envelope(String),
    #[error("detail-type '{0}' is not handled (expected Parameter Store Change, AWS API Call via CloudTrail, AWS Service Event via CloudTrail or Scheduled Event)")]
    UnsupportedDetailType(String),
    #[error("source '{got}' does not match detail-type '{detail_type}' (expected '{expected}')")]
    WrongSource { detail_type: String, expected: &'static str, got: String },
    #[error("event comes from region '{got}', but this replicator's source region is '{expected}'")]
    ForeignRegion { expected: String, got: String },
    #[error("event comes from account '{got}', but this replicator serves account '{expected}'")]
    ForeignAccount { expected: String, got: String },
    #[error("missing field '{0}'")]
    Missing(&'static str),
    #[error("field '{field}' must be {expected}")]
    WrongType { field: &'static str, expected: &'static str },
    #[error("field '{field}' is not a valid parameter name: it {error}")]
    InvalidName { field: &'static str, error: NameError },
    #[error("detail.operation '{0}' is not a parameter change this replicator handles")]
    UnsupportedOperation(String),
    #[error("detail.eventName '{0}' is not an SSM parameter call this replicator handles")]
    UnsupportedEventName(String),
    #[error("detail.eventName '{0}' is not a Secrets Manager call or event this replicator handles")]
    UnsupportedSecretEvent(String),
    #[error("detail.eventSource '{0}' is not ssm.amazonaws.com (nor secretsmanager.amazonaws.com for aws.secretsmanager events)")]
    NotSsm(String),
    #[error("the event's secret is not a secret name or ARN: {0}")]
    InvalidSecret(String),
    #[error("manual command is malformed: {0}")]
    Manual(String),
    #[error("action '{0}' is not a manual command (expected 'sync' or 'full-sync')")]
    UnknownAction(String),
    #[error("'names' must list between 1 and {MAX_NAMES} parameter names (got {0})")]
    NameCount(usize),
}

/// Parse raw JSON text (as delivered by the runtime, or from a file).
pub fn parse_str(raw: &str, origin: Origin<'_>) -> Result<Parsed, EventError> {
    let value: Value = serde_json::from_str(raw).map_err(|e| EventError::Json(redact_serde(&e)))?;
    parse(&value, origin)
}

pub fn parse(event: &Value, origin: Origin<'_>) -> Result<Parsed, EventError> {
    let obj = event.as_object().ok_or(EventError::NotAnObject)?;
    if obj.contains_key("action") {
        return manual(event);
    }
    if !obj.contains_key("detail-type") {
        return Err(EventError::UnknownShape);
    }
    let envelope: EventBridgeEvent<Value> = from_value(event).map_err(EventError::Envelope)?;
    let (expected_source, kind) = match envelope.detail_type.as_str() {
        "Parameter Store Change" => ("aws.ssm", Kind::Native),
        "AWS API Call via CloudTrail" if envelope.source == SECRETS_SOURCE => (SECRETS_SOURCE, Kind::Secrets),
        "AWS API Call via CloudTrail" => ("aws.ssm", Kind::CloudTrail),
        "AWS Service Event via CloudTrail" => (SECRETS_SOURCE, Kind::Secrets),
        "Scheduled Event" => ("aws.events", Kind::Schedule),
        other => return Err(EventError::UnsupportedDetailType(clip(other))),
    };
    if envelope.source != expected_source {
        return Err(EventError::WrongSource {
            detail_type: envelope.detail_type.clone(),
            expected: expected_source,
            got: clip(&envelope.source),
        });
    }
    check_origin(&envelope, origin)?;
    let since_ms = envelope.time.and_then(|t| u64::try_from(t.timestamp_millis()).ok());
    let parsed = match kind {
        Kind::Native => native(&envelope.detail)?,
        Kind::CloudTrail => cloudtrail(&envelope.detail)?,
        Kind::Secrets => secrets_trail(&envelope.detail, origin)?,
        // A full sync is measured from its own start (the invocation's), not from the schedule's tick.
        Kind::Schedule => return Ok(parsed_as("schedule", Command::FullSync(Cursor::start()))),
    };
    Ok(Parsed { since_ms, ..parsed })
}

fn parsed_as(trigger: impl Into<String>, command: Command) -> Parsed {
    Parsed { trigger: trigger.into(), command, since_ms: None }
}

/// The EventBridge source of Secrets Manager's CloudTrail events.
const SECRETS_SOURCE: &str = "aws.secretsmanager";

/// Secrets Manager calls that change what a replica must be (their CloudTrail events).
const SECRET_CALLS: &[&str] = &[
    "CreateSecret",
    "PutSecretValue",
    "UpdateSecret",
    "UpdateSecretVersionStage",
    "TagResource",
    "UntagResource",
    "DeleteSecret",
    "RestoreSecret",
    "ReplicateSecretToRegions",
    "RemoveRegionsFromReplication",
];

enum Kind {
    Native,
    CloudTrail,
    Secrets,
    Schedule,
}

fn check_origin(envelope: &EventBridgeEvent<Value>, origin: Origin<'_>) -> Result<(), EventError> {
    let region = envelope.region.as_deref().ok_or(EventError::Missing("region"))?;
    if region != origin.region {
        return Err(EventError::ForeignRegion { expected: origin.region.into(), got: clip(region) });
    }
    let account = envelope.account.as_deref().ok_or(EventError::Missing("account"))?;
    if account != origin.account {
        return Err(EventError::ForeignAccount { expected: origin.account.into(), got: clip(account) });
    }
    Ok(())
}

fn native(detail: &Value) -> Result<Parsed, EventError> {
    let operation = string(detail, "operation", "detail.operation")?;
    if !matches!(operation, "Create" | "Update" | "Delete" | "LabelParameterVersion") {
        return Err(EventError::UnsupportedOperation(clip(operation)));
    }
    let trigger = format!("parameter-store-change:{operation}");
    let name = name(detail, "name", "detail.name")?;
    if detail.get("exception").is_some_and(|e| !e.is_null()) {
        return Ok(parsed_as(trigger, Command::Ignore(Reason::SourceWriteFailed)));
    }
    Ok(parsed_as(trigger, Command::Sync(vec![name])))
}

fn cloudtrail(detail: &Value) -> Result<Parsed, EventError> {
    let source = string(detail, "eventSource", "detail.eventSource")?;
    if source != "ssm.amazonaws.com" {
        return Err(EventError::NotSsm(clip(source)));
    }
    let event_name = string(detail, "eventName", "detail.eventName")?;
    let trigger = format!("cloudtrail:{event_name}");
    if detail.get("errorCode").is_some_and(|e| !e.is_null()) {
        return Ok(parsed_as(trigger, Command::Ignore(Reason::SourceWriteFailed)));
    }
    let request = match detail.get("requestParameters") {
        None | Some(Value::Null) => return Err(EventError::Missing("detail.requestParameters")),
        Some(r) if !r.is_object() => {
            return Err(EventError::WrongType { field: "detail.requestParameters", expected: "an object" })
        }
        Some(r) => r,
    };
    let names = match event_name {
        "PutParameter" | "DeleteParameter" | "LabelParameterVersion" | "UnlabelParameterVersion" => {
            vec![name(request, "name", "detail.requestParameters.name")?]
        }
        "DeleteParameters" => names(request.get("names"), "detail.requestParameters.names")?,
        "AddTagsToResource" | "RemoveTagsFromResource" => {
            let kind = string(request, "resourceType", "detail.requestParameters.resourceType")?;
            if kind != "Parameter" {
                // A tag change on a document, instance, maintenance window, OpsItem…: well formed, just
                // not ours. Ignored, not an error: an error would be retried and dead-lettered.
                return Ok(parsed_as(trigger, Command::Ignore(Reason::NotAParameter)));
            }
            let id = string(request, "resourceId", "detail.requestParameters.resourceId")?;
            vec![parse_name(name_from_resource_id(id), "detail.requestParameters.resourceId")?]
        }
        other => return Err(EventError::UnsupportedEventName(clip(other))),
    };
    Ok(parsed_as(trigger, Command::Sync(names)))
}

/// A Secrets Manager event from CloudTrail: an API call (the secret in `responseElements.arn`, else
/// `requestParameters.secretId`, or `requestParameters.name` for CreateSecret) or the rotation service
/// event `RotationSucceeded` (the secret's ARN in `additionalEventData.SecretId`). Values are never in
/// these events: CloudTrail does not log SecretString or SecretBinary.
/// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html>
/// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html>
fn secrets_trail(detail: &Value, origin: Origin<'_>) -> Result<Parsed, EventError> {
    let source = string(detail, "eventSource", "detail.eventSource")?;
    if source != "secretsmanager.amazonaws.com" {
        return Err(EventError::NotSsm(clip(source)));
    }
    let event_name = string(detail, "eventName", "detail.eventName")?;
    let trigger = format!("cloudtrail:{event_name}");
    if detail.get("errorCode").is_some_and(|e| !e.is_null()) {
        return Ok(parsed_as(trigger, Command::Ignore(Reason::SourceWriteFailed)));
    }
    let raw = if event_name == "RotationSucceeded" {
        // The blog example carries it in additionalEventData; some trails show serviceEventDetails.
        [("additionalEventData", "SecretId"), ("serviceEventDetails", "secretId")]
            .iter()
            .find_map(|(outer, key)| detail.get(*outer).and_then(|o| o.get(*key)).and_then(Value::as_str))
            .ok_or(EventError::Missing("detail.additionalEventData.SecretId"))?
    } else if SECRET_CALLS.contains(&event_name) {
        let response = detail.get("responseElements").filter(|r| r.is_object());
        let arn = response.and_then(|r| ["arn", "aRN", "ARN"].iter().find_map(|k| r.get(*k).and_then(Value::as_str)));
        match arn {
            Some(arn) => arn,
            None => {
                let request = detail
                    .get("requestParameters")
                    .filter(|r| r.is_object())
                    .ok_or(EventError::Missing("detail.requestParameters"))?;
                if event_name == "CreateSecret" {
                    string(request, "name", "detail.requestParameters.name")?
                } else {
                    string(request, "secretId", "detail.requestParameters.secretId")?
                }
            }
        }
    } else {
        return Err(EventError::UnsupportedSecretEvent(clip(event_name)));
    };
    let id = SecretId::parse(raw).map_err(|e| EventError::InvalidSecret(format!("'{}' {e}", clip(raw))))?;
    if let SecretId::Arn(arn) = &id {
        // arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-xxxxxx
        let mut parts = arn.split(':').skip(3);
        if (parts.next(), parts.next()) != (Some(origin.region), Some(origin.account)) {
            return Ok(parsed_as(trigger, Command::Ignore(Reason::ForeignSecret)));
        }
    }
    Ok(parsed_as(trigger, Command::SyncSecrets(vec![id])))
}

/// `{"action": "full-sync", "cursor": …, "started_ms": …}` (cursor and start only on a hand-off; payloads
/// handed on before `started_ms` existed are still accepted).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullSyncCommand {
    #[serde(rename = "action")]
    _action: String,
    #[serde(default)]
    cursor: Option<Cursor>,
    #[serde(default)]
    started_ms: Option<u64>,
}

/// `{"action": "sync", "names": [...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncCommand {
    #[serde(rename = "action")]
    _action: String,
    names: Value,
}

fn manual(event: &Value) -> Result<Parsed, EventError> {
    let action = event.get("action").and_then(Value::as_str);
    Ok(match action {
        Some("full-sync") => {
            let command: FullSyncCommand = from_value(event).map_err(EventError::Manual)?;
            let parsed = match command.cursor {
                None => parsed_as("manual:full-sync", Command::FullSync(Cursor::start())),
                Some(cursor) if !cursor.token_is_plausible() => {
                    return Err(EventError::WrongType { field: "cursor.token", expected: "a pagination token" })
                }
                Some(cursor) => parsed_as("full-sync:continued", Command::FullSync(cursor)),
            };
            Parsed { since_ms: command.started_ms, ..parsed }
        }
        Some("sync") => {
            let command: SyncCommand = from_value(event).map_err(EventError::Manual)?;
            let names = names(Some(&command.names), "names")?;
            parsed_as("manual:sync", Command::Sync(names))
        }
        Some(other) => return Err(EventError::UnknownAction(clip(other))),
        None => return Err(EventError::WrongType { field: "action", expected: "a string: 'sync' or 'full-sync'" }),
    })
}

fn string<'a>(obj: &'a Value, key: &str, field: &'static str) -> Result<&'a str, EventError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(EventError::Missing(field)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(EventError::WrongType { field, expected: "a string" }),
    }
}

fn name(obj: &Value, key: &str, field: &'static str) -> Result<ParameterName, EventError> {
    parse_name(string(obj, key, field)?, field)
}

fn parse_name(raw: &str, field: &'static str) -> Result<ParameterName, EventError> {
    ParameterName::parse(raw).map_err(|error| EventError::InvalidName { field, error })
}

fn names(raw: Option<&Value>, field: &'static str) -> Result<Vec<ParameterName>, EventError> {
    let list = match raw {
        None | Some(Value::Null) => return Err(EventError::Missing(field)),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(EventError::WrongType { field, expected: "an array of names" }),
    };
    if list.is_empty() || list.len() > MAX_NAMES {
        return Err(EventError::NameCount(list.len()));
    }
    let mut out: Vec<ParameterName> = Vec::with_capacity(list.len());
    for item in list {
        let raw = item.as_str().ok_or(EventError::WrongType { field, expected: "an array of strings" })?;
        let name = parse_name(raw, field)?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// Tag calls name a parameter by name or by ARN (`arn:aws:ssm:r:a:parameter/x/y` → `/x/y`).
fn name_from_resource_id(id: &str) -> &str {
    if !id.starts_with("arn:") {
        return id;
    }
    match id.split_once(":parameter") {
        // A single-level ARN (`parameter/x`) is the flat name `x`; deeper ones keep their leading slash.
        Some((_, rest)) if rest.matches('/').count() == 1 => &rest[1..],
        Some((_, rest)) => rest,
        None => id,
    }
}

/// Deserialize, naming the offending field in the error (`detail.name: invalid type …`).
fn from_value<T: serde::de::DeserializeOwned>(event: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(event).map_err(|e| {
        let path = e.path().to_string();
        let inner = redact_serde(e.inner());
        if path == "." {
            inner
        } else {
            format!("field '{path}': {inner}")
        }
    })
}

/// serde's messages quote offending string values; events may carry anything, so drop those quotes.
fn redact_serde(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let mut out = String::with_capacity(msg.len());
    let mut in_quote = false;
    for c in msg.chars() {
        match (c, in_quote) {
            ('"', false) => {
                in_quote = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                in_quote = false;
                out.push('"');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    clip_long(out)
}

fn clip_long(s: String) -> String {
    if s.chars().count() > 300 {
        s.chars().take(300).collect::<String>() + "…"
    } else {
        s
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
