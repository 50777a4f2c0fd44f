//! Every event fixture through the real handler: valid ones replicate, malformed ones write nothing.

use std::path::PathBuf;

use serde_json::{json, Value};
use ssm_replicator::handler::HandlerError;

use crate::support::*;

fn fixtures(dir: &str) -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events").join(dir);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// The fixtures name /app/db/url and /app/db/user, so this one test owns /app (and its full syncs
/// are bounded to it).
#[tokio::test]
async fn every_fixture_goes_through_the_handler_and_malformed_ones_write_nothing() {
    let w = World::new(&[("PATH_PREFIXES", "/app/")]).await;
    for name in ["/app/db/url", "/app/db/user"] {
        w.put(SOURCE, Put::string(name, "v")).await;
    }
    // The fixtures include a manual full sync: it sees the seeded parameters a while after their creation.
    w.settle().await;

    let malformed = fixtures("malformed");
    assert!(malformed.len() >= 20);
    for (file, raw) in &malformed {
        let event: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(_) => {
                // The runtime hands us parsed JSON; text that is not JSON is refused by the parser.
                let err = ssm_replicator::events::parse_str(
                    raw,
                    ssm_replicator::events::Origin { region: SOURCE, account: ACCOUNT },
                )
                .unwrap_err();
                assert!(err.to_string().contains("not valid JSON"), "{file}: {err}");
                continue;
            }
        };
        let err = w.invoke(event).await.expect_err(file);
        assert!(matches!(err, HandlerError::BadEvent(_)), "{file}: {err}");
        assert!(err.to_string().starts_with("rejected event: "), "{file}: {err}");
    }
    assert_eq!(w.calls.total(&["GetParameter", "ListTagsForResource"]), 0, "rejected before any read");
    assert_eq!(w.writes(), 0, "malformed events write nothing");
    assert!(w.get(EAST, "/app/db/url").await.is_none());

    for (file, raw) in fixtures("") {
        let event: Value = serde_json::from_str(&raw).unwrap();
        match w.invoke(event).await {
            Ok(report) => {
                assert!(!report.trigger.is_empty(), "{file}");
                assert!(
                    report
                        .parameters
                        .iter()
                        .flat_map(|p| &p.targets)
                        .all(|t| t.outcome != ssm_replicator::domain::Outcome::Failed),
                    "{file}: {report:?}"
                );
            }
            Err(e) => panic!("{file}: {e}"),
        }
    }
    // The create/update fixtures replicated /app/db/url; the delete fixtures found the source still there.
    assert_eq!(w.get(EAST, "/app/db/url").await.unwrap().value(), Some("v"));
    assert_eq!(w.get(WEST, "/app/db/user").await.unwrap().value(), Some("v"));
}

/// Well formed, but not about a replicated parameter: a report saying it was ignored and why, never an
/// error (an error makes Lambda retry the event and park it in the on-failure queue, raising two alarms).
#[tokio::test]
async fn well_formed_events_not_about_a_replicated_parameter_are_ignored_with_a_reason() {
    use ssm_replicator::domain::{Outcome, Reason};
    let w = World::new(&[("PATH_PREFIXES", "/app/")]).await;
    let before = w.calls.snapshot();
    for (file, reason) in [
        ("cloudtrail-add-tags-document.json", Reason::NotAParameter),
        ("cloudtrail-remove-tags-maintenance-window.json", Reason::NotAParameter),
        ("cloudtrail-add-tags-outside-prefixes.json", Reason::OutsidePrefixes),
        ("native-update-outside-prefixes.json", Reason::OutsidePrefixes),
    ] {
        let raw = fixtures("").into_iter().find(|(f, _)| f == file).map(|(_, raw)| raw).unwrap();
        let report = w.invoke(serde_json::from_str(&raw).unwrap()).await.unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(report.ignored, Some(reason), "{file}: {report:?}");
        assert!(
            report.parameters.iter().flat_map(|p| &p.targets).all(|t| t.outcome == Outcome::Skipped),
            "{file}: {report:?}"
        );
    }
    let after = w.calls.snapshot();
    assert_eq!(before, after, "ignored events make no AWS call");
    assert_eq!(w.writes(), 0);
}

#[tokio::test]
async fn a_cursor_that_does_not_fit_the_configuration_is_refused() {
    let w = World::new(&[("PATH_PREFIXES", "{prefix}/")]).await;
    let err = w
        .invoke(json!({"action": "full-sync", "cursor": {"phase": "orphans", "target": "111111111111/ap-south-1", "prefix": 0}}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("111111111111/ap-south-1 is not a configured target"), "{err}");
    assert_eq!(
        w.calls.snapshot().values().flat_map(|o| o.keys()).filter(|op| op.as_str() != "GetCallerIdentity").count(),
        0
    );
}

#[tokio::test]
async fn an_invalid_name_in_a_batch_rejects_the_whole_command() {
    let w = World::new(&[]).await;
    let good = w.name("good");
    w.put(SOURCE, Put::string(&good, "v")).await;
    let err = w.invoke(json!({"action": "sync", "names": [good, "/bad name"]})).await.unwrap_err();
    assert!(err.to_string().contains("'names' is not a valid parameter name: it contains ' '"), "{err}");
    assert_eq!(w.writes(), 0);
    assert!(w.get(EAST, &good).await.is_none());
}
