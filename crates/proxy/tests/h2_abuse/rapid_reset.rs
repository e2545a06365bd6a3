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
