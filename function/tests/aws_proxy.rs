//! The integration suite's AWS-behaviour proxy as a program of its own, for `make bench`: the release CLI
//! talks to it instead of the emulator, so that its API calls meet AWS's behaviour (empty DescribeParameters
//! pages, listing lag, limits, ...) as the suite's tests do.
//!
//!   aws-proxy --serve --upstream URL [--off NAME[,NAME]]
//!
//! starts `FaultProxy::aws(URL, ...)` with every behaviour on except those named by `--off` (the names of
//! `AWS_BEHAVIOUR_OFF`, see `AwsBehaviour::from_env`), prints `listening http://127.0.0.1:PORT` and serves
//! until its standard input reaches end of file; then it prints `empty-pages N` (the empty pages the layer
//! injected) and exits. Without `--serve` (as a plain `cargo test` runs it) it does nothing.

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

use aws_behaviour::AwsBehaviour;
use faults::FaultProxy;

const USAGE: &str = "usage: aws-proxy --serve --upstream URL [--off NAME[,NAME]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--serve") {
        return ExitCode::SUCCESS;
    }
    let mut upstream = None;
    let mut off = String::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--serve" => {}
            "--upstream" => upstream = rest.next().cloned(),
            "--off" => match rest.next() {
                Some(names) => off = names.clone(),
                None => return usage("--off needs a value"),
            },
            other => return usage(&format!("unknown argument '{other}'")),
        }
    }
    let Some(upstream) = upstream else { return usage("--upstream URL is required") };

    // `from_env` knows every behaviour's name; only `--off` decides here, not the caller's environment.
    std::env::set_var("AWS_BEHAVIOUR_OFF", &off);
    let behaviour = AwsBehaviour::from_env();
    let proxy = FaultProxy::aws(&upstream, behaviour);

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
