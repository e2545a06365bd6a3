//! Control-plane replicas over one PostgreSQL: a version activated through one reaches a
//! data plane long-polling another within a second (LISTEN/NOTIFY, not the periodic
//! refresh), and a PostgreSQL restarted under running replicas is recovered from without
//! restarting them (on a private server: the machine's shared one is never restarted).

mod support;

use std::time::{Duration, Instant};

use portcullis_control::Settings;
use portcullis_testkit::postgres::{PostgresServer, TestDatabase};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{config, eventually, Harness, Storage};

/// Settings for a replica whose only way to hear of another replica's change is NOTIFY.
fn replica_settings(database_url: &str, data_dir: &std::path::Path) -> Settings {
    let mut settings = Settings::new(database_url, data_dir);
    settings.listen = "127.0.0.1:0".parse().expect("address");
    settings.long_poll = Duration::from_secs(2);
    settings.refresh_interval = Duration::from_secs(3600);
    settings
}

/// Starts replica A (which writes the first admin token) and replica B over `database_url`.
async fn two_replicas(database_url: &str) -> (Harness, Harness) {
    let storage = |url: &str| Storage {
        database_url: url.to_string(),
        data_dir: tempfile::tempdir().expect("temporary directory"),
        _database: None,
    };
    let first = storage(database_url);
    let settings = replica_settings(database_url, first.data_dir.path());
    let a = Harness::start_with(first, settings).await;
    let second = storage(database_url);
    // B finds a usable admin token in the store and writes no file of its own.
    let settings = replica_settings(database_url, second.data_dir.path());
    let control = portcullis_control::ControlPlane::start(settings)
        .await
        .expect("replica B starts");
    assert!(!control.admin_token_path().exists());
    let b = Harness {
        base: format!("http://{}", control.local_addr()),
        control: Some(control),
        admin: a.admin.clone(),
        client: reqwest::Client::new(),
        storage: second,
    };
    (a, b)
}

/// Long-polls `replica` with `known` until it answers a snapshot; its version and when.
async fn wait_for_snapshot(
    replica: &Harness,
    token: &str,
    known: &str,
) -> (StatusCode, Value, Instant) {
    let response = replica
        .client
        .get(format!(
            "{}/v1/dataplane/snapshot?environment=production&known={known}",
            replica.base
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("answer");
    let at = Instant::now();
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::Null),
        at,
    )
}

async fn activation_reaches_the_other_replica(a: &Harness, b: &Harness, timeout_ms: u64) {
    let dataplane = a.token(&format!("dp-{timeout_ms}"), "dataplane").await;
    let (_, environment) = b.get("/v1/environments/production", &a.admin).await;
    let known = environment["activeChecksum"]
        .as_str()
        .unwrap_or("none")
        .to_string();
    let waiting = wait_for_snapshot(b, &dataplane, &known);
    let activate = async {
        b.long_polls_held("production", 1).await;
        let version = a
            .activate_new("production", &a.admin, &config(timeout_ms))
            .await;
        (version, Instant::now())
    };
    let ((status, snapshot, received_at), (version, activated_at)) =
        tokio::join!(waiting, activate);
    assert_eq!(status, StatusCode::OK, "{snapshot}");
    assert_eq!(snapshot["configVersion"], version);
    let delay = received_at.saturating_duration_since(activated_at);
    assert!(
        delay < Duration::from_secs(1),
        "the change took {delay:?} to reach replica B"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_activated_on_one_replica_reaches_a_long_poll_on_another_within_a_second() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let (a, b) = two_replicas(database.url()).await;
    activation_reaches_the_other_replica(&a, &b, 1000).await;
    activation_reaches_the_other_replica(&a, &b, 1100).await;
    // And back: B activates, A hears.
    activation_reaches_the_other_replica(&b, &a, 1200).await;
    b.stop().await;
    a.stop().await;
    drop(database);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_recover_from_a_postgresql_restart_without_restarting() {
    let Some(server) = PostgresServer::start_or_skip() else {
        return;
    };
    let url = server.url("postgres");
    let (a, b) = two_replicas(&url).await;
    activation_reaches_the_other_replica(&a, &b, 1000).await;

    let stopper = tokio::task::spawn_blocking({
        let server_stop = std::sync::Arc::new(server);
        let handle = server_stop.clone();
        move || handle.stop().map(|()| server_stop)
    });
    let server = stopper
        .await
        .expect("join")
        .expect("stop the private server");
    let (status, problem) = a.get("/readyz", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert_eq!(problem["code"], "store_unavailable");

    let restarted = server.clone();
    tokio::task::spawn_blocking(move || restarted.start_again())
        .await
        .expect("join")
        .expect("start the private server again");
    for replica in [&a, &b] {
        eventually(
            Duration::from_secs(30),
            "the replica to be ready again",
            || async { replica.get("/readyz", "").await.0 == StatusCode::OK },
        )
        .await;
    }
    // The change listener reconnects on its own (back-off up to 2 s): wait until a change
    // made through A reaches B, without the periodic refresh (an hour here).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut timeout_ms = 2000;
    loop {
        let dataplane = a
            .token(&format!("dp-after-{timeout_ms}"), "dataplane")
            .await;
        let (_, environment) = b.get("/v1/environments/production", &a.admin).await;
        let known = environment["activeChecksum"]
            .as_str()
            .unwrap_or("none")
            .to_string();
        let waiting = wait_for_snapshot(&b, &dataplane, &known);
        let activate = async {
            b.long_polls_held("production", 1).await;
            a.activate_new("production", &a.admin, &config(timeout_ms))
                .await
        };
        let ((status, snapshot, _), version) = tokio::join!(waiting, activate);
        if status == StatusCode::OK && snapshot["configVersion"] == json!(version) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replica B never heard of changes after the restart"
        );
        timeout_ms += 1;
    }
    // Once reconnected, changes arrive within a second again.
    activation_reaches_the_other_replica(&a, &b, 5000).await;
    b.stop().await;
    a.stop().await;
    drop(server);
}
