//! The guard between a client and hyper's HTTP/1 server over an in-memory pipe: for valid
//! input hyper sees exactly what it sees without the guard, however the bytes are cut up;
//! for bad input it sees the valid messages before it and then the synthetic request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use crate::framing::io::Guard;
use crate::framing::{Limits, Shared, Tracker};

/// What hyper's service saw: method, target, body bytes, trailer names.
type Seen = (String, String, Vec<u8>, Vec<String>);

const LIMITS: Limits = Limits {
    max_header_bytes: 4096,
    max_headers: 16,
};

/// Serve `server` with hyper; return what the service saw once the connection ends.
async fn serve(server: DuplexStream, guard: Option<Arc<Shared>>) -> Vec<Seen> {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = Arc::clone(&seen);
    let service = service_fn(move |request: Request<Incoming>| {
        let record = Arc::clone(&record);
        async move {
            let (parts, body) = request.into_parts();
            let collected = body.collect().await;
            let (data, trailers) = match collected {
                Ok(collected) => {
                    let trailers = collected
                        .trailers()
                        .map(|map| map.keys().map(|name| name.to_string()).collect())
                        .unwrap_or_default();
                    (collected.to_bytes().to_vec(), trailers)
                }
                Err(_) => (b"<body error>".to_vec(), Vec::new()),
            };
            record.lock().expect("record").push((
                parts.method.to_string(),
                parts.uri.to_string(),
                data,
                trailers,
            ));
            Ok::<_, std::convert::Infallible>(Response::new(Empty::<Bytes>::new()))
        }
    });
    let builder = hyper::server::conn::http1::Builder::new();
    let _ = match guard {
        Some(shared) => {
            let io = Guard::new(server, shared, Tracker::new(LIMITS), 8192, None);
            builder.serve_connection(TokioIo::new(io), service).await
        }
        None => {
            builder
                .serve_connection(TokioIo::new(server), service)
                .await
        }
    };
    let seen = seen.lock().expect("record").clone();
    seen
}

/// Write `pieces` one by one (letting the server run in between), then read until the
/// server closes; return what the service saw.
async fn through(pieces: &[&[u8]], guarded: bool) -> (Vec<Seen>, Option<Arc<Shared>>) {
    through_then(pieces, guarded, false).await
}

/// [`through`], closing the client's write side after the last piece when `close`.
async fn through_then(
    pieces: &[&[u8]],
    guarded: bool,
    close: bool,
) -> (Vec<Seen>, Option<Arc<Shared>>) {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let shared = guarded.then(|| Arc::new(Shared::default()));
    let task = tokio::spawn(serve(server, shared.clone()));
    for piece in pieces {
        if client.write_all(piece).await.is_err() {
            // The server closed (after a refusal): the rest is never read anyway.
            break;
        }
        tokio::task::yield_now().await;
        if close {
            // Separate reads on the server side.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    if close {
        client.shutdown().await.expect("half close");
    }
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut sink)).await;
    let seen = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("server ends")
        .expect("server task");
    (seen, shared)
}

