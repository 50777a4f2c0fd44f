//! Parameter labels across regions: version numbers differ per region, so a label is mapped by content.
//!
//! A source label on version *v* goes on the newest replica version that *stands for* *v*: the same
//! value (both read with decryption), the same type, and the key the replicator maps *v*'s key to in that
//! target (String and StringList have no key). A label whose version has no counterpart (it predates
//! replication, or the replica's history was trimmed) is reported `label-version-missing`; a label on the
//! replica that the source does not have, or that sits on a version that does not stand for the source's,
//! is removed (a label resolving to another value than the source's is worse than none: `name:label`
//! then fails loudly instead of answering with the wrong value).
//!
//! SSM's label rules (LabelParameterVersion API reference, "Parameter labels have the following
//! requirements and restrictions"): a version holds at most 10 labels; one label is on one version of a
//! parameter at a time, and labelling another version *moves* it; a label is at most 100 characters of
//! letters, digits, `.`, `-`, `_`, and cannot begin with a digit, `aws` or `ssm`. A label the source holds
//! therefore satisfies them in a target too. Both calls take 1–10 labels
//! (LabelParameterVersion / UnlabelParameterVersion API reference, `Labels`: "Maximum number of 10 items").
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_LabelParameterVersion.html>
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_UnlabelParameterVersion.html>

use std::collections::{BTreeMap, BTreeSet};

use super::parameter::{ParameterType, Value};

/// Labels per LabelParameterVersion or UnlabelParameterVersion call.
pub const LABELS_PER_CALL: usize = 10;
/// Labels one parameter version may hold.
pub const MAX_LABELS_PER_VERSION: usize = 10;

/// One version of a parameter as GetParameterHistory returns it (value decrypted), with its labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub version: i64,
    pub value: Value,
    pub kind: ParameterType,
    /// As SSM reports it; `None` unless SecureString.
    pub key_id: Option<String>,
    pub labels: Vec<String>,
}

/// True when any version of this history carries a label.
pub fn has_labels(history: &[HistoryEntry]) -> bool {
    history.iter().any(|e| !e.labels.is_empty())
}

/// One label call: a version and up to `LABELS_PER_CALL` labels.
pub type LabelCall = (i64, Vec<String>);

/// A source label that has no counterpart in a target.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct MissingLabel {
    pub label: String,
    /// The source version it is on.
    pub source_version: i64,
}

/// What to change in one replica's labels. Detach first, then attach (a version holds at most 10 labels).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelPlan {
    /// Replica version → labels to remove from it (UnlabelParameterVersion).
    pub detach: BTreeMap<i64, BTreeSet<String>>,
    /// Replica version → labels to put on it (LabelParameterVersion, which moves a label held elsewhere).
    pub attach: BTreeMap<i64, BTreeSet<String>>,
    pub missing: Vec<MissingLabel>,
}

impl LabelPlan {
    /// Nothing to write (missing labels are reported, not written).
    pub fn writes_nothing(&self) -> bool {
        self.detach.is_empty() && self.attach.is_empty()
    }

    /// The calls this plan makes: (version, up to `LABELS_PER_CALL` labels), detaches then attaches.
    pub fn calls(&self) -> (Vec<LabelCall>, Vec<LabelCall>) {
        let chunked = |m: &BTreeMap<i64, BTreeSet<String>>| {
            m.iter()
                .flat_map(|(v, labels)| {
                    let labels: Vec<String> = labels.iter().cloned().collect();
                    labels.chunks(LABELS_PER_CALL).map(|c| (*v, c.to_vec())).collect::<Vec<_>>()
                })
                .collect()
        };
        (chunked(&self.detach), chunked(&self.attach))
    }
}

