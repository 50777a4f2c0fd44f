//! Counts API attempts per region and operation with an SDK interceptor (DESIGN.md §5: every run reports them).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Region → operation → attempts sent (retries included: they cost throughput too).
pub type CallCounts = BTreeMap<String, BTreeMap<String, u64>>;

/// Shared counter; one interceptor per regional client feeds it.
#[derive(Clone, Debug, Default)]
pub struct ApiCalls(Arc<Mutex<CallCounts>>);

impl ApiCalls {
    fn lock(&self) -> MutexGuard<'_, CallCounts> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn interceptor(&self, region: &str) -> CountCalls {
        CountCalls { region: region.to_owned(), calls: self.clone() }
    }

    pub fn snapshot(&self) -> CallCounts {
        self.lock().clone()
    }

    /// What was counted after `before` was taken (one invocation's worth).
    pub fn since(&self, before: &CallCounts) -> CallCounts {
        let mut out = CallCounts::new();
        for (region, ops) in self.lock().iter() {
            for (op, n) in ops {
                let prior = before.get(region).and_then(|o| o.get(op)).copied().unwrap_or(0);
                if *n > prior {
                    out.entry(region.clone()).or_default().insert(op.clone(), n - prior);
                }
            }
        }
        out
    }

    pub fn get(&self, region: &str, operation: &str) -> u64 {
        self.lock().get(region).and_then(|ops| ops.get(operation)).copied().unwrap_or(0)
    }

    /// Sum of the given operations over every region.
    pub fn total(&self, operations: &[&str]) -> u64 {
        self.lock()
            .values()
            .flat_map(|ops| ops.iter())
            .filter(|(op, _)| operations.contains(&op.as_str()))
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug)]
pub struct CountCalls {
    region: String,
    calls: ApiCalls,
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name).to_owned();
        *self.calls.lock().entry(self.region.clone()).or_default().entry(operation).or_default() += 1;
        Ok(())
    }
}
