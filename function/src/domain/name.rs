//! `ParameterName`: a validated SSM parameter name.

use std::fmt;

use serde::Serialize;

/// Longest name SSM accepts (including the path).
const MAX_LEN: usize = 2048;
/// Longest fully qualified name (the parameter's ARN) SSM accepts: "The maximum length constraint of
/// 1011 characters … includes the characters in the ARN that precede the name you specify", e.g.
/// `arn:aws:ssm:us-east-2:111122223333:parameter/`.
/// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html>
pub const MAX_ARN_LEN: usize = 1011;
/// Deepest hierarchy SSM accepts.
const MAX_LEVELS: usize = 15;

/// Why a string is not a valid parameter name. Messages never echo the whole input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("is {0} characters long (at most {MAX_LEN})")]
    TooLong(usize),
    #[error("contains {0:?}, which is not allowed (only a-z A-Z 0-9 _ . - /)")]
    InvalidChar(char),
    #[error("begins with the reserved prefix 'aws' or 'ssm'")]
    ReservedPrefix,
    #[error("has {0} hierarchy levels (at most {MAX_LEVELS})")]
    TooDeep(usize),
    #[error("has an empty path segment ('//' or a trailing '/')")]
    EmptySegment,
}

/// A parameter name that SSM would accept: `[a-zA-Z0-9_.\-/]`, no `aws`/`ssm` prefix, at most 15 levels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ParameterName(String);

impl ParameterName {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.is_empty() {
            return Err(NameError::Empty);
        }
        let len = raw.chars().count();
        if len > MAX_LEN {
            return Err(NameError::TooLong(len));
        }
        if let Some(bad) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))) {
            return Err(NameError::InvalidChar(bad));
        }
        let body = raw.strip_prefix('/').unwrap_or(raw);
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("aws") || lower.starts_with("ssm") {
            return Err(NameError::ReservedPrefix);
        }
        if raw.starts_with('/') && body.split('/').any(str::is_empty) {
            return Err(NameError::EmptySegment);
        }
        let levels = body.split('/').count();
        if levels > MAX_LEVELS {
            return Err(NameError::TooDeep(levels));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A name exactly as SSM listed it, valid or not, so that a listed item the parser rejects can be
    /// reported under its own name (and fail alone) instead of vanishing. Never built from user input.
    pub fn listed(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The parameter's ARN in `region` of `account`. Names without a leading `/` get one after
    /// `parameter`, as SSM writes them.
    pub fn arn(&self, region: &str, account: &str) -> String {
        let partition = partition_of(region);
        let slash = if self.0.starts_with('/') { "" } else { "/" };
        format!("arn:{partition}:ssm:{region}:{account}:parameter{slash}{}", self.0)
    }

    /// SSM's name limit counts the ARN prefix, which differs by region and account, so one name can be
    /// valid in us-east-1 and too long in ap-southeast-2. `Err` carries the ARN's length.
    pub fn fits_in(&self, region: &str, account: &str) -> Result<(), usize> {
        let len = self.arn(region, account).chars().count();
        if len > MAX_ARN_LEN {
            Err(len)
        } else {
            Ok(())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the name lies at or below `prefix` (a path such as `/app` or `/app/`; `/` matches all).
    pub fn is_under(&self, prefix: &str) -> bool {
        let prefix = prefix.trim_end_matches('/');
        prefix.is_empty() || self.0 == prefix || self.0.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
    }
}

/// The partition of a region, as ARNs name it (regions of the isolated partitions included, since the ARN's
/// length decides whether a name fits).
pub fn partition_of(region: &str) -> &'static str {
    match region {
        r if r.starts_with("cn-") => "aws-cn",
        r if r.starts_with("us-gov-") => "aws-us-gov",
        r if r.starts_with("us-isob-") => "aws-iso-b",
        r if r.starts_with("us-isof-") => "aws-iso-f",
        r if r.starts_with("eu-isoe-") => "aws-iso-e",
        r if r.starts_with("us-iso-") => "aws-iso",
        _ => "aws",
    }
}

impl fmt::Display for ParameterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hierarchical_and_flat_names() {
        for ok in ["/app/db/url", "flat", "/a", "/a.b-c_d/e"] {
            assert!(ParameterName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_invalid_names_with_a_reason() {
        assert_eq!(ParameterName::parse(""), Err(NameError::Empty));
        assert_eq!(ParameterName::parse("/a b"), Err(NameError::InvalidChar(' ')));
        assert_eq!(ParameterName::parse("/aws/x"), Err(NameError::ReservedPrefix));
        assert_eq!(ParameterName::parse("SSMthing"), Err(NameError::ReservedPrefix));
        assert_eq!(ParameterName::parse("/a//b"), Err(NameError::EmptySegment));
        let deep = "/x".repeat(16);
        assert_eq!(ParameterName::parse(&deep), Err(NameError::TooDeep(16)));
        let long = format!("/{}", "a".repeat(MAX_LEN));
        assert!(matches!(ParameterName::parse(&long), Err(NameError::TooLong(_))));
    }

    #[test]
    fn the_arn_limit_depends_on_the_region() {
        let account = "123456789012";
        // "arn:aws:ssm:us-east-1:123456789012:parameter" is 44 characters, ap-southeast-2's is 49.
        let short = "arn:aws:ssm:us-east-1:123456789012:parameter".len();
        let name = ParameterName::parse(&format!("/{}", "a".repeat(MAX_ARN_LEN - short - 1))).unwrap();
        assert_eq!(name.fits_in("us-east-1", account), Ok(()));
        assert_eq!(name.fits_in("ap-southeast-2", account), Err(MAX_ARN_LEN + 5));
        let flat = ParameterName::parse("flat").unwrap();
        assert_eq!(flat.arn("us-east-1", account), "arn:aws:ssm:us-east-1:123456789012:parameter/flat");
        assert_eq!(flat.arn("cn-north-1", account), "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/flat");
        assert_eq!(flat.arn("us-isob-east-1", account), "arn:aws-iso-b:ssm:us-isob-east-1:123456789012:parameter/flat");
        assert_eq!(flat.arn("us-iso-east-1", account), "arn:aws-iso:ssm:us-iso-east-1:123456789012:parameter/flat");
    }

    #[test]
    fn prefix_match_respects_path_boundaries() {
        let name = ParameterName::parse("/app/db").unwrap();
        assert!(name.is_under("/app"));
        assert!(name.is_under("/app/"));
        assert!(name.is_under("/"));
        assert!(name.is_under("/app/db"));
        assert!(!name.is_under("/ap"));
        assert!(!name.is_under("/app/d"));
    }
}