/// Map the source's labels onto a replica. `stands_for(v, r)`: replica version `r` stands for source
/// version `v` (same value and type, and the key `v`'s key maps to in this target).
pub fn plan_labels(
    source: &[HistoryEntry],
    replica: &[HistoryEntry],
    stands_for: impl Fn(&HistoryEntry, &HistoryEntry) -> bool,
) -> LabelPlan {
    let mut plan = LabelPlan::default();
    // Label → the replica version it must be on, and the source version it comes from.
    let mut wanted: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for v in source.iter().filter(|v| !v.labels.is_empty()) {
        let newest = replica.iter().filter(|r| stands_for(v, r)).map(|r| r.version).max();
        for label in &v.labels {
            match newest {
                Some(r) => {
                    wanted.insert(label, (r, v.version));
                }
                None => plan.missing.push(MissingLabel { label: label.clone(), source_version: v.version }),
            }
        }
    }
    // Label → the replica version it is on now.
    let current: BTreeMap<&str, i64> =
        replica.iter().flat_map(|r| r.labels.iter().map(move |l| (l.as_str(), r.version))).collect();
    // Several source versions may stand for one replica version (a value set back, a description-only
    // change), and a version holds at most 10 labels (LabelParameterVersion: "A parameter version can have
    // a maximum of ten labels"; ParameterVersionLabelLimitExceeded). The labels already there stay first,
    // then by name; the others are reported missing rather than failing the write every time.
    let mut per_version: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for (label, (to, _)) in &wanted {
        per_version.entry(*to).or_default().push(label);
    }
    for (to, mut labels) in per_version {
        if labels.len() <= MAX_LABELS_PER_VERSION {
            continue;
        }
        labels.sort_by_key(|l| (current.get(l) != Some(&to), *l));
        for label in labels.split_off(MAX_LABELS_PER_VERSION) {
            if let Some((_, from)) = wanted.remove(label) {
                plan.missing.push(MissingLabel { label: label.to_owned(), source_version: from });
            }
        }
    }
    plan.missing.sort();
    let wanted: BTreeMap<&str, i64> = wanted.into_iter().map(|(label, (to, _))| (label, to)).collect();
    for (label, on) in &current {
        if !wanted.contains_key(label) {
            plan.detach.entry(*on).or_default().insert((*label).to_owned());
        }
    }
    for (label, to) in wanted {
        if current.get(label) != Some(&to) {
            plan.attach.entry(to).or_default().insert(label.to_owned());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: i64, value: &str, labels: &[&str]) -> HistoryEntry {
        HistoryEntry {
            version,
            value: Value::new(value),
            kind: ParameterType::String,
            key_id: None,
            labels: labels.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn same(v: &HistoryEntry, r: &HistoryEntry) -> bool {
        v.value == r.value && v.kind == r.kind
    }

    fn set(labels: &[&str]) -> BTreeSet<String> {
        labels.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_label_goes_on_the_newest_replica_version_with_the_same_content() {
        let source = [entry(1, "a", &[]), entry(2, "b", &["old"]), entry(3, "a", &["prod"])];
        // The replica was written a, b, c, a (c: a write the source no longer shows).
        let replica = [entry(1, "a", &[]), entry(2, "b", &[]), entry(3, "c", &[]), entry(4, "a", &[])];
        let plan = plan_labels(&source, &replica, same);
        assert_eq!(plan.attach, BTreeMap::from([(2, set(&["old"])), (4, set(&["prod"]))]));
        assert!(plan.detach.is_empty() && plan.missing.is_empty());
        // Applied, it plans nothing more.
        let applied = [entry(1, "a", &[]), entry(2, "b", &["old"]), entry(3, "c", &[]), entry(4, "a", &["prod"])];
        assert!(plan_labels(&source, &applied, same).writes_nothing());
    }

    #[test]
    fn a_moved_label_is_attached_where_it_now_belongs_and_extra_labels_are_removed() {
        let source = [entry(1, "a", &["prod"]), entry(2, "b", &[])];
        let replica = [entry(1, "a", &["stale"]), entry(2, "b", &["prod"])];
        let plan = plan_labels(&source, &replica, same);
        assert_eq!(plan.attach, BTreeMap::from([(1, set(&["prod"]))]));
        assert_eq!(plan.detach, BTreeMap::from([(1, set(&["stale"]))]));
    }

    #[test]
    fn a_label_without_counterpart_is_missing_and_not_left_on_another_version() {
        let source = [entry(1, "before-replication", &["v1"]), entry(2, "now", &[])];
        let replica = [entry(1, "now", &["v1"])];
        let plan = plan_labels(&source, &replica, same);
        assert_eq!(plan.missing, vec![MissingLabel { label: "v1".into(), source_version: 1 }]);
        assert_eq!(plan.detach, BTreeMap::from([(1, set(&["v1"]))]));
        assert!(plan.attach.is_empty());
    }

    #[test]
    fn a_source_without_labels_removes_every_replica_label() {
        let plan = plan_labels(&[entry(1, "a", &[])], &[entry(1, "a", &["x", "y"])], same);
        assert_eq!(plan.detach, BTreeMap::from([(1, set(&["x", "y"]))]));
        assert!(!has_labels(&[entry(1, "a", &[])]));
    }

    #[test]
    fn calls_carry_at_most_ten_labels_and_a_version_holds_at_most_ten() {
        let many: Vec<String> = (0..12).map(|i| format!("l{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let source = [entry(1, "a", &refs)];
        let plan = plan_labels(&source, &[entry(5, "a", &[])], same);
        let (detach, attach) = plan.calls();
        assert!(detach.is_empty());
        assert_eq!(attach.iter().map(|(v, l)| (*v, l.len())).collect::<Vec<_>>(), vec![(5, 10)]);
        assert_eq!(plan.missing.len(), 2);
    }

    #[test]
    fn at_most_ten_labels_go_on_one_replica_version_and_the_rest_are_reported_missing() {
        // Twelve source versions with the same value, one label each: one replica version stands for all.
        let names: Vec<String> = (0..12).map(|i| format!("l{i:02}")).collect();
        let source: Vec<HistoryEntry> =
            names.iter().enumerate().map(|(i, l)| entry(i as i64 + 1, "same", &[l.as_str()])).collect();
        let replica = vec![entry(1, "same", &["l11"])];
        let plan = plan_labels(&source, &replica, same);
        let attached: usize = plan.attach.values().map(BTreeSet::len).sum();
        assert_eq!(attached, 9, "l11 stays, nine more join it: {plan:?}");
        assert_eq!(plan.missing.len(), 2, "{plan:?}");
        assert!(plan.detach.is_empty());
    }
}
