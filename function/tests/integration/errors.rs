//! Error classes: transient errors are retried and then fail the invocation; permanent ones stay per target.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::Region;
use ssm_replicator::aws::{ApiCalls, KmsKeys, SsmStore};
use ssm_replicator::config::Config;
use ssm_replicator::domain::Owner;
use ssm_replicator::engine::{Replicator, RetryPolicy};
use ssm_replicator::handler::{Handler, HandlerError};

use crate::faults::FaultyEndpoint;
use crate::support::*;

/// A handler whose `us-east-2` SSM is `faulty`; the source and `eu-west-1` are the emulator.
async fn handler_with_faulty_east(faulty: &FaultyEndpoint) -> Handler<SsmStore, KmsKeys> {
    let sdk = sdk_config().await;
    let calls = ApiCalls::default();
    let ssm = |region: &str, endpoint: Option<&str>| {
        let mut conf = aws_sdk_ssm::config::Builder::from(&sdk)
            .region(Region::new(region.to_owned()))
            .interceptor(calls.interceptor(region));
        if let Some(url) = endpoint {
            conf = conf.endpoint_url(url);
        }
        SsmStore::new(aws_sdk_ssm::Client::from_conf(conf.build()), region)
    };
    let kms = |region: &str| {
        aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(&sdk).region(Region::new(region.to_owned())).build(),
        )
    };
    let vars: BTreeMap<&str, &str> = [("SOURCE_REGION", SOURCE), ("TARGET_REGIONS", "us-east-2,eu-west-1")].into();
    let config = Config::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    let keys = KmsKeys::new(SOURCE, kms(SOURCE), [(EAST.to_owned(), kms(EAST)), (WEST.to_owned(), kms(WEST))].into());
    let owner = Owner { account: ACCOUNT.into(), region: SOURCE.into() };
    let targets = vec![ssm(EAST, Some(&faulty.url)), ssm(WEST, None)];
    let replicator = Replicator::new(config, owner, ssm(SOURCE, None), targets, keys).with_retry(RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
    });
    Handler::new(replicator, calls)
}

#[tokio::test]
async fn too_many_updates_is_retried_then_fails_the_invocation_while_other_targets_complete() {
    let faulty = FaultyEndpoint::start(&[("GetParameter", "ParameterNotFound"), ("PutParameter", "TooManyUpdates")]);
    let handler = handler_with_faulty_east(&faulty).await;
    let w = World::new(&[]).await;
    let name = w.name("contended");
    w.put(SOURCE, Put::string(&name, "v")).await;

    let err = handler.handle(&change_event("Update", &name)).await.unwrap_err();
    assert!(matches!(err, HandlerError::Transient { count: 1, .. }), "{err}");
    assert!(err.to_string().contains(&format!("{name} → us-east-2")), "{err}");
    assert!(err.to_string().contains("so that Lambda retries it"), "{err}");
    // Our retry policy made 3 attempts; the SDK itself does not retry TooManyUpdates.
    assert_eq!(faulty.count("PutParameter"), 3);
    // The healthy target was written regardless.
    assert_eq!(w.get(WEST, &name).await.unwrap().value(), Some("v"));
}

#[tokio::test]
async fn a_permanent_error_is_reported_per_target_without_failing_the_invocation() {
    let faulty =
        FaultyEndpoint::start(&[("GetParameter", "ParameterNotFound"), ("PutParameter", "ParameterLimitExceeded")]);
    let handler = handler_with_faulty_east(&faulty).await;
    let w = World::new(&[]).await;
    let name = w.name("full-region");
    w.put(SOURCE, Put::string(&name, "v")).await;

    let report = handler.handle(&change_event("Create", &name)).await.unwrap();
    assert_eq!(outcome(&report, &name, EAST), "failed:parameter-limit");
    assert_eq!(outcome(&report, &name, WEST), "created");
    assert_eq!(faulty.count("PutParameter"), 1, "permanent errors are not retried");
}
