//! The replicas a full sync checks its pages against: one listing of each target's owned replicas per
//! invocation, kept as compact fingerprints (the version and a digest of the metadata), shared by the
//! checks of every page and by the decision to run the orphan pass.
//!
//! Why a listing per target and not a query per page: a filtered DescribeParameters examines the region's
//! parameters in listing order and filters afterwards ("between zero and MaxResults" items per call, and
//! MaxResults applied before the filters: boto3 #1079, #1632; google/go-cloud #3135), so a query per page
//! would cost a call per 50 parameters of the whole target region for every page: quadratic in the store.
//! One listing costs that once per target. See docs in `engine/full_sync.rs` for what a page then costs.
//!
//! Why a fingerprint can vouch for a replica: every change to a parameter's value or metadata goes through
//! PutParameter and makes a new version, so a replica still at the version listed has the metadata listed
//! (value and version come from GetParameters, which names each parameter; its tags from the tagging
//! API). A listing that is behind only costs reads: a replica written since the listing, or not listed
//! yet, has another version or no fingerprint, and is read whole. Nothing is ever deleted on a listing.
//!
//! Memory: about 48 bytes per owned replica per target (40 for a 128-bit name hash, the version, a 64-bit
//! metadata digest, an interned key id and a flag; the rest is the hash table's), whatever the names' lengths:
//! 110,000 replicas (the most one region holds: 10,000 standard and 100,000 advanced) take 131,072 slots
//! of 41 bytes, 5.4 MB per target.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use tracing::warn;

use super::super::Replicator;
use super::*;

/// What the index keeps of one owned replica.
struct Fingerprint {
    version: i64,
    meta: u64,
    /// Index into `ReplicaIndex::keys` (`u32::MAX`: none).
    key: u32,
    /// Its name was listed at the source in this invocation.
    seen: bool,
    /// Its source was listed and found not to select this target (tags confirmed with SSM).
    deselected: bool,
}

/// The owned replicas of one target, as its listing showed them.
#[derive(Default)]
pub(super) struct ReplicaIndex {
    entries: HashMap<NameHash, Fingerprint>,
    /// The distinct KMS key ids the replicas use (few per region), each once.
    keys: Vec<String>,
    /// Every page of every prefix was listed.
    pub(super) complete: bool,
}

/// A 128-bit digest of a name (two SipHash runs with different salts): collisions are out of reach at
/// 110,000 names. Two halves rather than a `u128`, whose 16-byte alignment would pad every entry.
type NameHash = (u64, u64);

fn name_hash(name: &ParameterName) -> NameHash {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        (salt, name.as_str()).hash(&mut h);
        h.finish()
    };
    (half(1), half(2))
}

/// A digest of the metadata the planner compares, except the key (compared through `TargetKey::matches`)
/// and the version.
fn meta_digest(m: &Metadata) -> u64 {
    let mut h = DefaultHasher::new();
    let policies: Vec<String> = m.policies.iter().map(ToString::to_string).collect();
    (m.kind.as_str(), &m.description, &m.allowed_pattern, &m.data_type, m.tier == Tier::Advanced, policies)
        .hash(&mut h);
    h.finish()
}

impl ReplicaIndex {
    fn insert(&mut self, meta: &Metadata) {
        let key = match meta.key_id.as_deref().filter(|_| meta.kind == ParameterType::SecureString) {
            None => u32::MAX,
            Some(id) => match self.keys.iter().position(|k| k == id) {
                Some(i) => u32::try_from(i).unwrap_or(u32::MAX),
                None => {
                    self.keys.push(id.to_owned());
                    u32::try_from(self.keys.len() - 1).unwrap_or(u32::MAX)
                }
            },
        };
        let fingerprint =
            Fingerprint { version: meta.version, meta: meta_digest(meta), key, seen: false, deselected: false };
        self.entries.insert(name_hash(&meta.name), fingerprint);
    }

    /// The listed key id of the replica of `desired`, when the listing vouches for the replica at
    /// `version`: same version, same metadata, and a key the desired one matches. `None`: read it whole.
    pub(super) fn vouch(&self, desired: &Desired, version: i64) -> Option<Option<String>> {
        let f = self.entries.get(&name_hash(&desired.parameter.name))?;
        if f.version != version || f.meta != meta_digest(&desired.parameter) {
            return None;
        }
        let key = self.keys.get(f.key as usize).cloned();
        let secure = desired.parameter.kind == ParameterType::SecureString;
        (!secure || desired.key.matches(key.as_deref())).then_some(key)
    }

    /// `name` was listed at the source.
    pub(super) fn mark_seen(&mut self, name: &ParameterName) {
        if let Some(f) = self.entries.get_mut(&name_hash(name)) {
            f.seen = true;
        }
    }

    /// `name`'s source was listed and does not select this target: if it has a replica here, the orphan
    /// pass must look at it.
    pub(super) fn mark_deselected(&mut self, name: &ParameterName) {
        if let Some(f) = self.entries.get_mut(&name_hash(name)) {
            f.deselected = true;
        }
    }

    /// Owned replicas listed in this target whose name the source listing did not show, or whose source
    /// no longer selects this target.
    pub(super) fn to_look_at(&self) -> usize {
        self.entries.values().filter(|f| !f.seen || f.deselected).count()
    }
}

/// The index of each target for this invocation, and whether it can tell that a target needs no orphan pass.
pub(super) struct ReplicaIndexes {
    pub(super) targets: Vec<ReplicaIndex>,
    /// Built before the first source page of the sync, so every source name was marked on it.
    pub(super) from_start: bool,
}

