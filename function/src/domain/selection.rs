//! Which parameters are replicated, and to which targets (DESIGN.md §3 Selection).

use super::name::ParameterName;
use super::ownership::OWNER_TAG;
use super::parameter::Tags;
use super::report::Reason;

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
    /// Replicate to these configured targets; `ignored` lists tag-named regions that are not targets.
    Replicate {
        targets: Vec<String>,
        ignored: Vec<String>,
    },
    Skip(Reason),
}

impl Selection {
    /// True when the name lies under one of the prefixes (pure name check, no tags needed).
    pub fn covers(&self, name: &ParameterName) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| name.is_under(p))
    }

    pub fn decide(&self, name: &ParameterName, tags: &Tags, targets: &[String]) -> Decision {
        if !self.covers(name) {
            return Decision::Skip(Reason::OutsidePrefixes);
        }
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
                let (chosen, ignored): (Vec<String>, Vec<String>) = list
                    .split(|c: char| c == ':' || c.is_whitespace())
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .partition(|r| targets.contains(r));
                // Keep the configured order and drop duplicates.
                let targets: Vec<String> = targets.iter().filter(|t| chosen.contains(t)).cloned().collect();
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

    fn targets() -> Vec<String> {
        vec!["us-east-2".into(), "eu-west-1".into()]
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
            let d = tagged(&[]).decide(&name("/a"), &tags(&[("replicate", v)]), &targets());
            assert_eq!(d, Decision::Replicate { targets: targets(), ignored: vec![] }, "{v}");
        }
    }

    #[test]
    fn absent_no_and_false_select_nothing_in_tagged_mode() {
        for t in [tags(&[]), tags(&[("replicate", "no")]), tags(&[("replicate", "False")])] {
            let d = tagged(&[]).decide(&name("/a"), &t, &targets());
            assert_eq!(d, Decision::Skip(Reason::NotSelected));
        }
    }

    #[test]
    fn a_region_list_selects_those_targets_and_ignores_unconfigured_ones() {
        let d = tagged(&[]).decide(&name("/a"), &tags(&[("replicate", "eu-west-1:ap-south-1")]), &targets());
        assert_eq!(d, Decision::Replicate { targets: vec!["eu-west-1".into()], ignored: vec!["ap-south-1".into()] });
    }

    #[test]
    fn all_mode_replicates_untagged_but_honours_no() {
        let mut s = tagged(&["/app"]);
        s.mode = SelectionMode::All;
        assert!(matches!(s.decide(&name("/app/x"), &tags(&[]), &targets()), Decision::Replicate { .. }));
        assert_eq!(
            s.decide(&name("/app/x"), &tags(&[("replicate", "no")]), &targets()),
            Decision::Skip(Reason::NotSelected)
        );
        assert_eq!(s.decide(&name("/other"), &tags(&[]), &targets()), Decision::Skip(Reason::OutsidePrefixes));
    }

    #[test]
    fn a_replica_is_never_a_source() {
        let t = tags(&[("replicate", "yes"), (OWNER_TAG, "1/us-east-1")]);
        assert_eq!(tagged(&[]).decide(&name("/a"), &t, &targets()), Decision::Skip(Reason::SourceIsReplica));
    }
}
