//! Malformed requests (issue 2, "Bad input"): each gets a clear 4xx over a raw socket, the
//! normal problem+json answer with the request id, nothing reaches the upstream and the
//! connection is closed afterwards.
//!
//! The framing guard (`portcullis_proxy::framing`) refuses them before hyper parses them:
//! malformed request line or header, obs-fold, NUL, `Content-Length` with
//! `Transfer-Encoding` (any order, any case), differing `Content-Length`s, a
//! `Transfer-Encoding` other than one `chunked`, a bad chunk received with its head → 400;
//! a head over `maxHeaderBytes` or more than `maxHeaders` fields → 431. Pipelining, late bad
//! chunks, protocol switches and logging are in `ingress_framing.rs`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{header, single_route, split_response, start, start_with};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_testkit::{raw_request, raw_request_until_close, MockUpstream};

async fn status_of(addr: SocketAddr, request: &[u8]) -> u16 {
    let response = raw_request(addr, request).await.expect("an answer");
    portcullis_testkit::response_status(&response)
        .unwrap_or_else(|| panic!("no status line in {:?}", String::from_utf8_lossy(&response)))
}

async fn upstream_and_gateway() -> (MockUpstream, common::TestGateway) {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    (upstream, gateway)
}

/// `request` on a fresh connection gets exactly one answer — `status`, problem+json with
/// `code`, the request id in the body and in `x-request-id` — and then the connection
/// closes. Returns the problem body.
async fn expect_refused(
    addr: SocketAddr,
    request: &[u8],
    status: u16,
    code: &str,
) -> serde_json::Value {
    let shown = String::from_utf8_lossy(request).to_string();
    let raw = raw_request_until_close(addr, request, Duration::from_secs(5))
        .await
        .unwrap_or_else(|error| panic!("{shown:?}: no answer and close: {error}"));
    let (got, headers, body) = split_response(&raw);
    assert_eq!(
        got,
        status,
        "{shown:?}: {:?}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/problem+json"),
        "{shown:?}"
    );
    assert_eq!(header(&headers, "connection"), Some("close"), "{shown:?}");
    let length: usize = header(&headers, "content-length")
        .and_then(|value| value.parse().ok())
        .expect("content-length");
    assert_eq!(
        body.len(),
        length,
        "{shown:?}: one answer, nothing after it"
    );
    let problem = common::json(&body);
    assert_eq!(problem["code"], code, "{shown:?}");
    assert_eq!(problem["status"], status);
    let request_id = header(&headers, "x-request-id").expect("x-request-id");
    assert!(!request_id.is_empty());
    assert_eq!(problem["requestId"], request_id, "{shown:?}");
    problem
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_refused_in_either_order_and_any_case() {
    let (upstream, gateway) = upstream_and_gateway().await;
    for request in [
        // A smuggling attempt: by Content-Length the body is "3\r\na", leaving the rest as
        // a second request; by chunked framing it is "abc".
        &b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"[..],
        b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"POST /a HTTP/1.1\r\nHost: h\r\ntransfer-ENCODING:   Chunked\t\r\nCONTENT-length:0\r\n\r\n0\r\n\r\n",
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let problem = expect_refused(gateway.addr, request, 400, "bad_request").await;
        assert_eq!(
            problem["detail"],
            "Content-Length and Transfer-Encoding must not be sent together"
        );
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn transfer_encodings_other_than_a_single_chunked_are_refused() {
    let (upstream, gateway) = upstream_and_gateway().await;
    for request in [
        &b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"[..],
        b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /a HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        expect_refused(gateway.addr, request, 400, "bad_request").await;
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn differing_or_malformed_content_lengths_are_refused() {
    let (upstream, gateway) = upstream_and_gateway().await;
    for request in [
        &b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"[..],
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd",
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: +4\r\n\r\nabcd",
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\nabcd",
    ] {
        expect_refused(gateway.addr, request, 400, "bad_request").await;
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

/// Decision: identical duplicates (`Content-Length: 3` twice) are one length (RFC 9110
/// §8.6 allows a recipient to treat them so; hyper folds them). The request is forwarded
/// with a single `Content-Length`, so there is no ambiguity for the upstream to exploit.
#[tokio::test]
async fn identical_duplicate_content_length_is_folded_into_one() {
    let (upstream, gateway) = upstream_and_gateway().await;
    let request =
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc";
    assert_eq!(status_of(gateway.addr, request).await, 200);
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.headers.get_all("content-length").iter().count(), 1);
    assert_eq!(seen.headers["content-length"], "3");
    gateway.stop().await;
}

/// A bad chunk that arrives in the same write as its head (the common case) is refused
/// before anything is forwarded. (Arriving later, see `ingress_framing.rs`.)
#[tokio::test]
async fn invalid_chunk_sizes_sent_with_the_head_are_refused_before_forwarding() {
    let (upstream, gateway) = upstream_and_gateway().await;
    let head = "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for body in [
        "zz\r\nabc\r\n0\r\n\r\n",
        "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        "-3\r\nabc\r\n0\r\n\r\n",
        "3\nabc\r\n0\r\n\r\n",
        "3\r\nabcXY0\r\n\r\n",
        "3 x\r\nabc\r\n0\r\n\r\n",
        "3\r\nabc\r\n0\r\n\rX",
    ] {
        let request = format!("{head}{body}");
        expect_refused(gateway.addr, request.as_bytes(), 400, "bad_request").await;
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn malformed_request_lines_are_400() {
    let (upstream, gateway) = upstream_and_gateway().await;
    for request in [
        &b"GET /a HTTP/1.1 extra\r\nHost: h\r\n\r\n"[..],
        b"GE(T /a HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /a HTTP/9.9\r\nHost: h\r\n\r\n",
        b"GET  HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /a<b> HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n",
    ] {
        expect_refused(gateway.addr, request, 400, "bad_request").await;
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn malformed_headers_obs_fold_and_nul_are_400() {
    let (upstream, gateway) = upstream_and_gateway().await;
    for (request, detail) in [
        (
            &b"GET /a HTTP/1.1\r\nHost: h\r\nNo-Colon-Here\r\n\r\n"[..],
            "header line",
        ),
        (
            b"GET /a HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n",
            "header line",
        ),
        (
            b"GET /a HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n  continued\r\n\r\n",
            "obs-fold",
        ),
        (b"GET /a HTTP/1.1\r\nHost: h\r\nX-Nul: a\0b\r\n\r\n", "NUL"),
        (b"GET /a\0 HTTP/1.1\r\nHost: h\r\n\r\n", "request line"),
    ] {
        let problem = expect_refused(gateway.addr, request, 400, "bad_request").await;
        let text = problem["detail"].as_str().expect("detail");
        assert!(text.contains(detail), "{text}");
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn oversized_header_section_and_too_many_headers_are_431() {
    let upstream = MockUpstream::echo().await;
    let mut listener = common::listener();
    listener.max_header_bytes = 8 * 1024;
    listener.max_headers = 20;
    let yaml = single_route(&upstream.endpoint(), "/", "", "");
    let gateway = start_with(&yaml, listener, AccessLog::disabled()).await;

    let big = format!(
        "GET /a HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    expect_refused(gateway.addr, big.as_bytes(), 431, "headers_too_large").await;
    // No end of head at all within the limit: refused without waiting for one.
    let endless = format!("GET /a HTTP/1.1\r\nHost: h\r\nX-Big: {}", "a".repeat(9000));
    expect_refused(gateway.addr, endless.as_bytes(), 431, "headers_too_large").await;
    let mut many = String::from("GET /a HTTP/1.1\r\nHost: h\r\n");
    for index in 0..25 {
        many.push_str(&format!("X-H{index}: v\r\n"));
    }
    many.push_str("\r\n");
    expect_refused(gateway.addr, many.as_bytes(), 431, "headers_too_large").await;
    assert_eq!(upstream.requests(), 0);
    // At the limits, a request passes.
    let mut twenty = String::from("GET /a HTTP/1.1\r\nHost: h\r\n");
    for index in 0..19 {
        twenty.push_str(&format!("X-H{index}: v\r\n"));
    }
    twenty.push_str("\r\n");
    assert_eq!(status_of(gateway.addr, twenty.as_bytes()).await, 200);
    gateway.stop().await;
}

/// `maxHeaderBytes` below hyper's 8 KiB read buffer is enforced as configured.
#[tokio::test]
async fn a_small_max_header_bytes_is_enforced_exactly() {
    let upstream = MockUpstream::echo().await;
    let mut listener = common::listener();
    listener.max_header_bytes = 1024;
    let yaml = single_route(&upstream.endpoint(), "/", "", "");
    let gateway = start_with(&yaml, listener, AccessLog::disabled()).await;
    let head = "GET /a HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n";
    let exact = format!(
        "GET /a HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "a".repeat(1024 - head.len())
    );
    assert_eq!(status_of(gateway.addr, exact.as_bytes()).await, 200);
    let over = exact.replacen("X: a", "X: aa", 1);
    expect_refused(gateway.addr, over.as_bytes(), 431, "headers_too_large").await;
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}

/// Already checked by the route phase (`route::request_host`); the guard adds nothing.
/// Every Host and authority case is in `authority.rs`.
#[tokio::test]
async fn absolute_form_target_naming_another_host_is_400() {
    let (upstream, gateway) = upstream_and_gateway().await;
    let request = b"GET http://evil.example/a HTTP/1.1\r\nHost: good.example\r\n\r\n";
    let response = raw_request(gateway.addr, request).await.expect("answer");
    let (status, headers, body) = split_response(&response);
    assert_eq!(status, 400);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/problem+json")
    );
    assert_eq!(common::json(&body)["code"], "authority_mismatch");
    // The same host in both places is fine.
    let request = b"GET http://good.example/a HTTP/1.1\r\nHost: GOOD.example\r\n\r\n";
    assert_eq!(status_of(gateway.addr, request).await, 200);
    assert_eq!(upstream.requests(), 1);
    assert_eq!(
        upstream.last_request().expect("forwarded").uri.to_string(),
        "/a"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn bad_paths_are_400_invalid_path() {
    let (upstream, gateway) = upstream_and_gateway().await;
    for path in [
        "/a%2Fb",
        "/a%2fb",
        "/a%5Cb",
        "/a%00b",
        "/../etc",
        "/a/../../b",
        "/%C3%28",
        "/a%zz",
        "/%2e%2e/x",
        "/a\\b",
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n");
        let response = raw_request(gateway.addr, request.as_bytes())
            .await
            .expect("answer");
        let (status, _, body) = split_response(&response);
        assert_eq!(status, 400, "{path}");
        assert_eq!(common::json(&body)["code"], "invalid_path", "{path}");
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn encoded_slashes_pass_when_the_listener_allows_them() {
    let upstream = MockUpstream::echo().await;
    let mut listener = common::listener();
    listener.allow_encoded_slashes = true;
    let gateway = start_with(
        &single_route(&upstream.endpoint(), "/", "", ""),
        listener,
        AccessLog::disabled(),
    )
    .await;
    assert_eq!(
        status_of(gateway.addr, b"GET /a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n").await,
        200
    );
    assert_eq!(
        upstream.last_request().expect("forwarded").uri.path(),
        "/a%2Fb"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn http11_request_without_host_is_400() {
    let (upstream, gateway) = upstream_and_gateway().await;
    assert_eq!(
        status_of(gateway.addr, b"GET /a HTTP/1.1\r\n\r\n").await,
        400
    );
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}
