//! Recreation: an owned replica whose type (or Advanced → Standard tier) must change is deleted and
//! created again (the planner's `Action::Delete` then `Action::Put` without overwrite). SSM refuses to
//! create a name again for a while after it was deleted, so the create is retried with backoff for a
//! bounded time; the replica is absent in between.
//!
//! AWS: DeleteParameter API reference, "After deleting a parameter, wait for at least 30 seconds to create
//! a parameter with the same name."
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameter.html>. The refusal
//! is TooManyUpdates ("Failed to create the parameter since stale tags associated to the name detected.
//! Please retry in a while or change a parameter name."), as reported in awslabs/aws-orbit-workbench#1170;
//! TooManyUpdates is transient here (aws/errors.rs), so it is what this waits out.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::warn;

use crate::domain::{Action, ParameterName, Plan};
use crate::ports::StoreError;

/// How long, and how often, the create of a recreation is tried after the delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecreateWait {
    /// The wait between the delete and the first create: the documented window. A create tried earlier
    /// may be refused (TooManyUpdates, "stale tags associated to the name"), or race the deleted
    /// parameter's clean-up.
    pub settle: Duration,
    /// The first wait after a refused create; each following wait doubles, up to `cap`.
    pub first: Duration,
    pub cap: Duration,
    /// No create is tried once this much time has passed since the first one.
    pub total: Duration,
}

impl Default for RecreateWait {
    /// 30 s (the documented window), then a create every 2, 4, 8, 15, 15, … s if refused, for up to 90 s
    /// after the first one.
    fn default() -> Self {
        Self {
            settle: Duration::from_secs(30),
            first: Duration::from_secs(2),
            cap: Duration::from_secs(15),
            total: Duration::from_secs(90),
        }
    }
}

/// A plan that deletes the replica and creates it again: its create waits out SSM's window.
pub(crate) fn is_recreation(plan: &Plan) -> bool {
    plan.actions.iter().any(|a| matches!(a, Action::Delete))
        && plan.actions.iter().any(|a| matches!(a, Action::Put { overwrite: false, .. }))
}

impl RecreateWait {
    /// The longest a recreation's create can take after its delete: the settle wait, every try, and the
    /// last wait's worth of margin.
    pub(crate) fn longest(&self) -> Duration {
        self.settle + self.total + self.cap
    }

    /// Run `create` until it succeeds, fails permanently, or `total` has passed. A final failure says
    /// that the replica was deleted to be recreated: it stays absent until the next attempt (the next event
    /// or full sync, or Lambda's retry of a transient failure) creates it.
    pub(crate) async fn create<F, Fut>(&self, name: &ParameterName, mut create: F) -> Result<(), StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), StoreError>>,
    {
        tokio::time::sleep(self.settle).await;
        let start = Instant::now();
        let mut delay = self.first;
        loop {
            match create().await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_transient() && start.elapsed() + delay <= self.total => {
                    warn!(parameter = %name, target = %e.target, code = %e.code, "recreate: create refused after the delete, waiting");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2).min(self.cap);
                }
                Err(mut e) => {
                    e.code = format!("{} (deleted to be recreated: absent until the next attempt)", e.code);
                    return Err(e);
                }
            }
        }
    }
}
