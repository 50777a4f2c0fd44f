//! The event path's sequential round trips, counted, not timed. On AWS an event's latency is its chain
//! of sequential API calls, each one cross-region round trip (~75–200 ms) for a target: calls issued
//! together cost one. Every request through the proxy here is delayed by the same 100 ms, so calls made
//! at once overlap and calls made one after another chain; `FaultProxy::depth` counts the chain per
//! region. String parameters only (a SecureString adds KMS calls, which go elsewhere).
//!
//! Bounds: at the source, two before the targets (tags; then value and metadata together) and one after
//! the writes (the version check); at a target, two for a create or an update (read value, metadata
//! and tags together; then the write), one for a replay with nothing to write, two for a delete.

use std::time::Duration;

use ssm_replicator::domain::Report;

use crate::faults::{FaultProxy, Faults};
use crate::support::*;

/// Added to every request, so that depth and not the emulator's speed decides what overlaps.
const DELAY: Duration = Duration::from_millis(100);

struct Trips {
    proxy: FaultProxy,
    w: World,
}

/// One round trip depth per region for one event.
#[derive(Debug)]
struct Depths {
    source: usize,
    east: usize,
    west: usize,
}

impl Trips {
    /// Every region's SSM calls through one proxy that delays each request by `DELAY`.
    async fn new() -> Self {
        let proxy = FaultProxy::with_faults(&endpoint(), vec![], Faults::seeded(0x7219).with_latency(DELAY, 1.0));
        let w = World::all_proxied(&[], &proxy.url).await;
        Self { proxy, w }
    }

    /// Handle the change event and measure it.
    async fn event(&self, scenario: &str, operation: &str, name: &str) -> (Report, Depths) {
        self.proxy.clear_spans();
        let report = self.w.change(operation, name).await;
        let depths =
            Depths { source: self.proxy.depth(SOURCE), east: self.proxy.depth(EAST), west: self.proxy.depth(WEST) };
        eprintln!(
            "round trips, {scenario}: source {} ({SOURCE}), targets {} ({EAST}) and {} ({WEST})",
            depths.source, depths.east, depths.west
        );
        (report, depths)
    }

    /// A created replica, measured.
    async fn created(&self, leaf: &str) -> (String, Depths) {
        let name = self.w.name(leaf);
        self.w.put(SOURCE, Put::string(&name, "v1")).await;
        let (report, depths) = self.event("create", "Create", &name).await;
        for region in [EAST, WEST] {
            assert_eq!(outcome(&report, &name, region), "created", "{region}");
        }
        (name, depths)
    }
}

fn at_most(depths: &Depths, source: usize, target: usize) {
    assert!(depths.source <= source, "source: {depths:?}, at most {source}");
    assert!(depths.east <= target && depths.west <= target, "targets: {depths:?}, at most {target}");
}

#[tokio::test]
async fn a_create_is_two_round_trips_deep_at_a_target_and_three_at_the_source() {
    let t = Trips::new().await;
    let (_, depths) = t.created("create").await;
    at_most(&depths, 3, 2);
}

#[tokio::test]
async fn an_update_is_two_round_trips_deep_at_a_target_and_three_at_the_source() {
    let t = Trips::new().await;
    let (name, _) = t.created("update").await;
    t.w.put(SOURCE, Put::string(&name, "v2")).await;
    let (report, depths) = t.event("update", "Update", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated", "{region}");
        assert_eq!(t.w.get(region, &name).await.unwrap().value(), Some("v2"));
    }
    at_most(&depths, 3, 2);
}

/// The added tag is written beside the value, not after it.
#[tokio::test]
async fn an_update_with_a_new_tag_is_two_round_trips_deep_at_a_target() {
    let t = Trips::new().await;
    let (name, _) = t.created("update-tags").await;
    t.w.put(SOURCE, Put::string(&name, "v2")).await;
    t.w.tag(SOURCE, &name, &[("team", "blue")]).await;
    let (report, depths) = t.event("update with a new tag", "Update", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "updated", "{region}");
        assert_eq!(t.w.get(region, &name).await.unwrap().value(), Some("v2"));
        assert_eq!(t.w.tags_of(region, &name).await.get("team").map(String::as_str), Some("blue"), "{region}");
    }
    at_most(&depths, 3, 2);
}

/// The same event again: each target reads once and writes nothing; the source is read (two deep) and,
/// nothing having been written, not checked again.
#[tokio::test]
async fn a_replay_is_one_round_trip_deep_at_a_target_and_two_at_the_source() {
    let t = Trips::new().await;
    let (name, _) = t.created("replay").await;
    let (report, depths) = t.event("replay", "Create", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "unchanged", "{region}");
    }
    assert_eq!((depths.east, depths.west), (1, 1), "{depths:?}");
    assert_eq!(depths.source, 2, "{depths:?}");
}

#[tokio::test]
async fn a_delete_is_two_round_trips_deep_at_a_target() {
    let t = Trips::new().await;
    let (name, _) = t.created("delete").await;
    t.w.delete(SOURCE, &name).await;
    let (report, depths) = t.event("delete", "Delete", &name).await;
    for region in [EAST, WEST] {
        assert_eq!(outcome(&report, &name, region), "deleted", "{region}");
        assert!(t.w.get(region, &name).await.is_none(), "{region}");
    }
    assert!(depths.east <= 2 && depths.west <= 2, "{depths:?}");
}
