//! Data planes' side on both backends: the snapshot long-poll and heartbeats.

mod support;

use std::time::{Duration, Instant};

use portcullis_protocol::dataplane::DataPlaneSnapshot;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{config, Backend, Harness, Storage};

both_backends!(
    the_long_poll_answers_at_once_holds_and_wakes,
    heartbeats_register_instances_and_audit_new_refusals,
);

async fn poll(
    harness: &Harness,
    token: &str,
    query: &str,
) -> (StatusCode, Option<DataPlaneSnapshot>, Duration) {
    let started = Instant::now();
    let response = harness
        .client
        .get(format!("{}/v1/dataplane/snapshot?{query}", harness.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("answer");
    let status = response.status();
    let body = response.bytes().await.expect("body");
    let snapshot = (status == StatusCode::OK)
        .then(|| serde_json::from_slice(&body).expect("a snapshot document"));
    (status, snapshot, started.elapsed())
}

async fn the_long_poll_answers_at_once_holds_and_wakes(backend: Backend) {
    let Some(storage) = Storage::new(backend).await else {
        return;
    };
    let mut settings = storage.settings();
    settings.long_poll = Duration::from_millis(700);
    let harness = Harness::start_with(storage, settings).await;
    let dataplane = harness.token("dp-1", "dataplane").await;

    // Nothing active yet: held for the period, then 304.
    let (status, _, waited) = poll(&harness, &dataplane, "environment=production").await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(waited >= Duration::from_millis(650), "{waited:?}");
    let (status, _, _) = poll(&harness, &dataplane, "environment=staging").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let first = harness
        .activate_new("production", &harness.admin, &config(1000))
        .await;
    let (status, snapshot, waited) =
        poll(&harness, &dataplane, "environment=production&pool=canary").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        waited < Duration::from_millis(500),
        "answered at once: {waited:?}"
    );
    let snapshot = snapshot.expect("snapshot");
    assert_eq!(snapshot.config_version, first);
    assert_eq!(snapshot.pool, "canary");
    assert_eq!(snapshot.environment, "production");
    assert!(snapshot.activated_at.is_some());
    // The data plane recomputes the same checksum from the document it receives.
    let parsed: portcullis_config::Config =
        serde_json::from_value(snapshot.config.clone()).expect("the config parses");
    assert_eq!(portcullis_config::checksum(&parsed), snapshot.checksum);

    // Known checksum: held, then 304.
    let known = format!("environment=production&known={}", snapshot.checksum);
    let (status, _, waited) = poll(&harness, &dataplane, &known).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(waited >= Duration::from_millis(650), "{waited:?}");

    // A long-poll waiting on the old checksum wakes when another version is activated.
    let waiting = poll(&harness, &dataplane, &known);
    let activate = async {
        harness.long_polls_held("production", 1).await;
        let activated_at = Instant::now();
        let version = harness
            .activate_new("production", &harness.admin, &config(2000))
            .await;
        (version, activated_at)
    };
    let ((status, snapshot, _), (second, _)) = tokio::join!(waiting, activate);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snapshot.expect("snapshot").config_version, second);
    harness.stop().await;
}

async fn heartbeats_register_instances_and_audit_new_refusals(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let dataplane = harness.token("dp", "dataplane").await;
    let heartbeat = |refusal: Value| {
        json!({
            "instanceId": "dp-1 \"east\"",
            "environment": "production",
            "pool": "canary",
            "startedAt": "2026-04-08T10:15:30.123Z",
            "agentVersion": "0.1.0",
            "loaded": {"configVersion": 3, "checksum": "sha256:aa", "loadedAt": "2026-04-08T10:15:31.000Z", "source": "disk"},
            "refusal": refusal,
            "routes": [{"route": "checkout-orders", "requests": 10, "responses5xx": 1,
                        "latency": {"boundsSeconds": [0.01], "counts": [9, 10], "sumSeconds": 0.05}}]
        })
    };
    let refusal = |checksum: &str| json!({"configVersion": 4, "checksum": checksum, "errors": ["routes[0]: cannot build"], "at": "2026-04-08T10:16:00.000Z"});
    let (status, ack) = harness
        .post(
            "/v1/dataplane/heartbeat",
            &dataplane,
            &heartbeat(Value::Null),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(ack["heartbeatIntervalSeconds"], 5);
    for checksum in ["sha256:bb", "sha256:bb", "sha256:cc"] {
        let (status, ack) = harness
            .post(
                "/v1/dataplane/heartbeat",
                &dataplane,
                &heartbeat(refusal(checksum)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{ack}");
    }
    let (status, instances) = harness
        .get("/v1/instances?environment=production", &harness.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{instances}");
    let instance = &instances["instances"][0];
    assert_eq!(instance["instanceId"], "dp-1 \"east\"");
    assert_eq!(instance["pool"], "canary");
    assert_eq!(instance["state"], "live");
    assert_eq!(instance["loaded"]["configVersion"], 3);
    assert_eq!(instance["refusal"]["checksum"], "sha256:cc");

    let (_, audit) = harness
        .get("/v1/audit?environment=production", &harness.admin)
        .await;
    let refusals: Vec<&Value> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["action"] == "dataplane.refusal")
        .collect();
    assert_eq!(
        refusals.len(),
        2,
        "one entry per new refused checksum: {refusals:?}"
    );
    assert_eq!(refusals[0]["actor"], "dp-1 \"east\"");
    assert_eq!(refusals[0]["detail"]["checksum"], "sha256:cc");

    let mut unknown = heartbeat(Value::Null);
    unknown["environment"] = json!("staging");
    let (status, _) = harness
        .post("/v1/dataplane/heartbeat", &dataplane, &unknown)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut anonymous = heartbeat(Value::Null);
    anonymous["instanceId"] = json!(" ");
    let (status, problem) = harness
        .post("/v1/dataplane/heartbeat", &dataplane, &anonymous)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "instanceId");
    let (status, _) = harness
        .post(
            "/v1/dataplane/heartbeat",
            &harness.admin,
            &heartbeat(Value::Null),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    harness.stop().await;
}

/// A shutdown does not wait for held long-polls: they answer 304 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_held_long_polls_at_once() {
    let Some(storage) = Storage::new(Backend::Sqlite).await else {
        return;
    };
    let mut settings = storage.settings();
    settings.long_poll = Duration::from_secs(60);
    let mut harness = Harness::start_with(storage, settings).await;
    let dataplane = harness.token("dp", "dataplane").await;
    let held = tokio::spawn({
        let client = harness.client.clone();
        let url = format!(
            "{}/v1/dataplane/snapshot?environment=production",
            harness.base
        );
        async move {
            let response = client
                .get(url)
                .bearer_auth(dataplane)
                .send()
                .await
                .expect("answer");
            response.status()
        }
    });
    // Nothing is active, so the poll is held: wait until the handler waits on the watch.
    harness.long_polls_held("production", 1).await;
    let started = Instant::now();
    harness
        .control
        .take()
        .expect("running")
        .shutdown()
        .await
        .expect("clean shutdown");
    assert_eq!(held.await.expect("join"), StatusCode::NOT_MODIFIED);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
}
