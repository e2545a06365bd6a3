//! Malformed requests (issue 2, "Bad input"): each gets a clear 4xx over a raw socket and
//! nothing reaches the upstream.
//!
//! Several are refused by hyper's HTTP/1 parser before the pipeline runs; hyper answers
//! those with a bare status (no problem body, no request id) and closes the connection:
//! malformed request line → 400, malformed header / obs-fold / NUL → 400, differing
//! duplicate `Content-Length` → 400, head over the buffer or too many headers → 431. A bad
//! chunk size is detected while the body streams, so the upstream request is aborted.

mod common;

use std::time::Duration;

use common::{header, single_route, split_response, start, start_with};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_testkit::{raw_request, raw_request_until_close, MockUpstream};

async fn status_of(addr: std::net::SocketAddr, request: &[u8]) -> u16 {
    let response = raw_request(addr, request).await.expect("an answer");
    portcullis_testkit::response_status(&response)
        .unwrap_or_else(|| panic!("no status line in {:?}", String::from_utf8_lossy(&response)))
}

async fn upstream_and_gateway() -> (MockUpstream, common::TestGateway) {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    (upstream, gateway)
}

#[tokio::test]
async fn malformed_request_lines_are_400() {
    let (upstream, gateway) = upstream_and_gateway().await;
    for request in [
        &b"GET /a HTTP/1.1 extra\r\nHost: h\r\n\r\n"[..],
        b"GE(T /a HTTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /a HTTP/9.9\r\nHost: h\r\n\r\n",
        b"GET  HTTP/1.1\r\nHost: h\r\n\r\n",
    ] {
        assert_eq!(
            status_of(gateway.addr, request).await,
            400,
            "{}",
            String::from_utf8_lossy(request)
        );
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn malformed_headers_obs_fold_and_nul_are_400() {
    let (upstream, gateway) = upstream_and_gateway().await;
    for request in [
        &b"GET /a HTTP/1.1\r\nHost: h\r\nNo-Colon-Here\r\n\r\n"[..],
        b"GET /a HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: h\r\nX-Folded: a\r\n  continued\r\n\r\n",
        b"GET /a HTTP/1.1\r\nHost: h\r\nX-Nul: a\0b\r\n\r\n",
    ] {
        assert_eq!(
            status_of(gateway.addr, request).await,
            400,
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn duplicate_content_length_with_different_values_is_400() {
    let (upstream, gateway) = upstream_and_gateway().await;
    let request =
        b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd";
    assert_eq!(status_of(gateway.addr, request).await, 400);
    let request = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 4\r\n\r\nabcd";
    assert_eq!(status_of(gateway.addr, request).await, 400);
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

/// Deviation from the wording, by hyper's design: hyper cannot be told to refuse
/// `Content-Length` + `Transfer-Encoding`. It does what RFC 9112 §6.1 allows instead: the
/// body is framed by `Transfer-Encoding` alone, `Content-Length` is removed before the
/// pipeline sees the request (so Portcullis cannot detect it), and the connection is
/// closed after the response, so nothing can be smuggled behind the body. The upstream
/// gets the chunked body with no `Content-Length`.
#[tokio::test]
async fn content_length_with_transfer_encoding_is_framed_by_chunked_and_the_connection_closed() {
    let upstream = MockUpstream::builder().echo_body().start().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    // A smuggling attempt: by Content-Length the body is "3\r\na", leaving the rest as a
    // second request; by chunked framing it is "abc".
    let request = b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
    let response = raw_request_until_close(gateway.addr, request, Duration::from_secs(5))
        .await
        .expect("closed");
    let (status, headers, body) = split_response(&response);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "connection"), Some("close"));
    assert!(String::from_utf8_lossy(&body).contains("abc"));
    assert_eq!(
        upstream.requests(),
        1,
        "the trailing request must not be parsed"
    );
    let seen = upstream.last_request().expect("forwarded");
    assert!(!seen.headers.contains_key("content-length"));
    gateway.stop().await;
}

/// A chunk size is only read once the body streams, after the head has gone upstream: the
/// client gets 400 and the upstream request is aborted mid-body (never completed).
#[tokio::test]
async fn invalid_chunk_size_is_400_and_the_upstream_request_is_aborted() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    for request in [
        &b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"[..],
        b"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
    ] {
        let response = raw_request(gateway.addr, request).await.expect("answer");
        let (status, _, body) = split_response(&response);
        assert_eq!(status, 400, "{:?}", String::from_utf8_lossy(&response));
        assert_eq!(common::json(&body)["code"], "bad_request");
    }
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
    assert_eq!(status_of(gateway.addr, big.as_bytes()).await, 431);
    let mut many = String::from("GET /a HTTP/1.1\r\nHost: h\r\n");
    for index in 0..25 {
        many.push_str(&format!("X-H{index}: v\r\n"));
    }
    many.push_str("\r\n");
    assert_eq!(status_of(gateway.addr, many.as_bytes()).await, 431);
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

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
    assert_eq!(common::json(&body)["code"], "host_mismatch");
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
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n");
        let response = raw_request(gateway.addr, request.as_bytes())
            .await
            .expect("answer");
        let (status, _, body) = split_response(&response);
        assert_eq!(status, 400, "{path}");
        assert_eq!(common::json(&body)["code"], "invalid_path", "{path}");
    }
    // Raw bytes hyper's parser refuses before routing: still 400.
    for request in [
        &b"GET /a\\b HTTP/1.1\r\nHost: h\r\n\r\n"[..],
        b"GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n",
    ] {
        assert_eq!(
            status_of(gateway.addr, request).await,
            400,
            "{:?}",
            String::from_utf8_lossy(request)
        );
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
