//! Host and authority (RFC 9112 §3.2, §3.2.2; RFC 9113 §8.3.1), over real sockets: a missing,
//! repeated or invalid `Host`, and an absolute-form target or HTTP/2 `:authority` that
//! contradicts `Host`, are each answered 400 with their reason and nothing reaches the
//! upstream; over HTTP/1 the connection is closed after the answer. A valid request is
//! routed by the authority that wins and forwarded with that same authority as `Host`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{header, split_response, start, TestGateway};
use portcullis_testkit::{raw_request, raw_request_until_close, MockUpstream};

/// Two host-bound routes and a host-less one, each to its own upstream.
struct Setup {
    a: MockUpstream,
    b: MockUpstream,
    any: MockUpstream,
    gateway: TestGateway,
}

impl Setup {
    async fn start() -> Setup {
        let a = MockUpstream::echo().await;
        let b = MockUpstream::echo().await;
        let any = MockUpstream::echo().await;
        let yaml = format!(
            r#"
services:
  a: {{ visibility: public, endpoints: ["{a}"] }}
  b: {{ visibility: public, endpoints: ["{b}"] }}
  any: {{ visibility: public, endpoints: ["{any}"] }}
routes:
  - name: a
    match: {{ host: a.test, pathPrefix: / }}
    upstream: {{ service: a }}
    policies: {{ auth: none }}
  - name: b
    match: {{ host: b.test, pathPrefix: / }}
    upstream: {{ service: b }}
    policies: {{ auth: none }}
  - name: any
    match: {{ pathPrefix: / }}
    upstream: {{ service: any }}
    policies: {{ auth: none }}
"#,
            a = a.endpoint(),
            b = b.endpoint(),
            any = any.endpoint()
        );
        let gateway = start(&yaml).await;
        Setup { a, b, any, gateway }
    }

    fn forwarded(&self) -> usize {
        self.a.requests() + self.b.requests() + self.any.requests()
    }

    async fn stop(self) {
        self.gateway.stop().await;
    }
}

/// `request` gets one 400 with `code`, `Connection: close`, and the socket reaches EOF
/// (`raw_request_until_close` fails with a timeout otherwise).
async fn expect_refused_and_closed(addr: SocketAddr, request: &[u8], code: &str) {
    let shown = String::from_utf8_lossy(request).to_string();
    let raw = raw_request_until_close(addr, request, Duration::from_secs(5))
        .await
        .unwrap_or_else(|error| panic!("{shown:?}: no answer and close: {error}"));
    let (status, headers, body) = split_response(&raw);
    assert_eq!(
        status,
        400,
        "{shown:?}: {:?}",
        String::from_utf8_lossy(&raw)
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
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| !detail.is_empty()),
        "{shown:?}: a detail says what to fix"
    );
}

#[tokio::test]
async fn http1_host_problems_are_400_with_their_reason_closed_and_never_forwarded() {
    let setup = Setup::start().await;
    let cases: &[(&str, &str)] = &[
        (
            "GET /x HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n\r\n",
            "duplicate_host",
        ),
        (
            "GET /x HTTP/1.1\r\nHost: a.test\r\nhost: b.test\r\n\r\n",
            "duplicate_host",
        ),
        (
            "GET /x HTTP/1.0\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
            "duplicate_host",
        ),
        ("GET /x HTTP/1.1\r\n\r\n", "missing_host"),
        ("GET http://a.test/x HTTP/1.1\r\n\r\n", "missing_host"),
        (
            "GET /x HTTP/1.1\r\nHost: a.test, b.test\r\n\r\n",
            "invalid_host",
        ),
        (
            "GET /x HTTP/1.1\r\nHost: attacker@a.test\r\n\r\n",
            "invalid_host",
        ),
        ("GET /x HTTP/1.1\r\nHost: a .test\r\n\r\n", "invalid_host"),
        ("GET /x HTTP/1.1\r\nHost: a\t.test\r\n\r\n", "invalid_host"),
        (
            "GET /x HTTP/1.1\r\nHost: a.test:http\r\n\r\n",
            "invalid_host",
        ),
        (
            "GET /x HTTP/1.1\r\nHost: a.test:65536\r\n\r\n",
            "invalid_host",
        ),
        (
            "GET /x HTTP/1.1\r\nHost: a.test:80:80\r\n\r\n",
            "invalid_host",
        ),
        ("GET /x HTTP/1.1\r\nHost: [::1\r\n\r\n", "invalid_host"),
        ("GET /x HTTP/1.1\r\nHost: [::1]x\r\n\r\n", "invalid_host"),
        ("GET /x HTTP/1.1\r\nHost: [zz::1]\r\n\r\n", "invalid_host"),
        ("GET /x HTTP/1.1\r\nHost: a%2etest\r\n\r\n", "invalid_host"),
        // The framing guard refuses a control byte in any header value first.
        ("GET /x HTTP/1.1\r\nHost: a.test\x01\r\n\r\n", "bad_request"),
        ("GET /x HTTP/1.1\r\nHost: a..test\r\n\r\n", "invalid_host"),
        ("GET /x HTTP/1.1\r\nHost: a.test/x\r\n\r\n", "invalid_host"),
        (
            "GET http://u@a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "invalid_host",
        ),
        (
            "GET http://b.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "authority_mismatch",
        ),
        (
            "GET http://a.test:8080/x HTTP/1.1\r\nHost: a.test\r\n\r\n",
            "authority_mismatch",
        ),
        (
            "GET http://a.test/x HTTP/1.1\r\nHost: a.test:8080\r\n\r\n",
            "authority_mismatch",
        ),
        (
            "GET https://a.test/x HTTP/1.1\r\nHost: a.test:80\r\n\r\n",
            "authority_mismatch",
        ),
    ];
    for (request, code) in cases {
        expect_refused_and_closed(setup.gateway.addr, request.as_bytes(), code).await;
    }
    // Non-ASCII bytes in the value (httparse lets obs-text through to the route phase).
    expect_refused_and_closed(
        setup.gateway.addr,
        b"GET /x HTTP/1.1\r\nHost: a.t\xc3\xa9st\r\n\r\n",
        "invalid_host",
    )
    .await;
    assert_eq!(setup.forwarded(), 0, "nothing reached any upstream");
    setup.stop().await;
}

