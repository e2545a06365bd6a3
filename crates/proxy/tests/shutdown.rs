//! Graceful shutdown: in-flight requests and tunnels finish within the drain deadline.

mod common;

use std::time::Duration;

use common::{single_route, start};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_testkit::MockUpstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_request_finish_and_refuses_new_ones() {
    let upstream = MockUpstream::builder()
        .delay(Duration::from_millis(600))
        .start()
        .await;
    let mut gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    let addr = gateway.addr;
    let in_flight = tokio::spawn(async move { common::get(addr, "h", "/slow", &[]).await });
    // Wait until the upstream has the request, then shut down.
    for _ in 0..100 {
        if upstream.requests() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(upstream.requests(), 1);
    gateway.begin_shutdown();
    let response = in_flight.await.expect("request task");
    assert_eq!(response.status(), 200);
    tokio::time::timeout(Duration::from_secs(5), &mut gateway.task)
        .await
        .expect("run returns")
        .expect("task");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "listener still accepting"
    );
}

#[tokio::test]
async fn drain_deadline_cuts_off_requests_that_take_too_long() {
    let upstream = MockUpstream::builder().hold().start().await;
    let gateway = portcullis_proxy::Gateway::new(
        portcullis_telemetry::metrics::Metrics::new(),
        AccessLog::disabled(),
    );
    common::install(&gateway, &single_route(&upstream.endpoint(), "/", "", ""));
    let mut running =
        common::start_gateway(gateway, common::listener(), Duration::from_millis(200)).await;
    let mut stream = TcpStream::connect(running.addr).await.expect("connect");
    stream
        .write_all(b"GET /held HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .expect("write");
    for _ in 0..100 {
        if upstream.requests() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.begin_shutdown();
    tokio::time::timeout(Duration::from_secs(3), &mut running.task)
        .await
        .expect("run returns after the deadline")
        .expect("task");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest))
        .await
        .expect("closed");
    assert!(
        read.is_err() || rest.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&rest)
    );
    upstream.release();
}

#[tokio::test]
async fn open_tunnels_get_the_rest_of_the_drain_deadline_then_close() {
    let upstream = MockUpstream::builder().upgrade_echo().start().await;
    let gateway = portcullis_proxy::Gateway::new(
        portcullis_telemetry::metrics::Metrics::new(),
        AccessLog::disabled(),
    );
    common::install(&gateway, &single_route(&upstream.endpoint(), "/", "", ""));
    let mut running =
        common::start_gateway(gateway, common::listener(), Duration::from_millis(600)).await;
    let mut tunnel = common::open_upgrade(running.addr).await;
    common::echo_through(&mut tunnel, b"before").await;
    let started = std::time::Instant::now();
    running.begin_shutdown();
    // Shortly after shutdown began (no HTTP requests in flight), the tunnel still works.
    tokio::time::sleep(Duration::from_millis(150)).await;
    common::echo_through(&mut tunnel, b"during the drain").await;
    tokio::time::timeout(Duration::from_secs(3), &mut running.task)
        .await
        .expect("run returns")
        .expect("task");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "returned after {:?}",
        started.elapsed()
    );
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), tunnel.read_to_end(&mut rest))
        .await
        .expect("tunnel closed after the deadline");
    assert!(read.is_err() || rest.is_empty());
}
