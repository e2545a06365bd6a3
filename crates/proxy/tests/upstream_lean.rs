//! Bodyless requests on raw keep-alive connections: response framing (length, chunked with
//! trailers, until close, HEAD), connection reuse, and an endpoint closing idle connections.

mod upstream_support;

use http::{Method, Request};
use http_body_util::BodyExt;
use portcullis_testkit::MockUpstream;
use upstream_support::{empty_body, get, Fixture};

async fn raw(response: &'static [u8]) -> (MockUpstream, Fixture) {
    let upstream = MockUpstream::builder().raw_response(response).start().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    (upstream, fixture)
}

#[tokio::test]
async fn a_chunked_response_is_decoded_with_its_trailers() {
    let (_upstream, fixture) = raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-checksum: 99\r\n\r\n")
    .await;
    let response = fixture.forward(get("/")).await.expect("forwarded");
    assert_eq!(response.status(), 200);
    let collected = response.into_body().collect().await.expect("whole body");
    let trailers = collected.trailers().cloned().expect("trailers");
    assert_eq!(trailers.get("x-checksum").expect("trailer"), "99");
    assert_eq!(&collected.to_bytes()[..], b"hello, world");
}

#[tokio::test]
async fn a_body_without_length_runs_until_the_endpoint_closes() {
    let (_upstream, fixture) = raw(b"HTTP/1.1 200 OK\r\n\r\nall of this").await;
    let (status, body) = fixture.get("/").await.expect("forwarded");
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"all of this");
}

#[tokio::test]
async fn a_malformed_chunk_fails_the_body() {
    let (_upstream, fixture) =
        raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n").await;
    let response = fixture.forward(get("/")).await.expect("head arrived");
    assert!(response.into_body().collect().await.is_err());
}

#[tokio::test]
async fn connections_the_endpoint_closed_are_not_reused() {
    // Every answer claims keep-alive, then the endpoint closes: each request must still
    // succeed, on a new connection.
    let (upstream, fixture) = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
    for round in 0..5 {
        let (status, body) = fixture.get("/").await.expect("forwarded");
        assert_eq!((status, &body[..]), (200, &b"ok"[..]), "round {round}");
        // Let the endpoint's close reach us before the next checkout.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(upstream.requests(), 5);
    assert_eq!(upstream.connections(), 5);
}

#[tokio::test]
async fn head_and_get_share_one_connection() {
    let upstream = MockUpstream::echo().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let head = Request::builder()
        .method(Method::HEAD)
        .uri("/")
        .header("host", "api.example.test")
        .body(empty_body())
        .expect("request");
    let response = fixture.forward(head).await.expect("forwarded");
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.expect("empty body");
    assert!(body.to_bytes().is_empty());
    for _ in 0..3 {
        let (status, _) = fixture.get("/").await.expect("forwarded");
        assert_eq!(status, 200);
    }
    assert_eq!(upstream.requests(), 4);
    assert_eq!(
        upstream.connections(),
        1,
        "HEAD left the connection reusable"
    );
}

#[tokio::test]
async fn a_large_download_streams_through_the_raw_connection() {
    let upstream = MockUpstream::builder()
        .stream_bytes(8 * 1024 * 1024)
        .start()
        .await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let (status, body) = fixture.get("/").await.expect("forwarded");
    assert_eq!(status, 200);
    assert_eq!(body.len(), 8 * 1024 * 1024);
    // The connection went back to the pool after the last byte.
    let (status, _) = fixture.get("/").await.expect("forwarded again");
    assert_eq!(status, 200);
    assert_eq!(upstream.connections(), 1);
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout_without_traffic() {
    // A bare endpoint: answers one request with keep-alive, then reports when the gateway
    // closes the connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = listener.local_addr().expect("address").to_string();
    let closed = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut head = vec![0u8; 4096];
        let read = stream.read(&mut head).await.expect("request");
        assert!(head[..read].ends_with(b"\r\n\r\n"), "one whole head");
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .await
            .expect("answer");
        let started = std::time::Instant::now();
        let mut rest = [0u8; 16];
        let read = stream.read(&mut rest).await.expect("read until close");
        (read, started.elapsed())
    });
    let fixture = Fixture::new(
        std::slice::from_ref(&endpoint),
        &["pool: { idleTimeoutMs: 300 }"],
    );
    let (status, _) = fixture.get("/").await.expect("forwarded");
    assert_eq!(status, 200);
    let (read, after) = tokio::time::timeout(std::time::Duration::from_secs(5), closed)
        .await
        .expect("closed in time")
        .expect("endpoint task");
    assert_eq!(read, 0, "the gateway closed the idle connection");
    assert!(
        after >= std::time::Duration::from_millis(250),
        "not before the idle timeout: {after:?}"
    );
}
