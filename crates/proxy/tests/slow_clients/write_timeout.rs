//! A client that stops reading a large response: once the response has waited
//! `writeTimeoutMs` without the client taking a byte, the connection is closed (freeing the
//! upstream response it held) and counted in `portcullis_connections_write_timeouts_total`.

use std::time::Duration;

use portcullis_testkit::MockUpstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wait_for;

const RESPONSE_BYTES: u64 = 1 << 30;

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_and_counted() {
    let upstream = MockUpstream::builder()
        .stream_bytes(RESPONSE_BYTES)
        .start()
        .await;
    let gateway = crate::gateway(&upstream.endpoint(), |listener| {
        listener.write_timeout_ms = 500;
    })
    .await;
    let listener = gateway.gateway.metrics().listener("test");
    let mut client = TcpStream::connect(gateway.addr).await.expect("connect");
    client
        .write_all(b"GET /large HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .expect("request");
    let mut head = [0u8; 1024];
    let read = client.read(&mut head).await.expect("first bytes");
    assert!(head[..read].starts_with(b"HTTP/1.1 200"));
    // The client reads nothing more: the socket buffers fill, the response stalls, and the
    // gateway gives up on the connection.
    wait_for(
        Duration::from_secs(15),
        "a write timeout is counted",
        || listener.write_timeout_count() == 1,
    )
    .await;
    wait_for(Duration::from_secs(5), "the connection is released", || {
        listener.open_count() == 0
    })
    .await;
    // What the client can still read ends well before the whole response.
    let mut total = read as u64;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), client.read(&mut buffer))
            .await
            .expect("the connection ends")
        {
            Ok(0) | Err(_) => break,
            Ok(count) => total += count as u64,
        }
    }
    assert!(
        total < RESPONSE_BYTES,
        "the whole response arrived ({total} bytes)"
    );
    // Another client is served as usual.
    let response = common_get(&gateway).await;
    assert_eq!(response, 200);
    gateway.stop().await;
}

/// A client that reads slowly but steadily is never cut off (progress restarts the clock).
#[tokio::test]
async fn a_slow_but_steady_reader_gets_the_whole_response() {
    const SMALL: u64 = 4 << 20;
    let upstream = MockUpstream::builder().stream_bytes(SMALL).start().await;
    let gateway = crate::gateway(&upstream.endpoint(), |listener| {
        listener.write_timeout_ms = 300;
    })
    .await;
    let listener = gateway.gateway.metrics().listener("test");
    let mut client = TcpStream::connect(gateway.addr).await.expect("connect");
    client
        .write_all(b"GET /large HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 512 * 1024];
    loop {
        let count = client.read(&mut buffer).await.expect("read");
        if count == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..count]);
        // Slower than the gateway can send, never silent for the timeout.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, _, body) = crate::common::split_response(&received);
    assert_eq!(status, 200);
    assert_eq!(body.len() as u64, SMALL);
    assert_eq!(listener.write_timeout_count(), 0);
    gateway.stop().await;
}

/// The status of `GET /other` on a fresh connection, read from the status line alone (the
/// upstream answers every request with a gigabyte).
async fn common_get(gateway: &crate::common::TestGateway) -> u16 {
    let mut client = TcpStream::connect(gateway.addr).await.expect("connect");
    client
        .write_all(b"GET /other HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .expect("request");
    let mut head = [0u8; 64];
    let mut read = 0;
    while !head[..read].windows(2).any(|pair| pair == b"\r\n") {
        let count = tokio::time::timeout(Duration::from_secs(5), client.read(&mut head[read..]))
            .await
            .expect("answered in time")
            .expect("read");
        assert!(count > 0, "closed before the status line");
        read += count;
    }
    portcullis_testkit::response_status(&head[..read]).unwrap_or(0)
}
