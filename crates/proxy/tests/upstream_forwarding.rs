//! Forwarding: the request as the upstream sees it, HTTP/2 upstreams, streamed bodies,
//! upgrades.

mod upstream_support;

use bytes::Bytes;
use futures_util::stream;
use http::{Request, StatusCode, Version};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use hyper_util::rt::TokioIo;
use portcullis_proxy::upstream::{BoxError, ProxyBody};
use portcullis_testkit::MockUpstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use upstream_support::{empty_body, get, json, Fixture};

#[tokio::test]
async fn upstream_sees_origin_form_and_the_pipeline_host() {
    let upstream = MockUpstream::echo().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let (status, body) = fixture.get("/a/b?x=1&y=%20").await.expect("forwarded");
    assert_eq!(status, 200);
    let echo = json(&body);
    assert_eq!(echo["uri"], "/a/b?x=1&y=%20", "origin-form on the wire");
    assert_eq!(echo["version"], "HTTP/1.1");
    assert_eq!(
        echo["headers"]["host"], "api.example.test",
        "Host is not rewritten"
    );
    assert_eq!(upstream.requests(), 1);
}

#[tokio::test]
async fn a_downstream_http2_request_goes_upstream_as_http1() {
    let upstream = MockUpstream::builder().http1_only().start().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let mut request = get("/h2-client");
    *request.version_mut() = Version::HTTP_2;
    let response = fixture.forward(request).await.expect("forwarded");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(json(&body)["version"], "HTTP/1.1");
}

#[tokio::test]
async fn http2_upstream_is_spoken_with_prior_knowledge() {
    let upstream = MockUpstream::builder().http2_only().start().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &["protocol: http2"]);
    for _ in 0..3 {
        let (status, body) = fixture.get("/over/h2?q=1").await.expect("forwarded");
        assert_eq!(status, 200);
        let echo = json(&body);
        assert_eq!(echo["version"], "HTTP/2.0");
        assert_eq!(echo["path"], "/over/h2");
        assert_eq!(echo["query"], "q=1");
        assert_eq!(echo["headers"]["host"], "api.example.test");
    }
    assert_eq!(upstream.connections(), 1, "one multiplexed connection");
}

fn streamed_body(chunks: usize, chunk_size: usize) -> ProxyBody {
    let chunk = Bytes::from(vec![b'z'; chunk_size]);
    let frames = (0..chunks).map(move |_| Ok::<_, BoxError>(Frame::data(chunk.clone())));
    StreamBody::new(stream::iter(frames)).boxed_unsync()
}

#[tokio::test]
async fn a_10_mib_request_body_is_streamed_both_ways() {
    const CHUNKS: usize = 160;
    const CHUNK: usize = 64 * 1024;
    for protocol in ["http1", "http2"] {
        let upstream = MockUpstream::builder().echo_body().start().await;
        let fixture = Fixture::new(&[upstream.endpoint()], &[&format!("protocol: {protocol}")]);
        let request = Request::post("/upload")
            .header("host", "api.example.test")
            .body(streamed_body(CHUNKS, CHUNK))
            .expect("request");
        let response = fixture.forward(request).await.expect("forwarded");
        assert_eq!(response.status(), StatusCode::OK);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("echoed body")
            .to_bytes();
        assert_eq!(body.len(), CHUNKS * CHUNK, "{protocol}");
        assert!(body.iter().all(|byte| *byte == b'z'));
    }
}

#[tokio::test]
async fn an_upgrade_returns_101_and_a_tunnel_to_the_upstream() {
    let upstream = MockUpstream::builder().upgrade_echo().start().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let request = Request::get("/ws")
        .header("host", "api.example.test")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .body(empty_body())
        .expect("request");
    let mut response = fixture.forward(request).await.expect("forwarded");
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    let upgraded = hyper::upgrade::on(&mut response)
        .await
        .expect("upstream tunnel");
    let mut tunnel = TokioIo::new(upgraded);
    tunnel
        .write_all(b"hello through the tunnel")
        .await
        .expect("write");
    let mut echoed = [0u8; 24];
    tunnel.read_exact(&mut echoed).await.expect("read echo");
    assert_eq!(&echoed, b"hello through the tunnel");
}

#[tokio::test]
async fn upstream_latency_is_recorded_per_service() {
    let upstream = MockUpstream::echo().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    fixture.get("/").await.expect("forwarded");
    let text = fixture.metrics.encode();
    let count_line = text
        .lines()
        .find(|line| {
            line.starts_with("portcullis_upstream_duration_seconds_count") && line.contains("svc")
        })
        .unwrap_or_else(|| panic!("no upstream latency count in:\n{text}"));
    assert!(count_line.ends_with(" 1"), "{count_line}");
}
