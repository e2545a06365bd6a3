//! Forwarding: timeouts, connect failures, request shaping, bodies streamed both ways,
//! and the access log.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{connect_http1, get, json, send, single_route, start, start_with};
use http_body_util::{BodyExt, Full, StreamBody};
use portcullis_telemetry::access_log::{AccessLog, Destination};
use portcullis_telemetry::metrics::Metrics;
use portcullis_testkit::MockUpstream;

#[tokio::test]
async fn route_timeout_is_504() {
    let upstream = MockUpstream::builder()
        .delay(Duration::from_secs(3))
        .start()
        .await;
    let gateway = start(&single_route(
        &upstream.endpoint(),
        "/",
        "",
        "      timeoutMs: 200",
    ))
    .await;
    let started = std::time::Instant::now();
    let response = get(gateway.addr, "h", "/slow", &[]).await;
    assert_eq!(response.status(), 504);
    assert_eq!(json(response.body())["code"], "upstream_timeout");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    gateway.stop().await;
}

#[tokio::test]
async fn connect_failure_is_502() {
    // Bind and drop a listener: nothing listens on that port any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let gateway = start(&single_route(&closed.to_string(), "/", "", "")).await;
    let response = get(gateway.addr, "h", "/", &[]).await;
    assert_eq!(response.status(), 502);
    assert_eq!(json(response.body())["code"], "upstream_connect_failed");
    gateway.stop().await;
}

const SHAPED: &str = "    requestPolicy:\n      maxBodyBytes: 16\n      allowedContentTypes: [application/json]\n      requireHeaders: [x-tenant-id]";

fn post(path: &str, content_type: &str, body: &'static [u8]) -> http::Request<Full<Bytes>> {
    http::Request::post(path)
        .header("host", "h")
        .header("content-type", content_type)
        .header("x-tenant-id", "t1")
        .body(Full::new(Bytes::from_static(body)))
        .expect("request")
}

#[tokio::test]
async fn request_policy_413_415_and_missing_header_400() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", SHAPED)).await;

    let response = send(gateway.addr, post("/", "application/json", b"{\"a\":1}")).await;
    assert_eq!(response.status(), 200);

    let response = send(
        gateway.addr,
        post("/", "application/json", b"{\"much-too-long\":true}"),
    )
    .await;
    assert_eq!(response.status(), 413);

    let response = send(gateway.addr, post("/", "text/plain", b"hi")).await;
    assert_eq!(response.status(), 415);

    let request = http::Request::get("/")
        .header("host", "h")
        .body(Full::default())
        .expect("request");
    let response = send(gateway.addr, request).await;
    assert_eq!(response.status(), 400);
    let body = json(response.body());
    assert_eq!(body["code"], "missing_required_header");
    assert_eq!(body["detail"], "missing header x-tenant-id");
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_cut_off_with_413() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", SHAPED)).await;
    // No Content-Length: the limit can only be enforced while streaming.
    let chunks = (0..8).map(|_| {
        Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from_static(b"0123456789")))
    });
    let body = StreamBody::new(futures_util::stream::iter(chunks));
    let request = http::Request::post("/")
        .header("host", "h")
        .header("content-type", "application/json")
        .header("x-tenant-id", "t")
        .body(body)
        .expect("request");
    let mut sender = connect_http1(gateway.addr).await;
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 413);
    gateway.stop().await;
}

#[tokio::test]
async fn large_upload_and_download_stream_through() {
    const SIZE: u64 = 50 * 1024 * 1024;
    let upload_target = MockUpstream::echo().await;
    let download_source = MockUpstream::builder().stream_bytes(SIZE).start().await;
    let yaml = format!(
        r#"
services:
  sink: {{ visibility: public, endpoints: ["{sink}"] }}
  source: {{ visibility: public, endpoints: ["{source}"] }}
routes:
  - name: upload
    match: {{ pathPrefix: /up }}
    upstream: {{ service: sink }}
    policies: {{ auth: none, timeoutMs: 30000 }}
  - name: download
    match: {{ pathPrefix: /down }}
    upstream: {{ service: source }}
    policies: {{ auth: none, timeoutMs: 30000 }}
"#,
        sink = upload_target.endpoint(),
        source = download_source.endpoint()
    );
    let gateway = start(&yaml).await;

    let chunk = Bytes::from(vec![b'u'; 1024 * 1024]);
    let chunks = (0..SIZE / (1024 * 1024))
        .map(move |_| Ok::<_, std::io::Error>(http_body::Frame::data(chunk.clone())));
    let request = http::Request::post("/up")
        .header("host", "h")
        .body(StreamBody::new(futures_util::stream::iter(chunks)))
        .expect("request");
    let mut sender = connect_http1(gateway.addr).await;
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(json(&body)["bodyLength"], SIZE);

    let mut sender = connect_http1(gateway.addr).await;
    let request = http::Request::get("/down")
        .header("host", "h")
        .body(Full::<Bytes>::default())
        .expect("request");
    let mut body = sender
        .send_request(request)
        .await
        .expect("response")
        .into_body();
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            received += data.len() as u64;
        }
    }
    assert_eq!(received, SIZE);
    gateway.stop().await;
}

