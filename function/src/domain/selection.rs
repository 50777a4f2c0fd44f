//! Which parameters are replicated, and to which targets (DESIGN.md §3 Selection).

use super::name::ParameterName;
use super::ownership::OWNER_TAG;
use super::parameter::Tags;
use super::report::Reason;
use super::target::{Target, TargetEntry};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectionMode {
    /// Replicate parameters whose selection tag says so.
    Tagged,
    /// Replicate everything under the prefixes unless tagged `no`/`false`.
    All,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub mode: SelectionMode,
    pub tag_key: String,
    /// Path prefixes that bound the selection; empty means every name.
    pub prefixes: Vec<String>,
}

/// The selection's verdict for one source parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Replicate to these configured targets; `ignored` lists tag entries that name no target.
    Replicate {
        targets: Vec<Target>,
        ignored: Vec<String>,
    },
    Skip(Reason),
}

impl Selection {
    /// True when the name lies under one of the prefixes (pure name check, no tags needed).
    pub fn covers(&self, name: &ParameterName) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| name.is_under(p))
    }

    /// Whether the selection tag holds a value this replicator cannot read (`y`, `enabled`, `eu_west_1`):
    /// neither yes/true, no/false, nor a list whose every entry is a region or `ACCOUNT/REGION`. It then
    /// selects nothing, but nothing is pruned on its word: a typo must not delete replicas.
    pub fn unclear(&self, tags: &Tags) -> bool {
        let Some(value) = tags.get(&self.tag_key).map(|v| v.trim().to_ascii_lowercase()) else { return false };
        if matches!(value.as_str(), "" | "yes" | "true" | "no" | "false") {
            return false;
        }
        value
            .split(|c: char| c == ':' || c.is_whitespace())
            .filter(|r| !r.is_empty())
            .any(|r| TargetEntry::parse(r).is_err())
    }

    /// The verdict for `name` with `tags`, among the configured `targets`; `own` is the replicator's
    /// account. A tag value that lists entries (`us-east-2:111111111111/eu-west-1`) selects the targets
    /// they name: a region entry names that region in every target account, `ACCOUNT/REGION` one target.
    pub fn decide(&self, name: &ParameterName, tags: &Tags, targets: &[Target], own: &str) -> Decision {
        if !self.covers(name) {
            return Decision::Skip(Reason::OutsidePrefixes);
        }
        self.decide_tags(tags, targets, own)
    }

    /// The verdict from the tags alone (the caller has checked the name against its own prefixes): how
    /// secrets are selected, by the same tag and values as parameters.
    pub fn decide_tags(&self, tags: &Tags, targets: &[Target], own: &str) -> Decision {
        if tags.contains_key(OWNER_TAG) {
            return Decision::Skip(Reason::SourceIsReplica);
        }
        let all = || Decision::Replicate { targets: targets.to_vec(), ignored: Vec::new() };
        let tag = tags.get(&self.tag_key).map(|v| v.trim().to_ascii_lowercase());
        match tag.as_deref() {
            None | Some("") => match self.mode {
                SelectionMode::All => all(),
                SelectionMode::Tagged => Decision::Skip(Reason::NotSelected),
            },
            Some("yes" | "true") => all(),
            Some("no" | "false") => Decision::Skip(Reason::NotSelected),
            Some(list) => {
                let mut entries = Vec::new();
                let mut ignored = Vec::new();
                for raw in list.split(|c: char| c == ':' || c.is_whitespace()).filter(|r| !r.is_empty()) {
                    match TargetEntry::parse(raw) {
                        Ok(entry) if targets.iter().any(|t| entry.names(t, own)) => entries.push(entry),
                        _ => ignored.push(raw.to_owned()),
                    }
                }
                // Keep the configured order and drop duplicates.
                let targets: Vec<Target> =
                    targets.iter().filter(|t| entries.iter().any(|e| e.names(t, own))).cloned().collect();
                if targets.is_empty() {
                    Decision::Skip(Reason::NotSelected)
                } else {
                    Decision::Replicate { targets, ignored }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: &str = "123456789012";

    fn targets() -> Vec<Target> {
        vec![Target::own("us-east-2"), Target::own("eu-west-1")]
    }

    fn tagged(prefixes: &[&str]) -> Selection {
        Selection {
            mode: SelectionMode::Tagged,
            tag_key: "replicate".into(),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn name(n: &str) -> ParameterName {
        ParameterName::parse(n).unwrap()
    }

    #[test]
    fn yes_and_true_select_every_target() {
        for v in ["yes", "TRUE", " true "] {
            let d = tagged(&[]).decide(&name("/a"), &tags(&[("replicate", v)]), &targets(), OWN);
            assert_eq!(d, Decision::Replicate { targets: targets(), ignored: vec![] }, "{v}");
        }
    }

    #[test]
    fn absent_no_and_false_select_nothing_in_tagged_mode() {
        for t in [tags(&[]), tags(&[("replicate", "no")]), tags(&[("replicate", "False")])] {
            let d = tagged(&[]).decide(&name("/a"), &t, &targets(), OWN);
            assert_eq!(d, Decision::Skip(Reason::NotSelected));
        }
    }

    #[test]
    fn a_region_list_selects_those_targets_and_ignores_unconfigured_ones() {
        let d = tagged(&[]).decide(&name("/a"), &tags(&[("replicate", "eu-west-1:ap-south-1")]), &targets(), OWN);
        assert_eq!(
            d,
            Decision::Replicate { targets: vec![Target::own("eu-west-1")], ignored: vec!["ap-south-1".into()] }
        );
    }

    #[test]
    fn entries_name_a_region_in_every_account_or_exactly_one_target() {
        let dr = Target::in_account("111111111111", "eu-west-1");
        let same_region = Target::in_account("111111111111", "us-east-1");
        let all = vec![Target::own("us-east-2"), Target::own("eu-west-1"), dr.clone(), same_region.clone()];
        let decide = |v: &str| tagged(&[]).decide(&name("/a"), &tags(&[("replicate", v)]), &all, OWN);
        let replicate = |targets: Vec<Target>, ignored: Vec<&str>| Decision::Replicate {
            targets,
            ignored: ignored.into_iter().map(str::to_owned).collect(),
        };
        assert_eq!(decide("eu-west-1"), replicate(vec![Target::own("eu-west-1"), dr.clone()], vec![]));
        assert_eq!(decide("111111111111/eu-west-1"), replicate(vec![dr.clone()], vec![]));
        assert_eq!(decide("123456789012/eu-west-1"), replicate(vec![Target::own("eu-west-1")], vec![]));
        assert_eq!(
            decide("111111111111/us-east-1 us-east-2:222222222222/us-east-2:nonsense"),
            replicate(vec![Target::own("us-east-2"), same_region], vec!["222222222222/us-east-2", "nonsense"])
        );
        assert_eq!(decide("222222222222/eu-west-1"), Decision::Skip(Reason::NotSelected));
    }

    #[test]
    fn all_mode_replicates_untagged_but_honours_no() {
        let mut s = tagged(&["/app"]);
        s.mode = SelectionMode::All;
        assert!(matches!(s.decide(&name("/app/x"), &tags(&[]), &targets(), OWN), Decision::Replicate { .. }));
        assert_eq!(
            s.decide(&name("/app/x"), &tags(&[("replicate", "no")]), &targets(), OWN),
            Decision::Skip(Reason::NotSelected)
        );
        assert_eq!(s.decide(&name("/other"), &tags(&[]), &targets(), OWN), Decision::Skip(Reason::OutsidePrefixes));
    }

    #[test]
    fn a_replica_is_never_a_source() {
        let t = tags(&[("replicate", "yes"), (OWNER_TAG, "1/us-east-1")]);
        assert_eq!(tagged(&[]).decide(&name("/a"), &t, &targets(), OWN), Decision::Skip(Reason::SourceIsReplica));
    }

    #[test]
    fn a_value_with_an_entry_that_is_no_target_name_is_unclear() {
        let s = Selection { mode: SelectionMode::Tagged, tag_key: "replicate".into(), prefixes: Vec::new() };
        let tags = |v: &str| Tags::from([("replicate".to_owned(), v.to_owned())]);
        for clear in ["yes", "No", "", "us-east-2", "us-east-2:111111111111/eu-west-1", "ap-south-2"] {
            assert!(!s.unclear(&tags(clear)), "{clear}");
        }
        for unclear in ["enabled", "y", "us-east-2:eu_west_1", "1"] {
            assert!(s.unclear(&tags(unclear)), "{unclear}");
        }
        assert!(!s.unclear(&Tags::new()));
    }
}
