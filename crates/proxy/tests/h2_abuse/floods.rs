//! Control-frame floods: SETTINGS, PING and WINDOW_UPDATE.
//!
//! h2 acknowledges each SETTINGS and PING before it reads the next frame, so a flood costs
//! the gateway one queued acknowledgement at a time. A flooder that reads its
//! acknowledgements only spends its own bandwidth: bounded, and not closed (each frame is
//! a few bytes of work, like any request). One that does not read blocks the gateway's
//! writes; `writeTimeoutMs` then closes its connection. WINDOW_UPDATE needs no answer; one
//! that overflows the window (2^31-1) is a FLOW_CONTROL_ERROR and gets GOAWAY.

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::frames::{self, Ending, Reader};
use crate::support;

/// Enough frames that their acknowledgements (9 or 17 bytes each) overflow the largest
/// socket send buffer Linux grows to (4 MiB) plus the client's receive buffer.
const FLOOD_FRAMES: usize = 1_000_000;

fn settings_flood() -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..FLOOD_FRAMES {
        frames::settings(&mut out, &[(frames::SETTINGS_MAX_HEADER_LIST_SIZE, 65_536)]);
    }
    out
}

fn ping_flood() -> Vec<u8> {
    let mut out = Vec::new();
    for index in 0..FLOOD_FRAMES {
        frames::ping(&mut out, (index as u64).to_be_bytes());
    }
    out
}

/// A flooder that never reads: its writes stall once the gateway's acknowledgements fill
/// the socket, and the write timeout closes the connection. The bystander is served
/// meanwhile; memory stays bounded.
#[tokio::test]
async fn settings_and_ping_floods_from_a_non_reader_are_cut_off_by_the_write_timeout() {
    for (name, flood) in [("SETTINGS", settings_flood()), ("PING", ping_flood())] {
        let upstream = portcullis_testkit::MockUpstream::echo().await;
        let gateway = support::gateway_with(&upstream, |listener| {
            listener.write_timeout_ms = 500;
        })
        .await;
        let metrics = gateway.gateway.metrics().listener("test");
        let before = support::rss_kib();
        let mut attacker = frames::open_small_receive_buffer(gateway.addr).await;
        let writer = tokio::spawn(async move {
            // Blocks once the gateway stops reading; fails once it closes.
            let result = attacker.write_all(&flood).await;
            (attacker, result)
        });
        support::assert_bystander_served(gateway.addr).await;
        crate::wait_for(Duration::from_secs(10), name, || {
            metrics.write_timeout_count() == 1
        })
        .await;
        let (attacker, result) = tokio::time::timeout(Duration::from_secs(10), writer)
            .await
            .unwrap_or_else(|_| panic!("{name}: the flood's writes never ended"))
            .expect("writer");
        // Either the flood was written whole before the close, or the close broke it; the
        // connection must be over now.
        drop(result);
        let mut reader = Reader::new(attacker);
        let ending = reader.until_goaway(Duration::from_secs(5), |_| {}).await;
        assert!(
            matches!(ending, Ending::Closed | Ending::GoAway(_)),
            "{name}: {ending:?}"
        );
        support::assert_rss_bounded(before, 64, name);
        assert_eq!(
            upstream.requests(),
            1,
            "{name}: only the bystander's request"
        );
        gateway.stop().await;
    }
}

/// A flooder that reads every acknowledgement only spends its own bandwidth: every PING
/// is answered, memory is bounded and the bystander is served.
#[tokio::test]
async fn ping_flood_from_a_reader_is_answered_within_bounded_memory() {
    let (_upstream, gateway) = support::gateway().await;
    let before = support::rss_kib();
    let stream = frames::open(gateway.addr, &[]).await;
    let (read_half, mut write_half) = stream.into_split();
    let flood = ping_flood();
    let writer = tokio::spawn(async move { write_half.write_all(&flood).await });
    let mut acks = 0usize;
    let mut reader = Reader::new(read_half);
    while acks < FLOOD_FRAMES {
        let frame = reader
            .next(Duration::from_secs(10))
            .await
            .expect("the connection stays open");
        if frame.kind == frames::PING && frame.flags & frames::ACK != 0 {
            acks += 1;
        }
    }
    writer.await.expect("writer").expect("flood written");
    support::assert_rss_bounded(before, 64, "PING flood");
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}

/// WINDOW_UPDATE: a flood of small increments needs no answer and stays bounded; the
/// increment that pushes the connection window past 2^31-1 gets GOAWAY(FLOW_CONTROL_ERROR).
#[tokio::test]
async fn window_update_flood_overflowing_the_window_gets_goaway() {
    let (upstream, gateway) = support::gateway().await;
    let before = support::rss_kib();
    let mut reader = Reader::new(frames::open(gateway.addr, &[]).await);
    let mut flood = Vec::new();
    for _ in 0..FLOOD_FRAMES {
        frames::window_update(&mut flood, 0, 1);
    }
    // 65,535 + 200,000 so far; this one overflows.
    frames::window_update(&mut flood, 0, 0x7fff_ffff);
    let _ = reader.stream.write_all(&flood).await;
    let ending = reader.until_goaway(Duration::from_secs(10), |_| {}).await;
    assert!(
        matches!(
            ending,
            Ending::GoAway(frames::FLOW_CONTROL_ERROR) | Ending::Closed
        ),
        "{ending:?}"
    );
    assert_eq!(upstream.requests(), 0);
    support::assert_rss_bounded(before, 64, "WINDOW_UPDATE flood");
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}
