//! JWT authentication end to end: a JWKS served over a real socket, tokens through the
//! gateway to a mock upstream; every bad input is a 401 and reaches nothing upstream.

use std::time::Duration;

use crate::common;
use crate::support::*;
use jsonwebtoken::{Algorithm, EncodingKey};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::Metrics;
use portcullis_testkit::jwks::JwksServer;
use portcullis_testkit::MockUpstream;
use serde_json::json;

const REQUIRED_JWT: &str = "      auth: required\n      authMethods: [jwt]";

async fn setup(policies: &str, top_level: &str) -> (JwksServer, MockUpstream, common::TestGateway) {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let yaml = config(
        &upstream.endpoint(),
        &jwt_authentication(&jwks.uri(), ""),
        policies,
        top_level,
    );
    let gateway = common::start(&yaml).await;
    (jwks, upstream, gateway)
}

#[tokio::test]
async fn a_token_signed_by_the_served_key_reaches_the_upstream_with_identity_headers() {
    let (jwks, upstream, gateway) = setup(REQUIRED_JWT, "").await;
    for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let kid = match algorithm {
            Algorithm::RS256 => "rsa-1",
            Algorithm::ES256 => "ec-1",
            _ => "ed-1",
        };
        let token = token(algorithm, kid, &good_claims());
        let response = common::get(
            gateway.addr,
            "api.test",
            "/v1/orders",
            &[
                ("authorization", &bearer(&token)),
                // A client cannot choose its own identity.
                ("x-portcullis-subject", "admin"),
                ("x-portcullis-scopes", "admin"),
            ],
        )
        .await;
        assert_eq!(response.status(), 200, "{algorithm:?}");
        let seen = upstream.last_request().expect("forwarded");
        assert_eq!(seen.headers["x-portcullis-subject"], "user-42");
        assert_eq!(seen.headers["x-portcullis-tenant"], "acme");
        assert_eq!(
            seen.headers["x-portcullis-scopes"],
            "orders:read orders:write"
        );
        assert_eq!(
            seen.headers.get_all("x-portcullis-subject").iter().count(),
            1
        );
        assert!(
            !seen.headers.contains_key("authorization"),
            "Authorization is stripped unless the route forwards it"
        );
    }
    assert_eq!(jwks.hits(), 1, "keys fetched once, then reused");
    gateway.stop().await;
}

#[tokio::test]
async fn authorization_is_forwarded_only_when_the_route_says_so() {
    let policies = format!("{REQUIRED_JWT}\n      forwardAuthorization: true");
    let (_jwks, upstream, gateway) = setup(&policies, "").await;
    let token = token(Algorithm::ES256, "ec-1", &good_claims());
    let response = common::get(
        gateway.addr,
        "api.test",
        "/",
        &[("authorization", &bearer(&token))],
    )
    .await;
    assert_eq!(response.status(), 200);
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.headers["authorization"], bearer(&token).as_str());
    gateway.stop().await;
}

/// A token the attacker signed with their own key but labelled as the issuer's.
fn forged(header: serde_json::Value) -> String {
    sign_raw(&header, &good_claims(), &other_rsa_key(), Algorithm::RS256)
}

fn replace_signature(token: &str, signature: &str) -> String {
    let (message, _) = token.rsplit_once('.').expect("three segments");
    format!("{message}.{signature}")
}

