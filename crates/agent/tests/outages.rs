//! A control plane that is down, refuses the token, or stops answering: the disk copy at
//! start, waiting, back-off and catching up.

mod common;

use std::time::Duration;

use common::stand_in::StandIn;
use common::{
    logs, settings, start_agent, wait_for, wait_until, RecordingInstaller, ENVIRONMENT,
    EVENT_DEADLINE, TOKEN,
};
use portcullis_agent::disk::DiskStore;

use portcullis_protocol::dataplane::ConfigSource;
use tokio::time::Instant;

const HOLD: Duration = Duration::from_secs(30);

/// Runs an agent against `control`, activating each `(version, route)` in turn until it is
/// saved on disk, then stops it; returns the checksums.
async fn seed_disk_copies(
    control: &StandIn,
    state: &std::path::Path,
    versions: &[(i64, &str)],
) -> Vec<String> {
    let agent = start_agent(settings(&control.url(), state), RecordingInstaller::new()).await;
    let store = DiskStore::open(state, ENVIRONMENT).expect("open");
    let mut checksums = Vec::new();
    for (version, route) in versions {
        let checksum = control.activate(*version, route);
        wait_until("the disk copy", EVENT_DEADLINE, || {
            store
                .load()
                .is_some_and(|generation| generation.snapshot.checksum == checksum)
        })
        .await;
        checksums.push(checksum);
    }
    agent.shutdown().await;
    checksums
}

