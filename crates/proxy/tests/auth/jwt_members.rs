//! Correctly signed tokens that must still be refused at the gateway, with nothing forwarded:
//! a repeated JSON member name (the upstream could read the other copy), a `typ` that is not an
//! access token, and a scope that hides `admin` behind a no-break space.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Algorithm;

use crate::common;
use crate::support::*;
use portcullis_testkit::jwks::JwksServer;
use portcullis_testkit::MockUpstream;

/// An RS256 token (key `rsa-1`) over header and claims written out as JSON text.
fn sign_text(header: &str, claims: &str) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &rsa_key(), Algorithm::RS256).expect("sign");
    format!("{message}.{signature}")
}

/// The good claims as JSON text with `extra` members spliced in before the closing brace.
fn claims_with(extra: &str) -> String {
    let good = good_claims().to_string();
    format!("{},{extra}}}", &good[..good.len() - 1])
}

#[tokio::test]
async fn ambiguous_or_non_access_tokens_get_401_and_reach_nothing() {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let policies = "      auth: required\n      authMethods: [jwt]";
    let yaml = config(
        &upstream.endpoint(),
        &jwt_authentication(&jwks.uri(), ""),
        policies,
        "",
    );
    let gateway = common::start(&yaml).await;
    let header = r#"{"alg":"RS256","kid":"rsa-1","typ":"JWT"}"#;

    // The control: the same helper's good token is forwarded.
    let good = sign_text(header, &claims_with(r#""x":1"#));
    let response = common::get(
        gateway.addr,
        "api.test",
        "/v1/orders",
        &[("authorization", &bearer(&good))],
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(upstream.requests(), 1);

    let cases = [
        (
            "sub twice",
            header.to_string(),
            claims_with(r#""sub":"admin""#),
            "duplicate_member",
        ),
        (
            "scope twice",
            header.to_string(),
            claims_with(r#""scope":"admin""#),
            "duplicate_member",
        ),
        (
            "alg twice",
            r#"{"alg":"RS256","kid":"rsa-1","alg":"ES256"}"#.to_string(),
            good_claims().to_string(),
            "duplicate_member",
        ),
        (
            "refresh typ",
            r#"{"alg":"RS256","kid":"rsa-1","typ":"refresh+jwt"}"#.to_string(),
            good_claims().to_string(),
            "token_type",
        ),
        (
            "id token typ",
            r#"{"alg":"RS256","kid":"rsa-1","typ":"id_token+jwt"}"#.to_string(),
            good_claims().to_string(),
            "token_type",
        ),
    ];
    for (case, header, claims, reason) in &cases {
        let token = sign_text(header, claims);
        let response = common::get(
            gateway.addr,
            "api.test",
            "/v1/orders",
            &[("authorization", &bearer(&token))],
        )
        .await;
        assert_eq!(response.status(), 401, "{case}");
        let challenge = challenge(&response);
        assert!(
            challenge.contains(&format!("error_description=\"{reason}\"")),
            "{case}: {challenge}"
        );
        let body = common::json(response.body());
        assert_eq!(body["status"], 401, "{case}");
    }
    assert_eq!(upstream.requests(), 1, "no refused token was forwarded");
    gateway.stop().await;
}

#[tokio::test]
async fn a_no_break_space_in_scope_grants_nothing() {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let policies = "      auth: required\n      authMethods: [jwt]\n      authorization:\n        requiredScopes: [admin]";
    let yaml = config(
        &upstream.endpoint(),
        &jwt_authentication(&jwks.uri(), ""),
        policies,
        "",
    );
    let gateway = common::start(&yaml).await;
    let cases = [
        ("scope", serde_json::json!("orders:read\u{a0}admin")),
        ("scope", serde_json::json!("orders:read\tadmin")),
        ("scope", serde_json::json!("orders:read\nadmin")),
        ("scope", serde_json::json!("orders:read\u{2003}admin")),
        ("scp", serde_json::json!(["orders:read admin"])),
        ("scp", serde_json::json!(["orders:read\u{a0}admin"])),
    ];
    for (claim, scope) in &cases {
        let mut claims = without_claim("scope");
        claims[*claim] = scope.clone();
        let token = token(Algorithm::RS256, "rsa-1", &claims);
        let response = common::get(
            gateway.addr,
            "api.test",
            "/v1/orders",
            &[("authorization", &bearer(&token))],
        )
        .await;
        // Authenticated (the token is valid) but not authorized: no token is `admin`.
        assert_eq!(response.status(), 403, "{scope}");
        assert!(
            challenge(&response).contains("insufficient_scope"),
            "{scope}"
        );
    }
    assert_eq!(upstream.requests(), 0, "nothing forwarded");
    let claims = with_claim("scope", serde_json::json!("orders:read admin"));
    let token = token(Algorithm::RS256, "rsa-1", &claims);
    let response = common::get(
        gateway.addr,
        "api.test",
        "/v1/orders",
        &[("authorization", &bearer(&token))],
    )
    .await;
    assert_eq!(response.status(), 200, "the ASCII space separates");
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}
