//! Stream-level abuse: more streams than `max_concurrent_streams`, and a reader that opens
//! a window of zero and never reads.

use std::time::Duration;

use portcullis_testkit::MockUpstream;
use tokio::io::AsyncWriteExt;

use crate::frames::{self, Ending, Reader};
use crate::{common, support};

/// The gateway's advertised limit (`H2_MAX_CONCURRENT_STREAMS` in protocol.rs).
const MAX_CONCURRENT_STREAMS: u32 = 256;
const OPENED: u32 = 300;

/// `/held/` waits at `held` until released; everything else is answered by `echo`.
fn two_routes(held: &MockUpstream, echo: &MockUpstream) -> String {
    format!(
        r#"
services:
  held:
    visibility: public
    endpoints: ["{held}"]
    # 256 connections opened at once to a test upstream on a busy machine.
    connectTimeoutMs: 10000
  echo:
    visibility: public
    endpoints: ["{echo}"]
routes:
  - name: held
    match:
      pathPrefix: /held/
    upstream:
      service: held
    policies:
      auth: none
  - name: echo
    match:
      pathPrefix: /
    upstream:
      service: echo
    policies:
      auth: none
"#,
        held = held.endpoint(),
        echo = echo.endpoint()
    )
}

/// 300 streams at once against a limit of 256: the 44 beyond it are refused with
/// RST_STREAM(REFUSED_STREAM) and never reach the upstream; the 256 are served once the
/// upstream answers; another client is served meanwhile.
#[tokio::test]
async fn streams_beyond_max_concurrent_streams_are_refused() {
    let held = MockUpstream::builder().hold().start().await;
    let echo = MockUpstream::echo().await;
    let gateway = common::start(&two_routes(&held, &echo)).await;
    let mut reader = Reader::new(frames::open(gateway.addr, &[]).await);
    let mut burst = Vec::new();
    for index in 0..OPENED {
        let block = frames::get_block("api.test", &format!("/held/{index}"));
        frames::frame(
            &mut burst,
            frames::HEADERS,
            frames::END_HEADERS | frames::END_STREAM,
            1 + 2 * index,
            &block,
        );
    }
    reader.stream.write_all(&burst).await.expect("burst");
    let mut refused = Vec::new();
    while refused.len() < (OPENED - MAX_CONCURRENT_STREAMS) as usize {
        let frame = reader
            .next(Duration::from_secs(5))
            .await
            .expect("connection open");
        assert_ne!(frame.kind, frames::GOAWAY, "{frame:?}");
        if frame.kind == frames::RST_STREAM {
            assert_eq!(frame.error_code(), frames::REFUSED_STREAM, "{frame:?}");
            refused.push(frame.stream);
        }
    }
    // The refused ones are the newest.
    refused.sort_unstable();
    assert_eq!(refused[0], 1 + 2 * MAX_CONCURRENT_STREAMS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while held.requests() < MAX_CONCURRENT_STREAMS as usize {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the upstream holds {} of {MAX_CONCURRENT_STREAMS}",
            held.requests()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    support::assert_bystander_served(gateway.addr).await;
    held.release();
    let mut answered = 0;
    while answered < MAX_CONCURRENT_STREAMS {
        let frame = reader
            .next(Duration::from_secs(10))
            .await
            .expect("connection open");
        if frame.kind == frames::HEADERS {
            answered += 1;
        }
    }
    assert_eq!(held.requests(), MAX_CONCURRENT_STREAMS as usize);
    gateway.stop().await;
}

/// A client that sets its stream window to 0 and never opens it: the gateway sends the
/// response head but no body, holds at most a frame or two of it (the upstream is
/// back-pressured, not drained into memory), and closes the connection once the response
/// has waited `writeTimeoutMs`.
#[tokio::test]
async fn zero_window_reader_is_disconnected_by_the_write_timeout() {
    const RESPONSE_BYTES: u64 = 1 << 30;
    let upstream = MockUpstream::builder()
        .stream_bytes(RESPONSE_BYTES)
        .start()
        .await;
    let gateway = support::gateway_with(&upstream, |listener| {
        listener.write_timeout_ms = 500;
    })
    .await;
    let metrics = gateway.gateway.metrics().listener("test");
    let before = support::rss_kib();
    let mut reader =
        Reader::new(frames::open(gateway.addr, &[(frames::SETTINGS_INITIAL_WINDOW_SIZE, 0)]).await);
    let mut request = Vec::new();
    let block = frames::get_block("api.test", "/large");
    frames::frame(
        &mut request,
        frames::HEADERS,
        frames::END_HEADERS | frames::END_STREAM,
        1,
        &block,
    );
    reader.stream.write_all(&request).await.expect("request");
    let started = std::time::Instant::now();
    let mut data_bytes = 0usize;
    let mut head = false;
    let ending = reader
        .until_goaway(Duration::from_secs(10), |frame| {
            if frame.stream == 1 && frame.kind == frames::HEADERS {
                head = true;
            }
            if frame.kind == frames::DATA {
                data_bytes += frame.payload.len();
            }
        })
        .await;
    assert!(head, "the response head was sent");
    assert_eq!(data_bytes, 0, "DATA sent into a zero window");
    assert!(
        matches!(ending, Ending::Closed | Ending::GoAway(_)),
        "{ending:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "closed after {:?}, before the write timeout",
        started.elapsed()
    );
    assert_eq!(metrics.write_timeout_count(), 1);
    support::assert_rss_bounded(before, 64, "zero-window reader");
    support::assert_bystander_served(gateway.addr).await;
    gateway.stop().await;
}
