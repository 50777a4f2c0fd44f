//! Error classes: transient errors are retried and then fail the invocation; permanent ones stay per target.

use ssm_replicator::handler::HandlerError;

use crate::faults::{FaultProxy, Rule};
use crate::support::*;

#[tokio::test]
async fn too_many_updates_is_retried_then_fails_the_invocation_while_other_targets_complete() {
    let faulty = FaultProxy::start(&endpoint(), vec![Rule::fail("PutParameter", "TooManyUpdates")]);
    let w = World::proxied(&[], EAST, &faulty.url).await;
    let name = w.name("contended");
    w.put(SOURCE, Put::string(&name, "v")).await;

    let err = w.invoke(change_event("Update", &name)).await.unwrap_err();
    assert!(matches!(err, HandlerError::Transient { count: 1, .. }), "{err}");
    assert!(err.to_string().contains(&format!("{name} → us-east-2")), "{err}");
    assert!(err.to_string().contains("so that Lambda retries it"), "{err}");
    // Our retry policy made 3 attempts; the SDK itself does not retry TooManyUpdates.
    assert_eq!(faulty.failed("PutParameter"), 3);
    // The healthy target was written regardless.
    assert_eq!(w.get(WEST, &name).await.unwrap().value(), Some("v"));
}

#[tokio::test]
async fn a_permanent_error_is_reported_per_target_without_failing_the_invocation() {
    let faulty = FaultProxy::start(&endpoint(), vec![Rule::fail("PutParameter", "ParameterLimitExceeded")]);
    let w = World::proxied(&[], EAST, &faulty.url).await;
    let name = w.name("full-region");
    w.put(SOURCE, Put::string(&name, "v")).await;

    let report = w.invoke(change_event("Create", &name)).await.unwrap();
    assert_eq!(outcome(&report, &name, EAST), "failed:parameter-limit");
    assert_eq!(outcome(&report, &name, WEST), "created");
    assert_eq!(faulty.failed("PutParameter"), 1, "permanent errors are not retried");
}
