//! The HTTP/1 and HTTP/2 settings every listener's connections are served with: hyper's
//! builder, its timers, and h2's limits against HTTP/2 abuse (rapid reset, header-list
//! bombs, resets the client provokes, unread responses). See request-lifecycle.md, "Abuse
//! and slow clients".

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;

/// hyper refuses an HTTP/1 read buffer below 8 KiB; smaller `maxHeaderBytes` are raised to it.
pub(crate) const MIN_HEADER_BUFFER: usize = 8 * 1024;
/// Streams one HTTP/2 client may have open at once (the config has no knob for it yet);
/// more are refused with RST_STREAM(REFUSED_STREAM).
const H2_MAX_CONCURRENT_STREAMS: u32 = 256;
/// How long an HTTP/2 keep-alive ping may go unanswered before the connection is closed.
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);
/// Rapid reset (CVE-2023-44487): streams the client opens and resets before the gateway
/// accepted them still cost their headers' decoding and a slot in the accept queue, yet no
/// longer count as concurrent. Past this many at once the connection gets
/// GOAWAY(ENHANCE_YOUR_CALM). h2's default, set here so that it cannot drift unnoticed.
const H2_MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// Streams the gateway itself had to reset because the client broke a rule (a malformed
/// request such as one with a `Connection` header, a frame a stream's state forbids:
/// "MadeYouReset", CVE-2025-8671; not a header list over `maxHeaderBytes`, which h2
/// answers with 431 without counting it), counted
/// over the connection's life. Past this the connection gets GOAWAY(ENHANCE_YOUR_CALM).
/// Lower than hyper's 1024: an honest client causes none.
const H2_MAX_LOCAL_ERROR_RESET_STREAMS: usize = 128;
/// Most response bytes h2 queues per stream beyond what the client's window lets it send:
/// a client that opens a window of 0 and never reads costs at most this per stream (h2's
/// default, explicit for the same reason as above).
const H2_MAX_SEND_BUFFER: usize = 400 * 1024;

/// hyper's head timer also runs while an idle keep-alive connection waits for its next
/// request, so the shorter of the two timeouts bounds both the head and the idle time.
pub(crate) fn head_timeout(listener: &portcullis_config::Listener) -> Duration {
    Duration::from_millis(
        listener
            .header_read_timeout_ms
            .min(listener.idle_timeout_ms)
            .max(1),
    )
}

pub(crate) fn protocol_builder(
    listener: &portcullis_config::Listener,
) -> auto::Builder<TokioExecutor> {
    let header_bytes = (listener.max_header_bytes as usize).max(MIN_HEADER_BUFFER);
    let max_headers = (listener.max_headers as usize).max(1);
    let head_timeout = head_timeout(listener);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .max_headers(max_headers)
        // The framing guard answers 431 for a head over `maxHeaderBytes` (and over
        // `maxHeaders` fields) before hyper sees it; hyper's own limits stay as a backstop.
        .max_buf_size(header_bytes)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(Some(H2_MAX_CONCURRENT_STREAMS))
        .max_pending_accept_reset_streams(Some(H2_MAX_PENDING_ACCEPT_RESET_STREAMS))
        .max_local_error_reset_streams(Some(H2_MAX_LOCAL_ERROR_RESET_STREAMS))
        .max_send_buf_size(H2_MAX_SEND_BUFFER)
        // Bounds the decoded header list: a list over it is answered 431; an HPACK bomb (a
        // few bytes referring to a large dynamic-table entry, repeated) that decodes past 4
        // times it gets GOAWAY, and so does a CONTINUATION flood once its frames could not
        // fit a list this size.
        .max_header_list_size(listener.max_header_bytes.max(1))
        // Pings after `idleTimeoutMs` of silence find dead peers; HTTP/2 has no idle close.
        .keep_alive_interval(Some(Duration::from_millis(
            listener.idle_timeout_ms.max(1000),
        )))
        .keep_alive_timeout(H2_PING_TIMEOUT);
    builder
}
