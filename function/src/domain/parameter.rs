//! The parameter as the core sees it: one region's view, without tags.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::name::ParameterName;

/// Tag key to tag value. Ordered so reports and plans are stable.
pub type Tags = BTreeMap<String, String>;

/// Tag key prefix reserved by AWS: such tags cannot be written or removed by callers.
pub const AWS_TAG_PREFIX: &str = "aws:";

/// A parameter value. It never prints: `Debug` and `Display` show `<redacted>`.
#[derive(Clone)]
pub struct Value(SecretString);

impl Value {
    pub fn new(plain: impl Into<String>) -> Self {
        Self(SecretString::from(plain.into()))
    }

    /// The plaintext, for the one place that must send it (the SSM adapter) and for comparisons.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Value {}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
}

impl ParameterType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::StringList => "StringList",
            Self::SecureString => "SecureString",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Tier {
    Standard,
    Advanced,
}

/// Data type that SSM validates asynchronously against the region's AMIs.
pub const AMI_DATA_TYPE: &str = "aws:ec2:image";
pub const DEFAULT_DATA_TYPE: &str = "text";
/// The AWS managed key SSM uses when no key is given.
pub const DEFAULT_KMS_ALIAS: &str = "alias/aws/ssm";

/// What SSM keeps about one version of a parameter besides its value (DescribeParameters' and
/// GetParameterHistory's fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub name: ParameterName,
    pub kind: ParameterType,
    /// As SSM reports it (`alias/aws/ssm`, an alias, a key id or an ARN); `None` unless SecureString.
    pub key_id: Option<String>,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    pub data_type: String,
    pub tier: Tier,
    /// Each policy as a JSON value, in order; empty when the parameter has none.
    pub policies: Vec<serde_json::Value>,
    /// The version these fields belong to (0 for a parameter not read from SSM, e.g. a desired replica).
    pub version: i64,
}

/// One region's copy of a parameter: its metadata and its value (read with decryption), without its tags.
/// Its metadata's fields read as its own (`parameter.kind`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    pub meta: Metadata,
    pub value: Value,
}

impl std::ops::Deref for Parameter {
    type Target = Metadata;

    fn deref(&self) -> &Metadata {
        &self.meta
    }
}

impl std::ops::DerefMut for Parameter {
    fn deref_mut(&mut self) -> &mut Metadata {
        &mut self.meta
    }
}

impl Metadata {
    /// The whole parameter, given the value read (with decryption) at the same version.
    pub fn with_value(self, value: Value) -> Parameter {
        let kind = self.kind;
        Parameter { meta: Self { key_id: self.key_id.filter(|_| kind == ParameterType::SecureString), ..self }, value }
    }
}

impl Parameter {
    /// The `Policies` string PutParameter expects (a JSON array), `[]` for none.
    pub fn policies_json(&self) -> String {
        serde_json::Value::Array(self.policies.clone()).to_string()
    }
}

/// Tags a caller may write: everything but the `aws:` system tags.
pub fn user_tags(tags: &Tags) -> impl Iterator<Item = (&String, &String)> {
    tags.iter().filter(|(k, _)| !k.starts_with(AWS_TAG_PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_never_prints() {
        let v = Value::new("hunter2");
        assert_eq!(format!("{v:?}"), "<redacted>");
        assert_eq!(v.expose(), "hunter2");
    }
}
