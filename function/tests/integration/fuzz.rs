//! Bad input, generated: arbitrary JSON and every fixture mutated (fields removed, wrong types, huge
//! strings, invalid names) through the real handler. Zero panics; every rejection names its reason;
//! nothing written. 10,000 cases (`FUZZ_CASES` for more).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};
use ssm_replicator::handler::HandlerError;

use crate::support::*;

fn fixtures() -> Vec<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    paths.iter().map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()).collect()
}

/// Every place in `v` (object keys and array slots), as paths of keys and indexes.
fn places(v: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                here.push(k.clone());
                out.push(here.clone());
                places(child, here, out);
                here.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                here.push(i.to_string());
                out.push(here.clone());
                places(child, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Remove,
    Replace(Value),
}

fn apply(event: &mut Value, path: &[String], mutation: &Mutation) {
    let (last, parents) = path.split_last().unwrap();
    let mut node = event;
    for key in parents {
        node = match node {
            Value::Object(map) => map.get_mut(key).unwrap(),
            Value::Array(items) => &mut items[key.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    match (node, mutation) {
        (Value::Object(map), Mutation::Remove) => {
            map.remove(last);
        }
        (Value::Object(map), Mutation::Replace(v)) => {
            map.insert(last.clone(), v.clone());
        }
        (Value::Array(items), Mutation::Remove) => {
            items.remove(last.parse::<usize>().unwrap());
        }
        (Value::Array(items), Mutation::Replace(v)) => items[last.parse::<usize>().unwrap()] = v.clone(),
        _ => unreachable!(),
    }
}

fn invalid_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("no-leading-slash".to_owned()),
        Just("/aws/reserved".to_owned()),
        Just("/ssm/reserved".to_owned()),
        Just("/a//b".to_owned()),
        Just(format!("/{}", "n".repeat(2048))),
        Just("/with space/x".to_owned()),
        Just("/ünïcödé".to_owned()),
        "[/a-z]{0,3}[^a-zA-Z0-9_./-]{1,3}",
    ]
}

fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!([])),
        Just(json!({})),
        Just(json!([1, "two", null])),
        ".{0,40}".prop_map(Value::from),
        (1usize..200_000).prop_map(|n| Value::from("x".repeat(n))),
        invalid_name().prop_map(Value::from),
    ]
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
        prop_oneof![Just("detail-type"), Just("action"), Just("Scheduled Event"), Just("aws.ssm"), Just("sync")]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("detail-type".to_owned()),
                    Just("detail".to_owned()),
                    Just("source".to_owned()),
                    Just("action".to_owned()),
                    Just("names".to_owned()),
                    "[a-z-]{1,10}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Clone, Debug)]
enum Case {
    Arbitrary(Value),
    Mutated { path: Vec<String>, mutation: Mutation, event: Value },
}

fn cases(fixtures: Vec<Value>) -> impl Strategy<Value = Case> {
    let count = fixtures.len();
    let mutated =
        (0..count, any::<Index>(), prop_oneof![Just(Mutation::Remove), replacement().prop_map(Mutation::Replace)])
            .prop_map(move |(fixture, at, mutation)| {
                let mut event = fixtures[fixture].clone();
                let mut all = Vec::new();
                places(&event, &mut Vec::new(), &mut all);
                let path = all[at.index(all.len())].clone();
                apply(&mut event, &path, &mutation);
                Case::Mutated { path, mutation, event }
            });
    prop_oneof![1 => arbitrary_json().prop_map(Case::Arbitrary), 4 => mutated]
}

/// The rejection names its reason: for a mutation, the key it touched (or one above it) or the value
/// it put there; always more than a bare "rejected event".
fn names_its_reason(message: &str, case: &Case) -> bool {
    let reason = message.trim_start_matches("rejected event: ").trim_start_matches("full sync stopped: ");
    if reason.len() < 10 {
        return false;
    }
    match case {
        Case::Arbitrary(_) => true,
        Case::Mutated { path, mutation, .. } => {
            let keys = path.iter().filter(|k| k.parse::<usize>().is_err());
            let lower = message.to_lowercase();
            let touched = keys.clone().any(|k| lower.contains(&k.to_lowercase()));
            let shown = match mutation {
                Mutation::Replace(Value::String(s)) => {
                    !s.is_empty() && message.contains(&s.chars().take(16).collect::<String>())
                }
                _ => false,
            };
            touched || shown || path.iter().all(|k| k.parse::<usize>().is_ok())
        }
    }
}

#[test]
fn ten_thousand_generated_events_cause_no_panic_and_every_rejection_names_its_reason() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let w = runtime.block_on(World::new(&[("PATH_PREFIXES", "{prefix}/")]));
    let cases_wanted: u32 = std::env::var("FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let config = Config { cases: cases_wanted, failure_persistence: None, ..Config::default() };
    let (accepted, rejected) = (AtomicU64::new(0), AtomicU64::new(0));
    let mut runner = TestRunner::new(config);
    let result = runner.run(&cases(fixtures()), |case| {
        let event = match &case {
            Case::Arbitrary(v) | Case::Mutated { event: v, .. } => v.clone(),
        };
        match runtime.block_on(w.invoke(event)) {
            Ok(_) => accepted.fetch_add(1, Ordering::Relaxed),
            // A cursor that does not fit the configuration is refused by the full sync, before any read.
            Err(e @ (HandlerError::BadEvent(_) | HandlerError::FullSync(_))) => {
                let message = e.to_string();
                prop_assert!(names_its_reason(&message, &case), "unclear rejection: {message} for {case:?}");
                rejected.fetch_add(1, Ordering::Relaxed)
            }
            Err(e) => return Err(TestCaseError::fail(format!("not a rejection: {e}"))),
        };
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (accepted, rejected) = (accepted.into_inner(), rejected.into_inner());
    eprintln!(
        "FIGURES fuzz: {} generated events through the handler: {accepted} accepted, {rejected} rejected with a named reason, \
         0 panics, {} writes",
        accepted + rejected,
        w.writes()
    );
    assert_eq!(accepted + rejected, u64::from(cases_wanted));
    assert_eq!(w.writes(), 0, "nothing written");
}
