//! Integration suite: the real handler, engine and AWS adapters against the moto server over HTTP.
//! Run with `make test` (it starts and stops the emulator).

// Test code: a failed setup step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod accounts;
mod as_aws_behaves;
mod aws_behaviour;
mod aws_behaviour_tests;
mod bad_input;
mod cli;
mod errors;
mod faults;
mod full_sync;
mod fuzz;
mod labels;
mod metrics;
mod ownership;
mod recreate_prune;
mod reliability;
mod replication;
mod round_trips;
mod secrets;
mod secrets_manager;
mod selection;
mod tags_in_bulk;
