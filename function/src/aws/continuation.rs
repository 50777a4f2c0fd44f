//! `Continuation` over Lambda: the function invokes itself asynchronously with the cursor.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_lambda::Client;

use super::errors::classify;
use crate::ports::{Continuation, StoreResult};

pub struct LambdaContinuation {
    client: Client,
    region: String,
    /// The function's own name or ARN (`AWS_LAMBDA_FUNCTION_NAME` in Lambda).
    function: String,
}

impl LambdaContinuation {
    pub fn new(client: Client, region: &str, function: &str) -> Self {
        Self { client, region: region.to_owned(), function: function.to_owned() }
    }
}

impl Continuation for LambdaContinuation {
    async fn hand_off(&self, payload: &serde_json::Value) -> StoreResult<()> {
        self.client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|e| classify("Invoke", &self.region, &e))?;
        Ok(())
    }
}
