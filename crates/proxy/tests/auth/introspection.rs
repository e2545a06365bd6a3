//! OAuth2 token introspection (RFC 7662) against a real local endpoint: answers cached
//! (active until the earlier of `exp` and the TTL, inactive briefly), fail closed when the
//! endpoint is down, cached tokens keep working.

use std::time::Duration;

use portcullis_testkit::introspection::IntrospectionServer;
use portcullis_testkit::MockUpstream;
use serde_json::json;

use crate::common;
use crate::support::{bearer, challenge, config, now};

struct Setup {
    server: IntrospectionServer,
    upstream: MockUpstream,
    gateway: common::TestGateway,
    _secret_dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let server = IntrospectionServer::start().await;
    let upstream = MockUpstream::echo().await;
    let secret_dir = tempfile::tempdir().expect("temp dir");
    let secret_path = secret_dir.path().join("introspection-secret");
    std::fs::write(&secret_path, "s3cret:with/specials\n").expect("write secret");
    let authentication = format!(
        r#"authentication:
  introspection:
    endpoint: {}
    clientId: gateway
    clientSecret: file:{}
    timeoutMs: 1000
    cacheTtlSeconds: 60
    inactiveCacheTtlSeconds: 1
"#,
        server.uri(),
        secret_path.display()
    );
    let yaml = config(
        &upstream.endpoint(),
        &authentication,
        "      auth: required\n      authMethods: [introspection]",
        "",
    );
    let gateway = common::start(&yaml).await;
    Setup {
        server,
        upstream,
        gateway,
        _secret_dir: secret_dir,
    }
}

async fn call(setup: &Setup, token: &str) -> http::Response<bytes::Bytes> {
    common::get(
        setup.gateway.addr,
        "api.test",
        "/",
        &[("authorization", &bearer(token))],
    )
    .await
}

#[tokio::test]
async fn active_tokens_are_cached_and_inactive_ones_refused_briefly() {
    let setup = setup().await;
    setup.server.set_answer(
        "opaque-active",
        json!({"active": true, "sub": "user-7", "scope": "orders:read", "tenant_id": "acme",
               "exp": now() + 3600}),
    );
    let response = call(&setup, "opaque-active").await;
    assert_eq!(response.status(), 200);
    let seen = setup.upstream.last_request().expect("forwarded");
    assert_eq!(seen.headers["x-portcullis-subject"], "user-7");
    assert_eq!(seen.headers["x-portcullis-scopes"], "orders:read");
    assert_eq!(setup.server.calls(), 1);
    // Client credentials: form-encoded, then base64 (RFC 6749 §2.3.1).
    assert_eq!(
        setup.server.last_authorization().as_deref(),
        Some("Basic Z2F0ZXdheTpzM2NyZXQlM0F3aXRoJTJGc3BlY2lhbHM=")
    );
    assert_eq!(call(&setup, "opaque-active").await.status(), 200);
    assert_eq!(setup.server.calls(), 1, "answered from the cache");

    let response = call(&setup, "opaque-revoked").await;
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).contains("token_inactive"));
    assert_eq!(call(&setup, "opaque-revoked").await.status(), 401);
    assert_eq!(setup.server.calls(), 2, "inactive answers are cached too");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call(&setup, "opaque-revoked").await.status(), 401);
    assert_eq!(setup.server.calls(), 3, "only briefly");
    assert_eq!(setup.upstream.requests(), 2);
    setup.gateway.stop().await;
}

#[tokio::test]
async fn when_the_endpoint_is_down_cached_tokens_work_and_others_get_503() {
    let setup = setup().await;
    setup.server.set_answer(
        "opaque-cached",
        json!({"active": true, "sub": "user-8", "exp": now() + 3600}),
    );
    setup.server.set_answer(
        "opaque-new",
        json!({"active": true, "sub": "user-9", "exp": now() + 3600}),
    );
    assert_eq!(call(&setup, "opaque-cached").await.status(), 200);
    setup.server.set_down(true);
    assert_eq!(call(&setup, "opaque-cached").await.status(), 200);
    let response = call(&setup, "opaque-new").await;
    assert_eq!(response.status(), 503, "fail closed");
    let body = common::json(response.body());
    assert_eq!(body["status"], 503);
    assert_eq!(setup.upstream.requests(), 2);
    setup.server.set_down(false);
    assert_eq!(call(&setup, "opaque-new").await.status(), 200);
    setup.gateway.stop().await;
}

#[tokio::test]
async fn an_active_answer_is_cached_no_longer_than_the_tokens_exp() {
    let setup = setup().await;
    setup.server.set_answer(
        "opaque-short",
        json!({"active": true, "sub": "user-10", "exp": now() + 2}),
    );
    assert_eq!(call(&setup, "opaque-short").await.status(), 200);
    assert_eq!(setup.server.calls(), 1);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // The cache entry ended at `exp`; the endpoint is asked again and the token is over.
    assert_eq!(call(&setup, "opaque-short").await.status(), 401);
    assert_eq!(setup.server.calls(), 2);
    setup.gateway.stop().await;
}
