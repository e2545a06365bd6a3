//! The mock upstream behaves as documented (it is what every other test leans on).

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_testkit::{raw_request, response_status, MockUpstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client(http2: bool) -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new())
        .http2_only(http2)
        .build(HttpConnector::new())
}

async fn get(client: &Client<HttpConnector, Full<Bytes>>, url: String) -> (StatusCode, Bytes) {
    let response = client
        .get(url.parse().expect("url"))
        .await
        .expect("response");
    let status = response.status();
    (
        status,
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes(),
    )
}

#[tokio::test]
async fn echo_describes_the_request_in_json() {
    let upstream = MockUpstream::echo().await;
    let request = Request::post(format!("http://{}/a/b?x=1", upstream.addr()))
        .header("x-one", "1")
        .header("x-dup", "a")
        .header("x-dup", "b")
        .body(Full::new(Bytes::from_static(b"hello")))
        .expect("request");
    let response = client(false).request(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let echo: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["uri"], "/a/b?x=1");
    assert_eq!(echo["path"], "/a/b");
    assert_eq!(echo["query"], "x=1");
    assert_eq!(echo["version"], "HTTP/1.1");
    assert_eq!(echo["headers"]["x-dup"], "a, b");
    assert_eq!(echo["bodyLength"], 5);
    assert_eq!(upstream.requests(), 1);
    assert_eq!(
        upstream.last_request().expect("recorded").headers["x-one"],
        "1"
    );
}

#[tokio::test]
async fn http2_prior_knowledge_is_served() {
    let upstream = MockUpstream::builder().http2_only().start().await;
    let (status, body) = get(&client(true), format!("http://{}/h2", upstream.addr())).await;
    assert_eq!(status, StatusCode::OK);
    let echo: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(echo["version"], "HTTP/2.0");
}

#[tokio::test]
async fn status_headers_and_generated_bodies() {
    let fixed = MockUpstream::builder()
        .fixed_bytes(1000)
        .status(418)
        .header("x-mock", "yes");
    let fixed = fixed.start().await;
    let response = client(false)
        .get(format!("http://{}/", fixed.addr()).parse().expect("url"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(response.headers()["x-mock"], "yes");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(body.len(), 1000);

    let streamed = MockUpstream::builder()
        .stream_bytes(3 * 1024 * 1024 + 7)
        .start()
        .await;
    let (_, body) = get(&client(false), format!("http://{}/", streamed.addr())).await;
    assert_eq!(body.len(), 3 * 1024 * 1024 + 7);
    assert!(body.iter().all(|byte| *byte == b'x'));
}

#[tokio::test]
async fn connections_are_counted_and_reused_by_a_pooling_client() {
    let upstream = MockUpstream::echo().await;
    let client = client(false);
    for _ in 0..5 {
        get(&client, format!("http://{}/", upstream.addr())).await;
    }
    assert_eq!(upstream.requests(), 5);
    assert_eq!(upstream.connections(), 1);
}

#[tokio::test]
async fn hold_answers_only_after_release() {
    let upstream = MockUpstream::builder().hold().start().await;
    let url = format!("http://{}/", upstream.addr());
    let pending = tokio::spawn(async move { get(&client(false), url).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(upstream.requests(), 1);
    assert!(!pending.is_finished());
    upstream.release();
    let (status, _) = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("answered after release")
        .expect("task");
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn raw_mode_records_heads_and_writes_bytes_verbatim() {
    let upstream = MockUpstream::builder()
        .raw_response(&b"HTTP/1.1 299 Odd\r\nContent-Length: 2\r\n\r\nok"[..])
        .start()
        .await;
    let response = raw_request(upstream.addr(), b"GET /raw HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .expect("raw exchange");
    assert_eq!(response_status(&response), Some(299));
    assert!(response.ends_with(b"\r\n\r\nok"));
    assert_eq!(
        upstream.raw_heads(),
        vec![b"GET /raw HTTP/1.1\r\nHost: a\r\n\r\n".to_vec()]
    );
}

#[tokio::test]
async fn upgrade_echo_tunnels_bytes() {
    let upstream = MockUpstream::builder().upgrade_echo().start().await;
    let request = Request::get(format!("http://{}/ws", upstream.addr()))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let mut response = client(false).request(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["upgrade"], "websocket");
    let upgraded = hyper::upgrade::on(&mut response).await.expect("upgraded");
    let mut io = TokioIo::new(upgraded);
    io.write_all(b"ping").await.expect("write");
    let mut echoed = [0u8; 4];
    io.read_exact(&mut echoed).await.expect("read");
    assert_eq!(&echoed, b"ping");
}

#[tokio::test]
async fn dropping_the_mock_stops_it() {
    let upstream = MockUpstream::echo().await;
    let addr = upstream.addr();
    drop(upstream);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
