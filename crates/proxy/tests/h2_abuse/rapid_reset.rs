//! Rapid reset (CVE-2023-44487): streams opened and cancelled at once, thousands of them.

use std::time::Duration;

use crate::frames::{self, Ending, Reader};
use crate::support;
use tokio::io::AsyncWriteExt;

const ATTEMPTED_STREAMS: u32 = 5_000;

/// Streams reset before the gateway accepted them are capped by
/// `max_pending_accept_reset_streams`: the connection gets GOAWAY(ENHANCE_YOUR_CALM) after a
/// handful, and hardly any request starts upstream.
#[tokio::test]
async fn open_and_reset_thousands_of_streams_gets_goaway() {
    let (upstream, gateway) = support::gateway().await;
    let before = support::rss_kib();
    let stream = frames::open(gateway.addr, &[]).await;
    let mut reader = Reader::new(stream);
    let block = frames::get_block("api.test", "/reset");
    let mut burst = Vec::new();
    for index in 0..ATTEMPTED_STREAMS {
        let id = 1 + 2 * index;
        frames::frame(
            &mut burst,
            frames::HEADERS,
            frames::END_HEADERS | frames::END_STREAM,
            id,
            &block,
        );
        frames::rst_stream(&mut burst, id, frames::CANCEL);
    }
    // The server may close while we still write: a failed write is part of the outcome.
    let _ = reader.stream.write_all(&burst).await;
    let ending = reader.until_goaway(Duration::from_secs(5), |_| {}).await;
    assert!(
        matches!(
            ending,
            Ending::GoAway(frames::ENHANCE_YOUR_CALM) | Ending::Closed
        ),
        "{ending:?}"
    );
    let forwarded = upstream.requests();
    assert!(
        forwarded <= 50,
        "{forwarded} of {ATTEMPTED_STREAMS} reset streams reached the upstream"
    );
    support::assert_rss_bounded(before, 64, "rapid reset");
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}

/// The paced form: each stream is reset only once its request reached the upstream, so h2's
/// pending-accept cap never sees it. The gateway counts streams cancelled before their
/// answer; once 100 were and they outnumber the answered ones, the connection is closed
/// and counted in `portcullis_connections_reset_floods_total`.
#[tokio::test]
async fn streams_reset_after_they_reached_the_upstream_close_the_connection() {
    const CANCELLED_LIMIT: usize = 100;
    let upstream = portcullis_testkit::MockUpstream::builder()
        .hold()
        .start()
        .await;
    let gateway = support::gateway_with(&upstream, |_| {}).await;
    let metrics = gateway.gateway.metrics().listener("test");
    let mut reader = Reader::new(frames::open(gateway.addr, &[]).await);
    let block = frames::get_block("api.test", "/paced");
    let mut closed_after = None;
    for index in 0..(2 * CANCELLED_LIMIT as u32) {
        let id = 1 + 2 * index;
        let mut out = Vec::new();
        frames::frame(
            &mut out,
            frames::HEADERS,
            frames::END_HEADERS | frames::END_STREAM,
            id,
            &block,
        );
        if reader.stream.write_all(&out).await.is_err() {
            closed_after = Some(index);
            break;
        }
        // Wait until the request is upstream (or the connection is gone).
        let reached = index as usize + 1;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while upstream.requests() < reached && metrics.reset_flood_count() == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "stream {id} never reached the upstream"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if metrics.reset_flood_count() > 0 {
            closed_after = Some(index);
            break;
        }
        let mut reset = Vec::new();
        frames::rst_stream(&mut reset, id, frames::CANCEL);
        if reader.stream.write_all(&reset).await.is_err() {
            closed_after = Some(index);
            break;
        }
    }
    crate::wait_for(Duration::from_secs(5), "the reset flood is counted", || {
        metrics.reset_flood_count() == 1
    })
    .await;
    let ending = reader.until_goaway(Duration::from_secs(5), |_| {}).await;
    assert!(
        matches!(ending, Ending::Closed | Ending::GoAway(_)),
        "{ending:?}"
    );
    let streams = closed_after.expect("the connection was closed");
    assert!(
        (CANCELLED_LIMIT as u32..=CANCELLED_LIMIT as u32 + 2).contains(&streams),
        "closed after {streams} streams"
    );
    assert!(upstream.requests() <= CANCELLED_LIMIT + 2);
    upstream.release();
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}
