//! Routing, error bodies, request ids, trace context and forwarding headers, end to end
//! over real sockets with a mock upstream.

mod common;

use common::{get, json, single_route, start};
use portcullis_testkit::MockUpstream;

#[tokio::test]
async fn routes_to_the_matching_upstream_with_the_canonical_path_and_query() {
    let orders = MockUpstream::echo().await;
    let users = MockUpstream::echo().await;
    let yaml = format!(
        r#"
services:
  orders: {{ visibility: public, endpoints: ["{orders}"] }}
  users: {{ visibility: public, endpoints: ["{users}"] }}
routes:
  - name: orders
    match: {{ pathPrefix: /v1/orders }}
    upstream: {{ service: orders }}
    policies: {{ auth: none }}
  - name: users
    match: {{ pathPrefix: /v1/users }}
    upstream: {{ service: users }}
    policies: {{ auth: none }}
"#,
        orders = orders.endpoint(),
        users = users.endpoint()
    );
    let gateway = start(&yaml).await;
    let response = get(
        gateway.addr,
        "api.example.com",
        "/v1/users//7/./x/../?b=%2F&a=1",
        &[],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(orders.requests(), 0);
    let seen = users.last_request().expect("users got the request");
    assert_eq!(seen.uri.to_string(), "/v1/users/7/?b=%2F&a=1");
    assert_eq!(
        seen.headers.get("host").expect("host kept"),
        "api.example.com"
    );
    // `/v1/orders/../admin` is canonicalised to `/v1/admin`: no route, 404, nothing sent.
    let response = get(gateway.addr, "api.example.com", "/v1/orders/../admin", &[]).await;
    assert_eq!(response.status(), 404);
    assert_eq!(orders.requests() + users.requests(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn unknown_path_is_404_problem_json_with_the_request_id_and_never_forwarded() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/v1/orders", "", "")).await;
    let response = get(
        gateway.addr,
        "h",
        "/v2/nothing",
        &[("x-request-id", "abc-123")],
    )
    .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let body = json(response.body());
    assert_eq!(body["requestId"], "abc-123");
    assert_eq!(body["code"], "route_not_found");
    assert_eq!(body["status"], 404);
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(
        &upstream.endpoint(),
        "/v1/orders",
        "methods: [GET, POST]",
        "",
    ))
    .await;
    let request = http::Request::delete("/v1/orders/1")
        .header("host", "h")
        .body(Default::default())
        .expect("request");
    let response = common::send(gateway.addr, request).await;
    assert_eq!(response.status(), 405);
    let allow = response.headers()["allow"].to_str().expect("text");
    assert!(
        allow.contains("GET") && allow.contains("POST"),
        "Allow: {allow}"
    );
    assert_eq!(json(response.body())["code"], "method_not_allowed");
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}

#[tokio::test]
async fn request_id_is_kept_when_valid_and_replaced_when_not() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    let response = get(gateway.addr, "h", "/a", &[("x-request-id", "client.id:42")]).await;
    assert_eq!(response.headers()["x-request-id"], "client.id:42");
    assert_eq!(
        upstream.last_request().expect("forwarded").headers["x-request-id"],
        "client.id:42"
    );

    let response = get(
        gateway.addr,
        "h",
        "/a",
        &[("x-request-id", "bad id with spaces")],
    )
    .await;
    let replaced = response.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_string();
    assert_ne!(replaced, "bad id with spaces");
    assert!(!replaced.is_empty());
    assert_eq!(
        upstream.last_request().expect("forwarded").headers["x-request-id"],
        replaced.as_str()
    );
    gateway.stop().await;
}

#[tokio::test]
async fn traceparent_is_continued_with_a_new_parent_and_tracestate_follows_the_rules() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    get(
        gateway.addr,
        "h",
        "/t",
        &[("traceparent", incoming), ("tracestate", "vendor=x")],
    )
    .await;
    let seen = upstream.last_request().expect("forwarded");
    let traceparent = seen.headers["traceparent"].to_str().expect("text");
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{traceparent}"
    );
    assert!(
        !traceparent.contains("00f067aa0ba902b7"),
        "parent id must be new: {traceparent}"
    );
    assert_eq!(seen.headers["tracestate"], "vendor=x");

    // An invalid traceparent starts a new trace and its tracestate is dropped.
    get(
        gateway.addr,
        "h",
        "/t",
        &[("traceparent", "garbage"), ("tracestate", "vendor=x")],
    )
    .await;
    let seen = upstream.last_request().expect("forwarded");
    let traceparent = seen.headers["traceparent"].to_str().expect("text");
    assert_eq!(traceparent.len(), 55, "{traceparent}");
    assert!(!seen.headers.contains_key("tracestate"));
    gateway.stop().await;
}

#[tokio::test]
async fn forwarded_headers_are_set_and_hop_by_hop_headers_stripped_both_ways() {
    let upstream = MockUpstream::builder()
        .header("connection", "x-upstream-hop")
        .header("x-upstream-hop", "secret")
        .header("keep-alive", "timeout=5")
        .header("x-visible", "yes")
        .start()
        .await;
    let gateway = start(&single_route(&upstream.endpoint(), "/", "", "")).await;
    let response = get(
        gateway.addr,
        "shop.example.com:8443",
        "/p",
        &[
            ("x-forwarded-for", "192.0.2.1"),
            ("connection", "keep-alive, x-client-hop"),
            ("x-client-hop", "1"),
            ("proxy-authorization", "Basic Zm9vOmJhcg=="),
            ("x-portcullis-principal", "admin"),
            ("te", "gzip"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.headers["x-forwarded-for"], "192.0.2.1, 127.0.0.1");
    assert_eq!(seen.headers["x-forwarded-proto"], "http");
    assert_eq!(seen.headers["x-forwarded-host"], "shop.example.com:8443");
    for stripped in [
        "x-client-hop",
        "proxy-authorization",
        "x-portcullis-principal",
        "te",
    ] {
        assert!(
            !seen.headers.contains_key(stripped),
            "{stripped} reached the upstream"
        );
    }
    assert!(!response.headers().contains_key("x-upstream-hop"));
    assert!(!response.headers().contains_key("keep-alive"));
    assert_eq!(response.headers()["x-visible"], "yes");
    assert!(response.headers().contains_key("x-request-id"));
    gateway.stop().await;
}

#[tokio::test]
async fn not_ready_gateway_answers_503() {
    let gateway = portcullis_proxy::Gateway::new(
        portcullis_telemetry::metrics::Metrics::new(),
        portcullis_telemetry::access_log::AccessLog::disabled(),
    );
    assert!(!gateway.is_ready());
    let running = common::start_gateway(
        gateway,
        common::listener(),
        std::time::Duration::from_secs(1),
    )
    .await;
    let response = get(running.addr, "h", "/", &[]).await;
    assert_eq!(response.status(), 503);
    assert_eq!(json(response.body())["code"], "not_ready");
    running.stop().await;
}