/// A tiny deterministic generator (xorshift), so the "random" messages are the same on
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// A valid message: no body, a `Content-Length` body or a chunked one (extensions,
/// trailers, leading zeros), sometimes after empty lines.
fn message(rng: &mut Rng, index: u64) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.next(4) == 0 {
        out.extend_from_slice(b"\r\n");
    }
    let body: Vec<u8> = (0..rng.next(40)).map(|n| b'a' + (n % 26) as u8).collect();
    match rng.next(3) {
        0 => out.extend_from_slice(
            format!("GET /m{index}?q={index} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes(),
        ),
        1 => {
            out.extend_from_slice(
                format!(
                    "POST /m{index} HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&body);
        }
        _ => {
            out.extend_from_slice(
                format!("PUT /m{index} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .as_bytes(),
            );
            for chunk in body.chunks(7) {
                let extension = if rng.next(2) == 0 { ";a=b" } else { "" };
                out.extend_from_slice(format!("{:03x}{extension}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            if rng.next(2) == 0 {
                out.extend_from_slice(format!("x-trailer-{index}: v\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn cut<'a>(rng: &mut Rng, input: &'a [u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let take = (1 + rng.next(30) as usize).min(rest.len());
        pieces.push(&rest[..take]);
        rest = &rest[take..];
    }
    pieces
}

const LAST: &[u8] = b"GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn hyper_sees_the_same_requests_with_and_without_the_guard() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..40 {
        let mut input = Vec::new();
        for index in 0..1 + rng.next(5) {
            input.extend_from_slice(&message(&mut rng, index));
        }
        input.extend_from_slice(LAST);
        let (direct, _) = through(&[&input], false).await;
        assert!(direct.len() >= 2, "round {round}: {direct:?}");
        let (whole, _) = through(&[&input], true).await;
        assert_eq!(whole, direct, "round {round}, whole");
        let pieces = cut(&mut rng, &input);
        let (cut_up, _) = through(&pieces, true).await;
        assert_eq!(cut_up, direct, "round {round}, in {} pieces", pieces.len());
    }
}

#[tokio::test]
async fn hyper_sees_the_valid_requests_then_the_synthetic_one_and_nothing_after() {
    let bad: [&[u8]; 5] = [
        b"POST /bad HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        // A bad first chunk size: refused however it arrives (the head waits for it).
        b"POST /bad HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /bad HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n",
        b"GET /bad HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        b"GET /bad HTTP/1.1\r\nX: \0\r\n\r\n",
    ];
    for bad in bad {
        let input = [
            &b"GET /good HTTP/1.1\r\n\r\n"[..],
            bad,
            b"GET /never HTTP/1.1\r\n\r\n",
        ]
        .concat();
        for pieces in [vec![&input[..]], input.chunks(1).collect()] {
            let (seen, shared) = through(&pieces, true).await;
            let targets: Vec<(&str, &str)> = seen
                .iter()
                .map(|(method, target, _, _)| (method.as_str(), target.as_str()))
                .collect();
            let shared = shared.expect("guarded");
            let refused = shared.refused.lock().expect("slot").take();
            // A bad later chunk that arrives after its head (byte by byte) breaks that body.
            if pieces.len() > 1 && bad.ends_with(b"ok\r\nzz\r\n") {
                assert_eq!(targets, vec![("GET", "/good"), ("POST", "/bad")]);
                assert_eq!(seen[1].2, b"<body error>");
                assert!(refused.is_none());
                continue;
            }
            assert_eq!(targets, vec![("GET", "/good"), ("GUARD-REFUSED", "/")]);
            let refused = refused.expect("refusal");
            assert_eq!(refused.reason.error_kind().status(), 400);
        }
    }
}

#[tokio::test]
async fn a_bad_chunk_after_the_head_passed_is_a_body_error_for_hyper() {
    let head = b"POST /late HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
    let (seen, shared) = through(&[head, b"zz\r\n"], true).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, "/late");
    assert_eq!(seen[0].2, b"<body error>");
    assert!(shared
        .expect("guarded")
        .refused
        .lock()
        .expect("slot")
        .is_none());
}

#[tokio::test]
async fn the_end_of_input_is_passed_on_and_a_malformed_partial_head_refused() {
    // A partial head that is valid so far is dropped at the end of input.
    let (seen, shared) = through_then(&[b"GET /a HTTP/1.1\r\n\r\nGET /b HT"], true, true).await;
    assert_eq!(seen.len(), 1);
    assert!(shared
        .expect("guarded")
        .refused
        .lock()
        .expect("slot")
        .is_none());
    // One that is already malformed is refused, as hyper would have answered it.
    let pieces: [&[u8]; 2] = [b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n", b"X: \0"];
    let (seen, _) = through_then(&pieces, true, true).await;
    let methods: Vec<&str> = seen.iter().map(|seen| seen.0.as_str()).collect();
    assert_eq!(methods, vec!["GET", "GUARD-REFUSED"]);
}

/// Messages far larger than the guard's first buffer, and a head close to the limit: the
/// buffer grows, slides and is reused, and hyper still sees exactly what it sees unguarded.
#[tokio::test]
async fn large_bodies_and_heads_pass_unchanged_however_they_are_cut() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let large: Vec<u8> = (0..100_000u32).map(|n| b'a' + (n % 26) as u8).collect();
    let mut input = Vec::new();
    input.extend_from_slice(
        format!(
            "POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
            large.len()
        )
        .as_bytes(),
    );
    input.extend_from_slice(&large);
    input.extend_from_slice(
        b"PUT /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for chunk in large.chunks(20_000) {
        input.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        input.extend_from_slice(chunk);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b"0\r\n\r\n");
    // 16 headers of about 240 bytes: a head of about 3.9 KiB, under the 4 KiB limit.
    input.extend_from_slice(b"GET /big-head HTTP/1.1\r\n");
    for index in 0..15 {
        input.extend_from_slice(format!("x-h{index:02}: {}\r\n", "v".repeat(230)).as_bytes());
    }
    input.extend_from_slice(b"\r\n");
    input.extend_from_slice(LAST);

    let (direct, _) = through(&[&input], false).await;
    let targets: Vec<&str> = direct.iter().map(|seen| seen.1.as_str()).collect();
    assert_eq!(targets, ["/cl", "/chunked", "/big-head", "/last"]);
    assert_eq!(direct[0].2, large);
    let (whole, _) = through(&[&input], true).await;
    assert_eq!(whole, direct, "whole");
    let mut pieces = Vec::new();
    let mut rest = &input[..];
    while !rest.is_empty() {
        let take = (1 + rng.next(12_000) as usize).min(rest.len());
        pieces.push(&rest[..take]);
        rest = &rest[take..];
    }
    let (cut_up, _) = through(&pieces, true).await;
    assert_eq!(cut_up, direct, "in {} pieces", pieces.len());
}

/// An idle keep-alive connection holds no buffer of the guard's.
#[tokio::test]
async fn the_buffer_is_released_while_the_connection_waits() {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let shared = Arc::new(Shared::default());
    let mut guard = Guard::new(server, shared, Tracker::new(LIMITS), 8192, None);
    let request = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    client.write_all(request).await.expect("write");
    let mut read = vec![0; 8192];
    let count = guard.read(&mut read).await.expect("read");
    assert_eq!(&read[..count], request);
    // Nothing more to read: the read waits, and the guard lets its buffer go meanwhile.
    let waiting = tokio::time::timeout(Duration::from_millis(20), guard.read(&mut read)).await;
    assert!(waiting.is_err(), "nothing was sent: {waiting:?}");
    assert_eq!(guard.buffer_capacity(), 0);
    // The next request is read into a fresh buffer.
    client
        .write_all(b"GET /b HTTP/1.1\r\n\r\n")
        .await
        .expect("write");
    let count = guard.read(&mut read).await.expect("read");
    assert_eq!(&read[..count], b"GET /b HTTP/1.1\r\n\r\n");
}
