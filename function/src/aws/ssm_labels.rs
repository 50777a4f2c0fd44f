//! Labels over the SSM API: a parameter's whole history with labels, LabelParameterVersion and
//! UnlabelParameterVersion. Used only when labels are replicated (REPLICATE_LABELS).

use super::{kind_of, SsmStore};
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
        let Some(history) = self.history_pages(name, true).await? else { return Ok(None) };
        let mut entries = Vec::with_capacity(history.len());
        for h in history {
            let Some(kind) = kind_of(h.r#type()) else {
                return Err(self.permanent("GetParameterHistory", "UnsupportedParameterType", Reason::Validation));
            };
            entries.push(HistoryEntry {
                version: h.version(),
                value: Value::new(h.value().unwrap_or_default()),
                kind,
                key_id: h.key_id().filter(|k| !k.is_empty() && kind == ParameterType::SecureString).map(str::to_owned),
                labels: h.labels().to_vec(),
            });
        }
        entries.sort_by_key(|e| e.version);
        Ok(Some(entries))
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
