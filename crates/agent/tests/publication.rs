//! Snapshots from a reachable control plane: install, save, refuse, heartbeats.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::stand_in::StandIn;
use common::{
    config_from_yaml, logs, settings, snapshot_for, start_agent, wait_for, wait_until,
    RecordingInstaller, ENVIRONMENT, EVENT_DEADLINE, REFUSAL_LINE,
};
use portcullis_agent::disk::DiskStore;
use portcullis_agent::{metrics_counters, no_counters, Agent};
use portcullis_protocol::dataplane::{ConfigSource, DataPlaneSnapshot};
use portcullis_telemetry::metrics::Metrics;
use tokio::time::Instant;

const HOLD: Duration = Duration::from_secs(30);

fn disk_checksums(store: &DiskStore) -> Vec<String> {
    store
        .generations()
        .map(|generation| generation.snapshot.checksum)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_snapshot_is_installed_and_saved_and_a_new_one_is_installed_within_a_second() {
    logs::capture();
    let control = StandIn::start(HOLD).await;
    let first = control.activate(1, "orders");
    let state = tempfile::tempdir().expect("tempdir");
    let installer = RecordingInstaller::new();
    let agent = start_agent(settings(&control.url(), state.path()), installer.clone()).await;

    let loaded = tokio::time::timeout(EVENT_DEADLINE, agent.first_install())
        .await
        .expect("first install in time")
        .expect("installed");
    assert_eq!(loaded.config_version, 1);
    assert_eq!(loaded.checksum, first);
    assert_eq!(loaded.source, ConfigSource::ControlPlane);
    let attempts = installer.attempts();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].source, ConfigSource::ControlPlane);
    assert_eq!(attempts[0].config_version, 1);
    assert_eq!(
        control.arrivals()[0],
        None,
        "the first poll carries no known"
    );

    let store = DiskStore::open(state.path(), ENVIRONMENT).expect("open");
    wait_until("the first snapshot on disk", EVENT_DEADLINE, || {
        disk_checksums(&store) == [first.clone()]
    })
    .await;

    // Parked in a long-poll that knows the first checksum, then a new version is activated.
    wait_until("a long-poll with known = first", EVENT_DEADLINE, || {
        control.arrivals().contains(&Some(first.clone()))
    })
    .await;
    let activated = Instant::now();
    let second = control.activate(2, "orders-v2");
    wait_until(
        "the second snapshot installed",
        Duration::from_secs(1),
        || installer.installed_checksums().contains(&second),
    )
    .await;
    let took = activated.elapsed();
    assert!(took < Duration::from_secs(1), "installed after {took:?}");

    wait_until("both generations on disk", EVENT_DEADLINE, || {
        disk_checksums(&store) == [second.clone(), first.clone()]
    })
    .await;
    let status = agent.status();
    let loaded = status.loaded.expect("loaded");
    assert_eq!(
        (loaded.config_version, loaded.source),
        (2, ConfigSource::ControlPlane)
    );
    assert_eq!(status.last_received, Some(second));
    assert!(status.refusal.is_none());
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_snapshot_keeps_the_old_one_is_reported_and_is_not_fetched_again() {
    logs::capture();
    // A short hold, so the agent polls often: a refused snapshot sent again would show.
    let control = StandIn::start(Duration::from_millis(50)).await;
    let first = control.activate(1, "orders");
    let state = tempfile::tempdir().expect("tempdir");
    let installer = RecordingInstaller::new();
    let agent = start_agent(settings(&control.url(), state.path()), installer.clone()).await;
    agent.first_install().await.expect("first install");

    let refused = snapshot_for(2, "cannot-build").checksum;
    installer.refuse(&refused);
    control.activate(2, "cannot-build");

    let heartbeat = wait_for("a heartbeat with the refusal", EVENT_DEADLINE, || {
        control.last_heartbeat_where(|heartbeat| heartbeat.refusal.is_some())
    })
    .await;
    let refusal = heartbeat.refusal.expect("refusal");
    assert_eq!(refusal.config_version, 2);
    assert_eq!(refusal.checksum, refused);
    assert_eq!(refusal.errors, [REFUSAL_LINE]);
    let loaded = heartbeat.loaded.expect("the old one keeps serving");
    assert_eq!((loaded.config_version, &loaded.checksum), (1, &first));

    // Many more long-polls, all knowing the refused checksum; it was sent exactly once.
    wait_until(
        "five long-polls knowing the refused checksum",
        EVENT_DEADLINE,
        || control.polls_knowing(&refused) >= 5,
    )
    .await;
    let sent_refused = control.times_sent(&refused);
    assert_eq!(sent_refused, 1);
    let tried = installer
        .attempts()
        .iter()
        .filter(|identity| identity.checksum == refused)
        .count();
    assert_eq!(tried, 1);
    let store = DiskStore::open(state.path(), ENVIRONMENT).expect("open");
    assert_eq!(
        disk_checksums(&store),
        [first],
        "a refused snapshot is never saved"
    );
    assert!(
        !logs::lines_with(&["refused configuration version 2", &refused]).is_empty(),
        "the refusal is logged"
    );

    // A later version that installs clears the refusal.
    let third = control.activate(3, "orders-v3");
    wait_for(
        "a heartbeat with version 3 and no refusal",
        EVENT_DEADLINE,
        || {
            control.last_heartbeat_where(|heartbeat| {
                heartbeat.refusal.is_none()
                    && heartbeat
                        .loaded
                        .as_ref()
                        .is_some_and(|loaded| loaded.checksum == third)
            })
        },
    )
    .await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_that_do_not_check_out_are_refused_before_the_installer() {
    logs::capture();
    let control = StandIn::start(HOLD).await;
    let first = control.activate(1, "orders");
    let state = tempfile::tempdir().expect("tempdir");
    let installer = RecordingInstaller::new();
    let agent = start_agent(settings(&control.url(), state.path()), installer.clone()).await;
    agent.first_install().await.expect("first install");

    let mismatched = {
        let mut snapshot = snapshot_for(2, "orders-v2");
        let computed = snapshot.checksum.clone();
        snapshot.checksum = format!("sha256:{}", "0".repeat(64));
        (
            snapshot,
            vec![format!("sha256:{}", "0".repeat(64)), computed],
        )
    };
    let invalid = {
        // Parses, but names a service that does not exist: validation refuses it.
        let (config, checksum) = config_from_yaml(
            "routes:\n  - name: ghost\n    match:\n      pathPrefix: /ghost\n    \
             upstream:\n      service: nowhere\n",
        );
        let snapshot = DataPlaneSnapshot {
            config_version: 3,
            checksum,
            config,
            ..snapshot_for(3, "unused")
        };
        (snapshot, vec!["routes[0].upstream.service".to_owned()])
    };
    let other_environment = {
        let snapshot = DataPlaneSnapshot {
            environment: "staging".to_owned(),
            ..snapshot_for(4, "orders-v4")
        };
        (snapshot, vec!["\"staging\"".to_owned()])
    };
    for (name, (snapshot, fragments)) in [
        ("checksum mismatch", mismatched),
        ("invalid configuration", invalid),
        ("another environment", other_environment),
    ] {
        let version = snapshot.config_version;
        let checksum = snapshot.checksum.clone();
        control.publish(snapshot);
        let heartbeat = wait_for(&format!("{name}: refusal reported"), EVENT_DEADLINE, || {
            control.last_heartbeat_where(|heartbeat| {
                heartbeat
                    .refusal
                    .as_ref()
                    .is_some_and(|refusal| refusal.config_version == version)
            })
        })
        .await;
        let refusal = heartbeat.refusal.expect("refusal");
        assert_eq!(refusal.checksum, checksum, "{name}");
        let text = refusal.errors.join("\n");
        for fragment in &fragments {
            assert!(
                text.contains(fragment.as_str()),
                "{name}: {text:?} lacks {fragment}"
            );
        }
        let loaded = heartbeat.loaded.expect("loaded");
        assert_eq!(loaded.checksum, first, "{name}: the old one keeps serving");
    }
    assert_eq!(
        installer.attempts().len(),
        1,
        "only the first reached the installer"
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_carry_identity_the_loaded_version_and_route_counters() {
    logs::capture();
    let control = StandIn::start(HOLD).await;
    let first = control.activate(7, "orders");
    let state = tempfile::tempdir().expect("tempdir");
    let metrics = Metrics::new();
    let route = metrics.route("orders");
    for (status, millis) in [(200, 3), (200, 40), (503, 700)] {
        route.observe(&http_method(), status, Duration::from_millis(millis));
    }
    let mut agent_settings = settings(&control.url(), state.path());
    agent_settings.pool = "canary".to_owned();
    let agent = Agent::start(
        agent_settings,
        RecordingInstaller::new(),
        metrics_counters(Arc::clone(&metrics)),
    )
    .await
    .expect("start");
    agent.first_install().await.expect("first install");

    let heartbeat = wait_for("a heartbeat with version 7", EVENT_DEADLINE, || {
        control.last_heartbeat_where(|heartbeat| heartbeat.loaded.is_some())
    })
    .await;
    assert_eq!(heartbeat.instance_id, "dp-test-1");
    assert_eq!(heartbeat.environment, ENVIRONMENT);
    assert_eq!(heartbeat.pool, "canary");
    assert_eq!(heartbeat.agent_version, env!("CARGO_PKG_VERSION"));
    assert!(heartbeat.started_at.ends_with('Z'));
    let loaded = heartbeat.loaded.expect("loaded");
    assert_eq!(loaded.config_version, 7);
    assert_eq!(loaded.checksum, first);
    assert_eq!(loaded.source, ConfigSource::ControlPlane);
    assert!(heartbeat.refusal.is_none());
    assert_eq!(heartbeat.routes.len(), 1);
    let counters = &heartbeat.routes[0];
    assert_eq!(counters.route, "orders");
    assert_eq!((counters.requests, counters.responses_5xx), (3, 1));
    assert_eq!(counters.latency.counts.last(), Some(&3));
    assert_eq!(
        counters.latency.counts.len(),
        counters.latency.bounds_seconds.len() + 1
    );
    assert!((counters.latency.sum_seconds - 0.743).abs() < 1e-9);

    // Heartbeats keep coming every interval, with the counters as they are then.
    route.observe(&http_method(), 500, Duration::from_millis(1));
    wait_for(
        "a later heartbeat with four requests",
        EVENT_DEADLINE,
        || {
            control.last_heartbeat_where(|heartbeat| {
                heartbeat
                    .routes
                    .first()
                    .is_some_and(|counters| counters.requests == 4 && counters.responses_5xx == 2)
            })
        },
    )
    .await;
    assert!(agent.status().heartbeats_sent >= 2);
    assert!(
        control
            .heartbeats()
            .iter()
            .all(|heartbeat| heartbeat.pool == "canary"),
        "every heartbeat names the pool"
    );
    agent.shutdown().await;
}

fn http_method() -> reqwest::Method {
    reqwest::Method::GET
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_control_plane_is_trusted_through_the_ca_file() {
    logs::capture();
    let pki = portcullis_testkit::certs::TestPki::generate();
    let tls = {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(pki.server.cert_der.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server.key_der.clone())),
            )
            .expect("server certificate");
        Arc::new(config)
    };
    let control = StandIn::start_tls(HOLD, tls).await;
    let first = control.activate(1, "orders");
    assert!(control.url().starts_with("https://"));

    // Without the CA file the certificate is not trusted: retried, never installed.
    let state = tempfile::tempdir().expect("tempdir");
    let untrusting = start_agent(
        settings(&control.url(), state.path()),
        RecordingInstaller::new(),
    )
    .await;
    wait_until("a TLS failure", EVENT_DEADLINE, || {
        untrusting
            .status()
            .control_plane_error
            .is_some_and(|error| error.contains(&control.url()))
    })
    .await;
    assert!(untrusting.status().loaded.is_none());
    untrusting.shutdown().await;

    let mut trusting = settings(&control.url(), state.path());
    trusting.ca_file = Some(pki.ca_cert_path.clone());
    let agent = start_agent(trusting, RecordingInstaller::new()).await;
    let loaded = tokio::time::timeout(EVENT_DEADLINE, agent.first_install())
        .await
        .expect("in time")
        .expect("installed");
    assert_eq!(loaded.checksum, first);
    assert_eq!(loaded.source, ConfigSource::ControlPlane);
    agent.shutdown().await;
}

#[tokio::test]
async fn a_ca_file_that_is_not_pem_is_refused_at_start_naming_the_file() {
    let state = tempfile::tempdir().expect("tempdir");
    let bad = state.path().join("ca.pem");
    std::fs::write(&bad, "not a certificate").expect("write");
    for path in [bad.clone(), state.path().join("missing.pem")] {
        let mut agent_settings = settings("https://127.0.0.1:1", state.path());
        agent_settings.ca_file = Some(path.clone());
        let error = Agent::start(agent_settings, RecordingInstaller::new(), no_counters())
            .await
            .expect_err("refused");
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("PEM"), "{message}");
    }
}
