//! What the CLI prints: one row per parameter and target as results arrive (a table for people, JSON
//! lines for machines), then a summary. Values are never printed, SecureString or not.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::domain::{Field, Kind, Outcome, ParameterResult, Reason, TargetResult};

/// How a row is labelled: the outcome (`sync`, `replicate`) or the drift status (`diff`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels {
    Outcomes,
    Drift,
}

/// The drift status of a planned (not written) result.
pub fn drift_status(t: &TargetResult) -> &'static str {
    match (t.outcome, t.reason) {
        (Outcome::Created, _) => "missing",
        (Outcome::Updated, _) => "drifted",
        (Outcome::Unchanged, _) => "in-sync",
        (Outcome::Deleted, _) => "orphan",
        (Outcome::Skipped, Some(Reason::Unmanaged | Reason::OwnedByOtherSource)) => "unmanaged",
        (Outcome::Skipped, _) => "skipped",
        (Outcome::Pending, _) => "pending",
        (Outcome::Failed, _) => "failed",
    }
}

/// Statuses that fail `diff --check`.
pub const DRIFT: &[&str] = &["missing", "drifted", "orphan"];

#[derive(Serialize)]
struct Row<'a> {
    /// `parameter` or `secret` (with --secrets).
    kind: &'static str,
    name: &'a str,
    /// The target's account: another account's, or this one's for a plain region.
    account: &'a str,
    region: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "<[Field]>::is_empty")]
    fields: &'a [Field],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

pub struct Printer {
    labels: Labels,
    json: bool,
    show_quiet: bool,
    /// The replicator's own account (the account of plain-region targets).
    own_account: String,
    /// The table shows an ACCOUNT column (some target is in another account).
    account_column: bool,
    progress: Option<ProgressBar>,
    pub counts: BTreeMap<&'static str, u64>,
    pub compared: u64,
}

impl Printer {
    pub fn new(labels: Labels, json: bool, show_quiet: bool, own_account: &str, account_column: bool) -> Self {
        let progress = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {pos} parameters compared ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        if !json && account_column {
            println!("{:<10} {:<12} {:<15} {:<50} DETAIL", "STATUS", "ACCOUNT", "REGION", "PARAMETER");
        } else if !json {
            println!("{:<10} {:<15} {:<50} DETAIL", "STATUS", "TARGET", "PARAMETER");
        }
        Self {
            labels,
            json,
            show_quiet,
            own_account: own_account.to_owned(),
            account_column,
            progress,
            counts: BTreeMap::new(),
            compared: 0,
        }
    }

    pub fn result(&mut self, result: &ParameterResult) {
        self.compared += 1;
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        for t in &result.targets {
            let status = match self.labels {
                Labels::Outcomes => t.outcome.as_str(),
                Labels::Drift => drift_status(t),
            };
            *self.counts.entry(status).or_default() += 1;
            let quiet = matches!(status, "in-sync" | "unchanged" | "skipped");
            if quiet && !self.show_quiet && !self.json {
                continue;
            }
            let row = Row {
                kind: result.kind.as_str(),
                name: result.name.as_str(),
                account: t.target.account_or(&self.own_account),
                region: &t.target.region,
                status,
                reason: t.reason.map(Reason::as_str),
                fields: &t.changed,
                error: t.error.as_deref(),
            };
            // Secrets are marked in the name column, so parameter-only tables keep their shape.
            let shown = match result.kind {
                Kind::Parameter => result.name.to_string(),
                Kind::Secret => format!("secret:{}", result.name),
            };
            let line = if self.json {
                serde_json::to_string(&row).unwrap_or_default()
            } else if self.account_column {
                format!("{status:<10} {:<12} {:<15} {shown:<50} {}", row.account, row.region, detail(&row))
            } else {
                format!("{status:<10} {:<15} {shown:<50} {}", row.region, detail(&row))
            };
            self.print(&line);
        }
    }

    /// The closing summary; returns true when anything drifted (diff) or failed.
    pub fn finish(&mut self, api_calls: &BTreeMap<String, BTreeMap<String, u64>>, duration_ms: u64) {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        let drift = self.drift();
        if self.json {
            let summary = serde_json::json!({
                "summary": self.counts,
                "drift": drift,
                "parameters": self.compared,
                "api_calls": api_calls,
                "duration_ms": duration_ms,
            });
            println!("{summary}");
        } else {
            let counts: Vec<String> = self.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            let calls: u64 = api_calls.values().flat_map(|o| o.values()).sum();
            println!(
                "\n{} parameters: {}. {calls} API calls in {:.1} s.",
                self.compared,
                if counts.is_empty() { "nothing selected".to_owned() } else { counts.join(", ") },
                duration_ms as f64 / 1000.0
            );
        }
    }

    pub fn drift(&self) -> bool {
        DRIFT.iter().any(|s| self.counts.get(s).copied().unwrap_or(0) > 0)
    }

    pub fn failed(&self) -> bool {
        self.counts.get("failed").copied().unwrap_or(0) > 0
    }

    fn print(&self, line: &str) {
        let out = || {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
        };
        match &self.progress {
            Some(bar) => bar.suspend(out),
            None => out(),
        }
    }
}

fn detail(row: &Row<'_>) -> String {
    let mut parts = Vec::new();
    if let Some(r) = row.reason {
        parts.push(r.to_owned());
    }
    if !row.fields.is_empty() {
        let fields: Vec<String> = row
            .fields
            .iter()
            .map(|f| serde_json::to_value(f).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
            .collect();
        parts.push(format!("fields: {}", fields.join(", ")));
    }
    if let Some(e) = row.error {
        parts.push(e.to_owned());
    }
    parts.join("; ")
}
