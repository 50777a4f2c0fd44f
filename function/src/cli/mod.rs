//! The `ssm-replicator` command line: the same engine as the Lambda, driven by flags.

mod args;
mod output;

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

pub use args::{Cli, Command, Options};
use output::{Labels, Printer};

use crate::aws::{self, ApiCalls};
use crate::domain::{Cursor, ParameterName, Report};

/// Parse arguments, run, and map the result to an exit status (errors are one line on stderr).
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    let sdk = aws::sdk_loader(cli.options.profile.as_deref(), cli.options.endpoint_url.as_deref()).load().await;
    let config = cli.options.config(sdk.region().map(|r| r.as_ref())).map_err(|e| e.to_string())?;
    let calls = ApiCalls::default();
    let dry_run = match &cli.command {
        Command::Sync { dry_run } | Command::Replicate { dry_run, .. } => *dry_run,
        Command::Diff { .. } => true,
    };
    let replicator = aws::connect(&sdk, config, &calls).await.map_err(|e| e.to_string())?.with_dry_run(dry_run);
    let started = Instant::now();
    let before = calls.snapshot();
    let json = cli.options.json;

    let (labels, show_quiet, check) = match &cli.command {
        Command::Diff { check, all } => (Labels::Drift, *all, *check),
        _ => (Labels::Outcomes, false, false),
    };
    let names = match &cli.command {
        Command::Replicate { names, .. } => names
            .iter()
            .map(|n| ParameterName::parse(n).map_err(|e| format!("parameter name '{n}' {e}")))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let own_account = replicator.owner().account.clone();
    let account_column = replicator.config().targets.iter().any(|t| t.is_other_account());
    let mut printer = Printer::new(labels, json, show_quiet, &own_account, account_column);
    match &cli.command {
        Command::Replicate { .. } => {
            let mut report = Report::new("cli:replicate");
            replicator.sync_names(&names, &mut report).await;
            report.parameters.iter().for_each(|r| printer.result(r));
        }
        Command::Sync { .. } | Command::Diff { .. } => {
            let mut sink = |r: crate::domain::ParameterResult| printer.result(&r);
            let progress = replicator.full_sync(Cursor::start(), None, &mut sink).await.map_err(|e| e.to_string())?;
            progress.notes.iter().for_each(|note| eprintln!("note: {note}"));
        }
    }
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    printer.finish(&calls.since(&before), duration_ms);
    Ok(if printer.failed() {
        ExitCode::from(1)
    } else if check && printer.drift() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
