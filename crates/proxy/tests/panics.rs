//! A panic in one request's task ends only that connection (HTTP/1) or stream (HTTP/2): it is
//! counted and logged, and every other client goes on being served. The panic comes from the
//! test-only `fault-injection` feature (a request header), standing in for a bug.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{single_route, start};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_telemetry::panics::{install_hook, panic_count};
use portcullis_testkit::raw::{raw_request_until_close, response_status};
use portcullis_testkit::MockUpstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PANIC_HEADER: &str = "x-portcullis-fault-panic";

/// One request on an open keep-alive connection; the status of its response.
async fn keep_alive_get(stream: &mut TcpStream, path: &str) -> u16 {
    let request = format!("GET {path} HTTP/1.1\r\nHost: api.test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    // The echo upstream answers with Content-Length: read until the whole body is in.
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(read > 0, "the healthy connection was closed");
        received.extend_from_slice(&buffer[..read]);
        if let Some(head_end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .expect("content-length");
            if received.len() >= head_end + 4 + length {
                return response_status(&received).expect("status line");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_http1_request_closes_only_its_connection() {
    install_hook();
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;

    let mut healthy = TcpStream::connect(gateway.addr).await.expect("connect");
    assert_eq!(keep_alive_get(&mut healthy, "/before").await, 200);
    let forwarded_before = upstream.requests();
    let panics_before = panic_count();

    let poisoned = format!("GET /boom HTTP/1.1\r\nHost: api.test\r\n{PANIC_HEADER}: 1\r\n\r\n");
    let answer =
        raw_request_until_close(gateway.addr, poisoned.as_bytes(), Duration::from_secs(10))
            .await
            .expect("the panicking connection is closed, not left hanging");
    assert!(
        answer.is_empty(),
        "nothing is answered on the panicking connection: {:?}",
        String::from_utf8_lossy(&answer)
    );
    assert!(panic_count() > panics_before, "the panic is counted");
    assert_eq!(upstream.requests(), forwarded_before, "nothing forwarded");

    // The other connection, and new ones, are served as before.
    assert_eq!(keep_alive_get(&mut healthy, "/after").await, 200);
    let mut fresh = TcpStream::connect(gateway.addr).await.expect("connect");
    assert_eq!(keep_alive_get(&mut fresh, "/fresh").await, 200);

    let metrics = gateway.gateway.metrics().encode();
    let panics_line = metrics
        .lines()
        .find(|line| line.starts_with("portcullis_panics_total "))
        .expect("portcullis_panics_total is exported");
    let exported: u64 = panics_line
        .rsplit(' ')
        .next()
        .and_then(|value| value.parse().ok())
        .expect("a count");
    assert!(exported >= 1, "{panics_line}");
    assert!(
        metrics.contains("status=\"500\""),
        "the panicking request is recorded as a 500"
    );
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_http2_request_resets_only_its_stream() {
    install_hook();
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    let stream = TcpStream::connect(gateway.addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    let request = |panic: bool| {
        let mut builder = http::Request::get("http://api.test/h2");
        if panic {
            builder = builder.header(PANIC_HEADER, "1");
        }
        builder.body(Full::<Bytes>::default()).expect("request")
    };
    let panics_before = panic_count();
    let failed = sender.send_request(request(true)).await;
    assert!(
        failed.is_err(),
        "the panicking stream gets no response: {failed:?}"
    );
    assert!(panic_count() > panics_before, "the panic is counted");
    // The same connection goes on serving its other streams.
    sender.ready().await.expect("the connection is still open");
    let response = sender.send_request(request(false)).await.expect("served");
    assert_eq!(response.status(), 200);
    gateway.stop().await;
}
