//! Dot-segments an upstream may read as `..` although the gateway does not (issue 9):
//! `..;` and `.;x` (servlet path parameters), and their relatives — escaped dots, trailing
//! blanks, full-width dots, a dot-segment behind an allowed encoded slash. Each is answered
//! 400 `invalid_path` with a detail naming the problem, and nothing reaches the upstream;
//! with `allowDotSegmentParameters` the `;` forms are forwarded verbatim.

mod common;

use common::{header, listener, single_route, split_response, start_with};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_testkit::{raw_request, MockUpstream};

async fn gateway_with(
    allow_dot_segment_parameters: bool,
    allow_encoded_slashes: bool,
) -> (MockUpstream, common::TestGateway) {
    let upstream = MockUpstream::echo().await;
    let mut listener = listener();
    listener.allow_dot_segment_parameters = allow_dot_segment_parameters;
    listener.allow_encoded_slashes = allow_encoded_slashes;
    let yaml = single_route(&upstream.endpoint(), "/v1/public", "", "");
    let gateway = start_with(&yaml, listener, AccessLog::disabled()).await;
    (upstream, gateway)
}

/// `GET path` gets 400 `invalid_path` whose detail contains `detail`.
async fn expect_invalid_path(gateway: &common::TestGateway, path: &str, detail: &str) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: api.test\r\n\r\n");
    let raw = raw_request(gateway.addr, request.as_bytes())
        .await
        .expect("an answer");
    let (status, headers, body) = split_response(&raw);
    assert_eq!(status, 400, "{path}: {:?}", String::from_utf8_lossy(&raw));
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/problem+json")
    );
    let problem = common::json(&body);
    assert_eq!(problem["code"], "invalid_path", "{path}");
    let text = problem["detail"].as_str().unwrap_or_default();
    assert!(text.contains(detail), "{path}: detail {text:?}");
}

const PARAMETERS: &str = "';' parameters";
const DISGUISED: &str = "once blanks are trimmed";
const BEHIND_SLASH: &str = "between encoded slashes";

#[tokio::test]
async fn dot_segments_with_parameters_and_their_relatives_are_400_and_never_forwarded() {
    let (upstream, gateway) = gateway_with(false, false).await;
    let cases = [
        ("/v1/public/..;/admin/users", PARAMETERS),
        ("/v1/public/..;jsessionid=1/admin", PARAMETERS),
        ("/v1/public/.;x/admin", PARAMETERS),
        ("/v1/public/%2e%2e;/admin", PARAMETERS),
        ("/v1/public/%2E.;/admin", PARAMETERS),
        ("/v1/public/.%2e;/admin", PARAMETERS),
        ("/v1/public/..%3B/admin", PARAMETERS),
        ("/v1/public/..%20/admin", DISGUISED),
        ("/v1/public/%20../admin", DISGUISED),
        ("/v1/public/...", DISGUISED),
        ("/v1/public/%EF%BC%8E%EF%BC%8E/admin", DISGUISED),
        ("/v1/public/%EF%BC%8E%EF%BC%8E;/admin", DISGUISED),
        ("/v1/public/%E2%80%A5/admin", DISGUISED),
        ("/v1/public/..%C2%A0/admin", DISGUISED),
        ("/v1/public/..%09/admin", "control byte"),
        ("/v1/public/..%00/admin", "NUL"),
        ("/v1/public/..%5Cadmin", "encoded backslash"),
    ];
    for (path, detail) in cases {
        expect_invalid_path(&gateway, path, detail).await;
    }
    assert_eq!(upstream.requests(), 0, "nothing was forwarded");
    // Ordinary dotted names and parameters still pass.
    for path in ["/v1/public/.well-known", "/v1/public/a;v=1/b"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: api.test\r\n\r\n");
        let raw = raw_request(gateway.addr, request.as_bytes())
            .await
            .expect("an answer");
        assert_eq!(split_response(&raw).0, 200, "{path}");
    }
    assert_eq!(upstream.requests(), 2);
    gateway.stop().await;
}

#[tokio::test]
async fn with_allow_dot_segment_parameters_the_parameter_forms_are_forwarded_verbatim() {
    let (upstream, gateway) = gateway_with(true, false).await;
    for (path, forwarded) in [
        ("/v1/public/..;/admin/users", "/v1/public/..;/admin/users"),
        ("/v1/public/.;x/admin", "/v1/public/.;x/admin"),
        ("/v1/public/%2e%2e;/admin", "/v1/public/..;/admin"),
    ] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: api.test\r\n\r\n");
        let raw = raw_request(gateway.addr, request.as_bytes())
            .await
            .expect("an answer");
        assert_eq!(split_response(&raw).0, 200, "{path}");
        let seen = upstream.last_request().expect("forwarded");
        assert_eq!(seen.uri.to_string(), forwarded);
    }
    // The disguised forms are not parameters: still refused.
    let before = upstream.requests();
    expect_invalid_path(&gateway, "/v1/public/..%20;/admin", DISGUISED).await;
    expect_invalid_path(&gateway, "/v1/public/%EF%BC%8E%EF%BC%8E/admin", DISGUISED).await;
    assert_eq!(upstream.requests(), before);
    gateway.stop().await;
}

#[tokio::test]
async fn with_encoded_slashes_allowed_a_dot_segment_behind_one_is_400() {
    let (upstream, gateway) = gateway_with(false, true).await;
    for path in [
        "/v1/public/a%2F..%2Fadmin",
        "/v1/public/..%5Cadmin",
        "/v1/public/x%5C.%5Cadmin",
        "/v1/public/..%2F..%2Fadmin",
    ] {
        expect_invalid_path(&gateway, path, BEHIND_SLASH).await;
    }
    assert_eq!(upstream.requests(), 0, "nothing was forwarded");
    gateway.stop().await;
}
