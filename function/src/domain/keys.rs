//! SecureString keys across regions (DESIGN.md §3 SecureString keys): never copy a key id.

use super::parameter::DEFAULT_KMS_ALIAS;

/// What the source's key asks for in a target region, before asking KMS there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyRequest {
    /// The AWS managed default key (`alias/aws/ssm`) of the target.
    Default,
    /// An operator-mapped key for this target (KMS_KEY_MAP): key id, alias or ARN.
    Mapped(String),
    /// The alias of the same name in the target (`alias/...`).
    Alias(String),
    /// The replica of a multi-Region key: same key id (`mrk-...`) in the target.
    MultiRegion(String),
    /// A single-Region key given by id or ARN: look up its alias in the source, then use that alias.
    AliasOf(String),
}

/// How a replica must be encrypted in one target, after KMS confirmed the key exists there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetKey {
    /// Not a SecureString.
    None,
    /// The target's default key: omit `KeyId` on PutParameter.
    Default,
    /// A customer key: write `write`; any of `equivalents` (id, ARN, alias, alias ARN) already matches.
    Key { write: String, equivalents: Vec<String> },
}

impl TargetKey {
    /// True when a replica whose `KeyId` reads `stored` is already encrypted as required.
    pub fn matches(&self, stored: Option<&str>) -> bool {
        match self {
            Self::None => true,
            Self::Default => stored.is_none_or(|k| k == DEFAULT_KMS_ALIAS || k.ends_with(":alias/aws/ssm")),
            Self::Key { write, equivalents } => {
                stored.is_some_and(|k| k == write || equivalents.iter().any(|e| e == k))
            }
        }
    }

    /// The `KeyId` to send on PutParameter.
    pub fn to_write(&self) -> Option<&str> {
        match self {
            Self::Key { write, .. } => Some(write),
            _ => None,
        }
    }
}

/// Decide what to ask for in `target`: the explicit map wins, then the default key, alias, MRK replica.
pub fn request_for(source_key: Option<&str>, mapped: Option<&str>) -> KeyRequest {
    if let Some(m) = mapped {
        return KeyRequest::Mapped(m.to_owned());
    }
    let Some(key) = source_key else { return KeyRequest::Default };
    // Strip an ARN down to its resource part: `alias/x` or `key/<id>`.
    let resource = key.rsplit_once(':').map_or(key, |(_, r)| r);
    if resource == DEFAULT_KMS_ALIAS {
        KeyRequest::Default
    } else if resource.starts_with("alias/") {
        KeyRequest::Alias(resource.to_owned())
    } else {
        let id = resource.strip_prefix("key/").unwrap_or(resource);
        if id.starts_with("mrk-") {
            KeyRequest::MultiRegion(id.to_owned())
        } else {
            KeyRequest::AliasOf(id.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_maps_to_the_target_default() {
        assert_eq!(request_for(None, None), KeyRequest::Default);
        assert_eq!(request_for(Some("alias/aws/ssm"), None), KeyRequest::Default);
        assert_eq!(request_for(Some("arn:aws:kms:us-east-1:111122223333:alias/aws/ssm"), None), KeyRequest::Default);
    }

    #[test]
    fn aliases_map_to_the_same_alias_and_mrks_to_their_replica() {
        assert_eq!(request_for(Some("alias/app"), None), KeyRequest::Alias("alias/app".into()));
        assert_eq!(request_for(Some("arn:aws:kms:us-east-1:1:alias/app"), None), KeyRequest::Alias("alias/app".into()));
        assert_eq!(
            request_for(Some("arn:aws:kms:us-east-1:1:key/mrk-123"), None),
            KeyRequest::MultiRegion("mrk-123".into())
        );
        assert_eq!(request_for(Some("1234-abcd"), None), KeyRequest::AliasOf("1234-abcd".into()));
    }

    #[test]
    fn the_explicit_map_overrides_everything() {
        assert_eq!(request_for(Some("alias/app"), Some("alias/other")), KeyRequest::Mapped("alias/other".into()));
        assert_eq!(request_for(None, Some("k")), KeyRequest::Mapped("k".into()));
    }

    #[test]
    fn key_matching_accepts_equivalent_spellings() {
        assert!(TargetKey::Default.matches(None));
        assert!(TargetKey::Default.matches(Some("alias/aws/ssm")));
        assert!(!TargetKey::Default.matches(Some("alias/app")));
        let k = TargetKey::Key { write: "alias/app".into(), equivalents: vec!["arn:k".into()] };
        assert!(k.matches(Some("alias/app")));
        assert!(k.matches(Some("arn:k")));
        assert!(!k.matches(Some("alias/aws/ssm")));
        assert!(!k.matches(None));
    }
}
