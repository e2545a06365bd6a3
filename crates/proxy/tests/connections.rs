//! Connection-level behaviour: h2c, WebSocket upgrades, the header read timeout and the
//! connection limit.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{single_route, start, start_with};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_testkit::MockUpstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn h2c_prior_knowledge_clients_are_served() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    let stream = TcpStream::connect(gateway.addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    let request = http::Request::get(format!(
        "http://api.example.com:{}/h2?x=1",
        gateway.addr.port()
    ))
    .body(Full::<Bytes>::default())
    .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert!(response.headers().contains_key("x-request-id"));
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.uri.to_string(), "/h2?x=1");
    // The HTTP/2 `:authority` becomes the upstream's Host.
    assert_eq!(
        seen.headers["host"],
        format!("api.example.com:{}", gateway.addr.port()).as_str()
    );
    gateway.stop().await;
}

#[tokio::test]
async fn websocket_upgrade_passes_bytes_both_ways() {
    let upstream = MockUpstream::builder().upgrade_echo().start().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    let mut tunnel = common::open_upgrade(gateway.addr).await;
    let seen = upstream.last_request().expect("handshake forwarded");
    assert_eq!(seen.headers["upgrade"], "websocket");
    assert_eq!(
        seen.headers["sec-websocket-key"],
        "dGhlIHNhbXBsZSBub25jZQ=="
    );
    for message in [&b"hello"[..], b"second frame"] {
        common::echo_through(&mut tunnel, message).await;
    }
    // Closing the client side ends the tunnel (otherwise shutdown would wait for it).
    drop(tunnel);
    gateway.stop().await;
}

#[tokio::test]
async fn slow_request_head_is_cut_off_by_the_header_read_timeout() {
    let upstream = MockUpstream::echo().await;
    let mut listener = common::listener();
    listener.header_read_timeout_ms = 300;
    let gateway = start_with(
        &single_route(&upstream.endpoint(), "/", "", ""),
        listener,
        AccessLog::disabled(),
    )
    .await;
    let mut stream = TcpStream::connect(gateway.addr).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: ")
        .await
        .expect("write");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest))
        .await
        .expect("closed in time");
    assert!(read.is_err() || !rest.starts_with(b"HTTP/1.1 200"));
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed too early: {:?}",
        started.elapsed()
    );
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn connections_over_the_limit_are_closed() {
    let upstream = MockUpstream::echo().await;
    let mut listener = common::listener();
    listener.max_connections = 1;
    let gateway = start_with(
        &single_route(&upstream.endpoint(), "/", "", ""),
        listener,
        AccessLog::disabled(),
    )
    .await;
    // The first connection holds the only slot (keep-alive).
    let first = TcpStream::connect(gateway.addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(first))
        .await
        .expect("h1");
    let first_connection = tokio::spawn(connection);
    let request = http::Request::get("/")
        .header("host", "h")
        .body(Full::<Bytes>::default())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let _ = response.into_body().collect().await;

    let refused =
        portcullis_testkit::raw_request(gateway.addr, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(
        refused.map(|bytes| bytes.is_empty()).unwrap_or(true),
        "second connection was served"
    );

    drop(sender);
    first_connection.abort();
    let _ = first_connection.await;
    let mut served = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Ok(bytes) =
            portcullis_testkit::raw_request(gateway.addr, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
                .await
        {
            if portcullis_testkit::response_status(&bytes) == Some(200) {
                served = true;
                break;
            }
        }
    }
    assert!(served, "the slot was not released");
    gateway.stop().await;
}

#[tokio::test]
async fn invalid_listener_settings_are_refused_at_bind_naming_the_listener() {
    let gateway = portcullis_proxy::Gateway::new(
        portcullis_telemetry::metrics::Metrics::new(),
        AccessLog::disabled(),
    );
    let mut listener = common::listener();
    listener.address = "localhost:80".to_string();
    let error = portcullis_proxy::Server::bind(std::sync::Arc::clone(&gateway), &[listener])
        .await
        .expect_err("a host name is not an IP:PORT");
    assert!(
        matches!(error, portcullis_proxy::ProxyError::Address { ref listener, .. } if listener == "test")
    );

    let mut listener = common::listener();
    listener.trusted_proxies = vec!["10.0.0.0/8".to_string(), "10.0.0.0/40".to_string()];
    let error = portcullis_proxy::Server::bind(std::sync::Arc::clone(&gateway), &[listener])
        .await
        .expect_err("a /40 is not an IPv4 prefix");
    let message = error.to_string();
    assert!(
        message.contains("trustedProxies") && message.contains("10.0.0.0/40"),
        "{message}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut listener = common::listener();
    listener.address = taken.local_addr().expect("addr").to_string();
    let error = portcullis_proxy::Server::bind(gateway, &[listener])
        .await
        .expect_err("the port is taken");
    assert!(
        matches!(error, portcullis_proxy::ProxyError::Bind { .. }),
        "{error}"
    );
}