#[tokio::test]
async fn every_bad_jwt_is_a_401_and_nothing_reaches_the_upstream() {
    let (jwks, upstream, gateway) = setup(REQUIRED_JWT, "").await;
    let now = now();
    let good = token(Algorithm::RS256, "rsa-1", &good_claims());
    let es_good = token(Algorithm::ES256, "ec-1", &good_claims());
    let unsigned = |alg: &str| {
        format!(
            "{}.{}.",
            b64_json(&json!({"alg": alg, "typ": "JWT"})),
            b64_json(&good_claims())
        )
    };
    let hs256_with_rsa_public = sign_raw(
        &json!({"alg": "HS256", "kid": "rsa-1"}),
        &good_claims(),
        &EncodingKey::from_secret(RSA_PUBLIC),
        Algorithm::HS256,
    );
    let zero_ecdsa = replace_signature(
        &es_good,
        &base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [0u8; 64]),
    );
    let truncated = good[..good.len() - 12].to_string();
    let padded = format!("{good}==");
    let empty_signature = replace_signature(&good, "");
    let bad_json = format!(
        "{}.{}.{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            b"{not json"
        ),
        b64_json(&good_claims()),
        good.rsplit('.').next().expect("signature")
    );
    let attacker_jwk = public_jwk(&other_rsa_key(), Algorithm::RS256, "rsa-1");

    // (case, Authorization header values, expected reason code in the challenge)
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "alg none",
            vec![bearer(&unsigned("none"))],
            "algorithm_none",
        ),
        (
            "alg None",
            vec![bearer(&unsigned("None"))],
            "algorithm_none",
        ),
        (
            "alg NONE",
            vec![bearer(&unsigned("NONE"))],
            "algorithm_none",
        ),
        (
            "HS256 with the RSA public key",
            vec![bearer(&hs256_with_rsa_public)],
            "",
        ),
        (
            "algorithm not allowed (PS256)",
            vec![bearer(&token(Algorithm::PS256, "rsa-1", &good_claims()))],
            "algorithm_not_allowed",
        ),
        (
            "unknown kid",
            vec![bearer(&token(Algorithm::RS256, "nope", &good_claims()))],
            "unknown_kid",
        ),
        (
            "path traversal kid",
            vec![bearer(&token(
                Algorithm::RS256,
                "../../../../etc/passwd",
                &good_claims(),
            ))],
            "unknown_kid",
        ),
        (
            "SQL kid",
            vec![bearer(&token(
                Algorithm::RS256,
                "x' OR '1'='1",
                &good_claims(),
            ))],
            "unknown_kid",
        ),
        (
            "jku header",
            vec![bearer(&forged(
                json!({"alg": "RS256", "kid": "rsa-1", "jku": "http://127.0.0.1:9/jwks"}),
            ))],
            "invalid_signature",
        ),
        (
            "x5u header",
            vec![bearer(&forged(
                json!({"alg": "RS256", "kid": "rsa-1", "x5u": "http://127.0.0.1:9/cert"}),
            ))],
            "invalid_signature",
        ),
        (
            "embedded jwk",
            vec![bearer(&forged(
                json!({"alg": "RS256", "kid": "rsa-1", "jwk": attacker_jwk}),
            ))],
            "invalid_signature",
        ),
        (
            "expired",
            vec![bearer(&token(
                Algorithm::RS256,
                "rsa-1",
                &with_claim("exp", json!(now - 3600)),
            ))],
            "expired",
        ),
        (
            "nbf beyond leeway",
            vec![bearer(&token(
                Algorithm::RS256,
                "rsa-1",
                &with_claim("nbf", json!(now + 3600)),
            ))],
            "not_yet_valid",
        ),
        (
            "wrong iss",
            vec![bearer(&token(
                Algorithm::RS256,
                "rsa-1",
                &with_claim("iss", json!("https://evil.test")),
            ))],
            "unknown_issuer",
        ),
        (
            "wrong aud string",
            vec![bearer(&token(
                Algorithm::RS256,
                "rsa-1",
                &with_claim("aud", json!("billing-api")),
            ))],
            "wrong_audience",
        ),
        (
            "wrong aud array",
            vec![bearer(&token(
                Algorithm::RS256,
                "rsa-1",
                &with_claim("aud", json!(["billing-api", "x"])),
            ))],
            "wrong_audience",
        ),
        (
            "missing exp",
            vec![bearer(&token(
                Algorithm::RS256,
                "rsa-1",
                &without_claim("exp"),
            ))],
            "missing_exp",
        ),
        (
            "empty signature",
            vec![bearer(&empty_signature)],
            "invalid_signature",
        ),
        (
            "truncated signature",
            vec![bearer(&truncated)],
            "invalid_signature",
        ),
        (
            "padded signature",
            vec![bearer(&padded)],
            "invalid_signature",
        ),
        (
            "all-zero ECDSA signature",
            vec![bearer(&zero_ecdsa)],
            "invalid_signature",
        ),
        (
            "unknown crit header",
            vec![bearer(&sign_raw(
                &json!({"alg": "RS256", "kid": "rsa-1", "crit": ["x-custom"], "x-custom": 1}),
                &good_claims(),
                &rsa_key(),
                Algorithm::RS256,
            ))],
            "unsupported_critical_header",
        ),
        ("two segments", vec![bearer("a.b")], "malformed_token"),
        (
            "four segments",
            vec![bearer(&format!("{good}.x"))],
            "malformed_token",
        ),
        ("bad base64", vec![bearer("!!!.###.$$$")], "malformed_token"),
        (
            "bad JSON header",
            vec![bearer(&bad_json)],
            "malformed_token",
        ),
        (
            "two Authorization headers",
            vec![bearer(&good), bearer(&good)],
            "multiple_authorization_headers",
        ),
        (
            "another scheme",
            vec![format!("Basic {good}")],
            "malformed_authorization_header",
        ),
        (
            "oversized token",
            vec![bearer(&"a".repeat(9000))],
            "token_too_large",
        ),
    ];
    for (case, authorization, reason) in &cases {
        let mut builder = http::Request::get("/v1/orders").header("host", "api.test");
        for value in authorization {
            builder = builder.header("authorization", value.as_str());
        }
        let response = common::send(
            gateway.addr,
            builder
                .body(http_body_util::Full::default())
                .expect("request"),
        )
        .await;
        assert_eq!(response.status(), 401, "{case}");
        let challenge = challenge(&response);
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{case}: {challenge}"
        );
        assert!(challenge.contains(reason), "{case}: {challenge}");
        let body = common::json(response.body());
        assert_eq!(body["status"], 401, "{case}");
        assert!(
            !body.to_string().contains("eyJ"),
            "{case}: the token never appears in the answer"
        );
    }

    // A token in the query string is not read: no credentials at all.
    let response = common::get(
        gateway.addr,
        "api.test",
        &format!("/v1/orders?access_token={good}"),
        &[],
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(challenge(&response), "Bearer");

    assert_eq!(upstream.requests(), 0, "no bad token was forwarded");
    // The unknown kids refreshed the JWKS at most once (then the cooldown holds); the jku,
    // x5u and embedded jwk were never fetched (the JWKS server is the only listener).
    assert!(jwks.hits() <= 2, "{} JWKS fetches", jwks.hits());
    gateway.stop().await;
}

