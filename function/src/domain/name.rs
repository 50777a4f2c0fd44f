//! `ParameterName`: a validated SSM parameter name.

use std::fmt;

use serde::Serialize;

/// Longest name SSM accepts (including the path).
const MAX_LEN: usize = 2048;
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

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the name lies at or below `prefix` (a path such as `/app` or `/app/`; `/` matches all).
    pub fn is_under(&self, prefix: &str) -> bool {
        let prefix = prefix.trim_end_matches('/');
        prefix.is_empty() || self.0 == prefix || self.0.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
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
