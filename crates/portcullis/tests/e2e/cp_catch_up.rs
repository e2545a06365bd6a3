//! A data plane that missed versions while it could not reach its control plane catches up to
//! the current one when it reconnects, without installing the ones in between.

use serde_json::Value;

use crate::cp_outage::LOST_CONTROL_PLANE;
use crate::fleet::setup::{ROUTED_PATH, UPSTREAM_BODY};
use crate::fleet::{Backend, Cli, ControlPlaneProcess, Fleet};
use crate::harness;

async fn a_data_plane_that_missed_versions_catches_up_on_reconnect(backend: Backend) {
    let Some(mut fleet) = Fleet::start(backend).await else {
        return;
    };
    let first = fleet.publish(20000).await;
    let mut dp = fleet.data_plane("dp-1").await;
    let served = dp.wait_for_version(&fleet.client, first).await;

    // The data plane's control plane goes away; meanwhile two versions are activated through
    // another control-plane process over the same store, which the data plane does not know.
    fleet.control.kill();
    dp.wait_for_line(LOST_CONTROL_PLANE).await;
    let mut other =
        ControlPlaneProcess::start_on(&fleet.storage, "127.0.0.1:0", "control-plane-b").await;
    let other_cli = Cli::new(&other.url(), &other.admin_token_file());
    let missed = other_cli
        .publish(&fleet.config_file("missed", 19000), "missed 1")
        .await;
    let current = other_cli
        .publish(&fleet.config_file("current", 18000), "missed 2")
        .await;
    assert_eq!((missed, current), (first + 1, first + 2));
    let shown: Value = other_cli
        .json(&["config", "show", &current.to_string()])
        .await;
    let current_checksum = shown["checksum"].clone();
    other.stop();
    assert_eq!(
        dp.config_version(&fleet.client).await,
        served,
        "nothing reaches the data plane while its control plane is down"
    );

    fleet.control.restart().await;
    let caught_up = dp.wait_for_version(&fleet.client, current).await;
    assert_eq!(caught_up["checksum"], current_checksum);
    assert_eq!(
        dp.count_lines(&format!("installed configuration version {missed} ")),
        0,
        "the version missed in between is never installed"
    );
    dp.wait_for_line("answers again").await;
    let (status, _, body) = harness::get(&fleet.client, dp.process.listener, ROUTED_PATH).await;
    assert_eq!((status, body.as_str()), (200, UPSTREAM_BODY));
}

crate::on_both_backends!(a_data_plane_that_missed_versions_catches_up_on_reconnect);
