//! Header-block attacks: CONTINUATION flood and HPACK bomb, bounded by
//! `max_header_list_size` (the listener's `maxHeaderBytes`, 32 KiB by default).

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::frames::{self, Ending, Reader};
use crate::support;

/// A HEADERS frame without END_HEADERS followed by endless CONTINUATION frames: h2 allows
/// only as many as a `maxHeaderBytes` list could need (plus slack), then GOAWAY.
#[tokio::test]
async fn continuation_flood_gets_goaway() {
    let (upstream, gateway) = support::gateway().await;
    let before = support::rss_kib();
    let mut reader = Reader::new(frames::open(gateway.addr, &[]).await);
    let mut flood = Vec::new();
    let block = frames::get_block("api.test", "/continuation");
    frames::frame(&mut flood, frames::HEADERS, 0, 1, &block);
    for _ in 0..10_000 {
        frames::frame(&mut flood, frames::CONTINUATION, 0, 1, &[0x40; 16]);
    }
    let _ = reader.stream.write_all(&flood).await;
    let ending = reader.until_goaway(Duration::from_secs(5), |_| {}).await;
    assert!(
        matches!(
            ending,
            Ending::GoAway(frames::ENHANCE_YOUR_CALM | frames::COMPRESSION_ERROR) | Ending::Closed
        ),
        "{ending:?}"
    );
    assert_eq!(upstream.requests(), 0);
    support::assert_rss_bounded(before, 64, "CONTINUATION flood");
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}

/// The header block of `GET /bomb` on `stream`, with `references` one-byte references
/// to dynamic-table entry 62 (after `literal`, which puts a 4000-byte value there).
fn bomb(stream: u32, literal: bool, references: usize) -> Vec<u8> {
    let mut block = frames::get_block("api.test", "/bomb");
    if literal {
        frames::hpack_indexed_literal(&mut block, b"x-bomb", &[b'a'; 4000]);
    }
    for _ in 0..references {
        frames::hpack_index(&mut block, 62);
    }
    assert!(block.len() <= 16_384, "one frame");
    let mut out = Vec::new();
    frames::frame(
        &mut out,
        frames::HEADERS,
        frames::END_HEADERS | frames::END_STREAM,
        stream,
        &block,
    );
    out
}

/// One 4000-byte value enters the decoder's dynamic table; then each one-byte reference to
/// it decodes to 4 KB. 10,000 references (14 KB on the wire) would decode to 40 MB: h2 stops
/// at 4 × `maxHeaderBytes` and the connection gets GOAWAY(ENHANCE_YOUR_CALM).
#[tokio::test]
async fn hpack_bomb_gets_goaway() {
    let (upstream, gateway) = support::gateway().await;
    let before = support::rss_kib();
    let mut reader = Reader::new(frames::open(gateway.addr, &[]).await);
    let _ = reader.stream.write_all(&bomb(1, true, 10_000)).await;
    let ending = reader.until_goaway(Duration::from_secs(5), |_| {}).await;
    assert_eq!(ending, Ending::GoAway(frames::ENHANCE_YOUR_CALM));
    assert_eq!(upstream.requests(), 0);
    support::assert_rss_bounded(before, 64, "HPACK bomb");
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}

/// A smaller bomb (about 44 KB decoded, over the 32 KiB `maxHeaderBytes` but under the
/// abuse limit) costs only its stream: h2 answers 431 and resets it, nothing is forwarded.
/// Repeated, each costs the gateway at most 4 × `maxHeaderBytes` of decoding, like any
/// request: bounded, not closed (h2 does not count these refusals as client errors).
#[tokio::test]
async fn oversized_header_lists_are_answered_431_within_bounded_memory() {
    const REPEATS: u32 = 300;
    let (upstream, gateway) = support::gateway().await;
    let before = support::rss_kib();
    let mut reader = Reader::new(frames::open(gateway.addr, &[]).await);
    let mut out = bomb(1, true, 10);
    for index in 1..REPEATS {
        out.extend_from_slice(&bomb(1 + 2 * index, false, 10));
    }
    reader.stream.write_all(&out).await.expect("bombs");
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < REPEATS as usize {
        let frame = reader
            .next(Duration::from_secs(10))
            .await
            .expect("the connection stays open");
        assert_ne!(frame.kind, frames::GOAWAY, "{frame:?}");
        // The 431 head, or a reset: either way the stream is refused.
        if frame.kind == frames::HEADERS || frame.kind == frames::RST_STREAM {
            answered.insert(frame.stream);
        }
    }
    assert_eq!(upstream.requests(), 0);
    support::assert_rss_bounded(before, 64, "oversized header lists");
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}

/// Streams the gateway must reset for the client's fault (here a `Connection` header, which
/// makes an HTTP/2 request malformed, RFC 9113 §8.2.2) are counted: after `max_local_error_reset_streams` (128) the
/// connection gets GOAWAY(ENHANCE_YOUR_CALM) ("MadeYouReset", CVE-2025-8671).
#[tokio::test]
async fn streams_reset_for_client_faults_are_capped_with_goaway() {
    let (upstream, gateway) = support::gateway().await;
    let mut reader = Reader::new(frames::open(gateway.addr, &[]).await);
    let mut out = Vec::new();
    for index in 0..1_000u32 {
        let mut block = frames::get_block("api.test", "/malformed");
        block.push(0x00);
        block.push(10);
        block.extend_from_slice(b"connection");
        block.push(5);
        block.extend_from_slice(b"close");
        frames::frame(
            &mut out,
            frames::HEADERS,
            frames::END_HEADERS | frames::END_STREAM,
            1 + 2 * index,
            &block,
        );
    }
    let _ = reader.stream.write_all(&out).await;
    let mut resets = 0;
    let ending = reader
        .until_goaway(Duration::from_secs(10), |frame| {
            if frame.kind == frames::RST_STREAM {
                assert_eq!(frame.error_code(), frames::PROTOCOL_ERROR, "{frame:?}");
                resets += 1;
            }
        })
        .await;
    assert_eq!(ending, Ending::GoAway(frames::ENHANCE_YOUR_CALM));
    assert!(resets <= 129, "{resets} streams reset before GOAWAY");
    assert_eq!(upstream.requests(), 0);
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}
