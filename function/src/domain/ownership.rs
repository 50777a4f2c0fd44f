//! The ownership tag: which source a replica belongs to.

use sha2::{Digest, Sha256};

use super::name::ParameterName;
use super::parameter::{user_tags, Tags};

/// Tag every replica carries: `<account>/<region>` of its source.
pub const OWNER_TAG: &str = "ssm-replicator:source";

/// Tag every replica carries: a digest of its name and the source tags it was written with. A full sync
/// finds tag drift by filtering on it (DescribeParameters `tag:` filter) instead of reading replica tags.
pub const TAGS_DIGEST_TAG: &str = "ssm-replicator:tags";

/// The tags this tool writes for its own bookkeeping.
pub fn is_bookkeeping(key: &str) -> bool {
    key == OWNER_TAG || key == TAGS_DIGEST_TAG
}

/// 16 hex digits of SHA-256 over the name and the user tags (sorted), each length-prefixed.
/// The name is included so that one replica can never match another parameter's digest.
pub fn tags_digest(name: &ParameterName, tags: &Tags) -> String {
    let mut hash = Sha256::new();
    let mut field = |s: &str| {
        hash.update((s.len() as u64).to_be_bytes());
        hash.update(s.as_bytes());
    };
    field(name.as_str());
    for (k, v) in user_tags(tags).filter(|(k, _)| !is_bookkeeping(k)) {
        field(k);
        field(v);
    }
    let digest = hash.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The source this replicator serves, as written into the ownership tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub account: String,
    pub region: String,
}

/// Whose a stored parameter is, judged by its ownership tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// A replica of this source.
    Ours,
    /// A replica of another source (another account or region).
    Other,
    /// No ownership tag: created by someone else.
    Unmanaged,
}

impl Owner {
    pub fn tag_value(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }

    pub fn of(&self, tags: &Tags) -> Ownership {
        match tags.get(OWNER_TAG) {
            None => Ownership::Unmanaged,
            Some(v) if *v == self.tag_value() => Ownership::Ours,
            Some(_) => Ownership::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_depends_on_name_and_tags_only() {
        let name = ParameterName::parse("/a").unwrap();
        let tags: Tags = [("k".to_string(), "v".to_string())].into();
        let d = tags_digest(&name, &tags);
        assert_eq!(d.len(), 16);
        let mut with_bookkeeping = tags.clone();
        with_bookkeeping.insert(OWNER_TAG.into(), "1/us-east-1".into());
        assert_eq!(tags_digest(&name, &with_bookkeeping), d);
        assert_ne!(tags_digest(&ParameterName::parse("/b").unwrap(), &tags), d);
        let other: Tags = [("k".to_string(), "w".to_string())].into();
        assert_ne!(tags_digest(&name, &other), d);
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        let a: Tags = [("ab".to_string(), "c".to_string())].into();
        let b: Tags = [("a".to_string(), "bc".to_string())].into();
        assert_ne!(tags_digest(&name, &a), tags_digest(&name, &b));
    }

    #[test]
    fn ownership_is_read_from_the_tag() {
        let me = Owner { account: "111122223333".into(), region: "us-east-1".into() };
        let mut tags = Tags::new();
        assert_eq!(me.of(&tags), Ownership::Unmanaged);
        tags.insert(OWNER_TAG.into(), "111122223333/us-east-1".into());
        assert_eq!(me.of(&tags), Ownership::Ours);
        tags.insert(OWNER_TAG.into(), "111122223333/eu-west-1".into());
        assert_eq!(me.of(&tags), Ownership::Other);
    }
}
