//! A request body that stops arriving: 408 to the client once `bodyReadTimeoutMs` passes
//! without a byte, and the upstream request aborted, so the upstream never sees a short body
//! it could take for a complete one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::common;

/// An upstream that reads each connection to its end and answers nothing: what arrived
/// before the gateway closed the connection comes out of the channel.
async fn recording_upstream() -> (SocketAddr, mpsc::UnboundedReceiver<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut received = Vec::new();
                let _ = stream.read_to_end(&mut received).await;
                let _ = sender.send(received);
            });
        }
    });
    (addr, receiver)
}

struct Case {
    name: &'static str,
    head: &'static str,
    /// Body bytes sent before the client goes silent.
    sent: &'static [u8],
    /// Whether what the upstream received could pass for a complete request.
    complete: fn(&[u8]) -> bool,
}

fn body_of(raw: &[u8]) -> &[u8] {
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(raw.len(), |at| at + 4);
    &raw[end..]
}

const CASES: [Case; 2] = [
    Case {
        name: "content-length",
        head: "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n",
        sent: b"0123456789",
        complete: |raw| body_of(raw).len() >= 100,
    },
    Case {
        name: "chunked",
        head: "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        sent: b"a\r\n0123456789\r\n",
        complete: |raw| body_of(raw).ends_with(b"0\r\n\r\n"),
    },
];

#[tokio::test]
async fn a_stalled_request_body_gets_408_and_the_upstream_request_is_aborted() {
    for case in &CASES {
        let (upstream, mut received) = recording_upstream().await;
        let gateway = crate::gateway(&upstream.to_string(), |listener| {
            listener.body_read_timeout_ms = 300;
        })
        .await;
        let mut client = TcpStream::connect(gateway.addr).await.expect("connect");
        client
            .write_all(case.head.as_bytes())
            .await
            .expect("write head");
        client.write_all(case.sent).await.expect("write some body");
        let started = Instant::now();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer))
            .await
            .unwrap_or_else(|_| panic!("{}: no answer in time", case.name))
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
        let waited = started.elapsed();
        assert_eq!(
            portcullis_testkit::response_status(&answer),
            Some(408),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&answer)
        );
        let (_, headers, body) = common::split_response(&answer);
        assert!(
            String::from_utf8_lossy(&body).contains("bodyReadTimeoutMs"),
            "{}: the reason names the setting: {}",
            case.name,
            String::from_utf8_lossy(&body)
        );
        assert!(common::header(&headers, "x-request-id").is_some());
        assert!(
            waited >= Duration::from_millis(250),
            "{}: answered after {waited:?}, before the timeout",
            case.name
        );
        let upstream_saw = tokio::time::timeout(Duration::from_secs(5), received.recv())
            .await
            .unwrap_or_else(|_| panic!("{}: the upstream connection stayed open", case.name))
            .expect("recorded");
        assert!(
            upstream_saw.starts_with(b"POST /upload HTTP/1.1\r\n"),
            "{}: {}",
            case.name,
            String::from_utf8_lossy(&upstream_saw)
        );
        assert!(
            !(case.complete)(&upstream_saw),
            "{}: the upstream received what looks like a complete request: {}",
            case.name,
            String::from_utf8_lossy(&upstream_saw)
        );
        gateway.stop().await;
    }
}

/// A body that keeps coming, slower than the timeout in all but never silent for it, is
/// forwarded whole: the timeout is between reads, not for the whole body.
#[tokio::test]
async fn a_slow_but_moving_body_is_not_cut_off() {
    let upstream = portcullis_testkit::MockUpstream::echo().await;
    let gateway = crate::gateway(&upstream.endpoint(), |listener| {
        listener.body_read_timeout_ms = 400;
    })
    .await;
    let mut client = TcpStream::connect(gateway.addr).await.expect("connect");
    client
        .write_all(
            b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\n",
        )
        .await
        .expect("head");
    // 10 bytes 60 ms apart: 600 ms in all, longer than the timeout.
    for byte in b"0123456789" {
        client.write_all(&[*byte]).await.expect("byte");
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer))
        .await
        .expect("answered")
        .expect("read");
    let (status, _, body) = common::split_response(&answer);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(common::json(&body)["bodyLength"], 10);
    gateway.stop().await;
}
