//! `maxConnections`: connections beyond the limit are closed at accept and counted in
//! `portcullis_connections_refused_total`; the ones held cost bounded memory; a freed slot
//! serves again. (10,000 connections: bench/idle_connections.py.)

use std::time::Duration;

use portcullis_testkit::MockUpstream;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::wait_for;

const LIMIT: usize = 50;
const EXTRA: usize = 10;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test]
async fn connections_beyond_max_connections_are_refused_and_counted() {
    let upstream = MockUpstream::echo().await;
    let gateway = crate::gateway(&upstream.endpoint(), |listener| {
        listener.max_connections = LIMIT as u32;
    })
    .await;
    let listener = gateway.gateway.metrics().listener("test");
    let before = rss_kib();
    let mut held = Vec::with_capacity(LIMIT);
    for _ in 0..LIMIT {
        held.push(TcpStream::connect(gateway.addr).await.expect("connect"));
    }
    wait_for(Duration::from_secs(5), "every slot is taken", || {
        listener.open_count() == LIMIT as i64
    })
    .await;
    for attempt in 0..EXTRA {
        let mut refused = TcpStream::connect(gateway.addr).await.expect("connect");
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), refused.read(&mut byte))
            .await
            .unwrap_or_else(|_| panic!("connection {attempt} over the limit was kept open"));
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "connection {attempt} over the limit got {read:?}"
        );
    }
    wait_for(Duration::from_secs(5), "the refusals are counted", || {
        listener.refused_count() == EXTRA as u64
    })
    .await;
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 32,
        "{LIMIT} idle connections cost {grown_mib} MiB"
    );
    assert_eq!(upstream.requests(), 0);
    // The exposition carries the series under the listener's name.
    let exposition = gateway.gateway.metrics().encode();
    assert!(
        exposition.contains(&format!(
            "portcullis_connections_refused_total{{listener=\"test\"}} {EXTRA}"
        )),
        "{exposition}"
    );
    // A freed slot serves again.
    held.pop();
    wait_for(Duration::from_secs(5), "a slot is released", || {
        listener.open_count() < LIMIT as i64
    })
    .await;
    let response = crate::common::get(gateway.addr, "h", "/after", &[]).await;
    assert_eq!(response.status(), 200);
    drop(held);
    gateway.stop().await;
}
