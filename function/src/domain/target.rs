//! Where replicas go: a region of the replicator's own account, or a region of another account
//! (DESIGN.md §3 Targets). One value everywhere a target is meant: configuration, selection, KMS
//! mapping, stores, reports and the full-sync cursor.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A target: `us-east-2` (the replicator's own account) or `111111111111/eu-west-1` (another account,
/// reached through a role there; its region may be the source region).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    /// `None`: the replicator's own account.
    pub account: Option<String>,
    pub region: String,
}

/// Why a target (or a selection entry) could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("'{0}' is not an AWS region name such as us-east-2")]
    Region(String),
    #[error("'{0}' is not a 12-digit AWS account id")]
    Account(String),
}

impl Target {
    /// A region of the replicator's own account.
    pub fn own(region: &str) -> Self {
        Self { account: None, region: region.to_owned() }
    }

    /// A region of another account.
    pub fn in_account(account: &str, region: &str) -> Self {
        Self { account: Some(account.to_owned()), region: region.to_owned() }
    }

    /// `REGION` or `ACCOUNT/REGION`.
    pub fn parse(raw: &str) -> Result<Self, TargetError> {
        let raw = raw.trim();
        match raw.split_once('/') {
            None => Ok(Self::own(&region(raw)?)),
            Some((account, r)) => Ok(Self::in_account(&account_id(account)?, &region(r)?)),
        }
    }

    /// True when this target is in another account than the replicator's.
    pub fn is_other_account(&self) -> bool {
        self.account.is_some()
    }

    /// The account this target is in, given the replicator's own.
    pub fn account_or<'a>(&'a self, own: &'a str) -> &'a str {
        self.account.as_deref().unwrap_or(own)
    }

    /// The same target with an explicit account equal to `own` written as the own-account form, so that
    /// `123456789012/us-east-2` and `us-east-2` are one target when 123456789012 is the replicator's.
    pub fn normalized(self, own: &str) -> Self {
        match &self.account {
            Some(a) if a == own => Self::own(&self.region),
            _ => self,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.account {
            None => f.write_str(&self.region),
            Some(account) => write!(f, "{account}/{}", self.region),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// One entry of a per-target selection tag value (`us-east-2:111111111111/eu-west-1`): a region (that
/// region in every target account that has it) or exactly one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetEntry {
    Region(String),
    Exactly(Target),
}

impl TargetEntry {
    pub fn parse(raw: &str) -> Result<Self, TargetError> {
        let target = Target::parse(raw)?;
        Ok(match target.account {
            None => Self::Region(target.region),
            Some(_) => Self::Exactly(target),
        })
    }

    /// True when this entry names `target`; `own` is the replicator's account.
    pub fn names(&self, target: &Target, own: &str) -> bool {
        match self {
            Self::Region(r) => *r == target.region,
            Self::Exactly(t) => t.region == target.region && t.account_or(own) == target.account_or(own),
        }
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`: letters, dashes, a final number.
pub fn region(raw: &str) -> Result<String, TargetError> {
    let parts: Vec<&str> = raw.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts.last().is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(TargetError::Region(clip(raw)))
    }
}

fn account_id(raw: &str) -> Result<String, TargetError> {
    if raw.len() == 12 && raw.bytes().all(|b| b.is_ascii_digit()) {
        Ok(raw.to_owned())
    } else {
        Err(TargetError::Account(clip(raw)))
    }
}

/// Echo at most 64 characters of bad input.
pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() > 64 {
        format!("{}…", s.chars().take(64).collect::<String>())
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_and_print_as_written() {
        for raw in ["us-east-2", "111111111111/eu-west-1", "222222222222/us-east-1"] {
            assert_eq!(Target::parse(raw).unwrap().to_string(), raw);
        }
        assert_eq!(Target::parse(" us-east-2 ").unwrap(), Target::own("us-east-2"));
        assert!(Target::parse("111111111111/eu-west-1").unwrap().is_other_account());
    }

    #[test]
    fn bad_targets_name_what_is_wrong() {
        assert_eq!(Target::parse("useast2"), Err(TargetError::Region("useast2".into())));
        assert_eq!(Target::parse("1111/eu-west-1"), Err(TargetError::Account("1111".into())));
        assert_eq!(Target::parse("111111111111/"), Err(TargetError::Region(String::new())));
        assert_eq!(Target::parse("111111111111/eu-west-1/x"), Err(TargetError::Region("eu-west-1/x".into())));
    }

    #[test]
    fn the_own_account_written_out_is_the_own_account() {
        let t = Target::parse("123456789012/us-east-2").unwrap();
        assert_eq!(t.clone().normalized("123456789012"), Target::own("us-east-2"));
        assert_eq!(t.clone().normalized("999999999999"), t);
    }

    #[test]
    fn a_region_entry_names_that_region_in_every_account_and_an_exact_entry_one_target() {
        let own = "123456789012";
        let (here, there) = (Target::own("eu-west-1"), Target::in_account("111111111111", "eu-west-1"));
        let region = TargetEntry::parse("eu-west-1").unwrap();
        assert!(region.names(&here, own) && region.names(&there, own));
        let exact = TargetEntry::parse("111111111111/eu-west-1").unwrap();
        assert!(!exact.names(&here, own) && exact.names(&there, own));
        let mine = TargetEntry::parse("123456789012/eu-west-1").unwrap();
        assert!(mine.names(&here, own) && !mine.names(&there, own));
    }
}