#[tokio::test]
async fn http1_routes_by_the_winning_authority_and_forwards_it_as_host() {
    let setup = Setup::start().await;
    let addr = setup.gateway.addr;
    let ok = |raw: &[u8]| portcullis_testkit::response_status(raw) == Some(200);
    // Absolute form agreeing with Host (case, trailing dot, default port): the target's
    // authority routes and is what the upstream reads.
    let raw = raw_request(
        addr,
        b"GET http://A.TEST:80/x HTTP/1.1\r\nHost: a.test.\r\n\r\n",
    )
    .await
    .expect("answer");
    assert!(ok(&raw), "{:?}", String::from_utf8_lossy(&raw));
    let seen = setup.a.last_request().expect("route a");
    assert_eq!(seen.headers.get("host").expect("host"), "A.TEST:80");
    assert_eq!(seen.headers.get_all("host").iter().count(), 1);
    assert_eq!(seen.uri.to_string(), "/x");
    // Origin form: Host routes; an empty port is no port.
    let raw = raw_request(addr, b"GET /y HTTP/1.1\r\nHost: b.test:\r\n\r\n")
        .await
        .expect("answer");
    assert!(ok(&raw), "{:?}", String::from_utf8_lossy(&raw));
    assert_eq!(setup.b.requests(), 1);
    // IPv6 literal with a port, and HTTP/1.0 without Host: the host-less route.
    for request in [
        &b"GET /z HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"[..],
        b"GET /z HTTP/1.0\r\n\r\n",
    ] {
        let raw = raw_request(addr, request).await.expect("answer");
        assert!(ok(&raw), "{:?}", String::from_utf8_lossy(&raw));
    }
    assert_eq!(setup.any.requests(), 2);
    assert_eq!(setup.a.requests(), 1);
    setup.stop().await;
}

/// One HTTP/2 request (prior knowledge) with `uri` (its authority becomes `:authority`)
/// and `hosts` as `host` header lines. Returns the status and the problem's `code`.
async fn h2_request(addr: SocketAddr, uri: &str, hosts: &[&str]) -> (u16, Option<String>) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut client, connection) = h2::client::handshake(stream).await.expect("h2 handshake");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut request = http::Request::builder().uri(uri);
    for host in hosts {
        request = request.header("host", *host);
    }
    let request = request.body(()).expect("request");
    let (response, _) = client.send_request(request, true).expect("send");
    let response = response.await.expect("response");
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk: Bytes = chunk.expect("body");
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    driver.abort();
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|problem| problem["code"].as_str().map(str::to_string));
    (status, code)
}

#[tokio::test]
async fn http2_authority_and_host_must_agree_and_be_valid() {
    let setup = Setup::start().await;
    let addr = setup.gateway.addr;
    let refused: &[(&str, &[&str], &str)] = &[
        ("http://a.test/x", &["b.test"], "authority_mismatch"),
        ("http://a.test/x", &["a.test:8080"], "authority_mismatch"),
        ("http://a.test:8080/x", &["a.test"], "authority_mismatch"),
        ("http://a.test/x", &["a.test", "a.test"], "duplicate_host"),
        ("http://a.test/x", &["a.test, b.test"], "invalid_host"),
        ("http://a.test/x", &["attacker@a.test"], "invalid_host"),
        ("http://u@a.test/x", &[], "invalid_host"),
    ];
    for (uri, hosts, code) in refused {
        let (status, got) = h2_request(addr, uri, hosts).await;
        assert_eq!(
            (status, got.as_deref()),
            (400, Some(*code)),
            "{uri} with Host {hosts:?}"
        );
    }
    assert_eq!(setup.forwarded(), 0, "nothing reached any upstream");

    // `:authority` wins and is forwarded as Host: alone, or with an agreeing Host.
    for (uri, hosts) in [
        ("http://b.test/x", &[][..]),
        ("http://b.test/x", &["B.test:80"][..]),
    ] {
        let (status, _) = h2_request(addr, uri, hosts).await;
        assert_eq!(status, 200, "{uri} with Host {hosts:?}");
        let seen = setup.b.last_request().expect("route b");
        assert_eq!(seen.headers.get("host").expect("host"), "b.test");
        assert_eq!(seen.headers.get_all("host").iter().count(), 1);
    }
    assert_eq!(setup.b.requests(), 2);
    assert_eq!(setup.a.requests() + setup.any.requests(), 0);
    setup.stop().await;
}
