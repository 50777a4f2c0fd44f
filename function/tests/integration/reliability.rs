//! Reliability under what AWS really produces: throttling, 5xx and resets during a full sync, event
//! storms (duplicated, reordered, while values change), racing updates, two replicators pointing at
//! each other, and listing faults during the orphan pass. Each test prints its figures (the README's
//! Reliability table) and checks that a canary SecureString value never leaks.
//!
//! Sizes: `RELIABILITY_SCALE` (default 1) multiplies them; `make reliability` runs the long variants.
//! `RELIABILITY_SEED` changes the fault seed (the default reproduces the README figures).

use std::time::Instant;

use futures::future::join_all;
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};
use ssm_replicator::domain::{Outcome, Report};
use ssm_replicator::handler::HandlerError;

use crate::faults::{Fault, FaultProxy, Faults};
use crate::support::*;

const PREFIX_ONLY: (&str, &str) = ("PATH_PREFIXES", "{prefix}/");
const LISTING: &[&str] =
    &["DescribeParameters", "GetParameters", "ListTagsForResource", "GetParameter", "GetParameterHistory"];

fn scale(n: usize) -> usize {
    let factor: usize = std::env::var("RELIABILITY_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    n * factor.max(1)
}

fn seed(default: u64) -> u64 {
    std::env::var("RELIABILITY_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn json_of(report: &Report) -> String {
    serde_json::to_string(report).unwrap()
}

/// Full syncs until one completes with no failed target (a failed listing fails the invocation, which
/// Lambda would retry). Returns what each round said, for the figures and the canary check.
async fn sync_until_clean(w: &World, max_rounds: usize) -> Vec<Result<Report, String>> {
    let mut rounds = Vec::new();
    for _ in 0..max_rounds {
        let round = w.invoke(json!({"action": "full-sync"})).await.map_err(|e| e.to_string());
        let clean = round.as_ref().is_ok_and(|r| !r.summary.contains_key(&Outcome::Failed));
        rounds.push(round);
        if clean {
            return rounds;
        }
    }
    panic!("no clean full sync in {max_rounds} rounds: {rounds:?}")
}

fn describe_rounds(rounds: &[Result<Report, String>]) -> String {
    let each: Vec<String> = rounds
        .iter()
        .map(|r| match r {
            Ok(report) => format!("{} failed", report.summary.get(&Outcome::Failed).unwrap_or(&0)),
            Err(_) => "listing failed".to_owned(),
        })
        .collect();
    each.join(", ")
}

fn exposed(rounds: &[Result<Report, String>]) -> Vec<String> {
    rounds.iter().map(|r| r.as_ref().map_or_else(Clone::clone, json_of)).collect()
}

/// Deliver an event as Lambda's async invocation does: a failed invocation is retried (twice).
async fn deliver(w: &World, event: Value, out: &std::sync::Mutex<Vec<String>>) {
    for _ in 0..3 {
        match w.invoke(event.clone()).await {
            Ok(report) => return out.lock().unwrap().push(json_of(&report)),
            Err(e @ HandlerError::Transient { .. }) => out.lock().unwrap().push(e.to_string()),
            Err(e) => panic!("{e}"),
        }
    }
    panic!("an event failed three times")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_sync_under_throttling_5xx_and_resets_converges_to_the_source() {
    let n = scale(1000);
    let seed = seed(0x5eed);
    let faults = Faults::seeded(seed)
        .with(&[], Fault::Throttling, 0.20)
        .with(&[], Fault::Http500, 0.025)
        .with(&[], Fault::Http503, 0.025)
        .with(&[], Fault::Reset, 0.01)
        .with(&[], Fault::LostResponse, 0.01)
        .with(WRITES, Fault::TooManyUpdates, 0.05)
        .with_latency(std::time::Duration::from_millis(50), 0.02);
    let proxy = FaultProxy::with_faults(&endpoint(), vec![], faults);
    let w = World::all_proxied(&[PREFIX_ONLY], &proxy.url).await;
    let canary = Canary::new();
    let names = seed_mix(&w, n, Some(&canary)).await;
    w.settle().await;

    let started = Instant::now();
    let rounds = sync_until_clean(&w, 10).await;
    let wall = started.elapsed();

    let source = w.values_under(SOURCE).await;
    assert_eq!(source.len(), n, "no source parameter lost");
    for region in [EAST, WEST] {
        let replicas = w.values_under(region).await;
        assert_eq!(replicas, source, "{region} equals the source");
    }
    let drift = (names.len() * 2) as u64;
    let reached = proxy.sum(WRITES, |t| t.succeeded) + proxy.sum(WRITES, |t| t.lost);
    let retried = proxy.sum(WRITES, |t| t.lost);
    eprintln!(
        "FIGURES faults: {n} parameters x 2 targets, seed {seed:#x}: {} requests, injected {:?}; rounds: [{}]; \
         writes reaching the emulator {reached} (drift x targets {drift}, writes whose response was lost {retried}); {:.1} s",
        proxy.requests(),
        proxy.injected(),
        describe_rounds(&rounds),
        wall.as_secs_f64()
    );
    assert!(proxy.injected().values().sum::<u64>() > 0, "faults were injected");
    assert!(reached <= drift + retried, "{reached} writes for a drift of {drift} (+{retried} retried)");
    canary.assert_hidden(&exposed(&rounds));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_storm_duplicated_and_reordered_ends_with_every_replica_at_the_final_value() {
    let (params, events) = (scale(50), scale(200));
    let faults = Faults::seeded(seed(0x570e)).with_latency(std::time::Duration::from_millis(20), 0.3);
    let proxy = FaultProxy::with_faults(&endpoint(), vec![], faults);
    let w = World::all_proxied(&[PREFIX_ONLY], &proxy.url).await;
    let canary = Canary::new();
    let mut rng = fastrand::Rng::with_seed(seed(0x570e));
    let names: Vec<String> = (0..params).map(|i| w.name(&format!("s{i:03}"))).collect();
    // The changes, decided up front: first every create, then updates of random parameters.
    let changes: Vec<(usize, String)> =
        (0..events).map(|k| (if k < params { k } else { rng.usize(..params) }, canary.value(k))).collect();
    let mut order_rng = fastrand::Rng::with_seed(seed(0x570e) + 1);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let reports = std::sync::Mutex::new(Vec::new());
    let delivered = std::sync::atomic::AtomicUsize::new(0);

    let writer = async {
        for (k, (i, value)) in changes.iter().enumerate() {
            let op = if k < params { "Create" } else { "Update" };
            w.put(SOURCE, Put::secure(&names[*i], value, None)).await;
            tx.send(change_event(op, &names[*i])).unwrap();
        }
        drop(tx);
    };
    let deliverer = async {
        let incoming = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
        incoming
            .chunks(10)
            .flat_map(|chunk| {
                // A quarter duplicated, then the window shuffled: what at-least-once delivery can do.
                let mut batch: Vec<Value> = chunk
                    .iter()
                    .flat_map(|e| if order_rng.u8(..4) == 0 { vec![e.clone(); 2] } else { vec![e.clone()] })
                    .collect();
                order_rng.shuffle(&mut batch);
                stream::iter(batch)
            })
            .for_each_concurrent(8, |event| async {
                delivered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                deliver(&w, event, &reports).await;
            })
            .await;
    };
    futures::join!(writer, deliverer);

    let source = w.values_under(SOURCE).await;
    for region in [EAST, WEST] {
        assert_eq!(w.values_under(region).await, source, "{region} ends at the source's final values");
    }
    let reports = reports.into_inner().unwrap();
    eprintln!(
        "FIGURES storm: {events} changes to {params} parameters, {} events delivered (duplicated, reordered, 8 at a time) \
         while values changed; {} PutParameter; {} invocations failed and were retried; every replica at the final value",
        delivered.into_inner(),
        w.calls.total(&["PutParameter"]),
        reports.iter().filter(|r| r.contains("failing the invocation")).count()
    );
    canary.assert_hidden(&reports);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_updates_of_one_parameter_leave_the_replica_at_the_final_value() {
    // Latency on half the calls widens the window in which a handler holding an older value writes last.
    let faults = Faults::seeded(seed(0x7ace)).with_latency(std::time::Duration::from_millis(120), 0.5);
    let proxy = FaultProxy::with_faults(&endpoint(), vec![], faults);
    let w = World::all_proxied(&[], &proxy.url).await;
    let canary = Canary::new();
    let name = w.name("raced");
    w.put(SOURCE, Put::secure(&name, &canary.value(0), None)).await;
    let reports = std::sync::Mutex::new(Vec::new());
    deliver(&w, change_event("Create", &name), &reports).await;

    let rounds = scale(5);
    for round in 0..rounds {
        join_all((1..=20).map(|i| {
            let (w, name, reports) = (&w, &name, &reports);
            let value = canary.value(round * 100 + i);
            async move {
                // Staggered, so that handlers read values that later updates replace while they work.
                tokio::time::sleep(std::time::Duration::from_millis(30 * i as u64)).await;
                w.put(SOURCE, Put::secure(name, &value, None)).await;
                deliver(w, change_event("Update", name), reports).await;
            }
        }))
        .await;
        let last = w.get(SOURCE, &name).await.unwrap();
        for region in [EAST, WEST] {
            let replica = w.get(region, &name).await.unwrap();
            assert_eq!(replica.value(), last.value(), "round {round}: {region} ends at the source's final value");
        }
    }
    let reports = reports.into_inner().unwrap();
    eprintln!(
        "FIGURES race: {rounds} rounds of 20 concurrent updates of one parameter, each event handled concurrently: \
         the replica equals the final value after every round; {} PutParameter for {} updates x 2 targets",
        w.calls.total(&["PutParameter"]),
        rounds * 20
    );
    canary.assert_hidden(&reports);
}

#[tokio::test]
async fn two_replicators_pointing_at_each_other_write_once_and_never_back() {
    // A replicates us-east-1 → us-east-2; B replicates us-east-2 → us-east-1, over the same names.
    let a = World::new(&[PREFIX_ONLY, ("TARGETS", EAST)]).await;
    let prefix = format!("{}/", a.prefix);
    let b = World::new(&[("SOURCE_REGION", EAST), ("TARGETS", SOURCE), ("PATH_PREFIXES", &prefix)]).await;
    let canary = Canary::new();
    let name = a.name("both-ways");
    let mut seen = Vec::new();

    a.put(SOURCE, Put::secure(&name, &canary.value(1), None)).await;
    let report = a.change("Create", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "created");
    assert_eq!(a.writes_in(EAST), 1, "one write at B's region");
    seen.push(json_of(&report));

    // The replica's creation is a change event in us-east-2, which B receives.
    let echo = b.invoke(change_event_in(EAST, "Create", &name)).await.unwrap();
    assert_eq!(outcome(&echo, &name, SOURCE), "skipped:source-is-replica");
    seen.push(json_of(&echo));
    // And the scheduled full syncs of both find nothing to do.
    for world in [&b, &a] {
        seen.push(json_of(&world.invoke(json!({"action": "full-sync"})).await.unwrap()));
    }
    // An update at A: again one write at B's region, none back.
    a.put(SOURCE, Put::secure(&name, &canary.value(2), None)).await;
    seen.push(json_of(&a.change("Update", &name).await));
    seen.push(json_of(&b.invoke(change_event_in(EAST, "Update", &name)).await.unwrap()));

    assert_eq!(a.writes(), 2, "A wrote twice, both in us-east-2");
    assert_eq!(a.writes_in(EAST), 2);
    assert_eq!(b.writes(), 0, "B never wrote back to us-east-1");
    assert_eq!(a.get(EAST, &name).await.unwrap().value(), Some(canary.value(2).as_str()));
    eprintln!(
        "FIGURES two-way: A (us-east-1 → us-east-2) and B (us-east-2 → us-east-1): 2 changes at A → {} writes at B's region, {} back at A's",
        a.writes_in(EAST),
        b.writes()
    );
    canary.assert_hidden(&seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn listing_faults_during_the_orphan_pass_delete_only_true_orphans() {
    let n = scale(100);
    let healthy = World::new(&[PREFIX_ONLY]).await;
    let canary = Canary::new();
    let names = seed_mix(&healthy, n, Some(&canary)).await;
    healthy.settle().await;
    healthy.invoke(json!({"action": "full-sync"})).await.unwrap();
    let orphans: Vec<&String> = names.iter().step_by(10).collect();
    for name in &orphans {
        healthy.delete(SOURCE, name).await;
    }
    healthy.settle().await;

    let seed = seed(0xde1e7e);
    let faults = Faults::seeded(seed).with(LISTING, Fault::Throttling, 0.30).with(LISTING, Fault::Http500, 0.10).with(
        LISTING,
        Fault::Reset,
        0.05,
    );
    let proxy = FaultProxy::with_faults(&endpoint(), vec![], faults);
    let w = World::all_proxied(&[("PATH_PREFIXES", &format!("{}/", healthy.prefix))], &proxy.url).await;

    // Sync until the orphans are gone; after every sync, no replica of a live source may be missing.
    let mut rounds = Vec::new();
    let expected_deletes = (orphans.len() * 2) as u64;
    while proxy.tally("DeleteParameter").succeeded < expected_deletes {
        assert!(rounds.len() < 25, "orphans still there after 25 syncs: {}", describe_rounds(&rounds));
        rounds.push(w.invoke(json!({"action": "full-sync"})).await.map_err(|e| e.to_string()));
        for region in [EAST, WEST] {
            let replicas = healthy.values_under(region).await;
            for name in names.iter().filter(|n| !orphans.contains(n)) {
                assert!(replicas.contains_key(name), "sync {}: the live {name} was deleted in {region}", rounds.len());
            }
        }
    }
    assert_eq!(proxy.tally("DeleteParameter").succeeded, expected_deletes, "exactly the orphans, once each");
    for region in [EAST, WEST] {
        let replicas = healthy.values_under(region).await;
        for name in &orphans {
            assert!(!replicas.contains_key(*name), "{name} in {region}");
        }
    }
    eprintln!(
        "FIGURES deletion safety: {n} replicated, {} sources deleted; listing calls failing 30% (seed {seed:#x}, injected {:?}); \
         syncs until the orphans were gone: [{}]; {} DeleteParameter = exactly the orphans x 2 targets; \
         0 live replicas deleted after any sync",
        orphans.len(),
        proxy.injected(),
        describe_rounds(&rounds),
        proxy.tally("DeleteParameter").succeeded
    );
    canary.assert_hidden(&exposed(&rounds));
}
