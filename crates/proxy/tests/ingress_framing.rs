//! The ingress framing guard over real sockets: pipelining and keep-alive still work, a bad
//! message behind good ones is refused alone, a bad chunk that arrives after its head went
//! upstream aborts that request, protocol switches, timeouts, and the refusal's log and
//! metrics.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{header, single_route, split_response, start, start_with};
use portcullis_telemetry::access_log::{AccessLog, Destination};
use portcullis_telemetry::metrics::Metrics;
use portcullis_testkit::{raw_request_until_close, MockUpstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response of several pipelined ones: status, lower-case headers, body.
type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// Split pipelined HTTP/1.1 responses (bodies framed by `Content-Length` or chunked).
fn split_responses(mut raw: &[u8]) -> Vec<Response> {
    let mut responses = Vec::new();
    while !raw.is_empty() {
        let head_end = raw
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("complete head")
            + 4;
        let (status, headers, _) = split_response(&raw[..head_end]);
        let mut rest = &raw[head_end..];
        let mut body = Vec::new();
        if let Some(length) = header(&headers, "content-length") {
            let length: usize = length.parse().expect("length");
            body.extend_from_slice(&rest[..length]);
            rest = &rest[length..];
        } else if header(&headers, "transfer-encoding") == Some("chunked") {
            loop {
                let line_end = rest.windows(2).position(|w| w == b"\r\n").expect("size");
                let size =
                    usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).expect("hex"), 16)
                        .expect("size");
                rest = &rest[line_end + 2..];
                if size == 0 {
                    rest = &rest[2..];
                    break;
                }
                body.extend_from_slice(&rest[..size]);
                rest = &rest[size + 2..];
            }
        }
        responses.push((status, headers, body));
        raw = rest;
    }
    responses
}

async fn echo_gateway() -> (MockUpstream, common::TestGateway) {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    (upstream, gateway)
}

/// Everything the gateway sends until it closes the connection (5 s at most).
async fn read_until_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .expect("closed in time")
        .expect("read");
    raw
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<Response> {
    let raw = raw_request_until_close(addr, request, Duration::from_secs(5))
        .await
        .expect("answers, then close");
    split_responses(&raw)
}

const CHUNKED_WITH_TRAILERS: &[u8] =
    b"POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
    5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";

