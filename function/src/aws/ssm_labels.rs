//! Labels over the SSM API: a parameter's whole history with labels, LabelParameterVersion and
//! UnlabelParameterVersion. Used only when labels are replicated (REPLICATE_LABELS).

use aws_sdk_ssm::types::ParameterType as SdkType;

use super::{SsmStore, PAGE_SIZE};
use crate::aws::errors::{classify, code_of};
use crate::domain::labels::HistoryEntry;
use crate::domain::{ParameterName, ParameterType, Reason, Value};
use crate::ports::{ErrorClass, StoreError, StoreResult};

/// A label call named a version the history no longer holds (trimmed past 100 versions, or not there
/// yet): transient, so that the engine plans again on a fresh history.
const VERSION_GONE: &str = "ParameterVersionNotFound";

impl SsmStore {
    /// GetParameterHistory with decryption, every page (at most 100 versions are kept, 50 per page):
    /// "Labels" of each version are returned with it, and only here (DescribeParameters has none).
    /// `None`: ParameterNotFound for this name.
    /// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameterHistory.html>
    pub(super) async fn labelled_history(&self, name: &ParameterName) -> StoreResult<Option<Vec<HistoryEntry>>> {
        let mut token: Option<String> = None;
        let mut entries = Vec::new();
        loop {
            self.read_slot().await;
            let out = self
                .client
                .get_parameter_history()
                .name(name.as_str())
                .with_decryption(true)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await;
            let out = match out {
                Ok(out) => out,
                Err(e) if code_of(&e) == Some("ParameterNotFound") => return Ok(None),
                Err(e) => return Err(classify("GetParameterHistory", &self.label, &e)),
            };
            for h in out.parameters() {
                let kind = match h.r#type() {
                    Some(SdkType::String) => ParameterType::String,
                    Some(SdkType::StringList) => ParameterType::StringList,
                    Some(SdkType::SecureString) => ParameterType::SecureString,
                    _ => {
                        return Err(self.permanent(
                            "GetParameterHistory",
                            "UnsupportedParameterType",
                            Reason::Validation,
                        ))
                    }
                };
                entries.push(HistoryEntry {
                    version: h.version(),
                    value: Value::new(h.value().unwrap_or_default()),
                    kind,
                    key_id: h
                        .key_id()
                        .filter(|k| !k.is_empty() && kind == ParameterType::SecureString)
                        .map(str::to_owned),
                    labels: h.labels().to_vec(),
                });
            }
            token = out.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                entries.sort_by_key(|e| e.version);
                return Ok(Some(entries));
            }
        }
    }

    /// LabelParameterVersion: "You can move a label from one version of a parameter to another"; a label
    /// that fails the label rules is not attached and comes back in `InvalidLabels` (API reference).
    pub(super) async fn label_version(&self, name: &ParameterName, version: i64, labels: &[String]) -> StoreResult<()> {
        self.write_slot().await;
        let out = self
            .client
            .label_parameter_version()
            .name(name.as_str())
            .parameter_version(version)
            .set_labels(Some(labels.to_vec()))
            .send()
            .await
            .map_err(|e| self.label_error("LabelParameterVersion", &e))?;
        if !out.invalid_labels().is_empty() {
            return Err(self.permanent("LabelParameterVersion", "InvalidLabels", Reason::Validation));
        }
        Ok(())
    }

    /// UnlabelParameterVersion. A label no longer on that version comes back in `InvalidLabels` ("The
    /// labels that aren't attached to the given parameter version"): already gone, which is the goal.
    pub(super) async fn unlabel_version(
        &self,
        name: &ParameterName,
        version: i64,
        labels: &[String],
    ) -> StoreResult<()> {
        self.write_slot().await;
        self.client
            .unlabel_parameter_version()
            .name(name.as_str())
            .parameter_version(version)
            .set_labels(Some(labels.to_vec()))
            .send()
            .await
            .map_err(|e| self.label_error("UnlabelParameterVersion", &e))?;
        Ok(())
    }

    fn label_error<E, R>(&self, operation: &'static str, e: &aws_sdk_ssm::error::SdkError<E, R>) -> StoreError
    where
        E: aws_sdk_ssm::error::ProvideErrorMetadata,
        R: crate::aws::errors::HasStatus,
    {
        if code_of(e) == Some(VERSION_GONE) {
            return StoreError {
                operation,
                target: self.label.clone(),
                code: VERSION_GONE.into(),
                class: ErrorClass::Transient,
            };
        }
        classify(operation, &self.label, e)
    }
}
