//! Typed configuration, parsed from a key lookup (the environment in Lambda, a map in tests).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::{ParameterName, Rules, Selection, SelectionMode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

fn invalid(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { var, problem: problem.into() }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub source_region: String,
    pub target_regions: Vec<String>,
    pub selection: Selection,
    /// Target region → KMS key id, alias or ARN to use there for every SecureString.
    pub kms_key_map: BTreeMap<String, String>,
    pub rules: Rules,
    pub replicate_ami_parameters: bool,
    /// Per-region limits this replicator keeps to (the SSM defaults: 40 read and about 3 write TPS).
    pub rates: Rates,
    /// Time a full sync leaves unused before the Lambda deadline (it hands on at the next page boundary).
    pub full_sync_reserve: Duration,
}

/// Requests per second, per region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rates {
    pub read: u32,
    pub write: u32,
}

impl Default for Rates {
    fn default() -> Self {
        Self { read: 40, write: 3 }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Every variable documented in README's configuration reference.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let source_region = match get("SOURCE_REGION").or_else(|| get("AWS_REGION")) {
            Some(r) => region("SOURCE_REGION", &r)?,
            None => return Err(invalid("SOURCE_REGION", "not set (nor AWS_REGION)")),
        };

        let raw =
            get("TARGET_REGIONS").ok_or_else(|| invalid("TARGET_REGIONS", "required, e.g. us-east-2,eu-west-1"))?;
        let mut target_regions = Vec::new();
        for r in list(&raw) {
            let r = region("TARGET_REGIONS", r)?;
            if r == source_region {
                return Err(invalid("TARGET_REGIONS", format!("'{r}' is the source region")));
            }
            if target_regions.contains(&r) {
                return Err(invalid("TARGET_REGIONS", format!("'{r}' is listed twice")));
            }
            target_regions.push(r);
        }
        if target_regions.is_empty() {
            return Err(invalid("TARGET_REGIONS", "lists no region"));
        }

        let mode = match get("SELECTION_MODE").as_deref() {
            None | Some("tagged") => SelectionMode::Tagged,
            Some("all") => SelectionMode::All,
            Some(other) => {
                return Err(invalid("SELECTION_MODE", format!("'{}' is not 'tagged' or 'all'", clip(other))))
            }
        };
        let tag_key = get("SELECTION_TAG").unwrap_or_else(|| "replicate".to_owned());
        if tag_key.len() > 128 || tag_key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid(
                "SELECTION_TAG",
                "must be a tag key of at most 128 characters, not starting with aws:",
            ));
        }

        let mut prefixes = Vec::new();
        for p in list(&get("PATH_PREFIXES").unwrap_or_default()) {
            if p != "/" && (!p.starts_with('/') || ParameterName::parse(p.trim_end_matches('/')).is_err()) {
                return Err(invalid("PATH_PREFIXES", format!("'{}' is not a parameter path such as /app/", clip(p))));
            }
            prefixes.push(p.to_owned());
        }

        let mut kms_key_map = BTreeMap::new();
        for pair in list(&get("KMS_KEY_MAP").unwrap_or_default()) {
            let (r, key) = pair
                .split_once('=')
                .ok_or_else(|| invalid("KMS_KEY_MAP", format!("'{}' is not region=key", clip(pair))))?;
            let r = region("KMS_KEY_MAP", r.trim())?;
            if !target_regions.contains(&r) {
                return Err(invalid("KMS_KEY_MAP", format!("'{r}' is not one of TARGET_REGIONS")));
            }
            if key.trim().is_empty() {
                return Err(invalid("KMS_KEY_MAP", format!("no key given for '{r}'")));
            }
            kms_key_map.insert(r, key.trim().to_owned());
        }

        Ok(Self {
            source_region,
            target_regions,
            selection: Selection { mode, tag_key, prefixes },
            kms_key_map,
            rules: Rules {
                delete_replicas: flag(&get, "DELETE_REPLICAS", true)?,
                // In `all` mode nobody chose each parameter, and a same-name parameter already in a
                // target is often a deliberately regional value: left alone unless asked. In `tagged`
                // mode the tag is the choice.
                adopt_unmanaged: flag(&get, "ADOPT_UNMANAGED", mode == SelectionMode::Tagged)?,
            },
            replicate_ami_parameters: flag(&get, "REPLICATE_AMI_PARAMETERS", false)?,
            full_sync_reserve: Duration::from_secs(u64::from(number(&get, "FULL_SYNC_RESERVE_SECONDS", 90, 1..=600)?)),
            rates: Rates {
                read: rate(&get, "READ_TPS", Rates::default().read)?,
                write: rate(&get, "WRITE_TPS", Rates::default().write)?,
            },
        })
    }
}

