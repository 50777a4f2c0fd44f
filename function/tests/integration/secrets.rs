//! A canary value never appears in logs (captured at TRACE, SDK included), errors or reports.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_canary_securestring_value_never_appears_in_logs_or_results() {
    let w = World::new(&[]).await;
    let canary = format!("CANARY-{:016x}", fastrand::u64(..));
    let canary2 = format!("{canary}-v2");
    let alias = format!("alias/{}", &w.prefix[1..]);
    w.key_with_alias(&alias, &[SOURCE, EAST]).await; // missing in eu-west-1: a failure path too
    let (name, plain) = (w.name("canary"), w.name("plain"));
    w.put(SOURCE, Put::secure(&name, &canary, Some(&alias))).await;
    w.put(SOURCE, Put::string(&plain, &canary)).await;

    let mut outputs = Vec::new();
    for event in [
        change_event("Create", &name),
        change_event("Create", &plain),
        json!({"action": "sync", "names": [name, plain]}),
    ] {
        outputs.push(format!("{:?}", w.invoke(event).await));
    }
    w.put(SOURCE, Put::secure(&name, &canary2, Some(&alias))).await;
    let report = w.change("Update", &name).await;
    assert_eq!(outcome(&report, &name, EAST), "updated", "the canary did replicate");
    assert_eq!(w.get(EAST, &name).await.unwrap().value(), Some(canary2.as_str()));
    outputs.push(serde_json::to_string(&report).unwrap());
    outputs.push(format!("{report:?}"));
    w.delete(SOURCE, &name).await;
    outputs.push(format!("{:?}", w.invoke(change_event("Delete", &name)).await));

    let logs = captured_logs();
    assert!(logs.contains(&name), "the capture works: our log lines name the parameter");
    assert!(
        logs.contains("\"level\":\"TRACE\"") || logs.contains("\"level\":\"DEBUG\""),
        "captured at a verbose level"
    );
    for (what, text) in outputs.iter().map(|o| ("result", o)).chain([("logs", &logs)]) {
        assert!(!text.contains(&canary), "the canary leaked into {what}");
    }
}
