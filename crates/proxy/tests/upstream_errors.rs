//! Failure mapping: connect failures and timeouts (502), broken responses (502),
//! the concurrency limit (503 at once), and request-body verdicts passed through.

mod upstream_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream;
use http::Request;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_proxy::upstream::BoxError;
use portcullis_testkit::MockUpstream;
use upstream_support::{get, Fixture};

/// An address on loopback where nothing listens.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr.to_string()
}

#[tokio::test]
async fn a_refused_connection_is_upstream_connect_failed_and_counted() {
    let fixture = Fixture::new(&[closed_port().await], &["connectTimeoutMs: 2000"]);
    let started = Instant::now();
    let error = fixture.get("/").await.expect_err("nothing listens");
    assert_eq!(error.kind, ErrorKind::UpstreamConnectFailed);
    assert_eq!(error.status(), 502);
    assert!(error.retryable);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refusal is immediate"
    );
    let metrics = fixture.metrics.encode();
    assert!(
        metrics.contains("portcullis_upstream_connect_failures_total{service=\"svc\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_connect_that_hangs_fails_after_the_connect_timeout() {
    // A listener that never accepts, with its accept queue filled: the kernel drops further
    // SYNs, so a new connect hangs (loopback only, no external address needed).
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let loopback: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    socket.bind(&loopback.into()).expect("bind");
    socket.listen(0).expect("listen");
    let addr = socket
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet addr");
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    let fixture = Fixture::new(&[addr.to_string()], &["connectTimeoutMs: 300"]);
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(5), fixture.get("/")).await;
    let elapsed = started.elapsed();
    let error = outcome
        .expect("the connect timeout fires")
        .expect_err("cannot connect");
    assert_eq!(error.kind, ErrorKind::UpstreamConnectFailed);
    assert!(
        elapsed >= Duration::from_millis(250),
        "waited the timeout: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "not much longer: {elapsed:?}"
    );
}

async fn raw_upstream_error(response: &'static [u8]) -> GatewayError {
    let upstream = MockUpstream::builder().raw_response(response).start().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let error = fixture.get("/").await.expect_err("broken upstream");
    assert_eq!(upstream.requests(), 1, "the request reached the upstream");
    error
}

#[tokio::test]
async fn closing_before_the_response_is_a_protocol_error() {
    let error = raw_upstream_error(b"").await;
    assert_eq!(error.kind, ErrorKind::UpstreamProtocolError);
    assert_eq!(error.status(), 502);
}

#[tokio::test]
async fn a_malformed_response_is_a_protocol_error() {
    let error = raw_upstream_error(b"THIS IS NOT HTTP\r\n\r\n").await;
    assert_eq!(error.kind, ErrorKind::UpstreamProtocolError);
}

#[tokio::test]
async fn closing_mid_body_fails_the_body_stream() {
    let upstream = MockUpstream::builder()
        .raw_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"[..])
        .start()
        .await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let response = fixture.forward(get("/")).await.expect("headers arrived");
    assert_eq!(response.status(), 200);
    assert!(
        response.into_body().collect().await.is_err(),
        "truncated body is an error"
    );
}

#[tokio::test]
async fn the_concurrency_limit_answers_503_at_once_and_frees_slots() {
    let upstream = MockUpstream::builder().hold().start().await;
    let fixture = std::sync::Arc::new(Fixture::new(
        &[upstream.endpoint()],
        &["maxConcurrentRequests: 2"],
    ));
    let mut held = Vec::new();
    for _ in 0..2 {
        let fixture = fixture.clone();
        held.push(tokio::spawn(async move { fixture.get("/held").await }));
    }
    while upstream.requests() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let error = fixture.get("/over-limit").await.expect_err("limit reached");
    assert_eq!(error.kind, ErrorKind::UpstreamUnavailable);
    assert_eq!(error.status(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "fails fast, never queues"
    );
    assert_eq!(
        upstream.requests(),
        2,
        "the refused request never reached the upstream"
    );

    upstream.release();
    for task in held {
        let (status, _) = task.await.expect("task").expect("held request answered");
        assert_eq!(status, 200);
    }
    let (status, _) = fixture.get("/after").await.expect("slots were freed");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_verdict_from_the_request_body_is_passed_on() {
    let upstream = MockUpstream::echo().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let verdict = GatewayError::client(ErrorKind::PayloadTooLarge, Phase::Shape);
    let frames: Vec<Result<Frame<Bytes>, BoxError>> = vec![
        Ok(Frame::data(Bytes::from_static(b"first part"))),
        Err(Box::new(verdict.clone())),
    ];
    let request = Request::post("/upload")
        .header("host", "api.example.test")
        .body(StreamBody::new(stream::iter(frames)).boxed_unsync())
        .expect("request");
    // The echo upstream reads the whole body before answering, so the failure comes first.
    let error = fixture.forward(request).await.expect_err("the body failed");
    assert_eq!(error, verdict);
}