fn list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn flag(get: &impl Fn(&str) -> Option<String>, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "yes" | "1") => Ok(true),
        Some("false" | "no" | "0") => Ok(false),
        Some(other) => Err(invalid(var, format!("'{}' is not true or false", clip(other)))),
    }
}

fn rate(get: &impl Fn(&str) -> Option<String>, var: &'static str, default: u32) -> Result<u32, ConfigError> {
    number(get, var, default, 1..=10_000)
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(invalid(
                var,
                format!("'{}' is not a whole number from {} to {}", clip(&v), range.start(), range.end()),
            )),
        },
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-4`: letters, dashes, a final number.
fn region(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let parts: Vec<&str> = raw.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts.last().is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid(var, format!("'{}' is not an AWS region name such as us-east-2", clip(raw))))
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

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_documentation() {
        let c = parse(&[("AWS_REGION", "us-east-1"), ("TARGET_REGIONS", "us-east-2, eu-west-1")]).unwrap();
        assert_eq!(c.source_region, "us-east-1");
        assert_eq!(c.target_regions, vec!["us-east-2", "eu-west-1"]);
        assert_eq!(c.selection.mode, SelectionMode::Tagged);
        assert_eq!(c.selection.tag_key, "replicate");
        assert!(c.selection.prefixes.is_empty());
        assert_eq!(c.rules, Rules { delete_replicas: true, adopt_unmanaged: true });
        let all = parse(&[("SOURCE_REGION", "us-east-1"), ("TARGET_REGIONS", "us-east-2"), ("SELECTION_MODE", "all")])
            .unwrap();
        assert!(!all.rules.adopt_unmanaged, "all mode adopts nothing unless asked");
        let asked = parse(&[
            ("SOURCE_REGION", "us-east-1"),
            ("TARGET_REGIONS", "us-east-2"),
            ("SELECTION_MODE", "all"),
            ("ADOPT_UNMANAGED", "true"),
        ])
        .unwrap();
        assert!(asked.rules.adopt_unmanaged);
        assert!(!c.replicate_ami_parameters);
        assert_eq!(c.rates, Rates { read: 40, write: 3 });
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let base = [("AWS_REGION", "us-east-1"), ("TARGET_REGIONS", "us-east-2")];
        let cases: &[(&str, &str, &str)] = &[
            ("TARGET_REGIONS", "", "TARGET_REGIONS"),
            ("TARGET_REGIONS", "useast2", "TARGET_REGIONS"),
            ("TARGET_REGIONS", "us-east-1", "TARGET_REGIONS"),
            ("TARGET_REGIONS", "us-east-2,us-east-2", "TARGET_REGIONS"),
            ("SELECTION_MODE", "some", "SELECTION_MODE"),
            ("SELECTION_TAG", "aws:x", "SELECTION_TAG"),
            ("PATH_PREFIXES", "app", "PATH_PREFIXES"),
            ("KMS_KEY_MAP", "us-east-2", "KMS_KEY_MAP"),
            ("KMS_KEY_MAP", "eu-west-3=alias/x", "KMS_KEY_MAP"),
            ("DELETE_REPLICAS", "maybe", "DELETE_REPLICAS"),
            ("ADOPT_UNMANAGED", "2", "ADOPT_UNMANAGED"),
            ("REPLICATE_AMI_PARAMETERS", "y", "REPLICATE_AMI_PARAMETERS"),
            ("READ_TPS", "0", "READ_TPS"),
            ("WRITE_TPS", "fast", "WRITE_TPS"),
            ("FULL_SYNC_RESERVE_SECONDS", "9999", "FULL_SYNC_RESERVE_SECONDS"),
        ];
        for (var, value, named) in cases {
            let mut pairs: Vec<(&str, &str)> = base.iter().copied().filter(|(k, _)| k != var).collect();
            pairs.push((var, value));
            let err = parse(&pairs).unwrap_err();
            assert_eq!(err.var, *named, "{var}={value}: {err}");
            assert!(err.to_string().starts_with(named));
        }
        assert_eq!(parse(&[("TARGET_REGIONS", "us-east-2")]).unwrap_err().var, "SOURCE_REGION");
    }

    #[test]
    fn kms_map_and_prefixes_parse() {
        let c = parse(&[
            ("SOURCE_REGION", "us-east-1"),
            ("TARGET_REGIONS", "us-east-2,eu-west-1"),
            ("KMS_KEY_MAP", "eu-west-1=alias/eu-key"),
            ("PATH_PREFIXES", "/app/,/shared"),
            ("SELECTION_MODE", "all"),
        ])
        .unwrap();
        assert_eq!(c.kms_key_map.get("eu-west-1").map(String::as_str), Some("alias/eu-key"));
        assert_eq!(c.selection.prefixes, vec!["/app/", "/shared"]);
        assert_eq!(c.selection.mode, SelectionMode::All);
    }
}