#[tokio::test]
async fn missing_scopes_get_a_403_with_the_scope_challenge_and_failures_are_counted() {
    let policies = format!(
        "{REQUIRED_JWT}\n      authorization:\n        requiredScopes: [orders:read, orders:delete]"
    );
    let (_jwks, upstream, gateway) = setup(&policies, "").await;
    let token = token(Algorithm::ES256, "ec-1", &good_claims());
    let response = common::get(
        gateway.addr,
        "api.test",
        "/v1/orders",
        &[
            ("authorization", &bearer(&token)),
            ("x-request-id", "req-403"),
        ],
    )
    .await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        challenge(&response),
        "Bearer error=\"insufficient_scope\", scope=\"orders:read orders:delete\""
    );
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = common::json(response.body());
    assert_eq!(body["requestId"], "req-403", "{body}");

    let expired = token_with_exp(now() - 100);
    let response = common::get(
        gateway.addr,
        "api.test",
        "/",
        &[("authorization", &bearer(&expired))],
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(upstream.requests(), 0);

    let metrics = gateway.gateway.metrics().encode();
    assert!(
        metrics.contains(
            "portcullis_authorization_denials_total{route=\"main\",reason=\"insufficient_scope\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("portcullis_auth_failures_total{route=\"main\",reason=\"expired\"} 1"),
        "{metrics}"
    );
    gateway.stop().await;
}

fn token_with_exp(exp: u64) -> String {
    token(Algorithm::ES256, "ec-1", &with_claim("exp", json!(exp)))
}

#[tokio::test]
async fn optional_routes_admit_anonymous_callers_but_not_bad_tokens() {
    let (_jwks, upstream, gateway) =
        setup("      auth: optional\n      authMethods: [jwt]", "").await;
    let response = common::get(
        gateway.addr,
        "api.test",
        "/",
        &[("x-portcullis-subject", "forged")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let seen = upstream.last_request().expect("forwarded");
    assert!(!seen.headers.contains_key("x-portcullis-subject"));

    let response = common::get(
        gateway.addr,
        "api.test",
        "/",
        &[("authorization", &bearer(&token_with_exp(now() - 100)))],
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(upstream.requests(), 1);

    let good = token(Algorithm::EdDSA, "ed-1", &good_claims());
    let response = common::get(
        gateway.addr,
        "api.test",
        "/",
        &[("authorization", &bearer(&good))],
    )
    .await;
    assert_eq!(response.status(), 200);
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.headers["x-portcullis-subject"], "user-42");
    gateway.stop().await;
}

#[tokio::test]
async fn anonymous_requests_under_admin_prefixes_are_denied_even_on_open_routes() {
    let (_jwks, upstream, gateway) = setup("      auth: none", "adminPathPrefixes: [/admin]").await;
    let response = common::get(gateway.addr, "api.test", "/admin/users", &[]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        challenge(&response),
        "Bearer error=\"insufficient_scope\", scope=\"admin\""
    );
    // The check runs on the canonical path, not on the client's spelling.
    let response = common::get(gateway.addr, "api.test", "/public/../admin/users", &[]).await;
    assert_eq!(response.status(), 403);
    assert_eq!(upstream.requests(), 0);
    let response = common::get(
        gateway.addr,
        "api.test",
        "/public",
        &[("authorization", "Basic dXNlcjpwYXNz")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(
        seen.headers["authorization"], "Basic dXNlcjpwYXNz",
        "auth: none consumes no credential: the upstream gets it"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn the_access_log_carries_tenant_and_subject() {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let yaml = config(
        &upstream.endpoint(),
        &jwt_authentication(&jwks.uri(), ""),
        REQUIRED_JWT,
        "",
    );
    let captured = Captured::default();
    let (log, guard) = AccessLog::start_with_writer(Box::new(captured.clone()), 64, Metrics::new())
        .expect("access log");
    let gateway = common::start_with(&yaml, common::listener(), log).await;
    let token = token(Algorithm::ES256, "ec-1", &good_claims());
    let response = common::get(
        gateway.addr,
        "api.test",
        "/",
        &[("authorization", &bearer(&token))],
    )
    .await;
    assert_eq!(response.status(), 200);
    gateway.stop().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    guard.finish();
    let text = captured.text();
    let line: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("one record")).expect("JSON line");
    assert_eq!(line["tenantId"], "acme", "{line}");
    assert_eq!(line["principal"], "user-42", "{line}");
    assert!(!text.contains(&token), "the token is never logged");
}

#[tokio::test]
async fn an_invalid_credential_is_never_skipped_for_a_valid_one() {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let authentication = format!(
        "{}  apiKeys:\n    keys:\n      - id: key-good\n        hash: \"{}\"\n",
        jwt_authentication(&jwks.uri(), ""),
        portcullis_policy::apikey::hash_api_key("pcs_good-key-0123456789")
    );
    let yaml = config(
        &upstream.endpoint(),
        &authentication,
        "      auth: required\n      authMethods: [jwt, apiKey]",
        "",
    );
    let gateway = common::start(&yaml).await;
    let good_token = token(Algorithm::ES256, "ec-1", &good_claims());
    let response = common::get(
        gateway.addr,
        "api.test",
        "/",
        &[
            ("x-api-key", "pcs_wrong-key"),
            ("authorization", &bearer(&good_token)),
        ],
    )
    .await;
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).contains("api_key_not_found"));
    assert_eq!(upstream.requests(), 0);

    let bearer_value = bearer(&good_token);
    for headers in [
        vec![("x-api-key", "pcs_good-key-0123456789")],
        vec![("authorization", bearer_value.as_str())],
    ] {
        let response = common::get(gateway.addr, "api.test", "/", &headers).await;
        assert_eq!(response.status(), 200, "{headers:?}");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn a_subject_split_key_keeps_each_caller_on_one_version() {
    let jwks = JwksServer::start(&jwks()).await;
    let stable = MockUpstream::echo().await;
    let canary = MockUpstream::echo().await;
    let yaml = format!(
        r#"
services:
  backend:
    visibility: public
    versions:
      stable: {{ endpoints: ["{}"] }}
      canary: {{ endpoints: ["{}"] }}
routes:
  - name: main
    match:
      pathPrefix: /
    upstream:
      service: backend
      splits:
        - {{ version: stable, weight: 5000 }}
        - {{ version: canary, weight: 5000 }}
      splitKey: {{ subject: true }}
    policies:
{REQUIRED_JWT}
{}
"#,
        stable.endpoint(),
        canary.endpoint(),
        jwt_authentication(&jwks.uri(), "")
    );
    let gateway = common::start(&yaml).await;
    for subject in ["user-1", "user-2", "user-3", "user-4"] {
        let token = token(Algorithm::ES256, "ec-1", &with_claim("sub", json!(subject)));
        let before = (stable.requests(), canary.requests());
        for _ in 0..6 {
            let response = common::get(
                gateway.addr,
                "api.test",
                "/",
                &[("authorization", &bearer(&token))],
            )
            .await;
            assert_eq!(response.status(), 200);
        }
        let after = (stable.requests(), canary.requests());
        let moved = (after.0 - before.0, after.1 - before.1);
        assert!(
            moved == (6, 0) || moved == (0, 6),
            "{subject} was split across versions: {moved:?}"
        );
    }
    gateway.stop().await;
}