impl ReplicaIndexes {
    /// Whether target `i` may have orphans (or deselected replicas) to find: unknown unless its index is
    /// complete and was built before the source phase began.
    pub(super) fn needs_orphan_pass(&self, i: usize) -> bool {
        let Some(index) = self.targets.get(i) else { return true };
        !self.from_start || !index.complete || index.to_look_at() > 0
    }
}

impl<S: ParameterStore, K: KeyResolver, Z: SecretStore> Replicator<S, K, Z> {
    /// List every target's owned replicas (targets at once; one listing each, on the ownership tag: the
    /// configured prefixes are checked here, as each extra filtered listing would scan the region again),
    /// until done or until `stop` passes: an index cut short still vouches for what it holds, the rest is
    /// read whole.
    pub(super) async fn index_replicas(&self, stop: Option<Instant>) -> Vec<ReplicaIndex> {
        let query = Query { tags: vec![(OWNER_TAG.to_owned(), vec![self.owner.tag_value()])], ..Query::default() };
        join_all(self.targets.iter().map(|store| async {
            let mut index = ReplicaIndex::default();
            let mut token: Option<String> = None;
            let mut rejected = false;
            loop {
                if stop.is_some_and(|s| Instant::now() >= s) {
                    warn!(target = %store.target(), replicas = index.entries.len(), "replica listing cut short by the time budget: the rest are read one by one");
                    return index;
                }
                match self.list_page(store, &query, token.as_deref()).await {
                    Ok(page) => {
                        page.items.iter().filter(|m| self.config.selection.covers(&m.name)).for_each(|m| index.insert(m));
                        // A listed item the adapter cannot read is not indexed: the orphan pass must look.
                        rejected |= !page.rejected.is_empty();
                        match page.next {
                            Some(t) => token = Some(t),
                            None => break,
                        }
                    }
                    // Unlistable (its role cannot be assumed, or throttled past the retries): its
                    // replicas are read one by one, and its orphan pass meets the error itself.
                    Err(e) => {
                        warn!(target = %store.target(), error = %e, "replica listing failed: replicas are read one by one");
                        return index;
                    }
                }
            }
            index.complete = !rejected;
            index
        }))
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TargetKey, Value};

    fn meta(name: &str, version: i64, description: &str, key: Option<&str>) -> Metadata {
        Metadata {
            name: ParameterName::parse(name).unwrap(),
            kind: if key.is_some() { ParameterType::SecureString } else { ParameterType::String },
            key_id: key.map(str::to_owned),
            description: Some(description.to_owned()),
            allowed_pattern: None,
            data_type: "text".to_owned(),
            tier: Tier::Standard,
            policies: Vec::new(),
            version,
        }
    }

    fn desired(m: Metadata, key: TargetKey) -> Desired {
        Desired { parameter: m.with_value(Value::new("v")), key, tags: Tags::new() }
    }

    #[test]
    fn a_listed_replica_is_vouched_for_only_at_its_version_with_its_metadata_and_a_matching_key() {
        let mut index = ReplicaIndex::default();
        index.insert(&meta("/app/a", 3, "d", None));
        index.insert(&meta("/app/s", 7, "d", Some("alias/app")));
        let plain = desired(meta("/app/a", 0, "d", None), TargetKey::None);
        assert_eq!(index.vouch(&plain, 3), Some(None));
        assert_eq!(index.vouch(&plain, 4), None, "written since the listing");
        assert_eq!(index.vouch(&desired(meta("/app/a", 0, "other", None), TargetKey::None), 3), None);
        assert_eq!(index.vouch(&desired(meta("/app/b", 0, "d", None), TargetKey::None), 3), None, "not listed");
        let key = |k: &str| TargetKey::Key { write: k.to_owned(), equivalents: Vec::new() };
        let secure = desired(meta("/app/s", 0, "d", Some("alias/app")), key("alias/app"));
        assert_eq!(index.vouch(&secure, 7), Some(Some("alias/app".to_owned())));
        let moved = desired(meta("/app/s", 0, "d", Some("alias/new")), key("alias/new"));
        assert_eq!(index.vouch(&moved, 7), None, "the replica is on another key");
    }

    #[test]
    fn every_indexed_replica_must_be_seen_before_the_orphan_pass_can_be_skipped() {
        let mut index = ReplicaIndex { complete: true, ..ReplicaIndex::default() };
        index.insert(&meta("/app/a", 1, "d", None));
        index.insert(&meta("/app/b", 1, "d", None));
        index.mark_seen(&ParameterName::parse("/app/a").unwrap());
        let indexes = |index| ReplicaIndexes { targets: vec![index], from_start: true };
        let mut partly = indexes(index);
        assert!(partly.needs_orphan_pass(0), "/app/b was not listed at the source");
        partly.targets[0].mark_seen(&ParameterName::parse("/app/b").unwrap());
        assert!(!partly.needs_orphan_pass(0));
        partly.targets[0].mark_deselected(&ParameterName::parse("/app/other").unwrap());
        assert!(!partly.needs_orphan_pass(0), "a deselected source without a replica here changes nothing");
        partly.targets[0].mark_deselected(&ParameterName::parse("/app/a").unwrap());
        assert!(
            partly.needs_orphan_pass(0),
            "a deselected source with a replica here sends the target through the pass"
        );
        assert!(ReplicaIndexes { from_start: false, ..partly }.needs_orphan_pass(0), "resumed");
        let cut = ReplicaIndex { complete: false, ..ReplicaIndex::default() };
        assert!(indexes(cut).needs_orphan_pass(0), "a listing cut short proves nothing");
    }

    #[test]
    fn a_fingerprint_takes_40_bytes_whatever_the_name() {
        // With the hash table's control byte and its load factor (7/8), about 48 bytes per replica.
        assert_eq!(std::mem::size_of::<(NameHash, Fingerprint)>(), 48 - 8);
    }
}
