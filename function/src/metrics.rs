//! CloudWatch metrics at zero API cost: lines in the Embedded Metric Format (EMF), written to the
//! Lambda's stdout next to the JSON logs; CloudWatch Logs extracts the metrics from them.
//!
//! Specification: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.
//! What these lines rely on: a line is one JSON object whose `_aws` member holds `Timestamp` (epoch
//! milliseconds) and `CloudWatchMetrics`, an array of directives (one line may hold several, each with
//! its own `Namespace`, `Dimensions` and `Metrics`); every dimension key and metric name is a member of
//! the root object; a dimension set holds at most 30 keys; a metric's value is a number or an array of
//! at most 100 numbers (more values → more lines).
//!
//! The schema (a dashboard and alarms are built on it: do not rename):
//! - namespace `SsmReplicator`; dimensions `FunctionName`, `Target` (`us-west-2` or
//!   `111111111111/us-west-2`), `Reason` (a reason code such as `kms-key-missing`);
//! - per target: `Replicated` (created, updated or deleted), `Unchanged`, `DriftRepaired` (of the
//!   replicated, those a full sync wrote: an event was missed or never came), `ReplicationLatency`
//!   (milliseconds from the source change, or from the full sync's start, to the result);
//! - per target and reason: `Failed`, and `FailedPermanently` (the same count unless the reason is
//!   `transient`; 0 then) under `FunctionName` alone, for the alarm on permanent failures.
//!
//! Bounded cardinality and no secrets: a line carries the function name, a target, a reason code, the
//! trigger kind and numbers — never a parameter name, value or description.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::domain::{Outcome, ParameterResult, Reason};

pub const NAMESPACE: &str = "SsmReplicator";

/// Most values one metric may carry in one EMF line.
pub const MAX_VALUES: usize = 100;

/// What caused the results (the `Trigger` dimension of outcome lines: the latency alarm watches events only,
/// since a full sync's latency counts from its start, and a long first sync would page on its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// A change event (native or CloudTrail).
    Event,
    /// A full sync (scheduled, manual or continued after a hand-off).
    FullSync,
    /// A manual `sync` command naming parameters.
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::FullSync => "full-sync",
            Self::Manual => "manual",
        }
    }
}

/// Where a result's latency is measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyOrigin {
    pub trigger: Trigger,
    /// Epoch milliseconds: the source change (the event's `time`) or the full sync's start.
    pub since_ms: u64,
}

#[derive(Debug, Default)]
struct TargetTally {
    replicated: u64,
    unchanged: u64,
    drift_repaired: u64,
    latencies: Vec<u64>,
}

