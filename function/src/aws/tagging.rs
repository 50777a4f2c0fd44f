//! Parameter tags in bulk: the Resource Groups Tagging API's GetResources, asked by ARN.
//!
//! What AWS documents about it, and what the engine does with it (engine/full_sync.rs):
//! - `ResourceARNList` takes 1 to 100 ARNs; "If a resource specified by this parameter doesn't exist, it
//!   doesn't generate an error; it simply isn't included in the response."
//!   <https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html>
//! - It cannot be combined with `TagFilters`, `ResourceTypeFilters` or the pagination parameters
//!   (`PaginationToken` included: an `InvalidParameterException`), so a request carries the ARNs alone and
//!   its answer cannot be continued. Should an answer still carry a `PaginationToken`, the token is not
//!   followed (alone it would ask another question: a listing of the region); the answer is marked
//!   incomplete, and the names it left out are read one by one.
//! - It lists resources "that are currently tagged or ever had a tag": a parameter that never had a tag
//!   is absent, one whose tags were all removed is present with an empty list.
//! - It is eventually consistent: it is an index, fed by the services, and may not show a change for a
//!   while (the tagging API user guide: changes "might not be immediately visible").
//!
//! So an answer is a hint, never proof: an absent parameter may have no tags, or not be indexed yet. The
//! engine confirms with SSM's own ListTagsForResource whenever the answer would unselect a parameter.
//!
//! IAM: `tag:GetResources` supports no resource-level permissions (Resource `*`), and the caller needs
//! no SSM permission for it (Service Authorization Reference, "Actions defined by Amazon Resource Group
//! Tagging API").

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::Client;

use super::errors::classify;
use crate::domain::{ParameterName, Tags};
use crate::ports::{BulkTags, StoreResult};

/// Most ARNs one GetResources request may name.
pub const ARNS_PER_CALL: usize = 100;
/// The tagging API of one region and account, and what an ARN there looks like.
#[derive(Clone)]
pub struct TagIndex {
    client: Client,
    region: String,
    account: String,
}

impl TagIndex {
    pub fn new(client: Client, region: &str, account: &str) -> Self {
        Self { client, region: region.to_owned(), account: account.to_owned() }
    }

    /// Tags of those of `names` that the index knows, in one request per 100 names. `label`: the store
    /// as reports name it.
    pub async fn tags(&self, names: &[ParameterName], label: &str) -> StoreResult<BulkTags> {
        let mut out = BulkTags { found: BTreeMap::new(), complete: true };
        for chunk in names.chunks(ARNS_PER_CALL) {
            let by_arn: BTreeMap<String, &ParameterName> =
                chunk.iter().map(|n| (n.arn(&self.region, &self.account), n)).collect();
            let request = self.client.get_resources().set_resource_arn_list(Some(by_arn.keys().cloned().collect()));
            let answer = request.send().await.map_err(|e| classify("GetResources", label, &e))?;
            for mapping in answer.resource_tag_mapping_list() {
                let Some(name) = mapping.resource_arn().and_then(|arn| by_arn.get(arn)) else { continue };
                let tags: Tags = mapping.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
                out.found.insert((*name).clone(), tags);
            }
            if answer.pagination_token().is_some_and(|t| !t.is_empty()) {
                out.complete = false;
            }
        }
        Ok(out)
    }
}