#[tokio::test]
async fn every_request_is_logged_once_including_rejections() {
    let upstream = MockUpstream::echo().await;
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("access.log");
    let metrics = Metrics::new();
    let (access_log, guard) = AccessLog::start(
        Destination::File(path.clone()),
        1024,
        std::sync::Arc::clone(&metrics),
    )
    .expect("access log");
    let yaml = single_route(&upstream.endpoint(), "/v1", "", "");
    let gateway = start_with(&yaml, common::listener(), access_log).await;
    get(
        gateway.addr,
        "h",
        "/v1/x?secret=1",
        &[("x-request-id", "ok-1")],
    )
    .await;
    get(gateway.addr, "h", "/nope", &[("x-request-id", "missing-1")]).await;
    // Refused by hyper's parser before the pipeline runs: still one record.
    let refused = portcullis_testkit::raw_request(
        gateway.addr,
        b"GET /a HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n",
    )
    .await
    .expect("answer");
    assert_eq!(portcullis_testkit::response_status(&refused), Some(400));
    gateway.stop().await;
    guard.finish();

    let text = std::fs::read_to_string(&path).expect("log file");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    let ok = lines
        .iter()
        .find(|line| line["requestId"] == "ok-1")
        .expect("ok line");
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["route"], "main");
    assert_eq!(ok["upstream"], "backend");
    assert_eq!(ok["path"], "/v1/x");
    assert_eq!(ok["configVersion"], 1);
    let missing = lines
        .iter()
        .find(|line| line["requestId"] == "missing-1")
        .expect("404 line");
    assert_eq!(missing["status"], 404);
    assert!(missing["route"].is_null());
    let malformed = lines
        .iter()
        .find(|line| line["status"] == 400)
        .expect("400 line");
    assert_eq!(malformed["error"], "bad_request");
    assert_eq!(malformed["method"], "-");
    assert!(malformed["clientAddr"]
        .as_str()
        .expect("client")
        .starts_with("127.0.0.1:"));
}

#[tokio::test]
async fn metrics_count_requests_per_route_and_in_flight_returns_to_zero() {
    let upstream = MockUpstream::builder().hold().start().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/v1", "", "")).await;
    let addr = gateway.addr;
    let held = tokio::spawn(async move { get(addr, "h", "/v1/held", &[]).await });
    for _ in 0..100 {
        if upstream.requests() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let metrics = std::sync::Arc::clone(gateway.gateway.metrics());
    assert_eq!(metrics.in_flight(), 1);
    upstream.release();
    assert_eq!(held.await.expect("request").status(), 200);
    get(gateway.addr, "h", "/elsewhere", &[]).await;
    // The completion is recorded when the response body is dropped, just after the client
    // has read it: give the connection task a moment.
    for _ in 0..100 {
        if metrics.in_flight() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(metrics.in_flight(), 0);
    let text = metrics.encode();
    let route_line = text
        .lines()
        .find(|line| {
            line.contains("route=\"main\"")
                && line.contains("status=\"200\"")
                && !line.starts_with('#')
        })
        .unwrap_or_else(|| panic!("no 200 line for route main in:\n{text}"));
    assert!(route_line.ends_with(" 1"), "{route_line}");
    assert!(
        text.lines().any(|line| line.contains("status=\"404\"")),
        "no 404 counted:\n{text}"
    );
    gateway.stop().await;
}
