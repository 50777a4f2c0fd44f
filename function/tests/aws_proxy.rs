//! The integration suite's AWS-behaviour proxy as a program of its own, for `make bench`: the release CLI
//! talks to it instead of the emulator, so that its API calls meet AWS's behaviour (empty DescribeParameters
//! pages, listing lag, limits, ...) as the suite's tests do.
//!
//!   aws-proxy --serve --upstream URL [--off NAME[,NAME]] [--delay-ms N --delay-regions REGION[,REGION]]
//!
//! starts `FaultProxy::aws(URL, ...)` with every behaviour on except those named by `--off` (the names of
//! `AWS_BEHAVIOUR_OFF`, see `AwsBehaviour::from_env`), prints `listening http://127.0.0.1:PORT` and serves
//! until its standard input reaches end of file; then it prints `empty-pages N` (the empty pages the layer
//! injected) and exits. `--delay-ms` holds every request signed for one of `--delay-regions` (all regions
//! when absent) that long before answering it, as a region far away would; `GET /__proxy/depths` answers
//! how many sequential round trips each region's requests went since it was last asked. Without `--serve`
//! (as a plain `cargo test` runs it) it does nothing.

// Test support code, compiled without the test harness (so clippy's test exemptions do not apply): the
// proxy's modules are shared with the integration suite, which uses parts of them this program does not,
// and a failed setup step should stop the program loudly.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "integration/aws_behaviour.rs"]
mod aws_behaviour;
#[path = "integration/faults.rs"]
mod faults;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use aws_behaviour::AwsBehaviour;
use faults::{FaultProxy, Faults};

const USAGE: &str =
    "usage: aws-proxy --serve --upstream URL [--off NAME[,NAME]] [--delay-ms N --delay-regions REGION[,REGION]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--serve") {
        return ExitCode::SUCCESS;
    }
    let mut upstream = None;
    let mut off = String::new();
    let mut delay_ms: Option<u64> = None;
    let mut delay_regions = String::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--serve" => {}
            "--upstream" => upstream = rest.next().cloned(),
            "--off" => match rest.next() {
                Some(names) => off = names.clone(),
                None => return usage("--off needs a value"),
            },
            "--delay-ms" => match rest.next().and_then(|n| n.parse().ok()) {
                Some(ms) => delay_ms = Some(ms),
                None => return usage("--delay-ms needs a number of milliseconds"),
            },
            "--delay-regions" => match rest.next() {
                Some(regions) => delay_regions = regions.clone(),
                None => return usage("--delay-regions needs a value"),
            },
            other => return usage(&format!("unknown argument '{other}'")),
        }
    }
    let Some(upstream) = upstream else { return usage("--upstream URL is required") };

    // `from_env` knows every behaviour's name; only `--off` decides here, not the caller's environment.
    std::env::set_var("AWS_BEHAVIOUR_OFF", &off);
    let behaviour = AwsBehaviour::from_env();
    let mut faults = Faults::default();
    if let Some(ms) = delay_ms {
        let regions: Vec<&str> = delay_regions.split(',').filter(|r| !r.is_empty()).collect();
        faults = faults.with_latency(Duration::from_millis(ms), 1.0).in_regions(&regions);
    }
    let proxy = FaultProxy::with_behaviour(&upstream, vec![], faults, behaviour);

    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening {}", proxy.url).expect("stdout");
    stdout.flush().expect("stdout");

    // Serve (on the proxy's own threads) until the caller closes our standard input.
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());

    writeln!(stdout, "empty-pages {}", proxy.empty_pages_total()).expect("stdout");
    stdout.flush().expect("stdout");
    ExitCode::SUCCESS
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("aws-proxy: {problem}\n{USAGE}");
    ExitCode::from(2)
}
