//! What DescribeParameters (`ParameterMetadata`) and GetParameterHistory (`ParameterHistory`) both say
//! about a parameter, read the same way by the SSM store.

use aws_sdk_ssm::types::{
    ParameterHistory, ParameterInlinePolicy, ParameterMetadata, ParameterTier, ParameterType as SdkType,
};

/// What DescribeParameters (`ParameterMetadata`) and GetParameterHistory (`ParameterHistory`) both
/// say about a parameter.
pub(super) trait Described {
    fn name(&self) -> Option<&str>;
    fn kind(&self) -> Option<&SdkType>;
    fn key_id(&self) -> Option<&str>;
    fn description(&self) -> Option<&str>;
    fn allowed_pattern(&self) -> Option<&str>;
    fn data_type(&self) -> Option<&str>;
    fn tier(&self) -> Option<&ParameterTier>;
    fn policies(&self) -> &[ParameterInlinePolicy];
    fn version(&self) -> i64;
}

macro_rules! described {
    ($t:ty) => {
        impl Described for $t {
            fn name(&self) -> Option<&str> {
                <$t>::name(self)
            }
            fn kind(&self) -> Option<&SdkType> {
                <$t>::r#type(self)
            }
            fn key_id(&self) -> Option<&str> {
                <$t>::key_id(self)
            }
            fn description(&self) -> Option<&str> {
                <$t>::description(self)
            }
            fn allowed_pattern(&self) -> Option<&str> {
                <$t>::allowed_pattern(self)
            }
            fn data_type(&self) -> Option<&str> {
                <$t>::data_type(self)
            }
            fn tier(&self) -> Option<&ParameterTier> {
                <$t>::tier(self)
            }
            fn policies(&self) -> &[ParameterInlinePolicy] {
                <$t>::policies(self)
            }
            fn version(&self) -> i64 {
                <$t>::version(self)
            }
        }
    };
}

described!(ParameterMetadata);
described!(ParameterHistory);

/// A policy's text as JSON. AWS returns JSON; the emulator returns a Python literal (single quotes),
/// which is accepted when it holds no double quotes of its own. Anything else is unreadable.
pub(super) fn parse_policy(policy: &ParameterInlinePolicy) -> Option<serde_json::Value> {
    let text = policy.policy_text()?;
    serde_json::from_str(text)
        .ok()
        .or_else(|| (!text.contains('"')).then(|| serde_json::from_str(&text.replace('\'', "\"")).ok()).flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_from_json_and_from_the_emulators_literal() {
        let json = r#"{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-12-02T21:34:33.000Z"}}"#;
        let literal =
            "{'Type': 'Expiration', 'Version': '1.0', 'Attributes': {'Timestamp': '2030-12-02T21:34:33.000Z'}}";
        let a = parse_policy(&ParameterInlinePolicy::builder().policy_text(json).build());
        let b = parse_policy(&ParameterInlinePolicy::builder().policy_text(literal).build());
        assert!(a.is_some());
        assert_eq!(a, b);
        let broken = ParameterInlinePolicy::builder().policy_text("{'a': \"b'}").build();
        assert_eq!(parse_policy(&broken), None);
    }
}
