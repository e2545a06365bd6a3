//! The control plane is away and the data planes keep serving: killed under load (no request
//! fails), a data plane restarted meanwhile (it serves its disk copy), and a damaged newest
//! disk generation (the older one is served, and the log says which file and why).

use crate::fleet::setup::{ROUTED_PATH, UPSTREAM_BODY};
use crate::fleet::{Backend, Fleet, Load};
use crate::harness;

/// The warning a data plane logs on the first failed long-poll (stable wording of the agent).
pub const LOST_CONTROL_PLANE: &str = "(attempt 1)";

async fn control_plane_killed_under_load_loses_no_request(backend: Backend) {
    let Some(mut fleet) = Fleet::start(backend).await else {
        return;
    };
    let version = fleet.publish(20000).await;
    let mut dp1 = fleet.data_plane("dp-1").await;
    let mut dp2 = fleet.data_plane("dp-2").await;
    let before = [
        dp1.wait_for_version(&fleet.client, version).await,
        dp2.wait_for_version(&fleet.client, version).await,
    ];
    assert_eq!(before[0]["checksum"], before[1]["checksum"]);

    let load = Load::start(
        &[dp1.process.listener, dp2.process.listener],
        ROUTED_PATH,
        UPSTREAM_BODY,
        100,
    );
    load.wait_for_successes(20).await;
    fleet.control.kill();
    dp1.wait_for_line(LOST_CONTROL_PLANE).await;
    dp2.wait_for_line(LOST_CONTROL_PLANE).await;
    // Steady traffic while both retry the dead control plane (several back-off rounds).
    load.wait_for_successes(200).await;
    let report = load.stop().await;
    assert_eq!(
        report.failed, 0,
        "requests failed while the control plane was down: {:?}",
        report.failures
    );
    assert!(report.succeeded >= 440, "{report:?}");
    for (dp, served) in [(&dp1, &before[0]), (&dp2, &before[1])] {
        assert_eq!(
            &dp.config_version(&fleet.client).await,
            served,
            "{} serves what it served (same version, checksum and load time)",
            dp.instance_id
        );
    }

    // Back on the same port: both reach it again and keep what they have (their long-poll
    // is held there, as the checksum is the one they know: nothing to reinstall).
    fleet.control.restart().await;
    dp1.wait_for_line("heartbeats reach the control plane")
        .await;
    dp2.wait_for_line("heartbeats reach the control plane")
        .await;
    for (dp, served) in [(&dp1, &before[0]), (&dp2, &before[1])] {
        assert_eq!(&dp.config_version(&fleet.client).await, served);
    }
}

crate::on_both_backends!(control_plane_killed_under_load_loses_no_request);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_plane_restarted_while_the_control_plane_is_down_serves_its_disk_copy() {
    let Some(mut fleet) = Fleet::start(Backend::Sqlite).await else {
        return;
    };
    let version = fleet.publish(20000).await;
    let mut dp = fleet.data_plane("dp-1").await;
    let served = dp.wait_for_version(&fleet.client, version).await;
    dp.wait_for_saved_version(version).await;

    fleet.control.kill();
    dp.restart().await;
    let restarted = dp.config_version(&fleet.client).await;
    assert_eq!(restarted["configVersion"], served["configVersion"]);
    assert_eq!(restarted["checksum"], served["checksum"]);
    let checksum = served["checksum"].as_str().expect("checksum");
    let logged = dp
        .wait_for_line("serving the last-known-good copy from disk")
        .await;
    assert!(
        logged.contains(&format!("version {version}, checksum {checksum}"))
            && logged.contains(&dp.current_generation().display().to_string()),
        "the log names the version, the checksum and the file: {logged}"
    );
    let (status, _, body) = harness::get(&fleet.client, dp.process.listener, ROUTED_PATH).await;
    assert_eq!((status, body.as_str()), (200, UPSTREAM_BODY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_newest_disk_generation_falls_back_to_the_older_one() {
    let Some(mut fleet) = Fleet::start(Backend::Sqlite).await else {
        return;
    };
    let older = fleet.publish(20000).await;
    let mut dp = fleet.data_plane("dp-1").await;
    let older_served = dp.wait_for_version(&fleet.client, older).await;
    let newer = fleet.publish(19000).await;
    dp.wait_for_version(&fleet.client, newer).await;
    dp.wait_for_saved_version(newer).await;
    assert!(dp.previous_generation().exists(), "two generations kept");

    fleet.control.kill();
    dp.kill();
    let current = dp.current_generation();
    let intact = std::fs::read(&current).expect("the newest generation");
    let truncated = intact[..intact.len() / 2].to_vec();
    let mut flipped = intact.clone();
    flipped[intact.len() / 3] ^= 0x20;
    let cases = [
        (
            "truncated",
            truncated,
            "truncated: it does not end with a complete sha256 trailer",
        ),
        (
            "a flipped byte",
            flipped,
            "corrupt: its bytes do not match its sha256 trailer",
        ),
    ];
    for (name, damaged, why) in cases {
        std::fs::write(&current, damaged).expect("damage the newest generation");
        dp.restart().await;
        let served = dp.config_version(&fleet.client).await;
        assert_eq!(
            (&served["configVersion"], &served["checksum"]),
            (&older_served["configVersion"], &older_served["checksum"]),
            "{name}: the older generation is served"
        );
        let skipped = dp.wait_for_line("skipping the last-known-good copy").await;
        assert!(
            skipped.contains(&current.display().to_string()) && skipped.contains(why),
            "{name}: the log names the file and why: {skipped}"
        );
        let started = dp
            .wait_for_line("serving the last-known-good copy from disk")
            .await;
        assert!(
            started.contains(&format!("version {older},"))
                && started.contains(&dp.previous_generation().display().to_string()),
            "{name}: {started}"
        );
        let (status, _, body) = harness::get(&fleet.client, dp.process.listener, ROUTED_PATH).await;
        assert_eq!((status, body.as_str()), (200, UPSTREAM_BODY), "{name}");
        dp.kill();
        assert_eq!(
            std::fs::read(dp.previous_generation())
                .ok()
                .map(|bytes| bytes.is_empty()),
            Some(false),
            "{name}: the older generation is left in place"
        );
    }
}