/// [`seed_disk_copies`] with the version already active on `control`.
async fn seed_disk_copy(control: &StandIn, state: &std::path::Path, checksum: &str) {
    let agent = start_agent(settings(&control.url(), state), RecordingInstaller::new()).await;
    let store = DiskStore::open(state, ENVIRONMENT).expect("open");
    wait_until("the disk copy", EVENT_DEADLINE, || {
        store
            .load()
            .is_some_and(|generation| generation.snapshot.checksum == checksum)
    })
    .await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_down_at_start_serves_the_disk_copy_then_catches_up() {
    logs::capture();
    let control = StandIn::start(HOLD).await;
    let first = control.activate(1, "orders");
    let state = tempfile::tempdir().expect("tempdir");
    seed_disk_copy(&control, state.path(), &first).await;

    control.go_down().await;
    // Versions activated while this data plane was away.
    control.activate(2, "orders-v2");
    let third = control.activate(3, "orders-v3");

    let agent_settings = settings(&control.url(), state.path());
    let startup_timeout = agent_settings.startup_timeout;
    let installer = RecordingInstaller::new();
    let started = Instant::now();
    let agent = start_agent(agent_settings, installer.clone()).await;
    let loaded = tokio::time::timeout(startup_timeout + EVENT_DEADLINE, agent.first_install())
        .await
        .expect("the disk copy is served")
        .expect("installed");
    let took = started.elapsed();
    assert_eq!(loaded.source, ConfigSource::Disk);
    assert_eq!((loaded.config_version, &loaded.checksum), (1, &first));
    assert!(
        took >= startup_timeout,
        "the control plane is asked first ({took:?})"
    );
    assert!(
        took < startup_timeout + Duration::from_secs(3),
        "served from disk {took:?} after start"
    );
    assert_eq!(installer.attempts()[0].source, ConfigSource::Disk);
    let disk_path = state.path().join("snapshot.current.json");
    assert!(
        !logs::lines_with(&[
            "serving the last-known-good copy from disk",
            &first,
            &disk_path.display().to_string(),
            &control.url(),
        ])
        .is_empty(),
        "the start from disk is logged with version, checksum, time and path"
    );

    control.come_up().await;
    wait_until("the current version installed", EVENT_DEADLINE, || {
        agent.status().loaded.is_some_and(|loaded| {
            loaded.checksum == third && loaded.source == ConfigSource::ControlPlane
        })
    })
    .await;
    let store = DiskStore::open(state.path(), ENVIRONMENT).expect("open");
    wait_until("the current version saved", EVENT_DEADLINE, || {
        store
            .load()
            .is_some_and(|generation| generation.snapshot.checksum == third)
    })
    .await;
    wait_for(
        "a heartbeat with the caught-up version",
        EVENT_DEADLINE,
        || {
            control.last_heartbeat_where(|heartbeat| {
                heartbeat
                    .loaded
                    .as_ref()
                    .is_some_and(|loaded| loaded.config_version == 3)
            })
        },
    )
    .await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_copy_that_is_still_current_is_confirmed_without_a_second_install() {
    logs::capture();
    let control = StandIn::start(HOLD).await;
    let first = control.activate(1, "orders");
    let state = tempfile::tempdir().expect("tempdir");
    seed_disk_copy(&control, state.path(), &first).await;
    control.go_down().await;

    let installer = RecordingInstaller::new();
    let agent = start_agent(settings(&control.url(), state.path()), installer.clone()).await;
    let loaded = agent.first_install().await.expect("from disk");
    assert_eq!(loaded.source, ConfigSource::Disk);

    control.come_up().await;
    wait_until("the disk copy confirmed", EVENT_DEADLINE, || {
        agent
            .status()
            .loaded
            .is_some_and(|loaded| loaded.source == ConfigSource::ControlPlane)
    })
    .await;
    assert_eq!(installer.attempts().len(), 1, "nothing rebuilt");
    assert_eq!(agent.status().last_received, Some(first));
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_down_with_no_disk_copy_keeps_trying_and_installs_once_it_appears() {
    logs::capture();
    let control = StandIn::reserve(HOLD).await;
    let first = control.activate(1, "orders");
    let state = tempfile::tempdir().expect("tempdir");
    let mut agent_settings = settings(&control.url(), state.path());
    agent_settings.startup_timeout = Duration::from_millis(300);
    let installer = RecordingInstaller::new();
    let agent = start_agent(agent_settings, installer.clone()).await;

    wait_until("the loud waiting line", EVENT_DEADLINE, || {
        !logs::lines_with(&["waiting for the control plane at", &control.url()]).is_empty()
    })
    .await;
    let waiting = logs::lines_with(&["waiting for the control plane at", &control.url()]);
    assert!(waiting[0].contains("ERROR"), "{waiting:?}");
    assert!(
        waiting[0].contains(&state.path().display().to_string()),
        "{waiting:?}"
    );
    let status = agent.status();
    assert!(status.loaded.is_none());
    let error = status.control_plane_error.expect("the failure is recorded");
    assert!(error.contains("cannot reach the control plane"), "{error}");
    assert!(installer.attempts().is_empty());

    control.come_up().await;
    let loaded = tokio::time::timeout(EVENT_DEADLINE, agent.first_install())
        .await
        .expect("installed once the control plane appears")
        .expect("installed");
    assert_eq!(loaded.checksum, first);
    assert_eq!(loaded.source, ConfigSource::ControlPlane);
    wait_until("the error cleared", EVENT_DEADLINE, || {
        agent.status().control_plane_error.is_none()
    })
    .await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_tokens_and_unknown_environments_are_logged_with_the_fix_and_retried() {
    logs::capture();
    let cases: [(u16, &[&str]); 3] = [
        (
            401,
            &[
                "401 Unauthorized",
                "`dataplane` role",
                "PORTCULLIS_TOKEN",
                "--token-file",
            ],
        ),
        (
            403,
            &["403 Forbidden", "`dataplane` role", "PORTCULLIS_TOKEN"],
        ),
        (
            404,
            &["404 Not Found", "POST /v1/environments", "--environment"],
        ),
    ];
    for (status, fragments) in cases {
        let control = StandIn::start(HOLD).await;
        let first = control.activate(1, "orders");
        match status {
            // A token the control plane does not know: the real 401 path.
            401 => control.accept_token("pct_some-other-token"),
            other => control.force_status(Some(other)),
        }
        let state = tempfile::tempdir().expect("tempdir");
        let agent = start_agent(
            settings(&control.url(), state.path()),
            RecordingInstaller::new(),
        )
        .await;
        wait_until(
            &format!("{status}: three refused polls"),
            EVENT_DEADLINE,
            || {
                control
                    .polls()
                    .iter()
                    .filter(|poll| poll.status == status)
                    .count()
                    >= 3
            },
        )
        .await;
        let mut expected = vec![control.url()];
        expected.extend(fragments.iter().map(|fragment| fragment.to_string()));
        let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        let lines = logs::lines_with(&expected);
        assert!(
            lines.len() >= 3,
            "{status}: logged on every retry: {lines:?}"
        );
        assert!(lines.iter().all(|line| line.contains("ERROR")), "{lines:?}");
        assert!(agent.status().loaded.is_none());

        match status {
            401 => control.accept_token(TOKEN),
            _ => control.force_status(None),
        }
        let loaded = tokio::time::timeout(EVENT_DEADLINE, agent.first_install())
            .await
            .expect("installed once the control plane accepts")
            .expect("installed");
        assert_eq!(loaded.checksum, first, "{status}");
        agent.shutdown().await;
    }
    assert!(!logs::text().contains(TOKEN), "the token is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_that_outlives_its_deadline_is_abandoned_and_retried() {
    logs::capture();
    // The stand-in holds far longer than the agent's deadline, as a dead connection would.
    let control = StandIn::start(Duration::from_secs(600)).await;
    let first = control.activate(1, "orders");
    let state = tempfile::tempdir().expect("tempdir");
    let mut agent_settings = settings(&control.url(), state.path());
    agent_settings.poll_deadline = Duration::from_millis(300);
    let agent = start_agent(agent_settings, RecordingInstaller::new()).await;
    agent.first_install().await.expect("first install");
    wait_until(
        "two long-polls knowing the first checksum",
        EVENT_DEADLINE,
        || control.polls_knowing(&first) >= 2,
    )
    .await;
    assert!(
        !logs::lines_with(&[&control.url(), "did not answer within 300ms"]).is_empty(),
        "the abandoned poll is logged"
    );
    // And a new version still gets through after the retries.
    let second = control.activate(2, "orders-v2");
    wait_until("the second version", EVENT_DEADLINE, || {
        agent
            .status()
            .loaded
            .is_some_and(|loaded| loaded.checksum == second)
    })
    .await;
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_refused_at_start_falls_back_to_the_disk_copy_at_once() {
    logs::capture();
    let control = StandIn::start(Duration::from_millis(50)).await;
    let state = tempfile::tempdir().expect("tempdir");
    let good = seed_disk_copies(&control, state.path(), &[(1, "orders")]).await;
    let refused = common::snapshot_for(2, "cannot-build").checksum;
    let installer = RecordingInstaller::new();
    installer.refuse(&refused);
    control.activate(2, "cannot-build");

    let mut agent_settings = settings(&control.url(), state.path());
    // Far longer than the test takes: the disk copy must not wait for it.
    agent_settings.startup_timeout = Duration::from_secs(60);
    let agent = start_agent(agent_settings, installer.clone()).await;
    let loaded = tokio::time::timeout(EVENT_DEADLINE, agent.first_install())
        .await
        .expect("served from disk without waiting for the start-up timeout")
        .expect("installed");
    assert_eq!(loaded.source, ConfigSource::Disk);
    assert_eq!(loaded.checksum, good[0]);

    let heartbeat = wait_for(
        "a heartbeat with the disk copy and the refusal",
        EVENT_DEADLINE,
        || {
            control.last_heartbeat_where(|heartbeat| {
                heartbeat.refusal.is_some() && heartbeat.loaded.is_some()
            })
        },
    )
    .await;
    assert_eq!(heartbeat.refusal.expect("refusal").checksum, refused);
    assert_eq!(heartbeat.loaded.expect("loaded").source, ConfigSource::Disk);
    wait_until(
        "three long-polls knowing the refused checksum",
        EVENT_DEADLINE,
        || control.polls_knowing(&refused) >= 3,
    )
    .await;
    let sent_refused = control.times_sent(&refused);
    assert_eq!(sent_refused, 1, "the refused snapshot is not fetched again");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_generation_the_data_plane_cannot_build_falls_back_to_the_older_one() {
    logs::capture();
    let control = StandIn::start(HOLD).await;
    let state = tempfile::tempdir().expect("tempdir");
    let seeded = seed_disk_copies(&control, state.path(), &[(1, "orders"), (2, "orders-v2")]).await;
    control.go_down().await;

    let installer = RecordingInstaller::new();
    // Verifies on disk, but (say) a key file it names has gone: the installer refuses it.
    installer.refuse(&seeded[1]);
    let mut agent_settings = settings(&control.url(), state.path());
    agent_settings.startup_timeout = Duration::from_millis(300);
    let agent = start_agent(agent_settings, installer.clone()).await;
    let loaded = tokio::time::timeout(EVENT_DEADLINE, agent.first_install())
        .await
        .expect("in time")
        .expect("installed");
    assert_eq!(
        (loaded.config_version, loaded.source),
        (1, ConfigSource::Disk)
    );
    let tried: Vec<(i64, ConfigSource)> = installer
        .attempts()
        .iter()
        .map(|identity| (identity.config_version, identity.source))
        .collect();
    assert_eq!(tried, [(2, ConfigSource::Disk), (1, ConfigSource::Disk)]);
    let current = state.path().join("snapshot.current.json");
    assert!(
        !logs::lines_with(&[&current.display().to_string(), "cannot be installed"]).is_empty(),
        "the refused generation is logged with its path"
    );
    agent.shutdown().await;
}
