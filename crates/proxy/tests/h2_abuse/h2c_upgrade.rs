//! h2c upgrade smuggling: an HTTP/1.1 request with `Upgrade: h2c` and `HTTP2-Settings`. Passed
//! on to an upstream that speaks h2c, it would turn the client's connection into an HTTP/2
//! tunnel to the upstream that no route or policy sees. The gateway ignores the h2c offer
//! (RFC 9110 §7.8): the request is served over HTTP/1.1 without `Upgrade` or
//! `HTTP2-Settings`, and whatever follows is read as HTTP/1.1 again.

use std::time::Duration;

use portcullis_testkit::MockUpstream;

use crate::common;

const UPGRADE_HEAD: &str = "Host: api.test\r\nConnection: Upgrade, HTTP2-Settings\r\n\
     Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";

/// The upstream would switch to any protocol asked of it: nothing must ask it.
async fn willing_upstream() -> (MockUpstream, common::TestGateway) {
    let upstream = MockUpstream::builder().upgrade_echo().start().await;
    let gateway = common::start(&common::single_route(&upstream.endpoint(), "/", "", "")).await;
    (upstream, gateway)
}

/// The status lines of the responses in `raw` (a response's body may run straight into the
/// next status line, so they are found by their shape, not by line).
fn statuses(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    text.match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| {
            let rest = &text[at..];
            let line = &rest[..rest.find("\r\n")?];
            let code = line.get(9..12)?;
            code.bytes()
                .all(|byte| byte.is_ascii_digit())
                .then(|| line.to_string())
        })
        .collect()
}

/// A body and a pipelined second request behind the upgrade: two ordinary requests reach
/// the upstream, each as its route matched it, neither with the upgrade headers.
#[tokio::test]
async fn h2c_upgrade_with_body_and_pipelined_request_is_served_as_http1() {
    let (upstream, gateway) = willing_upstream().await;
    let request = format!(
        "POST /first HTTP/1.1\r\n{UPGRADE_HEAD}Content-Length: 5\r\n\r\nhello\
         GET /second HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n"
    );
    let raw = portcullis_testkit::raw_request_until_close(
        gateway.addr,
        request.as_bytes(),
        Duration::from_secs(5),
    )
    .await
    .expect("answered");
    assert_eq!(
        statuses(&raw),
        ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"],
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let seen = upstream.recorded();
    let paths: Vec<String> = seen.iter().map(|request| request.uri.to_string()).collect();
    assert_eq!(paths, ["/first", "/second"]);
    for request in &seen {
        for name in ["upgrade", "http2-settings"] {
            assert!(
                !request.headers.contains_key(name),
                "{name} reached the upstream"
            );
        }
        assert!(
            request
                .headers
                .get("connection")
                .is_none_or(|value| !value.as_bytes().eq_ignore_ascii_case(b"upgrade")),
            "{:?}",
            request.headers
        );
    }
    assert_eq!(seen[0].headers["content-length"], "5");
    gateway.stop().await;
}

/// A client that assumes the switch and sends the HTTP/2 preface and a request right behind
/// the upgrade: the preface is read as a malformed HTTP/1.1 request (400, connection closed),
/// and the upstream sees the first request only.
#[tokio::test]
async fn h2_frames_smuggled_behind_an_h2c_upgrade_never_reach_the_upstream() {
    let (upstream, gateway) = willing_upstream().await;
    let mut request = format!("GET /first HTTP/1.1\r\n{UPGRADE_HEAD}\r\n").into_bytes();
    request.extend_from_slice(crate::frames::PREFACE);
    crate::frames::settings(&mut request, &[]);
    let block = crate::frames::get_block("api.test", "/admin/smuggled");
    crate::frames::frame(
        &mut request,
        crate::frames::HEADERS,
        crate::frames::END_HEADERS | crate::frames::END_STREAM,
        1,
        &block,
    );
    let raw =
        portcullis_testkit::raw_request_until_close(gateway.addr, &request, Duration::from_secs(5))
            .await
            .expect("answered");
    let answered = statuses(&raw);
    assert_eq!(
        answered.first().map(String::as_str),
        Some("HTTP/1.1 200 OK")
    );
    assert!(
        answered
            .iter()
            .skip(1)
            .all(|status| status.starts_with("HTTP/1.1 400")),
        "{answered:?}"
    );
    let paths: Vec<String> = upstream
        .recorded()
        .iter()
        .map(|request| request.uri.to_string())
        .collect();
    assert_eq!(paths, ["/first"]);
    assert!(!upstream.recorded()[0].headers.contains_key("upgrade"));
    gateway.stop().await;
}