/// Counts per target (and per target and reason for failures) until the next flush.
#[derive(Debug)]
pub struct Metrics {
    function: String,
    outcomes: BTreeMap<(Trigger, String), TargetTally>,
    failures: BTreeMap<(String, &'static str), (u64, bool)>,
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Metrics {
    /// `function`: the Lambda's name (`AWS_LAMBDA_FUNCTION_NAME`), the `FunctionName` dimension.
    pub fn new(function: impl Into<String>) -> Self {
        Self { function: function.into(), outcomes: BTreeMap::new(), failures: BTreeMap::new() }
    }

    /// Record a result produced now.
    pub fn record(&mut self, result: &ParameterResult, origin: LatencyOrigin) {
        self.record_at(result, origin, now_ms());
    }

    /// Record a result produced at `at_ms` (epoch milliseconds). A latency below zero (clock skew) is 0.
    pub fn record_at(&mut self, result: &ParameterResult, origin: LatencyOrigin, at_ms: u64) {
        for t in &result.targets {
            let target = t.target.to_string();
            match t.outcome {
                Outcome::Created | Outcome::Updated | Outcome::Deleted => {
                    let tally = self.outcomes.entry((origin.trigger, target)).or_default();
                    tally.replicated += 1;
                    if origin.trigger == Trigger::FullSync {
                        tally.drift_repaired += 1;
                    }
                    tally.latencies.push(at_ms.saturating_sub(origin.since_ms));
                }
                Outcome::Unchanged => self.outcomes.entry((origin.trigger, target)).or_default().unchanged += 1,
                Outcome::Failed => {
                    // Every failure carries a reason; "unknown" only guards the dimension's presence.
                    let reason = t.reason.map_or("unknown", Reason::as_str);
                    let permanent = t.reason != Some(Reason::Transient);
                    self.failures.entry((target, reason)).or_insert((0, permanent)).0 += 1;
                }
                // A secret's replica the service is still writing: counted once it is InSync.
                Outcome::Skipped | Outcome::Pending => {}
            }
        }
    }

    /// The EMF lines for everything recorded since the last flush, stamped `now_ms`; the counts restart.
    pub fn lines(&mut self, now_ms: u64) -> Vec<String> {
        let mut lines = Vec::new();
        for ((trigger, target), tally) in std::mem::take(&mut self.outcomes) {
            self.outcome_lines(now_ms, trigger, &target, tally, &mut lines);
        }
        for ((target, reason), (failed, permanent)) in std::mem::take(&mut self.failures) {
            lines.push(self.failure_line(now_ms, &target, reason, failed, if permanent { failed } else { 0 }));
        }
        lines
    }

    /// Write the lines (one JSON object per line) and restart the counts.
    pub fn flush(&mut self, out: &mut impl Write) -> io::Result<()> {
        for line in self.lines(now_ms()) {
            writeln!(out, "{line}")?;
        }
        out.flush()
    }

    fn outcome_lines(&self, now_ms: u64, trigger: Trigger, target: &str, tally: TargetTally, out: &mut Vec<String>) {
        let counts =
            [("Replicated", tally.replicated), ("Unchanged", tally.unchanged), ("DriftRepaired", tally.drift_repaired)];
        let mut chunks = tally.latencies.chunks(MAX_VALUES);
        let first = chunks.next();
        if counts.iter().all(|(_, n)| *n == 0) && first.is_none() {
            return;
        }
        // The first line carries the counts (and up to 100 latencies); further lines only latencies.
        let mut line = |with_counts: bool, latencies: Option<&[u64]>| {
            let mut definitions = Vec::new();
            let mut members = Map::new();
            if with_counts {
                for (name, n) in counts {
                    definitions.push(json!({"Name": name, "Unit": "Count"}));
                    members.insert(name.into(), json!(n));
                }
            }
            if let Some(values) = latencies {
                definitions.push(json!({"Name": "ReplicationLatency", "Unit": "Milliseconds"}));
                members.insert("ReplicationLatency".into(), json!(values));
            }
            members.insert("Target".into(), json!(target));
            members.insert("Trigger".into(), json!(trigger.as_str()));
            let directive = json!({
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"], ["FunctionName", "Target"], ["FunctionName", "Trigger"]],
                "Metrics": definitions,
            });
            out.push(self.document(now_ms, vec![directive], members));
        };
        line(true, first);
        for rest in chunks {
            line(false, Some(rest));
        }
    }

    fn failure_line(&self, now_ms: u64, target: &str, reason: &str, failed: u64, permanently: u64) -> String {
        let directives = vec![
            json!({
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"], ["FunctionName", "Reason"]],
                "Metrics": [{"Name": "Failed", "Unit": "Count"}],
            }),
            json!({
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": [{"Name": "FailedPermanently", "Unit": "Count"}],
            }),
        ];
        let mut members = Map::new();
        members.insert("Target".into(), json!(target));
        members.insert("Reason".into(), json!(reason));
        members.insert("Failed".into(), json!(failed));
        members.insert("FailedPermanently".into(), json!(permanently));
        self.document(now_ms, directives, members)
    }

    fn document(&self, now_ms: u64, directives: Vec<Value>, mut members: Map<String, Value>) -> String {
        members.insert("_aws".into(), json!({"Timestamp": now_ms, "CloudWatchMetrics": directives}));
        members.insert("FunctionName".into(), json!(self.function));
        Value::Object(members).to_string()
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