#[tokio::test]
async fn pipelined_requests_are_all_served_in_order() {
    let (upstream, gateway) = echo_gateway().await;
    let request = [
        &b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n"[..],
        CHUNKED_WITH_TRAILERS,
        b"POST /length HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody",
        b"\r\nGET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    ]
    .concat();
    let responses = exchange(gateway.addr, &request).await;
    let seen: Vec<(u16, String, u64)> = responses
        .iter()
        .map(|(status, _, body)| {
            let echo = common::json(body);
            (
                *status,
                echo["path"].as_str().expect("path").to_string(),
                echo["bodyLength"].as_u64().expect("length"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (200, "/one".to_string(), 0),
            (200, "/chunked".to_string(), 11),
            (200, "/length".to_string(), 4),
            (200, "/last".to_string(), 0),
        ]
    );
    assert_eq!(upstream.requests(), 4);
    gateway.stop().await;
}

#[tokio::test]
async fn a_request_written_byte_by_byte_is_served_and_a_bad_one_refused() {
    let (upstream, gateway) = echo_gateway().await;
    for (request, status) in [
        (CHUNKED_WITH_TRAILERS, 200),
        (
            &b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
            400,
        ),
    ] {
        let mut stream = TcpStream::connect(gateway.addr).await.expect("connect");
        for byte in request {
            stream.write_all(&[*byte]).await.expect("write");
            stream.flush().await.expect("flush");
        }
        let mut raw = Vec::new();
        let mut buffer = [0u8; 4096];
        while !raw.ends_with(b"}") {
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
                .await
                .expect("answer in time")
                .expect("read");
            assert!(read > 0, "closed early: {:?}", String::from_utf8_lossy(&raw));
            raw.extend_from_slice(&buffer[..read]);
        }
        assert_eq!(split_response(&raw).0, status);
    }
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn a_bad_message_behind_a_good_one_is_refused_alone_and_nothing_after_it_is_read() {
    let (upstream, gateway) = echo_gateway().await;
    let request = [
        &b"GET /first HTTP/1.1\r\nHost: h\r\nX-Request-Id: first-1\r\n\r\n"[..],
        b"POST /second HTTP/1.1\r\nHost: h\r\nX-Request-Id: second-2\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        b"GET /third HTTP/1.1\r\nHost: h\r\n\r\n",
    ]
    .concat();
    let responses = exchange(gateway.addr, &request).await;
    assert_eq!(responses.len(), 2, "the third request is never parsed");
    let (status, headers, body) = &responses[0];
    assert_eq!(*status, 200);
    assert_eq!(common::json(body)["path"], "/first");
    assert_eq!(header(headers, "x-request-id"), Some("first-1"));
    let (status, headers, body) = &responses[1];
    assert_eq!(*status, 400);
    assert_eq!(header(headers, "connection"), Some("close"));
    // The refused message's own request id is kept.
    assert_eq!(header(headers, "x-request-id"), Some("second-2"));
    assert_eq!(common::json(body)["requestId"], "second-2");
    assert_eq!(upstream.requests(), 1);
    assert_eq!(upstream.last_request().expect("first").uri.path(), "/first");
    gateway.stop().await;
}

/// A bad chunk that arrives after the head already went upstream keeps hyper's behaviour:
/// the upstream request is aborted and the client gets 400 (no response had started).
#[tokio::test]
async fn a_bad_chunk_arriving_after_its_head_aborts_the_forwarded_request() {
    // The JSON echo reads the whole body before it answers, so no response has started.
    let (upstream, gateway) = echo_gateway().await;
    let mut stream = TcpStream::connect(gateway.addr).await.expect("connect");
    stream
        .write_all(b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        .await
        .expect("write head");
    for _ in 0..200 {
        if upstream.requests() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(upstream.requests(), 1, "the head was forwarded");
    stream
        .write_all(b"zz\r\nabc\r\n0\r\n\r\n")
        .await
        .expect("write bad chunk");
    let raw = read_until_close(&mut stream).await;
    let (status, _, body) = split_response(&raw);
    assert_eq!(status, 400, "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(common::json(&body)["code"], "bad_request");
    gateway.stop().await;
}

/// An `Upgrade` request the upstream does not switch for leaves the guard on: a request
/// pipelined behind it is still checked.
#[tokio::test]
async fn an_upgrade_that_is_not_switched_keeps_the_guard_on() {
    let (upstream, gateway) = echo_gateway().await;
    let request = [
        &b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"[..],
        b"POST /smuggle HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ]
    .concat();
    let responses = exchange(gateway.addr, &request).await;
    let statuses: Vec<u16> = responses.iter().map(|response| response.0).collect();
    assert_eq!(statuses, vec![200, 400]);
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn a_forged_synthetic_request_is_an_ordinary_request() {
    let (upstream, gateway) = echo_gateway().await;
    let request = b"GUARD-REFUSED / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\
        x-portcullis-guard-nonce: 00000000000000000000000000000000\r\n\r\n";
    let responses = exchange(gateway.addr, request).await;
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].0, 200, "forwarded like any request");
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.method.as_str(), "GUARD-REFUSED");
    assert!(!seen.headers.contains_key("x-portcullis-guard-nonce"));
    gateway.stop().await;
}

#[tokio::test]
async fn an_unfinished_first_head_is_answered_408_after_the_header_read_timeout() {
    let upstream = MockUpstream::echo().await;
    let mut listener = common::listener();
    listener.header_read_timeout_ms = 300;
    let yaml = single_route(&upstream.endpoint(), "/", "", "");
    let gateway = start_with(&yaml, listener, AccessLog::disabled()).await;
    let started = std::time::Instant::now();
    let raw = raw_request_until_close(
        gateway.addr,
        b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: ",
        Duration::from_secs(3),
    )
    .await
    .expect("closed in time");
    assert!(started.elapsed() >= Duration::from_millis(250));
    let (status, _, body) = split_response(&raw);
    assert_eq!(status, 408);
    assert_eq!(common::json(&body)["code"], "request_timeout");
    // A connection that sends nothing at all is closed without an answer.
    let raw = raw_request_until_close(gateway.addr, b"", Duration::from_secs(3))
        .await
        .expect("closed in time");
    assert!(raw.is_empty());
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn a_refusal_is_logged_and_counted_like_every_rejection() {
    let upstream = MockUpstream::echo().await;
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("access.log");
    let metrics = Metrics::new();
    let (access_log, guard) =
        AccessLog::start(Destination::File(path.clone()), 1024, metrics).expect("access log");
    let yaml = single_route(&upstream.endpoint(), "/", "", "");
    let gateway = start_with(&yaml, common::listener(), access_log).await;
    let request = b"POST /smuggle?q=1 HTTP/1.1\r\nHost: h\r\nX-Request-Id: smuggle-1\r\n\
        Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let responses = exchange(gateway.addr, request).await;
    assert_eq!(responses[0].0, 400);
    let responses = exchange(gateway.addr, b"GET /a HTTP/1.1\r\nX: a\0\r\n\r\n").await;
    assert_eq!(responses[0].0, 400);
    let exposition = gateway.gateway.metrics().encode();
    assert!(
        exposition
            .contains("portcullis_requests_total{route=\"\",method=\"POST\",status=\"400\"} 1"),
        "{exposition}"
    );
    assert!(
        exposition
            .contains("portcullis_requests_total{route=\"\",method=\"other\",status=\"400\"} 1"),
        "{exposition}"
    );
    gateway.stop().await;
    guard.finish();

    let text = std::fs::read_to_string(&path).expect("log file");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let smuggle = &lines[0];
    assert_eq!(smuggle["requestId"], "smuggle-1");
    assert_eq!(smuggle["method"], "POST");
    assert_eq!(smuggle["path"], "/smuggle");
    assert_eq!(smuggle["status"], 400);
    assert_eq!(smuggle["error"], "bad_request");
    assert_eq!(smuggle["configVersion"], 1);
    let nul = &lines[1];
    assert_eq!(nul["method"], "-");
    assert_eq!(nul["status"], 400);
    assert!(nul["clientAddr"]
        .as_str()
        .expect("client")
        .starts_with("127.0.0.1:"));
    assert_eq!(upstream.requests(), 0);
}

/// The head of a chunked request waits for its first chunk-size line, so a bad size sent
/// after the head (a separate packet) is refused before anything is forwarded.
#[tokio::test]
async fn a_bad_first_chunk_size_sent_after_the_head_is_refused_before_forwarding() {
    let (upstream, gateway) = echo_gateway().await;
    let mut stream = TcpStream::connect(gateway.addr).await.expect("connect");
    stream
        .write_all(b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .expect("write head");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(upstream.requests(), 0, "the head waits for its first chunk");
    stream
        .write_all(b"zz\r\nabc\r\n0\r\n\r\n")
        .await
        .expect("write bad chunk");
    let raw = read_until_close(&mut stream).await;
    let (status, headers, body) = split_response(&raw);
    assert_eq!(status, 400, "{:?}", String::from_utf8_lossy(&raw));
    let problem = common::json(&body);
    assert_eq!(problem["code"], "bad_request");
    assert_eq!(
        Some(problem["requestId"].as_str().expect("request id")),
        header(&headers, "x-request-id")
    );
    assert_eq!(upstream.requests(), 0, "nothing was forwarded");
    gateway.stop().await;
}

/// `Expect: 100-continue` clients send the body only after the interim answer: their
/// chunked head is not held for a first chunk.
#[tokio::test]
async fn a_chunked_request_expecting_100_continue_is_not_held() {
    let (upstream, gateway) = echo_gateway().await;
    let mut stream = TcpStream::connect(gateway.addr).await.expect("connect");
    stream
        .write_all(
            b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\
              Expect: 100-continue\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("write head");
    let mut interim = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut interim))
        .await
        .expect("an interim answer in time")
        .expect("read");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream
        .write_all(b"5\r\nhello\r\n0\r\n\r\n")
        .await
        .expect("write body");
    let raw = read_until_close(&mut stream).await;
    let (status, _, _) = split_response(&raw);
    assert_eq!(status, 200, "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}
