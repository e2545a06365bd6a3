//! What every HTTP/2 abuse test needs: a gateway in front of a counting upstream, a
//! well-behaved bystander on its own connection, and the process's resident memory.

use std::net::SocketAddr;

use http::StatusCode;
use tokio::net::TcpStream;

use crate::common::{self, TestGateway};
use portcullis_testkit::MockUpstream;

/// A gateway with one catch-all route to an echo upstream.
pub async fn gateway() -> (MockUpstream, TestGateway) {
    let upstream = MockUpstream::echo().await;
    let gateway = common::start(&common::single_route(&upstream.endpoint(), "/", "", "")).await;
    (upstream, gateway)
}

/// A gateway with a listener shaped by `adjust`.
pub async fn gateway_with(
    upstream: &MockUpstream,
    adjust: impl FnOnce(&mut portcullis_config::Listener),
) -> TestGateway {
    let mut listener = common::listener();
    adjust(&mut listener);
    common::start_with(
        &common::single_route(&upstream.endpoint(), "/", "", ""),
        listener,
        portcullis_telemetry::access_log::AccessLog::disabled(),
    )
    .await
}

/// `GET path` from a fresh, well-behaved `h2` client: the status, once the head arrived
/// (the body is not read: some upstreams of these tests send a gigabyte).
pub async fn bystander_get(addr: SocketAddr, path: &str) -> Result<StatusCode, h2::Error> {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await?;
    tokio::spawn(connection);
    let mut client = client.ready().await?;
    let request = http::Request::get(format!("http://api.test{path}"))
        .body(())
        .expect("request");
    let (response, _) = client.send_request(request, true)?;
    let response = response.await?;
    Ok(response.status())
}

/// The bystander must be served: 200 within a few seconds.
pub async fn assert_bystander_served(addr: SocketAddr) {
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        bystander_get(addr, "/bystander"),
    )
    .await
    .expect("the bystander was answered in time")
    .expect("the bystander's request succeeded");
    assert_eq!(status, StatusCode::OK);
}

/// Resident memory of this process in KiB (`VmRSS` in /proc/self/status). The gateway runs
/// in the test process, so growth here bounds what an attack made it hold. Other tests of
/// this binary run concurrently, so bounds are generous.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

/// Fail if RSS grew by more than `bound_mib` since `before_kib`.
pub fn assert_rss_bounded(before_kib: u64, bound_mib: u64, attack: &str) {
    let after = rss_kib();
    let grown_mib = after.saturating_sub(before_kib) / 1024;
    assert!(
        grown_mib <= bound_mib,
        "{attack}: RSS grew {grown_mib} MiB ({before_kib} KiB -> {after} KiB), bound {bound_mib} MiB"
    );
}
