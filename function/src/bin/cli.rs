//! `ssm-replicator`: full sync, drift report and one-off replication from the command line.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    ssm_replicator::cli::main().await
}
