//! The `ssm-replicator` binary as a user runs it, against the emulator behind a proxy with AWS's
//! behaviour (the world's proxy, or a test's own `FaultProxy`, whose behaviour layer is on too).

use std::process::Command;

use serde_json::Value;

use crate::faults::FaultProxy;
use crate::support::*;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn cli(endpoint: &str, args: &[&str]) -> Run {
    let defaults = ["--endpoint-url", endpoint, "--source-region", SOURCE, "--targets", "us-east-2,eu-west-1"];
    cli_as_given(&[args, &defaults, &["--read-tps", "1000", "--write-tps", "1000"]].concat())
}

fn json_lines(run: &Run) -> (Vec<Value>, Value) {
    let mut lines: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let summary = lines.pop().unwrap();
    (lines, summary)
}

const STATUSES: &[&str] = &["in-sync", "missing", "drifted", "orphan", "unmanaged", "skipped", "pending", "failed"];

#[tokio::test]
async fn diff_json_follows_its_schema_and_check_exits_3_only_on_drift() {
    let w = World::new(&[]).await;
    let path = format!("{}/", w.prefix);
    let names: Vec<String> = (0..3).map(|i| w.name(&format!("p{i}"))).collect();
    for n in &names {
        w.put(SOURCE, Put::string(n, "v")).await;
    }
    w.settle().await;
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", "--json", "--path", &path];
        args.extend_from_slice(extra);
        cli(&w.proxy().url, &args)
    };

    let run = diff(&["--check"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let (rows, summary) = json_lines(&run);
    assert_eq!(rows.len(), 6, "one row per parameter and target");
    for row in &rows {
        let obj = row.as_object().unwrap();
        assert!(
            obj.keys()
                .all(|k| ["kind", "name", "account", "region", "status", "reason", "fields", "error"]
                    .contains(&k.as_str())),
            "{row}"
        );
        assert!(STATUSES.contains(&row["status"].as_str().unwrap()), "{row}");
        assert_eq!(row["kind"], "parameter");
        assert!(names.contains(&row["name"].as_str().unwrap().to_owned()));
        assert_eq!(row["status"], "missing");
        assert_eq!(row["account"], ACCOUNT, "every row carries its target's account");
    }
    assert_eq!(summary["drift"], true);
    assert_eq!(summary["parameters"], 3);
    assert_eq!(summary["summary"]["missing"], 6);
    assert!(summary["api_calls"][SOURCE]["DescribeParameters"].as_u64().unwrap() >= 1);

    assert_eq!(cli(&w.proxy().url, &["sync", "--path", &path]).code, 0);
    w.settle().await;
    let run = diff(&["--check"]);
    assert_eq!(run.code, 0, "in sync after sync: {}", run.stdout);
    assert_eq!(json_lines(&run).1["drift"], false);

    w.put(SOURCE, Put::string(&names[0], "v2")).await;
    w.delete(SOURCE, &names[1]).await;
    let run = diff(&["--check"]);
    assert_eq!(run.code, 3);
    let (rows, _) = json_lines(&run);
    let status = |name: &str| -> Vec<(String, Value)> {
        rows.iter()
            .filter(|r| r["name"] == name)
            .map(|r| (r["status"].as_str().unwrap().to_owned(), r["fields"].clone()))
            .collect()
    };
    assert!(status(&names[0]).iter().all(|(s, f)| s == "drifted" && f == &serde_json::json!(["value"])), "{rows:?}");
    assert!(status(&names[1]).iter().all(|(s, _)| s == "orphan"), "{rows:?}");
    assert!(w.get(EAST, &names[1]).await.is_some(), "diff deletes nothing");
}

#[tokio::test]
async fn sync_dry_run_writes_nothing_counted_at_the_wire() {
    let w = World::new(&[]).await;
    let path = format!("{}/", w.prefix);
    for i in 0..4 {
        w.put(SOURCE, Put::string(&w.name(&format!("p{i}")), "v")).await;
    }
    w.settle().await;
    let proxy = FaultProxy::start(&endpoint(), vec![]);
    let run = cli(&proxy.url, &["sync", "--dry-run", "--path", &path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().filter(|l| l.starts_with("created")).count(), 8, "{}", run.stdout);
    for op in WRITES {
        assert_eq!(proxy.seen(op), 0, "{op} reached the wire");
    }
    assert!(proxy.seen("DescribeParameters") > 0, "the proxy did see the run");
    assert!(w.get(EAST, &w.name("p0")).await.is_none());
}

#[tokio::test]
async fn replicate_copies_named_parameters_and_never_prints_a_value() {
    let w = World::new(&[]).await;
    let name = w.name("secret");
    let canary = format!("CLI-CANARY-{:x}", fastrand::u64(..));
    w.put(SOURCE, Put::secure(&name, &canary, None)).await;
    let run = cli(&w.proxy().url, &["replicate", &name]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("created"), "{}", run.stdout);
    assert!(!run.stdout.contains(&canary) && !run.stderr.contains(&canary));
    assert_eq!(w.get(WEST, &name).await.unwrap().value(), Some(canary.as_str()));
    let json = cli(&w.proxy().url, &["replicate", &name, "--json"]);
    assert!(!json.stdout.contains(&canary));
}

#[tokio::test]
async fn bad_input_is_one_clear_line_and_a_non_zero_exit() {
    let run = cli(&endpoint(), &["diff", "--kms-key-map", "mars-north-1=alias/x"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr.trim(), "error: --kms-key-map: 'mars-north-1' is not one of TARGETS");
    let run = cli(&endpoint(), &["replicate", "/has space"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("error: parameter name '/has space' contains ' '"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let run = cli(&endpoint(), &["sync", "--selection", "some"]);
    assert_eq!(run.code, 2, "usage errors are clap's: {}", run.stderr);
}

/// The command as the README gives it, with nothing added: only the credentials of this account.
fn cli_as_given(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ssm-replicator"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn sync_into_another_account_through_its_role_then_a_rerun_writes_nothing() {
    let targets = "us-east-2,111111111111/us-west-2,111111111111/us-east-1";
    let w = World::new(&[("TARGETS", targets)]).await;
    let names: Vec<String> = (0..3).map(|i| w.name(&format!("p{i}"))).collect();
    for n in &names {
        w.put(SOURCE, Put::secure(n, "s", None)).await;
    }
    w.settle().await;
    let url = w.proxy().url.clone();
    let args = [
        "sync",
        "--source-region",
        SOURCE,
        "--targets",
        targets,
        "--target-role",
        "ssm-replicator-target",
        "--path",
        &w.prefix,
        "--endpoint-url",
        &url,
        "--json",
    ];

    let first = cli_as_given(&args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let (rows, summary) = json_lines(&first);
    assert_eq!(summary["summary"]["created"], 9, "{summary}");
    for row in &rows {
        let place = match row["account"].as_str() {
            Some(ACCOUNT) => row["region"].as_str().unwrap().to_owned(),
            Some(account) => format!("{account}/{}", row["region"].as_str().unwrap()),
            None => panic!("a row without its account: {row}"),
        };
        assert_eq!(row["status"], "created", "{row}");
        assert_eq!(w.get(&place, row["name"].as_str().unwrap()).await.unwrap().value(), Some("s"), "{place}");
    }
    let accounts: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r["account"].as_str()).collect();
    assert_eq!(accounts.into_iter().collect::<Vec<_>>(), vec!["111111111111", ACCOUNT]);

    let again = cli_as_given(&args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let (_, summary) = json_lines(&again);
    assert_eq!(summary["summary"]["unchanged"], 9, "{summary}");
    let writes: u64 = summary["api_calls"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| WRITES.iter().filter_map(move |w| ops.get(*w).and_then(serde_json::Value::as_u64)))
        .sum();
    assert_eq!(writes, 0, "a rerun with nothing changed writes nothing: {summary}");

    // The table shows an ACCOUNT column when a target is in another account.
    let table = cli_as_given(&[
        "diff",
        "--all",
        "--source-region",
        SOURCE,
        "--targets",
        targets,
        "--path",
        &w.prefix,
        "--endpoint-url",
        &url,
    ]);
    assert!(table.stdout.lines().next().unwrap().contains("ACCOUNT"), "{}", table.stdout);
    assert!(table.stdout.contains("111111111111"), "{}", table.stdout);
}

#[tokio::test]
async fn with_secrets_diff_and_sync_add_rows_of_kind_secret_and_a_second_diff_is_in_sync() {
    let w = World::new(&[]).await;
    let path = format!("{}/", w.prefix);
    let secret_prefix = format!("{}/", &w.prefix[1..]);
    let name = format!("{secret_prefix}db");
    let tag = aws_sdk_secretsmanager::types::Tag::builder().key("replicate").value("us-east-2").build();
    w.secrets(SOURCE).create_secret().name(&name).secret_string("CANARY-cli").tags(tag).send().await.unwrap();
    let run = |command: &str| {
        cli(&w.proxy().url, &[command, "--json", "--path", &path, "--secrets", "--secret-prefix", &secret_prefix])
    };

    let diff = run("diff");
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    let (rows, _) = json_lines(&diff);
    let secret_rows: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "secret").collect();
    assert_eq!(secret_rows.len(), 2, "{rows:?}");
    let status_in = |rows: &[&Value], region: &str| {
        rows.iter().find(|r| r["region"] == region).map(|r| r["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_in(&secret_rows, EAST).as_deref(), Some("missing"));
    assert_eq!(status_in(&secret_rows, WEST).as_deref(), Some("skipped"));
    assert_eq!(
        w.secrets(SOURCE).describe_secret().secret_id(&name).send().await.unwrap().replication_status().len(),
        0
    );

    let sync = run("sync");
    assert_eq!(sync.code, 0, "{}", sync.stderr);
    let (rows, _) = json_lines(&sync);
    let secret_rows: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "secret").collect();
    assert_eq!(status_in(&secret_rows, EAST).as_deref(), Some("created"));
    let again = run("diff");
    let (rows, _) = json_lines(&again);
    let secret_rows: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "secret").collect();
    assert_eq!(status_in(&secret_rows, EAST).as_deref(), Some("in-sync"));
    for out in [&diff, &sync, &again] {
        assert!(!out.stdout.contains("CANARY") && !out.stderr.contains("CANARY"), "no value is ever printed");
    }

    let table =
        cli(&w.proxy().url, &["diff", "--all", "--path", &path, "--secrets", "--secret-prefix", &secret_prefix]);
    assert!(table.stdout.contains(&format!("secret:{name}")), "{}", table.stdout);
    let missing_prefix = cli(&w.proxy().url, &["diff", "--path", &path, "--secrets"]);
    assert_eq!(missing_prefix.code, 1);
    assert!(missing_prefix.stderr.contains("--secret-prefix"), "{}", missing_prefix.stderr);
}
