//! PostgreSQL restarted under a running `portcullis control-plane` process (a private server,
//! never the machine's shared one): the control plane answers again, and a version pushed
//! and activated after the restart reaches a data plane, with no restart of the control plane.

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_testkit::postgres::PostgresServer;

use crate::fleet::setup::{ROUTED_PATH, UPSTREAM_BODY};
use crate::fleet::{blocking, Fleet, Storage};
use crate::harness::{self, HttpClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_recovers_from_a_postgresql_restart_without_restarting() {
    let Some(server) = blocking(PostgresServer::start_or_skip).await else {
        return;
    };
    let server = Arc::new(server);
    let mut fleet = Fleet::start_on(Storage::on_private_server(server.clone()).await).await;
    let first = fleet.publish(20000).await;
    let dp = fleet.data_plane("dp-1").await;
    dp.wait_for_version(&fleet.client, first).await;
    let pid = fleet.control.pid();

    let stopping = server.clone();
    blocking(move || stopping.stop())
        .await
        .expect("stop PostgreSQL");
    wait_for_readiness(&fleet.client, &fleet, 503).await;
    let down = fleet.cli.run(&["config", "list"]).await;
    down.expect_code(6);
    let (status, _, body) = harness::get(&fleet.client, dp.process.listener, ROUTED_PATH).await;
    assert_eq!(
        (status, body.as_str()),
        (200, UPSTREAM_BODY),
        "the data plane serves on"
    );

    let starting = server.clone();
    blocking(move || starting.start_again())
        .await
        .expect("start PostgreSQL again");
    wait_for_readiness(&fleet.client, &fleet, 200).await;
    let after = fleet.publish(19000).await;
    dp.wait_for_version(&fleet.client, after).await;
    assert_eq!(fleet.control.pid(), pid);
    assert!(
        fleet.control.is_running(),
        "the control plane never restarted"
    );
}

/// Waits until the control plane's `/readyz` answers `status`.
async fn wait_for_readiness(client: &HttpClient, fleet: &Fleet, status: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (seen, _, _) = harness::get(client, fleet.control.addr, "/readyz").await;
        if seen == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never answered {status} (last {seen})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
