//! ssm-replicator: keeps SSM Parameter Store parameters replicated from a source region to targets.
//!
//! `domain` is the pure core; `engine` orchestrates over the `ports`; `aws` adapts the SDK;
//! `events` turns EventBridge envelopes and manual commands into commands; `handler` ties them for Lambda;
//! `metrics` writes CloudWatch EMF lines.

pub mod aws;
#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod events;
pub mod handler;
pub mod metrics;
pub mod ports;
pub mod telemetry;
