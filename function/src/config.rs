//! Typed configuration, parsed from a key lookup (the environment in Lambda, a map in tests).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::domain::secret::SecretName;
use crate::domain::target::{self, Target};
use crate::domain::{ParameterName, Rules, Selection, SelectionMode};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// ListSecrets takes at most 10 values per filter.
/// <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html>
const MAX_SECRET_PREFIXES: usize = 10;

/// The role assumed in other target accounts unless TARGET_ROLE_NAME says otherwise.
pub const DEFAULT_TARGET_ROLE: &str = "ssm-replicator-target";

fn invalid(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { var, problem: problem.into() }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub source_region: String,
    /// Where replicas go, in the configured order: regions of this account and `ACCOUNT/REGION`s.
    pub targets: Vec<Target>,
    /// Role assumed in every other target account (`arn:<partition>:iam::<ACCOUNT>:role/<name>`).
    pub target_role_name: String,
    pub selection: Selection,
    /// Target → KMS key id, alias or ARN to use there for every SecureString.
    pub kms_key_map: BTreeMap<Target, String>,
    pub rules: Rules,
    pub replicate_ami_parameters: bool,
    /// Map the source's labels onto each replica's versions by content (REPLICATE_LABELS, default off: it
    /// costs a GetParameterHistory per parameter on every full sync).
    pub replicate_labels: bool,
    /// Replicate Secrets Manager secrets too (SECRETS, default off).
    pub secrets: bool,
    /// Secret name prefixes (SECRET_PREFIXES, e.g. `prod/`): only secrets whose names start with one of
    /// them are replicated. Required when SECRETS is on (IAM is scoped to them).
    pub secret_prefixes: Vec<String>,
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

        if get("TARGET_REGIONS").is_some() {
            return Err(invalid("TARGET_REGIONS", "renamed TARGETS (regions and ACCOUNT/REGION targets)"));
        }
        let raw =
            get("TARGETS").ok_or_else(|| invalid("TARGETS", "required, e.g. us-east-2,111111111111/eu-west-1"))?;
        let mut targets = Vec::new();
        for t in list(&raw) {
            let t = Target::parse(t).map_err(|e| invalid("TARGETS", e.to_string()))?;
            if t == Target::own(&source_region) {
                return Err(invalid("TARGETS", format!("'{t}' is the source region of this account")));
            }
            if targets.contains(&t) {
                return Err(invalid("TARGETS", format!("'{t}' is listed twice")));
            }
            targets.push(t);
        }
        if targets.is_empty() {
            return Err(invalid("TARGETS", "lists no target"));
        }
        let target_role_name = get("TARGET_ROLE_NAME").unwrap_or_else(|| DEFAULT_TARGET_ROLE.to_owned());
        if !is_role_name(&target_role_name) {
            return Err(invalid(
                "TARGET_ROLE_NAME",
                format!("'{}' is not an IAM role name (1-64 of letters, digits and +=,.@_-)", clip(&target_role_name)),
            ));
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
            let (t, key) = pair
                .split_once('=')
                .ok_or_else(|| invalid("KMS_KEY_MAP", format!("'{}' is not target=key", clip(pair))))?;
            let t = Target::parse(t).map_err(|e| invalid("KMS_KEY_MAP", e.to_string()))?;
            if !targets.contains(&t) {
                return Err(invalid("KMS_KEY_MAP", format!("'{t}' is not one of TARGETS")));
            }
            if key.trim().is_empty() {
                return Err(invalid("KMS_KEY_MAP", format!("no key given for '{t}'")));
            }
            kms_key_map.insert(t, key.trim().to_owned());
        }

        let secrets = flag(&get, "SECRETS", false)?;
        let mut secret_prefixes = Vec::new();
        for p in list(&get("SECRET_PREFIXES").unwrap_or_default()) {
            SecretName::parse(p).map_err(|e| {
                invalid("SECRET_PREFIXES", format!("'{}' is not a secret name prefix: it {e}", clip(p)))
            })?;
            secret_prefixes.push(p.to_owned());
        }
        if secrets && secret_prefixes.is_empty() {
            return Err(invalid("SECRET_PREFIXES", "required when SECRETS is true, e.g. prod/,shared/"));
        }
        if secret_prefixes.len() > MAX_SECRET_PREFIXES {
            return Err(invalid(
                "SECRET_PREFIXES",
                format!(
                    "lists {} prefixes; ListSecrets filters take at most {MAX_SECRET_PREFIXES}",
                    secret_prefixes.len()
                ),
            ));
        }

        Ok(Self {
            source_region,
            secrets,
            secret_prefixes,
            targets,
            target_role_name,
            selection: Selection { mode, tag_key, prefixes },
            kms_key_map,
            rules: Rules {
                delete_replicas: flag(&get, "DELETE_REPLICAS", true)?,
                // In `all` mode nobody chose each parameter, and a same-name parameter already in a
                // target is often a deliberately regional value: left alone unless asked. In `tagged`
                // mode the tag is the choice.
                adopt_unmanaged: flag(&get, "ADOPT_UNMANAGED", mode == SelectionMode::Tagged)?,
                recreate: flag(&get, "RECREATE_REPLICAS", false)?,
                prune: flag(&get, "PRUNE_DESELECTED", false)?,
            },
            replicate_ami_parameters: flag(&get, "REPLICATE_AMI_PARAMETERS", false)?,
            replicate_labels: flag(&get, "REPLICATE_LABELS", false)?,
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

fn region(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    target::region(raw).map_err(|e| invalid(var, e.to_string()))
}

/// IAM role names: "Use alphanumeric and '+=,.@-_' characters. Maximum 64 characters."
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>
fn is_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

pub(crate) use crate::domain::target::clip;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_documentation() {
        let c = parse(&[("AWS_REGION", "us-east-1"), ("TARGETS", "us-east-2, eu-west-1")]).unwrap();
        assert_eq!(c.source_region, "us-east-1");
        assert_eq!(c.targets, vec![Target::own("us-east-2"), Target::own("eu-west-1")]);
        assert_eq!(c.target_role_name, "ssm-replicator-target");
        assert_eq!(c.selection.mode, SelectionMode::Tagged);
        assert_eq!(c.selection.tag_key, "replicate");
        assert!(c.selection.prefixes.is_empty());
        assert_eq!(c.rules, Rules { delete_replicas: true, adopt_unmanaged: true, recreate: false, prune: false });
        let all =
            parse(&[("SOURCE_REGION", "us-east-1"), ("TARGETS", "us-east-2"), ("SELECTION_MODE", "all")]).unwrap();
        assert!(!all.rules.adopt_unmanaged, "all mode adopts nothing unless asked");
        let asked = parse(&[
            ("SOURCE_REGION", "us-east-1"),
            ("TARGETS", "us-east-2"),
            ("SELECTION_MODE", "all"),
            ("ADOPT_UNMANAGED", "true"),
        ])
        .unwrap();
        assert!(asked.rules.adopt_unmanaged);
        assert!(!c.replicate_ami_parameters);
        assert!(!c.replicate_labels, "labels cost a history read per parameter: off unless asked");
        assert_eq!(c.rates, Rates { read: 40, write: 3 });
    }

    #[test]
    fn recreation_and_pruning_are_off_unless_asked() {
        let base = [("AWS_REGION", "us-east-1"), ("TARGETS", "us-east-2")];
        let both =
            parse(&[&base[..], &[("RECREATE_REPLICAS", "true"), ("PRUNE_DESELECTED", "true")]].concat()).unwrap();
        assert!(both.rules.recreate && both.rules.prune);
        let e = parse(&[&base[..], &[("PRUNE_DESELECTED", "maybe")]].concat()).unwrap_err();
        assert_eq!(e.var, "PRUNE_DESELECTED");
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let base = [("AWS_REGION", "us-east-1"), ("TARGETS", "us-east-2")];
        let long = "r".repeat(65);
        let cases: &[(&str, &str, &str)] = &[
            ("TARGETS", "", "TARGETS"),
            ("TARGETS", "useast2", "TARGETS"),
            ("TARGETS", "us-east-1", "TARGETS"),
            ("TARGETS", "us-east-2,us-east-2", "TARGETS"),
            ("TARGETS", "1111/us-east-2", "TARGETS"),
            ("TARGETS", "111111111111/us-east-2,111111111111/us-east-2", "TARGETS"),
            ("TARGET_REGIONS", "us-east-2", "TARGET_REGIONS"),
            ("TARGET_ROLE_NAME", "has spaces", "TARGET_ROLE_NAME"),
            ("TARGET_ROLE_NAME", long.as_str(), "TARGET_ROLE_NAME"),
            ("KMS_KEY_MAP", "111111111111/us-east-2=alias/x", "KMS_KEY_MAP"),
            ("SELECTION_MODE", "some", "SELECTION_MODE"),
            ("SELECTION_TAG", "aws:x", "SELECTION_TAG"),
            ("PATH_PREFIXES", "app", "PATH_PREFIXES"),
            ("KMS_KEY_MAP", "us-east-2", "KMS_KEY_MAP"),
            ("KMS_KEY_MAP", "eu-west-3=alias/x", "KMS_KEY_MAP"),
            ("DELETE_REPLICAS", "maybe", "DELETE_REPLICAS"),
            ("ADOPT_UNMANAGED", "2", "ADOPT_UNMANAGED"),
            ("REPLICATE_AMI_PARAMETERS", "y", "REPLICATE_AMI_PARAMETERS"),
            ("REPLICATE_LABELS", "on", "REPLICATE_LABELS"),
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
        assert_eq!(parse(&[("TARGETS", "us-east-2")]).unwrap_err().var, "SOURCE_REGION");
    }

    #[test]
    fn other_accounts_are_targets_in_any_region_with_their_own_key_map_entries() {
        let c = parse(&[
            ("SOURCE_REGION", "us-east-1"),
            ("TARGETS", "us-east-2,111111111111/us-east-1,111111111111/us-west-2"),
            ("TARGET_ROLE_NAME", "replica-writer"),
            ("KMS_KEY_MAP", "111111111111/us-west-2=alias/dr,us-east-2=alias/here"),
        ])
        .unwrap();
        let dr = Target::in_account("111111111111", "us-west-2");
        assert_eq!(
            c.targets,
            vec![Target::own("us-east-2"), Target::in_account("111111111111", "us-east-1"), dr.clone()]
        );
        assert_eq!(c.target_role_name, "replica-writer");
        assert_eq!(c.kms_key_map.get(&dr).map(String::as_str), Some("alias/dr"));
        assert_eq!(c.kms_key_map.get(&Target::own("us-east-2")).map(String::as_str), Some("alias/here"));
        assert_eq!(c.kms_key_map.len(), 2);
    }

    #[test]
    fn kms_map_and_prefixes_parse() {
        let c = parse(&[
            ("SOURCE_REGION", "us-east-1"),
            ("TARGETS", "us-east-2,eu-west-1"),
            ("KMS_KEY_MAP", "eu-west-1=alias/eu-key"),
            ("PATH_PREFIXES", "/app/,/shared"),
            ("SELECTION_MODE", "all"),
        ])
        .unwrap();
        assert_eq!(c.kms_key_map.get(&Target::own("eu-west-1")).map(String::as_str), Some("alias/eu-key"));
        assert_eq!(c.selection.prefixes, vec!["/app/", "/shared"]);
        assert_eq!(c.selection.mode, SelectionMode::All);
    }
}
