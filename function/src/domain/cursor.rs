//! Where a full sync stands, so that a run cut short by its time budget can be handed on and resumed.

use serde::{Deserialize, Serialize};

use super::target::Target;

/// A position between two listing pages. Pages are processed whole before the cursor moves, so
/// resuming from it repeats no write and skips no parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Cursor {
    /// Comparing the source selection: `prefix` indexes the configured path prefixes.
    Source {
        prefix: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Looking for owned replicas whose source is gone, in `target` (one of the configured targets).
    Orphans {
        target: Target,
        prefix: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Comparing the selected secrets (SECRETS=true), after the parameters: `prefix` indexes the secret
    /// name prefixes (one listing each), `token` is a ListSecrets page token.
    Secrets {
        #[serde(default)]
        prefix: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Looking for owned copies of secrets whose source is gone, in `target` (a target in another account;
    /// only with deletes on): a ListSecrets page token there.
    SecretCopies {
        target: Target,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
}

/// Longest pagination token accepted in a cursor (AWS's are base64 text of a few hundred characters).
const MAX_TOKEN_LEN: usize = 4096;

impl Cursor {
    pub fn start() -> Self {
        Self::Source { prefix: 0, token: None }
    }

    /// A cursor arrives in an invocation payload: its token must look like a pagination token
    /// (non-empty base64/URL-safe text), or it would be sent to DescribeParameters as it is.
    pub fn token_is_plausible(&self) -> bool {
        let (Self::Source { token, .. }
        | Self::Orphans { token, .. }
        | Self::Secrets { token, .. }
        | Self::SecretCopies { token, .. }) = self;
        token.as_deref().is_none_or(|t| {
            !t.is_empty()
                && t.len() <= MAX_TOKEN_LEN
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=_-.:".contains(&b))
        })
    }
}

impl Default for Cursor {
    fn default() -> Self {
        Self::start()
    }
}
