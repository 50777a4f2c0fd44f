//! The ownership tag: which source a replica belongs to.

use super::parameter::Tags;

/// Tag every replica carries: `<account>/<region>` of its source.
pub const OWNER_TAG: &str = "ssm-replicator:source";

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
